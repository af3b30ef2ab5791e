/* SPDX-License-Identifier: MIT */
/* Driver side of a legacy split virtqueue: layout, publish, used-ring reads. */
#include "vring.h"

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static size_t used_offset(uint16_t num)
{
	return align_up(sizeof(struct vring_desc) * num + sizeof(uint16_t) * (3u + num),
			VRING_LEGACY_ALIGN);
}

size_t vring_legacy_size(uint16_t num)
{
	return used_offset(num) +
	       align_up(sizeof(uint16_t) * 3u + sizeof(struct vring_used_elem) * num,
			VRING_LEGACY_ALIGN);
}

void vring_init(struct vring *vr, uint16_t queue, uint16_t num, void *mem)
{
	uint8_t *p = mem;
	size_t size = vring_legacy_size(num);

	for (size_t i = 0; i < size; i++)
		p[i] = 0;
	vr->num = num;
	vr->queue = queue;
	vr->avail_idx = 0;
	vr->last_used = 0;
	vr->desc = (struct vring_desc *)(void *)p;
	vr->avail = (uint16_t *)(void *)(p + sizeof(struct vring_desc) * num);
	vr->used_hdr = (uint16_t *)(void *)(p + used_offset(num));
	vr->used = (struct vring_used_elem *)(void *)(p + used_offset(num) + 4);
	/* We poll the used ring; an interrupt would only leave INTx asserted (platform.md A5). */
	__atomic_store_n(&vr->avail[0], (uint16_t)VRING_AVAIL_F_NO_INTERRUPT, __ATOMIC_RELAXED);
}

void vring_set_desc(struct vring *vr, uint16_t id, uint64_t addr, uint32_t len, uint16_t flags)
{
	struct vring_desc *d = &vr->desc[id];

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = 0;
}

void vring_publish(struct vring *vr, uint16_t id)
{
	__atomic_store_n(&vr->avail[2 + vr->avail_idx % vr->num], id, __ATOMIC_RELAXED);
	vr->avail_idx++;
	/* Release: the descriptor and ring entry are written before the device sees the index.
	 * On x86 this is a compiler barrier only. */
	__atomic_store_n(&vr->avail[1], vr->avail_idx, __ATOMIC_RELEASE);
}

int vring_used_pending(const struct vring *vr)
{
	uint16_t n = (uint16_t)(vring_used_idx(vr) - vr->last_used);

	return n > vr->num ? -1 : (int)n;
}

struct vring_used_elem vring_next_used(struct vring *vr)
{
	struct vring_used_elem e;
	const struct vring_used_elem *u = &vr->used[vr->last_used % vr->num];

	/* Each field once: a hostile device could change it between two reads. */
	e.id = __atomic_load_n(&u->id, __ATOMIC_RELAXED);
	e.len = __atomic_load_n(&u->len, __ATOMIC_RELAXED);
	vr->last_used++;
	return e;
}
