/* SPDX-License-Identifier: MIT */
/*
 * kdvm_channel.h - the guest end of the vmkd channel: whole KD packets as vmkd frames
 * (include/vmkd/vmkd_frame.h) over the virtio-serial port. Freestanding, no CRT, no
 * floating point, no allocation after init.
 *
 * Sending: one KD packet = one KD_PACKET frame = one descriptor in the TX arena = one
 * notify, and no wait: up to VSER_TX_DESCS frames are in flight, reclaimed lazily by later
 * sends; a sender waits (bounded) only when the device holds them all. The virtqueue is a
 * FIFO, so frames reach the relay in the order they were sent. Receiving: the RX used ring is polled in memory only;
 * its bytes go through the frame parser (frames may be split or merged across buffers).
 *
 * Link state: the relay is "present" while a host program holds the port's chardev open
 * (PORT_OPEN from the device). On every connect the guest sends HELLO; the relay's
 * HELLO_ACK and later DEBUGGER frames say whether a debugger is attached, which is mirrored
 * into KdDebuggerNotPresent. Without a relay nothing is sent (QEMU would drop it silently).
 */
#ifndef VMKD_KDVM_CHANNEL_H
#define VMKD_KDVM_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "vmkd/vmkd_frame_parser.h"
#include "ivshmem.h"
#include "kdvm_backend.h"
#include "virtio_serial.h"

#define KDVM_AGENT "kdvm.dll 0.1"

enum kdvm_link {
	KDVM_LINK_DOWN,       /* no host program on the port */
	KDVM_LINK_HELLO_DUE,  /* connected; HELLO not sent yet */
	KDVM_LINK_HELLO_SENT, /* waiting for HELLO_ACK */
	KDVM_LINK_UP,         /* HELLO_ACK received */
};

enum kdvm_send_result {
	KDVM_SENT = 0,
	KDVM_SEND_NO_RELAY,     /* port closed, or the relay never answered HELLO */
	KDVM_SEND_NO_DEBUGGER,  /* relay says no debugger is attached */
	KDVM_SEND_TOO_BIG,      /* over KD_MAX_PAYLOAD */
	KDVM_SEND_BUSY,         /* the device held every TX descriptor (or the arena) too long */
};

enum kdvm_recv_result {
	KDVM_RECV_OK = 0,
	KDVM_RECV_TIMEOUT,
	KDVM_RECV_RESYNC,       /* the debugger reset: report the state again */
	KDVM_RECV_BREAKIN,      /* break-in while waiting */
	KDVM_RECV_GONE,         /* relay or debugger went away while waiting */
};

/* Which device carries the channel (kdvm_backend.h). */
enum kdvm_device {
	KDVM_DEVICE_AUTO = 0,   /* ivshmem-doorbell with the relay's header if the platform can
				   map it, else virtio-serial */
	KDVM_DEVICE_VIRTIO,
	KDVM_DEVICE_IVSHMEM,
};

/* kdvm_channel_init with KDVM_DEVICE_IVSHMEM that found no usable device: this + ivs_err. */
#define KDVM_ERR_IVSHMEM (-100)

struct kdvm_channel_config {
	enum kdvm_device device;        /* 0 = AUTO */
	const char *port_name;          /* NULL = VMKD_PORT_NAME */
	uint32_t receive_timeout_ms;    /* KdReceivePacket wait (0 = 100) */
	uint32_t tx_timeout_ms;         /* wait for TX room while the device holds it (0 = 2000) */
	uint32_t hello_timeout_ms;      /* wait for HELLO_ACK before the first send (0 = 200) */
	uint32_t handshake_timeout_ms;  /* see struct vser_config (0 = default) */
	uint32_t open_grace_ms;
};

struct kdvm_channel_stats {
	uint64_t packets_sent;
	uint64_t packets_received;
	uint64_t send_dropped;          /* no relay / no debugger / too big / busy */
	uint64_t prints_to_host_log;    /* DbgPrints sent with no debugger (VMKD_CAP_HOST_LOG) */
	uint64_t recv_dropped_type;     /* KD packet of another type than asked for */
	uint64_t recv_dropped_size;     /* did not fit the caller's buffers */
	uint64_t recv_dropped_idle;     /* arrived while nobody waited (overwritten/discarded) */
	uint64_t frames_rejected;       /* malformed payloads (the parser counts bad headers) */
	uint64_t frames_unexpected;     /* valid frames a guest does not take (HELLO, STATS) */
	uint64_t tx_waits;              /* sends that found every TX descriptor or the arena busy */
	uint64_t tx_timeouts;           /* ... and gave up after tx_timeout_ms */
	uint64_t tx_stalled_drops;      /* dropped at once: the last wait timed out, no progress */
	uint64_t resends_asked;         /* NeedsResend after frames were lost in a device reset */
	uint64_t prints_resent;         /* DbgPrints a device reset took, sent again after HELLO */
	uint64_t prints_resend_dropped; /* ... that found no relay, debugger or log to take them */
	uint64_t polls;                 /* used-ring checks in wait loops */
	uint64_t hellos;
	uint64_t breakins;
	uint64_t resyncs;
	uint64_t device_checks;         /* config-space checks of the device (vser_check) */
	uint64_t device_quick_checks;   /* status-only checks on DbgPrint sends */
	uint64_t device_repairs;        /* decodes restored or BAR followed, queues kept */
	uint64_t device_resetups;       /* device found reset (or resumed): set up again */
	uint64_t device_lost;           /* check found no usable device */
};

/* A POLL_BREAKIN call (the clock interrupt, many per second) checks the device only this
 * rarely: 5 port accesses amortised over this many memory-only polls. */
