/* SPDX-License-Identifier: MIT */
/* multiboot.h - multiboot v1 constants, and what the kernel keeps from the loader's info. */
#ifndef VMKD_TARGET_MULTIBOOT_H
#define VMKD_TARGET_MULTIBOOT_H

#define MULTIBOOT_HEADER_MAGIC     0x1badb002
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2badb002
#define MULTIBOOT_PAGE_ALIGN       0x00000001 /* header flag: modules page aligned */
#define MULTIBOOT_MEMORY_INFO      0x00000002 /* header flag: want mem_* and mmap */
#define MULTIBOOT_AOUT_KLUDGE      0x00010000 /* header flag: load addresses in the header */

#ifndef __ASSEMBLER__
#include <stdint.h>

#define BOOT_MAX_REGIONS 32

struct mem_region {
	uint64_t base;
	uint64_t len;
	uint32_t type; /* 1 = usable RAM (e820 numbering) */
};

struct boot_info {
	uint32_t mbi_phys;
	uint32_t mem_lower_kb, mem_upper_kb;
	const char *cmdline;     /* in the loader's memory; copy it before allocating */
	char loader[32];
	struct mem_region regions[BOOT_MAX_REGIONS];
	unsigned nr_regions;
	uint64_t loader_data_end; /* physical end of the cmdline/loader name/modules the loader
				     placed above the kernel: free memory starts after it */
};

/* Reads the multiboot info at mbi_phys. Returns 0, or -1 if magic is not the bootloader's. */
int multiboot_parse(uint32_t magic, uint32_t mbi_phys, struct boot_info *bi);

#endif
#endif
