/* SPDX-License-Identifier: MIT */
/* Shared-memory byte rings between kdvm.dll and the relay (ivshmem BAR2). Freestanding. */
#include "vmkd/vmkd_shmring.h"

#define HDR(mem) ((volatile struct vmkd_shm_header *)(mem))

static int pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static uint32_t load_acquire(const volatile uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store_release(volatile uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* ---- layout ---------------------------------------------------------------------------- */

enum vmkd_shm_status vmkd_shm_format(void *mem, size_t size, uint16_t host_peer_id,
				     uint16_t vector, uint32_t generation,
				     struct vmkd_shm_layout *out)
{
	volatile uint8_t *b = mem;
	volatile struct vmkd_shm_header *h = HDR(mem);
	uint32_t ring = VMKD_SHM_RING_MAX;
	size_t avail;

	if (size < VMKD_SHM_DATA_OFFSET + 2u * VMKD_SHM_RING_MIN)
		return VMKD_SHM_TOO_SMALL;
	if (size > 0xffffffffu)
		size = 0xffffffffu;
	avail = (size - VMKD_SHM_DATA_OFFSET) / 2u;
	while (ring > avail)
		ring >>= 1;
	for (size_t i = 0; i < VMKD_SHM_DATA_OFFSET; i++)
		b[i] = 0;
	h->version = VMKD_SHM_VERSION;
	h->header_size = sizeof(struct vmkd_shm_header);
	h->total_size = (uint32_t)size;
	h->ring_size = ring;
	h->g2h_ctl = VMKD_SHM_G2H_CTL;
	h->h2g_ctl = VMKD_SHM_H2G_CTL;
	h->g2h_data = VMKD_SHM_DATA_OFFSET;
	h->h2g_data = VMKD_SHM_DATA_OFFSET + ring;
	h->host_peer_id = host_peer_id;
	h->doorbell_vector = vector;
	h->generation = generation;
	/* The magic last: a guest that sees it sees the rest. */
	store_release(&h->magic, VMKD_SHM_MAGIC);
	return vmkd_shm_check(mem, size, out);
}

/* [off, off + len) inside size and aligned as asked. */
static int region_ok(uint32_t off, uint32_t len, size_t size, uint32_t align)
{
	return !(off & (align - 1)) && off <= size && len <= size - off;
}

static int disjoint(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
	return a + alen <= b || b + blen <= a;
}

enum vmkd_shm_status vmkd_shm_check(const void *mem, size_t size, struct vmkd_shm_layout *out)
{
	const volatile struct vmkd_shm_header *h = (const volatile struct vmkd_shm_header *)mem;
	struct vmkd_shm_layout l;
	const uint32_t ctl = sizeof(struct vmkd_shm_ring_ctl);

	if (size < VMKD_SHM_DATA_OFFSET + 2u * VMKD_SHM_RING_MIN)
		return VMKD_SHM_TOO_SMALL;
	if (size > 0xffffffffu)
		size = 0xffffffffu;
	if (load_acquire(&h->magic) != VMKD_SHM_MAGIC)
		return VMKD_SHM_BAD_MAGIC;
	if (h->version != VMKD_SHM_VERSION || h->header_size < sizeof(struct vmkd_shm_header))
		return VMKD_SHM_BAD_VERSION;
	/* Each field read once into private memory, then checked there. */
	l.total_size = h->total_size;
	l.ring_size = h->ring_size;
	l.g2h_ctl = h->g2h_ctl;
	l.h2g_ctl = h->h2g_ctl;
	l.g2h_data = h->g2h_data;
	l.h2g_data = h->h2g_data;
	l.host_peer_id = h->host_peer_id;
	l.doorbell_vector = h->doorbell_vector;
	l.generation = h->generation;
	if (l.total_size > size || !pow2(l.ring_size) || l.ring_size < VMKD_SHM_RING_MIN ||
	    l.ring_size > VMKD_SHM_RING_MAX ||
	    !region_ok(l.g2h_ctl, ctl, l.total_size, VMKD_SHM_LINE) ||
	    !region_ok(l.h2g_ctl, ctl, l.total_size, VMKD_SHM_LINE) ||
	    !region_ok(l.g2h_data, l.ring_size, l.total_size, 8) ||
	    !region_ok(l.h2g_data, l.ring_size, l.total_size, 8) ||
	    l.g2h_ctl < sizeof(struct vmkd_shm_header) || l.h2g_ctl < sizeof(struct vmkd_shm_header) ||
	    l.g2h_data < sizeof(struct vmkd_shm_header) || l.h2g_data < sizeof(struct vmkd_shm_header) ||
	    !disjoint(l.g2h_ctl, ctl, l.h2g_ctl, ctl) ||
	    !disjoint(l.g2h_ctl, ctl, l.g2h_data, l.ring_size) ||
	    !disjoint(l.g2h_ctl, ctl, l.h2g_data, l.ring_size) ||
	    !disjoint(l.h2g_ctl, ctl, l.g2h_data, l.ring_size) ||
	    !disjoint(l.h2g_ctl, ctl, l.h2g_data, l.ring_size) ||
	    !disjoint(l.g2h_data, l.ring_size, l.h2g_data, l.ring_size))
		return VMKD_SHM_BAD_GEOMETRY;
	if (out)
		*out = l;
	return VMKD_SHM_OK;
}

const char *vmkd_shm_status_name(enum vmkd_shm_status s)
{
	switch (s) {
	case VMKD_SHM_OK: return "ok";
	case VMKD_SHM_TOO_SMALL: return "shared memory too small";
	case VMKD_SHM_BAD_MAGIC: return "no vmkd header (bad magic)";
	case VMKD_SHM_BAD_VERSION: return "unknown header version";
	case VMKD_SHM_BAD_GEOMETRY: return "ring sizes or offsets out of bounds";
	}
	return "?";
}

/* ---- rings ----------------------------------------------------------------------------- */

void vmkd_shmring_attach(struct vmkd_shmring *r, void *mem, const struct vmkd_shm_layout *l,
			 int host_to_guest, int producer)
{
	volatile uint8_t *b = mem;

	r->ctl = (volatile struct vmkd_shm_ring_ctl *)(b + (host_to_guest ? l->h2g_ctl
									   : l->g2h_ctl));
	r->data = b + (host_to_guest ? l->h2g_data : l->g2h_data);
	r->size = l->ring_size;
	r->stats = (struct vmkd_shm_ring_stats){ 0 };
	/* The only read of our own shared index: where the last incarnation of this end (or
	 * the format) left it. Checked against the peer's index on first use like any other. */
	r->mine = producer ? r->ctl->head : r->ctl->tail;
}

/* The consumer's view: head from the peer, checked against our tail. */
uint32_t vmkd_shmring_readable(struct vmkd_shmring *r)
{
	uint32_t head = load_acquire(&r->ctl->head), used = head - r->mine;

	if (used > r->size) {
		r->stats.corrupt++;
		r->mine = head;
		store_release(&r->ctl->tail, r->mine);
		return 0;
	}
	return used;
}

size_t vmkd_shmring_read(struct vmkd_shmring *r, void *dst, size_t cap)
{
	uint8_t *d = dst;
	uint32_t n = vmkd_shmring_readable(r), mask = r->size - 1;

	if (n > cap)
		n = (uint32_t)cap;
	for (uint32_t i = 0; i < n; i++)
		d[i] = r->data[(r->mine + i) & mask];
	if (n) {
		r->mine += n;
		store_release(&r->ctl->tail, r->mine);
		r->stats.bytes += n;
	}
	return n;
}

void vmkd_shmring_discard(struct vmkd_shmring *r)
{
	uint32_t n = vmkd_shmring_readable(r);

	r->mine += n;
	store_release(&r->ctl->tail, r->mine);
}

/* The producer's view: tail from the peer, checked against our head. */
uint32_t vmkd_shmring_writable(struct vmkd_shmring *r)
{
	uint32_t tail = load_acquire(&r->ctl->tail), used = r->mine - tail;

	if (used > r->size) {
		r->stats.corrupt++;
		r->mine = tail;
		store_release(&r->ctl->head, r->mine);
		return r->size;
	}
	return r->size - used;
}

size_t vmkd_shmring_write(struct vmkd_shmring *r, const void *src, size_t len)
{
	const uint8_t *s = src;
	uint32_t n = vmkd_shmring_writable(r), mask = r->size - 1;

	if (n < len)
		r->stats.full++;
	else
		n = (uint32_t)len;
	for (uint32_t i = 0; i < n; i++)
		r->data[(r->mine + i) & mask] = s[i];
	if (n) {
		r->mine += n;
		store_release(&r->ctl->head, r->mine);
		r->stats.bytes += n;
	}
	return n;
}

int vmkd_shmring_write_all(struct vmkd_shmring *r, const void *src, size_t len)
{
	if (vmkd_shmring_writable(r) < len) {
		r->stats.full++;
		return -1;
	}
	return vmkd_shmring_write(r, src, len) == len ? 0 : -1;
}
