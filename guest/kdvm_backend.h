/* SPDX-License-Identifier: MIT */
/*
 * kdvm_backend.h - the seam between the channel core (kdvm_channel.c: frames, link state,
 * break-in, resync, stats) and the device that carries the frames' bytes. Two backends:
 *
 *   virtio-serial   kdvm_backend_vser (virtio_serial.c): TX arena + used ring, RX buffers
 *   ivshmem         kdvm_backend_ivs (kdvm_backend_ivs.c over ivshmem.c): byte rings in
 *                   BAR2, one doorbell per frame, host data polled in memory
 *
 * Chosen at init (kdvm_channel_config.device). Every op takes the backend's own state. The
 * rules the core relies on, whichever backend:
 *   - tx_reserve + tx_submit: a frame is built in place and then posted whole; reserve
 *     fails (memory-only check, no port I/O) while there is no room, and the core polls it;
 *     tx_submit_batched may leave the notify out while the device is busy with earlier
 *     frames (returns 1), and tx_kick pays that debt later (virtio_serial.h);
 *   - rx_next hands out one buffer of received bytes that stays valid until rx_release;
 *     rx_pending and rx_next touch memory only;
 *   - host_open / open_generation say whether a host program is there and when it changed
 *     (a new connection means HELLO again);
 *   - check / check_quick defend the device (section 1 of docs/windows.md), with the
 *     results of enum vser_check.
 */
#ifndef VMKD_KDVM_BACKEND_H
#define VMKD_KDVM_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "guest_io.h"
#include "virtio_serial.h"

struct kdvm_backend {
	const char *name;
	int (*tx_reserve)(void *be, uint32_t len, uint8_t **buf);
	void (*tx_submit)(void *be, uint32_t len);
	int (*tx_submit_batched)(void *be, uint32_t len);
	void (*tx_kick)(void *be);
	void (*tx_reclaim)(void *be);
	uint32_t (*tx_in_flight)(void *be);
	uint64_t (*tx_lost)(void *be);         /* frames a reset took before they left */
	/* Those frames' bytes, whole and in order, when the backend kept them (0 if none);
	 * take: forget them. */
	uint32_t (*tx_lost_frames)(void *be, const uint8_t **bytes, int take);
	int (*broken)(void *be);
	int (*rx_next)(void *be, const uint8_t **data, uint32_t *len, uint16_t *id);
	void (*rx_release)(void *be, uint16_t id);
	int (*rx_pending)(void *be);
	int (*host_open)(void *be);
	uint32_t (*open_generation)(void *be);
	void (*poll_control)(void *be);
	enum vser_check (*check)(void *be, int force);
	enum vser_check (*check_quick)(void *be);
	void (*shutdown)(void *be);
	struct guest_io *(*io)(void *be);
};

extern const struct kdvm_backend kdvm_backend_vser;
extern const struct kdvm_backend kdvm_backend_ivs;

#endif
