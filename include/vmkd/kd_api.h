/* SPDX-License-Identifier: MIT */
/*
 * kd_api.h - DBGKD API helpers: the manipulate-state API table, request builders and reply
 * parsers for the debugger, request parsers and reply builders for the target, state-change,
 * DEBUG_IO and FILE_IO packets. Freestanding: no libc, no allocation.
 *
 * Everything the builders produce is a struct kd_api_msg: a packet type, a fixed header and
 * an optional data part that stays owned by the caller. Send it with
 *
 *     kd_link_send(l, msg.type, &msg.u, msg.hdr_len, msg.data, msg.data_len, now);
 *
 * or serialise it with kd_api_msg_packet(). The parsers take a received payload (the bytes
 * between a data packet's header and its trailer), copy the fixed header out into an aligned
 * struct and point *data into the payload; nothing is read past len. The peer is untrusted:
 * every count a header carries is checked against the bytes that actually arrived.
 *
 * Facts: shared/docs/kd-protocol.md sections 5-7.
 */
#ifndef VMKD_KD_API_H
#define VMKD_KD_API_H

#include <stddef.h>
#include <stdint.h>

#include "vmkd/kd_bytes.h"
#include "vmkd/kd_wire.h"

/* 1 if a KD payload of this packet type is a DbgPrint (DEBUG_IO PrintString). Inline, so
 * kdvm.dll can ask without linking the API parsers. */
static inline int kd_api_is_print(uint16_t type, const void *payload, size_t len)
{
	return type == KD_PACKET_TYPE_DEBUG_IO && len >= sizeof(uint32_t) &&
	       kd_get_le32(payload) == KD_API_PRINT_STRING;
}

enum kd_api_error {
	KD_API_OK = 0,
	KD_API_ERR_SHORT,        /* payload shorter than the fixed header */
	KD_API_ERR_OVERSIZE,     /* payload or data beyond the packet limit */
	KD_API_ERR_UNKNOWN,      /* api number or new state not in the tables */
	KD_API_ERR_API_MISMATCH, /* a reply to another api than the one asked */
	KD_API_ERR_NO_REPLY,     /* a "reply" to an api that has none (Continue, Reboot, ...) */
	KD_API_ERR_DATA_LENGTH,  /* data length disagrees with the header's count */
	KD_API_ERR_COUNT,        /* a count exceeds what bounds it (read > requested, ...) */
	KD_API_ERR_CONTEXT,      /* less than a full CONTEXT, or a range outside it */
	KD_API_ERR_PATH,         /* LoadSymbols path length outside the packet */
	KD_API_ERR_STATUS,       /* the reply reports failure (convenience parsers only) */
	KD_API_ERR_ARG,          /* bad builder argument (NULL data with a length, ...) */
	KD_API_ERR_MAX,
};

/* Short name ("short", "data-length", ...); "?" for an out-of-range value. */
const char *kd_api_error_name(enum kd_api_error err);

/* ---- the manipulate API table ------------------------------------------------------ */

#define KD_API_F_REPLY      0x01u /* the target answers with a manipulate reply */
#define KD_API_F_REQ_DATA   0x02u /* the request carries data after its header */
#define KD_API_F_REPLY_DATA 0x04u /* the reply carries data after its header */

struct kd_api_info {
	uint32_t api;
	const char *name; /* "ReadVirtualMemory", ... */
	uint32_t flags;   /* KD_API_F_* */
};

/* Entry for a manipulate api number (0x3130..0x3160), or NULL if unassigned/unknown. */
const struct kd_api_info *kd_api_lookup(uint32_t api);

/* Name of a manipulate api, or NULL if unknown. */
const char *kd_api_name(uint32_t api);

/* Whether the target answers this api. Unknown numbers are answered (with
 * STATUS_UNSUCCESSFUL, as ReactOS does), so they return 1. */
int kd_api_has_reply(uint32_t api);

/* Names of the other number spaces; NULL when unknown. kd_api_state_name ignores
 * KD_STATE_ALTERNATE_FLAG. */
const char *kd_api_state_name(uint32_t new_state);
const char *kd_api_debug_io_name(uint32_t api);
const char *kd_api_file_io_name(uint32_t api);
const char *kd_api_control_space_name(uint64_t selector); /* AMD64: "KPCR" .. "KTHREAD" */

/* ---- messages ---------------------------------------------------------------------- */

