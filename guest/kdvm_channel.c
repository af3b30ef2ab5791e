/* SPDX-License-Identifier: MIT */
/* The guest end of the vmkd channel: KD packets as frames over a backend, link state. */
#include "kdvm_channel.h"

#include "guest_clock.h"
#include "vmkd/kd_api.h"
#include "vmkd/kd_bytes.h"

#define DEFAULT_RECEIVE_MS  100u
/* A relay back-pressures the guest while its debugger reads slowly (it stops reading the
 * chardev), so a sender waits that long for room before it drops a packet. kdcom waits
 * seconds for an ACK too; a dead host costs one such wait per stall (tx_stalled). */
#define DEFAULT_TX_MS       2000u
#define DEFAULT_HELLO_MS    200u

/* A KD_PACKET frame's bytes beyond the KD payload. */
#define VMKD_FRAME_KD_OVERHEAD (sizeof(struct vmkd_frame_header) + sizeof(struct vmkd_kd_packet))

_Static_assert(VMKD_FRAME_MAX_BYTES <= VSER_TX_FRAME_MAX, "a frame must fit the TX arena's page");

/* The device behind the channel (kdvm_backend.h). */
#define BE(ch, op, ...) ((ch)->be->op((ch)->be_state, __VA_ARGS__))
#define BE0(ch, op) ((ch)->be->op((ch)->be_state))

static void set_present(struct kdvm_channel *ch, int present)
{
	if (ch->debugger_not_present)
		*ch->debugger_not_present = present ? 0 : 1;
}

/* Someone on the host takes what the kernel sends: a debugger, or a relay that logs prints.
 * That is what kdcom's KdDebuggerNotPresent means too (cleared when it hears the host). */
static int host_listens(const struct kdvm_channel *ch)
{
	return ch->debugger || ch->host_log;
}

int kdvm_channel_debugger_present(const struct kdvm_channel *ch)
{
	return ch->link == KDVM_LINK_UP && ch->debugger;
}

/* ---- sending ------------------------------------------------------------------------- */

/* Walks the frames a reset took (*p, *len advance): 1 and its KD packet if the next one is
 * a DbgPrint, 0 if it is anything else, -1 at the end (or at damage, which frames we built
 * ourselves cannot have). */
static int next_lost(const uint8_t **p, uint32_t *len, uint16_t *type, const uint8_t **kd,
		     size_t *kd_len)
{
	struct vmkd_frame fr;
	size_t n = vmkd_frame_decode(*p, *len, &fr);

	if (!n)
		return -1;
	*p += n;
	*len -= (uint32_t)n;
	return fr.hdr.type == VMKD_FRAME_KD_PACKET &&
	       !vmkd_frame_parse_kd(fr.payload, fr.payload_len, type, kd, kd_len) &&
	       kd_api_is_print(*type, *kd, *kd_len);
}

/* 1 if a frame the last reset took carries anything but a DbgPrint (a state change, a
 * reply): the kernel waits for an answer to it, and is asked to send it again. */
static int lost_beyond_prints(struct kdvm_channel *ch)
{
	const uint8_t *p, *kd;
	uint32_t len = BE(ch, tx_lost_frames, &p, 0);
	uint16_t type;
	size_t kd_len;
	int r;

	while ((r = next_lost(&p, &len, &type, &kd, &kd_len)) >= 0)
		if (!r)
			return 1;
	return 0;
}

/* The notify a batched DbgPrint left out, if the device still has not taken it. */
static void pay_kick(struct kdvm_channel *ch)
{
	if (!ch->kick_owed)
		return;
	ch->kick_owed = 0;
	BE0(ch, tx_kick);
}

/*
 * Room for a frame of len bytes in the TX arena. Sends do not wait for their frame to
 * come back: completed frames are reclaimed here, lazily, and only when the device still
 * holds every descriptor or too much of the arena does the sender wait (bounded, reading
 * the used ring in memory only). NULL on timeout: a host that does not read.
 */
