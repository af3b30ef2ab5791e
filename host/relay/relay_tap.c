/* SPDX-License-Identifier: MIT */
/* The core's observers: the DbgPrint log and the session recorder, fed by the relay_tap
 * hooks; neither may change what the core does. */
#include "relay_tap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmkd/kd_wire.h"

#define RECORD_FLUSH_US 1000000u /* buffered records reach the file at least this often */

static void log_dbglog_error(struct relay_tap *t, uint64_t now)
{
	const char *e;
	char buf[256];

	if (t->dbglog && *(e = dbglog_take_error(t->dbglog)))
		relay_logf(t->log, now, t->name, "DbgPrint log: %s (lines are counted as lost "
			   "until it works again)", e);
	if (t->journal && *(e = journal_take_error(t->journal, buf, sizeof(buf))))
		relay_logf(t->log, now, t->name, "DbgPrint journal: %s (lines are dropped and "
			   "counted until it takes them again)", e);
}

/* dbglog's line hook: each finished line to journald as well. */
static void journal_line(void *ctx, unsigned cpu, const char *line, size_t len)
{
	struct relay_tap *t = ctx;

	journal_send_line(t->journal, cpu, line, len);
}

struct relay_tap *relay_tap_new(const char *name, const struct relay_tap_options *opt,
				const struct relay_log *log, uint64_t now, char *err,
				size_t errlen)
{
	struct relay_tap *t;
	char path[4096];

	*err = '\0';
	if (!opt || (!opt->log_dir && !opt->record && !opt->journal))
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->log = log;
	kd_parser_init(&t->dbg_parser);
	if (opt->journal) {
		t->journal = journal_open(opt->journal, name, err, errlen);
		if (!t->journal)
			goto fail;
		relay_logf(log, now, name, "DbgPrint journal: %s (VMKD_VM=%s)", t->journal->path,
			   name);
	}
	if (opt->log_dir || opt->journal) {
		struct dbglog_options lo = {
			.max_bytes = opt->log_max_bytes,
			.keep = opt->log_keep,
			.wall_offset_us = opt->wall_offset_us,
			.on_line = t->journal ? journal_line : NULL,
			.on_line_ctx = t,
		};

		if (opt->log_dir && (size_t)snprintf(path, sizeof(path), "%s/%s.log",
						     opt->log_dir, name) >= sizeof(path)) {
			snprintf(err, errlen, "DbgPrint log path too long");
			goto fail;
		}
		t->dbglog = dbglog_open(opt->log_dir ? path : NULL, &lo);
		if (!t->dbglog) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		if (opt->log_dir)
			relay_logf(log, now, name, "DbgPrint log: %s", path);
		log_dbglog_error(t, now);
	}
	if (opt->record) {
		if (record_path_expand(opt->record, name, path, sizeof(path))) {
			snprintf(err, errlen, "bad --record pattern '%s' (%%n is the VM's name, "
				 "%%%% a percent sign)", opt->record);
			goto fail;
		}
		if (record_writer_open(&t->rec, path, name,
				       (uint64_t)((int64_t)now + opt->wall_offset_us), now)) {
			snprintf(err, errlen, "cannot create the recording %.3000s: %s", path,
				 strerror(errno));
			goto fail;
		}
		t->recording = 1;
		t->last_flush = now;
		relay_logf(log, now, name, "recording the session to %s", path);
	}
	return t;
fail:
	if (t->dbglog)
		dbglog_close(t->dbglog, now);
	journal_close(t->journal);
	free(t);
	return NULL;
}

static void debugger_pending_out(struct relay_tap *t, uint64_t now, size_t n, uint16_t flags)
{
	if (!n)
		return;
	record_write(&t->rec, RECORD_KD_WIRE, RECORD_DIR_DEBUGGER_TO_RELAY, flags, now,
		     t->dbg_pending, n, NULL, 0);
	memmove(t->dbg_pending, t->dbg_pending + n, t->dbg_pending_len - n);
	t->dbg_pending_len -= n;
}

void relay_tap_free(struct relay_tap *t, uint64_t now)
{
	if (!t)
		return;
	if (t->dbglog) {
		dbglog_flush(t->dbglog, now);
		relay_logf(t->log, now, t->name, "DbgPrint log: %llu lines (%llu DbgPrints), %llu "
			   "rotations, %llu lost", (unsigned long long)t->dbglog->st.lines,
			   (unsigned long long)t->dbglog->st.prints,
			   (unsigned long long)t->dbglog->st.rotations,
			   (unsigned long long)t->dbglog->st.errors);
		dbglog_close(t->dbglog, now);
	}
	if (t->journal) {
		relay_logf(t->log, now, t->name, "DbgPrint journal: %llu lines sent, %llu dropped",
			   (unsigned long long)t->journal->st.sent,
			   (unsigned long long)t->journal->st.dropped);
		journal_close(t->journal);
	}
	if (t->recording) {
		debugger_pending_out(t, now, t->dbg_pending_len, RECORD_FLAG_FRAGMENT);
		relay_logf(t->log, now, t->name, "recording: %llu records, %llu bytes%s",
			   (unsigned long long)t->rec.records, (unsigned long long)t->rec.bytes,
			   t->rec.dropped ? "; some could not be written" : "");
		if (record_writer_close(&t->rec) || t->rec.dropped)
			relay_logf(t->log, now, t->name, "recording: %llu records could not be "
				   "written", (unsigned long long)t->rec.dropped);
	}
	free(t);
}

