/* SPDX-License-Identifier: MIT */
/*
 * session_decode.h - what a packet from a KD target means to the debugger engine, decoded
 * without I/O and without session state: bytes in, one event out. The engine (session.c)
 * acts on the event (records the stop, prints, answers a prompt or a file request, takes a
 * reply); everything here is pure, so it is unit-tested and fuzzed on its own.
 *
 * Everything decoded comes from the target and is untrusted: lengths are checked against
 * the bytes that arrived, strings are bounded and made printable, and an event's pointers
 * point into the caller's payload (valid as long as it is).
 */
#ifndef VMKD_HOST_SESSION_DECODE_H
#define VMKD_HOST_SESSION_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "vmkd/kd_api.h"
#include "vmkd/kd_wire.h"

#include "session.h"

enum sd_kind {
	SD_IGNORED,      /* nothing to do beyond the link's ACK (TRACE_IO, unknown debug I/O) */
	SD_MALFORMED,    /* cannot be used: err and what say why */
	SD_REPLY,        /* a manipulate-state packet: match it with sd_match_reply() */
	SD_STATE_CHANGE, /* a stop, decoded into stop; err != KD_API_OK: a part was damaged */
	SD_PRINT,        /* DbgPrint text (maybe a relay notice) */
	SD_PROMPT,       /* DbgPrompt: io and its prompt text; the target waits for an answer */
	SD_FILE_IO,      /* a file request (.kdfiles) in file */
};

/* The relay's in-band notices (host/common/relay_notice.h), recognised in DbgPrint text. */
enum sd_notice {
	SD_NOTICE_NONE,
	SD_NOTICE_GUEST_GONE,  /* the relay lost the VM's side: no stop can come */
	SD_NOTICE_GUEST_BACK,
};

struct sd_event {
	enum sd_kind kind;
	enum kd_api_error err;         /* SD_MALFORMED, and a damaged SD_STATE_CHANGE */
	const char *what;              /* what was damaged, for the message ("file I/O packet") */

	const char *text;              /* SD_PRINT / SD_PROMPT: into the payload, not NUL-ended */
	size_t text_len;
	enum sd_notice notice;         /* SD_PRINT */
	struct kd_debug_io io;         /* SD_PROMPT */
	struct kd_file_io file;        /* SD_FILE_IO */
	struct session_stop stop;      /* SD_STATE_CHANGE (seq is the engine's to set) */
};

/* Decodes one delivered data packet of the given KD packet type. */
void sd_decode(uint16_t type, const uint8_t *payload, size_t len, struct sd_event *ev);

/* Recognises a relay notice at the start of DbgPrint text. */
enum sd_notice sd_notice(const char *text, size_t len);

/* ---- replies ------------------------------------------------------------------------- */

/*
 * A request's generation travels in the manipulate header's pad (offset 0x0C), which no API
 * uses and every target echoes (Windows and vmkd's target core build the reply in the
 * request's header). Tags carry a marker in the top byte, so a target that zeroes the pad
 * or leaves its own bytes there is not mistaken for one answering an older request.
 */
#define SD_GENERATION_MARK 0xD6000000u
#define SD_GENERATION_MASK 0x00FFFFFFu

/* The tag of the n-th request (never 0). */
uint32_t sd_generation(uint64_t n);

enum sd_match {
	SD_MATCH_OURS,      /* the reply to req: *m, *data, *data_len filled */
	SD_MATCH_STALE,     /* another request's (an earlier generation, another API, or
			       fields that do not echo req's): drop and count */
	SD_MATCH_MALFORMED, /* ours, but it fails a length check: *err says which */
};

/*
 * Whether a manipulate-state packet answers req, the request as sent (its generation in
 * pad). Checks, in turn: the API; the generation when the reply carries one; the reply's
 * own consistency (kd_api_parse_reply); the fields a reply echoes: the processor, and per
 * API the address and length (memory, control space), the MSR number, the breakpoint
 * address or handle, the context offset and length.
 */
enum sd_match sd_match_reply(const struct kd_manipulate_state64 *req, const uint8_t *payload,
			     size_t len, struct kd_manipulate_state64 *m, const uint8_t **data,
			     size_t *data_len, enum kd_api_error *err);

#endif
