/* SPDX-License-Identifier: MIT */
/*
 * relay_queue.h - the bounded FIFO of guest KD packets waiting for the debugger link.
 * KDCOM is stop-and-wait, so one packet is on the wire and the rest wait here; when the
 * queue is full the relay stops reading the guest (back-pressure), so nothing is lost.
 */
#ifndef VMKD_RELAY_QUEUE_H
#define VMKD_RELAY_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "vmkd/kd_wire.h"

struct relay_packet {
	uint16_t type;   /* KD_PACKET_TYPE_* */
	uint16_t len;    /* <= KD_MAX_PAYLOAD */
	uint8_t data[KD_MAX_PAYLOAD];
};

struct relay_queue {
	struct relay_packet *slots;
	size_t cap;
	size_t head;
	size_t count;
};

/* Returns 0 or -1 (out of memory). */
int relay_queue_init(struct relay_queue *q, size_t cap);
void relay_queue_free(struct relay_queue *q);

static inline int relay_queue_full(const struct relay_queue *q)
{
	return q->count >= q->cap;
}

/* Copies a packet in. Returns 0, or -1 when full or len > KD_MAX_PAYLOAD. */
int relay_queue_push(struct relay_queue *q, uint16_t type, const uint8_t *data, size_t len);

/* The oldest packet, or NULL. Valid until the next pop. */
const struct relay_packet *relay_queue_front(const struct relay_queue *q);
void relay_queue_pop(struct relay_queue *q);

/* The newest packet (still waiting: the one on the wire is not in the queue), or NULL.
 * It may be changed in place. */
struct relay_packet *relay_queue_back(struct relay_queue *q);

/* Keeps, in order, only the packets keep() accepts (no copies beyond moving the kept ones
 * up); returns how many were dropped. */
size_t relay_queue_keep(struct relay_queue *q, int (*keep)(const struct relay_packet *p));

/* Drops every packet; returns how many. */
size_t relay_queue_clear(struct relay_queue *q);

#endif
