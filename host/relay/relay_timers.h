/* SPDX-License-Identifier: MIT */
/*
 * relay_timers.h - the relay's deadlines: a binary min-heap of intrusive timers, one per
 * VM, so the event loop finds the VMs whose deadline passed without looking at the others.
 *
 * A timer lives in its owner (container_of gets the owner back) and knows its place in the
 * heap, so moving or cancelling it is O(log n), and finding the earliest O(1). Timers with
 * the same deadline come out in the order they were set (a sequence number breaks ties), so
 * VMs that are due together are served round-robin.
 *
 * No clock: deadlines are plain numbers (the loop's microseconds). relay_timers_reserve
 * makes room in advance, so that relay_timers_set never fails inside the loop.
 */
#ifndef VMKD_RELAY_TIMERS_H
#define VMKD_RELAY_TIMERS_H

#include <stddef.h>
#include <stdint.h>

#define RELAY_TIMER_NEVER UINT64_MAX /* a timer set to this is not in the heap */
#define RELAY_TIMER_IDLE  SIZE_MAX   /* pos of a timer that is not in the heap */

struct relay_timer {
	uint64_t at;  /* the deadline (RELAY_TIMER_NEVER once cancelled) */
	uint64_t seq; /* when it was set: the order among equal deadlines */
	size_t pos;   /* index in the heap, or RELAY_TIMER_IDLE */
};

struct relay_timers {
	struct relay_timer **heap;
	size_t count, cap;
	uint64_t seq;
};

void relay_timers_init(struct relay_timers *h);
void relay_timers_free(struct relay_timers *h); /* the timers themselves belong to others */

/* Room for n armed timers in all. Returns 0, or -1 (out of memory; nothing changed). */
int relay_timers_reserve(struct relay_timers *h, size_t n);

void relay_timer_init(struct relay_timer *t); /* idle */

static inline int relay_timer_armed(const struct relay_timer *t)
{
	return t->pos != RELAY_TIMER_IDLE;
}

/* Arms t for at, or moves it there if it is armed; at RELAY_TIMER_NEVER cancels it. Setting
 * an armed timer again, even to the same deadline, puts it behind the others of that
 * deadline. Returns 0, or -1 if the heap had to grow and could not (t is then unchanged). */
int relay_timers_set(struct relay_timers *h, struct relay_timer *t, uint64_t at);

/* Disarms t (nothing if it is idle). */
void relay_timers_cancel(struct relay_timers *h, struct relay_timer *t);

/* The earliest timer (left armed), or NULL when none is armed. */
struct relay_timer *relay_timers_first(const struct relay_timers *h);

/* The earliest deadline, or RELAY_TIMER_NEVER. */
uint64_t relay_timers_next(const struct relay_timers *h);

/* Disarms and returns the earliest timer if its deadline is <= now (its at still says
 * when it was due); else NULL. */
struct relay_timer *relay_timers_pop_due(struct relay_timers *h, uint64_t now);

static inline size_t relay_timers_count(const struct relay_timers *h)
{
	return h->count;
}

#endif
