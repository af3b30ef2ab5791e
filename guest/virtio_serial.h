/* SPDX-License-Identifier: MIT */
/*
 * virtio_serial.h - legacy (transitional) virtio-serial over PCI with MULTIPORT, driven by
 * polling only: one named port (default org.vmkd.0), found through the control queue.
 * Freestanding, no allocation: all rings and buffers come from one caller-given region.
 *
 * Queues (platform.md A2): control rx = 2, control tx = 3, port n: rx = 2n+2, tx = 2n+3.
 * Every ring sets VRING_AVAIL_F_NO_INTERRUPT; nothing here reads the ISR. Port I/O happens
 * at setup, for each TX notify, for control messages the driver has to send, and for an
 * RX kick when the RX ring may have run empty (platform.md P6). Polling the used rings is
 * memory-only.
 */
#ifndef VMKD_VIRTIO_SERIAL_H
#define VMKD_VIRTIO_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#include "guest_io.h"
#include "guest_mem.h"
#include "pci_cf8.h"
#include "vring.h"

#define VSER_PCI_VENDOR     0x1AF4u
#define VSER_PCI_DEVICE     0x1003u /* transitional virtio console; modern-only 0x1043 has no I/O BAR */

/* Legacy register block at BAR0 (platform.md A2). */
#define VSER_REG_HOST_FEATURES   0x00u
#define VSER_REG_GUEST_FEATURES  0x04u
#define VSER_REG_QUEUE_PFN       0x08u
#define VSER_REG_QUEUE_NUM       0x0Cu
#define VSER_REG_QUEUE_SEL       0x0Eu
#define VSER_REG_QUEUE_NOTIFY    0x10u
#define VSER_REG_STATUS          0x12u
#define VSER_REG_ISR             0x13u
#define VSER_REG_MAX_NR_PORTS    0x18u /* config at 0x14 while MSI-X is off */

#define VSER_STATUS_ACK        0x01u
#define VSER_STATUS_DRIVER     0x02u
#define VSER_STATUS_DRIVER_OK  0x04u
#define VSER_STATUS_FAILED     0x80u

#define VSER_F_MULTIPORT       (1u << 1)

/* Control events (struct virtio_console_control). */
enum vser_ctrl_event {
	VSER_CTRL_DEVICE_READY = 0,
	VSER_CTRL_PORT_ADD = 1,
	VSER_CTRL_PORT_REMOVE = 2,
	VSER_CTRL_PORT_READY = 3,
	VSER_CTRL_CONSOLE_PORT = 4,
	VSER_CTRL_RESIZE = 5,
	VSER_CTRL_PORT_OPEN = 6,
	VSER_CTRL_PORT_NAME = 7,
};

struct vser_ctrl_msg {
	uint32_t id;
	uint16_t event;
	uint16_t value;
};
_Static_assert(sizeof(struct vser_ctrl_msg) == 8, "virtio_console_control");

#define VSER_CTRL_QUEUE_RX  2u
#define VSER_CTRL_QUEUE_TX  3u
#define VSER_PORT_MAX_ID    127u /* 2n+3 must stay a 16-bit queue index well inside QEMU's limit */

#define VSER_RX_BUFS          8u
#define VSER_RX_BUF_SIZE      4096u
/* TX: an arena of single pages (no physical contiguity needed) in which frames are laid
 * one after the other, never across a page boundary, and reclaimed oldest first. Up to
 * VSER_TX_DESCS frames are in flight at once (one descriptor each): many DbgPrint lines,
 * or VSER_TX_PAGES frames of the largest size. */
#define VSER_TX_PAGES         4u   /* a power of two */
#define VSER_TX_DESCS         128u /* a power of two; fewer if the TX queue is smaller */
#define VSER_TX_FRAME_MAX     4096u /* one page */
#define VSER_CTRL_RX_BUFS     32u  /* QEMU drops control messages it has no buffer for (P8) */
#define VSER_CTRL_RX_BUF_SIZE 128u /* 8-byte header + port name (longer names are cut) */
#define VSER_CTRL_TX_SLOTS    16u
#define VSER_NAME_MAX         64u
#define VSER_MAX_DEVICES      4u

