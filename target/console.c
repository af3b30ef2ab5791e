/* SPDX-License-Identifier: MIT */
/* console.c - printf-style output to the console COM port. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "console.h"
#include "uart.h"

static uint16_t console_base = COM2_BASE;

void console_init(uint16_t port)
{
	console_base = port;
}

uint16_t console_port(void)
{
	return console_base;
}

void console_write(const char *s, size_t len)
{
	uart_write(console_base, s, len);
}

/* ---- formatting engine ---------------------------------------------------------------- */

struct fmt_spec {
	bool left, zero, plus, space, alt;
	int width;
	int precision; /* -1: none */
};

struct fmt_out {
	kformat_emit_fn emit;
	void *opaque;
	int total;
};

static void out_chunk(struct fmt_out *o, const char *s, size_t len)
{
	if (len) {
		o->emit(o->opaque, s, len);
		o->total += (int)len;
	}
}

static void out_repeat(struct fmt_out *o, char c, int n)
{
	char pad[16];

	memset(pad, c, sizeof(pad));
	while (n > 0) {
		int k = n < (int)sizeof(pad) ? n : (int)sizeof(pad);

		out_chunk(o, pad, (size_t)k);
		n -= k;
	}
}

/* Writes prefix + zero padding + body, padded to the field width. */
static void out_field(struct fmt_out *o, const struct fmt_spec *sp, const char *prefix,
		      int zeros, const char *body, int body_len)
{
	int prefix_len = (int)strlen(prefix);
	int len = prefix_len + zeros + body_len;
	int pad = sp->width > len ? sp->width - len : 0;

	if (!sp->left && !sp->zero)
		out_repeat(o, ' ', pad);
	out_chunk(o, prefix, (size_t)prefix_len);
	if (!sp->left && sp->zero)
		out_repeat(o, '0', pad);
	out_repeat(o, '0', zeros);
	out_chunk(o, body, (size_t)body_len);
	if (sp->left)
		out_repeat(o, ' ', pad);
}

static void out_number(struct fmt_out *o, struct fmt_spec sp, uint64_t v, bool negative,
		       unsigned base, bool upper, const char *alt_prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];
	int n = 0, zeros = 0;
	const char *prefix = "";

	do {
		buf[sizeof(buf) - 1 - n++] = digits[v % base];
		v /= base;
	} while (v);
	if (sp.precision >= 0) {
		sp.zero = false; /* as in C: a precision disables the '0' flag */
		if (sp.precision == 0 && n == 1 && buf[sizeof(buf) - 1] == '0')
			n = 0;
		if (sp.precision > n)
			zeros = sp.precision - n;
	}
	if (negative)
		prefix = "-";
	else if (sp.plus)
		prefix = "+";
	else if (sp.space)
		prefix = " ";
	else if (sp.alt && alt_prefix)
		prefix = alt_prefix;
	out_field(o, &sp, prefix, zeros, buf + sizeof(buf) - n, n);
}

enum fmt_len { LEN_INT, LEN_CHAR, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE, LEN_PTRDIFF, LEN_MAX };

static uint64_t arg_unsigned(va_list *ap, enum fmt_len len)
{
	switch (len) {
	case LEN_CHAR: return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_SHORT: return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_LONG: return va_arg(*ap, unsigned long);
	case LEN_LLONG: return va_arg(*ap, unsigned long long);
	case LEN_SIZE: return va_arg(*ap, size_t);
	case LEN_PTRDIFF: return (uint64_t)va_arg(*ap, ptrdiff_t);
	case LEN_MAX: return va_arg(*ap, uintmax_t);
	case LEN_INT: break;
	}
	return va_arg(*ap, unsigned int);
}

static int64_t arg_signed(va_list *ap, enum fmt_len len)
{
	switch (len) {
	case LEN_CHAR: return (signed char)va_arg(*ap, int);
	case LEN_SHORT: return (short)va_arg(*ap, int);
	case LEN_LONG: return va_arg(*ap, long);
	case LEN_LLONG: return va_arg(*ap, long long);
	case LEN_SIZE: return (int64_t)va_arg(*ap, size_t);
	case LEN_PTRDIFF: return va_arg(*ap, ptrdiff_t);
	case LEN_MAX: return va_arg(*ap, intmax_t);
	case LEN_INT: break;
	}
	return va_arg(*ap, int);
}

static int parse_int(const char **fmt, va_list *ap)
{
	int v = 0;

	if (**fmt == '*') {
		(*fmt)++;
		return va_arg(*ap, int);
	}
	while (**fmt >= '0' && **fmt <= '9')
		v = v * 10 + (*(*fmt)++ - '0');
	return v;
}

