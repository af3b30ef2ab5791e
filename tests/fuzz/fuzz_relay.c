/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the relay's per-VM core: hostile bytes from both the guest and the
 * debugger, connections coming and going, time passing, peers that read slowly or never. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vmkd/kd_parser.h"
#include "vmkd/kd_wire.h"
#include "vmkd/vmkd_frame.h"

#include "../../host/relay/relay_vm.h"

/*
 * Input layout:
 *
 *   byte 0   S, the length of the script that follows
 *   S bytes  script: one opcode per byte, low 3 bits the operation, high 5 the argument
 *   rest     one byte stream both peers draw their input from, in script order
 *
 * Checked after every step: neither output buffer grows past the soft cap by more than the
 * worst-case answer to one input packet (RESEND amplification, issue #10), the hard cap is
 * never hit (out_overflow), the queue stays within its bound, and what the relay writes to
 * the debugger is well-formed KDCOM (no bad packets, no noise).
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond) do { if (!(cond)) __builtin_trap(); } while (0)

#define DBG_SLACK   (2u * KD_MAX_PACKET_BYTES + KD_HEADER_SIZE)
#define GUEST_SLACK (4u * VMKD_FRAME_MAX_BYTES)

enum op {
	OP_GUEST,     /* the guest's next chunk (QEMU's chardev) */
	OP_DEBUGGER,  /* the debugger's next chunk */
	OP_TIME,      /* time passes; timers run */
	OP_CONNECT,   /* arg bit 0: guest (0) or debugger (1); bit 1: connect (0) / leave (1) */
	OP_DRAIN_DBG, /* the debugger reads (arg: how much) */
	OP_DRAIN_GST, /* the guest reads */
	OP_STATS,     /* a stats request and the stats lines */
	OP_REFUSE,    /* a second debugger is refused: its notice is built */
};

struct harness {
	struct relay_vm *vm;
	struct kd_parser wire;  /* everything the relay wrote for the debugger */
	const uint8_t *stream;
	size_t left;
	uint64_t now;
};

static struct harness h;

static size_t take(size_t want, const uint8_t **p)
{
	size_t n = want < h.left ? want : h.left;

	*p = h.stream;
	h.stream += n;
	h.left -= n;
	return n;
}

/* The debugger reads n bytes of the relay's output; they must be clean KDCOM. */
static void drain_debugger(size_t n)
{
	struct relay_buf *b = &h.vm->to_debugger;
	const uint8_t *p = relay_buf_peek(b);

	if (n > relay_buf_pending(b))
		n = relay_buf_pending(b);
	/* A debugger whose first byte was RSP's gets one short RSP reply, not KDCOM. */
	if (h.vm->dbg_rsp) {
		check(relay_buf_pending(b) <= 256);
		relay_buf_consume(b, n);
		return;
	}
	for (size_t off = 0; off < n;) {
		struct kd_event ev;
		size_t used = kd_parser_feed(&h.wire, p + off, n - off, &ev);

		check(ev.kind != KD_EV_BAD_CHECKSUM && ev.kind != KD_EV_BAD_TRAILER &&
		      ev.kind != KD_EV_BAD_LENGTH && ev.kind != KD_EV_BREAKIN);
		if (!used && ev.kind == KD_EV_NONE)
			break;
		off += used;
	}
	relay_buf_consume(b, n);
}

static void drain_guest(size_t n)
{
	struct relay_buf *b = &h.vm->to_guest;

	relay_buf_consume(b, n < relay_buf_pending(b) ? n : relay_buf_pending(b));
}

static void feed_guest(size_t want)
{
	const uint8_t *p;
	size_t n;

	if (!relay_vm_guest_can_read(h.vm))
		return;
	n = take(want, &p);
	check(relay_vm_guest_input(h.vm, p, n, h.now) <= n);
}

static void feed_debugger(size_t want)
{
	const uint8_t *p;
	size_t n = take(want, &p), used;
	size_t budget = relay_vm_debugger_budget(h.vm);

	used = relay_vm_debugger_input(h.vm, p, n, h.now);
	check(used <= n);
	check(used >= (n < budget ? n : budget)); /* the documented minimum */
}

