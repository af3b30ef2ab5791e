/* SPDX-License-Identifier: MIT */
/* Replay: a recording's debugger session as a script of steps, played in the target role
 * against a live debugger, stopping at the first divergence. */
#include "replay.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmkd/kd_parser.h"
#include "vmkd/kd_trace.h"

#include "record_text.h"

#define STATUS_OFFSET 8u /* DBGKD_MANIPULATE_STATE64.ReturnStatus: not compared */

/* ---- the script ---------------------------------------------------------------------- */

/* A step at the recording's offset of rec; a packet step (ev not NULL) holds its type and
 * payload (which points into the recording). */
static struct replay_step *add_step(struct replay_script *s, enum replay_step_kind kind,
				    const struct record *rec, const struct kd_event *ev)
{
	struct replay_step *st;

	if (s->count == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;
		struct replay_step *n = realloc(s->steps, ncap * sizeof(*n));

		if (!n)
			return NULL;
		s->steps = n;
		s->cap = ncap;
	}
	st = &s->steps[s->count++];
	memset(st, 0, sizeof(*st));
	st->kind = kind;
	st->offset = rec->offset;
	if (ev) {
		st->type = ev->hdr.type;
		st->data = ev->payload;
		st->len = ev->payload_len;
	}
	return st;
}

static int same_packet(const struct replay_step *a, uint16_t type, const uint8_t *p, size_t len)
{
	return a && a->type == type && a->len == len && !memcmp(a->data, p, len);
}

/* What the builder remembers between records: retransmissions are not steps. */
struct builder {
	size_t last_target;      /* index + 1 of the last TARGET step, 0: none */
	uint32_t last_target_id;
	int target_acked;
	size_t last_dbg;         /* index + 1 of the last DEBUGGER step */
	uint32_t last_dbg_id;
};

static int add_wire(struct replay_script *s, struct builder *b, const struct record *rec)
{
	struct kd_parser p;
	struct kd_event ev;
	size_t used;

	if (rec->flags & RECORD_FLAG_FRAGMENT)
		return 0;
	kd_parser_init(&p);
	used = kd_parser_feed(&p, rec->body, rec->len, &ev);
	if (used != rec->len)
		return 0;
	/* the payload points into the parser: keep the recording's own bytes instead */
	if (ev.kind == KD_EV_DATA)
		ev.payload = rec->body + KD_HEADER_SIZE;
	if (rec->dir == RECORD_DIR_RELAY_TO_DEBUGGER) {
		if (ev.kind != KD_EV_DATA)
			return 0;
		if (b->last_target && !b->target_acked &&
		    same_packet(&s->steps[b->last_target - 1], ev.hdr.type, ev.payload,
				ev.payload_len))
			return 0; /* sent again: timeout, RESEND, or renumbered after a RESET */
		if (!add_step(s, REPLAY_TARGET, rec, &ev))
			return -1;
		s->targets++;
		b->last_target = s->count;
		b->last_target_id = ev.hdr.id;
		b->target_acked = 0;
		return 0;
	}
	if (ev.kind == KD_EV_DATA) {
		b->target_acked = 1; /* a data packet implies the ACK */
		if (b->last_dbg && ev.hdr.id == b->last_dbg_id &&
		    same_packet(&s->steps[b->last_dbg - 1], ev.hdr.type, ev.payload,
				ev.payload_len))
			return 0;
		if (!add_step(s, REPLAY_DEBUGGER, rec, &ev))
			return -1;
		s->debuggers++;
		b->last_dbg = s->count;
		b->last_dbg_id = ev.hdr.id;
		return 0;
	}
	if (ev.kind == KD_EV_CONTROL && ev.hdr.type == KD_PACKET_TYPE_ACKNOWLEDGE) {
		if ((ev.hdr.id & ~KD_SYNC_PACKET_ID) == (b->last_target_id & ~KD_SYNC_PACKET_ID))
			b->target_acked = 1;
		return 0;
	}
	if (ev.kind == KD_EV_BREAKIN ||
	    (ev.kind == KD_EV_CONTROL && ev.hdr.type == KD_PACKET_TYPE_RESET)) {
		if (s->count && s->steps[s->count - 1].kind == REPLAY_TRIGGER)
			return 0;
		if (!add_step(s, REPLAY_TRIGGER, rec, NULL))
			return -1;
		s->triggers++;
	}
	return 0;
}

