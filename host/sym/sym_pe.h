/* SPDX-License-Identifier: MIT */
/*
 * sym_pe.h - a PE32+ image as it lies in a target's memory: headers, the export table, the
 * exception directory (.pdata). Everything read is untrusted: counts are bounded, RVAs are
 * checked against SizeOfImage, and a malformed image is an error, never a crash.
 */
#ifndef VMKD_HOST_SYM_PE_H
#define VMKD_HOST_SYM_PE_H

#include <stddef.h>
#include <stdint.h>

#include "sym_reader.h"

#define SYM_PE_MAX_EXPORTS 65536u      /* a PE ordinal is 16 bits */
#define SYM_PE_MAX_NAME 256u           /* longer export names are cut */
#define SYM_PE_MAX_EXPORT_DIR (16u << 20) /* bytes of export directory read in one piece */

enum sym_pe_dir {
	SYM_PE_DIR_EXPORT = 0,
	SYM_PE_DIR_EXCEPTION = 3,
	SYM_PE_DIR_DEBUG = 6,
	SYM_PE_NDIRS = 16,
};

struct sym_pe_info {
	uint16_t machine;
	uint16_t nsections;
	uint32_t size_of_image;
	uint64_t image_base;                /* the header's ImageBase */
	struct { uint32_t rva, size; } dir[SYM_PE_NDIRS]; /* absent ones are 0 */
};

struct sym_pe_export {
	uint32_t rva;
	uint32_t ordinal;                   /* biased (Base + index) */
	char *name;                         /* NULL: exported by ordinal only */
	int forwarder;                      /* rva points at "dll.name" text, not code */
};

/* Reads the DOS/NT/optional headers of the image at base. size_hint (0 = none) bounds
 * SizeOfImage when the module list knows the size. Returns 0 or -1 with err. */
int sym_pe_headers(const struct sym_reader *r, uint64_t base, uint32_t size_hint,
		   struct sym_pe_info *info, char *err, size_t errlen);

/* Reads the export table into a malloc'ed array (names malloc'ed too; free with
 * sym_pe_exports_free). An image without exports gives 0 entries and returns 0. */
int sym_pe_exports(const struct sym_reader *r, uint64_t base, const struct sym_pe_info *info,
		   struct sym_pe_export **out, size_t *count, char *err, size_t errlen);
void sym_pe_exports_free(struct sym_pe_export *e, size_t count);

#endif
