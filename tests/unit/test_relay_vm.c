/* SPDX-License-Identifier: MIT */
/*
 * The relay's per-VM core driven in-process with an injected clock: a fake guest writes
 * frames into it and reads the frames it sends back; the debugger is a real debugger-role
 * kd_link (or, where exact ids matter, raw bytes parsed and written by the test): the
 * fixture of relay_fixture.h. VMKD_TEST_TRACE=1 prints each test's relay log on stderr.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmkd/kd_api.h"
#include "vmkd/kd_link.h"
#include "vmkd/kd_packet.h"
#include "vmkd/kd_parser.h"
#include "vmkd/vmkd_frame_parser.h"

#include "../../host/common/relay_notice.h"
#include "../../host/relay/relay_queue.h"
#include "../../host/relay/relay_tap.h"
#include "../../host/relay/relay_vm.h"
#include "relay_fixture.h"
#include "test_relay_fakes.h"

#define SECOND 1000000ull
#define PC     0xfffff80000401000ull
#define NPRINTS 1000

/* The relay's output to the debugger is lost (the debugger does not read). */
static void dbg_lose_output(struct relay_fixture *fx)
{
	relay_buf_clear(&fx->vm->to_debugger);
}

/* Raw mode: the next complete event in the relay's KDCOM output. */
static int raw_next(struct relay_fixture *fx, struct kd_event *ev)
{
	struct relay_buf *b = &fx->vm->to_debugger;

	while (relay_buf_pending(b)) {
		size_t used = kd_parser_feed(&fx->raw, relay_buf_peek(b), relay_buf_pending(b), ev);

		relay_buf_consume(b, used);
		if (ev->kind != KD_EV_NONE)
			return 1;
	}
	return 0;
}

static void raw_send_control(struct relay_fixture *fx, uint16_t type, uint32_t id)
{
	uint8_t pkt[KD_HEADER_SIZE];

	relay_vm_debugger_input(fx->vm, pkt, kd_control_build(pkt, type, id), fx->now);
}

/* Expects a data packet of this type with this id from the relay, then ACKs it. */
static void raw_expect_and_ack(struct relay_fixture *fx, uint16_t type, uint32_t id)
{
	struct kd_event ev;

	assert_true(raw_next(fx, &ev));
	assert_int_equal(ev.kind, KD_EV_DATA);
	assert_int_equal(ev.hdr.type, type);
	assert_int_equal(ev.hdr.id, id);
	raw_send_control(fx, KD_PACKET_TYPE_ACKNOWLEDGE, id & ~KD_SYNC_PACKET_ID);
	assert_false(kd_link_busy(&fx->vm->link));
}

/* ---- tests ------------------------------------------------------------------------- */

static void relay_full_exchange(void **state)
{
	struct relay_fixture *fx = *state;
	uint8_t kd[KD_MAX_PAYLOAD];
	const struct tr_frame_rec *f;
	struct kd_api_msg req;
	size_t len;

	rfx_guest_connect(fx);
	assert_int_equal(rfx_only_frame(fx, VMKD_FRAME_DEBUGGER)->value, 0);
	tr_view_clear(&fx->gv);
	rfx_guest_hello(fx);
	rfx_guest_take(fx);
	f = rfx_only_frame(fx, VMKD_FRAME_HELLO_ACK);
	assert_int_equal(f->value, 0);
	assert_string_equal(fx->vm->guest_agent, "fake guest?");

	/* WinDbg connects and RESETs: the guest hears DEBUGGER(1), then RESYNC. */
	tr_view_clear(&fx->gv);
	rfx_dbg_connect(fx, 1);
	assert_int_equal(fx->gv.count, 2);
	assert_int_equal(fx->gv.frames[0].type, VMKD_FRAME_DEBUGGER);
	assert_int_equal(fx->gv.frames[0].value, 1);
	assert_int_equal(fx->gv.frames[1].type, VMKD_FRAME_RESYNC);

	/* The guest's state change reaches the debugger as a KDCOM packet; the ACK stays. */
	tr_view_clear(&fx->gv);
	len = tr_state_change(kd, PC);
	rfx_guest_kd(fx, KD_PACKET_TYPE_STATE_CHANGE64, kd, len);
	rfx_exchange(fx);
	assert_int_equal(fx->delivered, 1);
	assert_int_equal(fx->last_type, KD_PACKET_TYPE_STATE_CHANGE64);
	assert_int_equal(fx->last_id, KD_INITIAL_PACKET_ID);
	assert_int_equal(fx->last_len, len);
	assert_memory_equal(fx->last_payload, kd, len);
	assert_int_equal(fx->gv.count, 0);
	assert_false(kd_link_busy(&fx->vm->link));
	assert_int_equal(fx->vm->st.kd_acked, 1);

	/* The debugger's request becomes a KD_PACKET frame; the relay ACKed it itself. */
	kd_api_req_get_version(&req);
	assert_int_equal(kd_link_send(&fx->dbg, req.type, &req.u, req.hdr_len, req.data,
				      req.data_len, fx->now), 0);
	rfx_exchange(fx);
	f = rfx_only_frame(fx, VMKD_FRAME_KD_PACKET);
	assert_int_equal(f->kd_type, KD_PACKET_TYPE_STATE_MANIPULATE);
	assert_int_equal(f->len, sizeof(struct vmkd_kd_packet) + req.hdr_len);
	assert_memory_equal(f->payload + sizeof(struct vmkd_kd_packet), &req.u, req.hdr_len);
	assert_false(kd_link_busy(&fx->dbg));
	assert_int_equal(fx->vm->st.kd_to_guest, 1);
	assert_int_equal(fx->vm->st.kd_to_debugger, 1);
	assert_int_equal(fx->vm->st.seq_gaps, 0);
}

static void relay_reset_becomes_resync(void **state)
{
	struct relay_fixture *fx = *state;
	size_t before;

	rfx_guest_connect(fx);
	rfx_guest_hello(fx);
	rfx_dbg_connect(fx, 0);
	tr_view_clear(&fx->gv);

	kd_link_start_reset(&fx->dbg, fx->now);
	rfx_exchange(fx);
	rfx_only_frame(fx, VMKD_FRAME_RESYNC);
	assert_int_equal(fx->vm->st.resyncs, 1);

	/* Another RESET before the guest said anything: nothing new for the guest. */
	tr_view_clear(&fx->gv);
	rfx_advance(fx, SECOND);
	kd_link_start_reset(&fx->dbg, fx->now);
	rfx_exchange(fx);
	assert_int_equal(fx->gv.count, 0);
	assert_int_equal(fx->vm->st.resyncs_coalesced, 1);

	/* The guest re-reports; the next RESET is passed on again. */
	rfx_guest_state_change(fx, PC);
	rfx_exchange(fx);
	assert_int_equal(fx->delivered, 1);
	rfx_advance(fx, 2 * SECOND);
	kd_link_start_reset(&fx->dbg, fx->now);
	rfx_exchange(fx);
	rfx_only_frame(fx, VMKD_FRAME_RESYNC);

	/* A RESET while a packet is in flight: the link resends it renumbered, no RESYNC. */
	tr_view_clear(&fx->gv);
	rfx_guest_state_change(fx, PC);
	dbg_lose_output(fx);
	assert_true(kd_link_busy(&fx->vm->link));
	before = fx->delivered;
	rfx_advance(fx, 2 * SECOND);
	kd_link_start_reset(&fx->dbg, fx->now);
	rfx_exchange(fx);
	assert_int_equal(fx->gv.count, 0);
	assert_int_equal(fx->delivered, before + 1);
	assert_int_equal(fx->last_id, KD_INITIAL_PACKET_ID);
	assert_false(kd_link_busy(&fx->vm->link));
	assert_int_equal(fx->vm->st.resyncs, 2);
}

