/* SPDX-License-Identifier: MIT */
/*
 * record_text.h - one readable line per record of a recording, through the KD trace
 * decoder (kd_trace.h), and the `vmkd trace` / `vmkd log` / `vmkd replay` entry points.
 *
 *     [    0.000000] start: VM 'vm0', 2026-12-03T07:40:01.123456Z
 *     [    0.103311] event: guest hello "kdvm.dll 0.1"
 *     [    1.200480] dbg   -> BREAKIN
 *     [    1.200701] guest <- STATE_CHANGE Exception code=80000003 pc=... first-chance
 *     [    1.200755] dbg   <- STATE_CHANGE id=80800000 Exception code=80000003 ...
 *
 * The time is seconds since the recording started; "->" points towards the kernel, "<-"
 * away from it, as in the relay's --trace lines ("guest" the relay's guest side, "dbg" its
 * debugger side; guest-side packets have no KDCOM id).
 */
#ifndef VMKD_RECORD_TEXT_H
#define VMKD_RECORD_TEXT_H

#include <stddef.h>

#include "record.h"

/* Formats rec (from r) into line, no newline; always NUL-terminated. */
void record_format(const struct record_reader *r, const struct record *rec, char *line,
		   size_t cap);

/* Formats a KD packet given by type and payload (guest side, or a packet of a replay) as
 * kd_trace does, without an id. to_target: "->". */
void record_format_kd(char *line, size_t cap, int to_target, uint16_t type,
		      const uint8_t *payload, size_t len);

int trace_main(int argc, char **argv);
int replay_main(int argc, char **argv);
int log_main(int argc, char **argv);

#endif
