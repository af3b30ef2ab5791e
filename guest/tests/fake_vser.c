/* SPDX-License-Identifier: MIT */
/* A fake legacy virtio-serial PCI device that plays QEMU's side of the rings. */
#include "fake_vser.h"

#include <stdlib.h>
#include <string.h>

#define PAGE 4096u

enum {
	EV_DEVICE_READY = 0, EV_PORT_ADD = 1, EV_PORT_REMOVE = 2, EV_PORT_READY = 3,
	EV_CONSOLE_PORT = 4, EV_RESIZE = 5, EV_PORT_OPEN = 6, EV_PORT_NAME = 7,
};

/* ---- physical memory ------------------------------------------------------------------ */

/* A pointer to [pa, pa + len) if it lies in one page of the region. */
static uint8_t *phys_ptr(struct fake_vser *f, uint64_t pa, size_t len)
{
	uint64_t page = pa & ~(uint64_t)(PAGE - 1);

	if ((pa & (PAGE - 1)) + len > PAGE)
		goto bad;
	for (uint32_t i = 0; i < f->mem_pages; i++)
		if (f->phys_of[i] == page)
			return f->mem_base + (size_t)i * PAGE + (pa & (PAGE - 1));
bad:
	f->bad_dma++;
	return NULL;
}

static int phys_copy_out(struct fake_vser *f, uint8_t *dst, uint64_t pa, size_t len)
{
	while (len) {
		size_t n = PAGE - (pa & (PAGE - 1));
		uint8_t *p;

		if (n > len)
			n = len;
		if (!(p = phys_ptr(f, pa, n)))
			return -1;
		memcpy(dst, p, n);
		dst += n;
		pa += n;
		len -= n;
	}
	return 0;
}

static int phys_copy_in(struct fake_vser *f, uint64_t pa, const uint8_t *src, size_t len)
{
	while (len) {
		size_t n = PAGE - (pa & (PAGE - 1));
		uint8_t *p;

		if (n > len)
			n = len;
		if (!(p = phys_ptr(f, pa, n)))
			return -1;
		memcpy(p, src, n);
		src += n;
		pa += n;
		len -= n;
	}
	return 0;
}

/* ---- rings (device side) ------------------------------------------------------------- */

static uint64_t ring_desc(const struct fake_queue *q)
{
	return (uint64_t)q->pfn << 12;
}

static uint64_t ring_avail(const struct fake_queue *q)
{
	return ring_desc(q) + 16u * q->num;
}

static uint64_t ring_used(const struct fake_queue *q)
{
	return (ring_avail(q) + 6u + 2u * q->num + PAGE - 1) & ~(uint64_t)(PAGE - 1);
}

static uint16_t rd16(struct fake_vser *f, uint64_t pa)
{
	uint8_t *p = phys_ptr(f, pa, 2);
	uint16_t v = 0;

	if (p)
		memcpy(&v, p, 2);
	return v;
}

static void wr16(struct fake_vser *f, uint64_t pa, uint16_t v)
{
	uint8_t *p = phys_ptr(f, pa, 2);

	if (p)
		memcpy(p, &v, 2);
}

static void wr32(struct fake_vser *f, uint64_t pa, uint32_t v)
{
	uint8_t *p = phys_ptr(f, pa, 4);

	if (p)
		memcpy(p, &v, 4);
}

/* Pops the next available descriptor: 1 and its id/addr/len/flags, or 0. */
static int pop(struct fake_vser *f, struct fake_queue *q, uint16_t *id, uint64_t *addr,
	       uint32_t *len, uint16_t *flags)
{
	uint16_t avail_idx;
	uint8_t *d;

	if (!q->pfn || !q->num)
		return 0;
	avail_idx = rd16(f, ring_avail(q) + 2);
	if (avail_idx == q->last_avail)
		return 0;
	*id = rd16(f, ring_avail(q) + 4 + 2u * (q->last_avail % q->num));
	q->last_avail++;
	if (*id >= q->num || !(d = phys_ptr(f, ring_desc(q) + 16u * *id, 16))) {
		f->bad_dma++;
		*len = 0;
		return 1;
	}
	memcpy(addr, d, 8);
	memcpy(len, d + 8, 4);
	memcpy(flags, d + 12, 2);
	return 1;
}

