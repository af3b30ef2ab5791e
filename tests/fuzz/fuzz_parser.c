/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the KD stream parser: framing invariants and split independence. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vmkd/kd_packet.h"
#include "vmkd/kd_parser.h"

/*
 * Input: byte 0 picks the chunk-size range (1 .. 2^(b0 & 15), or byte by byte when the
 * range is 1), byte 1 seeds the chunk-size generator, the rest is the wire stream. The
 * stream is parsed three times - whole, in generated chunks, byte by byte - and every run
 * must give the same events at the same stream offsets and the same statistics. Every
 * event is also checked against the input bytes it claims to have come from.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_STREAM (1u << 16)

#define check(cond) do { if (!(cond)) __builtin_trap(); } while (0)

struct rec {
	enum kd_event_kind kind;
	struct kd_packet_header hdr;
	size_t payload_len;
	uint32_t payload_hash;
	size_t end; /* stream offset just past the byte that completed the event */
};

/* Each event consumes at least one byte, so a stream never yields more events than bytes. */
static struct rec whole_events[MAX_STREAM];
static struct kd_parser parsers[3];

struct run {
	struct kd_parser *p;
	const uint8_t *stream;
	size_t stream_len;
	size_t n;            /* events so far */
	int record;          /* 1: fill whole_events; 0: compare against them */
};

