/* SPDX-License-Identifier: MIT */
/* capstone output rewritten into WinDbg's disassembly style. */
#include "disasm.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <capstone/capstone.h>

#include "hexdump.h"

struct disasm {
	csh cs;
};

struct disasm *disasm_open(void)
{
	struct disasm *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &d->cs) != CS_ERR_OK) {
		free(d);
		return NULL;
	}
	cs_option(d->cs, CS_OPT_SYNTAX, CS_OPT_SYNTAX_INTEL);
	cs_option(d->cs, CS_OPT_DETAIL, CS_OPT_ON);
	return d;
}

void disasm_close(struct disasm *d)
{
	if (!d)
		return;
	cs_close(&d->cs);
	free(d);
}

/* Bounded appender. */
struct sbuf {
	char *p;
	size_t cap, len;
};

static void sb_putc(struct sbuf *b, char c)
{
	if (!b->cap)
		return;
	if (b->len + 1 < b->cap)
		b->p[b->len++] = c;
	b->p[b->len < b->cap ? b->len : b->cap - 1] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	while (*s)
		sb_putc(b, *s++);
}

/* WinDbg immediates: hex with an 'h' suffix, upper case, a leading 0 before a letter;
 * single digits stay plain. */
static void put_imm(struct sbuf *b, uint64_t v)
{
	char tmp[24];

	if (v < 10) {
		snprintf(tmp, sizeof(tmp), "%u", (unsigned)v);
	} else {
		snprintf(tmp, sizeof(tmp), "%llX", (unsigned long long)v);
		if (isalpha((unsigned char)tmp[0]))
			sb_putc(b, '0');
		strcat(tmp, "h");
	}
	sb_puts(b, tmp);
}

static void put_addr(struct sbuf *b, uint64_t a)
{
	char tmp[18];

	hexdump_addr(tmp, a);
	sb_puts(b, tmp);
}

static int parse_hex_token(const char **s, uint64_t *v)
{
	const char *p = *s;
	char *end;

	if (p[0] == '0' && p[1] == 'x') {
		*v = strtoull(p + 2, &end, 16);
	} else if (isdigit((unsigned char)p[0])) {
		*v = strtoull(p, &end, 10);
	} else {
		return 0;
	}
	*s = end;
	return 1;
}

/*
 * Rewrites capstone's operand string: "rax, qword ptr [rsp + 0x28]" becomes
 * "rax,qword ptr [rsp+28h]"; rip-relative operands become absolute addresses and a branch
 * target prints as an address, since that is what one reads without symbols.
 */
static void rewrite_operands(struct sbuf *b, const cs_insn *insn, int branch)
{
	const char *s = insn->op_str;
	uint64_t next = insn->address + insn->size, v;

	if (branch && parse_hex_token(&s, &v) && !*s) {
		put_addr(b, v);
		return;
	}
	s = insn->op_str;
	while (*s) {
		if (!strncmp(s, "rip + ", 6) || !strncmp(s, "rip - ", 6)) {
			const char *t = s + 6;

			if (parse_hex_token(&t, &v) && *t == ']') {
				put_addr(b, s[4] == '+' ? next + v : next - v);
				s = t;
				continue;
			}
		}
		if (s[0] == ',' && s[1] == ' ') {
			sb_putc(b, ',');
			s += 2;
			continue;
		}
		if (s[0] == ' ' && (s[1] == '+' || s[1] == '-' || s[1] == '*') && s[2] == ' ') {
			sb_putc(b, s[1]);
			s += 3;
			continue;
		}
		/* A number starts after a non-identifier character. */
		if (isdigit((unsigned char)*s) &&
		    (s == insn->op_str || !(isalnum((unsigned char)s[-1]) || s[-1] == '_'))) {
			if (parse_hex_token(&s, &v)) {
				put_imm(b, v);
				continue;
			}
		}
		sb_putc(b, *s++);
	}
}

size_t disasm_one(struct disasm *d, uint64_t addr, const uint8_t *code, size_t len,
		  char *text, size_t cap, unsigned *flags)
{
	struct sbuf b = { text, cap, 0 };
	const char *mnem;
	cs_insn *insn;
	unsigned f = 0;
	size_t size;
	int branch;

	if (flags)
		*flags = 0;
	if (cap)
		text[0] = '\0';
	if (!d || !len || cs_disasm(d->cs, code, len, addr, 1, &insn) != 1)
		return 0;

	if (cs_insn_group(d->cs, insn, CS_GRP_CALL))
		f |= DISASM_CALL;
	if (cs_insn_group(d->cs, insn, CS_GRP_JUMP))
		f |= DISASM_BRANCH;
	if (cs_insn_group(d->cs, insn, CS_GRP_RET) || cs_insn_group(d->cs, insn, CS_GRP_IRET))
		f |= DISASM_RET;
	branch = (f & (DISASM_CALL | DISASM_BRANCH)) != 0;

	mnem = insn->mnemonic;
	if (!strcmp(mnem, "movabs"))
		mnem = "mov";
	if (!strcmp(mnem, "int3")) {
		sb_puts(&b, "int     3");
	} else {
		sb_puts(&b, mnem);
		if (insn->op_str[0]) {
			while (b.len < 7)
				sb_putc(&b, ' ');
			sb_putc(&b, ' ');
			rewrite_operands(&b, insn, branch);
		}
	}
	size = insn->size;
	cs_free(insn, 1);
	if (flags)
		*flags = f;
	return size;
}

size_t disasm_line(struct disasm *d, uint64_t addr, const uint8_t *code, size_t len,
		   char *line, size_t cap, unsigned *flags)
{
	struct sbuf b = { line, cap, 0 };
	char text[160], hex[48];
	size_t n, i;

	if (cap)
		line[0] = '\0';
	put_addr(&b, addr);
	sb_putc(&b, ' ');
	n = disasm_one(d, addr, code, len, text, sizeof(text), flags);
	if (!n) {
		sb_puts(&b, "??              ???");
		return 1;
	}
	hex[0] = '\0';
	for (i = 0; i < n && i < 20; i++)
		snprintf(hex + 2 * i, sizeof(hex) - 2 * i, "%02x", code[i]);
	sb_puts(&b, hex);
	/* Mnemonics line up in column 16 after the bytes; long encodings push them right. */
	for (i = strlen(hex); i < 16; i++)
		sb_putc(&b, ' ');
	if (strlen(hex) >= 16)
		sb_putc(&b, ' ');
	sb_puts(&b, text);
	return n;
}
