/* SPDX-License-Identifier: MIT */
/* vmkd attach: WinDbg-style memory dumps and disassembly text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../host/client/commands.h"
#include "../../host/client/disasm.h"
#include "../../host/client/hexdump.h"

#define VA 0xfffff80000100000ull

/* Runs the formatter into a string the test owns. */
static char *dump(uint64_t addr, const uint8_t *buf, size_t len, size_t valid, unsigned unit,
		  int phys)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	assert_non_null(f);
	hexdump_format(f, addr, buf, len, valid, unit, phys);
	fclose(f);
	return text;
}

static const uint8_t mz[16] = { 0x4d, 0x5a, 0x90, 0x00, 0x03, 0x00, 0x00, 0x00,
				0x04, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00 };

static void bytes_line(void **state)
{
	char *t;

	(void)state;
	t = dump(VA, mz, 16, 16, 1, 0);
	assert_string_equal(t, "fffff800`00100000  4d 5a 90 00 03 00 00 00-04 00 00 00 ff ff 00 00"
			       "  MZ..............\n");
	free(t);
}

static void partial_read_prints_question_marks(void **state)
{
	char *t;

	(void)state;
	t = dump(VA, mz, 16, 5, 1, 0);
	assert_string_equal(t, "fffff800`00100000  4d 5a 90 00 03 ?? ?? ?\?-?? ?? ?? ?? ?? ?? ?? ??"
			       "  MZ...???????????\n");
	free(t);
	t = dump(VA, mz, 16, 6, 4, 0);
	assert_string_equal(t, "fffff800`00100000  00905a4d ???????? ???????? ????????\n");
	free(t);
	t = dump(VA, mz, 16, 0, 8, 0);
	assert_string_equal(t, "fffff800`00100000  ????????`???????? ????????`????????\n");
	free(t);
}

static void units(void **state)
{
	char *t;

	(void)state;
	t = dump(VA, mz, 16, 16, 2, 0);
	assert_string_equal(t, "fffff800`00100000  5a4d 0090 0003 0000 0004 0000 ffff 0000\n");
	free(t);
	t = dump(VA, mz, 16, 16, 4, 0);
	assert_string_equal(t, "fffff800`00100000  00905a4d 00000003 00000004 0000ffff\n");
	free(t);
	t = dump(VA, mz, 16, 16, 8, 0);
	assert_string_equal(t, "fffff800`00100000  00000003`00905a4d 0000ffff`00000004\n");
	free(t);
}

static void short_and_multi_line(void **state)
{
	uint8_t buf[20];
	char *t;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(0x41 + i);
	t = dump(VA + 8, buf, 20, 20, 1, 0);
	assert_string_equal(t,
		"fffff800`00100008  41 42 43 44 45 46 47 48-49 4a 4b 4c 4d 4e 4f 50  ABCDEFGHIJKLMNOP\n"
		"fffff800`00100018  51 52 53 54                                      QRST\n");
	free(t);
	t = dump(VA, buf, 8, 8, 4, 0);
	assert_string_equal(t, "fffff800`00100000  44434241 48474645\n");
	free(t);
}

static void physical_form(void **state)
{
	char *t;

	(void)state;
	t = dump(0x1000, mz, 4, 4, 1, 1);
	assert_string_equal(t, "#    1000 4d 5a 90 00" /* then padding to the ASCII column */
			       "                                      MZ..\n");
	free(t);
	t = dump(0x200000, mz, 8, 8, 8, 1);
	assert_string_equal(t, "#  200000 00000003`00905a4d\n");
	free(t);
}

static void address_text(void **state)
{
	char a[18];

	(void)state;
	hexdump_addr(a, VA);
	assert_string_equal(a, "fffff800`00100000");
	hexdump_addr(a, 0x1234);
	assert_string_equal(a, "00000000`00001234");
}

/* Each: bytes, the text WinDbg would show, flags. */
struct insn_case {
	uint8_t code[16];
	size_t len;
	const char *text;
	unsigned flags;
	size_t size;
};

static void disassembly(void **state)
{
	static const struct insn_case cases[] = {
		{ { 0xcc }, 1, "int     3", 0, 1 },
		{ { 0x48, 0x83, 0xec, 0x28 }, 4, "sub     rsp,28h", 0, 4 },
		{ { 0x48, 0x8b, 0x44, 0x24, 0x28 }, 5, "mov     rax,qword ptr [rsp+28h]", 0, 5 },
		{ { 0x65, 0x48, 0x8b, 0x04, 0x25, 0x88, 0x01, 0x00, 0x00 }, 9,
		  "mov     rax,qword ptr gs:[188h]", 0, 9 },
		{ { 0xe8, 0x10, 0x00, 0x00, 0x00 }, 5, "call    fffff800`00100015", DISASM_CALL, 5 },
		{ { 0x74, 0xf0 }, 2, "je      fffff800`000ffff2", DISASM_BRANCH, 2 },
		{ { 0x48, 0xb8, 0xef, 0xbe, 0xad, 0xde, 0xff, 0xff, 0xff, 0xff }, 10,
		  "mov     rax,0FFFFFFFFDEADBEEFh", 0, 10 },
		{ { 0x48, 0x8d, 0x0d, 0x00, 0x10, 0x00, 0x00 }, 7, "lea     rcx,[fffff800`00101007]", 0, 7 },
		{ { 0xff, 0x15, 0x10, 0x00, 0x00, 0x00 }, 6, "call    qword ptr [fffff800`00100016]",
		  DISASM_CALL, 6 },
		{ { 0xc3 }, 1, "ret", DISASM_RET, 1 },
		{ { 0x90 }, 1, "nop", 0, 1 },
		{ { 0x48, 0x8b, 0x45, 0xf0 }, 4, "mov     rax,qword ptr [rbp-10h]", 0, 4 },
	};
	struct disasm *d = disasm_open();
	char text[160];
	unsigned flags;

	(void)state;
	assert_non_null(d);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = disasm_one(d, VA, cases[i].code, cases[i].len, text, sizeof(text), &flags);

		assert_int_equal(n, cases[i].size);
		assert_string_equal(text, cases[i].text);
		assert_int_equal(flags, cases[i].flags);
	}
	/* Truncated or invalid bytes do not decode. */
	assert_int_equal(disasm_one(d, VA, cases[1].code, 2, text, sizeof(text), &flags), 0);
	assert_int_equal(disasm_one(d, VA, (const uint8_t[]){ 0x06, 0x00 }, 2, text, sizeof(text),
				    &flags), 0);
	disasm_close(d);
}

