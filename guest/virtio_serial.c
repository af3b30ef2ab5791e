/* SPDX-License-Identifier: MIT */
/* Legacy virtio-serial (MULTIPORT) over PCI: discovery, setup, control handshake, port I/O. */
#include "virtio_serial.h"

#include "vmkd/kd_bytes.h"

#include "guest_clock.h"

#define DEFAULT_PORT_NAME        "org.vmkd.0"
#define DEFAULT_HANDSHAKE_MS     200u
#define DEFAULT_OPEN_GRACE_MS    20u
#define CTRL_TX_WAIT_MS          10u
#define RING_MAX_PHYS            ((uint64_t)1 << 44) /* QUEUE_PFN is 32 bits of 4 KiB pages */

enum ring_slot { RING_CRX, RING_CTX, RING_RX, RING_TX };

/* ---- registers ----------------------------------------------------------------------- */

static uint8_t reg_r8(struct vser *v, uint16_t off)
{
	return guest_inb(&v->io, (uint16_t)(v->iobase + off));
}

static void reg_w8(struct vser *v, uint16_t off, uint8_t val)
{
	guest_outb(&v->io, (uint16_t)(v->iobase + off), val);
}

static uint16_t reg_r16(struct vser *v, uint16_t off)
{
	return guest_inw(&v->io, (uint16_t)(v->iobase + off));
}

static void reg_w16(struct vser *v, uint16_t off, uint16_t val)
{
	guest_outw(&v->io, (uint16_t)(v->iobase + off), val);
}

static uint32_t reg_r32(struct vser *v, uint16_t off)
{
	return guest_inl(&v->io, (uint16_t)(v->iobase + off));
}

static void reg_w32(struct vser *v, uint16_t off, uint32_t val)
{
	guest_outl(&v->io, (uint16_t)(v->iobase + off), val);
}

/* The one way to notify: a barrier so the avail index is visible first, then QUEUE_NOTIFY.
 * Notifies are sends, not polling, so the polling mark is suspended. */
static void notify(struct vser *v, uint16_t queue)
{
	uint32_t saved = guest_io_poll_suspend(&v->io);

	vring_mb();
	v->io.notifies++;
	reg_w16(v, VSER_REG_QUEUE_NOTIFY, queue);
	guest_io_poll_end(&v->io, saved);
}

/* Reads a queue's size; 0 if it is missing or unusable (legacy sizes are the device's). */
static uint16_t queue_num(struct vser *v, uint16_t queue)
{
	uint16_t num;

	reg_w16(v, VSER_REG_QUEUE_SEL, queue);
	num = reg_r16(v, VSER_REG_QUEUE_NUM);
	if (!num || num > VRING_MAX_NUM || (num & (num - 1)))
		return 0;
	return num;
}

static int setup_queue(struct vser *v, struct vring *vr, enum ring_slot slot, uint16_t queue,
		       uint16_t min_num)
{
	uint16_t num = queue_num(v, queue);

	if (!num || num < min_num ||
	    vring_legacy_size(num) > (size_t)VSER_RING_PAGES * GUEST_PAGE_SIZE)
		return VSER_ERR_QUEUE;
	vring_init(vr, queue, num, v->ring_mem[slot]);
	/* QUEUE_SEL still names this queue (queue_num selected it). */
	reg_w32(v, VSER_REG_QUEUE_PFN, (uint32_t)(v->ring_phys[slot] >> 12));
	return VSER_OK;
}

/* ---- memory -------------------------------------------------------------------------- */

