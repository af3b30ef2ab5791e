/* SPDX-License-Identifier: MIT */
/* Relay log lines: timestamped events and the --trace packet lines for both sides. */
#include "relay_log.h"

#include <stdarg.h>
#include <string.h>

#include "vmkd/kd_packet.h"
#include "vmkd/vmkd_frame_parser.h"

static const char *const frame_names[VMKD_FRAME_TYPE_MAX] = {
	[VMKD_FRAME_HELLO] = "HELLO",
	[VMKD_FRAME_HELLO_ACK] = "HELLO_ACK",
	[VMKD_FRAME_KD_PACKET] = "KD_PACKET",
	[VMKD_FRAME_BREAKIN] = "BREAKIN",
	[VMKD_FRAME_RESYNC] = "RESYNC",
	[VMKD_FRAME_DEBUGGER] = "DEBUGGER",
	[VMKD_FRAME_STATS] = "STATS",
	[VMKD_FRAME_STATS_REQUEST] = "STATS_REQUEST",
};

const char *relay_frame_type_name(unsigned int type)
{
	if (type < VMKD_FRAME_TYPE_MAX && frame_names[type])
		return frame_names[type];
	return "UNKNOWN";
}

static void stamp(const struct relay_log *log, uint64_t now, const char *vm)
{
	uint64_t t = now > log->t0 ? now - log->t0 : 0;

	fprintf(log->f, "[%5llu.%06llu] %s%s", (unsigned long long)(t / 1000000u),
		(unsigned long long)(t % 1000000u), vm ? vm : "", vm ? ": " : "");
}

void relay_logf(const struct relay_log *log, uint64_t now, const char *vm, const char *fmt, ...)
{
	va_list ap;

	if (!log || !log->f)
		return;
	stamp(log, now, vm);
	va_start(ap, fmt);
	vfprintf(log->f, fmt, ap);
	va_end(ap);
	fputc('\n', log->f);
}

static const char *arrow(enum kd_trace_dir dir)
{
	return dir == KD_TRACE_TO_TARGET ? "->" : "<-";
}

void relay_trace_kd_event(const struct relay_log *log, uint64_t now, const char *vm,
			  enum kd_trace_dir dir, const struct kd_event *ev)
{
	char line[KD_TRACE_LINE_MAX];
	int good = ev->kind == KD_EV_DATA || ev->kind == KD_EV_CONTROL ||
		   ev->kind == KD_EV_BREAKIN;

	if (!log || !log->f || ev->kind == KD_EV_NONE)
		return;
	kd_trace_format(line, sizeof(line), dir, ev->kind == KD_EV_BREAKIN ? NULL : &ev->hdr,
			ev->payload, ev->payload_len);
	relay_logf(log, now, vm, "dbg   %s%s%s", good ? "" : kd_event_kind_name(ev->kind),
		   good ? "" : ": ", line);
}

void relay_trace_kd_wire(const struct relay_log *log, uint64_t now, const char *vm,
			 enum kd_trace_dir dir, const uint8_t *buf, size_t len)
{
	char line[KD_TRACE_LINE_MAX];
	struct kd_packet_header hdr;

	if (!log || !log->f || !len)
		return;
	if (len < KD_HEADER_SIZE) {
		kd_trace_format(line, sizeof(line), dir, NULL, NULL, 0);
	} else {
		kd_header_decode(&hdr, buf);
		kd_trace_format(line, sizeof(line), dir, &hdr, buf + KD_HEADER_SIZE,
				len > KD_HEADER_SIZE + 1 ? len - KD_HEADER_SIZE - 1 : 0);
	}
	relay_logf(log, now, vm, "dbg   %s", line);
}

void relay_trace_frame(const struct relay_log *log, uint64_t now, const char *vm,
		       enum kd_trace_dir dir, const struct vmkd_frame_header *hdr,
		       const uint8_t *payload, size_t len, const char *note)
{
	char what[64] = "";
	uint16_t type;
	const uint8_t *kd;
	size_t kd_len;

	if (!log || !log->f)
		return;
	if (hdr->type == VMKD_FRAME_KD_PACKET &&
	    !vmkd_frame_parse_kd(payload, len, &type, &kd, &kd_len))
		snprintf(what, sizeof(what), " %s", kd_packet_type_name(type));
	else if (hdr->type == VMKD_FRAME_DEBUGGER && len >= sizeof(struct vmkd_debugger_state))
		snprintf(what, sizeof(what), " attached=%u", payload[0]);
	relay_logf(log, now, vm, "guest %s %s seq=%u len=%u%s%s%s", arrow(dir),
		   relay_frame_type_name(hdr->type), hdr->seq, hdr->length, what,
		   note ? " " : "", note ? note : "");
}
