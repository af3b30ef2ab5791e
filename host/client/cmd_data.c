/* SPDX-License-Identifier: MIT */
/* Commands on registers and memory: r, d* / !d*, e*, u, rdmsr / wrmsr, ?. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "commands_int.h"
#include "hexdump.h"
#include "regs.h"

#define MAX_DUMP_BYTES (16u << 20) /* one d* command reads at most this much */
#define MAX_EDIT_VALUES 64
#define U_DEFAULT_COUNT 8

/* ---- registers -------------------------------------------------------------------- */

static void print_one_reg(struct cmd_ctx *c, const struct reg_desc *r)
{
	unsigned bits = r->bits ? r->bits : r->size * 8u;
	uint64_t v = reg_get(&c->regs, r);

	fprintf(c->out, "%s=%0*llx\n", r->name, (int)(bits / 4), (unsigned long long)v);
}


/* r | r reg | r reg=expr[, reg=expr...] */
int cmdh_r(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	char joined[512] = "", *item, *next;
	struct kd_context_amd64 saved;
	int dirty = 0;

	(void)cmd;
	if (cmd_load_regs(c))
		return cmd_session_fail(c);
	if (argc == 1) {
		cmd_print_regs(c);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		if (strlen(joined) + strlen(argv[i]) + 2 > sizeof(joined))
			return cmd_fail(c, "arguments too long");
		strcat(joined, argv[i]);
		strcat(joined, " ");
	}
	saved = c->regs;
	for (item = joined; item; item = next) {
		char *eq, *name;
		const struct reg_desc *r;
		uint64_t v;

		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		eq = strchr(item, '=');
		if (eq)
			*eq = '\0';
		name = cmd_trim(item);
		if (*name == '@')
			name++;
		r = reg_find(name, strlen(name));
		if (!r) {
			c->regs = saved;
			return cmd_fail(c, "bad register '%s'", name);
		}
		if (!eq) {
			print_one_reg(c, r);
			continue;
		}
		if (cmd_eval(c, cmd_trim(eq + 1), &v)) {
			c->regs = saved;
			return -1;
		}
		if (reg_set(&c->regs, r, v)) {
			c->regs = saved;
			return cmd_fail(c, "value %llx does not fit %s", (unsigned long long)v, r->name);
		}
		dirty = 1;
	}
	if (dirty && session_set_context(c->s, &c->regs)) {
		c->regs_valid = 0;
		return cmd_session_fail(c);
	}
	return 0;
}

/* ---- memory ----------------------------------------------------------------------- */

static const uint64_t default_dump_bytes = 0x80;

static int dump(struct cmd_ctx *c, int argc, char **argv, unsigned unit, int phys)
{
	uint64_t addr = 0, count = default_dump_bytes / unit;
	size_t len, got = 0;
	uint8_t *buf;
	int have_addr, rc;

	if (cmd_parse_range(c, argc, argv, &addr, &have_addr, &count))
		return -1;
	if (!have_addr) {
		if (!c->dump_valid || c->dump_phys != phys)
			return cmd_fail(c, "no address (give one, e.g. %s @rsp)", argv[0]);
		addr = c->dump_next;
	}
	if (count == 0 || count > MAX_DUMP_BYTES / unit)
		return cmd_fail(c, "bad length %llx (at most %x bytes)", (unsigned long long)count,
				MAX_DUMP_BYTES);
	len = (size_t)count * unit;
	buf = calloc(1, len);
	if (!buf)
		return cmd_fail(c, "out of memory");
	rc = phys ? session_read_physical(c->s, addr, buf, len, &got) :
		    session_read_virtual(c->s, addr, buf, len, &got);
	if (rc && rc != -EFAULT) {
		free(buf);
		return cmd_session_fail(c);
	}
	hexdump_format(c->out, addr, buf, len, got, unit, phys);
	free(buf);
	c->dump_next = addr + len;
	c->dump_unit = unit;
	c->dump_phys = phys;
	c->dump_valid = 1;
	return 0;
}