static int carve_memory(struct vser *v, void *mem, size_t mem_len)
{
	uint64_t pa;
	uint8_t *p;

	if (guest_mem_init(&v->mem, v->io.plat, mem, mem_len))
		return VSER_ERR_NO_MEMORY;
	/* Multi-page rings first, while the region is least fragmented. */
	for (int i = 0; i < 4; i++) {
		v->ring_mem[i] = guest_mem_alloc(&v->mem, VSER_RING_PAGES, RING_MAX_PHYS,
						 &v->ring_phys[i]);
		if (!v->ring_mem[i])
			return VSER_ERR_NO_MEMORY;
	}
	if (!(v->crx_buf = guest_mem_alloc(&v->mem, 1, 0, &v->crx_phys)))
		return VSER_ERR_NO_MEMORY;
	if (!(v->ctx_buf = guest_mem_alloc(&v->mem, 1, 0, &v->ctx_phys)))
		return VSER_ERR_NO_MEMORY;
	for (unsigned i = 0; i < VSER_RX_BUFS; i++) {
		if (!(p = guest_mem_alloc(&v->mem, 1, 0, &pa)))
			return VSER_ERR_NO_MEMORY;
		v->rx_buf[i] = p;
		v->rx_phys[i] = pa;
	}
	/* Single pages: a frame never crosses a page, so the arena needs no contiguity. */
	for (unsigned i = 0; i < VSER_TX_PAGES; i++) {
		if (!(p = guest_mem_alloc(&v->mem, 1, 0, &pa)))
			return VSER_ERR_NO_MEMORY;
		v->tx_page[i] = p;
		v->tx_page_phys[i] = pa;
	}
	return VSER_OK;
}

/* ---- control queue ------------------------------------------------------------------- */

static void ctrl_tx_reclaim(struct vser *v)
{
	int n = vring_used_pending(&v->ctx);

	if (n < 0) {
		v->stats.broken_idx++;
		v->broken = 1;
		return;
	}
	while (n-- > 0) {
		struct vring_used_elem e = vring_next_used(&v->ctx);

		if (e.id < VSER_CTRL_TX_SLOTS && v->ctx_busy[e.id])
			v->ctx_busy[e.id] = 0;
		else
			v->stats.bad_used++;
	}
}

static int ctrl_tx_slot(struct vser *v)
{
	for (unsigned i = 0; i < VSER_CTRL_TX_SLOTS && i < v->ctx.num; i++)
		if (!v->ctx_busy[i])
			return (int)i;
	return -1;
}

static void ctrl_send(struct vser *v, uint32_t id, uint16_t event, uint16_t value)
{
	struct guest_deadline d;
	uint8_t *msg;
	int slot;

	ctrl_tx_reclaim(v);
	slot = ctrl_tx_slot(v);
	if (slot < 0) {
		guest_deadline_start(&d, v->io.plat, CTRL_TX_WAIT_MS);
		while (slot < 0 && !v->broken && !guest_deadline_expired(&d)) {
			ctrl_tx_reclaim(v);
			slot = ctrl_tx_slot(v);
		}
		if (slot < 0) {
			v->stats.ctrl_out_dropped++;
			return;
		}
	}
	msg = v->ctx_buf + (unsigned)slot * sizeof(struct vser_ctrl_msg);
	msg[0] = (uint8_t)id;
	msg[1] = (uint8_t)(id >> 8);
	msg[2] = (uint8_t)(id >> 16);
	msg[3] = (uint8_t)(id >> 24);
	msg[4] = (uint8_t)event;
	msg[5] = (uint8_t)(event >> 8);
	msg[6] = (uint8_t)value;
	msg[7] = (uint8_t)(value >> 8);
	v->ctx_busy[slot] = 1;
	vring_set_desc(&v->ctx, (uint16_t)slot,
		       v->ctx_phys + (unsigned)slot * sizeof(struct vser_ctrl_msg),
		       sizeof(struct vser_ctrl_msg), 0);
	vring_publish(&v->ctx, (uint16_t)slot);
	notify(v, VSER_CTRL_QUEUE_TX);
	v->stats.ctrl_out++;
}

/* No kick: QEMU looks for a control RX buffer only when it has a message to send, so a
 * posted buffer needs no notification (and a missing one loses the message: P8). */
static void ctrl_rx_post(struct vser *v, uint16_t id)
{
	vring_set_desc(&v->crx, id, v->crx_phys + (uint32_t)id * VSER_CTRL_RX_BUF_SIZE,
		       VSER_CTRL_RX_BUF_SIZE, VRING_DESC_F_WRITE);
	v->crx_posted[id] = 1;
	vring_publish(&v->crx, id);
}

