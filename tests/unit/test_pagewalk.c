/* SPDX-License-Identifier: MIT */
/*
 * The host's x86-64 page walker on hand-built tables in a small fake physical memory:
 * 4-level and 5-level paging, 4 KiB / 2 MiB / 1 GiB pages, canonical checks, reserved
 * bits, and hostile tables (self-references, tables outside memory, a table at the very
 * top of the physical space); the trace of entries !pte prints and their WinDbg flags.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../host/common/pagewalk.h"

#define MEM_SIZE 0x20000u
#define P  0x1ull
#define PS 0x80ull

struct mem {
	uint8_t b[MEM_SIZE];
	unsigned reads;
};

static struct mem m;

static size_t rd(void *ctx, uint64_t pa, void *buf, size_t len)
{
	struct mem *mm = ctx;

	mm->reads++;
	if (pa >= MEM_SIZE)
		return 0;
	if (len > MEM_SIZE - pa)
		len = MEM_SIZE - pa;
	memcpy(buf, mm->b + pa, len);
	return len;
}

static void set(uint64_t table, unsigned index, uint64_t e)
{
	memcpy(m.b + table + index * 8, &e, 8);
}

static int setup(void **state)
{
	(void)state;
	memset(&m, 0, sizeof(m));
	return 0;
}

static enum pw_result walk(uint64_t cr3, uint64_t cr4, uint64_t va, struct pw_translation *t)
{
	struct pw_mode mode;

	pw_mode_from_cr(&mode, cr3, cr4, 0);
	return pw_translate(&mode, va, rd, &m, t);
}

static void four_level_page_sizes(void **state)
{
	struct pw_translation t;

	(void)state;
	/* PML4 0x1000 -> PDPT 0x2000 -> PD 0x3000 -> PT 0x4000 */
	set(0x1000, 0, 0x2000 | P);
	set(0x2000, 0, 0x3000 | P);
	set(0x3000, 0, 0x4000 | P);
	set(0x4000, 5, 0xabcde000ull | P | (1ull << 63)); /* NX: irrelevant to a read */
	assert_int_equal(walk(0x1000, 0, 0x5123, &t), PW_OK);
	assert_int_equal(t.pa, 0xabcde123ull);
	assert_int_equal(t.page_size, PW_PAGE_4K);
	assert_int_equal(t.level, 1);
	/* 2 MiB page, PAT bit (12) allowed */
	set(0x3000, 1, 0x40000000ull | P | PS | 0x1000);
	assert_int_equal(walk(0x1000, 0, 0x312345, &t), PW_OK);
	assert_int_equal(t.pa, 0x40112345ull);
	assert_int_equal(t.page_size, PW_PAGE_2M);
	/* 1 GiB page */
	set(0x2000, 1, 0x80000000ull | P | PS);
	assert_int_equal(walk(0x1000, 0, 0x7654321ull + 0x40000000ull, &t), PW_OK);
	assert_int_equal(t.pa, 0x87654321ull);
	assert_int_equal(t.page_size, PW_PAGE_1G);
	assert_int_equal(t.level, 3);
	/* the kernel half: PML4 index 511, sign-extended */
	set(0x1000, 511, 0x2000 | P);
	assert_int_equal(walk(0x1000, 0, 0xffffff8000005123ull, &t), PW_OK);
	assert_int_equal(t.pa, 0xabcde123ull);
	/* CR3's PCID and flag bits are ignored */
	assert_int_equal(walk(0x1000 | 0x18 | 0x7ff, 0, 0x5123, &t), PW_OK);
	assert_int_equal(walk(0x1000 | (1ull << 63), 0, 0x5123, &t), PW_OK);
}

static void not_present_and_canonical(void **state)
{
	struct pw_translation t;
	struct pw_mode mode;

	(void)state;
	set(0x1000, 0, 0x2000 | P);
	set(0x2000, 0, 0x3000); /* not present */
	assert_int_equal(walk(0x1000, 0, 0x1000, &t), PW_NOT_PRESENT);
	assert_int_equal(walk(0x1000, 0, 0x8000000000ull, &t), PW_NOT_PRESENT); /* PML4[1] */
	assert_int_equal(walk(0x1000, 0, 0x0000800000000000ull, &t), PW_NON_CANONICAL);
	assert_int_equal(walk(0x1000, 0, 0xffff7fffffffffffull, &t), PW_NON_CANONICAL);
	/* Not present wins over garbage in the other bits. */
	set(0x2000, 0, 0xfffffffffffffffeull);
	assert_int_equal(walk(0x1000, 0, 0x1000, &t), PW_NOT_PRESENT);
	pw_mode_from_cr(&mode, 0, 0, 0);
	assert_true(pw_canonical(&mode, 0x00007fffffffffffull));
	assert_false(pw_canonical(&mode, 0x0100000000000000ull));
	pw_mode_from_cr(&mode, 0, PW_CR4_LA57, 0);
	assert_true(pw_canonical(&mode, 0x00ffffffffffffffull));
	assert_true(pw_canonical(&mode, 0xff00000000000000ull));
	assert_false(pw_canonical(&mode, 0x0100000000000000ull));
}

