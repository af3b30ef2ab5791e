/* SPDX-License-Identifier: MIT */
/*
 * Breakpoints: bp (software, KD's breakpoint table: 32 entries, as Windows'
 * BREAKPOINT_TABLE_SIZE), ba (hardware, Dr0-Dr3 and Dr7 through the processor's context),
 * bl, bc, bd, be. Numbers are the user's, shared by both kinds as in WinDbg.
 */
#include <stdlib.h>
#include <string.h>

#include "commands_int.h"

#define DR7_RW_SHIFT 16
#define DR7_LEN_SHIFT 18

static struct cmd_bp *bp_by_id(struct cmd_ctx *c, int id)
{
	for (size_t i = 0; i < CMD_MAX_BPS; i++)
		if (c->bps[i].in_use && c->bps[i].id == id)
			return &c->bps[i];
	return NULL;
}

static int lowest_free_id(struct cmd_ctx *c)
{
	int id = 0;

	while (bp_by_id(c, id))
		id++;
	return id;
}

static struct cmd_bp *bp_new(struct cmd_ctx *c)
{
	for (size_t i = 0; i < CMD_MAX_BPS; i++) {
		if (!c->bps[i].in_use) {
			memset(&c->bps[i], 0, sizeof(c->bps[i]));
			c->bps[i].id = lowest_free_id(c);
			c->bps[i].in_use = 1;
			c->bps[i].slot = -1;
			c->bps[i].sid = -1;
			return &c->bps[i];
		}
	}
	return NULL;
}

/* Dr7's RW and LEN encodings. */
static unsigned dr7_rw(char kind)
{
	return kind == 'e' ? 0u : kind == 'w' ? 1u : 3u;
}

static unsigned dr7_len(unsigned len)
{
	return len == 1 ? 0u : len == 2 ? 1u : len == 8 ? 2u : 3u;
}

/* Writes the enabled hardware breakpoints into Dr0-3/Dr7 of the stopped processor's
 * context (the target loads them when it resumes). Slots are given out anew each time. */
static int apply_hw(struct cmd_ctx *c)
{
	uint64_t *dr[CMD_HW_SLOTS], dr7;
	int slot = 0;

	if (cmd_load_regs(c))
		return cmd_session_fail(c);
	dr[0] = &c->regs.dr0, dr[1] = &c->regs.dr1, dr[2] = &c->regs.dr2, dr[3] = &c->regs.dr3;
	/* Keep Dr7 bits we do not own (the general-detect and reserved ones) as they are. */
	dr7 = c->regs.dr7 & ~(0xffull | 0xffff0000ull);
	for (size_t i = 0; i < CMD_MAX_BPS; i++) {
		struct cmd_bp *b = &c->bps[i];

		b->slot = -1;
		if (!b->in_use || !b->hw || !b->enabled)
			continue;
		if (slot == CMD_HW_SLOTS)
			return cmd_fail(c, "all %d debug registers are in use", CMD_HW_SLOTS);
		b->slot = slot;
		*dr[slot] = b->addr;
		dr7 |= 1ull << (2 * slot); /* local enable */
		dr7 |= (uint64_t)dr7_rw(b->kind) << (DR7_RW_SHIFT + 4 * slot);
		dr7 |= (uint64_t)dr7_len(b->len) << (DR7_LEN_SHIFT + 4 * slot);
		slot++;
	}
	for (; slot < CMD_HW_SLOTS; slot++)
		*dr[slot] = 0;
	c->regs.dr7 = dr7;
	if (session_set_context(c->s, &c->regs))
		return cmd_session_fail(c);
	return 0;
}

int cmd_bp_hit_id(struct cmd_ctx *c, const struct session_stop *st)
{
	const struct session_bp *sb;
	uint64_t dr6 = st->report.dr6;

	if (st->kind != SESSION_STOP_EXCEPTION)
		return -1;
	if (st->code == KD_STATUS_BREAKPOINT) {
		sb = session_bp_find(c->s, st->pc);
		if (!sb || sb->temporary)
			return -1;
		for (size_t i = 0; i < CMD_MAX_BPS; i++)
			if (c->bps[i].in_use && !c->bps[i].hw && c->bps[i].sid == sb->id)
				return c->bps[i].id;
		return sb->id; /* set by someone else on this session */
	}
	if (st->code == KD_STATUS_SINGLE_STEP) {
		/* Dr6 B0-B3 name the debug register that fired. */
		for (size_t i = 0; i < CMD_MAX_BPS; i++) {
			const struct cmd_bp *b = &c->bps[i];

			if (b->in_use && b->hw && b->enabled && b->slot >= 0 &&
			    (dr6 & (1ull << b->slot)))
				return b->id;
		}
	}
	return -1;
}

int cmdh_bp(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	struct cmd_bp *b;
	uint64_t addr;
	int sid;

	if (argc != 2)
		return cmd_fail(c, "usage: %s", cmd->usage);
	if (cmd_eval(c, argv[1], &addr))
		return -1;
	for (size_t i = 0; i < CMD_MAX_BPS; i++) {
		b = &c->bps[i];
		if (b->in_use && !b->hw && b->addr == addr) {
			if (!b->enabled) {
				if (session_bp_add(c->s, addr, 0, &b->sid))
					return cmd_session_fail(c);
				b->enabled = 1;
			}
			fprintf(c->out, "breakpoint %d redefined\n", b->id);
			return 0;
		}
	}
	b = bp_new(c);
	if (!b)
		return cmd_fail(c, "no more breakpoints (KD allows %d)", SESSION_MAX_BPS);
	if (session_bp_add(c->s, addr, 0, &sid)) {
		b->in_use = 0;
		return cmd_session_fail(c);
	}
	b->addr = addr;
	b->sid = sid;
	b->enabled = 1;
	return 0;
}