static void connections(unsigned arg)
{
	int debugger = arg & 1, leave = arg & 2;

	if (!debugger && !leave)
		relay_vm_guest_connected(h.vm, h.now);
	else if (!debugger)
		relay_vm_guest_disconnected(h.vm, h.now);
	else if (!leave) {
		if (relay_vm_debugger_connected(h.vm, h.now) == 0)
			kd_parser_init(&h.wire);
	} else {
		relay_vm_debugger_disconnected(h.vm, h.now);
		kd_parser_init(&h.wire);
	}
}

static void refuse(void)
{
	static uint8_t out[2 * KD_MAX_PACKET_BYTES];
	struct kd_parser p;
	struct kd_event ev;
	size_t n = relay_vm_refusal_notice(h.vm, "unix:/run/vmkd/x.sock", out, sizeof(out));
	size_t off = 0;
	int data = 0;

	check(n > KD_HEADER_SIZE && n <= sizeof(out));
	kd_parser_init(&p);
	while (off < n) {
		size_t used = kd_parser_feed(&p, out + off, n - off, &ev);

		data += ev.kind == KD_EV_DATA && ev.hdr.type == KD_PACKET_TYPE_DEBUG_IO;
		check(ev.kind == KD_EV_NONE || ev.kind == KD_EV_DATA || ev.kind == KD_EV_CONTROL);
		if (!used)
			break;
		off += used;
	}
	check(data == 1);
}

static void step(unsigned op, unsigned arg)
{
	char line[2048];

	switch (op) {
	case OP_GUEST:
		feed_guest((size_t)arg * 64u + 1u);
		break;
	case OP_DEBUGGER:
		feed_debugger((size_t)arg * 64u + 1u);
		break;
	case OP_TIME:
		h.now += (uint64_t)(arg + 1) * 100000u;
		relay_vm_poll(h.vm, h.now);
		break;
	case OP_CONNECT:
		connections(arg);
		break;
	case OP_DRAIN_DBG:
		drain_debugger(arg == 31 ? SIZE_MAX : (size_t)arg * 97u + 1u);
		break;
	case OP_DRAIN_GST:
		drain_guest(arg == 31 ? SIZE_MAX : (size_t)arg * 97u + 1u);
		break;
	case OP_STATS:
		/* The event loop asks every few seconds, never while the guest does not read. */
		if (relay_buf_pending(&h.vm->to_guest) < RELAY_OUT_SOFT_CAP)
			relay_vm_request_stats(h.vm, h.now);
		relay_vm_format_stats(h.vm, line, sizeof(line));
		relay_vm_format_guest_stats(h.vm, line, sizeof(line));
		break;
	case OP_REFUSE:
		refuse();
		break;
	}
	check(relay_buf_pending(&h.vm->to_debugger) <= RELAY_OUT_SOFT_CAP + DBG_SLACK);
	check(relay_buf_pending(&h.vm->to_guest) <= RELAY_OUT_SOFT_CAP + GUEST_SLACK);
	check(h.vm->queue.count <= RELAY_QUEUE_MAX + RELAY_NOTICE_SLOTS);
	check(h.vm->st.out_overflow == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t script_len;

	if (size < 1)
		return 0;
	script_len = data[0];
	if (script_len > size - 1)
		script_len = size - 1;
	memset(&h, 0, sizeof(h));
	h.vm = relay_vm_new("fuzz", NULL, NULL);
	if (!h.vm)
		return 0;
	kd_parser_init(&h.wire);
	h.now = 1000000;
	h.stream = data + 1 + script_len;
	h.left = size - 1 - script_len;
	relay_vm_guest_connected(h.vm, h.now);
	relay_vm_debugger_connected(h.vm, h.now);
	for (size_t i = 0; i < script_len; i++)
		step(data[1 + i] & 7u, data[1 + i] >> 3);
	/* What is left goes to both sides, as the loop would deliver it. */
	while (h.left) {
		size_t before = h.left;

		feed_debugger(h.left / 2 + 1);
		feed_guest(h.left);
		drain_debugger(SIZE_MAX);
		drain_guest(SIZE_MAX);
		if (h.left == before)
			break;
	}
	relay_vm_free(h.vm);
	return 0;
}
