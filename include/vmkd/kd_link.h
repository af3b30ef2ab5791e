/* SPDX-License-Identifier: MIT */
/*
 * kd_link.h - the KDCOM link layer (packet ids, ACK, RESEND, RESET, retries, duplicate
 * suppression, break-in) as a pure state machine for either role. Freestanding: no I/O,
 * no clock, no allocation. The owner feeds it events and it answers through ops:
 *
 *   bytes from the peer  -> kd_link_input(now)
 *   a packet to send     -> kd_link_send(now)      (one outstanding at a time: stop-and-wait)
 *   time passes          -> kd_link_poll(now)      (call by kd_link_deadline())
 *   debugger connects    -> kd_link_start_reset(now)  (or either side resynchronises)
 *
 *   ops->write      bytes for the peer (control packets, data packets, retransmissions)
 *   ops->deliver    a new data packet, in order (duplicates are ACKed and dropped; see
 *                   Guarantees for the one repeat a RESET can cause)
 *   ops->send_done  the outstanding send was acknowledged or given up
 *   ops->breakin    the peer sent a break-in byte (0x62)
 *   ops->reset      the link was resynchronised by a RESET from the peer
 *   ops->accept     may a new data packet be taken now? If not it is neither ACKed nor
 *                   delivered: the peer keeps it and sends it again after its ACK timeout
 *                   (a relay with nowhere to pass the packet must not acknowledge it)
 *
 * Every packet goes out in one ops->write call. Callbacks may call kd_link_send,
 * kd_link_cancel, kd_link_start_reset and kd_link_send_breakin, never kd_link_input. For an
 * implied acknowledgement send_done comes before the deliver of the packet that implied it.
 *
 * Time is an opaque monotonic count chosen by the owner (vmkd uses microseconds); only
 * differences against the config's intervals are taken (a clock going back counts as no
 * time passing).
 *
 * Roles (kd-protocol.md section 3):
 *   KD_ROLE_TARGET   the kernel's side (kdcom.dll; the relay towards a debugger): first id
 *                    0x80800800 (SYNC), accepts only the expected id, answers RESET with
 *                    RESET and retransmits its pending packet with the new id.
 *   KD_ROLE_DEBUGGER WinDbg's side: ACKs with the SYNC bit cleared, drops a repeat of the last
 *                    id, answers a SYNC-flagged packet with RESET (so the target renumbers),
 *                    repeats an unanswered RESET every reset_interval. Not the first packet
 *                    after the target's RESET: it was flagged after the target renumbered,
 *                    so another RESET would get the same flag back (a target that flags
 *                    every packet after a RESET SYNC otherwise keeps both sides resetting
 *                    at wire speed); it is taken as it is, as radare2 takes it.
 *
 * A RESET we start is a handshake: until the peer's RESET comes back our data is held (the
 * ACK timer stands still), the peer's data is neither ACKed nor delivered (it was numbered
 * before the peer saw ours and comes again), and the RESET repeats every reset_interval.
 * The target marks its own RESET (KD_LINK_RESET_REQUEST_ID) so a vmkd debugger answers it;
 * kernels never start one. While one RESET of ours is out, kd_link_start_reset sends no
 * other: answers do not say which RESET they answer.
 *
 * Giving up or cancelling a packet that went on the wire leaves the peer's duplicate filter
 * unknown (did it get the packet?), so the link resynchronises before the next one: the
 * target marks its next packet SYNC (a debugger answers with RESET), the debugger sends
 * RESET before its next packet.
 *
 * The implied ACK (a new data packet from the peer completes ours) relies on KD's turn
 * taking: a peer sends new data only after it got ours. Not from the first packet after a
 * RESET (it may be the peer's resend of one older than ours), nor for a packet of ours a
 * RESET renumbered: only an explicit ACK shows the peer's ids moved with ours.
 *
 * Guarantees, on a channel that keeps byte order (tests/unit/test_lossy.c checks them over
 * byte loss, duplication and corruption, with RESETs from either side): a packet whose send
 * ends ACKED is delivered, intact and in order. Exactly once, unless a RESET intervenes: a
 * RESET (also the one a given-up send leads to) renumbers both sides and resends the packet
 * in flight, and a receiver that already had it (its ACK still on the way) takes it a
 * second time, right after the first. Owners must tolerate that repeat.
 */
#ifndef VMKD_KD_LINK_H
#define VMKD_KD_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "vmkd/kd_parser.h"
#include "vmkd/kd_wire.h"

enum kd_role {
	KD_ROLE_TARGET,
	KD_ROLE_DEBUGGER,
};

enum kd_link_state {
	KD_LINK_IDLE,      /* nothing outstanding */
	KD_LINK_AWAIT_ACK, /* a data packet was sent and is not yet acknowledged */
};

enum kd_send_result {
	KD_SEND_ACKED,     /* explicit ACK, or implied by the peer's next data packet */
	KD_SEND_GAVE_UP,   /* retries exhausted */
	KD_SEND_CANCELLED, /* kd_link_cancel() */
};

#define KD_LINK_NO_DEADLINE UINT64_MAX
#define KD_LINK_NO_ID       0xFFFFFFFFu

/* Id of the RESET a target sends to start a resynchronisation (kd_link_start_reset). A
 * vmkd debugger answers it with a RESET of its own; a RESET with any other id (kernels and
 * debuggers send 0) is never answered by a debugger, so two peers cannot ping-pong. */
#define KD_LINK_RESET_REQUEST_ID 0x564D4B44u

