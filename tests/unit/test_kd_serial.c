/* SPDX-License-Identifier: MIT */
/* KDCOM transport + KD target core against a debugger-role link, all in one thread: the
 * fake UART runs the debugger whenever the target looks for bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_platform.h"
#include "kd_serial.h"
#include "kd_target.h"
#include "vmkd/kd_api.h"
#include "vmkd/kd_link.h"

#define WIRE_CAP (1u << 16)
#define MEM_VA 0xfffff80000400000ull

enum dbg_script {
	DBG_ABSENT,         /* nobody listens: bytes vanish */
	DBG_VERSION_THEN_GO,
	DBG_GO,
};

struct bench {
	/* debugger -> target bytes */
	uint8_t wire[WIRE_CAP];
	size_t head, tail;
	uint64_t now;
	enum dbg_script script;
	int reset_at_start;
	struct kd_link dbg;
	int dbg_busy_continue;

	/* what the debugger saw */
	int state_changes;
	uint32_t first_state_change_id;
	int version_replies;
	uint16_t version_build;
	int prints;
	char print_text[64];

	struct kd_serial serial;
	struct kd_target target;
	volatile uint8_t not_present;
	uint8_t mem[64];
	struct fake_platform machine; /* mem, read-only, no MSRs */
	struct kd_context_amd64 ctx;
};

static void dbg_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct bench *b = opaque;

	assert_true(b->tail + len <= WIRE_CAP);
	memcpy(b->wire + b->tail, buf, len);
	b->tail += len;
}

static void dbg_send(struct bench *b, const struct kd_api_msg *m)
{
	assert_int_equal(kd_link_send(&b->dbg, m->type, &m->u, m->hdr_len, m->data, m->data_len,
				      b->now), 0);
}

static void dbg_deliver(void *opaque, uint16_t type, uint32_t id, const uint8_t *payload,
			size_t len)
{
	struct bench *b = opaque;
	struct kd_api_msg m;

	if (type == KD_PACKET_TYPE_DEBUG_IO) {
		b->prints++;
		len -= sizeof(struct kd_debug_io);
		if (len >= sizeof(b->print_text))
			len = sizeof(b->print_text) - 1;
		memcpy(b->print_text, payload + sizeof(struct kd_debug_io), len);
		b->print_text[len] = 0;
		return;
	}
	if (type == KD_PACKET_TYPE_STATE_CHANGE64) {
		if (!b->state_changes++)
			b->first_state_change_id = id;
		if (b->script == DBG_VERSION_THEN_GO)
			kd_api_req_get_version(&m);
		else
			kd_api_req_continue2(&m, KD_DBG_CONTINUE, 0, 0);
		dbg_send(b, &m);
		return;
	}
	if (type == KD_PACKET_TYPE_STATE_MANIPULATE) {
		struct kd_get_version64 ver;

		assert_int_equal(kd_api_parse_version(payload, len, &ver), KD_API_OK);
		b->version_replies++;
		b->version_build = ver.minor_version;
		b->dbg_busy_continue = 1; /* Continue2 once the request's ACK is in */
	}
}

static void dbg_send_done(void *opaque, enum kd_send_result r)
{
	(void)opaque;
	assert_int_equal(r, KD_SEND_ACKED);
}

static const struct kd_link_ops dbg_ops = {
	.write = dbg_write,
	.deliver = dbg_deliver,
	.send_done = dbg_send_done,
};

/* ---- the target's UART ------------------------------------------------------------- */

static int uart_get(void *io)
{
	struct bench *b = io;

	if (b->head == b->tail) {
		/* Nothing waiting: time passes, the debugger's timers run. */
		b->now += 1000;
		if (b->script != DBG_ABSENT) {
			if (b->dbg_busy_continue && !kd_link_busy(&b->dbg)) {
				struct kd_api_msg m;

				b->dbg_busy_continue = 0;
				kd_api_req_continue2(&m, KD_DBG_CONTINUE, 0, 0);
				dbg_send(b, &m);
			}
			if (b->now >= kd_link_deadline(&b->dbg))
				kd_link_poll(&b->dbg, b->now);
		}
		return -1;
	}
	return b->wire[b->head++];
}

static void uart_put(void *io, const uint8_t *buf, size_t len)
{
	struct bench *b = io;

	if (b->script != DBG_ABSENT)
		kd_link_input(&b->dbg, buf, len, b->now);
}

