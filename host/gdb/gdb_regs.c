/* SPDX-License-Identifier: MIT */
/* gdb register numbers <-> AMD64 CONTEXT / KSPECIAL_REGISTERS / MSRs, and target.xml. */
#include "gdb_regs.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define MSR_FS_BASE 0xC0000100u
#define MSR_GS_BASE 0xC0000101u

enum reg_kind {
	K_PLAIN,  /* little-endian field at off, ctx_bytes wide, zero-extended to the reg */
	K_FTAG,   /* the full x87 tag word, from FXSAVE's abridged one */
	K_MXCSR,  /* CONTEXT.MxCsr, mirrored in FltSave.MxCsr */
};

enum feature { F_CORE, F_SSE, F_SEGMENTS, F_SYS, F_COUNT };

struct reg_def {
	const char *name;
	uint8_t bytes;           /* size on the wire */
	uint8_t ctx_bytes;       /* size of the source field (K_PLAIN) */
	uint16_t off;            /* offset in the source structure */
	enum gdb_reg_src src;
	enum reg_kind kind;
	enum feature feature;
	const char *type;        /* target.xml type */
	const char *group;       /* target.xml group, or NULL */
	uint32_t msr;
};

#define CTX(f) offsetof(struct kd_context_amd64, f)
#define FLT(f) (CTX(flt_save) + offsetof(struct kd_xmm_save_area32, f))
#define SR(f) offsetof(struct kd_special_registers_amd64, f)
#define GPR(n, f, t) { n, 8, 8, CTX(f), GDB_SRC_CONTEXT, K_PLAIN, F_CORE, t, "general", 0 }
#define SEG(n, f) { n, 4, 2, CTX(f), GDB_SRC_CONTEXT, K_PLAIN, F_CORE, "int32", "general", 0 }
#define ST(i) { "st" #i, 10, 10, FLT(float_registers) + 16 * (i), GDB_SRC_CONTEXT, K_PLAIN, \
		F_CORE, "i387_ext", "float", 0 }
#define X87(n, f, b) { n, 4, b, FLT(f), GDB_SRC_CONTEXT, K_PLAIN, F_CORE, "int", "float", 0 }
#define XMM(i) { "xmm" #i, 16, 16, FLT(xmm_registers) + 16 * (i), GDB_SRC_CONTEXT, K_PLAIN, \
		 F_SSE, "vec128", "vector", 0 }
#define CR(n) { #n, 8, 8, SR(n), GDB_SRC_SPECIAL, K_PLAIN, F_SYS, "int64", "system", 0 }
#define DR(n) { #n, 8, 8, CTX(n), GDB_SRC_CONTEXT, K_PLAIN, F_SYS, "int64", "system", 0 }

/* The order is gdb's (features/i386/64bit-core.xml, 64bit-sse.xml, 64bit-segments.xml):
 * gdb checks the core and sse registers by name and position. */
static const struct reg_def regs[GDB_NUM_REGS] = {
	GPR("rax", rax, "int64"), GPR("rbx", rbx, "int64"), GPR("rcx", rcx, "int64"),
	GPR("rdx", rdx, "int64"), GPR("rsi", rsi, "int64"), GPR("rdi", rdi, "int64"),
	GPR("rbp", rbp, "data_ptr"), GPR("rsp", rsp, "data_ptr"),
	GPR("r8", r8, "int64"), GPR("r9", r9, "int64"), GPR("r10", r10, "int64"),
	GPR("r11", r11, "int64"), GPR("r12", r12, "int64"), GPR("r13", r13, "int64"),
	GPR("r14", r14, "int64"), GPR("r15", r15, "int64"),
	GPR("rip", rip, "code_ptr"),
	{ "eflags", 4, 4, CTX(eflags), GDB_SRC_CONTEXT, K_PLAIN, F_CORE, "i386_eflags", "general", 0 },
	SEG("cs", seg_cs), SEG("ss", seg_ss), SEG("ds", seg_ds),
	SEG("es", seg_es), SEG("fs", seg_fs), SEG("gs", seg_gs),
	ST(0), ST(1), ST(2), ST(3), ST(4), ST(5), ST(6), ST(7),
	X87("fctrl", control_word, 2), X87("fstat", status_word, 2),
	{ "ftag", 4, 1, FLT(tag_word), GDB_SRC_CONTEXT, K_FTAG, F_CORE, "int", "float", 0 },
	X87("fiseg", error_selector, 2), X87("fioff", error_offset, 4),
	X87("foseg", data_selector, 2), X87("fooff", data_offset, 4),
	X87("fop", error_opcode, 2),
	XMM(0), XMM(1), XMM(2), XMM(3), XMM(4), XMM(5), XMM(6), XMM(7),
	XMM(8), XMM(9), XMM(10), XMM(11), XMM(12), XMM(13), XMM(14), XMM(15),
	{ "mxcsr", 4, 4, CTX(mx_csr), GDB_SRC_CONTEXT, K_MXCSR, F_SSE, "i386_mxcsr", "vector", 0 },
	{ "fs_base", 8, 8, 0, GDB_SRC_MSR, K_PLAIN, F_SEGMENTS, "int", NULL, MSR_FS_BASE },
	{ "gs_base", 8, 8, 0, GDB_SRC_MSR, K_PLAIN, F_SEGMENTS, "int", NULL, MSR_GS_BASE },
	CR(cr0), CR(cr2), CR(cr3), CR(cr4), CR(cr8),
	DR(dr0), DR(dr1), DR(dr2), DR(dr3), DR(dr6), DR(dr7),
};