static void push(struct fake_vser *f, struct fake_queue *q, uint32_t id, uint32_t len)
{
	uint64_t e = ring_used(q) + 4 + 8u * (q->used_idx % q->num);

	wr32(f, e, id);
	wr32(f, e + 4, len);
	q->used_idx++;
	wr16(f, ring_used(q) + 2, q->used_idx);
}

/* ---- control ------------------------------------------------------------------------- */

static void send_ctrl(struct fake_vser *f, struct fake_dev *dv, uint32_t id, uint16_t ev,
		      uint16_t value, const char *name)
{
	struct fake_queue *q = &dv->q[2];
	uint8_t msg[8 + 256];
	size_t len = 8, nl;
	uint16_t did, flags;
	uint64_t addr;
	uint32_t cap;

	if (!(dv->status & 4)) /* QEMU: control messages need a ready device */
		return;
	memcpy(msg, &id, 4);
	memcpy(msg + 4, &ev, 2);
	memcpy(msg + 6, &value, 2);
	if (name) {
		nl = strlen(name) + 1;
		if (nl > 256)
			nl = 256;
		memcpy(msg + 8, name, nl);
		len += nl;
	}
	if (!pop(f, q, &did, &addr, &cap, &flags)) {
		dv->ctrl_dropped++; /* P8 */
		return;
	}
	if (len > cap)
		len = cap;
	phys_copy_in(f, addr, msg, len);
	push(f, q, did, (uint32_t)len);
}

static struct fake_port *port_by_id(struct fake_dev *dv, uint32_t id)
{
	for (int i = 0; i < dv->nports; i++)
		if (dv->ports[i].id == id)
			return &dv->ports[i];
	return NULL;
}

static void handle_ctrl_tx(struct fake_vser *f, struct fake_dev *dv)
{
	struct fake_queue *q = &dv->q[3];
	uint16_t did, flags;
	uint64_t addr;
	uint32_t len;

	while (pop(f, q, &did, &addr, &len, &flags)) {
		uint8_t m[8];
		struct fake_ctrl c;
		struct fake_port *p;

		if (len < 8 || phys_copy_out(f, m, addr, 8)) {
			push(f, q, did, 0);
			continue;
		}
		memcpy(&c.id, m, 4);
		memcpy(&c.event, m + 4, 2);
		memcpy(&c.value, m + 6, 2);
		if (dv->nctrl < FAKE_LOG)
			dv->ctrl_log[dv->nctrl++] = c;
		push(f, q, did, 0);
		p = port_by_id(dv, c.id);
		switch (c.event) {
		case EV_DEVICE_READY:
			for (int i = 0; i < dv->nports; i++)
				send_ctrl(f, dv, dv->ports[i].id, EV_PORT_ADD, 1, NULL);
			break;
		case EV_PORT_READY:
			if (!p)
				break;
			send_ctrl(f, dv, p->id, EV_PORT_NAME, 1, p->name);
			if (p->host_connected)
				send_ctrl(f, dv, p->id, EV_PORT_OPEN, 1, NULL);
			break;
		case EV_PORT_OPEN:
			if (p)
				p->guest_open = c.value;
			break;
		default:
			break;
		}
	}
}

/* ---- data ---------------------------------------------------------------------------- */

uint16_t fake_port_rxq(const struct fake_vser *f, int d, int p)
{
	return (uint16_t)(2u * f->dev[d].ports[p].id + 2u);
}

static void handle_tx(struct fake_vser *f, struct fake_dev *dv, struct fake_port *p,
		      struct fake_queue *q)
{
	uint16_t did, flags;
	uint64_t addr;
	uint32_t len;

	if (f->tx_hold)
		return;
	while (pop(f, q, &did, &addr, &len, &flags)) {
		/* QEMU discards when nobody holds the chardev (A4); used.len is 0 for TX. */
		if (p->host_connected && f->host_rx_len + len <= FAKE_HOST_BUF) {
			if (!phys_copy_out(f, f->host_rx + f->host_rx_len, addr, len))
				f->host_rx_len += len;
		} else {
			f->tx_discarded += len;
		}
		push(f, q, did, 0);
	}
	(void)dv;
}

