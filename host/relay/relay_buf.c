/* SPDX-License-Identifier: MIT */
/* Growable byte FIFO for the relay's outgoing data. */
#include "relay_buf.h"

#include <stdlib.h>
#include <string.h>

#define RELAY_BUF_MIN 4096u

void relay_buf_init(struct relay_buf *b)
{
	b->data = NULL;
	b->head = 0;
	b->tail = 0;
	b->cap = 0;
}

void relay_buf_free(struct relay_buf *b)
{
	free(b->data);
	relay_buf_init(b);
}

/* Makes room for n more bytes at the tail: slide the unsent bytes down first, grow after. */
static int reserve(struct relay_buf *b, size_t n)
{
	size_t pending = relay_buf_pending(b), cap;
	uint8_t *p;

	if (n > RELAY_BUF_MAX - pending)
		return -1;
	if (b->cap - b->tail >= n)
		return 0;
	if (b->head) {
		memmove(b->data, b->data + b->head, pending);
		b->head = 0;
		b->tail = pending;
		if (b->cap - b->tail >= n)
			return 0;
	}
	cap = b->cap ? b->cap : RELAY_BUF_MIN;
	while (cap - pending < n)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int relay_buf_append(struct relay_buf *b, const void *p, size_t n)
{
	if (!n)
		return 0;
	if (reserve(b, n))
		return -1;
	memcpy(b->data + b->tail, p, n);
	b->tail += n;
	return 0;
}

void relay_buf_consume(struct relay_buf *b, size_t n)
{
	if (n > relay_buf_pending(b))
		n = relay_buf_pending(b);
	b->head += n;
	if (b->head == b->tail)
		b->head = b->tail = 0;
}

void relay_buf_clear(struct relay_buf *b)
{
	b->head = 0;
	b->tail = 0;
}
