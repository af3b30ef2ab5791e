/* SPDX-License-Identifier: MIT */
/*
 * host/pdb: the RSDS record of a DLL that clang + lld-link built for the tests (file and
 * mapped layouts), its PDB's publics, globals and procedures checked against the DLL's
 * export table and the linker map, section contributions, hostile PDBs, symbol paths and
 * the local part of the PDB lookup.
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

#include "../../host/pdb/codeview.h"
#include "../../host/pdb/msf.h"
#include "../../host/pdb/pdb.h"
#include "../../host/pdb/pdb_load.h"
#include "../../host/pdb/sympath.h"

#ifndef VMKD_PDBTEST_DIR
#define VMKD_PDBTEST_DIR "build/pdbtest"
#endif
#define DLL VMKD_PDBTEST_DIR "/pdbtest.dll"
#define PDB VMKD_PDBTEST_DIR "/pdbtest.pdb"
#define MAP VMKD_PDBTEST_DIR "/pdbtest.map"
#define KDVM_DLL VMKD_PDBTEST_DIR "/kdvm/kdvm.dll"
#define KDVM_PDB VMKD_PDBTEST_DIR "/kdvm/kdvm.pdb"

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		fail_msg("%s: cannot open (make tests builds it)", path);
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

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

/* ---- the symbols the PDB gives, collected ---- */

struct sym {
	enum pdb_sym_kind kind;
	char name[64];
	uint32_t rva, size, flags;
	int has_rva;
};

struct syms {
	struct sym v[64];
	size_t n;
};

static int collect(void *ctx, const struct pdb_symbol *s)
{
	struct syms *ss = ctx;
	struct sym *d;

	assert_true(ss->n < 64);
	d = &ss->v[ss->n++];
	d->kind = s->kind;
	snprintf(d->name, sizeof(d->name), "%s", s->name);
	d->rva = s->rva;
	d->size = s->size;
	d->flags = s->flags;
	d->has_rva = s->has_rva;
	return 0;
}

static const struct sym *find_sym(const struct syms *ss, const char *name, enum pdb_sym_kind k)
{
	size_t i;

	for (i = 0; i < ss->n; i++)
		if (ss->v[i].kind == k && !strcmp(ss->v[i].name, name))
			return &ss->v[i];
	return NULL;
}

/* ---- RSDS ---- */

static void check_cv_matches_pdb(const struct pdb_codeview_info *cv)
{
	char err[256];
	struct pdb *pdb = pdb_open_file(PDB, err, sizeof(err));

	if (!pdb)
		fail_msg("%s", err);
	assert_string_equal(cv->name, "pdbtest.pdb");
	/* lld-link wrote the absolute path it was given; the name is its last part. */
	assert_true(strlen(cv->path) > strlen("pdbtest.pdb"));
	assert_ptr_equal(cv->name, cv->path + strlen(cv->path) - strlen("pdbtest.pdb"));
	assert_true(pdb_matches(pdb, cv->guid, cv->age));
	assert_false(pdb_matches(pdb, cv->guid, cv->age + 1));
	pdb_close(pdb);
}

static void rsds_from_file(void **state)
{
	struct pdb_buffer b;
	struct pdb_mem_reader rd = { pdb_buffer_read, &b };
	struct pdb_codeview_info cv;
	char err[256] = "";
	uint8_t *dll = slurp(DLL, &b.size);

	(void)state;
	b.data = dll;
	if (pdb_codeview_from_image(&rd, 0, PDB_IMAGE_FILE, &cv, err, sizeof(err)))
		fail_msg("%s", err);
	check_cv_matches_pdb(&cv);
	/* The file layout read as if mapped finds no RSDS at the RVA (or a different one) only
	 * when sections move; truncating the file below the debug data must fail cleanly. */
	b.size = 0x100;
	assert_int_equal(pdb_codeview_from_image(&rd, 0, PDB_IMAGE_FILE, &cv, err, sizeof(err)), -1);
	assert_true(err[0] != 0);
	free(dll);
}

/* A reader over an image "loaded" at a kernel address: sections at their RVAs. */
struct mapped {
	uint64_t base;
	uint8_t *mem;
	size_t size;
	unsigned reads;
};

static int mapped_read(void *opaque, uint64_t va, void *buf, size_t len, size_t *got)
{
	struct mapped *m = opaque;

	m->reads++;
	*got = 0;
	if (va < m->base || va - m->base > m->size || len > m->size - (va - m->base))
		return -1;
	memcpy(buf, m->mem + (va - m->base), len);
	*got = len;
	return 0;
}

