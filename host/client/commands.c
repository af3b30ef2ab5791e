/* SPDX-License-Identifier: MIT */
/* The WinDbg-like commands of `vmkd attach`: the table, dispatch, and what handlers share
 * (errors, expressions, registers, disassembly, the stop report). */
#include "commands_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../sym/sym.h"
#include "disasm.h"
#include "expr.h"
#include "hexdump.h"
#include "regs.h"

#define MAX_ARGS 64

int cmd_fail(struct cmd_ctx *c, const char *fmt, ...)
{
	va_list ap;

	fflush(c->out);
	fprintf(c->err, "%s: ", c->cur ? c->cur : "vmkd");
	va_start(ap, fmt);
	vfprintf(c->err, fmt, ap);
	va_end(ap);
	fputc('\n', c->err);
	fflush(c->err);
	return -1;
}

int cmd_session_fail(struct cmd_ctx *c)
{
	return cmd_fail(c, "%s", session_error(c->s));
}

const char *cmd_addr(char buf[18], uint64_t a)
{
	hexdump_addr(buf, a);
	return buf;
}

int cmd_load_regs(struct cmd_ctx *c)
{
	const struct session_stop *st = session_last_stop(c->s);

	if (c->regs_valid && c->regs_seq == st->seq)
		return 0;
	if (session_get_context(c->s, &c->regs))
		return -1;
	c->regs_valid = 1;
	c->regs_seq = st->seq;
	return 0;
}

/* Run control moves the PC behind our back (int3 skip, steps): drop cached state. */
void cmd_forget_stop(struct cmd_ctx *c)
{
	c->regs_valid = 0;
	c->u_valid = 0;
}

static int env_reg(void *opaque, const char *name, size_t len, uint64_t *value)
{
	struct cmd_ctx *c = opaque;
	const struct reg_desc *r = reg_find(name, len);

	if (!r || cmd_load_regs(c))
		return -1;
	*value = reg_get(&c->regs, r);
	return 0;
}

static int env_read_ptr(void *opaque, uint64_t addr, uint64_t *value)
{
	struct cmd_ctx *c = opaque;
	size_t got = 0;

	if (session_read_virtual(c->s, addr, value, sizeof(*value), &got) || got != sizeof(*value))
		return -1;
	return 0;
}

static int env_symbol(void *opaque, const char *text, size_t len, uint64_t *value)
{
	struct cmd_ctx *c = opaque;
	struct sym_table *t = cmd_sym(c, 0);

	return t ? sym_resolve(t, text, len, value) : -1;
}

int cmd_eval(struct cmd_ctx *c, const char *text, uint64_t *out)
{
	struct expr_env env = { env_reg, env_read_ptr, c, env_symbol };
	char err[256];

	if (expr_eval(text, &env, out, err, sizeof(err)))
		return cmd_fail(c, "%s", err);
	return 0;
}

/* [ADDR] [L COUNT] starting at argv[1]. *have_addr tells whether ADDR was given. */
int cmd_parse_range(struct cmd_ctx *c, int argc, char **argv, uint64_t *addr,
		       int *have_addr, uint64_t *count)
{
	int i = 1, rc;

	*have_addr = 0;
	if (i < argc && expr_length(argc, argv, &(int){ i }, &(uint64_t){ 0 }) == 0) {
		if (cmd_eval(c, argv[i], addr))
			return -1;
		*have_addr = 1;
		i++;
	}
	rc = expr_length(argc, argv, &i, count);
	if (rc < 0)
		return cmd_fail(c, "bad length '%s'", argv[argc - 1]);
	if (i < argc)
		return cmd_fail(c, "unexpected '%s'", argv[i]);
	return 0;
}

static int sym_read(void *opaque, uint64_t va, void *buf, size_t len, size_t *got)
{
	return session_read_virtual(opaque, va, buf, len, got);
}

/* The module set: PsLoadedModuleList when the target has one, plus what LoadSymbols
 * reported (modules the list does not name yet, or a target without a list). */
