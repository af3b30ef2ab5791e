/* SPDX-License-Identifier: MIT */
/* The debugger link: a target-role kd_link per VM, its callbacks, the stop-and-wait pump
 * over the guest packet queue, and the kdcom rules for when no debugger takes a packet. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmkd/kd_api.h"
#include "vmkd/kd_packet.h"
#include "vmkd/kd_wire.h"

#include "../common/relay_notice.h"

#include "relay_hostmem.h"
#include "relay_tap.h"
#include "relay_vm_int.h"

/*
 * A guest packet nobody takes (no debugger, or it stopped answering). kdcom would time out
 * waiting for the ACK, set KdDebuggerNotPresent and carry on; a kernel waiting for an
 * answer must be told the same thing, the rest is dropped as kdcom drops it.
 */
enum no_debugger_rule {
	NODBG_INVALID = 0, /* not a data packet type: the guest may not send it */
	NODBG_ANSWER,      /* the kernel waits for an answer: DEBUGGER(0) */
	NODBG_DROP,        /* nobody waits: drop */
	NODBG_DEBUG_IO,    /* DbgPrint dropped, DbgPrompt (GetString) answered */
};

static const uint8_t no_debugger_rules[KD_PACKET_TYPE_MAX] = {
	[KD_PACKET_TYPE_STATE_CHANGE32] = NODBG_ANSWER,
	[KD_PACKET_TYPE_STATE_MANIPULATE] = NODBG_DROP,
	[KD_PACKET_TYPE_DEBUG_IO] = NODBG_DEBUG_IO,
	[KD_PACKET_TYPE_STATE_CHANGE64] = NODBG_ANSWER,
	[KD_PACKET_TYPE_TRACE_IO] = NODBG_DROP,
	[KD_PACKET_TYPE_CONTROL_REQUEST] = NODBG_ANSWER,
	[KD_PACKET_TYPE_FILE_IO] = NODBG_ANSWER,
};

static const char *const fate_names[] = {
	[RELAY_FATE_SEND] = "sent",
	[RELAY_FATE_QUEUE] = "queued",
	[RELAY_FATE_ANSWER] = "no debugger: answered DEBUGGER(0)",
	[RELAY_FATE_DROP_PRINT] = "no debugger: DbgPrint dropped",
	[RELAY_FATE_DROP] = "no debugger: dropped",
};

int relay_kd_data_type(uint32_t type)
{
	return type < KD_PACKET_TYPE_MAX && no_debugger_rules[type] != NODBG_INVALID;
}

const char *relay_fate_name(enum relay_fate fate)
{
	return (size_t)fate < sizeof(fate_names) / sizeof(fate_names[0]) ? fate_names[fate] : "?";
}

static int is_prompt(const uint8_t *kd, size_t len)
{
	uint32_t api;

	if (len < sizeof(api))
		return 0;
	memcpy(&api, kd, sizeof(api));
	return api == KD_API_GET_STRING;
}

/* ---- state ------------------------------------------------------------------------- */

/* Packets and break-ins the link has parsed from the debugger: proof it is alive. */
static uint64_t heard_count(const struct relay_vm *vm)
{
	const struct kd_parser_stats *ps = &vm->link.parser.stats;

	return ps->data_packets + ps->control_packets + ps->breakins;
}

/* The debugger said something: a silent one is back. */
static void heard(struct relay_vm *vm)
{
	if (vm->dbg != RELAY_DBG_SILENT)
		return;
	vm->dbg = RELAY_DBG_ATTACHED;
	relay_logf(vm->log, vm->now, vm->name, "debugger answers again; guest told DEBUGGER(1)");
	relay_guest_send_debugger(vm, 1);
}

static size_t drop_queue(struct relay_vm *vm)
{
	size_t n = relay_queue_clear(&vm->queue);

	vm->st.dropped_flushed += n;
	return n;
}