static uint8_t *tx_reserve(struct kdvm_channel *ch, uint32_t len)
{
	struct guest_deadline d;
	uint8_t *buf = NULL;
	uint32_t saved;
	int err;

	if (!BE(ch, tx_reserve, len, &buf)) {
		ch->tx_stalled = 0;
		return buf;
	}
	if (!BE0(ch, host_open))
		return NULL;
	pay_kick(ch); /* a device that missed it would never free the ring */
	/* Once a wait timed out, later sends do not wait again until the device has taken
	 * something: a host that stopped for good must not cost every DbgPrint a wait. */
	if (ch->tx_stalled) {
		ch->stats.tx_stalled_drops++;
		return NULL;
	}
	ch->stats.tx_waits++;
	saved = guest_io_poll_begin(ch->io);
	guest_deadline_start(&d, ch->plat, ch->tx_timeout_ms);
	do {
		ch->stats.polls++;
		err = BE(ch, tx_reserve, len, &buf);
	} while (err && !guest_deadline_expired(&d));
	guest_io_poll_end(ch->io, saved);
	if (err) {
		ch->stats.tx_timeouts++;
		ch->tx_stalled = 1;
		return NULL;
	}
	ch->tx_stalled = 0;
	return buf;
}

/* Waits (bounded, memory-only) until the device has returned every frame: before a reset
 * of our own or a power-down, so what was sent last still leaves the VM. A host that reads
 * slowly (a relay back-pressuring a slow debugger) is waited for as long as a send would
 * wait; one already found stalled is not waited for again. */
static void tx_drain(struct kdvm_channel *ch)
{
	struct guest_deadline d;
	uint32_t saved;

	pay_kick(ch);
	BE0(ch, tx_reclaim);
	if (!BE0(ch, tx_in_flight) || ch->tx_stalled)
		return;
	saved = guest_io_poll_begin(ch->io);
	guest_deadline_start(&d, ch->plat, ch->tx_timeout_ms);
	do {
		ch->stats.polls++;
		BE0(ch, tx_reclaim);
	} while (BE0(ch, tx_in_flight) && !BE0(ch, broken) &&
		 !guest_deadline_expired(&d));
	guest_io_poll_end(ch->io, saved);
	if (BE0(ch, tx_in_flight) && !BE0(ch, broken)) {
		ch->stats.tx_timeouts++;
		ch->tx_stalled = 1;
	}
}

static int send_frame(struct kdvm_channel *ch, uint8_t type, const void *payload, size_t len)
{
	size_t n = sizeof(struct vmkd_frame_header) + len;
	uint8_t *buf;

	if (n > VMKD_FRAME_MAX_BYTES || !(buf = tx_reserve(ch, (uint32_t)n)))
		return -1;
	if (vmkd_frame_build(buf, n, type, ch->tx_seq, payload, len, NULL, 0) != n)
		return -1;
	ch->tx_seq++;
	BE(ch, tx_submit, (uint32_t)n);
	return 0;
}

static void send_hello(struct kdvm_channel *ch)
{
	struct vmkd_hello h;
	static const char agent[] = KDVM_AGENT;

	kd_memset(&h, 0, sizeof(h));
	h.capabilities = VMKD_CAP_KD_PACKETS | VMKD_CAP_STATS;
	h.max_payload = (uint32_t)VMKD_FRAME_MAX_PAYLOAD;
	kd_memcpy(h.agent, agent, sizeof(agent) < sizeof(h.agent) ? sizeof(agent) : sizeof(h.agent));
	ch->link = KDVM_LINK_HELLO_SENT;
	ch->hello_waited = 0;
	ch->tx_stalled = 0;
	ch->stats.hellos++;
	send_frame(ch, VMKD_FRAME_HELLO, &h, sizeof(h));
}

