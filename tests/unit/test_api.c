/* SPDX-License-Identifier: MIT */
/* DBGKD API helpers: the api table, every builder/parser round trip, length checks, clamping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmkd/kd_api.h"
#include "vmkd/kd_packet.h"

#include "vmkd/kd_bytes.h"

#define MANIP 0x38u
#define OFF_STATUS 0x08u
#define OFF_U 0x10u

/* A packet buffer and the payload inside it. */
struct pkt {
	uint8_t wire[KD_MAX_PACKET_BYTES];
	uint8_t *payload;
	size_t len;
};

/* Serialises msg the way kd_link_send would put it on the wire. */
static void serialise(const struct kd_api_msg *msg, struct pkt *p)
{
	struct kd_packet_header hdr;
	size_t n = kd_api_msg_packet(msg, KD_INITIAL_PACKET_ID, p->wire, sizeof(p->wire));

	assert_true(n >= KD_HEADER_SIZE + 1);
	kd_header_decode(&hdr, p->wire);
	assert_int_equal(hdr.type, msg->type);
	assert_int_equal(hdr.byte_count, msg->hdr_len + msg->data_len);
	assert_int_equal(hdr.checksum, kd_checksum(p->wire + KD_HEADER_SIZE, hdr.byte_count));
	p->payload = p->wire + KD_HEADER_SIZE;
	p->len = hdr.byte_count;
}

/* Request built by the debugger, parsed by the target: must come back intact. */
static void request_roundtrip(const struct kd_api_msg *msg, struct kd_manipulate_state64 *m,
			      const uint8_t **data, size_t *data_len)
{
	static struct pkt p;

	assert_int_equal(msg->type, KD_PACKET_TYPE_STATE_MANIPULATE);
	assert_int_equal(msg->hdr_len, MANIP);
	serialise(msg, &p);
	assert_int_equal(kd_api_parse_request(p.payload, p.len, m, data, data_len), KD_API_OK);
	assert_memory_equal(m, &msg->u.m, MANIP);
	assert_int_equal(*data_len, msg->data_len);
	if (msg->data_len)
		assert_memory_equal(*data, msg->data, msg->data_len);
	else
		assert_null(*data);
}

/* Reply built by the target, parsed by the debugger. */
static enum kd_api_error reply_roundtrip(const struct kd_api_msg *msg, uint32_t api,
					 struct kd_manipulate_state64 *m,
					 const uint8_t **data, size_t *data_len)
{
	static struct pkt p;

	serialise(msg, &p);
	return kd_api_parse_reply(p.payload, p.len, api, m, data, data_len);
}

/* ---- table and names ------------------------------------------------------------------- */

static void table_covers_every_api(void **state)
{
	(void)state;
	static const uint32_t no_reply[] = { KD_API_CONTINUE, KD_API_REBOOT, KD_API_CONTINUE2,
					     KD_API_CAUSE_BUGCHECK, KD_API_SWITCH_PROCESSOR,
					     KD_API_CLEAR_ALL_INTERNAL_BREAKPOINTS };
	unsigned known = 0;

	for (uint32_t api = KD_API_READ_VIRTUAL_MEMORY; api < KD_API_MAXIMUM; api++) {
		const struct kd_api_info *info = kd_api_lookup(api);
		int silent = 0;

		if (api >= 0x314A && api <= 0x314F) {
			assert_null(info);
			assert_null(kd_api_name(api));
			continue;
		}
		assert_non_null(info);
		known++;
		assert_int_equal(info->api, api);
		assert_ptr_equal(kd_api_name(api), info->name);
		for (size_t i = 0; i < sizeof(no_reply) / sizeof(no_reply[0]); i++)
			silent |= no_reply[i] == api;
		assert_int_equal(kd_api_has_reply(api), !silent);
		/* Names are unique. */
		for (uint32_t other = KD_API_READ_VIRTUAL_MEMORY; other < api; other++)
			if (kd_api_name(other))
				assert_string_not_equal(kd_api_name(other), info->name);
	}
	assert_int_equal(known, 0x31 - 6);
	assert_string_equal(kd_api_name(KD_API_READ_VIRTUAL_MEMORY), "ReadVirtualMemory");
	assert_string_equal(kd_api_name(KD_API_GET_VERSION), "GetVersion");
	assert_string_equal(kd_api_name(KD_API_SET_CONTEXT_EX), "SetContextEx");
	assert_int_equal(kd_api_lookup(KD_API_GET_CONTEXT)->flags,
			 KD_API_F_REPLY | KD_API_F_REPLY_DATA);
	assert_int_equal(kd_api_lookup(KD_API_WRITE_VIRTUAL_MEMORY)->flags,
			 KD_API_F_REPLY | KD_API_F_REQ_DATA);
	assert_null(kd_api_lookup(0x312F));
	assert_null(kd_api_lookup(KD_API_MAXIMUM));
	assert_null(kd_api_lookup(0));
	assert_int_equal(kd_api_has_reply(0x3199), 1);
}

static void other_names(void **state)
{
	(void)state;
	assert_string_equal(kd_api_state_name(KD_STATE_EXCEPTION), "Exception");
	assert_string_equal(kd_api_state_name(KD_STATE_LOAD_SYMBOLS | KD_STATE_ALTERNATE_FLAG),
			    "LoadSymbols");
	assert_string_equal(kd_api_state_name(KD_STATE_COMMAND_STRING), "CommandString");
	assert_null(kd_api_state_name(KD_STATE_MAXIMUM));
	assert_string_equal(kd_api_debug_io_name(KD_API_PRINT_STRING), "PrintString");
	assert_string_equal(kd_api_debug_io_name(KD_API_GET_STRING), "GetString");
	assert_null(kd_api_debug_io_name(0x3232));
	assert_string_equal(kd_api_file_io_name(KD_API_CREATE_FILE), "CreateFile");
	assert_string_equal(kd_api_file_io_name(KD_API_CLOSE_FILE), "CloseFile");
	assert_null(kd_api_file_io_name(0x3434));
	assert_null(kd_api_file_io_name(0x342F));
	assert_string_equal(kd_api_control_space_name(KD_CONTROL_SPACE_KPCR), "KPCR");
	assert_string_equal(kd_api_control_space_name(KD_CONTROL_SPACE_KSPECIAL), "KSPECIAL");
	assert_string_equal(kd_api_control_space_name(KD_CONTROL_SPACE_KTHREAD), "KTHREAD");
	assert_null(kd_api_control_space_name(4));
	assert_null(kd_api_control_space_name(UINT64_MAX));
}

static void error_names(void **state)
{
	(void)state;
	for (int e = 0; e < KD_API_ERR_MAX; e++) {
		assert_string_not_equal(kd_api_error_name((enum kd_api_error)e), "?");
		for (int o = 0; o < e; o++)
			assert_string_not_equal(kd_api_error_name((enum kd_api_error)e),
						kd_api_error_name((enum kd_api_error)o));
	}
	assert_string_equal(kd_api_error_name(KD_API_OK), "ok");
	assert_string_equal(kd_api_error_name(KD_API_ERR_SHORT), "short");
	assert_string_equal(kd_api_error_name(KD_API_ERR_MAX), "?");
}

/* ---- debugger requests ----------------------------------------------------------------- */

/* The requests the capture client sent, byte for byte (late-breakin TX). */
static void requests_match_capture(void **state)
{
	(void)state;
	struct kd_api_msg msg;
	static struct pkt p;
	uint8_t want[MANIP];

	kd_api_req_get_version(&msg);
	serialise(&msg, &p);
	assert_int_equal(p.len, MANIP);
	memset(want, 0, sizeof(want));
	want[0] = 0x46;
	want[1] = 0x31;
	assert_memory_equal(p.payload, want, MANIP);
	assert_int_equal(kd_get_le32(p.wire + 12), 0x77);

	kd_api_req_get_context(&msg, 0);
	serialise(&msg, &p);
	want[0] = 0x32;
	assert_memory_equal(p.payload, want, MANIP);
	assert_int_equal(kd_get_le32(p.wire + 12), 0x63);

	kd_api_req_continue(&msg, KD_DBG_CONTINUE);
	serialise(&msg, &p);
	want[0] = 0x36;
	want[0x10] = 0x02;
	want[0x12] = 0x01;
	assert_memory_equal(p.payload, want, MANIP);
}