int replay_script_build(struct replay_script *s, struct record_reader *r, char *err,
			size_t errlen)
{
	struct builder b;
	struct record rec;
	int rc, in_session = 0, seen_connect = 0;

	memset(s, 0, sizeof(*s));
	memset(&b, 0, sizeof(b));
	while ((rc = record_next(r, &rec)) == 1) {
		if (rec.type == RECORD_EVENT) {
			uint32_t ev = (uint32_t)rec.body[0] | (uint32_t)rec.body[1] << 8 |
				      (uint32_t)rec.body[2] << 16 | (uint32_t)rec.body[3] << 24;

			if (ev == RECORD_EV_DEBUGGER_CONNECTED) {
				in_session = 1;
				seen_connect = 1;
			} else if (ev == RECORD_EV_DEBUGGER_DISCONNECTED && in_session) {
				break; /* the first session only */
			}
			continue;
		}
		if (rec.type != RECORD_KD_WIRE || (!in_session && seen_connect))
			continue;
		in_session = 1;
		if (add_wire(s, &b, &rec)) {
			snprintf(err, errlen, "out of memory");
			replay_script_free(s);
			return -1;
		}
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s", r->err);
		replay_script_free(s);
		return -1;
	}
	if (!s->debuggers && !s->targets) {
		snprintf(err, errlen, "the recording has no debugger session to replay");
		replay_script_free(s);
		return -1;
	}
	return 0;
}

void replay_script_free(struct replay_script *s)
{
	free(s->steps);
	memset(s, 0, sizeof(*s));
}

/* ---- playing it ------------------------------------------------------------------------- */

static int matches(const struct replay_step *want, uint16_t type, const uint8_t *p, size_t len)
{
	if (want->type != type || want->len != len)
		return 0;
	if (type == KD_PACKET_TYPE_STATE_MANIPULATE && len >= STATUS_OFFSET + 4)
		return !memcmp(want->data, p, STATUS_OFFSET) &&
		       !memcmp(want->data + STATUS_OFFSET + 4, p + STATUS_OFFSET + 4,
			       len - STATUS_OFFSET - 4);
	return !memcmp(want->data, p, len);
}

__attribute__((format(printf, 2, 3)))
static void diverge(struct replay *rp, const char *fmt, ...)
{
	va_list ap;

	if (rp->status != REPLAY_RUNNING)
		return;
	rp->status = REPLAY_DIVERGED;
	va_start(ap, fmt);
	vsnprintf(rp->msg, sizeof(rp->msg), fmt, ap);
	va_end(ap);
}

static void describe(const struct replay_step *st, char *out, size_t cap)
{
	char line[KD_TRACE_LINE_MAX];

	switch (st->kind) {
	case REPLAY_TRIGGER:
		snprintf(out, cap, "a break-in or RESET from the debugger");
		return;
	case REPLAY_TARGET:
		record_format_kd(line, sizeof(line), 0, st->type, st->data, st->len);
		snprintf(out, cap, "the target to send %s", line);
		return;
	case REPLAY_DEBUGGER:
		record_format_kd(line, sizeof(line), 1, st->type, st->data, st->len);
		snprintf(out, cap, "%s", line);
		return;
	}
}

/* Sends TARGET steps while the link is idle; passes a TRIGGER once one came. */
static void advance(struct replay *rp, uint64_t now)
{
	while (rp->status == REPLAY_RUNNING && rp->cursor < rp->s->count) {
		const struct replay_step *st = &rp->s->steps[rp->cursor];

		if (st->kind == REPLAY_TRIGGER) {
			if (!rp->triggered)
				return;
			rp->triggered = 0;
			rp->cursor++;
			continue;
		}
		if (st->kind == REPLAY_DEBUGGER || kd_link_busy(&rp->link))
			return;
		if (kd_link_send(&rp->link, st->type, st->data, st->len, NULL, 0, now)) {
			diverge(rp, "cannot send the recorded packet");
			return;
		}
		rp->cursor++;
	}
}