static int name_matches(const struct vser *v, const uint8_t *name, uint32_t len)
{
	uint32_t i;

	for (i = 0; v->name[i]; i++)
		if (i >= len || name[i] != (uint8_t)v->name[i])
			return 0;
	return i == len || name[i] == 0;
}

static void set_host_open(struct vser *v, uint16_t value)
{
	uint8_t open = value ? 1 : 0;

	if (open && !v->host_open)
		v->open_generation++;
	v->host_open = open;
}

static void rx_post(struct vser *v, uint16_t id);
static void port_open(struct vser *v, uint32_t id);

/* Our port was named: set its queues up once, hand the device RX buffers, open it.
 * Set-up I/O, even when a wait loop finds the name: it is not polling. */
static void port_start(struct vser *v, uint32_t id)
{
	uint32_t saved = guest_io_poll_suspend(&v->io);

	port_open(v, id);
	guest_io_poll_end(&v->io, saved);
}

static void port_open(struct vser *v, uint32_t id)
{
	if (!v->port_found) {
		uint16_t rxq = (uint16_t)(2u * id + 2u), txq = (uint16_t)(2u * id + 3u);

		if (setup_queue(v, &v->rx, RING_RX, rxq, VSER_RX_BUFS) ||
		    setup_queue(v, &v->tx, RING_TX, txq, 2)) {
			v->stats.ctrl_bad++;
			return;
		}
		v->tx_ndesc = v->tx.num < VSER_TX_DESCS ? v->tx.num : VSER_TX_DESCS;
		v->port_found = 1;
		v->port_id = id;
		for (uint16_t i = 0; i < VSER_RX_BUFS; i++)
			rx_post(v, i);
		/* The ring was empty until now: tell the device (P6). */
		notify(v, v->rx.queue);
		v->stats.rx_kicks++;
	} else if (id != v->port_id) {
		/* The rings belong to the first id; re-adding under another id is unsupported. */
		v->stats.ctrl_bad++;
		return;
	}
	v->port_live = 1;
	ctrl_send(v, id, VSER_CTRL_PORT_OPEN, 1);
	if (v->host_open_bits[id / 32] & (1u << (id % 32)))
		set_host_open(v, 1);
	v->state = VSER_READY;
}

static void ctrl_handle(struct vser *v, const uint8_t *buf, uint32_t len)
{
	uint32_t id;
	uint16_t event, value;

	if (len < sizeof(struct vser_ctrl_msg)) {
		v->stats.ctrl_bad++;
		return;
	}
	id = (uint32_t)buf[0] | ((uint32_t)buf[1] << 8) | ((uint32_t)buf[2] << 16) |
	     ((uint32_t)buf[3] << 24);
	event = (uint16_t)(buf[4] | (buf[5] << 8));
	value = (uint16_t)(buf[6] | (buf[7] << 8));
	v->stats.ctrl_in++;
	if (id > VSER_PORT_MAX_ID) {
		v->stats.ctrl_bad++;
		return;
	}
	switch (event) {
	case VSER_CTRL_PORT_ADD:
		/* Every port is made ready, or QEMU never tells us its name. */
		ctrl_send(v, id, VSER_CTRL_PORT_READY, 1);
		break;
	case VSER_CTRL_PORT_NAME:
		if (name_matches(v, buf + sizeof(struct vser_ctrl_msg),
				 len - (uint32_t)sizeof(struct vser_ctrl_msg)))
			port_start(v, id);
		break;
	case VSER_CTRL_PORT_OPEN:
		if (value)
			v->host_open_bits[id / 32] |= 1u << (id % 32);
		else
			v->host_open_bits[id / 32] &= ~(1u << (id % 32));
		if (v->port_live && id == v->port_id)
			set_host_open(v, value);
		break;
	case VSER_CTRL_PORT_REMOVE:
		v->host_open_bits[id / 32] &= ~(1u << (id % 32));
		if (v->port_found && id == v->port_id) {
			v->port_live = 0;
			v->host_open = 0;
		}
		break;
	case VSER_CTRL_CONSOLE_PORT:
	case VSER_CTRL_RESIZE:
		break;
	default:
		v->stats.ctrl_bad++;
		break;
	}
}

