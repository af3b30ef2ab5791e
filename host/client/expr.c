/* SPDX-License-Identifier: MIT */
/* WinDbg-style expression evaluation (recursive descent) and command tokenizing. */
#include "expr.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "vmkd/kd_bytes.h"

#define MAX_DEPTH 32 /* nesting of parentheses and poi() */

struct parser {
	const char *p;
	const struct expr_env *env;
	char *err;
	size_t errlen;
	int depth;
	int failed;
};

static void perr(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void perr(struct parser *ps, const char *fmt, ...)
{
	va_list ap;

	if (ps->failed)
		return;
	ps->failed = 1;
	if (!ps->err || !ps->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err, ps->errlen, fmt, ap);
	va_end(ap);
}

static void skip_blanks(struct parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t')
		ps->p++;
}

static int is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '`' || c == '_' || c == '$';
}

/* Number in [s, s+len): radix prefix, digits and backticks, no overflow. */
static int parse_number(const char *s, size_t len, uint64_t *out)
{
	unsigned radix = 16;
	uint64_t v = 0;
	int digits = 0;

	if (len > 2 && s[0] == '0') {
		char r = (char)tolower((unsigned char)s[1]);

		if (r == 'x' || r == 'n' || r == 't' || r == 'y') {
			radix = r == 'x' ? 16 : r == 'n' ? 10 : r == 't' ? 8 : 2;
			s += 2;
			len -= 2;
		}
	}
	for (size_t i = 0; i < len; i++) {
		int d;

		if (s[i] == '`')
			continue;
		d = kd_hex_digit(s[i]);
		if (d < 0 || d >= (int)radix)
			return -1;
		if (v > (UINT64_MAX - (uint64_t)d) / radix)
			return -1;
		v = v * radix + (uint64_t)d;
		digits++;
	}
	if (!digits)
		return -1;
	*out = v;
	return 0;
}

int expr_number(const char *text, uint64_t *out)
{
	return parse_number(text, strlen(text), out);
}

static uint64_t parse_sum(struct parser *ps);

static uint64_t parse_register(struct parser *ps, const char *name, size_t len)
{
	uint64_t v = 0;

	if (!ps->env || !ps->env->reg) {
		perr(ps, "no registers available for '%.*s'", (int)len, name);
		return 0;
	}
	if (ps->env->reg(ps->env->opaque, name, len, &v)) {
		perr(ps, "bad register '%.*s'", (int)len, name);
		return 0;
	}
	return v;
}

static uint64_t parse_primary(struct parser *ps)
{
	const char *start;
	uint64_t v = 0;
	size_t len;

	skip_blanks(ps);
	if (++ps->depth > MAX_DEPTH) {
		perr(ps, "expression nested too deeply");
		return 0;
	}
	if (*ps->p == '(') {
		ps->p++;
		v = parse_sum(ps);
		skip_blanks(ps);
		if (*ps->p != ')')
			perr(ps, "missing ')'");
		else
			ps->p++;
		goto out;
	}
	if (*ps->p == '@') {
		start = ++ps->p;
		while (is_word_char(*ps->p))
			ps->p++;
		v = parse_register(ps, start, (size_t)(ps->p - start));
		goto out;
	}
	start = ps->p;
	while (is_word_char(*ps->p))
		ps->p++;
	len = (size_t)(ps->p - start);
	if (len && *ps->p == '!') {
		/* module!symbol: one term, resolved by the symbol layer. */
		ps->p++;
		while (is_word_char(*ps->p) || *ps->p == '.' || *ps->p == '@' || *ps->p == '?')
			ps->p++;
		len = (size_t)(ps->p - start);
		if (!ps->env || !ps->env->symbol || ps->env->symbol(ps->env->opaque, start, len, &v))
			perr(ps, "couldn't resolve symbol '%.*s'", (int)len, start);
		goto out;
	}
	if (!len) {
		if (*ps->p)
			perr(ps, "unexpected '%c'", *ps->p);
		else
			perr(ps, "missing value");
		goto out;
	}
	if (len == 3 && !strncasecmp(start, "poi", 3) && (skip_blanks(ps), *ps->p == '(')) {
		uint64_t addr;

		ps->p++;
		addr = parse_sum(ps);
		skip_blanks(ps);
		if (*ps->p != ')') {
			perr(ps, "missing ')' after poi(");
			goto out;
		}
		ps->p++;
		if (ps->failed)
			goto out;
		if (!ps->env || !ps->env->read_ptr || ps->env->read_ptr(ps->env->opaque, addr, &v))
			perr(ps, "memory access error at poi(%016llx)", (unsigned long long)addr);
		goto out;
	}
	if (parse_number(start, len, &v) == 0)
		goto out;
	if (ps->env && ps->env->symbol && ps->env->symbol(ps->env->opaque, start, len, &v) == 0)
		goto out;
	/* Not a number: a bare register name, as WinDbg accepts when no symbol matches. */
	if (ps->env && ps->env->reg && ps->env->reg(ps->env->opaque, start, len, &v) == 0)
		goto out;
	perr(ps, "bad number, module or register '%.*s'", (int)len, start);
out:
	ps->depth--;
	return v;
}

