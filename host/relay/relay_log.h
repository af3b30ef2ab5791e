/* SPDX-License-Identifier: MIT */
/*
 * relay_log.h - the relay's log lines: events, and with --trace one line per packet on
 * either side of the relay, all stamped with seconds since the relay started:
 *
 *     [    2.104331] vm0: debugger connected; guest told DEBUGGER(1)
 *     [    2.104902] vm0: dbg   -> RESET
 *     [    2.104950] vm0: dbg   <- RESET
 *     [    2.104961] vm0: guest -> RESYNC seq=3 len=0
 *     [    2.105377] vm0: guest <- KD_PACKET seq=9 len=252 STATE_CHANGE sent
 *     [    2.105390] vm0: dbg   <- STATE_CHANGE id=80800000 Exception code=80000003 ...
 *
 * "->" points towards the kernel (debugger to guest), "<-" away from it, as in kd_trace.h.
 */
#ifndef VMKD_RELAY_LOG_H
#define VMKD_RELAY_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmkd/kd_parser.h"
#include "vmkd/kd_trace.h"
#include "vmkd/vmkd_frame.h"

struct relay_log {
	FILE *f;        /* NULL: silent */
	uint64_t t0;    /* clock value (us) shown as 0.000000 */
};

void relay_logf(const struct relay_log *log, uint64_t now, const char *vm, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "HELLO", "KD_PACKET", ... or "UNKNOWN". */
const char *relay_frame_type_name(unsigned int type);

/* A KD packet (or break-in byte, or damaged packet) parsed from the debugger's bytes. */
void relay_trace_kd_event(const struct relay_log *log, uint64_t now, const char *vm,
			  enum kd_trace_dir dir, const struct kd_event *ev);

/* A whole KD packet (or one break-in byte) as the relay wrote it to the debugger. */
void relay_trace_kd_wire(const struct relay_log *log, uint64_t now, const char *vm,
			 enum kd_trace_dir dir, const uint8_t *buf, size_t len);

/* A frame on the guest side; note (may be NULL) is appended, e.g. what became of it. */
void relay_trace_frame(const struct relay_log *log, uint64_t now, const char *vm,
		       enum kd_trace_dir dir, const struct vmkd_frame_header *hdr,
		       const uint8_t *payload, size_t len, const char *note);

#endif
