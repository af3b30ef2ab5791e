/* SPDX-License-Identifier: MIT */
/* KDCOM link layer: packet ids, ACK / RESEND / RESET, retries, duplicates, both roles. */
#include "vmkd/kd_link.h"

#include "vmkd/kd_packet.h"

#include "vmkd/kd_bytes.h"

void kd_link_default_config(struct kd_link_config *cfg)
{
	cfg->ack_timeout = 1000000;
	cfg->max_retries = 20;
	cfg->debug_io_retries = 0;
	cfg->reset_interval = 1000000;
	cfg->flush_on_reset = 1;
}

/* ---- small helpers ------------------------------------------------------------------ */

/* A clock that goes back is treated as standing still, so timers never fire early. */
static uint64_t elapsed(uint64_t now, uint64_t since)
{
	return now > since ? now - since : 0;
}

/* Saturates below KD_LINK_NO_DEADLINE: a huge interval is late, never "no deadline". */
static uint64_t deadline_after(uint64_t since, uint64_t interval)
{
	if (interval >= KD_LINK_NO_DEADLINE - 1 - since)
		return KD_LINK_NO_DEADLINE - 1;
	return since + interval;
}

static int is_debugger(const struct kd_link *l)
{
	return l->role == KD_ROLE_DEBUGGER;
}

static int awaiting_ack(const struct kd_link *l)
{
	return l->state == KD_LINK_AWAIT_ACK;
}

/* Our RESET is unanswered: the peer's numbering is in flux, so data waits and the ACK
 * timer stands still; only the RESET repeats. */
static int resetting(const struct kd_link *l)
{
	return l->reset_pending;
}

static void put(struct kd_link *l, const uint8_t *buf, size_t len)
{
	l->ops->write(l->opaque, buf, len);
}

static void send_control(struct kd_link *l, uint16_t type, uint32_t id)
{
	uint8_t pkt[KD_HEADER_SIZE];

	put(l, pkt, kd_control_build(pkt, type, id));
}

static void send_ack(struct kd_link *l, uint32_t id)
{
	l->stats.acks_sent++;
	send_control(l, KD_PACKET_TYPE_ACKNOWLEDGE, id);
}

static void send_resend(struct kd_link *l)
{
	l->stats.resends_sent++;
	send_control(l, KD_PACKET_TYPE_RESEND, 0);
}

/* Debuggers and ReactOS send RESET with id 0 and never check it; a target starting a
 * resynchronisation marks its RESET so a vmkd debugger answers it. */
static void send_reset(struct kd_link *l)
{
	uint32_t id = 0;

	if (!is_debugger(l) && l->reset_pending)
		id = KD_LINK_RESET_REQUEST_ID;
	l->stats.resets_sent++;
	send_control(l, KD_PACKET_TYPE_RESET, id);
}

/* ---- the outstanding packet ----------------------------------------------------------- */

static size_t tx_wire_len(const struct kd_link *l)
{
	return KD_HEADER_SIZE + l->tx_len + 1;
}

/* The checksum covers only the payload, so renumbering is a header patch. */
static void tx_set_id(struct kd_link *l, uint32_t id)
{
	kd_put_le32(l->tx_wire + offsetof(struct kd_packet_header, id), id);
}

/* (Re)writes the outstanding packet and restarts its ACK timer; a held one stays put. */
static void transmit(struct kd_link *l, uint64_t now)
{
	if (resetting(l))
		return;
	if (l->tx_on_wire)
		l->stats.retransmits++;
	else
		l->stats.data_sent++;
	l->tx_on_wire = 1;
	l->sent_at = now;
	put(l, l->tx_wire, tx_wire_len(l));
}

static void notify_done(struct kd_link *l, enum kd_send_result result)
{
	if (l->ops->send_done)
		l->ops->send_done(l->opaque, result);
}

/* The peer has the packet: next id, SYNC cleared (3.1). State first, callback last, so the
 * owner may send again from send_done. */
static void complete_acked(struct kd_link *l)
{
	l->state = KD_LINK_IDLE;
	l->next_id = (l->next_id ^ KD_PACKET_ID_TOGGLE) & ~KD_SYNC_PACKET_ID;
	notify_done(l, KD_SEND_ACKED);
}

