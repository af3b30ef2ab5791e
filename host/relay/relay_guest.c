/* SPDX-License-Identifier: MIT */
/* The guest link: frames from QEMU's chardev checked and dispatched, frames for it built. */
#include <string.h>

#include "vmkd/kd_api.h"

#include "../common/relay_notice.h"
#include "relay_hostmem.h"
#include "relay_tap.h"
#include "relay_vm_int.h"

/* Rejections are logged up to this many per VM (all of them with --trace), then counted. */
#define REJECT_LOG_MAX 10u

/* ---- frames to the guest ------------------------------------------------------------- */

void relay_guest_send(struct relay_vm *vm, uint8_t type, const void *part1, size_t len1,
		      const void *part2, size_t len2)
{
	uint8_t frame[VMKD_FRAME_MAX_BYTES];
	struct vmkd_frame_header hdr;
	size_t n;

	if (!vm->guest_connected) {
		vm->st.dropped_no_guest++;
		return;
	}
	if (len1 + len2 > vm->guest_max_payload) {
		vm->st.dropped_too_big++;
		return;
	}
	n = vmkd_frame_build(frame, sizeof(frame), type, vm->tx_seq, part1, len1, part2, len2);
	if (!n) {
		vm->st.dropped_too_big++;
		return;
	}
	if (relay_buf_append(&vm->to_guest, frame, n)) {
		vm->st.out_overflow++;
		return;
	}
	if (vm->trace) {
		memset(&hdr, 0, sizeof(hdr));
		hdr.type = type;
		hdr.seq = vm->tx_seq;
		hdr.length = (uint32_t)(len1 + len2);
		relay_trace_frame(vm->log, vm->now, vm->name, KD_TRACE_TO_TARGET, &hdr,
				  frame + sizeof(hdr), len1 + len2, NULL);
	}
	vm->tx_seq++;
	vm->st.guest_frames_tx++;
	vm->st.guest_tx_bytes += n;
}

void relay_guest_send_kd(struct relay_vm *vm, uint16_t type, const uint8_t *payload, size_t len)
{
	struct vmkd_kd_packet kp;

	RELAY_TAP_GUEST_KD(vm, 1, type, payload, len);
	memset(&kp, 0, sizeof(kp));
	kp.packet_type = type;
	kp.length = (uint32_t)len;
	relay_guest_send(vm, VMKD_FRAME_KD_PACKET, &kp, sizeof(kp), payload, len);
}

void relay_guest_send_debugger(struct relay_vm *vm, int attached)
{
	struct vmkd_debugger_state ds;

	memset(&ds, 0, sizeof(ds));
	ds.attached = attached ? 1 : 0;
	relay_guest_send(vm, VMKD_FRAME_DEBUGGER, &ds, sizeof(ds), NULL, 0);
}

/* A BREAKIN or RESYNC sent recently that the guest has not answered with a KD packet. */
static int pending(const struct relay_vm *vm, int sent, uint64_t at)
{
	return sent && vm->now >= at && vm->now - at < RELAY_COALESCE_US;
}

/*
 * Until the guest's HELLO on this chardev connection nothing reads what the relay writes:
 * QEMU keeps it until kdvm.dll opens the port and hands it over after the DLL's HELLO, when
 * it describes nothing current. A RESYNC then makes the kernel report the stop it is about
 * to report a second time, and the debugger answers both reports, so every later stop takes
 * the previous one's answer (a stale Continue resumes the breakpoint the debugger is
 * inspecting). A break-in is still wanted (attach -b before boot): it goes after the HELLO.
 */
void relay_guest_send_breakin(struct relay_vm *vm)
{
	if (vm->guest_connected && !vm->guest_hello) {
		vm->st.breakins_deferred += !vm->breakin_deferred;
		vm->breakin_deferred = 1;
		return;
	}
	if (pending(vm, vm->breakin_sent, vm->breakin_at)) {
		vm->st.breakins_coalesced++;
		return;
	}
	relay_guest_send(vm, VMKD_FRAME_BREAKIN, NULL, 0, NULL, 0);
	vm->breakin_sent = vm->guest_connected;
	vm->breakin_at = vm->now;
}