/* The link gave up on a packet: treat the debugger as gone until it speaks again. */
static void go_silent(struct relay_vm *vm)
{
	size_t n;

	if (vm->dbg != RELAY_DBG_ATTACHED)
		return;
	vm->dbg = RELAY_DBG_SILENT;
	vm->st.debugger_silences++;
	n = drop_queue(vm);
	relay_logf(vm->log, vm->now, vm->name,
		   "debugger does not acknowledge: packet given up, %zu queued dropped; "
		   "guest told DEBUGGER(0)", n);
	relay_guest_send_debugger(vm, 0);
}

/* ---- a request lost to a mid-stop device reset -------------------------------------- */

/* A delivered manipulate request the target answers is kept until its reply comes; one
 * without a reply (Continue, Continue2, Reboot, ...) lets the kernel run on. */
static void note_to_guest(struct relay_vm *vm, uint16_t type, const uint8_t *payload,
			  size_t len)
{
	uint32_t api;

	if (type != KD_PACKET_TYPE_STATE_MANIPULATE || len < sizeof(api) || len > KD_MAX_PAYLOAD)
		return;
	memcpy(&api, payload, sizeof(api));
	if (!kd_api_has_reply(api)) {
		vm->unanswered_len = 0;
		vm->guest_stopped = 0;
		return;
	}
	memcpy(vm->unanswered, payload, len);
	vm->unanswered_len = len;
	vm->unanswered_type = type;
	vm->unanswered_at = vm->now;
	vm->unanswered_reported = 0;
}

/* A stopped guest that does not answer a request (hung transport, a kernel that lost it)
 * is reported once per request: the debugger only sees its own timeout. */
static uint64_t answer_deadline(const struct relay_vm *vm)
{
	if (!vm->unanswered_len || vm->unanswered_reported || !vm->guest_stopped ||
	    vm->dbg != RELAY_DBG_ATTACHED)
		return KD_LINK_NO_DEADLINE;
	return vm->unanswered_at + RELAY_GUEST_ANSWER_US;
}

static void check_answer(struct relay_vm *vm)
{
	uint32_t num;
	const char *api;

	if (vm->now < answer_deadline(vm))
		return;
	memcpy(&num, vm->unanswered, sizeof(num));
	api = kd_api_name(num);
	vm->unanswered_reported = 1;
	vm->st.guest_unanswered++;
	relay_logf(vm->log, vm->now, vm->name, "guest has not answered the debugger's %s "
		   "request for %u s (guest %s): the debugger will time out; a guest that "
		   "restarts its transport gets it again", api ? api : "unknown",
		   RELAY_GUEST_ANSWER_US / 1000000u,
		   vm->guest_connected ? "connected" : "disconnected");
}

void relay_debugger_guest_packet(struct relay_vm *vm, uint16_t type, const uint8_t *kd,
				 size_t len)
{
	struct kd_debug_io io;
	const uint8_t *text;
	size_t text_len;

	switch (type) {
	case KD_PACKET_TYPE_STATE_CHANGE32:
	case KD_PACKET_TYPE_STATE_CHANGE64:
		vm->guest_stopped = 1;
		vm->unanswered_len = 0;
		break;
	case KD_PACKET_TYPE_STATE_MANIPULATE: /* the reply */
		vm->unanswered_len = 0;
		break;
	case KD_PACKET_TYPE_DEBUG_IO: /* a DbgPrint: the kernel runs */
		if (kd_api_parse_debug_io(kd, len, &io, &text, &text_len) == KD_API_OK &&
		    io.api_number == KD_API_PRINT_STRING)
			vm->guest_stopped = 0;
		break;
	default:
		break;
	}
}

void relay_debugger_guest_hello(struct relay_vm *vm)
{
	const char *api = NULL;
	uint32_t num;

	if (!vm->guest_stopped || !vm->unanswered_len || vm->dbg != RELAY_DBG_ATTACHED) {
		vm->unanswered_len = 0;
		if (!vm->guest_stopped || vm->dbg == RELAY_DBG_NONE)
			vm->guest_stopped = 0;
		return;
	}
	memcpy(&num, vm->unanswered, sizeof(num));
	api = kd_api_name(num);
	vm->st.requests_resent++;
	relay_logf(vm->log, vm->now, vm->name, "guest transport restarted while stopped: "
		   "%s request (%zu bytes) it had not answered sent again",
		   api ? api : "unknown", vm->unanswered_len);
	relay_guest_send_kd(vm, vm->unanswered_type, vm->unanswered, vm->unanswered_len);
}

