/* SPDX-License-Identifier: MIT */
/* commands_int.h - what the command files share: the table entry, helpers, handlers. */
#ifndef VMKD_HOST_COMMANDS_INT_H
#define VMKD_HOST_COMMANDS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "commands.h"

#define MAX_INSN 15u /* longest x86 instruction */

enum cmd_flags {
	CMD_STOPPED = 1u << 0, /* needs a stopped target */
};

struct cmd;
typedef int (*cmd_fn)(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);

struct cmd {
	const char *name;
	cmd_fn fn;
	unsigned arg;   /* handler parameter: unit size for d* / e*, ... */
	unsigned flags;
	const char *usage;
	const char *help;
};

/* ---- helpers (commands.c) ---- */

/* Prints "cmd: message" to c->err; returns -1. */
int cmd_fail(struct cmd_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* cmd_fail with the session's last error. */
int cmd_session_fail(struct cmd_ctx *c);
/* "fffff800`00100000" into buf. */
const char *cmd_addr(char buf[18], uint64_t a);
/* Registers of the current stop into c->regs (cached per stop). */
int cmd_load_regs(struct cmd_ctx *c);
/* Run control moved the PC: drop cached registers and the `u` cursor. */
void cmd_forget_stop(struct cmd_ctx *c);
/* Evaluates an expression with registers and poi(); prints the error. */
int cmd_eval(struct cmd_ctx *c, const char *text, uint64_t *out);
/* [ADDR] [L COUNT] from argv[1]. */
int cmd_parse_range(struct cmd_ctx *c, int argc, char **argv, uint64_t *addr, int *have_addr,
		    uint64_t *count);
/* The symbol table, its module set refreshed if the target's may have changed (a new
 * LoadSymbols report, or force). Never NULL after cmd_init succeeded. */
struct sym_table *cmd_sym(struct cmd_ctx *c, int force);
int cmd_print_disasm(struct cmd_ctx *c, uint64_t addr, uint64_t count, const uint8_t *known,
		     size_t known_len, int move_cursor);
void cmd_print_regs(struct cmd_ctx *c);
void cmd_report(struct cmd_ctx *c, const struct session_stop *st, int regs, int event);
int cmd_get_version(struct cmd_ctx *c);
char *cmd_trim(char *s);

/* ---- handlers ---- */

/* cmd_info.c */
int cmdh_version(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_lm(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_kdbg(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_stats(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
/* cmd_data.c */
int cmdh_r(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_dump(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_pdump(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_edit(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_u(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_rdmsr(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_wrmsr(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_eval(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
/* cmd_mem.c */
int cmdh_dstring(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_dps(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_s(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_writemem(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_readmem(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
/* cmd_target.c */
int cmdh_pte(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_vtop(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_processor(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_reboot(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
/* cmd_log.c */
int cmdh_logopen(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_logclose(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
/* cmd_sym.c */
int cmdh_x(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_ln(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_k(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_fnent(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_sympath(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_reload(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
/* cmd_bp.c */
int cmdh_bp(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_ba(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_bl(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_bc(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_bd(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_be(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
/* The user's number of the breakpoint that caused this stop, or -1. */
int cmd_bp_hit_id(struct cmd_ctx *c, const struct session_stop *st);
/* cmd_run.c */
int cmdh_g(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_t(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_p(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_q(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);
int cmdh_qd(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);

#endif
