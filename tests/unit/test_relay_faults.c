/* SPDX-License-Identifier: MIT */
/*
 * Faults at the relay's per-VM core, driven in-process as in test_relay_vm.c (the fixture
 * of relay_fixture.h: a fake guest and a debugger-role kd_link): a guest whose transport
 * restarts while it is stopped with a debugger request in its lost receive ring, and a GDB
 * client pointed at the KD endpoint. VMKD_TEST_TRACE=1 prints each test's relay log on
 * stderr.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmkd/kd_api.h"
#include "vmkd/kd_link.h"
#include "vmkd/kd_packet.h"
#include "vmkd/kd_parser.h"
#include "vmkd/vmkd_frame_parser.h"

#include "../../host/common/relay_notice.h"
#include "../../host/relay/relay_vm.h"
#include "relay_fixture.h"
#include "test_relay_fakes.h"

#define SECOND 1000000ull
#define PC     0xfffff80000401000ull

/* ---- tests ------------------------------------------------------------------------- */

/* Guest up, debugger attached, guest stopped at a breakpoint and reported. */
static void stopped_session(struct relay_fixture *fx)
{
	rfx_guest_connect(fx);
	rfx_guest_hello(fx);
	rfx_dbg_connect(fx, 1);
	rfx_guest_state_change(fx, PC);
	rfx_exchange(fx);
	assert_int_equal(fx->last_type, KD_PACKET_TYPE_STATE_CHANGE64);
	tr_view_clear(&fx->gv);
}

/* The last KD_PACKET frame the guest got, as a KD payload. */
static const uint8_t *guest_kd_payload(struct relay_fixture *fx, int idx, size_t *len)
{
	const struct tr_frame_rec *f;

	assert_true(idx >= 0);
	f = &fx->gv.frames[idx];
	assert_int_equal(f->type, VMKD_FRAME_KD_PACKET);
	*len = f->len - sizeof(struct vmkd_kd_packet);
	return f->payload + sizeof(struct vmkd_kd_packet);
}

/* The guest says HELLO again (its transport restarted): how many KD packets the relay
 * sends it again. */
static size_t resent_after_hello(struct relay_fixture *fx)
{
	tr_view_clear(&fx->gv);
	rfx_guest_hello(fx);
	rfx_guest_take(fx);
	return tr_view_count(&fx->gv, VMKD_FRAME_KD_PACKET);
}

static void guest_version_reply(struct relay_fixture *fx, const uint8_t *req_payload,
				size_t req_len)
{
	struct kd_manipulate_state64 req;
	struct kd_get_version64 ver;
	struct kd_api_msg reply;
	uint8_t kd[KD_MAX_PAYLOAD];

	assert_true(req_len >= sizeof(req));
	memcpy(&req, req_payload, sizeof(req));
	memset(&ver, 0, sizeof(ver));
	ver.machine_type = KD_MACHINE_AMD64;
	kd_api_reply_version(&reply, &req, &ver);
	rfx_guest_kd(fx, KD_PACKET_TYPE_STATE_MANIPULATE, kd, tr_msg_payload(&reply, kd));
}

/* The known defect: the guest's device was reset while GetVersion sat in its receive ring.
 * The relay had ACKed it, so the debugger would wait for its timeout; the relay now sends
 * it again after the HELLO, and the reply reaches the debugger. */
static void relay_midstop_hello_resends_request(void **state)
{
	struct relay_fixture *fx = *state;
	struct kd_api_msg req;
	uint8_t sent[KD_MAX_PAYLOAD];
	const uint8_t *p;
	size_t sent_len, len;
	uint32_t api;

	stopped_session(fx);
	kd_api_req_get_version(&req);
	rfx_dbg_send(fx, &req);
	p = guest_kd_payload(fx, tr_view_find(&fx->gv, VMKD_FRAME_KD_PACKET, 0), &sent_len);
	memcpy(sent, p, sent_len);
	assert_false(kd_link_busy(&fx->dbg)); /* the debugger has its ACK */

	tr_view_clear(&fx->gv);
	fx->delivered = 0;
	rfx_guest_hello(fx);
	rfx_guest_take(fx);
	assert_int_equal(fx->gv.count, 2);
	assert_int_equal(fx->gv.frames[0].type, VMKD_FRAME_HELLO_ACK);
	p = guest_kd_payload(fx, 1, &len);
	assert_int_equal(len, sent_len);
	assert_memory_equal(p, sent, len);
	assert_int_equal(fx->vm->st.requests_resent, 1);
	assert_non_null(strstr(rfx_log_text(fx), "GetVersion request"));

	/* The guest answers; the debugger gets the reply (after the SYNC/RESET round). */
	guest_version_reply(fx, sent, sent_len);
	rfx_exchange(fx);
	rfx_advance(fx, 1);
	rfx_exchange(fx);
	assert_int_equal(fx->delivered, 1);
	assert_int_equal(fx->last_type, KD_PACKET_TYPE_STATE_MANIPULATE);
	memcpy(&api, fx->last_payload, sizeof(api));
	assert_int_equal(api, KD_API_GET_VERSION);

	/* Answered: another HELLO has nothing to send again. */
	assert_int_equal(resent_after_hello(fx), 0);
	assert_int_equal(fx->vm->st.requests_resent, 1);
}

