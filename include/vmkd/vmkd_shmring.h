/* SPDX-License-Identifier: MIT */
/*
 * vmkd_shmring.h - the shared-memory channel between kdvm.dll and the relay over QEMU's
 * ivshmem-doorbell device (BAR2). Freestanding C11 (compiled for the host, the guest DLL
 * and the test kernels); no allocation, no OS.
 *
 * The relay creates the memory (it is the ivshmem server, host/relay/relay_ivshmem.h),
 * writes the header once per QEMU connection, and hands QEMU the fd. The memory carries
 * two single-producer single-consumer byte rings holding the same vmkd frames as the
 * virtio-serial port (vmkd_frame.h): the channel cores on both sides already parse a byte
 * stream with magic resynchronisation, so nothing above the ring changes.
 *
 *   offset 0                  struct vmkd_shm_header     (written by the host only)
 *   offset 64                 struct vmkd_shm_ring_ctl   guest -> host (g2h)
 *   offset 192                struct vmkd_shm_ring_ctl   host -> guest (h2g)
 *   offset data_offset        g2h data, ring_size bytes
 *   offset data_offset+ring   h2g data, ring_size bytes
 *
 * Indices. head and tail are free-running 32-bit byte counters (they wrap at 2^32, the
 * ring size is a power of two, so the position is counter & (size - 1)). head is written
 * only by the producer, tail only by the consumer, each on its own 64-byte line. Each side
 * keeps its own index in private memory and only ever *writes* it to the shared copy: the
 * peer may scribble on the shared copies, so a side never reads its own index back.
 *
 * Memory ordering (C11 / __atomic; on x86 these are plain moves plus compiler barriers):
 *   producer: load-acquire tail; copy the bytes; store-release head.
 *   consumer: load-acquire head; copy the bytes out; store-release tail.
 * The acquire pairs with the peer's release, so bytes are visible before the index that
 * covers them, and a slot is reused only after the consumer's copy is done.
 *
 * The peer is untrusted. Every index read from it is checked: a consumer that sees
 * head - tail > size, or a producer that sees head - tail > size, counts a corruption and
 * resynchronises its own index to the peer's (the consumer drops what it cannot trust;
 * the producer restarts the stream at the consumer's index). Frames carry their own magic
 * and length, so a resynchronised stream recovers at the next frame. The consumer copies
 * bytes out before parsing them, so the peer cannot change a frame under the parser.
 *
 * Notifications. Guest -> host: after publishing head the guest writes the ivshmem
 * Doorbell register (BAR0 + 12) with (host_peer_id << 16) | doorbell_vector; QEMU turns it
 * into an eventfd write the relay polls. Host -> guest: none; the guest polls h2g.head
 * (KD polls anyway), a load from memory, no port I/O and no VM exit.
 */
#ifndef VMKD_SHMRING_H
#define VMKD_SHMRING_H

#include <stddef.h>
#include <stdint.h>

#include "vmkd/kd_wire.h"

#define VMKD_SHM_MAGIC        0x48534B56u /* "VKSH" in memory order */
#define VMKD_SHM_VERSION      1u
#define VMKD_SHM_DATA_OFFSET  4096u        /* data rings start on their own page */
#define VMKD_SHM_RING_MIN     4096u        /* a frame of VMKD_FRAME_MAX_BYTES must fit */
#define VMKD_SHM_RING_MAX     (1u << 30)
#define VMKD_SHM_SIZE_DEFAULT (256u * 1024u) /* a power of two: QEMU maps it as BAR2 */
#define VMKD_SHM_LINE         64u

/* PCI identity of QEMU's ivshmem (doorbell and plain) and its BAR0 registers. */
#define VMKD_IVSHMEM_VENDOR      0x1af4u
#define VMKD_IVSHMEM_DEVICE      0x1110u
#define VMKD_IVSHMEM_INTRMASK    0u
#define VMKD_IVSHMEM_INTRSTATUS  4u
#define VMKD_IVSHMEM_IVPOSITION  8u
#define VMKD_IVSHMEM_DOORBELL    12u

/* ID the relay gives itself as an ivshmem peer (QEMU gets the next ones). */
#define VMKD_SHM_HOST_PEER    0u

struct vmkd_shm_header {
	uint32_t magic;            /* VMKD_SHM_MAGIC */
	uint16_t version;          /* VMKD_SHM_VERSION */
	uint16_t header_size;      /* sizeof(struct vmkd_shm_header) */
	uint32_t total_size;       /* bytes of shared memory (= BAR2 size) */
	uint32_t ring_size;        /* bytes of each data ring, a power of two */
	uint32_t g2h_ctl;          /* offset of the guest -> host struct vmkd_shm_ring_ctl */
	uint32_t h2g_ctl;          /* offset of the host -> guest struct vmkd_shm_ring_ctl */
	uint32_t g2h_data;         /* offset of the guest -> host data */
	uint32_t h2g_data;         /* offset of the host -> guest data */
	uint16_t host_peer_id;     /* Doorbell target: the relay's ivshmem peer id */
	uint16_t doorbell_vector;  /* Doorbell vector */
	uint32_t generation;       /* bumped by the relay each time it (re)initialises */
	uint32_t reserved[6];
};
KD_ASSERT_SIZE(struct vmkd_shm_header, 64);
KD_ASSERT_OFF(struct vmkd_shm_header, ring_size, 12);
KD_ASSERT_OFF(struct vmkd_shm_header, host_peer_id, 32);
KD_ASSERT_OFF(struct vmkd_shm_header, generation, 36);

