/* SPDX-License-Identifier: MIT */
/*
 * Debugger-role link against SYNC-flagged packets (issue #14). A target that answers every
 * RESET with a RESET and a SYNC-flagged packet (an independent fake target did this to
 * `vmkd attach`, which then exchanged RESETs at wire speed and never reached a prompt):
 * the packet right after the target's RESET is taken, so one RESET is enough, however the
 * bytes are split. The cases where SYNC still asks for a RESET keep it: a target that
 * reboots mid-session, a SYNC packet crossing our RESET, a boot-attach whose first RESET
 * was lost. A repeat of a taken SYNC packet is a duplicate, and one the owner refused
 * stays "first" for its next copy.
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

#define SYNC_ID  (KD_INITIAL_PACKET_ID | KD_SYNC_PACKET_ID)
#define ID0      KD_INITIAL_PACKET_ID
#define ID1      (KD_INITIAL_PACKET_ID | KD_PACKET_ID_TOGGLE)
#define INTERVAL 1000000u /* RESET repeat, us (the default) */
#define T0       5000000u

/* What the debugger link wrote since the last look, parsed. */
struct wire {
	size_t resets;
	size_t acks;
	uint32_t last_ack_id;
	size_t data;
};

struct fx {
	struct kd_link dbg;
	uint8_t out[1 << 16];
	size_t out_len;
	size_t delivered;
	uint32_t rx_id;
	uint16_t rx_type;
	int refuse; /* ops->accept declines this many packets */
};

static void on_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct fx *fx = opaque;

	assert_true(fx->out_len + len <= sizeof(fx->out));
	memcpy(fx->out + fx->out_len, buf, len);
	fx->out_len += len;
}

static void on_deliver(void *opaque, uint16_t type, uint32_t id, const uint8_t *payload,
		       size_t len)
{
	struct fx *fx = opaque;

	(void)payload, (void)len;
	fx->delivered++;
	fx->rx_id = id;
	fx->rx_type = type;
}

static int on_accept(void *opaque, uint16_t type, const uint8_t *payload, size_t len)
{
	struct fx *fx = opaque;

	(void)type, (void)payload, (void)len;
	if (fx->refuse) {
		fx->refuse--;
		return 0;
	}
	return 1;
}

static const struct kd_link_ops ops = {
	.write = on_write,
	.deliver = on_deliver,
	.accept = on_accept,
};

/* Parses and forgets what the debugger wrote. */
static struct wire drain(struct fx *fx)
{
	struct wire w = { 0 };
	struct kd_parser p;
	size_t off = 0;

	kd_parser_init(&p);
	while (off < fx->out_len) {
		struct kd_event ev;

		off += kd_parser_feed(&p, fx->out + off, fx->out_len - off, &ev);
		if (ev.kind == KD_EV_DATA)
			w.data++;
		if (ev.kind != KD_EV_CONTROL)
			continue;
		if (ev.hdr.type == KD_PACKET_TYPE_RESET)
			w.resets++;
		if (ev.hdr.type == KD_PACKET_TYPE_ACKNOWLEDGE) {
			w.acks++;
			w.last_ack_id = ev.hdr.id;
		}
	}
	fx->out_len = 0;
	return w;
}

/* Drains what the debugger side wrote and checks how many RESETs and ACKs it held and how
 * many packets were delivered so far. */
static struct wire expect_drain(struct fx *fx, size_t resets, size_t acks, size_t delivered)
{
	struct wire w = drain(fx);

	assert_int_equal(w.resets, resets);
	assert_int_equal(w.acks, acks);
	assert_int_equal(fx->delivered, delivered);
	return w;
}

static void setup_fx(struct fx *fx)
{
	struct kd_link_config cfg;

	memset(fx, 0, sizeof(*fx));
	kd_link_default_config(&cfg);
	cfg.reset_interval = INTERVAL;
	kd_link_init(&fx->dbg, KD_ROLE_DEBUGGER, &cfg, &ops, fx);
}

