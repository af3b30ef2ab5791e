/* SPDX-License-Identifier: MIT */
/* A loader block in one Windows release's layout, for kdvm.dll's KdDebuggerInitialize0/1. */
#include "loader_block.h"

#include <stdint.h>
#include <string.h>

#include "cmdline.h"
#include "console.h"
#include "kdvm_options.h"

#define BLOCK_BYTES   0x200u
#define OPTIONS_BYTES 256u

static uint8_t block[BLOCK_BYTES] __attribute__((aligned(16)));
static char options[OPTIONS_BYTES];

/* 10.0 with a Size between two releases': no table row, so the DLL must use defaults. */
static const struct kdvm_lpb_layout unknown_layout = { "unknown", 10, 0, 0x170, 0xD8 };

static void put32(uint32_t off, uint32_t v)
{
	memcpy(block + off, &v, sizeof(v));
}

static const struct kdvm_lpb_layout *find_layout(const char *name)
{
	for (size_t i = 0; i < kdvm_lpb_layout_count; i++)
		if (!strcmp(kdvm_lpb_layouts[i].name, name))
			return &kdvm_lpb_layouts[i];
	return strcmp(name, unknown_layout.name) ? NULL : &unknown_layout;
}

void *loader_block_build(void)
{
	char name[16];
	const struct kdvm_lpb_layout *l;
	uint64_t p = (uint64_t)(uintptr_t)options;

	if (cmdline_get("loaderblock", name, sizeof(name)) < 0)
		return NULL;
	if (!(l = find_layout(name))) {
		kprintf("vmkd-target: loaderblock=%s: unknown, passing NULL\n", name);
		return NULL;
	}
	if (cmdline_get("loadoptions", options, sizeof(options)) < 0)
		options[0] = 0;
	for (char *c = options; *c; c++) {
		if (*c == ',')
			*c = ' ';
		else if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	}
	memset(block, 0xA5, sizeof(block));
	put32(KDVM_LPB_MAJOR_OFF, l->major);
	put32(KDVM_LPB_MINOR_OFF, l->minor);
	put32(KDVM_LPB_SIZE_OFF, l->size);
	memcpy(block + l->load_options, &p, sizeof(p));
	kprintf("vmkd-target: loader block laid out as %s (%u.%u, size %#x, LoadOptions at %#x): "
		"\"%s\"\n", l->name, l->major, l->minor, l->size, l->load_options, options);
	return block;
}