/* Pages of the region vser_init() takes: four rings sized for 256-entry queues (3 pages
 * each, physically contiguous), a page of control RX buffers, a page of control TX slots,
 * the RX buffers and the TX arena (one page each). */
#define VSER_RING_PAGES       3u
#define VSER_MEM_PAGES_NEEDED (4u * VSER_RING_PAGES + 2u + VSER_RX_BUFS + VSER_TX_PAGES)

enum vser_err {
	VSER_OK = 0,
	VSER_ERR_PARAM = -1,
	VSER_ERR_NO_DEVICE = -2,    /* no 1af4:1003 function on the scanned buses */
	VSER_ERR_NO_IO_BAR = -3,    /* BAR0 is not an assigned I/O BAR (e.g. qboot) */
	VSER_ERR_NO_MULTIPORT = -4,
	VSER_ERR_QUEUE = -5,        /* a queue is missing or its size is unusable */
	VSER_ERR_NO_MEMORY = -6,    /* no physically contiguous window for a ring */
	VSER_ERR_NO_PORT = -7,      /* no port with our name was announced in time */
	VSER_ERR_BROKEN = -8,       /* the device broke the ring protocol */
};

enum vser_state {
	VSER_OFF,        /* not set up */
	VSER_HANDSHAKE,  /* DRIVER_OK sent, waiting for our port's name */
	VSER_READY,      /* port queues live, guest side open */
	VSER_FAILED,     /* gave up; device reset */
};

struct vser_config {
	const char *port_name;          /* NULL = "org.vmkd.0" */
	uint32_t handshake_timeout_ms;  /* wait for our PORT_NAME (0 = 200) */
	uint32_t open_grace_ms;         /* then for a host PORT_OPEN that follows it (0 = 20) */
};

struct vser_stats {
	uint64_t rx_buffers;        /* RX buffers the device filled */
	uint64_t rx_bytes;
	uint64_t rx_kicks;
	uint64_t tx_buffers;
	uint64_t tx_bytes;
	uint64_t ctrl_in;           /* control messages received */
	uint64_t ctrl_out;
	uint64_t ctrl_bad;          /* short / unknown control messages */
	uint64_t bad_used;          /* used entries with a bad id or length (ignored) */
	uint64_t tx_bad_id;         /* TX used entries naming no frame in flight (refused) */
	uint64_t tx_bad_len;        /* TX used entries claiming bytes written (counted) */
	uint64_t tx_lost;           /* frames in flight when the device was found reset (kept
				     * for vser_tx_take_lost) */
	uint64_t tx_max_in_flight;
	uint64_t tx_kicks_deferred; /* frames posted without a notify (the device was busy) */
	uint64_t tx_kicks_late;     /* notifies vser_tx_kick sent for deferred frames */
	uint64_t broken_idx;        /* used.idx ran ahead of what we posted */
	uint64_t ctrl_out_dropped;  /* no free control TX slot */
	uint64_t checks;            /* vser_check calls (5 port accesses each) */
	uint64_t quick_checks;      /* vser_check_quick calls (1 port access each) */
	uint64_t bar_moves;         /* BAR0 found at another address */
	uint64_t command_fixes;     /* I/O decode / bus master / INTx disable restored */
	uint64_t resetups;          /* device set up again (reset by someone else, resume) */
	uint64_t device_lost;       /* BAR unassigned or function gone */
};

/* What vser_check found. */
enum vser_check {
	VSER_CHECK_OK,     /* as we left it */
	VSER_CHECK_FIXED,  /* BAR moved or decodes were off: repaired, queues intact */
	VSER_CHECK_RESET,  /* the device had been reset (or setup was forced): set up again,
			    * port re-found; the byte stream to the host starts over. Frames
			    * still in flight are gone with the old rings (stats.tx_lost) */
	VSER_CHECK_LOST,   /* not usable now (no BAR, setup failed); try again later */
};

