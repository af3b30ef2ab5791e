/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for host/pdb: the MSF/PDB reader, the PE CodeView (RSDS) reader and the
 * symbol path parser. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../host/pdb/codeview.h"
#include "../../host/pdb/pdb.h"
#include "../../host/pdb/sympath.h"

/*
 * The input is a PDB (opened, every symbol and section contribution walked), a PE image
 * (its RSDS record looked up in the file and the mapped layout) and, up to its first 4 KiB
 * and NUL, a symbol path.
 *
 * Checked: a failure always has a reason; symbol names are terminated and no longer than a
 * record can be; an RVA is only claimed with a section; an RSDS name is the last part of
 * its path and inside it; a parsed symbol path has bounded elements, each with a folder,
 * servers only on stores.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static int on_sym(void *ctx, const struct pdb_symbol *s)
{
	size_t *n = ctx;

	check(s->name && strlen(s->name) <= 0xffff);
	check(!s->has_rva || s->section != 0);
	check(s->kind <= PDB_SYM_LOCAL_PROC);
	return ++*n > 100000; /* bounded work per input */
}

static int on_contrib(void *ctx, const struct pdb_contrib *c)
{
	size_t *n = ctx;

	check(!c->has_rva || c->section != 0);
	if (c->module_name)
		(void)strlen(c->module_name);
	return ++*n > 100000;
}

static void parse_sympath(const uint8_t *data, size_t size)
{
	char text[4097], err[256];
	struct sympath sp;
	size_t i, n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;

	memcpy(text, data, n);
	text[n] = 0;
	if (sympath_parse(&sp, text, "/cache", err, sizeof(err)) == 0) {
		check(sp.n <= SYMPATH_MAX_ELEMS);
		for (i = 0; i < sp.n; i++) {
			check(sp.elems[i].ndirs >= 1 && sp.elems[i].ndirs <= SYMPATH_MAX_STORES);
			check(sp.elems[i].dirs[0] != NULL);
			check(!sp.elems[i].url || sp.elems[i].kind == SYMPATH_STORE);
		}
	} else {
		check(err[0]);
	}
	sympath_free(&sp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256] = "";
	struct pdb *pdb = pdb_open_mem(data, size, err, sizeof(err));
	struct pdb_buffer b = { data, size };
	struct pdb_mem_reader rd = { pdb_buffer_read, &b };
	struct pdb_codeview_info cv;
	size_t n = 0;
	int layout;

	if (pdb) {
		if (pdb_symbols(pdb, PDB_WANT_ALL, on_sym, &n) < 0)
			check(pdb_error(pdb)[0]);
		n = 0;
		if (pdb_section_contribs(pdb, on_contrib, &n) < 0)
			check(pdb_error(pdb)[0]);
		pdb_close(pdb);
	} else {
		check(err[0]);
	}
	for (layout = PDB_IMAGE_MAPPED; layout <= PDB_IMAGE_FILE; layout++) {
		err[0] = 0;
		if (pdb_codeview_from_image(&rd, 0, (enum pdb_image_layout)layout, &cv, err,
					    sizeof(err))) {
			check(err[0]);
			continue;
		}
		check(cv.name >= cv.path && cv.name < cv.path + sizeof(cv.path));
		check(strlen(cv.path) < sizeof(cv.path) && cv.name[0]);
		check(!strchr(cv.name, '/') && !strchr(cv.name, '\\'));
	}
	parse_sympath(data, size);
	return 0;
}