static void five_level(void **state)
{
	struct pw_translation t;
	uint64_t va = 0x0002008000401123ull; /* PML5 2, PML4 1, PDPT 0, PD 2 */

	(void)state;
	set(0x1000, 2, 0x2000 | P);
	set(0x2000, 1, 0x3000 | P);
	set(0x3000, 0, 0x4000 | P);
	set(0x4000, 2, 0x600000ull | P | PS);
	assert_int_equal(walk(0x1000, PW_CR4_LA57, va, &t), PW_OK);
	assert_int_equal(t.pa, 0x601123ull);
	/* The same address with 4-level paging is not canonical. */
	assert_int_equal(walk(0x1000, 0, va, &t), PW_NON_CANONICAL);
	/* A 5-level kernel address (PML5 index 256: the first of the upper half). */
	set(0x1000, 256, 0x2000 | P);
	set(0x2000, 0, 0x3000 | P);
	assert_int_equal(walk(0x1000, PW_CR4_LA57, 0xff00000000401123ull, &t), PW_OK);
	assert_int_equal(t.pa, 0x601123ull);
}

static void reserved_bits(void **state)
{
	struct pw_translation t;
	struct pw_mode mode;

	(void)state;
	set(0x1000, 0, 0x2000 | P | PS);                 /* PS in a PML4E */
	assert_int_equal(walk(0x1000, 0, 0, &t), PW_RESERVED);
	set(0x1000, 0, 0x2000 | P);
	set(0x2000, 0, 0x40000000ull | P | PS | 0x2000); /* 1 GiB page, bit 13 */
	assert_int_equal(walk(0x1000, 0, 0, &t), PW_RESERVED);
	set(0x2000, 0, 0x3000 | P);
	set(0x3000, 0, 0x200000ull | P | PS | 0x100000); /* 2 MiB page, bit 20 */
	assert_int_equal(walk(0x1000, 0, 0, &t), PW_RESERVED);
	set(0x3000, 0, 0x4000 | P);
	set(0x4000, 0, 0x0000100000000000ull | P);        /* frame above MAXPHYADDR 40 */
	pw_mode_from_cr(&mode, 0x1000, 0, 40);
	assert_int_equal(pw_translate(&mode, 0, rd, &m, &t), PW_RESERVED);
	pw_mode_from_cr(&mode, 0x1000, 0, 0);             /* unknown width: no check */
	assert_int_equal(pw_translate(&mode, 0, rd, &m, &t), PW_OK);
	assert_int_equal(t.pa, 0x0000100000000000ull);
}

static void hostile_tables(void **state)
{
	struct pw_translation t;

	(void)state;
	/* Every level points back at the PML4: a fixed-depth walk ends at level 1 with the
	 * PML4 itself as the data page (what the CPU does too), after exactly 4 reads. */
	set(0x1000, 0, 0x1000 | P);
	m.reads = 0;
	assert_int_equal(walk(0x1000, 0, 0x123, &t), PW_OK);
	assert_int_equal(t.pa, 0x1123);
	assert_int_equal(m.reads, 4);
	m.reads = 0;
	assert_int_equal(walk(0x1000, PW_CR4_LA57, 0x123, &t), PW_OK);
	assert_int_equal(m.reads, 5);
	/* A table outside memory, and CR3 outside memory. */
	set(0x1000, 1, 0xfffff000ull | P);
	assert_int_equal(walk(0x1000, 0, 0x8000000000ull, &t), PW_NO_TABLE);
	assert_int_equal(walk(0x7ffffff000ull, 0, 0, &t), PW_NO_TABLE);
	/* The last entry of the last page of memory: read whole or not at all. */
	set(0x1000, 2, (MEM_SIZE - 0x1000) | P);
	set(MEM_SIZE - 0x1000, 511, (MEM_SIZE - 0x1000) | P);
	assert_int_equal(walk(0x1000, 0, 0x10000000000ull | (511ull << 30), &t), PW_NOT_PRESENT);
	/* A frame at the top of the 52-bit space. */
	set(0x1000, 3, 0x000ffffffffff000ull | P | PS);
	assert_int_equal(walk(0x1000, 0, 3ull << 39, &t), PW_RESERVED);
	assert_string_equal(pw_result_name(PW_NO_TABLE), "page table outside RAM");
}

