/* SPDX-License-Identifier: MIT */
/* timer.h - timekeeping: the TSC, calibrated against PIT channel 2 at boot. */
#ifndef VMKD_TARGET_TIMER_H
#define VMKD_TARGET_TIMER_H

#include <stdbool.h>
#include <stdint.h>

/* Measures the TSC frequency (about 30 ms of PIT time). Call once, early. */
void timer_init(void);

/* True when the TSC rate was measured against the PIT (false: a fallback guess). */
bool tsc_rate_measured(void);
uint64_t tsc_hz(void);

/* Monotonic time since timer_init. (rdtsc costs ~2.4 us in ring 0 under this host's
 * software KVM, ~20 ns under TCG.) */
uint64_t time_us(void);
uint64_t time_ns(void);

/* Converts a TSC delta to microseconds. */
uint64_t tsc_to_us(uint64_t ticks);

/* Busy-waits at least us microseconds. */
void udelay(uint64_t us);

#endif
