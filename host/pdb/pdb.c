/* SPDX-License-Identifier: MIT */
/* pdb.c - PDB info, DBI, symbol record and module streams: publics, globals, procedures. */
#include "pdb.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msf.h"
#include "vmkd/kd_bytes.h"

/* Fixed stream numbers. */
enum { STREAM_PDB_INFO = 1, STREAM_DBI = 3 };

/* Symbol record kinds read here (CodeView SYM_ENUM_e values). */
enum {
	S_LDATA32 = 0x110c,
	S_GDATA32 = 0x110d,
	S_PUB32 = 0x110e,
	S_LPROC32 = 0x110f,
	S_GPROC32 = 0x1110,
	S_LPROC32_ID = 0x1146,
	S_GPROC32_ID = 0x1147,
};

enum {
	DBI_HEADER_SIZE = 64,
	DBI_MODINFO_FIXED = 64,      /* a module info entry before its two names */
	SECTION_HEADER_SIZE = 40,    /* IMAGE_SECTION_HEADER */
	DBG_HEADER_SECTION_HDR = 5,  /* index of the section header stream in the debug header */
	SC_VER60 = (int)0xf12eba2du, /* section contribution substream versions */
	SC_V2 = (int)0xf13151e4u,
	MODULE_SYM_SIGNATURE = 4,    /* CV_SIGNATURE_C13 before a module's symbols */
	NAME_MAX_BYTES = 0x10000,    /* a record is at most 0xffff bytes, so is its name */
};

struct pdb_module {
	uint16_t stream;      /* 0xffff: none */
	uint32_t sym_bytes;   /* symbols, including the 4-byte signature */
	const char *name;     /* points into dbi */
};

struct pdb {
	struct msf msf;
	void *map; /* owned mapping (pdb_open_file), else NULL */
	size_t map_len;
	struct pdb_info info;
	uint8_t *dbi;
	uint32_t dbi_len;
	uint16_t sym_record_stream; /* 0xffff: none */
	uint32_t sc_off, sc_len;    /* section contribution substream inside dbi */
	uint8_t *sections;          /* the section header stream */
	uint32_t sections_len;
	struct pdb_module *mods;
	uint32_t nmods;
	char err[192];
	char name[NAME_MAX_BYTES + 1];
};

static void seterr(struct pdb *pdb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void seterr(struct pdb *pdb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pdb->err, sizeof(pdb->err), fmt, ap);
	va_end(ap);
}

static int read_info(struct pdb *pdb)
{
	uint8_t *s;
	uint32_t len;

	if (msf_stream_read(&pdb->msf, STREAM_PDB_INFO, &s, &len, pdb->err, sizeof(pdb->err)))
		return -1;
	if (len < 28) {
		seterr(pdb, "PDB info stream is %u bytes, needs 28", len);
		free(s);
		return -1;
	}
	pdb->info.version = kd_get_le32(s);
	pdb->info.signature = kd_get_le32(s + 4);
	pdb->info.age = kd_get_le32(s + 8);
	memcpy(pdb->info.guid, s + 12, 16);
	free(s);
	return 0;
}

/* Module info entries: fixed part, module name, object name, padded to 4 bytes. */
static int read_modules(struct pdb *pdb, uint32_t off, uint32_t len)
{
	const uint8_t *p = pdb->dbi + off;
	uint32_t at = 0, cap = len / DBI_MODINFO_FIXED;

	pdb->mods = calloc(cap ? cap : 1, sizeof(*pdb->mods));
	if (!pdb->mods) {
		seterr(pdb, "out of memory for %u modules", cap);
		return -1;
	}
	while (at < len && pdb->nmods < cap) {
		struct pdb_module *m = &pdb->mods[pdb->nmods];
		const uint8_t *name, *obj;
		uint32_t rest;

		if (len - at < DBI_MODINFO_FIXED) {
			seterr(pdb, "DBI module %u is truncated", pdb->nmods);
			return -1;
		}
		m->stream = kd_get_le16(p + at + 34);
		m->sym_bytes = kd_get_le32(p + at + 36);
		name = p + at + DBI_MODINFO_FIXED;
		rest = len - at - DBI_MODINFO_FIXED;
		obj = memchr(name, 0, rest);
		if (obj)
			obj = memchr(obj + 1, 0, rest - (uint32_t)(obj + 1 - name));
		if (!obj) {
			seterr(pdb, "DBI module %u: names are not terminated", pdb->nmods);
			return -1;
		}
		m->name = (const char *)name;
		at = (uint32_t)(obj + 1 - p);
		at = (at + 3) & ~3u;
		pdb->nmods++;
	}
	pdb->info.num_modules = pdb->nmods;
	return 0;
}

