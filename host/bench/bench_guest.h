/* SPDX-License-Identifier: MIT */
/*
 * bench_guest.h - the guest transport's own counters (struct vmkd_guest_stats) as the
 * relay exposes them: SIGUSR1 makes `vmkd relay` send STATS_REQUEST to the guest, and the
 * relay logs the STATS answer as one "guest stats: ..." line on its stderr, which the
 * caller redirected to a file. A stopped kernel answers from its KdReceivePacket loop.
 */
#ifndef VMKD_HOST_BENCH_GUEST_H
#define VMKD_HOST_BENCH_GUEST_H

#include <stdint.h>
#include <sys/types.h>

#include "vmkd/vmkd_frame.h"

struct session;

struct bench_guest {
	pid_t relay_pid;
	const char *log_path;
	off_t seen;                 /* log bytes already looked at */
};

void bench_guest_init(struct bench_guest *g, pid_t relay_pid, const char *log_path);

/* Asks for and waits (serving the session meanwhile) for a fresh STATS frame. 0, or a
 * negative errno with err. */
int bench_guest_stats(struct bench_guest *g, struct session *s, struct vmkd_guest_stats *out,
		      char *err, size_t errlen);

#endif
