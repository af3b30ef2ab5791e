/* SPDX-License-Identifier: MIT */
/* codeview.c - PE headers -> debug directory -> RSDS record, through a bounded reader. */
#include "codeview.h"

#include <stdio.h>
#include <string.h>
#include "../common/errbuf.h"
#include "vmkd/kd_bytes.h"

enum {
	DOS_LFANEW = 0x3c,
	LFANEW_MAX = 0x10000000,  /* a larger e_lfanew is not a real image */
	FILE_HDR_SIZE = 24,       /* "PE\0\0" + IMAGE_FILE_HEADER */
	OPT_MAGIC_PE32 = 0x10b,
	OPT_MAGIC_PE32P = 0x20b,
	DIR_DEBUG = 6,
	DEBUG_ENTRY_SIZE = 28,    /* IMAGE_DEBUG_DIRECTORY */
	DEBUG_ENTRIES_MAX = 64,
	DEBUG_TYPE_CODEVIEW = 2,
	SECTION_HDR_SIZE = 40,
	SECTIONS_MAX = 96,        /* the PE loader's limit */
	RSDS_FIXED = 24,          /* "RSDS", GUID, age */
};

int pdb_buffer_read(void *opaque, uint64_t va, void *buf, size_t len, size_t *got)
{
	const struct pdb_buffer *b = opaque;

	*got = 0;
	if (va > b->size || len > b->size - va)
		return -1;
	memcpy(buf, b->data + va, len);
	*got = len;
	return 0;
}

/* What we need to read an image: where its parts are. */
struct image {
	const struct pdb_mem_reader *rd;
	uint64_t base;
	enum pdb_image_layout layout;
	uint64_t sections_at; /* address of the section table */
	uint16_t nsections;
};

static int rd_at(const struct image *im, uint64_t off, void *buf, size_t len)
{
	size_t got = 0;

	if (off > UINT64_MAX - im->base)
		return -1;
	if (im->rd->read(im->rd->opaque, im->base + off, buf, len, &got) || got != len)
		return -1;
	return 0;
}

/* RVA -> offset from the base in this layout; -1 when a file image has no section for it. */
static int rva_to_off(const struct image *im, uint32_t rva, uint32_t len, uint64_t *off)
{
	uint8_t sh[SECTION_HDR_SIZE];
	uint16_t i;

	if (im->layout == PDB_IMAGE_MAPPED) {
		*off = rva;
		return 0;
	}
	for (i = 0; i < im->nsections; i++) {
		uint32_t va, vsize, rawsize, raw;

		if (rd_at(im, im->sections_at + (uint64_t)i * SECTION_HDR_SIZE, sh, sizeof(sh)))
			return -1;
		vsize = kd_get_le32(sh + 8);
		va = kd_get_le32(sh + 12);
		rawsize = kd_get_le32(sh + 16);
		raw = kd_get_le32(sh + 20);
		if (vsize < rawsize)
			vsize = rawsize;
		if (rva >= va && rva - va < vsize && len <= rawsize && rva - va <= rawsize - len) {
			*off = (uint64_t)raw + (rva - va);
			return 0;
		}
	}
	return -1;
}

