/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the KD link layer: either role, scripted calls, hostile peer bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vmkd/kd_link.h"
#include "vmkd/kd_packet.h"
#include "vmkd/kd_parser.h"

/*
 * Input layout (shared with fuzz_parser's seeds: two prefix bytes, then wire bytes):
 *
 *   byte 0   config: bit 0 role (0 target, 1 debugger), bits 1-2 max_retries,
 *            bit 3 flush_on_reset, bits 4-5 debug_io_retries, bits 6-7 timeout scale
 *   byte 1   S, the length of the script that follows
 *   S bytes  script: one opcode per byte, low 3 bits the operation, high 5 the argument
 *   rest     the peer's byte stream, taken by INPUT operations
 *
 * When the script ends, what is left of the peer stream is fed at once and the timers run
 * a few rounds, so a seed that is just "00 00 <packets>" exercises the receive path.
 *
 * Checked: writes never exceed one packet and are well-formed KD traffic (no noise, no bad
 * packets, data ids 0x8080000x with at most the SYNC bit, control types ACK/RESEND/RESET);
 * deliveries are <= 4000 bytes and readable; send_done comes once per accepted send and
 * never otherwise; busy, deadline and kd_link_send's result agree with that bookkeeping.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond) do { if (!(cond)) __builtin_trap(); } while (0)

enum op {
	OP_INPUT,       /* feed the next chunk of the peer stream */
	OP_TIME,        /* let time pass, then poll */
	OP_DEADLINE,    /* jump to the link's deadline, then poll */
	OP_SEND,        /* kd_link_send */
	OP_RESET,       /* kd_link_start_reset */
	OP_BREAKIN,     /* kd_link_send_breakin */
	OP_CANCEL,      /* kd_link_cancel */
	OP_PEER,        /* a well-formed packet from a cooperating peer */
};

struct harness {
	struct kd_link link;
	struct kd_parser wire;     /* parses everything the link writes */
	uint64_t now;
	int outstanding;           /* an accepted send awaits its send_done */
	int in_cancel;
	uint64_t delivered;
	uint32_t last_tx_id;       /* id of the last data packet the link wrote */
	uint32_t last_rx_id;       /* id of the last data packet the peer sent */
	uint32_t sink;             /* keeps delivered bytes "used" */
};

static struct harness h;
static uint8_t pattern[2 * KD_MAX_PAYLOAD + 16];
static uint8_t pkt[KD_MAX_PACKET_BYTES];

static void check_written_event(const struct kd_event *ev)
{
	switch (ev->kind) {
	case KD_EV_NONE:
	case KD_EV_BREAKIN:
		break;
	case KD_EV_DATA:
		check((ev->hdr.id & ~(KD_SYNC_PACKET_ID | KD_PACKET_ID_TOGGLE)) ==
		      KD_INITIAL_PACKET_ID);
		h.last_tx_id = ev->hdr.id;
		break;
	case KD_EV_CONTROL:
		check(ev->hdr.type == KD_PACKET_TYPE_ACKNOWLEDGE ||
		      ev->hdr.type == KD_PACKET_TYPE_RESEND ||
		      ev->hdr.type == KD_PACKET_TYPE_RESET);
		break;
	default:
		check(0); /* the link wrote a malformed packet */
	}
}

static void on_write(void *opaque, const uint8_t *buf, size_t len)
{
	size_t off = 0;

	check(opaque == &h);
	check(len <= KD_MAX_PACKET_BYTES);
	check(buf != NULL || len == 0);
	while (off < len) {
		struct kd_event ev;
		size_t used = kd_parser_feed(&h.wire, buf + off, len - off, &ev);

		off += used;
		check_written_event(&ev);
	}
	check(h.wire.stats.garbage_bytes == 0);
}

static void on_deliver(void *opaque, uint16_t type, uint32_t id, const uint8_t *payload,
		       size_t len)
{
	(void)type;
	(void)id;
	check(opaque == &h);
	check(len <= KD_MAX_PAYLOAD);
	check(payload != NULL || len == 0);
	h.sink += kd_checksum(payload, len); /* ASan sees every byte read */
	h.delivered++;
}

static void on_send_done(void *opaque, enum kd_send_result result)
{
	check(opaque == &h);
	check(result == KD_SEND_ACKED || result == KD_SEND_GAVE_UP || result == KD_SEND_CANCELLED);
	check(h.outstanding);
	check(result != KD_SEND_CANCELLED || h.in_cancel);
	h.outstanding = 0;
}

