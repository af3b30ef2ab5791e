/* SPDX-License-Identifier: MIT */
/*
 * kd_serial.h - the KDCOM transport: KdSendPacket / KdReceivePacket over a byte channel
 * (a 16550 UART polled byte by byte, as kdcom.dll does), built on the protocol core's
 * target-role link layer. Platform-free: bytes and time come through kd_byte_io_ops.
 */
#ifndef VMKD_KD_SERIAL_H
#define VMKD_KD_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#include "kd_target.h"
#include "vmkd/kd_link.h"

struct kd_byte_io_ops {
	int (*get)(void *io);                                  /* next byte, or -1 if none */
	void (*put)(void *io, const uint8_t *buf, size_t len); /* blocks until written */
	uint64_t (*now_us)(void *io);
};

struct kd_serial_stats {
	uint64_t dropped_wrong_type; /* ACKed, but not what KdReceivePacket waited for */
	uint64_t dropped_too_big;    /* did not fit the caller's buffers */
	uint64_t overruns;           /* a second packet arrived before the first was taken */
	uint64_t send_gave_up;
};

struct kd_serial {
	struct kd_link link;
	const struct kd_byte_io_ops *io;
	void *io_ctx;
	volatile uint8_t *debugger_not_present;
	uint64_t receive_timeout_us; /* KdReceivePacket returns TimedOut after this */

	/* What the link reported while we pumped it. */
	int send_finished;
	enum kd_send_result send_result;
	int reset_seen;
	int breakin_seen;
	int have_packet;
	uint16_t rx_type;
	size_t rx_len;
	uint8_t rx_payload[KD_MAX_PAYLOAD];

	struct kd_serial_stats stats;
};

void kd_serial_init(struct kd_serial *s, const struct kd_byte_io_ops *io, void *io_ctx,
		    volatile uint8_t *debugger_not_present);

/* The transport as the KD target core calls it (pass the kd_serial as its context). */
extern const struct kd_transport_ops kd_serial_transport;

#endif