/* The target's bytes: optionally a RESET (its answer), then a state change with id. */
static size_t target_bytes(uint8_t *buf, size_t cap, int with_reset, uint32_t id)
{
	static const uint8_t sc[64] = { 0x30, 0x30 }; /* DbgKdExceptionStateChange */
	size_t n = 0;

	if (with_reset)
		n = kd_control_build(buf, KD_PACKET_TYPE_RESET, 0);
	n += kd_packet_build(buf + n, cap - n, KD_PACKET_TYPE_STATE_CHANGE64, id, sc,
			     sizeof(sc), NULL, 0);
	return n;
}

/* Feeds them in pieces of split bytes (0: all at once). */
static void target_says(struct fx *fx, int with_reset, uint32_t id, size_t split, uint64_t now)
{
	uint8_t buf[KD_HEADER_SIZE * 2 + KD_MAX_PAYLOAD + 1];
	size_t n = target_bytes(buf, sizeof(buf), with_reset, id);

	if (!split)
		split = n;
	for (size_t off = 0; off < n; off += split)
		kd_link_input(&fx->dbg, buf + off, n - off < split ? n - off : split, now);
}

/* The hostile target: every RESET of ours gets RESET + a SYNC packet, for at most 1000
 * rounds. Returns the RESETs the debugger sent until it took the packet. */
static size_t run_hostile(struct fx *fx, size_t split)
{
	uint64_t now = T0;
	size_t resets, total = 0, rounds = 0;

	kd_link_start_reset(&fx->dbg, now);
	while ((resets = drain(fx).resets) && rounds++ < 1000) {
		total += resets;
		now += 100;
		target_says(fx, 1, SYNC_ID, split, now);
	}
	return total;
}

static void sync_every_reset_converges_after_one(void **state)
{
	static const size_t splits[] = { 0, 1, 3, 16, 17 };

	(void)state;
	for (size_t i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
		struct fx fx;

		setup_fx(&fx);
		assert_int_equal(run_hostile(&fx, splits[i]), 1);
		assert_int_equal(fx.delivered, 1);
		assert_int_equal(fx.rx_id, SYNC_ID);
		assert_int_equal(fx.rx_type, KD_PACKET_TYPE_STATE_CHANGE64);
		assert_int_equal(fx.dbg.stats.sync_taken, 1);
		assert_false(fx.dbg.reset_pending);
	}
}

/* The ACK of a taken SYNC packet carries the id without the flag (kd-protocol.md 3.6). */
static void taken_sync_packet_acked_without_flag(void **state)
{
	struct fx fx;
	struct wire w;

	(void)state;
	setup_fx(&fx);
	kd_link_start_reset(&fx.dbg, T0);
	drain(&fx);
	target_says(&fx, 1, SYNC_ID, 0, T0 + 100);
	w = drain(&fx);
	assert_int_equal(w.resets, 0);
	assert_int_equal(w.acks, 1);
	assert_int_equal(w.last_ack_id, ID0);
}

/* The target did not get our ACK and sends the same SYNC packet again: ACKed, dropped. */
static void repeat_of_taken_sync_packet_is_a_duplicate(void **state)
{
	struct fx fx;

	(void)state;
	setup_fx(&fx);
	assert_int_equal(run_hostile(&fx, 0), 1);
	target_says(&fx, 0, SYNC_ID, 0, T0 + 2000);
	expect_drain(&fx, 0, 1, 1);
	assert_int_equal(fx.dbg.stats.duplicates, 1);
}

/* Data came after the target's RESET; a SYNC packet now means it rebooted: RESET, and
 * the renumbered resend is delivered once. */
static void sync_after_data_still_resets(void **state)
{
	struct fx fx;

	(void)state;
	setup_fx(&fx);
	kd_link_start_reset(&fx.dbg, T0);
	drain(&fx);
	target_says(&fx, 1, ID0, 0, T0 + 100); /* a kdcom answer: renumbered, no flag */
	assert_int_equal(fx.delivered, 1);
	drain(&fx);

	target_says(&fx, 0, SYNC_ID, 0, T0 + 3000000);
	expect_drain(&fx, 1, 0, 1);
	assert_true(fx.dbg.reset_pending);

	target_says(&fx, 1, ID0, 0, T0 + 3000100);
	assert_int_equal(fx.delivered, 2);
	assert_int_equal(fx.rx_id, ID0);
	assert_int_equal(fx.dbg.stats.sync_taken, 0);
}

