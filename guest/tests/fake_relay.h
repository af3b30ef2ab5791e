/* SPDX-License-Identifier: MIT */
/*
 * fake_relay.h - the host program on the fake device's port, for channel tests: parses the
 * frames the guest sends, answers HELLO with HELLO_ACK, records KD packets and STATS, and
 * sends what a test asks for.
 */
#ifndef VMKD_FAKE_RELAY_H
#define VMKD_FAKE_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "fake_vser.h"
#include "vmkd/vmkd_frame_parser.h"

struct fake_relay {
	struct fake_vser *f;
	struct vmkd_frame_parser parser;
	size_t consumed;            /* bytes of f->host_rx parsed so far */
	int auto_ack;               /* answer HELLO with HELLO_ACK */
	int debugger;               /* HELLO_ACK's debugger flag */
	uint32_t ack_caps;          /* more HELLO_ACK capabilities (VMKD_CAP_HOST_LOG) */
	uint32_t seq;

	int hellos, kd_packets, stats_frames, other_frames;
	uint16_t last_kd_type;
	uint32_t last_kd_len;
	uint8_t last_kd[4000];
	uint32_t last_seq;
	int seq_known;
	int seq_gaps;               /* a guest frame whose seq is not the previous + 1 */
	/* The first 4 payload bytes of every KD packet, in arrival order (order checks). */
	uint32_t kd_log[4096];
	int kd_logged;
	char printed[8192];            /* the text of every PrintString, in arrival order */
	size_t printed_len;
	struct vmkd_guest_stats last_stats;

	/* Written once the guest's next KD packet arrives (an answer to it). */
	uint8_t *reply;
	size_t reply_len;
};

/* Attaches to f (takes over f->on_tick). Heap-allocated: the parser is large. */
struct fake_relay *fake_relay_new(struct fake_vser *f, int auto_ack, int debugger);
void fake_relay_free(struct fake_relay *r);

/* Parses what the guest sent since the last call. */
void fake_relay_poll(struct fake_relay *r);

/* Writes one frame to the guest. */
void fake_relay_send(struct fake_relay *r, uint8_t type, const void *payload, size_t len);
void fake_relay_send_kd(struct fake_relay *r, uint16_t kd_type, const void *kd, size_t len);
void fake_relay_send_debugger(struct fake_relay *r, int attached);
/* Builds a frame into out (for tests that split or merge frames themselves). */
size_t fake_relay_build(struct fake_relay *r, uint8_t *out, size_t cap, uint8_t type,
			const void *payload, size_t len);
size_t fake_relay_build_kd(struct fake_relay *r, uint8_t *out, size_t cap, uint16_t kd_type,
			   const void *kd, size_t len);

#endif
