/* SPDX-License-Identifier: MIT */
/* Stream parser: framing, every split point, resynchronisation, limits, statistics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmkd/kd_packet.h"
#include "vmkd/kd_parser.h"

/* ---- fixtures from the late-breakin capture (shared/captures) ---------------------- */

/* RX: the GetVersion reply, id 0x80800001. Its payload holds a 0x62 byte (KernBase). */
static const uint8_t cap_get_version_reply[] = {
	0x30, 0x30, 0x30, 0x30, 0x02, 0x00, 0x38, 0x00, 0x01, 0x00, 0x80, 0x80,
	0xa3, 0x0e, 0x00, 0x00, 0x46, 0x31, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0xce, 0x0e,
	0x06, 0x02, 0x06, 0x00, 0x64, 0x86, 0x0c, 0x03, 0x31, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x40, 0x00, 0x00, 0xf8, 0xff, 0xff, 0x80, 0xcc, 0x62, 0x00,
	0x00, 0xf8, 0xff, 0xff, 0x30, 0xab, 0x61, 0x00, 0x00, 0xf8, 0xff, 0xff,
	0xaa,
};

/* RX: the kernel's ACK of the GetVersion request. */
static const uint8_t cap_ack[] = {
	0x69, 0x69, 0x69, 0x69, 0x04, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x80, 0x80, 0x00, 0x00, 0x00, 0x00,
};

#define CAP_REPLY_PAYLOAD (cap_get_version_reply + KD_HEADER_SIZE)
#define CAP_REPLY_LEN     0x38u

/* ---- a growable byte stream to build test input ------------------------------------ */

struct stream {
	uint8_t *buf;
	size_t len;
	size_t cap;
};

static void stream_reserve(struct stream *s, size_t more)
{
	if (s->len + more <= s->cap)
		return;
	while (s->len + more > s->cap)
		s->cap = s->cap ? s->cap * 2 : 4096;
	s->buf = realloc(s->buf, s->cap);
	assert_non_null(s->buf);
}

static void put_bytes(struct stream *s, const void *bytes, size_t n)
{
	stream_reserve(s, n);
	memcpy(s->buf + s->len, bytes, n);
	s->len += n;
}

static void put_byte(struct stream *s, uint8_t b)
{
	put_bytes(s, &b, 1);
}

static void put_text(struct stream *s, const char *text)
{
	put_bytes(s, text, strlen(text));
}

static void put_data(struct stream *s, uint16_t type, uint32_t id, const void *payload,
		     size_t len)
{
	size_t n;

	stream_reserve(s, KD_MAX_PACKET_BYTES);
	n = kd_packet_build(s->buf + s->len, KD_MAX_PACKET_BYTES, type, id, payload, len, NULL, 0);
	assert_int_equal(n, KD_HEADER_SIZE + len + 1);
	s->len += n;
}

static void put_ctrl(struct stream *s, uint16_t type, uint32_t id)
{
	stream_reserve(s, KD_HEADER_SIZE);
	s->len += kd_control_build(s->buf + s->len, type, id);
}

/* A raw data-packet header with any byte count and checksum (for malformed packets). */
static void put_raw_header(struct stream *s, uint16_t type, uint16_t count, uint32_t id,
			   uint32_t checksum)
{
	struct kd_packet_header h = {
		.leader = KD_PACKET_LEADER, .type = type, .byte_count = count,
		.id = id, .checksum = checksum,
	};

	put_bytes(s, &h, sizeof(h)); /* the wire is little endian, so is the host */
}

static void stream_free(struct stream *s)
{
	free(s->buf);
	s->buf = NULL;
	s->len = s->cap = 0;
}

/* ---- an event log that records what a feed produced --------------------------------- */

#define MAX_EVENTS 64

struct rec {
	enum kd_event_kind kind;
	struct kd_packet_header hdr;
	size_t payload_len;
	uint32_t payload_hash;
	size_t end; /* stream offset just past the byte that completed the event */
};

struct ev_log {
	size_t n; /* every event is counted; the first MAX_EVENTS are kept */
	struct rec ev[MAX_EVENTS];
	uint64_t payload_bytes;
	uint32_t payload_sums; /* running sum of every payload byte seen */
};