struct kd_api_msg {
	uint16_t type;    /* KD_PACKET_TYPE_* */
	uint16_t hdr_len; /* bytes of u the packet carries */
	union {
		struct kd_manipulate_state64 m;
		struct kd_wait_state_change64 sc;
		struct kd_debug_io io;
		struct kd_file_io file;
	} u;
	const void *data; /* sent after the header; owned by the caller, or a static blob */
	size_t data_len;
};

/* Serialises msg as one data packet with this id. Returns the bytes written, or 0 if it
 * does not fit out_cap or KD_MAX_PAYLOAD. */
size_t kd_api_msg_packet(const struct kd_api_msg *msg, uint32_t id, uint8_t *out, size_t out_cap);

/* ---- debugger: requests --------------------------------------------------------------
 *
 * Every builder zeroes the header (ReturnStatus 0, Processor 0) and sets only what the api
 * needs; set msg->u.m.processor afterwards for a per-CPU request without a cpu argument.
 * Reads are clamped to KD_MANIPULATE_MAX_DATA (the target would clamp anyway; the caller
 * sees the count it asked for in the header and loops). Writes longer than that are refused
 * with KD_API_ERR_OVERSIZE rather than cut, since a partial write is a different request.
 */
void kd_api_req_init(struct kd_api_msg *msg, uint32_t api);
void kd_api_req_read_virtual(struct kd_api_msg *msg, uint64_t addr, uint32_t len);
enum kd_api_error kd_api_req_write_virtual(struct kd_api_msg *msg, uint64_t addr,
					   const void *data, uint32_t len);
/* cache: caching mode (0 default, 1 cached, 2 uncached, 3 write-combined). */
void kd_api_req_read_physical(struct kd_api_msg *msg, uint64_t addr, uint32_t len,
			      uint32_t cache);
enum kd_api_error kd_api_req_write_physical(struct kd_api_msg *msg, uint64_t addr,
					    const void *data, uint32_t len, uint32_t cache);
void kd_api_req_get_context(struct kd_api_msg *msg, uint16_t cpu);
/* ContextFlags in the header are taken from ctx. */
void kd_api_req_set_context(struct kd_api_msg *msg, uint16_t cpu,
			    const struct kd_context_amd64 *ctx);
enum kd_api_error kd_api_req_get_context_ex(struct kd_api_msg *msg, uint16_t cpu,
					    uint32_t offset, uint32_t count);
/* data: count bytes to store at CONTEXT offset. */
enum kd_api_error kd_api_req_set_context_ex(struct kd_api_msg *msg, uint16_t cpu,
					    uint32_t offset, const void *data, uint32_t count);
/* selector: enum kd_amd64_control_space. */
void kd_api_req_read_control(struct kd_api_msg *msg, uint16_t cpu, uint64_t selector,
			     uint32_t len);
enum kd_api_error kd_api_req_write_control(struct kd_api_msg *msg, uint16_t cpu,
					   uint64_t selector, const void *data, uint32_t len);
void kd_api_req_write_breakpoint(struct kd_api_msg *msg, uint64_t addr);
void kd_api_req_restore_breakpoint(struct kd_api_msg *msg, uint32_t handle);
/* status: KD_DBG_CONTINUE, KD_DBG_EXCEPTION_HANDLED or KD_DBG_EXCEPTION_NOT_HANDLED. */
void kd_api_req_continue(struct kd_api_msg *msg, uint32_t status);
/* Continue2 with the AMD64 control set; the symbol range is 1..1 ("no change"). */
void kd_api_req_continue2(struct kd_api_msg *msg, uint32_t status, int trace, uint64_t dr7);
void kd_api_req_get_version(struct kd_api_msg *msg);
void kd_api_req_query_memory(struct kd_api_msg *msg, uint64_t addr);
void kd_api_req_read_msr(struct kd_api_msg *msg, uint32_t msr);
void kd_api_req_write_msr(struct kd_api_msg *msg, uint32_t msr, uint64_t value);

/* ---- debugger: replies -------------------------------------------------------------- */

/* Any manipulate packet: KD_API_ERR_SHORT below 0x38 bytes, KD_API_ERR_OVERSIZE above
 * KD_MAX_PAYLOAD. Copies the header to *m; *data and *data_len = the bytes after it (NULL
 * and 0 when there are none). On SHORT *m is zeroed; on OVERSIZE *m holds the header but
 * *data is NULL. Every parser below splits its payload the same way. */