static void sym_refresh(struct cmd_ctx *c)
{
	size_t nsess = session_module_count(c->s), n = 0;
	struct sym_module_desc *list;
	const struct sym_reader r = { sym_read, c->s };
	int walked = -1;

	list = calloc(SYM_MAX_MODULES, sizeof(*list));
	if (!list)
		return;
	if (cmd_get_version(c) == 0 && c->ver.ps_loaded_module_list)
		walked = sym_walk_module_list(&r, c->ver.ps_loaded_module_list, list,
					      SYM_MAX_MODULES, NULL, 0);
	n = walked > 0 ? (size_t)walked : 0;
	for (size_t i = 0; i < nsess && n < SYM_MAX_MODULES; i++) {
		const struct session_module *m = session_module_at(c->s, i);
		size_t j;

		for (j = 0; j < n && list[j].base != m->base; j++)
			;
		if (j < n)
			continue;
		list[n].base = m->base;
		list[n].size = m->size;
		snprintf(list[n].path, sizeof(list[n].path), "%s", m->path);
		n++;
	}
	sym_table_set_modules(c->sym, list, n);
	free(list);
}

struct sym_table *cmd_sym(struct cmd_ctx *c, int force)
{
	const struct session_stop *st = session_last_stop(c->s);
	int stale;

	if (!c->sym)
		return NULL;
	/* Reading needs a stopped target; while it runs, lookups use what was read. */
	sym_table_set_readable(c->sym, session_state(c->s) == SESSION_TARGET_STOPPED);
	if (session_state(c->s) != SESSION_TARGET_STOPPED)
		return c->sym;
	stale = force || !c->sym_valid || c->sym_nsession != session_module_count(c->s) ||
		(st->kind == SESSION_STOP_LOAD_SYMBOLS && st->seq != c->sym_seq);
	if (!stale)
		return c->sym;
	c->sym_valid = 1;
	c->sym_nsession = session_module_count(c->s);
	if (st->kind == SESSION_STOP_LOAD_SYMBOLS)
		c->sym_seq = st->seq;
	sym_refresh(c);
	return c->sym;
}

struct sym_table *cmd_symbol_table(struct cmd_ctx *c)
{
	return cmd_sym(c, 0);
}

int cmd_symbolize(struct cmd_ctx *c, uint64_t addr, char *buf, size_t cap)
{
	struct sym_table *t = cmd_sym(c, 0);

	return t ? sym_format(t, addr, buf, cap) : 0;
}

/* "call    fffff800`00101000" -> "call    nt!Name+0x10 (fffff800`00101000)": a direct
 * branch target after an export gets its symbol, as WinDbg shows it (a bare "nt+0x1020"
 * would say no more than the address). */
static void symbolize_branch(struct cmd_ctx *c, char *line, size_t cap)
{
	char *tok = strrchr(line, ' '), label[160], tail[40];
	uint64_t target;

	if (!tok || strlen(tok + 1) != 17 || tok[9] != '`')
		return;
	if (expr_number(tok + 1, &target) || !cmd_symbolize(c, target, label, sizeof(label)) ||
	    !strchr(label, '!'))
		return;
	snprintf(tail, sizeof(tail), "%s", tok + 1);
	snprintf(tok + 1, cap - (size_t)(tok + 1 - line), "%s (%s)", label, tail);
}

/* Prints count instructions starting at addr (known: bytes already at hand for it). A
 * listing the user asked for moves the cursor a bare `u` continues from. */
int cmd_print_disasm(struct cmd_ctx *c, uint64_t addr, uint64_t count, const uint8_t *known,
			size_t known_len, int move_cursor)
{
	uint8_t buf[4096];
	size_t len, got = 0, off = 0;
	char line[320], label[160];
	int rc;

	if (count > sizeof(buf) / MAX_INSN)
		count = sizeof(buf) / MAX_INSN;
	len = (size_t)count * MAX_INSN;
	if (known && known_len >= len) {
		memcpy(buf, known, len);
		got = len;
	} else {
		rc = session_read_virtual(c->s, addr, buf, len, &got);
		if (rc && rc != -EFAULT)
			return cmd_session_fail(c);
		/* The stop report's bytes help when memory reads fail at the PC. */
		if (known && got < known_len) {
			memcpy(buf, known, known_len);
			got = known_len;
		}
	}
	if (cmd_symbolize(c, addr, label, sizeof(label)))
		fprintf(c->out, "%s:\n", label);
	for (uint64_t i = 0; i < count; i++) {
		unsigned flags = 0;
		size_t n;

		if (off >= got) {
			fprintf(c->out, "%s ??              ???\n", cmd_addr((char[18]){ 0 }, addr + off));
			off++;
			continue;
		}
		n = disasm_line(c->dis, addr + off, buf + off, got - off, line, sizeof(line),
				&flags);
		if (flags & (DISASM_CALL | DISASM_BRANCH))
			symbolize_branch(c, line, sizeof(line));
		fprintf(c->out, "%s\n", line);
		off += n;
	}
	if (move_cursor) {
		c->u_next = addr + off;
		c->u_valid = 1;
		c->u_seq = session_last_stop(c->s)->seq;
	}
	return 0;
}

