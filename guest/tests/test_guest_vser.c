/* SPDX-License-Identifier: MIT */
/* The legacy virtio-serial backend against a fake device: discovery, setup, handshake,
 * rings, kicks, contiguity and a hostile device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_vser.h"
#include "guest_mem.h"
#include "virtio_serial.h"

#define PAGES 40u

static struct fake_vser *f;
static struct vser *v;
static uint8_t *mem;

static int setup(void **state)
{
	(void)state;
	mem = aligned_alloc(4096, PAGES * 4096u);
	memset(mem, 0xCC, PAGES * 4096u);
	f = calloc(1, sizeof(*f));
	v = calloc(1, sizeof(*v));
	fake_vser_init(f, mem, PAGES, "org.vmkd.0");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(f->bad_dma, 0);
	fake_vser_free(f);
	free(f);
	free(v);
	free(mem);
	return 0;
}

/* A fresh fixture inside a test (for a second scenario). */
static void again(void)
{
	fake_vser_free(f);
	free(f);
	free(v);
	free(mem);
	setup(NULL);
}

static int init(void)
{
	return vser_init(v, &f->plat, mem, PAGES * 4096u, NULL);
}

static int ctrl_count(const struct fake_dev *d, uint32_t id, uint16_t ev, uint16_t value)
{
	int n = 0;

	for (int i = 0; i < d->nctrl; i++)
		if (d->ctrl_log[i].id == id && d->ctrl_log[i].event == ev &&
		    d->ctrl_log[i].value == value)
			n++;
	return n;
}

/* The page index in the region of a physical address, or -1. */
static int page_of(uint64_t pa)
{
	for (uint32_t i = 0; i < f->mem_pages; i++)
		if (f->phys_of[i] == (pa & ~4095ull))
			return (int)i;
	return -1;
}

/* ---- discovery and setup ------------------------------------------------------------- */

static void no_device(void **state)
{
	(void)state;
	f->dev[0].present = 0;
	assert_int_equal(init(), VSER_ERR_NO_DEVICE);
	assert_int_equal(v->state, VSER_FAILED);
	/* Bus 0 only (no bridges): 32 vendor reads of 2 accesses each. */
	assert_int_equal(v->io.total, 64);
	assert_int_equal(v->io.total, f->io_count);
}

static void unassigned_bar(void **state)
{
	(void)state;
	f->dev[0].bar0 = 0x1; /* qboot: I/O BAR never programmed */
	assert_int_equal(init(), VSER_ERR_NO_IO_BAR);
	f->dev[0].bar0 = 0xFEB00000u; /* memory BAR */
	assert_int_equal(init(), VSER_ERR_NO_IO_BAR);
}

static void no_multiport(void **state)
{
	(void)state;
	f->dev[0].host_features = 0x79000004u;
	assert_int_equal(init(), VSER_ERR_NO_MULTIPORT);
	assert_int_equal(f->dev[0].status, 0); /* left reset */
}

static void handshake_default_port(void **state)
{
	const struct fake_dev *d = &f->dev[0];
	const uint8_t want_status[] = { 0, 1, 3, 7 };

	(void)state;
	assert_int_equal(init(), VSER_OK);
	assert_int_equal(v->state, VSER_READY);
	assert_int_equal(v->iobase, 0xC040);
	assert_int_equal(d->pci_command & 0x0405, 0x0405); /* I/O, bus master, INTx off */
	assert_int_equal(d->nstatus, 4);
	assert_memory_equal(d->status_log, want_status, 4);
	assert_int_equal(d->guest_features, 2);
	/* DEVICE_READY, PORT_READY for the announced port, then our PORT_OPEN. */
	assert_int_equal(d->nctrl, 3);
	assert_int_equal(ctrl_count(d, 0, 0, 1), 1);
	assert_int_equal(ctrl_count(d, 1, 3, 1), 1);
	assert_int_equal(ctrl_count(d, 1, 6, 1), 1);
	assert_int_equal(v->port_id, 1);
	assert_int_equal(v->rx.queue, 4);
	assert_int_equal(v->tx.queue, 5);
	assert_int_equal(d->q[0].pfn, 0);
	assert_int_equal(d->q[1].pfn, 0);
	assert_true(d->q[2].pfn && d->q[3].pfn && d->q[4].pfn && d->q[5].pfn);
	assert_int_equal(d->ctrl_dropped, 0);
	/* No interrupts on any ring. */
	assert_int_equal(v->crx.avail[0], 1);
	assert_int_equal(v->ctx.avail[0], 1);
	assert_int_equal(v->rx.avail[0], 1);
	assert_int_equal(v->tx.avail[0], 1);
	/* All RX buffers handed to the device, control RX buffers too. */
	assert_int_equal(v->rx.avail_idx, VSER_RX_BUFS);
	assert_int_equal(v->crx_count, 32);
	assert_false(vser_host_open(v));
	assert_int_equal(v->io.total, f->io_count);
}