static void send_stats(struct kdvm_channel *ch)
{
	struct vmkd_guest_stats s;

	kdvm_channel_guest_stats(ch, &s);
	send_frame(ch, VMKD_FRAME_STATS, &s, sizeof(s));
}

/* ---- receiving ----------------------------------------------------------------------- */

static void link_reset(struct kdvm_channel *ch, enum kdvm_link link)
{
	ch->link = link;
	ch->debugger = 0;
	ch->host_log = 0;
	ch->breakin = 0;
	ch->resync = 0;
	ch->stats_due = 0;
	ch->held = 0;
	ch->hello_waited = 0;
	ch->tx_stalled = 0;
	/* A new connection is a new byte stream: drop any half-parsed frame (the parser's
	 * counters stay). */
	ch->parser.state = VMKD_FP_HEADER;
	ch->parser.got = 0;
	set_present(ch, 0);
}

/* Follows the port's host side: a connect (even a close + open between two looks, seen
 * through the generation counter) asks for a HELLO, a close ends the link. */
static void sync_link(struct kdvm_channel *ch)
{
	uint32_t gen;

	BE0(ch, poll_control);
	if (!BE0(ch, host_open)) {
		if (ch->link != KDVM_LINK_DOWN)
			link_reset(ch, KDVM_LINK_DOWN);
		return;
	}
	gen = BE0(ch, open_generation);
	if (ch->link == KDVM_LINK_DOWN || gen != ch->open_generation) {
		ch->open_generation = gen;
		link_reset(ch, KDVM_LINK_HELLO_DUE);
	}
}

static void resend_lost_prints(struct kdvm_channel *ch);

static void handle_frame(struct kdvm_channel *ch, const struct vmkd_frame *fr)
{
	const uint8_t *kd;
	size_t kd_len;
	uint16_t kd_type;

	switch (fr->hdr.type) {
	case VMKD_FRAME_HELLO_ACK:
		if (fr->payload_len < offsetof(struct vmkd_hello, reserved)) {
			ch->stats.frames_rejected++;
			break;
		}
		/* Not an answer to a HELLO of this connection if ours is still to be sent. */
		if (ch->link != KDVM_LINK_HELLO_DUE)
			ch->link = KDVM_LINK_UP;
		ch->debugger = kd_get_le32(fr->payload + offsetof(struct vmkd_hello, debugger)) != 0;
		ch->host_log = (kd_get_le32(fr->payload + offsetof(struct vmkd_hello, capabilities)) &
				VMKD_CAP_HOST_LOG) != 0;
		set_present(ch, host_listens(ch));
		if (ch->link == KDVM_LINK_UP)
			resend_lost_prints(ch);
		break;
	case VMKD_FRAME_KD_PACKET:
		if (vmkd_frame_parse_kd(fr->payload, fr->payload_len, &kd_type, &kd, &kd_len)) {
			ch->stats.frames_rejected++;
			break;
		}
		ch->held = 1;
		/* After a BREAKIN or RESYNC it belongs to the stop they cause: kept. */
		ch->held_after_event = ch->breakin || ch->resync;
		ch->held_type = kd_type;
		ch->held_len = (uint32_t)kd_len;
		/* Not copied: it stays in the RX buffer (or the parser) it was parsed from,
		 * as nothing is fed and no RX buffer goes back while a packet is held. */
		ch->held_data = kd;
		break;
	case VMKD_FRAME_BREAKIN:
		ch->breakin = 1;
		ch->stats.breakins++;
		break;
	case VMKD_FRAME_RESYNC:
		ch->resync = 1;
		ch->held = 0;
		ch->stats.resyncs++;
		break;
	case VMKD_FRAME_DEBUGGER:
		if (fr->payload_len < sizeof(uint32_t)) {
			ch->stats.frames_rejected++;
			break;
		}
		/* Only a live relay sends it, so it also completes a HELLO exchange whose
		 * ACK is late; a HELLO still to be sent is sent all the same (the relay
		 * may announce the debugger before it heard from us). */
		ch->debugger = kd_get_le32(fr->payload) != 0;
		if (ch->link == KDVM_LINK_HELLO_SENT) {
			ch->link = KDVM_LINK_UP;
			resend_lost_prints(ch);
		}
		set_present(ch, host_listens(ch));
		break;
	case VMKD_FRAME_STATS_REQUEST:
		ch->stats_due = 1;
		break;
	default:
		ch->stats.frames_unexpected++;
		break;
	}
}