static int read_dbi(struct pdb *pdb)
{
	const uint8_t *h;
	uint64_t sub[7], off = DBI_HEADER_SIZE, total = 0;
	uint32_t dbg_off;
	size_t i;
	uint16_t sh_stream;

	if (msf_stream_size(&pdb->msf, STREAM_DBI) == 0) {
		/* A PDB with types only (no DBI) has no symbols; not an error. */
		pdb->sym_record_stream = 0xffff;
		return 0;
	}
	if (msf_stream_read(&pdb->msf, STREAM_DBI, &pdb->dbi, &pdb->dbi_len, pdb->err,
			    sizeof(pdb->err)))
		return -1;
	h = pdb->dbi;
	if (pdb->dbi_len < DBI_HEADER_SIZE || kd_get_le32(h) != 0xffffffffu) {
		seterr(pdb, "DBI stream: not a new-format header (%u bytes)", pdb->dbi_len);
		return -1;
	}
	pdb->info.age = kd_get_le32(h + 8);
	pdb->sym_record_stream = kd_get_le16(h + 20);
	pdb->info.machine = kd_get_le16(h + 62);
	/* Substreams in file order: modules, section contributions, section map, file info,
	 * type server map, EC names, optional debug header. */
	static const uint8_t size_at[7] = { 24, 28, 32, 36, 40, 52, 48 };
	for (i = 0; i < 7; i++) {
		int32_t v = (int32_t)kd_get_le32(h + size_at[i]);

		if (v < 0) {
			seterr(pdb, "DBI substream %zu has a negative size", i);
			return -1;
		}
		sub[i] = (uint32_t)v;
		total += sub[i];
	}
	if (total > pdb->dbi_len - DBI_HEADER_SIZE) {
		seterr(pdb, "DBI substreams (%llu bytes) overrun the stream (%u)",
		       (unsigned long long)total, pdb->dbi_len);
		return -1;
	}
	if (read_modules(pdb, (uint32_t)off, (uint32_t)sub[0]))
		return -1;
	off += sub[0];
	pdb->sc_off = (uint32_t)off;
	pdb->sc_len = (uint32_t)sub[1];
	dbg_off = (uint32_t)(off + sub[1] + sub[2] + sub[3] + sub[4] + sub[5]);
	if (sub[6] < 2 * (DBG_HEADER_SECTION_HDR + 1))
		return 0;
	sh_stream = kd_get_le16(pdb->dbi + dbg_off + 2 * DBG_HEADER_SECTION_HDR);
	if (sh_stream == 0xffff)
		return 0;
	if (msf_stream_read(&pdb->msf, sh_stream, &pdb->sections, &pdb->sections_len, pdb->err,
			    sizeof(pdb->err)))
		return -1;
	pdb->info.num_sections = pdb->sections_len / SECTION_HEADER_SIZE;
	return 0;
}

static struct pdb *open_common(struct pdb *pdb, const void *data, size_t size, char *err,
			       size_t errlen)
{
	if (msf_open(&pdb->msf, data, size, pdb->err, sizeof(pdb->err)) || read_info(pdb) ||
	    read_dbi(pdb)) {
		snprintf(err, errlen, "%s", pdb->err);
		pdb_close(pdb);
		return NULL;
	}
	pdb->info.num_streams = pdb->msf.num_streams;
	pdb->info.block_size = pdb->msf.block_size;
	return pdb;
}

struct pdb *pdb_open_mem(const void *data, size_t size, char *err, size_t errlen)
{
	struct pdb *pdb = calloc(1, sizeof(*pdb));

	if (!pdb) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return open_common(pdb, data, size, err, errlen);
}

struct pdb *pdb_open_file(const char *path, char *err, size_t errlen)
{
	struct pdb *pdb;
	struct stat st;
	void *map;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size == 0) {
		snprintf(err, errlen, "%s: not a non-empty regular file", path);
		close(fd);
		return NULL;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
		return NULL;
	}
	pdb = calloc(1, sizeof(*pdb));
	if (!pdb) {
		munmap(map, (size_t)st.st_size);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pdb->map = map;
	pdb->map_len = (size_t)st.st_size;
	if (!open_common(pdb, map, pdb->map_len, err, errlen)) {
		size_t n = strlen(err);
		snprintf(err + n, errlen > n ? errlen - n : 0, " (%s)", path);
		return NULL;
	}
	return pdb;
}

