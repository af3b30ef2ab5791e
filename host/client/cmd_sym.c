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

/* ---- stacks ----------------------------------------------------------------------- */

enum k_style { K_PLAIN, K_NUMBERED, K_ARGS, K_PARAMS };

/* k, kn, kb, kp [COUNT]: the stack of the current processor. */
int cmdh_k(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	struct sym_table *t = cmd_sym(c, 0);
	const struct kd_context_amd64 *x = &c->regs;
	struct sym_frame frames[SYM_MAX_FRAMES];
	enum k_style style = (enum k_style)cmd->arg;
	uint64_t count = 20;
	struct sym_regs regs;
	size_t n;
	char a[18], b[18], site[192];

	if (argc > 2)
		return cmd_fail(c, "usage: %s", cmd->usage);
	if (argc == 2 && (cmd_eval(c, argv[1], &count) || !count))
		return argc == 2 && !count ? cmd_fail(c, "bad frame count '%s'", argv[1]) : -1;
	if (count > SYM_MAX_FRAMES)
		count = SYM_MAX_FRAMES;
	if (!t)
		return cmd_fail(c, "out of memory");
	if (cmd_load_regs(c))
		return cmd_session_fail(c);
	regs.rip = x->rip;
	regs.r[SYM_RAX] = x->rax, regs.r[SYM_RCX] = x->rcx, regs.r[SYM_RDX] = x->rdx;
	regs.r[SYM_RBX] = x->rbx, regs.r[SYM_RSP] = x->rsp, regs.r[SYM_RBP] = x->rbp;
	regs.r[SYM_RSI] = x->rsi, regs.r[SYM_RDI] = x->rdi, regs.r[SYM_R8] = x->r8;
	regs.r[SYM_R9] = x->r9, regs.r[SYM_R10] = x->r10, regs.r[SYM_R11] = x->r11;
	regs.r[SYM_R12] = x->r12, regs.r[SYM_R13] = x->r13, regs.r[SYM_R14] = x->r14;
	regs.r[SYM_R15] = x->r15;
	n = sym_stack_walk(t, &regs, frames, (size_t)count);
	if (style == K_NUMBERED)
		fprintf(c->out, " # ");
	if (style == K_ARGS)
		fprintf(c->out, "Child-SP          RetAddr           : Args to Child"
			"                                                           : Call Site\n");
	else
		fprintf(c->out, "Child-SP          RetAddr               Call Site\n");
	for (size_t i = 0; i < n; i++) {
		const struct sym_frame *f = &frames[i];

		if (!sym_format(t, f->rip, site, sizeof(site)))
			snprintf(site, sizeof(site), "0x%s", cmd_addr(a, f->rip));
		if (style == K_NUMBERED)
			fprintf(c->out, "%02zx ", i);
		if (style == K_ARGS) {
			char a0[18], a1[18], a2[18], a3[18];

			fprintf(c->out, "%s %s : %s %s %s %s : %s", cmd_addr(a, f->sp),
				cmd_addr(b, f->ret), cmd_addr(a0, f->args[0]), cmd_addr(a1, f->args[1]),
				cmd_addr(a2, f->args[2]), cmd_addr(a3, f->args[3]), site);
		} else {
			fprintf(c->out, "%s %s     %s%s", cmd_addr(a, f->sp), cmd_addr(b, f->ret), site,
				style == K_PARAMS ? " (<no parameter info>)" : "");
		}
		fprintf(c->out, "%s\n", f->how == SYM_FRAME_FP ? "   [fp]" :
				       f->how == SYM_FRAME_MACHFRAME ? "   [trap frame]" : "");
	}
	return 0;
}

