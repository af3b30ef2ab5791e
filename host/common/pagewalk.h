/* SPDX-License-Identifier: MIT */
/*
 * pagewalk.h - x86-64 virtual-to-physical translation done by the host, over a callback
 * that reads guest-physical memory. Pure: no I/O, no state, fixed depth (so a table that
 * points at itself or at an ancestor cannot loop), every table read checked.
 *
 * 4-level paging, or 5-level when CR4.LA57; 1 GiB (PDPTE.PS) and 2 MiB (PDE.PS) pages.
 * Only what a read needs: the present bit and the frame; access rights (R/W, U/S, NX) do
 * not matter to a debugger's read. Reserved bits that make the CPU fault (PS in a PML5E or
 * PML4E, the low frame bits of a large page, frame bits above MAXPHYADDR) are reported as
 * PW_RESERVED, so a caller that must give the guest's exact answer can defer to the guest.
 * A walk can also leave a trace of the entries it read (for !pte / !vtop).
 */
#ifndef VMKD_HOST_PAGEWALK_H
#define VMKD_HOST_PAGEWALK_H

#include <stddef.h>
#include <stdint.h>

#define PW_CR4_LA57  (1ull << 12)
#define PW_PAGE_4K   0x1000ull
#define PW_PAGE_2M   0x200000ull
#define PW_PAGE_1G   0x40000000ull

/* Page-table entry bits (Intel SDM vol. 3, 4.5). */
#define PW_PTE_P     (1ull << 0)
#define PW_PTE_RW    (1ull << 1)
#define PW_PTE_US    (1ull << 2)
#define PW_PTE_PWT   (1ull << 3)
#define PW_PTE_PCD   (1ull << 4)
#define PW_PTE_A     (1ull << 5)
#define PW_PTE_D     (1ull << 6)
#define PW_PTE_PS    (1ull << 7)
#define PW_PTE_G     (1ull << 8)
#define PW_PTE_NX    (1ull << 63)
#define PW_PTE_FRAME 0x000ffffffffff000ull  /* bits 51:12 */

enum pw_result {
	PW_OK = 0,
	PW_NOT_PRESENT,   /* a table entry on the way has P = 0 */
	PW_NON_CANONICAL, /* the address is not canonical for the paging mode */
	PW_RESERVED,      /* a present entry has reserved bits set: the CPU would fault */
	PW_NO_TABLE,      /* a table could not be read (outside RAM, MMIO): unknown */
};

/* Reads len bytes of guest-physical memory; returns how many it could (all or fewer). */
typedef size_t (*pw_read_phys_fn)(void *ctx, uint64_t pa, void *buf, size_t len);

struct pw_mode {
	uint64_t cr3;        /* PCID / flag bits are ignored */
	int la57;            /* 5-level paging */
	unsigned maxphyaddr; /* physical address width (36..52); 0 = 52 (no check) */
};

struct pw_translation {
	uint64_t pa;         /* physical address of va */
	uint64_t page_size;  /* PW_PAGE_4K, _2M or _1G */
	unsigned level;      /* table level of the leaf: 1 (PTE) .. 3 (PDPTE) */
};

/* What a walk read, top level first: entry[i] is the entry of table level top - i (5 or 4
 * down to 1), read at entry_pa[i]. depth counts the entries read; when a table could not
 * be read (PW_NO_TABLE), entry_pa[depth] is where the walk tried. */
struct pw_trace {
	unsigned top;        /* 5 (LA57) or 4 */
	unsigned depth;      /* 0 .. top */
	uint64_t entry[5];
	uint64_t entry_pa[5];
};

/* Fills a mode from CR3 and CR4 (as KSPECIAL_REGISTERS holds them). */
void pw_mode_from_cr(struct pw_mode *m, uint64_t cr3, uint64_t cr4, unsigned maxphyaddr);

/* 1 if va is canonical in the mode. */
int pw_canonical(const struct pw_mode *m, uint64_t va);

enum pw_result pw_translate(const struct pw_mode *m, uint64_t va, pw_read_phys_fn read,
			    void *ctx, struct pw_translation *out);
/* The same walk; trace (if not NULL) is filled whatever the result. */
enum pw_result pw_translate_trace(const struct pw_mode *m, uint64_t va, pw_read_phys_fn read,
				  void *ctx, struct pw_translation *out, struct pw_trace *trace);

/* 1 if an entry read at table level `level` maps a large page (PS in a PDPTE or PDE). */
int pw_entry_large(uint64_t entry, unsigned level);

/* An entry's flags as WinDbg's !pte prints them, "CGLDAT-UWEV" with '-' for a clear bit
 * (U/K, W/R; E when executable): 11 characters and a NUL. */
void pw_entry_flags(uint64_t entry, int large, char out[12]);

const char *pw_result_name(enum pw_result r);

#endif