static void relay_breakin_becomes_frame(void **state)
{
	struct relay_fixture *fx = *state;

	rfx_guest_connect(fx);
	rfx_guest_hello(fx);
	rfx_dbg_connect(fx, 0);
	tr_view_clear(&fx->gv);

	kd_link_send_breakin(&fx->dbg);
	rfx_exchange(fx);
	rfx_only_frame(fx, VMKD_FRAME_BREAKIN);
	/* Ctrl-Break pressed again before the guest stopped: one BREAKIN is enough. */
	kd_link_send_breakin(&fx->dbg);
	rfx_exchange(fx);
	assert_int_equal(fx->gv.count, 1);
	assert_int_equal(fx->vm->st.breakins, 2);
	assert_int_equal(fx->vm->st.breakins_coalesced, 1);
	/* The guest stopped and reported; a later break-in goes through again. */
	rfx_guest_state_change(fx, PC);
	rfx_exchange(fx);
	kd_link_send_breakin(&fx->dbg);
	rfx_exchange(fx);
	assert_int_equal(tr_view_count(&fx->gv, VMKD_FRAME_BREAKIN), 2);

	/* 'b' + RESET (r2, vmkd attach -b): the pending BREAKIN makes the guest report; a
	 * RESYNC as well would make it report twice. */
	tr_view_clear(&fx->gv);
	rfx_guest_state_change(fx, PC);
	rfx_exchange(fx);
	rfx_advance(fx, SECOND); /* past the link's window for repeated RESETs */
	kd_link_send_breakin(&fx->dbg);
	kd_link_start_reset(&fx->dbg, fx->now);
	rfx_exchange(fx);
	rfx_only_frame(fx, VMKD_FRAME_BREAKIN);
	assert_int_equal(fx->vm->st.resyncs, 0);
	assert_int_equal(fx->vm->st.resyncs_coalesced, 1);

	/* A guest that swallowed a BREAKIN does not block later ones for long. */
	tr_view_clear(&fx->gv);
	rfx_advance(fx, RELAY_COALESCE_US / 2);
	kd_link_send_breakin(&fx->dbg);
	rfx_exchange(fx);
	assert_int_equal(fx->gv.count, 0);
	rfx_advance(fx, RELAY_COALESCE_US / 2);
	kd_link_send_breakin(&fx->dbg);
	rfx_exchange(fx);
	rfx_only_frame(fx, VMKD_FRAME_BREAKIN);
}

static void relay_hello_renumbers(void **state)
{
	struct relay_fixture *fx = *state;
	const struct tr_frame_rec *f;
	struct vmkd_hello ack;

	rfx_guest_connect(fx);
	rfx_guest_hello(fx);
	assert_int_equal(relay_vm_debugger_connected(fx->vm, fx->now), 0);
	rfx_guest_take(fx);
	tr_view_clear(&fx->gv);

	/* A fresh target link: SYNC id first, then the ids alternate. */
	rfx_guest_state_change(fx, PC);
	raw_expect_and_ack(fx, KD_PACKET_TYPE_STATE_CHANGE64,
			   KD_INITIAL_PACKET_ID | KD_SYNC_PACKET_ID);
	rfx_guest_print(fx, "hello\n");
	raw_expect_and_ack(fx, KD_PACKET_TYPE_DEBUG_IO, KD_INITIAL_PACKET_ID | 1);

	/* The guest rebooted: HELLO_ACK says a debugger is attached, and the next packet
	 * carries the SYNC id again, so the debugger resynchronises. */
	rfx_guest_hello(fx);
	rfx_guest_take(fx);
	f = rfx_only_frame(fx, VMKD_FRAME_HELLO_ACK);
	assert_int_equal(f->len, sizeof(ack));
	memcpy(&ack, f->payload, sizeof(ack));
	assert_int_equal(ack.debugger, 1);
	assert_int_equal(ack.capabilities, VMKD_CAP_KD_PACKETS | VMKD_CAP_STATS);
	assert_int_equal(ack.max_payload, VMKD_FRAME_MAX_PAYLOAD);
	assert_string_equal(ack.agent, RELAY_AGENT);
	rfx_guest_state_change(fx, PC);
	raw_expect_and_ack(fx, KD_PACKET_TYPE_STATE_CHANGE64,
			   KD_INITIAL_PACKET_ID | KD_SYNC_PACKET_ID);

	/* HELLO with a packet in flight and one queued: the stop in flight belongs to the old
	 * boot and goes with the link (its bytes are left unanswered here); the line the old
	 * kernel printed is still news and goes out first on the fresh link, SYNC id, then
	 * the new boot's stop. */
	rfx_guest_state_change(fx, PC);
	rfx_guest_print(fx, "old\n");
	assert_int_equal(fx->vm->queue.count, 1);
	relay_buf_clear(&fx->vm->to_debugger);
	kd_parser_init(&fx->raw);
	rfx_guest_hello(fx);
	assert_int_equal(fx->vm->queue.count, 0);
	assert_int_equal(fx->vm->st.dropped_flushed, 1);
	assert_int_equal(fx->vm->st.prints_kept_across_hello, 1);
	raw_expect_and_ack(fx, KD_PACKET_TYPE_DEBUG_IO, KD_INITIAL_PACKET_ID | KD_SYNC_PACKET_ID);
	rfx_guest_state_change(fx, PC);
	raw_expect_and_ack(fx, KD_PACKET_TYPE_STATE_CHANGE64, KD_INITIAL_PACKET_ID | 1);
	assert_int_equal(fx->vm->st.hellos, 3);
}