/* Nothing is sent again when it would be wrong: after a Continue (the kernel runs), for a
 * guest that never stopped (a boot), and once the debugger that asked has left. */
static void relay_hello_resends_only_unanswered(void **state)
{
	struct relay_fixture *fx = *state;
	struct kd_api_msg req;

	stopped_session(fx);
	kd_api_req_read_virtual(&req, PC, 16);
	rfx_dbg_send(fx, &req);
	kd_api_req_continue2(&req, KD_DBG_CONTINUE, 0, 0);
	rfx_dbg_send(fx, &req);
	assert_int_equal(tr_view_count(&fx->gv, VMKD_FRAME_KD_PACKET), 2);
	assert_int_equal(resent_after_hello(fx), 0);

	/* A running guest (DbgPrint, no state change) with a request in hand: not resent. */
	rfx_guest_print(fx, "running\n");
	rfx_exchange(fx);
	kd_api_req_read_virtual(&req, PC, 16);
	rfx_dbg_send(fx, &req);
	assert_int_equal(resent_after_hello(fx), 0);

	/* Stopped again, asked, then the debugger left: nobody waits for the answer. */
	rfx_guest_state_change(fx, PC);
	rfx_exchange(fx);
	rfx_advance(fx, 1);
	rfx_exchange(fx);
	kd_api_req_read_virtual(&req, PC, 16);
	rfx_dbg_send(fx, &req);
	assert_int_equal(fx->vm->unanswered_len, sizeof(struct kd_manipulate_state64));
	relay_vm_debugger_disconnected(fx->vm, fx->now);
	assert_int_equal(resent_after_hello(fx), 0);
	assert_int_equal(fx->vm->st.requests_resent, 0);
}

/* A stopped guest that never answers a request is reported once, after
 * RELAY_GUEST_ANSWER_US; one that answers in time is not. */
static void relay_reports_unanswered_request(void **state)
{
	struct relay_fixture *fx = *state;
	struct kd_api_msg req;
	const uint8_t *p;
	size_t len;
	uint64_t asked;

	stopped_session(fx);
	kd_api_req_get_version(&req);
	rfx_dbg_send(fx, &req);
	p = guest_kd_payload(fx, tr_view_find(&fx->gv, VMKD_FRAME_KD_PACKET, 0), &len);
	guest_version_reply(fx, p, len); /* answered at once */
	rfx_exchange(fx);
	rfx_advance(fx, RELAY_GUEST_ANSWER_US + SECOND);
	rfx_exchange(fx);
	assert_int_equal(fx->vm->st.guest_unanswered, 0);

	kd_api_req_read_virtual(&req, PC, 16);
	rfx_dbg_send(fx, &req);
	asked = fx->now;
	assert_true(relay_vm_deadline(fx->vm) <= asked + RELAY_GUEST_ANSWER_US);
	rfx_advance(fx, RELAY_GUEST_ANSWER_US - SECOND);
	assert_int_equal(fx->vm->st.guest_unanswered, 0);
	rfx_advance(fx, 2 * SECOND);
	assert_int_equal(fx->vm->st.guest_unanswered, 1);
	assert_non_null(strstr(rfx_log_text(fx),
			       "has not answered the debugger's ReadVirtualMemory"));
	rfx_advance(fx, 60 * SECOND); /* once per request */
	assert_int_equal(fx->vm->st.guest_unanswered, 1);
	/* Reported: no more wake-ups for it, only the link's own. */
	assert_int_equal(relay_vm_deadline(fx->vm), kd_link_deadline(&fx->vm->link));
}

static unsigned rsp_sum(const char *s, size_t n)
{
	unsigned sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += (uint8_t)s[i];
	return sum & 0xffu;
}

