/* SPDX-License-Identifier: MIT */
/*
 * pe_loader.h - a small PE32+ (x86-64) DLL loader: maps a file's headers and sections into a
 * caller-provided buffer, applies base relocations, binds imports by name from a symbol
 * table, and looks exports up by name. This is how the test kernel runs kdvm.dll, the very
 * file users install in Windows.
 *
 * The file is untrusted input: every offset, size and RVA is checked against the file or the
 * image before it is used, and a bad file gives an error, never an out-of-bounds access.
 * No allocation and no kernel headers, so the host unit tests build the same code.
 */
#ifndef VMKD_TARGET_PE_LOADER_H
#define VMKD_TARGET_PE_LOADER_H

#include <stddef.h>
#include <stdint.h>

/* Larger images are refused: a transport DLL is tens of KiB. */
#define PE_MAX_IMAGE_SIZE  (16u << 20)
#define PE_MAX_SECTIONS    96u  /* the PE format's own limit */
#define PE_MAX_NAME        256u /* longest DLL or symbol name accepted, NUL included */

enum pe_status {
	PE_OK = 0,
	PE_E_INVALID_ARG,     /* NULL pointer, or a buffer smaller than SizeOfImage */
	PE_E_TRUNCATED,       /* the file ends inside a header it declares */
	PE_E_NOT_MZ,          /* no "MZ" */
	PE_E_BAD_LFANEW,      /* e_lfanew points outside the file */
	PE_E_NOT_PE,          /* no "PE\0\0" at e_lfanew */
	PE_E_BAD_MACHINE,     /* not AMD64 (0x8664) */
	PE_E_NOT_PE32PLUS,    /* optional header magic is not 0x20b */
	PE_E_NOT_EXECUTABLE,  /* an object file, not a linked image */
	PE_E_BAD_OPT_HEADER,  /* optional header too small for its directories */
	PE_E_BAD_ALIGNMENT,   /* section/file alignment not a power of two, or base unaligned */
	PE_E_BAD_IMAGE_SIZE,  /* SizeOfImage zero or too big; SizeOfHeaders out of bounds */
	PE_E_BAD_SECTION,     /* raw data past the end of the file, or outside SizeOfImage */
	PE_E_SECTION_OVERLAP, /* sections overlap each other or the headers */
	PE_E_BAD_DIRECTORY,   /* a data directory outside SizeOfImage */
	PE_E_UNSUPPORTED,     /* TLS or delay imports: things this loader cannot honour */
	PE_E_BAD_RELOC,       /* malformed relocation block, or a fixup outside the image */
	PE_E_RELOC_TYPE,      /* a relocation type other than DIR64 / ABSOLUTE */
	PE_E_RELOCS_STRIPPED, /* must move, but the file says it cannot */
	PE_E_BAD_IMPORT,      /* malformed import descriptor, thunk or name */
	PE_E_IMPORT_ORDINAL,  /* import by ordinal (only names can be resolved here) */
	PE_E_UNRESOLVED,      /* at least one import is not in the symbol table */
	PE_E_BAD_EXPORT,      /* malformed export directory */
	PE_E_FORWARDER,       /* the export forwards to another DLL */
	PE_E_NOT_FOUND,       /* no export of that name */
};

/* "PE_E_TRUNCATED" and so on; never NULL. */
const char *pe_status_name(enum pe_status st);

/* One symbol an image may import: what the IAT slot for dll!name receives. For a data
 * import (e.g. ntoskrnl's KdDebuggerNotPresent) that is the variable's address too. */
struct pe_symbol {
	const char *dll;  /* matched case-insensitively: "HAL.dll" == "hal.dll" */
	const char *name; /* matched exactly */
	uint64_t address;
	int is_data;
};

struct pe_imports {
	const struct pe_symbol *symbols;
	size_t count;
	/* Called once per import missing from symbols (optional); loading goes on to
	 * report them all, then fails with PE_E_UNRESOLVED. */
	void (*unresolved)(void *ctx, const char *dll, const char *name);
	void *ctx;
};

/* What the headers say (filled by pe_parse). */
struct pe_info {
	uint64_t image_base;      /* preferred load address */
	uint32_t size_of_image;
	uint32_t size_of_headers;
	uint32_t entry_rva;       /* 0 for a transport DLL */
	uint32_t checksum;        /* as stored in the optional header */
	uint16_t characteristics; /* IMAGE_FILE_* */
	uint16_t dll_characteristics;
	uint16_t subsystem;
	uint16_t nsections;
};

/* A loaded image (filled by pe_load). */
struct pe_image {
	uint8_t *base;            /* where it was loaded, and runs */
	struct pe_info info;
	int64_t delta;            /* base - info.image_base */
	uint32_t relocations;     /* DIR64 fixups applied */
	uint32_t imports;         /* IAT slots bound */
	uint32_t export_rva, export_size;
};

/* Validates the headers and the section table against the file (nothing is written). */
enum pe_status pe_parse(const void *file, size_t file_size, struct pe_info *info);

/*
 * Loads file into image (image_size >= SizeOfImage, page aligned in practice; the image
 * runs where it is loaded): zeroes the buffer, copies the headers and every section
 * (min(SizeOfRawData, VirtualSize) bytes, the rest stays zero, so .bss is zero), applies
 * the relocations for the new base, binds every import from imports, and checks the export
 * directory. On error the buffer holds a partial image that must not be run.
 */
enum pe_status pe_load(const void *file, size_t file_size, void *image, size_t image_size,
		       const struct pe_imports *imports, struct pe_image *out);

/* Address of the export name (not a forwarder) of a loaded image, in *addr. */
enum pe_status pe_find_export(const struct pe_image *img, const char *name, void **addr);

/* The PE checksum of a file as ld and Windows compute it (the stored CheckSum field taken
 * as zero). A file with a valid checksum has pe_checksum() == its info.checksum. */
uint32_t pe_checksum(const void *file, size_t file_size);

#endif