static void relay_no_debugger_rules(void **state)
{
	struct relay_fixture *fx = *state;
	uint8_t kd[KD_MAX_PAYLOAD];
	struct kd_api_msg m;
	struct kd_file_io fio;

	rfx_guest_connect(fx);
	rfx_guest_hello(fx);
	rfx_guest_take(fx);
	tr_view_clear(&fx->gv);

	/* A state change waits for an answer: DEBUGGER(0), as kdcom's ACK timeout. */
	rfx_guest_state_change(fx, PC);
	rfx_guest_take(fx);
	assert_int_equal(rfx_only_frame(fx, VMKD_FRAME_DEBUGGER)->value, 0);
	tr_view_clear(&fx->gv);

	/* DbgPrint: dropped and counted. */
	rfx_guest_print(fx, "nobody listens\n");
	rfx_guest_print(fx, "still nobody\n");
	rfx_guest_take(fx);
	assert_int_equal(fx->gv.count, 0);
	assert_int_equal(fx->vm->st.dropped_prints, 2);

	/* DbgPrompt waits for an answer. */
	kd_api_build_prompt(&m, 0, "continue? ", 10, 16);
	rfx_guest_kd(fx, KD_PACKET_TYPE_DEBUG_IO, kd, tr_msg_payload(&m, kd));
	rfx_guest_take(fx);
	assert_int_equal(rfx_only_frame(fx, VMKD_FRAME_DEBUGGER)->value, 0);
	tr_view_clear(&fx->gv);

	/* A manipulate reply for a debugger that left: dropped. */
	memset(kd, 0, sizeof(struct kd_manipulate_state64));
	rfx_guest_kd(fx, KD_PACKET_TYPE_STATE_MANIPULATE, kd, sizeof(struct kd_manipulate_state64));
	/* File I/O waits for an answer. */
	memset(&fio, 0, sizeof(fio));
	fio.api_number = KD_API_CREATE_FILE;
	rfx_guest_kd(fx, KD_PACKET_TYPE_FILE_IO, (const uint8_t *)&fio, sizeof(fio));
	rfx_guest_take(fx);
	assert_int_equal(rfx_only_frame(fx, VMKD_FRAME_DEBUGGER)->value, 0);

	assert_int_equal(fx->vm->st.dropped_no_debugger, 1);
	assert_int_equal(fx->vm->st.answered_no_debugger, 3);
	assert_int_equal(fx->vm->st.kd_to_debugger, 0);
	assert_int_equal(relay_buf_pending(&fx->vm->to_debugger), 0);
}

static uint32_t hello_ack_caps(struct relay_fixture *fx)
{
	const struct tr_frame_rec *f;
	struct vmkd_hello ack;

	rfx_guest_connect(fx);
	tr_view_clear(&fx->gv);
	rfx_guest_hello(fx);
	rfx_guest_take(fx);
	f = rfx_only_frame(fx, VMKD_FRAME_HELLO_ACK);
	memcpy(&ack, f->payload, sizeof(ack));
	tr_view_clear(&fx->gv);
	return ack.capabilities;
}

/* Without a DbgPrint log the relay does not ask for prints nobody would read. */
static void relay_no_log_no_host_log_cap(void **state)
{
	struct relay_fixture *fx = *state;

	assert_int_equal(hello_ack_caps(fx), VMKD_CAP_KD_PACKETS | VMKD_CAP_STATS);
}

/* With its log the relay says VMKD_CAP_HOST_LOG; prints with no debugger are logged, not
 * answered (the guest does not wait), not forwarded, counted; once a debugger is attached
 * they reach it and the log too, in order. */
