/* SPDX-License-Identifier: MIT */
/*
 * pmm.h - physical memory: a bump allocator over the largest free RAM region above the
 * kernel. Pages are never freed (the kernel runs one short session and exits).
 */
#ifndef VMKD_TARGET_PMM_H
#define VMKD_TARGET_PMM_H

#include <stddef.h>
#include <stdint.h>

#include "multiboot.h"

/* Picks the free region from the loader's memory map, above kernel_end and the loader's
 * data. Only RAM below PHYSMAP_MAX (1 GiB) is used, so every page has a physmap address. */
void pmm_init(const struct boot_info *bi, uint64_t kernel_end);

/* count contiguous, zeroed, 4 KiB-aligned pages; returns the physical address, 0 if none
 * are left. Reach them with phys_to_virt() (physmap) or, below 1 GiB, at virt == phys. */
uint64_t pmm_alloc_pages(size_t count);

/* End of the highest usable RAM (capped at PHYSMAP_MAX). */
uint64_t pmm_ram_top(void);

/* The part of the free region not handed out yet: [*start, *end). */
void pmm_free_window(uint64_t *start, uint64_t *end);

#endif