void fake_deliver(struct fake_vser *f)
{
	struct fake_dev *dv = &f->dev[0];
	struct fake_port *p = &dv->ports[f->host_port];
	struct fake_queue *q = &dv->q[fake_port_rxq(f, 0, f->host_port)];

	if (!p->host_connected || !p->guest_open || dv->rx_stalled)
		return;
	while (f->host_tx_len > f->host_tx_head) {
		uint16_t did, flags;
		uint64_t addr;
		uint32_t cap, n;

		if (!pop(f, q, &did, &addr, &cap, &flags)) {
			dv->rx_stalled = 1; /* P6: stays stalled until a kick */
			return;
		}
		n = (uint32_t)(f->host_tx_len - f->host_tx_head);
		if (n > cap)
			n = cap;
		if (n > f->rx_chunk)
			n = f->rx_chunk;
		phys_copy_in(f, addr, f->host_tx + f->host_tx_head, n);
		f->host_tx_head += n;
		push(f, q, f->evil_rx_id >= 0 ? (uint32_t)f->evil_rx_id : did,
		     f->evil_rx_len >= 0 ? (uint32_t)f->evil_rx_len : n);
		f->evil_rx_id = -1;
		f->evil_rx_len = -1;
	}
}

static void notify(struct fake_vser *f, struct fake_dev *dv, uint16_t qi)
{
	if (qi >= FAKE_QUEUES)
		return;
	dv->q[qi].notifies++;
	if (qi == 3) {
		handle_ctrl_tx(f, dv);
		return;
	}
	for (int i = 0; i < dv->nports; i++) {
		struct fake_port *p = &dv->ports[i];

		if (qi == 2u * p->id + 3u) {
			handle_tx(f, dv, p, &dv->q[qi]);
			if (f->on_tick)
				f->on_tick(f, f->hook_arg);
		} else if (qi == 2u * p->id + 2u) {
			dv->rx_kicks++;
			dv->rx_stalled = 0;
			if (dv == &f->dev[0] && i == f->host_port)
				fake_deliver(f);
		}
	}
}

/* ---- registers ----------------------------------------------------------------------- */

static void reset_dev(struct fake_dev *dv)
{
	dv->status = 0;
	dv->guest_features = 0;
	dv->queue_sel = 0;
	dv->rx_stalled = 0;
	memset(dv->q, 0, sizeof(dv->q));
	for (int i = 0; i < dv->nports; i++)
		dv->ports[i].guest_open = 0;
}

static uint16_t queue_num(const struct fake_dev *dv, uint16_t qi)
{
	if (qi >= 2u * (dv->max_ports + 1u) || qi >= FAKE_QUEUES)
		return 0;
	return qi == 2 || qi == 3 ? dv->ctrl_queue_num : dv->data_queue_num;
}

static struct fake_dev *dev_at_io(struct fake_vser *f, uint16_t port, uint16_t *off)
{
	for (int i = 0; i < FAKE_MAX_DEVS; i++) {
		struct fake_dev *dv = &f->dev[i];
		uint16_t base = (uint16_t)(dv->bar0 & 0xFFFCu);

		if (dv->present && (dv->bar0 & 1u) && base && (dv->pci_command & 1u) &&
		    port >= base && port < base + 0x20u) {
			*off = (uint16_t)(port - base);
			return dv;
		}
	}
	return NULL;
}

static struct fake_dev *dev_at_cf8(struct fake_vser *f, uint8_t *reg)
{
	uint32_t a = f->cf8;

	if (!(a & 0x80000000u))
		return NULL;
	*reg = (uint8_t)(a & 0xFCu);
	for (int i = 0; i < FAKE_MAX_DEVS; i++) {
		struct fake_dev *dv = &f->dev[i];

		if (dv->present && ((a >> 16) & 0xFFu) == dv->bus && ((a >> 11) & 31u) == dv->slot &&
		    ((a >> 8) & 7u) == 0)
			return dv;
	}
	return NULL;
}

