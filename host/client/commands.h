/* SPDX-License-Identifier: MIT */
/*
 * commands.h - the WinDbg-like command set of `vmkd attach`, table-driven, over a session.
 * Output goes to out, errors (one line each, "cmd: message") to err.
 */
#ifndef VMKD_HOST_COMMANDS_H
#define VMKD_HOST_COMMANDS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "session.h"

struct disasm;
struct sym_table;

#define CMD_HW_SLOTS 4                           /* Dr0-Dr3 */
#define CMD_MAX_BPS (SESSION_MAX_BPS + CMD_HW_SLOTS) /* KD's 32 software + 4 hardware */

/* A user breakpoint: software (an int3 through the session, KD's breakpoint table) or
 * hardware (a debug register set through the processor's context). */
struct cmd_bp {
	int in_use;
	int id;                         /* the number bl / bc / bd / be use */
	int enabled;
	int hw;
	char kind;                      /* hardware: 'e' execute, 'w' write, 'r' read/write */
	unsigned len;                   /* hardware: 1, 2, 4, 8 */
	int slot;                       /* hardware: Dr slot while enabled */
	int sid;                        /* software: the session's id while enabled */
	uint64_t addr;
};

struct cmd_ctx {
	struct session *s;
	FILE *out;
	FILE *err;
	struct disasm *dis;
	int quit;
	const char *cur;                /* name of the command running, for messages */

	struct kd_context_amd64 regs;   /* registers of the current stop */
	uint64_t regs_seq;
	int regs_valid;

	uint64_t dump_next;             /* where a bare db/dd/... goes on */
	unsigned dump_unit;
	int dump_phys, dump_valid;
	uint64_t u_next, u_seq;         /* where a bare `u` goes on, within one stop */
	int u_valid;

	struct sym_table *sym;          /* modules and export symbols (host/sym) */
	int sym_valid;                  /* the module set reflects the target's */
	size_t sym_nsession;            /* session_module_count() when it was built */
	uint64_t sym_seq;               /* stop seq of the LoadSymbols it saw last */
	struct kd_get_version64 ver;
	int ver_valid;

	struct cmd_bp bps[CMD_MAX_BPS];
	void *log;                      /* .logopen: struct cmd_log (cmd_log.c) */
};

/* dis may be NULL (no disassembly). */
void cmd_init(struct cmd_ctx *c, struct session *s, struct disasm *dis, FILE *out, FILE *err);
void cmd_cleanup(struct cmd_ctx *c);

/* Runs one command line. Returns 0, or -1 after printing why. Blank lines do nothing. */
int cmd_execute(struct cmd_ctx *c, const char *line);

/* Runs "cmd; cmd; ..." in order, echoing each after prompt (if not NULL) to out.
 * Returns the number of commands that failed; stops early on `q`. */
int cmd_execute_list(struct cmd_ctx *c, const char *list, const char *prompt);

/* Prints a stop the way WinDbg does: the event line ("Break instruction exception -
 * code 80000003 (first chance)", "Breakpoint 0 hit"), registers if regs, then the
 * instruction at the PC. */
void cmd_report_stop(struct cmd_ctx *c, const struct session_stop *st, int regs);

/* The symbol layer's table (host/sym) this command context keeps: modules from
 * PsLoadedModuleList and LoadSymbols, export symbols; refreshed while the target is
 * stopped. For other front ends (vmkd gdb) that share it. */
struct sym_table *cmd_symbol_table(struct cmd_ctx *c);

/* "nt!Name+0x12" (or "nt+0x1234" without a preceding export) for an address inside a known
 * module; returns 0 if none matched. */
int cmd_symbolize(struct cmd_ctx *c, uint64_t addr, char *buf, size_t cap);

/* .logopen: out and err also go to the log file; the REPL logs each prompt and line. */
void cmd_log_line(struct cmd_ctx *c, const char *prompt, const char *line);
void cmd_log_close(struct cmd_ctx *c);

/* Completion candidates for word (the text before the cursor in the current word) in the
 * given position (0 = the command name): commands, then modules and module!export
 * symbols (only while the target is stopped). Calls fn for each; returns how many. */
size_t cmd_complete(struct cmd_ctx *c, const char *word, int position,
		    void (*fn)(void *opaque, const char *candidate), void *opaque);

/* Command names, for completion; NULL-terminated iteration via index. */
const char *cmd_name(size_t i);

#endif
