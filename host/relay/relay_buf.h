/* SPDX-License-Identifier: MIT */
/* relay_buf.h - a growable byte FIFO: what the relay has for a socket but could not write yet. */
#ifndef VMKD_RELAY_BUF_H
#define VMKD_RELAY_BUF_H

#include <stddef.h>
#include <stdint.h>

/* Hard ceiling of one buffer. The event loop stops reading a peer long before (it watches
 * RELAY_OUT_SOFT_CAP), so reaching it means a bug; appends beyond it fail. */
#define RELAY_BUF_MAX (64u * 1024u * 1024u)

struct relay_buf {
	uint8_t *data;
	size_t head;   /* first byte not yet written to the socket */
	size_t tail;   /* end of the stored bytes */
	size_t cap;
};

void relay_buf_init(struct relay_buf *b);
void relay_buf_free(struct relay_buf *b);

/* Appends n bytes. Returns 0, or -1 (out of memory, or over RELAY_BUF_MAX) storing nothing. */
int relay_buf_append(struct relay_buf *b, const void *p, size_t n);

static inline size_t relay_buf_pending(const struct relay_buf *b)
{
	return b->tail - b->head;
}

static inline const uint8_t *relay_buf_peek(const struct relay_buf *b)
{
	return b->data ? b->data + b->head : b->data; /* NULL + 0 is undefined in C */
}

/* Drops n (<= pending) bytes from the front. */
void relay_buf_consume(struct relay_buf *b, size_t n);

/* Drops everything (the peer went away). */
void relay_buf_clear(struct relay_buf *b);

#endif