static void handshake_host_already_connected(void **state)
{
	(void)state;
	f->dev[0].ports[0].host_connected = 1;
	assert_int_equal(init(), VSER_OK);
	assert_true(vser_host_open(v));
	assert_int_equal(v->open_generation, 1);
}

static void port_found_by_name_not_id(void **state)
{
	struct fake_dev *d = &f->dev[0];

	(void)state;
	d->nports = 0;
	fake_add_port(f, 0, 0, "console", 1);
	fake_add_port(f, 0, 5, "org.vmkd.0", 0);
	fake_add_port(f, 0, 2, "org.vmkd.01", 1); /* a longer name must not match */
	assert_int_equal(init(), VSER_OK);
	assert_int_equal(v->port_id, 5);
	assert_int_equal(v->rx.queue, 12);
	assert_int_equal(v->tx.queue, 13);
	assert_int_equal(ctrl_count(d, 0, 3, 1), 1);
	assert_int_equal(ctrl_count(d, 5, 3, 1), 1);
	assert_int_equal(ctrl_count(d, 2, 3, 1), 1);
	assert_int_equal(ctrl_count(d, 5, 6, 1), 1);
	assert_int_equal(ctrl_count(d, 0, 6, 1), 0);
	assert_int_equal(ctrl_count(d, 2, 6, 1), 0);
	assert_int_equal(d->q[4].pfn, 0);
	assert_true(d->q[12].pfn && d->q[13].pfn);
	/* The console's host-open state is not ours. */
	assert_false(vser_host_open(v));
}

static void no_port_with_our_name(void **state)
{
	(void)state;
	f->dev[0].ports[0].name = "org.other";
	assert_int_equal(init(), VSER_ERR_NO_PORT);
	assert_int_equal(f->dev[0].status, 0);
	assert_int_equal(v->state, VSER_FAILED);
}

static void second_device_has_the_port(void **state)
{
	struct fake_dev *d1 = &f->dev[1];

	(void)state;
	f->dev[0].ports[0].name = "org.other";
	*d1 = f->dev[0];
	d1->slot = 7;
	d1->bar0 = 0xC081u;
	d1->nports = 0;
	fake_add_port(f, 1, 1, "org.vmkd.0", 0);
	assert_int_equal(init(), VSER_OK);
	assert_int_equal(v->iobase, 0xC080);
	assert_int_equal(f->dev[0].status, 0);
	assert_int_equal(d1->status, 7);
}

static void queue_too_small_or_missing(void **state)
{
	(void)state;
	f->dev[0].max_ports = 0; /* only queues 0..1: control queues missing */
	assert_int_equal(init(), VSER_ERR_QUEUE);
	again();
	f->dev[0].data_queue_num = 512;
	assert_int_equal(init(), VSER_ERR_NO_PORT);
}

/* ---- memory -------------------------------------------------------------------------- */