/* .fnent ADDR: the function table entry and unwind codes covering ADDR. */
int cmdh_fnent(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	static const char *const ops[] = { "PUSH_NONVOL", "ALLOC_LARGE", "ALLOC_SMALL",
		"SET_FPREG", "SAVE_NONVOL", "SAVE_NONVOL_FAR", "EPILOG", "SPARE_CODE",
		"SAVE_XMM128", "SAVE_XMM128_FAR", "PUSH_MACHFRAME" };
	struct sym_table *t = cmd_sym(c, 0);
	const struct sym_module *m;
	const struct sym_pe_info *pe;
	struct sym_runtime_function rf;
	uint8_t hdr[4], codes[512];
	uint64_t addr;
	size_t got = 0;
	char a[18], label[192];
	int rc;

	if (argc != 2)
		return cmd_fail(c, "usage: %s", cmd->usage);
	if (cmd_eval(c, argv[1], &addr))
		return -1;
	m = t ? sym_module_by_addr(t, addr) : NULL;
	pe = m ? sym_module_pe(t, m) : NULL;
	if (!pe)
		return cmd_fail(c, "%s is in no module with readable headers", cmd_addr(a, addr));
	if (!pe->dir[SYM_PE_DIR_EXCEPTION].rva)
		return cmd_fail(c, "%s has no .pdata (exception directory)", m->name);
	rc = sym_pdata_lookup(sym_table_reader(t), m->base,
			      pe->dir[SYM_PE_DIR_EXCEPTION].rva, pe->dir[SYM_PE_DIR_EXCEPTION].size,
			      (uint32_t)(addr - m->base), &rf);
	if (rc < 0)
		return cmd_fail(c, "cannot read %s's .pdata", m->name);
	if (rc > 0)
		return cmd_fail(c, "no function table entry for %s (a leaf function)",
				cmd_addr(a, addr));
	if (!sym_format(t, m->base + rf.begin, label, sizeof(label)))
		label[0] = '\0';
	fprintf(c->out, "Function entry for %s:\n", label);
	fprintf(c->out, "  BeginAddress      = %08x (%s)\n", rf.begin, cmd_addr(a, m->base + rf.begin));
	fprintf(c->out, "  EndAddress        = %08x\n", rf.end);
	fprintf(c->out, "  UnwindInfoAddress = %08x\n", rf.unwind);
	if (session_read_virtual(c->s, m->base + rf.unwind, hdr, sizeof(hdr), &got) || got != 4)
		return cmd_fail(c, "cannot read the unwind info");
	fprintf(c->out, "  Version %u, Flags %#x, SizeOfProlog %#x, CountOfCodes %u, "
		"FrameRegister %u, FrameOffset %#x\n", hdr[0] & 7, hdr[0] >> 3, hdr[1], hdr[2],
		hdr[3] & 15, hdr[3] >> 4);
	if (session_read_virtual(c->s, m->base + rf.unwind + 4, codes, 2u * hdr[2], &got) ||
	    got != 2u * hdr[2])
		return cmd_fail(c, "cannot read the unwind codes");
	for (unsigned i = 0; i < hdr[2]; i++) {
		unsigned op = codes[2 * i + 1] & 15;

		fprintf(c->out, "    %02x: offs %02x, %s, info %u\n", i, codes[2 * i],
			op < sizeof(ops) / sizeof(ops[0]) ? ops[op] : "?", codes[2 * i + 1] >> 4);
	}
	return 0;
}

/* .sympath [PATH] / .sympath+ PATH: where PDBs are looked for (symbol stores and folders;
 * srv*CACHE*URL uses CACHE, nothing is downloaded). Setting it reloads symbols. */
int cmdh_sympath(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	struct sym_table *t = c->sym;
	char path[2048];

	if (!t)
		return cmd_fail(c, "out of memory");
	if (argc > 2)
		return cmd_fail(c, "usage: %s (quote a path with blanks)", cmd->usage);
	if (argc == 2) {
		if (cmd->arg && *sym_table_symbol_path(t))
			snprintf(path, sizeof(path), "%s;%s", sym_table_symbol_path(t), argv[1]);
		else
			snprintf(path, sizeof(path), "%s", argv[1]);
		if (sym_table_set_symbol_path(t, path))
			return cmd_fail(c, "out of memory");
	}
	fprintf(c->out, "Symbol search path is: %s\n",
		*sym_table_symbol_path(t) ? sym_table_symbol_path(t) : "<empty>");
	return 0;
}

/* .reload: reads the module list and every module's symbols again. */
int cmdh_reload(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	(void)cmd, (void)argc, (void)argv;
	if (!c->sym)
		return cmd_fail(c, "out of memory");
	sym_table_reload(c->sym);
	cmd_sym(c, 1);
	fprintf(c->out, "Loading Kernel Symbols\n");
	return 0;
}