/* ba e|r|w SIZE ADDR, size attached ("w4") or apart ("w 4"). */
int cmdh_ba(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	const char *spec, *size_text, *addr_text;
	struct cmd_bp *b;
	uint64_t addr;
	char *end;
	unsigned long len;
	char kind;

	if (argc == 3) {
		spec = argv[1];
		size_text = argv[1] + 1;
		addr_text = argv[2];
	} else if (argc == 4 && strlen(argv[1]) == 1) {
		spec = argv[1];
		size_text = argv[2];
		addr_text = argv[3];
	} else {
		return cmd_fail(c, "usage: %s", cmd->usage);
	}
	kind = spec[0];
	if (kind != 'e' && kind != 'r' && kind != 'w')
		return cmd_fail(c, "access must be e, r or w, not '%c'", kind);
	len = strtoul(size_text, &end, 10);
	if (*end || (len != 1 && len != 2 && len != 4 && len != 8))
		return cmd_fail(c, "size must be 1, 2, 4 or 8, not '%s'", size_text);
	if (kind == 'e' && len != 1)
		return cmd_fail(c, "an execute breakpoint has size 1");
	if (cmd_eval(c, addr_text, &addr))
		return -1;
	if (addr & (len - 1))
		return cmd_fail(c, "the address must be aligned to the size (%lu)", len);
	for (size_t i = 0, n = 0; i < CMD_MAX_BPS; i++)
		if (c->bps[i].in_use && c->bps[i].hw && c->bps[i].enabled && ++n == CMD_HW_SLOTS)
			return cmd_fail(c, "all %d debug registers are in use", CMD_HW_SLOTS);
	b = bp_new(c);
	if (!b)
		return cmd_fail(c, "no more breakpoints");
	b->hw = 1;
	b->kind = kind;
	b->len = (unsigned)len;
	b->addr = addr;
	b->enabled = 1;
	if (apply_hw(c)) {
		b->in_use = 0;
		return -1;
	}
	return 0;
}

static int cmp_bp_id(const void *a, const void *b)
{
	const struct cmd_bp *x = *(const struct cmd_bp *const *)a, *y = *(const struct cmd_bp *const *)b;

	return (x->id > y->id) - (x->id < y->id);
}

int cmdh_bl(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	const struct cmd_bp *list[CMD_MAX_BPS];
	char label[192], a[18];
	size_t n = 0;

	(void)cmd, (void)argc, (void)argv;
	for (size_t i = 0; i < CMD_MAX_BPS; i++)
		if (c->bps[i].in_use)
			list[n++] = &c->bps[i];
	qsort(list, n, sizeof(list[0]), cmp_bp_id);
	for (size_t i = 0; i < n; i++) {
		const struct cmd_bp *b = list[i];

		if (!cmd_symbolize(c, b->addr, label, sizeof(label)))
			label[0] = '\0';
		if (b->hw)
			fprintf(c->out, "%2d %c %s %c %u 0001 (0001) %s\n", b->id, b->enabled ? 'e' : 'd',
				cmd_addr(a, b->addr), b->kind, b->len, label);
		else
			fprintf(c->out, "%2d %c %s     0001 (0001) %s\n", b->id, b->enabled ? 'e' : 'd',
				cmd_addr(a, b->addr), label);
	}
	return 0;
}

/* Applies op to the breakpoints argv[1..] name ("*" = all). */
static int each_bp(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv,
		   int (*op)(struct cmd_ctx *c, struct cmd_bp *b))
{
	int hw_changed = 0;

	if (argc < 2)
		return cmd_fail(c, "usage: %s", cmd->usage);
	for (int i = 1; i < argc; i++) {
		struct cmd_bp *b;
		char *end;
		long id;

		if (!strcmp(argv[i], "*")) {
			for (size_t k = 0; k < CMD_MAX_BPS; k++) {
				if (!c->bps[k].in_use)
					continue;
				hw_changed |= c->bps[k].hw;
				if (op(c, &c->bps[k]))
					return -1;
			}
			continue;
		}
		id = strtol(argv[i], &end, 10);
		if (*end || id < 0 || id > 1000000)
			return cmd_fail(c, "bad breakpoint number '%s'", argv[i]);
		b = bp_by_id(c, (int)id);
		if (!b)
			return cmd_fail(c, "no breakpoint %ld", id);
		hw_changed |= b->hw;
		if (op(c, b))
			return -1;
	}
	return hw_changed ? apply_hw(c) : 0;
}

static int op_disable(struct cmd_ctx *c, struct cmd_bp *b)
{
	if (b->enabled && !b->hw && session_bp_remove(c->s, b->sid))
		return cmd_session_fail(c);
	b->enabled = 0;
	b->sid = -1;
	return 0;
}

static int op_clear(struct cmd_ctx *c, struct cmd_bp *b)
{
	if (op_disable(c, b))
		return -1;
	b->in_use = 0;
	return 0;
}

static int op_enable(struct cmd_ctx *c, struct cmd_bp *b)
{
	if (b->enabled)
		return 0;
	if (!b->hw && session_bp_add(c->s, b->addr, 0, &b->sid))
		return cmd_session_fail(c);
	b->enabled = 1;
	return 0;
}

int cmdh_bc(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	return each_bp(c, cmd, argc, argv, op_clear);
}

int cmdh_bd(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	return each_bp(c, cmd, argc, argv, op_disable);
}

int cmdh_be(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	return each_bp(c, cmd, argc, argv, op_enable);
}