static uint64_t parse_unary(struct parser *ps)
{
	skip_blanks(ps);
	if (*ps->p == '-') {
		ps->p++;
		return (uint64_t)0 - parse_unary(ps);
	}
	if (*ps->p == '+') {
		ps->p++;
		return parse_unary(ps);
	}
	return parse_primary(ps);
}

static uint64_t parse_product(struct parser *ps)
{
	uint64_t v = parse_unary(ps);

	for (;;) {
		skip_blanks(ps);
		if (*ps->p != '*' || ps->failed)
			return v;
		ps->p++;
		v *= parse_unary(ps);
	}
}

static uint64_t parse_sum(struct parser *ps)
{
	uint64_t v = parse_product(ps);

	for (;;) {
		char op;

		skip_blanks(ps);
		op = *ps->p;
		if ((op != '+' && op != '-') || ps->failed)
			return v;
		ps->p++;
		if (op == '+')
			v += parse_product(ps);
		else
			v -= parse_product(ps);
	}
}

int expr_eval(const char *text, const struct expr_env *env, uint64_t *out, char *err,
	      size_t errlen)
{
	struct parser ps = { .p = text, .env = env, .err = err, .errlen = errlen };
	uint64_t v;

	v = parse_sum(&ps);
	skip_blanks(&ps);
	if (!ps.failed && *ps.p)
		perr(&ps, "unexpected '%s' in '%s'", ps.p, text);
	if (ps.failed)
		return -1;
	*out = v;
	return 0;
}

int expr_split(char *line, char **argv, int max)
{
	char *r = line, *w = line;
	int argc = 0;

	for (;;) {
		int quoted = 0;

		while (*r == ' ' || *r == '\t' || *r == '\r' || *r == '\n')
			r++;
		if (!*r)
			return argc;
		if (argc == max)
			return -1;
		argv[argc++] = w;
		/* Copy the word down over removed quotes; blanks inside quotes are kept. */
		while (*r && (quoted || (*r != ' ' && *r != '\t' && *r != '\r' && *r != '\n'))) {
			if (*r == '"') {
				quoted = !quoted;
				r++;
				continue;
			}
			*w++ = *r++;
		}
		if (quoted)
			return -1;
		if (*r)
			r++;
		*w++ = '\0';
	}
}

char *expr_next_command(char *list)
{
	int quoted = 0;

	for (char *p = list; *p; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == ';' && !quoted) {
			*p = '\0';
			return p + 1;
		}
	}
	return NULL;
}

int expr_length(int argc, char **argv, int *i, uint64_t *count)
{
	const char *a;

	if (*i >= argc)
		return 0;
	a = argv[*i];
	if (a[0] != 'L' && a[0] != 'l')
		return 0;
	a++;
	if (*a == '?')
		a++;
	if (!*a) {
		if (*i + 1 >= argc)
			return -1;
		a = argv[++*i];
	}
	(*i)++;
	return expr_number(a, count) == 0 ? 1 : -1;
}