static void rings_on_contiguous_pages_only(void **state)
{
	(void)state;
	/* Every third page breaks the physical sequence. */
	for (uint32_t i = 0; i < PAGES; i++)
		f->phys_of[i] = 0x2000000u + (uint64_t)i * 4096u + (uint64_t)(i / 3) * 0x100000u;
	assert_int_equal(init(), VSER_OK);
	for (int r = 0; r < 4; r++) {
		uint64_t pa = v->ring_phys[r];
		int p = page_of(pa);

		assert_true(p >= 0);
		for (int k = 1; k < (int)VSER_RING_PAGES; k++)
			assert_int_equal(f->phys_of[p + k], pa + 4096u * (uint64_t)k);
	}
	/* Traffic through the rings touches only mapped pages (teardown checks bad_dma). */
	fake_host_connect(f, 1);
	vser_poll_control(v);
	assert_true(vser_host_open(v));
}

static void region_too_fragmented(void **state)
{
	(void)state;
	for (uint32_t i = 0; i < PAGES; i++)
		f->phys_of[i] = 0x2000000u + (uint64_t)i * 0x10000u; /* nothing contiguous */
	assert_int_equal(init(), VSER_ERR_NO_MEMORY);
	again();
	assert_int_equal(vser_init(v, &f->plat, mem, 20 * 4096u, NULL), VSER_ERR_NO_MEMORY);
}

static void guest_mem_windows(void **state)
{
	struct guest_mem m;
	uint64_t pa;
	uint8_t *p1, *p2;

	(void)state;
	f->phys_of[1] = 0x9000000u; /* page 1 out of line */
	f->phys_of[4] = 0x1;        /* not page aligned: unusable */
	assert_int_equal(guest_mem_init(&m, &f->plat, mem + 100, 8 * 4096u), 0);
	/* mem + 100 rounds up to page 1; pages 1..7 remain. */
	assert_int_equal(m.pages, 7);
	assert_int_equal(m.unmapped, 1);
	p1 = guest_mem_alloc(&m, 2, 0, &pa);
	assert_ptr_equal(p1, mem + 2 * 4096); /* pages 2-3 (page 1 breaks the run) */
	assert_int_equal(pa, f->phys_of[2]);
	p2 = guest_mem_alloc(&m, 2, 0, &pa);
	assert_ptr_equal(p2, mem + 5 * 4096); /* page 4 unusable */
	assert_null(guest_mem_alloc(&m, 2, 0, &pa));
	assert_non_null(guest_mem_alloc(&m, 1, 0, &pa));
	assert_null(guest_mem_alloc(&m, 1, 0x1000000u, &pa)); /* all above the limit */
}

/* ---- data path ----------------------------------------------------------------------- */

static void connected(void)
{
	f->dev[0].ports[0].host_connected = 1;
	assert_int_equal(init(), VSER_OK);
	assert_true(vser_host_open(v));
}

/* Posts one frame of len bytes filled with byte c. */
static void tx_post(uint32_t len, uint8_t c)
{
	uint8_t *buf;

	assert_int_equal(vser_tx_reserve(v, len, &buf), 0);
	memset(buf, c, len);
	vser_tx_submit(v, len);
}

static void tx_one_notify_per_buffer(void **state)
{
	uint64_t io0, q5;

	(void)state;
	connected();
	io0 = v->io.total;
	q5 = f->dev[0].q[5].notifies;
	tx_post(3000, 0x5A);
	assert_int_equal(f->dev[0].q[5].notifies, q5 + 1);
	assert_int_equal(v->io.total, io0 + 1);
	assert_int_equal(vser_tx_in_flight(v), 1);
	vser_tx_reclaim(v);
	assert_int_equal(vser_tx_in_flight(v), 0);
	assert_int_equal(v->io.total, io0 + 1); /* reclaiming is memory-only */
	assert_int_equal(f->host_rx_len, 3000);
	assert_int_equal(f->host_rx[2999], 0x5A);
}

static void tx_discarded_without_host(void **state)
{
	(void)state;
	assert_int_equal(init(), VSER_OK);
	tx_post(100, 1);
	vser_tx_reclaim(v);
	assert_int_equal(vser_tx_in_flight(v), 0);
	assert_int_equal(f->host_rx_len, 0);
	assert_int_equal(f->tx_discarded, 100);
}

