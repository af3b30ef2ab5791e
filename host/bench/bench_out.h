/* SPDX-License-Identifier: MIT */
/*
 * bench_out.h - the results of one run as CSV rows "accel,transport,metric,value,unit"
 * (value "n/a" when this run cannot measure the metric), and "# note" lines saying how a
 * value was obtained or why it is missing. bench/run.sh splits the two.
 */
#ifndef VMKD_HOST_BENCH_OUT_H
#define VMKD_HOST_BENCH_OUT_H

#include <stdio.h>

struct bench_out {
	FILE *f;
	const char *accel;       /* "kvm", "tcg", or whatever the caller says */
	const char *transport;   /* "serial", "vmkd" */
};

void bench_out_value(const struct bench_out *o, const char *metric, double value,
		     const char *unit);
/* An unmeasurable metric: an "n/a" row and a note with the reason. */
void bench_out_na(const struct bench_out *o, const char *metric, const char *unit,
		  const char *why);
void bench_out_note(const struct bench_out *o, const char *metric, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
