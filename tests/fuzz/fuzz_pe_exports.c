/* SPDX-License-Identifier: MIT */
/*
 * fuzz_pe_exports.c - libFuzzer harness for the symbol layer's readers of target memory:
 * the input is the memory of one module at BASE (its PE headers and export table) and, at
 * the same time, a PsLoadedModuleList whose head is at BASE. Whatever the bytes, the readers
 * stay inside the memory they are given (reads past it fail like unmapped pages), never
 * return more entries than their bounds, and every symbol lies inside its image.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../host/sym/sym.h"
#include "../../host/sym/sym_pe.h"

#define BASE 0xfffff80000200000ull
#define MAX_LIST 16

struct mem {
	const uint8_t *data;
	size_t size;
};

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static int mem_read(void *opaque, uint64_t va, void *buf, size_t len, size_t *got)
{
	const struct mem *m = opaque;
	size_t n;

	*got = 0;
	if (va < BASE || va - BASE >= m->size)
		return -1;
	n = m->size - (size_t)(va - BASE);
	if (n > len)
		n = len;
	memcpy(buf, m->data + (va - BASE), n);
	*got = n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mem m = { data, size };
	struct sym_reader r = { mem_read, &m };
	struct sym_module_desc list[MAX_LIST];
	struct sym_pe_export *e = NULL;
	struct sym_pe_info info;
	struct sym_table *t;
	char buf[128];
	size_t n = 0;
	int walked;

	if (sym_pe_headers(&r, BASE, 0, &info, buf, sizeof(buf)) == 0) {
		check(info.size_of_image > 0);
		for (unsigned i = 0; i < SYM_PE_NDIRS; i++)
			check(!info.dir[i].rva || (info.dir[i].rva < info.size_of_image &&
						   info.dir[i].size <= info.size_of_image - info.dir[i].rva));
		if (sym_pe_exports(&r, BASE, &info, &e, &n, buf, sizeof(buf)) == 0) {
			check(n <= 2 * SYM_PE_MAX_EXPORTS);
			for (size_t i = 0; i < n; i++) {
				check(e[i].rva < info.size_of_image);
				check(!e[i].name || strlen(e[i].name) < SYM_PE_MAX_NAME);
			}
		}
		sym_pe_exports_free(e, n);
	}

	walked = sym_walk_module_list(&r, BASE, list, MAX_LIST, buf, sizeof(buf));
	check(walked <= MAX_LIST);

	/* The table over this one module: lookups by address and name stay in bounds. */
	t = sym_table_new(&r);
	if (!t)
		return 0;
	list[0].base = BASE;
	list[0].size = size > 0xffffffffu ? 0xffffffffu : (uint32_t)size;
	strcpy(list[0].path, "fuzz.sys");
	sym_table_set_modules(t, list, 1);
	for (size_t off = 0; off < size; off += 1 + size / 8) {
		const struct sym_symbol *b, *a;

		if (sym_nearest(t, BASE + off, &b, &a)) {
			check(!b || (b->addr <= BASE + off && b->addr - BASE < size));
			check(!a || a->addr > BASE + off);
		}
		sym_format(t, BASE + off, buf, sizeof(buf));
	}
	if (sym_module_at(t, 0) && sym_module_at(t, 0)->nsyms) {
		const struct sym_symbol *s = &sym_module_at(t, 0)->syms[0];
		char name[SYM_PE_MAX_NAME + 8];
		uint64_t v;

		snprintf(name, sizeof(name), "fuzz!%s", s->name);
		check(sym_resolve(t, name, strlen(name), &v) == 0);
	}
	sym_table_free(t);
	return 0;
}
