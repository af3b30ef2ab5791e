/* SPDX-License-Identifier: MIT */
/*
 * paging.h - the live 4-level page tables: translate, map and unmap 4 KiB pages, and copy
 * to/from virtual or physical memory without faulting.
 *
 * Address space after paging_init():
 *   0 .. 1 GiB              identity (2 MiB pages), except page 0 (catches NULL)
 *   KERNEL_VIRT_BASE + pa   physmap: all RAM (2 MiB pages), the kernel image included; not
 *                           mapped above the end of RAM
 *   test region             TEST_REGION_PAGES mapped pages, then one unmapped guard page
 *   kernel stack            one unmapped guard page below it
 * Everything is read/write, kernel only; NX is enabled but not set on any boot mapping.
 */
#ifndef VMKD_TARGET_PAGING_H
#define VMKD_TARGET_PAGING_H

#include <stddef.h>
#include <stdint.h>

#include "cpu_bits.h"
#include "layout.h"

enum paging_status {
	PAGING_OK = 0,
	PAGING_ENOTMAPPED = -1, /* not present at some level, or not canonical */
	PAGING_ENOMEM = -2,     /* no physical page left for a page table */
	PAGING_EINVAL = -3,     /* unaligned or non-canonical address */
};

/* Physmap address of a physical address (valid below physmap_end()). */
static inline void *phys_to_virt(uint64_t pa)
{
	return (void *)(uintptr_t)(pa + KERNEL_VIRT_BASE);
}

/* Physical address of a kernel-image or physmap pointer (not for other mappings: use
 * paging_translate for those). */
static inline uint64_t kva_to_phys(const void *p)
{
	return (uint64_t)(uintptr_t)p - KERNEL_VIRT_BASE;
}

/* Trims the boot mappings to the layout above. Needs pmm_init. */
void paging_init(void);

/* End of the physical range reachable through phys_to_virt(). */
uint64_t physmap_end(void);

/* Walks the tables CR3 points to now. On success stores the physical address (and, if
 * entry is not NULL, the leaf entry: a PTE, or a PDE/PDPTE with PTE_PS) and returns 0;
 * returns PAGING_ENOTMAPPED for an unmapped or non-canonical address. */
int paging_translate(uint64_t va, uint64_t *pa, uint64_t *entry);

/* Maps the 4 KiB page at va to pa with flags (PTE_W, PTE_U, PTE_NX, PTE_PCD, PTE_PWT,
 * PTE_G; PTE_P is implied), replacing what was there. A 2 MiB or 1 GiB page covering va is
 * split into smaller pages first, keeping the rest of it as it was. */
int paging_map_page(uint64_t va, uint64_t pa, uint64_t flags);

/* paging_map_page over [va, va + len) (len rounded up to pages). */
int paging_map_range(uint64_t va, uint64_t pa, uint64_t len, uint64_t flags);

/* Makes the 4 KiB page at va not present (splitting a large page if needed). Unmapping
 * an unmapped page succeeds. */
int paging_unmap_page(uint64_t va);

/* Copy up to len bytes, stopping before the first unmapped page; return the bytes copied.
 * vm_write also writes pages mapped read-only (through the physmap), as a debugger must
 * to plant breakpoints. */
size_t vm_read(uint64_t va, void *dst, size_t len);
size_t vm_write(uint64_t va, const void *src, size_t len);

/* The same for physical addresses below physmap_end(). */
size_t phys_read(uint64_t pa, void *dst, size_t len);
size_t phys_write(uint64_t pa, const void *src, size_t len);

/* The test region: TEST_REGION_PAGES * PAGE_SIZE bytes of the kernel image (zeroed at
 * boot, free for the KD core to fill), followed by the unmapped guard page. */
#define TEST_REGION_SIZE ((size_t)TEST_REGION_PAGES * PAGE_SIZE)
uint8_t *test_region(void);
uint64_t test_region_guard(void); /* virtual address of the guard page */

/* Virtual address of the unmapped page below the kernel stack. */
uint64_t kernel_stack_guard(void);

#endif