void vser_poll_control(struct vser *v)
{
	int n;

	if (v->state != VSER_HANDSHAKE && v->state != VSER_READY)
		return;
	n = vring_used_pending(&v->crx);
	if (n < 0) {
		v->stats.broken_idx++;
		v->broken = 1;
		return;
	}
	while (n-- > 0) {
		struct vring_used_elem e = vring_next_used(&v->crx);

		if (e.id >= v->crx_count || !v->crx_posted[e.id]) {
			v->stats.bad_used++;
			continue;
		}
		v->crx_posted[e.id] = 0;
		if (e.len > VSER_CTRL_RX_BUF_SIZE)
			v->stats.bad_used++;
		else
			ctrl_handle(v, v->crx_buf + e.id * VSER_CTRL_RX_BUF_SIZE, e.len);
		ctrl_rx_post(v, (uint16_t)e.id);
	}
}

/* ---- port data ----------------------------------------------------------------------- */

static void rx_post(struct vser *v, uint16_t id)
{
	vring_set_desc(&v->rx, id, v->rx_phys[id], VSER_RX_BUF_SIZE, VRING_DESC_F_WRITE);
	v->rx_posted[id] = 1;
	vring_publish(&v->rx, id);
}

int vser_host_open(const struct vser *v)
{
	return v->state == VSER_READY && v->port_live && v->host_open && !v->broken;
}

int vser_rx_next(struct vser *v, const uint8_t **data, uint32_t *len, uint16_t *id)
{
	int n;

	if (!v->port_found || v->broken)
		return 0;
	n = vring_used_pending(&v->rx);
	if (n < 0) {
		v->stats.broken_idx++;
		v->broken = 1;
		return 0;
	}
	while (n-- > 0) {
		struct vring_used_elem e = vring_next_used(&v->rx);

		if (e.id >= VSER_RX_BUFS || !v->rx_posted[e.id]) {
			v->stats.bad_used++;
			continue;
		}
		v->rx_posted[e.id] = 0;
		if (e.len > VSER_RX_BUF_SIZE || e.len == 0) {
			if (e.len)
				v->stats.bad_used++;
			vser_rx_release(v, (uint16_t)e.id);
			continue;
		}
		v->stats.rx_buffers++;
		v->stats.rx_bytes += e.len;
		*data = v->rx_buf[e.id];
		*len = e.len;
		*id = (uint16_t)e.id;
		return 1;
	}
	return 0;
}

void vser_rx_release(struct vser *v, uint16_t id)
{
	uint16_t before;

	if (id >= VSER_RX_BUFS || v->rx_posted[id] || !v->port_found)
		return;
	before = v->rx.avail_idx;
	rx_post(v, id);
	/* If the device had used every buffer posted before this one, it may have found the
	 * ring empty and stopped reading the chardev until a kick (P6). Barrier first, so
	 * the device either sees the new index or we see its last used entry. */
	vring_mb();
	if (vring_used_idx(&v->rx) == before) {
		v->io.notifies++;
		v->stats.rx_kicks++;
		reg_w16(v, VSER_REG_QUEUE_NOTIFY, v->rx.queue);
	}
}

/* ---- port TX: the arena ---------------------------------------------------------------- */

#define TX_ARENA_BYTES (VSER_TX_PAGES * GUEST_PAGE_SIZE)
_Static_assert((VSER_TX_PAGES & (VSER_TX_PAGES - 1)) == 0, "arena offsets wrap at 2^32");
_Static_assert((VSER_TX_DESCS & (VSER_TX_DESCS - 1)) == 0, "frame numbers wrap at 2^16");
_Static_assert(VSER_TX_FRAME_MAX <= GUEST_PAGE_SIZE, "a frame fits one page");

int vser_rx_pending(const struct vser *v)
{
	return (v->state == VSER_HANDSHAKE || v->state == VSER_READY) &&
	       (vring_used_idx(&v->crx) != v->crx.last_used ||
		(v->port_found && vring_used_idx(&v->rx) != v->rx.last_used));
}

