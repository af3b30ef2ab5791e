/* SPDX-License-Identifier: MIT */
/* pdb_cmd.c - the `vmkd pdb` and `vmkd symfetch` subcommands over host/pdb. */
#include "pdb_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codeview.h"
#include "pdb.h"
#include "sympath.h"

#define IMAGE_FILE_MAX (1u << 30)

/* Names come from untrusted files: control bytes are printed as \xNN, never sent to the
 * terminal. */
static void put_name(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			printf("\\x%02x", *p);
		else
			putchar(*p);
	}
}

static const char *kind_name(const struct pdb_symbol *s)
{
	switch (s->kind) {
	case PDB_SYM_PUBLIC:
		return s->flags & PDB_PUB_FUNCTION ? "pfunc" : s->flags & PDB_PUB_CODE ? "pcode"
											: "pdata";
	case PDB_SYM_GLOBAL_DATA:
		return "gdata";
	case PDB_SYM_LOCAL_DATA:
		return "ldata";
	case PDB_SYM_PROC:
		return "proc";
	case PDB_SYM_LOCAL_PROC:
		return "lproc";
	}
	return "?";
}

static int print_sym(void *ctx, const struct pdb_symbol *s)
{
	(void)ctx;
	if (s->has_rva)
		printf("%08x", s->rva);
	else
		printf("%04x:%08x", s->section, s->offset);
	printf(" %-5s ", kind_name(s));
	put_name(s->name);
	if (s->size)
		printf(" (size 0x%x)", s->size);
	putchar('\n');
	return 0;
}

static int print_contrib(void *ctx, const struct pdb_contrib *c)
{
	(void)ctx;
	if (c->has_rva)
		printf("%08x", c->rva);
	else
		printf("%04x:%08x", c->section, c->offset);
	printf(" size 0x%-8x chars 0x%08x ", c->size, c->characteristics);
	put_name(c->module_name ? c->module_name : "?");
	putchar('\n');
	return 0;
}

static void pdb_usage(FILE *f)
{
	fprintf(f, "usage: vmkd pdb [OPTIONS] FILE.pdb\n"
		   "Prints a PDB's identity (GUID, age, symbol store key, streams, sections,\n"
		   "modules) and, on request, its symbols as 'RVA KIND NAME [(size N)]'.\n"
		   "  --publics    public symbols (S_PUB32): pfunc, pcode, pdata\n"
		   "  --globals    global and file-static data (S_GDATA32, S_LDATA32): gdata, ldata\n"
		   "  --procs      procedures and statics of the module streams: proc, lproc, ldata\n"
		   "  --all        all three\n"
		   "  --contribs   section contributions: RVA, size, characteristics, module\n"
		   "  -h, --help   this text\n");
}

int pdb_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "publics", no_argument, NULL, 'p' }, { "globals", no_argument, NULL, 'g' },
		{ "procs", no_argument, NULL, 'r' },   { "all", no_argument, NULL, 'a' },
		{ "contribs", no_argument, NULL, 'c' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned want = 0;
	int contribs = 0, c, rc = 0;
	char err[320], guid[39], key[41];
	const struct pdb_info *in;
	struct pdb *pdb;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': want |= PDB_WANT_PUBLICS; break;
		case 'g': want |= PDB_WANT_GLOBALS; break;
		case 'r': want |= PDB_WANT_PROCS; break;
		case 'a': want |= PDB_WANT_ALL; break;
		case 'c': contribs = 1; break;
		case 'h': pdb_usage(stdout); return 0;
		default: pdb_usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		pdb_usage(stderr);
		return 2;
	}
	pdb = pdb_open_file(argv[optind], err, sizeof(err));
	if (!pdb) {
		fprintf(stderr, "vmkd pdb: %s\n", err);
		return 1;
	}
	in = pdb_get_info(pdb);
	pdb_guid_format(in->guid, guid);
	pdb_guid_age_key(in->guid, in->age, key);
	printf("%s: MSF 7.00, block size %u, %u streams\n", argv[optind], in->block_size,
	       in->num_streams);
	printf("  GUID %s age %u (store key %s)\n", guid, in->age, key);
	printf("  version %u, signature 0x%08x, machine 0x%04x, %u sections, %u modules\n",
	       in->version, in->signature, in->machine, in->num_sections, in->num_modules);
	if (want && pdb_symbols(pdb, want, print_sym, NULL) < 0)
		rc = 1;
	if (!rc && contribs && pdb_section_contribs(pdb, print_contrib, NULL) < 0)
		rc = 1;
	if (rc)
		fprintf(stderr, "vmkd pdb: %s\n", pdb_error(pdb));
	pdb_close(pdb);
	return rc;
}

