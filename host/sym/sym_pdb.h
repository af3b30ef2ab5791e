/* SPDX-License-Identifier: MIT */
/*
 * sym_pdb.h - public and global symbols from a PDB (MSF 7.00) file, and the CodeView
 * (RSDS) record that names an image's PDB. The PDB parser works on the file's bytes in
 * memory and trusts none of them: every block index, stream size, record length and
 * section number is checked, and a malformed file is an error, never a crash.
 */
#ifndef VMKD_HOST_SYM_PDB_H
#define VMKD_HOST_SYM_PDB_H

#include <stddef.h>
#include <stdint.h>

#include "sym_pe.h"
#include "sym_reader.h"

#define SYM_PDB_MAX_FILE (1u << 30)     /* larger PDBs are refused */
#define SYM_PDB_MAX_SYMBOLS (4u << 20)

/* The CodeView debug record of an image: which PDB, which build of it. */
struct sym_codeview {
	uint8_t guid[16];                 /* as stored (GUID: LE Data1, Data2, Data3, Data4[8]) */
	uint32_t age;
	char pdb[260];                    /* the file name the linker wrote (a path) */
};

/* Reads the image's debug directory and its RSDS record. Returns 0, 1 if there is none,
 * -1 if it is malformed or unreadable. */
int sym_pe_codeview(const struct sym_reader *r, uint64_t base, const struct sym_pe_info *info,
		    struct sym_codeview *cv);

/* "name.pdb/GUIDAGE/name.pdb" relative path of a symbol store ("0F1E...A1"). */
void sym_codeview_key(const struct sym_codeview *cv, char *buf, size_t cap);

struct sym_pdb_symbol {
	uint32_t rva;
	char *name;
};

/*
 * Public (S_PUB32) and global data (S_GDATA32/S_LDATA32) symbols of a PDB held in
 * file[0..size), as RVAs. guid (may be NULL) must match the PDB's. Names are malloc'ed;
 * free with sym_pdb_free. Returns 0 or -1 with err.
 */
int sym_pdb_symbols(const uint8_t *file, size_t size, const uint8_t *guid,
		    struct sym_pdb_symbol **out, size_t *count, char *err, size_t errlen);
void sym_pdb_free(struct sym_pdb_symbol *s, size_t count);

/*
 * Finds the PDB for cv along a WinDbg symbol path ("a;b;srv*CACHE*URL;cache*DIR"): each
 * folder (and the cache of a srv* element) is tried as a symbol store
 * (DIR/name.pdb/GUIDAGE/name.pdb) and flat (DIR/name.pdb). Nothing is downloaded.
 * Returns 0 with the file's path in out, or -1.
 */
int sym_pdb_find(const char *sympath, const struct sym_codeview *cv, char *out, size_t cap);

#endif