void vser_tx_reclaim(struct vser *v)
{
	int n;

	if (!v->port_found || v->broken)
		return;
	n = vring_used_pending(&v->tx);
	if (n < 0) {
		v->stats.broken_idx++;
		v->broken = 1;
		return;
	}
	while (n-- > 0) {
		struct vring_used_elem e = vring_next_used(&v->tx);

		/* Only a descriptor the device owns may come back, once per posting; anything
		 * else (a stale or invented id, a repeat) is refused, so a buffer is never
		 * reused while the device may still read it. */
		if (e.id >= v->tx_ndesc || v->tx_state[e.id] != VSER_TX_POSTED) {
			v->stats.tx_bad_id++;
			v->stats.bad_used++;
			continue;
		}
		/* The device only reads TX buffers: used.len is 0 (platform.md A4). Another
		 * value is counted; the buffer is back all the same, as nothing is read from
		 * it. */
		if (e.len)
			v->stats.tx_bad_len++;
		v->tx_state[e.id] = VSER_TX_RETURNED;
	}
	/* Bytes are freed in posting order; a frame returned early waits for older ones. */
	while (v->tx_oldest != v->tx_next) {
		uint16_t d = (uint16_t)(v->tx_oldest % v->tx_ndesc);

		if (v->tx_state[d] != VSER_TX_RETURNED)
			break;
		v->tx_state[d] = VSER_TX_FREE;
		v->tx_tail = v->tx_end[d];
		v->tx_oldest++;
	}
}

/* Copies the frames in flight (oldest first) out of the arena, which set-up reuses. A frame
 * never crosses a page, and all of them fit the copy, which is the arena's size. */
static void keep_lost(struct vser *v)
{
	v->tx_lost_len = 0;
	for (uint16_t n = v->tx_oldest; n != v->tx_next; n++) {
		uint16_t d = (uint16_t)(n % v->tx_ndesc);
		uint32_t len = v->tx_len[d], off = v->tx_end[d] - len;

		if (v->tx_state[d] != VSER_TX_POSTED ||
		    len > sizeof(v->tx_lost_bytes) - v->tx_lost_len)
			continue;
		kd_memcpy(v->tx_lost_bytes + v->tx_lost_len,
			  v->tx_page[(off / GUEST_PAGE_SIZE) % VSER_TX_PAGES] + off % GUEST_PAGE_SIZE,
			  len);
		v->tx_lost_len += len;
	}
}

uint32_t vser_tx_peek_lost(const struct vser *v, const uint8_t **bytes)
{
	*bytes = v->tx_lost_bytes;
	return v->tx_lost_len;
}

uint32_t vser_tx_take_lost(struct vser *v, const uint8_t **bytes)
{
	uint32_t n = vser_tx_peek_lost(v, bytes);

	v->tx_lost_len = 0;
	return n;
}

int vser_tx_reserve(struct vser *v, uint32_t len, uint8_t **buf)
{
	uint32_t off, in_page;

	if (!v->port_live || v->broken || !len || len > VSER_TX_FRAME_MAX)
		return -1;
	vser_tx_reclaim(v);
	/* An empty arena starts over at its first byte: a page-sized frame fits again. */
	if (!vser_tx_in_flight(v))
		v->tx_head = v->tx_tail = 0;
	off = v->tx_head;
	in_page = off % GUEST_PAGE_SIZE;
	if (in_page + len > GUEST_PAGE_SIZE)
		off += GUEST_PAGE_SIZE - in_page; /* the rest of the page is skipped */
	if (vser_tx_in_flight(v) >= v->tx_ndesc || off + len - v->tx_tail > TX_ARENA_BYTES)
		return -1;
	v->tx_res_off = off;
	v->tx_res_len = len;
	*buf = v->tx_page[(off / GUEST_PAGE_SIZE) % VSER_TX_PAGES] + off % GUEST_PAGE_SIZE;
	return 0;
}

