/* SPDX-License-Identifier: MIT */
/*
 * fuzz_unwind.c - libFuzzer harness for the x64 unwinder: the input is an image's memory
 * (UNWIND_INFO, .pdata) and, mapped again, its stack. Its first bytes choose the function
 * entry, rip and registers. Whatever the bytes, lookups and unwinds stay within the memory
 * given (reads past it fail like unmapped pages), chains end, a .pdata hit covers the
 * address looked up, and the frame-pointer walk only ever moves up the stack.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../host/sym/sym_unwind.h"

#define BASE 0xfffff80000400000ull
#define STACK 0xfffff80000900000ull

struct mem {
	const uint8_t *data;
	size_t size;
};

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static int mem_read(void *opaque, uint64_t va, void *buf, size_t len, size_t *got)
{
	const struct mem *m = opaque;
	uint64_t base = va >= STACK ? STACK : BASE;
	size_t n;

	*got = 0;
	if (va < base || va - base >= m->size)
		return -1;
	n = m->size - (size_t)(va - base);
	if (n > len)
		n = len;
	memcpy(buf, m->data + (va - base), n);
	*got = n;
	return 0;
}

static uint32_t take32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mem m;
	struct sym_reader r = { mem_read, &m };
	struct sym_runtime_function rf;
	struct sym_regs regs;
	int machframe;
	uint64_t sp;

	if (size < 32)
		return 0;
	m.data = data + 32;
	m.size = size - 32;
	memset(&regs, 0, sizeof(regs));
	regs.rip = BASE + (take32(data) & 0xffff);
	sp = STACK + (take32(data + 4) & 0xfff);
	regs.r[SYM_RSP] = sp;
	for (unsigned i = 0; i < SYM_NREGS; i++)
		if (i != SYM_RSP)
			regs.r[i] = STACK + data[8 + i] * 8u;
	rf.begin = take32(data + 24) & 0xffff;
	rf.end = rf.begin + (data[28] | 1u);
	rf.unwind = take32(data + 28) >> 16;

	/* Any outcome is fine as long as it stays in bounds (ASan) and ends. */
	sym_unwind_frame(&r, BASE, &rf, &regs, &machframe, NULL, 0);

	/* The .pdata lookup over the same memory, at a table chosen by the input. */
	if (sym_pdata_lookup(&r, BASE, take32(data + 12) & 0xfff, take32(data + 16) & 0xffff,
			     take32(data + 20) & 0xffff, &rf) == 0)
		check(rf.begin <= (take32(data + 20) & 0xffff) && (take32(data + 20) & 0xffff) < rf.end);

	memset(&regs, 0, sizeof(regs));
	regs.rip = BASE + (take32(data) & 0xffff);
	regs.r[SYM_RSP] = sp;
	regs.r[SYM_RBP] = STACK + (take32(data + 8) & 0xff8);
	if (sym_unwind_fp(&r, &regs, data[31] & 1) == 0)
		check(regs.r[SYM_RSP] > sp);
	return 0;
}
