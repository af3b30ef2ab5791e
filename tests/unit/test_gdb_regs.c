/* SPDX-License-Identifier: MIT */
/* gdb's x86-64 register numbering against the AMD64 CONTEXT: names and order as gdb's
 * features define them, the g/G block and p/P round trips, the x87 tag word conversion,
 * read-only special registers, and the target description. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../host/gdb/gdb_regs.h"

static uint64_t le(const uint8_t *b, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n && i < 8; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static void numbering(void **state)
{
	static const char *const core[] = {
		"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11",
		"r12", "r13", "r14", "r15", "rip", "eflags", "cs", "ss", "ds", "es", "fs", "gs",
		"st0", "st1", "st2", "st3", "st4", "st5", "st6", "st7", "fctrl", "fstat", "ftag",
		"fiseg", "fioff", "foseg", "fooff", "fop",
	};
	static const char *const sys[] = { "cr0", "cr2", "cr3", "cr4", "cr8",
					   "dr0", "dr1", "dr2", "dr3", "dr6", "dr7" };
	char name[8];

	(void)state;
	for (unsigned i = 0; i < 40; i++)
		assert_string_equal(gdb_reg_name(i), core[i]);
	for (unsigned i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "xmm%u", i);
		assert_string_equal(gdb_reg_name(40 + i), name);
		assert_int_equal(gdb_reg_size(40 + i), 16);
	}
	assert_string_equal(gdb_reg_name(56), "mxcsr");
	assert_string_equal(gdb_reg_name(GDB_REG_FS_BASE), "fs_base");
	assert_string_equal(gdb_reg_name(GDB_REG_GS_BASE), "gs_base");
	for (unsigned i = 0; i < 11; i++)
		assert_string_equal(gdb_reg_name(59 + i), sys[i]);
	assert_null(gdb_reg_name(GDB_NUM_REGS));
	assert_int_equal(gdb_reg_size(GDB_NUM_REGS), 0);
	assert_int_equal(gdb_reg_size(GDB_REG_RIP), 8);
	assert_int_equal(gdb_reg_size(GDB_REG_EFLAGS), 4);
	assert_int_equal(gdb_reg_size(24), 10); /* st0: i387_ext */
	/* core (16*8 + 8 + 4 + 6*4 + 8*10 + 8*4) + sse (16*16 + 4) */
	assert_int_equal(gdb_regs_g_size(), 276 + 260);
	assert_int_equal(gdb_reg_source(0), GDB_SRC_CONTEXT);
	assert_int_equal(gdb_reg_source(59), GDB_SRC_SPECIAL);
	assert_int_equal(gdb_reg_source(GDB_REG_FS_BASE), GDB_SRC_MSR);
	assert_int_equal(gdb_reg_msr(GDB_REG_FS_BASE), 0xC0000100u);
	assert_int_equal(gdb_reg_msr(GDB_REG_GS_BASE), 0xC0000101u);
	assert_int_equal(gdb_reg_source(GDB_REG_DR7), GDB_SRC_CONTEXT);
}

