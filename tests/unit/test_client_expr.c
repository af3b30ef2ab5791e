/* SPDX-License-Identifier: MIT */
/* vmkd attach: WinDbg-style numbers and expressions, the tokenizer, the register table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../host/client/expr.h"
#include "../../host/client/regs.h"
#include "../../host/sym/sym.h"
#include "sym_fake.h"

static int fake_reg(void *opaque, const char *name, size_t len, uint64_t *value)
{
	const struct reg_desc *r = reg_find(name, len);

	if (!r)
		return -1;
	*value = reg_get(opaque, r);
	return 0;
}

/* poi(x) reads x + 0x10 here, so tests can tell the read happened. */
static int fake_read_ptr(void *opaque, uint64_t addr, uint64_t *value)
{
	(void)opaque;
	if (addr == 0xdead)
		return -1;
	*value = addr + 0x10;
	return 0;
}

static uint64_t eval_ok(const char *text, const struct expr_env *env)
{
	char err[128] = "";
	uint64_t v = 0;

	if (expr_eval(text, env, &v, err, sizeof(err)))
		fail_msg("'%s' failed: %s", text, err);
	return v;
}

static int fake_symbol(void *opaque, const char *text, size_t len, uint64_t *value)
{
	return sym_resolve(opaque, text, len, value);
}

/* module, module+off, module!name, module!name+off, against a fake module set. */
static void symbols(void **state)
{
	static const struct fake_export ex[] = { { "KeBugCheckEx", 0x2000 }, { "abc", 0x2100 } };
	struct sym_module_desc mods[2] = {
		{ 0xfffff80000200000ull, 0x4000, "\\SystemRoot\\system32\\ntoskrnl.exe" },
		{ 0xfffff80000800000ull, 0x1000, "kdcom.dll" },
	};
	struct fake_mem m = { 0 };
	struct sym_reader r;
	struct sym_table *t;
	struct kd_context_amd64 ctx;
	struct expr_env env = { fake_reg, fake_read_ptr, &ctx, NULL };
	struct expr_env senv = { NULL, NULL, NULL, fake_symbol }; /* opaque: the table */
	char err[128];
	uint64_t v;

	(void)state;
	memset(&ctx, 0, sizeof(ctx));
	ctx.rax = 5;
	fake_pe(fake_region(&m, mods[0].base, 0x4000), 0x4000, "ntoskrnl.exe", ex, 2, 0, 0);
	r = fake_reader(&m);
	t = sym_table_new(&r);
	assert_non_null(t);
	assert_int_equal(sym_table_set_modules(t, mods, 2), 1);
	senv.opaque = t;
	{
		assert_int_equal(eval_ok("nt", &senv), 0xfffff80000200000ull);
		assert_int_equal(eval_ok("nt+0x1000", &senv), 0xfffff80000201000ull);
		assert_int_equal(eval_ok("nt!KeBugCheckEx", &senv), 0xfffff80000202000ull);
		assert_int_equal(eval_ok("nt!KeBugCheckEx+10", &senv), 0xfffff80000202010ull);
		assert_int_equal(eval_ok("kdcom+8*2", &senv), 0xfffff80000800010ull);
		assert_int_equal(eval_ok("(nt!kebugcheckex-nt)", &senv), 0x2000);
		/* A word that is a hex number stays a number; the symbol needs module!. */
		assert_int_equal(eval_ok("abc", &senv), 0xabc);
		assert_int_equal(eval_ok("nt!abc", &senv), 0xfffff80000202100ull);
		assert_int_equal(expr_eval("nt!Missing", &senv, &v, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "couldn't resolve symbol 'nt!Missing'"));
		assert_int_equal(expr_eval("hal", &senv, &v, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "bad number, module or register 'hal'"));
		assert_int_equal(expr_eval("nt!", &senv, &v, err, sizeof(err)), -1);
	}
	/* Without a symbol callback, module!name is an error, not a crash. */
	assert_int_equal(expr_eval("nt!KeBugCheckEx", &env, &v, err, sizeof(err)), -1);
	assert_int_equal(eval_ok("rax+1", &env), 6);
	sym_table_free(t);
	fake_free(&m);
}