static void memory_requests_roundtrip(void **state)
{
	(void)state;
	static uint8_t bytes[KD_MANIPULATE_MAX_DATA];
	struct kd_manipulate_state64 m;
	struct kd_api_msg msg;
	const uint8_t *data;
	size_t len;

	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)(i * 7);

	kd_api_req_read_virtual(&msg, 0xfffff80000001000ull, 3944);
	request_roundtrip(&msg, &m, &data, &len);
	assert_int_equal(m.api_number, KD_API_READ_VIRTUAL_MEMORY);
	assert_int_equal(m.u.read_memory.target_base_address, 0xfffff80000001000ull);
	assert_int_equal(m.u.read_memory.transfer_count, 3944);
	assert_int_equal(m.u.read_memory.actual_bytes_read, 0);
	assert_int_equal(m.return_status, 0);

	assert_int_equal(kd_api_req_write_virtual(&msg, 0x1000, bytes, 3944), KD_API_OK);
	request_roundtrip(&msg, &m, &data, &len);
	assert_int_equal(m.api_number, KD_API_WRITE_VIRTUAL_MEMORY);
	assert_int_equal(m.u.write_memory.transfer_count, 3944);
	assert_int_equal(len, 3944);

	kd_api_req_read_physical(&msg, 0x7000, 16, 2);
	request_roundtrip(&msg, &m, &data, &len);
	assert_int_equal(m.api_number, KD_API_READ_PHYSICAL_MEMORY);
	assert_int_equal(m.u.read_memory.actual_bytes_read, 2); /* caching mode */

	assert_int_equal(kd_api_req_write_physical(&msg, 0x7000, bytes, 5, 1), KD_API_OK);
	request_roundtrip(&msg, &m, &data, &len);
	assert_int_equal(m.api_number, KD_API_WRITE_PHYSICAL_MEMORY);
	assert_int_equal(m.u.write_memory.actual_bytes_written, 1);
	assert_int_equal(len, 5);

	kd_api_req_read_control(&msg, 3, KD_CONTROL_SPACE_KSPECIAL, 0xE0);
	request_roundtrip(&msg, &m, &data, &len);
	assert_int_equal(m.api_number, KD_API_READ_CONTROL_SPACE);
	assert_int_equal(m.processor, 3);
	assert_int_equal(m.u.read_memory.target_base_address, KD_CONTROL_SPACE_KSPECIAL);
	assert_int_equal(m.u.read_memory.transfer_count, 0xE0);

	assert_int_equal(kd_api_req_write_control(&msg, 1, KD_CONTROL_SPACE_KSPECIAL, bytes, 0xE0),
			 KD_API_OK);
	request_roundtrip(&msg, &m, &data, &len);
	assert_int_equal(m.api_number, KD_API_WRITE_CONTROL_SPACE);
	assert_int_equal(m.processor, 1);
	assert_int_equal(len, 0xE0);

	/* Zero-length write: legal, no data. */
	assert_int_equal(kd_api_req_write_virtual(&msg, 0x1000, NULL, 0), KD_API_OK);
	request_roundtrip(&msg, &m, &data, &len);
	assert_int_equal(len, 0);
}

static void read_requests_clamp(void **state)
{
	(void)state;
	struct kd_api_msg msg;

	kd_api_req_read_virtual(&msg, 0, 10000);
	assert_int_equal(msg.u.m.u.read_memory.transfer_count, KD_MANIPULATE_MAX_DATA);
	kd_api_req_read_physical(&msg, 0, 3945, 0);
	assert_int_equal(msg.u.m.u.read_memory.transfer_count, 3944);
	kd_api_req_read_control(&msg, 0, 2, UINT32_MAX);
	assert_int_equal(msg.u.m.u.read_memory.transfer_count, 3944);
	kd_api_req_read_virtual(&msg, 0, 3944);
	assert_int_equal(msg.u.m.u.read_memory.transfer_count, 3944);
}

static void write_requests_refuse_oversize(void **state)
{
	(void)state;
	static uint8_t bytes[KD_MANIPULATE_MAX_DATA + 1];
	struct kd_api_msg msg;

	assert_int_equal(kd_api_req_write_virtual(&msg, 0, bytes, 3945), KD_API_ERR_OVERSIZE);
	assert_int_equal(kd_api_req_write_physical(&msg, 0, bytes, 3945, 0), KD_API_ERR_OVERSIZE);
	assert_int_equal(kd_api_req_write_control(&msg, 0, 2, bytes, 3945), KD_API_ERR_OVERSIZE);
	assert_int_equal(kd_api_req_write_virtual(&msg, 0, NULL, 1), KD_API_ERR_ARG);
	assert_int_equal(kd_api_req_write_virtual(&msg, 0, bytes, 3944), KD_API_OK);
	assert_int_equal(kd_api_req_set_context_ex(&msg, 0, 0, NULL, 8), KD_API_ERR_ARG);
}

static void context_requests_roundtrip(void **state)
{
	(void)state;
	struct kd_manipulate_state64 m;
	struct kd_context_amd64 ctx;
	struct kd_api_msg msg;
	const uint8_t *data;
	size_t len;
	uint64_t rip = 0xfffff80000587d13ull;

	memset(&ctx, 0xA5, sizeof(ctx));
	ctx.context_flags = KD_CONTEXT_ALL;
	ctx.rip = rip;

	kd_api_req_get_context(&msg, 1);
	request_roundtrip(&msg, &m, &data, &len);
	assert_int_equal(m.api_number, KD_API_GET_CONTEXT);
	assert_int_equal(m.processor, 1);

	kd_api_req_set_context(&msg, 1, &ctx);
	request_roundtrip(&msg, &m, &data, &len);
	assert_int_equal(m.api_number, KD_API_SET_CONTEXT);
	assert_int_equal(m.u.set_context.context_flags, KD_CONTEXT_ALL);
	assert_int_equal(len, sizeof(ctx));
	assert_int_equal(kd_get_le64(data + offsetof(struct kd_context_amd64, rip)), rip);

	assert_int_equal(kd_api_req_get_context_ex(&msg, 0, 0x78, 0x88), KD_API_OK);
	request_roundtrip(&msg, &m, &data, &len);
	assert_int_equal(m.api_number, KD_API_GET_CONTEXT_EX);
	assert_int_equal(m.u.context_ex.offset, 0x78);
	assert_int_equal(m.u.context_ex.byte_count, 0x88);

	assert_int_equal(kd_api_req_set_context_ex(&msg, 0, 0xF8, &rip, 8), KD_API_OK);
	request_roundtrip(&msg, &m, &data, &len);
	assert_int_equal(m.api_number, KD_API_SET_CONTEXT_EX);
	assert_int_equal(len, 8);

	/* Ranges must stay inside the 0x4D0-byte CONTEXT, without wrapping. */
	assert_int_equal(kd_api_req_get_context_ex(&msg, 0, 0x4C8, 8), KD_API_OK);
	assert_int_equal(kd_api_req_get_context_ex(&msg, 0, 0x4C8, 9), KD_API_ERR_CONTEXT);
	assert_int_equal(kd_api_req_get_context_ex(&msg, 0, UINT32_MAX, 2), KD_API_ERR_CONTEXT);
	assert_int_equal(kd_api_req_set_context_ex(&msg, 0, 0x4D0, &rip, 1), KD_API_ERR_CONTEXT);
}

