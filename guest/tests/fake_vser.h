/* SPDX-License-Identifier: MIT */
/*
 * fake_vser.h - a legacy virtio-serial PCI device in host memory for the guest transport's
 * unit tests. It plays QEMU 7.2's side (platform.md A): PCI config through 0xCF8/0xCFC,
 * the legacy register block, the control protocol, TX consumption, and host->guest data
 * in chunks. It is stricter than QEMU where that finds bugs: an RX ring found empty is
 * refilled only after a kick, and control messages without a posted buffer are lost.
 *
 * Time: the guest's clock hook advances a fake clock and runs the device (data arrival,
 * the scripted host) on every read, so polling loops see the device progress.
 */
#ifndef VMKD_FAKE_VSER_H
#define VMKD_FAKE_VSER_H

#include <stddef.h>
#include <stdint.h>

#include "guest_platform.h"

#define FAKE_MAX_DEVS   2
#define FAKE_MAX_PORTS  4
#define FAKE_QUEUES     32
#define FAKE_MEM_PAGES  64
#define FAKE_HOST_BUF   (1u << 20)
#define FAKE_LOG        256

struct fake_ctrl {
	uint32_t id;
	uint16_t event;
	uint16_t value;
};

struct fake_port {
	uint32_t id;
	const char *name;
	int host_connected;
	int guest_open;
};

struct fake_queue {
	uint16_t num;
	uint32_t pfn;
	uint16_t last_avail;
	uint16_t used_idx;
	uint64_t notifies;
};

struct fake_dev {
	int present;
	uint8_t bus, slot;
	uint32_t bar0;                /* as read from config space */
	uint32_t host_features;
	uint32_t max_ports;           /* queues: 2 * (max_ports + 1) */
	uint16_t data_queue_num;      /* 128 in QEMU */
	uint16_t ctrl_queue_num;      /* 32 in QEMU */
	struct fake_port ports[FAKE_MAX_PORTS];
	int nports;

	/* state */
	uint16_t pci_command;
	uint8_t status;
	uint8_t status_log[16];
	int nstatus;
	uint32_t guest_features;
	uint16_t queue_sel;
	struct fake_queue q[FAKE_QUEUES];
	uint32_t pfn_writes_after_ok; /* QUEUE_PFN written after DRIVER_OK */
	struct fake_ctrl ctrl_log[FAKE_LOG]; /* guest -> host control messages */
	int nctrl;
	uint64_t ctrl_dropped;        /* host -> guest messages without a buffer */
	int rx_stalled;               /* found the RX ring empty: waits for a kick */
	uint64_t rx_kicks;
};

struct fake_vser;
typedef void (*fake_hook)(struct fake_vser *f, void *arg);

struct fake_vser {
	struct fake_dev dev[FAKE_MAX_DEVS];
	struct guest_platform plat;

	/* Physical memory: the test region's pages and the address each one has. */
	uint8_t *mem_base;
	uint32_t mem_pages;
	uint64_t phys_of[FAKE_MEM_PAGES];
	uint64_t bad_dma;             /* device accesses outside the region */

	uint32_t cf8;
	uint64_t io_count;

	/* Host side of the first device's port `host_port` (index into ports[]). */
	int host_port;
	uint8_t *host_rx;             /* bytes the guest sent */
	size_t host_rx_len;
	uint8_t *host_tx;             /* bytes waiting to go to the guest */
	size_t host_tx_head, host_tx_len;
	uint32_t rx_chunk;            /* most bytes per RX buffer (QEMU: up to 4096) */
	int tx_hold;                  /* leave TX buffers unconsumed (a host not reading) */
	uint32_t tx_release_after;    /* with tx_hold: clock reads until the host reads again */
	uint64_t tx_discarded;        /* bytes dropped: no host connected */

	/* Tampering: the next RX used entry gets this id / len instead (-1 = off). */
	int64_t evil_rx_id;
	int64_t evil_rx_len;

	uint64_t clock;               /* us */
	uint64_t clock_step;
	fake_hook on_tick;            /* runs on each clock read and after each TX */
	void *hook_arg;
};

/* A device at 00:03.0 (BAR0 I/O 0xc040) with one port, id 1, named name. */
void fake_vser_init(struct fake_vser *f, uint8_t *mem, uint32_t pages, const char *name);
void fake_vser_free(struct fake_vser *f);

/* Adds a port to device d (ids need not be in order). Returns its index. */
int fake_add_port(struct fake_vser *f, int d, uint32_t id, const char *name, int connected);

/* Host side of f->host_port: connect/disconnect (sends PORT_OPEN), write bytes. */
void fake_host_connect(struct fake_vser *f, int connected);
void fake_host_write(struct fake_vser *f, const void *buf, size_t len);
void fake_deliver(struct fake_vser *f);
/* Lets held TX buffers go (tx_hold back to 0). */
void fake_tx_release(struct fake_vser *f);

/* Queue index of port p's rx (tx = rx + 1). */
uint16_t fake_port_rxq(const struct fake_vser *f, int d, int p);

#endif