int kvformat(kformat_emit_fn emit, void *opaque, const char *fmt, va_list ap_in)
{
	struct fmt_out o = { .emit = emit, .opaque = opaque, .total = 0 };
	va_list ap;

	/* Work on a copy reached through a pointer: helpers consume arguments portably. */
	va_copy(ap, ap_in);
	while (*fmt) {
		struct fmt_spec sp = { .precision = -1 };
		enum fmt_len len = LEN_INT;
		const char *lit = fmt;

		while (*fmt && *fmt != '%')
			fmt++;
		out_chunk(&o, lit, (size_t)(fmt - lit));
		if (!*fmt)
			break;
		fmt++; /* '%' */

		for (;; fmt++) {
			if (*fmt == '-')
				sp.left = true;
			else if (*fmt == '0')
				sp.zero = true;
			else if (*fmt == '+')
				sp.plus = true;
			else if (*fmt == ' ')
				sp.space = true;
			else if (*fmt == '#')
				sp.alt = true;
			else
				break;
		}
		sp.width = parse_int(&fmt, &ap);
		if (sp.width < 0) {
			sp.left = true;
			sp.width = -sp.width;
		}
		if (*fmt == '.') {
			fmt++;
			sp.precision = parse_int(&fmt, &ap);
			if (sp.precision < 0)
				sp.precision = -1;
		}
		switch (*fmt) {
		case 'h':
			len = LEN_SHORT;
			if (*++fmt == 'h') {
				len = LEN_CHAR;
				fmt++;
			}
			break;
		case 'l':
			len = LEN_LONG;
			if (*++fmt == 'l') {
				len = LEN_LLONG;
				fmt++;
			}
			break;
		case 'z': len = LEN_SIZE; fmt++; break;
		case 't': len = LEN_PTRDIFF; fmt++; break;
		case 'j': len = LEN_MAX; fmt++; break;
		default: break;
		}

		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = arg_signed(&ap, len);
			uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

			out_number(&o, sp, mag, v < 0, 10, false, NULL);
			break;
		}
		case 'u':
			out_number(&o, sp, arg_unsigned(&ap, len), false, 10, false, NULL);
			break;
		case 'x':
			out_number(&o, sp, arg_unsigned(&ap, len), false, 16, false, "0x");
			break;
		case 'X':
			out_number(&o, sp, arg_unsigned(&ap, len), false, 16, true, "0X");
			break;
		case 'o':
			out_number(&o, sp, arg_unsigned(&ap, len), false, 8, false, "0");
			break;
		case 'p': {
			/* Kernel pointers: always 0x + 16 hex digits, like WinDbg shows them. */
			struct fmt_spec ps = sp;

			ps.alt = true;
			ps.precision = 16;
			uint64_t v = (uint64_t)(uintptr_t)va_arg(ap, void *);

			out_number(&o, ps, v, false, 16, false, "0x");
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);

			out_field(&o, &sp, "", 0, &c, 1);
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			size_t n;

			if (!s)
				s = "(null)";
			n = sp.precision >= 0 ? strnlen(s, (size_t)sp.precision) : strlen(s);
			sp.zero = false;
			out_field(&o, &sp, "", 0, s, (int)n);
			break;
		}
		case '%':
			out_chunk(&o, "%", 1);
			break;
		case '\0':
			fmt--; /* a lone '%' at the end: stop without reading past the string */
			break;
		default:
			/* Unknown conversion: print it so the mistake is visible. */
			out_chunk(&o, "%", 1);
			out_chunk(&o, fmt, 1);
			break;
		}
		fmt++;
	}
	va_end(ap);
	return o.total;
}

/* ---- sinks ---------------------------------------------------------------------------- */

/* Console output is gathered into a line-sized buffer so the UART sees bursts. */
struct console_sink {
	char buf[128];
	size_t used;
};

static void console_sink_flush(struct console_sink *cs)
{
	console_write(cs->buf, cs->used);
	cs->used = 0;
}

static void console_emit(void *opaque, const char *chunk, size_t len)
{
	struct console_sink *cs = opaque;

	while (len) {
		size_t n = sizeof(cs->buf) - cs->used;

		if (n > len)
			n = len;
		memcpy(cs->buf + cs->used, chunk, n);
		cs->used += n;
		chunk += n;
		len -= n;
		if (cs->used == sizeof(cs->buf))
			console_sink_flush(cs);
	}
}

int kvprintf(const char *fmt, va_list ap)
{
	struct console_sink cs = { .used = 0 };
	int n = kvformat(console_emit, &cs, fmt, ap);

	console_sink_flush(&cs);
	return n;
}

int kprintf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvprintf(fmt, ap);
	va_end(ap);
	return n;
}

struct buf_sink {
	char *buf;
	size_t size; /* room including the terminator */
	size_t used;
};

static void buf_emit(void *opaque, const char *chunk, size_t len)
{
	struct buf_sink *bs = opaque;

	if (bs->size == 0)
		return;
	if (bs->used + len > bs->size - 1)
		len = bs->size - 1 - bs->used;
	memcpy(bs->buf + bs->used, chunk, len);
	bs->used += len;
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct buf_sink bs = { .buf = buf, .size = size, .used = 0 };
	int n = kvformat(buf_emit, &bs, fmt, ap);

	if (size)
		buf[bs.used] = '\0';
	return n;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
