/* SPDX-License-Identifier: MIT */
/* The recording format: writer (stdio) and a bounds-checked reader over bytes in memory. */
#include "record.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vmkd/kd_wire.h"

/* ---- little-endian helpers -------------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* ---- names -------------------------------------------------------------------------- */

static const char *const event_names[RECORD_EV_MAX] = {
	[RECORD_EV_GUEST_CONNECTED] = "guest connected",
	[RECORD_EV_GUEST_DISCONNECTED] = "guest disconnected",
	[RECORD_EV_GUEST_HELLO] = "guest hello",
	[RECORD_EV_DEBUGGER_CONNECTED] = "debugger connected",
	[RECORD_EV_DEBUGGER_DISCONNECTED] = "debugger disconnected",
};

static const char *const type_names[RECORD_TYPE_MAX] = {
	[RECORD_START] = "START",
	[RECORD_EVENT] = "EVENT",
	[RECORD_KD_WIRE] = "KD_WIRE",
	[RECORD_GUEST_KD] = "GUEST_KD",
};

const char *record_event_name(uint32_t event)
{
	return event < RECORD_EV_MAX && event_names[event] ? event_names[event] : "unknown event";
}

const char *record_type_name(uint8_t type)
{
	return type < RECORD_TYPE_MAX && type_names[type] ? type_names[type] : "UNKNOWN";
}

/* ---- writer ----------------------------------------------------------------------------- */

int record_writer_start(struct record_writer *w, FILE *f, const char *vm, uint64_t wall_us,
			uint64_t mono_us)
{
	uint8_t h[RECORD_FILE_HEADER];
	size_t n = strlen(vm);

	memset(w, 0, sizeof(*w));
	w->f = f;
	memset(h, 0, sizeof(h));
	memcpy(h, RECORD_MAGIC, RECORD_MAGIC_LEN);
	put16(h + 8, RECORD_VERSION);
	put16(h + 10, RECORD_FILE_HEADER);
	put32(h + 12, 0);
	put64(h + 16, wall_us);
	put64(h + 24, mono_us);
	if (fwrite(h, 1, sizeof(h), f) != sizeof(h)) {
		w->failed = 1;
		return -1;
	}
	w->bytes = sizeof(h);
	if (n >= RECORD_NAME_MAX)
		n = RECORD_NAME_MAX - 1;
	return record_write(w, RECORD_START, RECORD_DIR_NONE, 0, mono_us, vm, n, NULL, 0);
}

int record_writer_open(struct record_writer *w, const char *path, const char *vm,
		       uint64_t wall_us, uint64_t mono_us)
{
	FILE *f = fopen(path, "wbe");

	if (!f)
		return -1;
	if (record_writer_start(w, f, vm, wall_us, mono_us)) {
		int e = errno;

		fclose(f);
		w->f = NULL;
		errno = e;
		return -1;
	}
	return 0;
}

int record_write(struct record_writer *w, uint8_t type, uint8_t dir, uint16_t flags,
		 uint64_t time_us, const void *part1, size_t len1, const void *part2, size_t len2)
{
	uint8_t h[RECORD_HEADER];

	if (!w->f || w->failed || len1 + len2 > RECORD_MAX_BODY) {
		w->dropped++;
		return -1;
	}
	h[0] = type;
	h[1] = dir;
	put16(h + 2, flags);
	put32(h + 4, (uint32_t)(len1 + len2));
	put64(h + 8, time_us);
	if (fwrite(h, 1, sizeof(h), w->f) != sizeof(h) ||
	    (len1 && fwrite(part1, 1, len1, w->f) != len1) ||
	    (len2 && fwrite(part2, 1, len2, w->f) != len2)) {
		w->failed = 1;
		w->dropped++;
		return -1;
	}
	w->records++;
	w->bytes += sizeof(h) + len1 + len2;
	return 0;
}

int record_write_event(struct record_writer *w, uint64_t time_us, uint32_t event,
		       const char *text)
{
	uint8_t code[4];
	size_t n = text ? strlen(text) : 0;

	put32(code, event);
	if (n > RECORD_MAX_BODY - sizeof(code))
		n = RECORD_MAX_BODY - sizeof(code);
	return record_write(w, RECORD_EVENT, RECORD_DIR_NONE, 0, time_us, code, sizeof(code),
			    text, n);
}

void record_writer_flush(struct record_writer *w)
{
	if (w->f && fflush(w->f))
		w->failed = 1;
}

int record_writer_close(struct record_writer *w)
{
	int rc = w->failed ? -1 : 0;

	if (w->f && fclose(w->f))
		rc = -1;
	w->f = NULL;
	return rc;
}

/* ---- reader ------------------------------------------------------------------------------ */

