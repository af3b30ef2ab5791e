/* SPDX-License-Identifier: MIT */
/* Page windows of a static region, physically contiguous by checking every page. */
#include "guest_mem.h"

#define PHYS_BAD UINT64_MAX

int guest_mem_init(struct guest_mem *m, const struct guest_platform *plat, void *mem, size_t len)
{
	uintptr_t start = ((uintptr_t)mem + GUEST_PAGE_SIZE - 1) & ~(uintptr_t)(GUEST_PAGE_SIZE - 1);
	uintptr_t end = ((uintptr_t)mem + len) & ~(uintptr_t)(GUEST_PAGE_SIZE - 1);
	uint32_t usable = 0;

	m->base = (uint8_t *)start;
	m->pages = end > start ? (uint32_t)((end - start) / GUEST_PAGE_SIZE) : 0;
	if (m->pages > GUEST_MEM_PAGES)
		m->pages = GUEST_MEM_PAGES;
	m->used_mask = 0;
	m->unmapped = 0;
	for (uint32_t i = 0; i < m->pages; i++) {
		uint64_t pa;

		if (plat->virt_to_phys(plat->ctx, m->base + (size_t)i * GUEST_PAGE_SIZE, &pa) ||
		    (pa & (GUEST_PAGE_SIZE - 1))) {
			m->phys[i] = PHYS_BAD;
			m->unmapped++;
			continue;
		}
		m->phys[i] = pa;
		usable++;
	}
	return usable ? 0 : -1;
}

static int window_ok(const struct guest_mem *m, uint32_t first, uint32_t n, uint64_t max_phys)
{
	for (uint32_t i = first; i < first + n; i++) {
		if ((m->used_mask >> i) & 1u)
			return 0;
		if (m->phys[i] == PHYS_BAD)
			return 0;
		if (i > first && m->phys[i] != m->phys[first] + (uint64_t)(i - first) * GUEST_PAGE_SIZE)
			return 0;
	}
	if (max_phys && m->phys[first] + (uint64_t)n * GUEST_PAGE_SIZE > max_phys)
		return 0;
	return 1;
}

void *guest_mem_alloc(struct guest_mem *m, uint32_t npages, uint64_t max_phys, uint64_t *phys)
{
	if (!npages || npages > m->pages)
		return NULL;
	for (uint32_t first = 0; first + npages <= m->pages; first++) {
		if (!window_ok(m, first, npages, max_phys))
			continue;
		for (uint32_t i = first; i < first + npages; i++)
			m->used_mask |= (uint64_t)1 << i;
		*phys = m->phys[first];
		return m->base + (size_t)first * GUEST_PAGE_SIZE;
	}
	return NULL;
}
