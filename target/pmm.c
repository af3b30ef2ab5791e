/* SPDX-License-Identifier: MIT */
/* pmm.c - physical page allocator (bump pointer over one free region). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "layout.h"
#include "multiboot.h"
#include "paging.h"
#include "pmm.h"

#define E820_RAM 1

static uint64_t free_next, free_end, ram_top;

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

void pmm_init(const struct boot_info *bi, uint64_t kernel_end)
{
	uint64_t floor = align_up(kernel_end > bi->loader_data_end ? kernel_end :
				  bi->loader_data_end, PAGE_SIZE);

	free_next = free_end = ram_top = 0;
	for (unsigned i = 0; i < bi->nr_regions; i++) {
		const struct mem_region *r = &bi->regions[i];
		uint64_t start = align_up(r->base, PAGE_SIZE);
		uint64_t end = (r->base + r->len) & ~(uint64_t)(PAGE_SIZE - 1);

		if (r->type != E820_RAM)
			continue;
		if (end > PHYSMAP_MAX)
			end = PHYSMAP_MAX;
		if (end > ram_top)
			ram_top = end;
		/* Only RAM above the kernel image: below it sit the BIOS data, the loader's
		 * info at 0x9000 and the unused 1-2 MiB gap, none of which we want to hand out. */
		if (start < floor)
			start = floor;
		if (end > start && end - start > free_end - free_next) {
			free_next = start;
			free_end = end;
		}
	}
}

uint64_t pmm_alloc_pages(size_t count)
{
	uint64_t bytes = (uint64_t)count * PAGE_SIZE, pa;

	if (count == 0 || bytes > free_end - free_next)
		return 0;
	pa = free_next;
	free_next += bytes;
	memset(phys_to_virt(pa), 0, bytes);
	return pa;
}

uint64_t pmm_ram_top(void)
{
	return ram_top;
}

void pmm_free_window(uint64_t *start, uint64_t *end)
{
	*start = free_next;
	*end = free_end;
}