/* gdb -ex 'target remote' at the relay's KD socket: none of the 'b's in its packets may
 * break into the guest; the guest is told no debugger is there, GDB gets an RSP error
 * naming `vmkd gdb`, and the next (KD) debugger works as usual. */
static void relay_gdb_client_is_told(void **state)
{
	static const char gdb[] = "+$qSupported:multiprocess+;swbreak+;hwbreak+#00"
				  "$vMustReplyEmpty#3a+$qTStatus#49+$bbbbbbbbbbbbbbbb#10";
	struct relay_fixture *fx = *state;
	const char *reply, *hash;
	size_t n;
	char text[512];

	rfx_guest_connect(fx);
	rfx_guest_hello(fx);
	rfx_guest_take(fx);
	tr_view_clear(&fx->gv);
	assert_int_equal(relay_vm_debugger_connected(fx->vm, fx->now), 0);
	rfx_guest_take(fx);
	assert_int_equal(rfx_only_frame(fx, VMKD_FRAME_DEBUGGER)->value, 1);
	tr_view_clear(&fx->gv);

	for (int i = 0; i < 100; i++) /* it keeps talking */
		assert_int_equal(relay_vm_debugger_input(fx->vm, (const uint8_t *)gdb,
							 sizeof(gdb) - 1, fx->now),
				 sizeof(gdb) - 1);
	rfx_guest_take(fx);
	assert_int_equal(tr_view_count(&fx->gv, VMKD_FRAME_BREAKIN), 0);
	assert_int_equal(tr_view_count(&fx->gv, VMKD_FRAME_RESYNC), 0);
	assert_int_equal(rfx_only_frame(fx, VMKD_FRAME_DEBUGGER)->value, 0);
	assert_int_equal(fx->vm->st.breakins, 0);
	assert_int_equal(fx->vm->st.rsp_clients, 1);
	assert_true(relay_vm_debugger_can_read(fx->vm));
	assert_non_null(strstr(rfx_log_text(fx), "GDB remote protocol"));

	/* One RSP reply: ACK, then $E.<text>#<sum> with a correct checksum. */
	n = relay_buf_pending(&fx->vm->to_debugger);
	assert_true(n > 4 && n < sizeof(text));
	memcpy(text, relay_buf_peek(&fx->vm->to_debugger), n);
	text[n] = '\0';
	assert_true(text[0] == '+' && text[1] == '$' && text[2] == 'E' && text[3] == '.');
	assert_non_null(strstr(text, "vmkd gdb"));
	reply = text + 2;
	hash = strchr(reply, '#');
	assert_non_null(hash);
	assert_int_equal(strtoul(hash + 1, NULL, 16), rsp_sum(reply, (size_t)(hash - reply)));
	assert_int_equal(hash + 3 - text, (long)n);

	/* The guest stops: nobody to tell, so it is answered as without a debugger. */
	tr_view_clear(&fx->gv);
	rfx_guest_state_change(fx, PC);
	rfx_guest_take(fx);
	assert_int_equal(rfx_only_frame(fx, VMKD_FRAME_DEBUGGER)->value, 0);
	assert_int_equal(fx->vm->st.kd_to_debugger, 0);

	/* GDB leaves, a KD debugger comes: its 'b' breaks in. */
	relay_vm_debugger_disconnected(fx->vm, fx->now);
	rfx_dbg_connect(fx, 0);
	tr_view_clear(&fx->gv);
	assert_int_equal(relay_vm_debugger_input(fx->vm, (const uint8_t *)"b", 1, fx->now), 1);
	rfx_guest_take(fx);
	assert_int_equal(tr_view_count(&fx->gv, VMKD_FRAME_BREAKIN), 1);
	assert_int_equal(fx->vm->st.rsp_clients, 1);
}

/* What KD debuggers send first ('b', a RESET) is never taken for GDB. */
static void relay_kd_debuggers_are_not_gdb(void **state)
{
	struct relay_fixture *fx = *state;

	rfx_guest_connect(fx);
	rfx_guest_hello(fx);
	rfx_dbg_connect(fx, 1); /* RESET first */
	assert_int_equal(fx->vm->st.rsp_clients, 0);
	relay_vm_debugger_disconnected(fx->vm, fx->now);
	rfx_dbg_connect(fx, 0);
	tr_view_clear(&fx->gv);
	assert_int_equal(relay_vm_debugger_input(fx->vm, (const uint8_t *)"b", 1, fx->now), 1);
	rfx_guest_take(fx);
	assert_int_equal(tr_view_count(&fx->gv, VMKD_FRAME_BREAKIN), 1);
	/* Later '$' or '+' bytes from a KD debugger are line noise, not GDB. */
	assert_int_equal(relay_vm_debugger_input(fx->vm, (const uint8_t *)"$+", 2, fx->now), 2);
	assert_int_equal(fx->vm->st.rsp_clients, 0);
	assert_true(relay_vm_debugger_attached(fx->vm));
}

