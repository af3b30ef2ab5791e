/* SPDX-License-Identifier: MIT */
/* test_relay_fakes.h - what the relay tests share: guest frames and KD payloads to send,
 * and a reader that splits the relay's output to the guest back into frames. */
#ifndef VMKD_TEST_RELAY_FAKES_H
#define VMKD_TEST_RELAY_FAKES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vmkd/kd_api.h"
#include "vmkd/kd_wire.h"
#include "vmkd/vmkd_frame.h"
#include "vmkd/vmkd_frame_parser.h"

/* A KD payload (header + data) as one buffer; returns its length. */
static inline size_t tr_msg_payload(const struct kd_api_msg *m, uint8_t *out)
{
	memcpy(out, &m->u, m->hdr_len);
	if (m->data_len)
		memcpy(out + m->hdr_len, m->data, m->data_len);
	return m->hdr_len + m->data_len;
}

/* A breakpoint state change at pc; returns the payload length. */
static inline size_t tr_state_change(uint8_t *out, uint64_t pc)
{
	static const uint8_t stream[KD_MAXSTREAM] = { 0xcc, 0x90 };
	struct kd_api_cpu cpu;
	struct kd_api_msg m;

	memset(&cpu, 0, sizeof(cpu));
	cpu.number_processors = 1;
	cpu.pc = pc;
	cpu.stream = stream;
	cpu.stream_len = sizeof(stream);
	kd_api_build_exception(&m, &cpu, KD_STATUS_BREAKPOINT, pc, 1, NULL, 0);
	return tr_msg_payload(&m, out);
}

static inline size_t tr_print_cpu(uint8_t *out, uint16_t cpu, const char *text)
{
	struct kd_api_msg m;

	kd_api_build_print(&m, cpu, text, strlen(text));
	return tr_msg_payload(&m, out);
}

static inline size_t tr_print(uint8_t *out, const char *text)
{
	return tr_print_cpu(out, 0, text);
}

/* A whole guest frame; returns its length. */
static inline size_t tr_frame(uint8_t *out, size_t cap, uint8_t type, uint32_t seq,
			      const void *payload, size_t len)
{
	return vmkd_frame_build(out, cap, type, seq, payload, len, NULL, 0);
}

static inline size_t tr_kd_frame(uint8_t *out, size_t cap, uint32_t seq, uint16_t kd_type,
				 const uint8_t *kd, size_t len)
{
	return vmkd_frame_build_kd(out, cap, seq, kd_type, kd, len, NULL, 0);
}

static inline size_t tr_hello_frame(uint8_t *out, size_t cap, uint32_t seq)
{
	struct vmkd_hello h;

	memset(&h, 0, sizeof(h));
	h.capabilities = VMKD_CAP_KD_PACKETS | VMKD_CAP_STATS;
	h.max_payload = VMKD_FRAME_MAX_PAYLOAD;
	memcpy(h.agent, "fake guest\x01", 11); /* a control character: shown as '?' */
	return tr_frame(out, cap, VMKD_FRAME_HELLO, seq, &h, sizeof(h));
}

/* ---- frames the relay sent to the guest ---------------------------------------------- */

#define TR_MAX_FRAMES 64

struct tr_frame_rec {
	uint8_t type;
	uint32_t seq;
	uint32_t len;
	uint16_t kd_type;         /* KD_PACKET */
	uint32_t value;           /* DEBUGGER: attached; HELLO_ACK: debugger */
	uint8_t payload[VMKD_FRAME_MAX_PAYLOAD];
};

struct tr_guest_view {
	struct vmkd_frame_parser parser;
	struct tr_frame_rec frames[TR_MAX_FRAMES];
	size_t count;             /* frames in frames[] */
	size_t total;             /* frames seen, also those beyond TR_MAX_FRAMES */
};

static inline void tr_view_init(struct tr_guest_view *v)
{
	memset(v, 0, sizeof(*v));
	vmkd_frame_parser_init(&v->parser);
}

static inline void tr_view_clear(struct tr_guest_view *v)
{
	v->count = 0;
}

/* Splits bytes the relay sent into frames; returns how many completed. */
static inline size_t tr_view_feed(struct tr_guest_view *v, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	while (len) {
		struct vmkd_frame f;
		size_t used = vmkd_frame_parser_feed(&v->parser, buf, len, &f);

		buf += used;
		len -= used;
		if (!f.complete)
			continue;
		n++;
		v->total++;
		if (v->count < TR_MAX_FRAMES) {
			struct tr_frame_rec *r = &v->frames[v->count++];

			r->type = f.hdr.type;
			r->seq = f.hdr.seq;
			r->len = (uint32_t)f.payload_len;
			r->kd_type = 0;
			r->value = 0;
			if (f.payload_len)
				memcpy(r->payload, f.payload, f.payload_len);
			if (f.hdr.type == VMKD_FRAME_KD_PACKET && f.payload_len >= 2)
				memcpy(&r->kd_type, f.payload, 2);
			if (f.hdr.type == VMKD_FRAME_DEBUGGER && f.payload_len >= 4)
				memcpy(&r->value, f.payload, 4);
			if (f.hdr.type == VMKD_FRAME_HELLO_ACK &&
			    f.payload_len >= sizeof(struct vmkd_hello))
				memcpy(&r->value, f.payload + offsetof(struct vmkd_hello, debugger), 4);
		}
	}
	return n;
}

/* Index of the first frame of this type at or after from, or -1. */
static inline int tr_view_find(const struct tr_guest_view *v, uint8_t type, size_t from)
{
	for (size_t i = from; i < v->count; i++)
		if (v->frames[i].type == type)
			return (int)i;
	return -1;
}

static inline size_t tr_view_count(const struct tr_guest_view *v, uint8_t type)
{
	size_t n = 0;

	for (size_t i = 0; i < v->count; i++)
		n += v->frames[i].type == type;
	return n;
}

#endif