/* ---- the link ---------------------------------------------------------------------- */

static void transmit(struct relay_vm *vm, uint16_t type, const uint8_t *kd, size_t len)
{
	if (kd_link_send(&vm->link, type, kd, len, NULL, 0, vm->now)) {
		vm->st.dropped_no_debugger++; /* validated before: cannot happen */
		return;
	}
	vm->st.kd_to_debugger++;
	vm->st.kd_to_debugger_bytes += len;
}

/* Stop-and-wait: the next queued packet goes out when the link is idle. */
static void pump(struct relay_vm *vm)
{
	const struct relay_packet *p;

	while (vm->dbg == RELAY_DBG_ATTACHED && !kd_link_busy(&vm->link) &&
	       (p = relay_queue_front(&vm->queue))) {
		transmit(vm, p->type, p->data, p->len);
		relay_queue_pop(&vm->queue);
	}
}

static void link_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct relay_vm *vm = opaque;

	if (vm->dbg == RELAY_DBG_NONE)
		return;
	if (vm->trace)
		relay_trace_kd_wire(vm->log, vm->now, vm->name, KD_TRACE_FROM_TARGET, buf, len);
	RELAY_TAP_DEBUGGER(vm, 1, buf, len);
	if (relay_buf_append(&vm->to_debugger, buf, len)) {
		vm->st.out_overflow++;
		return;
	}
	vm->st.debugger_tx_bytes += len;
}

static void link_deliver(void *opaque, uint16_t type, uint32_t id, const uint8_t *payload,
			 size_t len)
{
	struct relay_vm *vm = opaque;

	(void)id;
	heard(vm);
	if (!relay_kd_data_type(type)) {
		vm->st.debugger_bad_type++;
		relay_logf(vm->log, vm->now, vm->name,
			   "debugger sent a data packet of type %u: dropped", type);
		return;
	}
	if (relay_hostmem_from_debugger(vm, type, payload, len))
		return; /* answered from host RAM */
	vm->st.kd_to_guest++;
	vm->st.kd_to_guest_bytes += len;
	relay_guest_send_kd(vm, type, payload, len);
	note_to_guest(vm, type, payload, len);
}

/*
 * Asked before the link ACKs a new packet: an ACK tells the debugger the kernel has it, so
 * a packet with nowhere to go is left unacknowledged and the debugger sends it again after
 * its timeout (by then QEMU may be back). Packets of a non-data type are taken: they are a
 * debugger's error, dropped and counted by link_deliver.
 */
static int link_accept(void *opaque, uint16_t type, const uint8_t *payload, size_t len)
{
	struct relay_vm *vm = opaque;
	size_t inner = sizeof(struct vmkd_kd_packet) + len;
	const char *why = NULL;

	(void)payload;
	if (!relay_kd_data_type(type))
		return 1;
	if (!vm->guest_connected) {
		vm->st.unacked_no_guest++;
		why = "no guest connected";
	} else if (inner > vm->guest_max_payload) {
		vm->st.unacked_too_big++;
		why = "larger than the guest takes";
	} else if (relay_buf_pending(&vm->to_guest) + sizeof(struct vmkd_frame_header) + inner >
		   RELAY_BUF_MAX) {
		vm->st.unacked_full++;
		why = "the guest's output buffer is full";
	}
	if (!why)
		return 1;
	if (!vm->unacked_logged || vm->trace)
		relay_logf(vm->log, vm->now, vm->name,
			   "debugger packet (type %u, %zu bytes) not acknowledged: %s; the "
			   "debugger will send it again", type, len, why);
	vm->unacked_logged = 1;
	return 0;
}