static uint32_t cfg_read(struct fake_vser *f)
{
	uint8_t reg;
	struct fake_dev *dv = dev_at_cf8(f, &reg);

	if (!dv)
		return 0xFFFFFFFFu;
	switch (reg) {
	case 0x00: return 0x10031AF4u;
	case 0x04: return dv->pci_command;
	case 0x08: return 0x07800000u;
	case 0x0C: return 0;
	case 0x10: return dv->bar0;
	case 0x2C: return 0x00031AF4u;
	default: return 0;
	}
}

static void cfg_write(struct fake_vser *f, uint8_t byte_off, uint32_t v, unsigned size)
{
	uint8_t reg;
	struct fake_dev *dv = dev_at_cf8(f, &reg);

	if (!dv)
		return;
	if (reg == 0x04 && byte_off == 0)
		dv->pci_command = (uint16_t)v;
	(void)size;
}

static uint32_t reg_read(struct fake_vser *f, uint16_t port, unsigned size)
{
	uint16_t off;
	struct fake_dev *dv;

	f->io_count++;
	if (port >= 0xCFC && port < 0xD00) {
		uint32_t v = cfg_read(f);

		return v >> (8u * (port - 0xCFCu));
	}
	if (!(dv = dev_at_io(f, port, &off)))
		return 0xFFFFFFFFu;
	switch (off) {
	case 0x00: return dv->host_features;
	case 0x04: return dv->guest_features;
	case 0x08: return dv->queue_sel < FAKE_QUEUES ? dv->q[dv->queue_sel].pfn : 0;
	case 0x0C: return queue_num(dv, dv->queue_sel);
	case 0x0E: return dv->queue_sel;
	case 0x12: return dv->status;
	case 0x13: return 0;
	case 0x14: return 0;
	case 0x18: return dv->max_ports + 1u;
	default: return 0;
	}
	(void)size;
}

static void reg_write(struct fake_vser *f, uint16_t port, uint32_t v, unsigned size)
{
	uint16_t off;
	struct fake_dev *dv;

	f->io_count++;
	if (port == 0xCF8 && size == 4) {
		f->cf8 = v;
		return;
	}
	if (port >= 0xCFC && port < 0xD00) {
		cfg_write(f, (uint8_t)(port - 0xCFCu), v, size);
		return;
	}
	if (!(dv = dev_at_io(f, port, &off)))
		return;
	switch (off) {
	case 0x04:
		dv->guest_features = v;
		break;
	case 0x08:
		if (!v) { /* QEMU: PFN 0 resets the whole device */
			reset_dev(dv);
			break;
		}
		if (dv->queue_sel < FAKE_QUEUES && queue_num(dv, dv->queue_sel)) {
			dv->q[dv->queue_sel].pfn = v;
			dv->q[dv->queue_sel].num = queue_num(dv, dv->queue_sel);
			if (dv->status & 4)
				dv->pfn_writes_after_ok++;
		}
		break;
	case 0x0E:
		dv->queue_sel = (uint16_t)v;
		break;
	case 0x10:
		notify(f, dv, (uint16_t)v);
		break;
	case 0x12:
		if (dv->nstatus < 16)
			dv->status_log[dv->nstatus++] = (uint8_t)v;
		if (!v)
			reset_dev(dv);
		else
			dv->status = (uint8_t)v;
		break;
	default:
		break;
	}
}

/* ---- platform hooks ------------------------------------------------------------------ */

static uint8_t p_inb(void *c, uint16_t port) { return (uint8_t)reg_read(c, port, 1); }
static uint16_t p_inw(void *c, uint16_t port) { return (uint16_t)reg_read(c, port, 2); }
static uint32_t p_inl(void *c, uint16_t port) { return reg_read(c, port, 4); }
static void p_outb(void *c, uint16_t port, uint8_t v) { reg_write(c, port, v, 1); }
static void p_outw(void *c, uint16_t port, uint16_t v) { reg_write(c, port, v, 2); }
static void p_outl(void *c, uint16_t port, uint32_t v) { reg_write(c, port, v, 4); }