static void control_requests_roundtrip(void **state)
{
	(void)state;
	struct kd_manipulate_state64 m;
	struct kd_api_msg msg;
	const uint8_t *data;
	size_t len;

	kd_api_req_write_breakpoint(&msg, 0xfffff80000401000ull);
	request_roundtrip(&msg, &m, &data, &len);
	assert_int_equal(m.api_number, KD_API_WRITE_BREAKPOINT);
	assert_int_equal(m.u.write_breakpoint.breakpoint_address, 0xfffff80000401000ull);

	kd_api_req_restore_breakpoint(&msg, 7);
	request_roundtrip(&msg, &m, &data, &len);
	assert_int_equal(m.api_number, KD_API_RESTORE_BREAKPOINT);
	assert_int_equal(m.u.restore_breakpoint.breakpoint_handle, 7);

	kd_api_req_continue(&msg, KD_DBG_EXCEPTION_NOT_HANDLED);
	request_roundtrip(&msg, &m, &data, &len);
	assert_int_equal(m.api_number, KD_API_CONTINUE);
	assert_int_equal(m.u.continue1.continue_status, KD_DBG_EXCEPTION_NOT_HANDLED);

	kd_api_req_continue2(&msg, KD_DBG_CONTINUE, 5, 0x401);
	request_roundtrip(&msg, &m, &data, &len);
	assert_int_equal(m.api_number, KD_API_CONTINUE2);
	assert_int_equal(m.u.continue2.continue_status, KD_DBG_CONTINUE);
	assert_int_equal(m.u.continue2.trace_flag, 1);
	assert_int_equal(m.u.continue2.dr7, 0x401);
	assert_int_equal(m.u.continue2.current_symbol_start, 1);
	assert_int_equal(m.u.continue2.current_symbol_end, 1);
	kd_api_req_continue2(&msg, KD_DBG_CONTINUE, 0, 0);
	assert_int_equal(msg.u.m.u.continue2.trace_flag, 0);

	kd_api_req_get_version(&msg);
	request_roundtrip(&msg, &m, &data, &len);
	assert_int_equal(m.api_number, KD_API_GET_VERSION);

	kd_api_req_query_memory(&msg, 0xfffff80000400000ull);
	request_roundtrip(&msg, &m, &data, &len);
	assert_int_equal(m.api_number, KD_API_QUERY_MEMORY);
	assert_int_equal(m.u.query_memory.address, 0xfffff80000400000ull);
	assert_int_equal(m.u.query_memory.address_space, 0);

	kd_api_req_read_msr(&msg, 0xC0000082u);
	request_roundtrip(&msg, &m, &data, &len);
	assert_int_equal(m.api_number, KD_API_READ_MSR);
	assert_int_equal(m.u.read_write_msr.msr, 0xC0000082u);

	kd_api_req_write_msr(&msg, 0xC0000101u, 0x1122334455667788ull);
	request_roundtrip(&msg, &m, &data, &len);
	assert_int_equal(m.api_number, KD_API_WRITE_MSR);
	assert_int_equal(m.u.read_write_msr.data_value_low, 0x55667788u);
	assert_int_equal(m.u.read_write_msr.data_value_high, 0x11223344u);

	kd_api_req_init(&msg, KD_API_CLEAR_ALL_INTERNAL_BREAKPOINTS);
	request_roundtrip(&msg, &m, &data, &len);
	assert_int_equal(m.api_number, KD_API_CLEAR_ALL_INTERNAL_BREAKPOINTS);
}

/* ---- generic manipulate parsing --------------------------------------------------------- */

static void parse_manipulate_lengths(void **state)
{
	(void)state;
	static uint8_t buf[KD_MAX_PAYLOAD + 1];
	struct kd_manipulate_state64 m;
	const uint8_t *data;
	size_t len;

	memset(buf, 0x5A, sizeof(buf));
	assert_int_equal(kd_api_parse_manipulate(buf, MANIP - 1, &m, &data, &len), KD_API_ERR_SHORT);
	assert_null(data);
	assert_int_equal(len, 0);
	assert_int_equal(m.api_number, 0);
	assert_int_equal(kd_api_parse_manipulate(NULL, 0, &m, &data, &len), KD_API_ERR_SHORT);
	assert_int_equal(kd_api_parse_manipulate(buf, KD_MAX_PAYLOAD + 1, &m, &data, &len),
			 KD_API_ERR_OVERSIZE);
	assert_null(data);
	assert_int_equal(len, 0);
	assert_int_equal(m.api_number, 0x5A5A5A5A); /* kept for logging */
	assert_int_equal(kd_api_parse_manipulate(buf, MANIP, &m, &data, &len), KD_API_OK);
	assert_null(data);
	assert_int_equal(len, 0);
	assert_int_equal(m.api_number, 0x5A5A5A5A);
	assert_int_equal(kd_api_parse_manipulate(buf, KD_MAX_PAYLOAD, &m, &data, &len), KD_API_OK);
	assert_ptr_equal(data, buf + MANIP);
	assert_int_equal(len, KD_MANIPULATE_MAX_DATA);
	/* Unaligned payloads are fine: the header is copied out. */
	assert_int_equal(kd_api_parse_manipulate(buf + 1, MANIP, &m, &data, &len), KD_API_OK);
}

/* ---- target requests -------------------------------------------------------------------- */

/* Builds a request payload: header fields set by the caller, then data_len bytes. */
static size_t raw_request(uint8_t *buf, uint32_t api, size_t data_len)
{
	memset(buf, 0, MANIP + data_len);
	kd_put_le32(buf, api);
	return MANIP + data_len;
}

static void target_request_checks(void **state)
{
	(void)state;
	static uint8_t buf[KD_MAX_PAYLOAD];
	struct kd_manipulate_state64 m;
	const uint8_t *data;
	size_t len, n;

	/* WriteVirtualMemory: data length must equal TransferCount. */
	n = raw_request(buf, KD_API_WRITE_VIRTUAL_MEMORY, 16);
	kd_put_le32(buf + OFF_U + 8, 16);
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_OK);
	kd_put_le32(buf + OFF_U + 8, 17);
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_ERR_DATA_LENGTH);
	assert_int_equal(m.api_number, KD_API_WRITE_VIRTUAL_MEMORY); /* still answerable */
	kd_put_le32(buf + OFF_U + 8, 15);
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_ERR_DATA_LENGTH);
	kd_put_le32(buf, KD_API_WRITE_PHYSICAL_MEMORY);
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_ERR_DATA_LENGTH);
	kd_put_le32(buf, KD_API_WRITE_CONTROL_SPACE);
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_ERR_DATA_LENGTH);

	/* SetContext needs a whole CONTEXT. */
	n = raw_request(buf, KD_API_SET_CONTEXT, sizeof(struct kd_context_amd64) - 1);
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_ERR_CONTEXT);
	n = raw_request(buf, KD_API_SET_CONTEXT, sizeof(struct kd_context_amd64));
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_OK);

	/* SetContextEx: data == ByteCount and inside the CONTEXT. */
	n = raw_request(buf, KD_API_SET_CONTEXT_EX, 8);
	kd_put_le32(buf + OFF_U, 0xF8);
	kd_put_le32(buf + OFF_U + 4, 8);
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_OK);
	kd_put_le32(buf + OFF_U + 4, 9);
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_ERR_DATA_LENGTH);
	kd_put_le32(buf + OFF_U, 0x4CC);
	kd_put_le32(buf + OFF_U + 4, 8);
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_ERR_CONTEXT);

	/* GetContextEx: range only. */
	n = raw_request(buf, KD_API_GET_CONTEXT_EX, 0);
	kd_put_le32(buf + OFF_U, 0);
	kd_put_le32(buf + OFF_U + 4, 0x4D0);
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_OK);
	kd_put_le32(buf + OFF_U, 0xFFFFFFF0u);
	kd_put_le32(buf + OFF_U + 4, 0x20);
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_ERR_CONTEXT);

	/* SearchMemory / FillMemory: a non-empty pattern of exactly data_len bytes. */
	n = raw_request(buf, KD_API_SEARCH_MEMORY, 4);
	kd_put_le32(buf + OFF_U + 0x10, 4);
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_OK);
	kd_put_le32(buf + OFF_U + 0x10, 5);
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_ERR_DATA_LENGTH);
	n = raw_request(buf, KD_API_SEARCH_MEMORY, 0);
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_ERR_DATA_LENGTH);
	n = raw_request(buf, KD_API_FILL_MEMORY, 2);
	kd_put_le16(buf + OFF_U + 0x0E, 2);
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_OK);
	kd_put_le16(buf + OFF_U + 0x0E, 1);
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_ERR_DATA_LENGTH);

	/* SetBusData: Length == data_len. */
	n = raw_request(buf, KD_API_SET_BUS_DATA, 4);
	kd_put_le32(buf + OFF_U + 0x10, 4);
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_OK);
	kd_put_le32(buf + OFF_U + 0x10, 40);
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_ERR_DATA_LENGTH);

	/* WriteCustomBreakpoint: the instruction fits its 8-byte field. */
	n = raw_request(buf, KD_API_WRITE_CUSTOM_BREAKPOINT, 0);
	buf[OFF_U + 0x14] = 8;
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_OK);
	buf[OFF_U + 0x14] = 9;
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_ERR_COUNT);

	/* Unknown api: reported, header still filled so the target can fail it. */
	n = raw_request(buf, 0x314A, 0);
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_ERR_UNKNOWN);
	assert_int_equal(m.api_number, 0x314A);
	n = raw_request(buf, 0x3161, 0);
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_ERR_UNKNOWN);

	/* Extra data after an api that takes none is ignored. */
	n = raw_request(buf, KD_API_GET_VERSION, 10);
	assert_int_equal(kd_api_parse_request(buf, n, &m, &data, &len), KD_API_OK);
	assert_int_equal(len, 10);

	/* Short and oversized. */
	assert_int_equal(kd_api_parse_request(buf, MANIP - 1, &m, &data, &len), KD_API_ERR_SHORT);
	assert_int_equal(kd_api_parse_request(buf, KD_MAX_PAYLOAD + 1, &m, &data, &len),
			 KD_API_ERR_OVERSIZE);
}

