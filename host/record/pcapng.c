/* SPDX-License-Identifier: MIT */
/* A recording as pcapng: SHB, one IDB (LINKTYPE_USER0), an EPB per record. */
#include "pcapng.h"

#include <stdlib.h>
#include <string.h>

#define PAD4(n) (((n) + 3u) & ~(size_t)3u)

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

/* One option: code, length, value padded to 4 bytes. Returns the bytes written. */
static size_t option(uint8_t *p, uint16_t code, const void *val, uint16_t len)
{
	put16(p, code);
	put16(p + 2, len);
	memcpy(p + 4, val, len);
	memset(p + 4 + len, 0, PAD4(len) - len);
	return 4 + PAD4(len);
}

/* Writes a block: type, total length, body (a multiple of 4), total length again. */
static int block(FILE *out, uint32_t type, const uint8_t *body, size_t len)
{
	uint8_t h[8], t[4];

	put32(h, type);
	put32(h + 4, (uint32_t)(len + 12));
	put32(t, (uint32_t)(len + 12));
	return fwrite(h, 1, 8, out) == 8 && fwrite(body, 1, len, out) == len &&
	       fwrite(t, 1, 4, out) == 4 ? 0 : -1;
}

static int write_headers(FILE *out, const char *vm)
{
	uint8_t b[256];
	char name[RECORD_NAME_MAX + 8];
	uint8_t tsresol = 6;
	size_t n;

	/* SHB: byte-order magic, version 1.0, section length unknown (-1), no options but
	 * the end */
	put32(b, PCAPNG_BYTE_ORDER_MAGIC);
	put16(b + 4, 1);
	put16(b + 6, 0);
	memset(b + 8, 0xff, 8);
	put32(b + 16, 0); /* opt_endofopt */
	if (block(out, PCAPNG_SHB_TYPE, b, 20))
		return -1;
	/* IDB: link type, reserved, snaplen 0 (no limit), if_name, if_tsresol */
	put16(b, PCAPNG_LINKTYPE_VMKD);
	put16(b + 2, 0);
	put32(b + 4, 0);
	n = 8;
	snprintf(name, sizeof(name), "vmkd:%s", vm);
	n += option(b + n, 2, name, (uint16_t)strlen(name));
	n += option(b + n, 9, &tsresol, 1);
	put32(b + n, 0);
	n += 4;
	return block(out, PCAPNG_IDB_TYPE, b, n);
}

/* An EPB body: 20 bytes of fields, the packet padded, one option and the end. */
#define EPB_MAX (20u + PCAPNG_PSEUDO_HEADER + RECORD_MAX_BODY + 3u + 8u + 4u)

static int write_packet(FILE *out, const struct record_reader *r, const struct record *rec,
			uint8_t kind, uint8_t *b)
{
	uint64_t ts = r->hdr.start_wall_us + (rec->time_us >= r->hdr.start_mono_us ?
					     rec->time_us - r->hdr.start_mono_us : 0);
	uint32_t caplen = PCAPNG_PSEUDO_HEADER + rec->len, flags = 0;
	size_t n;

	if (rec->dir == RECORD_DIR_GUEST_TO_RELAY || rec->dir == RECORD_DIR_DEBUGGER_TO_RELAY)
		flags = 1; /* inbound */
	else if (rec->dir == RECORD_DIR_RELAY_TO_GUEST || rec->dir == RECORD_DIR_RELAY_TO_DEBUGGER)
		flags = 2; /* outbound */
	put32(b, 0);                      /* interface 0 */
	put32(b + 4, (uint32_t)(ts >> 32));
	put32(b + 8, (uint32_t)ts);
	put32(b + 12, caplen);
	put32(b + 16, caplen);
	b[20] = 1;
	b[21] = rec->dir;
	b[22] = kind;
	b[23] = rec->flags & RECORD_FLAG_FRAGMENT ? 1 : 0;
	memcpy(b + 24, rec->body, rec->len);
	n = 20 + caplen;
	memset(b + n, 0, PAD4(n) - n);
	n = PAD4(n);
	{
		uint8_t f[4];

		put32(f, flags);
		n += option(b + n, 2, f, 4); /* epb_flags */
	}
	put32(b + n, 0);
	n += 4;
	return block(out, PCAPNG_EPB_TYPE, b, n);
}

long pcapng_export(struct record_reader *r, FILE *out, char *err, size_t errlen)
{
	uint8_t *buf = malloc(EPB_MAX);
	struct record rec;
	int headers = 0, rc;
	long packets = 0;

	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}

	while ((rc = record_next(r, &rec)) == 1) {
		uint8_t kind;

		if (rec.type == RECORD_START && !headers) {
			if (write_headers(out, r->vm))
				goto io;
			headers = 1;
			continue;
		}
		if (rec.type == RECORD_KD_WIRE)
			kind = PCAPNG_KIND_KDCOM;
		else if (rec.type == RECORD_GUEST_KD)
			kind = PCAPNG_KIND_GUEST_KD;
		else if (rec.type == RECORD_EVENT)
			kind = PCAPNG_KIND_EVENT;
		else
			continue;
		if (!headers) {
			if (write_headers(out, "?"))
				goto io;
			headers = 1;
		}
		if (write_packet(out, r, &rec, kind, buf))
			goto io;
		packets++;
	}
	if (!headers && write_headers(out, r->vm[0] ? r->vm : "?"))
		goto io;
	free(buf);
	if (rc < 0) {
		snprintf(err, errlen, "%s", r->err);
		return -1;
	}
	return packets;
io:
	free(buf);
	snprintf(err, errlen, "cannot write the pcapng file");
	return -1;
}
