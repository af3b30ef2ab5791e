/* SPDX-License-Identifier: MIT */
/*
 * pdb.h - public and global symbols from a PDB file (MSF 7.00), for the symbol layer.
 *
 * Read: the PDB info stream (version, signature, age, GUID), the DBI stream (header, module
 * list, section contributions, the optional debug header's section header stream), the
 * symbol record stream (S_PUB32, S_GDATA32, S_LDATA32) and, per module, the module symbol
 * streams (S_GPROC32/S_LPROC32 and their _ID forms, static data). Section:offset pairs are
 * turned into RVAs with the PDB's own copy of the image's section headers (OMAP, used only
 * by some old re-linked images, is not applied).
 *
 * A PDB is untrusted input: counts and offsets are checked against the stream that holds
 * them, records are walked with a loop (no recursion), names are bounded by their record.
 */
#ifndef VMKD_HOST_PDB_H
#define VMKD_HOST_PDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pdb;

/* From the PDB info stream (stream 1). */
struct pdb_info {
	uint32_t version;   /* 20000404 for VC70 and later */
	uint32_t signature; /* a time stamp */
	uint32_t age;       /* the DBI stream's age when there is one (what the image's RSDS names) */
	uint8_t guid[16];   /* as stored: Data1 LE, Data2 LE, Data3 LE, Data4 */
	uint32_t num_streams;
	uint32_t block_size;
	uint32_t num_sections; /* section headers found through the DBI debug header */
	uint32_t num_modules;
	uint16_t machine;      /* IMAGE_FILE_MACHINE_* from the DBI header (0x8664 = x64) */
};

enum pdb_sym_kind {
	PDB_SYM_PUBLIC,      /* S_PUB32 (flags: PDB_PUB_*) */
	PDB_SYM_GLOBAL_DATA, /* S_GDATA32 */
	PDB_SYM_LOCAL_DATA,  /* S_LDATA32 (file statics; function statics in a module stream) */
	PDB_SYM_PROC,        /* S_GPROC32 / S_GPROC32_ID in a module stream (size = code size) */
	PDB_SYM_LOCAL_PROC,  /* S_LPROC32 / S_LPROC32_ID: static functions */
};

/* S_PUB32 flags. */
#define PDB_PUB_CODE     0x1u
#define PDB_PUB_FUNCTION 0x2u
#define PDB_PUB_MANAGED  0x4u
#define PDB_PUB_MSIL     0x8u

/* What to enumerate in pdb_symbols(). */
#define PDB_WANT_PUBLICS 0x1u /* S_PUB32 from the symbol record stream */
#define PDB_WANT_GLOBALS 0x2u /* S_GDATA32 / S_LDATA32 from the symbol record stream */
#define PDB_WANT_PROCS   0x4u /* procedures and static data from the module streams */
#define PDB_WANT_ALL     0x7u

struct pdb_symbol {
	enum pdb_sym_kind kind;
	const char *name;  /* NUL-terminated, valid only during the callback */
	uint16_t section;  /* 1-based, as in the record */
	uint32_t offset;   /* within the section */
	bool has_rva;      /* false when the section is not in the section headers */
	uint32_t rva;
	uint32_t size;     /* procedures: code size; 0 otherwise */
	uint32_t flags;    /* publics: PDB_PUB_*; 0 otherwise */
	uint32_t module;   /* module index (0-based) for module symbols; UINT32_MAX otherwise */
};

/* Returns 0 to continue, nonzero to stop (pdb_symbols then returns that value). */
typedef int (*pdb_symbol_fn)(void *ctx, const struct pdb_symbol *sym);

/* A section contribution: which module put bytes where. */
struct pdb_contrib {
	uint16_t section;
	uint32_t offset, size, characteristics;
	uint16_t module;
	bool has_rva;
	uint32_t rva;
	const char *module_name; /* NULL when the module index is out of range */
};
typedef int (*pdb_contrib_fn)(void *ctx, const struct pdb_contrib *c);

/*
 * Opens a PDB from a file (mapped read-only) or from a buffer the caller keeps alive until
 * pdb_close(). Reads the info and DBI streams up front. NULL with a reason in err.
 */
struct pdb *pdb_open_file(const char *path, char *err, size_t errlen);
struct pdb *pdb_open_mem(const void *data, size_t size, char *err, size_t errlen);
void pdb_close(struct pdb *pdb);

const struct pdb_info *pdb_get_info(const struct pdb *pdb);

/* True when the PDB is the one an image's RSDS record names (same GUID and age). */
bool pdb_matches(const struct pdb *pdb, const uint8_t guid[16], uint32_t age);

/*
 * Calls fn for each symbol of the kinds in want (PDB_WANT_*). 0 when all were walked, the
 * callback's nonzero value when it stopped, -1 with a reason (pdb_error) when a stream is
 * damaged; the symbols before the damage have been delivered.
 */
int pdb_symbols(struct pdb *pdb, unsigned want, pdb_symbol_fn fn, void *ctx);

/* pdb_symbols(pdb, PDB_WANT_PUBLICS | PDB_WANT_GLOBALS, ...). */
int pdb_publics(struct pdb *pdb, pdb_symbol_fn fn, void *ctx);

/* Calls fn for each DBI section contribution; same return convention. */
int pdb_section_contribs(struct pdb *pdb, pdb_contrib_fn fn, void *ctx);

/* RVA of section:offset through the section headers; false when there is none. */
bool pdb_section_rva(const struct pdb *pdb, uint16_t section, uint32_t offset, uint32_t *rva);

/* The reason of the last failure on this PDB. */
const char *pdb_error(const struct pdb *pdb);

/* Symbol store key: the GUID as 32 upper-case hex digits (Data1, Data2, Data3, Data4) then
 * the age in hex, e.g. "3844DBB920174967BE7AA4A2C20430FA2". out needs 41 bytes. */
void pdb_guid_age_key(const uint8_t guid[16], uint32_t age, char out[41]);

/* The GUID as {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}; out needs 39 bytes. */
void pdb_guid_format(const uint8_t guid[16], char out[39]);

#endif