/* ---- target replies, parsed by the debugger --------------------------------------------- */

static void read_reply_clamps_and_roundtrips(void **state)
{
	(void)state;
	static uint8_t mem[8192];
	struct kd_manipulate_state64 m;
	struct kd_api_msg req, rep;
	const uint8_t *data;
	size_t len;

	for (size_t i = 0; i < sizeof(mem); i++)
		mem[i] = (uint8_t)(i ^ (i >> 8));

	/* A request for more than fits: the target returns 3944 bytes and success. */
	kd_api_req_init(&req, KD_API_READ_VIRTUAL_MEMORY);
	req.u.m.u.read_memory.target_base_address = 0x1000;
	req.u.m.u.read_memory.transfer_count = 8192;
	assert_int_equal(kd_api_read_len(&req.u.m), KD_MANIPULATE_MAX_DATA);
	kd_api_reply_read(&rep, &req.u.m, mem, 8192);
	assert_int_equal(rep.u.m.return_status, KD_STATUS_SUCCESS);
	assert_int_equal(rep.u.m.u.read_memory.actual_bytes_read, 3944);
	assert_int_equal(rep.data_len, 3944);
	assert_int_equal(reply_roundtrip(&rep, KD_API_READ_VIRTUAL_MEMORY, &m, &data, &len),
			 KD_API_OK);
	assert_int_equal(len, 3944);
	assert_memory_equal(data, mem, 3944);
	assert_int_equal(m.u.read_memory.target_base_address, 0x1000);

	/* Partial read: partial data, failure status, still consistent. */
	kd_api_req_read_physical(&req, 0x2000, 100, 0);
	kd_api_reply_read(&rep, &req.u.m, mem, 10);
	assert_int_equal(rep.u.m.api_number, KD_API_READ_PHYSICAL_MEMORY);
	assert_int_equal(rep.u.m.return_status, KD_STATUS_UNSUCCESSFUL);
	assert_int_equal(rep.u.m.u.read_memory.actual_bytes_read, 10);
	assert_int_equal(reply_roundtrip(&rep, KD_API_READ_PHYSICAL_MEMORY, &m, &data, &len),
			 KD_API_OK);
	assert_int_equal(len, 10);

	/* More than asked is cut to the request. */
	kd_api_req_read_control(&req, 0, KD_CONTROL_SPACE_KPCR, 8);
	kd_api_reply_read(&rep, &req.u.m, mem, 100);
	assert_int_equal(rep.data_len, 8);
	assert_int_equal(rep.u.m.return_status, KD_STATUS_SUCCESS);
	assert_int_equal(reply_roundtrip(&rep, KD_API_READ_CONTROL_SPACE, &m, &data, &len),
			 KD_API_OK);

	/* No data at all. */
	kd_api_reply_read(&rep, &req.u.m, NULL, 8);
	assert_int_equal(rep.data_len, 0);
	assert_int_equal(rep.u.m.return_status, KD_STATUS_UNSUCCESSFUL);
	assert_int_equal(reply_roundtrip(&rep, KD_API_READ_CONTROL_SPACE, &m, &data, &len),
			 KD_API_OK);
}

static void read_reply_inconsistencies(void **state)
{
	(void)state;
	static uint8_t buf[KD_MAX_PAYLOAD];
	struct kd_manipulate_state64 m;
	const uint8_t *data;
	size_t len, n;

	n = raw_request(buf, KD_API_READ_VIRTUAL_MEMORY, 100);
	kd_put_le32(buf + OFF_U + 8, 200);  /* TransferCount */
	kd_put_le32(buf + OFF_U + 12, 100); /* ActualBytesRead */
	assert_int_equal(kd_api_parse_reply(buf, n, KD_API_READ_VIRTUAL_MEMORY, &m, &data, &len),
			 KD_API_OK);
	/* Claims more than arrived. */
	kd_put_le32(buf + OFF_U + 12, 101);
	assert_int_equal(kd_api_parse_reply(buf, n, KD_API_READ_VIRTUAL_MEMORY, &m, &data, &len),
			 KD_API_ERR_DATA_LENGTH);
	/* Claims less than arrived. */
	kd_put_le32(buf + OFF_U + 12, 99);
	assert_int_equal(kd_api_parse_reply(buf, n, KD_API_READ_VIRTUAL_MEMORY, &m, &data, &len),
			 KD_API_ERR_DATA_LENGTH);
	/* More than requested. */
	kd_put_le32(buf + OFF_U + 8, 50);
	kd_put_le32(buf + OFF_U + 12, 100);
	assert_int_equal(kd_api_parse_reply(buf, n, KD_API_READ_VIRTUAL_MEMORY, &m, &data, &len),
			 KD_API_ERR_COUNT);
	/* Beyond what any packet can carry. */
	kd_put_le32(buf + OFF_U + 8, 5000);
	kd_put_le32(buf + OFF_U + 12, 3945);
	assert_int_equal(kd_api_parse_reply(buf, n, KD_API_READ_VIRTUAL_MEMORY, &m, &data, &len),
			 KD_API_ERR_OVERSIZE);
	/* A failed reply without data is fine whatever its counts (echoed header). */
	n = raw_request(buf, KD_API_READ_CONTROL_SPACE, 0);
	kd_put_le32(buf + OFF_STATUS, KD_STATUS_UNSUCCESSFUL);
	kd_put_le32(buf + OFF_U + 12, 77);
	assert_int_equal(kd_api_parse_reply(buf, n, KD_API_READ_CONTROL_SPACE, &m, &data, &len),
			 KD_API_OK);
	/* ... but not a successful one. */
	kd_put_le32(buf + OFF_STATUS, KD_STATUS_SUCCESS);
	assert_int_equal(kd_api_parse_reply(buf, n, KD_API_READ_CONTROL_SPACE, &m, &data, &len),
			 KD_API_ERR_COUNT);

	/* Wrong api, an api without reply, short, oversized. */
	n = raw_request(buf, KD_API_READ_VIRTUAL_MEMORY, 0);
	assert_int_equal(kd_api_parse_reply(buf, n, KD_API_READ_PHYSICAL_MEMORY, &m, &data, &len),
			 KD_API_ERR_API_MISMATCH);
	assert_int_equal(m.api_number, KD_API_READ_VIRTUAL_MEMORY);
	n = raw_request(buf, KD_API_CONTINUE, 0);
	assert_int_equal(kd_api_parse_reply(buf, n, KD_API_CONTINUE, &m, &data, &len),
			 KD_API_ERR_NO_REPLY);
	assert_int_equal(kd_api_parse_reply(buf, 20, KD_API_CONTINUE, &m, &data, &len),
			 KD_API_ERR_SHORT);
	assert_int_equal(kd_api_parse_reply(buf, KD_MAX_PAYLOAD + 1, KD_API_CONTINUE, &m, &data,
					    &len),
			 KD_API_ERR_OVERSIZE);
}