/*
 * Abandons the outstanding packet. If it reached the wire the peer may or may not have
 * it, so neither keeping nor toggling the id is safe: resynchronise instead. The target
 * flags its next packet SYNC, which a debugger answers with RESET; toggling first keeps a
 * late ACK of the abandoned packet from matching the next one. The debugger sends RESET
 * before its next packet.
 */
static void abandon(struct kd_link *l, enum kd_send_result result)
{
	l->state = KD_LINK_IDLE;
	if (l->tx_on_wire) {
		if (is_debugger(l))
			l->resync_needed = !l->reset_pending;
		else
			l->next_id = (l->next_id ^ KD_PACKET_ID_TOGGLE) | KD_SYNC_PACKET_ID;
	}
	notify_done(l, result);
}

/* ---- RESET ------------------------------------------------------------------------------ */

/*
 * Both sides restart at 0x80800000 (3.1); an outstanding packet is resent with that id.
 * If it was on the wire already, the peer may hold an older copy under the old id, so only
 * an explicit ACK of the new id proves the peer's numbering moved with ours.
 */
static void renumber(struct kd_link *l, uint64_t now)
{
	l->next_id = KD_INITIAL_PACKET_ID;
	l->expected_id = KD_INITIAL_PACKET_ID;
	l->last_rx_id = KD_LINK_NO_ID;
	l->after_reset = 1;
	if (awaiting_ack(l)) {
		l->tx_crossed_reset |= l->tx_on_wire;
		tx_set_id(l, l->next_id);
		transmit(l, now);
	}
}

/* RESET out, data held until the peer answers with its own RESET: anything the peer
 * numbered before it saw ours arrives before the answer and is ignored. */
static void begin_reset(struct kd_link *l, uint64_t now)
{
	l->reset_pending = 1;
	l->resync_needed = 0;
	l->peer_reset = 0;
	l->reset_sent_at = now;
	send_reset(l);
	renumber(l, now); /* held: transmits nothing */
}

static void notify_reset(struct kd_link *l)
{
	if (l->ops->reset)
		l->ops->reset(l->opaque);
}

/*
 * Debugger. A target starting a resync (its marked RESET) gets a RESET of ours, so its
 * data numbered before it saw ours is dropped rather than taken as new; if ours is already
 * out, the target answers that one, and taking its own RESET for the answer would leave
 * that answer to be mistaken for a later one's. Any other RESET while ours is pending is
 * the answer. The rest (a kernel's second answer to a repeated RESET, a target resetting
 * on its own) just renumbers: answering could ping-pong with a kernel, which answers every
 * RESET.
 */
static void debugger_reset(struct kd_link *l, uint32_t id, uint64_t now)
{
	if (id == KD_LINK_RESET_REQUEST_ID) {
		if (!l->reset_pending)
			begin_reset(l, now);
		return;
	}
	l->reset_pending = 0;
	l->resync_needed = 0;
	l->peer_reset = 1;
	renumber(l, now);
	notify_reset(l);
}

/*
 * WinDbg repeats RESET while it waits; answering each queued one makes it resynchronise
 * again and again (3.3), and the late answers get taken for answers to later RESETs, or
 * renumber a packet the debugger already has. So with flush_on_reset a RESET is answered
 * once: the rest of its input chunk is dropped, and another RESET is a repeat if no data
 * came since our answer and less than half the repeat interval passed (a lost answer
 * still gets the next repeat answered).
 */
static int repeated_reset(const struct kd_link *l, uint64_t now)
{
	return l->cfg.flush_on_reset && !l->reset_pending && l->reset_answered &&
	       elapsed(now, l->reset_answered_at) < l->cfg.reset_interval / 2;
}

/* Target (kdcom): answer a RESET, renumber, resend (3.3). Also the answer to ours. */
static int target_reset(struct kd_link *l, uint64_t now)
{
	if (repeated_reset(l, now)) {
		l->stats.resets_repeated++;
		return 1;
	}
	l->reset_pending = 0;
	l->reset_answered = 1;
	l->reset_answered_at = now;
	send_reset(l);
	renumber(l, now);
	notify_reset(l);
	return l->cfg.flush_on_reset;
}

