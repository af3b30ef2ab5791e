/* SPDX-License-Identifier: MIT */
/*
 * codeview.h - which PDB an image wants: the RSDS CodeView record (GUID, age, PDB path)
 * found through a PE image's debug directory (IMAGE_DIRECTORY_ENTRY_DEBUG, entries of
 * type IMAGE_DEBUG_TYPE_CODEVIEW).
 *
 * The image is read through an abstract reader, so the same code reads a module mapped in
 * the target's memory (addresses are image_base + RVA) or a file held in a buffer (RVAs go
 * through the section table to file offsets). Everything read is untrusted and bounded.
 * Only RSDS (PDB 7.0) records are understood; NB10 (PDB 2.0, pre-2002 images) is reported
 * as unsupported.
 */
#ifndef VMKD_HOST_CODEVIEW_H
#define VMKD_HOST_CODEVIEW_H

#include <stddef.h>
#include <stdint.h>

/* Reads len bytes at va into buf; returns 0 and sets *got (a short read is a failure). */
struct pdb_mem_reader {
	int (*read)(void *opaque, uint64_t va, void *buf, size_t len, size_t *got);
	void *opaque;
};

enum pdb_image_layout {
	PDB_IMAGE_MAPPED, /* as loaded: section data at image_base + RVA */
	PDB_IMAGE_FILE,   /* as on disk: section data at image_base + file offset */
};

#define PDB_CV_PATH_MAX 260

struct pdb_codeview_info {
	uint8_t guid[16];              /* as stored (Data1 LE, Data2 LE, Data3 LE, Data4) */
	uint32_t age;
	char path[PDB_CV_PATH_MAX];    /* as the linker wrote it, e.g. "C:\\build\\ntkrnlmp.pdb" */
	const char *name;              /* its last component (points into path) */
	uint32_t image_size;           /* SizeOfImage, for the caller's sanity checks */
	uint32_t timestamp;            /* the file header's TimeDateStamp */
};

/* 0, or -1 with a reason in err (not a PE, no debug directory, no RSDS, read failure). */
int pdb_codeview_from_image(const struct pdb_mem_reader *rd, uint64_t image_base,
			    enum pdb_image_layout layout, struct pdb_codeview_info *info,
			    char *err, size_t errlen);

/* A reader over a buffer: va is an offset into it. */
struct pdb_buffer {
	const uint8_t *data;
	size_t size;
};
int pdb_buffer_read(void *opaque, uint64_t va, void *buf, size_t len, size_t *got);

#endif
