/* SPDX-License-Identifier: MIT */
/* Memory commands beyond the d and e families: da / du (strings), dps / dqs (symbolized
 * pointers), s (search), .writemem / .readmem (memory to and from a file). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "commands_int.h"
#include "expr.h"
#include "hexdump.h"

#define SEARCH_MAX_BYTES (256u << 20)  /* WinDbg refuses larger ranges without L? too */
#define SEARCH_CHUNK 0x10000u
#define SEARCH_MAX_HITS 1000u
#define FILE_MAX_BYTES (256u << 20)    /* .writemem / .readmem */
#define PAGE 0x1000ull
#define STRING_DEFAULT 256u            /* da / du: characters at most, by default */
#define STRING_LINE 48u                /* characters per output line */
#define PTR_DEFAULT 16u

/* ---- da / du ---------------------------------------------------------------------- */

/* da / du [ADDR] [L COUNT]: a NUL-terminated ASCII / UTF-16 string, 48 characters a line. */
int cmdh_dstring(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	unsigned width = cmd->arg; /* 1 ASCII, 2 UTF-16 */
	uint64_t addr, count = STRING_DEFAULT;
	uint8_t buf[2 * 4096];
	size_t got = 0, n;
	int have;
	char a[18];

	if (cmd_parse_range(c, argc, argv, &addr, &have, &count))
		return -1;
	if (!have)
		return cmd_fail(c, "usage: %s", cmd->usage);
	if (count > sizeof(buf) / width)
		count = sizeof(buf) / width;
	if (session_read_virtual(c->s, addr, buf, (size_t)count * width, &got) && !got)
		return cmd_fail(c, "memory access error at %s", cmd_addr(a, addr));
	n = got / width;
	for (size_t i = 0; i < n;) {
		size_t line = 0;
		int end = 0;

		fprintf(c->out, "%s  \"", cmd_addr(a, addr + i * width));
		for (; i < n && line < STRING_LINE; i++, line++) {
			unsigned ch = width == 1 ? buf[i] : (unsigned)(buf[2 * i] | buf[2 * i + 1] << 8);

			if (!ch) {
				end = 1;
				break;
			}
			fputc(ch >= 0x20 && ch < 0x7f ? (int)ch : '.', c->out);
		}
		fprintf(c->out, "\"\n");
		if (end)
			break;
	}
	return 0;
}

/* ---- dps / dqs -------------------------------------------------------------------- */

int cmdh_dps(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	uint64_t addr, count = PTR_DEFAULT, buf[512];
	size_t got = 0;
	int have;
	char a[18], b[18], label[192];

	if (cmd_parse_range(c, argc, argv, &addr, &have, &count))
		return -1;
	if (!have) {
		if (!c->dump_valid)
			return cmd_fail(c, "usage: %s", cmd->usage);
		addr = c->dump_next;
	}
	if (count > sizeof(buf) / 8)
		count = sizeof(buf) / 8;
	if (session_read_virtual(c->s, addr, buf, (size_t)count * 8, &got) && !got)
		return cmd_fail(c, "memory access error at %s", cmd_addr(a, addr));
	for (size_t i = 0; i < count; i++) {
		if ((i + 1) * 8 > got) {
			fprintf(c->out, "%s  ????????`????????\n", cmd_addr(a, addr + 8 * i));
			continue;
		}
		if (!cmd_symbolize(c, buf[i], label, sizeof(label)))
			label[0] = '\0';
		fprintf(c->out, "%s  %s%s%s\n", cmd_addr(a, addr + 8 * i), cmd_addr(b, buf[i]),
			label[0] ? " " : "", label);
	}
	c->dump_next = addr + count * 8;
	c->dump_valid = 1;
	c->dump_unit = 8;
	c->dump_phys = 0;
	return 0;
}

/* ---- s ---------------------------------------------------------------------------- */

struct search {
	unsigned unit;          /* element size: matches are unit-aligned from the start */
	uint8_t pat[256];
	size_t len;
	char kind;              /* b w d q a u */
};