struct vser {
	enum vser_state state;
	uint8_t adopted;             /* vser_init found our port on this function */
	struct guest_io io;
	struct guest_mem mem;
	struct pci_addr pci;
	uint16_t iobase;
	uint32_t host_features;
	char name[VSER_NAME_MAX];
	uint32_t handshake_timeout_ms;
	uint32_t open_grace_ms;

	/* Our port. */
	uint32_t port_id;
	uint8_t port_found;          /* PORT_NAME matched */
	uint8_t port_live;           /* its queues set up and PORT_OPEN(1) sent */
	uint8_t host_open;           /* host side connected (PORT_OPEN from the device) */
	uint8_t broken;
	uint32_t open_generation;    /* +1 on every host connect */

	/* Control queues. */
	struct vring crx, ctx;
	uint8_t *crx_buf;            /* VSER_CTRL_RX_BUFS x VSER_CTRL_RX_BUF_SIZE */
	uint64_t crx_phys;
	uint16_t crx_count;          /* buffers in use: min(VSER_CTRL_RX_BUFS, queue size) */
	uint8_t crx_posted[VSER_CTRL_RX_BUFS];
	uint32_t host_open_bits[(VSER_PORT_MAX_ID + 1) / 32]; /* PORT_OPEN seen per port id */
	uint8_t *ctx_buf;            /* VSER_CTRL_TX_SLOTS x 8 */
	uint64_t ctx_phys;
	uint8_t ctx_busy[VSER_CTRL_TX_SLOTS];

	/* Port queues (rings reserved at init, set up once the port id is known). */
	struct vring rx, tx;
	void *ring_mem[4];           /* control rx, control tx, port rx, port tx */
	uint64_t ring_phys[4];
	uint8_t *rx_buf[VSER_RX_BUFS];
	uint64_t rx_phys[VSER_RX_BUFS];
	uint8_t rx_posted[VSER_RX_BUFS];   /* 1: owned by the device */
	uint8_t *tx_page[VSER_TX_PAGES];
	uint64_t tx_page_phys[VSER_TX_PAGES];
	/* Arena byte offsets, free-running (mod 2^32; the arena size divides it): frames live
	 * in [tx_tail, tx_head). Frame n (free-running count) uses descriptor n % tx_ndesc. */
	uint32_t tx_head, tx_tail;
	uint32_t tx_res_off, tx_res_len;   /* reserved by vser_tx_reserve, not yet posted */
	uint16_t tx_next, tx_oldest;       /* frame numbers: next to post, oldest in flight */
	uint16_t tx_ndesc;                 /* min(VSER_TX_DESCS, TX queue size) */
	uint32_t tx_end[VSER_TX_DESCS];    /* arena offset after each frame */
	uint16_t tx_len[VSER_TX_DESCS];    /* its length */
	uint8_t tx_state[VSER_TX_DESCS];   /* enum vser_tx_state */
	uint8_t tx_deferred;               /* frames posted since the last TX notify */
	/* The frames a reset found in flight, copied out of the arena in posting order
	 * before the rings were rebuilt: the device never finished them (QEMU returns a
	 * frame once all of it is written), so none reached the host whole. */
	uint8_t tx_lost_bytes[VSER_TX_PAGES * VSER_TX_FRAME_MAX];
	uint32_t tx_lost_len;

	struct vser_stats stats;
};

/*
 * Finds the device, resets and sets it up, and runs the control handshake until the port
 * named cfg->port_name is announced (then opens it). Devices without that port are reset
 * and skipped. mem: the static region (VSER_MEM_PAGES_NEEDED pages plus slack for pages
 * that are not physically contiguous).
 */
int vser_init(struct vser *v, const struct guest_platform *plat, void *mem, size_t mem_len,
	      const struct vser_config *cfg);

/* Handles pending control messages (port open/close, late ports). Memory-only unless the
 * device asks for an answer. */
void vser_poll_control(struct vser *v);

/* 1 when the port is live and a host program is connected to its chardev. */
int vser_host_open(const struct vser *v);

