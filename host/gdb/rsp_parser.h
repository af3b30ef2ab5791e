/* SPDX-License-Identifier: MIT */
/*
 * rsp_parser.h - the GDB remote serial protocol's framing, with no I/O: a push parser fed
 * whatever bytes arrived (it never blocks and never reads past them) and a packet encoder.
 *
 * A packet is "$payload#xx" with xx the modulo-256 sum of the payload bytes as sent.
 * Inside the payload '}' escapes the next byte (XOR 0x20) and "c*n" repeats c n-29 more
 * times (run-length encoding); the parser undoes both. Between packets a lone 0x03 is an
 * interrupt request, '+' and '-' are acknowledgements; anything else is counted and skipped.
 */
#ifndef VMKD_HOST_RSP_PARSER_H
#define VMKD_HOST_RSP_PARSER_H

#include <stddef.h>
#include <stdint.h>

enum rsp_state {
	RSP_IDLE,     /* between packets */
	RSP_DATA,     /* after '$' */
	RSP_ESCAPE,   /* after '}' */
	RSP_REPEAT,   /* after '*': the count byte comes next */
	RSP_CSUM_HI,  /* after '#' */
	RSP_CSUM_LO,
};

enum rsp_event_kind {
	RSP_EV_NONE,          /* every byte given was consumed, nothing complete yet */
	RSP_EV_PACKET,        /* a packet with a good checksum: ev->data, ev->len */
	RSP_EV_BAD_PACKET,    /* bad checksum, bad escape or repeat: answer '-' */
	RSP_EV_OVERSIZE,      /* a good packet longer than the buffer: ack, answer an error */
	RSP_EV_INTERRUPT,     /* 0x03 between packets */
	RSP_EV_ACK,           /* '+' */
	RSP_EV_NAK,           /* '-' */
};

struct rsp_event {
	enum rsp_event_kind kind;
	const uint8_t *data;  /* the decoded payload (RSP_EV_PACKET); valid until the next feed */
	size_t len;
};

struct rsp_parser_stats {
	uint64_t packets, bad_packets, oversize, interrupts, acks, naks, garbage;
};

struct rsp_parser {
	enum rsp_state state;
	uint8_t *buf;          /* decoded payload; one byte is kept for a terminating NUL */
	size_t cap;
	size_t len;
	uint8_t sum;           /* running checksum of the raw payload bytes */
	uint8_t csum;          /* the checksum as sent */
	int bad;               /* an escape or repeat went wrong: NAK at the end */
	int overflow;          /* the decoded payload did not fit */
	struct rsp_parser_stats stats;
};

/* buf holds a decoded payload of up to cap - 1 bytes (it is NUL-terminated for the
 * convenience of text commands; binary payloads use len). */
void rsp_parser_init(struct rsp_parser *p, uint8_t *buf, size_t cap);

/* Back to RSP_IDLE, dropping a partial packet (a new connection). Stats are kept. */
void rsp_parser_reset(struct rsp_parser *p);

/* Consumes bytes up to and including the first one that completes an event and describes
 * it in *ev (RSP_EV_NONE when all len bytes went without one). Returns the bytes consumed;
 * call again with the rest. */
size_t rsp_parser_feed(struct rsp_parser *p, const uint8_t *data, size_t len,
		       struct rsp_event *ev);

/* Frames payload as "$...#xx", escaping '$', '#', '}' and '*'. Returns the bytes written,
 * or 0 if it does not fit cap. */
size_t rsp_encode(const void *payload, size_t len, uint8_t *out, size_t cap);

/* Worst-case framed size of a payload of len bytes. */
#define RSP_ENCODED_MAX(len) (2 * (len) + 4)

#endif