static void relay_logs_prints_without_debugger(void **state)
{
	struct relay_fixture *fx = *state;
	char dir[] = "/tmp/vmkd-hostlog-XXXXXX", path[sizeof(dir) + 16], line[256];
	static const char *const want[] = { "before 1", "before 2", "after 1" };
	struct relay_tap_options o = { 0 };
	char err[128];
	size_t n = 0;
	FILE *lf;

	assert_non_null(mkdtemp(dir));
	o.log_dir = dir;
	fx->vm->tap = relay_tap_new("vm0", &o, &fx->log, fx->now, err, sizeof(err));
	assert_non_null(fx->vm->tap);
	assert_int_equal(hello_ack_caps(fx),
			 VMKD_CAP_KD_PACKETS | VMKD_CAP_STATS | VMKD_CAP_HOST_LOG);

	rfx_guest_print(fx, "before 1\n");
	rfx_guest_print(fx, "before 2\n");
	rfx_guest_take(fx);
	assert_int_equal(fx->gv.count, 0);
	assert_int_equal(fx->vm->st.dropped_prints, 2);
	assert_int_equal(fx->vm->st.kd_to_debugger, 0);
	assert_int_equal(relay_buf_pending(&fx->vm->to_debugger), 0);

	rfx_dbg_connect(fx, 0);
	rfx_guest_print(fx, "after 1\n");
	rfx_exchange(fx);
	assert_int_equal(fx->delivered, 1);
	assert_int_equal(fx->last_type, KD_PACKET_TYPE_DEBUG_IO);
	assert_int_equal(fx->last_len, sizeof(struct kd_debug_io) + 8);
	assert_memory_equal(fx->last_payload + sizeof(struct kd_debug_io), "after 1\n", 8);
	assert_int_equal(fx->vm->st.dropped_prints, 2);

	relay_tap_free(fx->vm->tap, fx->now);
	fx->vm->tap = NULL;
	snprintf(path, sizeof(path), "%s/vm0.log", dir);
	lf = fopen(path, "r");
	assert_non_null(lf);
	while (fgets(line, sizeof(line), lf)) {
		assert_true(n < 3);
		assert_non_null(strstr(line, want[n]));
		n++;
	}
	fclose(lf);
	assert_int_equal(n, 3);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void relay_debugger_comes_and_goes(void **state)
{
	struct relay_fixture *fx = *state;
	struct kd_event ev;

	rfx_guest_connect(fx);
	rfx_guest_hello(fx);
	rfx_guest_take(fx);
	tr_view_clear(&fx->gv);

	/* Connects later. */
	rfx_dbg_connect(fx, 0);
	assert_int_equal(rfx_only_frame(fx, VMKD_FRAME_DEBUGGER)->value, 1);
	tr_view_clear(&fx->gv);
	assert_int_equal(relay_vm_debugger_connected(fx->vm, fx->now), -1);
	assert_int_equal(fx->vm->st.debugger_refused, 1);

	/* A state change in flight and three prints waiting (joined into one packet) when
	 * it disconnects. */
	rfx_guest_state_change(fx, PC);
	rfx_guest_print(fx, "a\n");
	rfx_guest_print(fx, "b\n");
	rfx_guest_print(fx, "c\n");
	assert_int_equal(fx->vm->queue.count, 1);
	assert_int_equal(fx->vm->st.prints_joined, 2);
	relay_vm_debugger_disconnected(fx->vm, fx->now);
	rfx_guest_take(fx);
	assert_int_equal(rfx_only_frame(fx, VMKD_FRAME_DEBUGGER)->value, 0);
	assert_int_equal(fx->vm->queue.count, 0);
	assert_false(kd_link_busy(&fx->vm->link));
	assert_int_equal(fx->vm->st.dropped_flushed, 2);
	assert_int_equal(relay_buf_pending(&fx->vm->to_debugger), 0);
	assert_true(fx->vm->guest_connected); /* the chardev stays */
	tr_view_clear(&fx->gv);
	rfx_guest_print(fx, "gone\n");
	assert_int_equal(fx->vm->st.dropped_prints, 1);

	/* Reconnects the WinDbg way: RESET, the guest re-reports, the debugger gets it. */
	rfx_dbg_connect(fx, 1);
	assert_int_equal(fx->gv.count, 2);
	assert_int_equal(fx->gv.frames[0].value, 1);
	assert_int_equal(fx->gv.frames[1].type, VMKD_FRAME_RESYNC);
	rfx_guest_state_change(fx, PC);
	rfx_exchange(fx);
	assert_int_equal(fx->delivered, 1);
	assert_int_equal(fx->last_type, KD_PACKET_TYPE_STATE_CHANGE64);

	/* A debugger that does not RESET sees the SYNC id, as from a freshly booted kernel. */
	relay_vm_debugger_disconnected(fx->vm, fx->now);
	assert_int_equal(relay_vm_debugger_connected(fx->vm, fx->now), 0);
	rfx_guest_state_change(fx, PC);
	assert_true(raw_next(fx, &ev));
	assert_int_equal(ev.hdr.id, KD_INITIAL_PACKET_ID | KD_SYNC_PACKET_ID);
	assert_int_equal(fx->vm->st.debugger_connects, 3);
	assert_int_equal(fx->vm->st.debugger_disconnects, 2);
}

static void relay_silent_debugger(void **state)
{
	struct relay_fixture *fx = *state;
	int i;

	rfx_guest_connect(fx);
	rfx_guest_hello(fx);
	rfx_dbg_connect(fx, 1);
	tr_view_clear(&fx->gv);

	/* The debugger stops reading: after kdcom's 20 retries the guest hears DEBUGGER(0). */
	rfx_guest_state_change(fx, PC);
	rfx_guest_print(fx, "queued\n");
	for (i = 0; i < 25 && fx->vm->dbg == RELAY_DBG_ATTACHED; i++) {
		dbg_lose_output(fx);
		rfx_advance(fx, SECOND);
	}
	assert_int_equal(fx->vm->dbg, RELAY_DBG_SILENT);
	assert_int_equal(fx->vm->st.gave_up, 1);
	assert_int_equal(fx->vm->link.stats.retransmits, 20);
	rfx_guest_take(fx);
	assert_int_equal(rfx_only_frame(fx, VMKD_FRAME_DEBUGGER)->value, 0);
	assert_int_equal(fx->vm->st.dropped_flushed, 1);
	tr_view_clear(&fx->gv);

	/* Meanwhile the kdcom rules apply. */
	rfx_guest_state_change(fx, PC);
	rfx_guest_print(fx, "dropped\n");
	rfx_guest_take(fx);
	assert_int_equal(rfx_only_frame(fx, VMKD_FRAME_DEBUGGER)->value, 0);
	assert_int_equal(fx->vm->st.dropped_prints, 1);
	tr_view_clear(&fx->gv);

	/* It speaks again (a break-in): DEBUGGER(1) first, then the BREAKIN. */
	kd_link_send_breakin(&fx->dbg);
	rfx_exchange(fx);
	assert_int_equal(fx->gv.count, 2);
	assert_int_equal(fx->gv.frames[0].type, VMKD_FRAME_DEBUGGER);
	assert_int_equal(fx->gv.frames[0].value, 1);
	assert_int_equal(fx->gv.frames[1].type, VMKD_FRAME_BREAKIN);
	assert_int_equal(fx->vm->dbg, RELAY_DBG_ATTACHED);

	/* After a give-up the next packet is SYNC-flagged; the debugger RESETs and gets it. */
	fx->delivered = 0;
	rfx_guest_state_change(fx, PC);
	rfx_exchange(fx);
	assert_int_equal(fx->delivered, 1);
	assert_false(kd_link_busy(&fx->vm->link));
}

static void relay_malformed_frames(void **state)
{
	struct relay_fixture *fx = *state;
	uint8_t buf[VMKD_FRAME_MAX_BYTES + 64], kd[64];
	static const uint16_t bad_types[] = { 0, 4, 5, 6, 8, 12, 0x7fff, 0xffff };
	static const uint8_t host_types[] = { VMKD_FRAME_HELLO_ACK, VMKD_FRAME_BREAKIN,
					      VMKD_FRAME_RESYNC, VMKD_FRAME_DEBUGGER,
					      VMKD_FRAME_STATS_REQUEST };
	const struct vmkd_frame_parser_stats *ps = &fx->vm->parser.stats;
	size_t n;

	rfx_guest_connect(fx);
	rfx_guest_hello(fx);
	rfx_dbg_connect(fx, 1);
	tr_view_clear(&fx->gv);

	/* Garbage, including a false start of the magic. */
	memcpy(buf, "VMK\x00garbage VMKVM", 17);
	rfx_guest_input(fx, buf, 17);
	/* Header errors the parser counts: version, length, type. */
	n = tr_frame(buf, sizeof(buf), VMKD_FRAME_BREAKIN, 0, NULL, 0);
	buf[4] = 2;
	rfx_guest_input(fx, buf, n);
	n = tr_frame(buf, sizeof(buf), VMKD_FRAME_BREAKIN, 0, NULL, 0);
	buf[8] = 0xff, buf[9] = 0xff;
	rfx_guest_input(fx, buf, n);
	n = tr_frame(buf, sizeof(buf), VMKD_FRAME_BREAKIN, 0, NULL, 0);
	buf[5] = VMKD_FRAME_TYPE_MAX;
	rfx_guest_input(fx, buf, n);
	assert_int_equal(ps->bad_version, 1);
	assert_int_equal(ps->bad_length, 1);
	assert_int_equal(ps->bad_type, 1);
	assert_true(ps->skipped_bytes >= 17);

	/* KD_PACKET whose inner length disagrees, or too short for its header. */
	n = tr_kd_frame(buf, sizeof(buf), fx->gseq++, KD_PACKET_TYPE_DEBUG_IO, kd, 20);
	buf[16 + 4] = 21;
	rfx_guest_input(fx, buf, n);
	rfx_guest_frame(fx, VMKD_FRAME_KD_PACKET, kd, 5);
	assert_int_equal(fx->vm->st.bad_kd_length, 2);
	/* Packet types that are not KD data packets. */
	for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++)
		rfx_guest_kd(fx, bad_types[i], kd, 16);
	assert_int_equal(fx->vm->st.bad_kd_type, sizeof(bad_types) / sizeof(bad_types[0]));
	/* Short HELLO and STATS; frame types only the host sends. */
	rfx_guest_frame(fx, VMKD_FRAME_HELLO, kd, 8);
	rfx_guest_frame(fx, VMKD_FRAME_STATS, kd, 8);
	for (size_t i = 0; i < sizeof(host_types); i++)
		rfx_guest_frame(fx, host_types[i], NULL, 0);
	assert_int_equal(fx->vm->st.bad_hello, 1);
	assert_int_equal(fx->vm->st.bad_stats, 1);
	assert_int_equal(fx->vm->st.unexpected_frames, sizeof(host_types));
	assert_int_equal(fx->vm->st.frames_rejected, 2 + sizeof(bad_types) / sizeof(bad_types[0]) +
						      2 + sizeof(host_types));
	assert_int_equal(fx->vm->st.hellos, 1);

	/* None of it reached the debugger; a good frame after all that still does. */
	rfx_exchange(fx);
	assert_int_equal(fx->delivered, 0);
	assert_int_equal(fx->gv.count, 0);
	rfx_guest_state_change(fx, PC);
	rfx_exchange(fx);
	assert_int_equal(fx->delivered, 1);
	assert_int_equal(fx->last_type, KD_PACKET_TYPE_STATE_CHANGE64);
	assert_true(strstr(rfx_log_text(fx), "not a KD data packet type") != NULL);
}