static void on_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct replay *rp = opaque;

	rp->write(rp->opaque, buf, len);
}

static void on_deliver(void *opaque, uint16_t type, uint32_t id, const uint8_t *p, size_t len)
{
	struct replay *rp = opaque;
	char want[KD_TRACE_LINE_MAX + 64], got[KD_TRACE_LINE_MAX];
	const struct replay_step *st;

	(void)id;
	if (rp->status != REPLAY_RUNNING)
		return;
	/* a break-in the recording had before this request is not required */
	while (rp->cursor < rp->s->count && rp->s->steps[rp->cursor].kind == REPLAY_TRIGGER)
		rp->cursor++;
	record_format_kd(got, sizeof(got), 1, type, p, len);
	if (rp->cursor == rp->s->count) {
		diverge(rp, "after the end of the recording the debugger sent %s", got);
		return;
	}
	st = &rp->s->steps[rp->cursor];
	if (st->kind != REPLAY_DEBUGGER || !matches(st, type, p, len)) {
		describe(st, want, sizeof(want));
		diverge(rp, "packet %zu of the script (recording offset %llu): expected %s, got %s",
			rp->cursor + 1, (unsigned long long)st->offset, want, got);
		return;
	}
	rp->matched++;
	rp->cursor++;
	rp->triggered = 0; /* break-ins before this request are spent */
	advance(rp, rp->now);
}

static void on_send_done(void *opaque, enum kd_send_result result)
{
	struct replay *rp = opaque;

	if (result == KD_SEND_GAVE_UP)
		diverge(rp, "the debugger stopped acknowledging");
	advance(rp, rp->now);
}

static void on_trigger(void *opaque)
{
	struct replay *rp = opaque;

	rp->triggered = 1;
	advance(rp, rp->now);
}

static const struct kd_link_ops replay_link_ops = {
	.write = on_write,
	.deliver = on_deliver,
	.send_done = on_send_done,
	.breakin = on_trigger,
	.reset = on_trigger,
};

void replay_start(struct replay *rp, const struct replay_script *s,
		  const struct kd_link_config *cfg,
		  void (*write)(void *opaque, const uint8_t *buf, size_t len), void *opaque,
		  uint64_t now)
{
	struct kd_link_config def;

	memset(rp, 0, sizeof(*rp));
	rp->s = s;
	rp->write = write;
	rp->opaque = opaque;
	if (!cfg) {
		kd_link_default_config(&def);
		cfg = &def;
	}
	kd_link_init(&rp->link, KD_ROLE_TARGET, cfg, &replay_link_ops, rp);
	rp->now = now;
	advance(rp, now);
}

void replay_input(struct replay *rp, const uint8_t *buf, size_t len, uint64_t now)
{
	rp->now = now;
	kd_link_input(&rp->link, buf, len, now);
	advance(rp, now);
}

void replay_poll(struct replay *rp, uint64_t now)
{
	rp->now = now;
	kd_link_poll(&rp->link, now);
	advance(rp, now);
}

uint64_t replay_deadline(const struct replay *rp)
{
	return kd_link_deadline(&rp->link);
}

void replay_debugger_gone(struct replay *rp)
{
	char want[KD_TRACE_LINE_MAX + 64];

	if (rp->status != REPLAY_RUNNING)
		return;
	for (size_t i = rp->cursor; i < rp->s->count; i++) {
		if (rp->s->steps[i].kind != REPLAY_DEBUGGER)
			continue;
		describe(&rp->s->steps[i], want, sizeof(want));
		rp->status = REPLAY_DIVERGED;
		snprintf(rp->msg, sizeof(rp->msg), "the debugger left at packet %zu of the script "
			 "(recording offset %llu); it was expected to send %s", i + 1,
			 (unsigned long long)rp->s->steps[i].offset, want);
		return;
	}
	rp->status = REPLAY_DONE;
}