static void write_reply(void **state)
{
	(void)state;
	static uint8_t bytes[64];
	struct kd_manipulate_state64 m;
	struct kd_api_msg req, rep;
	const uint8_t *data;
	size_t len;

	assert_int_equal(kd_api_req_write_virtual(&req, 0x1000, bytes, 64), KD_API_OK);
	kd_api_reply_write(&rep, &req.u.m, 64);
	assert_int_equal(rep.u.m.return_status, KD_STATUS_SUCCESS);
	assert_int_equal(rep.data_len, 0);
	assert_int_equal(reply_roundtrip(&rep, KD_API_WRITE_VIRTUAL_MEMORY, &m, &data, &len),
			 KD_API_OK);
	assert_int_equal(m.u.write_memory.actual_bytes_written, 64);

	kd_api_reply_write(&rep, &req.u.m, 3);
	assert_int_equal(rep.u.m.return_status, KD_STATUS_UNSUCCESSFUL);
	assert_int_equal(rep.u.m.u.write_memory.actual_bytes_written, 3);
	kd_api_reply_write(&rep, &req.u.m, 1000);
	assert_int_equal(rep.u.m.u.write_memory.actual_bytes_written, 64);

	/* Written more than asked: inconsistent. */
	kd_api_reply_write(&rep, &req.u.m, 64);
	rep.u.m.u.write_memory.actual_bytes_written = 65;
	assert_int_equal(reply_roundtrip(&rep, KD_API_WRITE_VIRTUAL_MEMORY, &m, &data, &len),
			 KD_API_ERR_COUNT);
}

static void context_replies(void **state)
{
	(void)state;
	static uint8_t buf[KD_MAX_PAYLOAD];
	struct kd_context_amd64 ctx, got;
	struct kd_manipulate_state64 m;
	struct kd_api_msg req, rep;
	const uint8_t *data;
	size_t len, n;
	static struct pkt p;

	memset(&ctx, 0, sizeof(ctx));
	for (size_t i = 0; i < sizeof(ctx); i++)
		((uint8_t *)&ctx)[i] = (uint8_t)i;
	ctx.rip = 0xfffff80000587d12ull;

	kd_api_req_get_context(&req, 0);
	kd_api_reply_get_context(&rep, &req.u.m, &ctx);
	serialise(&rep, &p);
	assert_int_equal(p.len, 0x508); /* as captured: 0x38 + 0x4D0 */
	assert_int_equal(kd_api_parse_context(p.payload, p.len, &got), KD_API_OK);
	assert_memory_equal(&got, &ctx, sizeof(ctx));

	/* A successful GetContext with less than a CONTEXT is refused. */
	assert_int_equal(kd_api_parse_reply(p.payload, p.len - 1, KD_API_GET_CONTEXT, &m, &data,
					    &len),
			 KD_API_ERR_CONTEXT);
	assert_int_equal(kd_api_parse_context(p.payload, MANIP, &got), KD_API_ERR_CONTEXT);
	/* A failed one without data parses, but gives no context. */
	n = raw_request(buf, KD_API_GET_CONTEXT, 0);
	kd_put_le32(buf + OFF_STATUS, KD_STATUS_UNSUCCESSFUL);
	assert_int_equal(kd_api_parse_reply(buf, n, KD_API_GET_CONTEXT, &m, &data, &len), KD_API_OK);
	assert_int_equal(kd_api_parse_context(buf, n, &got), KD_API_ERR_STATUS);
	assert_int_equal(kd_api_parse_context(buf, n - 1, &got), KD_API_ERR_SHORT);

	/* GetContextEx: the requested slice. */
	assert_int_equal(kd_api_req_get_context_ex(&req, 0, 0xF8, 8), KD_API_OK);
	kd_api_reply_get_context_ex(&rep, &req.u.m, &ctx);
	assert_int_equal(rep.u.m.return_status, KD_STATUS_SUCCESS);
	assert_int_equal(rep.u.m.u.context_ex.bytes_copied, 8);
	assert_int_equal(reply_roundtrip(&rep, KD_API_GET_CONTEXT_EX, &m, &data, &len), KD_API_OK);
	assert_int_equal(len, 8);
	assert_int_equal(kd_get_le64(data), 0xfffff80000587d12ull);
	/* Slice outside the CONTEXT: failure, no data. */
	req.u.m.u.context_ex.offset = 0x4D0;
	kd_api_reply_get_context_ex(&rep, &req.u.m, &ctx);
	assert_int_equal(rep.u.m.return_status, KD_STATUS_UNSUCCESSFUL);
	assert_int_equal(rep.data_len, 0);
	assert_int_equal(reply_roundtrip(&rep, KD_API_GET_CONTEXT_EX, &m, &data, &len), KD_API_OK);
	/* BytesCopied must match the data and the request. */
	n = raw_request(buf, KD_API_GET_CONTEXT_EX, 8);
	kd_put_le32(buf + OFF_U + 4, 8);
	kd_put_le32(buf + OFF_U + 8, 8);
	assert_int_equal(kd_api_parse_reply(buf, n, KD_API_GET_CONTEXT_EX, &m, &data, &len),
			 KD_API_OK);
	kd_put_le32(buf + OFF_U + 8, 7);
	assert_int_equal(kd_api_parse_reply(buf, n, KD_API_GET_CONTEXT_EX, &m, &data, &len),
			 KD_API_ERR_DATA_LENGTH);
	kd_put_le32(buf + OFF_U + 4, 4);
	kd_put_le32(buf + OFF_U + 8, 8);
	assert_int_equal(kd_api_parse_reply(buf, n, KD_API_GET_CONTEXT_EX, &m, &data, &len),
			 KD_API_ERR_COUNT);
}