/* xorshift64: the same "random" bytes every run. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void relay_random_input_never_crashes(void **state)
{
	struct relay_fixture *fx = *state;
	static uint8_t stream[1 << 16];
	uint8_t kd[KD_MAX_PAYLOAD];
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	size_t len = 0;

	fx->vm->trace = 0;
	rfx_guest_connect(fx);
	rfx_dbg_connect(fx, 1);
	/* Valid frames of every kind, some mutated, some cut, with noise between. */
	while (len < sizeof(stream) - VMKD_FRAME_MAX_BYTES - 64) {
		uint64_t r = rnd(&seed);
		size_t n, kd_len = (size_t)(r >> 20) % 300;

		for (size_t i = 0; i < kd_len; i++)
			kd[i] = (uint8_t)rnd(&seed);
		switch (r % 6) {
		case 0:
			n = tr_hello_frame(stream + len, sizeof(stream) - len, (uint32_t)r);
			break;
		case 1:
			n = tr_kd_frame(stream + len, sizeof(stream) - len, (uint32_t)r,
					(uint16_t)(r >> 8) % 13, kd, kd_len);
			break;
		case 2:
			n = tr_frame(stream + len, sizeof(stream) - len, (uint8_t)(r >> 8) % 10,
				     (uint32_t)r, kd, kd_len);
			break;
		case 3:
			n = tr_kd_frame(stream + len, sizeof(stream) - len, (uint32_t)r,
					KD_PACKET_TYPE_STATE_CHANGE64, kd,
					tr_state_change(kd, r));
			break;
		default:
			n = kd_len % 40;
			memcpy(stream + len, kd, n);
			break;
		}
		if (n && (r >> 40) % 4 == 0)
			stream[len + (r >> 44) % n] ^= (uint8_t)(1u << ((r >> 50) % 8));
		if (n && (r >> 52) % 8 == 0)
			n -= (r >> 56) % n;
		len += n;
	}
	for (size_t off = 0; off < len;) {
		size_t chunk = 1 + (size_t)(rnd(&seed) % 700), used;

		if (chunk > len - off)
			chunk = len - off;
		used = relay_vm_guest_input(fx->vm, stream + off, chunk, fx->now);
		off += used;
		rfx_exchange(fx);
		tr_view_clear(&fx->gv);
		rfx_advance(fx, 3000);
		assert_true(fx->vm->queue.count <= RELAY_QUEUE_MAX);
		if (!used && !relay_vm_guest_can_read(fx->vm))
			rfx_advance(fx, SECOND); /* let the link move on */
	}
	assert_true(fx->vm->st.frames_rejected > 0);
	assert_true(fx->vm->st.hellos > 0);
	assert_true(fx->vm->parser.stats.skipped_bytes > 0);
}

/* The guest writes NPRINTS DbgPrints "line NNNN" (all of processor 0, or of processors 0
 * and 1 in turn) as fast as the relay takes them, while the debugger reads 7 bytes at a
 * time, until every line has arrived; the relay's queue never grows past its bound. */
static void prints_to_slow_debugger(struct relay_fixture *fx, int alternate)
{
	static uint8_t stream[NPRINTS * 64];
	uint8_t kd[KD_MAX_PAYLOAD];
	size_t len = 0, off = 0;
	char text[32];
	int steps = 0;

	fx->vm->trace = 0;
	rfx_guest_connect(fx);
	rfx_guest_hello(fx);
	rfx_dbg_connect(fx, 1);
	for (int i = 0; i < NPRINTS; i++) {
		snprintf(text, sizeof(text), "line %04d\n", i);
		len += tr_kd_frame(stream + len, sizeof(stream) - len, fx->gseq++,
				   KD_PACKET_TYPE_DEBUG_IO, kd,
				   tr_print_cpu(kd, alternate ? (uint16_t)(i & 1) : 0, text));
	}
	fx->dbg_chunk = 7;
	while (fx->lines < NPRINTS && steps++ < 1000000) {
		if (off < len && relay_vm_guest_can_read(fx->vm))
			off += relay_vm_guest_input(fx->vm, stream + off, len - off, fx->now);
		assert_true(fx->vm->queue.count <= RELAY_QUEUE_MAX);
		/* One step of the slow debugger. */
		if (relay_buf_pending(&fx->vm->to_debugger)) {
			size_t n = relay_buf_pending(&fx->vm->to_debugger);

			n = n < fx->dbg_chunk ? n : fx->dbg_chunk;
			kd_link_input(&fx->dbg, relay_buf_peek(&fx->vm->to_debugger), n, fx->now);
			relay_buf_consume(&fx->vm->to_debugger, n);
		}
		if (relay_buf_pending(&fx->dbg_out)) {
			relay_buf_consume(&fx->dbg_out, relay_vm_debugger_input(fx->vm,
					  relay_buf_peek(&fx->dbg_out), relay_buf_pending(&fx->dbg_out),
					  fx->now));
		}
		fx->now += 10;
	}
	assert_int_equal(off, len);
}

/* 1000 DbgPrints of one processor while the debugger reads 7 bytes at a time: those that
 * wait are joined into few packets (a 4000-byte packet holds ~390 lines), and every line
 * arrives once, in order; a print of another processor, or a prompt, is never joined. */
static void relay_joins_waiting_prints(void **state)
{
	struct relay_fixture *fx = *state;
	uint8_t kd[KD_MAX_PAYLOAD];
	size_t len;

	prints_to_slow_debugger(fx, 0);
	assert_int_equal(fx->lines, NPRINTS);
	assert_true(fx->prints_in_order);
	assert_int_equal(fx->next_print, NPRINTS);
	assert_int_equal(fx->vm->st.prints_joined + fx->delivered, NPRINTS);
	assert_true(fx->delivered < 10);
	assert_int_equal(fx->vm->st.kd_acked, fx->delivered);
	assert_int_equal(fx->vm->st.dropped_queue_full + fx->vm->st.dropped_prints +
			 fx->vm->st.gave_up + fx->vm->st.dropped_flushed, 0);

	/* Another processor's line, and a prompt, start packets of their own. */
	rfx_guest_state_change(fx, PC);
	rfx_guest_print(fx, "x\n");
	len = tr_print_cpu(kd, 1, "y\n");
	rfx_guest_kd(fx, KD_PACKET_TYPE_DEBUG_IO, kd, len);
	{
		struct kd_api_msg m;

		kd_api_build_prompt(&m, 0, "?", 1, 16);
		rfx_guest_kd(fx, KD_PACKET_TYPE_DEBUG_IO, kd, tr_msg_payload(&m, kd));
	}
	rfx_guest_print(fx, "z\n");
	assert_int_equal(fx->vm->queue.count, 4);

	/* Nor is a line joined to one of the relay's own notices (clients match their whole
	 * text): the guest leaves and comes back (two notices queued), then prints twice. */
	relay_vm_guest_disconnected(fx->vm, fx->now);
	rfx_guest_connect(fx);
	assert_int_equal(fx->vm->queue.count, 6);
	rfx_guest_print(fx, "p\n");
	assert_int_equal(fx->vm->queue.count, 7);
	rfx_guest_print(fx, "q\n");
	assert_int_equal(fx->vm->queue.count, 7);
}

