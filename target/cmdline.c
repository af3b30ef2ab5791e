/* SPDX-License-Identifier: MIT */
/* cmdline.c - kernel command line storage and key=value lookup. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cmdline.h"

static char cmdline_buf[CMDLINE_MAX];

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *skip_spaces(const char *p)
{
	while (*p && is_space(*p))
		p++;
	return p;
}

static size_t word_len(const char *p)
{
	size_t n = 0;

	while (p[n] && !is_space(p[n]))
		n++;
	return n;
}

void cmdline_init(const char *raw)
{
	const char *p = skip_spaces(raw ? raw : "");
	size_t n = word_len(p), i;
	bool has_eq = false, pathlike = false;

	for (i = 0; i < n; i++) {
		if (p[i] == '=')
			has_eq = true;
		if (p[i] == '/' || p[i] == '.')
			pathlike = true;
	}
	if (n && pathlike && !has_eq)
		p = skip_spaces(p + n);
	n = strnlen(p, sizeof(cmdline_buf) - 1);
	memcpy(cmdline_buf, p, n);
	/* Trailing blanks (QEMU adds one when -append is empty) are noise in the banner. */
	while (n && is_space(cmdline_buf[n - 1]))
		n--;
	cmdline_buf[n] = '\0';
}

const char *cmdline_raw(void)
{
	return cmdline_buf;
}

int cmdline_lookup(const char *line, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);
	const char *val = NULL;
	size_t vlen = 0;

	for (const char *p = skip_spaces(line); *p; p = skip_spaces(p)) {
		size_t n = word_len(p);

		if (n >= klen && strncmp(p, key, klen) == 0) {
			if (n == klen) {
				val = p + n;
				vlen = 0;
			} else if (p[klen] == '=') {
				val = p + klen + 1;
				vlen = n - klen - 1;
			}
		}
		p += n;
	}
	if (!val)
		return -1;
	if (size) {
		size_t c = vlen < size - 1 ? vlen : size - 1;

		memcpy(buf, val, c);
		buf[c] = '\0';
	}
	return (int)vlen;
}

int cmdline_get(const char *key, char *buf, size_t size)
{
	return cmdline_lookup(cmdline_buf, key, buf, size);
}

bool cmdline_has(const char *flag)
{
	return cmdline_lookup(cmdline_buf, flag, NULL, 0) >= 0;
}

uint64_t cmdline_get_u64(const char *key, uint64_t def)
{
	char v[24];
	const char *p = v;
	unsigned base = 10;
	uint64_t n = 0;
	int len = cmdline_get(key, v, sizeof(v));

	if (len <= 0 || (size_t)len >= sizeof(v)) /* absent, empty or too long */
		return def;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
		if (!*p)
			return def;
	}
	for (; *p; p++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			return def;
		n = n * base + d;
	}
	return n;
}