static void numbers(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(eval_ok("10", NULL), 0x10);
	assert_int_equal(eval_ok("0x10", NULL), 0x10);
	assert_int_equal(eval_ok("0n10", NULL), 10);
	assert_int_equal(eval_ok("0t17", NULL), 15);
	assert_int_equal(eval_ok("0y101", NULL), 5);
	assert_int_equal(eval_ok("fffff800`00100000", NULL), 0xfffff80000100000ull);
	assert_int_equal(eval_ok("FFFFF80000100000", NULL), 0xfffff80000100000ull);
	assert_int_equal(eval_ok("ffffffffffffffff", NULL), UINT64_MAX);
	assert_int_equal(expr_number("1234", &v), 0);
	assert_int_equal(v, 0x1234);
	assert_int_equal(expr_number("12g", &v), -1);
	assert_int_equal(expr_number("0x", &v), -1);
	assert_int_equal(expr_number("``", &v), -1);
	assert_int_equal(expr_number("10000000000000000", &v), -1); /* 2^64: overflow */
	assert_int_equal(expr_number("0n99999999999999999999", &v), -1);
}

static void arithmetic(void **state)
{
	(void)state;
	assert_int_equal(eval_ok("10+8", NULL), 0x18);
	assert_int_equal(eval_ok("10 - 8", NULL), 8);
	assert_int_equal(eval_ok("2*3+1", NULL), 7);
	assert_int_equal(eval_ok("1+2*3", NULL), 7);
	assert_int_equal(eval_ok("(1+2)*3", NULL), 9);
	assert_int_equal(eval_ok("-1", NULL), UINT64_MAX);
	assert_int_equal(eval_ok("fffff800`00100000+0x20", NULL), 0xfffff80000100020ull);
	assert_int_equal(eval_ok("0-1+1", NULL), 0);
}

