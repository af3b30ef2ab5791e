/* SPDX-License-Identifier: MIT */
/* bench_samples.h - a monotonic clock and latency samples with median / percentiles. */
#ifndef VMKD_HOST_BENCH_SAMPLES_H
#define VMKD_HOST_BENCH_SAMPLES_H

#include <stddef.h>
#include <stdint.h>

struct bench_samples {
	double *v;
	size_t n, cap;
};

/* Nanoseconds on CLOCK_MONOTONIC. */
uint64_t bench_now_ns(void);

int bench_samples_init(struct bench_samples *s, size_t cap);
void bench_samples_free(struct bench_samples *s);
/* Drops the sample when full (callers size the array for their loop). */
void bench_samples_add(struct bench_samples *s, double value);
/* Nearest-rank quantile, q in [0, 1]; NAN without samples. Sorts the samples. */
double bench_samples_quantile(struct bench_samples *s, double q);
double bench_samples_sum(const struct bench_samples *s);

#endif