static void link_send_done(void *opaque, enum kd_send_result result)
{
	struct relay_vm *vm = opaque;

	switch (result) {
	case KD_SEND_ACKED:
		vm->st.kd_acked++;
		break;
	case KD_SEND_GAVE_UP:
		vm->st.gave_up++;
		go_silent(vm);
		break;
	case KD_SEND_CANCELLED:
		break;
	}
	pump(vm);
}

static void link_breakin(void *opaque)
{
	struct relay_vm *vm = opaque;

	heard(vm);
	vm->st.breakins++;
	relay_guest_send_breakin(vm);
}

/* The link answered the debugger's RESET and renumbered. A packet in flight goes out
 * again; otherwise the guest must report its state again (KdPacketNeedsResend). */
static void link_reset(void *opaque)
{
	struct relay_vm *vm = opaque;

	heard(vm);
	vm->st.debugger_resets++;
	if (!kd_link_busy(&vm->link))
		relay_guest_send_resync(vm);
}

static const struct kd_link_ops link_ops = {
	.write = link_write,
	.deliver = link_deliver,
	.send_done = link_send_done,
	.breakin = link_breakin,
	.reset = link_reset,
	.accept = link_accept,
};

/* Starts the link afresh (next packet SYNC-flagged), keeping its counters and, for the
 * same debugger connection, its parser. What is queued stays queued for the new link. */
static void link_restart(struct relay_vm *vm, int keep_parser)
{
	struct kd_link_stats ls = vm->link.stats;
	struct kd_parser_stats ps = vm->link.parser.stats;
	struct kd_parser parser;
	size_t queued = vm->queue.count;

	if (keep_parser)
		parser = vm->link.parser;
	/* Cancelling pumps: the queue is held back meanwhile, or its front would go out on
	 * the old link and vanish with it. */
	vm->queue.count = 0;
	kd_link_cancel(&vm->link);
	vm->queue.count = queued;
	kd_link_init(&vm->link, KD_ROLE_TARGET, &vm->link_cfg, &link_ops, vm);
	vm->link.stats = ls;
	if (keep_parser)
		vm->link.parser = parser;
	else
		vm->link.parser.stats = ps;
}

void relay_debugger_init(struct relay_vm *vm)
{
	kd_link_init(&vm->link, KD_ROLE_TARGET, &vm->link_cfg, &link_ops, vm);
	kd_parser_init(&vm->trace_rx);
}

/* The guest said HELLO again (a reboot, or its device reset under it): the old stop and
 * replies waiting for the debugger can no longer be answered and go, but what the kernel
 * printed is still news (often its last lines before it went down): the DbgPrints not yet
 * sent stay, in order. The packet on the wire goes with the link (it may have arrived). */
static int queued_print(const struct relay_packet *p)
{
	return kd_api_is_print(p->type, p->data, p->len);
}

void relay_debugger_guest_restarted(struct relay_vm *vm)
{
	size_t in_flight = kd_link_busy(&vm->link), dropped;

	link_restart(vm, 1);
	dropped = relay_queue_keep(&vm->queue, queued_print);
	vm->st.dropped_flushed += in_flight + dropped;
	vm->st.prints_kept_across_hello += vm->queue.count;
	pump(vm);
}

/* ---- guest packets ----------------------------------------------------------------- */

enum relay_fate relay_debugger_fate(const struct relay_vm *vm, uint16_t type,
				    const uint8_t *kd, size_t len)
{
	if (vm->dbg == RELAY_DBG_ATTACHED)
		return kd_link_busy(&vm->link) || vm->queue.count ? RELAY_FATE_QUEUE
								   : RELAY_FATE_SEND;
	switch (type < KD_PACKET_TYPE_MAX ? no_debugger_rules[type] : NODBG_INVALID) {
	case NODBG_ANSWER:
		return RELAY_FATE_ANSWER;
	case NODBG_DEBUG_IO:
		return is_prompt(kd, len) ? RELAY_FATE_ANSWER : RELAY_FATE_DROP_PRINT;
	default:
		return RELAY_FATE_DROP;
	}
}