enum kd_api_error kd_api_parse_manipulate(const uint8_t *payload, size_t len,
					  struct kd_manipulate_state64 *m,
					  const uint8_t **data, size_t *data_len);

/*
 * A reply to a request for expect_api: kd_api_parse_manipulate, the api must match, the api
 * must have a reply, then kd_api_check_reply. Outputs are filled whenever the header was
 * long enough, so a caller can still log a rejected reply.
 */
enum kd_api_error kd_api_parse_reply(const uint8_t *payload, size_t len, uint32_t expect_api,
				     struct kd_manipulate_state64 *m,
				     const uint8_t **data, size_t *data_len);

/*
 * Per-api consistency of a reply header with its data length: reads need
 * ActualBytesRead == data_len <= TransferCount (and <= KD_MANIPULATE_MAX_DATA), writes
 * ActualBytesWritten <= TransferCount, a successful GetContext a full CONTEXT, GetContextEx
 * BytesCopied == data_len <= ByteCount, GetBusData Length == data_len. A failed reply
 * without data is always consistent: targets echo the request's header on failure, so its
 * counts mean nothing then.
 */
enum kd_api_error kd_api_check_reply(const struct kd_manipulate_state64 *m, size_t data_len);

/* GetVersion reply with STATUS_SUCCESS (else KD_API_ERR_STATUS) -> *ver. */
enum kd_api_error kd_api_parse_version(const uint8_t *payload, size_t len,
				       struct kd_get_version64 *ver);

/* GetContext reply with STATUS_SUCCESS and a full AMD64 CONTEXT -> *ctx. */
enum kd_api_error kd_api_parse_context(const uint8_t *payload, size_t len,
				       struct kd_context_amd64 *ctx);

/* ---- target: requests and replies --------------------------------------------------- */

/*
 * A request: kd_api_parse_manipulate, then KD_API_ERR_UNKNOWN for an unassigned api, then
 * kd_api_check_request. On every error but SHORT/OVERSIZE *m is valid, so the target can
 * answer (kd_api_reply_init with STATUS_UNSUCCESSFUL) instead of dropping the packet.
 */
enum kd_api_error kd_api_parse_request(const uint8_t *payload, size_t len,
				       struct kd_manipulate_state64 *m,
				       const uint8_t **data, size_t *data_len);

/*
 * Per-api minimums of a request: writes need data_len == TransferCount, SetContext a full
 * CONTEXT, GetContextEx/SetContextEx a range inside the CONTEXT (SetContextEx with
 * data_len == ByteCount), SearchMemory/FillMemory a non-empty pattern of data_len bytes,
 * SetBusData data_len == Length. Extra data after an api that takes none is ignored.
 */
enum kd_api_error kd_api_check_request(const struct kd_manipulate_state64 *m, size_t data_len);

/* Bytes a read request (virtual, physical, control space) may return:
 * min(TransferCount, KD_MANIPULATE_MAX_DATA). */
uint32_t kd_api_read_len(const struct kd_manipulate_state64 *req);

/* Header-only reply: the request's header echoed (api, processor, union) with status. */
void kd_api_reply_init(struct kd_api_msg *msg, const struct kd_manipulate_state64 *req,
		       uint32_t status);

/* Read reply carrying got bytes (clamped to kd_api_read_len); STATUS_SUCCESS if that is
 * the whole clamped count, STATUS_UNSUCCESSFUL with the partial data otherwise (ReactOS). */
void kd_api_reply_read(struct kd_api_msg *msg, const struct kd_manipulate_state64 *req,
		       const void *data, uint32_t got);

/* Write reply: success iff written == TransferCount. */
void kd_api_reply_write(struct kd_api_msg *msg, const struct kd_manipulate_state64 *req,
			uint32_t written);

void kd_api_reply_get_context(struct kd_api_msg *msg, const struct kd_manipulate_state64 *req,
			      const struct kd_context_amd64 *ctx);

/* GetContextEx: the requested range of ctx, or STATUS_UNSUCCESSFUL without data if the
 * range leaves the CONTEXT. */
void kd_api_reply_get_context_ex(struct kd_api_msg *msg,
				 const struct kd_manipulate_state64 *req,
				 const struct kd_context_amd64 *ctx);

void kd_api_reply_version(struct kd_api_msg *msg, const struct kd_manipulate_state64 *req,
			  const struct kd_get_version64 *ver);

/* WriteBreakPoint: handle 0 means "could not set" (STATUS_UNSUCCESSFUL). */
void kd_api_reply_breakpoint(struct kd_api_msg *msg, const struct kd_manipulate_state64 *req,
			     uint32_t handle);