/* Returns nonzero when the rest of the input chunk must be dropped. */
static int on_reset(struct kd_link *l, uint32_t id, uint64_t now)
{
	l->stats.resets_received++;
	if (is_debugger(l)) {
		debugger_reset(l, id, now);
		return 0;
	}
	return target_reset(l, now);
}

/* ---- control packets -------------------------------------------------------------------- */

/* Targets want the id without the SYNC bit; rizin-style peers echo it. Accept both (3.1). */
static void on_ack(struct kd_link *l, uint32_t id)
{
	if (!awaiting_ack(l) || resetting(l) ||
	    (id != l->next_id && id != (l->next_id & ~KD_SYNC_PACKET_ID))) {
		l->stats.acks_ignored++;
		return;
	}
	l->stats.acks_received++;
	complete_acked(l);
}

static void on_resend(struct kd_link *l, uint64_t now)
{
	l->stats.resends_received++;
	if (awaiting_ack(l))
		transmit(l, now); /* same bytes, same id */
}

static int on_control(struct kd_link *l, const struct kd_packet_header *hdr, uint64_t now)
{
	switch (hdr->type) {
	case KD_PACKET_TYPE_ACKNOWLEDGE:
		on_ack(l, hdr->id);
		return 0;
	case KD_PACKET_TYPE_RESEND:
		on_resend(l, now);
		return 0;
	case KD_PACKET_TYPE_RESET:
		return on_reset(l, hdr->id, now);
	default:
		l->stats.unknown_control++;
		return 0;
	}
}

/* ---- data packets ----------------------------------------------------------------------- */

/*
 * A new data packet from the peer. If ours is still unacknowledged, the peer answering
 * means it got ours (KD is turn-taking): complete the send first, then deliver. Not after
 * a RESET: the first packet may be the peer's resend of one sent before ours arrived, and
 * a packet of ours that crossed the RESET may have reached the peer only under its old
 * id, leaving the peer's expected id behind ours. Its explicit ACK will come.
 */
static void accept_data(struct kd_link *l, const struct kd_packet_header *hdr,
			const uint8_t *payload, size_t len)
{
	int implied = awaiting_ack(l) && !l->after_reset && !l->tx_crossed_reset;

	l->after_reset = 0;
	if (implied)
		complete_acked(l);
	l->stats.delivered++;
	if (l->ops->deliver)
		l->ops->deliver(l->opaque, hdr->type, hdr->id, payload, len);
}

/* The owner cannot take the packet now: no ACK, so the peer sends it again. */
static int refused(struct kd_link *l, const struct kd_packet_header *hdr,
		   const uint8_t *payload, size_t len)
{
	if (!l->ops->accept || l->ops->accept(l->opaque, hdr->type, payload, len))
		return 0;
	l->stats.refused++;
	return 1;
}

/* Target (kdcom): ACK whatever id came, act only on the expected one (3.1). */
static void target_data(struct kd_link *l, const struct kd_packet_header *hdr,
			const uint8_t *payload, size_t len)
{
	l->reset_answered = 0; /* the debugger is past our last answer */
	if (l->reset_pending) {
		/* Numbered before the debugger saw our RESET: it comes again, renumbered. */
		l->stats.dropped_resetting++;
		return;
	}
	if (hdr->id == l->expected_id && refused(l, hdr, payload, len))
		return;
	send_ack(l, hdr->id);
	if (hdr->id != l->expected_id) {
		l->stats.duplicates++;
		return;
	}
	l->expected_id ^= KD_PACKET_ID_TOGGLE;
	accept_data(l, hdr, payload, len);
}

/*
 * Debugger: a SYNC-flagged packet means the target (re)initialised and has not seen a
 * RESET since; RESET makes it renumber and resend (3.6). A RESET of ours still unanswered
 * and younger than half the repeat interval is probably crossing this packet (late-breakin
 * capture), so it will do; an older one was likely lost before the kernel listened
 * (boot-attach capture).
 *
 * Not when the packet is the first since the target's RESET: the stream keeps order, so
 * the target sent it after it renumbered, and a kdcom target clears SYNC when it does.
 * One that flags it anyway answers every RESET with SYNC again, and resetting would never
 * end. Our duplicate filter was cleared by that RESET, so the packet is simply new: take
 * it (ACKed without the flag).
 */
