/* SPDX-License-Identifier: MIT */
/* multiboot.c - reads the multiboot v1 information structure the loader left for us. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "multiboot.h"
#include "paging.h"

/* The loader's structures (multiboot spec 0.6.96, section 3.3). */
struct mb_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
};

struct mb_module {
	uint32_t mod_start, mod_end;
	uint32_t string;
	uint32_t reserved;
};

struct __attribute__((packed)) mb_mmap_entry {
	uint32_t size; /* of the rest of the entry, not counting this field */
	uint64_t addr;
	uint64_t len;
	uint32_t type;
};

#define MBI_MEM      (1u << 0)
#define MBI_CMDLINE  (1u << 2)
#define MBI_MODS     (1u << 3)
#define MBI_MMAP     (1u << 6)
#define MBI_LOADER   (1u << 9)

/* Everything the loader hands over sits in low RAM, reached through the physmap. */
static const void *mb_ptr(uint32_t phys)
{
	return phys_to_virt(phys);
}

static void note_end(struct boot_info *bi, uint64_t end)
{
	if (end > bi->loader_data_end)
		bi->loader_data_end = end;
}

int multiboot_parse(uint32_t magic, uint32_t mbi_phys, struct boot_info *bi)
{
	const struct mb_info *mbi;

	memset(bi, 0, sizeof(*bi));
	bi->cmdline = "";
	if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
		return -1;
	bi->mbi_phys = mbi_phys;
	mbi = mb_ptr(mbi_phys);
	note_end(bi, mbi_phys + sizeof(*mbi));

	if (mbi->flags & MBI_MEM) {
		bi->mem_lower_kb = mbi->mem_lower;
		bi->mem_upper_kb = mbi->mem_upper;
	}
	if ((mbi->flags & MBI_CMDLINE) && mbi->cmdline) {
		bi->cmdline = mb_ptr(mbi->cmdline);
		note_end(bi, mbi->cmdline + strlen(bi->cmdline) + 1);
	}
	if ((mbi->flags & MBI_LOADER) && mbi->boot_loader_name) {
		const char *name = mb_ptr(mbi->boot_loader_name);
		size_t n = strnlen(name, sizeof(bi->loader) - 1);

		memcpy(bi->loader, name, n);
		bi->loader[n] = '\0';
		note_end(bi, mbi->boot_loader_name + strlen(name) + 1);
	}
	if (mbi->flags & MBI_MODS) {
		const struct mb_module *mod = mb_ptr(mbi->mods_addr);

		note_end(bi, mbi->mods_addr + (uint64_t)mbi->mods_count * sizeof(*mod));
		for (uint32_t i = 0; i < mbi->mods_count; i++)
			note_end(bi, mod[i].mod_end);
	}
	if (mbi->flags & MBI_MMAP) {
		uint32_t off = 0;

		while (off + sizeof(struct mb_mmap_entry) <= mbi->mmap_length &&
		       bi->nr_regions < BOOT_MAX_REGIONS) {
			const struct mb_mmap_entry *e = mb_ptr(mbi->mmap_addr + off);
			struct mem_region *r = &bi->regions[bi->nr_regions++];

			r->base = e->addr;
			r->len = e->len;
			r->type = e->type;
			off += e->size + sizeof(e->size);
		}
	} else if (mbi->flags & MBI_MEM) {
		/* No map: synthesize one from the two sizes (upper memory starts at 1 MiB). */
		bi->regions[0] = (struct mem_region){ 0, (uint64_t)mbi->mem_lower * 1024, 1 };
		bi->regions[1] = (struct mem_region){ 0x100000, (uint64_t)mbi->mem_upper * 1024,
						      1 };
		bi->nr_regions = 2;
	}
	return 0;
}