/* The trace !pte and !vtop print: each entry read and where, top level first. */
static void trace_of_entries(void **state)
{
	enum { CR3 = 0x10000, PDPT = 0x11000, PD = 0x12000, PT = 0x13000 };
	const uint64_t va_4k = 0xfffff80000203456ull; /* PML4 496, PDPT 0, PD 1, PT 3 */
	const uint64_t va_2m = 0xfffff80000400010ull; /* PD 2: a 2 MiB page */
	const uint64_t va_1g = 0xfffff80040000020ull; /* PDPT 1: a 1 GiB page */
	struct pw_translation t;
	struct pw_trace w;
	struct pw_mode mode;
	char flags[12];

	(void)state;
	set(CR3, 496, PDPT | PW_PTE_P | PW_PTE_RW);
	set(PDPT, 0, PD | PW_PTE_P | PW_PTE_RW);
	set(PDPT, 1, 0x80000000ull | PW_PTE_P | PW_PTE_PS);
	set(PD, 1, PT | PW_PTE_P | PW_PTE_RW);
	set(PD, 2, 0x600000ull | PW_PTE_P | PW_PTE_RW | PW_PTE_PS | PW_PTE_G);
	set(PT, 3, 0x7000ull | PW_PTE_P | PW_PTE_RW | PW_PTE_A | PW_PTE_D | PW_PTE_NX);

	pw_mode_from_cr(&mode, CR3 | 0x18, 0, 0); /* PCD/PWT bits ignored */
	assert_int_equal(pw_translate_trace(&mode, va_4k, rd, &m, &t, &w), PW_OK);
	assert_int_equal(w.top, 4);
	assert_int_equal(w.depth, 4);
	assert_int_equal(t.page_size, PW_PAGE_4K);
	assert_int_equal(t.pa, 0x7456);
	assert_int_equal(w.entry_pa[0], CR3 + 8 * 496);
	assert_int_equal(w.entry_pa[3], PT + 8 * 3);
	assert_int_equal(w.entry[1], PD | PW_PTE_P | PW_PTE_RW);
	assert_false(pw_entry_large(w.entry[3], 1));
	pw_entry_flags(w.entry[3], 0, flags);
	assert_string_equal(flags, "---DA--KW-V");

	pw_mode_from_cr(&mode, CR3, 0, 0);
	assert_int_equal(pw_translate_trace(&mode, va_2m, rd, &m, &t, &w), PW_OK);
	assert_int_equal(w.depth, 3);
	assert_int_equal(t.page_size, PW_PAGE_2M);
	assert_int_equal(t.pa, 0x600010);
	assert_true(pw_entry_large(w.entry[2], 2));
	pw_entry_flags(w.entry[2], 1, flags);
	assert_string_equal(flags, "-GL----KWEV");

	assert_int_equal(pw_translate_trace(&mode, va_1g, rd, &m, &t, &w), PW_OK);
	assert_int_equal(w.depth, 2);
	assert_true(pw_entry_large(w.entry[1], 3));
	assert_int_equal(t.pa, 0x80000020);

	/* Absent at the PT and at the PML4: the trace ends with the absent entry. */
	assert_int_equal(pw_translate_trace(&mode, va_4k + 0x1000, rd, &m, &t, &w), PW_NOT_PRESENT);
	assert_int_equal(w.depth, 4);
	assert_int_equal(w.entry[3], 0);
	assert_int_equal(pw_translate_trace(&mode, 0xffff800000000000ull, rd, &m, &t, &w),
			 PW_NOT_PRESENT);
	assert_int_equal(w.depth, 1);
	/* Non-canonical: nothing read. A table outside memory: where the walk tried. */
	assert_int_equal(pw_translate_trace(&mode, 0x0000800000000000ull, rd, &m, &t, &w),
			 PW_NON_CANONICAL);
	assert_int_equal(w.depth, 0);
	set(PD, 1, 0x7fff0000000ull | PW_PTE_P);
	assert_int_equal(pw_translate_trace(&mode, va_4k, rd, &m, &t, &w), PW_NO_TABLE);
	assert_int_equal(w.depth, 3);
	assert_int_equal(w.entry_pa[3], 0x7fff0000000ull + 8 * 3);

	/* 5-level: the PML5E comes first (PML5 index 0, then the same PML4 496 ... PD 2). */
	set(0x1000, 0, CR3 | PW_PTE_P);
	pw_mode_from_cr(&mode, 0x1000, PW_CR4_LA57, 0);
	assert_int_equal(pw_translate_trace(&mode, va_2m & 0x0000ffffffffffffull, rd, &m, &t, &w),
			 PW_OK);
	assert_int_equal(w.top, 5);
	assert_int_equal(w.depth, 4);
	assert_int_equal(w.entry_pa[0], 0x1000);
	assert_int_equal(w.entry_pa[1], CR3 + 8 * 496);
	assert_true(pw_entry_large(w.entry[3], 2));
	assert_int_equal(t.pa, 0x600010);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(four_level_page_sizes, setup),
		cmocka_unit_test_setup(not_present_and_canonical, setup),
		cmocka_unit_test_setup(five_level, setup),
		cmocka_unit_test_setup(reserved_bits, setup),
		cmocka_unit_test_setup(hostile_tables, setup),
		cmocka_unit_test_setup(trace_of_entries, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