static int sync_needs_reset(struct kd_link *l, int after_peer_reset, uint64_t now)
{
	l->stats.sync_packets++;
	if (l->reset_pending)
		return elapsed(now, l->reset_sent_at) >= l->cfg.reset_interval / 2;
	if (after_peer_reset) {
		l->stats.sync_taken++;
		return 0;
	}
	return 1;
}

static void debugger_data(struct kd_link *l, const struct kd_packet_header *hdr,
			  const uint8_t *payload, size_t len, uint64_t now)
{
	int after_peer_reset = l->peer_reset;

	l->peer_reset = 0;
	/* A repeat of a SYNC packet we took is a duplicate like any other. */
	if ((hdr->id & KD_SYNC_PACKET_ID) && hdr->id != l->last_rx_id) {
		if (sync_needs_reset(l, after_peer_reset, now)) {
			begin_reset(l, now);
			return;
		}
		if (l->reset_pending)
			return; /* crossing our RESET: it comes again, renumbered */
	} else if (l->reset_pending) {
		/* Numbered before the target saw our RESET: it comes again, renumbered. */
		l->stats.dropped_resetting++;
		return;
	}
	if (hdr->id != l->last_rx_id && refused(l, hdr, payload, len)) {
		l->peer_reset = after_peer_reset; /* not taken: its next copy is still first */
		return;
	}
	send_ack(l, hdr->id & ~KD_SYNC_PACKET_ID);
	if (hdr->id == l->last_rx_id) {
		l->stats.duplicates++;
		return;
	}
	l->last_rx_id = hdr->id;
	accept_data(l, hdr, payload, len);
}

static void on_bad_packet(struct kd_link *l)
{
	l->stats.bad_packets++;
	send_resend(l);
}

static void on_breakin(struct kd_link *l)
{
	l->stats.breakins++;
	if (l->ops->breakin)
		l->ops->breakin(l->opaque);
}

/* Returns nonzero when the rest of the input chunk must be dropped. */
static int on_event(struct kd_link *l, const struct kd_event *ev, uint64_t now)
{
	switch (ev->kind) {
	case KD_EV_DATA:
		if (is_debugger(l))
			debugger_data(l, &ev->hdr, ev->payload, ev->payload_len, now);
		else
			target_data(l, &ev->hdr, ev->payload, ev->payload_len);
		return 0;
	case KD_EV_CONTROL:
		return on_control(l, &ev->hdr, now);
	case KD_EV_BREAKIN:
		on_breakin(l);
		return 0;
	case KD_EV_BAD_CHECKSUM:
	case KD_EV_BAD_TRAILER:
	case KD_EV_BAD_LENGTH:
		on_bad_packet(l);
		return 0;
	case KD_EV_NONE:
		break;
	}
	return 0;
}

/* ---- public interface ------------------------------------------------------------------- */

void kd_link_init(struct kd_link *l, enum kd_role role, const struct kd_link_config *cfg,
		  const struct kd_link_ops *ops, void *opaque)
{
	l->role = role;
	l->state = KD_LINK_IDLE;
	l->cfg = *cfg;
	l->ops = ops;
	l->opaque = opaque;
	/* A target's first packet since boot carries SYNC (3.1); a debugger never does. */
	l->next_id = role == KD_ROLE_TARGET ? KD_INITIAL_PACKET_ID | KD_SYNC_PACKET_ID
					    : KD_INITIAL_PACKET_ID;
	l->expected_id = KD_INITIAL_PACKET_ID;
	l->last_rx_id = KD_LINK_NO_ID;
	l->reset_pending = 0;
	l->resync_needed = 0;
	l->peer_reset = 0;
	l->after_reset = 0;
	l->reset_sent_at = 0;
	l->reset_answered = 0;
	l->reset_answered_at = 0;
	l->sent_at = 0;
	l->retries_left = 0;
	l->retry_forever = 0;
	l->tx_on_wire = 0;
	l->tx_crossed_reset = 0;
	l->tx_type = 0;
	l->tx_len = 0;
	kd_memset(&l->stats, 0, sizeof(l->stats));
	kd_parser_init(&l->parser);
}