struct vmkd_shm_ring_ctl {
	uint32_t head;             /* producer's counter: bytes ever written */
	uint8_t pad0[VMKD_SHM_LINE - 4];
	uint32_t tail;             /* consumer's counter: bytes ever consumed */
	uint8_t pad1[VMKD_SHM_LINE - 4];
};
KD_ASSERT_SIZE(struct vmkd_shm_ring_ctl, 128);
KD_ASSERT_OFF(struct vmkd_shm_ring_ctl, tail, 64);

#define VMKD_SHM_G2H_CTL  64u
#define VMKD_SHM_H2G_CTL  (VMKD_SHM_G2H_CTL + 128u)
_Static_assert(VMKD_SHM_H2G_CTL + sizeof(struct vmkd_shm_ring_ctl) <= VMKD_SHM_DATA_OFFSET,
	       "ring controls fit before the data");

/* The layout both sides use, checked: offsets and sizes within total_size. */
struct vmkd_shm_layout {
	uint32_t total_size;
	uint32_t ring_size;
	uint32_t g2h_ctl, h2g_ctl, g2h_data, h2g_data;
	uint16_t host_peer_id;
	uint16_t doorbell_vector;
	uint32_t generation;
};

enum vmkd_shm_status {
	VMKD_SHM_OK = 0,
	VMKD_SHM_TOO_SMALL,        /* the memory cannot hold header + two minimal rings */
	VMKD_SHM_BAD_MAGIC,
	VMKD_SHM_BAD_VERSION,
	VMKD_SHM_BAD_GEOMETRY,     /* sizes / offsets out of bounds, overlapping, not 2^n */
};

/* Host: writes a fresh header and zeroed ring controls into mem (size bytes; a power of two
 * is not required here, QEMU wants one for the BAR). The rings get the largest power of
 * two that fits. Fills *out (may be NULL). */
enum vmkd_shm_status vmkd_shm_format(void *mem, size_t size, uint16_t host_peer_id,
				     uint16_t vector, uint32_t generation,
				     struct vmkd_shm_layout *out);

/* Guest: reads and checks the header of mem (size bytes, what the BAR says, never what the
 * header says). */
enum vmkd_shm_status vmkd_shm_check(const void *mem, size_t size, struct vmkd_shm_layout *out);

const char *vmkd_shm_status_name(enum vmkd_shm_status s);

struct vmkd_shm_ring_stats {
	uint64_t bytes;            /* moved through this end */
	uint64_t corrupt;          /* peer indices out of range (resynchronised) */
	uint64_t full;             /* producer: writes that found no room for everything */
};

/* One end of one ring, in private memory. */
struct vmkd_shmring {
	volatile struct vmkd_shm_ring_ctl *ctl;
	volatile uint8_t *data;
	uint32_t size;             /* power of two */
	uint32_t mine;             /* our own index (head if producer, tail if consumer) */
	struct vmkd_shm_ring_stats stats;
};

/* Attaches to the g2h or h2g ring (host_to_guest) of a checked layout as its producer or
 * consumer. A producer starts at the shared head, a consumer at the shared tail (the values
 * the host formatted, or what the previous incarnation of this end left). */
void vmkd_shmring_attach(struct vmkd_shmring *r, void *mem, const struct vmkd_shm_layout *l,
			 int host_to_guest, int producer);

/* Consumer: bytes readable now (0 after a corruption, which resynchronises). */
uint32_t vmkd_shmring_readable(struct vmkd_shmring *r);
/* Consumer: copies up to cap bytes out and releases them. Returns the count. */
size_t vmkd_shmring_read(struct vmkd_shmring *r, void *dst, size_t cap);
/* Consumer: drops everything written so far (a guest restarting its transport). */
void vmkd_shmring_discard(struct vmkd_shmring *r);

/* Producer: bytes writable now (0 after a corruption, which resynchronises). */
uint32_t vmkd_shmring_writable(struct vmkd_shmring *r);
/* Producer: writes up to len bytes and publishes them. Returns the count (less than len
 * when the ring is full: counted in stats.full). */
size_t vmkd_shmring_write(struct vmkd_shmring *r, const void *src, size_t len);
/* Producer: writes all len bytes or nothing (a whole frame). Returns 0 or -1 (full). */
int vmkd_shmring_write_all(struct vmkd_shmring *r, const void *src, size_t len);

#endif /* VMKD_SHMRING_H */