/* The pattern from argv[i..]: numbers of the unit size, or one string for -a / -u. */
static int search_pattern(struct cmd_ctx *c, struct search *s, int argc, char **argv, int i)
{
	if (i >= argc)
		return cmd_fail(c, "no pattern");
	if (s->kind == 'a' || s->kind == 'u') {
		const char *t = argv[i];

		if (i + 1 != argc)
			return cmd_fail(c, "one string (in quotes if it has blanks)");
		for (; *t; t++) {
			if (s->len + s->unit > sizeof(s->pat))
				return cmd_fail(c, "pattern too long");
			s->pat[s->len++] = (uint8_t)*t;
			if (s->unit == 2)
				s->pat[s->len++] = 0;
		}
		s->unit = 1; /* strings match at any byte */
		return s->len ? 0 : cmd_fail(c, "empty pattern");
	}
	for (; i < argc; i++) {
		uint64_t v;

		if (cmd_eval(c, argv[i], &v))
			return -1;
		if (s->unit < 8 && v >> (8 * s->unit))
			return cmd_fail(c, "value %s does not fit %u bytes", argv[i], s->unit);
		if (s->len + s->unit > sizeof(s->pat))
			return cmd_fail(c, "pattern too long");
		for (unsigned k = 0; k < s->unit; k++)
			s->pat[s->len++] = (uint8_t)(v >> (8 * k));
	}
	return 0;
}

static void search_hit(struct cmd_ctx *c, const struct search *s, uint64_t at, const uint8_t *p,
		       size_t avail)
{
	char a[18];

	fprintf(c->out, "%s ", cmd_addr(a, at));
	switch (s->kind) {
	case 'd':
		for (size_t k = 0; k + 4 <= avail && k < 16; k += 4)
			fprintf(c->out, " %08x", (unsigned)(p[k] | p[k + 1] << 8 | p[k + 2] << 16 |
							 (unsigned)p[k + 3] << 24));
		break;
	case 'q':
		for (size_t k = 0; k + 8 <= avail && k < 16; k += 8) {
			uint64_t v = 0;

			for (unsigned j = 0; j < 8; j++)
				v |= (uint64_t)p[k + j] << (8 * j);
			fprintf(c->out, " %s", cmd_addr(a, v));
		}
		break;
	case 'w':
		for (size_t k = 0; k + 2 <= avail && k < 16; k += 2)
			fprintf(c->out, " %04x", (unsigned)(p[k] | p[k + 1] << 8));
		break;
	default:
		for (size_t k = 0; k < avail && k < 16; k++)
			fprintf(c->out, "%s%02x", k == 8 ? "-" : " ", p[k]);
		fprintf(c->out, "  ");
		for (size_t k = 0; k < avail && k < 16; k++)
			fputc(p[k] >= 0x20 && p[k] < 0x7f ? p[k] : '.', c->out);
		break;
	}
	fputc('\n', c->out);
}

/* s -b|-w|-d|-q|-a|-u ADDR L COUNT PATTERN: COUNT in elements (bytes for -a/-u). Pages that
 * cannot be read are skipped. */
int cmdh_s(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	struct search s = { .unit = 1, .kind = 'b' };
	uint64_t addr, count, bytes, off = 0;
	unsigned hits = 0;
	uint8_t *buf;
	int i = 1, rc;

	if (i < argc && argv[i][0] == '-') {
		static const char kinds[] = "bwdqau";
		static const unsigned units[] = { 1, 2, 4, 8, 1, 2 };
		const char *k = strchr(kinds, argv[i][1]);

		if (!argv[i][1] || argv[i][2] || !k)
			return cmd_fail(c, "unknown flag '%s' (-b -w -d -q -a -u)", argv[i]);
		s.kind = *k;
		s.unit = units[k - kinds];
		i++;
	}
	if (i + 1 >= argc)
		return cmd_fail(c, "usage: %s", cmd->usage);
	if (cmd_eval(c, argv[i++], &addr))
		return -1;
	rc = expr_length(argc, argv, &i, &count);
	if (rc <= 0)
		return cmd_fail(c, "a length (L COUNT) is needed after the address");
	if (search_pattern(c, &s, argc, argv, i))
		return -1;
	bytes = count * (s.kind == 'a' || s.kind == 'u' ? 1 : s.unit);
	if (!count || count > SEARCH_MAX_BYTES || bytes > SEARCH_MAX_BYTES)
		return cmd_fail(c, "range too large (at most %u MiB)", SEARCH_MAX_BYTES >> 20);
	buf = malloc(SEARCH_CHUNK + sizeof(s.pat) + 16);
	if (!buf)
		return cmd_fail(c, "out of memory");
	/* Chunks overlap by the pattern's length so that no match across a seam is lost. */
	while (off < bytes && hits < SEARCH_MAX_HITS) {
		size_t want = bytes - off < SEARCH_CHUNK + s.len + 16 ? (size_t)(bytes - off) :
									 SEARCH_CHUNK + s.len + 16;
		size_t got = 0, scan;

		rc = session_read_virtual(c->s, addr + off, buf, want, &got);
		if (rc && rc != -EFAULT) {
			free(buf);
			return cmd_session_fail(c);
		}
		if (!got) {
			off = ((addr + off) & ~(PAGE - 1)) + PAGE - addr; /* next page */
			continue;
		}
		scan = got < want ? got : (want < SEARCH_CHUNK ? want : SEARCH_CHUNK);
		for (size_t k = 0; k < scan && hits < SEARCH_MAX_HITS; k += s.unit) {
			if (k + s.len <= got && !memcmp(buf + k, s.pat, s.len)) {
				search_hit(c, &s, addr + off + k, buf + k, got - k);
				hits++;
			}
		}
		off += scan;
		if (got < want) /* stopped at an unreadable page: go on after it */
			off = ((addr + off) & ~(PAGE - 1)) + PAGE - addr;
	}
	free(buf);
	if (hits == SEARCH_MAX_HITS)
		fprintf(c->out, "(stopped after %u hits)\n", SEARCH_MAX_HITS);
	return 0;
}

