/* SPDX-License-Identifier: MIT */
/*
 * bench_kd.h - the KD half of `vmkd bench`: one session (the engine `vmkd attach` uses) to
 * a test kernel stopped at its initial breakpoint, run through fixed phases:
 *
 *   idle       the stopped target left alone: VM exits per second while it polls
 *   small      back-to-back 16-byte ReadVirtualMemory requests: rtt median/p99, req/s
 *   read4k     3944-byte (one-packet maximum) reads: rtt median/p99
 *   bulk       bulk_bytes through maximal reads: MB/s
 *   dbgprint   continue; the kernel's `dbgprint lines=N` workload: lines/s, lines lost
 *
 * Every read is checked against the kernel's known pattern, so no number can come from
 * a short or wrong reply. Transport counters (guest STATS through the relay) and VM exits
 * (QMP) are sampled around the phases when their sources are given.
 */
#ifndef VMKD_HOST_BENCH_KD_H
#define VMKD_HOST_BENCH_KD_H

#include <stdint.h>
#include <sys/types.h>

#include "bench_out.h"

struct bench_kd_config {
	const char *endpoint;      /* KDCOM stream: the serial socket or the relay */
	unsigned small_n;          /* small requests */
	unsigned large_n;          /* 3944-byte reads timed one by one */
	uint64_t bulk_bytes;       /* read through maximal reads */
	unsigned lines;            /* the kernel's lines=N (0: skip the DbgPrint phase) */
	unsigned idle_ms;          /* idle window */
	double wait_s;             /* boot to initial breakpoint */
	const char *qmp;           /* QEMU's QMP socket, or NULL */
	pid_t relay_pid;           /* the relay and its log, or 0 / NULL */
	const char *relay_log;
};

/* Runs every phase and writes the rows. 0, or 1 after an error (printed on stderr). */
int bench_kd_run(const struct bench_kd_config *cfg, const struct bench_out *out);

#endif
