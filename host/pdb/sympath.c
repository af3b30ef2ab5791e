/* SPDX-License-Identifier: MIT */
/* sympath.c - the PDB lookup along a parsed symbol path: folders, stores, servers. */
#include "sympath.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pdb.h"
#include "symsrv.h"
#include "../common/errbuf.h"

/* A PDB name from a CodeView record: a plain file name, nothing a path could abuse. */
static bool name_ok(const char *name)
{
	const unsigned char *p;

	if (!*name || !strcmp(name, ".") || !strcmp(name, "..") || strlen(name) > 255)
		return false;
	for (p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == '/' || *p == '\\' || *p == 0x7f)
			return false;
	return true;
}

static void logf_(const struct sympath_find_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void logf_(const struct sympath_find_opts *o, const char *fmt, ...)
{
	va_list ap;

	if (!o || !o->log)
		return;
	va_start(ap, fmt);
	vfprintf(o->log, fmt, ap);
	va_end(ap);
}

/* path is a PDB with this GUID and age. */
static bool candidate(const struct sympath_find_opts *o, const char *path,
		      const uint8_t guid[16], uint32_t age)
{
	char err[256];
	struct pdb *pdb;
	bool ok;

	if (access(path, R_OK))
		return false;
	pdb = pdb_open_file(path, err, sizeof(err));
	if (!pdb) {
		logf_(o, "sympath: %s: %s\n", path, err);
		return false;
	}
	ok = pdb_matches(pdb, guid, age);
	if (!ok)
		logf_(o, "sympath: %s: a different build (GUID/age mismatch)\n", path);
	pdb_close(pdb);
	return ok;
}

/* mkdir -p of path's parent folder. */
static int mkdirs_for(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -1;
	p = strrchr(buf, '/');
	if (!p)
		return 0;
	*p = 0;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) && errno != EEXIST ? -1 : 0;
}

/* Downloads into dir's store layout, checks the file, moves it into place. */
static enum sympath_result download(const struct sympath_elem *e, const char *dir,
				    const char *name, const uint8_t guid[16], uint32_t age,
				    const struct sympath_find_opts *o, char *out, size_t outlen,
				    char *err, size_t errlen)
{
	struct symsrv_opts so = { .progress = o ? o->log : NULL };
	char tmp[PATH_MAX], key[41];
	enum symsrv_result r;

	if (sympath_store_path(out, outlen, dir, name, guid, age) ||
	    snprintf(tmp, sizeof(tmp), "%s.part%ld", out, (long)getpid()) >= (int)sizeof(tmp)) {
		errbuf_set(err, errlen, "cache path too long under %s", dir);
		return SYMPATH_ERROR;
	}
	if (mkdirs_for(out)) {
		errbuf_set(err, errlen, "cannot create the cache folder for %s: %s", out,
		       strerror(errno));
		return SYMPATH_ERROR;
	}
	pdb_guid_age_key(guid, age, key);
	unlink(tmp); /* a leftover of an interrupted run of this pid */
	r = symsrv_download(e->url, name, key, tmp, &so, err, errlen);
	if (r == SYMSRV_NOT_FOUND)
		return SYMPATH_NOT_FOUND;
	if (r != SYMSRV_OK)
		return SYMPATH_ERROR;
	if (!candidate(o, tmp, guid, age)) {
		unlink(tmp);
		errbuf_set(err, errlen, "%s from %s is not the PDB asked for", name, e->url);
		return SYMPATH_ERROR;
	}
	if (rename(tmp, out)) {
		errbuf_set(err, errlen, "%s: %s", out, strerror(errno));
		unlink(tmp);
		return SYMPATH_ERROR;
	}
	return SYMPATH_FOUND;
}

enum sympath_result sympath_find(const struct sympath *sp, const char *name,
				 const uint8_t guid[16], uint32_t age,
				 const struct sympath_find_opts *o, char *out, size_t outlen,
				 char *err, size_t errlen)
{
	char path[PATH_MAX];
	char first_err[256] = "";
	size_t i, j;

	if (!name_ok(name)) {
		errbuf_set(err, errlen, "the PDB name is not a plain file name (empty, a folder, "
				    "a dot name or control characters)");
		return SYMPATH_ERROR;
	}
	for (i = 0; i < sp->n; i++) {
		const struct sympath_elem *e = &sp->elems[i];
		enum sympath_result r;

		for (j = 0; j < e->ndirs; j++) {
			if (!sympath_store_path(path, sizeof(path), e->dirs[j], name, guid, age) &&
			    candidate(o, path, guid, age))
				goto found;
			if (e->kind == SYMPATH_DIR &&
			    snprintf(path, sizeof(path), "%s/%s", e->dirs[j], name) <
				    (int)sizeof(path) &&
			    candidate(o, path, guid, age))
				goto found;
		}
		if (!e->url)
			continue;
		if (o && o->offline) {
			logf_(o, "sympath: offline, not asking %s\n", e->url);
			continue;
		}
		r = download(e, e->dirs[0], name, guid, age, o, out, outlen, err, errlen);
		if (r == SYMPATH_FOUND)
			return r;
		/* A failing server is remembered; the rest of the path may still have it. */
		logf_(o, "sympath: %s\n", err);
		if (r == SYMPATH_ERROR && !first_err[0])
			snprintf(first_err, sizeof(first_err), "%s", err);
	}
	if (first_err[0]) {
		errbuf_set(err, errlen, "%s", first_err);
		return SYMPATH_ERROR;
	}
	errbuf_set(err, errlen, "%s not found in the symbol path", name);
	return SYMPATH_NOT_FOUND;
found:
	if ((size_t)snprintf(out, outlen, "%s", path) >= outlen) {
		errbuf_set(err, errlen, "path too long");
		return SYMPATH_ERROR;
	}
	return SYMPATH_FOUND;
}