/* 1000 DbgPrints in one go while the debugger reads 7 bytes at a time: the queue fills,
 * the guest is not read, and every line arrives once, in order. Alternating processors:
 * never joined, so the queue fills. */
static void relay_backpressure_keeps_everything(void **state)
{
	struct relay_fixture *fx = *state;

	prints_to_slow_debugger(fx, 1);
	assert_int_equal(fx->delivered, NPRINTS);
	assert_true(fx->prints_in_order);
	assert_int_equal(fx->next_print, NPRINTS);
	assert_int_equal(fx->vm->st.queue_max, RELAY_QUEUE_MAX);
	assert_true(fx->vm->st.guest_stalls > 0);
	assert_int_equal(fx->vm->st.kd_acked, NPRINTS);
	assert_int_equal(fx->vm->st.dropped_queue_full + fx->vm->st.dropped_prints +
			 fx->vm->st.gave_up + fx->vm->st.dropped_flushed, 0);
}

/* Issue #10 item 2: each RESEND makes the link retransmit its packet in flight (4 KiB for 16
 * bytes). One 64 KiB read of RESENDs must not queue megabytes for the debugger: the core
 * takes input only while the output has room for the worst-case answer, and counts what
 * it held back. */
static void relay_resend_flood_bounded(void **state)
{
	struct relay_fixture *fx = *state;
	static uint8_t flood[64 * 1024];
	uint8_t kd[KD_MAX_PAYLOAD];
	size_t off = 0, taken, most = 0;
	int rounds = 0;

	fx->vm->trace = 0;
	rfx_guest_connect(fx);
	rfx_guest_hello(fx);
	rfx_dbg_connect(fx, 1);
	memset(kd, 0x5a, sizeof(kd));
	rfx_guest_kd(fx, KD_PACKET_TYPE_STATE_MANIPULATE, kd, sizeof(kd)); /* 4 KiB in flight */
	assert_true(kd_link_busy(&fx->vm->link));
	dbg_lose_output(fx);
	for (size_t i = 0; i < sizeof(flood); i += KD_HEADER_SIZE)
		kd_control_build(flood + i, KD_PACKET_TYPE_RESEND, 0);

	taken = relay_vm_debugger_input(fx->vm, flood, sizeof(flood), fx->now);
	assert_true(taken < sizeof(flood));
	assert_true(relay_buf_pending(&fx->vm->to_debugger) <= RELAY_OUT_SOFT_CAP);
	assert_false(relay_vm_debugger_can_read(fx->vm));
	assert_true(fx->vm->st.debugger_held > 0);
	assert_int_equal(fx->vm->st.debugger_held_bytes, sizeof(flood) - taken);

	/* The debugger reads its output; the rest of the flood goes in, never above the cap. */
	off = taken;
	while (off < sizeof(flood) && rounds++ < 10000) {
		dbg_lose_output(fx);
		assert_true(relay_vm_debugger_can_read(fx->vm));
		off += relay_vm_debugger_input(fx->vm, flood + off, sizeof(flood) - off, fx->now);
		if (relay_buf_pending(&fx->vm->to_debugger) > most)
			most = relay_buf_pending(&fx->vm->to_debugger);
	}
	assert_int_equal(off, sizeof(flood));
	assert_true(most <= RELAY_OUT_SOFT_CAP);
	assert_int_equal(fx->vm->link.stats.resends_received, sizeof(flood) / KD_HEADER_SIZE);
	assert_int_equal(fx->vm->st.out_overflow, 0);
	{
		char line[2048], want[64];

		relay_vm_format_stats(fx->vm, line, sizeof(line));
		snprintf(want, sizeof(want), "dbg input held %llu (",
			 (unsigned long long)fx->vm->st.debugger_held);
		assert_non_null(strstr(line, want));
		assert_non_null(strstr(line, "| bad max_payload 0"));
	}
}

/* Sends a debugger request: GetVersion, or a WriteVirtualMemory of len bytes. */
static void dbg_request(struct relay_fixture *fx, size_t write_len)
{
	static uint8_t data[KD_MANIPULATE_MAX_DATA];
	struct kd_api_msg req;

	if (write_len)
		assert_int_equal(kd_api_req_write_virtual(&req, PC, data, (uint32_t)write_len),
				 KD_API_OK);
	else
		kd_api_req_get_version(&req);
	assert_int_equal(kd_link_send(&fx->dbg, req.type, &req.u, req.hdr_len, req.data,
				      req.data_len, fx->now), 0);
	rfx_exchange(fx);
}

/* Issue #10 item 4: a debugger packet the relay cannot pass on (no guest) is not ACKed, so
 * the debugger keeps it and sends it again; once the guest is back it goes through. */
static void relay_no_ack_without_guest(void **state)
{
	struct relay_fixture *fx = *state;

	rfx_dbg_connect(fx, 1);
	dbg_request(fx, 0);
	assert_true(kd_link_busy(&fx->dbg));          /* not acknowledged */
	assert_int_equal(fx->vm->st.unacked_no_guest, 1);
	assert_int_equal(fx->vm->st.kd_to_guest, 0);

	rfx_guest_connect(fx);
	tr_view_clear(&fx->gv);
	fx->now += SECOND;                             /* the debugger's ACK timeout */
	kd_link_poll(&fx->dbg, fx->now);
	rfx_exchange(fx);
	assert_false(kd_link_busy(&fx->dbg));
	assert_int_equal(fx->vm->st.kd_to_guest, 1);
	assert_int_equal(tr_view_count(&fx->gv, VMKD_FRAME_KD_PACKET), 1);
	assert_int_equal(fx->vm->link.stats.refused, 1);
	assert_int_equal(fx->vm->link.stats.duplicates, 0);
}

/* A guest HELLO with a max_payload below one whole KD packet is raised to it (and counted):
 * a maximal WriteVirtualMemory still reaches the guest, ACKed only then. */