void cmd_print_regs(struct cmd_ctx *c)
{
	const struct kd_context_amd64 *r = &c->regs;
	char flags[24];

	reg_format_flags(r->eflags, flags);
	fprintf(c->out, "rax=%016llx rbx=%016llx rcx=%016llx\n", (unsigned long long)r->rax,
		(unsigned long long)r->rbx, (unsigned long long)r->rcx);
	fprintf(c->out, "rdx=%016llx rsi=%016llx rdi=%016llx\n", (unsigned long long)r->rdx,
		(unsigned long long)r->rsi, (unsigned long long)r->rdi);
	fprintf(c->out, "rip=%016llx rsp=%016llx rbp=%016llx\n", (unsigned long long)r->rip,
		(unsigned long long)r->rsp, (unsigned long long)r->rbp);
	fprintf(c->out, " r8=%016llx  r9=%016llx r10=%016llx\n", (unsigned long long)r->r8,
		(unsigned long long)r->r9, (unsigned long long)r->r10);
	fprintf(c->out, "r11=%016llx r12=%016llx r13=%016llx\n", (unsigned long long)r->r11,
		(unsigned long long)r->r12, (unsigned long long)r->r13);
	fprintf(c->out, "r14=%016llx r15=%016llx\n", (unsigned long long)r->r14,
		(unsigned long long)r->r15);
	fprintf(c->out, "iopl=%u         %s\n", (r->eflags >> 12) & 3, flags);
	fprintf(c->out, "cs=%04x  ss=%04x  ds=%04x  es=%04x  fs=%04x  gs=%04x             efl=%08x\n",
		r->seg_cs, r->seg_ss, r->seg_ds, r->seg_es, r->seg_fs, r->seg_gs, r->eflags);
}

/* event: print the event line; a skipped int3 moved the PC without any new event. */
void cmd_report(struct cmd_ctx *c, const struct session_stop *st, int regs, int event)
{
	const struct session_bp *bp;
	const uint8_t *known = NULL;
	int hit;
	size_t known_len = 0;
	char a[18], b[18];

	switch (event ? st->kind : SESSION_STOP_NONE) {
	case SESSION_STOP_NONE:
		break;
	case SESSION_STOP_EXCEPTION:
		bp = session_bp_find(c->s, st->pc);
		hit = cmd_bp_hit_id(c, st);
		if (hit >= 0) {
			fprintf(c->out, "Breakpoint %d hit\n", hit);
		} else if (st->code == KD_STATUS_SINGLE_STEP && regs) {
			/* the step the user asked for: registers say it all */
		} else if (!(st->code == KD_STATUS_BREAKPOINT && bp)) {
			const char *name = session_exception_name(st->code);

			fprintf(c->out, "%s - code %08x (%s)\n", name ? name : "Unknown exception",
				st->code, st->first_chance ? "first chance" : "!!! second chance !!!");
		}
		break;
	case SESSION_STOP_LOAD_SYMBOLS:
		if (st->unload)
			fprintf(c->out, "Unload module %s at %s\n", st->path, cmd_addr(a, st->base));
		else
			fprintf(c->out, "ModLoad: %s %s   %s\n", cmd_addr(a, st->base),
				cmd_addr(b, st->base + st->size), st->path);
		break;
	case SESSION_STOP_COMMAND_STRING:
		fprintf(c->out, "Command string: %s\n", st->path);
		break;
	default:
		fprintf(c->out, "State change %08x\n", st->new_state);
		break;
	}
	if (regs) {
		if (cmd_load_regs(c) == 0)
			cmd_print_regs(c);
		else
			cmd_session_fail(c);
	}
	/* The report carries the bytes at the PC (our breakpoints removed): no round trip. */
	if (st->pc == st->raw.program_counter && st->report.instruction_count) {
		known = st->report.instruction_stream;
		known_len = st->report.instruction_count;
	}
	if (c->dis)
		cmd_print_disasm(c, st->pc, 1, known, known_len, 0);
	fflush(c->out);
}