/* Without a connection, received bytes belong to nobody: give the buffers back unread. */
static void drain(struct kdvm_channel *ch)
{
	if (ch->rx_have) {
		ch->rx_have = 0;
		BE(ch, rx_release, ch->rx_id);
	}
	while (BE(ch, rx_next, &ch->rx_data, &ch->rx_len, &ch->rx_id))
		BE(ch, rx_release, ch->rx_id);
}

/* Parses received bytes until they run out or a KD packet is held (one at a time: the next
 * one stays in the ring until this one is taken). */
static void pump(struct kdvm_channel *ch)
{
	struct vmkd_frame fr;

	if (ch->link == KDVM_LINK_DOWN) {
		drain(ch);
		return;
	}
	while (!ch->held) {
		size_t used;

		if (!ch->rx_have) {
			if (!BE(ch, rx_next, &ch->rx_data, &ch->rx_len, &ch->rx_id))
				return;
			ch->rx_have = 1;
			ch->rx_off = 0;
		}
		fr.complete = 0;
		if (ch->rx_off < ch->rx_len) {
			used = vmkd_frame_parser_feed_in_place(&ch->parser,
							       ch->rx_data + ch->rx_off,
							       ch->rx_len - ch->rx_off, &fr);
			ch->rx_off += (uint32_t)used;
		}
		if (fr.complete)
			handle_frame(ch, &fr);
		/* A frame may point into the buffer: it goes back once it is used up and no
		 * packet held from it remains (else on a later pass, with 0 bytes left). */
		if (ch->rx_off >= ch->rx_len && !ch->held) {
			ch->rx_have = 0;
			BE(ch, rx_release, ch->rx_id);
		}
	}
}

/* Sends what the protocol owes: HELLO after a connect, STATS on request. */
static void answer_due(struct kdvm_channel *ch)
{
	if (ch->link == KDVM_LINK_HELLO_DUE)
		send_hello(ch);
	if (ch->stats_due && ch->link != KDVM_LINK_DOWN) {
		ch->stats_due = 0;
		send_stats(ch);
	}
}

/* Whether service() could change anything: the device returned control or data buffers,
 * something is owed, bytes wait to be parsed, or the port is open while the link is down.
 * A handful of loads, so the hot paths (a DbgPrint, the clock's POLL_BREAKIN) skip the
 * rest when nothing happened. */
static int service_due(const struct kdvm_channel *ch)
{
	return BE0(ch, rx_pending) || ch->link == KDVM_LINK_HELLO_DUE || ch->stats_due ||
	       (ch->rx_have && !ch->held) ||
	       (ch->link == KDVM_LINK_DOWN && BE0(ch, host_open));
}

static void service(struct kdvm_channel *ch)
{
	sync_link(ch);
	pump(ch);
	answer_due(ch);
}

/* The first send of a connection waits (once, bounded) for HELLO_ACK, so the first packet
 * after boot or reconnect is not dropped only because the answer was still in flight. */
static void wait_hello(struct kdvm_channel *ch)
{
	struct guest_deadline d;
	uint32_t saved;

	if (ch->link != KDVM_LINK_HELLO_SENT || ch->hello_waited)
		return;
	ch->hello_waited = 1;
	saved = guest_io_poll_begin(ch->io);
	guest_deadline_start(&d, ch->plat, ch->hello_timeout_ms);
	while (ch->link == KDVM_LINK_HELLO_SENT && !guest_deadline_expired(&d)) {
		ch->stats.polls++;
		sync_link(ch);
		pump(ch);
	}
	guest_io_poll_end(ch->io, saved);
	ch->hello_waited = 1;
	answer_due(ch);
}