/* Several frames in flight at once reach the host in the order they were posted. */
static void tx_frames_in_flight_arrive_in_order(void **state)
{
	(void)state;
	connected();
	f->tx_hold = 1;
	for (unsigned i = 0; i < 10; i++)
		tx_post(100 + i, (uint8_t)('a' + i));
	assert_int_equal(vser_tx_in_flight(v), 10);
	assert_int_equal(v->stats.tx_max_in_flight, 10);
	assert_int_equal(f->host_rx_len, 0);
	fake_tx_release(f);
	assert_int_equal(f->host_rx_len, 10 * 100 + 45);
	for (size_t i = 0, off = 0; i < 10; off += 100 + i, i++) {
		assert_int_equal(f->host_rx[off], 'a' + i);
		assert_int_equal(f->host_rx[off + 99 + i], 'a' + i);
	}
	/* The device returned all ten in one batch: one look frees them all. */
	assert_int_equal(f->dev[0].q[5].used_idx, 10);
	vser_tx_reclaim(v);
	assert_int_equal(vser_tx_in_flight(v), 0);
	assert_int_equal(v->tx_tail, v->tx_head);
	assert_int_equal(v->stats.bad_used, 0);
}

/* A host that does not read: every descriptor (small frames) or the whole arena (large
 * ones) ends up with the device, and reserve refuses until it gives some back. */
static void tx_fills_up_when_host_stalls(void **state)
{
	uint8_t *buf;

	(void)state;
	connected();
	f->tx_hold = 1;
	for (unsigned i = 0; i < VSER_TX_DESCS; i++)
		tx_post(10, (uint8_t)i);
	assert_int_equal(vser_tx_reserve(v, 10, &buf), -1);
	fake_tx_release(f);
	assert_int_equal(vser_tx_reserve(v, 10, &buf), 0);
	assert_int_equal(vser_tx_in_flight(v), 0);
	assert_int_equal(f->host_rx_len, 10 * VSER_TX_DESCS);

	f->tx_hold = 1;
	for (unsigned i = 0; i < VSER_TX_PAGES; i++)
		tx_post(VSER_TX_FRAME_MAX, (uint8_t)i);
	assert_int_equal(vser_tx_reserve(v, 1, &buf), -1);
	assert_int_equal(vser_tx_reserve(v, VSER_TX_FRAME_MAX + 1, &buf), -1);
	fake_tx_release(f);
	assert_int_equal(vser_tx_reserve(v, VSER_TX_FRAME_MAX, &buf), 0);
	assert_int_equal(f->host_rx_len, 10 * VSER_TX_DESCS + VSER_TX_PAGES * VSER_TX_FRAME_MAX);
}

/* Frames never straddle a page (the pages need not be physically adjacent), and bytes are
 * reused only after the device returned the frame that held them. */
static void tx_frames_stay_within_a_page(void **state)
{
	uint8_t *buf, *first;

	(void)state;
	connected();
	f->tx_hold = 1;
	assert_int_equal(vser_tx_reserve(v, 3000, &first), 0);
	vser_tx_submit(v, 3000);
	assert_int_equal(vser_tx_reserve(v, 3000, &buf), 0);
	assert_ptr_equal(buf, v->tx_page[1]);
	vser_tx_submit(v, 3000);
	for (unsigned i = 2; i < VSER_TX_PAGES; i++)
		tx_post(3000, 0);
	/* Wrapping to page 0 would overwrite the first frame, still the device's. */
	assert_int_equal(vser_tx_reserve(v, 3000, &buf), -1);
	fake_tx_release(f);
	assert_int_equal(vser_tx_reserve(v, 3000, &buf), 0);
	assert_ptr_equal(buf, first);
	assert_int_equal(f->bad_dma, 0);
}

/* Writes one used entry of the TX queue as a (hostile) device would. */
static void tx_used(uint32_t id, uint32_t len)
{
	struct vring *t = &v->tx;
	uint16_t idx = t->used_hdr[1];

	t->used[idx % t->num].id = id;
	t->used[idx % t->num].len = len;
	t->used_hdr[1] = (uint16_t)(idx + 1);
}

/* Used entries naming no frame in flight (never posted, already returned, out of range)
 * are refused and counted; a frame returned before an older one frees nothing until the
 * older one is back; a length on a TX entry is counted. */
