/* SPDX-License-Identifier: MIT */
/* timer.c - TSC calibration against PIT channel 2, and the monotonic clock built on it. */
#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"
#include "timer.h"

#define PIT_HZ          1193182u
#define PIT_CH2_DATA    0x42
#define PIT_COMMAND     0x43
#define PIT_CH2_MODE3   0xb6 /* channel 2, lobyte/hibyte, mode 3 (square wave), binary */
#define PORT_B          0x61 /* bit 0: ch2 gate, bit 1: speaker, bit 5: ch2 output */
#define PORT_B_GATE2    0x01
#define PORT_B_SPEAKER  0x02
#define PORT_B_OUT2     0x20
#define PERIOD_TICKS    5966u /* 5 ms of PIT time, even so both halves are equal */
#define MEASURE_ATTEMPTS 4u
#define PERIODS         5u
#define EDGE_TIMEOUT    0x100000000ull /* TSC ticks: >1 s on any host */
#define FALLBACK_HZ     1000000000ull  /* used only if the PIT never ticks */

static uint64_t tsc_freq;
static uint64_t tsc_origin;
/* time = (delta * mult) >> 32 (a 32.32 fixed-point factor), computed from 32-bit halves so
 * no 64-bit product overflows and no 128-bit helper from libgcc is needed. */
static uint64_t us_mult, ns_mult;

static uint64_t scale(uint64_t delta, uint64_t mult)
{
	uint64_t dh = delta >> 32, dl = delta & 0xffffffffu;
	uint64_t mh = mult >> 32, ml = mult & 0xffffffffu;

	return ((dh * mh) << 32) + dh * ml + dl * mh + ((dl * ml) >> 32);
}

/* TSC at the next rising edge of PIT channel 2's output, or 0 on timeout. */
static uint64_t next_rising_edge(void)
{
	uint64_t start = rdtsc(), now;
	bool was_low = false;

	for (;;) {
		bool high = inb(PORT_B) & PORT_B_OUT2;

		now = rdtsc();
		if (high && was_low)
			return now;
		was_low = !high;
		if (now - start > EDGE_TIMEOUT)
			return 0;
	}
}

/*
 * Times whole periods of a PIT square wave with the TSC. Both ends of a period are edges
 * seen by the same polling loop, so the polling delay cancels out, and the median of several
 * periods discards one that the host stretched by descheduling us (under this host's
 * software KVM a single-shot measurement was seen 18% off).
 */
static uint64_t measure_tsc_hz(void)
{
	uint64_t edge[PERIODS + 1], delta[PERIODS], t;
	uint8_t b;

	b = inb(PORT_B) & (uint8_t)~(PORT_B_GATE2 | PORT_B_SPEAKER);
	outb(PORT_B, b);
	outb(PIT_COMMAND, PIT_CH2_MODE3);
	outb(PIT_CH2_DATA, (uint8_t)PERIOD_TICKS);
	outb(PIT_CH2_DATA, (uint8_t)(PERIOD_TICKS >> 8));
	outb(PORT_B, b | PORT_B_GATE2);
	for (unsigned i = 0; i <= PERIODS; i++) {
		edge[i] = next_rising_edge();
		if (!edge[i])
			return 0;
	}
	outb(PORT_B, b);

	for (unsigned i = 0; i < PERIODS; i++)
		delta[i] = edge[i + 1] - edge[i];
	for (unsigned i = 1; i < PERIODS; i++) /* insertion sort, 5 elements */
		for (unsigned j = i; j > 0 && delta[j - 1] > delta[j]; j--) {
			t = delta[j];
			delta[j] = delta[j - 1];
			delta[j - 1] = t;
		}
	return delta[PERIODS / 2] * PIT_HZ / PERIOD_TICKS;
}

/* A rate no x86-64 TSC has: a measurement the host stretched across several periods. */
static bool tsc_measured; /* the rate came from the PIT, not the fallback */

static bool implausible_hz(uint64_t hz)
{
	return hz < 100000000ull || hz > 20000000000ull;
}

void timer_init(void)
{
	/* A loaded host can deschedule us for most of the periods at once (the median then
	 * cannot help): measure again rather than run on a wrong clock. */
	for (unsigned attempt = 0; attempt < MEASURE_ATTEMPTS; attempt++) {
		tsc_freq = measure_tsc_hz();
		if (!implausible_hz(tsc_freq))
			break;
	}
	tsc_measured = !implausible_hz(tsc_freq);
	if (!tsc_measured)
		tsc_freq = FALLBACK_HZ;
	us_mult = (1000000ull << 32) / tsc_freq;
	ns_mult = (1000000000ull << 32) / tsc_freq;
	tsc_origin = rdtsc();
}

bool tsc_rate_measured(void)
{
	return tsc_measured;
}

uint64_t tsc_hz(void)
{
	return tsc_freq;
}

uint64_t tsc_to_us(uint64_t ticks)
{
	return scale(ticks, us_mult);
}

uint64_t time_us(void)
{
	return scale(rdtsc() - tsc_origin, us_mult);
}

uint64_t time_ns(void)
{
	return scale(rdtsc() - tsc_origin, ns_mult);
}

void udelay(uint64_t us)
{
	uint64_t end = time_us() + us;

	while (time_us() < end)
		cpu_relax();
}
