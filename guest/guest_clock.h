/* SPDX-License-Identifier: MIT */
/*
 * guest_clock.h - bounded waits. The clock is read only every clock_every polls, and a poll
 * budget bounds the wait even when the clock is missing or stuck (early boot).
 */
#ifndef VMKD_GUEST_CLOCK_H
#define VMKD_GUEST_CLOCK_H

#include <stdint.h>

#include "guest_platform.h"

#define GUEST_CLOCK_EVERY_DEFAULT 64u
/* Poll budget per millisecond: generous with a clock (it is only a safety net), and
 * "1 us per poll" without one. */
#define GUEST_POLLS_PER_MS_CLOCK  10000u
#define GUEST_POLLS_PER_MS_NOCLK  1000u

struct guest_deadline {
	const struct guest_platform *plat;
	uint64_t start;
	uint64_t ticks;      /* wait length in clock ticks (0 without a clock) */
	uint64_t polls;
	uint64_t max_polls;
	uint32_t every;
	uint32_t until_clock;
};

static inline void guest_deadline_start(struct guest_deadline *d, const struct guest_platform *p,
					uint32_t ms)
{
	d->plat = p;
	d->polls = 0;
	d->every = p->clock_every ? p->clock_every : GUEST_CLOCK_EVERY_DEFAULT;
	d->until_clock = d->every;
	if (!ms) {
		d->ticks = 0;
		d->start = 0;
		d->max_polls = 1;
	} else if (p->ticks_per_sec && p->now) {
		d->ticks = p->ticks_per_sec / 1000u * ms + p->ticks_per_sec % 1000u * ms / 1000u;
		if (!d->ticks)
			d->ticks = 1;
		d->start = p->now(p->ctx);
		d->max_polls = (uint64_t)ms * GUEST_POLLS_PER_MS_CLOCK + 1000u;
	} else {
		d->ticks = 0;
		d->start = 0;
		d->max_polls = (uint64_t)ms * GUEST_POLLS_PER_MS_NOCLK + 1u;
	}
}

/* Counts one poll; 1 once the wait is over. */
static inline int guest_deadline_expired(struct guest_deadline *d)
{
	const struct guest_platform *p = d->plat;

	if (++d->polls >= d->max_polls)
		return 1;
	if (!d->ticks || --d->until_clock)
		return 0;
	d->until_clock = d->every;
	return p->now(p->ctx) - d->start >= d->ticks;
}

#endif
