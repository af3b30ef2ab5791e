/* SPDX-License-Identifier: MIT */
/*
 * sym.h - symbols without any file: the target's loaded modules (PsLoadedModuleList, merged
 * with what LoadSymbols reported) and each module's export table, read from the target's
 * memory on first use and cached per module until the module list changes.
 *
 * Names follow WinDbg: "nt" for the kernel, the base file name without extension for the
 * rest, compared case-insensitively. Independent of any command layer: the debugger REPL and
 * the gdb bridge both use it over a sym_reader.
 */
#ifndef VMKD_HOST_SYM_H
#define VMKD_HOST_SYM_H

#include <stddef.h>
#include <stdint.h>

#include "sym_pe.h"
#include "sym_reader.h"
#include "sym_unwind.h"

#define SYM_MAX_MODULES 4096u  /* PsLoadedModuleList walk bound: a corrupt list may loop */
#define SYM_NAME_MAX 64u

struct sym_symbol {
	uint64_t addr;
	char *name;               /* "#12" for an export by ordinal only */
};

enum sym_exports_state {
	SYM_EXPORTS_UNREAD,
	SYM_EXPORTS_READ,
	SYM_EXPORTS_FAILED,       /* no readable PE header or export table */
};

struct sym_module {
	uint64_t base;
	uint32_t size;
	char name[SYM_NAME_MAX];  /* "nt", "hal", "kdcom" */
	char file[SYM_NAME_MAX];  /* "ntoskrnl.exe" */
	char path[260];
	enum sym_exports_state state;
	struct sym_symbol *syms;  /* by address */
	size_t nsyms;
	int pe_valid;             /* pe holds the headers (read with the exports) */
	struct sym_pe_info pe;
	char pdb[260];            /* the PDB its symbols came from too, or "" */
};

/* A module as a list walk or a LoadSymbols report gives it. */
struct sym_module_desc {
	uint64_t base;
	uint32_t size;
	char path[260];
};

struct sym_table;

struct sym_table *sym_table_new(const struct sym_reader *r);
void sym_table_free(struct sym_table *t);
const struct sym_reader *sym_table_reader(const struct sym_table *t);

/* "nt" / "ntoskrnl.exe" from an image path ("\SystemRoot\system32\ntoskrnl.exe"). */
void sym_module_names(const char *path, char *name, size_t ncap, char *file, size_t fcap);

/*
 * Walks PsLoadedModuleList (a LIST_ENTRY of KLDR_DATA_TABLE_ENTRY) at head over r, into at
 * most max entries of out. Stops at the head, at a NULL or unreadable link, at a link that
 * repeats the previous one, and after max entries. Returns the count, or -1 with err if the
 * head itself cannot be read.
 */
int sym_walk_module_list(const struct sym_reader *r, uint64_t head, struct sym_module_desc *out,
			 size_t max, char *err, size_t errlen);

/*
 * Replaces the module set with list[0..n) (deduplicated by base; an earlier entry wins).
 * Modules whose base, size and name are unchanged keep their cached exports. Returns 1 if
 * the set changed, 0 if not, -1 on allocation failure.
 */
int sym_table_set_modules(struct sym_table *t, const struct sym_module_desc *list, size_t n);

size_t sym_module_count(const struct sym_table *t);
const struct sym_module *sym_module_at(const struct sym_table *t, size_t i);
const struct sym_module *sym_module_by_name(const struct sym_table *t, const char *name,
					    size_t len);
const struct sym_module *sym_module_by_addr(const struct sym_table *t, uint64_t addr);

/* The WinDbg symbol path PDBs are looked for along (NULL or "" = exports only). Drops
 * every module's symbols: they are read again, with PDBs, on next use. */
int sym_table_set_symbol_path(struct sym_table *t, const char *path);
const char *sym_table_symbol_path(const struct sym_table *t);
/* Drops every module's symbols (.reload). */
void sym_table_reload(struct sym_table *t);

/* Whether the target can be read now (a KD target only while stopped). While it cannot,
 * lookups use what was read before and nothing is marked as failed. Default: readable. */
void sym_table_set_readable(struct sym_table *t, int readable);

/* Reads a module's exports (and, with a symbol path, its PDB's publics and globals) if
 * not read yet (once; a failure is remembered). */
void sym_load_exports(struct sym_table *t, const struct sym_module *m);

/* "nt", "nt!Name" (text[0..len)); 0 with *out, or -1 if nothing matches. */
int sym_resolve(struct sym_table *t, const char *text, size_t len, uint64_t *out);

/* The symbol at or before addr inside its module (*before) and the next one (*after);
 * either may be NULL. Returns the module, or NULL if addr is in none. */
const struct sym_module *sym_nearest(struct sym_table *t, uint64_t addr,
				     const struct sym_symbol **before,
				     const struct sym_symbol **after);

/* "nt!Name+0x12", "nt!Name", or "nt+0x1234" when no symbol precedes addr in its module.
 * Returns 1 if addr is in a module (buf filled), 0 if not. */
int sym_format(struct sym_table *t, uint64_t addr, char *buf, size_t cap);

/* The module's PE headers (read with its exports), or NULL if unreadable. */
const struct sym_pe_info *sym_module_pe(struct sym_table *t, const struct sym_module *m);

/* One frame of a stack walk. */
enum sym_frame_how {
	SYM_FRAME_PDATA,          /* unwound with the image's .pdata / UNWIND_INFO */
	SYM_FRAME_LEAF,           /* image has .pdata but none for rip: a leaf function */
	SYM_FRAME_MACHFRAME,      /* .pdata with a machine frame (trap, interrupt) */
	SYM_FRAME_FP,             /* no unwind data: frame-pointer heuristics */
};

struct sym_frame {
	uint64_t rip;             /* where this frame is executing */
	uint64_t sp;              /* its stack pointer (Child-SP) */
	uint64_t ret;             /* where it returns to (the next frame's rip), 0 if unknown */
	uint64_t args[4];         /* the four home slots above the return address */
	enum sym_frame_how how;
};

#define SYM_MAX_FRAMES 256u

/* Walks the stack from regs into at most max frames. The walk ends at a failed unwind, a
 * zero return address, or a stack pointer that does not move up (a loop). Returns the
 * number of frames (at least 1). */
size_t sym_stack_walk(struct sym_table *t, const struct sym_regs *regs, struct sym_frame *out,
		      size_t max);

/* Case-insensitive glob with * and ?. */
int sym_glob(const char *pattern, const char *name);

/* Calls fn for each symbol matching "module!pattern" (module may be a pattern too; a
 * pattern without '!' matches symbols in every module), stopping early when fn returns
 * non-zero. Returns the number of matches seen. */
int sym_enum(struct sym_table *t, const char *pattern,
	     int (*fn)(void *opaque, const struct sym_module *m, const struct sym_symbol *s),
	     void *opaque);

#endif
