/* SPDX-License-Identifier: MIT */
/*
 * sympath.h - a symbol path as WinDbg users write it (_NT_SYMBOL_PATH, .sympath), and the
 * lookup of one PDB along it.
 *
 * Elements are separated by ';':
 *   DIR                 a folder: DIR/name.pdb/KEY/name.pdb, then DIR/name.pdb
 *   srv*URL             the default cache, then the server (downloads go to the cache)
 *   srv*CACHE*URL       CACHE, then the server; srv*A*B*URL: A, B, then the server into A
 *   srv*DIR             a local symbol store, no server
 *   symsrv*DLL*...      the same as srv*... (the DLL name is ignored)
 *   cache*DIR, cache*   a store searched where it stands; later srv*URL elements without
 *                       their own cache download into it instead of the default cache
 * KEY is the GUID as 32 upper-case hex digits (Data1, Data2, Data3, Data4) and the age in
 * hex. An empty store field means the default cache ($VMKD_SYMBOL_CACHE, else
 * $XDG_CACHE_HOME/vmkd/symbols, else ~/.cache/vmkd/symbols). A leading "~/" is $HOME.
 * Every candidate file is opened and must carry the GUID and age asked for; nothing is ever
 * downloaded unless the path names a server.
 */
#ifndef VMKD_HOST_SYMPATH_H
#define VMKD_HOST_SYMPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SYMPATH_MAX_ELEMS 64
#define SYMPATH_MAX_STORES 8

enum sympath_kind {
	SYMPATH_DIR,   /* a plain folder */
	SYMPATH_STORE, /* srv*... or cache*...: local stores in store layout, maybe a server */
};

struct sympath_elem {
	enum sympath_kind kind;
	bool is_cache;                     /* cache*DIR */
	char *dirs[SYMPATH_MAX_STORES];    /* DIR: one; STORE: nearest first */
	size_t ndirs;
	char *url;                         /* STORE: the server (http/https), or NULL */
};

struct sympath {
	struct sympath_elem elems[SYMPATH_MAX_ELEMS];
	size_t n;
};

/* Parses text into sp (sympath_free it, also after a failure). default_cache NULL: the
 * default above. 0, or -1 with a reason. */
int sympath_parse(struct sympath *sp, const char *text, const char *default_cache, char *err,
		  size_t errlen);
void sympath_free(struct sympath *sp);

/* The default cache folder (see above) into buf; NULL when there is no HOME either. */
const char *sympath_default_cache(char *buf, size_t len);

/* DIR/name/KEY/name into out; -1 when it does not fit. */
int sympath_store_path(char *out, size_t len, const char *dir, const char *name,
		       const uint8_t guid[16], uint32_t age);

struct sympath_find_opts {
	FILE *log;    /* what was tried and the download progress; NULL: quiet */
	bool offline; /* never contact a server */
};

enum sympath_result {
	SYMPATH_ERROR = -1, /* a bad name, a download or cache failure: err says which */
	SYMPATH_FOUND = 0,
	SYMPATH_NOT_FOUND = 1,
};

/*
 * Looks for the PDB name (a file name, no folders) with this GUID and age along sp, in
 * order, downloading it from the first server that has it into that element's cache.
 * SYMPATH_FOUND with the file's path in out.
 */
enum sympath_result sympath_find(const struct sympath *sp, const char *name,
				 const uint8_t guid[16], uint32_t age,
				 const struct sympath_find_opts *opts, char *out, size_t outlen,
				 char *err, size_t errlen);

#endif