_Static_assert(GDB_REG_DR0 + 5 == GDB_REG_DR7, "dr0-3, dr6, dr7");

static const struct reg_def *def(unsigned regno)
{
	return regno < GDB_NUM_REGS ? &regs[regno] : NULL;
}

size_t gdb_reg_size(unsigned regno)
{
	return def(regno) ? def(regno)->bytes : 0;
}

enum gdb_reg_src gdb_reg_source(unsigned regno)
{
	return def(regno) ? def(regno)->src : GDB_SRC_CONTEXT;
}

const char *gdb_reg_name(unsigned regno)
{
	return def(regno) ? def(regno)->name : NULL;
}

uint32_t gdb_reg_msr(unsigned regno)
{
	return def(regno) ? def(regno)->msr : 0;
}

/* ---- x87 tag word: FXSAVE keeps one "not empty" bit per register (abridged), gdb shows
 * two bits per physical register (0 valid, 1 zero, 2 special, 3 empty). ---------------- */

static unsigned x87_class(const uint8_t *st)
{
	unsigned exp = (unsigned)(st[8] | (st[9] << 8)) & 0x7fff;
	int integer_bit = st[7] >> 7;
	int mantissa_zero = 1;

	for (int i = 0; i < 8; i++)
		mantissa_zero &= st[i] == 0;
	if (exp == 0x7fff)
		return 2;
	if (exp == 0)
		return mantissa_zero ? 1 : 2;
	return integer_bit ? 0 : 2;
}

static uint32_t full_tag(const struct kd_xmm_save_area32 *fx)
{
	unsigned top = (fx->status_word >> 11) & 7;
	uint32_t tag = 0;

	for (unsigned phys = 0; phys < 8; phys++) {
		unsigned st = (phys - top) & 7; /* ST(i) lives in physical register top + i */
		unsigned t = 3;

		if (fx->tag_word & (1u << phys))
			t = x87_class((const uint8_t *)&fx->float_registers[st]);
		tag |= t << (2 * phys);
	}
	return tag;
}

static uint8_t abridged_tag(uint32_t full)
{
	uint8_t tag = 0;

	for (unsigned phys = 0; phys < 8; phys++)
		if (((full >> (2 * phys)) & 3) != 3)
			tag |= (uint8_t)(1u << phys);
	return tag;
}

/* ---- access -------------------------------------------------------------------------- */

static void put_le(uint8_t *out, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *in, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n && i < 8; i++)
		v |= (uint64_t)in[i] << (8 * i);
	return v;
}

static const uint8_t *source(const struct gdb_reg_state *st, const struct reg_def *d)
{
	return d->src == GDB_SRC_SPECIAL ? (const uint8_t *)&st->sr : (const uint8_t *)&st->ctx;
}

size_t gdb_reg_read(const struct gdb_reg_state *st, unsigned regno, uint8_t *out)
{
	const struct reg_def *d = def(regno);

	if (!d)
		return 0;
	memset(out, 0, d->bytes);
	if (d->src == GDB_SRC_MSR) {
		put_le(out, regno == GDB_REG_FS_BASE ? st->fs_base : st->gs_base, 8);
	} else if (d->kind == K_FTAG) {
		put_le(out, full_tag(&st->ctx.flt_save), 4);
	} else {
		memcpy(out, source(st, d) + d->off, d->ctx_bytes);
	}
	return d->bytes;
}

int gdb_reg_write(struct gdb_reg_state *st, unsigned regno, const uint8_t *in)
{
	const struct reg_def *d = def(regno);
	uint8_t *dst = (uint8_t *)&st->ctx;

	if (!d || d->src == GDB_SRC_SPECIAL)
		return -1;
	if (d->src == GDB_SRC_MSR) {
		*(regno == GDB_REG_FS_BASE ? &st->fs_base : &st->gs_base) = get_le(in, 8);
		return 0;
	}
	switch (d->kind) {
	case K_FTAG:
		st->ctx.flt_save.tag_word = abridged_tag((uint32_t)get_le(in, 4));
		break;
	case K_MXCSR:
		st->ctx.mx_csr = (uint32_t)get_le(in, 4);
		st->ctx.flt_save.mx_csr = st->ctx.mx_csr;
		break;
	case K_PLAIN:
		memcpy(dst + d->off, in, d->ctx_bytes);
		break;
	}
	return 0;
}

size_t gdb_regs_g_size(void)
{
	size_t n = 0;

	for (unsigned i = 0; i < GDB_G_REGS; i++)
		n += regs[i].bytes;
	return n;
}