void relay_tap_on_guest_kd(struct relay_tap *t, uint64_t now, int to_guest, uint16_t type,
			   const uint8_t *kd, size_t len)
{
	uint8_t head[4] = { (uint8_t)type, (uint8_t)(type >> 8), 0, 0 };

	if (!to_guest && t->dbglog && dbglog_packet(t->dbglog, now, type, kd, len))
		log_dbglog_error(t, now);
	if (t->recording)
		record_write(&t->rec, RECORD_GUEST_KD, to_guest ? RECORD_DIR_RELAY_TO_GUEST :
			     RECORD_DIR_GUEST_TO_RELAY, 0, now, head, sizeof(head), kd, len);
}

/* The wire length of the packet an event ends with (0: not a whole packet). */
static size_t event_bytes(const struct kd_event *ev)
{
	switch (ev->kind) {
	case KD_EV_BREAKIN:
		return 1;
	case KD_EV_CONTROL:
		return KD_HEADER_SIZE;
	case KD_EV_DATA:
	case KD_EV_BAD_CHECKSUM:
	case KD_EV_BAD_TRAILER:
		return KD_HEADER_SIZE + ev->hdr.byte_count + 1;
	default:
		return 0;
	}
}

/* The debugger's bytes arrive in any split: a parser finds where each packet ends, so a
 * record holds one packet; bytes between packets get a record of their own (FRAGMENT). */
static void debugger_input(struct relay_tap *t, uint64_t now, const uint8_t *buf, size_t len)
{
	while (len) {
		struct kd_event ev;
		size_t used, pkt;

		if (t->dbg_pending_len == sizeof(t->dbg_pending))
			debugger_pending_out(t, now, t->dbg_pending_len, RECORD_FLAG_FRAGMENT);
		if (len > sizeof(t->dbg_pending) - t->dbg_pending_len)
			used = kd_parser_feed(&t->dbg_parser, buf,
					      sizeof(t->dbg_pending) - t->dbg_pending_len, &ev);
		else
			used = kd_parser_feed(&t->dbg_parser, buf, len, &ev);
		memcpy(t->dbg_pending + t->dbg_pending_len, buf, used);
		t->dbg_pending_len += used;
		buf += used;
		len -= used;
		if (ev.kind == KD_EV_NONE)
			continue;
		pkt = event_bytes(&ev);
		if (!pkt || pkt > t->dbg_pending_len) {
			debugger_pending_out(t, now, t->dbg_pending_len, RECORD_FLAG_FRAGMENT);
			continue;
		}
		debugger_pending_out(t, now, t->dbg_pending_len - pkt, RECORD_FLAG_FRAGMENT);
		debugger_pending_out(t, now, pkt, 0);
	}
}

void relay_tap_on_debugger(struct relay_tap *t, uint64_t now, int to_debugger,
			   const uint8_t *buf, size_t len)
{
	if (!t->recording || !len)
		return;
	if (to_debugger)
		record_write(&t->rec, RECORD_KD_WIRE, RECORD_DIR_RELAY_TO_DEBUGGER, 0, now, buf,
			     len, NULL, 0);
	else
		debugger_input(t, now, buf, len);
}

void relay_tap_on_event(struct relay_tap *t, uint64_t now, uint32_t event, const char *text)
{
	/* The guest restarted or left: its partial lines will get no rest. */
	if (t->dbglog && (event == RECORD_EV_GUEST_DISCONNECTED ||
			  event == RECORD_EV_GUEST_HELLO))
		dbglog_flush(t->dbglog, now);
	if (!t->recording)
		return;
	if (event == RECORD_EV_DEBUGGER_DISCONNECTED || event == RECORD_EV_DEBUGGER_CONNECTED) {
		debugger_pending_out(t, now, t->dbg_pending_len, RECORD_FLAG_FRAGMENT);
		kd_parser_init(&t->dbg_parser);
	}
	record_write_event(&t->rec, now, event, text);
	record_writer_flush(&t->rec);
	t->last_flush = now;
}

void relay_tap_poll(struct relay_tap *t, uint64_t now)
{
	if (t->dbglog) {
		dbglog_poll(t->dbglog, now);
		log_dbglog_error(t, now);
	}
	if (t->recording && now - t->last_flush >= RECORD_FLUSH_US) {
		record_writer_flush(&t->rec);
		t->last_flush = now;
	}
}

uint64_t relay_tap_deadline(const struct relay_tap *t)
{
	uint64_t d = t->dbglog ? dbglog_deadline(t->dbglog) : DBGLOG_NO_DEADLINE;

	if (t->recording && t->last_flush + RECORD_FLUSH_US < d)
		d = t->last_flush + RECORD_FLUSH_US;
	return d;
}