void kd_link_input(struct kd_link *l, const uint8_t *buf, size_t len, uint64_t now)
{
	while (len) {
		struct kd_event ev;
		size_t used = kd_parser_feed(&l->parser, buf, len, &ev);

		if (used > len) /* cannot happen; never walk past the caller's buffer */
			used = len;
		buf += used;
		len -= used;
		if (on_event(l, &ev, now))
			return;
		if (!used && ev.kind == KD_EV_NONE)
			return;
	}
}

int kd_link_send(struct kd_link *l, uint16_t type, const void *hdr, size_t hdr_len,
		 const void *data, size_t data_len, uint64_t now)
{
	size_t n;

	if (kd_link_busy(l))
		return -1;
	if (hdr_len > KD_MAX_PAYLOAD || data_len > KD_MAX_PAYLOAD - hdr_len)
		return -2;
	if ((hdr_len && !hdr) || (data_len && !data))
		return -2;
	if (l->resync_needed)
		begin_reset(l, now);
	n = kd_packet_build(l->tx_wire, sizeof(l->tx_wire), type, l->next_id, hdr, hdr_len,
			    data, data_len);
	if (!n)
		return -2;
	l->tx_type = type;
	l->tx_len = hdr_len + data_len;
	l->tx_on_wire = 0;
	l->tx_crossed_reset = 0;
	/* kdcom drops a DbgPrint nobody takes rather than stall the kernel (3.4). */
	if (l->role == KD_ROLE_TARGET && type == KD_PACKET_TYPE_DEBUG_IO) {
		l->retries_left = l->cfg.debug_io_retries;
		l->retry_forever = 0;
	} else {
		l->retries_left = l->cfg.max_retries;
		l->retry_forever = l->cfg.max_retries == 0;
	}
	l->state = KD_LINK_AWAIT_ACK;
	l->sent_at = now;
	transmit(l, now);
	return 0;
}

void kd_link_poll(struct kd_link *l, uint64_t now)
{
	if (resetting(l) && elapsed(now, l->reset_sent_at) >= l->cfg.reset_interval) {
		send_reset(l);
		l->reset_sent_at = now;
	}
	if (!awaiting_ack(l) || resetting(l) || elapsed(now, l->sent_at) < l->cfg.ack_timeout)
		return;
	l->stats.timeouts++;
	if (l->retry_forever || l->retries_left) {
		if (!l->retry_forever)
			l->retries_left--;
		transmit(l, now);
		return;
	}
	l->stats.gave_up++;
	/* A partial packet that sat in the parser for a whole timeout is damage. Completed
	 * by the peer's next bytes it could turn into an old ACK that matches our next id
	 * once give-ups have toggled it back. */
	kd_parser_reset(&l->parser);
	abandon(l, KD_SEND_GAVE_UP);
}

uint64_t kd_link_deadline(const struct kd_link *l)
{
	uint64_t d = KD_LINK_NO_DEADLINE;

	if (resetting(l))
		return deadline_after(l->reset_sent_at, l->cfg.reset_interval);
	if (awaiting_ack(l))
		d = deadline_after(l->sent_at, l->cfg.ack_timeout);
	return d;
}

/* Answers do not say which RESET they answer, so a second RESET of ours in flight could
 * get an answer that is taken for a later one's; the pending one is repeated anyway. */
void kd_link_start_reset(struct kd_link *l, uint64_t now)
{
	if (l->reset_pending)
		return;
	begin_reset(l, now);
}

void kd_link_send_breakin(struct kd_link *l)
{
	static const uint8_t b = KD_BREAKIN_BYTE;

	put(l, &b, 1);
}

void kd_link_cancel(struct kd_link *l)
{
	if (!awaiting_ack(l))
		return;
	abandon(l, KD_SEND_CANCELLED);
}
