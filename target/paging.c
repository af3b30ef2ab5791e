/* SPDX-License-Identifier: MIT */
/* paging.c - page-table walker, 4 KiB map/unmap with large-page splitting, safe copies. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cpu.h"
#include "layout.h"
#include "paging.h"
#include "pmm.h"

#define PT_ENTRIES     512
#define LEVEL_PML4     3
#define LEVEL_PDPT     2
#define LEVEL_PD       1
#define LEVEL_PT       0
/* Low 12 bits and NX: what a split hands down to the smaller pages. */
#define PTE_FLAGS_MASK (0xfffull | PTE_NX)

/* From boot.S: the page below the 64 KiB boot/kernel stack. */
extern uint8_t boot_stack_guard[];

/* The test region and its guard page, page aligned in .bss (so zeroed by the loader). */
static uint8_t test_area[(TEST_REGION_PAGES + 1) * PAGE_SIZE]
	__attribute__((aligned(PAGE_SIZE), section(".bss.page_aligned")));

static uint64_t physmap_limit = PHYSMAP_MAX; /* boot.S maps 1 GiB; trimmed by paging_init */

static uint64_t level_size(int level)
{
	return 1ull << (12 + 9 * level);
}

static unsigned level_index(uint64_t va, int level)
{
	return (unsigned)(va >> (12 + 9 * level)) & (PT_ENTRIES - 1);
}

static bool is_canonical(uint64_t va)
{
	uint64_t top = va >> 47;

	return top == 0 || top == 0x1ffff;
}

static uint64_t *table_entry(uint64_t table_pa, uint64_t va, int level)
{
	return (uint64_t *)phys_to_virt(table_pa) + level_index(va, level);
}

static uint64_t root_table(void)
{
	return read_cr3() & PTE_ADDR_MASK;
}

uint64_t physmap_end(void)
{
	return physmap_limit;
}

int paging_translate(uint64_t va, uint64_t *pa, uint64_t *entry)
{
	uint64_t table = root_table();

	if (!is_canonical(va))
		return PAGING_ENOTMAPPED;
	for (int level = LEVEL_PML4; level >= LEVEL_PT; level--) {
		uint64_t e;

		if (table >= physmap_limit) /* a table we cannot reach: treat as unmapped */
			return PAGING_ENOTMAPPED;
		e = *table_entry(table, va, level);
		if (!(e & PTE_P))
			return PAGING_ENOTMAPPED;
		if (level == LEVEL_PT || (level <= LEVEL_PDPT && (e & PTE_PS))) {
			uint64_t size = level_size(level);

			*pa = (e & PTE_ADDR_MASK & ~(size - 1)) | (va & (size - 1));
			if (entry)
				*entry = e;
			return PAGING_OK;
		}
		table = e & PTE_ADDR_MASK;
	}
	return PAGING_ENOTMAPPED; /* not reached */
}

/* Replaces the large page in *e (a PDPT or PD entry) by a table of smaller pages with the
 * same flags, so that one 4 KiB piece can then change alone. */
static int split_large(uint64_t *e, int level)
{
	uint64_t size = level_size(level), child = size / PT_ENTRIES;
	uint64_t flags = *e & PTE_FLAGS_MASK;
	uint64_t base = *e & PTE_ADDR_MASK & ~(size - 1);
	/* In a 4 KiB PTE bit 7 is PAT, not PS. */
	uint64_t child_flags = level == LEVEL_PD ? flags & ~PTE_PS : flags;
	uint64_t pa = pmm_alloc_pages(1);
	uint64_t *t;

	if (!pa)
		return PAGING_ENOMEM;
	t = phys_to_virt(pa);
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		t[i] = (base + i * child) | child_flags;
	/* One 64-bit store swaps an identical mapping in, so even splitting the page we are
	 * running on (code, stack, these tables) is safe; then drop the stale large entry. */
	*e = pa | PTE_P | PTE_W | (flags & PTE_U);
	tlb_flush_all();
	return PAGING_OK;
}

/* Makes *e (at level > PT) point to a next-level table: allocates one if not present,
 * splits a large page. */
static int ensure_table(uint64_t *e, int level, uint64_t user)
{
	if (!(*e & PTE_P)) {
		uint64_t pa = pmm_alloc_pages(1);

		if (!pa)
			return PAGING_ENOMEM;
		*e = pa | PTE_P | PTE_W | user;
		return PAGING_OK;
	}
	if (*e & PTE_PS)
		return split_large(e, level);
	*e |= user;
	return PAGING_OK;
}

