/* SPDX-License-Identifier: MIT */
/*
 * relay_tap.h - what the per-VM core shows to its observers: the DbgPrint log
 * (relay_dbglog.h) and the session recorder (host/record/record.h). The core calls the
 * relay_tap_* hooks below at a handful of points; with no tap (vm->tap NULL, the default)
 * they cost a test. The observers never change what the core does: a failing log or
 * recording is counted and logged, and the guest and the debugger are served as before.
 *
 *   guest KD packet in / out      relay_tap_guest_kd()     (every valid one, any fate)
 *   debugger bytes in / out       relay_tap_debugger()     (taken input; each link write)
 *   connections, HELLO            relay_tap_event()
 *   time                          relay_tap_poll(), relay_tap_deadline()
 */
#ifndef VMKD_RELAY_TAP_H
#define VMKD_RELAY_TAP_H

#include <stddef.h>
#include <stdint.h>

#include "vmkd/kd_link.h"
#include "vmkd/kd_parser.h"

#include "../record/record.h"
#include "relay_dbglog.h"
#include "relay_journal.h"
#include "relay_log.h"

struct relay_tap_options {
	const char *log_dir;      /* the DbgPrint log's directory; NULL: no DbgPrint log file */
	const char *journal;      /* journald's socket for the DbgPrint lines; NULL: none */
	const char *record;       /* --record pattern (%n: the VM's name); NULL: no recording */
	uint64_t log_max_bytes;   /* 0: DBGLOG_MAX_BYTES */
	unsigned log_keep;        /* 0: DBGLOG_KEEP */
	int64_t wall_offset_us;   /* wall-clock us = monotonic us + this */
};

struct relay_tap {
	char name[32];
	const struct relay_log *log;
	struct dbglog *dbglog;    /* the file and/or the journal: lines assembled here */
	struct journal *journal;
	struct record_writer rec;
	int recording;
	/* the debugger's bytes, cut into packets for the recording */
	struct kd_parser dbg_parser;
	uint8_t dbg_pending[KD_MAX_PACKET_BYTES + 64];
	size_t dbg_pending_len;
	uint64_t last_flush;
};

/* A tap for VM name, or NULL with err when nothing is asked for (*err "") or on an error
 * (opening the recording; a DbgPrint log that cannot be opened is retried, not an error). */
struct relay_tap *relay_tap_new(const char *name, const struct relay_tap_options *opt,
				const struct relay_log *log, uint64_t now, char *err,
				size_t errlen);
void relay_tap_free(struct relay_tap *t, uint64_t now);

void relay_tap_on_guest_kd(struct relay_tap *t, uint64_t now, int to_guest, uint16_t type,
			   const uint8_t *kd, size_t len);
void relay_tap_on_debugger(struct relay_tap *t, uint64_t now, int to_debugger,
			   const uint8_t *buf, size_t len);
void relay_tap_on_event(struct relay_tap *t, uint64_t now, uint32_t event, const char *text);
void relay_tap_poll(struct relay_tap *t, uint64_t now);
uint64_t relay_tap_deadline(const struct relay_tap *t);

/* The hooks the core calls (vm is a struct relay_vm *; macros keep relay_vm.h free of
 * this header's dependencies). */
#define RELAY_TAP_GUEST_KD(vm, to_guest, type, kd, len) \
	do { if ((vm)->tap) relay_tap_on_guest_kd((vm)->tap, (vm)->now, (to_guest), (type), \
						  (kd), (len)); } while (0)
#define RELAY_TAP_DEBUGGER(vm, to_debugger, buf, len) \
	do { if ((vm)->tap) relay_tap_on_debugger((vm)->tap, (vm)->now, (to_debugger), \
						  (buf), (len)); } while (0)
#define RELAY_TAP_EVENT(vm, event, text) \
	do { if ((vm)->tap) relay_tap_on_event((vm)->tap, (vm)->now, (event), (text)); } \
	while (0)

#endif
