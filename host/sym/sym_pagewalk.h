/* SPDX-License-Identifier: MIT */
/*
 * sym_pagewalk.h - x64 4-level page walk (PML4 -> PDPT -> PD -> PT, 1 GiB and 2 MiB pages)
 * from CR3 over a reader of physical memory. A minimal walker for !pte / !vtop; pure, every
 * entry read is checked.
 */
#ifndef VMKD_HOST_SYM_PAGEWALK_H
#define VMKD_HOST_SYM_PAGEWALK_H

#include <stdint.h>

#include "sym_reader.h"

#define SYM_PTE_P (1ull << 0)
#define SYM_PTE_RW (1ull << 1)
#define SYM_PTE_US (1ull << 2)
#define SYM_PTE_PWT (1ull << 3)
#define SYM_PTE_PCD (1ull << 4)
#define SYM_PTE_A (1ull << 5)
#define SYM_PTE_D (1ull << 6)
#define SYM_PTE_PS (1ull << 7)
#define SYM_PTE_G (1ull << 8)
#define SYM_PTE_NX (1ull << 63)
#define SYM_PTE_ADDR 0x000ffffffffff000ull

enum sym_walk_result {
	SYM_WALK_OK,              /* pa is valid */
	SYM_WALK_NOT_PRESENT,     /* entry[levels - 1] is not present */
	SYM_WALK_NONCANONICAL,
	SYM_WALK_READ_ERROR,      /* a table could not be read at entry_pa[levels] */
};

struct sym_walk {
	uint64_t va;
	unsigned levels;          /* entries read: 1 (PML4E) to 4 (PTE) */
	uint64_t entry[4];        /* PML4E, PDPTE, PDE, PTE */
	uint64_t entry_pa[4];     /* where each was read */
	uint64_t page_size;       /* 4 KiB, 2 MiB or 1 GiB when OK */
	uint64_t pa;
};

/* phys reads physical memory. Returns the result; w says how far the walk went. */
enum sym_walk_result sym_pagewalk(const struct sym_reader *phys, uint64_t cr3, uint64_t va,
				  struct sym_walk *w);

/* "---DA--KWEV"-style flags of an entry, as WinDbg's !pte prints them (11 chars + NUL). */
void sym_pte_flags(uint64_t entry, int large, char out[12]);

#endif
