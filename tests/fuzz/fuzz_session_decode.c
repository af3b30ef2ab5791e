/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the debugger engine's packet decoder (host/client/session_decode). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vmkd/kd_api.h"
#include "vmkd/kd_wire.h"

#include "../../host/client/session_decode.h"

/*
 * Input layout:
 *   byte 0     the KD packet type: low 3 bits index the types below
 *   bytes 1-56 (when present) a manipulate header taken as the request a reply must answer
 *   rest       the payload, as the link delivers it (<= KD_MAX_PAYLOAD)
 *
 * Checked: the event's kind is known; text lies inside the payload; decoded stop strings
 * are NUL-terminated inside their buffers; counts are clamped; a reply is matched only when
 * it echoes the request's API and, when it carries one, its generation, and its data lies
 * inside the payload.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static const uint16_t types[8] = {
	KD_PACKET_TYPE_STATE_CHANGE64, KD_PACKET_TYPE_STATE_MANIPULATE, KD_PACKET_TYPE_DEBUG_IO,
	KD_PACKET_TYPE_FILE_IO,        KD_PACKET_TYPE_TRACE_IO,         KD_PACKET_TYPE_STATE_CHANGE64,
	KD_PACKET_TYPE_DEBUG_IO,       0x7777,
};

static void check_event(const struct sd_event *ev, const uint8_t *payload, size_t len)
{
	const struct session_stop *st = &ev->stop;

	check(ev->kind <= SD_FILE_IO);
	if (ev->kind == SD_MALFORMED)
		check(ev->err != KD_API_OK && ev->what);
	if (ev->kind == SD_PRINT || ev->kind == SD_PROMPT) {
		const uint8_t *t = (const uint8_t *)ev->text;

		check(!ev->text_len || (t >= payload && t + ev->text_len <= payload + len));
		check(ev->kind == SD_PROMPT || ev->notice == sd_notice(ev->text, ev->text_len));
	}
	if (ev->kind == SD_STATE_CHANGE) {
		check(memchr(st->path, 0, sizeof(st->path)) != NULL);
		check(st->number_parameters <= KD_EXCEPTION_MAXIMUM_PARAMETERS);
		check(st->report.instruction_count <= KD_MAXSTREAM);
		for (size_t i = 0; st->path[i]; i++)
			check(st->path[i] >= 0x20 && st->path[i] < 0x7f);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t payload[KD_MAX_PAYLOAD];
	struct kd_manipulate_state64 req, m;
	struct sd_event ev;
	const uint8_t *rdata = NULL;
	size_t len, rlen = 0;
	uint16_t type;
	enum kd_api_error err;
	enum sd_match r;

	if (size < 1)
		return 0;
	type = types[data[0] & 7];
	data++, size--;
	memset(&req, 0, sizeof(req));
	if (size >= sizeof(req)) {
		memcpy(&req, data, sizeof(req));
		data += sizeof(req);
		size -= sizeof(req);
	}
	len = size < sizeof(payload) ? size : sizeof(payload);
	/* A copy of exactly len bytes, so ASan sees any read past the packet. */
	memcpy(payload, data, len);

	sd_decode(type, payload, len, &ev);
	check_event(&ev, payload, len);
	if (ev.kind != SD_REPLY)
		return 0;

	r = sd_match_reply(&req, payload, len, &m, &rdata, &rlen, &err);
	check(r == SD_MATCH_OURS || r == SD_MATCH_STALE || r == SD_MATCH_MALFORMED);
	if (r == SD_MATCH_OURS) {
		uint32_t pad;

		check(m.api_number == req.api_number && m.processor == req.processor);
		memcpy(&pad, payload + offsetof(struct kd_manipulate_state64, pad), sizeof(pad));
		check((pad & ~SD_GENERATION_MASK) != SD_GENERATION_MARK || pad == req.pad);
		check(rlen <= KD_MANIPULATE_MAX_DATA);
		check(!rlen || (rdata >= payload && rdata + rlen <= payload + len));
	}
	if (r == SD_MATCH_MALFORMED)
		check(err != KD_API_OK);
	return 0;
}
