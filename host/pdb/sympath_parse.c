/* SPDX-License-Identifier: MIT */
/* sympath_parse.c - _NT_SYMBOL_PATH text into elements (no I/O), and store paths. */
#include "sympath.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pdb.h"
#include "../common/errbuf.h"

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
		errbuf_set(err, errlen, "more than %d stores in one element", SYMPATH_MAX_STORES);
		return -1;
	}
	e->dirs[e->ndirs] = n ? dup_field(f, n) : (cache ? strdup(cache) : NULL);
	if (!e->dirs[e->ndirs]) {
		errbuf_set(err, errlen, n ? "out of memory" : "no default symbol cache (HOME is unset)");
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
				errbuf_set(err, errlen, "a server must be the last field of srv*: '%.*s'",
				       (int)n, s);
				return -1;
			}
			e->url = dup_field(s, f);
			if (!e->url) {
				errbuf_set(err, errlen, "out of memory");
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
			errbuf_set(err, errlen, "more than %d symbol path elements", SYMPATH_MAX_ELEMS);
			return -1;
		}
		e = &sp->elems[sp->n++];
		if (prefix(s, n, "srv*")) {
			rc = parse_srv(e, s + 4, n - 4, active_cache ? active_cache : cache, err,
				       errlen);
		} else if (prefix(s, n, "symsrv*")) {
			const char *dll_end = memchr(s + 7, '*', n - 7);

			if (!dll_end) {
				errbuf_set(err, errlen, "symsrv*DLL*... needs a store or server");
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
			errbuf_set(err, errlen, "a server needs srv*: write srv*%.*s", (int)n, s);
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