static void on_breakin(void *opaque)
{
	check(opaque == &h);
}

static void on_reset(void *opaque)
{
	check(opaque == &h);
}

static const struct kd_link_ops ops = {
	.write = on_write,
	.deliver = on_deliver,
	.send_done = on_send_done,
	.breakin = on_breakin,
	.reset = on_reset,
};

/* After every call: the link's view of the outstanding send matches ours. */
static void check_consistent(void)
{
	const struct kd_link *l = &h.link;

	check(kd_link_busy(l) == h.outstanding);
	check(!h.outstanding || kd_link_deadline(l) != KD_LINK_NO_DEADLINE);
	check(l->stats.delivered == h.delivered);
	check(l->tx_len <= KD_MAX_PAYLOAD);
}

static void link_input(const uint8_t *buf, size_t len)
{
	h.now++;
	kd_link_input(&h.link, buf, len, h.now);
	check_consistent();
}

static void link_poll(void)
{
	kd_link_poll(&h.link, h.now);
	check_consistent();
}

static void do_send(unsigned arg)
{
	static const uint16_t types[8] = {
		KD_PACKET_TYPE_STATE_MANIPULATE, KD_PACKET_TYPE_DEBUG_IO,
		KD_PACKET_TYPE_STATE_CHANGE64, KD_PACKET_TYPE_FILE_IO, KD_PACKET_TYPE_TRACE_IO,
		KD_PACKET_TYPE_CONTROL_REQUEST, KD_PACKET_TYPE_UNUSED, 0xffff,
	};
	static const size_t sizes[4] = { 0, 0x38, KD_MAX_PAYLOAD, KD_MAX_PAYLOAD + 1 };
	size_t total = sizes[arg >> 3];
	size_t hdr_len = total < 0x38 ? total : 0x38;
	int was_busy = kd_link_busy(&h.link);
	int ret;

	/* Header and data in separate buffers, as callers build them. */
	ret = kd_link_send(&h.link, types[arg & 7], pattern, hdr_len,
			   total > hdr_len ? pattern + KD_MAX_PAYLOAD : NULL, total - hdr_len,
			   h.now);
	if (was_busy)
		check(ret == -1 || (ret == -2 && total > KD_MAX_PAYLOAD));
	else if (total > KD_MAX_PAYLOAD)
		check(ret == -2);
	else
		check(ret == 0);
	if (ret == 0)
		h.outstanding = 1;
	check_consistent();
}

/* A packet a well-behaved peer could send, so deep states are reached without luck. */
static void do_peer(unsigned arg)
{
	size_t n;

	switch (arg) {
	case 0: /* ACK of what we sent, the way the kernel wants it (SYNC bit cleared) */
		n = kd_control_build(pkt, KD_PACKET_TYPE_ACKNOWLEDGE,
				     h.last_tx_id & ~KD_SYNC_PACKET_ID);
		break;
	case 1: /* ACK with the id exactly as written */
		n = kd_control_build(pkt, KD_PACKET_TYPE_ACKNOWLEDGE, h.last_tx_id);
		break;
	case 2: /* ACK of something else */
		n = kd_control_build(pkt, KD_PACKET_TYPE_ACKNOWLEDGE, h.last_tx_id ^ 1);
		break;
	case 3:
		n = kd_control_build(pkt, KD_PACKET_TYPE_RESEND, 0);
		break;
	case 4:
		n = kd_control_build(pkt, KD_PACKET_TYPE_RESET, 0);
		break;
	case 5: /* a control type the link does not know */
		n = kd_control_build(pkt, KD_PACKET_TYPE_STATE_MANIPULATE, 0);
		break;
	case 6:
		pkt[0] = KD_BREAKIN_BYTE;
		n = 1;
		break;
	case 7: /* the peer repeats its last data packet */
		n = kd_packet_build(pkt, sizeof(pkt), KD_PACKET_TYPE_STATE_MANIPULATE,
				    h.last_rx_id, pattern, 0x38, NULL, 0);
		break;
	case 8: /* the same with a bad checksum */
		n = kd_packet_build(pkt, sizeof(pkt), KD_PACKET_TYPE_STATE_MANIPULATE,
				    h.last_rx_id, pattern, 0x38, NULL, 0);
		pkt[KD_HEADER_SIZE] ^= 1;
		break;
	default: { /* 9..31: data packets with every id flavour, type and a few sizes */
		static const uint16_t types[4] = {
			KD_PACKET_TYPE_STATE_MANIPULATE, KD_PACKET_TYPE_DEBUG_IO,
			KD_PACKET_TYPE_STATE_CHANGE64, KD_PACKET_TYPE_FILE_IO,
		};
		static const size_t sizes[3] = { 0x38, 0, KD_MAX_PAYLOAD };
		uint32_t id = KD_INITIAL_PACKET_ID | (arg & 1u);

		if (arg & 2)
			id |= KD_SYNC_PACKET_ID;
		n = kd_packet_build(pkt, sizeof(pkt), types[(arg >> 2) & 3], id,
				    pattern + arg, sizes[arg % 3], NULL, 0);
		h.last_rx_id = id;
		break;
	}
	}
	check(n > 0);
	link_input(pkt, n);
}