/* Posts the reserved frame; 1 if it was posted (the caller decides about the notify). */
static int tx_post(struct vser *v, uint32_t len)
{
	uint32_t off = v->tx_res_off;
	uint16_t d = (uint16_t)(v->tx_next % v->tx_ndesc);
	uint32_t n;

	if (!v->tx_res_len || !len || len > v->tx_res_len)
		return 0;
	v->tx_res_len = 0;
	v->tx_end[d] = off + len;
	v->tx_len[d] = (uint16_t)len;
	v->tx_state[d] = VSER_TX_POSTED;
	v->tx_head = off + len;
	v->tx_next++;
	vring_set_desc(&v->tx, d,
		       v->tx_page_phys[(off / GUEST_PAGE_SIZE) % VSER_TX_PAGES] +
		       off % GUEST_PAGE_SIZE, len, 0);
	vring_publish(&v->tx, d);
	v->stats.tx_buffers++;
	v->stats.tx_bytes += len;
	n = vser_tx_in_flight(v);
	if (n > v->stats.tx_max_in_flight)
		v->stats.tx_max_in_flight = n;
	return 1;
}

void vser_tx_submit(struct vser *v, uint32_t len)
{
	if (!tx_post(v, len))
		return;
	notify(v, v->tx.queue);
	v->tx_deferred = 0;
}

int vser_tx_submit_batched(struct vser *v, uint32_t len)
{
	uint16_t before = v->tx.avail_idx;

	if (!tx_post(v, len))
		return 0;
	/* Our index store before the look at the device's (a full barrier: store -> load). */
	vring_mb();
	if (vring_used_idx(&v->tx) != before) {
		v->tx_deferred = 1;
		v->stats.tx_kicks_deferred++;
		return 1;
	}
	notify(v, v->tx.queue);
	v->tx_deferred = 0;
	return 0;
}

void vser_tx_kick(struct vser *v)
{
	if (!v->tx_deferred)
		return;
	v->tx_deferred = 0;
	vring_mb();
	if (!v->port_live || vring_used_idx(&v->tx) == v->tx.avail_idx)
		return;
	v->stats.tx_kicks_late++;
	notify(v, v->tx.queue);
}

/* ---- setup --------------------------------------------------------------------------- */

void vser_shutdown(struct vser *v)
{
	if (v->iobase)
		reg_w8(v, VSER_REG_STATUS, 0);
	v->state = VSER_FAILED;
	v->port_live = 0;
	v->host_open = 0;
}

static void reset_device(struct vser *v)
{
	reg_w8(v, VSER_REG_STATUS, 0);
	/* Legacy reset completes when status reads back 0; QEMU does it synchronously. */
	for (int i = 0; i < 1000 && reg_r8(v, VSER_REG_STATUS); i++)
		;
}

static void clear_port_state(struct vser *v)
{
	v->port_found = 0;
	v->port_live = 0;
	v->host_open = 0;
	v->broken = 0;
	for (unsigned i = 0; i < sizeof(v->host_open_bits) / sizeof(v->host_open_bits[0]); i++)
		v->host_open_bits[i] = 0;
	for (unsigned i = 0; i < VSER_CTRL_TX_SLOTS; i++)
		v->ctx_busy[i] = 0;
	for (unsigned i = 0; i < VSER_RX_BUFS; i++)
		v->rx_posted[i] = 0;
	/* The device forgot the rings: nothing of the TX arena is in flight any more. */
	for (unsigned i = 0; i < VSER_TX_DESCS; i++)
		v->tx_state[i] = VSER_TX_FREE;
	v->tx_head = v->tx_tail = 0;
	v->tx_next = v->tx_oldest = 0;
	v->tx_deferred = 0;
	v->tx_res_len = 0;
}

static int wait_handshake(struct vser *v)
{
	struct guest_deadline d;
	uint32_t saved = guest_io_poll_begin(&v->io);

	guest_deadline_start(&d, v->io.plat, v->handshake_timeout_ms);
	while (!v->port_live && !v->broken && !guest_deadline_expired(&d))
		vser_poll_control(v);
	/* QEMU sends the host's PORT_OPEN right behind PORT_NAME when a client is already
	 * connected: catch it now, so the first packet is not dropped as "no relay". */
	if (v->port_live) {
		guest_deadline_start(&d, v->io.plat, v->open_grace_ms);
		while (!v->host_open && !v->broken && !guest_deadline_expired(&d))
			vser_poll_control(v);
	}
	guest_io_poll_end(&v->io, saved);
	if (v->broken)
		return VSER_ERR_BROKEN;
	return v->port_live ? VSER_OK : VSER_ERR_NO_PORT;
}