void pdb_close(struct pdb *pdb)
{
	if (!pdb)
		return;
	msf_close(&pdb->msf);
	free(pdb->dbi);
	free(pdb->sections);
	free(pdb->mods);
	if (pdb->map)
		munmap(pdb->map, pdb->map_len);
	free(pdb);
}

const struct pdb_info *pdb_get_info(const struct pdb *pdb)
{
	return &pdb->info;
}

bool pdb_matches(const struct pdb *pdb, const uint8_t guid[16], uint32_t age)
{
	return !memcmp(pdb->info.guid, guid, 16) && pdb->info.age == age;
}

const char *pdb_error(const struct pdb *pdb)
{
	return pdb->err;
}

bool pdb_section_rva(const struct pdb *pdb, uint16_t section, uint32_t offset, uint32_t *rva)
{
	uint32_t va;

	if (section == 0 || section > pdb->info.num_sections)
		return false;
	va = kd_get_le32(pdb->sections + (uint32_t)(section - 1) * SECTION_HEADER_SIZE + 12);
	if (offset > UINT32_MAX - va)
		return false;
	*rva = va + offset;
	return true;
}

/* The record's name from data[at..len): copied so it is terminated even when the record's
 * own NUL is missing (then the name ends with the record). */
static const char *rec_name(struct pdb *pdb, const uint8_t *data, uint32_t len, uint32_t at)
{
	const uint8_t *end;
	uint32_t n;

	if (at >= len) {
		pdb->name[0] = 0;
		return pdb->name;
	}
	end = memchr(data + at, 0, len - at);
	n = end ? (uint32_t)(end - (data + at)) : len - at;
	memcpy(pdb->name, data + at, n);
	pdb->name[n] = 0;
	return pdb->name;
}

/* One record of the kinds we read: fills sym; false for other kinds or short records. */
static bool decode_record(struct pdb *pdb, uint16_t kind, const uint8_t *d, uint32_t len,
			  unsigned want, uint32_t module, struct pdb_symbol *sym)
{
	memset(sym, 0, sizeof(*sym));
	sym->module = module;
	switch (kind) {
	case S_PUB32:
		if (!(want & PDB_WANT_PUBLICS) || len < 10)
			return false;
		sym->kind = PDB_SYM_PUBLIC;
		sym->flags = kd_get_le32(d);
		break;
	case S_GDATA32:
	case S_LDATA32:
		if (!(want & (module == UINT32_MAX ? PDB_WANT_GLOBALS : PDB_WANT_PROCS)) || len < 10)
			return false;
		sym->kind = kind == S_GDATA32 ? PDB_SYM_GLOBAL_DATA : PDB_SYM_LOCAL_DATA;
		break;
	case S_GPROC32:
	case S_LPROC32:
	case S_GPROC32_ID:
	case S_LPROC32_ID:
		if (!(want & PDB_WANT_PROCS) || len < 35)
			return false;
		sym->kind = kind == S_GPROC32 || kind == S_GPROC32_ID ? PDB_SYM_PROC
								      : PDB_SYM_LOCAL_PROC;
		sym->size = kd_get_le32(d + 12);
		sym->offset = kd_get_le32(d + 28);
		sym->section = kd_get_le16(d + 32);
		sym->name = rec_name(pdb, d, len, 35);
		goto rva;
	default:
		return false;
	}
	/* PUB32 and DATA32 share the layout: flags or type, offset, section, name. */
	sym->offset = kd_get_le32(d + 4);
	sym->section = kd_get_le16(d + 8);
	sym->name = rec_name(pdb, d, len, 10);
rva:
	sym->has_rva = pdb_section_rva(pdb, sym->section, sym->offset, &sym->rva);
	return true;
}

/* Walks the records in s[start..len): each is u16 length (of what follows), u16 kind. */
static int walk_records(struct pdb *pdb, const uint8_t *s, uint32_t len, uint32_t start,
			unsigned want, uint32_t module, pdb_symbol_fn fn, void *ctx)
{
	uint32_t off = start;
	struct pdb_symbol sym;

	while (len - off >= 4) {
		uint16_t reclen = kd_get_le16(s + off), kind = kd_get_le16(s + off + 2);
		int rc;

		if (reclen < 2 || reclen > len - off - 2) {
			seterr(pdb, "symbol record at offset %u (length %u) overruns its stream (%u)",
			       off, reclen, len);
			return -1;
		}
		if (decode_record(pdb, kind, s + off + 4, reclen - 2u, want, module, &sym)) {
			rc = fn(ctx, &sym);
			if (rc)
				return rc;
		}
		off += 2u + reclen;
	}
	return 0;
}