/* ---- device defence --------------------------------------------------------------------- */

static enum vser_check after_check(struct kdvm_channel *ch, enum vser_check r)
{
	ch->polls_unchecked = 0;
	switch (r) {
	case VSER_CHECK_OK:
		break;
	case VSER_CHECK_FIXED:
		ch->stats.device_repairs++;
		break;
	case VSER_CHECK_RESET:
	case VSER_CHECK_LOST:
		if (r == VSER_CHECK_RESET)
			ch->stats.device_resetups++;
		else
			ch->stats.device_lost++;
		/* The rings were rebuilt: the buffer being parsed and a held packet pointing
		 * into it are gone, and the stream restarts at a frame boundary. The link goes
		 * down; sync_link sees the port open again (a new generation) and HELLO
		 * follows, which also tells the relay to renumber its debugger link. */
		ch->rx_have = 0;
		link_reset(ch, KDVM_LINK_DOWN);
		break;
	}
	return r;
}

enum vser_check kdvm_channel_check_device(struct kdvm_channel *ch, int force)
{
	ch->stats.device_checks++;
	return after_check(ch, BE(ch, check, force));
}

/* On every send: DbgPrints (the kernel runs, and may print thousands of lines a second)
 * read only the status register, which a reset, a moved BAR or disabled decodes all
 * change, with the full check every KDVM_PRINT_CHECK_EVERY prints; every other packet
 * starts or continues a debugger exchange and gets the full check. */
static void check_on_send(struct kdvm_channel *ch, uint16_t type)
{
	if (type == KD_PACKET_TYPE_DEBUG_IO && ++ch->prints_unchecked < KDVM_PRINT_CHECK_EVERY) {
		ch->stats.device_quick_checks++;
		after_check(ch, BE0(ch, check_quick));
		return;
	}
	ch->prints_unchecked = 0;
	kdvm_channel_check_device(ch, 0);
}

void kdvm_channel_power_down(struct kdvm_channel *ch)
{
	/* Frames still in flight would die with the reset: let them leave first. */
	tx_drain(ch);
	BE0(ch, shutdown);
	ch->rx_have = 0;
	link_reset(ch, KDVM_LINK_DOWN);
}

/* ---- API ----------------------------------------------------------------------------- */

/* ivshmem when asked for, or (AUTO) when a device with the relay's header is there and the
 * platform can map it; else virtio-serial. */
static int open_backend(struct kdvm_channel *ch, const struct guest_platform *plat, void *mem,
			size_t mem_len, enum kdvm_device dev, const struct vser_config *vc)
{
	int err;

	if (dev != KDVM_DEVICE_VIRTIO) {
		err = ivs_init(&ch->ivs, plat);
		if (!err) {
			ch->be = &kdvm_backend_ivs;
			ch->be_state = &ch->ivs;
			ch->io = &ch->ivs.io;
			return 0;
		}
		if (dev == KDVM_DEVICE_IVSHMEM)
			return KDVM_ERR_IVSHMEM + err;
	}
	ch->be = &kdvm_backend_vser;
	ch->be_state = &ch->vser;
	ch->io = &ch->vser.io;
	return vser_init(&ch->vser, plat, mem, mem_len, vc);
}