static void tx_hostile_used_entries(void **state)
{
	uint8_t *buf;

	(void)state;
	connected();
	f->tx_hold = 1; /* the fake device stays away from the TX ring */
	tx_post(2000, 1);  /* descriptor 0: arena [0, 2000) */
	tx_post(2000, 2);  /* descriptor 1: [2000, 4000) */
	tx_post(2000, 3);  /* descriptor 2: [4096, 6096), the next page */
	tx_used(7, 0);     /* never posted */
	tx_used(5000, 0);  /* not a descriptor at all */
	vser_tx_reclaim(v);
	assert_int_equal(v->stats.tx_bad_id, 2);
	assert_int_equal(vser_tx_in_flight(v), 3);
	tx_used(1, 0);     /* out of order: the device is done with 1 before 0 */
	vser_tx_reclaim(v);
	assert_int_equal(vser_tx_in_flight(v), 3);
	tx_used(1, 0);     /* the same one again */
	vser_tx_reclaim(v);
	assert_int_equal(v->stats.tx_bad_id, 3);
	tx_used(0, 4096);  /* back, but claims it wrote into a read-only buffer */
	vser_tx_reclaim(v);
	assert_int_equal(v->stats.tx_bad_len, 1);
	assert_int_equal(vser_tx_in_flight(v), 1); /* 0 and 1 freed, 2 still out */
	tx_used(0, 0);     /* 0 was returned already */
	vser_tx_reclaim(v);
	assert_int_equal(v->stats.tx_bad_id, 4);
	assert_int_equal(vser_tx_in_flight(v), 1);
	assert_int_equal(v->tx_tail, 4000); /* frame 2's bytes stay reserved */
	assert_int_equal(vser_tx_reserve(v, 2000, &buf), 0);
	assert_int_equal(v->tx_res_off, 6096);
	assert_int_equal(v->broken, 0);
}

/* Someone resets the device with frames in flight: they are gone with the old rings
 * (counted), the arena starts empty on the new ones, and frames flow again. */
static void tx_reset_with_frames_in_flight(void **state)
{
	(void)state;
	connected();
	tx_post(50, 'x'); /* returned before the reset */
	f->tx_hold = 1;
	tx_post(60, 'y');
	tx_post(70, 'z');
	f->plat.outb(f, 0xc040u + VSER_REG_STATUS, 0);
	assert_int_equal(vser_check(v, 0), VSER_CHECK_RESET);
	assert_int_equal(v->stats.tx_lost, 2);
	assert_int_equal(vser_tx_in_flight(v), 0);
	f->tx_hold = 0;
	tx_post(80, 'w');
	vser_tx_reclaim(v);
	assert_int_equal(vser_tx_in_flight(v), 0);
	assert_int_equal(f->host_rx_len, 50 + 80);
	assert_int_equal(f->host_rx[50], 'w');
}

static size_t drain(uint8_t *out, size_t max)
{
	const uint8_t *data;
	uint32_t len;
	uint16_t id;
	size_t n = 0;

	while (vser_rx_next(v, &data, &len, &id)) {
		assert_true(n + len <= max);
		memcpy(out + n, data, len);
		n += len;
		vser_rx_release(v, id);
	}
	return n;
}

static void rx_in_order_and_no_io_while_buffers_remain(void **state)
{
	static uint8_t src[10000], got[10000];
	uint64_t io0;

	(void)state;
	connected();
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7);
	fake_host_write(f, src, sizeof(src)); /* 3 buffers: 4096, 4096, 1808 */
	io0 = v->io.total;
	assert_int_equal(drain(got, sizeof(got)), sizeof(src));
	assert_memory_equal(got, src, sizeof(src));
	assert_int_equal(v->io.total, io0); /* re-posts without a kick: buffers never ran out */
	assert_int_equal(v->stats.rx_buffers, 3);
}

