/* SPDX-License-Identifier: MIT */
/* Test helper: capture file loader and packet splitter (see capture.h). */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture.h"

#include "vmkd/kd_bytes.h"
#include "vmkd/kd_parser.h"

const char *capture_shared_dir(void)
{
	const char *dir = getenv("VMKD_SHARED");

	return dir && *dir ? dir : "../shared";
}

/* "[  3.504] RX 30 30 ..." -> *line; returns 0, or -1 if the line is not in that form. */
static int parse_line(const char *s, struct capture_line *line)
{
	uint64_t secs = 0, frac = 0, scale = 1000000;
	size_t cap, n = 0;

	while (*s == ' ')
		s++;
	if (*s++ != '[')
		return -1;
	while (*s == ' ')
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	while (isdigit((unsigned char)*s))
		secs = secs * 10 + (uint64_t)(*s++ - '0');
	if (*s == '.') {
		s++;
		while (isdigit((unsigned char)*s)) {
			scale /= 10;
			frac += (uint64_t)(*s++ - '0') * scale;
		}
	}
	if (*s++ != ']')
		return -1;
	while (*s == ' ')
		s++;
	if (!strncmp(s, "TX", 2))
		line->dir = CAPTURE_TX;
	else if (!strncmp(s, "RX", 2))
		line->dir = CAPTURE_RX;
	else
		return -1;
	s += 2;
	line->t_us = secs * 1000000 + frac;
	cap = strlen(s) / 3 + 1;
	line->bytes = malloc(cap);
	if (!line->bytes)
		return -1;
	for (;;) {
		int hi, lo;

		while (*s == ' ')
			s++;
		if (!*s || *s == '\n' || *s == '\r')
			break;
		hi = kd_hex_digit(s[0]);
		lo = hi < 0 ? -1 : kd_hex_digit(s[1]);
		if (lo < 0 || n == cap) {
			free(line->bytes);
			return -1;
		}
		line->bytes[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	line->len = n;
	return n ? 0 : -1;
}

struct capture *capture_load(const char *name)
{
	char path[4096];
	struct capture *c;
	char *text = NULL;
	size_t text_cap = 0, cap = 0;
	unsigned lineno = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/captures/%s", capture_shared_dir(), name);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	c = calloc(1, sizeof(*c));
	assert_non_null(c);
	while (getline(&text, &text_cap, f) > 0) {
		lineno++;
		if (text[0] == '\n' || text[0] == '#')
			continue;
		if (c->n == cap) {
			cap = cap ? 2 * cap : 256;
			c->lines = realloc(c->lines, cap * sizeof(*c->lines));
			assert_non_null(c->lines);
		}
		if (parse_line(text, &c->lines[c->n]))
			fail_msg("%s:%u: not a capture line", path, lineno);
		c->n++;
	}
	free(text);
	fclose(f);
	return c;
}

void capture_free(struct capture *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->lines[i].bytes);
	free(c->lines);
	free(c);
}

static void push_event(struct capture_events *out, size_t *cap, size_t line,
		       enum capture_dir dir, const struct kd_event *ev)
{
	struct capture_event *e;

	if (out->n == *cap) {
		*cap = *cap ? 2 * *cap : 256;
		out->ev = realloc(out->ev, *cap * sizeof(*out->ev));
		assert_non_null(out->ev);
	}
	e = &out->ev[out->n++];
	memset(e, 0, sizeof(*e));
	e->line = line;
	e->dir = dir;
	e->kind = ev->kind;
	e->hdr = ev->hdr;
	if (ev->payload_len) {
		e->payload = malloc(ev->payload_len);
		assert_non_null(e->payload);
		memcpy(e->payload, ev->payload, ev->payload_len);
		e->len = ev->payload_len;
	}
}

void capture_events(const struct capture *c, struct capture_events *out)
{
	struct kd_parser *parsers = calloc(2, sizeof(*parsers));
	size_t cap = 0;

	assert_non_null(parsers);
	memset(out, 0, sizeof(*out));
	kd_parser_init(&parsers[CAPTURE_TX]);
	kd_parser_init(&parsers[CAPTURE_RX]);
	for (size_t i = 0; i < c->n; i++) {
		const struct capture_line *line = &c->lines[i];
		struct kd_parser *p = &parsers[line->dir];
		const uint8_t *buf = line->bytes;
		size_t len = line->len;

		while (len) {
			struct kd_event ev;
			size_t used = kd_parser_feed(p, buf, len, &ev);

			buf += used;
			len -= used;
			if (ev.kind != KD_EV_NONE)
				push_event(out, &cap, i, line->dir, &ev);
		}
	}
	out->stats[CAPTURE_TX] = parsers[CAPTURE_TX].stats;
	out->stats[CAPTURE_RX] = parsers[CAPTURE_RX].stats;
	free(parsers);
}

void capture_events_free(struct capture_events *evs)
{
	for (size_t i = 0; i < evs->n; i++)
		free(evs->ev[i].payload);
	free(evs->ev);
	memset(evs, 0, sizeof(*evs));
}

size_t capture_count(const struct capture_events *evs, enum capture_dir dir,
		     enum kd_event_kind kind, int type)
{
	size_t n = 0;

	for (size_t i = 0; i < evs->n; i++) {
		const struct capture_event *e = &evs->ev[i];

		if (e->dir == dir && e->kind == kind && (type < 0 || e->hdr.type == type))
			n++;
	}
	return n;
}

uint32_t capture_api(const struct capture_event *ev)
{
	if (ev->len < 4)
		return 0;
	return (uint32_t)ev->payload[0] | (uint32_t)ev->payload[1] << 8 |
	       (uint32_t)ev->payload[2] << 16 | (uint32_t)ev->payload[3] << 24;
}

size_t capture_count_api(const struct capture_events *evs, enum capture_dir dir, uint16_t type,
			 uint32_t api)
{
	size_t n = 0;

	for (size_t i = 0; i < evs->n; i++) {
		const struct capture_event *e = &evs->ev[i];

		if (e->dir == dir && e->kind == KD_EV_DATA && e->hdr.type == type &&
		    capture_api(e) == api)
			n++;
	}
	return n;
}
