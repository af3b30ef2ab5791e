/* SPDX-License-Identifier: MIT */
/* The relay unit tests' fixture (relay_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "relay_fixture.h"

/* ---- the fake debugger ------------------------------------------------------------- */

static void dbg_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct relay_fixture *fx = opaque;

	assert_int_equal(relay_buf_append(&fx->dbg_out, buf, len), 0);
}

/* Counts the packet; DbgPrints of "line NNNN\n" lines (several when the relay joined
 * prints) are checked for order. */
static void dbg_deliver(void *opaque, uint16_t type, uint32_t id, const uint8_t *payload,
			size_t len)
{
	struct relay_fixture *fx = opaque;
	struct kd_debug_io io;
	const uint8_t *text;
	size_t text_len;

	fx->delivered++;
	fx->last_type = type;
	fx->last_id = id;
	fx->last_len = len;
	memcpy(fx->last_payload, payload, len);
	if (fx->on_deliver)
		fx->on_deliver(fx, type, id, payload, len);
	if (type != KD_PACKET_TYPE_DEBUG_IO ||
	    kd_api_parse_debug_io(payload, len, &io, &text, &text_len) != KD_API_OK)
		return;
	for (; text_len >= 10 && !memcmp(text, "line ", 5) && text[9] == '\n';
	     text += 10, text_len -= 10) {
		int n = atoi((const char *)text + 5);

		if (n != fx->next_print)
			fx->prints_in_order = 0;
		fx->next_print = n + 1;
		fx->lines++;
	}
}

static const struct kd_link_ops dbg_ops = {
	.write = dbg_write,
	.deliver = dbg_deliver,
};

/* ---- plumbing ---------------------------------------------------------------------- */

void rfx_init(struct relay_fixture *fx, uint64_t now)
{
	memset(fx, 0, sizeof(*fx));
	fx->log.f = open_memstream(&fx->logbuf, &fx->logsize);
	assert_non_null(fx->log.f);
	fx->now = now;
	fx->log.t0 = now;
	fx->vm = relay_vm_new("vm0", NULL, &fx->log);
	assert_non_null(fx->vm);
	fx->vm->trace = 1;
	tr_view_init(&fx->gv);
	relay_buf_init(&fx->dbg_out);
	kd_parser_init(&fx->raw);
	fx->prints_in_order = 1;
}

void rfx_fini(struct relay_fixture *fx)
{
	fclose(fx->log.f);
	if (getenv("VMKD_TEST_TRACE"))
		fprintf(stderr, "%s", fx->logbuf);
	free(fx->logbuf);
	relay_vm_free(fx->vm);
	relay_buf_free(&fx->dbg_out);
}

int rfx_setup(void **state)
{
	struct relay_fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	rfx_init(fx, 5000000);
	*state = fx;
	return 0;
}

int rfx_teardown(void **state)
{
	rfx_fini(*state);
	free(*state);
	return 0;
}

const char *rfx_log_text(struct relay_fixture *fx)
{
	fflush(fx->log.f);
	return fx->logbuf ? fx->logbuf : "";
}

void rfx_guest_take(struct relay_fixture *fx)
{
	struct relay_buf *b = &fx->vm->to_guest;

	tr_view_feed(&fx->gv, relay_buf_peek(b), relay_buf_pending(b));
	relay_buf_consume(b, relay_buf_pending(b));
}

void rfx_exchange(struct relay_fixture *fx)
{
	for (int round = 0; round < 10000; round++) {
		struct relay_buf *to = &fx->vm->to_debugger;
		size_t n = relay_buf_pending(to);
		int moved = 0;

		if (n) {
			if (fx->dbg_chunk && n > fx->dbg_chunk)
				n = fx->dbg_chunk;
			kd_link_input(&fx->dbg, relay_buf_peek(to), n, fx->now);
			relay_buf_consume(to, n);
			moved = 1;
		}
		if (relay_buf_pending(&fx->dbg_out)) {
			struct relay_buf *from = &fx->dbg_out;

			n = relay_vm_debugger_input(fx->vm, relay_buf_peek(from),
						    relay_buf_pending(from), fx->now);
			relay_buf_consume(from, n);
			moved |= n > 0;
		}
		if (fx->guest)
			moved |= fx->guest(fx);
		else
			rfx_guest_take(fx);
		if (!moved)
			return;
	}
	fail_msg("relay, debugger and guest never went quiet");
}

/* ---- the fake guest ---------------------------------------------------------------- */

void rfx_guest_input(struct relay_fixture *fx, const uint8_t *buf, size_t len)
{
	assert_int_equal(relay_vm_guest_input(fx->vm, buf, len, fx->now), len);
}

void rfx_guest_frame(struct relay_fixture *fx, uint8_t type, const void *payload, size_t len)
{
	uint8_t frame[VMKD_FRAME_MAX_BYTES];
	size_t n = tr_frame(frame, sizeof(frame), type, fx->gseq++, payload, len);

	assert_true(n > 0);
	rfx_guest_input(fx, frame, n);
}

void rfx_guest_kd(struct relay_fixture *fx, uint16_t kd_type, const uint8_t *kd, size_t len)
{
	uint8_t frame[VMKD_FRAME_MAX_BYTES];
	size_t n = tr_kd_frame(frame, sizeof(frame), fx->gseq++, kd_type, kd, len);

	assert_true(n > 0);
	rfx_guest_input(fx, frame, n);
}

void rfx_guest_state_change(struct relay_fixture *fx, uint64_t pc)
{
	uint8_t kd[KD_MAX_PAYLOAD];

	rfx_guest_kd(fx, KD_PACKET_TYPE_STATE_CHANGE64, kd, tr_state_change(kd, pc));
}

void rfx_guest_print(struct relay_fixture *fx, const char *text)
{
	uint8_t kd[KD_MAX_PAYLOAD];

	rfx_guest_kd(fx, KD_PACKET_TYPE_DEBUG_IO, kd, tr_print(kd, text));
}

void rfx_guest_hello(struct relay_fixture *fx)
{
	uint8_t frame[128];
	size_t n = tr_hello_frame(frame, sizeof(frame), fx->gseq++);

	rfx_guest_input(fx, frame, n);
}

void rfx_guest_connect(struct relay_fixture *fx)
{
	relay_vm_guest_connected(fx->vm, fx->now);
	rfx_guest_take(fx);
}

/* ---- the fake debugger, driven ----------------------------------------------------- */

void rfx_dbg_connect(struct relay_fixture *fx, int reset)
{
	assert_int_equal(relay_vm_debugger_connected(fx->vm, fx->now), 0);
	kd_link_init(&fx->dbg, KD_ROLE_DEBUGGER, &fx->vm->link_cfg, &dbg_ops, fx);
	relay_buf_clear(&fx->dbg_out);
	if (reset)
		kd_link_start_reset(&fx->dbg, fx->now);
	rfx_exchange(fx);
}

void rfx_dbg_send(struct relay_fixture *fx, const struct kd_api_msg *m)
{
	assert_int_equal(kd_link_send(&fx->dbg, m->type, &m->u, m->hdr_len, m->data,
				      m->data_len, fx->now), 0);
	rfx_exchange(fx);
}

void rfx_advance(struct relay_fixture *fx, uint64_t us)
{
	fx->now += us;
	relay_vm_poll(fx->vm, fx->now);
}

const struct tr_frame_rec *rfx_only_frame(struct relay_fixture *fx, uint8_t type)
{
	assert_int_equal(fx->gv.count, 1);
	assert_int_equal(fx->gv.frames[0].type, type);
	return &fx->gv.frames[0];
}