int kdvm_channel_init(struct kdvm_channel *ch, const struct guest_platform *plat, void *mem,
		      size_t mem_len, const struct kdvm_channel_config *cfg,
		      volatile uint8_t *debugger_not_present)
{
	struct vser_config vc = { 0 };
	int err;

	kd_memset(ch, 0, sizeof(*ch));
	ch->plat = plat;
	ch->debugger_not_present = debugger_not_present;
	ch->receive_timeout_ms = cfg && cfg->receive_timeout_ms ? cfg->receive_timeout_ms
								 : DEFAULT_RECEIVE_MS;
	ch->tx_timeout_ms = cfg && cfg->tx_timeout_ms ? cfg->tx_timeout_ms : DEFAULT_TX_MS;
	ch->hello_timeout_ms = cfg && cfg->hello_timeout_ms ? cfg->hello_timeout_ms
							    : DEFAULT_HELLO_MS;
	ch->link = KDVM_LINK_DOWN;
	vmkd_frame_parser_init(&ch->parser);
	set_present(ch, 0);
	if (cfg) {
		vc.port_name = cfg->port_name;
		vc.handshake_timeout_ms = cfg->handshake_timeout_ms;
		vc.open_grace_ms = cfg->open_grace_ms;
	}
	if (!vc.port_name)
		vc.port_name = VMKD_PORT_NAME;
	err = open_backend(ch, plat, mem, mem_len, cfg ? cfg->device : KDVM_DEVICE_AUTO, &vc);
	if (err)
		return err;
	service(ch);
	wait_hello(ch);
	return 0;
}

/* Frames one KD packet into the TX arena and posts it. Posted, not waited for: the frame
 * is in the device's FIFO behind every earlier one, and its buffer is reclaimed by a later
 * send. A DbgPrint in a burst shares the notify of the batch the device is taking; every
 * other packet (a debugger waits for it, or for what follows it) is notified, which covers
 * any DbgPrint before it. */
static enum kdvm_send_result post_kd(struct kdvm_channel *ch, uint16_t type, const void *hdr,
				     size_t hdr_len, const void *data, size_t data_len, int print)
{
	size_t len = VMKD_FRAME_KD_OVERHEAD + hdr_len + data_len, n;
	uint8_t *buf = tx_reserve(ch, (uint32_t)len);

	if (!buf)
		return KDVM_SEND_BUSY;
	n = vmkd_frame_build_kd(buf, len, ch->tx_seq, type, hdr, hdr_len, data, data_len);
	if (!n)
		return KDVM_SEND_TOO_BIG;
	ch->tx_seq++;
	if (print && BE(ch, tx_submit_batched, (uint32_t)n)) {
		ch->kick_owed = 1;
		ch->kick_polls = 0;
	} else {
		if (!print)
			BE(ch, tx_submit, (uint32_t)n);
		ch->kick_owed = 0;
	}
	ch->stats.packets_sent++;
	if (!ch->debugger)
		ch->stats.prints_to_host_log++;
	return KDVM_SENT;
}

/* Once the relay has answered the HELLO that follows a reset by someone else: the
 * DbgPrints the reset took go out again, oldest first and before anything newer (the
 * send that found the reset waits for this HELLO). The device never finished them, so the
 * host has none of them whole. Other packets are not sent again: the kernel is asked to
 * send its state (lost_beyond_prints). */
static void resend_lost_prints(struct kdvm_channel *ch)
{
	const uint8_t *p, *kd;
	uint32_t len = BE(ch, tx_lost_frames, &p, 1);
	uint16_t type;
	size_t kd_len;
	int r;

	while ((r = next_lost(&p, &len, &type, &kd, &kd_len)) >= 0) {
		if (!r)
			continue;
		if (host_listens(ch) && post_kd(ch, type, kd, kd_len, NULL, 0, 1) == KDVM_SENT)
			ch->stats.prints_resent++;
		else
			ch->stats.prints_resend_dropped++;
	}
}