/* An I/O BAR, assigned, with its 0x20-byte legacy block inside the 16-bit port space. */
static int io_bar_base(uint32_t bar, uint16_t *base)
{
	if (!(bar & 1u) || !(bar & 0xFFFCu) || (bar & 0xFFFCu) > 0xFFE0u || (bar >> 16))
		return -1;
	*base = (uint16_t)(bar & 0xFFFCu);
	return 0;
}

/* I/O decode and bus mastering on (legacy virtio DMA needs the latter on real PCI
 * hosts), INTx off: we poll, and an asserted line nobody acknowledges is a storm. */
#define CMD_WANTED (PCI_COMMAND_IO | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE)

/* Reset, features, control queues, DRIVER_OK and the handshake up to our port's PORT_OPEN.
 * The rings and buffers carved at init are reused: nothing here asks the platform for
 * memory or addresses, so it also runs where no kernel service may be called. */
static int device_setup(struct vser *v)
{
	int err;

	clear_port_state(v);
	reset_device(v);
	reg_w8(v, VSER_REG_STATUS, VSER_STATUS_ACK);
	reg_w8(v, VSER_REG_STATUS, VSER_STATUS_ACK | VSER_STATUS_DRIVER);
	v->host_features = reg_r32(v, VSER_REG_HOST_FEATURES);
	if (!(v->host_features & VSER_F_MULTIPORT)) {
		reg_w8(v, VSER_REG_STATUS, VSER_STATUS_FAILED);
		return VSER_ERR_NO_MULTIPORT;
	}
	reg_w32(v, VSER_REG_GUEST_FEATURES, VSER_F_MULTIPORT);

	if ((err = setup_queue(v, &v->crx, RING_CRX, VSER_CTRL_QUEUE_RX, 1)) ||
	    (err = setup_queue(v, &v->ctx, RING_CTX, VSER_CTRL_QUEUE_TX, 1))) {
		reg_w8(v, VSER_REG_STATUS, VSER_STATUS_FAILED);
		return err;
	}
	v->crx_count = v->crx.num < VSER_CTRL_RX_BUFS ? v->crx.num : VSER_CTRL_RX_BUFS;
	for (uint16_t i = 0; i < v->crx_count; i++)
		ctrl_rx_post(v, i);

	reg_w8(v, VSER_REG_STATUS, VSER_STATUS_ACK | VSER_STATUS_DRIVER | VSER_STATUS_DRIVER_OK);
	v->state = VSER_HANDSHAKE;
	ctrl_send(v, 0, VSER_CTRL_DEVICE_READY, 1);
	return wait_handshake(v);
}

static int try_device(struct vser *v, struct pci_addr a)
{
	uint16_t cmd;

	v->pci = a;
	v->iobase = 0;
	if (io_bar_base(pci_read32(&v->io, a, PCI_BAR0), &v->iobase))
		return VSER_ERR_NO_IO_BAR;
	cmd = pci_read16(&v->io, a, PCI_COMMAND);
	pci_write16(&v->io, a, PCI_COMMAND, (uint16_t)(cmd | CMD_WANTED));
	return device_setup(v);
}

enum vser_check vser_check(struct vser *v, int force_setup)
{
	uint16_t cmd, base;
	uint8_t status;
	uint32_t saved;
	int changed = 0, err;

	if (!v->adopted)
		return VSER_CHECK_LOST;
	v->stats.checks++;
	/* Set-up and repair I/O, never polling, even when a wait loop asks. */
	saved = guest_io_poll_suspend(&v->io);

