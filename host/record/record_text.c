/* SPDX-License-Identifier: MIT */
/* Recording records as readable lines, decoded by the KD trace decoder. */
#include "record_text.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vmkd/kd_packet.h"
#include "vmkd/kd_parser.h"
#include "vmkd/kd_trace.h"

/* Printable ASCII kept, the rest as \xNN, at most max input bytes. */
static size_t quote(char *out, size_t cap, const uint8_t *s, size_t n, size_t max)
{
	size_t o = 0;

	for (size_t i = 0; i < n && i < max && o + 5 < cap; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\')
			out[o++] = (char)s[i];
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", s[i]);
	}
	if (n > max && o + 4 < cap) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o < cap ? o : cap - 1] = '\0';
	return o;
}

void record_format_kd(char *line, size_t cap, int to_target, uint16_t type,
		      const uint8_t *payload, size_t len)
{
	struct kd_packet_header hdr;
	char *id;

	memset(&hdr, 0, sizeof(hdr));
	hdr.leader = KD_PACKET_LEADER;
	hdr.type = type;
	hdr.byte_count = (uint16_t)(len > 0xffff ? 0xffff : len);
	hdr.checksum = kd_checksum(payload, len);
	kd_trace_format(line, cap, to_target ? KD_TRACE_TO_TARGET : KD_TRACE_FROM_TARGET, &hdr,
			payload, len);
	/* a packet of the guest side has no KDCOM id: drop the decoder's "id=00000000" */
	id = strstr(line, " id=00000000");
	if (id)
		memmove(id, id + 12, strlen(id + 12) + 1);
}

static void format_wire(const struct record *rec, char *out, size_t cap)
{
	int to_target = rec->dir == RECORD_DIR_DEBUGGER_TO_RELAY;
	struct kd_parser p;
	struct kd_event ev;
	char hex[200];
	size_t used;

	kd_parser_init(&p);
	used = kd_parser_feed(&p, rec->body, rec->len, &ev);
	if (!(rec->flags & RECORD_FLAG_FRAGMENT) && used == rec->len &&
	    (ev.kind == KD_EV_DATA || ev.kind == KD_EV_CONTROL || ev.kind == KD_EV_BREAKIN)) {
		kd_trace_format(out, cap, to_target ? KD_TRACE_TO_TARGET : KD_TRACE_FROM_TARGET,
				ev.kind == KD_EV_BREAKIN ? NULL : &ev.hdr, ev.payload,
				ev.payload_len);
		return;
	}
	quote(hex, sizeof(hex), rec->body, rec->len, 32);
	snprintf(out, cap, "%s %u bytes, not a whole packet%s%s: \"%s\"", to_target ? "->" : "<-",
		 rec->len, ev.kind != KD_EV_NONE ? " " : "",
		 ev.kind != KD_EV_NONE ? kd_event_kind_name(ev.kind) : "", hex);
}

static void wall_time(char *buf, size_t cap, uint64_t us)
{
	time_t secs = (time_t)(us / 1000000u);
	struct tm tm;
	size_t n;

	if (!gmtime_r(&secs, &tm)) {
		snprintf(buf, cap, "?");
		return;
	}
	n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, cap - n, ".%06uZ", (unsigned)(us % 1000000u));
}

void record_format(const struct record_reader *r, const struct record *rec, char *line,
		   size_t cap)
{
	uint64_t t = rec->time_us > r->hdr.start_mono_us ? rec->time_us - r->hdr.start_mono_us
							 : 0;
	char what[KD_TRACE_LINE_MAX], text[300];
	int n;

	n = snprintf(line, cap, "[%5llu.%06llu] ", (unsigned long long)(t / 1000000u),
		     (unsigned long long)(t % 1000000u));
	if (n < 0 || (size_t)n >= cap)
		return;
	switch (rec->type) {
	case RECORD_START:
		wall_time(text, sizeof(text), r->hdr.start_wall_us);
		snprintf(line + n, cap - (size_t)n, "start: VM '%s', %s", r->vm, text);
		return;
	case RECORD_EVENT: {
		uint32_t ev = (uint32_t)rec->body[0] | (uint32_t)rec->body[1] << 8 |
			      (uint32_t)rec->body[2] << 16 | (uint32_t)rec->body[3] << 24;

		quote(text, sizeof(text), rec->body + 4, rec->len - 4, 200);
		snprintf(line + n, cap - (size_t)n, "event: %s%s%s%s", record_event_name(ev),
			 rec->len > 4 ? " \"" : "", text, rec->len > 4 ? "\"" : "");
		return;
	}
	case RECORD_KD_WIRE:
		format_wire(rec, what, sizeof(what));
		snprintf(line + n, cap - (size_t)n, "dbg   %s", what);
		return;
	case RECORD_GUEST_KD:
		record_format_kd(what, sizeof(what), rec->dir == RECORD_DIR_RELAY_TO_GUEST,
				 (uint16_t)(rec->body[0] | rec->body[1] << 8), rec->body + 4,
				 rec->len - 4);
		snprintf(line + n, cap - (size_t)n, "guest %s", what);
		return;
	default:
		snprintf(line + n, cap - (size_t)n, "record type %u (%u bytes): skipped",
			 rec->type, rec->len);
	}
}
