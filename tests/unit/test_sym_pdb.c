/* SPDX-License-Identifier: MIT */
/*
 * host/sym/sym_pdb: a DLL and its PDB built by clang + lld-link (tests/fixtures/pdbtest.c),
 * the DLL mapped into fake target memory: the CodeView record names the PDB, a symbol
 * store along a WinDbg symbol path finds it, its publics become module!name symbols.
 * Then malformed PDBs. Skips when the fixture could not be built (no lld-link).
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
#include "../../host/sym/sym_pdb.h"
#include "sym_fake.h"

#ifndef VMKD_PDB_FIXTURE_DIR
#define VMKD_PDB_FIXTURE_DIR "build/tests/pdb"
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
	f.dll = slurp(VMKD_PDB_FIXTURE_DIR "/pdbtest.dll", &f.dll_len);
	f.pdb = slurp(VMKD_PDB_FIXTURE_DIR "/pdbtest.pdb", &f.pdb_len);
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
			print_message("no fixture in " VMKD_PDB_FIXTURE_DIR              \
				      " (lld-link missing?): skipped\n");               \
			skip();                                                      \
		}                                                                    \
	} while (0)

static void codeview_and_store_lookup(void **state)
{
	struct fixture *f = *state;
	struct sym_pe_info info;
	struct sym_codeview cv;
	char key[400], path[600], dir[600], found[1024];
	const char *k;

	NEED_FIXTURE(f);
	assert_int_equal(sym_pe_headers(&f->r, BASE, 0, &info, NULL, 0), 0);
	assert_int_equal(sym_pe_codeview(&f->r, BASE, &info, &cv), 0);
	assert_non_null(strstr(cv.pdb, "pdbtest.pdb"));
	assert_int_equal(cv.age, 1);
	sym_codeview_key(&cv, key, sizeof(key));
	/* name.pdb / 32 hex digits of GUID + age / name.pdb */
	assert_int_equal(strncmp(key, "pdbtest.pdb/", 12), 0);
	k = key + 12;
	for (int i = 0; i < 32; i++)
		assert_true(strchr("0123456789ABCDEF", k[i]) != NULL);
	assert_string_equal(k + 32, "1/pdbtest.pdb");
	/* Not there yet; then in a symbol store under the srv* cache. */
	snprintf(path, sizeof(path), "srv*%s*https://msdl.example.invalid/download/symbols",
		 f->store);
	assert_int_equal(sym_pdb_find(path, &cv, found, sizeof(found)), -1);
	snprintf(dir, sizeof(dir), "%s/pdbtest.pdb", f->store);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(dir, sizeof(dir), "%s/%.*s", f->store, (int)(strrchr(key, '/') - key), key);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(dir, sizeof(dir), "%s/%s", f->store, key);
	spit(dir, f->pdb, f->pdb_len);
	assert_int_equal(sym_pdb_find(path, &cv, found, sizeof(found)), 0);
	assert_string_equal(found, dir);
	/* A plain folder (flat) works too, after elements that do not. */
	snprintf(path, sizeof(path), "/nonexistent;cache*/nonexistent2;%s/", VMKD_PDB_FIXTURE_DIR);
	assert_int_equal(sym_pdb_find(path, &cv, found, sizeof(found)), 0);
	assert_non_null(strstr(found, VMKD_PDB_FIXTURE_DIR "/pdbtest.pdb"));
}