static void rsds_from_mapped_image(void **state)
{
	size_t flen, i;
	uint8_t *f = slurp(DLL, &flen);
	uint32_t lfanew = rd32(f + 0x3c);
	uint16_t nsec = rd16(f + lfanew + 6), optsz = rd16(f + lfanew + 20);
	const uint8_t *sh = f + lfanew + 24 + optsz;
	struct mapped m = { .base = 0xfffff80012340000ull };
	struct pdb_mem_reader rd = { mapped_read, &m };
	struct pdb_codeview_info cv;
	char err[256] = "";

	(void)state;
	m.size = rd32(f + lfanew + 24 + 56); /* SizeOfImage */
	m.mem = calloc(1, m.size);
	assert_non_null(m.mem);
	memcpy(m.mem, f, rd32(f + lfanew + 24 + 60)); /* SizeOfHeaders */
	for (i = 0; i < nsec; i++, sh += 40) {
		uint32_t va = rd32(sh + 12), raw = rd32(sh + 20), rawsz = rd32(sh + 16);

		if (rawsz > m.size - va)
			rawsz = (uint32_t)(m.size - va);
		memcpy(m.mem + va, f + raw, rawsz);
	}
	if (pdb_codeview_from_image(&rd, m.base, PDB_IMAGE_MAPPED, &cv, err, sizeof(err)))
		fail_msg("%s", err);
	check_cv_matches_pdb(&cv);
	assert_true(m.reads < 32); /* bounded: headers, one debug entry, the record */
	/* The symbol layer's call: the mapped image to its opened PDB along a path. */
	{
		struct sympath sp;
		struct pdb *pdb;
		char path[512];
		int not_found = -1;

		assert_int_equal(sympath_parse(&sp, "/nonexistent;" VMKD_PDBTEST_DIR, "/none", err,
					       sizeof(err)), 0);
		pdb = pdb_load_for_image(&rd, m.base, PDB_IMAGE_MAPPED, &sp, NULL, &cv, path,
					 sizeof(path), &not_found, err, sizeof(err));
		if (!pdb)
			fail_msg("%s", err);
		assert_string_equal(path, PDB);
		assert_true(pdb_matches(pdb, cv.guid, cv.age));
		pdb_close(pdb);
		sympath_free(&sp);
		assert_int_equal(sympath_parse(&sp, "/nonexistent", "/none", err, sizeof(err)), 0);
		assert_null(pdb_load_for_image(&rd, m.base, PDB_IMAGE_MAPPED, &sp, NULL, &cv, path,
					       sizeof(path), &not_found, err, sizeof(err)));
		assert_int_equal(not_found, 1);
		sympath_free(&sp);
	}
	/* Not an image at that address. */
	assert_int_equal(pdb_codeview_from_image(&rd, m.base + 0x1000, PDB_IMAGE_MAPPED, &cv, err,
						 sizeof(err)), -1);
	assert_non_null(strstr(err, "MZ"));
	free(m.mem);
	free(f);
}

/* ---- publics against the export table and the map ---- */

static void load_all(struct syms *ss, unsigned want)
{
	char err[256];
	struct pdb *pdb = pdb_open_file(PDB, err, sizeof(err));

	if (!pdb)
		fail_msg("%s", err);
	memset(ss, 0, sizeof(*ss));
	assert_int_equal(pdb_symbols(pdb, want, collect, ss), 0);
	pdb_close(pdb);
}

/* File offset of an RVA in the DLL on disk. */
static uint32_t rva_off(const uint8_t *f, uint32_t rva)
{
	uint32_t lfanew = rd32(f + 0x3c), i;
	uint16_t nsec = rd16(f + lfanew + 6), optsz = rd16(f + lfanew + 20);
	const uint8_t *sh = f + lfanew + 24 + optsz;

	for (i = 0; i < nsec; i++, sh += 40)
		if (rva >= rd32(sh + 12) && rva < rd32(sh + 12) + rd32(sh + 16))
			return rva - rd32(sh + 12) + rd32(sh + 20);
	fail_msg("RVA 0x%x in no section", rva);
	return 0;
}

/* Finds one public by name (stops the walk). */
struct name_find {
	const char *name;
	int found;
	struct sym sym;
};

static int find_named(void *ctx, const struct pdb_symbol *s)
{
	struct name_find *nf = ctx;

	if (s->kind != PDB_SYM_PUBLIC || strcmp(s->name, nf->name))
		return 0;
	nf->found = 1;
	nf->sym.rva = s->rva;
	nf->sym.has_rva = s->has_rva;
	nf->sym.flags = s->flags;
	return 1;
}

