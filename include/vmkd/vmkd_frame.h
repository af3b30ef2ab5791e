/* SPDX-License-Identifier: MIT */
/*
 * vmkd_frame.h - the frames the guest transport (kdvm.dll) and the host relay exchange over
 * the virtio-serial port. Freestanding-safe; explicit padding and static asserts as in
 * kd_wire.h.
 *
 * The port is a byte stream (virtio-serial merges and splits writes), so every frame starts
 * with a 16-byte header carrying a magic, a version and the payload length. A receiver that
 * sees a bad magic, an unknown version or a length above VMKD_FRAME_MAX_PAYLOAD counts the
 * error and scans forward for the next magic; it never trusts the peer.
 *
 * One KD packet = one KD_PACKET frame = one virtqueue buffer = one device notification.
 * The KDCOM link layer (ids, ACK, RESEND, RESET, checksums, trailer) lives only between the
 * relay and the debugger: none of it crosses the VM boundary.
 *
 * Conversation:
 *   guest -> host  HELLO       at transport start and after every guest reboot; the relay
 *                              resets its debugger link and answers HELLO_ACK.
 *   host  -> guest HELLO_ACK   capabilities; whether a debugger is attached now.
 *   guest -> host  KD_PACKET   a KD packet from KdSendPacket (type + payload).
 *   host  -> guest KD_PACKET   a KD packet the debugger sent (already ACKed by the relay).
 *   host  -> guest BREAKIN     the debugger sent a break-in byte.
 *   host  -> guest RESYNC      the debugger sent RESET: KdReceivePacket returns
 *                              KdPacketNeedsResend so the kernel reports its state again.
 *   host  -> guest DEBUGGER    debugger attached (value 1) or gone / never ACKed (value 0);
 *                              the guest mirrors it into KdDebuggerNotPresent, which is what
 *                              kdcom does when its ACKs time out. The relay answers a guest
 *                              STATE_CHANGE with DEBUGGER(0) when no debugger is attached.
 *                              With VMKD_CAP_HOST_LOG the flag stays clear for DbgPrints.
 *   guest -> host  STATS       transport counters (notifications, port I/O, frames), sent
 *                              on request or at the test kernel's exit.
 *   host  -> guest STATS_REQUEST
 */
#ifndef VMKD_FRAME_H
#define VMKD_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "vmkd/kd_wire.h"

#define VMKD_FRAME_MAGIC    0x444B4D56u /* "VMKD" in memory order */
#define VMKD_FRAME_VERSION  1u
#define VMKD_PORT_NAME      "org.vmkd.0"

enum vmkd_frame_type {
	VMKD_FRAME_HELLO = 1,
	VMKD_FRAME_HELLO_ACK = 2,
	VMKD_FRAME_KD_PACKET = 3,
	VMKD_FRAME_BREAKIN = 4,
	VMKD_FRAME_RESYNC = 5,
	VMKD_FRAME_DEBUGGER = 6,
	VMKD_FRAME_STATS = 7,
	VMKD_FRAME_STATS_REQUEST = 8,
	VMKD_FRAME_TYPE_MAX,
};

struct vmkd_frame_header {
	uint32_t magic;
	uint8_t version;
	uint8_t type;     /* enum vmkd_frame_type */
	uint16_t flags;   /* 0; receivers ignore unknown bits */
	uint32_t length;  /* payload bytes after this header */
	uint32_t seq;     /* sender's frame counter, for traces and loss checks */
};
KD_ASSERT_SIZE(struct vmkd_frame_header, 16);
KD_ASSERT_OFF(struct vmkd_frame_header, type, 5);
KD_ASSERT_OFF(struct vmkd_frame_header, length, 8);

/* HELLO / HELLO_ACK payload. */
#define VMKD_CAP_KD_PACKETS  0x1u
#define VMKD_CAP_STATS       0x2u
/* HELLO_ACK: the host keeps DbgPrint output while no debugger is attached (the relay's
 * per-VM log), so the guest sends PrintString packets then too, without waiting for any
 * answer, and leaves KdDebuggerNotPresent clear (docs/windows.md, "DbgPrint with no
 * debugger"). Old relays never set it: their guests drop prints without a debugger, as
 * kdcom does. */
#define VMKD_CAP_HOST_LOG    0x4u

struct vmkd_hello {
	uint32_t capabilities;   /* VMKD_CAP_* */
	uint32_t max_payload;    /* largest frame payload the sender accepts */
	uint32_t debugger;       /* HELLO_ACK: 1 if a debugger is attached */
	uint32_t reserved;
	char agent[32];          /* "kdvm.dll 0.1", "vmkd relay 0.1" (NUL-padded) */
};
KD_ASSERT_SIZE(struct vmkd_hello, 48);

/* KD_PACKET payload: this header, then `length` bytes of the KD payload (what KdSendPacket's
 * MessageHeader + MessageData hold; no KDCOM framing). */
struct vmkd_kd_packet {
	uint16_t packet_type;    /* KD_PACKET_TYPE_* */
	uint16_t reserved;
	uint32_t length;         /* <= KD_MAX_PAYLOAD, and = frame length - 8 */
};
KD_ASSERT_SIZE(struct vmkd_kd_packet, 8);

/* DEBUGGER payload. */
struct vmkd_debugger_state {
	uint32_t attached;       /* 0 or 1 */
	uint32_t reserved;
};
KD_ASSERT_SIZE(struct vmkd_debugger_state, 8);

/* STATS payload: what the guest transport counted since it started. */
struct vmkd_guest_stats {
	uint64_t packets_sent;
	uint64_t packets_received;
	uint64_t notifications;        /* virtqueue kicks (QUEUE_NOTIFY writes) */
	uint64_t port_io_total;        /* every in/out the transport executed */
	uint64_t port_io_while_polling;/* in/out while waiting for data: the goal is 0 */
	uint64_t frames_rejected;      /* bad magic/version/length from the host */
	uint64_t polls;                /* used-ring checks */
	uint64_t tx_timeouts;          /* sends that waited for TX room in vain (host stalled) */
	uint64_t send_dropped;         /* KD packets not sent: no relay/debugger, too big, busy */
	uint64_t tx_lost_in_resets;    /* frames a device reset by someone else took in flight */
	uint64_t prints_resent;        /* ... the DbgPrints among them, sent again after HELLO */
	uint64_t reserved[5];
};
KD_ASSERT_SIZE(struct vmkd_guest_stats, 128);

#define VMKD_FRAME_MAX_PAYLOAD  (sizeof(struct vmkd_kd_packet) + KD_MAX_PAYLOAD)
#define VMKD_FRAME_MAX_BYTES    (sizeof(struct vmkd_frame_header) + VMKD_FRAME_MAX_PAYLOAD)

#endif /* VMKD_FRAME_H */
