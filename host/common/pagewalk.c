/* SPDX-License-Identifier: MIT */
/* x86-64 page walk over a physical-read callback (Intel SDM vol. 3, 4.5). */
#include "pagewalk.h"

#include <string.h>

#include "vmkd/kd_bytes.h"

void pw_mode_from_cr(struct pw_mode *m, uint64_t cr3, uint64_t cr4, unsigned maxphyaddr)
{
	m->cr3 = cr3;
	m->la57 = (cr4 & PW_CR4_LA57) != 0;
	m->maxphyaddr = maxphyaddr;
}

int pw_canonical(const struct pw_mode *m, uint64_t va)
{
	unsigned bits = m->la57 ? 57 : 48;
	uint64_t top = va >> (bits - 1); /* the sign bit and everything above it */

	return top == 0 || top == (~0ull >> (bits - 1));
}

/* Frame bits at or above MAXPHYADDR are reserved (bits 51:M). */
static uint64_t high_reserved(const struct pw_mode *m)
{
	unsigned w = m->maxphyaddr;

	if (w == 0 || w >= 52)
		return 0;
	return PW_PTE_FRAME & ~((1ull << w) - 1);
}

enum pw_result pw_translate(const struct pw_mode *m, uint64_t va, pw_read_phys_fn read,
			    void *ctx, struct pw_translation *out)
{
	return pw_translate_trace(m, va, read, ctx, out, NULL);
}

enum pw_result pw_translate_trace(const struct pw_mode *m, uint64_t va, pw_read_phys_fn read,
				  void *ctx, struct pw_translation *out, struct pw_trace *trace)
{
	unsigned level = m->la57 ? 5 : 4;
	uint64_t table = m->cr3 & PW_PTE_FRAME, rsvd = high_reserved(m);
	struct pw_trace none;

	if (!trace)
		trace = &none;
	memset(trace, 0, sizeof(*trace));
	trace->top = level;
	if (!pw_canonical(m, va))
		return PW_NON_CANONICAL;
	if (table & rsvd)
		return PW_RESERVED;
	for (; level >= 1; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		uint64_t index = (va >> shift) & 0x1ff, e;
		uint8_t raw[8];

		trace->entry_pa[trace->depth] = table + index * 8;
		if (read(ctx, table + index * 8, raw, sizeof(raw)) != sizeof(raw))
			return PW_NO_TABLE;
		e = kd_get_le64(raw);
		trace->entry[trace->depth++] = e;
		if (!(e & PW_PTE_P))
			return PW_NOT_PRESENT;
		if (e & rsvd)
			return PW_RESERVED;
		if (level >= 4 && (e & PW_PTE_PS))
			return PW_RESERVED; /* no 512 GiB pages */
		if (level == 1 || ((level == 2 || level == 3) && (e & PW_PTE_PS))) {
			uint64_t size = 1ull << shift;
			/* Large pages: bit 12 is PAT; bits shift-1 .. 13 must be zero. */
			uint64_t low = level == 1 ? 0 : (size - 1) & ~0x1fffull;

			if (e & low)
				return PW_RESERVED;
			out->pa = (e & PW_PTE_FRAME & ~(size - 1)) | (va & (size - 1));
			out->page_size = size;
			out->level = level;
			return PW_OK;
		}
		table = e & PW_PTE_FRAME;
	}
	return PW_NOT_PRESENT; /* not reached: level 1 always ends the walk */
}

int pw_entry_large(uint64_t e, unsigned level)
{
	return (level == 2 || level == 3) && (e & PW_PTE_P) && (e & PW_PTE_PS);
}

void pw_entry_flags(uint64_t e, int large, char out[12])
{
	out[0] = (e & PW_PTE_PCD) ? 'C' : '-';
	out[1] = (e & PW_PTE_G) ? 'G' : '-';
	out[2] = large ? 'L' : '-';
	out[3] = (e & PW_PTE_D) ? 'D' : '-';
	out[4] = (e & PW_PTE_A) ? 'A' : '-';
	out[5] = (e & PW_PTE_PWT) ? 'T' : '-';
	out[6] = '-';
	out[7] = (e & PW_PTE_US) ? 'U' : 'K';
	out[8] = (e & PW_PTE_RW) ? 'W' : 'R';
	out[9] = (e & PW_PTE_NX) ? '-' : 'E';
	out[10] = (e & PW_PTE_P) ? 'V' : '-';
	out[11] = '\0';
}

const char *pw_result_name(enum pw_result r)
{
	switch (r) {
	case PW_OK:
		return "ok";
	case PW_NOT_PRESENT:
		return "not present";
	case PW_NON_CANONICAL:
		return "non-canonical";
	case PW_RESERVED:
		return "reserved bits set";
	case PW_NO_TABLE:
		return "page table outside RAM";
	}
	return "?";
}
