/* SPDX-License-Identifier: MIT */
/*
 * kdvm_imitate.h - what Windows does to a KD transport that no other test does: another
 * driver resetting or re-programming its PCI device, a sleep/resume cycle, a bug check.
 * The kernel command line schedules them mid-session:
 *
 *   kdvm_imitate=EVENT@N[,EVENT@N...]   (at most KDVM_IMITATE_MAX events)
 *
 * EVENT fires just before the kernel sends its packet number N+1, when the request it
 * answers (if any) has been taken and the debugger waits: between two requests, with
 * nothing of the debugger's in flight, as when the kernel runs while another driver or
 * the firmware touches the device (a request in flight across a reset is lost with the
 * device's ring: the relay's concern, docs/windows.md):
 *   reset   write 0 to the device status register (as vioser's or firmware's reset)
 *   decode  clear I/O decode and bus mastering in the PCI command register (PnP stop)
 *   bar     move the I/O BAR to another address (PnP rebalance)
 *   power   KdD3Transition, then a firmware-like reset (status 0, command cleared),
 *           then KdD0Transition (sleep and resume)
 *   hiber   the same with KdSave(TRUE)/KdRestore(TRUE) and a second
 *           KdDebuggerInitialize0(NULL), as the kernel does when it resumes from
 *           hibernation
 *   crash   poison the services kdvm.dll imports (any later call panics the kernel), as
 *           after KeBugCheckEx: from then on the transport has its own memory and port
 *           I/O only
 * Each event prints one console line "vmkd-target: imitate: ...".
 */
#ifndef VMKD_TARGET_KDVM_IMITATE_H
#define VMKD_TARGET_KDVM_IMITATE_H

#include <stdint.h>

#include "guest_io.h"
#include "pci_cf8.h"

#define KDVM_IMITATE_MAX 8

enum kdvm_imitate_event {
	IMITATE_RESET,
	IMITATE_DECODE,
	IMITATE_BAR,
	IMITATE_POWER,
	IMITATE_HIBER,
	IMITATE_CRASH,
	IMITATE_COUNT,
};

struct kd_kdvm;

struct kdvm_imitate {
	struct {
		enum kdvm_imitate_event what;
		uint32_t after_sends;
		uint8_t done;
	} ev[KDVM_IMITATE_MAX];
	unsigned n;
	uint32_t sends;              /* KdSendPacket calls so far */
	struct guest_platform plat;  /* the kernel's own port I/O, to reach the device */
	struct guest_io io;
	struct pci_addr dev;
	uint8_t have_dev;
};

/* Reads kdvm_imitate= (bad words are reported and skipped). */
void kdvm_imitate_init(struct kdvm_imitate *im);

/* KdSendPacket is about to be called: fires what is due. */
void kdvm_imitate_before_send(struct kdvm_imitate *im, struct kd_kdvm *k);

#endif