/* The next filled RX buffer: 1 and data/len/id, or 0. Give it back with vser_rx_release. */
int vser_rx_next(struct vser *v, const uint8_t **data, uint32_t *len, uint16_t *id);
void vser_rx_release(struct vser *v, uint16_t id);

enum vser_tx_state {
	VSER_TX_FREE,      /* descriptor not in use */
	VSER_TX_POSTED,    /* owned by the device */
	VSER_TX_RETURNED,  /* back from the device; its bytes free once older frames are */
};

/*
 * Room for one frame of len bytes (<= VSER_TX_FRAME_MAX) in the TX arena: 0 and *buf, or
 * -1 while the device still holds every descriptor or too much of the arena (or the port
 * is down). Reads the used ring first (lazy reclaim). Nothing is posted until submit.
 */
int vser_tx_reserve(struct vser *v, uint32_t len, uint8_t **buf);
/* Posts the reserved frame (len <= the reserved length) as one descriptor and notifies the
 * device once. Frames reach the device, and the host, in the order they are posted. */
void vser_tx_submit(struct vser *v, uint32_t len);
/*
 * As vser_tx_submit, but without the notify when the device visibly still works on earlier
 * frames (its used index short of what was posted before this one): it takes frames until
 * the ring is empty, so it finds this one on its own (QEMU's virtio-serial pops, writes and
 * returns one frame after another). Returns 1 if the notify was left out; then
 * vser_tx_kick() is owed later, for the rare case that the device had just looked at an
 * empty ring as we looked at its index. For a burst of DbgPrints: one notify per batch the
 * device takes, not per line; a lone frame (the device idle) is notified at once.
 */
int vser_tx_submit_batched(struct vser *v, uint32_t len);
/* Notifies the TX queue if frames were posted without a notify and the device has not
 * returned them all; clears the debt. Memory-only when it has. */
void vser_tx_kick(struct vser *v);
/* Takes the device's TX used entries: a frame named there is returned; bytes are freed
 * oldest first. Ids of frames not in flight are refused and counted. Memory-only. */
void vser_tx_reclaim(struct vser *v);
/* The frames the last reset found in flight, whole and in posting order (0 bytes if none),
 * for the caller to send again on the new rings; taking them forgets them. */
uint32_t vser_tx_take_lost(struct vser *v, const uint8_t **bytes);
/* The same without forgetting them. */
uint32_t vser_tx_peek_lost(const struct vser *v, const uint8_t **bytes);
/* Frames posted and not yet returned by the device. */
static inline uint32_t vser_tx_in_flight(const struct vser *v)
{
	return (uint16_t)(v->tx_next - v->tx_oldest);
}
/* 1 if the control RX or port RX used ring holds entries not yet read: the cheap test for
 * "anything new from the device" (two loads). Memory-only. */
int vser_rx_pending(const struct vser *v);

/*
 * Defends the device against other owners (a PnP driver such as virtio-win's vioser,
 * firmware on resume, a BAR rebalance): re-reads BAR0 and the PCI command register from
 * config space, follows a moved BAR, turns decodes back on, and sets the whole device up
 * again (same rings and buffers, no platform calls) when its status is not DRIVER_OK or
 * force_setup is set. Costs 5 port accesses when nothing changed; none counts as polling.
 */
enum vser_check vser_check(struct vser *v, int force_setup);
/* Port accesses of a vser_check that finds nothing to do: BAR0 and COMMAND through
 * 0xCF8/0xCFC (2 each) and the status register (1). */
#define VSER_CHECK_PORT_IO 5u

/*
 * The cheap check for hot paths (a DbgPrint flood): reads only the status register. A
 * reset (status 0), a moved BAR or decodes turned off (nothing answers at our port: all
 * ones) all read as something other than DRIVER_OK and lead to the full vser_check. Not
 * seen: bus mastering alone turned off, or another function answering DRIVER_OK at our old
 * port; callers run the full check now and then.
 */
enum vser_check vser_check_quick(struct vser *v);
#define VSER_QUICK_CHECK_PORT_IO 1u

/* Resets the device (status 0); the port is dead afterwards. */
void vser_shutdown(struct vser *v);

#endif
