/* SPDX-License-Identifier: MIT */
/* host/sym/sym_pagewalk: 4 KiB, 2 MiB and 1 GiB translations, absent entries, bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../host/sym/sym_pagewalk.h"
#include "sym_fake.h"

#define RAM 0x100000u           /* physical memory 0 .. 1 MiB */
#define CR3 0x10000u
#define PDPT 0x11000u
#define PD 0x12000u
#define PT 0x13000u
#define VA_4K 0xfffff80000203456ull   /* PML4 496, PDPT 0, PD 1, PT 3 */
#define VA_2M 0xfffff80000400010ull   /* PD 2: a 2 MiB page */
#define VA_1G 0xfffff80040000020ull   /* PDPT 1: a 1 GiB page */

static void entry(uint8_t *ram, uint64_t table, unsigned index, uint64_t value)
{
	put64(ram + table + 8 * index, value);
}

static void walks(void **state)
{
	struct fake_mem m = { 0 };
	uint8_t *ram = fake_region(&m, 0, RAM);
	struct sym_reader r = fake_reader(&m);
	struct sym_walk w;
	char flags[12];

	(void)state;
	entry(ram, CR3, 496, PDPT | SYM_PTE_P | SYM_PTE_RW);
	entry(ram, PDPT, 0, PD | SYM_PTE_P | SYM_PTE_RW);
	entry(ram, PDPT, 1, 0x80000000ull | SYM_PTE_P | SYM_PTE_PS);
	entry(ram, PD, 1, PT | SYM_PTE_P | SYM_PTE_RW);
	entry(ram, PD, 2, 0x600000ull | SYM_PTE_P | SYM_PTE_RW | SYM_PTE_PS | SYM_PTE_G);
	entry(ram, PT, 3, 0x7000ull | SYM_PTE_P | SYM_PTE_RW | SYM_PTE_A | SYM_PTE_D | SYM_PTE_NX);

	assert_int_equal(sym_pagewalk(&r, CR3 | 0x18, VA_4K, &w), SYM_WALK_OK); /* PCD/PWT bits ignored */
	assert_int_equal(w.levels, 4);
	assert_int_equal(w.page_size, 0x1000);
	assert_int_equal(w.pa, 0x7456);
	assert_int_equal(w.entry_pa[0], CR3 + 8 * 496);
	assert_int_equal(w.entry_pa[3], PT + 8 * 3);
	sym_pte_flags(w.entry[3], 0, flags);
	assert_string_equal(flags, "---DA--KW-V");

	assert_int_equal(sym_pagewalk(&r, CR3, VA_2M, &w), SYM_WALK_OK);
	assert_int_equal(w.levels, 3);
	assert_int_equal(w.page_size, 0x200000);
	assert_int_equal(w.pa, 0x600010);
	sym_pte_flags(w.entry[2], 1, flags);
	assert_string_equal(flags, "-GL----KWEV");

	assert_int_equal(sym_pagewalk(&r, CR3, VA_1G, &w), SYM_WALK_OK);
	assert_int_equal(w.levels, 2);
	assert_int_equal(w.pa, 0x80000020);

	/* Absent at the PT and at the PML4. */
	assert_int_equal(sym_pagewalk(&r, CR3, VA_4K + 0x1000, &w), SYM_WALK_NOT_PRESENT);
	assert_int_equal(w.levels, 4);
	assert_int_equal(sym_pagewalk(&r, CR3, 0xffff800000000000ull, &w), SYM_WALK_NOT_PRESENT);
	assert_int_equal(w.levels, 1);
	/* Non-canonical, and a table outside physical memory. */
	assert_int_equal(sym_pagewalk(&r, CR3, 0x0000800000000000ull, &w), SYM_WALK_NONCANONICAL);
	entry(ram, PD, 1, 0x7fff0000000ull | SYM_PTE_P);
	assert_int_equal(sym_pagewalk(&r, CR3, VA_4K, &w), SYM_WALK_READ_ERROR);
	assert_int_equal(w.levels, 3);
	fake_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(walks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