/* Every export of dll is a public of pdb at the export's RVA; functions are flagged as
 * functions, data_export (or none) is not. Returns the number of exports. */
static uint32_t exports_are_publics(const char *dll, const char *pdb_path,
				    const char *data_export)
{
	size_t flen;
	uint8_t *f = slurp(dll, &flen);
	uint32_t lfanew = rd32(f + 0x3c), ed, n, names, ords, funcs, i;
	char err[256];
	struct pdb *pdb = pdb_open_file(pdb_path, err, sizeof(err));

	if (!pdb)
		fail_msg("%s", err);
	ed = rva_off(f, rd32(f + lfanew + 24 + 112)); /* PE32+ data directory 0: exports */
	n = rd32(f + ed + 24);
	funcs = rva_off(f, rd32(f + ed + 28));
	names = rva_off(f, rd32(f + ed + 32));
	ords = rva_off(f, rd32(f + ed + 36));
	for (i = 0; i < n; i++) {
		const char *name = (const char *)f + rva_off(f, rd32(f + names + 4 * i));
		uint32_t rva = rd32(f + funcs + 4 * rd16(f + ords + 2 * i));
		struct name_find nf = { .name = name };

		assert_int_equal(pdb_symbols(pdb, PDB_WANT_PUBLICS, find_named, &nf), 1);
		if (!nf.found)
			fail_msg("export %s has no public symbol", name);
		assert_true(nf.sym.has_rva);
		assert_int_equal(nf.sym.rva, rva);
		assert_int_equal(!!(nf.sym.flags & PDB_PUB_FUNCTION),
				 !data_export || strcmp(name, data_export) != 0);
	}
	pdb_close(pdb);
	free(f);
	return n;
}

static void publics_match_exports(void **state)
{
	(void)state;
	assert_int_equal(exports_are_publics(DLL, PDB, "vmkd_pdbtest_counter"), 3);
}

/* kdvm.dll linked by GNU ld with --pdb (host/host.mk): its RSDS names its PDB, and the ten
 * KD transport exports are its publics. */
static void kdvm_dll_pdb(void **state)
{
	struct pdb_buffer b;
	struct pdb_mem_reader rd = { pdb_buffer_read, &b };
	struct pdb_codeview_info cv;
	char err[256];
	uint8_t *dll;
	struct pdb *pdb;

	(void)state;
	if (access(KDVM_DLL, R_OK)) {
		print_message("%s not built (no mingw-w64): skipped\n", KDVM_DLL);
		skip();
	}
	dll = slurp(KDVM_DLL, &b.size);
	b.data = dll;
	if (pdb_codeview_from_image(&rd, 0, PDB_IMAGE_FILE, &cv, err, sizeof(err)))
		fail_msg("%s", err);
	assert_string_equal(cv.name, "kdvm.pdb");
	pdb = pdb_open_file(KDVM_PDB, err, sizeof(err));
	if (!pdb)
		fail_msg("%s", err);
	assert_true(pdb_matches(pdb, cv.guid, cv.age));
	pdb_close(pdb);
	assert_int_equal(exports_are_publics(KDVM_DLL, KDVM_PDB, NULL), 10);
	free(dll);
}

/*
 * The map's "Publics by Value" and "Static symbols" lines:
 *  " 0001:00000000       vmkd_pdbtest_add     0000000180001000     pdbtest.obj"
 * Each must be in the PDB at RVA = Rva+Base - preferred base.
 */
static void symbols_match_linker_map(void **state)
{
	FILE *f = fopen(MAP, "r");
	char line[512], name[128];
	unsigned long long base = 0, va;
	unsigned sec, off, publics = 0, statics = 0;
	int in_statics = 0;
	struct syms pub, mod;

	(void)state;
	assert_non_null(f);
	load_all(&pub, PDB_WANT_PUBLICS);
	load_all(&mod, PDB_WANT_PROCS);
	while (fgets(line, sizeof(line), f)) {
		const struct sym *s;

		if (sscanf(line, " Preferred load address is %llx", &base) == 1)
			continue;
		if (strstr(line, "Static symbols"))
			in_statics = 1;
		if (sscanf(line, " %x:%x %127s %llx", &sec, &off, name, &va) != 4 || !base || !sec)
			continue;
		if (!in_statics) {
			s = find_sym(&pub, name, PDB_SYM_PUBLIC);
			publics++;
		} else {
			s = find_sym(&mod, name, PDB_SYM_LOCAL_PROC);
			if (!s)
				s = find_sym(&mod, name, PDB_SYM_LOCAL_DATA);
			statics++;
		}
		if (!s)
			fail_msg("map symbol %s is not in the PDB", name);
		assert_true(s->has_rva);
		assert_int_equal(s->rva, (uint32_t)(va - base));
	}
	fclose(f);
	assert_int_equal(publics, 4); /* add, entry, counter, buffer */
	assert_int_equal(statics, 2); /* pdbtest_helper, pdbtest_static_hits */
}