	if (io_bar_base(pci_read32(&v->io, v->pci, PCI_BAR0), &base)) {
		/* Unassigned, or the function is gone (all ones): nothing to drive now. */
		v->stats.device_lost++;
		v->state = VSER_FAILED;
		v->port_live = 0;
		v->host_open = 0;
		guest_io_poll_end(&v->io, saved);
		return VSER_CHECK_LOST;
	}
	if (base != v->iobase) {
		/* PnP rebalanced the BAR: follow it (QEMU keeps the device state). */
		v->iobase = base;
		v->stats.bar_moves++;
		changed = 1;
	}
	cmd = pci_read16(&v->io, v->pci, PCI_COMMAND);
	if ((cmd & CMD_WANTED) != CMD_WANTED) {
		pci_write16(&v->io, v->pci, PCI_COMMAND, (uint16_t)(cmd | CMD_WANTED));
		v->stats.command_fixes++;
		changed = 1;
	}
	status = reg_r8(v, VSER_REG_STATUS);
	if (!force_setup && !v->broken && v->state != VSER_FAILED &&
	    status == (VSER_STATUS_ACK | VSER_STATUS_DRIVER | VSER_STATUS_DRIVER_OK)) {
		guest_io_poll_end(&v->io, saved);
		return changed ? VSER_CHECK_FIXED : VSER_CHECK_OK;
	}
	/* Reset by someone else (status 0: another driver, firmware on resume), broken, or
	 * asked for: set the device up again from scratch. */
	v->stats.resetups++;
	/* What the device returned before it was reset is still in the old used ring; the
	 * rest was in flight and never reached the host whole: kept to be sent again. */
	vser_tx_reclaim(v);
	v->stats.tx_lost += vser_tx_in_flight(v);
	keep_lost(v);
	err = device_setup(v);
	guest_io_poll_end(&v->io, saved);
	if (err) {
		v->state = VSER_FAILED;
		v->port_live = 0;
		v->host_open = 0;
		return VSER_CHECK_LOST;
	}
	return VSER_CHECK_RESET;
}

enum vser_check vser_check_quick(struct vser *v)
{
	uint32_t saved;
	uint8_t status;

	if (!v->adopted || v->state != VSER_READY || v->broken)
		return vser_check(v, 0);
	v->stats.quick_checks++;
	saved = guest_io_poll_suspend(&v->io);
	status = reg_r8(v, VSER_REG_STATUS);
	guest_io_poll_end(&v->io, saved);
	if (status == (VSER_STATUS_ACK | VSER_STATUS_DRIVER | VSER_STATUS_DRIVER_OK))
		return VSER_CHECK_OK;
	return vser_check(v, 0);
}

int vser_init(struct vser *v, const struct guest_platform *plat, void *mem, size_t mem_len,
	      const struct vser_config *cfg)
{
	struct pci_addr found[VSER_MAX_DEVICES];
	const char *name = cfg && cfg->port_name ? cfg->port_name : DEFAULT_PORT_NAME;
	unsigned n, i;
	int err = VSER_ERR_NO_DEVICE;

	{
		uint8_t *p = (uint8_t *)v;

		for (size_t k = 0; k < sizeof(*v); k++)
			p[k] = 0;
	}
	v->state = VSER_OFF;
	v->io.plat = plat;
	if (!plat || !mem || !name[0])
		return VSER_ERR_PARAM;
	for (i = 0; name[i] && i < VSER_NAME_MAX - 1; i++)
		v->name[i] = name[i];
	if (name[i])
		return VSER_ERR_PARAM;
	v->handshake_timeout_ms = cfg && cfg->handshake_timeout_ms ? cfg->handshake_timeout_ms
								   : DEFAULT_HANDSHAKE_MS;
	v->open_grace_ms = cfg && cfg->open_grace_ms ? cfg->open_grace_ms : DEFAULT_OPEN_GRACE_MS;

	n = pci_find(&v->io, VSER_PCI_VENDOR, VSER_PCI_DEVICE, found, VSER_MAX_DEVICES);
	if (!n) {
		v->state = VSER_FAILED;
		return VSER_ERR_NO_DEVICE;
	}
	if ((err = carve_memory(v, mem, mem_len))) {
		v->state = VSER_FAILED;
		return err;
	}
	for (i = 0; i < n; i++) {
		err = try_device(v, found[i]);
		if (err == VSER_OK) {
			v->adopted = 1;
			return VSER_OK;
		}
		/* Not ours (or unusable): leave it reset for its real driver. */
		if (v->iobase)
			reset_device(v);
		v->state = VSER_OFF;
	}
	v->state = VSER_FAILED;
	return err;
}
