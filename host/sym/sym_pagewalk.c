/* SPDX-License-Identifier: MIT */
/* x64 4-level page walk over a physical-memory reader. */
#include "sym_pagewalk.h"

#include <string.h>

enum sym_walk_result sym_pagewalk(const struct sym_reader *phys, uint64_t cr3, uint64_t va,
				  struct sym_walk *w)
{
	static const unsigned shift[4] = { 39, 30, 21, 12 };
	uint64_t table = cr3 & SYM_PTE_ADDR;

	memset(w, 0, sizeof(*w));
	w->va = va;
	/* Bits 63..47 must all equal bit 47. */
	if ((uint64_t)((int64_t)(va << 16) >> 16) != va)
		return SYM_WALK_NONCANONICAL;
	for (unsigned level = 0; level < 4; level++) {
		uint64_t at = table + 8 * ((va >> shift[level]) & 0x1ff), e;
		uint8_t b[8];

		w->entry_pa[level] = at;
		if (sym_read_exact(phys, at, b, sizeof(b)))
			return SYM_WALK_READ_ERROR;
		e = 0;
		for (unsigned i = 0; i < 8; i++)
			e |= (uint64_t)b[i] << (8 * i);
		w->entry[level] = e;
		w->levels = level + 1;
		if (!(e & SYM_PTE_P))
			return SYM_WALK_NOT_PRESENT;
		/* PS in a PDPTE (1 GiB) or a PDE (2 MiB) ends the walk. */
		if ((level == 1 || level == 2) && (e & SYM_PTE_PS)) {
			w->page_size = 1ull << shift[level];
			w->pa = (e & SYM_PTE_ADDR & ~(w->page_size - 1)) | (va & (w->page_size - 1));
			return SYM_WALK_OK;
		}
		table = e & SYM_PTE_ADDR;
	}
	w->page_size = 0x1000;
	w->pa = (w->entry[3] & SYM_PTE_ADDR) | (va & 0xfff);
	return SYM_WALK_OK;
}

void sym_pte_flags(uint64_t e, int large, char out[12])
{
	out[0] = (e & SYM_PTE_PCD) ? 'C' : '-';
	out[1] = (e & SYM_PTE_G) ? 'G' : '-';
	out[2] = large ? 'L' : '-';
	out[3] = (e & SYM_PTE_D) ? 'D' : '-';
	out[4] = (e & SYM_PTE_A) ? 'A' : '-';
	out[5] = (e & SYM_PTE_PWT) ? 'T' : '-';
	out[6] = '-';
	out[7] = (e & SYM_PTE_US) ? 'U' : 'K';
	out[8] = (e & SYM_PTE_RW) ? 'W' : 'R';
	out[9] = (e & SYM_PTE_NX) ? '-' : 'E';
	out[10] = (e & SYM_PTE_P) ? 'V' : '-';
	out[11] = '\0';
}