static void globals_and_procedures(void **state)
{
	struct syms g, p;
	const struct sym *add, *helper, *counter, *pub;

	(void)state;
	load_all(&g, PDB_WANT_GLOBALS);
	counter = find_sym(&g, "vmkd_pdbtest_counter", PDB_SYM_GLOBAL_DATA);
	assert_non_null(counter);
	assert_non_null(find_sym(&g, "vmkd_pdbtest_buffer", PDB_SYM_GLOBAL_DATA));
	assert_null(find_sym(&g, "vmkd_pdbtest_add", PDB_SYM_PUBLIC)); /* not asked for */
	load_all(&p, PDB_WANT_PROCS);
	add = find_sym(&p, "vmkd_pdbtest_add", PDB_SYM_PROC);
	helper = find_sym(&p, "pdbtest_helper", PDB_SYM_LOCAL_PROC);
	assert_non_null(add);
	assert_non_null(helper);
	assert_non_null(find_sym(&p, "vmkd_pdbtest_entry", PDB_SYM_PROC));
	/* Code sizes are real: nonzero, and a procedure ends before the next one starts. */
	assert_true(add->size > 0 && add->size <= helper->rva - add->rva);
	assert_true(helper->size > 0);
	load_all(&g, PDB_WANT_PUBLICS);
	pub = find_sym(&g, "vmkd_pdbtest_add", PDB_SYM_PUBLIC);
	assert_non_null(pub);
	assert_int_equal(pub->rva, add->rva);
}

struct contrib_find {
	uint32_t rva;
	int found;
	const char *module;
};

static int find_contrib(void *ctx, const struct pdb_contrib *c)
{
	struct contrib_find *cf = ctx;

	if (c->has_rva && cf->rva >= c->rva && cf->rva - c->rva < c->size) {
		cf->found = 1;
		cf->module = c->module_name;
		return 1; /* stop */
	}
	return 0;
}

static int stop_after_two(void *ctx, const struct pdb_symbol *s)
{
	int *n = ctx;

	(void)s;
	return ++*n == 2 ? 77 : 0;
}

static void contributions_and_early_stop(void **state)
{
	char err[256];
	struct pdb *pdb = pdb_open_file(PDB, err, sizeof(err));
	struct syms ss;
	struct contrib_find cf = { 0 };
	const struct sym *helper;
	int n = 0;
	const struct pdb_info *in;

	(void)state;
	assert_non_null(pdb);
	in = pdb_get_info(pdb);
	assert_int_equal(in->version, 20000404);
	assert_true(in->num_sections >= 3);
	assert_int_equal(in->num_modules, 2); /* pdbtest.obj and "* Linker *" */
	memset(&ss, 0, sizeof(ss));
	assert_int_equal(pdb_symbols(pdb, PDB_WANT_PROCS, collect, &ss), 0);
	helper = find_sym(&ss, "pdbtest_helper", PDB_SYM_LOCAL_PROC);
	assert_non_null(helper);
	cf.rva = helper->rva;
	assert_int_equal(pdb_section_contribs(pdb, find_contrib, &cf), 1);
	assert_true(cf.found);
	assert_non_null(cf.module);
	assert_non_null(strstr(cf.module, "pdbtest.obj"));
	assert_int_equal(pdb_symbols(pdb, PDB_WANT_ALL, stop_after_two, &n), 77);
	assert_int_equal(n, 2);
	pdb_close(pdb);
}

/* ---- hostile files ---- */

static int count_syms(void *ctx, const struct pdb_symbol *s)
{
	size_t *n = ctx;

	assert_non_null(s->name);
	(*n)++;
	return 0;
}

/* Opens data; when it opens, walks everything. Returns 0 open+walk ok, -1 open failed,
 * -2 walk failed; err gets the reason. */