static uint32_t hash_bytes(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static size_t packet_span(const struct kd_event *ev)
{
	if (ev->kind == KD_EV_CONTROL || ev->kind == KD_EV_BAD_LENGTH)
		return KD_HEADER_SIZE;
	return KD_HEADER_SIZE + ev->payload_len + 1;
}

/* The event must describe bytes that really are in the stream, ending at `end`. */
static void check_event(const struct run *r, const struct kd_event *ev, size_t end)
{
	const uint8_t *s = r->stream;
	struct kd_packet_header raw;
	size_t span, start;

	check(end >= 1 && end <= r->stream_len);
	if (ev->kind == KD_EV_BREAKIN) {
		check(s[end - 1] == KD_BREAKIN_BYTE);
		check(ev->payload == NULL && ev->payload_len == 0);
		return;
	}
	check(ev->kind >= KD_EV_DATA && ev->kind <= KD_EV_BAD_LENGTH);
	check(ev->payload_len <= KD_MAX_PAYLOAD);
	check((ev->payload != NULL) == (ev->payload_len != 0));
	span = packet_span(ev);
	check(end >= span);
	start = end - span;
	kd_header_decode(&raw, s + start);
	check(memcmp(&raw, &ev->hdr, sizeof(raw)) == 0);

	switch (ev->kind) {
	case KD_EV_CONTROL:
		check(ev->hdr.leader == KD_CONTROL_LEADER);
		check(ev->payload_len == 0);
		break;
	case KD_EV_BAD_LENGTH:
		check(ev->hdr.leader == KD_PACKET_LEADER);
		check(ev->hdr.byte_count > KD_MAX_PAYLOAD);
		check(ev->payload_len == 0);
		break;
	case KD_EV_DATA:
	case KD_EV_BAD_CHECKSUM:
	case KD_EV_BAD_TRAILER: {
		int sum_ok = kd_checksum(ev->payload, ev->payload_len) == ev->hdr.checksum;
		uint8_t trailer = s[end - 1];

		check(ev->hdr.leader == KD_PACKET_LEADER);
		check(ev->payload_len == ev->hdr.byte_count);
		if (ev->payload_len) {
			const uint8_t *wire = s + start + KD_HEADER_SIZE;

			check(memcmp(ev->payload, wire, ev->payload_len) == 0);
		}
		if (ev->kind == KD_EV_DATA)
			check(sum_ok && trailer == KD_PACKET_TRAILER);
		else if (ev->kind == KD_EV_BAD_CHECKSUM)
			check(!sum_ok && trailer == KD_PACKET_TRAILER);
		else
			check(trailer != KD_PACKET_TRAILER);
		break;
	}
	default:
		check(0);
	}
}

static void on_event(struct run *r, const struct kd_event *ev, size_t end)
{
	struct rec now = { 0 };

	check_event(r, ev, end);
	now.kind = ev->kind;
	now.hdr = ev->hdr;
	now.payload_len = ev->payload_len;
	now.payload_hash = hash_bytes(ev->payload, ev->payload_len); /* NULL only when empty */
	now.end = end;
	check(r->n < MAX_STREAM);
	if (r->record) {
		whole_events[r->n] = now;
	} else {
		const struct rec *want = &whole_events[r->n];

		check(want->kind == now.kind && want->end == now.end);
		check(want->payload_len == now.payload_len);
		check(want->payload_hash == now.payload_hash);
		check(memcmp(&want->hdr, &now.hdr, sizeof(now.hdr)) == 0);
	}
	r->n++;
}

/* Feeds one chunk the way kd_parser.h's loop does; base is the chunk's stream offset. */
static void feed(struct run *r, size_t base, size_t len)
{
	size_t off = 0;

	while (off < len) {
		struct kd_event ev;
		size_t used;

		/* Poison the event: the parser must set every field itself. */
		memset(&ev, 0xa5, sizeof(ev));
		used = kd_parser_feed(r->p, r->stream + base + off, len - off, &ev);
		check(used > 0 && used <= len - off);
		off += used;
		if (ev.kind != KD_EV_NONE)
			on_event(r, &ev, base + off);
		else
			check(ev.payload == NULL && ev.payload_len == 0);
		check(r->p->stats.bytes == base + off);
	}
}

static uint32_t next_rand(uint32_t *x)
{
	/* xorshift32: cheap and fully determined by the input's seed byte. */
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static void check_same_stats(const struct kd_parser_stats *a, const struct kd_parser_stats *b)
{
	check(a->bytes == b->bytes);
	check(a->data_packets == b->data_packets);
	check(a->control_packets == b->control_packets);
	check(a->breakins == b->breakins);
	check(a->garbage_bytes == b->garbage_bytes);
	check(a->bad_checksum == b->bad_checksum);
	check(a->bad_trailer == b->bad_trailer);
	check(a->bad_length == b->bad_length);
}

/* The counters must agree with the events they count. */
static void check_stats_match_events(const struct kd_parser_stats *st, size_t n)
{
	uint64_t by_kind[KD_EV_BAD_LENGTH + 1] = { 0 };

	for (size_t i = 0; i < n; i++)
		by_kind[whole_events[i].kind]++;
	check(by_kind[KD_EV_NONE] == 0);
	check(st->data_packets == by_kind[KD_EV_DATA]);
	check(st->control_packets == by_kind[KD_EV_CONTROL]);
	check(st->breakins == by_kind[KD_EV_BREAKIN]);
	check(st->bad_checksum == by_kind[KD_EV_BAD_CHECKSUM]);
	check(st->bad_trailer == by_kind[KD_EV_BAD_TRAILER]);
	check(st->bad_length == by_kind[KD_EV_BAD_LENGTH]);
	check(st->garbage_bytes <= st->bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, chunked, bytewise;
	unsigned shift;
	uint32_t rng;
	size_t len;

	if (size < 2)
		return 0;
	shift = data[0] & 15u;
	rng = 0x9e3779b9u ^ data[1];
	len = size - 2 < MAX_STREAM ? size - 2 : MAX_STREAM;

	whole = (struct run){ &parsers[0], data + 2, len, 0, 1 };
	kd_parser_init(whole.p);
	feed(&whole, 0, len);
	check(whole.p->stats.bytes == len);
	check_stats_match_events(&whole.p->stats, whole.n);

	chunked = (struct run){ &parsers[1], data + 2, len, 0, 0 };
	kd_parser_init(chunked.p);
	for (size_t off = 0; off < len;) {
		size_t chunk = 1 + next_rand(&rng) % (1u << shift);

		if (chunk > len - off)
			chunk = len - off;
		feed(&chunked, off, chunk);
		off += chunk;
	}
	check(chunked.n == whole.n);
	check_same_stats(&whole.p->stats, &chunked.p->stats);

	bytewise = (struct run){ &parsers[2], data + 2, len, 0, 0 };
	kd_parser_init(bytewise.p);
	for (size_t off = 0; off < len; off++)
		feed(&bytewise, off, 1);
	check(bytewise.n == whole.n);
	check_same_stats(&whole.p->stats, &bytewise.p->stats);

	/* The parser's position must agree too, so later bytes would parse alike. */
	check(whole.p->state == chunked.p->state && whole.p->state == bytewise.p->state);
	check(whole.p->got == chunked.p->got && whole.p->got == bytewise.p->got);
	check(whole.p->leader_count == chunked.p->leader_count);
	return 0;
}
