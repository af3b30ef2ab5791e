/* SPDX-License-Identifier: MIT */
/*
 * relay_ivshmem.h - the relay as the ivshmem server of one VM (QEMU's ivshmem-doorbell,
 * docs/specs/ivshmem-spec.rst in QEMU): the guest channel in shared memory instead of a
 * virtio-serial chardev (vmkd_shmring.h has the layout).
 *
 *   QEMU:  -chardev socket,path=PATH,id=vmkdivs
 *          -device ivshmem-doorbell,chardev=vmkdivs,vectors=1
 *   relay: --guest ivshmem:PATH
 *
 * The relay creates the shared memory (a memfd, VMKD_SHM_SIZE_DEFAULT bytes, a power of
 * two as QEMU's BAR2 needs), maps it, and listens on PATH (a unix socket, mode 0600). When
 * QEMU connects (at device realize, so the relay must be up first) the relay formats the
 * memory afresh and sends, per the spec, each message an int64 little-endian, with at most
 * one fd (SCM_RIGHTS):
 *   1. 0                      protocol version
 *   2. RELAY_IVSHMEM_QEMU_ID  QEMU's own peer id
 *   3. -1 + the memfd         the shared memory
 *   4. 0 + an eventfd         "peer 0 connected": the relay itself (VMKD_SHM_HOST_PEER);
 *                             the guest's Doorbell write (0 << 16 | 0) makes QEMU write
 *                             this eventfd, which the relay polls
 *   5. QEMU's id + an eventfd  QEMU's own interrupt vector 0 (the relay never signals it:
 *                             the guest polls; sent because the protocol defines it)
 * One QEMU at a time: a new connection replaces the old one (a restarted QEMU). QEMU never
 * sends anything; readable-then-EOF on its socket means it went away.
 *
 * The relay never reads its own indices back from the memory, bounds-checks every index the
 * guest writes (vmkd_shmring.c) and copies guest bytes out of the ring before parsing.
 */
#ifndef VMKD_RELAY_IVSHMEM_H
#define VMKD_RELAY_IVSHMEM_H

#include <stddef.h>
#include <stdint.h>

#include "vmkd/vmkd_shmring.h"

#define RELAY_IVSHMEM_QEMU_ID  1u
#define RELAY_IVSHMEM_PROTOCOL 0

struct relay_ivshmem_stats {
	uint64_t connects;        /* QEMU connections served */
	uint64_t doorbells;       /* guest notifications (eventfd counts summed) */
	uint64_t g2h_bytes, h2g_bytes;
	uint64_t g2h_corrupt, h2g_corrupt; /* guest indices out of range (resynchronised) */
	uint64_t h2g_full;        /* writes that found the host->guest ring full */
};

struct relay_ivshmem;

/* Creates the memory and the doorbell eventfd, listens on path. size 0: the default.
 * NULL with a message in err. */
struct relay_ivshmem *relay_ivshmem_open(const char *path, size_t size, char *err,
					 size_t errlen);
void relay_ivshmem_close(struct relay_ivshmem *ivs); /* also removes the socket file */

int relay_ivshmem_listen_fd(const struct relay_ivshmem *ivs);
int relay_ivshmem_client_fd(const struct relay_ivshmem *ivs);   /* QEMU, or -1 */
int relay_ivshmem_doorbell_fd(const struct relay_ivshmem *ivs);

/* Accepts QEMU and runs the set-up above. 1: a QEMU is now connected (replacing any old
 * one: *replaced set), 0: nobody was waiting, -1: set-up failed (err; the connection is
 * closed). */
int relay_ivshmem_accept(struct relay_ivshmem *ivs, int *replaced, char *err, size_t errlen);

/* After POLLIN on the client fd: 1 if QEMU is still there, 0 if it went away (closed). */
int relay_ivshmem_client_alive(struct relay_ivshmem *ivs);
void relay_ivshmem_drop_client(struct relay_ivshmem *ivs);

/* Drains the doorbell eventfd; returns how many rings it counted. */
uint64_t relay_ivshmem_doorbell(struct relay_ivshmem *ivs);

/* Guest -> host bytes, copied out (the ring is released at once). 0 without a client. */
size_t relay_ivshmem_read(struct relay_ivshmem *ivs, void *dst, size_t cap);
/* Host -> guest bytes: as many as fit now. */
size_t relay_ivshmem_write(struct relay_ivshmem *ivs, const void *src, size_t len);

void relay_ivshmem_get_stats(const struct relay_ivshmem *ivs, struct relay_ivshmem_stats *st);
/* The memory's layout (for tests and logs). */
const struct vmkd_shm_layout *relay_ivshmem_layout(const struct relay_ivshmem *ivs);
size_t relay_ivshmem_size(const struct relay_ivshmem *ivs);

#endif