static void disassembly_lines(void **state)
{
	static const uint8_t sub[] = { 0x48, 0x83, 0xec, 0x28 };
	static const uint8_t movabs[] = { 0x48, 0xb8, 0xef, 0xbe, 0xad, 0xde, 0xff, 0xff, 0xff, 0xff };
	struct disasm *d = disasm_open();
	char line[256];

	(void)state;
	assert_int_equal(disasm_line(d, VA, (const uint8_t[]){ 0xcc }, 1, line, sizeof(line), NULL), 1);
	assert_string_equal(line, "fffff800`00100000 cc              int     3");
	assert_int_equal(disasm_line(d, VA, sub, sizeof(sub), line, sizeof(line), NULL), 4);
	assert_string_equal(line, "fffff800`00100000 4883ec28        sub     rsp,28h");
	assert_int_equal(disasm_line(d, VA, movabs, sizeof(movabs), line, sizeof(line), NULL), 10);
	assert_string_equal(line, "fffff800`00100000 48b8efbeaddeffffffff mov     rax,0FFFFFFFFDEADBEEFh");
	assert_int_equal(disasm_line(d, VA, sub, 1, line, sizeof(line), NULL), 1);
	assert_string_equal(line, "fffff800`00100000 ??              ???");
	/* A tiny buffer is cut, never overrun. */
	assert_int_equal(disasm_line(d, VA, sub, sizeof(sub), line, 8, NULL), 4);
	assert_string_equal(line, "fffff80");
	disasm_close(d);
}

static void collect(void *opaque, const char *word)
{
	char *buf = opaque;

	strcat(buf, word);
	strcat(buf, " ");
}

/* Tab completion of command names (symbols need a stopped target: see symbols-session.sh). */
static void complete_commands(void **state)
{
	struct cmd_ctx c;
	char got[512] = "";

	(void)state;
	cmd_init(&c, NULL, NULL, stdout, stderr);
	assert_int_equal(cmd_complete(&c, "bl", 0, collect, got), 1);
	assert_string_equal(got, "bl ");
	got[0] = '\0';
	assert_int_equal(cmd_complete(&c, ".log", 0, collect, got), 2);
	assert_string_equal(got, ".logopen .logclose ");
	got[0] = '\0';
	assert_int_equal(cmd_complete(&c, "K", 0, collect, got), 4);  /* k kn kb kp */
	assert_int_equal(cmd_complete(&c, "zz", 0, collect, got), 0);
	cmd_cleanup(&c);
}

/* .logopen copies output and errors to the file; .logclose stops it. */
static void log_file(void **state)
{
	char path[] = "/tmp/vmkd-test-log.XXXXXX", *text = NULL, *outs = NULL;
	size_t size = 0, outsize = 0;
	struct cmd_ctx c;
	FILE *out = open_memstream(&outs, &outsize), *f;
	int fd = mkstemp(path);
	char line[256];

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_non_null(out);
	cmd_init(&c, NULL, NULL, out, out);
	snprintf(line, sizeof(line), ".logopen %s", path);
	assert_int_equal(cmd_execute(&c, line), 0);
	assert_int_equal(cmd_execute(&c, "? 0n42"), 0);
	assert_int_equal(cmd_execute(&c, "? 1 +"), -1);
	cmd_log_line(&c, "0: kd> ", "typed line");
	assert_int_equal(cmd_execute(&c, ".logclose"), 0);
	assert_int_equal(cmd_execute(&c, "? 0n43"), 0);
	assert_int_equal(cmd_execute(&c, ".logclose"), -1);  /* none open */
	cmd_cleanup(&c);
	fclose(out);
	f = fopen(path, "r");
	assert_non_null(f);
	text = calloc(1, 4096);
	assert_non_null(text);
	size = fread(text, 1, 4095, f);
	fclose(f);
	unlink(path);
	assert_true(size > 0);
	assert_non_null(strstr(text, "Evaluate expression: 42 = 00000000`0000002a"));
	assert_non_null(strstr(text, "?: "));                   /* the error went there too */
	assert_non_null(strstr(text, "0: kd> typed line\n"));
	assert_non_null(strstr(text, "Closing open log file"));
	assert_null(strstr(text, "= 00000000`0000002b"));       /* after the close: not logged */
	/* The terminal got everything, before and after. */
	assert_non_null(strstr(outs, "Opened log file"));
	assert_non_null(strstr(outs, "= 00000000`0000002a"));
	assert_non_null(strstr(outs, "= 00000000`0000002b"));
	free(text);
	free(outs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bytes_line),
		cmocka_unit_test(partial_read_prints_question_marks),
		cmocka_unit_test(units),
		cmocka_unit_test(short_and_multi_line),
		cmocka_unit_test(physical_form),
		cmocka_unit_test(address_text),
		cmocka_unit_test(disassembly),
		cmocka_unit_test(disassembly_lines),
		cmocka_unit_test(complete_commands),
		cmocka_unit_test(log_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