static int try_pdb(const uint8_t *data, size_t len, char *err, size_t errlen)
{
	struct pdb *pdb = pdb_open_mem(data, len, err, errlen);
	size_t n = 0;
	int rc;

	if (!pdb) {
		assert_true(err[0] != 0);
		return -1;
	}
	rc = pdb_symbols(pdb, PDB_WANT_ALL, count_syms, &n);
	if (rc)
		snprintf(err, errlen, "%s", pdb_error(pdb));
	pdb_section_contribs(pdb, find_contrib, &(struct contrib_find){ 0 });
	pdb_close(pdb);
	return rc ? -2 : 0;
}

static void truncated_pdbs(void **state)
{
	size_t len, cut, opened = 0, failed = 0;
	uint8_t *good = slurp(PDB, &len);
	char err[256];

	(void)state;
	assert_int_equal(try_pdb(good, len, err, sizeof(err)), 0);
	for (cut = 0; cut < len; cut += cut < 128 ? 1 : 509) {
		uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees any overrun */

		memcpy(copy, good, cut);
		err[0] = 0;
		if (try_pdb(copy, cut, err, sizeof(err)) == 0)
			opened++;
		else
			failed++;
		free(copy);
	}
	/* Short files cannot even hold the superblock. */
	assert_true(failed > 128);
	(void)opened;
	free(good);
}

static void damaged_pdbs(void **state)
{
	size_t len;
	uint8_t *good = slurp(PDB, &len), *d = malloc(len);
	uint32_t bs = rd32(good + 32), map = rd32(good + 52), dirblock, sym_stream, blk;
	struct msf m;
	uint8_t *dbi;
	uint32_t dbi_len;
	char err[256];

	(void)state;
	/* Wrong magic. */
	memcpy(d, good, len);
	d[5] ^= 1;
	assert_int_equal(try_pdb(d, len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "magic"));
	/* Odd block size. */
	memcpy(d, good, len);
	wr32(d + 32, 3000);
	assert_int_equal(try_pdb(d, len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "block size"));
	/* Block map outside the file. */
	memcpy(d, good, len);
	wr32(d + 52, 0x7fffffff);
	assert_int_equal(try_pdb(d, len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "block map"));
	/* Directory block outside the file. */
	memcpy(d, good, len);
	wr32(d + (size_t)map * bs, 0xfffffff0);
	assert_int_equal(try_pdb(d, len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "outside"));
	/* Huge stream count. */
	dirblock = rd32(good + (size_t)map * bs);
	memcpy(d, good, len);
	wr32(d + (size_t)dirblock * bs, 0x40000000);
	assert_int_equal(try_pdb(d, len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "streams"));
	/* A stream larger than its blocks in the directory. */
	memcpy(d, good, len);
	wr32(d + (size_t)dirblock * bs + 4 + 4 * 3, 0x7ffffff0); /* DBI size */
	assert_true(try_pdb(d, len, err, sizeof(err)) < 0);

	/* Inside the streams: find the DBI and the symbol record stream with the MSF reader. */
	assert_int_equal(msf_open(&m, good, len, err, sizeof(err)), 0);
	assert_int_equal(msf_stream_read(&m, 3, &dbi, &dbi_len, err, sizeof(err)), 0);
	sym_stream = rd16(dbi + 20);
	/* DBI: a huge module info size. */
	memcpy(d, good, len);
	blk = m.dir[m.first_block[3]];
	wr32(d + (size_t)blk * bs + 24, 0x7fffffff);
	assert_int_equal(try_pdb(d, len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "overrun"));
	/* DBI: a negative substream size. */
	wr32(d + (size_t)blk * bs + 24, 0x80000000);
	assert_int_equal(try_pdb(d, len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "negative"));
	/* Symbol records: the first one claims to run past the stream. */
	memcpy(d, good, len);
	blk = m.dir[m.first_block[sym_stream]];
	d[(size_t)blk * bs] = 0xff;
	d[(size_t)blk * bs + 1] = 0xff;
	assert_int_equal(try_pdb(d, len, err, sizeof(err)), -2);
	assert_non_null(strstr(err, "overruns"));
	/* Symbol records: a stream block number outside the file. */
	memcpy(d, good, len);
	wr32(d + (size_t)dirblock * bs + 4 * m.first_block[sym_stream], 0x00ffffff);
	assert_int_equal(try_pdb(d, len, err, sizeof(err)), -2);
	assert_non_null(strstr(err, "outside"));
	free(dbi);
	msf_close(&m);
	free(d);
	free(good);
}