static int p_virt_to_phys(void *c, const void *va, uint64_t *pa)
{
	struct fake_vser *f = c;
	const uint8_t *p = va;

	if (p < f->mem_base || p >= f->mem_base + (size_t)f->mem_pages * PAGE)
		return -1;
	*pa = f->phys_of[(size_t)(p - f->mem_base) / PAGE] + (uint64_t)((size_t)(p - f->mem_base) % PAGE);
	return 0;
}

static uint64_t p_now(void *c)
{
	struct fake_vser *f = c;

	f->clock += f->clock_step;
	if (f->tx_hold && f->tx_release_after && !--f->tx_release_after)
		fake_tx_release(f);
	fake_deliver(f);
	if (f->on_tick)
		f->on_tick(f, f->hook_arg);
	return f->clock;
}

/* ---- setup --------------------------------------------------------------------------- */

int fake_add_port(struct fake_vser *f, int d, uint32_t id, const char *name, int connected)
{
	struct fake_dev *dv = &f->dev[d];
	int i = dv->nports++;

	dv->ports[i].id = id;
	dv->ports[i].name = name;
	dv->ports[i].host_connected = connected;
	dv->ports[i].guest_open = 0;
	return i;
}

void fake_vser_init(struct fake_vser *f, uint8_t *mem, uint32_t pages, const char *name)
{
	memset(f, 0, sizeof(*f));
	f->mem_base = mem;
	f->mem_pages = pages > FAKE_MEM_PAGES ? FAKE_MEM_PAGES : pages;
	for (uint32_t i = 0; i < f->mem_pages; i++)
		f->phys_of[i] = 0x1000000u + (uint64_t)i * PAGE;
	f->dev[0].present = 1;
	f->dev[0].bus = 0;
	f->dev[0].slot = 3;
	f->dev[0].bar0 = 0xC041u;
	f->dev[0].pci_command = 0x0103;
	f->dev[0].host_features = 0x79000006u;
	f->dev[0].max_ports = 31;
	f->dev[0].data_queue_num = 128;
	f->dev[0].ctrl_queue_num = 32;
	if (name)
		fake_add_port(f, 0, 1, name, 0);
	f->host_port = 0;
	f->host_rx = calloc(1, FAKE_HOST_BUF);
	f->host_tx = calloc(1, FAKE_HOST_BUF);
	f->rx_chunk = 4096;
	f->evil_rx_id = -1;
	f->evil_rx_len = -1;
	f->clock_step = 10;
	f->plat.ctx = f;
	f->plat.inb = p_inb;
	f->plat.inw = p_inw;
	f->plat.inl = p_inl;
	f->plat.outb = p_outb;
	f->plat.outw = p_outw;
	f->plat.outl = p_outl;
	f->plat.virt_to_phys = p_virt_to_phys;
	f->plat.now = p_now;
	f->plat.ticks_per_sec = 1000000;
	f->plat.clock_every = 1;
}

void fake_vser_free(struct fake_vser *f)
{
	free(f->host_rx);
	free(f->host_tx);
	f->host_rx = f->host_tx = NULL;
}

void fake_host_connect(struct fake_vser *f, int connected)
{
	struct fake_dev *dv = &f->dev[0];
	struct fake_port *p = &dv->ports[f->host_port];

	if (p->host_connected == connected)
		return;
	p->host_connected = connected;
	if (!connected)
		f->host_tx_head = f->host_tx_len = 0;
	send_ctrl(f, dv, p->id, EV_PORT_OPEN, (uint16_t)connected, NULL);
	fake_deliver(f);
}

void fake_host_write(struct fake_vser *f, const void *buf, size_t len)
{
	if (f->host_tx_head == f->host_tx_len)
		f->host_tx_head = f->host_tx_len = 0;
	if (f->host_tx_len + len > FAKE_HOST_BUF)
		return;
	memcpy(f->host_tx + f->host_tx_len, buf, len);
	f->host_tx_len += len;
	fake_deliver(f);
}

void fake_tx_release(struct fake_vser *f)
{
	struct fake_dev *dv = &f->dev[0];
	struct fake_port *p = &dv->ports[f->host_port];

	f->tx_hold = 0;
	handle_tx(f, dv, p, &dv->q[2u * p->id + 3u]);
}