struct kd_link_ops {
	void (*write)(void *opaque, const uint8_t *buf, size_t len);               /* required */
	void (*deliver)(void *opaque, uint16_t type, uint32_t id, const uint8_t *payload,
			size_t len);                                               /* optional */
	void (*send_done)(void *opaque, enum kd_send_result result);                /* optional */
	void (*breakin)(void *opaque);                                              /* optional */
	void (*reset)(void *opaque);                                                /* optional */
	int (*accept)(void *opaque, uint16_t type, const uint8_t *payload, size_t len); /* optional */
};

struct kd_link_config {
	uint64_t ack_timeout;      /* retransmit when no ACK came within this long */
	uint32_t max_retries;      /* retransmissions after the first try; 0 = retry forever */
	uint32_t debug_io_retries; /* target: DEBUG_IO retransmissions (kdcom drops DbgPrint
				      after the first timeout, so 0 means one try) */
	uint64_t reset_interval;   /* debugger: repeat an unanswered RESET this often */
	int flush_on_reset;        /* target: answer queued RESETs once: discard the rest of
				      the input chunk holding a RESET, and do not answer another
				      within reset_interval / 2 unless data came between */
};

/* Defaults in microseconds: 1 s ACK timeout, 20 retries (kdcom), DbgPrint one try, RESET
 * repeated every second, flush on RESET. */
void kd_link_default_config(struct kd_link_config *cfg);

struct kd_link_stats {
	uint64_t data_sent;        /* first transmissions */
	uint64_t retransmits;      /* after timeout, RESEND or RESET */
	uint64_t delivered;
	uint64_t duplicates;       /* data packets ACKed but not delivered again */
	uint64_t acks_sent, acks_received, acks_ignored;
	uint64_t resends_sent, resends_received;
	uint64_t resets_sent, resets_received;
	uint64_t timeouts;         /* ACK timeouts */
	uint64_t gave_up;
	uint64_t bad_packets;      /* checksum, trailer, length */
	uint64_t breakins;
	uint64_t unknown_control;
	uint64_t sync_packets;     /* debugger: SYNC-flagged data packets */
	uint64_t sync_taken;       /* debugger: ...of them taken as they are (first after the
				      peer's RESET), not answered with RESET */
	uint64_t dropped_resetting; /* data ignored while our RESET is unanswered */
	uint64_t resets_repeated;  /* target: RESETs not answered, repeats of one just answered */
	uint64_t refused;          /* new data packets ops->accept declined: not ACKed */
};

struct kd_link {
	enum kd_role role;
	enum kd_link_state state;
	struct kd_link_config cfg;
	const struct kd_link_ops *ops;
	void *opaque;

	uint32_t next_id;          /* id of the next (or the outstanding) data packet we send */
	uint32_t expected_id;      /* target: id the peer's next data packet must carry */
	uint32_t last_rx_id;       /* debugger: id of the last delivered packet, or KD_LINK_NO_ID */
	int reset_pending;         /* our RESET sent, the peer's RESET not yet seen */
	int resync_needed;         /* debugger: send RESET before the next data packet */
	int peer_reset;            /* debugger: the peer's RESET came, no data packet since: the
				      next one was numbered after the peer renumbered */
	int after_reset;           /* no data accepted since a RESET: the next new packet may be
				      the peer's resend of one older than ours, so it implies no
				      ACK */
	uint64_t reset_sent_at;
	int reset_answered;        /* target: answered a RESET, no data seen since */
	uint64_t reset_answered_at;

	uint64_t sent_at;          /* last (re)transmission of the outstanding packet */
	uint32_t retries_left;
	int retry_forever;
	int tx_on_wire;            /* the outstanding packet was written at least once */
	int tx_crossed_reset;      /* ...and renumbered since: only an explicit ACK ends it */
	uint16_t tx_type;
	size_t tx_len;             /* payload bytes of the outstanding packet */
	uint8_t tx_wire[KD_MAX_PACKET_BYTES]; /* the packet as sent; a RESET patches its id */

	struct kd_link_stats stats;
	struct kd_parser parser;
};

void kd_link_init(struct kd_link *l, enum kd_role role, const struct kd_link_config *cfg,
		  const struct kd_link_ops *ops, void *opaque);

/* Feeds bytes received from the peer. */
void kd_link_input(struct kd_link *l, const uint8_t *buf, size_t len, uint64_t now);

/* Sends a data packet whose payload is hdr followed by data. Returns 0, -1 if a packet is
 * still outstanding, or -2 if the payload exceeds KD_MAX_PAYLOAD (or a part with a length
 * has no buffer). */
int kd_link_send(struct kd_link *l, uint16_t type, const void *hdr, size_t hdr_len,
		 const void *data, size_t data_len, uint64_t now);

/* Runs timers: retransmission, giving up, repeating RESET. */
void kd_link_poll(struct kd_link *l, uint64_t now);

/* The earliest time kd_link_poll has work, or KD_LINK_NO_DEADLINE. */
uint64_t kd_link_deadline(const struct kd_link *l);

/* Starts a RESET handshake and renumbers (debugger: on connect; target: to resynchronise).
 * The outstanding packet, if any, goes out renumbered once the peer answers. Nothing is
 * sent if a RESET of ours is already out. ops->reset comes with the answer. */
void kd_link_start_reset(struct kd_link *l, uint64_t now);

/* Debugger: sends one break-in byte. */
void kd_link_send_breakin(struct kd_link *l);

/* Drops the outstanding packet (send_done gets KD_SEND_CANCELLED). */
void kd_link_cancel(struct kd_link *l);

static inline int kd_link_busy(const struct kd_link *l) { return l->state != KD_LINK_IDLE; }

#endif