/* The whole image file, bounded. */
static uint8_t *slurp(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *buf = NULL;

	if (!f || fstat(fileno(f), &st) || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > IMAGE_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", path,
			 !f || errno ? strerror(errno) : "not a regular file of at most 1 GiB");
		goto out;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		snprintf(err, errlen, "%s: read failed", path);
		free(buf);
		buf = NULL;
		goto out;
	}
	*len = (size_t)st.st_size;
out:
	if (f)
		fclose(f);
	return buf;
}

static void symfetch_usage(FILE *f)
{
	fprintf(f, "usage: vmkd symfetch [--sympath PATH] [--offline] IMAGE...\n"
		   "Reads each PE image's CodeView record (PDB name, GUID, age) and finds that PDB\n"
		   "along the symbol path, downloading it from a srv*CACHE*URL server into the\n"
		   "cache. Prints 'IMAGE: NAME KEY -> PATH' (or '-> not found').\n"
		   "  --sympath PATH  the symbol path (default: $_NT_SYMBOL_PATH), e.g.\n"
		   "                  srv*~/.cache/vmkd/symbols*https://msdl.microsoft.com/download/symbols\n"
		   "  --offline       never contact a server\n"
		   "  -h, --help      this text\n"
		   "Exit status: 0 all found, 1 some not found, 2 an error.\n");
}

static int fetch_one(const struct sympath *sp, const char *image, bool offline)
{
	struct sympath_find_opts fo = { .log = stderr, .offline = offline };
	struct pdb_codeview_info cv;
	struct pdb_buffer b;
	struct pdb_mem_reader rd = { pdb_buffer_read, &b };
	char err[512], key[41], out[PATH_MAX];
	enum sympath_result r;
	uint8_t *data;

	data = slurp(image, &b.size, err, sizeof(err));
	if (!data) {
		fprintf(stderr, "vmkd symfetch: %s\n", err);
		return 2;
	}
	b.data = data;
	if (pdb_codeview_from_image(&rd, 0, PDB_IMAGE_FILE, &cv, err, sizeof(err))) {
		fprintf(stderr, "vmkd symfetch: %s: %s\n", image, err);
		free(data);
		return 2;
	}
	free(data);
	pdb_guid_age_key(cv.guid, cv.age, key);
	r = sympath_find(sp, cv.name, cv.guid, cv.age, &fo, out, sizeof(out), err, sizeof(err));
	printf("%s: ", image);
	put_name(cv.name);
	printf(" %s -> %s\n", key,
	       r == SYMPATH_FOUND ? out : r == SYMPATH_NOT_FOUND ? "not found" : "error");
	if (r == SYMPATH_FOUND)
		return 0;
	fprintf(stderr, "vmkd symfetch: %s\n", err);
	return r == SYMPATH_NOT_FOUND ? 1 : 2;
}

int symfetch_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sympath", required_argument, NULL, 's' },
		{ "offline", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *text = getenv("_NT_SYMBOL_PATH");
	bool offline = false;
	struct sympath sp;
	char err[512];
	int c, i, rc = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': text = optarg; break;
		case 'o': offline = true; break;
		case 'h': symfetch_usage(stdout); return 0;
		default: symfetch_usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		symfetch_usage(stderr);
		return 2;
	}
	if (!text || !*text) {
		fprintf(stderr, "vmkd symfetch: no symbol path (set _NT_SYMBOL_PATH or use "
				"--sympath)\n");
		return 2;
	}
	if (sympath_parse(&sp, text, NULL, err, sizeof(err))) {
		fprintf(stderr, "vmkd symfetch: symbol path: %s\n", err);
		sympath_free(&sp);
		return 2;
	}
	for (i = optind; i < argc; i++) {
		int r = fetch_one(&sp, argv[i], offline);

		if (r > rc)
			rc = r;
	}
	sympath_free(&sp);
	return rc;
}