/* A BREAKIN the guest has not answered yet makes it report anyway, halted or not (kdcom:
 * a break-in to a halted kernel repeats its state change), so a RESYNC then would only
 * make it report twice: 'b' + RESET is how r2, `vmkd attach -b` and windbg -b connect. */
void relay_guest_send_resync(struct relay_vm *vm)
{
	if (vm->guest_connected && !vm->guest_hello) {
		/* Its first report after the HELLO is news to the debugger anyway (above). */
		vm->st.resyncs_before_hello++;
		return;
	}
	if (pending(vm, vm->resync_sent, vm->resync_at) ||
	    pending(vm, vm->breakin_sent, vm->breakin_at)) {
		vm->st.resyncs_coalesced++;
		return;
	}
	vm->st.resyncs++;
	relay_guest_send(vm, VMKD_FRAME_RESYNC, NULL, 0, NULL, 0);
	vm->resync_sent = vm->guest_connected;
	vm->resync_at = vm->now;
}

void relay_vm_request_stats(struct relay_vm *vm, uint64_t now)
{
	vm->now = now;
	if (!vm->guest_connected)
		return;
	vm->st.stats_requests++;
	relay_guest_send(vm, VMKD_FRAME_STATS_REQUEST, NULL, 0, NULL, 0);
}

/* ---- frames from the guest ----------------------------------------------------------- */

static void reject(struct relay_vm *vm, uint64_t *counter, const struct vmkd_frame *f,
		   const char *why)
{
	(*counter)++;
	vm->st.frames_rejected++;
	if (!vm->trace && vm->st.frames_rejected > REJECT_LOG_MAX)
		return;
	relay_logf(vm->log, vm->now, vm->name, "guest frame rejected: %s seq=%u len=%u: %s%s",
		   relay_frame_type_name(f->hdr.type), f->hdr.seq, f->hdr.length, why,
		   !vm->trace && vm->st.frames_rejected == REJECT_LOG_MAX ?
		   " (further rejections are only counted)" : "");
}