enum kdvm_send_result kdvm_channel_send_kd(struct kdvm_channel *ch, uint16_t type,
					   const void *hdr, size_t hdr_len, const void *data,
					   size_t data_len)
{
	enum kdvm_send_result r = KDVM_SENT;
	int print = kd_api_is_print(type, hdr, hdr_len);

	/* A send is where a device taken over while the kernel ran is found first (not
	 * polling: 5 port accesses, 1 for most DbgPrints). */
	check_on_send(ch, type);
	ch->checked = 1;
	if (service_due(ch))
		service(ch);
	wait_hello(ch);
	if (hdr_len > KD_MAX_PAYLOAD || data_len > KD_MAX_PAYLOAD ||
	    hdr_len + data_len > KD_MAX_PAYLOAD)
		r = KDVM_SEND_TOO_BIG;
	else if (ch->link != KDVM_LINK_UP)
		r = KDVM_SEND_NO_RELAY;
	else if (!ch->debugger && !(ch->host_log && print))
		r = KDVM_SEND_NO_DEBUGGER;
	else
		r = post_kd(ch, type, hdr, hdr_len, data, data_len, print);
	if (r != KDVM_SENT) {
		ch->stats.send_dropped++;
		/* Known absence is mirrored into KdDebuggerNotPresent (kdcom's rule: what
		 * nobody takes means nobody is there). A full TX ring or an oversized packet
		 * says nothing about the debugger: setting the flag then would silence the
		 * kernel until the relay happened to repeat DEBUGGER(1). */
		if (r == KDVM_SEND_NO_RELAY || r == KDVM_SEND_NO_DEBUGGER)
			set_present(ch, 0);
		return r;
	}
	set_present(ch, 1);
	return KDVM_SENT;
}

void kdvm_channel_debugger_exit(struct kdvm_channel *ch)
{
	if (ch->link == KDVM_LINK_UP && ch->host_log)
		set_present(ch, 1);
}

/* Hands the held packet to the caller's buffers; 0 if it does not fit (dropped). */
static int take_held(struct kdvm_channel *ch, void *hdr, size_t hdr_max, size_t *hdr_len,
		     void *data, size_t data_max, size_t *data_len)
{
	size_t hl = ch->held_len < hdr_max ? ch->held_len : hdr_max;
	size_t dl = ch->held_len - hl;

	ch->held = 0;
	if (dl && (!data || dl > data_max)) {
		ch->stats.recv_dropped_size++;
		return 0;
	}
	if (hl)
		kd_memcpy(hdr, ch->held_data, hl);
	if (dl)
		kd_memcpy(data, ch->held_data + hl, dl);
	*hdr_len = hl;
	*data_len = dl;
	ch->stats.packets_received++;
	return 1;
}

enum kdvm_recv_result kdvm_channel_receive_kd(struct kdvm_channel *ch, uint16_t type, void *hdr,
					      size_t hdr_max, size_t *hdr_len, void *data,
					      size_t data_max, size_t *data_len)
{
	enum kdvm_recv_result r = KDVM_RECV_TIMEOUT;
	struct guest_deadline d;
	uint32_t saved;

	*hdr_len = 0;
	*data_len = 0;
	/* Checked once per call, before the loop (which stays memory-only), and not at all
	 * right after a send that checked: a request/response pair costs one check, an idle
	 * stop one per receive timeout. */
	if (!ch->checked) {
		uint64_t lost = BE0(ch, tx_lost);

		/* Frames in flight when the device was reset never left the VM whole. The
		 * DbgPrints among them go out again after the HELLO; if anything else was
		 * there, the kernel waits for an answer to it: it is asked to send its state
		 * again (NeedsResend), as after a debugger's RESYNC. */
		if (kdvm_channel_check_device(ch, 0) == VSER_CHECK_RESET &&
		    BE0(ch, tx_lost) != lost && lost_beyond_prints(ch))
			ch->resend_due = 1;
	}
	ch->checked = 0;
	if (ch->link == KDVM_LINK_DOWN || ch->link == KDVM_LINK_HELLO_DUE) {
		/* Set up again (or reconnected) since the last look: HELLO first, so the
		 * relay takes the stream up before we wait on it. */
		service(ch);
		wait_hello(ch);
	}
	saved = guest_io_poll_begin(ch->io);
	guest_deadline_start(&d, ch->plat, ch->receive_timeout_ms);
	for (;;) {
		ch->stats.polls++;
		if (service_due(ch)) {
			sync_link(ch);
			pump(ch);
		}
		if (ch->resend_due) {
			ch->resend_due = 0;
			ch->stats.resends_asked++;
			r = KDVM_RECV_RESYNC;
			break;
		}
		if (ch->resync) {
			/* RESYNC dropped what was held before it; a packet held now came after. */
			ch->resync = 0;
			r = KDVM_RECV_RESYNC;
			break;
		}
		if (ch->held) {
			if (ch->held_type != type) {
				ch->held = 0;
				ch->stats.recv_dropped_type++;
			} else if (take_held(ch, hdr, hdr_max, hdr_len, data, data_max, data_len)) {
				r = KDVM_RECV_OK;
				break;
			}
		} else if (ch->breakin) {
			ch->breakin = 0;
			r = KDVM_RECV_BREAKIN;
			break;
		} else if (ch->link == KDVM_LINK_DOWN ||
			   (ch->link == KDVM_LINK_UP && !ch->debugger)) {
			/* Nobody will answer: let the kernel resend, which then finds no
			 * debugger and goes on. */
			r = KDVM_RECV_GONE;
			break;
		}
		if (ch->link == KDVM_LINK_HELLO_DUE || ch->stats_due)
			answer_due(ch);
		/* Checked on every pass, so a stream of unwanted packets cannot hold us. */
		if (guest_deadline_expired(&d))
			break;
	}
	guest_io_poll_end(ch->io, saved);
	answer_due(ch);
	return r;
}