static void relay_max_payload_floor(void **state)
{
	struct relay_fixture *fx = *state;
	uint8_t frame[128];
	struct vmkd_hello h;
	size_t n;

	rfx_guest_connect(fx);
	memset(&h, 0, sizeof(h));
	h.capabilities = VMKD_CAP_KD_PACKETS;
	h.max_payload = 1;
	n = tr_frame(frame, sizeof(frame), VMKD_FRAME_HELLO, fx->gseq++, &h, sizeof(h));
	rfx_guest_input(fx, frame, n);
	assert_int_equal(fx->vm->guest_max_payload, VMKD_FRAME_MAX_PAYLOAD);
	assert_int_equal(fx->vm->st.bad_max_payload, 1);

	rfx_dbg_connect(fx, 1);
	tr_view_clear(&fx->gv);
	dbg_request(fx, KD_MANIPULATE_MAX_DATA);
	assert_false(kd_link_busy(&fx->dbg));
	assert_int_equal(tr_view_count(&fx->gv, VMKD_FRAME_KD_PACKET), 1);
	assert_int_equal(fx->gv.frames[tr_view_find(&fx->gv, VMKD_FRAME_KD_PACKET, 0)].len,
			 VMKD_FRAME_MAX_PAYLOAD);
	assert_int_equal(fx->vm->st.dropped_too_big + fx->vm->st.unacked_too_big, 0);
}

/* The text of the last DbgPrint the debugger got. */
static void last_print(struct relay_fixture *fx, char *out, size_t cap)
{
	const uint8_t *text;
	struct kd_debug_io io;
	size_t len;

	assert_int_equal(fx->last_type, KD_PACKET_TYPE_DEBUG_IO);
	assert_int_equal(kd_api_parse_debug_io(fx->last_payload, fx->last_len, &io, &text, &len),
			 KD_API_OK);
	assert_true(len < cap);
	memcpy(out, text, len);
	out[len] = '\0';
}

/* Issue #10 item 7: when QEMU's chardev goes away under an attached debugger, the relay
 * tells the debugger with a DbgPrint of its own, after what the guest had already sent;
 * and again when it comes back. Without a debugger nothing is said. */
static void relay_guest_gone_notice(void **state)
{
	struct relay_fixture *fx = *state;
	char text[256];

	rfx_guest_connect(fx);
	rfx_guest_hello(fx);
	rfx_dbg_connect(fx, 1);
	fx->delivered = 0;

	rfx_guest_state_change(fx, PC);                 /* in flight when QEMU goes away */
	relay_vm_guest_disconnected(fx->vm, fx->now);
	rfx_exchange(fx);
	assert_int_equal(fx->delivered, 2);
	last_print(fx, text, sizeof(text));
	assert_string_equal(text, RELAY_NOTICE_PREFIX RELAY_NOTICE_GUEST_GONE
			    ": VM 'vm0' left the relay (QEMU closed its chardev)\n");
	assert_int_equal(fx->vm->st.notices, 1);
	assert_false(kd_link_busy(&fx->vm->link));

	relay_vm_guest_connected(fx->vm, fx->now);
	rfx_exchange(fx);
	assert_int_equal(fx->delivered, 3);
	last_print(fx, text, sizeof(text));
	assert_string_equal(text, RELAY_NOTICE_PREFIX RELAY_NOTICE_GUEST_BACK
			    ": VM 'vm0' is back on the relay (QEMU reconnected its chardev)\n");
	assert_int_equal(fx->vm->st.notices, 2);

	/* No debugger: QEMU coming and going is only logged. */
	relay_vm_debugger_disconnected(fx->vm, fx->now);
	relay_vm_guest_disconnected(fx->vm, fx->now);
	relay_vm_guest_connected(fx->vm, fx->now);
	assert_int_equal(fx->vm->st.notices, 2);
	assert_int_equal(relay_buf_pending(&fx->vm->to_debugger), 0);
}

/* The guest's GetVersion reply with this machine type. */
static void guest_version(struct relay_fixture *fx, uint16_t machine)
{
	struct kd_api_msg req, rep;
	struct kd_get_version64 ver;
	uint8_t kd[KD_MAX_PAYLOAD];

	memset(&ver, 0, sizeof(ver));
	ver.machine_type = machine;
	kd_api_req_get_version(&req);
	kd_api_reply_version(&rep, &req.u.m, &ver);
	rfx_guest_kd(fx, KD_PACKET_TYPE_STATE_MANIPULATE, kd, tr_msg_payload(&rep, kd));
	rfx_exchange(fx);
}

/* Issue #10: the start-up hints assume an x86-64 guest (radare2 -b 64); the relay learns the
 * real machine type from the guest's GetVersion reply and says when the hint was wrong. */
static void relay_learns_machine_type(void **state)
{
	struct relay_fixture *fx = *state;

	rfx_guest_connect(fx);
	rfx_guest_hello(fx);
	rfx_dbg_connect(fx, 1);
	guest_version(fx, KD_MACHINE_AMD64);
	assert_int_equal(fx->vm->guest_machine, KD_MACHINE_AMD64);
	assert_non_null(strstr(rfx_log_text(fx), "guest machine x86-64 (0x8664)"));
	assert_null(strstr(rfx_log_text(fx), "-b 32"));

	rfx_guest_hello(fx);                                   /* another boot, another kernel */
	rfx_exchange(fx);
	guest_version(fx, KD_MACHINE_I386);
	assert_int_equal(fx->vm->guest_machine, KD_MACHINE_I386);
	assert_non_null(strstr(rfx_log_text(fx), "guest machine x86 (0x14c): radare2 needs -b 32"));
}

static void relay_guest_stats(void **state)
{
	struct relay_fixture *fx = *state;
	struct vmkd_guest_stats gs;
	char line[1024];

	rfx_guest_connect(fx);
	tr_view_clear(&fx->gv);
	relay_vm_request_stats(fx->vm, fx->now);
	rfx_guest_take(fx);
	rfx_only_frame(fx, VMKD_FRAME_STATS_REQUEST);

	memset(&gs, 0, sizeof(gs));
	gs.packets_sent = 5;
	gs.notifications = 7;
	gs.port_io_while_polling = 0;
	gs.polls = 1234;
	rfx_guest_frame(fx, VMKD_FRAME_STATS, &gs, sizeof(gs));
	assert_true(fx->vm->have_guest_stats);
	assert_int_equal(fx->vm->guest_stats.notifications, 7);
	assert_int_equal(fx->vm->guest_stats.polls, 1234);
	assert_int_equal(fx->vm->st.guest_stats_frames, 1);
	assert_true(strstr(rfx_log_text(fx), "guest stats: packets sent 5") != NULL);
	relay_vm_format_guest_stats(fx->vm, line, sizeof(line));
	assert_true(strstr(line, "notifications 7") != NULL);
	relay_vm_format_stats(fx->vm, line, sizeof(line));
	assert_true(strstr(line, "stats: guest->dbg 0 pkts") != NULL);
	assert_true(strstr(line, "guest connected") != NULL);
}