void cmd_report_stop(struct cmd_ctx *c, const struct session_stop *st, int regs)
{
	cmd_report(c, st, regs, 1);
}

int cmd_get_version(struct cmd_ctx *c)
{
	if (c->ver_valid)
		return 0;
	if (session_get_version(c->s, &c->ver))
		return cmd_session_fail(c);
	c->ver_valid = 1;
	return 0;
}

char *cmd_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/* ---- table and dispatch ----------------------------------------------------------- */

static int cmdh_trace(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	if (argc == 1) {
		fprintf(c->out, "packet trace is %s\n", session_tracing(c->s) ? "on" : "off");
		return 0;
	}
	if (argc != 2 || (strcasecmp(argv[1], "on") && strcasecmp(argv[1], "off")))
		return cmd_fail(c, "usage: %s", cmd->usage);
	session_set_trace(c->s, !strcasecmp(argv[1], "on"));
	return 0;
}

static int cmdh_help(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv);

static const struct cmd commands[] = {
	{ "version", cmdh_version, 0, CMD_STOPPED, "version", "kernel version (GetVersion)" },
	{ "vertarget", cmdh_version, 0, CMD_STOPPED, "vertarget", "same as version" },
	{ "r", cmdh_r, 0, CMD_STOPPED, "r [reg[=expr][, ...]]", "show or set registers" },
	{ "db", cmdh_dump, 1, CMD_STOPPED, "db [ADDR] [L COUNT]", "dump bytes" },
	{ "dw", cmdh_dump, 2, CMD_STOPPED, "dw [ADDR] [L COUNT]", "dump words" },
	{ "dd", cmdh_dump, 4, CMD_STOPPED, "dd [ADDR] [L COUNT]", "dump dwords" },
	{ "dq", cmdh_dump, 8, CMD_STOPPED, "dq [ADDR] [L COUNT]", "dump qwords" },
	{ "da", cmdh_dstring, 1, CMD_STOPPED, "da ADDR [L COUNT]", "ASCII string" },
	{ "du", cmdh_dstring, 2, CMD_STOPPED, "du ADDR [L COUNT]", "UTF-16 string" },
	{ "dps", cmdh_dps, 0, CMD_STOPPED, "dps [ADDR] [L COUNT]", "pointers with symbols" },
	{ "dqs", cmdh_dps, 0, CMD_STOPPED, "dqs [ADDR] [L COUNT]", "qwords with symbols" },
	{ "s", cmdh_s, 0, CMD_STOPPED, "s [-b|-w|-d|-q|-a|-u] ADDR L COUNT PATTERN",
	  "search memory" },
	{ ".writemem", cmdh_writemem, 0, CMD_STOPPED, ".writemem FILE ADDR L?LEN",
	  "memory to a file" },
	{ ".readmem", cmdh_readmem, 0, CMD_STOPPED, ".readmem FILE ADDR L?LEN",
	  "a file into memory" },
	{ "!db", cmdh_pdump, 1, CMD_STOPPED, "!db [PHYS] [L COUNT]", "dump physical bytes" },
	{ "!dw", cmdh_pdump, 2, CMD_STOPPED, "!dw [PHYS] [L COUNT]", "dump physical words" },
	{ "!dd", cmdh_pdump, 4, CMD_STOPPED, "!dd [PHYS] [L COUNT]", "dump physical dwords" },
	{ "!dq", cmdh_pdump, 8, CMD_STOPPED, "!dq [PHYS] [L COUNT]", "dump physical qwords" },
	{ "eb", cmdh_edit, 1, CMD_STOPPED, "eb ADDR byte...", "write bytes" },
	{ "ew", cmdh_edit, 2, CMD_STOPPED, "ew ADDR word...", "write words" },
	{ "ed", cmdh_edit, 4, CMD_STOPPED, "ed ADDR dword...", "write dwords" },
	{ "eq", cmdh_edit, 8, CMD_STOPPED, "eq ADDR qword...", "write qwords" },
	{ "u", cmdh_u, 0, CMD_STOPPED, "u [ADDR] [L COUNT]", "disassemble" },
	{ "bp", cmdh_bp, 0, CMD_STOPPED, "bp ADDR", "set a breakpoint (KD allows 32)" },
	{ "ba", cmdh_ba, 0, CMD_STOPPED, "ba e|r|w SIZE ADDR",
	  "hardware breakpoint (Dr0-3; size 1 2 4 8)" },
	{ "bl", cmdh_bl, 0, 0, "bl", "list breakpoints" },
	{ "bc", cmdh_bc, 0, CMD_STOPPED, "bc N...|*", "clear breakpoints" },
	{ "bd", cmdh_bd, 0, CMD_STOPPED, "bd N...|*", "disable breakpoints" },
	{ "be", cmdh_be, 0, CMD_STOPPED, "be N...|*", "enable breakpoints" },
	{ "g", cmdh_g, 0, CMD_STOPPED, "g [ADDR]", "go (to ADDR); Ctrl-C breaks in" },
	{ "t", cmdh_t, 0, CMD_STOPPED, "t [COUNT]", "single step" },
	{ "p", cmdh_p, 0, CMD_STOPPED, "p [COUNT]", "step over calls" },
	{ "lm", cmdh_lm, 0, CMD_STOPPED, "lm", "loaded modules (PsLoadedModuleList)" },
	{ "x", cmdh_x, 0, CMD_STOPPED, "x MODULE!PATTERN", "export symbols matching * and ?" },
	{ "ln", cmdh_ln, 0, CMD_STOPPED, "ln ADDR", "nearest symbols before and after ADDR" },
	{ ".sympath", cmdh_sympath, 0, 0, ".sympath [PATH]", "PDB search path (folders, srv*CACHE*URL)" },
	{ ".sympath+", cmdh_sympath, 1, 0, ".sympath+ PATH", "append to the PDB search path" },
	{ ".reload", cmdh_reload, 0, CMD_STOPPED, ".reload", "read modules and symbols again" },
	{ "k", cmdh_k, 0, CMD_STOPPED, "k [COUNT]", "stack: Child-SP, RetAddr, Call Site" },
	{ "kn", cmdh_k, 1, CMD_STOPPED, "kn [COUNT]", "stack with frame numbers" },
	{ "kb", cmdh_k, 2, CMD_STOPPED, "kb [COUNT]", "stack with the four home slots (Args to Child)" },
	{ "kp", cmdh_k, 3, CMD_STOPPED, "kp [COUNT]", "stack, parameters as far as known" },
	{ ".fnent", cmdh_fnent, 0, CMD_STOPPED, ".fnent ADDR",
	  "the .pdata entry and unwind codes at ADDR" },
	{ "!kdbg", cmdh_kdbg, 0, CMD_STOPPED, "!kdbg", "the kernel's debugger data block" },
	{ "!pte", cmdh_pte, 0, CMD_STOPPED, "!pte VA", "page-table entries of VA (walk from CR3)" },
	{ "!vtop", cmdh_vtop, 0, CMD_STOPPED, "!vtop [DIRBASE] VA", "virtual to physical" },
	{ "~", cmdh_processor, 0, CMD_STOPPED, "~[N]", "show or switch the current processor" },
	{ ".reboot", cmdh_reboot, 0, CMD_STOPPED, ".reboot", "reboot the target" },
	{ "rdmsr", cmdh_rdmsr, 0, CMD_STOPPED, "rdmsr MSR", "read a model-specific register" },
	{ "wrmsr", cmdh_wrmsr, 0, CMD_STOPPED, "wrmsr MSR VALUE", "write a model-specific register" },
	{ "?", cmdh_eval, 0, 0, "? EXPR", "evaluate an expression" },
	{ ".logopen", cmdh_logopen, 0, 0, ".logopen [/a] FILE", "copy all output to FILE" },
	{ ".logclose", cmdh_logclose, 0, 0, ".logclose", "stop logging" },
	{ ".trace", cmdh_trace, 0, 0, ".trace [on|off]", "print every packet to stderr" },
	{ "stats", cmdh_stats, 0, 0, "stats", "link and session counters" },
	{ "help", cmdh_help, 0, 0, "help", "this list" },
	{ "q", cmdh_q, 0, 0, "q", "quit (the target stays as it is)" },
	{ "qd", cmdh_qd, 0, 0, "qd", "let the target run, then quit" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static int cmdh_help(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	(void)cmd, (void)argc, (void)argv;
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(c->out, "  %-24s %s\n", commands[i].usage, commands[i].help);
	fprintf(c->out, "Addresses: hex (0x optional, ` separators allowed), 0n decimal, @reg, "
		"module, module!export, poi(x), + - *.\n");
	return 0;
}

const char *cmd_name(size_t i)
{
	return i < NCOMMANDS ? commands[i].name : NULL;
}

void cmd_init(struct cmd_ctx *c, struct session *s, struct disasm *dis, FILE *out, FILE *err)
{
	memset(c, 0, sizeof(*c));
	c->s = s;
	c->dis = dis;
	c->out = out;
	c->err = err;
	c->sym = sym_table_new(&(struct sym_reader){ sym_read, s });
}

void cmd_cleanup(struct cmd_ctx *c)
{
	cmd_log_close(c);
	sym_table_free(c->sym);
	c->sym = NULL;
}

int cmd_execute(struct cmd_ctx *c, const char *line)
{
	char buf[1024], *argv[MAX_ARGS], tilde[] = "~";
	const struct cmd *cmd = NULL;
	int argc, rc;

	if (strlen(line) >= sizeof(buf)) {
		c->cur = NULL;
		return cmd_fail(c, "command line too long");
	}
	strcpy(buf, line);
	argc = expr_split(buf, argv, MAX_ARGS);
	if (argc == 0)
		return 0;
	c->cur = argc > 0 ? argv[0] : NULL;
	if (argc < 0)
		return cmd_fail(c, "too many words or an open quote");

	/* "~1" is "~ 1", as WinDbg writes it. */
	if (argv[0][0] == '~' && argv[0][1] && argc < MAX_ARGS) {
		memmove(&argv[2], &argv[1], (size_t)(argc - 1) * sizeof(argv[0]));
		argv[1] = argv[0] + 1;
		argv[0] = tilde;
		argc++;
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (!strcasecmp(argv[0], commands[i].name)) {
			cmd = &commands[i];
			break;
		}
	}
	if (!cmd)
		return cmd_fail(c, "unknown command (try 'help')");
	if ((cmd->flags & CMD_STOPPED) && session_state(c->s) != SESSION_TARGET_STOPPED)
		return cmd_fail(c, "the target is running (Ctrl-C breaks in)");
	rc = cmd->fn(c, cmd, argc, argv);
	fflush(c->out);
	c->cur = NULL;
	return rc;
}

struct complete_ctx {
	void (*fn)(void *opaque, const char *candidate);
	void *opaque;
	size_t n;
};

static int complete_symbol(void *opaque, const struct sym_module *m, const struct sym_symbol *s)
{
	struct complete_ctx *x = opaque;
	char buf[SYM_NAME_MAX + SYM_PE_MAX_NAME + 2];

	snprintf(buf, sizeof(buf), "%s!%s", m->name, s->name);
	x->fn(x->opaque, buf);
	return ++x->n >= 1000; /* enough for a terminal */
}

size_t cmd_complete(struct cmd_ctx *c, const char *word, int position,
		    void (*fn)(void *opaque, const char *candidate), void *opaque)
{
	struct complete_ctx x = { fn, opaque, 0 };
	size_t len = strlen(word);
	struct sym_table *t;

	if (position == 0) {
		for (size_t i = 0; i < NCOMMANDS; i++)
			if (!strncasecmp(commands[i].name, word, len)) {
				fn(opaque, commands[i].name);
				x.n++;
			}
		return x.n;
	}
	/* Symbols need reads: only while the target is stopped, never while it runs. */
	if (session_state(c->s) != SESSION_TARGET_STOPPED || !(t = cmd_sym(c, 0)))
		return 0;
	if (strchr(word, '!')) {
		char pattern[SYM_NAME_MAX + SYM_PE_MAX_NAME + 4];

		snprintf(pattern, sizeof(pattern), "%s*", word);
		sym_enum(t, pattern, complete_symbol, &x);
		return x.n;
	}
	for (size_t i = 0; i < sym_module_count(t); i++) {
		const struct sym_module *m = sym_module_at(t, i);

		if (!strncasecmp(m->name, word, len)) {
			fn(opaque, m->name);
			x.n++;
		}
	}
	return x.n;
}

int cmd_execute_list(struct cmd_ctx *c, const char *list, const char *prompt)
{
	char *copy = strdup(list), *cur, *next;
	int failed = 0;

	if (!copy)
		return 1;
	for (cur = copy; cur && !c->quit && session_connected(c->s); cur = next) {
		next = expr_next_command(cur);
		cur = cmd_trim(cur);
		if (!*cur)
			continue;
		if (prompt)
			fprintf(c->out, "%s%s\n", prompt, cur);
		if (cmd_execute(c, cur))
			failed++;
	}
	free(copy);
	return failed;
}