__attribute__((format(printf, 3, 4)))
static int fail(struct record_reader *r, size_t off, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(r->err, sizeof(r->err), "offset %zu: ", off);

	va_start(ap, fmt);
	vsnprintf(r->err + n, sizeof(r->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

int record_reader_init(struct record_reader *r, const uint8_t *data, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->data = data;
	r->len = len;
	if (len < RECORD_MAGIC_LEN || memcmp(data, RECORD_MAGIC, RECORD_MAGIC_LEN))
		return fail(r, 0, "not a vmkd recording (no \"VMKDREC\" magic)");
	if (len < RECORD_FILE_HEADER)
		return fail(r, 0, "file header cut short (%zu of %u bytes)", len,
			    RECORD_FILE_HEADER);
	r->hdr.version = get16(data + 8);
	r->hdr.header_size = get16(data + 10);
	r->hdr.flags = get32(data + 12);
	r->hdr.start_wall_us = get64(data + 16);
	r->hdr.start_mono_us = get64(data + 24);
	if (r->hdr.version != RECORD_VERSION)
		return fail(r, 8, "recording version %u, this vmkd reads version %u",
			    r->hdr.version, RECORD_VERSION);
	if (r->hdr.header_size < RECORD_FILE_HEADER || r->hdr.header_size > len)
		return fail(r, 10, "bad file header size %u", r->hdr.header_size);
	r->off = r->hdr.header_size;
	return 0;
}

/* Checks a known record's body; fills r->vm from START. */
static int check_body(struct record_reader *r, const struct record *rec)
{
	switch (rec->type) {
	case RECORD_START:
		if (!rec->len || rec->len >= RECORD_NAME_MAX)
			return fail(r, rec->offset, "START record with a name of %u bytes",
				    rec->len);
		memcpy(r->vm, rec->body, rec->len);
		r->vm[rec->len] = '\0';
		for (size_t i = 0; i < rec->len; i++)
			if (rec->body[i] < 0x20 || rec->body[i] >= 0x7f)
				r->vm[i] = '?';
		return 0;
	case RECORD_EVENT:
		if (rec->len < 4)
			return fail(r, rec->offset, "EVENT record of %u bytes (at least 4)",
				    rec->len);
		return 0;
	case RECORD_KD_WIRE:
		if (!rec->len || (rec->dir != RECORD_DIR_DEBUGGER_TO_RELAY &&
				  rec->dir != RECORD_DIR_RELAY_TO_DEBUGGER))
			return fail(r, rec->offset, "KD_WIRE record with %u bytes, direction %u",
				    rec->len, rec->dir);
		return 0;
	case RECORD_GUEST_KD:
		if (rec->len < 4 || (rec->dir != RECORD_DIR_GUEST_TO_RELAY &&
				     rec->dir != RECORD_DIR_RELAY_TO_GUEST))
			return fail(r, rec->offset, "GUEST_KD record with %u bytes, direction %u",
				    rec->len, rec->dir);
		if (rec->len - 4 > KD_MAX_PAYLOAD)
			return fail(r, rec->offset, "GUEST_KD payload of %u bytes (at most %u)",
				    rec->len - 4, (unsigned)KD_MAX_PAYLOAD);
		return 0;
	default:
		return 0;
	}
}

int record_next(struct record_reader *r, struct record *rec)
{
	const uint8_t *h;
	size_t left = r->len - r->off;

	memset(rec, 0, sizeof(*rec));
	if (!left)
		return 0;
	if (left < RECORD_HEADER)
		return fail(r, r->off, "record header cut short (%zu of %u bytes): the "
			    "recording is truncated", left, RECORD_HEADER);
	h = r->data + r->off;
	rec->offset = r->off;
	rec->type = h[0];
	rec->dir = h[1];
	rec->flags = get16(h + 2);
	rec->len = get32(h + 4);
	rec->time_us = get64(h + 8);
	if (!rec->type)
		return fail(r, r->off, "record type 0");
	if (rec->len > RECORD_MAX_BODY)
		return fail(r, r->off, "%s record of %u bytes (at most %u)",
			    record_type_name(rec->type), rec->len, RECORD_MAX_BODY);
	if (rec->len > left - RECORD_HEADER)
		return fail(r, r->off, "%s record of %u bytes, only %zu left: the recording is "
			    "truncated", record_type_name(rec->type), rec->len,
			    left - RECORD_HEADER);
	rec->body = h + RECORD_HEADER;
	if (check_body(r, rec))
		return -1;
	r->off += RECORD_HEADER + rec->len;
	return 1;
}

int record_load_file(const char *path, size_t max, uint8_t **data, size_t *len, char *err,
		     size_t errlen)
{
	FILE *f = fopen(path, "rbe");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0;

	*data = NULL;
	*len = 0;
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t got;

		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			uint8_t *nb;

			if (cap >= max) {
				snprintf(err, errlen, "%s is larger than %zu bytes", path, max);
				goto fail;
			}
			if (ncap > max)
				ncap = max;
			nb = realloc(buf, ncap);
			if (!nb) {
				snprintf(err, errlen, "%s: out of memory", path);
				goto fail;
			}
			buf = nb;
			cap = ncap;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (!got) {
			if (ferror(f)) {
				snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
				goto fail;
			}
			break;
		}
	}
	fclose(f);
	*data = buf;
	*len = n;
	return 0;
fail:
	free(buf);
	fclose(f);
	return -1;
}

int record_path_expand(const char *pattern, const char *vm, char *out, size_t cap)
{
	size_t n = 0;

	for (const char *p = pattern; *p; p++) {
		const char *add = p;
		size_t k = 1;

		if (*p == '%') {
			if (p[1] == 'n') {
				add = vm;
				k = strlen(vm);
			} else if (p[1] != '%') {
				return -1;
			}
			p++;
		}
		if (n + k >= cap)
			return -1;
		memcpy(out + n, add, k);
		n += k;
	}
	if (n >= cap)
		return -1;
	out[n] = '\0';
	return 0;
}