static void rx_kick_only_after_ring_ran_empty(void **state)
{
	static uint8_t src[20 * 4096], got[20 * 4096];
	const uint8_t *data;
	uint32_t len;
	uint16_t id;
	size_t n = 0;
	uint64_t kicks0;

	(void)state;
	connected();
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i ^ (i >> 9));
	kicks0 = f->dev[0].rx_kicks;
	fake_host_write(f, src, sizeof(src)); /* 8 buffers fill, the device stalls (P6) */
	assert_int_equal(f->dev[0].rx_stalled, 1);
	/* Consume one buffer: the device had used all 8, so this re-post must kick. */
	assert_true(vser_rx_next(v, &data, &len, &id));
	memcpy(got, data, len);
	n += len;
	vser_rx_release(v, id);
	assert_int_equal(f->dev[0].rx_kicks, kicks0 + 1);
	/* The kick let the device fill that buffer at once: it is empty again and the
	 * next re-post kicks again; with spare buffers no kick happens. */
	n += drain(got + n, sizeof(got) - n);
	while (n < sizeof(src)) {
		fake_deliver(f);
		n += drain(got + n, sizeof(got) - n);
	}
	assert_int_equal(n, sizeof(src));
	assert_memory_equal(got, src, sizeof(src));
	assert_true(f->dev[0].rx_kicks - kicks0 <= 20);
	assert_int_equal(v->stats.rx_kicks, f->dev[0].rx_kicks);
}

static void rx_small_chunks(void **state)
{
	static uint8_t src[1000], got[1000];

	(void)state;
	connected();
	f->rx_chunk = 7;
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 3 + 1);
	fake_host_write(f, src, sizeof(src));
	assert_int_equal(drain(got, sizeof(got)), sizeof(src));
	assert_memory_equal(got, src, sizeof(src));
	assert_int_equal(v->stats.rx_buffers, (sizeof(src) + 6) / 7);
}

/* ---- hostile device ------------------------------------------------------------------ */

static void bad_used_id_and_len_are_ignored(void **state)
{
	uint8_t got[64];
	const uint8_t *data;
	uint32_t len;
	uint16_t id;

	(void)state;
	connected();
	f->evil_rx_id = 200;
	fake_host_write(f, "AAAA", 4);
	assert_false(vser_rx_next(v, &data, &len, &id));
	assert_int_equal(v->stats.bad_used, 1);
	f->evil_rx_len = 5000; /* more than the buffer holds */
	fake_host_write(f, "BBBB", 4);
	assert_false(vser_rx_next(v, &data, &len, &id));
	assert_int_equal(v->stats.bad_used, 2);
	fake_host_write(f, "CCCC", 4);
	assert_int_equal(drain(got, sizeof(got)), 4);
	assert_memory_equal(got, "CCCC", 4);
}

static void used_index_running_ahead_breaks_the_port(void **state)
{
	const uint8_t *data;
	uint32_t len;
	uint16_t id;

	(void)state;
	connected();
	v->rx.used_hdr[1] = (uint16_t)(v->rx.last_used + 1000);
	assert_false(vser_rx_next(v, &data, &len, &id));
	assert_int_equal(v->broken, 1);
	assert_false(vser_host_open(v));
}

static void duplicate_used_entry_is_ignored(void **state)
{
	const uint8_t *data;
	uint32_t len;
	uint16_t id, first;

	(void)state;
	connected();
	fake_host_write(f, "XY", 2);
	assert_true(vser_rx_next(v, &data, &len, &first));
	/* The device reports the same (still ours) buffer again. */
	v->rx.used[v->rx.used_hdr[1] % v->rx.num].id = first;
	v->rx.used[v->rx.used_hdr[1] % v->rx.num].len = 2;
	v->rx.used_hdr[1]++;
	assert_false(vser_rx_next(v, &data, &len, &id));
	assert_int_equal(v->stats.bad_used, 1);
	vser_rx_release(v, first);
}

/* ---- control events after setup ------------------------------------------------------- */