#define KDVM_POLL_CHECK_EVERY 256u
/* DbgPrint sends read only the status register (vser_check_quick) but for a full check
 * every this many. */
#define KDVM_PRINT_CHECK_EVERY 64u
/* A DbgPrint posted without a notify (the device was busy: vser_tx_submit_batched) is
 * notified late after this many POLL_BREAKIN calls without another send, if the device
 * has not taken it by then (only when it had just gone idle as we looked). */
#define KDVM_KICK_RESCUE_POLLS 16u

struct kdvm_channel {
	const struct kdvm_backend *be;  /* the device's ops, chosen at init */
	void *be_state;                 /* &vser or &ivs */
	struct guest_io *io;            /* the backend's counted port I/O */
	struct vser vser;
	struct ivs ivs;
	const struct guest_platform *plat;
	volatile uint8_t *debugger_not_present; /* the kernel's KdDebuggerNotPresent, or NULL */
	uint32_t receive_timeout_ms, tx_timeout_ms, hello_timeout_ms;

	enum kdvm_link link;
	uint32_t open_generation;   /* vser's counter when we last saw a connect */
	uint8_t hello_waited;       /* the bounded HELLO_ACK wait ran for this connection */
	uint8_t tx_stalled;         /* a TX wait timed out and the device has taken nothing since */
	uint8_t debugger;           /* relay says a debugger is attached */
	uint8_t host_log;           /* relay keeps DbgPrints without one (VMKD_CAP_HOST_LOG) */
	uint8_t breakin;            /* BREAKIN not yet consumed */
	uint8_t resync;             /* RESYNC not yet consumed */
	uint8_t gone;               /* debugger/relay left since the last receive */
	uint8_t stats_due;          /* STATS_REQUEST to answer */
	uint8_t checked;            /* a send checked the device; the next receive need not */
	uint8_t resend_due;         /* frames were lost in a reset while the kernel waits */
	uint32_t polls_unchecked;   /* POLL_BREAKIN calls since the last device check */
	uint32_t prints_unchecked;  /* DbgPrint sends since the last full check */
	uint8_t kick_owed;          /* a DbgPrint went out without a notify */
	uint32_t kick_polls;        /* POLL_BREAKIN calls since */
	uint32_t tx_seq;

	/* The RX buffer being parsed. */
	uint8_t rx_have;
	uint16_t rx_id;
	const uint8_t *rx_data;
	uint32_t rx_len, rx_off;
	struct vmkd_frame_parser parser;

	/* One KD packet waiting for KdReceivePacket. */
	uint8_t held;
	uint8_t held_after_event;   /* arrived after a BREAKIN/RESYNC not yet consumed */
	uint16_t held_type;
	uint32_t held_len;
	const uint8_t *held_data;   /* in an RX buffer or the parser, both kept while held */

	struct kdvm_channel_stats stats;
};

/*
 * Sets up the device and the port (vser_init: a vser_err on failure) and, if a relay is
 * already connected, says HELLO. debugger_not_present may be NULL.
 */
int kdvm_channel_init(struct kdvm_channel *ch, const struct guest_platform *plat, void *mem,
		      size_t mem_len, const struct kdvm_channel_config *cfg,
		      volatile uint8_t *debugger_not_present);

/* One KD packet: its payload is hdr followed by data (either may be empty). */
enum kdvm_send_result kdvm_channel_send_kd(struct kdvm_channel *ch, uint16_t type,
					   const void *hdr, size_t hdr_len, const void *data,
					   size_t data_len);

/*
 * Waits (bounded) for a KD packet of this type and splits its payload: the first hdr_max
 * bytes into hdr, the rest into data. Packets of other types, and packets whose rest does
 * not fit data_max, are dropped and the wait goes on.
 */
enum kdvm_recv_result kdvm_channel_receive_kd(struct kdvm_channel *ch, uint16_t type, void *hdr,
					      size_t hdr_max, size_t *hdr_len, void *data,
					      size_t data_max, size_t *data_len);

/* 1 if the debugger asked for a break-in since the last call (consumes it). Memory-only;
 * a running kernel expects no data, so a KD packet seen here is discarded. */
int kdvm_channel_poll_breakin(struct kdvm_channel *ch);

/*
 * Checks the device (vser_check) and, when it had to be set up again or is lost, starts
 * the link over: the half-parsed stream and any held packet are gone, and the next
 * service says HELLO again. force: set the device up even if it looks intact (resume).
 * Called by send and receive on entry; call it directly after a power transition.
 */
enum vser_check kdvm_channel_check_device(struct kdvm_channel *ch, int force);

/* Before sleep or hibernation: resets the device (no DMA while memory is saved) and
 * takes the link down. The next check sets it up again. */
void kdvm_channel_power_down(struct kdvm_channel *ch);

/*
 * KdExitDebugger (KdRestore(FALSE)): memory only. With a relay that keeps DbgPrints
 * (VMKD_CAP_HOST_LOG), KdDebuggerNotPresent goes back to 0 after a state change that found
 * no debugger set it, so that the kernel's next DbgPrint reaches the transport again
 * (Windows skips the call while the flag is set: docs/windows.md, "DbgPrint with no
 * debugger").
 */
void kdvm_channel_debugger_exit(struct kdvm_channel *ch);

/* 1 while a relay is connected and says a debugger is attached. */
int kdvm_channel_debugger_present(const struct kdvm_channel *ch);

/* The counters of the STATS frame. */
void kdvm_channel_guest_stats(const struct kdvm_channel *ch, struct vmkd_guest_stats *out);

#endif