void relay_debugger_apply(struct relay_vm *vm, enum relay_fate fate, uint16_t type,
			  const uint8_t *kd, size_t len)
{
	switch (fate) {
	case RELAY_FATE_SEND:
		transmit(vm, type, kd, len);
		break;
	case RELAY_FATE_QUEUE:
		if (relay_queue_push(&vm->queue, type, kd, len)) {
			vm->st.dropped_queue_full++; /* the guest is not read while full */
			break;
		}
		vm->st.queued++;
		if (vm->queue.count > vm->st.queue_max)
			vm->st.queue_max = vm->queue.count;
		break;
	case RELAY_FATE_ANSWER:
		vm->st.answered_no_debugger++;
		relay_guest_send_debugger(vm, 0);
		break;
	case RELAY_FATE_DROP_PRINT:
		vm->st.dropped_prints++;
		break;
	case RELAY_FATE_DROP:
		vm->st.dropped_no_debugger++;
		break;
	}
}

/* ---- the relay's own notices ------------------------------------------------------------ */

/* A DbgPrint of the relay's own, queued behind what the guest already sent: KD has no
 * other way to tell every debugger that the VM went away (relay_notice.h). */
void relay_debugger_notice(struct relay_vm *vm, const char *event, const char *fmt, ...)
{
	char text[256];
	uint8_t payload[KD_MAX_PAYLOAD];
	struct kd_api_msg m;
	va_list ap;
	int n;
	size_t len;

	if (vm->dbg != RELAY_DBG_ATTACHED)
		return;
	n = snprintf(text, sizeof(text), RELAY_NOTICE_PREFIX "%s: ", event);
	va_start(ap, fmt);
	vsnprintf(text + n, sizeof(text) - (size_t)n, fmt, ap);
	va_end(ap);
	kd_api_build_print(&m, 0, text, strlen(text));
	memcpy(payload, &m.u, m.hdr_len);
	memcpy(payload + m.hdr_len, m.data, m.data_len);
	len = m.hdr_len + m.data_len;
	if (relay_queue_push(&vm->queue, m.type, payload, len)) {
		vm->st.notices_dropped++;
		return;
	}
	vm->st.notices++;
	pump(vm);
}

size_t relay_vm_refusal_notice(const struct relay_vm *vm, const char *listen, uint8_t *out,
			       size_t cap)
{
	char text[512];
	struct kd_api_msg m;
	size_t n;

	if (cap < 2 * KD_MAX_PACKET_BYTES)
		return 0;
	snprintf(text, sizeof(text), RELAY_NOTICE_PREFIX RELAY_NOTICE_REFUSED ": VM '%s' already "
		 "has a debugger attached on %s; this connection is closed (a relay started "
		 "with --takeover, or 'takeover' on the VM's config line, lets a new debugger "
		 "replace it)\n", vm->name, listen);
	kd_api_build_print(&m, 0, text, strlen(text));
	/* A fresh debugger expects the initial id; a SYNC-flagged one it would not show. */
	n = kd_control_build(out, KD_PACKET_TYPE_RESET, 0);
	n += kd_packet_build(out + n, cap - n, m.type, KD_INITIAL_PACKET_ID, &m.u, m.hdr_len,
			     m.data, m.data_len);
	return n;
}

/* ---- connections and input ------------------------------------------------------------ */

int relay_vm_debugger_connected(struct relay_vm *vm, uint64_t now)
{
	vm->now = now;
	if (vm->dbg != RELAY_DBG_NONE) {
		vm->st.debugger_refused++;
		return -1;
	}
	drop_queue(vm);
	link_restart(vm, 0);
	kd_parser_init(&vm->trace_rx);
	relay_buf_clear(&vm->to_debugger);
	vm->dbg = RELAY_DBG_ATTACHED;
	vm->dbg_fresh = 1;
	vm->dbg_rsp = 0;
	vm->gone_notified = 0;
	vm->dbg_heard = heard_count(vm);
	vm->st.debugger_connects++;
	RELAY_TAP_EVENT(vm, RECORD_EV_DEBUGGER_CONNECTED, NULL);
	relay_logf(vm->log, now, vm->name, "debugger connected; guest told DEBUGGER(1)");
	relay_guest_send_debugger(vm, 1);
	return 0;
}

