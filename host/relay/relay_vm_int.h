/* SPDX-License-Identifier: MIT */
/* relay_vm_int.h - calls between the parts of the per-VM core (guest link, debugger link). */
#ifndef VMKD_RELAY_VM_INT_H
#define VMKD_RELAY_VM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "relay_vm.h"

/* ---- guest link (relay_guest.c) ----------------------------------------------------- */

/* Queues one frame for the guest (dropped and counted while it is not connected). */
void relay_guest_send(struct relay_vm *vm, uint8_t type, const void *part1, size_t len1,
		      const void *part2, size_t len2);
void relay_guest_send_kd(struct relay_vm *vm, uint16_t type, const uint8_t *payload, size_t len);
void relay_guest_send_debugger(struct relay_vm *vm, int attached);
/* BREAKIN / RESYNC, each at most once until the guest sends a frame. */
void relay_guest_send_breakin(struct relay_vm *vm);
void relay_guest_send_resync(struct relay_vm *vm);

/* ---- debugger link (relay_debugger.c) ----------------------------------------------- */

/* What becomes of a valid KD packet from the guest. */
enum relay_fate {
	RELAY_FATE_SEND,       /* to the debugger link now */
	RELAY_FATE_QUEUE,      /* waits for the packet in flight */
	RELAY_FATE_ANSWER,     /* no debugger, the kernel waits: answered with DEBUGGER(0) */
	RELAY_FATE_DROP_PRINT, /* no debugger: DbgPrint dropped */
	RELAY_FATE_DROP,       /* no debugger: nobody waits for it, dropped */
};

enum relay_fate relay_debugger_fate(const struct relay_vm *vm, uint16_t type,
				    const uint8_t *kd, size_t len);
void relay_debugger_apply(struct relay_vm *vm, enum relay_fate fate, uint16_t type,
			  const uint8_t *kd, size_t len);
/* "sent", "queued", ... for trace lines. */
const char *relay_fate_name(enum relay_fate fate);

/* Sets up the link (target role) and the trace parser. */
void relay_debugger_init(struct relay_vm *vm);

/* The guest (re)started: drop what is queued or in flight and renumber the link so its
 * next packet carries the SYNC id. */
void relay_debugger_guest_restarted(struct relay_vm *vm);

/* A valid KD packet from the guest: a state change means it stopped, a manipulate packet
 * answers the request in hand, a DbgPrint means it runs. */
void relay_debugger_guest_packet(struct relay_vm *vm, uint16_t type, const uint8_t *kd,
				 size_t len);

/* After a HELLO (and its HELLO_ACK): a guest that was stopped with a request unanswered
 * gets that request again (its device reset lost it; the debugger had its ACK). Never a
 * Continue: those are not kept. */
void relay_debugger_guest_hello(struct relay_vm *vm);

/* Sends the attached debugger a DbgPrint "RELAY_NOTICE_PREFIX event: text" (relay_notice.h)
 * after the packets already queued; nothing without an answering debugger. */
void relay_debugger_notice(struct relay_vm *vm, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* 1 for the KD packet types that travel as data packets (1-3, 7, 9-11). */
int relay_kd_data_type(uint32_t type);

#endif
