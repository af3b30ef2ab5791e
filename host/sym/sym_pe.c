/* SPDX-License-Identifier: MIT */
/* PE32+ headers and export table read over a sym_reader, with every count bounded. */
#include "sym_pe.h"

#include <stdlib.h>
#include <string.h>

#include "../common/errbuf.h"
#include "vmkd/kd_bytes.h"

#define DOS_LFANEW 0x3c
#define MAX_LFANEW 0x10000u       /* the NT headers sit near the start */
#define FILE_HEADER_SIZE 20u
#define OPT_MAGIC_PE32 0x10b
#define OPT_MAGIC_PE32PLUS 0x20b
#define MAX_IMAGE_SIZE (1u << 30) /* no kernel image is larger than 1 GiB */
#define EXPORT_DIR_SIZE 40u

int sym_pe_headers(const struct sym_reader *r, uint64_t base, uint32_t size_hint,
		   struct sym_pe_info *info, char *err, size_t errlen)
{
	uint8_t dos[64], nt[4 + FILE_HEADER_SIZE], opt[240];
	uint32_t lfanew, ndirs, dirs_off;
	uint16_t opt_size, magic;

	memset(info, 0, sizeof(*info));
	if (sym_read_exact(r, base, dos, sizeof(dos)))
		return errbuf_fail(err, errlen, "cannot read the image header at %016llx",
				   (unsigned long long)base);
	if (dos[0] != 'M' || dos[1] != 'Z')
		return errbuf_fail(err, errlen, "no MZ signature at %016llx", (unsigned long long)base);
	lfanew = kd_get_le32(dos + DOS_LFANEW);
	if (lfanew < sizeof(dos) - 4 || lfanew > MAX_LFANEW)
		return errbuf_fail(err, errlen, "bad e_lfanew %#x", lfanew);
	if (sym_read_exact(r, base + lfanew, nt, sizeof(nt)))
		return errbuf_fail(err, errlen, "cannot read the NT headers");
	if (memcmp(nt, "PE\0\0", 4))
		return errbuf_fail(err, errlen, "no PE signature");
	info->machine = kd_get_le16(nt + 4);
	info->nsections = kd_get_le16(nt + 6);
	opt_size = kd_get_le16(nt + 20);
	if (opt_size < 96)
		return errbuf_fail(err, errlen, "optional header too short (%u bytes)", opt_size);
	memset(opt, 0, sizeof(opt));
	if (sym_read_exact(r, base + lfanew + sizeof(nt), opt,
			   opt_size < sizeof(opt) ? opt_size : sizeof(opt)))
		return errbuf_fail(err, errlen, "cannot read the optional header");
	magic = kd_get_le16(opt);
	if (magic == OPT_MAGIC_PE32PLUS) {
		info->image_base = kd_get_le64(opt + 24);
		ndirs = kd_get_le32(opt + 108);
		dirs_off = 112;
	} else if (magic == OPT_MAGIC_PE32) {
		info->image_base = kd_get_le32(opt + 28);
		ndirs = kd_get_le32(opt + 92);
		dirs_off = 96;
	} else {
		return errbuf_fail(err, errlen, "unknown optional header magic %#x", magic);
	}
	info->size_of_image = kd_get_le32(opt + 56);
	if (!info->size_of_image || info->size_of_image > MAX_IMAGE_SIZE)
		return errbuf_fail(err, errlen, "bad SizeOfImage %#x", info->size_of_image);
	if (size_hint && info->size_of_image > size_hint)
		info->size_of_image = size_hint;
	if (ndirs > SYM_PE_NDIRS)
		ndirs = SYM_PE_NDIRS;
	/* Directories beyond what the optional header holds do not exist. */
	for (uint32_t i = 0; i < ndirs && dirs_off + 8 * i + 8 <= opt_size &&
			     dirs_off + 8 * i + 8 <= sizeof(opt); i++) {
		uint32_t rva = kd_get_le32(opt + dirs_off + 8 * i), size = kd_get_le32(opt + dirs_off + 8 * i + 4);

		/* A directory outside the image is ignored, not trusted. */
		if (!rva || !size || rva >= info->size_of_image || size > info->size_of_image - rva)
			continue;
		info->dir[i].rva = rva;
		info->dir[i].size = size;
	}
	return 0;
}

/* The export directory region, read once; names and arrays are looked up there first. */
struct exp_ctx {
	const struct sym_reader *r;
	uint64_t base;
	uint32_t image_size;
	uint32_t dir_rva, dir_size;
	uint8_t *dir;
};

/* Copies [rva, rva+len) of the image into dst, from the region or the target. */
static int fetch(const struct exp_ctx *x, uint32_t rva, void *dst, size_t len)
{
	if (rva > x->image_size || len > x->image_size - rva)
		return -1;
	if (rva >= x->dir_rva && rva - x->dir_rva <= x->dir_size &&
	    len <= x->dir_size - (rva - x->dir_rva)) {
		memcpy(dst, x->dir + (rva - x->dir_rva), len);
		return 0;
	}
	return sym_read_exact(x->r, x->base + rva, dst, len);
}

