/* SPDX-License-Identifier: MIT */
/* sympath.c - _NT_SYMBOL_PATH parsing and the PDB lookup along it (folders, stores, servers). */
#include "sympath.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pdb.h"
#include "symsrv.h"

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *sympath_default_cache(char *buf, size_t len)
{
	const char *v = getenv("VMKD_SYMBOL_CACHE");
	int n;

	if (v && *v)
		n = snprintf(buf, len, "%s", v);
	else if ((v = getenv("XDG_CACHE_HOME")) && *v)
		n = snprintf(buf, len, "%s/vmkd/symbols", v);
	else if ((v = getenv("HOME")) && *v)
		n = snprintf(buf, len, "%s/.cache/vmkd/symbols", v);
	else
		return NULL;
	return n > 0 && (size_t)n < len ? buf : NULL;
}

static bool is_url(const char *s, size_t n)
{
	return (n > 7 && !strncasecmp(s, "http://", 7)) || (n > 8 && !strncasecmp(s, "https://", 8));
}

/* A copy of s[0..n), trimmed, "~/" expanded; NULL when out of memory. */
static char *dup_field(const char *s, size_t n)
{
	const char *home = getenv("HOME");
	char *r;

	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= 2 && s[0] == '~' && s[1] == '/' && home) {
		size_t h = strlen(home);

		r = malloc(h + n);
		if (r) {
			memcpy(r, home, h);
			memcpy(r + h, s + 1, n - 1);
			r[h + n - 1] = 0;
		}
		return r;
	}
	r = malloc(n + 1);
	if (r) {
		memcpy(r, s, n);
		r[n] = 0;
	}
	return r;
}

/* Adds a local store to e: the field, or the cache when it is empty. */
static int add_store(struct sympath_elem *e, const char *f, size_t n, const char *cache,
		     char *err, size_t errlen)
{
	if (e->ndirs == SYMPATH_MAX_STORES) {
		seterr(err, errlen, "more than %d stores in one element", SYMPATH_MAX_STORES);
		return -1;
	}
	e->dirs[e->ndirs] = n ? dup_field(f, n) : (cache ? strdup(cache) : NULL);
	if (!e->dirs[e->ndirs]) {
		seterr(err, errlen, n ? "out of memory" : "no default symbol cache (HOME is unset)");
		return -1;
	}
	e->ndirs++;
	return 0;
}

/* srv*A*B*URL (after the prefix): stores, then maybe a server last. */
static int parse_srv(struct sympath_elem *e, const char *s, size_t n, const char *cache,
		     char *err, size_t errlen)
{
	e->kind = SYMPATH_STORE;
	for (;;) {
		const char *star = memchr(s, '*', n);
		size_t f = star ? (size_t)(star - s) : n;

		if (is_url(s, f)) {
			if (star) {
				seterr(err, errlen, "a server must be the last field of srv*: '%.*s'",
				       (int)n, s);
				return -1;
			}
			e->url = dup_field(s, f);
			if (!e->url) {
				seterr(err, errlen, "out of memory");
				return -1;
			}
			/* srv*URL: the cache is the store. */
			return e->ndirs ? 0 : add_store(e, "", 0, cache, err, errlen);
		}
		if (add_store(e, s, f, cache, err, errlen))
			return -1;
		if (!star)
			return 0;
		s = star + 1;
		n -= f + 1;
	}
}

static bool prefix(const char *s, size_t n, const char *p)
{
	size_t k = strlen(p);

	return n >= k && !strncasecmp(s, p, k);
}

int sympath_parse(struct sympath *sp, const char *text, const char *default_cache, char *err,
		  size_t errlen)
{
	char defbuf[PATH_MAX];
	const char *cache = default_cache ? default_cache : sympath_default_cache(defbuf,
										   sizeof(defbuf));
	char *active_cache = NULL; /* the latest cache*DIR (owned by its element) */
	const char *s = text;

	memset(sp, 0, sizeof(*sp));
	while (*s) {
		const char *semi = strchr(s, ';');
		size_t n = semi ? (size_t)(semi - s) : strlen(s);
		struct sympath_elem *e;
		int rc = 0;

		while (n && (*s == ' ' || *s == '\t'))
			s++, n--;
		if (n == 0)
			goto next;
		if (sp->n == SYMPATH_MAX_ELEMS) {
			seterr(err, errlen, "more than %d symbol path elements", SYMPATH_MAX_ELEMS);
			return -1;
		}
		e = &sp->elems[sp->n++];
		if (prefix(s, n, "srv*")) {
			rc = parse_srv(e, s + 4, n - 4, active_cache ? active_cache : cache, err,
				       errlen);
		} else if (prefix(s, n, "symsrv*")) {
			const char *dll_end = memchr(s + 7, '*', n - 7);

			if (!dll_end) {
				seterr(err, errlen, "symsrv*DLL*... needs a store or server");
				return -1;
			}
			rc = parse_srv(e, dll_end + 1, n - (size_t)(dll_end + 1 - s),
				       active_cache ? active_cache : cache, err, errlen);
		} else if (prefix(s, n, "cache*")) {
			e->kind = SYMPATH_STORE;
			e->is_cache = true;
			rc = add_store(e, s + 6, n - 6, cache, err, errlen);
			if (!rc)
				active_cache = e->dirs[0];
		} else if (is_url(s, n)) {
			seterr(err, errlen, "a server needs srv*: write srv*%.*s", (int)n, s);
			return -1;
		} else {
			e->kind = SYMPATH_DIR;
			rc = add_store(e, s, n, cache, err, errlen);
		}
		if (rc)
			return -1;
next:
		if (!semi)
			break;
		s = semi + 1;
	}
	return 0;
}

void sympath_free(struct sympath *sp)
{
	size_t i, j;

	for (i = 0; i < sp->n; i++) {
		for (j = 0; j < sp->elems[i].ndirs; j++)
			free(sp->elems[i].dirs[j]);
		free(sp->elems[i].url);
	}
	memset(sp, 0, sizeof(*sp));
}

int sympath_store_path(char *out, size_t len, const char *dir, const char *name,
		       const uint8_t guid[16], uint32_t age)
{
	char key[41];
	int n;

	pdb_guid_age_key(guid, age, key);
	n = snprintf(out, len, "%s/%s/%s/%s", dir, name, key, name);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

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
		seterr(err, errlen, "cache path too long under %s", dir);
		return SYMPATH_ERROR;
	}
	if (mkdirs_for(out)) {
		seterr(err, errlen, "cannot create the cache folder for %s: %s", out,
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
		seterr(err, errlen, "%s from %s is not the PDB asked for", name, e->url);
		return SYMPATH_ERROR;
	}
	if (rename(tmp, out)) {
		seterr(err, errlen, "%s: %s", out, strerror(errno));
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
		seterr(err, errlen, "'%s' is not a PDB file name", name);
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
		seterr(err, errlen, "%s", first_err);
		return SYMPATH_ERROR;
	}
	seterr(err, errlen, "%s not found in the symbol path", name);
	return SYMPATH_NOT_FOUND;
found:
	if ((size_t)snprintf(out, outlen, "%s", path) >= outlen) {
		seterr(err, errlen, "path too long");
		return SYMPATH_ERROR;
	}
	return SYMPATH_FOUND;
}
