/* SPDX-License-Identifier: MIT */
/* The relay's deadlines: a binary min-heap of intrusive timers (relay_timers.h). */
#include "relay_timers.h"

#include <stdlib.h>

void relay_timers_init(struct relay_timers *h)
{
	h->heap = NULL;
	h->count = h->cap = 0;
	h->seq = 0;
}

void relay_timers_free(struct relay_timers *h)
{
	for (size_t i = 0; i < h->count; i++)
		h->heap[i]->pos = RELAY_TIMER_IDLE;
	free(h->heap);
	relay_timers_init(h);
}

int relay_timers_reserve(struct relay_timers *h, size_t n)
{
	struct relay_timer **heap;
	size_t cap = h->cap ? h->cap : 8;

	if (n <= h->cap)
		return 0;
	while (cap < n) {
		if (cap > SIZE_MAX / 2 / sizeof(*heap))
			return -1;
		cap *= 2;
	}
	heap = realloc(h->heap, cap * sizeof(*heap));
	if (!heap)
		return -1;
	h->heap = heap;
	h->cap = cap;
	return 0;
}

void relay_timer_init(struct relay_timer *t)
{
	t->at = RELAY_TIMER_NEVER;
	t->seq = 0;
	t->pos = RELAY_TIMER_IDLE;
}

static int before(const struct relay_timer *a, const struct relay_timer *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void place(struct relay_timers *h, size_t i, struct relay_timer *t)
{
	h->heap[i] = t;
	t->pos = i;
}

/* Moves the timer at i towards the root while it is earlier than its parent. */
static void sift_up(struct relay_timers *h, size_t i)
{
	struct relay_timer *t = h->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!before(t, h->heap[parent]))
			break;
		place(h, i, h->heap[parent]);
		i = parent;
	}
	place(h, i, t);
}

/* Moves the timer at i towards the leaves while a child is earlier. */
static void sift_down(struct relay_timers *h, size_t i)
{
	struct relay_timer *t = h->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->count)
			break;
		if (c + 1 < h->count && before(h->heap[c + 1], h->heap[c]))
			c++;
		if (!before(h->heap[c], t))
			break;
		place(h, i, h->heap[c]);
		i = c;
	}
	place(h, i, t);
}

void relay_timers_cancel(struct relay_timers *h, struct relay_timer *t)
{
	size_t i = t->pos;
	struct relay_timer *last;

	if (i == RELAY_TIMER_IDLE || i >= h->count || h->heap[i] != t)
		return; /* idle, or not in this heap */
	t->pos = RELAY_TIMER_IDLE;
	t->at = RELAY_TIMER_NEVER;
	last = h->heap[--h->count];
	if (i == h->count)
		return;
	/* The last timer fills the hole; it may belong above or below it. */
	place(h, i, last);
	sift_up(h, i);
	sift_down(h, last->pos);
}

int relay_timers_set(struct relay_timers *h, struct relay_timer *t, uint64_t at)
{
	if (at == RELAY_TIMER_NEVER) {
		relay_timers_cancel(h, t);
		return 0;
	}
	if (!relay_timer_armed(t)) {
		if (h->count == h->cap && relay_timers_reserve(h, h->count + 1))
			return -1;
		t->at = at;
		t->seq = h->seq++;
		place(h, h->count++, t);
		sift_up(h, t->pos);
		return 0;
	}
	t->at = at;
	t->seq = h->seq++;
	sift_up(h, t->pos);
	sift_down(h, t->pos);
	return 0;
}

struct relay_timer *relay_timers_first(const struct relay_timers *h)
{
	return h->count ? h->heap[0] : NULL;
}

uint64_t relay_timers_next(const struct relay_timers *h)
{
	return h->count ? h->heap[0]->at : RELAY_TIMER_NEVER;
}

struct relay_timer *relay_timers_pop_due(struct relay_timers *h, uint64_t now)
{
	struct relay_timer *t = relay_timers_first(h);
	uint64_t at;

	if (!t || t->at > now)
		return NULL;
	at = t->at;
	relay_timers_cancel(h, t);
	t->at = at; /* when it was due, for the caller */
	return t;
}