/* ---- .writemem / .readmem --------------------------------------------------------- */

/* FILE ADDR L?LEN (or L LEN). */
static int file_range(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv,
		      uint64_t *addr, uint64_t *len)
{
	int i = 2;

	if (argc < 4)
		return cmd_fail(c, "usage: %s", cmd->usage);
	if (cmd_eval(c, argv[i++], addr))
		return -1;
	if (expr_length(argc, argv, &i, len) != 1 || i != argc)
		return cmd_fail(c, "usage: %s", cmd->usage);
	if (!*len || *len > FILE_MAX_BYTES)
		return cmd_fail(c, "length must be 1 to %u MiB", FILE_MAX_BYTES >> 20);
	return 0;
}

int cmdh_writemem(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	uint64_t addr, len, done = 0;
	uint8_t buf[SEARCH_CHUNK];
	FILE *f;
	char a[18];
	int rc = 0;

	if (file_range(c, cmd, argc, argv, &addr, &len))
		return -1;
	f = fopen(argv[1], "wb");
	if (!f)
		return cmd_fail(c, "cannot create %s: %s", argv[1], strerror(errno));
	fprintf(c->out, "Writing %llx bytes", (unsigned long long)len);
	while (done < len) {
		size_t want = len - done < sizeof(buf) ? (size_t)(len - done) : sizeof(buf), got = 0;

		if (session_read_virtual(c->s, addr + done, buf, want, &got) || got != want) {
			fprintf(c->out, "\n");
			rc = cmd_fail(c, "memory access error at %s", cmd_addr(a, addr + done + got));
			break;
		}
		if (fwrite(buf, 1, got, f) != got) {
			fprintf(c->out, "\n");
			rc = cmd_fail(c, "cannot write %s: %s", argv[1], strerror(errno));
			break;
		}
		done += got;
		fputc('.', c->out);
	}
	if (fclose(f) && !rc)
		rc = cmd_fail(c, "cannot write %s: %s", argv[1], strerror(errno));
	if (!rc)
		fprintf(c->out, "\n");
	return rc;
}

int cmdh_readmem(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	uint64_t addr, len, done = 0;
	uint8_t buf[SEARCH_CHUNK];
	FILE *f;
	int rc = 0;

	if (file_range(c, cmd, argc, argv, &addr, &len))
		return -1;
	f = fopen(argv[1], "rb");
	if (!f)
		return cmd_fail(c, "cannot open %s: %s", argv[1], strerror(errno));
	while (done < len) {
		size_t want = len - done < sizeof(buf) ? (size_t)(len - done) : sizeof(buf);
		size_t n = fread(buf, 1, want, f);

		if (!n)
			break; /* the file is shorter: what it has is written */
		if (session_write_virtual(c->s, addr + done, buf, n)) {
			rc = cmd_session_fail(c);
			break;
		}
		done += n;
	}
	fclose(f);
	if (!rc)
		fprintf(c->out, "Reading %llx bytes.\n", (unsigned long long)done);
	return rc;
}
