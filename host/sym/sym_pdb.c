/* SPDX-License-Identifier: MIT */
/* MSF 7.00 / PDB reader (publics and globals), CodeView RSDS, symbol path lookup. */
#include "sym_pdb.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "../common/errbuf.h"
#include "vmkd/kd_bytes.h"

#define MSF_MAGIC "Microsoft C/C++ MSF 7.00\r\n\x1a" "DS\0\0\0"
#define MSF_MAGIC_LEN 32u
#define MSF_HEADER 56u
#define MAX_STREAMS 0x10000u
#define MAX_DIR_BYTES (64u << 20)
#define NIL_STREAM 0xffffffffu

#define PDB_STREAM_INFO 1u
#define PDB_STREAM_DBI 3u
#define DBI_HEADER 64u
#define DBG_HEADER_SECTIONS 5u          /* optional debug header: section header stream */
#define SECTION_HEADER 40u

#define S_LDATA32 0x110c
#define S_GDATA32 0x110d
#define S_PUB32 0x110e

#define DEBUG_ENTRY 28u
#define DEBUG_TYPE_CODEVIEW 2u
#define MAX_DEBUG_ENTRIES 64u

/* ---- CodeView --------------------------------------------------------------------- */

int sym_pe_codeview(const struct sym_reader *r, uint64_t base, const struct sym_pe_info *info,
		    struct sym_codeview *cv)
{
	uint32_t rva = info->dir[SYM_PE_DIR_DEBUG].rva, n = info->dir[SYM_PE_DIR_DEBUG].size;

	memset(cv, 0, sizeof(*cv));
	if (!rva)
		return 1;
	n /= DEBUG_ENTRY;
	if (n > MAX_DEBUG_ENTRIES)
		n = MAX_DEBUG_ENTRIES;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t e[DEBUG_ENTRY], rec[24 + sizeof(cv->pdb)];
		uint32_t type, size, data_rva;
		size_t got = 0, len;

		if (sym_read_exact(r, base + rva + (uint64_t)i * DEBUG_ENTRY, e, sizeof(e)))
			return -1;
		type = kd_get_le32(e + 12);
		size = kd_get_le32(e + 16);
		data_rva = kd_get_le32(e + 20);
		if (type != DEBUG_TYPE_CODEVIEW || size < 25 || !data_rva ||
		    data_rva >= info->size_of_image)
			continue;
		if (size > sizeof(rec))
			size = sizeof(rec);
		if (size > info->size_of_image - data_rva)
			size = info->size_of_image - data_rva;
		if (r->read(r->opaque, base + data_rva, rec, size, &got) || got < 25)
			return -1;
		if (memcmp(rec, "RSDS", 4))
			continue; /* NB10 and friends: not supported */
		memcpy(cv->guid, rec + 4, 16);
		cv->age = kd_get_le32(rec + 20);
		len = strnlen((const char *)rec + 24, got - 24);
		if (len >= sizeof(cv->pdb))
			len = sizeof(cv->pdb) - 1;
		memcpy(cv->pdb, rec + 24, len);
		cv->pdb[len] = '\0';
		return cv->pdb[0] ? 0 : -1;
	}
	return 1;
}

/* The base name of the linker's PDB path (either slash). */
static const char *pdb_base(const char *path)
{
	const char *b = path;

	for (const char *p = path; *p; p++)
		if (*p == '\\' || *p == '/')
			b = p + 1;
	return b;
}

void sym_codeview_key(const struct sym_codeview *cv, char *buf, size_t cap)
{
	const uint8_t *g = cv->guid;
	const char *name = pdb_base(cv->pdb);

	/* Data1, Data2, Data3 as little-endian numbers, Data4 as bytes, then the age. */
	snprintf(buf, cap, "%s/%08X%04X%04X%02X%02X%02X%02X%02X%02X%02X%02X%X/%s", name, kd_get_le32(g),
		 kd_get_le16(g + 4), kd_get_le16(g + 6), g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15],
		 cv->age, name);
}

/* ---- MSF -------------------------------------------------------------------------- */

struct msf {
	const uint8_t *file;
	size_t size;
	uint32_t bs, nblocks, nstreams;
	uint8_t *dir;                    /* the stream directory, assembled */
	const uint8_t *sizes;            /* nstreams u32 */
	uint32_t *first;                 /* per stream: index of its first block number in dir */
};