static size_t chunk_len(unsigned arg, size_t left)
{
	static const size_t sizes[32] = {
		1, 2, 3, 4, 5, 7, 8, 11, 15, 16, 17, 20, 31, 32, 33, 57,
		64, 73, 100, 128, 200, 256, 512, 1000, 1024, 2000, 4016, 4017, 4096, 8192,
		16384, SIZE_MAX,
	};

	return sizes[arg] < left ? sizes[arg] : left;
}

static void config_from(uint8_t b, struct kd_link_config *cfg)
{
	kd_link_default_config(cfg);
	cfg->max_retries = (b >> 1) & 3;
	cfg->flush_on_reset = (b >> 3) & 1;
	cfg->debug_io_retries = (b >> 4) & 3;
	/* Short, varied timers so timeouts happen within a run. */
	cfg->ack_timeout = 1000u << (2 * (b >> 6));
	cfg->reset_interval = cfg->ack_timeout * 3;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kd_link_config cfg;
	const uint8_t *script, *peer;
	size_t script_len, peer_len;

	if (size < 2)
		return 0;
	if (!pattern[1]) {
		for (size_t i = 0; i < sizeof(pattern); i++)
			pattern[i] = (uint8_t)(i * 13 + 1);
	}
	script_len = data[1] < size - 2 ? data[1] : size - 2;
	script = data + 2;
	peer = script + script_len;
	peer_len = size - 2 - script_len;

	memset(&h, 0, sizeof(h));
	h.now = 1;
	h.last_tx_id = KD_INITIAL_PACKET_ID;
	h.last_rx_id = KD_INITIAL_PACKET_ID;
	kd_parser_init(&h.wire);
	config_from(data[0], &cfg);
	kd_link_init(&h.link, (data[0] & 1) ? KD_ROLE_DEBUGGER : KD_ROLE_TARGET, &cfg, &ops, &h);
	check_consistent();

	for (size_t i = 0; i < script_len; i++) {
		unsigned op = script[i] & 7, arg = script[i] >> 3;

		switch (op) {
		case OP_INPUT: {
			size_t n = chunk_len(arg, peer_len);

			link_input(peer, n);
			peer += n;
			peer_len -= n;
			break;
		}
		case OP_TIME:
			h.now += (uint64_t)arg * (cfg.ack_timeout / 8) + 1;
			link_poll();
			break;
		case OP_DEADLINE: {
			uint64_t d = kd_link_deadline(&h.link);

			if (d != KD_LINK_NO_DEADLINE && d > h.now)
				h.now = d;
			link_poll();
			break;
		}
		case OP_SEND:
			do_send(arg);
			break;
		case OP_RESET:
			kd_link_start_reset(&h.link, h.now);
			check_consistent();
			break;
		case OP_BREAKIN:
			/* The header defines break-in sending for the debugger only. */
			if (h.link.role == KD_ROLE_DEBUGGER)
				kd_link_send_breakin(&h.link);
			check_consistent();
			break;
		case OP_CANCEL:
			h.in_cancel = 1;
			kd_link_cancel(&h.link);
			h.in_cancel = 0;
			check(!kd_link_busy(&h.link));
			check(!h.outstanding);
			check_consistent();
			break;
		case OP_PEER:
			do_peer(arg);
			break;
		}
	}

	link_input(peer, peer_len);
	for (int round = 0; round < 4; round++) {
		uint64_t d = kd_link_deadline(&h.link);

		if (d == KD_LINK_NO_DEADLINE)
			break;
		if (d > h.now)
			h.now = d;
		link_poll();
	}
	return 0;
}
