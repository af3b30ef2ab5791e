/* SPDX-License-Identifier: MIT */
/* WinDbg-style memory dump formatting. */
#include "hexdump.h"

#include <string.h>

#define LINE_BYTES 16u

void hexdump_addr(char out[18], uint64_t addr)
{
	snprintf(out, 18, "%08x`%08x", (unsigned)(addr >> 32), (unsigned)addr);
}

static uint64_t load_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* One unit: hex digits, "??" per byte when any byte of it was not read. */
static void put_unit(FILE *out, const uint8_t *p, unsigned unit, int readable)
{
	uint64_t v;

	if (!readable) {
		if (unit == 8)
			fputs("????????`????????", out);
		else
			for (unsigned i = 0; i < unit * 2; i++)
				fputc('?', out);
		return;
	}
	v = load_le(p, unit);
	switch (unit) {
	case 1:
		fprintf(out, "%02x", (unsigned)v);
		break;
	case 2:
		fprintf(out, "%04x", (unsigned)v);
		break;
	case 4:
		fprintf(out, "%08x", (unsigned)v);
		break;
	default:
		fprintf(out, "%08x`%08x", (unsigned)(v >> 32), (unsigned)v);
		break;
	}
}

static unsigned unit_width(unsigned unit)
{
	return unit == 8 ? 17 : unit * 2;
}

size_t hexdump_format(FILE *out, uint64_t addr, const uint8_t *buf, size_t len, size_t valid,
		      unsigned unit, int physical)
{
	size_t lines = 0;

	if (unit != 1 && unit != 2 && unit != 4 && unit != 8)
		unit = 1;
	if (valid > len)
		valid = len;
	len -= len % unit;

	for (size_t off = 0; off < len; off += LINE_BYTES) {
		size_t n = len - off < LINE_BYTES ? len - off : LINE_BYTES;
		unsigned per_line = LINE_BYTES / unit;
		char a[18];

		if (physical) {
			fprintf(out, "#%8llx", (unsigned long long)(addr + off));
		} else {
			hexdump_addr(a, addr + off);
			fprintf(out, "%s ", a);
		}
		for (unsigned i = 0; i < per_line; i++) {
			size_t at = off + (size_t)i * unit;
			/* WinDbg splits a byte line in halves with '-'. */
			char sep = (unit == 1 && i == 8) ? '-' : ' ';

			if (at >= off + n) {
				if (unit != 1)
					break;
				fprintf(out, "%*s", (int)unit_width(unit) + 1, "");
				continue;
			}
			fputc(sep, out);
			put_unit(out, buf + at, unit, at + unit <= valid);
		}
		if (unit == 1) {
			fputs("  ", out);
			for (size_t i = 0; i < n; i++) {
				uint8_t c = buf[off + i];

				if (off + i >= valid)
					fputc('?', out);
				else
					fputc(c >= 0x20 && c < 0x7f ? c : '.', out);
			}
		}
		fputc('\n', out);
		lines++;
	}
	return lines;
}