static void version_and_small_replies(void **state)
{
	(void)state;
	static uint8_t buf[KD_MAX_PAYLOAD];
	struct kd_get_version64 ver, got;
	struct kd_manipulate_state64 m;
	struct kd_api_msg req, rep;
	const uint8_t *data;
	size_t len, n;
	static struct pkt p;

	memset(&ver, 0, sizeof(ver));
	ver.major_version = KD_MAJOR_VERSION_FREE;
	ver.minor_version = 19041;
	ver.protocol_version = KD_PROTOCOL_VERSION_64BIT2;
	ver.kd_secondary_version = KD_SECONDARY_VERSION_AMD64_CONTEXT;
	ver.flags = KD_VERSION_FLAG_DATA | KD_VERSION_FLAG_PTR64;
	ver.machine_type = KD_MACHINE_AMD64;
	ver.max_packet_type = KD_PACKET_TYPE_MAX;
	ver.max_state_change = 3;
	ver.max_manipulate = 0x31;
	ver.kern_base = 0xfffff80000400000ull;
	ver.ps_loaded_module_list = 0xfffff8000062cc80ull;
	ver.debugger_data_list = 0xfffff80000610000ull;

	kd_api_req_get_version(&req);
	req.u.m.processor = 2;
	kd_api_reply_version(&rep, &req.u.m, &ver);
	assert_int_equal(rep.u.m.processor, 2); /* echoed */
	serialise(&rep, &p);
	assert_int_equal(p.len, MANIP);
	assert_int_equal(kd_api_parse_version(p.payload, p.len, &got), KD_API_OK);
	assert_memory_equal(&got, &ver, sizeof(ver));
	kd_put_le32(p.payload + OFF_STATUS, KD_STATUS_UNSUCCESSFUL);
	assert_int_equal(kd_api_parse_version(p.payload, p.len, &got), KD_API_ERR_STATUS);
	kd_put_le32(p.payload, KD_API_GET_CONTEXT);
	assert_int_equal(kd_api_parse_version(p.payload, p.len, &got), KD_API_ERR_API_MISMATCH);
	assert_int_equal(kd_api_parse_version(p.payload, 0x37, &got), KD_API_ERR_SHORT);

	kd_api_req_write_breakpoint(&req, 0x1234);
	kd_api_reply_breakpoint(&rep, &req.u.m, 3);
	assert_int_equal(reply_roundtrip(&rep, KD_API_WRITE_BREAKPOINT, &m, &data, &len), KD_API_OK);
	assert_int_equal(m.return_status, KD_STATUS_SUCCESS);
	assert_int_equal(m.u.write_breakpoint.breakpoint_handle, 3);
	assert_int_equal(m.u.write_breakpoint.breakpoint_address, 0x1234);
	kd_api_reply_breakpoint(&rep, &req.u.m, 0);
	assert_int_equal(rep.u.m.return_status, KD_STATUS_UNSUCCESSFUL);

	kd_api_req_read_msr(&req, 0xC0000082u);
	kd_api_reply_msr(&rep, &req.u.m, 0xfffff80000501000ull, KD_STATUS_SUCCESS);
	assert_int_equal(reply_roundtrip(&rep, KD_API_READ_MSR, &m, &data, &len), KD_API_OK);
	assert_int_equal(m.u.read_write_msr.msr, 0xC0000082u);
	assert_int_equal(m.u.read_write_msr.data_value_low, 0x00501000u);
	assert_int_equal(m.u.read_write_msr.data_value_high, 0xfffff800u);
	kd_api_reply_msr(&rep, &req.u.m, 0, KD_STATUS_NO_SUCH_DEVICE);
	assert_int_equal(rep.u.m.return_status, KD_STATUS_NO_SUCH_DEVICE);

	kd_api_req_query_memory(&req, 0xfffff80000400000ull);
	kd_api_reply_query_memory(&rep, &req.u.m, KD_QUERY_SPACE_KERNEL,
				  KD_QUERY_FLAG_READ | KD_QUERY_FLAG_EXECUTE);
	assert_int_equal(reply_roundtrip(&rep, KD_API_QUERY_MEMORY, &m, &data, &len), KD_API_OK);
	assert_int_equal(m.u.query_memory.address, 0xfffff80000400000ull);
	assert_int_equal(m.u.query_memory.address_space, KD_QUERY_SPACE_KERNEL);
	assert_int_equal(m.u.query_memory.flags, 5);

	/* Generic failure: the request echoed with a status. */
	kd_api_req_write_msr(&req, 0x10, 0x55);
	kd_api_reply_init(&rep, &req.u.m, KD_STATUS_UNSUCCESSFUL);
	assert_memory_equal(&rep.u.m.u, &req.u.m.u, sizeof(req.u.m.u));
	assert_int_equal(rep.u.m.return_status, KD_STATUS_UNSUCCESSFUL);
	assert_int_equal(reply_roundtrip(&rep, KD_API_WRITE_MSR, &m, &data, &len), KD_API_OK);

	/* GetBusData: Length must match the data. */
	n = raw_request(buf, KD_API_GET_BUS_DATA, 4);
	kd_put_le32(buf + OFF_U + 0x10, 4);
	assert_int_equal(kd_api_parse_reply(buf, n, KD_API_GET_BUS_DATA, &m, &data, &len), KD_API_OK);
	kd_put_le32(buf + OFF_U + 0x10, 5);
	assert_int_equal(kd_api_parse_reply(buf, n, KD_API_GET_BUS_DATA, &m, &data, &len),
			 KD_API_ERR_DATA_LENGTH);
}

/* ---- state changes ---------------------------------------------------------------------- */

static void fill_cpu(struct kd_api_cpu *cpu, const uint8_t *stream, size_t n)
{
	memset(cpu, 0, sizeof(*cpu));
	cpu->processor_level = 6;
	cpu->processor = 1;
	cpu->number_processors = 2;
	cpu->thread = 0xfffffa8052fff040ull;
	cpu->pc = 0xfffff80000587d12ull;
	cpu->dr6 = 0xffff0ff0;
	cpu->dr7 = 0x400;
	cpu->eflags = 0x202;
	cpu->seg_cs = KD_KGDT64_R0_CODE;
	cpu->seg_ds = 0x2b;
	cpu->seg_es = 0x2b;
	cpu->seg_fs = 0x53;
	cpu->stream = stream;
	cpu->stream_len = n;
}

static void exception_roundtrip(void **state)
{
	(void)state;
	static const uint8_t stream[20] = { 0xcc, 0xc3, 0x4c, 0x89, 0xc0, 0xcd, 0x2d, 0xcc,
					    0xc3, 0x89, 0xc8, 0x48, 0x89, 0xd1, 0x44, 0x89,
					    0xAA, 0xBB, 0xCC, 0xDD };
	static const uint8_t blob[] = { 0x01, 0x00, 0x00, 0x00 };
	const uint64_t params[3] = { 0, 0, 0 };
	struct kd_wait_state_change64 sc;
	struct kd_api_cpu cpu;
	struct kd_api_msg msg;
	const uint8_t *data;
	size_t len;
	static struct pkt p;

	fill_cpu(&cpu, stream, sizeof(stream));
	assert_int_equal(kd_api_build_exception(&msg, &cpu, KD_STATUS_BREAKPOINT,
						cpu.pc + 1, 1, params, 3),
			 KD_API_OK);
	assert_int_equal(msg.type, KD_PACKET_TYPE_STATE_CHANGE64);
	serialise(&msg, &p);
	assert_int_equal(p.len, 0xF4); /* header + trace blob, as Windows sends it */
	assert_int_equal(kd_api_parse_state_change(p.payload, p.len, &sc, &data, &len), KD_API_OK);
	assert_int_equal(len, 4);
	assert_memory_equal(data, blob, 4);
	assert_int_equal(sc.new_state, KD_STATE_EXCEPTION);
	assert_int_equal(sc.processor_level, 6);
	assert_int_equal(sc.processor, 1);
	assert_int_equal(sc.number_processors, 2);
	assert_int_equal(sc.thread, 0xfffffa8052fff040ull);
	assert_int_equal(sc.program_counter, 0xfffff80000587d12ull);
	assert_int_equal(sc.u.exception.record.exception_code, KD_STATUS_BREAKPOINT);
	assert_int_equal(sc.u.exception.record.exception_address, 0xfffff80000587d13ull);
	assert_int_equal(sc.u.exception.record.number_parameters, 3);
	assert_int_equal(sc.u.exception.first_chance, 1);
	assert_int_equal(sc.control_report.dr6, 0xffff0ff0);
	assert_int_equal(sc.control_report.dr7, 0x400);
	assert_int_equal(sc.control_report.eflags, 0x202);
	assert_int_equal(sc.control_report.instruction_count, KD_MAXSTREAM); /* clamped */
	assert_memory_equal(sc.control_report.instruction_stream, stream, KD_MAXSTREAM);
	assert_int_equal(sc.control_report.report_flags,
			 KD_REPORT_INCLUDES_SEGS | KD_REPORT_STANDARD_CS);
	assert_int_equal(sc.control_report.seg_cs, 0x10);
	assert_int_equal(sc.control_report.seg_fs, 0x53);

	/* Not the standard kernel CS, no stream, second chance. */
	fill_cpu(&cpu, NULL, 5);
	cpu.seg_cs = 0x33;
	assert_int_equal(kd_api_build_exception(&msg, &cpu, KD_STATUS_ACCESS_VIOLATION, 0, 0,
						NULL, 0),
			 KD_API_OK);
	assert_int_equal(msg.u.sc.control_report.report_flags, KD_REPORT_INCLUDES_SEGS);
	assert_int_equal(msg.u.sc.control_report.instruction_count, 0);
	assert_int_equal(msg.u.sc.u.exception.first_chance, 0);

	assert_int_equal(kd_api_build_exception(&msg, &cpu, 0, 0, 1, params, 16), KD_API_ERR_ARG);
	assert_int_equal(kd_api_build_exception(&msg, &cpu, 0, 0, 1, NULL, 1), KD_API_ERR_ARG);
}