/* Every register lands in its CONTEXT field. */
static void fields(void **state)
{
	struct gdb_reg_state st;
	uint8_t buf[GDB_REG_MAX_BYTES];

	(void)state;
	memset(&st, 0, sizeof(st));
	st.ctx.rax = 0x1111, st.ctx.rbx = 0x2222, st.ctx.rcx = 0x3333, st.ctx.rsp = 0x4444;
	st.ctx.r15 = 0x5555, st.ctx.rip = 0xfffff80000203270ull, st.ctx.eflags = 0x246;
	st.ctx.seg_cs = 0x10, st.ctx.seg_ss = 0x18, st.ctx.seg_gs = 0x2b;
	st.ctx.dr7 = 0x401, st.ctx.dr6 = 0xffff0ff1;
	st.ctx.flt_save.control_word = 0x37f;
	st.ctx.mx_csr = 0x1f80;
	st.ctx.flt_save.xmm_registers[3].low = 0x0123456789abcdefull;
	st.ctx.flt_save.xmm_registers[3].high = 0xfedcba9876543210ull;
	st.sr.cr3 = 0x221000;
	st.fs_base = 0x1234, st.gs_base = 0xfffff8000026f2d0ull;

	assert_int_equal(gdb_reg_read(&st, 0, buf), 8);
	assert_int_equal(le(buf, 8), 0x1111);
	gdb_reg_read(&st, 1, buf);
	assert_int_equal(le(buf, 8), 0x2222); /* gdb's order: rax, rbx, rcx, rdx */
	gdb_reg_read(&st, 2, buf);
	assert_int_equal(le(buf, 8), 0x3333);
	gdb_reg_read(&st, 7, buf);
	assert_int_equal(le(buf, 8), 0x4444);
	gdb_reg_read(&st, 15, buf);
	assert_int_equal(le(buf, 8), 0x5555);
	gdb_reg_read(&st, GDB_REG_RIP, buf);
	assert_int_equal(le(buf, 8), 0xfffff80000203270ull);
	assert_int_equal(gdb_reg_read(&st, GDB_REG_EFLAGS, buf), 4);
	assert_int_equal(le(buf, 4), 0x246);
	assert_int_equal(gdb_reg_read(&st, 18, buf), 4);
	assert_int_equal(le(buf, 4), 0x10); /* cs, zero-extended */
	gdb_reg_read(&st, 19, buf);
	assert_int_equal(le(buf, 4), 0x18);
	gdb_reg_read(&st, 23, buf);
	assert_int_equal(le(buf, 4), 0x2b);
	gdb_reg_read(&st, 32, buf);
	assert_int_equal(le(buf, 4), 0x37f);
	gdb_reg_read(&st, 43, buf);
	assert_int_equal(le(buf, 8), 0x0123456789abcdefull);
	assert_int_equal(le(buf + 8, 8), 0xfedcba9876543210ull);
	gdb_reg_read(&st, 56, buf);
	assert_int_equal(le(buf, 4), 0x1f80);
	gdb_reg_read(&st, GDB_REG_FS_BASE, buf);
	assert_int_equal(le(buf, 8), 0x1234);
	gdb_reg_read(&st, GDB_REG_GS_BASE, buf);
	assert_int_equal(le(buf, 8), 0xfffff8000026f2d0ull);
	gdb_reg_read(&st, 61, buf);
	assert_int_equal(le(buf, 8), 0x221000);
	gdb_reg_read(&st, GDB_REG_DR7, buf);
	assert_int_equal(le(buf, 8), 0x401);
	gdb_reg_read(&st, GDB_REG_DR7 - 1, buf);
	assert_int_equal(le(buf, 8), 0xffff0ff1);
	assert_int_equal(gdb_reg_read(&st, GDB_NUM_REGS, buf), 0);
}

/* g -> G into a fresh state -> g gives the same block; every byte of the block matters. */
static void g_round_trip(void **state)
{
	struct gdb_reg_state a, b;
	uint8_t ga[1024], gb[1024];
	size_t n = gdb_regs_g_size();

	(void)state;
	memset(&a, 0, sizeof(a));
	for (size_t i = 0; i < sizeof(a.ctx); i++)
		((uint8_t *)&a.ctx)[i] = (uint8_t)(i * 13 + 7);
	a.ctx.flt_save.tag_word = 0xff; /* all registers in use */
	assert_int_equal(gdb_regs_read_g(&a, ga, sizeof(ga)), n);
	assert_int_equal(gdb_regs_read_g(&a, ga, n - 1), 0);

	memset(&b, 0, sizeof(b));
	assert_int_equal(gdb_regs_write_g(&b, ga, n), 0);
	assert_int_equal(gdb_regs_read_g(&b, gb, sizeof(gb)), n);
	assert_memory_equal(ga, gb, n);
	assert_int_equal(b.ctx.rip, a.ctx.rip);
	assert_int_equal(b.ctx.r12, a.ctx.r12);
	assert_int_equal(b.ctx.eflags, a.ctx.eflags);
	assert_int_equal(b.ctx.seg_fs, a.ctx.seg_fs);
	assert_memory_equal(&b.ctx.flt_save.xmm_registers, &a.ctx.flt_save.xmm_registers,
			    sizeof(a.ctx.flt_save.xmm_registers));
	assert_int_equal(b.ctx.flt_save.tag_word, 0xff);
	/* mxcsr is kept in both places the CONTEXT has it. */
	assert_int_equal(b.ctx.mx_csr, a.ctx.mx_csr);
	assert_int_equal(b.ctx.flt_save.mx_csr, a.ctx.mx_csr);
	/* Wrong sizes are refused. */
	assert_int_equal(gdb_regs_write_g(&b, ga, n - 1), -1);
	assert_int_equal(gdb_regs_write_g(&b, ga, n + 1), -1);
}