int paging_map_page(uint64_t va, uint64_t pa, uint64_t flags)
{
	uint64_t table = root_table();
	uint64_t *pte;

	if (!is_canonical(va) || (va | pa) & (PAGE_SIZE - 1) || pa & ~PTE_ADDR_MASK)
		return PAGING_EINVAL;
	flags &= PTE_W | PTE_U | PTE_PWT | PTE_PCD | PTE_G | PTE_NX;
	if (!cpu_nx_enabled())
		flags &= ~PTE_NX; /* reserved bit without EFER.NXE */
	for (int level = LEVEL_PML4; level > LEVEL_PT; level--) {
		uint64_t *e = table_entry(table, va, level);
		int r = ensure_table(e, level, flags & PTE_U);

		if (r)
			return r;
		table = *e & PTE_ADDR_MASK;
	}
	pte = table_entry(table, va, LEVEL_PT);
	*pte = pa | flags | PTE_P;
	invlpg(va);
	return PAGING_OK;
}

int paging_map_range(uint64_t va, uint64_t pa, uint64_t len, uint64_t flags)
{
	for (uint64_t off = 0; off < len; off += PAGE_SIZE) {
		int r = paging_map_page(va + off, pa + off, flags);

		if (r)
			return r;
	}
	return PAGING_OK;
}

int paging_unmap_page(uint64_t va)
{
	uint64_t table = root_table();

	if (!is_canonical(va) || va & (PAGE_SIZE - 1))
		return PAGING_EINVAL;
	for (int level = LEVEL_PML4; level > LEVEL_PT; level--) {
		uint64_t *e = table_entry(table, va, level);

		if (!(*e & PTE_P))
			return PAGING_OK;
		if (*e & PTE_PS) {
			int r = split_large(e, level);

			if (r)
				return r;
		}
		table = *e & PTE_ADDR_MASK;
	}
	*table_entry(table, va, LEVEL_PT) = 0;
	invlpg(va);
	return PAGING_OK;
}

/* Drops a whole 2 MiB page of the boot mapping (used to trim the physmap). */
static void unmap_large(uint64_t va)
{
	uint64_t table = root_table();

	for (int level = LEVEL_PML4; level > LEVEL_PD; level--) {
		uint64_t e = *table_entry(table, va, level);

		if (!(e & PTE_P) || (e & PTE_PS))
			return;
		table = e & PTE_ADDR_MASK;
	}
	*table_entry(table, va, LEVEL_PD) = 0;
}

void paging_init(void)
{
	uint64_t top = (pmm_ram_top() + LARGE_PAGE_SIZE - 1) & ~(uint64_t)(LARGE_PAGE_SIZE - 1);

	if (top > PHYSMAP_MAX || top == 0)
		top = PHYSMAP_MAX;
	/* Nothing above RAM in the physmap, so reads past the end fail like on Windows. */
	for (uint64_t pa = top; pa < PHYSMAP_MAX; pa += LARGE_PAGE_SIZE)
		unmap_large(KERNEL_VIRT_BASE + pa);
	tlb_flush_all();
	physmap_limit = top;

	paging_unmap_page(0);
	paging_unmap_page(kernel_stack_guard());
	paging_unmap_page(test_region_guard());
}

static size_t copy_virt(uint64_t va, void *buf, size_t len, bool write)
{
	size_t done = 0;

	while (done < len) {
		uint64_t cur = va + done, pa, e;
		size_t chunk = PAGE_SIZE - (cur & (PAGE_SIZE - 1));
		void *target = (void *)(uintptr_t)cur;

		if (chunk > len - done)
			chunk = len - done;
		if (cur < va || paging_translate(cur, &pa, &e)) /* wrapped, or unmapped */
			break;
		if (write && !(e & PTE_W)) {
			/* Read-only page: write through the physmap alias instead. */
			if (pa + chunk > physmap_limit)
				break;
			target = phys_to_virt(pa);
		}
		if (write)
			memcpy(target, (const uint8_t *)buf + done, chunk);
		else
			memcpy((uint8_t *)buf + done, target, chunk);
		done += chunk;
	}
	return done;
}

size_t vm_read(uint64_t va, void *dst, size_t len)
{
	return copy_virt(va, dst, len, false);
}

size_t vm_write(uint64_t va, const void *src, size_t len)
{
	return copy_virt(va, (void *)(uintptr_t)src, len, true);
}

static size_t phys_span(uint64_t pa, size_t len)
{
	if (pa >= physmap_limit)
		return 0;
	return len < physmap_limit - pa ? len : (size_t)(physmap_limit - pa);
}

size_t phys_read(uint64_t pa, void *dst, size_t len)
{
	size_t n = phys_span(pa, len);

	memcpy(dst, phys_to_virt(pa), n);
	return n;
}

size_t phys_write(uint64_t pa, const void *src, size_t len)
{
	size_t n = phys_span(pa, len);

	memcpy(phys_to_virt(pa), src, n);
	return n;
}

uint8_t *test_region(void)
{
	return test_area;
}

uint64_t test_region_guard(void)
{
	return (uint64_t)(uintptr_t)(test_area + TEST_REGION_SIZE);
}

uint64_t kernel_stack_guard(void)
{
	return (uint64_t)(uintptr_t)boot_stack_guard;
}