static void load_symbols_roundtrip(void **state)
{
	(void)state;
	static const char path[] = "\\SystemRoot\\system32\\ntoskrnl.exe";
	static char long_path[KD_MAX_PAYLOAD];
	struct kd_wait_state_change64 sc;
	struct kd_api_cpu cpu;
	struct kd_api_msg msg;
	const uint8_t *data;
	const char *got;
	size_t len, got_len;
	static struct pkt p;

	fill_cpu(&cpu, NULL, 0);
	assert_int_equal(kd_api_build_load_symbols(&msg, &cpu, path, 0xfffff80000400000ull,
						   0x2bb000, 0x12345, 0),
			 KD_API_OK);
	serialise(&msg, &p);
	assert_int_equal(p.len, 0xF0 + sizeof(path));
	assert_int_equal(kd_api_parse_state_change(p.payload, p.len, &sc, &data, &len), KD_API_OK);
	assert_int_equal(sc.new_state, KD_STATE_LOAD_SYMBOLS);
	assert_int_equal(sc.u.load_symbols.path_name_length, sizeof(path)); /* NUL included */
	assert_int_equal(sc.u.load_symbols.base_of_dll, 0xfffff80000400000ull);
	assert_int_equal(sc.u.load_symbols.size_of_image, 0x2bb000);
	assert_int_equal(sc.u.load_symbols.check_sum, 0x12345);
	assert_int_equal(sc.u.load_symbols.unload_symbols, 0);
	assert_int_equal(kd_api_state_path(&sc, data, len, &got, &got_len), KD_API_OK);
	assert_int_equal(got_len, strlen(path));
	assert_memory_equal(got, path, got_len);

	/* No path (QEMU's stub style): no data, length 0. */
	assert_int_equal(kd_api_build_load_symbols(&msg, &cpu, NULL, UINT64_MAX, 0, 0, 1),
			 KD_API_OK);
	serialise(&msg, &p);
	assert_int_equal(p.len, 0xF0);
	assert_int_equal(kd_api_parse_state_change(p.payload, p.len, &sc, &data, &len), KD_API_OK);
	assert_int_equal(sc.u.load_symbols.unload_symbols, 1);
	assert_int_equal(kd_api_state_path(&sc, data, len, &got, &got_len), KD_API_OK);
	assert_int_equal(got_len, 0);

	/* The longest path that fits fills the packet exactly; one more byte does not. */
	memset(long_path, 'a', sizeof(long_path));
	long_path[KD_MAX_PAYLOAD - 0xF0 - 1] = '\0';
	assert_int_equal(kd_api_build_load_symbols(&msg, &cpu, long_path, 0, 0, 0, 0), KD_API_OK);
	serialise(&msg, &p);
	assert_int_equal(p.len, KD_MAX_PAYLOAD);
	long_path[KD_MAX_PAYLOAD - 0xF0 - 1] = 'a';
	long_path[KD_MAX_PAYLOAD - 0xF0] = '\0';
	assert_int_equal(kd_api_build_load_symbols(&msg, &cpu, long_path, 0, 0, 0, 0),
			 KD_API_ERR_OVERSIZE);
	long_path[KD_MAX_PAYLOAD - 0xF0] = 'a';
	long_path[sizeof(long_path) - 1] = '\0';
	assert_int_equal(kd_api_build_load_symbols(&msg, &cpu, long_path, 0, 0, 0, 0),
			 KD_API_ERR_OVERSIZE);
}

static void state_change_checks(void **state)
{
	(void)state;
	static uint8_t buf[KD_MAX_PAYLOAD + 1];
	struct kd_wait_state_change64 sc;
	const uint8_t *data;
	const char *path;
	size_t len, path_len;

	memset(buf, 0, sizeof(buf));
	kd_put_le32(buf, KD_STATE_EXCEPTION);
	assert_int_equal(kd_api_parse_state_change(buf, 0xEF, &sc, &data, &len), KD_API_ERR_SHORT);
	assert_int_equal(kd_api_parse_state_change(NULL, 0, &sc, &data, &len), KD_API_ERR_SHORT);
	assert_int_equal(kd_api_parse_state_change(buf, 0xF0, &sc, &data, &len), KD_API_OK);
	assert_null(data);
	assert_int_equal(kd_api_parse_state_change(buf, KD_MAX_PAYLOAD + 1, &sc, &data, &len),
			 KD_API_ERR_OVERSIZE);
	/* NumberParameters beyond the array. */
	kd_put_le32(buf + 0x20 + 0x18, 16);
	assert_int_equal(kd_api_parse_state_change(buf, 0xF4, &sc, &data, &len), KD_API_ERR_COUNT);
	kd_put_le32(buf + 0x20 + 0x18, 15);
	assert_int_equal(kd_api_parse_state_change(buf, 0xF4, &sc, &data, &len), KD_API_OK);
	assert_int_equal(kd_api_state_path(&sc, data, len, &path, &path_len), KD_API_ERR_ARG);
	/* The alternate flag is accepted; unknown states are not. */
	kd_put_le32(buf, KD_STATE_EXCEPTION | KD_STATE_ALTERNATE_FLAG);
	assert_int_equal(kd_api_parse_state_change(buf, 0xF4, &sc, &data, &len), KD_API_OK);
	kd_put_le32(buf, KD_STATE_MAXIMUM);
	assert_int_equal(kd_api_parse_state_change(buf, 0xF4, &sc, &data, &len), KD_API_ERR_UNKNOWN);
	assert_int_equal(sc.new_state, KD_STATE_MAXIMUM);

	/* LoadSymbols: the path length must stay inside the packet. */
	memset(buf, 0, sizeof(buf));
	kd_put_le32(buf, KD_STATE_LOAD_SYMBOLS);
	kd_put_le32(buf + 0x20, 5);
	memcpy(buf + 0xF0, "a.sys", 5);
	assert_int_equal(kd_api_parse_state_change(buf, 0xF5, &sc, &data, &len), KD_API_OK);
	assert_int_equal(kd_api_state_path(&sc, data, len, &path, &path_len), KD_API_OK);
	assert_int_equal(path_len, 5); /* no NUL sent: still a path */
	assert_memory_equal(path, "a.sys", 5);
	assert_int_equal(kd_api_parse_state_change(buf, 0xF4, &sc, &data, &len), KD_API_ERR_PATH);
	assert_int_equal(kd_api_state_path(&sc, data, len, &path, &path_len), KD_API_ERR_PATH);
	assert_null(path);
	kd_put_le32(buf + 0x20, UINT32_MAX);
	assert_int_equal(kd_api_parse_state_change(buf, 0xF5, &sc, &data, &len), KD_API_ERR_PATH);
	/* An embedded NUL ends the path. */
	kd_put_le32(buf + 0x20, 5);
	buf[0xF2] = 0;
	assert_int_equal(kd_api_parse_state_change(buf, 0xF5, &sc, &data, &len), KD_API_OK);
	assert_int_equal(kd_api_state_path(&sc, data, len, &path, &path_len), KD_API_OK);
	assert_int_equal(path_len, 2);
}

/* ---- DEBUG_IO and FILE_IO --------------------------------------------------------------- */