static uint64_t uart_now(void *io)
{
	return ((struct bench *)io)->now;
}

static const struct kd_byte_io_ops uart_ops = { uart_get, uart_put, uart_now };

static struct bench *bench_new(enum dbg_script script, int reset_at_start)
{
	static struct bench b;
	struct kd_link_config cfg;
	struct kd_target_info info;

	memset(&b, 0, sizeof(b));
	b.script = script;
	kd_link_default_config(&cfg);
	kd_link_init(&b.dbg, KD_ROLE_DEBUGGER, &cfg, &dbg_ops, &b);
	if (reset_at_start && script != DBG_ABSENT)
		kd_link_start_reset(&b.dbg, b.now);
	fake_platform_init(&b.machine, b.mem, sizeof(b.mem), sizeof(b.mem), MEM_VA, 0);
	b.machine.read_only = 1;
	b.machine.msr = 0;
	kd_serial_init(&b.serial, &uart_ops, &b, &b.not_present);
	memset(&info, 0, sizeof(info));
	info.version.minor_version = 19041;
	info.number_processors = 1;
	kd_target_init(&b.target, &fake_platform_ops, &b.machine, &kd_serial_transport, &b.serial,
		       &b.not_present, &info);
	b.ctx.rip = MEM_VA;
	return &b;
}

static void stop_served_over_serial_after_reset(void **state)
{
	struct bench *b = bench_new(DBG_VERSION_THEN_GO, 1);

	(void)state;
	assert_int_equal(kd_target_report_exception(&b->target, &b->ctx, KD_STATUS_BREAKPOINT,
						    b->ctx.rip, 1), KD_RESUME_HANDLED);
	assert_int_equal(b->state_changes, 1);
	/* The RESET came first, so the target numbered from 0x80800000 without SYNC. */
	assert_int_equal(b->first_state_change_id, KD_INITIAL_PACKET_ID);
	assert_int_equal(b->version_replies, 1);
	assert_int_equal(b->version_build, 19041);
	assert_int_equal(b->not_present, 0);
}

static void sync_packet_renumbered_by_debugger_reset(void **state)
{
	struct bench *b = bench_new(DBG_GO, 0);

	(void)state;
	assert_int_equal(kd_target_report_exception(&b->target, &b->ctx, KD_STATUS_BREAKPOINT,
						    b->ctx.rip, 1), KD_RESUME_HANDLED);
	/* The SYNC-flagged first send is answered with RESET and delivered once, renumbered. */
	assert_int_equal(b->state_changes, 1);
	assert_int_equal(b->first_state_change_id, KD_INITIAL_PACKET_ID);
	assert_true(b->dbg.stats.resets_sent >= 1);
	assert_true(b->serial.link.stats.resets_received >= 1);
}

static void absent_debugger_marks_not_present(void **state)
{
	struct bench *b = bench_new(DBG_ABSENT, 0);

	(void)state;
	kd_target_print(&b->target, "lost\n", 5);
	assert_int_equal(b->not_present, 0); /* a DbgPrint nobody takes proves nothing */
	assert_int_equal(kd_target_report_exception(&b->target, &b->ctx, KD_STATUS_BREAKPOINT,
						    b->ctx.rip, 1), KD_RESUME_NOT_HANDLED);
	assert_int_equal(b->not_present, 1);
	assert_int_equal(b->serial.stats.send_gave_up, 2);
}

static void dbgprint_and_breakin_poll(void **state)
{
	struct bench *b = bench_new(DBG_GO, 1);

	(void)state;
	kd_target_print(&b->target, "hello from the target\n", 22);
	assert_int_equal(b->prints, 1);
	assert_string_equal(b->print_text, "hello from the target\n");
	assert_int_equal(kd_target_poll_breakin(&b->target), 0);
	kd_link_send_breakin(&b->dbg);
	assert_int_equal(kd_target_poll_breakin(&b->target), 1);
	assert_int_equal(kd_target_poll_breakin(&b->target), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stop_served_over_serial_after_reset),
		cmocka_unit_test(sync_packet_renumbered_by_debugger_reset),
		cmocka_unit_test(absent_debugger_marks_not_present),
		cmocka_unit_test(dbgprint_and_breakin_poll),
	};

	return cmocka_run_group_tests_name("kd_serial", tests, NULL, NULL);
}
