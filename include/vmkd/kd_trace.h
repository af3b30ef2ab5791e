/* SPDX-License-Identifier: MIT */
/*
 * kd_trace.h - one readable line per KD packet, for --trace logs and test diagnostics.
 *
 * HOST ONLY: lib/kd/kd_trace.c uses snprintf, so it compiles to an empty unit when
 * __STDC_HOSTED__ is 0 (the freestanding build of lib/kd); do not call it from the target
 * kernel or the guest DLL.
 *
 * Lines look like
 *
 *     -> MANIPULATE id=80800000 ReadVirtualMemory addr=fffff80000001000 len=3944
 *     <- MANIPULATE id=80800001 ReadVirtualMemory status=00000000 read=3944
 *     <- STATE_CHANGE id=80800800 Exception code=80000003 pc=fffff80000582d19 first-chance
 *     <- DEBUG_IO id=80800000 PrintString "hello\n"
 *     -> ACK id=80800000
 *
 * "->" is debugger to kernel, "<-" kernel to debugger; the direction decides whether a
 * manipulate packet is a request or a reply. A packet that is too short or inconsistent
 * still gives a line, with "malformed: <reason>" in it; api numbers and states the tables
 * do not know appear in hex followed by "(unknown)". Text from the peer is quoted, escaped
 * (\n, \xNN, ...) and cut with "..." after a few dozen characters.
 */
#ifndef VMKD_KD_TRACE_H
#define VMKD_KD_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "vmkd/kd_wire.h"

enum kd_trace_dir {
	KD_TRACE_TO_TARGET,   /* "->": debugger to kernel */
	KD_TRACE_FROM_TARGET, /* "<-": kernel to debugger */
};

/* A buffer of this size always holds a whole line. */
#define KD_TRACE_LINE_MAX 1024u

/*
 * Formats one packet into buf: hdr as decoded (control or data packet), payload and len the
 * bytes that arrived (len, not hdr->byte_count, bounds every read). hdr NULL means a
 * break-in byte. Always NUL-terminates when cap > 0, never writes a newline, and returns
 * the number of characters stored (the line is cut at cap - 1).
 */
size_t kd_trace_format(char *buf, size_t cap, enum kd_trace_dir dir,
		       const struct kd_packet_header *hdr, const uint8_t *payload, size_t len);

#endif