int cmdh_dump(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	return dump(c, argc, argv, cmd->arg, 0);
}

int cmdh_pdump(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	return dump(c, argc, argv, cmd->arg, 1);
}

/* eb/ew/ed/eq ADDR value [value...] */
int cmdh_edit(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	unsigned unit = cmd->arg;
	uint8_t buf[MAX_EDIT_VALUES * 8];
	uint64_t addr, v;
	size_t len = 0;

	if (argc < 3 || argc - 2 > MAX_EDIT_VALUES)
		return cmd_fail(c, "usage: %s (at most %d values)", cmd->usage, MAX_EDIT_VALUES);
	if (cmd_eval(c, argv[1], &addr))
		return -1;
	for (int i = 2; i < argc; i++) {
		if (cmd_eval(c, argv[i], &v))
			return -1;
		if (unit < 8 && v >> (unit * 8))
			return cmd_fail(c, "value %llx does not fit %u byte%s", (unsigned long long)v,
					unit, unit > 1 ? "s" : "");
		for (unsigned k = 0; k < unit; k++)
			buf[len++] = (uint8_t)(v >> (8 * k));
	}
	if (session_write_virtual(c->s, addr, buf, len))
		return cmd_session_fail(c);
	return 0;
}

int cmdh_u(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	uint64_t addr = 0, count = U_DEFAULT_COUNT;
	int have_addr;

	(void)cmd;
	if (!c->dis)
		return cmd_fail(c, "no disassembler available");
	if (cmd_parse_range(c, argc, argv, &addr, &have_addr, &count))
		return -1;
	if (!have_addr) {
		if (c->u_valid && c->u_seq == session_last_stop(c->s)->seq) {
			addr = c->u_next;
		} else {
			if (cmd_load_regs(c))
				return cmd_session_fail(c);
			addr = c->regs.rip;
		}
	}
	if (count == 0 || count > 256)
		return cmd_fail(c, "bad count %llx (1..100)", (unsigned long long)count);
	return cmd_print_disasm(c, addr, count, NULL, 0, 1);
}

int cmdh_rdmsr(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	uint64_t msr, v;

	if (argc != 2)
		return cmd_fail(c, "usage: %s", cmd->usage);
	if (cmd_eval(c, argv[1], &msr))
		return -1;
	if (msr > UINT32_MAX)
		return cmd_fail(c, "bad MSR number %llx", (unsigned long long)msr);
	if (session_read_msr(c->s, (uint32_t)msr, &v))
		return cmd_session_fail(c);
	fprintf(c->out, "msr[%x] = %s\n", (unsigned)msr, cmd_addr((char[18]){ 0 }, v));
	return 0;
}

int cmdh_wrmsr(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	uint64_t msr, v;

	if (argc != 3)
		return cmd_fail(c, "usage: %s", cmd->usage);
	if (cmd_eval(c, argv[1], &msr) || cmd_eval(c, argv[2], &v))
		return -1;
	if (msr > UINT32_MAX)
		return cmd_fail(c, "bad MSR number %llx", (unsigned long long)msr);
	if (session_write_msr(c->s, (uint32_t)msr, v))
		return cmd_session_fail(c);
	return 0;
}

int cmdh_eval(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	char text[512] = "";
	uint64_t v;

	if (argc < 2)
		return cmd_fail(c, "usage: %s", cmd->usage);
	for (int i = 1; i < argc; i++) {
		if (strlen(text) + strlen(argv[i]) + 2 > sizeof(text))
			return cmd_fail(c, "expression too long");
		strcat(text, argv[i]);
		strcat(text, " ");
	}
	if (cmd_eval(c, text, &v))
		return -1;
	fprintf(c->out, "Evaluate expression: %lld = %s\n", (long long)v,
		cmd_addr((char[18]){ 0 }, v));
	return 0;
}
