/* SPDX-License-Identifier: MIT */
/* Run control: g, t, p, q / qd. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "commands_int.h"
#include "disasm.h"
#include "expr.h"

/* ---- run control ------------------------------------------------------------------ */

/* Waits until the target stops, then prints the stop. Ctrl-C breaks in meanwhile. */
static int wait_and_report(struct cmd_ctx *c, int regs)
{
	struct session_stop st;

	fflush(c->out);
	if (session_wait_stop(c->s, SESSION_WAIT_FOREVER, &st))
		return cmd_session_fail(c);
	cmd_forget_stop(c);
	cmd_report_stop(c, &st, regs);
	return 0;
}

/* Runs to addr (or to the next stop) with a temporary breakpoint there. */
static int run_to(struct cmd_ctx *c, uint64_t addr, int regs)
{
	int temp = !session_bp_find(c->s, addr), rc, id = -1;

	if (temp && session_bp_add(c->s, addr, 1, &id))
		return cmd_session_fail(c);
	rc = session_go(c->s);
	cmd_forget_stop(c);
	if (rc == 0)
		rc = wait_and_report(c, regs);
	else
		cmd_session_fail(c);
	if (temp && session_state(c->s) == SESSION_TARGET_STOPPED && session_bp_remove(c->s, id))
		return cmd_session_fail(c);
	return rc;
}

int cmdh_g(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	uint64_t addr;

	if (argc > 2)
		return cmd_fail(c, "usage: %s", cmd->usage);
	if (argc == 2) {
		if (cmd_eval(c, argv[1], &addr))
			return -1;
		return run_to(c, addr, 0);
	}
	if (session_go(c->s)) {
		cmd_forget_stop(c);
		return cmd_session_fail(c);
	}
	cmd_forget_stop(c);
	return wait_and_report(c, 0);
}

static int step_count(struct cmd_ctx *c, int argc, char **argv, uint64_t *n)
{
	*n = 1;
	if (argc > 2)
		return cmd_fail(c, "too many arguments");
	if (argc == 2 && (expr_number(argv[1], n) || *n == 0 || *n > 100000))
		return cmd_fail(c, "bad count '%s'", argv[1]);
	return 0;
}

int cmdh_t(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	struct session_stop st;
	uint64_t n;

	(void)cmd;
	if (step_count(c, argc, argv, &n))
		return -1;
	for (uint64_t i = 0; i < n; i++) {
		int rc = session_step(c->s, &st);

		cmd_forget_stop(c);
		if (rc < 0)
			return cmd_session_fail(c);
		cmd_report(c, &st, 1, rc == 0);
		if (st.kind != SESSION_STOP_EXCEPTION ||
		    (st.code != KD_STATUS_SINGLE_STEP && st.code != KD_STATUS_BREAKPOINT))
			break;
	}
	return 0;
}

/* p: a call runs to the instruction after it; anything else is a single step. */
int cmdh_p(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	uint8_t code[MAX_INSN];
	char text[160];
	unsigned flags = 0;
	size_t got = 0, len;
	uint64_t n;

	(void)cmd;
	if (!c->dis)
		return cmdh_t(c, cmd, argc, argv);
	if (step_count(c, argc, argv, &n))
		return -1;
	for (uint64_t i = 0; i < n; i++) {
		struct session_stop st;
		int rc;

		if (cmd_load_regs(c))
			return cmd_session_fail(c);
		rc = session_read_virtual(c->s, c->regs.rip, code, sizeof(code), &got);
		if (rc && rc != -EFAULT)
			return cmd_session_fail(c);
		len = got ? disasm_one(c->dis, c->regs.rip, code, got, text, sizeof(text), &flags) : 0;
		/* A hard-coded int3 is skipped without running, as `t` does. */
		if (!len || !(flags & DISASM_CALL) || code[0] == 0xCC) {
			rc = session_step(c->s, &st);
			cmd_forget_stop(c);
			if (rc < 0)
				return cmd_session_fail(c);
			cmd_report(c, &st, 1, rc == 0);
		} else if (run_to(c, c->regs.rip + len, 1)) {
			return -1;
		}
		st = *session_last_stop(c->s);
		if (st.kind != SESSION_STOP_EXCEPTION ||
		    (st.code != KD_STATUS_SINGLE_STEP && st.code != KD_STATUS_BREAKPOINT))
			break;
	}
	return 0;
}

int cmdh_q(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	(void)cmd, (void)argc, (void)argv;
	c->quit = 1;
	return 0;
}

/* qd: let the target run on, then quit. */
int cmdh_qd(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	(void)cmd, (void)argc, (void)argv;
	if (session_state(c->s) == SESSION_TARGET_STOPPED && session_go(c->s))
		return cmd_session_fail(c);
	c->quit = 1;
	return 0;
}