void relay_vm_debugger_disconnected(struct relay_vm *vm, uint64_t now)
{
	enum relay_debugger_state was = vm->dbg;
	size_t dropped;

	vm->now = now;
	if (was == RELAY_DBG_NONE)
		return;
	vm->dbg = RELAY_DBG_NONE; /* first: cancelling must not pump */
	vm->unanswered_len = 0;   /* its asker is gone */
	vm->breakin_deferred = 0; /* so is the break-in it asked for before the HELLO */
	dropped = drop_queue(vm) + kd_link_busy(&vm->link);
	vm->st.dropped_flushed += kd_link_busy(&vm->link);
	kd_link_cancel(&vm->link);
	relay_buf_clear(&vm->to_debugger);
	vm->st.debugger_disconnects++;
	RELAY_TAP_EVENT(vm, RECORD_EV_DEBUGGER_DISCONNECTED, NULL);
	relay_logf(vm->log, now, vm->name, "debugger disconnected (%zu packets dropped)%s",
		   dropped, was == RELAY_DBG_ATTACHED ? "; guest told DEBUGGER(0)" : "");
	if (was == RELAY_DBG_ATTACHED)
		relay_guest_send_debugger(vm, 0);
}

static void trace_input(struct relay_vm *vm, const uint8_t *buf, size_t len)
{
	while (len) {
		struct kd_event ev;
		size_t used = kd_parser_feed(&vm->trace_rx, buf, len, &ev);

		relay_trace_kd_event(vm->log, vm->now, vm->name, KD_TRACE_TO_TARGET, &ev);
		if (!used && ev.kind == KD_EV_NONE)
			break;
		buf += used;
		len -= used;
	}
}

/*
 * Back-pressure by the worst case, as QEMU's chardev front-ends do with can_read: a
 * 16-byte control packet can make the link write a whole packet (a RESEND: the
 * retransmission; a RESET: its answer and the renumbered retransmission; an ACK: the next
 * queued packet), and a debugger packet can make one whole frame for the guest plus a
 * DEBUGGER or BREAKIN/RESYNC frame. Input is taken in steps of as many minimal packets as
 * both outputs have room for, so neither grows past RELAY_OUT_SOFT_CAP.
 */
#define DBG_WORST_ANSWER   (KD_HEADER_SIZE + KD_MAX_PACKET_BYTES)
#define GUEST_WORST_ANSWER (2u * VMKD_FRAME_MAX_BYTES)
#define DBG_MIN_PACKET     KD_HEADER_SIZE

static size_t answers_fit(const struct relay_buf *b, size_t worst)
{
	size_t pending = relay_buf_pending(b);

	return pending >= RELAY_OUT_SOFT_CAP ? 0 : (RELAY_OUT_SOFT_CAP - pending) / worst;
}

size_t relay_vm_debugger_budget(const struct relay_vm *vm)
{
	size_t to_dbg = answers_fit(&vm->to_debugger, DBG_WORST_ANSWER);
	size_t to_guest = answers_fit(&vm->to_guest, GUEST_WORST_ANSWER);

	if (vm->dbg == RELAY_DBG_NONE)
		return 0;
	return (to_dbg < to_guest ? to_dbg : to_guest) * DBG_MIN_PACKET;
}

/*
 * A GDB client pointed at the relay: its first byte is RSP's '+' or '$' (KD debuggers
 * start with 'b' or a packet leader, "0000" / "iiii"). Fed to KDCOM, every 'b' in its text
 * would break into the guest. Its input is discarded from now on, the guest runs on as
 * with no debugger, and the client gets one RSP error reply that says what to use.
 */