static int msf_open(struct msf *m, const uint8_t *file, size_t size, char *err, size_t errlen)
{
	uint32_t dir_bytes, map_block, ndir_blocks, pos;

	memset(m, 0, sizeof(*m));
	m->file = file;
	m->size = size;
	if (size < MSF_HEADER || memcmp(file, MSF_MAGIC, MSF_MAGIC_LEN))
		return errbuf_fail(err, errlen, "not an MSF 7.00 (PDB) file");
	m->bs = kd_get_le32(file + 32);
	m->nblocks = kd_get_le32(file + 40);
	dir_bytes = kd_get_le32(file + 44);
	map_block = kd_get_le32(file + 52);
	if (m->bs != 512 && m->bs != 1024 && m->bs != 2048 && m->bs != 4096)
		return errbuf_fail(err, errlen, "bad MSF block size %u", m->bs);
	if ((uint64_t)m->nblocks * m->bs > size)
		m->nblocks = (uint32_t)(size / m->bs); /* a truncated file: what is there */
	if (dir_bytes < 4 || dir_bytes > MAX_DIR_BYTES)
		return errbuf_fail(err, errlen, "bad stream directory size %u", dir_bytes);
	ndir_blocks = (dir_bytes + m->bs - 1) / m->bs;
	if (map_block >= m->nblocks ||
	    (uint64_t)map_block * m->bs + (uint64_t)ndir_blocks * 4 > size)
		return errbuf_fail(err, errlen, "bad block map address %u", map_block);
	m->dir = malloc(dir_bytes);
	if (!m->dir)
		return errbuf_fail(err, errlen, "out of memory");
	for (uint32_t i = 0; i < ndir_blocks; i++) {
		uint32_t blk = kd_get_le32(file + (size_t)map_block * m->bs + 4u * i);
		uint32_t n = dir_bytes - i * m->bs < m->bs ? dir_bytes - i * m->bs : m->bs;

		if (blk >= m->nblocks)
			return errbuf_fail(err, errlen, "directory block %u out of range", blk);
		memcpy(m->dir + (size_t)i * m->bs, file + (size_t)blk * m->bs, n);
	}
	m->nstreams = kd_get_le32(m->dir);
	if (m->nstreams > MAX_STREAMS || 4u + 4ull * m->nstreams > dir_bytes)
		return errbuf_fail(err, errlen, "bad stream count %u", m->nstreams);
	m->sizes = m->dir + 4;
	m->first = calloc(m->nstreams ? m->nstreams : 1, sizeof(*m->first));
	if (!m->first)
		return errbuf_fail(err, errlen, "out of memory");
	pos = 4 + 4 * m->nstreams;
	for (uint32_t s = 0; s < m->nstreams; s++) {
		uint32_t sz = kd_get_le32(m->sizes + 4 * s), nb;

		nb = sz == NIL_STREAM ? 0 : (uint32_t)(((uint64_t)sz + m->bs - 1) / m->bs);
		if ((uint64_t)pos + 4ull * nb > dir_bytes)
			return errbuf_fail(err, errlen, "stream %u's block list runs past the directory", s);
		m->first[s] = pos;
		for (uint32_t k = 0; k < nb; k++)
			if (kd_get_le32(m->dir + pos + 4 * k) >= m->nblocks)
				return errbuf_fail(err, errlen, "stream %u: block out of range", s);
		pos += 4 * nb;
	}
	return 0;
}

static void msf_close(struct msf *m)
{
	free(m->first);
	free(m->dir);
}

static uint32_t stream_size(const struct msf *m, uint32_t s)
{
	uint32_t sz;

	if (s >= m->nstreams)
		return 0;
	sz = kd_get_le32(m->sizes + 4 * s);
	return sz == NIL_STREAM ? 0 : sz;
}

/* The whole stream s into a malloc'ed buffer (*len bytes); NULL if absent or too large. */
static uint8_t *stream_read(const struct msf *m, uint32_t s, uint32_t *len)
{
	uint32_t sz = stream_size(m, s);
	uint8_t *buf;

	*len = 0;
	if (!sz || sz > SYM_PDB_MAX_FILE)
		return NULL;
	buf = malloc(sz);
	if (!buf)
		return NULL;
	for (uint32_t off = 0, k = 0; off < sz; off += m->bs, k++) {
		uint32_t blk = kd_get_le32(m->dir + m->first[s] + 4 * k);
		uint32_t n = sz - off < m->bs ? sz - off : m->bs;

		memcpy(buf + off, m->file + (size_t)blk * m->bs, n);
	}
	*len = sz;
	return buf;
}

/* ---- symbols ---------------------------------------------------------------------- */

void sym_pdb_free(struct sym_pdb_symbol *s, size_t count)
{
	if (!s)
		return;
	for (size_t i = 0; i < count; i++)
		free(s[i].name);
	free(s);
}

int sym_pdb_symbols(const uint8_t *file, size_t size, const uint8_t *guid,
		    struct sym_pdb_symbol **out, size_t *count, char *err, size_t errlen)
{
	uint8_t *info = NULL, *dbi = NULL, *recs = NULL, *sects = NULL;
	uint32_t info_len, dbi_len, recs_len = 0, sects_len = 0, nsects, dbg_off;
	struct sym_pdb_symbol *syms = NULL;
	size_t n = 0, cap = 0;
	struct msf m;
	int rc = -1;