static void host_connect_disconnect(void **state)
{
	(void)state;
	assert_int_equal(init(), VSER_OK);
	assert_false(vser_host_open(v));
	fake_host_connect(f, 1);
	vser_poll_control(v);
	assert_true(vser_host_open(v));
	assert_int_equal(v->open_generation, 1);
	fake_host_connect(f, 0);
	vser_poll_control(v);
	assert_false(vser_host_open(v));
	fake_host_connect(f, 1);
	vser_poll_control(v);
	assert_true(vser_host_open(v));
	assert_int_equal(v->open_generation, 2);
	/* Control polling is memory-only: buffers are re-posted without a kick. */
	assert_int_equal(f->dev[0].q[2].notifies, 0);
	for (int i = 0; i < 100; i++) {
		fake_host_connect(f, i & 1);
		vser_poll_control(v);
	}
	assert_int_equal(f->dev[0].ctrl_dropped, 0);
}

/* Hands the driver a control message as the device would, with a chosen length. */
static void fake_ctrl_in(const uint8_t *msg, uint32_t len)
{
	uint16_t slot = v->crx.avail[2 + v->crx.last_used % v->crx.num];
	struct vring_used_elem *e = &v->crx.used[v->crx.used_hdr[1] % v->crx.num];

	memcpy(v->crx_buf + slot * VSER_CTRL_RX_BUF_SIZE, msg, 8);
	e->id = slot;
	e->len = len;
	v->crx.used_hdr[1]++;
}

static void short_and_unknown_control_messages(void **state)
{
	const uint8_t unknown[8] = { 1, 0, 0, 0, 99, 0, 1, 0 };
	const uint8_t big_id[8] = { 0, 1, 0, 0, 6, 0, 1, 0 }; /* PORT_OPEN for id 256 */

	(void)state;
	assert_int_equal(init(), VSER_OK);
	fake_ctrl_in(unknown, 3); /* too short */
	vser_poll_control(v);
	assert_int_equal(v->stats.ctrl_bad, 1);
	fake_ctrl_in(unknown, 8);
	vser_poll_control(v);
	assert_int_equal(v->stats.ctrl_bad, 2);
	fake_ctrl_in(big_id, 8);
	vser_poll_control(v);
	assert_int_equal(v->stats.ctrl_bad, 3);
	fake_ctrl_in(unknown, 4000); /* longer than the buffer */
	vser_poll_control(v);
	assert_int_equal(v->stats.bad_used, 1);
	assert_false(vser_host_open(v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(no_device, setup, teardown),
		cmocka_unit_test_setup_teardown(unassigned_bar, setup, teardown),
		cmocka_unit_test_setup_teardown(no_multiport, setup, teardown),
		cmocka_unit_test_setup_teardown(handshake_default_port, setup, teardown),
		cmocka_unit_test_setup_teardown(handshake_host_already_connected, setup, teardown),
		cmocka_unit_test_setup_teardown(port_found_by_name_not_id, setup, teardown),
		cmocka_unit_test_setup_teardown(no_port_with_our_name, setup, teardown),
		cmocka_unit_test_setup_teardown(second_device_has_the_port, setup, teardown),
		cmocka_unit_test_setup_teardown(queue_too_small_or_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(rings_on_contiguous_pages_only, setup, teardown),
		cmocka_unit_test_setup_teardown(region_too_fragmented, setup, teardown),
		cmocka_unit_test_setup_teardown(guest_mem_windows, setup, teardown),
		cmocka_unit_test_setup_teardown(tx_one_notify_per_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(tx_discarded_without_host, setup, teardown),
		cmocka_unit_test_setup_teardown(tx_frames_in_flight_arrive_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(tx_fills_up_when_host_stalls, setup, teardown),
		cmocka_unit_test_setup_teardown(tx_frames_stay_within_a_page, setup, teardown),
		cmocka_unit_test_setup_teardown(tx_hostile_used_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(tx_reset_with_frames_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(rx_in_order_and_no_io_while_buffers_remain, setup,
						teardown),
		cmocka_unit_test_setup_teardown(rx_kick_only_after_ring_ran_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(rx_small_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_used_id_and_len_are_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(used_index_running_ahead_breaks_the_port, setup,
						teardown),
		cmocka_unit_test_setup_teardown(duplicate_used_entry_is_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(host_connect_disconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(short_and_unknown_control_messages, setup, teardown),
	};

	return cmocka_run_group_tests_name("guest_vser", tests, NULL, NULL);
}
