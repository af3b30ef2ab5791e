/* SPDX-License-Identifier: MIT */
/*
 * The symbol layer with PDBs (host/sym over host/pdb): a DLL and its PDB built by clang +
 * lld-link (tests/pdb/pdbtest.c), the DLL mapped into fake target memory: its CodeView
 * record names the PDB, the symbol path finds it, its publics and globals become
 * module!name symbols next to the exports. The PDB reader itself: test_pdb.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../host/sym/sym.h"
#include "sym_fake.h"

#ifndef VMKD_PDBTEST_DIR
#define VMKD_PDBTEST_DIR "build/pdbtest"
#endif

#define BASE 0xfffff80000600000ull

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void spit(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}

struct fixture {
	uint8_t *dll, *pdb;
	size_t dll_len, pdb_len;
	struct fake_mem m;
	struct sym_reader r;
	uint32_t image_size;
	char store[64];
};

/* Maps the DLL file the way a loader does: headers, then each section at its RVA. */
static void map_dll(struct fixture *f)
{
	const uint8_t *d = f->dll;
	uint32_t lfanew = d[0x3c] | d[0x3d] << 8, opt = lfanew + 24, nsec, secs, hdrs;
	uint8_t *img;

	nsec = d[lfanew + 6] | d[lfanew + 7] << 8;
	secs = opt + (uint32_t)(d[lfanew + 20] | d[lfanew + 21] << 8);
	memcpy(&f->image_size, d + opt + 56, 4);
	memcpy(&hdrs, d + opt + 60, 4);
	img = fake_region(&f->m, BASE, f->image_size);
	memcpy(img, d, hdrs);
	for (uint32_t i = 0; i < nsec; i++) {
		const uint8_t *s = d + secs + 40 * i;
		uint32_t va, raw_size, raw;

		memcpy(&va, s + 12, 4);
		memcpy(&raw_size, s + 16, 4);
		memcpy(&raw, s + 20, 4);
		assert_true(va + raw_size <= f->image_size + 0x1000);
		if (raw_size > f->image_size - va)
			raw_size = f->image_size - va;
		memcpy(img + va, d + raw, raw_size);
	}
	f->r = fake_reader(&f->m);
}

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	f.dll = slurp(VMKD_PDBTEST_DIR "/pdbtest.dll", &f.dll_len);
	f.pdb = slurp(VMKD_PDBTEST_DIR "/pdbtest.pdb", &f.pdb_len);
	if (f.dll && f.pdb)
		map_dll(&f);
	snprintf(f.store, sizeof(f.store), "/tmp/vmkd-sym-store.XXXXXX");
	assert_non_null(mkdtemp(f.store));
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->store);
	assert_int_equal(system(cmd), 0);
	fake_free(&f->m);
	free(f->dll);
	free(f->pdb);
	return 0;
}

#define NEED_FIXTURE(f)                                                              \
	do {                                                                         \
		if (!(f)->dll || !(f)->pdb) {                                        \
			fail_msg("no fixture in " VMKD_PDBTEST_DIR " (make tests builds it)"); \
		}                                                                    \
	} while (0)

static void publics_become_symbols(void **state)
{
	struct fixture *f = *state;
	struct sym_module_desc mod = { BASE, 0, "\\SystemRoot\\system32\\drivers\\pdbtest.dll" };
	const struct sym_module *m;
	struct sym_table *t;
	uint64_t helper, entry, counter, buffer, exp_entry;
	char buf[128], path[300];

	NEED_FIXTURE(f);
	mod.size = f->image_size;
	t = sym_table_new(&f->r);
	assert_non_null(t);
	assert_int_equal(sym_table_set_modules(t, &mod, 1), 1);
	/* Exports only: the global that is not exported is unknown. */
	assert_int_equal(sym_resolve(t, "pdbtest!vmkd_pdbtest_entry", 26, &exp_entry), 0);
	assert_int_equal(sym_resolve(t, "pdbtest!vmkd_pdbtest_buffer", 27, &buffer), -1);
	/* With the PDB's folder on the symbol path: its publics and globals, at addresses
	 * inside the image; an exported function's public lands on its export, not twice. */
	snprintf(path, sizeof(path), "%s", VMKD_PDBTEST_DIR);
	assert_int_equal(sym_table_set_symbol_path(t, path), 0);
	assert_int_equal(sym_resolve(t, "pdbtest!vmkd_pdbtest_buffer", 27, &buffer), 0);
	assert_int_equal(sym_resolve(t, "pdbtest!vmkd_pdbtest_entry", 26, &entry), 0);
	assert_int_equal(sym_resolve(t, "pdbtest!vmkd_pdbtest_counter", 28, &counter), 0);
	assert_int_equal(sym_resolve(t, "pdbtest!pdbtest_helper", 22, &helper), -1); /* static */
	assert_int_equal(entry, exp_entry);
	assert_true(buffer > BASE && buffer < BASE + f->image_size);
	assert_true(counter > BASE && counter < BASE + f->image_size);
	assert_true(buffer != counter);
	m = sym_module_at(t, 0);
	assert_non_null(strstr(m->pdb, "pdbtest.pdb"));
	for (size_t i = 1; i < m->nsyms; i++)
		assert_false(m->syms[i].addr == m->syms[i - 1].addr &&
			     !strcmp(m->syms[i].name, m->syms[i - 1].name));
	assert_int_equal(sym_format(t, buffer + 8, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "pdbtest!vmkd_pdbtest_buffer+0x8");
	/* Clearing the path goes back to exports. */
	assert_int_equal(sym_table_set_symbol_path(t, NULL), 0);
	assert_int_equal(sym_resolve(t, "pdbtest!vmkd_pdbtest_buffer", 27, &buffer), -1);
	sym_table_free(t);
}

/* A PDB with another GUID in the path's folder is not taken. */
static void other_pdb_not_taken(void **state)
{
	struct fixture *f = *state;
	struct sym_module_desc mod = { BASE, 0, "pdbtest.dll" };
	struct sym_table *t;
	uint64_t buffer;
	char dst[128];

	NEED_FIXTURE(f);
	mod.size = f->image_size;
	/* The folder holds a PDB named pdbtest.pdb whose GUID is kdvm.dll's. */
	snprintf(dst, sizeof(dst), "%s/pdbtest.pdb", f->store);
	{
		size_t len;
		uint8_t *other = slurp(VMKD_PDBTEST_DIR "/kdvm/kdvm.pdb", &len);

		assert_non_null(other);
		spit(dst, other, len);
		free(other);
	}
	t = sym_table_new(&f->r);
	assert_non_null(t);
	assert_int_equal(sym_table_set_modules(t, &mod, 1), 1);
	assert_int_equal(sym_table_set_symbol_path(t, f->store), 0);
	assert_int_equal(sym_resolve(t, "pdbtest!vmkd_pdbtest_buffer", 27, &buffer), -1);
	assert_string_equal(sym_module_at(t, 0)->pdb, "");
	sym_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(publics_become_symbols),
		cmocka_unit_test(other_pdb_not_taken),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