int pdb_codeview_from_image(const struct pdb_mem_reader *rd, uint64_t image_base,
			    enum pdb_image_layout layout, struct pdb_codeview_info *info,
			    char *err, size_t errlen)
{
	struct image im = { .rd = rd, .base = image_base, .layout = layout };
	uint8_t dos[64], fh[FILE_HDR_SIZE], opt[112 + 16 * 8], ent[DEBUG_ENTRY_SIZE], cv[RSDS_FIXED];
	uint32_t lfanew, dir_rva, dir_size, n, i, dirs_at, ndirs;
	uint16_t opt_size, magic;
	uint64_t off;
	int saw_nb10 = 0;

	memset(info, 0, sizeof(*info));
	if (rd_at(&im, 0, dos, sizeof(dos)) || kd_get_le16(dos) != 0x5a4d) {
		errbuf_set(err, errlen, "no MZ header at 0x%llx", (unsigned long long)image_base);
		return -1;
	}
	lfanew = kd_get_le32(dos + DOS_LFANEW);
	if (lfanew > LFANEW_MAX || rd_at(&im, lfanew, fh, sizeof(fh)) || kd_get_le32(fh) != 0x4550) {
		errbuf_set(err, errlen, "no PE signature at e_lfanew 0x%x", lfanew);
		return -1;
	}
	info->timestamp = kd_get_le32(fh + 8);
	im.nsections = kd_get_le16(fh + 6);
	opt_size = kd_get_le16(fh + 20);
	if (im.nsections > SECTIONS_MAX) {
		errbuf_set(err, errlen, "%u sections (the PE limit is %u)", im.nsections, SECTIONS_MAX);
		return -1;
	}
	im.sections_at = (uint64_t)lfanew + FILE_HDR_SIZE + opt_size;
	memset(opt, 0, sizeof(opt));
	if (opt_size < 2 || rd_at(&im, (uint64_t)lfanew + FILE_HDR_SIZE, opt,
				  opt_size < sizeof(opt) ? opt_size : sizeof(opt))) {
		errbuf_set(err, errlen, "optional header (%u bytes) unreadable", opt_size);
		return -1;
	}
	magic = kd_get_le16(opt);
	if (magic == OPT_MAGIC_PE32) {
		ndirs = kd_get_le32(opt + 92);
		dirs_at = 96;
	} else if (magic == OPT_MAGIC_PE32P) {
		ndirs = kd_get_le32(opt + 108);
		dirs_at = 112;
	} else {
		errbuf_set(err, errlen, "optional header magic 0x%x is neither PE32 nor PE32+", magic);
		return -1;
	}
	info->image_size = kd_get_le32(opt + 56);
	if (ndirs <= DIR_DEBUG || dirs_at + 8u * (DIR_DEBUG + 1) > opt_size) {
		errbuf_set(err, errlen, "no debug directory (%u data directories)", ndirs);
		return -1;
	}
	dir_rva = kd_get_le32(opt + dirs_at + 8 * DIR_DEBUG);
	dir_size = kd_get_le32(opt + dirs_at + 8 * DIR_DEBUG + 4);
	n = dir_size / DEBUG_ENTRY_SIZE;
	if (!dir_rva || !n) {
		errbuf_set(err, errlen, "the image has no debug directory");
		return -1;
	}
	if (n > DEBUG_ENTRIES_MAX)
		n = DEBUG_ENTRIES_MAX;
	if (rva_to_off(&im, dir_rva, n * DEBUG_ENTRY_SIZE, &off)) {
		errbuf_set(err, errlen, "debug directory RVA 0x%x is in no section", dir_rva);
		return -1;
	}
	for (i = 0; i < n; i++) {
		uint32_t size, data_rva, data_raw, plen;
		uint64_t at;
		size_t k;

		if (rd_at(&im, off + (uint64_t)i * DEBUG_ENTRY_SIZE, ent, sizeof(ent))) {
			errbuf_set(err, errlen, "debug directory entry %u unreadable", i);
			return -1;
		}
		if (kd_get_le32(ent + 12) != DEBUG_TYPE_CODEVIEW)
			continue;
		size = kd_get_le32(ent + 16);
		data_rva = kd_get_le32(ent + 20);
		data_raw = kd_get_le32(ent + 24);
		if (layout == PDB_IMAGE_MAPPED) {
			if (!data_rva)
				continue; /* not loaded into memory */
			at = data_rva;
		} else {
			at = data_raw;
		}
		if (size < RSDS_FIXED + 1 || rd_at(&im, at, cv, sizeof(cv)))
			continue;
		if (kd_get_le32(cv) != 0x53445352) { /* "RSDS" */
			saw_nb10 |= kd_get_le32(cv) == 0x3031424e; /* "NB10" */
			continue;
		}
		memcpy(info->guid, cv + 4, 16);
		info->age = kd_get_le32(cv + 20);
		plen = size - RSDS_FIXED;
		if (plen > PDB_CV_PATH_MAX - 1)
			plen = PDB_CV_PATH_MAX - 1;
		if (rd_at(&im, at + RSDS_FIXED, info->path, plen)) {
			errbuf_set(err, errlen, "RSDS path unreadable");
			return -1;
		}
		info->path[plen] = 0;
		info->name = info->path;
		for (k = 0; info->path[k]; k++)
			if (info->path[k] == '\\' || info->path[k] == '/' || info->path[k] == ':')
				info->name = info->path + k + 1;
		if (!info->name[0]) {
			errbuf_set(err, errlen, "RSDS record names no PDB file");
			return -1;
		}
		return 0;
	}
	errbuf_set(err, errlen, saw_nb10 ? "CodeView NB10 (PDB 2.0) records are not supported"
				     : "no RSDS CodeView record in the debug directory");
	return -1;
}
