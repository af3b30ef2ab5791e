/* SPDX-License-Identifier: MIT */
/*
 * kd_parser.h - push-based KDCOM stream parser. Freestanding, no allocation.
 *
 * Feed it bytes in any split; it returns after consuming at most the bytes given and
 * stops early as soon as it has an event, so the caller loops:
 *
 *     while (len) {
 *         size_t used = kd_parser_feed(&p, buf, len, &ev);
 *         buf += used; len -= used;
 *         if (ev.kind != KD_EV_NONE) handle(&ev);
 *     }
 *
 * An event's payload points into the parser and stays valid until the next feed.
 */
#ifndef VMKD_KD_PARSER_H
#define VMKD_KD_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "vmkd/kd_wire.h"

enum kd_parse_state {
	KD_PARSE_LEADER,  /* hunting for four equal leader bytes */
	KD_PARSE_HEADER,  /* reading type, byte count, id, checksum */
	KD_PARSE_PAYLOAD, /* reading byte_count payload bytes */
	KD_PARSE_TRAILER, /* expecting 0xAA */
};

enum kd_event_kind {
	KD_EV_NONE = 0,
	KD_EV_DATA,         /* a complete, checksum-valid data packet */
	KD_EV_CONTROL,      /* a control packet (ACK / RESEND / RESET / other type) */
	KD_EV_BREAKIN,      /* a 0x62 byte between packets */
	KD_EV_BAD_CHECKSUM, /* data packet whose payload sum differs: ask for a resend */
	KD_EV_BAD_TRAILER,  /* data packet without 0xAA after the payload */
	KD_EV_BAD_LENGTH,   /* byte count > KD_MAX_PAYLOAD; the payload was not read */
};

struct kd_event {
	enum kd_event_kind kind;
	struct kd_packet_header hdr; /* valid for every kind but NONE and BREAKIN */
	const uint8_t *payload;      /* DATA and BAD_*: bytes received (may be NULL if none) */
	size_t payload_len;
};

struct kd_parser_stats {
	uint64_t bytes;
	uint64_t data_packets;
	uint64_t control_packets;
	uint64_t breakins;
	uint64_t garbage_bytes; /* bytes skipped while hunting for a leader */
	uint64_t bad_checksum;
	uint64_t bad_trailer;
	uint64_t bad_length;
};

struct kd_parser {
	enum kd_parse_state state;
	uint8_t leader_byte;
	uint8_t leader_count;
	uint8_t header[KD_HEADER_SIZE];
	size_t got;                     /* bytes of the current state's unit read so far */
	struct kd_packet_header hdr;
	struct kd_parser_stats stats;
	uint8_t payload[KD_MAX_PAYLOAD];
};

void kd_parser_init(struct kd_parser *p);

/* Drops any partial packet and returns to leader search (statistics are kept). */
void kd_parser_reset(struct kd_parser *p);

/* Consumes bytes until one event is complete or the input is used up; returns the
 * number consumed. ev->kind is KD_EV_NONE when no event completed. */
size_t kd_parser_feed(struct kd_parser *p, const uint8_t *buf, size_t len, struct kd_event *ev);

const char *kd_event_kind_name(enum kd_event_kind kind);

#endif