#define RSP_MESSAGE "E.vmkd relay: this is a KD (WinDbg protocol) endpoint, not a GDB stub; " \
	"connect GDB through 'vmkd gdb'"

static void rsp_client(struct relay_vm *vm)
{
	char reply[sizeof(RSP_MESSAGE) + 8];
	unsigned sum = 0;
	size_t dropped;

	vm->dbg_rsp = 1;
	vm->st.rsp_clients++;
	vm->dbg = RELAY_DBG_SILENT; /* no break-ins, packets for it dropped by the kdcom rules */
	dropped = drop_queue(vm) + kd_link_busy(&vm->link);
	vm->st.dropped_flushed += kd_link_busy(&vm->link);
	kd_link_cancel(&vm->link);
	relay_buf_clear(&vm->to_debugger);
	for (const char *c = RSP_MESSAGE; *c; c++)
		sum += (uint8_t)*c;
	snprintf(reply, sizeof(reply), "+$%s#%02x", RSP_MESSAGE, sum & 0xffu);
	if (relay_buf_append(&vm->to_debugger, reply, strlen(reply)))
		vm->st.out_overflow++;
	relay_logf(vm->log, vm->now, vm->name, "debugger speaks the GDB remote protocol: this "
		   "is a KD endpoint, use 'vmkd gdb' for GDB clients; its input is ignored "
		   "(%zu packets dropped), guest told DEBUGGER(0)", dropped);
	relay_guest_send_debugger(vm, 0);
}

size_t relay_vm_debugger_input(struct relay_vm *vm, const uint8_t *buf, size_t len,
			       uint64_t now)
{
	size_t done = 0;
	uint64_t n;

	vm->now = now;
	if (vm->dbg == RELAY_DBG_NONE)
		return len; /* nobody to answer: discarded */
	if (vm->dbg_fresh && len) {
		vm->dbg_fresh = 0;
		if (buf[0] == '+' || buf[0] == '$')
			rsp_client(vm);
	}
	if (vm->dbg_rsp) {
		vm->st.debugger_rx_bytes += len;
		return len;
	}
	while (done < len) {
		size_t step = relay_vm_debugger_budget(vm);

		if (!step)
			break;
		if (step > len - done)
			step = len - done;
		if (vm->trace)
			trace_input(vm, buf + done, step);
		RELAY_TAP_DEBUGGER(vm, 0, buf + done, step);
		kd_link_input(&vm->link, buf + done, step, now);
		done += step;
	}
	if (done < len) {
		vm->st.debugger_held++;
		vm->st.debugger_held_bytes += len - done;
	}
	vm->st.debugger_rx_bytes += done;
	n = heard_count(vm);
	if (n != vm->dbg_heard) {
		vm->dbg_heard = n;
		heard(vm);
	}
	return done;
}

int relay_vm_debugger_can_read(const struct relay_vm *vm)
{
	if (vm->dbg_rsp)
		return 1; /* discarded: never held back */
	return relay_vm_debugger_budget(vm) > 0;
}

void relay_vm_poll(struct relay_vm *vm, uint64_t now)
{
	vm->now = now;
	if (vm->dbg != RELAY_DBG_NONE)
		kd_link_poll(&vm->link, now);
	if (vm->tap)
		relay_tap_poll(vm->tap, now);
	check_answer(vm);
}

uint64_t relay_vm_deadline(const struct relay_vm *vm)
{
	uint64_t d = vm->dbg == RELAY_DBG_NONE ? KD_LINK_NO_DEADLINE : kd_link_deadline(&vm->link);
	uint64_t t = vm->tap ? relay_tap_deadline(vm->tap) : KD_LINK_NO_DEADLINE;
	uint64_t a = vm->dbg == RELAY_DBG_NONE ? KD_LINK_NO_DEADLINE : answer_deadline(vm);

	if (t < d)
		d = t;
	return a < d ? a : d;
}
