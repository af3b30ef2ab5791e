/* SPDX-License-Identifier: MIT */
/*
 * vmkd_frame_parser.h - push parser and builder for the guest<->relay frames of
 * vmkd_frame.h. Freestanding, no allocation; same feeding contract as kd_parser.h: it
 * consumes at most what it is given and stops at each complete frame.
 */
#ifndef VMKD_FRAME_PARSER_H
#define VMKD_FRAME_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "vmkd/vmkd_frame.h"

enum vmkd_frame_parse_state {
	VMKD_FP_HEADER,  /* collecting 16 header bytes (resynchronising on a bad magic) */
	VMKD_FP_PAYLOAD, /* collecting length payload bytes */
};

struct vmkd_frame_parser_stats {
	uint64_t frames;
	uint64_t bytes;
	uint64_t skipped_bytes;  /* bytes dropped while hunting for a magic */
	uint64_t bad_version;
	uint64_t bad_length;
	uint64_t bad_type;
};

struct vmkd_frame_parser {
	enum vmkd_frame_parse_state state;
	size_t got;
	uint8_t header[sizeof(struct vmkd_frame_header)];
	struct vmkd_frame_header hdr;
	struct vmkd_frame_parser_stats stats;
	uint8_t payload[VMKD_FRAME_MAX_PAYLOAD];
};

struct vmkd_frame {
	int complete;                 /* 1 when a frame was produced by this feed */
	struct vmkd_frame_header hdr;
	const uint8_t *payload;       /* valid until the next feed */
	size_t payload_len;
};

void vmkd_frame_parser_init(struct vmkd_frame_parser *p);
size_t vmkd_frame_parser_feed(struct vmkd_frame_parser *p, const uint8_t *buf, size_t len,
			      struct vmkd_frame *out);
/* The same, except that a frame lying whole in buf is not copied: out->payload then points
 * into buf, so it is valid only while buf is unchanged (and until the next feed). */
size_t vmkd_frame_parser_feed_in_place(struct vmkd_frame_parser *p, const uint8_t *buf,
				       size_t len, struct vmkd_frame *out);

/* The frame lying whole at the start of buf, checked as the parser checks one (no hunting
 * for a magic): its length (header and payload; out->payload points into buf), or 0 if
 * buf does not start with a good, whole frame. */
size_t vmkd_frame_decode(const uint8_t *buf, size_t len, struct vmkd_frame *out);

/* Writes header + payload (payload may be split in two parts) into out. Returns the bytes
 * written, or 0 if the payload is too large or out_cap too small. */
size_t vmkd_frame_build(uint8_t *out, size_t out_cap, uint8_t type, uint32_t seq,
			const void *part1, size_t len1, const void *part2, size_t len2);

/* A KD_PACKET frame: vmkd_kd_packet header, then hdr and data of the KD payload. */
size_t vmkd_frame_build_kd(uint8_t *out, size_t out_cap, uint32_t seq, uint16_t packet_type,
			   const void *hdr, size_t hdr_len, const void *data, size_t data_len);

/* Checks a received KD_PACKET frame's payload; on success points *kd at the KD payload. */
int vmkd_frame_parse_kd(const uint8_t *payload, size_t len, uint16_t *packet_type,
			const uint8_t **kd, size_t *kd_len);

#endif
