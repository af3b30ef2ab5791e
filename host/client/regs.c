/* SPDX-License-Identifier: MIT */
/* AMD64 register table over the KD CONTEXT layout. */
#include "regs.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define CTX(field) ((uint16_t)offsetof(struct kd_context_amd64, field))
#define R64(n, f) { n, CTX(f), 8, 0, 0 }
#define R32(n, f) { n, CTX(f), 8, 0, 32 }
#define R16(n, f) { n, CTX(f), 8, 0, 16 }
#define R8L(n, f) { n, CTX(f), 8, 0, 8 }

static const struct reg_desc regs[] = {
	R64("rax", rax), R64("rbx", rbx), R64("rcx", rcx), R64("rdx", rdx),
	R64("rsi", rsi), R64("rdi", rdi), R64("rsp", rsp), R64("rbp", rbp),
	R64("r8", r8), R64("r9", r9), R64("r10", r10), R64("r11", r11),
	R64("r12", r12), R64("r13", r13), R64("r14", r14), R64("r15", r15),
	R64("rip", rip),
	{ "efl", CTX(eflags), 4, 0, 0 }, { "eflags", CTX(eflags), 4, 0, 0 },
	{ "cs", CTX(seg_cs), 2, 0, 0 }, { "ss", CTX(seg_ss), 2, 0, 0 },
	{ "ds", CTX(seg_ds), 2, 0, 0 }, { "es", CTX(seg_es), 2, 0, 0 },
	{ "fs", CTX(seg_fs), 2, 0, 0 }, { "gs", CTX(seg_gs), 2, 0, 0 },
	R64("dr0", dr0), R64("dr1", dr1), R64("dr2", dr2), R64("dr3", dr3),
	R64("dr6", dr6), R64("dr7", dr7),
	R32("eax", rax), R32("ebx", rbx), R32("ecx", rcx), R32("edx", rdx),
	R32("esi", rsi), R32("edi", rdi), R32("esp", rsp), R32("ebp", rbp), R32("eip", rip),
	R16("ax", rax), R16("bx", rbx), R16("cx", rcx), R16("dx", rdx),
	R8L("al", rax), R8L("bl", rbx), R8L("cl", rcx), R8L("dl", rdx),
};

const struct reg_desc *reg_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		if (strlen(regs[i].name) == len && !strncasecmp(regs[i].name, name, len))
			return &regs[i];
	return NULL;
}

static uint64_t width_mask(const struct reg_desc *r)
{
	unsigned bits = r->bits ? r->bits : r->size * 8u;

	return bits >= 64 ? UINT64_MAX : (1ull << bits) - 1;
}

uint64_t reg_get(const struct kd_context_amd64 *ctx, const struct reg_desc *r)
{
	const uint8_t *base = (const uint8_t *)ctx + r->offset;
	uint64_t v = 0;

	memcpy(&v, base, r->size); /* little endian host, like the wire */
	return (v >> r->shift) & width_mask(r);
}

int reg_set(struct kd_context_amd64 *ctx, const struct reg_desc *r, uint64_t v)
{
	uint8_t *base = (uint8_t *)ctx + r->offset;
	uint64_t mask = width_mask(r), full = 0;

	if (v & ~mask)
		return -1;
	memcpy(&full, base, r->size);
	/* Like the CPU: writing a 32-bit register clears the upper half; 8/16 merge. */
	if (r->bits == 32)
		full = v;
	else
		full = (full & ~(mask << r->shift)) | (v << r->shift);
	memcpy(base, &full, r->size);
	return 0;
}

void reg_format_flags(uint32_t efl, char out[24])
{
	snprintf(out, 24, "%s %s %s %s %s %s %s %s",
		 efl & 0x800 ? "ov" : "nv", efl & 0x400 ? "dn" : "up",
		 efl & 0x200 ? "ei" : "di", efl & 0x080 ? "ng" : "pl",
		 efl & 0x040 ? "zr" : "nz", efl & 0x010 ? "ac" : "na",
		 efl & 0x004 ? "pe" : "po", efl & 0x001 ? "cy" : "nc");
}