size_t gdb_regs_read_g(const struct gdb_reg_state *st, uint8_t *out, size_t cap)
{
	size_t n = 0;

	if (cap < gdb_regs_g_size())
		return 0;
	for (unsigned i = 0; i < GDB_G_REGS; i++)
		n += gdb_reg_read(st, i, out + n);
	return n;
}

int gdb_regs_write_g(struct gdb_reg_state *st, const uint8_t *in, size_t len)
{
	size_t n = 0;

	if (len != gdb_regs_g_size())
		return -1;
	for (unsigned i = 0; i < GDB_G_REGS; i++) {
		if (gdb_reg_write(st, i, in + n))
			return -1;
		n += regs[i].bytes;
	}
	return 0;
}

/* ---- target.xml ------------------------------------------------------------------------ */

struct xml_out {
	char *buf;
	size_t cap, len;
	int overflow;
};

__attribute__((format(printf, 2, 3))) static void emit(struct xml_out *x, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (x->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(x->buf + x->len, x->cap - x->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= x->cap - x->len)
		x->overflow = 1;
	else
		x->len += (size_t)n;
}

static const char *const feature_names[F_COUNT] = {
	"org.gnu.gdb.i386.core", "org.gnu.gdb.i386.sse", "org.gnu.gdb.i386.segments",
	"org.vmkd.gdb.i386.sys",
};

/* Types the core and sse features use; gdb predefines int*, code_ptr, i387_ext, ... */
static void emit_types(struct xml_out *x, enum feature f)
{
	static const struct { const char *name; int bit; } eflags[] = {
		{ "CF", 0 }, { "", 1 }, { "PF", 2 }, { "AF", 4 }, { "ZF", 6 }, { "SF", 7 },
		{ "TF", 8 }, { "IF", 9 }, { "DF", 10 }, { "OF", 11 }, { "NT", 14 }, { "RF", 16 },
		{ "VM", 17 }, { "AC", 18 }, { "VIF", 19 }, { "VIP", 20 }, { "ID", 21 },
	};
	static const struct { const char *name; int bit; } mxcsr[] = {
		{ "IE", 0 }, { "DE", 1 }, { "ZE", 2 }, { "OE", 3 }, { "UE", 4 }, { "PE", 5 },
		{ "DAZ", 6 }, { "IM", 7 }, { "DM", 8 }, { "ZM", 9 }, { "OM", 10 }, { "UM", 11 },
		{ "PM", 12 }, { "FZ", 15 },
	};

	if (f == F_CORE) {
		emit(x, "<flags id=\"i386_eflags\" size=\"4\">");
		for (size_t i = 0; i < sizeof(eflags) / sizeof(eflags[0]); i++)
			emit(x, "<field name=\"%s\" start=\"%d\" end=\"%d\"/>", eflags[i].name,
			     eflags[i].bit, eflags[i].bit);
		emit(x, "</flags>");
	} else if (f == F_SSE) {
		emit(x, "<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
			"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
			"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
			"<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
			"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
			"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
			"<union id=\"vec128\"><field name=\"v4_float\" type=\"v4f\"/>"
			"<field name=\"v2_double\" type=\"v2d\"/>"
			"<field name=\"v16_int8\" type=\"v16i8\"/>"
			"<field name=\"v8_int16\" type=\"v8i16\"/>"
			"<field name=\"v4_int32\" type=\"v4i32\"/>"
			"<field name=\"v2_int64\" type=\"v2i64\"/>"
			"<field name=\"uint128\" type=\"uint128\"/></union>");
		emit(x, "<flags id=\"i386_mxcsr\" size=\"4\">");
		for (size_t i = 0; i < sizeof(mxcsr) / sizeof(mxcsr[0]); i++)
			emit(x, "<field name=\"%s\" start=\"%d\" end=\"%d\"/>", mxcsr[i].name,
			     mxcsr[i].bit, mxcsr[i].bit);
		emit(x, "</flags>");
	}
}

size_t gdb_target_xml(char *buf, size_t cap)
{
	struct xml_out x = { buf, cap, 0, 0 };

	if (!cap)
		return 0;
	emit(&x, "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
		 "<target version=\"1.0\"><architecture>i386:x86-64</architecture>");
	for (int f = 0; f < F_COUNT; f++) {
		emit(&x, "<feature name=\"%s\">", feature_names[f]);
		emit_types(&x, (enum feature)f);
		for (unsigned i = 0; i < GDB_NUM_REGS; i++) {
			if (regs[i].feature != (enum feature)f)
				continue;
			emit(&x, "<reg name=\"%s\" bitsize=\"%u\" type=\"%s\" regnum=\"%u\"",
			     regs[i].name, regs[i].bytes * 8u, regs[i].type, i);
			if (regs[i].group)
				emit(&x, " group=\"%s\"", regs[i].group);
			emit(&x, "/>");
		}
		emit(&x, "</feature>");
	}
	emit(&x, "</target>");
	if (x.overflow) {
		buf[0] = 0;
		return 0;
	}
	return x.len;
}
