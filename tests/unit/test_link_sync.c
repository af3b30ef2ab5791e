/* SPDX-License-Identifier: MIT */
/*
 * A target that answers every RESET with a RESET and a SYNC-flagged packet (an independent
 * fake target did this to `vmkd attach`, which then exchanged RESETs at wire speed and never
 * reached a prompt): the debugger-role link resets a bounded number of times, then takes the
 * packet. A well-behaved reboot (one SYNC packet after data) still gets its RESET.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmkd/kd_link.h"
#include "vmkd/kd_packet.h"
#include "vmkd/kd_parser.h"
#include "vmkd/kd_wire.h"

struct fx {
	struct kd_link dbg;
	uint8_t wire[1 << 16]; /* what the debugger wrote since the last look */
	size_t wire_len;
	size_t delivered;
};

static void on_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct fx *fx = opaque;

	assert_true(fx->wire_len + len <= sizeof(fx->wire));
	memcpy(fx->wire + fx->wire_len, buf, len);
	fx->wire_len += len;
}

static void on_deliver(void *opaque, uint16_t type, uint32_t id, const uint8_t *payload,
		       size_t len)
{
	struct fx *fx = opaque;

	(void)type, (void)id, (void)payload, (void)len;
	fx->delivered++;
}

static const struct kd_link_ops ops = { .write = on_write, .deliver = on_deliver };

/* RESETs among the bytes the debugger wrote since the last call (then forgotten). */
static size_t resets_written(struct fx *fx)
{
	struct kd_parser p;
	size_t off = 0, n = 0;

	kd_parser_init(&p);
	while (off < fx->wire_len) {
		struct kd_event ev;

		off += kd_parser_feed(&p, fx->wire + off, fx->wire_len - off, &ev);
		if (ev.kind == KD_EV_CONTROL && ev.hdr.type == KD_PACKET_TYPE_RESET)
			n++;
	}
	fx->wire_len = 0;
	return n;
}

static void target_says(struct fx *fx, int with_reset, uint32_t id, uint64_t now)
{
	static const uint8_t payload[64] = { 0x30, 0x30 };
	uint8_t buf[KD_HEADER_SIZE + KD_MAX_PACKET_BYTES];
	size_t n = 0;

	if (with_reset)
		n = kd_control_build(buf, KD_PACKET_TYPE_RESET, KD_INITIAL_PACKET_ID);
	n += kd_packet_build(buf + n, sizeof(buf) - n, KD_PACKET_TYPE_DEBUG_IO, id, payload,
			     sizeof(payload), NULL, 0);
	kd_link_input(&fx->dbg, buf, n, now);
}

static void sync_every_reset_converges(void **state)
{
	struct kd_link_config cfg;
	struct fx fx;
	uint64_t now = 1000000;
	size_t rounds = 0, resets;

	(void)state;
	memset(&fx, 0, sizeof(fx));
	kd_link_default_config(&cfg);
	kd_link_init(&fx.dbg, KD_ROLE_DEBUGGER, &cfg, &ops, &fx);
	kd_link_start_reset(&fx.dbg, now);
	resets = resets_written(&fx);
	assert_int_equal(resets, 1);
	while (!fx.delivered && rounds < 1000) {
		now += 1000;
		target_says(&fx, 1, KD_INITIAL_PACKET_ID | KD_SYNC_PACKET_ID, now);
		resets = resets_written(&fx);
		rounds++;
		assert_true(resets <= 1);
	}
	assert_int_equal(fx.delivered, 1);
	assert_true(rounds <= KD_LINK_MAX_SYNC_RESETS + 1);

	/* Later, the target reboots: its first packet (SYNC) gets a RESET again. */
	target_says(&fx, 0, KD_INITIAL_PACKET_ID | 1, now);
	assert_int_equal(fx.delivered, 2);
	fx.wire_len = 0;
	target_says(&fx, 0, KD_INITIAL_PACKET_ID | KD_SYNC_PACKET_ID, now + 1000);
	assert_int_equal(resets_written(&fx), 1);
	assert_int_equal(fx.delivered, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sync_every_reset_converges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