void kd_api_reply_msr(struct kd_api_msg *msg, const struct kd_manipulate_state64 *req,
		      uint64_t value, uint32_t status);

/* space: KD_QUERY_SPACE_*; flags: KD_QUERY_FLAG_*. */
void kd_api_reply_query_memory(struct kd_api_msg *msg, const struct kd_manipulate_state64 *req,
			       uint32_t space, uint32_t flags);

/* ---- state changes ------------------------------------------------------------------ */

/* The reporting processor, as a state change describes it. */
struct kd_api_cpu {
	uint16_t processor_level;
	uint16_t processor;
	uint32_t number_processors;
	uint64_t thread;
	uint64_t pc;
	uint64_t dr6;
	uint64_t dr7;
	uint32_t eflags;
	uint16_t seg_cs, seg_ds, seg_es, seg_fs;
	const uint8_t *stream; /* bytes at pc with breakpoints removed, or NULL */
	size_t stream_len;     /* clamped to KD_MAXSTREAM */
};

/* The trace blob an exception state change carries (ULONG count 1, no entries). */
#define KD_API_TRACE_BLOB_LEN 4u

/* Exception state change + the 4-byte trace blob. nparams <= 15 (else KD_API_ERR_ARG). */
enum kd_api_error kd_api_build_exception(struct kd_api_msg *msg, const struct kd_api_cpu *cpu,
					 uint32_t code, uint64_t address, int first_chance,
					 const uint64_t *params, uint32_t nparams);

/* LoadSymbols state change + the path with its NUL (path NULL: no data, length 0). A path
 * that does not fit the packet gives KD_API_ERR_OVERSIZE. */
enum kd_api_error kd_api_build_load_symbols(struct kd_api_msg *msg,
					    const struct kd_api_cpu *cpu, const char *path,
					    uint64_t base, uint32_t size, uint32_t checksum,
					    int unload);

/* A STATE_CHANGE64 payload: >= 0xF0 bytes, a known new state, NumberParameters <= 15,
 * a LoadSymbols path inside the packet. *sc is valid on every error but SHORT/OVERSIZE. */
enum kd_api_error kd_api_parse_state_change(const uint8_t *payload, size_t len,
					    struct kd_wait_state_change64 *sc,
					    const uint8_t **data, size_t *data_len);

/* The LoadSymbols path of a parsed state change, without trailing NULs (it is the first
 * PathNameLength bytes of the data, as ReactOS and Windows send it). */
enum kd_api_error kd_api_state_path(const struct kd_wait_state_change64 *sc,
				    const uint8_t *data, size_t data_len,
				    const char **path, size_t *path_len);

/* ---- DEBUG_IO and FILE_IO ----------------------------------------------------------- */

/* DbgPrint text; longer than KD_DEBUG_IO_MAX_TEXT is cut there, as the kernel does. */
void kd_api_build_print(struct kd_api_msg *msg, uint16_t cpu, const char *text, size_t len);

/* Target prompt (DbgPrompt): the prompt text and the longest answer it takes. */
void kd_api_build_prompt(struct kd_api_msg *msg, uint16_t cpu, const char *prompt, size_t len,
			 uint32_t max_answer);

/* Debugger answer to a GetString prompt, cut to the prompt's LengthOfStringRead. */
void kd_api_build_get_string_reply(struct kd_api_msg *msg, const struct kd_debug_io *prompt,
				   const char *answer, size_t len);

/*
 * A DEBUG_IO payload: >= 0x10 bytes, PrintString or GetString. PrintString: the text is
 * LengthOfString bytes, which must lie inside the packet. GetString (prompt or answer): the
 * text is all the data, which is what the kernel reads.
 */
enum kd_api_error kd_api_parse_debug_io(const uint8_t *payload, size_t len,
					struct kd_debug_io *io,
					const uint8_t **text, size_t *text_len);

/* A FILE_IO payload: >= 0x40 bytes, a known api (*io valid even when unknown). */
enum kd_api_error kd_api_parse_file_io(const uint8_t *payload, size_t len,
				       struct kd_file_io *io,
				       const uint8_t **data, size_t *data_len);

/* The answer of a debugger that serves no files: the api echoed, STATUS_NO_SUCH_FILE. */
void kd_api_build_file_io_reply(struct kd_api_msg *msg, const struct kd_file_io *req);

#endif
