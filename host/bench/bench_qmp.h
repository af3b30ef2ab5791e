/* SPDX-License-Identifier: MIT */
/*
 * bench_qmp.h - VM exit counts from QEMU's QMP socket: `query-stats` for the KVM vCPU
 * provider, summed over vCPUs. Under TCG, and on KVMs without binary stats, QEMU returns
 * an empty list and the count is unavailable.
 *
 * On this host's software KVM ("pvm") the `exits` counter moves only for exits that reach
 * QEMU in user space (an emulated 16550 register access, a notify before ioeventfd is
 * set up); in-kernel exits such as ioeventfd virtio notifies are invisible to it.
 */
#ifndef VMKD_HOST_BENCH_QMP_H
#define VMKD_HOST_BENCH_QMP_H

#include <stddef.h>
#include <stdint.h>

#include "../common/qmp.h"

struct bench_qmp {
	struct qmp q;        /* the shared client (host/common/qmp.h) */
	int fd;              /* -1 while closed (kept for callers that test it) */
	char line[1 << 16];  /* the last reply */
};

/* Connects to unix:PATH (or PATH) and negotiates capabilities. 0, or -1 with err. */
int bench_qmp_open(struct bench_qmp *q, const char *spec, char *err, size_t errlen);
void bench_qmp_close(struct bench_qmp *q);

struct bench_qmp_counts {
	uint64_t exits;           /* `exits`: VM exits KVM reports (see above) */
	uint64_t insn_emulation;  /* `insn_emulation`: guest instructions KVM emulated */
};

/* The vCPUs' counters, summed. 0, -ENOTSUP when QEMU reports no KVM stats (TCG), or
 * another negative errno with err. */
int bench_qmp_counts(struct bench_qmp *q, struct bench_qmp_counts *c, char *err,
		     size_t errlen);

#endif
