/* SPDX-License-Identifier: MIT */
/* Push-based KDCOM stream parser: one byte at a time through an explicit state enum. */
#include "vmkd/kd_parser.h"

#include "vmkd/kd_packet.h"

#include "vmkd/kd_bytes.h"

void kd_parser_reset(struct kd_parser *p)
{
	p->state = KD_PARSE_LEADER;
	p->leader_byte = 0;
	p->leader_count = 0;
	p->got = 0;
}

void kd_parser_init(struct kd_parser *p)
{
	struct kd_parser_stats zero = { 0 };

	p->stats = zero;
	kd_parser_reset(p);
}

static void emit(struct kd_parser *p, struct kd_event *ev, enum kd_event_kind kind,
		 size_t payload_len)
{
	ev->kind = kind;
	ev->hdr = p->hdr;
	ev->payload = payload_len ? p->payload : NULL;
	ev->payload_len = payload_len;
	kd_parser_reset(p);
}

static int is_leader_byte(uint8_t b)
{
	return b == KD_PACKET_LEADER_BYTE || b == KD_CONTROL_LEADER_BYTE;
}

/* Leader search (kd-protocol.md 1.3): four equal leader bytes start a packet; a different
 * leader byte restarts the count; 'b' outside a packet is a break-in; the rest is noise. */
static void step_leader(struct kd_parser *p, uint8_t b, struct kd_event *ev)
{
	if (is_leader_byte(b)) {
		if (b != p->leader_byte) {
			p->stats.garbage_bytes += p->leader_count;
			p->leader_byte = b;
			p->leader_count = 0;
		}
		p->header[p->leader_count++] = b;
		if (p->leader_count == 4) {
			p->state = KD_PARSE_HEADER;
			p->got = 4;
		}
		return;
	}
	p->stats.garbage_bytes += p->leader_count;
	p->leader_byte = 0;
	p->leader_count = 0;
	if (b == KD_BREAKIN_BYTE) {
		p->stats.breakins++;
		ev->kind = KD_EV_BREAKIN;
		return;
	}
	p->stats.garbage_bytes++;
}

static void step_header_done(struct kd_parser *p, struct kd_event *ev)
{
	kd_header_decode(&p->hdr, p->header);
	if (p->hdr.leader == KD_CONTROL_LEADER) {
		p->stats.control_packets++;
		emit(p, ev, KD_EV_CONTROL, 0);
		return;
	}
	if (p->hdr.byte_count > KD_MAX_PAYLOAD) {
		/* Never read past a count we would not accept: resynchronise on the next leader. */
		p->stats.bad_length++;
		emit(p, ev, KD_EV_BAD_LENGTH, 0);
		return;
	}
	p->got = 0;
	p->state = p->hdr.byte_count ? KD_PARSE_PAYLOAD : KD_PARSE_TRAILER;
}

static void step_trailer(struct kd_parser *p, uint8_t b, struct kd_event *ev)
{
	size_t n = p->hdr.byte_count;

	if (b != KD_PACKET_TRAILER) {
		p->stats.bad_trailer++;
		emit(p, ev, KD_EV_BAD_TRAILER, n);
		/* A truncated packet may be followed at once by the next one: the byte that
		 * took the trailer's place can be the first of its leader. */
		if (is_leader_byte(b)) {
			p->leader_byte = b;
			p->leader_count = 1;
			p->header[0] = b;
		}
		return;
	}
	if (kd_checksum(p->payload, n) != p->hdr.checksum) {
		p->stats.bad_checksum++;
		emit(p, ev, KD_EV_BAD_CHECKSUM, n);
		return;
	}
	p->stats.data_packets++;
	emit(p, ev, KD_EV_DATA, n);
}

/* Every field is written on every feed, so a NONE or BREAKIN event never carries a stale
 * payload from the caller's previous event (or uninitialised stack) into generic code. */
static void clear_event(struct kd_event *ev)
{
	static const struct kd_packet_header no_header;

	ev->kind = KD_EV_NONE;
	ev->hdr = no_header;
	ev->payload = NULL;
	ev->payload_len = 0;
}

size_t kd_parser_feed(struct kd_parser *p, const uint8_t *buf, size_t len, struct kd_event *ev)
{
	size_t i = 0;

	clear_event(ev);
	while (i < len && ev->kind == KD_EV_NONE) {
		switch (p->state) {
		case KD_PARSE_LEADER:
			step_leader(p, buf[i++], ev);
			break;
		case KD_PARSE_HEADER: {
			size_t take = KD_HEADER_SIZE - p->got;

			if (take > len - i)
				take = len - i;
			kd_memcpy(p->header + p->got, buf + i, take);
			p->got += take;
			i += take;
			if (p->got == KD_HEADER_SIZE)
				step_header_done(p, ev);
			break;
		}
		case KD_PARSE_PAYLOAD: {
			size_t take = p->hdr.byte_count - p->got;

			if (take > len - i)
				take = len - i;
			kd_memcpy(p->payload + p->got, buf + i, take);
			p->got += take;
			i += take;
			if (p->got == p->hdr.byte_count)
				p->state = KD_PARSE_TRAILER;
			break;
		}
		case KD_PARSE_TRAILER:
			step_trailer(p, buf[i++], ev);
			break;
		}
	}
	p->stats.bytes += i;
	return i;
}

const char *kd_event_kind_name(enum kd_event_kind kind)
{
	static const char *const names[] = {
		[KD_EV_NONE] = "none",
		[KD_EV_DATA] = "data",
		[KD_EV_CONTROL] = "control",
		[KD_EV_BREAKIN] = "break-in",
		[KD_EV_BAD_CHECKSUM] = "bad-checksum",
		[KD_EV_BAD_TRAILER] = "bad-trailer",
		[KD_EV_BAD_LENGTH] = "bad-length",
	};

	if ((unsigned)kind < sizeof(names) / sizeof(names[0]))
		return names[kind];
	return "?";
}