	*out = NULL;
	*count = 0;
	if (size > SYM_PDB_MAX_FILE)
		return errbuf_fail(err, errlen, "PDB larger than %u MiB", SYM_PDB_MAX_FILE >> 20);
	if (msf_open(&m, file, size, err, errlen))
		goto out;
	info = stream_read(&m, PDB_STREAM_INFO, &info_len);
	if (!info || info_len < 28) {
		errbuf_fail(err, errlen, "no PDB info stream");
		goto out;
	}
	if (guid && memcmp(info + 12, guid, 16)) {
		errbuf_fail(err, errlen, "the PDB's GUID does not match the image's");
		goto out;
	}
	dbi = stream_read(&m, PDB_STREAM_DBI, &dbi_len);
	if (!dbi || dbi_len < DBI_HEADER) {
		errbuf_fail(err, errlen, "no DBI stream");
		goto out;
	}
	/* The optional debug header follows the header and six substreams. */
	dbg_off = DBI_HEADER;
	for (unsigned k = 0; k < 6; k++) {
		static const uint8_t sizes_at[6] = { 24, 28, 32, 36, 40, 52 };
		uint32_t sz = kd_get_le32(dbi + sizes_at[k]);

		if (sz > dbi_len - dbg_off) {
			errbuf_fail(err, errlen, "DBI substream %u runs past the stream", k);
			goto out;
		}
		dbg_off += sz;
	}
	if (kd_get_le32(dbi + 48) >= 2 * (DBG_HEADER_SECTIONS + 1) &&
	    kd_get_le32(dbi + 48) <= dbi_len - dbg_off)
		sects = stream_read(&m, kd_get_le16(dbi + dbg_off + 2 * DBG_HEADER_SECTIONS), &sects_len);
	if (!sects) {
		errbuf_fail(err, errlen, "no section headers in the PDB");
		goto out;
	}
	nsects = sects_len / SECTION_HEADER;
	recs = stream_read(&m, kd_get_le16(dbi + 20), &recs_len);
	if (!recs) {
		errbuf_fail(err, errlen, "no symbol record stream");
		goto out;
	}
	for (uint32_t off = 0; off + 4 <= recs_len;) {
		uint32_t len = kd_get_le16(recs + off), kind = kd_get_le16(recs + off + 2);
		const uint8_t *r = recs + off;
		uint32_t total = len + 2u, seg, where, nlen;

		if (len < 2 || total > recs_len - off)
			break; /* a damaged tail: keep what came before */
		off += total;
		if ((kind != S_PUB32 && kind != S_GDATA32 && kind != S_LDATA32) || total < 15)
			continue;
		where = kd_get_le32(r + 8);
		seg = kd_get_le16(r + 12);
		if (!seg || seg > nsects)
			continue; /* absolute or unknown section: no address in the image */
		nlen = (uint32_t)strnlen((const char *)r + 14, total - 14);
		if (!nlen || nlen == total - 14)
			continue; /* empty or unterminated */
		if (n == cap) {
			struct sym_pdb_symbol *g;

			if (cap >= SYM_PDB_MAX_SYMBOLS)
				break;
			cap = cap ? cap * 2 : 256;
			g = realloc(syms, cap * sizeof(*g));
			if (!g) {
				errbuf_fail(err, errlen, "out of memory");
				goto out;
			}
			syms = g;
		}
		syms[n].rva = kd_get_le32(sects + (seg - 1) * SECTION_HEADER + 12) + where;
		syms[n].name = strndup((const char *)r + 14, nlen);
		if (syms[n].name)
			n++;
	}
	*out = syms;
	*count = n;
	syms = NULL;
	n = 0;
	rc = 0;
out:
	sym_pdb_free(syms, n);
	free(recs);
	free(sects);
	free(dbi);
	free(info);
	msf_close(&m);
	return rc;
}

/* ---- symbol path ------------------------------------------------------------------ */

static int is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* One folder: as a symbol store, then flat. */
static int try_dir(const char *dir, size_t dlen, const struct sym_codeview *cv, char *out,
		   size_t cap)
{
	char key[400];

	if (!dlen)
		return -1;
	sym_codeview_key(cv, key, sizeof(key));
	snprintf(out, cap, "%.*s/%s", (int)dlen, dir, key);
	if (is_file(out))
		return 0;
	snprintf(out, cap, "%.*s/%s", (int)dlen, dir, pdb_base(cv->pdb));
	return is_file(out) ? 0 : -1;
}

int sym_pdb_find(const char *sympath, const struct sym_codeview *cv, char *out, size_t cap)
{
	const char *p = sympath;

	if (!sympath || !cv->pdb[0])
		return -1;
	while (*p) {
		size_t len = strcspn(p, ";");
		const char *el = p, *star;

		p += len;
		if (*p == ';')
			p++;
		/* srv*CACHE*URL and cache*DIR: the local folder is the cache. "srv*URL" has
		 * none (WinDbg would use its default cache, which we do not have). */
		if (len > 4 && !strncasecmp(el, "srv*", 4)) {
			el += 4;
			len -= 4;
			star = memchr(el, '*', len);
			if (!star)
				continue;
			len = (size_t)(star - el);
		} else if (len > 6 && !strncasecmp(el, "cache*", 6)) {
			el += 6;
			len -= 6;
		}
		while (len && isspace((unsigned char)*el))
			el++, len--;
		while (len && (isspace((unsigned char)el[len - 1]) || el[len - 1] == '/'))
			len--;
		if (try_dir(el, len, cv, out, cap) == 0)
			return 0;
	}
	return -1;
}
