/* SPDX-License-Identifier: MIT */
/*
 * fuzz_frame.c - libFuzzer harness for the guest<->relay frame parser: whatever bytes the
 * (untrusted) peer sends, the parser never reads past its input, never produces a frame
 * larger than the limit, and yields the same frames whether the input comes whole or in
 * chunks. KD_PACKET payloads go through vmkd_frame_parse_kd, whose accepted lengths must
 * be consistent. vmkd_frame_decode agrees with a fresh parser about a frame at the start.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vmkd/vmkd_frame_parser.h"

#define MAX_FRAMES 256

struct seen {
	size_t count;
	uint8_t type[MAX_FRAMES];
	uint32_t len[MAX_FRAMES];
	uint32_t sum[MAX_FRAMES];
};

static struct vmkd_frame_parser parser;

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static void note(struct seen *s, const struct vmkd_frame *f)
{
	uint32_t sum = 0;
	uint16_t type;
	const uint8_t *kd;
	size_t kd_len;

	check(f->payload_len <= VMKD_FRAME_MAX_PAYLOAD);
	check(f->hdr.magic == VMKD_FRAME_MAGIC && f->hdr.version == VMKD_FRAME_VERSION);
	check(f->hdr.type > 0 && f->hdr.type < VMKD_FRAME_TYPE_MAX);
	check(f->payload_len == f->hdr.length);
	check((f->payload == NULL) == (f->payload_len == 0));
	for (size_t i = 0; i < f->payload_len; i++)
		sum = sum * 31 + f->payload[i];
	if (f->hdr.type == VMKD_FRAME_KD_PACKET &&
	    vmkd_frame_parse_kd(f->payload, f->payload_len, &type, &kd, &kd_len) == 0) {
		check(kd_len <= KD_MAX_PAYLOAD);
		check(kd == f->payload + sizeof(struct vmkd_kd_packet));
		check(kd_len + sizeof(struct vmkd_kd_packet) == f->payload_len);
	}
	if (s->count < MAX_FRAMES) {
		s->type[s->count] = f->hdr.type;
		s->len[s->count] = (uint32_t)f->payload_len;
		s->sum[s->count] = sum;
	}
	s->count++;
}

static void parse(const uint8_t *data, size_t len, size_t chunk, struct seen *s)
{
	size_t off = 0;

	vmkd_frame_parser_init(&parser);
	memset(s, 0, sizeof(*s));
	while (off < len) {
		size_t give = len - off < chunk ? len - off : chunk;
		struct vmkd_frame f;
		size_t used = vmkd_frame_parser_feed(&parser, data + off, give, &f);

		check(used > 0 && used <= give);
		off += used;
		if (f.complete)
			note(s, &f);
	}
}

/* A frame vmkd_frame_decode takes at the start of data is the parser's first frame, from
 * the same bytes, with nothing skipped; one it refuses is not produced at offset 0. */
static void decode_agrees(const uint8_t *data, size_t len)
{
	struct vmkd_frame d, f;
	size_t n = vmkd_frame_decode(data, len, &d), used;

	vmkd_frame_parser_init(&parser);
	used = vmkd_frame_parser_feed_in_place(&parser, data, len, &f);
	if (n) {
		check(d.complete && n <= len);
		check(n == sizeof(struct vmkd_frame_header) + d.payload_len);
		check(f.complete && used == n && parser.stats.skipped_bytes == 0);
		check(f.hdr.type == d.hdr.type && f.hdr.seq == d.hdr.seq);
		check(f.payload_len == d.payload_len && f.payload == d.payload);
	} else {
		check(!d.complete);
		check(!f.complete || parser.stats.skipped_bytes > 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen whole, chunked;
	size_t chunk;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] % 37 + 1;
	data++, size--;
	decode_agrees(data, size);
	parse(data, size, size ? size : 1, &whole);
	parse(data, size, chunk, &chunked);
	check(whole.count == chunked.count);
	for (size_t i = 0; i < whole.count && i < MAX_FRAMES; i++)
		check(whole.type[i] == chunked.type[i] && whole.len[i] == chunked.len[i] &&
		      whole.sum[i] == chunked.sum[i]);
	return 0;
}
