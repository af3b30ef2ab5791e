/* SPDX-License-Identifier: MIT */
/*
 * guest_mem.h - hands out page-aligned windows of one caller-given static region, each
 * physically contiguous. Nothing promises that a DLL's .bss is contiguous in physical
 * memory, so every page is translated and a multi-page window is only taken where the
 * physical addresses follow each other. No allocation, no freeing: set up once.
 */
#ifndef VMKD_GUEST_MEM_H
#define VMKD_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "guest_platform.h"

#define GUEST_PAGE_SIZE  4096u
#define GUEST_MEM_PAGES  64u /* largest region managed: 256 KiB */

struct guest_mem {
	uint8_t *base;                     /* first whole page of the region */
	uint32_t pages;
	uint64_t used_mask;                /* bit i: page i handed out */
	uint64_t phys[GUEST_MEM_PAGES];    /* physical address of each page */
	uint32_t unmapped;                 /* pages the platform could not translate */
};

/* Translates every whole page of [mem, mem + len). 0, or -1 if no page is usable. */
int guest_mem_init(struct guest_mem *m, const struct guest_platform *plat, void *mem, size_t len);

/* npages pages, virtually and physically contiguous, below max_phys (exclusive; 0 = no
 * limit). NULL if there is no such window. */
void *guest_mem_alloc(struct guest_mem *m, uint32_t npages, uint64_t max_phys, uint64_t *phys);

#endif