/* FNV-1a: unlike the KD checksum it also sees the order of the bytes. */
static uint32_t hash_bytes(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void log_event(struct ev_log *lg, const struct kd_event *ev, size_t end)
{
	struct rec *r;

	/* The header promises payload bytes (or NULL) for exactly these kinds. */
	if (ev->payload_len)
		assert_non_null(ev->payload);
	else
		assert_null(ev->payload);
	assert_true(ev->payload_len <= KD_MAX_PAYLOAD);
	lg->payload_bytes += ev->payload_len;
	lg->payload_sums += kd_checksum(ev->payload, ev->payload_len);
	if (lg->n < MAX_EVENTS) {
		r = &lg->ev[lg->n];
		r->kind = ev->kind;
		if (ev->kind == KD_EV_BREAKIN)
			memset(&r->hdr, 0, sizeof(r->hdr)); /* not valid for break-ins */
		else
			r->hdr = ev->hdr;
		r->payload_len = ev->payload_len;
		r->payload_hash = hash_bytes(ev->payload, ev->payload_len); /* NULL iff 0 */
		r->end = end;
	}
	lg->n++;
}

/* Feeds all of buf the way the header's loop does; base is buf's offset in the stream.
 * Every call must make progress and stay inside the buffer. */
static void feed_chunk(struct kd_parser *p, const uint8_t *buf, size_t len, size_t base,
		       struct ev_log *lg)
{
	size_t off = 0;

	while (off < len) {
		struct kd_event ev;
		size_t used = kd_parser_feed(p, buf + off, len - off, &ev);

		assert_true(used > 0);
		assert_true(used <= len - off);
		off += used;
		if (ev.kind != KD_EV_NONE)
			log_event(lg, &ev, base + off);
	}
}

static void feed_chunks(struct kd_parser *p, const uint8_t *buf, size_t len, size_t chunk,
			struct ev_log *lg)
{
	for (size_t off = 0; off < len; off += chunk)
		feed_chunk(p, buf + off, len - off < chunk ? len - off : chunk, off, lg);
}

static void parse_whole(struct kd_parser *p, const uint8_t *buf, size_t len, struct ev_log *lg)
{
	memset(lg, 0, sizeof(*lg));
	kd_parser_init(p);
	feed_chunk(p, buf, len, 0, lg);
}

/* What a test expects of one event. */
struct want {
	enum kd_event_kind kind;
	uint16_t type;
	uint32_t id;
	size_t payload_len;
	size_t end;
};

static void assert_log(const struct ev_log *lg, const struct want *want, size_t n)
{
	assert_int_equal(lg->n, n);
	for (size_t i = 0; i < n; i++) {
		const struct rec *r = &lg->ev[i];

		assert_string_equal(kd_event_kind_name(r->kind), kd_event_kind_name(want[i].kind));
		assert_int_equal(r->end, want[i].end);
		assert_int_equal(r->payload_len, want[i].payload_len);
		if (want[i].kind == KD_EV_BREAKIN)
			continue;
		assert_int_equal(r->hdr.type, want[i].type);
		assert_int_equal(r->hdr.id, want[i].id);
	}
}

static void assert_same_log(const struct ev_log *a, const struct ev_log *b)
{
	assert_int_equal(a->n, b->n);
	assert_int_equal(a->payload_bytes, b->payload_bytes);
	assert_int_equal(a->payload_sums, b->payload_sums);
	for (size_t i = 0; i < a->n && i < MAX_EVENTS; i++) {
		assert_int_equal(a->ev[i].kind, b->ev[i].kind);
		assert_int_equal(a->ev[i].end, b->ev[i].end);
		assert_int_equal(a->ev[i].payload_len, b->ev[i].payload_len);
		assert_int_equal(a->ev[i].payload_hash, b->ev[i].payload_hash);
		assert_memory_equal(&a->ev[i].hdr, &b->ev[i].hdr, sizeof(a->ev[i].hdr));
	}
}

static void assert_same_stats(const struct kd_parser_stats *a, const struct kd_parser_stats *b)
{
	assert_int_equal(a->bytes, b->bytes);
	assert_int_equal(a->data_packets, b->data_packets);
	assert_int_equal(a->control_packets, b->control_packets);
	assert_int_equal(a->breakins, b->breakins);
	assert_int_equal(a->garbage_bytes, b->garbage_bytes);
	assert_int_equal(a->bad_checksum, b->bad_checksum);
	assert_int_equal(a->bad_trailer, b->bad_trailer);
	assert_int_equal(a->bad_length, b->bad_length);
}

/* One parser is 4 KB+; keep the ones the tests use off the stack. */
static struct kd_parser parser, parser2;
static struct ev_log evs_a, evs_b;

/* ---- whole packets ----------------------------------------------------------------- */

static void data_packet_whole(void **state)
{
	(void)state;
	struct kd_event ev;
	size_t used;

	kd_parser_init(&parser);
	used = kd_parser_feed(&parser, cap_get_version_reply, sizeof(cap_get_version_reply), &ev);
	assert_int_equal(used, sizeof(cap_get_version_reply));
	assert_int_equal(ev.kind, KD_EV_DATA);
	assert_int_equal(ev.hdr.leader, KD_PACKET_LEADER);
	assert_int_equal(ev.hdr.type, KD_PACKET_TYPE_STATE_MANIPULATE);
	assert_int_equal(ev.hdr.byte_count, CAP_REPLY_LEN);
	assert_int_equal(ev.hdr.id, 0x80800001u);
	assert_int_equal(ev.hdr.checksum, 0x0ea3);
	assert_int_equal(ev.payload_len, CAP_REPLY_LEN);
	assert_memory_equal(ev.payload, CAP_REPLY_PAYLOAD, CAP_REPLY_LEN);
	assert_int_equal(parser.stats.data_packets, 1);
	assert_int_equal(parser.stats.bytes, sizeof(cap_get_version_reply));
	assert_int_equal(parser.state, KD_PARSE_LEADER);
}

static void control_packet_whole(void **state)
{
	(void)state;
	struct kd_event ev;
	size_t used;

	kd_parser_init(&parser);
	used = kd_parser_feed(&parser, cap_ack, sizeof(cap_ack), &ev);
	assert_int_equal(used, KD_HEADER_SIZE);
	assert_int_equal(ev.kind, KD_EV_CONTROL);
	assert_int_equal(ev.hdr.leader, KD_CONTROL_LEADER);
	assert_int_equal(ev.hdr.type, KD_PACKET_TYPE_ACKNOWLEDGE);
	assert_int_equal(ev.hdr.byte_count, 0);
	assert_int_equal(ev.hdr.id, 0x80800000u);
	assert_int_equal(ev.hdr.checksum, 0);
	assert_null(ev.payload);
	assert_int_equal(ev.payload_len, 0);
	assert_int_equal(parser.stats.control_packets, 1);
	assert_int_equal(parser.stats.data_packets, 0);
}

/* feed stops at the byte that completes an event, so a caller sees each packet alone. */
static void feed_stops_after_each_event(void **state)
{
	(void)state;
	struct stream s = { 0 };
	struct kd_event ev;
	size_t used;

	put_bytes(&s, cap_ack, sizeof(cap_ack));
	put_bytes(&s, cap_get_version_reply, sizeof(cap_get_version_reply));
	put_text(&s, "zz");
	kd_parser_init(&parser);
	used = kd_parser_feed(&parser, s.buf, s.len, &ev);
	assert_int_equal(used, sizeof(cap_ack));
	assert_int_equal(ev.kind, KD_EV_CONTROL);
	used = kd_parser_feed(&parser, s.buf + 16, s.len - 16, &ev);
	assert_int_equal(used, sizeof(cap_get_version_reply));
	assert_int_equal(ev.kind, KD_EV_DATA);
	used = kd_parser_feed(&parser, s.buf + 16 + used, 2, &ev);
	assert_int_equal(used, 2);
	assert_int_equal(ev.kind, KD_EV_NONE);
	assert_null(ev.payload);
	assert_int_equal(ev.payload_len, 0);
	used = kd_parser_feed(&parser, s.buf, 0, &ev);
	assert_int_equal(used, 0);
	assert_int_equal(ev.kind, KD_EV_NONE);
	assert_int_equal(parser.stats.garbage_bytes, 2);
	stream_free(&s);
}

static void byte_by_byte(void **state)
{
	(void)state;
	struct stream s = { 0 };
	struct kd_event ev;
	size_t events = 0;

	put_bytes(&s, cap_get_version_reply, sizeof(cap_get_version_reply));
	put_bytes(&s, cap_ack, sizeof(cap_ack));
	kd_parser_init(&parser);
	for (size_t i = 0; i < s.len; i++) {
		assert_int_equal(kd_parser_feed(&parser, s.buf + i, 1, &ev), 1);
		if (i == sizeof(cap_get_version_reply) - 1) {
			assert_int_equal(ev.kind, KD_EV_DATA);
			assert_int_equal(ev.hdr.id, 0x80800001u);
			assert_int_equal(ev.payload_len, CAP_REPLY_LEN);
			assert_memory_equal(ev.payload, CAP_REPLY_PAYLOAD, CAP_REPLY_LEN);
			events++;
		} else if (i == s.len - 1) {
			assert_int_equal(ev.kind, KD_EV_CONTROL);
			assert_int_equal(ev.hdr.type, KD_PACKET_TYPE_ACKNOWLEDGE);
			events++;
		} else {
			assert_int_equal(ev.kind, KD_EV_NONE);
		}
	}
	assert_int_equal(events, 2);
	assert_int_equal(parser.stats.bytes, s.len);
	assert_int_equal(parser.stats.garbage_bytes, 0);
	stream_free(&s);
}

/* ---- every split point ------------------------------------------------------------- */

/*
 * A stream with one of everything: noise, a break-in, a data packet, a control packet, an
 * empty data packet, a bad checksum, a bad length, a missing trailer, and a last packet.
 * Fed whole it must give exactly `want`; fed in two parts at every offset, in chunks of
 * every size up to 64, or byte by byte it must give the same events at the same offsets.
 */
static void build_mixed_stream(struct stream *s, struct want *want, size_t *n)
{
	uint8_t bad[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	size_t k = 0;

	put_text(s, "Loader: ok\r\n"); /* no '0', 'i' or 'b' in it */
	put_byte(s, KD_BREAKIN_BYTE);
	want[k++] = (struct want){ KD_EV_BREAKIN, 0, 0, 0, s->len };
	put_bytes(s, cap_get_version_reply, sizeof(cap_get_version_reply));
	want[k++] = (struct want){ KD_EV_DATA, 2, 0x80800001u, CAP_REPLY_LEN, s->len };
	put_bytes(s, cap_ack, sizeof(cap_ack));
	want[k++] = (struct want){ KD_EV_CONTROL, 4, 0x80800000u, 0, s->len };
	put_data(s, KD_PACKET_TYPE_DEBUG_IO, 0x80800800u, NULL, 0);
	want[k++] = (struct want){ KD_EV_DATA, 3, 0x80800800u, 0, s->len };
	put_raw_header(s, 2, sizeof(bad), 0x80800000u, 0x1234);
	put_bytes(s, bad, sizeof(bad));
	put_byte(s, KD_PACKET_TRAILER);
	want[k++] = (struct want){ KD_EV_BAD_CHECKSUM, 2, 0x80800000u, sizeof(bad), s->len };
	put_byte(s, KD_BREAKIN_BYTE);
	want[k++] = (struct want){ KD_EV_BREAKIN, 0, 0, 0, s->len };
	put_raw_header(s, 7, KD_MAX_PAYLOAD + 1, 0x80800001u, 0);
	want[k++] = (struct want){ KD_EV_BAD_LENGTH, 7, 0x80800001u, 0, s->len };
	put_raw_header(s, 3, sizeof(bad), 0x80800001u, kd_checksum(bad, sizeof(bad)));
	put_bytes(s, bad, sizeof(bad));
	put_text(s, "x"); /* where the trailer should be */
	want[k++] = (struct want){ KD_EV_BAD_TRAILER, 3, 0x80800001u, sizeof(bad), s->len };
	put_text(s, "000"); /* "iii" would merge with the leader that follows */
	put_ctrl(s, KD_PACKET_TYPE_RESET, 0);
	want[k++] = (struct want){ KD_EV_CONTROL, 6, 0, 0, s->len };
	put_data(s, KD_PACKET_TYPE_STATE_MANIPULATE, 0x80800000u, "0000iiiibbbb", 12);
	want[k++] = (struct want){ KD_EV_DATA, 2, 0x80800000u, 12, s->len };
	put_text(s, "00");
	*n = k;
}

static void every_two_way_split(void **state)
{
	(void)state;
	struct stream s = { 0 };
	struct want want[16];
	size_t n;

	build_mixed_stream(&s, want, &n);
	parse_whole(&parser, s.buf, s.len, &evs_a);
	assert_log(&evs_a, want, n);
	for (size_t split = 0; split <= s.len; split++) {
		memset(&evs_b, 0, sizeof(evs_b));
		kd_parser_init(&parser2);
		feed_chunk(&parser2, s.buf, split, 0, &evs_b);
		feed_chunk(&parser2, s.buf + split, s.len - split, split, &evs_b);
		assert_same_log(&evs_a, &evs_b);
		assert_same_stats(&parser.stats, &parser2.stats);
	}
	stream_free(&s);
}

static void every_chunk_size(void **state)
{
	(void)state;
	struct stream s = { 0 };
	struct want want[16];
	size_t n;

	build_mixed_stream(&s, want, &n);
	parse_whole(&parser, s.buf, s.len, &evs_a);
	for (size_t chunk = 1; chunk <= 64; chunk++) {
		memset(&evs_b, 0, sizeof(evs_b));
		kd_parser_init(&parser2);
		feed_chunks(&parser2, s.buf, s.len, chunk, &evs_b);
		assert_same_log(&evs_a, &evs_b);
		assert_same_stats(&parser.stats, &parser2.stats);
	}
	stream_free(&s);
}

/* Three-way splits around the header, where most state changes happen. */
static void three_way_splits_of_a_packet_pair(void **state)
{
	(void)state;
	struct stream s = { 0 };
	const struct want want[] = {
		{ KD_EV_CONTROL, 4, 0x80800000u, 0, 16 },
		{ KD_EV_DATA, 2, 0x80800001u, CAP_REPLY_LEN, 16 + sizeof(cap_get_version_reply) },
	};

	put_bytes(&s, cap_ack, sizeof(cap_ack));
	put_bytes(&s, cap_get_version_reply, sizeof(cap_get_version_reply));
	for (size_t a = 0; a <= s.len; a++) {
		for (size_t b = a; b <= s.len; b++) {
			memset(&evs_b, 0, sizeof(evs_b));
			kd_parser_init(&parser2);
			feed_chunk(&parser2, s.buf, a, 0, &evs_b);
			feed_chunk(&parser2, s.buf + a, b - a, a, &evs_b);
			feed_chunk(&parser2, s.buf + b, s.len - b, b, &evs_b);
			assert_log(&evs_b, want, 2);
		}
	}
	stream_free(&s);
}

/* ---- garbage and leader search ----------------------------------------------------- */

static void garbage_before_a_packet(void **state)
{
	(void)state;
	struct stream s = { 0 };
	const struct want want[] = {
		{ KD_EV_DATA, 2, 0x80800001u, CAP_REPLY_LEN, 8 + sizeof(cap_get_version_reply) },
	};

	put_text(&s, "000");       /* a leader that never completes */
	put_text(&s, "junk");
	put_byte(&s, 0xaa);        /* a stray trailer byte */
	put_bytes(&s, cap_get_version_reply, sizeof(cap_get_version_reply));
	parse_whole(&parser, s.buf, s.len, &evs_a);
	assert_log(&evs_a, want, 1);
	assert_int_equal(parser.stats.garbage_bytes, 8);
	assert_int_equal(parser.stats.data_packets, 1);
	stream_free(&s);
}

static void garbage_between_packets(void **state)
{
	(void)state;
	struct stream s = { 0 };
	struct want want[3];

	put_bytes(&s, cap_ack, sizeof(cap_ack));
	want[0] = (struct want){ KD_EV_CONTROL, 4, 0x80800000u, 0, s.len };
	put_bytes(&s, "0i0i00ii000iii\x00\xff", 16);
	put_bytes(&s, cap_get_version_reply, sizeof(cap_get_version_reply));
	want[1] = (struct want){ KD_EV_DATA, 2, 0x80800001u, CAP_REPLY_LEN, s.len };
	put_text(&s, "\r\n");
	put_ctrl(&s, KD_PACKET_TYPE_RESEND, 0);
	want[2] = (struct want){ KD_EV_CONTROL, 5, 0, 0, s.len };
	parse_whole(&parser, s.buf, s.len, &evs_a);
	assert_log(&evs_a, want, 3);
	assert_int_equal(parser.stats.garbage_bytes, 16 + 2);
	assert_int_equal(parser.stats.control_packets, 2);
	stream_free(&s);
}

/* Noise inside a leader restarts the hunt; noise inside a payload is caught by the checksum. */
static void garbage_inside_packets(void **state)
{
	(void)state;
	struct stream s = { 0 };
	struct want want[3];
	uint8_t corrupt[sizeof(cap_get_version_reply)];

	put_text(&s, "00x");
	put_text(&s, "ii");
	put_byte(&s, 0);
	put_bytes(&s, cap_ack, sizeof(cap_ack));
	want[0] = (struct want){ KD_EV_CONTROL, 4, 0x80800000u, 0, s.len };
	memcpy(corrupt, cap_get_version_reply, sizeof(corrupt));
	corrupt[KD_HEADER_SIZE + 20] ^= 0x10; /* one flipped bit in the payload */
	put_bytes(&s, corrupt, sizeof(corrupt));
	want[1] = (struct want){ KD_EV_BAD_CHECKSUM, 2, 0x80800001u, CAP_REPLY_LEN, s.len };
	put_bytes(&s, cap_get_version_reply, sizeof(cap_get_version_reply));
	want[2] = (struct want){ KD_EV_DATA, 2, 0x80800001u, CAP_REPLY_LEN, s.len };
	parse_whole(&parser, s.buf, s.len, &evs_a);
	assert_log(&evs_a, want, 3);
	assert_int_equal(parser.stats.garbage_bytes, 6);
	assert_int_equal(parser.stats.bad_checksum, 1);
	assert_int_equal(parser.stats.data_packets, 1);
	stream_free(&s);
}

/* "iii" then "0000": the different leader byte restarts the count with itself as first. */
static void leader_switch(void **state)
{
	(void)state;
	struct stream s = { 0 };
	struct want want[2];

	put_text(&s, "iii");
	put_bytes(&s, cap_get_version_reply, sizeof(cap_get_version_reply));
	want[0] = (struct want){ KD_EV_DATA, 2, 0x80800001u, CAP_REPLY_LEN, s.len };
	put_text(&s, "000");
	put_bytes(&s, cap_ack, sizeof(cap_ack));
	want[1] = (struct want){ KD_EV_CONTROL, 4, 0x80800000u, 0, s.len };
	parse_whole(&parser, s.buf, s.len, &evs_a);
	assert_log(&evs_a, want, 2);
	assert_int_equal(parser.stats.garbage_bytes, 6);
	stream_free(&s);
}

/* Five '0's: the leader is the first four, the fifth is already the type's low byte. */
static void leader_run_longer_than_four(void **state)
{
	(void)state;
	const uint8_t bytes[] = { '0', '0', '0', '0', '0', 0x00, 0x00, 0x00, 0x01, 0x00,
				  0x80, 0x80, 0x00, 0x00, 0x00, 0x00, 0xaa };
	struct kd_event ev;

	kd_parser_init(&parser);
	assert_int_equal(kd_parser_feed(&parser, bytes, sizeof(bytes), &ev), sizeof(bytes));
	assert_int_equal(ev.kind, KD_EV_DATA);
	assert_int_equal(ev.hdr.type, 0x30);
	assert_int_equal(ev.hdr.byte_count, 0);
	assert_int_equal(ev.hdr.id, 0x80800001u);
	assert_int_equal(parser.stats.garbage_bytes, 0);
}

/* ---- malformed packets ------------------------------------------------------------- */

static void bad_checksum_reports_payload(void **state)
{
	(void)state;
	static const uint8_t payload[] = { 0x46, 0x31, 0x00, 0x00, 0x99 };
	struct stream s = { 0 };
	struct kd_event ev;
	size_t used;

	put_raw_header(&s, KD_PACKET_TYPE_STATE_MANIPULATE, sizeof(payload), 0x80800000u, 0x77);
	put_bytes(&s, payload, sizeof(payload));
	put_byte(&s, KD_PACKET_TRAILER);
	put_bytes(&s, cap_ack, sizeof(cap_ack));
	kd_parser_init(&parser);
	used = kd_parser_feed(&parser, s.buf, s.len, &ev);
	assert_int_equal(used, KD_HEADER_SIZE + sizeof(payload) + 1);
	assert_int_equal(ev.kind, KD_EV_BAD_CHECKSUM);
	assert_int_equal(ev.hdr.checksum, 0x77);
	assert_int_equal(ev.hdr.byte_count, sizeof(payload));
	assert_int_equal(ev.payload_len, sizeof(payload));
	assert_memory_equal(ev.payload, payload, sizeof(payload));
	assert_int_not_equal(kd_checksum(ev.payload, ev.payload_len), ev.hdr.checksum);
	assert_int_equal(parser.stats.bad_checksum, 1);
	assert_int_equal(parser.stats.data_packets, 0);
	/* The next packet is parsed normally. */
	assert_int_equal(kd_parser_feed(&parser, s.buf + used, s.len - used, &ev), 16);
	assert_int_equal(ev.kind, KD_EV_CONTROL);
	stream_free(&s);
}

/* A count over the limit is refused at the header: not one payload byte is taken, so a
 * good packet right behind the bad header is found. */
static void check_bad_length(uint16_t count)
{
	struct stream s = { 0 };
	struct kd_event ev;
	size_t used, off;

	put_raw_header(&s, KD_PACKET_TYPE_STATE_MANIPULATE, count, 0x80800000u, 0);
	put_bytes(&s, cap_get_version_reply, sizeof(cap_get_version_reply));
	kd_parser_init(&parser);
	used = kd_parser_feed(&parser, s.buf, s.len, &ev);
	assert_int_equal(used, KD_HEADER_SIZE);
	assert_int_equal(ev.kind, KD_EV_BAD_LENGTH);
	assert_int_equal(ev.hdr.byte_count, count);
	assert_int_equal(ev.hdr.leader, KD_PACKET_LEADER);
	assert_null(ev.payload);
	assert_int_equal(ev.payload_len, 0);
	assert_int_equal(parser.state, KD_PARSE_LEADER);
	off = used;
	used = kd_parser_feed(&parser, s.buf + off, s.len - off, &ev);
	assert_int_equal(used, sizeof(cap_get_version_reply));
	assert_int_equal(ev.kind, KD_EV_DATA);
	assert_int_equal(ev.hdr.id, 0x80800001u);
	assert_memory_equal(ev.payload, CAP_REPLY_PAYLOAD, CAP_REPLY_LEN);
	assert_int_equal(parser.stats.bad_length, 1);
	assert_int_equal(parser.stats.data_packets, 1);
	assert_int_equal(parser.stats.garbage_bytes, 0);
	assert_int_equal(parser.stats.bytes, s.len);
	stream_free(&s);
}

static void bad_length_4001(void **state)
{
	(void)state;
	check_bad_length(KD_MAX_PAYLOAD + 1);
}

static void bad_length_ffff(void **state)
{
	(void)state;
	check_bad_length(0xffff);
}

/* The same bad header split byte by byte: still 16 bytes and no payload read. */
static void bad_length_byte_by_byte(void **state)
{
	(void)state;
	struct stream s = { 0 };
	const struct want want[] = {
		{ KD_EV_BAD_LENGTH, 2, 0x80800000u, 0, 16 },
		{ KD_EV_CONTROL, 4, 0x80800000u, 0, 32 },
	};

	put_raw_header(&s, KD_PACKET_TYPE_STATE_MANIPULATE, 0xffff, 0x80800000u, 0);
	put_bytes(&s, cap_ack, sizeof(cap_ack));
	memset(&evs_a, 0, sizeof(evs_a));
	kd_parser_init(&parser);
	feed_chunks(&parser, s.buf, s.len, 1, &evs_a);
	assert_log(&evs_a, want, 2);
	stream_free(&s);
}

/* A control leader never has a payload, whatever its byte count says. */
static void control_packet_ignores_byte_count(void **state)
{
	(void)state;
	uint8_t bytes[KD_HEADER_SIZE];
	struct kd_event ev;

	memcpy(bytes, cap_ack, sizeof(bytes));
	bytes[6] = 0xff;
	bytes[7] = 0xff;
	kd_parser_init(&parser);
	assert_int_equal(kd_parser_feed(&parser, bytes, sizeof(bytes), &ev), 16);
	assert_int_equal(ev.kind, KD_EV_CONTROL);
	assert_int_equal(ev.hdr.byte_count, 0xffff);
	assert_int_equal(parser.stats.bad_length, 0);
	assert_int_equal(parser.state, KD_PARSE_LEADER);
}

static void missing_trailer(void **state)
{
	(void)state;
	struct stream s = { 0 };
	struct kd_event ev;
	size_t used;

	put_bytes(&s, cap_get_version_reply, sizeof(cap_get_version_reply) - 1);
	put_byte(&s, 0x55);
	kd_parser_init(&parser);
	used = kd_parser_feed(&parser, s.buf, s.len, &ev);
	assert_int_equal(used, s.len);
	assert_int_equal(ev.kind, KD_EV_BAD_TRAILER);
	assert_int_equal(ev.hdr.id, 0x80800001u);
	assert_int_equal(ev.payload_len, CAP_REPLY_LEN);
	assert_memory_equal(ev.payload, CAP_REPLY_PAYLOAD, CAP_REPLY_LEN);
	assert_int_equal(parser.stats.bad_trailer, 1);
	assert_int_equal(parser.stats.data_packets, 0);
	assert_int_equal(parser.state, KD_PARSE_LEADER);
	stream_free(&s);
}

/* A packet cut short by its trailer, then the next packet at once: the byte in the
 * trailer's place is the next leader's first, and that packet is not lost. */
static void truncated_packet_then_good_packet(void **state)
{
	(void)state;
	struct stream s = { 0 };
	struct want want[4];

	put_bytes(&s, cap_get_version_reply, sizeof(cap_get_version_reply) - 1);
	want[0] = (struct want){ KD_EV_BAD_TRAILER, 2, 0x80800001u, CAP_REPLY_LEN, s.len + 1 };
	put_bytes(&s, cap_get_version_reply, sizeof(cap_get_version_reply));
	want[1] = (struct want){ KD_EV_DATA, 2, 0x80800001u, CAP_REPLY_LEN, s.len };
	put_bytes(&s, cap_get_version_reply, sizeof(cap_get_version_reply) - 1);
	want[2] = (struct want){ KD_EV_BAD_TRAILER, 2, 0x80800001u, CAP_REPLY_LEN, s.len + 1 };
	put_bytes(&s, cap_ack, sizeof(cap_ack));
	want[3] = (struct want){ KD_EV_CONTROL, 4, 0x80800000u, 0, s.len };
	parse_whole(&parser, s.buf, s.len, &evs_a);
	assert_log(&evs_a, want, 4);
	assert_int_equal(parser.stats.bad_trailer, 2);
	assert_int_equal(parser.stats.data_packets, 1);
	assert_int_equal(parser.stats.control_packets, 1);
	assert_int_equal(parser.stats.garbage_bytes, 0);
	for (size_t split = 0; split <= s.len; split++) {
		memset(&evs_b, 0, sizeof(evs_b));
		kd_parser_init(&parser2);
		feed_chunk(&parser2, s.buf, split, 0, &evs_b);
		feed_chunk(&parser2, s.buf + split, s.len - split, split, &evs_b);
		assert_same_log(&evs_a, &evs_b);
	}
	stream_free(&s);
}

/*
 * Cut inside the payload, the count swallows the start of what follows (the stream has no
 * framing beyond the count): the parser reports a bad trailer and finds the next leader
 * after it. An owner that sees the line go idle mid-packet calls kd_parser_reset() instead,
 * and then nothing after the cut is lost.
 */
static void truncated_payload_resynchronises(void **state)
{
	(void)state;
	struct stream s = { 0 };
	uint8_t filler[60];
	size_t cut, before_reset;
	struct want want[2];

	memset(filler, 0x11, sizeof(filler));
	put_bytes(&s, cap_get_version_reply, KD_HEADER_SIZE + 10);
	cut = s.len;
	/* 46 bytes finish the 0x38 count: the ACK and the DEBUG_IO packet's first 30 bytes;
	 * its 31st (filler, not 0xAA) lands in the trailer's place. */
	put_bytes(&s, cap_ack, sizeof(cap_ack));
	put_data(&s, KD_PACKET_TYPE_DEBUG_IO, 0x80800000u, filler, sizeof(filler));
	want[0] = (struct want){ KD_EV_BAD_TRAILER, 2, 0x80800001u, CAP_REPLY_LEN, cut + 47 };
	put_bytes(&s, cap_get_version_reply, sizeof(cap_get_version_reply));
	want[1] = (struct want){ KD_EV_DATA, 2, 0x80800001u, CAP_REPLY_LEN, s.len };
	parse_whole(&parser, s.buf, s.len, &evs_a);
	assert_log(&evs_a, want, 2);
	assert_int_equal(parser.stats.bad_trailer, 1);
	assert_int_equal(parser.stats.control_packets, 0);
	/* The rest of the DEBUG_IO packet after the byte taken as a trailer is noise. */
	assert_int_equal(parser.stats.garbage_bytes, KD_HEADER_SIZE + sizeof(filler) + 1 - 31);

	/* With a reset at the cut, the ACK and both data packets arrive. */
	memset(&evs_b, 0, sizeof(evs_b));
	kd_parser_init(&parser2);
	feed_chunk(&parser2, s.buf, cut, 0, &evs_b);
	assert_int_equal(parser2.state, KD_PARSE_PAYLOAD);
	before_reset = parser2.stats.bytes;
	kd_parser_reset(&parser2);
	assert_int_equal(parser2.state, KD_PARSE_LEADER);
	assert_int_equal(parser2.stats.bytes, before_reset); /* statistics survive a reset */
	feed_chunk(&parser2, s.buf + cut, s.len - cut, cut, &evs_b);
	assert_int_equal(evs_b.n, 3);
	assert_int_equal(evs_b.ev[0].kind, KD_EV_CONTROL);
	assert_int_equal(evs_b.ev[1].kind, KD_EV_DATA);
	assert_int_equal(evs_b.ev[1].payload_len, sizeof(filler));
	assert_int_equal(evs_b.ev[2].kind, KD_EV_DATA);
	assert_int_equal(evs_b.ev[2].end, s.len);
	stream_free(&s);
}

/* ---- break-in ---------------------------------------------------------------------- */

static void breakin_between_packets(void **state)
{
	(void)state;
	struct stream s = { 0 };
	struct want want[7];
	size_t k = 0;

	put_byte(&s, KD_BREAKIN_BYTE);
	want[k++] = (struct want){ KD_EV_BREAKIN, 0, 0, 0, s.len };
	put_bytes(&s, cap_ack, sizeof(cap_ack));
	want[k++] = (struct want){ KD_EV_CONTROL, 4, 0x80800000u, 0, s.len };
	put_byte(&s, KD_BREAKIN_BYTE);
	want[k++] = (struct want){ KD_EV_BREAKIN, 0, 0, 0, s.len };
	put_byte(&s, KD_BREAKIN_BYTE);
	want[k++] = (struct want){ KD_EV_BREAKIN, 0, 0, 0, s.len };
	put_text(&s, "00"); /* a break-in also ends a partial leader */
	put_byte(&s, KD_BREAKIN_BYTE);
	want[k++] = (struct want){ KD_EV_BREAKIN, 0, 0, 0, s.len };
	put_bytes(&s, cap_get_version_reply, sizeof(cap_get_version_reply));
	want[k++] = (struct want){ KD_EV_DATA, 2, 0x80800001u, CAP_REPLY_LEN, s.len };
	put_byte(&s, KD_BREAKIN_BYTE);
	want[k++] = (struct want){ KD_EV_BREAKIN, 0, 0, 0, s.len };
	parse_whole(&parser, s.buf, s.len, &evs_a);
	assert_log(&evs_a, want, k);
	assert_int_equal(parser.stats.breakins, 5);
	assert_int_equal(parser.stats.garbage_bytes, 2);
	stream_free(&s);
}

/* 0x62 inside a header or a payload is data (the capture's reply has one at 0x2a). */
static void breakin_byte_inside_packet_is_data(void **state)
{
	(void)state;
	struct stream s = { 0 };
	uint8_t payload[40];
	struct want want[3];

	assert_int_equal(CAP_REPLY_PAYLOAD[0x2a], KD_BREAKIN_BYTE);
	put_bytes(&s, cap_get_version_reply, sizeof(cap_get_version_reply));
	want[0] = (struct want){ KD_EV_DATA, 2, 0x80800001u, CAP_REPLY_LEN, s.len };
	memset(payload, KD_BREAKIN_BYTE, sizeof(payload));
	put_data(&s, 0x6262, 0x62626262u, payload, sizeof(payload));
	want[1] = (struct want){ KD_EV_DATA, 0x6262, 0x62626262u, sizeof(payload), s.len };
	put_ctrl(&s, 0x6262, 0x62626262u);
	want[2] = (struct want){ KD_EV_CONTROL, 0x6262, 0x62626262u, 0, s.len };
	parse_whole(&parser, s.buf, s.len, &evs_a);
	assert_log(&evs_a, want, 3);
	assert_int_equal(parser.stats.breakins, 0);
	assert_int_equal(evs_a.ev[1].payload_hash, hash_bytes(payload, sizeof(payload)));
	stream_free(&s);
}

/* ---- sizes ------------------------------------------------------------------------- */

static void zero_length_data_packet(void **state)
{
	(void)state;
	struct stream s = { 0 };
	struct kd_event ev;
	size_t used;

	put_data(&s, KD_PACKET_TYPE_DEBUG_IO, 0x80800800u, NULL, 0);
	assert_int_equal(s.len, KD_HEADER_SIZE + 1);
	/* Empty but with a nonzero checksum: a bad checksum, still no payload. */
	put_raw_header(&s, KD_PACKET_TYPE_DEBUG_IO, 0, 0x80800000u, 1);
	put_byte(&s, KD_PACKET_TRAILER);
	kd_parser_init(&parser);
	used = kd_parser_feed(&parser, s.buf, s.len, &ev);
	assert_int_equal(used, 17);
	assert_int_equal(ev.kind, KD_EV_DATA);
	assert_int_equal(ev.hdr.byte_count, 0);
	assert_int_equal(ev.hdr.checksum, 0);
	assert_int_equal(ev.hdr.id, 0x80800800u);
	assert_null(ev.payload);
	assert_int_equal(ev.payload_len, 0);
	used = kd_parser_feed(&parser, s.buf + 17, s.len - 17, &ev);
	assert_int_equal(used, 17);
	assert_int_equal(ev.kind, KD_EV_BAD_CHECKSUM);
	assert_null(ev.payload);
	assert_int_equal(ev.payload_len, 0);
	stream_free(&s);
}

static void max_payload(void **state)
{
	(void)state;
	static uint8_t payload[KD_MAX_PAYLOAD];
	struct stream s = { 0 };
	struct kd_event ev;
	size_t used;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + (i >> 8));
	put_data(&s, KD_PACKET_TYPE_STATE_MANIPULATE, 0x80800000u, payload, sizeof(payload));
	assert_int_equal(s.len, KD_MAX_PACKET_BYTES);
	put_bytes(&s, cap_ack, sizeof(cap_ack));

	kd_parser_init(&parser);
	used = kd_parser_feed(&parser, s.buf, s.len, &ev);
	assert_int_equal(used, KD_MAX_PACKET_BYTES);
	assert_int_equal(ev.kind, KD_EV_DATA);
	assert_int_equal(ev.hdr.byte_count, KD_MAX_PAYLOAD);
	assert_int_equal(ev.payload_len, KD_MAX_PAYLOAD);
	assert_memory_equal(ev.payload, payload, sizeof(payload));

	/* Byte by byte and in odd chunks it is the same packet. */
	for (size_t chunk = 1; chunk < 200; chunk += 37) {
		memset(&evs_a, 0, sizeof(evs_a));
		kd_parser_init(&parser);
		feed_chunks(&parser, s.buf, s.len, chunk, &evs_a);
		assert_int_equal(evs_a.n, 2);
		assert_int_equal(evs_a.ev[0].kind, KD_EV_DATA);
		assert_int_equal(evs_a.ev[0].payload_len, KD_MAX_PAYLOAD);
		assert_int_equal(evs_a.ev[0].payload_hash, hash_bytes(payload, sizeof(payload)));
		assert_int_equal(evs_a.ev[0].end, KD_MAX_PACKET_BYTES);
		assert_int_equal(evs_a.ev[1].kind, KD_EV_CONTROL);
	}
	stream_free(&s);
}

/* ---- statistics, reset, names ------------------------------------------------------ */

static void stats_counters(void **state)
{
	(void)state;
	struct stream s = { 0 };
	struct want want[16];
	size_t n;
	const struct kd_parser_stats *st = &parser.stats;

	build_mixed_stream(&s, want, &n);
	parse_whole(&parser, s.buf, s.len, &evs_a);
	assert_int_equal(st->bytes, s.len);
	assert_int_equal(st->data_packets, 3);
	assert_int_equal(st->control_packets, 2);
	assert_int_equal(st->breakins, 2);
	assert_int_equal(st->bad_checksum, 1);
	assert_int_equal(st->bad_trailer, 1);
	assert_int_equal(st->bad_length, 1);
	/* "Loader: ok\r\n" (12) and the "000" before the RESET (3); the final "00" is still
	 * a partial leader, not yet counted. */
	assert_int_equal(st->garbage_bytes, 12 + 3);
	assert_int_equal(parser.state, KD_PARSE_LEADER);
	assert_int_equal(parser.leader_count, 2);

	/* init clears the counters; reset keeps them. */
	kd_parser_reset(&parser);
	assert_int_equal(st->data_packets, 3);
	assert_int_equal(parser.leader_count, 0);
	kd_parser_init(&parser);
	assert_int_equal(st->bytes, 0);
	assert_int_equal(st->data_packets, 0);
	assert_int_equal(st->garbage_bytes, 0);
	stream_free(&s);
}

static void reset_drops_partial_packet(void **state)
{
	(void)state;
	struct kd_event ev;

	kd_parser_init(&parser);
	/* Stop in the header, reset, and a whole packet parses from scratch. */
	assert_int_equal(kd_parser_feed(&parser, cap_get_version_reply, 9, &ev), 9);
	assert_int_equal(ev.kind, KD_EV_NONE);
	assert_int_equal(parser.state, KD_PARSE_HEADER);
	kd_parser_reset(&parser);
	assert_int_equal(kd_parser_feed(&parser, cap_ack, sizeof(cap_ack), &ev), 16);
	assert_int_equal(ev.kind, KD_EV_CONTROL);
	/* Stop at the trailer, reset: the next byte is not taken as a trailer. */
	assert_int_equal(kd_parser_feed(&parser, cap_get_version_reply,
					sizeof(cap_get_version_reply) - 1, &ev),
			 sizeof(cap_get_version_reply) - 1);
	assert_int_equal(parser.state, KD_PARSE_TRAILER);
	kd_parser_reset(&parser);
	assert_int_equal(kd_parser_feed(&parser, cap_get_version_reply + 72, 1, &ev), 1);
	assert_int_equal(ev.kind, KD_EV_NONE);
	assert_int_equal(parser.stats.garbage_bytes, 1);
	assert_int_equal(parser.stats.data_packets, 0);
	assert_int_equal(parser.stats.bad_trailer, 0);
}

static void event_kind_names(void **state)
{
	(void)state;
	assert_string_equal(kd_event_kind_name(KD_EV_NONE), "none");
	assert_string_equal(kd_event_kind_name(KD_EV_DATA), "data");
	assert_string_equal(kd_event_kind_name(KD_EV_CONTROL), "control");
	assert_string_equal(kd_event_kind_name(KD_EV_BREAKIN), "break-in");
	assert_string_equal(kd_event_kind_name(KD_EV_BAD_CHECKSUM), "bad-checksum");
	assert_string_equal(kd_event_kind_name(KD_EV_BAD_TRAILER), "bad-trailer");
	assert_string_equal(kd_event_kind_name(KD_EV_BAD_LENGTH), "bad-length");
	assert_string_equal(kd_event_kind_name((enum kd_event_kind)99), "?");
}

/* ---- volume ------------------------------------------------------------------------ */

/* Several MB of mixed traffic fed as one buffer: every packet comes out, none invented. */
static void large_stream_one_buffer(void **state)
{
	(void)state;
	static uint8_t payload[KD_MAX_PAYLOAD];
	struct stream s = { 0 };
	uint64_t want_data = 0, want_ctrl = 0, want_breakin = 0, want_bytes = 0;
	uint32_t want_sums = 0;

	for (uint32_t i = 0; s.len < (6u << 20); i++) {
		size_t len = i % 5 == 0 ? KD_MAX_PAYLOAD : (i * 131u) % (KD_MAX_PAYLOAD + 1);

		for (size_t k = 0; k < len; k++)
			payload[k] = (uint8_t)(i + k * 3);
		put_data(&s, (uint16_t)(i % 12), 0x80800000u | (i & 1), payload, len);
		want_data++;
		want_bytes += len;
		want_sums += kd_checksum(payload, len);
		if (i % 3 == 0) {
			put_ctrl(&s, KD_PACKET_TYPE_ACKNOWLEDGE, 0x80800000u | (i & 1));
			want_ctrl++;
		}
		if (i % 7 == 0) {
			put_byte(&s, KD_BREAKIN_BYTE);
			want_breakin++;
		}
		if (i % 11 == 0)
			put_text(&s, "noise 0i\r\n");
	}
	memset(&evs_a, 0, sizeof(evs_a));
	kd_parser_init(&parser);
	feed_chunk(&parser, s.buf, s.len, 0, &evs_a);
	assert_true(s.len >= (6u << 20));
	assert_int_equal(evs_a.n, want_data + want_ctrl + want_breakin);
	assert_int_equal(parser.stats.data_packets, want_data);
	assert_int_equal(parser.stats.control_packets, want_ctrl);
	assert_int_equal(parser.stats.breakins, want_breakin);
	assert_int_equal(parser.stats.bad_checksum + parser.stats.bad_trailer +
			 parser.stats.bad_length, 0);
	assert_int_equal(parser.stats.bytes, s.len);
	assert_int_equal(evs_a.payload_bytes, want_bytes);
	assert_int_equal(evs_a.payload_sums, want_sums);
	stream_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(data_packet_whole),
		cmocka_unit_test(control_packet_whole),
		cmocka_unit_test(feed_stops_after_each_event),
		cmocka_unit_test(byte_by_byte),
		cmocka_unit_test(every_two_way_split),
		cmocka_unit_test(every_chunk_size),
		cmocka_unit_test(three_way_splits_of_a_packet_pair),
		cmocka_unit_test(garbage_before_a_packet),
		cmocka_unit_test(garbage_between_packets),
		cmocka_unit_test(garbage_inside_packets),
		cmocka_unit_test(leader_switch),
		cmocka_unit_test(leader_run_longer_than_four),
		cmocka_unit_test(bad_checksum_reports_payload),
		cmocka_unit_test(bad_length_4001),
		cmocka_unit_test(bad_length_ffff),
		cmocka_unit_test(bad_length_byte_by_byte),
		cmocka_unit_test(control_packet_ignores_byte_count),
		cmocka_unit_test(missing_trailer),
		cmocka_unit_test(truncated_packet_then_good_packet),
		cmocka_unit_test(truncated_payload_resynchronises),
		cmocka_unit_test(breakin_between_packets),
		cmocka_unit_test(breakin_byte_inside_packet_is_data),
		cmocka_unit_test(zero_length_data_packet),
		cmocka_unit_test(max_payload),
		cmocka_unit_test(stats_counters),
		cmocka_unit_test(reset_drops_partial_packet),
		cmocka_unit_test(event_kind_names),
		cmocka_unit_test(large_stream_one_buffer),
	};

	return cmocka_run_group_tests_name("kd_parser", tests, NULL, NULL);
}