static void relay_guest_comes_and_goes(void **state)
{
	struct relay_fixture *fx = *state;
	uint8_t frame[VMKD_FRAME_MAX_BYTES], kd[KD_MAX_PAYLOAD];
	struct kd_api_msg req;
	size_t n;

	rfx_guest_connect(fx);
	rfx_guest_hello(fx);
	rfx_dbg_connect(fx, 1);
	tr_view_clear(&fx->gv);

	/* Half a frame, then QEMU goes away. */
	n = tr_kd_frame(frame, sizeof(frame), fx->gseq++, KD_PACKET_TYPE_STATE_CHANGE64, kd,
			tr_state_change(kd, PC));
	rfx_guest_input(fx, frame, n / 2);
	relay_vm_guest_disconnected(fx->vm, fx->now);
	assert_false(fx->vm->guest_connected);

	/* The debugger is still there; what it sends has nowhere to go and is not ACKed. */
	kd_api_req_get_version(&req);
	kd_link_send(&fx->dbg, req.type, &req.u, req.hdr_len, NULL, 0, fx->now);
	rfx_exchange(fx);
	assert_int_equal(fx->gv.count, 0);
	assert_int_equal(fx->vm->st.unacked_no_guest, 1);
	assert_true(kd_link_busy(&fx->dbg));
	assert_int_equal(relay_vm_guest_input(fx->vm, frame, 4, fx->now), 4); /* ignored */

	/* QEMU is back: the guest learns a debugger is attached; the old half frame is gone. */
	relay_vm_guest_connected(fx->vm, fx->now);
	rfx_guest_take(fx);
	assert_int_equal(rfx_only_frame(fx, VMKD_FRAME_DEBUGGER)->value, 1);
	assert_int_equal(fx->gv.frames[0].seq, 0);
	rfx_guest_hello(fx);
	rfx_guest_state_change(fx, PC);
	rfx_exchange(fx);
	/* The notices "guest-disconnected" and "guest-connected", then the state change. */
	assert_int_equal(fx->delivered, 3);
	assert_int_equal(fx->vm->st.notices, 2);
	assert_int_equal(fx->last_type, KD_PACKET_TYPE_STATE_CHANGE64);
	assert_int_equal(fx->vm->parser.stats.skipped_bytes, 0);
	assert_int_equal(fx->vm->st.guest_connects, 2);
	assert_int_equal(fx->vm->st.guest_disconnects, 1);
}

static void relay_debugger_odd_packets(void **state)
{
	struct relay_fixture *fx = *state;
	uint8_t junk[16] = { 0 };

	rfx_guest_connect(fx);
	rfx_dbg_connect(fx, 1);
	tr_view_clear(&fx->gv);
	/* A data packet with a control type number: ACKed by the link, not forwarded. */
	assert_int_equal(kd_link_send(&fx->dbg, 0x20, junk, sizeof(junk), NULL, 0, fx->now), 0);
	rfx_exchange(fx);
	assert_int_equal(fx->gv.count, 0);
	assert_int_equal(fx->vm->st.debugger_bad_type, 1);
	assert_false(kd_link_busy(&fx->dbg));
	/* Noise from the debugger: counted by the link, never a crash. */
	relay_vm_debugger_input(fx->vm, (const uint8_t *)"0000\x02\x00\xff\xff", 8, fx->now);
	for (int i = 0; i < 300; i++)
		relay_vm_debugger_input(fx->vm, (const uint8_t *)"iiii0000", 8, fx->now);
	assert_int_equal(fx->gv.count, 0);
}

static void relay_trace_lines(void **state)
{
	struct relay_fixture *fx = *state;
	const char *t;

	rfx_guest_connect(fx);
	rfx_guest_hello(fx);
	rfx_dbg_connect(fx, 1);
	rfx_guest_state_change(fx, PC);
	rfx_exchange(fx);
	t = rfx_log_text(fx);
	assert_true(strstr(t, "vm0: guest <- HELLO seq=0 len=48") != NULL);
	assert_true(strstr(t, "vm0: guest -> HELLO_ACK") != NULL);
	assert_true(strstr(t, "vm0: dbg   -> RESET") != NULL);
	assert_true(strstr(t, "vm0: dbg   <- RESET") != NULL);
	assert_true(strstr(t, "vm0: guest -> RESYNC") != NULL);
	assert_true(strstr(t, "vm0: guest <- KD_PACKET seq=1 len=") != NULL);
	assert_true(strstr(t, "STATE_CHANGE sent") != NULL);
	assert_true(strstr(t, "vm0: dbg   <- STATE_CHANGE id=80800000") != NULL);
	assert_true(strstr(t, "vm0: dbg   -> ACK id=80800000") != NULL);
	assert_true(strstr(t, "[    0.000000] vm0: ") != NULL);
}

/* relay_queue_keep (what a guest HELLO leaves queued): the kept packets keep their order
 * and bytes, also when the ring has wrapped, and the count dropped is returned. */
static int odd_first_byte(const struct relay_packet *p)
{
	return p->len && (p->data[0] & 1);
}

static void relay_queue_keep_in_order_across_the_wrap(void **state)
{
	struct relay_queue q;
	uint8_t b[3];

	(void)state;
	assert_int_equal(relay_queue_init(&q, 4), 0);
	for (uint8_t i = 0; i < 3; i++) { /* move head to 3: the next pushes wrap */
		assert_int_equal(relay_queue_push(&q, 2, &i, 1), 0);
		relay_queue_pop(&q);
	}
	for (uint8_t i = 1; i <= 4; i++) {
		b[0] = i, b[1] = (uint8_t)(i * 10), b[2] = 0xee;
		assert_int_equal(relay_queue_push(&q, 3, b, i % 2 ? 3 : 1), 0);
	}
	assert_int_equal(relay_queue_keep(&q, odd_first_byte), 2);
	assert_int_equal(q.count, 2);
	for (uint8_t i = 1; i <= 3; i += 2) {
		const struct relay_packet *p = relay_queue_front(&q);

		assert_non_null(p);
		assert_int_equal(p->type, 3);
		assert_int_equal(p->len, 3);
		assert_int_equal(p->data[0], i);
		assert_int_equal(p->data[1], i * 10);
		assert_int_equal(p->data[2], 0xee);
		relay_queue_pop(&q);
	}
	assert_null(relay_queue_front(&q));
	assert_int_equal(relay_queue_keep(&q, odd_first_byte), 0);
	relay_queue_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		RFX_TEST(relay_full_exchange),
		RFX_TEST(relay_reset_becomes_resync),
		RFX_TEST(relay_breakin_becomes_frame),
		RFX_TEST(relay_hello_renumbers),
		cmocka_unit_test(relay_queue_keep_in_order_across_the_wrap),
		RFX_TEST(relay_no_debugger_rules),
		RFX_TEST(relay_no_log_no_host_log_cap),
		RFX_TEST(relay_logs_prints_without_debugger),
		RFX_TEST(relay_debugger_comes_and_goes),
		RFX_TEST(relay_silent_debugger),
		RFX_TEST(relay_malformed_frames),
		RFX_TEST(relay_random_input_never_crashes),
		RFX_TEST(relay_joins_waiting_prints),
		RFX_TEST(relay_backpressure_keeps_everything),
		RFX_TEST(relay_resend_flood_bounded),
		RFX_TEST(relay_no_ack_without_guest),
		RFX_TEST(relay_max_payload_floor),
		RFX_TEST(relay_guest_gone_notice),
		RFX_TEST(relay_learns_machine_type),
		RFX_TEST(relay_guest_stats),
		RFX_TEST(relay_guest_comes_and_goes),
		RFX_TEST(relay_debugger_odd_packets),
		RFX_TEST(relay_trace_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
