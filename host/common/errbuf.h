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

/* Formats the reason into err (if any) and returns -1, for `return errbuf_fail(...)`. */
static inline int errbuf_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline int errbuf_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

#endif