static void registers_and_poi(void **state)
{
	struct kd_context_amd64 ctx;
	struct expr_env env = { fake_reg, fake_read_ptr, &ctx, NULL };
	char err[128];
	uint64_t v;

	(void)state;
	memset(&ctx, 0, sizeof(ctx));
	ctx.rip = 0xfffff80000101000ull;
	ctx.rsp = 0xfffff80000103000ull;
	ctx.rax = 0x123456789abcdef0ull;
	assert_int_equal(eval_ok("@rip", &env), ctx.rip);
	assert_int_equal(eval_ok("@RSP+8", &env), ctx.rsp + 8);
	assert_int_equal(eval_ok("rsp-10", &env), ctx.rsp - 0x10);
	assert_int_equal(eval_ok("@eax", &env), 0x9abcdef0);
	assert_int_equal(eval_ok("@al", &env), 0xf0);
	assert_int_equal(eval_ok("poi(@rsp)", &env), ctx.rsp + 0x10);
	assert_int_equal(eval_ok("poi(poi(100))+1", &env), 0x121);

	assert_int_equal(expr_eval("@nosuch", &env, &v, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nosuch"));
	assert_int_equal(expr_eval("poi(dead)", &env, &v, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "memory access"));
	assert_int_equal(expr_eval("@rip", NULL, &v, err, sizeof(err)), -1);
}

static void syntax_errors(void **state)
{
	const char *bad[] = { "", "+", "1+", "(1", "1)", "zz", "1 2", "@", "poi(1", "12g" };
	char err[128];
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(expr_eval(bad[i], NULL, &v, err, sizeof(err)), -1);
		assert_true(err[0] != '\0');
	}
	/* Deep nesting is refused, not a stack overflow. */
	{
		char deep[512];

		memset(deep, '(', 200);
		strcpy(deep + 200, "1");
		memset(deep + 201, ')', 200);
		deep[401] = '\0';
		assert_int_equal(expr_eval(deep, NULL, &v, err, sizeof(err)), -1);
	}
}

static void split_words(void **state)
{
	char line[] = "  db  fffff800`00100000\tL20  ";
	char quoted[] = "ed 1000 \"a b\" c";
	char open[] = "x \"oops";
	char *argv[8];

	(void)state;
	assert_int_equal(expr_split(line, argv, 8), 3);
	assert_string_equal(argv[0], "db");
	assert_string_equal(argv[1], "fffff800`00100000");
	assert_string_equal(argv[2], "L20");
	assert_int_equal(expr_split(quoted, argv, 8), 4);
	assert_string_equal(argv[2], "a b");
	assert_string_equal(argv[3], "c");
	assert_int_equal(expr_split(open, argv, 8), -1);
	{
		char many[] = "a b c d";

		assert_int_equal(expr_split(many, argv, 3), -1);
	}
	{
		char blank[] = "   ";

		assert_int_equal(expr_split(blank, argv, 3), 0);
	}
}

static void split_commands(void **state)
{
	char list[] = "r rax=1; db @rsp L4;g ;  \"x;y\"";
	char *cur = list, *next;
	const char *want[] = { "r rax=1", " db @rsp L4", "g ", "  \"x;y\"" };
	size_t n = 0;

	(void)state;
	for (; cur; cur = next, n++) {
		next = expr_next_command(cur);
		assert_true(n < 4);
		assert_string_equal(cur, want[n]);
	}
	assert_int_equal(n, 4);
}

/* Splits line, then parses a length at word *i. */
static int length_of(const char *line, int *i, uint64_t *n)
{
	char buf[128], *argv[8];
	int argc;

	strcpy(buf, line);
	argc = expr_split(buf, argv, 8);
	assert_true(argc > 0);
	return expr_length(argc, argv, i, n);
}

static void lengths(void **state)
{
	uint64_t n;
	int i;

	(void)state;
	i = 2;
	assert_int_equal(length_of("db 1000 L20", &i, &n), 1);
	assert_int_equal(n, 0x20);
	assert_int_equal(i, 3);
	i = 2;
	assert_int_equal(length_of("db 1000 l 0n16", &i, &n), 1);
	assert_int_equal(n, 16);
	assert_int_equal(i, 4);
	i = 1;
	assert_int_equal(length_of("db L?100", &i, &n), 1);
	assert_int_equal(n, 0x100);
	i = 1;
	assert_int_equal(length_of("db Lzz", &i, &n), -1);
	i = 1;
	assert_int_equal(length_of("db L", &i, &n), -1);
	i = 1;
	assert_int_equal(length_of("db 1000", &i, &n), 0);
	assert_int_equal(i, 1);
	i = 2;
	assert_int_equal(length_of("db 1000", &i, &n), 0);
}

static void register_table(void **state)
{
	struct kd_context_amd64 ctx;
	char flags[24];

	(void)state;
	memset(&ctx, 0, sizeof(ctx));
	ctx.rax = 0xffffffffffffffffull;
	assert_int_equal(reg_set(&ctx, reg_find("eax", 3), 0x1234), 0);
	assert_int_equal(ctx.rax, 0x1234); /* 32-bit writes clear the upper half */
	assert_int_equal(reg_set(&ctx, reg_find("al", 2), 0x99), 0);
	assert_int_equal(ctx.rax, 0x1299); /* 8-bit writes merge */
	assert_int_equal(reg_set(&ctx, reg_find("al", 2), 0x100), -1);
	assert_int_equal(reg_set(&ctx, reg_find("cs", 2), 0x10), 0);
	assert_int_equal(ctx.seg_cs, 0x10);
	assert_int_equal(reg_set(&ctx, reg_find("cs", 2), 0x10000), -1);
	assert_int_equal(reg_set(&ctx, reg_find("EFL", 3), 0x246), 0);
	assert_int_equal(ctx.eflags, 0x246);
	assert_int_equal(reg_set(&ctx, reg_find("r15", 3), 5), 0);
	assert_int_equal(ctx.r15, 5);
	assert_null(reg_find("r16", 3));
	assert_null(reg_find("ra", 2));

	reg_format_flags(0x246, flags);
	assert_string_equal(flags, "nv up ei pl zr na pe nc");
	reg_format_flags(0xcd5, flags);
	assert_string_equal(flags, "ov dn di ng zr ac pe cy");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(numbers),
		cmocka_unit_test(arithmetic),
		cmocka_unit_test(registers_and_poi),
		cmocka_unit_test(symbols),
		cmocka_unit_test(syntax_errors),
		cmocka_unit_test(split_words),
		cmocka_unit_test(split_commands),
		cmocka_unit_test(lengths),
		cmocka_unit_test(register_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
