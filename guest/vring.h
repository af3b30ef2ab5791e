/* SPDX-License-Identifier: MIT */
/*
 * vring.h - the driver side of one legacy (virtio 0.9.5) split virtqueue: layout in one
 * physically contiguous, 4096-aligned block (descriptors, avail ring, then the used ring
 * at the next 4096 boundary), publishing buffers and reading used entries.
 *
 * The device is untrusted: used.idx may jump, used.id may name any descriptor and used.len
 * any length. vring_next_used() reads every shared field exactly once; callers check id
 * and len against what they posted.
 */
#ifndef VMKD_VRING_H
#define VMKD_VRING_H

#include <stddef.h>
#include <stdint.h>

#define VRING_DESC_F_NEXT          1u
#define VRING_DESC_F_WRITE         2u
#define VRING_AVAIL_F_NO_INTERRUPT 1u
#define VRING_LEGACY_ALIGN         4096u
#define VRING_MAX_NUM              256u /* largest queue this driver accepts */

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
_Static_assert(sizeof(struct vring_desc) == 16, "vring_desc");

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};
_Static_assert(sizeof(struct vring_used_elem) == 8, "vring_used_elem");

/* avail: u16 flags, u16 idx, u16 ring[num], u16 used_event.
 * used:  u16 flags, u16 idx, vring_used_elem ring[num], u16 avail_event. */
struct vring {
	uint16_t num;
	uint16_t queue;        /* device queue index (what QUEUE_NOTIFY takes) */
	uint16_t avail_idx;    /* our copy of avail->idx */
	uint16_t last_used;    /* next used entry to read */
	struct vring_desc *desc;
	uint16_t *avail;       /* avail[0] flags, avail[1] idx, avail[2 + i] ring */
	uint16_t *used_hdr;    /* used_hdr[0] flags, used_hdr[1] idx */
	struct vring_used_elem *used;
};

/* Bytes a legacy ring of num entries needs (a multiple of 4096). */
size_t vring_legacy_size(uint16_t num);

/* Lays the ring out in mem (zeroed here, 4096-aligned, vring_legacy_size bytes) and asks
 * the device not to interrupt. */
void vring_init(struct vring *vr, uint16_t queue, uint16_t num, void *mem);

void vring_set_desc(struct vring *vr, uint16_t id, uint64_t addr, uint32_t len, uint16_t flags);

/* Makes descriptor id available to the device (ring entry, then the index, in order). */
void vring_publish(struct vring *vr, uint16_t id);

/* How many used entries wait, or -1 if the device claims more than the ring holds (its
 * index is then not trusted: the caller treats the queue as broken). */
int vring_used_pending(const struct vring *vr);

/* Reads the next used entry (call only when vring_used_pending() > 0). */
struct vring_used_elem vring_next_used(struct vring *vr);

/* The device's used index as it is now (inline: the hot paths' "anything new?" test). */
static inline uint16_t vring_used_idx(const struct vring *vr)
{
	return __atomic_load_n(&vr->used_hdr[1], __ATOMIC_ACQUIRE);
}

/* Full barrier: our stores (avail index) are visible before we read the device's state
 * or notify it. */
static inline void vring_mb(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ __volatile__("mfence" ::: "memory");
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

#endif