static void print_roundtrip_and_truncation(void **state)
{
	(void)state;
	static const char hello[] = "hello, kernel\n";
	static char big[KD_MAX_PAYLOAD];
	struct kd_debug_io io;
	struct kd_api_msg msg;
	const uint8_t *text;
	size_t len;
	static struct pkt p;

	kd_api_build_print(&msg, 1, hello, strlen(hello));
	assert_int_equal(msg.type, KD_PACKET_TYPE_DEBUG_IO);
	serialise(&msg, &p);
	assert_int_equal(p.len, 0x10 + strlen(hello));
	assert_int_equal(kd_api_parse_debug_io(p.payload, p.len, &io, &text, &len), KD_API_OK);
	assert_int_equal(io.api_number, KD_API_PRINT_STRING);
	assert_int_equal(io.processor, 1);
	assert_int_equal(io.length_of_string, strlen(hello));
	assert_int_equal(len, strlen(hello));
	assert_memory_equal(text, hello, len);

	/* Longer than a packet holds: cut to 3984 bytes, as the kernel does. */
	memset(big, 'x', sizeof(big));
	kd_api_build_print(&msg, 0, big, sizeof(big));
	assert_int_equal(msg.data_len, KD_DEBUG_IO_MAX_TEXT);
	assert_int_equal(msg.u.io.length_of_string, 3984);
	serialise(&msg, &p);
	assert_int_equal(p.len, KD_MAX_PAYLOAD);
	assert_int_equal(kd_api_parse_debug_io(p.payload, p.len, &io, &text, &len), KD_API_OK);
	assert_int_equal(len, 3984);

	/* Empty print. */
	kd_api_build_print(&msg, 0, NULL, 10);
	assert_int_equal(msg.data_len, 0);
	serialise(&msg, &p);
	assert_int_equal(kd_api_parse_debug_io(p.payload, p.len, &io, &text, &len), KD_API_OK);
	assert_int_equal(len, 0);
	assert_null(text);
}

static void debug_io_checks(void **state)
{
	(void)state;
	static uint8_t buf[KD_MAX_PAYLOAD + 1];
	struct kd_debug_io io;
	const uint8_t *text;
	size_t len;

	memset(buf, 'z', sizeof(buf));
	kd_put_le32(buf, KD_API_PRINT_STRING);
	kd_put_le32(buf + 8, 4);
	assert_int_equal(kd_api_parse_debug_io(buf, 0x0F, &io, &text, &len), KD_API_ERR_SHORT);
	assert_int_equal(kd_api_parse_debug_io(buf, KD_MAX_PAYLOAD + 1, &io, &text, &len),
			 KD_API_ERR_OVERSIZE);
	assert_int_equal(kd_api_parse_debug_io(buf, 0x14, &io, &text, &len), KD_API_OK);
	assert_int_equal(len, 4);
	/* LengthOfString shorter than the data: the header wins. */
	assert_int_equal(kd_api_parse_debug_io(buf, 0x20, &io, &text, &len), KD_API_OK);
	assert_int_equal(len, 4);
	/* ... longer: refused. */
	assert_int_equal(kd_api_parse_debug_io(buf, 0x13, &io, &text, &len),
			 KD_API_ERR_DATA_LENGTH);
	kd_put_le32(buf + 8, UINT32_MAX);
	assert_int_equal(kd_api_parse_debug_io(buf, KD_MAX_PAYLOAD, &io, &text, &len),
			 KD_API_ERR_DATA_LENGTH);
	kd_put_le32(buf, 0x3232);
	assert_int_equal(kd_api_parse_debug_io(buf, 0x14, &io, &text, &len), KD_API_ERR_UNKNOWN);
	assert_int_equal(io.api_number, 0x3232);
}

static void prompt_and_answer(void **state)
{
	(void)state;
	static const char prompt[] = "Break, Ignore, terminate Process or Thread (bipt)? ";
	struct kd_debug_io io, answer_io;
	struct kd_api_msg msg;
	const uint8_t *text;
	size_t len;
	static struct pkt p;

	kd_api_build_prompt(&msg, 0, prompt, strlen(prompt), 4);
	serialise(&msg, &p);
	assert_int_equal(kd_api_parse_debug_io(p.payload, p.len, &io, &text, &len), KD_API_OK);
	assert_int_equal(io.api_number, KD_API_GET_STRING);
	assert_int_equal(io.length_of_string, strlen(prompt));
	assert_int_equal(io.length_of_string_read, 4);
	assert_int_equal(len, strlen(prompt));
	assert_memory_equal(text, prompt, len);

	/* The debugger's answer is cut to what the prompt takes. */
	kd_api_build_get_string_reply(&msg, &io, "ignore", 6);
	assert_int_equal(msg.type, KD_PACKET_TYPE_DEBUG_IO);
	assert_int_equal(msg.data_len, 4);
	serialise(&msg, &p);
	assert_int_equal(kd_api_parse_debug_io(p.payload, p.len, &answer_io, &text, &len),
			 KD_API_OK);
	assert_int_equal(answer_io.api_number, KD_API_GET_STRING);
	assert_int_equal(answer_io.length_of_string_read, 4);
	assert_int_equal(len, 4);
	assert_memory_equal(text, "igno", 4);

	kd_api_build_get_string_reply(&msg, &io, "b", 1);
	assert_int_equal(msg.data_len, 1);
	assert_int_equal(msg.u.io.length_of_string_read, 1);
}

static void file_io_no_such_file(void **state)
{
	(void)state;
	static uint8_t buf[0x60];
	struct kd_file_io io;
	struct kd_api_msg msg;
	const uint8_t *data;
	size_t len;
	static struct pkt p;

	memset(buf, 0, sizeof(buf));
	kd_put_le32(buf, KD_API_CREATE_FILE);
	memcpy(buf + 0x40, "a\0b\0", 4);
	assert_int_equal(kd_api_parse_file_io(buf, sizeof(buf), &io, &data, &len), KD_API_OK);
	assert_int_equal(io.api_number, KD_API_CREATE_FILE);
	assert_int_equal(len, 0x20);
	assert_int_equal(kd_api_parse_file_io(buf, 0x3F, &io, &data, &len), KD_API_ERR_SHORT);
	kd_put_le32(buf, 0x3434);
	assert_int_equal(kd_api_parse_file_io(buf, 0x40, &io, &data, &len), KD_API_ERR_UNKNOWN);
	kd_put_le32(buf, KD_API_READ_FILE);
	assert_int_equal(kd_api_parse_file_io(buf, 0x40, &io, &data, &len), KD_API_OK);

	kd_api_build_file_io_reply(&msg, &io);
	assert_int_equal(msg.type, KD_PACKET_TYPE_FILE_IO);
	assert_int_equal(msg.hdr_len, 0x40);
	assert_int_equal(msg.data_len, 0);
	serialise(&msg, &p);
	assert_int_equal(p.len, 0x40);
	assert_int_equal(kd_api_parse_file_io(p.payload, p.len, &io, &data, &len), KD_API_OK);
	assert_int_equal(io.api_number, KD_API_READ_FILE);
	assert_int_equal(io.status, KD_STATUS_NO_SUCH_FILE);
}

static void msg_packet_limits(void **state)
{
	(void)state;
	struct kd_api_msg msg;
	uint8_t small[16 + 0x38];

	kd_api_req_get_version(&msg);
	assert_int_equal(kd_api_msg_packet(&msg, 1, small, sizeof(small)), 0);
	msg.hdr_len = 0x1000;
	assert_int_equal(kd_api_msg_packet(&msg, 1, small, sizeof(small)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_covers_every_api),
		cmocka_unit_test(other_names),
		cmocka_unit_test(error_names),
		cmocka_unit_test(requests_match_capture),
		cmocka_unit_test(memory_requests_roundtrip),
		cmocka_unit_test(read_requests_clamp),
		cmocka_unit_test(write_requests_refuse_oversize),
		cmocka_unit_test(context_requests_roundtrip),
		cmocka_unit_test(control_requests_roundtrip),
		cmocka_unit_test(parse_manipulate_lengths),
		cmocka_unit_test(target_request_checks),
		cmocka_unit_test(read_reply_clamps_and_roundtrips),
		cmocka_unit_test(read_reply_inconsistencies),
		cmocka_unit_test(write_reply),
		cmocka_unit_test(context_replies),
		cmocka_unit_test(version_and_small_replies),
		cmocka_unit_test(exception_roundtrip),
		cmocka_unit_test(load_symbols_roundtrip),
		cmocka_unit_test(state_change_checks),
		cmocka_unit_test(print_roundtrip_and_truncation),
		cmocka_unit_test(debug_io_checks),
		cmocka_unit_test(prompt_and_answer),
		cmocka_unit_test(file_io_no_such_file),
		cmocka_unit_test(msg_packet_limits),
	};

	return cmocka_run_group_tests_name("kd_api", tests, NULL, NULL);
}
