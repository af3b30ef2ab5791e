/* SPDX-License-Identifier: MIT */
/* Bounded ring of KD packets waiting for the debugger link. */
#include "relay_queue.h"

#include <stdlib.h>
#include <string.h>

int relay_queue_init(struct relay_queue *q, size_t cap)
{
	q->slots = calloc(cap, sizeof(*q->slots));
	q->cap = q->slots ? cap : 0;
	q->head = 0;
	q->count = 0;
	return q->slots ? 0 : -1;
}

void relay_queue_free(struct relay_queue *q)
{
	free(q->slots);
	q->slots = NULL;
	q->cap = 0;
	q->count = 0;
}

int relay_queue_push(struct relay_queue *q, uint16_t type, const uint8_t *data, size_t len)
{
	struct relay_packet *p;

	if (relay_queue_full(q) || len > KD_MAX_PAYLOAD)
		return -1;
	p = &q->slots[(q->head + q->count) % q->cap];
	p->type = type;
	p->len = (uint16_t)len;
	if (len)
		memcpy(p->data, data, len);
	q->count++;
	return 0;
}

const struct relay_packet *relay_queue_front(const struct relay_queue *q)
{
	return q->count ? &q->slots[q->head] : NULL;
}

struct relay_packet *relay_queue_back(struct relay_queue *q)
{
	return q->count ? &q->slots[(q->head + q->count - 1) % q->cap] : NULL;
}

void relay_queue_pop(struct relay_queue *q)
{
	if (!q->count)
		return;
	q->head = (q->head + 1) % q->cap;
	q->count--;
}

size_t relay_queue_keep(struct relay_queue *q, int (*keep)(const struct relay_packet *p))
{
	size_t kept = 0, n = q->count;

	for (size_t i = 0; i < n; i++) {
		const struct relay_packet *p = &q->slots[(q->head + i) % q->cap];
		struct relay_packet *to = &q->slots[(q->head + kept) % q->cap];

		if (!keep(p))
			continue;
		if (to != p) {
			to->type = p->type;
			to->len = p->len;
			memcpy(to->data, p->data, p->len);
		}
		kept++;
	}
	q->count = kept;
	return n - kept;
}

size_t relay_queue_clear(struct relay_queue *q)
{
	size_t n = q->count;

	q->head = 0;
	q->count = 0;
	return n;
}