/* A target that flags every packet SYNC, not just the ones after a RESET: each one after
 * data costs a RESET, each one right after the RESET is taken. Bounded: one RESET per
 * packet, never a RESET answered by a RESET. */
static void sync_on_every_packet_costs_one_reset_each(void **state)
{
	struct fx fx;
	uint64_t now = T0;
	size_t resets = 0;

	(void)state;
	setup_fx(&fx);
	kd_link_start_reset(&fx.dbg, now);
	resets += drain(&fx).resets;
	for (size_t i = 0; i < 10; i++) {
		now += 100;
		target_says(&fx, 1, SYNC_ID, 0, now); /* answer + packet */
		assert_int_equal(fx.delivered, i + 1);
		now += 100;
		target_says(&fx, 0, SYNC_ID | KD_PACKET_ID_TOGGLE, 0, now); /* its next one */
		resets += drain(&fx).resets;
	}
	assert_int_equal(resets, 11);
	assert_int_equal(fx.delivered, 10);
}

/* Our RESET is out and young: a SYNC packet crossing it is dropped, no second RESET; the
 * answer and the renumbered resend follow (late break-in). */
static void sync_crossing_our_reset_is_dropped(void **state)
{
	struct fx fx;

	(void)state;
	setup_fx(&fx);
	kd_link_start_reset(&fx.dbg, T0);
	drain(&fx);
	target_says(&fx, 0, SYNC_ID, 0, T0 + 1000);
	expect_drain(&fx, 0, 0, 0);
	target_says(&fx, 1, ID0, 0, T0 + 2000);
	assert_int_equal(fx.delivered, 1);
	assert_int_equal(fx.rx_id, ID0);
	assert_int_equal(fx.dbg.stats.sync_taken, 0);
}

/* Boot attach: our first RESET went out before the kernel listened. Its first SYNC
 * packet, later than half the repeat interval, gets a new RESET, not taken. */
static void sync_after_lost_reset_gets_a_new_one(void **state)
{
	struct fx fx;

	(void)state;
	setup_fx(&fx);
	kd_link_start_reset(&fx.dbg, T0);
	drain(&fx);
	target_says(&fx, 0, SYNC_ID, 0, T0 + INTERVAL / 2 + 1);
	expect_drain(&fx, 1, 0, 0);
	target_says(&fx, 1, ID0, 0, T0 + INTERVAL);
	assert_int_equal(fx.delivered, 1);
	assert_int_equal(fx.dbg.stats.sync_taken, 0);
}

/* The owner cannot take the packet now: not ACKed, no RESET; its next copy is still the
 * first after the target's RESET and is taken. */
static void refused_sync_packet_taken_on_its_next_copy(void **state)
{
	struct fx fx;

	(void)state;
	setup_fx(&fx);
	fx.refuse = 1;
	kd_link_start_reset(&fx.dbg, T0);
	drain(&fx);
	target_says(&fx, 1, SYNC_ID, 0, T0 + 100);
	expect_drain(&fx, 0, 0, 0);
	target_says(&fx, 0, SYNC_ID, 0, T0 + 1000100);
	expect_drain(&fx, 0, 1, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sync_every_reset_converges_after_one),
		cmocka_unit_test(taken_sync_packet_acked_without_flag),
		cmocka_unit_test(repeat_of_taken_sync_packet_is_a_duplicate),
		cmocka_unit_test(sync_after_data_still_resets),
		cmocka_unit_test(sync_on_every_packet_costs_one_reset_each),
		cmocka_unit_test(sync_crossing_our_reset_is_dropped),
		cmocka_unit_test(sync_after_lost_reset_gets_a_new_one),
		cmocka_unit_test(refused_sync_packet_taken_on_its_next_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