int kdvm_channel_poll_breakin(struct kdvm_channel *ch)
{
	uint32_t saved;

	/* From the clock interrupt, many times a second: a rare check, so a device reset
	 * while the kernel runs still lets a later break-in through. */
	if (++ch->polls_unchecked >= KDVM_POLL_CHECK_EVERY) {
		kdvm_channel_check_device(ch, 0);
		if (ch->link == KDVM_LINK_DOWN || ch->link == KDVM_LINK_HELLO_DUE) {
			service(ch);
			wait_hello(ch);
		}
	}
	/* A running kernel has nothing to send again. */
	ch->resend_due = 0;
	ch->stats.polls++;
	if (ch->kick_owed && ++ch->kick_polls >= KDVM_KICK_RESCUE_POLLS)
		pay_kick(ch);
	/* The common case, many times a second: nothing arrived, nothing is owed. */
	if (!ch->breakin && !service_due(ch))
		return 0;
	saved = guest_io_poll_begin(ch->io);
	sync_link(ch);
	for (;;) {
		pump(ch);
		if (!ch->held || ch->held_after_event)
			break;
		/* A running kernel waits for no packet (kdcom discards them too); one that
		 * follows a break-in is for the stop it causes and stays. */
		ch->held = 0;
		ch->stats.recv_dropped_idle++;
	}
	guest_io_poll_end(ch->io, saved);
	answer_due(ch);
	if (!ch->breakin)
		return 0;
	ch->breakin = 0;
	return 1;
}

void kdvm_channel_guest_stats(const struct kdvm_channel *ch, struct vmkd_guest_stats *out)
{
	const struct vmkd_frame_parser_stats *ps = &ch->parser.stats;

	kd_memset(out, 0, sizeof(*out));
	out->packets_sent = ch->stats.packets_sent;
	out->packets_received = ch->stats.packets_received;
	out->notifications = ch->io->notifies;
	out->port_io_total = ch->io->total;
	out->port_io_while_polling = ch->io->while_polling;
	out->frames_rejected = ps->bad_version + ps->bad_length + ps->bad_type +
			       ch->stats.frames_rejected;
	out->polls = ch->stats.polls;
	out->tx_timeouts = ch->stats.tx_timeouts;
	out->send_dropped = ch->stats.send_dropped;
	out->tx_lost_in_resets = BE0(ch, tx_lost);
	out->prints_resent = ch->stats.prints_resent;
}
