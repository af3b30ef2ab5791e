/* SPDX-License-Identifier: MIT */
/* Symbol commands: x (export symbols by pattern) and ln (nearest symbols). */
#include <string.h>

#include "../sym/sym.h"
#include "commands_int.h"

struct x_ctx {
	struct cmd_ctx *c;
};

static int x_print(void *opaque, const struct sym_module *m, const struct sym_symbol *s)
{
	struct x_ctx *x = opaque;
	char a[18];

	fprintf(x->c->out, "%s %s!%s\n", cmd_addr(a, s->addr), m->name, s->name);
	return 0;
}

/* x module!pattern: the exports whose names match (* and ?), by module then address. */
int cmdh_x(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	struct sym_table *t = cmd_sym(c, 0);
	struct x_ctx x = { c };

	if (argc != 2)
		return cmd_fail(c, "usage: %s", cmd->usage);
	if (!t || !sym_module_count(t))
		return cmd_fail(c, "no modules known");
	if (!sym_enum(t, argv[1], x_print, &x))
		return cmd_fail(c, "no symbols match '%s'", argv[1]);
	return 0;
}

/* ln ADDR: the symbols around ADDR, as WinDbg prints them. */
int cmdh_ln(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	struct sym_table *t = cmd_sym(c, 0);
	const struct sym_symbol *before, *after;
	const struct sym_module *m;
	uint64_t addr;
	char a[18], b[18];

	if (argc != 2)
		return cmd_fail(c, "usage: %s", cmd->usage);
	if (cmd_eval(c, argv[1], &addr))
		return -1;
	m = t ? sym_nearest(t, addr, &before, &after) : NULL;
	if (!m)
		return cmd_fail(c, "%s is in no known module", cmd_addr(a, addr));
	if (before && before->addr == addr)
		fprintf(c->out, "(%s)   %s!%s", cmd_addr(a, addr), m->name, before->name);
	else if (before)
		fprintf(c->out, "(%s)   %s!%s+0x%llx", cmd_addr(a, before->addr), m->name,
			before->name, (unsigned long long)(addr - before->addr));
	else
		fprintf(c->out, "(%s)   %s+0x%llx", cmd_addr(a, m->base), m->name,
			(unsigned long long)(addr - m->base));
	if (after)
		fprintf(c->out, "   |  (%s)   %s!%s", cmd_addr(b, after->addr), m->name, after->name);
	fputc('\n', c->out);
	if (before && before->addr == addr)
		fprintf(c->out, "Exact matches:\n    %s!%s\n", m->name, before->name);
	return 0;
}
