/* SPDX-License-Identifier: MIT */
/* Latency samples: median and tail by nearest rank over a sorted copy. */
#include "bench_samples.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int bench_samples_init(struct bench_samples *s, size_t cap)
{
	s->n = 0;
	s->cap = cap ? cap : 1;
	s->v = calloc(s->cap, sizeof(*s->v));
	return s->v ? 0 : -1;
}

void bench_samples_free(struct bench_samples *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

void bench_samples_add(struct bench_samples *s, double value)
{
	if (s->n < s->cap)
		s->v[s->n++] = value;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_samples_quantile(struct bench_samples *s, double q)
{
	size_t rank;

	if (!s->n)
		return NAN;
	qsort(s->v, s->n, sizeof(*s->v), cmp_double);
	/* Nearest rank: the smallest sample with at least q of all samples at or below it. */
	rank = (size_t)(q * (double)s->n);
	if ((double)rank < q * (double)s->n)
		rank++;
	if (rank < 1)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return s->v[rank - 1];
}

double bench_samples_sum(const struct bench_samples *s)
{
	double sum = 0;

	for (size_t i = 0; i < s->n; i++)
		sum += s->v[i];
	return sum;
}