static int walk_stream(struct pdb *pdb, uint32_t stream, uint32_t limit, uint32_t start,
		       unsigned want, uint32_t module, pdb_symbol_fn fn, void *ctx)
{
	uint8_t *s;
	uint32_t len;
	int rc;

	if (msf_stream_read(&pdb->msf, stream, &s, &len, pdb->err, sizeof(pdb->err)))
		return -1;
	if (limit > len) {
		seterr(pdb, "module %u: %u bytes of symbols in a %u-byte stream", module, limit,
		       len);
		free(s);
		return -1;
	}
	rc = walk_records(pdb, s, limit, start < limit ? start : limit, want, module, fn, ctx);
	free(s);
	return rc;
}

int pdb_symbols(struct pdb *pdb, unsigned want, pdb_symbol_fn fn, void *ctx)
{
	uint8_t *walked;
	uint32_t i;
	int rc;

	if ((want & (PDB_WANT_PUBLICS | PDB_WANT_GLOBALS)) && pdb->sym_record_stream != 0xffff) {
		rc = walk_stream(pdb, pdb->sym_record_stream,
				 msf_stream_size(&pdb->msf, pdb->sym_record_stream), 0, want,
				 UINT32_MAX, fn, ctx);
		if (rc)
			return rc;
	}
	if (!(want & PDB_WANT_PROCS) || !pdb->nmods)
		return 0;
	/* A stream is walked once even if several modules name it: a hostile file cannot make
	 * the work larger than the file. */
	walked = calloc(pdb->msf.num_streams ? pdb->msf.num_streams : 1, 1);
	if (!walked) {
		seterr(pdb, "out of memory");
		return -1;
	}
	for (i = 0, rc = 0; i < pdb->nmods && !rc; i++) {
		const struct pdb_module *m = &pdb->mods[i];

		if (m->stream >= pdb->msf.num_streams || walked[m->stream] ||
		    m->sym_bytes <= MODULE_SYM_SIGNATURE)
			continue;
		walked[m->stream] = 1;
		rc = walk_stream(pdb, m->stream, m->sym_bytes, MODULE_SYM_SIGNATURE,
				 PDB_WANT_PROCS, i, fn, ctx);
	}
	free(walked);
	return rc;
}

int pdb_publics(struct pdb *pdb, pdb_symbol_fn fn, void *ctx)
{
	return pdb_symbols(pdb, PDB_WANT_PUBLICS | PDB_WANT_GLOBALS, fn, ctx);
}

int pdb_section_contribs(struct pdb *pdb, pdb_contrib_fn fn, void *ctx)
{
	const uint8_t *p;
	uint32_t ver, esize, at;
	struct pdb_contrib c;
	int rc;

	if (!pdb->dbi || pdb->sc_len < 4)
		return 0; /* no DBI stream: nothing contributed */
	p = pdb->dbi + pdb->sc_off;
	ver = kd_get_le32(p);
	if (ver == (uint32_t)SC_VER60) {
		esize = 28;
	} else if (ver == (uint32_t)SC_V2) {
		esize = 32;
	} else {
		seterr(pdb, "section contributions: unknown version 0x%08x", ver);
		return -1;
	}
	for (at = 4; pdb->sc_len - at >= esize; at += esize) {
		memset(&c, 0, sizeof(c));
		c.section = kd_get_le16(p + at);
		c.offset = kd_get_le32(p + at + 4);
		c.size = kd_get_le32(p + at + 8);
		c.characteristics = kd_get_le32(p + at + 12);
		c.module = kd_get_le16(p + at + 16);
		c.module_name = c.module < pdb->nmods ? pdb->mods[c.module].name : NULL;
		c.has_rva = pdb_section_rva(pdb, c.section, c.offset, &c.rva);
		rc = fn(ctx, &c);
		if (rc)
			return rc;
	}
	return 0;
}

void pdb_guid_age_key(const uint8_t g[16], uint32_t age, char out[41])
{
	snprintf(out, 41, "%08X%04X%04X%02X%02X%02X%02X%02X%02X%02X%02X%X", kd_get_le32(g), kd_get_le16(g + 4),
		 kd_get_le16(g + 6), g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15], age);
}

void pdb_guid_format(const uint8_t g[16], char out[39])
{
	snprintf(out, 39, "{%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}", kd_get_le32(g),
		 kd_get_le16(g + 4), kd_get_le16(g + 6), g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}