static void publics_become_symbols(void **state)
{
	struct fixture *f = *state;
	struct sym_module_desc mod = { BASE, 0, "\\SystemRoot\\system32\\drivers\\pdbtest.dll" };
	const struct sym_module *m;
	struct sym_table *t;
	uint64_t helper, entry, counter, exp_entry;
	char buf[128], path[300];

	NEED_FIXTURE(f);
	mod.size = f->image_size;
	t = sym_table_new(&f->r);
	assert_non_null(t);
	assert_int_equal(sym_table_set_modules(t, &mod, 1), 1);
	/* Exports only: helper is unknown. */
	assert_int_equal(sym_resolve(t, "pdbtest!exported_entry", 22, &exp_entry), 0);
	assert_int_equal(sym_resolve(t, "pdbtest!helper", 14, &helper), -1);
	/* With the PDB's folder on the symbol path: its publics, at addresses inside the
	 * image; the exported function's public lands on its export (not twice). */
	snprintf(path, sizeof(path), "%s", VMKD_PDB_FIXTURE_DIR);
	assert_int_equal(sym_table_set_symbol_path(t, path), 0);
	assert_int_equal(sym_resolve(t, "pdbtest!helper", 14, &helper), 0);
	assert_int_equal(sym_resolve(t, "pdbtest!exported_entry", 22, &entry), 0);
	assert_int_equal(sym_resolve(t, "pdbtest!counter", 15, &counter), 0);
	assert_int_equal(entry, exp_entry);
	assert_true(helper > BASE && helper < BASE + f->image_size);
	assert_true(counter > BASE && counter < BASE + f->image_size);
	assert_true(helper != entry);
	m = sym_module_at(t, 0);
	assert_non_null(strstr(m->pdb, "pdbtest.pdb"));
	for (size_t i = 1; i < m->nsyms; i++)
		assert_false(m->syms[i].addr == m->syms[i - 1].addr &&
			     !strcmp(m->syms[i].name, m->syms[i - 1].name));
	assert_int_equal(sym_format(t, helper + 2, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "pdbtest!helper+0x2");
	/* Clearing the path goes back to exports. */
	assert_int_equal(sym_table_set_symbol_path(t, NULL), 0);
	assert_int_equal(sym_resolve(t, "pdbtest!helper", 14, &helper), -1);
	sym_table_free(t);
}

static void guid_must_match(void **state)
{
	struct fixture *f = *state;
	struct sym_pdb_symbol *s;
	struct sym_pe_info info;
	struct sym_codeview cv;
	size_t n;
	char err[128];

	NEED_FIXTURE(f);
	assert_int_equal(sym_pe_headers(&f->r, BASE, 0, &info, NULL, 0), 0);
	assert_int_equal(sym_pe_codeview(&f->r, BASE, &info, &cv), 0);
	assert_int_equal(sym_pdb_symbols(f->pdb, f->pdb_len, cv.guid, &s, &n, err, sizeof(err)), 0);
	assert_true(n >= 3);
	sym_pdb_free(s, n);
	cv.guid[3] ^= 1;
	assert_int_equal(sym_pdb_symbols(f->pdb, f->pdb_len, cv.guid, &s, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "GUID"));
}

static void malformed_pdbs(void **state)
{
	struct fixture *f = *state;
	struct sym_pdb_symbol *s;
	uint8_t *copy;
	size_t n;
	char err[128];

	NEED_FIXTURE(f);
	copy = malloc(f->pdb_len);
	assert_non_null(copy);
	/* Not MSF at all. */
	assert_int_equal(sym_pdb_symbols((const uint8_t *)"hello", 5, NULL, &s, &n, err,
					 sizeof(err)), -1);
	/* Truncated to its header, then to half. */
	assert_int_equal(sym_pdb_symbols(f->pdb, 56, NULL, &s, &n, err, sizeof(err)), -1);
	assert_int_equal(sym_pdb_symbols(f->pdb, f->pdb_len / 2, NULL, &s, &n, err, sizeof(err)) < 1, 1);
	sym_pdb_free(s, n);
	/* A bad block size, a directory size beyond bounds, a block map outside the file. */
	memcpy(copy, f->pdb, f->pdb_len);
	copy[32] = 3;
	assert_int_equal(sym_pdb_symbols(copy, f->pdb_len, NULL, &s, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "block size"));
	memcpy(copy, f->pdb, f->pdb_len);
	put32(copy + 44, 0x7fffffff);
	assert_int_equal(sym_pdb_symbols(copy, f->pdb_len, NULL, &s, &n, err, sizeof(err)), -1);
	memcpy(copy, f->pdb, f->pdb_len);
	put32(copy + 52, 0xffff);
	assert_int_equal(sym_pdb_symbols(copy, f->pdb_len, NULL, &s, &n, err, sizeof(err)), -1);
	/* Every single byte of the first 4 blocks flipped in turn: no crash (ASan checks). */
	for (size_t i = 0; i < f->pdb_len && i < 4 * 4096; i += 7) {
		memcpy(copy, f->pdb, f->pdb_len);
		copy[i] ^= 0xff;
		if (sym_pdb_symbols(copy, f->pdb_len, NULL, &s, &n, err, sizeof(err)) == 0)
			sym_pdb_free(s, n);
	}
	free(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(codeview_and_store_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(publics_become_symbols, setup, teardown),
		cmocka_unit_test_setup_teardown(guid_must_match, setup, teardown),
		cmocka_unit_test_setup_teardown(malformed_pdbs, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