/* Printable ASCII up to the first NUL; anything else becomes '?'. */
static void copy_agent(char *dst, const char *src, size_t n)
{
	size_t i;

	for (i = 0; i < n && src[i]; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

/* Only with a DbgPrint log: without one, prints sent with no debugger would be dropped
 * here instead of in the guest, for nothing. */
static int keeps_prints(const struct relay_vm *vm)
{
	return vm->tap && vm->tap->dbglog;
}

static void send_hello_ack(struct relay_vm *vm)
{
	struct vmkd_hello ack;

	memset(&ack, 0, sizeof(ack));
	ack.capabilities = VMKD_CAP_KD_PACKETS | VMKD_CAP_STATS;
	if (keeps_prints(vm))
		ack.capabilities |= VMKD_CAP_HOST_LOG;
	ack.max_payload = VMKD_FRAME_MAX_PAYLOAD;
	ack.debugger = relay_vm_debugger_attached(vm);
	memcpy(ack.agent, RELAY_AGENT, sizeof(RELAY_AGENT) - 1);
	relay_guest_send(vm, VMKD_FRAME_HELLO_ACK, &ack, sizeof(ack), NULL, 0);
}

static void on_hello(struct relay_vm *vm, const struct vmkd_frame *f)
{
	struct vmkd_hello h;

	if (f->payload_len < sizeof(h)) {
		reject(vm, &vm->st.bad_hello, f, "shorter than struct vmkd_hello");
		return;
	}
	memcpy(&h, f->payload, sizeof(h));
	vm->guest_caps = h.capabilities;
	/* The relay never sends more than one KD packet a frame, so only a floor matters: a
	 * guest that cannot take a whole KD packet could not be debugged at all. */
	vm->guest_max_payload = VMKD_FRAME_MAX_PAYLOAD;
	if (h.max_payload < RELAY_MIN_GUEST_PAYLOAD) {
		vm->st.bad_max_payload++;
		relay_logf(vm->log, vm->now, vm->name,
			   "guest HELLO max payload %u is below one KD packet (%zu bytes): using %u",
			   h.max_payload, (size_t)RELAY_MIN_GUEST_PAYLOAD, vm->guest_max_payload);
	}
	copy_agent(vm->guest_agent, h.agent, sizeof(h.agent));
	vm->st.hellos++;
	vm->guest_machine = 0;
	vm->breakin_sent = 0;
	vm->resync_sent = 0;
	relay_debugger_guest_restarted(vm);
	RELAY_TAP_EVENT(vm, RECORD_EV_GUEST_HELLO, vm->guest_agent);
	relay_logf(vm->log, vm->now, vm->name,
		   "guest HELLO from \"%s\" (capabilities %#x, max payload %u): debugger link "
		   "renumbered, HELLO_ACK with debugger %s%s", vm->guest_agent, vm->guest_caps,
		   vm->guest_max_payload, relay_vm_debugger_attached(vm) ? "attached" : "absent",
		   keeps_prints(vm) ? ", DbgPrints kept in the log without one" : "");
	send_hello_ack(vm);
	vm->guest_hello = 1;
	relay_debugger_guest_hello(vm);
	if (vm->breakin_deferred) {
		vm->breakin_deferred = 0;
		if (relay_vm_debugger_attached(vm))
			relay_guest_send_breakin(vm);
	}
}

/* The start-up hints assume an x86-64 guest (kdvm.dll is x64-only); the first GetVersion
 * reply of each boot says what the kernel really is, and the log says if that differs. */
static void learn_machine(struct relay_vm *vm, uint16_t type, const uint8_t *kd, size_t len)
{
	struct kd_get_version64 ver;

	if (type != KD_PACKET_TYPE_STATE_MANIPULATE || vm->guest_machine ||
	    kd_api_parse_version(kd, len, &ver) != KD_API_OK || !ver.machine_type)
		return;
	vm->guest_machine = ver.machine_type;
	if (ver.machine_type == KD_MACHINE_AMD64)
		relay_logf(vm->log, vm->now, vm->name, "guest machine x86-64 (%#x)",
			   ver.machine_type);
	else if (ver.machine_type == KD_MACHINE_I386)
		relay_logf(vm->log, vm->now, vm->name, "guest machine x86 (%#x): radare2 needs "
			   "-b 32, not the -b 64 of the start-up hints", ver.machine_type);
	else
		relay_logf(vm->log, vm->now, vm->name, "guest machine type %#x: not x86-64, the "
			   "start-up hints do not fit it", ver.machine_type);
}

/*
 * A DbgPrint that has to wait for the debugger link is appended to the newest waiting
 * DbgPrint of the same processor when the joined text fits one packet. KDCOM is
 * stop-and-wait (one ACK per packet), so a guest printing faster than the debugger
 * acknowledges would otherwise pay a debugger round trip per line; joined, the debugger
 * shows the same text, in the same order, once. Returns 1 if joined.
 */
static int join_print(struct relay_vm *vm, uint16_t type, const uint8_t *kd, size_t len)
{
	struct relay_packet *last = relay_queue_back(&vm->queue);
	struct kd_debug_io io, last_io;
	const uint8_t *text, *last_text;
	size_t text_len, last_len;

	if (type != KD_PACKET_TYPE_DEBUG_IO || !last || last->type != KD_PACKET_TYPE_DEBUG_IO ||
	    kd_api_parse_debug_io(kd, len, &io, &text, &text_len) != KD_API_OK ||
	    kd_api_parse_debug_io(last->data, last->len, &last_io, &last_text, &last_len) !=
	    KD_API_OK)
		return 0;
	/* Both plain prints of one processor, the queued one exactly header + text and not
	 * one of the relay's own notices (clients recognise those by their whole text). */
	if (io.api_number != KD_API_PRINT_STRING || last_io.api_number != KD_API_PRINT_STRING ||
	    (last_len >= sizeof(RELAY_NOTICE_PREFIX) - 1 &&
	     !memcmp(last_text, RELAY_NOTICE_PREFIX, sizeof(RELAY_NOTICE_PREFIX) - 1)) ||
	    io.processor != last_io.processor || io.processor_level != last_io.processor_level ||
	    last->len != sizeof(last_io) + last_len ||
	    (size_t)last->len + text_len > KD_MAX_PAYLOAD)
		return 0;
	memcpy(last->data + last->len, text, text_len);
	last_io.length_of_string = (uint32_t)(last_len + text_len);
	memcpy(last->data, &last_io, sizeof(last_io));
	last->len = (uint16_t)(last->len + text_len);
	vm->st.prints_joined++;
	return 1;
}

static void on_kd_packet(struct relay_vm *vm, const struct vmkd_frame *f)
{
	enum relay_fate fate;
	const uint8_t *kd;
	uint16_t type;
	size_t len;

	if (vmkd_frame_parse_kd(f->payload, f->payload_len, &type, &kd, &len)) {
		reject(vm, &vm->st.bad_kd_length, f, "KD length disagrees with the frame length");
		return;
	}
	if (!relay_kd_data_type(type)) {
		reject(vm, &vm->st.bad_kd_type, f, "not a KD data packet type");
		return;
	}
	vm->st.kd_from_guest++;
	learn_machine(vm, type, kd, len);
	RELAY_TAP_GUEST_KD(vm, 0, type, kd, len);
	/* The guest spoke: a BREAKIN or RESYNC it had is being answered. */
	vm->breakin_sent = 0;
	vm->resync_sent = 0;
	if (relay_hostmem_from_guest(vm, type, kd, len))
		return; /* the reply to the host path's own request */
	relay_debugger_guest_packet(vm, type, kd, len);
	fate = relay_debugger_fate(vm, type, kd, len);
	if (fate == RELAY_FATE_QUEUE && join_print(vm, type, kd, len)) {
		if (vm->trace)
			relay_trace_frame(vm->log, vm->now, vm->name, KD_TRACE_FROM_TARGET, &f->hdr,
					  f->payload, f->payload_len, "joined to the waiting DbgPrint");
		return;
	}
	if (vm->trace)
		relay_trace_frame(vm->log, vm->now, vm->name, KD_TRACE_FROM_TARGET, &f->hdr,
				  f->payload, f->payload_len, relay_fate_name(fate));
	relay_debugger_apply(vm, fate, type, kd, len);
}

static void on_stats(struct relay_vm *vm, const struct vmkd_frame *f)
{
	char line[512];

	if (f->payload_len < sizeof(vm->guest_stats)) {
		reject(vm, &vm->st.bad_stats, f, "shorter than struct vmkd_guest_stats");
		return;
	}
	memcpy(&vm->guest_stats, f->payload, sizeof(vm->guest_stats));
	vm->have_guest_stats = 1;
	vm->st.guest_stats_frames++;
	relay_vm_format_guest_stats(vm, line, sizeof(line));
	relay_logf(vm->log, vm->now, vm->name, "%s", line);
}

static void on_unexpected(struct relay_vm *vm, const struct vmkd_frame *f)
{
	reject(vm, &vm->st.unexpected_frames, f, "only the host sends this frame type");
}

typedef void frame_handler(struct relay_vm *vm, const struct vmkd_frame *f);

/* The frame parser lets through only types 1 .. VMKD_FRAME_TYPE_MAX - 1. */
static frame_handler *const frame_handlers[VMKD_FRAME_TYPE_MAX] = {
	[VMKD_FRAME_HELLO] = on_hello,
	[VMKD_FRAME_HELLO_ACK] = on_unexpected,
	[VMKD_FRAME_KD_PACKET] = on_kd_packet,
	[VMKD_FRAME_BREAKIN] = on_unexpected,
	[VMKD_FRAME_RESYNC] = on_unexpected,
	[VMKD_FRAME_DEBUGGER] = on_unexpected,
	[VMKD_FRAME_STATS] = on_stats,
	[VMKD_FRAME_STATS_REQUEST] = on_unexpected,
};

/* The guest numbers its frames; a gap means frames were lost or rejected on the way. */
static void check_seq(struct relay_vm *vm, const struct vmkd_frame_header *hdr)
{
	if (hdr->type != VMKD_FRAME_HELLO && vm->rx_seq_known && hdr->seq != vm->rx_seq_next)
		vm->st.seq_gaps++;
	vm->rx_seq_next = hdr->seq + 1;
	vm->rx_seq_known = 1;
}

static void on_frame(struct relay_vm *vm, const struct vmkd_frame *f)
{
	frame_handler *handle = f->hdr.type < VMKD_FRAME_TYPE_MAX ? frame_handlers[f->hdr.type]
								  : NULL;

	vm->st.guest_frames_rx++;
	check_seq(vm, &f->hdr);
	if (vm->trace && f->hdr.type != VMKD_FRAME_KD_PACKET)
		relay_trace_frame(vm->log, vm->now, vm->name, KD_TRACE_FROM_TARGET, &f->hdr,
				  f->payload, f->payload_len, NULL);
	if (!handle)
		handle = on_unexpected;
	handle(vm, f);
}

/* ---- the connection ---------------------------------------------------------------- */

/* A fresh frame parser for a new connection; its counters carry on. */
static void parser_restart(struct relay_vm *vm)
{
	struct vmkd_frame_parser_stats ps = vm->parser.stats;

	vmkd_frame_parser_init(&vm->parser);
	vm->parser.stats = ps;
}

void relay_vm_guest_connected(struct relay_vm *vm, uint64_t now)
{
	vm->now = now;
	parser_restart(vm);
	relay_buf_clear(&vm->to_guest);
	vm->guest_connected = 1;
	vm->guest_hello = 0;
	vm->breakin_deferred = 0;
	vm->tx_seq = 0;
	vm->rx_seq_known = 0;
	vm->breakin_sent = 0;
	vm->resync_sent = 0;
	vm->guest_max_payload = VMKD_FRAME_MAX_PAYLOAD;
	vm->unacked_logged = 0;
	vm->st.guest_connects++;
	RELAY_TAP_EVENT(vm, RECORD_EV_GUEST_CONNECTED, NULL);
	relay_logf(vm->log, now, vm->name, "guest chardev connected; guest told DEBUGGER(%d)",
		   relay_vm_debugger_attached(vm));
	relay_guest_send_debugger(vm, relay_vm_debugger_attached(vm));
	if (vm->gone_notified)
		relay_debugger_notice(vm, RELAY_NOTICE_GUEST_BACK, "VM '%s' is back on the relay "
				      "(QEMU reconnected its chardev)\n", vm->name);
	vm->gone_notified = 0;
}

void relay_vm_guest_disconnected(struct relay_vm *vm, uint64_t now)
{
	vm->now = now;
	if (!vm->guest_connected)
		return;
	vm->guest_connected = 0;
	vm->guest_hello = 0;
	vm->breakin_deferred = 0;
	parser_restart(vm);
	relay_buf_clear(&vm->to_guest);
	vm->guest_agent[0] = '\0';
	vm->guest_stopped = 0; /* QEMU went: what comes back boots */
	vm->unanswered_len = 0;
	vm->st.guest_disconnects++;
	RELAY_TAP_EVENT(vm, RECORD_EV_GUEST_DISCONNECTED, NULL);
	relay_logf(vm->log, now, vm->name, "guest chardev disconnected (QEMU stopped?)%s",
		   relay_vm_debugger_attached(vm) ? "; debugger told" : "");
	if (relay_vm_debugger_attached(vm)) {
		relay_debugger_notice(vm, RELAY_NOTICE_GUEST_GONE, "VM '%s' left the relay (QEMU "
				      "closed its chardev)\n", vm->name);
		vm->gone_notified = 1;
	}
}

int relay_vm_guest_can_read(const struct relay_vm *vm)
{
	return vm->guest_connected && vm->queue.count < RELAY_QUEUE_MAX &&
	       relay_buf_pending(&vm->to_guest) < RELAY_OUT_SOFT_CAP &&
	       relay_buf_pending(&vm->to_debugger) < RELAY_OUT_SOFT_CAP;
}

size_t relay_vm_guest_input(struct relay_vm *vm, const uint8_t *buf, size_t len, uint64_t now)
{
	size_t done = 0;

	vm->now = now;
	if (!vm->guest_connected)
		return len;
	while (done < len) {
		struct vmkd_frame f;
		size_t used;

		/* Checked before every frame: one more KD packet must fit the queue. */
		if (!relay_vm_guest_can_read(vm)) {
			vm->st.guest_stalls++;
			break;
		}
		used = vmkd_frame_parser_feed(&vm->parser, buf + done, len - done, &f);
		done += used;
		if (f.complete)
			on_frame(vm, &f);
		else if (!used)
			break;
	}
	vm->st.guest_rx_bytes += done;
	return done;
}
