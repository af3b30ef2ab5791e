/* SPDX-License-Identifier: MIT */
/*
 * relay_hostmem.h - the relay answers memory reads from the guest RAM mapped on the host,
 * while the guest is broken in, with no guest instruction: "the host path".
 *
 * The relay sees every KD packet of a VM. A state change from the guest means the guest is
 * stopped in its debugger loop; a Continue / Continue2 / Reboot from the debugger means it
 * runs again. While stopped, and only while no request forwarded to the guest is still
 * unanswered (replies keep their order), a ReadPhysicalMemory whose range lies wholly in
 * RAM and a ReadVirtualMemory translated by the host's page walker are answered here, in
 * the very reply the guest's KD core would have built (same header echo, ReturnStatus,
 * ActualBytesRead, partial reads ending at the first non-present page). The CR3 / CR4 of
 * the stopped processor come from one ReadControlSpace(KSPECIAL_REGISTERS) that the relay
 * sends the guest itself before the first virtual read of a stop; its reply is consumed,
 * never forwarded. Everything else goes to the guest as before: writes, MMIO, ROM, reads
 * that leave RAM, page tables outside RAM or with reserved bits, a running guest.
 *
 * Invalidation: the CR3 is dropped on every continue, on requests that may change it
 * (SetContext, WriteControlSpace, SwitchProcessor, ...) and on every new state change;
 * page tables are never cached (each read walks the live RAM). A guest reconnect, a guest
 * HELLO and a debugger (re)connect reset the stop state; a QEMU restart remaps the RAM.
 */
#ifndef VMKD_RELAY_HOSTMEM_H
#define VMKD_RELAY_HOSTMEM_H

#include <stddef.h>
#include <stdint.h>

#include "../common/guest_ram.h"

struct relay_vm;
struct relay_vm_config;

struct relay_hostmem_stats {
	uint64_t host_reads;      /* requests answered from host RAM */
	uint64_t host_bytes;
	uint64_t guest_reads;     /* read requests the guest answered */
	uint64_t cr_fetches;      /* our own ReadControlSpace requests */
	uint64_t cr_failures;     /* ... that the guest refused */
	uint64_t own_late;        /* ... answered after the guest re-reported its stop */
	uint64_t held_resent;     /* reads held for CR3, sent to the guest on a re-reported stop */
	uint64_t maps, map_failures;
	/* why a read went to the guest */
	uint64_t why_running, why_busy, why_no_ram, why_outside_ram, why_unknown_pt,
		 why_no_cr3;
};

/* Enables the host path for a VM from its configuration (host_ram + qmp set and
 * no_host_ram clear; otherwise nothing happens). The RAM is mapped lazily, at the first
 * read of a stop after each guest connection. 0, or -1 with err. */
int relay_hostmem_enable(struct relay_vm *vm, const struct relay_vm_config *cfg, char *err,
			 size_t errlen);

/* Tests: the host path over a RAM the caller mapped (no QMP). The guest_ram is copied. */
int relay_hostmem_enable_ram(struct relay_vm *vm, const struct guest_ram *ram);

void relay_hostmem_free(struct relay_vm *vm);

/* Hooks of the relay core. Return 1 when the packet was consumed (answered here, or the
 * reply to our own request), 0 to let it go on as usual. */
int relay_hostmem_from_debugger(struct relay_vm *vm, uint16_t type, const uint8_t *kd,
				size_t len);
int relay_hostmem_from_guest(struct relay_vm *vm, uint16_t type, const uint8_t *kd,
			     size_t len);

/* " | host RAM: N reads (B bytes), guest N reads, ..." appended at buf (may be empty). */
void relay_hostmem_format_stats(const struct relay_vm *vm, char *buf, size_t cap);

const struct relay_hostmem_stats *relay_hostmem_stats(const struct relay_vm *vm);

#endif
