/* SPDX-License-Identifier: MIT */
/*
 * bench_echo.h - the raw channel floor: round trips of vmkd frames through the
 * virtio-serial port to a guest that echoes them without KD on top.
 *
 * Speaks to QEMU's chardev socket directly (no relay). The guest side is the test
 * kernel's `workload=echo` (the guest channel core run directly, no KD target):
 *   guest HELLO            -> host HELLO_ACK (debugger = 1)
 *   host KD_PACKET (len L) -> guest sends the same KD_PACKET (type and bytes) back
 *   host KD_PACKET (len 0) -> guest stops echoing; the kernel exits with code 0
 */
#ifndef VMKD_HOST_BENCH_ECHO_H
#define VMKD_HOST_BENCH_ECHO_H

#include "bench_out.h"

struct bench_echo_config {
	const char *endpoint;   /* the chardev socket: unix:PATH */
	unsigned small_n;       /* 72-byte echoes (a 16-byte read request's reply size) */
	unsigned large_n;       /* 4000-byte echoes (one maximal KD packet) */
	double wait_s;          /* connect + HELLO */
	const char *qmp;        /* QEMU's QMP socket (KVM: emulated instructions), or NULL */
};

/* 0 on success; 3 when no guest said HELLO (no echo workload); 1 on other errors. */
int bench_echo_run(const struct bench_echo_config *cfg, const struct bench_out *out);

#endif