/* The bench's hostmem run: QEMU starts paused, the debugger connects (RESET) seconds before
 * kdvm.dll says HELLO, and QEMU hands the DLL whatever the relay wrote meanwhile. A RESYNC
 * among it made the kernel report its first stop twice; the debugger answered both, and
 * from then on each stop took the previous one's Continue. Nothing but DEBUGGER may go to
 * a guest that has not said HELLO; a break-in asked for meanwhile follows the HELLO_ACK. */
static void relay_no_resync_before_hello(void **state)
{
	struct relay_fixture *fx = *state;

	rfx_guest_connect(fx);
	rfx_dbg_connect(fx, 1);
	rfx_advance(fx, SECOND);
	rfx_exchange(fx);
	kd_link_send_breakin(&fx->dbg);
	rfx_exchange(fx);
	kd_link_start_reset(&fx->dbg, fx->now); /* a second RESET: still nothing */
	rfx_exchange(fx);
	assert_int_equal(tr_view_count(&fx->gv, VMKD_FRAME_RESYNC), 0);
	assert_int_equal(tr_view_count(&fx->gv, VMKD_FRAME_BREAKIN), 0);
	assert_int_equal(tr_view_count(&fx->gv, VMKD_FRAME_KD_PACKET), 0);
	assert_true(fx->vm->st.resyncs_before_hello >= 1);
	assert_int_equal(fx->vm->st.breakins_deferred, 1);

	tr_view_clear(&fx->gv);
	rfx_guest_hello(fx);
	rfx_guest_take(fx);
	assert_int_equal(fx->gv.count, 2);
	assert_int_equal(fx->gv.frames[0].type, VMKD_FRAME_HELLO_ACK);
	assert_int_equal(fx->gv.frames[1].type, VMKD_FRAME_BREAKIN);

	/* The stop is reported once and reaches the debugger once. */
	fx->delivered = 0;
	rfx_guest_state_change(fx, PC);
	rfx_exchange(fx);
	rfx_advance(fx, 1);
	rfx_exchange(fx);
	assert_int_equal(fx->delivered, 1);
	assert_int_equal(fx->last_type, KD_PACKET_TYPE_STATE_CHANGE64);
	assert_int_equal(tr_view_count(&fx->gv, VMKD_FRAME_RESYNC), 0);

	/* Once the guest has said HELLO, a debugger's RESET asks it to report again. */
	tr_view_clear(&fx->gv);
	rfx_advance(fx, 2 * SECOND);
	kd_link_start_reset(&fx->dbg, fx->now);
	rfx_exchange(fx);
	assert_int_equal(tr_view_count(&fx->gv, VMKD_FRAME_RESYNC), 1);

	/* A new chardev connection (QEMU restarted) waits for its own HELLO again. */
	relay_vm_guest_disconnected(fx->vm, fx->now);
	rfx_guest_connect(fx);
	tr_view_clear(&fx->gv);
	rfx_advance(fx, 2 * SECOND);
	kd_link_start_reset(&fx->dbg, fx->now);
	rfx_exchange(fx);
	assert_int_equal(tr_view_count(&fx->gv, VMKD_FRAME_RESYNC), 0);

	/* A break-in whose debugger left before the HELLO is nobody's: not sent. */
	kd_link_send_breakin(&fx->dbg);
	rfx_exchange(fx);
	relay_vm_debugger_disconnected(fx->vm, fx->now);
	rfx_dbg_connect(fx, 0);
	tr_view_clear(&fx->gv);
	rfx_guest_hello(fx);
	rfx_guest_take(fx);
	assert_int_equal(tr_view_count(&fx->gv, VMKD_FRAME_HELLO_ACK), 1);
	assert_int_equal(tr_view_count(&fx->gv, VMKD_FRAME_BREAKIN), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		RFX_TEST(relay_midstop_hello_resends_request),
		RFX_TEST(relay_hello_resends_only_unanswered),
		RFX_TEST(relay_reports_unanswered_request),
		RFX_TEST(relay_no_resync_before_hello),
		RFX_TEST(relay_gdb_client_is_told),
		RFX_TEST(relay_kd_debuggers_are_not_gdb),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