/* A NUL-terminated name at rva, cut at SYM_PE_MAX_NAME - 1; NULL if unreadable or empty. */
static char *fetch_name(const struct exp_ctx *x, uint32_t rva)
{
	char buf[SYM_PE_MAX_NAME];
	size_t n = 0, got = 0;

	if (rva >= x->image_size)
		return NULL;
	if (rva >= x->dir_rva && rva - x->dir_rva < x->dir_size) {
		const uint8_t *p = x->dir + (rva - x->dir_rva);
		size_t avail = x->dir_size - (rva - x->dir_rva);

		while (n < avail && n < sizeof(buf) - 1 && p[n])
			n++;
		memcpy(buf, p, n);
	} else {
		size_t want = x->image_size - rva < sizeof(buf) - 1 ? x->image_size - rva :
								   sizeof(buf) - 1;

		if (x->r->read(x->r->opaque, x->base + rva, buf, want, &got) || !got)
			return NULL;
		if (got > want)
			got = want;
		while (n < got && buf[n])
			n++;
	}
	if (!n)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

void sym_pe_exports_free(struct sym_pe_export *e, size_t count)
{
	if (!e)
		return;
	for (size_t i = 0; i < count; i++)
		free(e[i].name);
	free(e);
}

int sym_pe_exports(const struct sym_reader *r, uint64_t base, const struct sym_pe_info *info,
		   struct sym_pe_export **out, size_t *count, char *err, size_t errlen)
{
	struct exp_ctx x = { .r = r, .base = base, .image_size = info->size_of_image };
	uint32_t nfuncs, nnames, funcs_rva, names_rva, ords_rva, ord_base;
	uint32_t *funcs = NULL, *names = NULL;
	uint16_t *ords = NULL;
	uint8_t *named = NULL, raw[4];
	struct sym_pe_export *e = NULL;
	size_t n = 0;
	int rc = -1;

	*out = NULL;
	*count = 0;
	x.dir_rva = info->dir[SYM_PE_DIR_EXPORT].rva;
	x.dir_size = info->dir[SYM_PE_DIR_EXPORT].size;
	if (!x.dir_rva)
		return 0;
	if (x.dir_size < EXPORT_DIR_SIZE || x.dir_size > SYM_PE_MAX_EXPORT_DIR)
		return errbuf_fail(err, errlen, "bad export directory size %#x", x.dir_size);
	x.dir = malloc(x.dir_size);
	if (!x.dir)
		return errbuf_fail(err, errlen, "out of memory");
	if (sym_read_exact(r, base + x.dir_rva, x.dir, x.dir_size)) {
		errbuf_fail(err, errlen, "cannot read the export directory at %016llx",
			    (unsigned long long)(base + x.dir_rva));
		goto out;
	}
	ord_base = kd_get_le32(x.dir + 16);
	nfuncs = kd_get_le32(x.dir + 20);
	nnames = kd_get_le32(x.dir + 24);
	funcs_rva = kd_get_le32(x.dir + 28);
	names_rva = kd_get_le32(x.dir + 32);
	ords_rva = kd_get_le32(x.dir + 36);
	if (nfuncs > SYM_PE_MAX_EXPORTS || nnames > SYM_PE_MAX_EXPORTS) {
		errbuf_fail(err, errlen, "too many exports (%u functions, %u names)", nfuncs, nnames);
		goto out;
	}
	funcs = calloc(nfuncs ? nfuncs : 1, sizeof(*funcs));
	names = calloc(nnames ? nnames : 1, sizeof(*names));
	ords = calloc(nnames ? nnames : 1, sizeof(*ords));
	named = calloc(nfuncs ? nfuncs : 1, 1);
	e = calloc((size_t)nfuncs + nnames + 1, sizeof(*e));
	if (!funcs || !names || !ords || !named || !e) {
		errbuf_fail(err, errlen, "out of memory");
		goto out;
	}
	/* Arrays are read element by element from one bulk copy: no alignment assumed. */
	for (uint32_t i = 0; i < nfuncs; i++) {
		if (fetch(&x, funcs_rva + 4 * i, raw, 4)) {
			errbuf_fail(err, errlen, "cannot read export address %u", i);
			goto out;
		}
		funcs[i] = kd_get_le32(raw);
	}
	for (uint32_t i = 0; i < nnames; i++) {
		if (fetch(&x, names_rva + 4 * i, raw, 4)) {
			errbuf_fail(err, errlen, "cannot read export name %u", i);
			goto out;
		}
		names[i] = kd_get_le32(raw);
		if (fetch(&x, ords_rva + 2 * i, raw, 2)) {
			errbuf_fail(err, errlen, "cannot read export ordinal %u", i);
			goto out;
		}
		ords[i] = kd_get_le16(raw);
	}
	for (uint32_t i = 0; i < nnames; i++) {
		uint32_t idx = ords[i];

		if (idx >= nfuncs || !funcs[idx] || funcs[idx] >= x.image_size)
			continue;
		e[n].name = fetch_name(&x, names[i]);
		if (!e[n].name)
			continue;
		e[n].rva = funcs[idx];
		e[n].ordinal = ord_base + idx;
		e[n].forwarder = funcs[idx] >= x.dir_rva && funcs[idx] - x.dir_rva < x.dir_size;
		named[idx] = 1;
		n++;
	}
	for (uint32_t i = 0; i < nfuncs; i++) {
		if (named[i] || !funcs[i] || funcs[i] >= x.image_size)
			continue;
		e[n].rva = funcs[i];
		e[n].ordinal = ord_base + i;
		e[n].forwarder = funcs[i] >= x.dir_rva && funcs[i] - x.dir_rva < x.dir_size;
		n++;
	}
	*out = e;
	*count = n;
	e = NULL;
	rc = 0;
out:
	sym_pe_exports_free(e, n);
	free(named);
	free(ords);
	free(names);
	free(funcs);
	free(x.dir);
	return rc;
}