/* A hand-made MSF: superblock, block map, directory, an info stream, no DBI stream. */
static void pdb_without_dbi(void **state)
{
	static const char magic[32] = "Microsoft C/C++ MSF 7.00\r\n\x1a" "DS\0\0";
	enum { BS = 512 };
	uint8_t f[6 * BS] = { 0 };
	uint8_t *dir = f + 4 * BS, *info = f + 5 * BS;
	char err[256] = "";
	struct pdb *pdb;
	size_t n = 0;
	struct contrib_find cf = { 0 };

	(void)state;
	memcpy(f, magic, 32);
	wr32(f + 32, BS);
	wr32(f + 36, 1);     /* free block map */
	wr32(f + 40, 6);     /* blocks */
	wr32(f + 44, 6 * 4); /* directory bytes */
	wr32(f + 52, 3);     /* block map block */
	wr32(f + 3 * BS, 4); /* the directory is block 4 */
	wr32(dir, 4);        /* streams: old directory, info, TPI, DBI */
	wr32(dir + 4, 0);
	wr32(dir + 8, 28);
	wr32(dir + 12, 0);
	wr32(dir + 16, MSF_NIL_STREAM);
	wr32(dir + 20, 5);   /* the info stream's block */
	wr32(info, 20000404);
	wr32(info + 8, 9);   /* age */
	memcpy(info + 12, "0123456789abcdef", 16);
	pdb = pdb_open_mem(f, sizeof(f), err, sizeof(err));
	if (!pdb)
		fail_msg("%s", err);
	assert_int_equal(pdb_get_info(pdb)->age, 9);
	assert_true(pdb_matches(pdb, (const uint8_t *)"0123456789abcdef", 9));
	assert_int_equal(pdb_symbols(pdb, PDB_WANT_ALL, count_syms, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(pdb_section_contribs(pdb, find_contrib, &cf), 0);
	pdb_close(pdb);
	/* The same file one block short loses the info stream's block. */
	assert_int_equal(try_pdb(f, 5 * BS, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "outside"));
}

/* Streams whose blocks add up to more than the file (blocks shared between streams, as a
 * hostile file could do to multiply the work) are refused. */
static void streams_larger_than_the_file(void **state)
{
	static const char magic[32] = "Microsoft C/C++ MSF 7.00\r\n\x1a" "DS\0\0";
	enum { BS = 512, NB = 8, CLAIMED = 12 };
	uint8_t f[NB * BS] = { 0 };
	uint8_t *dir = f + 4 * BS;
	char err[256] = "";
	uint32_t i;

	(void)state;
	memcpy(f, magic, 32);
	wr32(f + 32, BS);
	wr32(f + 36, 1);
	wr32(f + 40, NB);
	wr32(f + 44, (2 + CLAIMED) * 4);
	wr32(f + 52, 3);
	wr32(f + 3 * BS, 4);
	wr32(dir, 1);                /* one stream */
	wr32(dir + 4, CLAIMED * BS); /* of 12 blocks, in an 8-block file */
	for (i = 0; i < CLAIMED; i++)
		wr32(dir + 8 + 4 * i, 5); /* all the same block */
	assert_null(pdb_open_mem(f, sizeof(f), err, sizeof(err)));
	assert_non_null(strstr(err, "claim"));
}

/* ---- keys and symbol paths ---- */

static const uint8_t test_guid[16] = { 0x52, 0x7e, 0x14, 0xc0, 0x97, 0xc7, 0x96, 0x22,
				       0x4c, 0x4c, 0x44, 0x20, 0x50, 0x44, 0x42, 0x2e };

static void guid_age_keys(void **state)
{
	char key[41], g[39], path[256];

	(void)state;
	pdb_guid_age_key(test_guid, 1, key);
	assert_string_equal(key, "C0147E52C79722964C4C44205044422E1");
	pdb_guid_age_key(test_guid, 0x2a, key);
	assert_string_equal(key, "C0147E52C79722964C4C44205044422E2A");
	pdb_guid_age_key(test_guid, 0xffffffff, key);
	assert_int_equal(strlen(key), 40);
	pdb_guid_format(test_guid, g);
	assert_string_equal(g, "{C0147E52-C797-2296-4C4C-44205044422E}");
	assert_int_equal(sympath_store_path(path, sizeof(path), "/s", "ntkrnlmp.pdb", test_guid,
					    3), 0);
	assert_string_equal(path, "/s/ntkrnlmp.pdb/C0147E52C79722964C4C44205044422E3/ntkrnlmp.pdb");
	assert_int_equal(sympath_store_path(path, 20, "/s", "ntkrnlmp.pdb", test_guid, 3), -1);
}

static void symbol_path_parsing(void **state)
{
	struct sympath sp;
	char err[256], big[64 * 4 + 16], home[512];
	const char *h = getenv("HOME");
	int i;

	(void)state;
	assert_int_equal(sympath_parse(&sp, "srv*/c*http://h/s", "/def", err, sizeof(err)), 0);
	assert_int_equal(sp.n, 1);
	assert_int_equal(sp.elems[0].kind, SYMPATH_STORE);
	assert_int_equal(sp.elems[0].ndirs, 1);
	assert_string_equal(sp.elems[0].dirs[0], "/c");
	assert_string_equal(sp.elems[0].url, "http://h/s");
	sympath_free(&sp);

	assert_int_equal(sympath_parse(&sp, "SRV*https://msdl.example/download/symbols", "/def",
				       err, sizeof(err)), 0);
	assert_int_equal(sp.elems[0].ndirs, 1);
	assert_string_equal(sp.elems[0].dirs[0], "/def");
	assert_string_equal(sp.elems[0].url, "https://msdl.example/download/symbols");
	sympath_free(&sp);

	assert_int_equal(sympath_parse(&sp, " /a ; /b/c;;srv*A*B*http://x ; srv*/store",
				       "/def", err, sizeof(err)), 0);
	assert_int_equal(sp.n, 4);
	assert_int_equal(sp.elems[0].kind, SYMPATH_DIR);
	assert_string_equal(sp.elems[0].dirs[0], "/a");
	assert_string_equal(sp.elems[1].dirs[0], "/b/c");
	assert_int_equal(sp.elems[2].ndirs, 2);
	assert_string_equal(sp.elems[2].dirs[0], "A");
	assert_string_equal(sp.elems[2].dirs[1], "B");
	assert_string_equal(sp.elems[2].url, "http://x");
	assert_int_equal(sp.elems[3].kind, SYMPATH_STORE);
	assert_null(sp.elems[3].url); /* a local store: never a download */
	sympath_free(&sp);

	/* cache* becomes the store of later srv*URL elements. */
	assert_int_equal(sympath_parse(&sp, "cache*/cc;srv*http://h;srv**http://i", "/def", err,
				       sizeof(err)), 0);
	assert_int_equal(sp.n, 3);
	assert_true(sp.elems[0].is_cache);
	assert_string_equal(sp.elems[1].dirs[0], "/cc");
	assert_string_equal(sp.elems[2].dirs[0], "/cc");
	sympath_free(&sp);

	assert_int_equal(sympath_parse(&sp, "symsrv*symsrv.dll*/c*http://h", "/def", err,
				       sizeof(err)), 0);
	assert_string_equal(sp.elems[0].dirs[0], "/c");
	assert_string_equal(sp.elems[0].url, "http://h");
	sympath_free(&sp);

	if (h) {
		assert_int_equal(sympath_parse(&sp, "srv*~/sym*http://h", "/def", err,
					       sizeof(err)), 0);
		snprintf(home, sizeof(home), "%s/sym", h);
		assert_string_equal(sp.elems[0].dirs[0], home);
		sympath_free(&sp);
	}

	/* Errors say what is wrong. */
	assert_int_equal(sympath_parse(&sp, "http://h/s", "/def", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "srv*"));
	sympath_free(&sp);
	assert_int_equal(sympath_parse(&sp, "srv*http://a*/c", "/def", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "last"));
	sympath_free(&sp);
	assert_int_equal(sympath_parse(&sp, "symsrv*x.dll", "/def", err, sizeof(err)), -1);
	sympath_free(&sp);
	big[0] = 0;
	for (i = 0; i < 65; i++)
		strcat(big, "/d;");
	assert_int_equal(sympath_parse(&sp, big, "/def", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "elements"));
	sympath_free(&sp);
}

/* ---- local lookup ---- */

static void copy_file(const char *from, const char *to)
{
	size_t len;
	uint8_t *d = slurp(from, &len);
	FILE *f = fopen(to, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(d, 1, len, f), len);
	fclose(f);
	free(d);
}

static void local_lookup(void **state)
{
	char tmpl[] = "/tmp/vmkd-pdb-test.XXXXXX", path[1024], text[2048], out[1024], err[512];
	char store[512], flat[512], cmd[1200];
	struct pdb_codeview_info cv;
	struct pdb_buffer b;
	struct pdb_mem_reader rd = { pdb_buffer_read, &b };
	struct sympath sp;
	struct sympath_find_opts quiet = { 0 }, offline = { .offline = true };
	uint8_t *dll = slurp(DLL, &b.size);
	char *dir = mkdtemp(tmpl);

	(void)state;
	assert_non_null(dir);
	b.data = dll;
	assert_int_equal(pdb_codeview_from_image(&rd, 0, PDB_IMAGE_FILE, &cv, err, sizeof(err)), 0);

	/* A flat folder holding the PDB. */
	snprintf(flat, sizeof(flat), "%s/flat", dir);
	assert_int_equal(mkdir(flat, 0755), 0);
	snprintf(path, sizeof(path), "%s/pdbtest.pdb", flat);
	copy_file(PDB, path);
	/* A store with it in store layout. */
	snprintf(store, sizeof(store), "%s/store", dir);
	assert_int_equal(sympath_store_path(path, sizeof(path), store, cv.name, cv.guid, cv.age), 0);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%.*s'", (int)(strrchr(path, '/') - path), path);
	assert_int_equal(system(cmd), 0);
	copy_file(PDB, path);

	snprintf(text, sizeof(text), "%s/empty;srv*%s", dir, store);
	assert_int_equal(sympath_parse(&sp, text, "/nonexistent", err, sizeof(err)), 0);
	assert_int_equal(sympath_find(&sp, cv.name, cv.guid, cv.age, &quiet, out, sizeof(out), err,
				      sizeof(err)), SYMPATH_FOUND);
	assert_string_equal(out, path);
	/* A different age is a different build: not found, not the wrong file. */
	assert_int_equal(sympath_find(&sp, cv.name, cv.guid, cv.age + 1, &quiet, out, sizeof(out),
				      err, sizeof(err)), SYMPATH_NOT_FOUND);
	assert_non_null(strstr(err, "not found"));
	/* Names that could leave the folder are refused. */
	assert_int_equal(sympath_find(&sp, "..", cv.guid, cv.age, &quiet, out, sizeof(out), err,
				      sizeof(err)), SYMPATH_ERROR);
	assert_int_equal(sympath_find(&sp, "a/b.pdb", cv.guid, cv.age, &quiet, out, sizeof(out),
				      err, sizeof(err)), SYMPATH_ERROR);
	sympath_free(&sp);

	/* The flat folder: the file is opened and its GUID checked. */
	assert_int_equal(sympath_parse(&sp, flat, "/nonexistent", err, sizeof(err)), 0);
	assert_int_equal(sympath_find(&sp, cv.name, cv.guid, cv.age, &quiet, out, sizeof(out), err,
				      sizeof(err)), SYMPATH_FOUND);
	snprintf(path, sizeof(path), "%s/pdbtest.pdb", flat);
	assert_string_equal(out, path);
	assert_int_equal(sympath_find(&sp, cv.name, test_guid, cv.age, &quiet, out, sizeof(out),
				      err, sizeof(err)), SYMPATH_NOT_FOUND);
	sympath_free(&sp);

	/* Offline: a server in the path is not contacted (port 1 would refuse). */
	snprintf(text, sizeof(text), "srv*%s/cache*http://127.0.0.1:1/", dir);
	assert_int_equal(sympath_parse(&sp, text, "/nonexistent", err, sizeof(err)), 0);
	assert_int_equal(sympath_find(&sp, cv.name, cv.guid, cv.age, &offline, out, sizeof(out),
				      err, sizeof(err)), SYMPATH_NOT_FOUND);
	/* Online, the refused connection is an error that says so, and leaves no file. */
	assert_int_equal(sympath_find(&sp, cv.name, cv.guid, cv.age, &quiet, out, sizeof(out), err,
				      sizeof(err)), SYMPATH_ERROR);
	assert_non_null(strstr(err, "127.0.0.1:1"));
	assert_int_equal(sympath_store_path(path, sizeof(path), sp.elems[0].dirs[0], cv.name,
					    cv.guid, cv.age), 0);
	assert_int_equal(access(path, F_OK), -1);
	sympath_free(&sp);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(dll);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rsds_from_file),
		cmocka_unit_test(rsds_from_mapped_image),
		cmocka_unit_test(publics_match_exports),
		cmocka_unit_test(kdvm_dll_pdb),
		cmocka_unit_test(symbols_match_linker_map),
		cmocka_unit_test(globals_and_procedures),
		cmocka_unit_test(contributions_and_early_stop),
		cmocka_unit_test(truncated_pdbs),
		cmocka_unit_test(damaged_pdbs),
		cmocka_unit_test(pdb_without_dbi),
		cmocka_unit_test(streams_larger_than_the_file),
		cmocka_unit_test(guid_age_keys),
		cmocka_unit_test(symbol_path_parsing),
		cmocka_unit_test(local_lookup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
