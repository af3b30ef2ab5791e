/* SPDX-License-Identifier: MIT */
/*
 * ivshmem.h - the guest end of the ivshmem channel backend: QEMU's ivshmem-doorbell
 * (PCI 1af4:1110, class 0x0500), a device no Windows driver claims by default, with the
 * relay as its ivshmem server (host/relay/relay_ivshmem.h). The same vmkd frames as
 * virtio-serial, in two byte rings in BAR2 (include/vmkd/vmkd_shmring.h). Freestanding.
 *
 *   BAR0  registers (MMIO, 256 bytes): IntrMask 0, IntrStatus 4, IVPosition 8, Doorbell 12
 *   BAR1  MSI-X (unused: the guest never takes an interrupt)
 *   BAR2  the shared memory (prefetchable, usually 64-bit)
 *
 * Sending a frame: copy it into the guest->host ring, publish head, one MMIO write to
 * Doorbell ((host peer << 16) | vector, from the header) - one VM exit, the same count as a
 * virtio notify. Receiving: the host->guest ring's head is a load from memory; waiting
 * costs no VM exit at all. Config space (port I/O 0xCF8/0xCFC) is touched at init and by
 * ivs_check only.
 *
 * The BARs are physical addresses: the platform maps them (guest_platform.map_io). Sizing
 * BAR2 is done here (all-ones probe with memory decode off), so the header is checked
 * against what the device says, never against what the header says.
 */
#ifndef VMKD_GUEST_IVSHMEM_H
#define VMKD_GUEST_IVSHMEM_H

#include <stddef.h>
#include <stdint.h>

#include "guest_io.h"
#include "pci_cf8.h"
#include "vmkd/vmkd_frame.h"
#include "vmkd/vmkd_shmring.h"

#define IVS_BAR2           0x18u
#define PCI_COMMAND_MEMORY 0x0002u
#define IVS_REGS_SIZE      256u
#define IVS_RX_CHUNK       4096u   /* host bytes copied out of the ring per rx_next */

enum ivs_err {
	IVS_OK = 0,
	IVS_ERR_NO_DEVICE = -1,   /* no 1af4:1110 on the buses scanned */
	IVS_ERR_BAR = -2,         /* BAR0 or BAR2 unassigned or not memory */
	IVS_ERR_NO_MAP = -3,      /* the platform cannot map device memory */
	IVS_ERR_HEADER = -4,      /* BAR2 holds no valid vmkd header (relay not the server?) */
};

enum ivs_check {
	IVS_CHECK_OK = 0,
	IVS_CHECK_REPAIRED,       /* memory decode was off (turned back on) */
	IVS_CHECK_LOST,           /* BARs moved or header gone: the backend cannot go on */
};

struct ivs_stats {
	uint64_t frames_sent;
	uint64_t doorbells;       /* MMIO writes to Doorbell */
	uint64_t tx_full;         /* sends refused: the guest->host ring had no room */
	uint64_t rx_bytes;
	uint64_t checks, repairs;
};

struct ivs {
	struct guest_io io;           /* config-space port I/O, counted */
	struct pci_addr pci;
	uint64_t bar0, bar2;          /* physical */
	uint64_t bar2_len;
	volatile uint32_t *regs;      /* BAR0, mapped */
	uint8_t *shm;                 /* BAR2, mapped */
	struct vmkd_shm_layout layout;
	struct vmkd_shmring tx;       /* guest -> host, we produce */
	struct vmkd_shmring rx;       /* host -> guest, we consume */
	uint32_t doorbell;            /* value written to Doorbell */
	uint32_t position;            /* IVPosition: our own peer id */
	struct ivs_stats stats;
	/* for the channel seam (kdvm_backend_ivs.c): a frame is built here, then copied into
	 * the ring; host bytes are copied out here before the parser sees them */
	uint8_t txbuf[VMKD_FRAME_MAX_BYTES];
	uint8_t rxbuf[IVS_RX_CHUNK];
};

/* Finds the device, sizes and maps its BARs, turns on memory decode, checks the header,
 * attaches the rings and drops host bytes older than this call (a guest starting over).
 * Returns IVS_OK or an ivs_err. */
int ivs_init(struct ivs *v, const struct guest_platform *plat);

/* Whole frame or nothing; the doorbell rings once. 0, or -1 if the ring is full. */
int ivs_send(struct ivs *v, const void *frame, size_t len);

/* Bytes the host wrote, copied out (a memory load; no port I/O). Returns the count. */
size_t ivs_recv(struct ivs *v, void *dst, size_t cap);

/* 1 if host bytes are waiting. */
int ivs_readable(struct ivs *v);

/* Config space and header still as set up? Turns memory decode back on if something
 * turned it off. 5 port accesses. */
enum ivs_check ivs_check(struct ivs *v);

#endif
