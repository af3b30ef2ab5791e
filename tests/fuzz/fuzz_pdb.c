/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for host/pdb: the MSF/PDB reader and the PE CodeView (RSDS) reader. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../host/pdb/codeview.h"
#include "../../host/pdb/pdb.h"

/*
 * The input is both a PDB (opened, every symbol and section contribution walked) and a PE
 * image (its RSDS record looked up in the file and the mapped layout).
 *
 * Checked: a failure always has a reason; symbol names are terminated and no longer than a
 * record can be; an RVA is only claimed with a section; an RSDS name is the last part of
 * its path and inside it.
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
	return 0;
}
