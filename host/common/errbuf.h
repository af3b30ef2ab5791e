/* SPDX-License-Identifier: MIT */
/*
 * errbuf.h - the host's convention for saying why something failed: a function that can
 * fail takes (char *err, size_t errlen) and writes a one-line reason there; a caller that
 * does not want it passes NULL or 0. Header-only, so parsers and their fuzz harnesses need
 * no extra source.
 */
#ifndef VMKD_HOST_ERRBUF_H
#define VMKD_HOST_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* Formats the reason into err, if the caller gave one. */
static inline void errbuf_vset(char *err, size_t errlen, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static inline void errbuf_vset(char *err, size_t errlen, const char *fmt, va_list ap)
{
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
}

static inline void errbuf_set(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline void errbuf_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errbuf_vset(err, errlen, fmt, ap);
	va_end(ap);
}

/* The same, returning rc: `return errbuf_fail_rc(err, errlen, -EPROTO, ...)`. */
static inline int errbuf_fail_rc(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static inline int errbuf_fail_rc(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errbuf_vset(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* The same, returning -1, for `return errbuf_fail(...)`. */
static inline int errbuf_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline int errbuf_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errbuf_vset(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

#endif