/* Each writable register: P then p gives the value back, and nothing else changes. */
static void p_round_trip(void **state)
{
	(void)state;
	for (unsigned r = 0; r < GDB_NUM_REGS; r++) {
		struct gdb_reg_state st, before;
		uint8_t in[GDB_REG_MAX_BYTES], out[GDB_REG_MAX_BYTES];
		size_t n = gdb_reg_size(r);

		memset(&st, 0, sizeof(st));
		for (size_t i = 0; i < n; i++)
			in[i] = (uint8_t)(0xa1 + r + i);
		if (r == 34) /* ftag: only "empty or not" survives FXSAVE's abridged form */
			memset(in, 0, n), in[0] = 0xfc, in[1] = 0xff;
		if (r >= 18 && r <= 23) /* segment selectors are 16 bits in the CONTEXT */
			in[2] = in[3] = 0;
		if (r >= 32 && r <= 39 && r != 34 && r != 36 && r != 38) /* 16-bit x87 fields */
			in[2] = in[3] = 0;
		memcpy(&before, &st, sizeof(st));
		if (gdb_reg_source(r) == GDB_SRC_SPECIAL) {
			assert_int_equal(gdb_reg_write(&st, r, in), -1);
			assert_memory_equal(&st, &before, sizeof(st));
			continue;
		}
		assert_int_equal(gdb_reg_write(&st, r, in), 0);
		assert_int_equal(gdb_reg_read(&st, r, out), n);
		if (r == 34) {
			/* register 0 valid-or-special, the rest empty: abridged bit 0 only */
			assert_int_equal(st.ctx.flt_save.tag_word, 0x01);
			continue;
		}
		assert_memory_equal(in, out, n);
	}
}

/* FXSAVE's abridged tag (1 bit per physical register) to gdb's full one and back. */
static void x87_tag(void **state)
{
	struct gdb_reg_state st;
	uint8_t buf[4];
	/* 1.0 as an 80-bit extended: mantissa 0x8000000000000000, exponent 0x3fff */
	static const uint8_t one[10] = { 0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f };

	(void)state;
	memset(&st, 0, sizeof(st));
	st.ctx.flt_save.tag_word = 0x00;
	gdb_reg_read(&st, 34, buf);
	assert_int_equal(le(buf, 4), 0xffff); /* all empty */

	/* TOP = 7 (one push): ST(0) is physical register 7. */
	st.ctx.flt_save.status_word = 7 << 11;
	st.ctx.flt_save.tag_word = 0x80;
	memcpy(&st.ctx.flt_save.float_registers[0], one, sizeof(one));
	gdb_reg_read(&st, 34, buf);
	assert_int_equal(le(buf, 4), 0x3fff); /* physical 7 valid (00), the rest empty */

	/* A zero in physical 6 (ST(7) with TOP = 7) is tagged 01. */
	st.ctx.flt_save.tag_word = 0xc0;
	gdb_reg_read(&st, 34, buf);
	assert_int_equal(le(buf, 4), 0x1fff);

	/* Write back: "not empty" bits only. */
	buf[0] = 0xcf, buf[1] = 0xff, buf[2] = buf[3] = 0; /* physical 2 valid */
	assert_int_equal(gdb_reg_write(&st, 34, buf), 0);
	assert_int_equal(st.ctx.flt_save.tag_word, 0x04);
}

static void target_description(void **state)
{
	static char xml[GDB_TARGET_XML_MAX];
	char small[64];
	const char *at;
	size_t n;

	(void)state;
	n = gdb_target_xml(xml, sizeof(xml));
	assert_true(n > 0 && n < sizeof(xml));
	assert_int_equal(strlen(xml), n);
	assert_non_null(strstr(xml, "<architecture>i386:x86-64</architecture>"));
	assert_non_null(strstr(xml, "<feature name=\"org.gnu.gdb.i386.core\">"));
	assert_non_null(strstr(xml, "<feature name=\"org.gnu.gdb.i386.sse\">"));
	assert_non_null(strstr(xml, "<feature name=\"org.gnu.gdb.i386.segments\">"));
	assert_non_null(strstr(xml, "<flags id=\"i386_eflags\" size=\"4\">"));
	assert_non_null(strstr(xml, "<union id=\"vec128\">"));
	/* Every register, in number order, with its number and size. */
	at = xml;
	for (unsigned r = 0; r < GDB_NUM_REGS; r++) {
		char want[96];

		snprintf(want, sizeof(want), "<reg name=\"%s\" bitsize=\"%zu\"", gdb_reg_name(r),
			 gdb_reg_size(r) * 8);
		at = strstr(at, want);
		assert_non_null(at);
		snprintf(want, sizeof(want), "regnum=\"%u\"", r);
		assert_non_null(strstr(at, want));
	}
	/* Balanced features; too small a buffer gives 0 and an empty string. */
	{
		size_t open = 0, close = 0;

		for (const char *p = xml; (p = strstr(p, "<feature ")); p++)
			open++;
		for (const char *p = xml; (p = strstr(p, "</feature>")); p++)
			close++;
		assert_int_equal(open, 4);
		assert_int_equal(close, 4);
	}
	assert_int_equal(gdb_target_xml(small, sizeof(small)), 0);
	assert_string_equal(small, "");
	assert_int_equal(gdb_target_xml(small, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(numbering),
		cmocka_unit_test(fields),
		cmocka_unit_test(g_round_trip),
		cmocka_unit_test(p_round_trip),
		cmocka_unit_test(x87_tag),
		cmocka_unit_test(target_description),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
