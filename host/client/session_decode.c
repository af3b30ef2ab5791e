/* SPDX-License-Identifier: MIT */
/* Decoding a KD target's packets for the debugger engine: pure, no I/O, no session state. */
#include "session_decode.h"

#include <string.h>

#include "../common/relay_notice.h"

/* ---- state changes ------------------------------------------------------------------ */

/* Up to the first NUL, bounded, non-printable bytes shown as '?'. */
static void copy_printable(char *dst, size_t cap, const uint8_t *src, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; src && i < len && n + 1 < cap; i++) {
		uint8_t c = src[i];

		if (!c)
			break;
		dst[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[n] = '\0';
}

static void decode_exception(struct session_stop *st)
{
	const struct kd_exception64 *e = &st->raw.u.exception;

	st->kind = SESSION_STOP_EXCEPTION;
	st->code = e->record.exception_code;
	st->flags = e->record.exception_flags;
	st->address = e->record.exception_address;
	st->first_chance = e->first_chance != 0;
	st->number_parameters = e->record.number_parameters;
	if (st->number_parameters > KD_EXCEPTION_MAXIMUM_PARAMETERS)
		st->number_parameters = KD_EXCEPTION_MAXIMUM_PARAMETERS;
	memcpy(st->parameters, e->record.exception_information,
	       st->number_parameters * sizeof(st->parameters[0]));
}

/* "name\0command\0": both kept, separated by a blank. */
static void decode_command_string(struct session_stop *st, const uint8_t *data, size_t dlen)
{
	size_t n = data ? strnlen((const char *)data, dlen) : 0, used;

	st->kind = SESSION_STOP_COMMAND_STRING;
	copy_printable(st->path, sizeof(st->path), data, n);
	used = strlen(st->path);
	if (n + 1 < dlen && used + 2 < sizeof(st->path)) {
		st->path[used++] = ' ';
		copy_printable(st->path + used, sizeof(st->path) - used, data + n + 1, dlen - n - 1);
	}
}

static void decode_state_change(const uint8_t *payload, size_t len, struct sd_event *ev)
{
	struct kd_wait_state_change64 sc;
	struct session_stop *st = &ev->stop;
	const uint8_t *data = NULL;
	size_t dlen = 0;
	enum kd_api_error err;

	err = kd_api_parse_state_change(payload, len, &sc, &data, &dlen);
	if (err == KD_API_ERR_SHORT || err == KD_API_ERR_OVERSIZE) {
		ev->kind = SD_MALFORMED;
		ev->err = err;
		ev->what = "state change";
		return;
	}
	ev->kind = SD_STATE_CHANGE;
	st->raw = sc;
	st->new_state = sc.new_state;
	st->processor = sc.processor;
	st->processor_level = sc.processor_level;
	st->number_processors = sc.number_processors;
	st->thread = sc.thread;
	st->pc = sc.program_counter;
	st->report = sc.control_report;
	if (st->report.instruction_count > KD_MAXSTREAM)
		st->report.instruction_count = KD_MAXSTREAM;

	/* A damaged part (err) still leaves a usable stop: the engine reports the damage and
	 * goes on, so a bad packet never wedges a stopped target. */
	switch (sc.new_state & ~KD_STATE_ALTERNATE_FLAG) {
	case KD_STATE_EXCEPTION:
		ev->err = err;
		ev->what = "exception state change";
		decode_exception(st);
		break;
	case KD_STATE_LOAD_SYMBOLS: {
		const char *path = NULL;
		size_t n = 0;

		if (!err)
			err = kd_api_state_path(&sc, data, dlen, &path, &n);
		ev->err = err;
		ev->what = "load-symbols state change";
		st->kind = SESSION_STOP_LOAD_SYMBOLS;
		st->base = sc.u.load_symbols.base_of_dll;
		st->size = sc.u.load_symbols.size_of_image;
		st->checksum = sc.u.load_symbols.check_sum;
		st->unload = sc.u.load_symbols.unload_symbols != 0;
		copy_printable(st->path, sizeof(st->path), (const uint8_t *)path, n);
		break;
	}
	case KD_STATE_COMMAND_STRING:
		decode_command_string(st, data, data ? dlen : 0);
		break;
	default:
		st->kind = SESSION_STOP_OTHER;
		break;
	}
}

/* ---- DEBUG_IO and FILE_IO ----------------------------------------------------------- */

/* PREFIX + word, then ':' or the end of the line: "guest-disconnected-ish" is no notice. */
static int notice_is(const char *text, size_t len, const char *word)
{
	size_t p = sizeof(RELAY_NOTICE_PREFIX) - 1, w = strlen(word);

	if (len < p + w || memcmp(text, RELAY_NOTICE_PREFIX, p) || memcmp(text + p, word, w))
		return 0;
	return len == p + w || text[p + w] == ':' || text[p + w] == '\n' || text[p + w] == '\r';
}

enum sd_notice sd_notice(const char *text, size_t len)
{
	if (!text)
		return SD_NOTICE_NONE;
	if (notice_is(text, len, RELAY_NOTICE_GUEST_GONE))
		return SD_NOTICE_GUEST_GONE;
	if (notice_is(text, len, RELAY_NOTICE_GUEST_BACK))
		return SD_NOTICE_GUEST_BACK;
	return SD_NOTICE_NONE;
}

static void decode_debug_io(const uint8_t *payload, size_t len, struct sd_event *ev)
{
	const uint8_t *text = NULL;
	size_t n = 0;
	enum kd_api_error err;

	err = kd_api_parse_debug_io(payload, len, &ev->io, &text, &n);
	if (err) {
		ev->kind = SD_MALFORMED;
		ev->err = err;
		ev->what = "debug I/O packet";
		return;
	}
	ev->text = (const char *)text;
	ev->text_len = n;
	if (ev->io.api_number == KD_API_PRINT_STRING) {
		ev->kind = SD_PRINT;
		ev->notice = sd_notice(ev->text, n);
	} else if (ev->io.api_number == KD_API_GET_STRING) {
		/* The prompt text is what LengthOfString says, within what arrived. */
		ev->kind = SD_PROMPT;
		if (ev->io.length_of_string < n)
			ev->text_len = ev->io.length_of_string;
	}
}

static void decode_file_io(const uint8_t *payload, size_t len, struct sd_event *ev)
{
	const uint8_t *data;
	size_t dlen;
	enum kd_api_error err;

	/* An unknown file API is still answered (with STATUS_NO_SUCH_FILE), never ignored:
	 * the target waits for the answer. */
	err = kd_api_parse_file_io(payload, len, &ev->file, &data, &dlen);
	if (err == KD_API_ERR_SHORT || err == KD_API_ERR_OVERSIZE) {
		ev->kind = SD_MALFORMED;
		ev->err = err;
		ev->what = "file I/O packet";
		return;
	}
	ev->kind = SD_FILE_IO;
}

void sd_decode(uint16_t type, const uint8_t *payload, size_t len, struct sd_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = SD_IGNORED;
	ev->err = KD_API_OK;
	switch (type) {
	case KD_PACKET_TYPE_STATE_MANIPULATE:
		ev->kind = SD_REPLY;
		break;
	case KD_PACKET_TYPE_STATE_CHANGE64:
		decode_state_change(payload, len, ev);
		break;
	case KD_PACKET_TYPE_DEBUG_IO:
		decode_debug_io(payload, len, ev);
		break;
	case KD_PACKET_TYPE_FILE_IO:
		decode_file_io(payload, len, ev);
		break;
	default:
		/* TRACE_IO, CONTROL_REQUEST, ...: the link ACKed them; nothing to answer. */
		break;
	}
}

/* ---- replies ------------------------------------------------------------------------ */

uint32_t sd_generation(uint64_t n)
{
	uint32_t g = (uint32_t)(n & SD_GENERATION_MASK);

	return SD_GENERATION_MARK | (g ? g : 1);
}

static int is_generation(uint32_t pad)
{
	return (pad & ~SD_GENERATION_MASK) == SD_GENERATION_MARK;
}

/* The fields the reply to req must echo; what the target fills in is not compared. */
static int echoes(const struct kd_manipulate_state64 *req, const struct kd_manipulate_state64 *m)
{
	if (m->processor != req->processor)
		return 0;
	switch (req->api_number) {
	case KD_API_READ_VIRTUAL_MEMORY:
	case KD_API_READ_PHYSICAL_MEMORY:
	case KD_API_READ_CONTROL_SPACE:
		return m->u.read_memory.target_base_address == req->u.read_memory.target_base_address &&
		       m->u.read_memory.transfer_count == req->u.read_memory.transfer_count;
	case KD_API_WRITE_VIRTUAL_MEMORY:
	case KD_API_WRITE_PHYSICAL_MEMORY:
	case KD_API_WRITE_CONTROL_SPACE:
		return m->u.write_memory.target_base_address ==
			       req->u.write_memory.target_base_address &&
		       m->u.write_memory.transfer_count == req->u.write_memory.transfer_count;
	case KD_API_READ_MSR:
	case KD_API_WRITE_MSR:
		return m->u.read_write_msr.msr == req->u.read_write_msr.msr;
	case KD_API_WRITE_BREAKPOINT:
		return m->u.write_breakpoint.breakpoint_address ==
		       req->u.write_breakpoint.breakpoint_address;
	case KD_API_RESTORE_BREAKPOINT:
		return m->u.restore_breakpoint.breakpoint_handle ==
		       req->u.restore_breakpoint.breakpoint_handle;
	case KD_API_QUERY_MEMORY:
		return m->u.query_memory.address == req->u.query_memory.address;
	case KD_API_GET_CONTEXT_EX:
	case KD_API_SET_CONTEXT_EX:
		return m->u.context_ex.offset == req->u.context_ex.offset &&
		       m->u.context_ex.byte_count == req->u.context_ex.byte_count;
	default:
		return 1; /* GetContext, SetContext, GetVersion: the processor is all there is */
	}
}

enum sd_match sd_match_reply(const struct kd_manipulate_state64 *req, const uint8_t *payload,
			     size_t len, struct kd_manipulate_state64 *m, const uint8_t **data,
			     size_t *data_len, enum kd_api_error *err)
{
	uint32_t api = 0, pad = 0;

	*err = KD_API_OK;
	if (len >= sizeof(api))
		memcpy(&api, payload, sizeof(api));
	if (api != req->api_number)
		return SD_MATCH_STALE;
	/* An earlier generation is stale even if it is short: it is not ours to judge. */
	if (len >= offsetof(struct kd_manipulate_state64, pad) + sizeof(pad))
		memcpy(&pad, payload + offsetof(struct kd_manipulate_state64, pad), sizeof(pad));
	if (is_generation(pad) && pad != req->pad)
		return SD_MATCH_STALE;
	*err = kd_api_parse_reply(payload, len, req->api_number, m, data, data_len);
	if (*err)
		return SD_MATCH_MALFORMED;
	return echoes(req, m) ? SD_MATCH_OURS : SD_MATCH_STALE;
}
