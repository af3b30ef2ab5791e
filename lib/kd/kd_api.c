/* SPDX-License-Identifier: MIT */
/* DBGKD API helpers: the api table with per-api checks, builders and parsers. Freestanding. */
#include "vmkd/kd_api.h"

#include "vmkd/kd_packet.h"

#include "vmkd/kd_bytes.h"

#define MANIP_SIZE   ((uint32_t)sizeof(struct kd_manipulate_state64))
#define STATE_SIZE   ((uint32_t)sizeof(struct kd_wait_state_change64))
#define DEBUG_IO_SIZE ((uint32_t)sizeof(struct kd_debug_io))
#define FILE_IO_SIZE ((uint32_t)sizeof(struct kd_file_io))
#define CONTEXT_SIZE ((uint32_t)sizeof(struct kd_context_amd64))
#define MAX_PATH_LEN (KD_MAX_PAYLOAD - STATE_SIZE) /* NUL included */

static const char *const error_names[KD_API_ERR_MAX] = {
	[KD_API_OK] = "ok",
	[KD_API_ERR_SHORT] = "short",
	[KD_API_ERR_OVERSIZE] = "oversize",
	[KD_API_ERR_UNKNOWN] = "unknown-api",
	[KD_API_ERR_API_MISMATCH] = "api-mismatch",
	[KD_API_ERR_NO_REPLY] = "no-reply",
	[KD_API_ERR_DATA_LENGTH] = "data-length",
	[KD_API_ERR_COUNT] = "count",
	[KD_API_ERR_CONTEXT] = "context",
	[KD_API_ERR_PATH] = "path",
	[KD_API_ERR_STATUS] = "status",
	[KD_API_ERR_ARG] = "argument",
};

const char *kd_api_error_name(enum kd_api_error err)
{
	if ((unsigned)err < KD_API_ERR_MAX)
		return error_names[err];
	return "?";
}

/* ---- per-api checks: requests (target side) ------------------------------------------ */

typedef enum kd_api_error (*kd_api_check_fn)(const struct kd_manipulate_state64 *m,
					     size_t data_len);

/* A range of the CONTEXT, computed wide so offset + count cannot wrap. */
static int context_range_ok(uint32_t offset, uint32_t count)
{
	return (uint64_t)offset + count <= CONTEXT_SIZE;
}

static enum kd_api_error req_write_memory(const struct kd_manipulate_state64 *m, size_t data_len)
{
	return data_len == m->u.write_memory.transfer_count ? KD_API_OK : KD_API_ERR_DATA_LENGTH;
}

static enum kd_api_error req_set_context(const struct kd_manipulate_state64 *m, size_t data_len)
{
	(void)m;
	return data_len >= CONTEXT_SIZE ? KD_API_OK : KD_API_ERR_CONTEXT;
}

static enum kd_api_error req_get_context_ex(const struct kd_manipulate_state64 *m,
					    size_t data_len)
{
	(void)data_len;
	if (!context_range_ok(m->u.context_ex.offset, m->u.context_ex.byte_count))
		return KD_API_ERR_CONTEXT;
	return KD_API_OK;
}

static enum kd_api_error req_set_context_ex(const struct kd_manipulate_state64 *m,
					    size_t data_len)
{
	if (data_len != m->u.context_ex.byte_count)
		return KD_API_ERR_DATA_LENGTH;
	return req_get_context_ex(m, data_len);
}

static enum kd_api_error pattern_check(uint32_t pattern_len, size_t data_len)
{
	return pattern_len && data_len == pattern_len ? KD_API_OK : KD_API_ERR_DATA_LENGTH;
}

static enum kd_api_error req_search_memory(const struct kd_manipulate_state64 *m,
					   size_t data_len)
{
	return pattern_check(m->u.search_memory.pattern_length, data_len);
}

static enum kd_api_error req_fill_memory(const struct kd_manipulate_state64 *m, size_t data_len)
{
	return pattern_check(m->u.fill_memory.pattern_length, data_len);
}

static enum kd_api_error req_set_bus_data(const struct kd_manipulate_state64 *m, size_t data_len)
{
	return data_len == m->u.bus_data.length ? KD_API_OK : KD_API_ERR_DATA_LENGTH;
}

static enum kd_api_error req_write_custom_bp(const struct kd_manipulate_state64 *m,
					     size_t data_len)
{
	(void)data_len;
	/* The instruction lives in a 64-bit field. */
	if (m->u.write_custom_breakpoint.breakpoint_instruction_size > 8)
		return KD_API_ERR_COUNT;
	return KD_API_OK;
}

/* ---- per-api checks: replies (debugger side) ------------------------------------------ */

static enum kd_api_error rep_read(const struct kd_manipulate_state64 *m, size_t data_len)
{
	const struct kd_read_memory64 *r = &m->u.read_memory;

	if (r->actual_bytes_read > KD_MANIPULATE_MAX_DATA)
		return KD_API_ERR_OVERSIZE;
	if (r->actual_bytes_read > r->transfer_count)
		return KD_API_ERR_COUNT;
	if (r->actual_bytes_read != data_len)
		return KD_API_ERR_DATA_LENGTH;
	return KD_API_OK;
}

static enum kd_api_error rep_write(const struct kd_manipulate_state64 *m, size_t data_len)
{
	(void)data_len;
	if (m->u.write_memory.actual_bytes_written > m->u.write_memory.transfer_count)
		return KD_API_ERR_COUNT;
	return KD_API_OK;
}

static enum kd_api_error rep_get_context(const struct kd_manipulate_state64 *m, size_t data_len)
{
	if (kd_nt_success(m->return_status) && data_len < CONTEXT_SIZE)
		return KD_API_ERR_CONTEXT;
	return KD_API_OK;
}

static enum kd_api_error rep_get_context_ex(const struct kd_manipulate_state64 *m,
					    size_t data_len)
{
	const struct kd_context_ex *c = &m->u.context_ex;

	if (c->bytes_copied != data_len)
		return KD_API_ERR_DATA_LENGTH;
	if (c->bytes_copied > c->byte_count)
		return KD_API_ERR_COUNT;
	return KD_API_OK;
}

static enum kd_api_error rep_get_bus_data(const struct kd_manipulate_state64 *m,
					  size_t data_len)
{
	return data_len == m->u.bus_data.length ? KD_API_OK : KD_API_ERR_DATA_LENGTH;
}

/* ---- the table ------------------------------------------------------------------------ */

struct api_entry {
	struct kd_api_info info;
	kd_api_check_fn check_request; /* NULL: nothing beyond the header */
	kd_api_check_fn check_reply;
};

#define R   KD_API_F_REPLY
#define RQD KD_API_F_REQ_DATA
#define RPD KD_API_F_REPLY_DATA
#define API(num, nm, fl, rq, rp) \
	[(num) - KD_API_READ_VIRTUAL_MEMORY] = { { (num), (nm), (fl) }, (rq), (rp) }

/* kd-protocol.md 6.2; 0x314A..0x314F are unassigned and stay empty. */
static const struct api_entry api_table[KD_API_MAXIMUM - KD_API_READ_VIRTUAL_MEMORY] = {
	API(KD_API_READ_VIRTUAL_MEMORY, "ReadVirtualMemory", R | RPD, NULL, rep_read),
	API(KD_API_WRITE_VIRTUAL_MEMORY, "WriteVirtualMemory", R | RQD, req_write_memory, rep_write),
	API(KD_API_GET_CONTEXT, "GetContext", R | RPD, NULL, rep_get_context),
	API(KD_API_SET_CONTEXT, "SetContext", R | RQD, req_set_context, NULL),
	API(KD_API_WRITE_BREAKPOINT, "WriteBreakPoint", R, NULL, NULL),
	API(KD_API_RESTORE_BREAKPOINT, "RestoreBreakPoint", R, NULL, NULL),
	API(KD_API_CONTINUE, "Continue", 0, NULL, NULL),
	API(KD_API_READ_CONTROL_SPACE, "ReadControlSpace", R | RPD, NULL, rep_read),
	API(KD_API_WRITE_CONTROL_SPACE, "WriteControlSpace", R | RQD, req_write_memory, rep_write),
	API(KD_API_READ_IO_SPACE, "ReadIoSpace", R, NULL, NULL),
	API(KD_API_WRITE_IO_SPACE, "WriteIoSpace", R, NULL, NULL),
	API(KD_API_REBOOT, "Reboot", 0, NULL, NULL),
	API(KD_API_CONTINUE2, "Continue2", 0, NULL, NULL),
	API(KD_API_READ_PHYSICAL_MEMORY, "ReadPhysicalMemory", R | RPD, NULL, rep_read),
	API(KD_API_WRITE_PHYSICAL_MEMORY, "WritePhysicalMemory", R | RQD, req_write_memory, rep_write),
	API(KD_API_QUERY_SPECIAL_CALLS, "QuerySpecialCalls", R, NULL, NULL),
	API(KD_API_SET_SPECIAL_CALL, "SetSpecialCall", R, NULL, NULL),
	API(KD_API_CLEAR_SPECIAL_CALLS, "ClearSpecialCalls", R, NULL, NULL),
	API(KD_API_SET_INTERNAL_BREAKPOINT, "SetInternalBreakPoint", R, NULL, NULL),
	API(KD_API_GET_INTERNAL_BREAKPOINT, "GetInternalBreakPoint", R, NULL, NULL),
	API(KD_API_READ_IO_SPACE_EXTENDED, "ReadIoSpaceExtended", R, NULL, NULL),
	API(KD_API_WRITE_IO_SPACE_EXTENDED, "WriteIoSpaceExtended", R, NULL, NULL),
	API(KD_API_GET_VERSION, "GetVersion", R, NULL, NULL),
	API(KD_API_WRITE_BREAKPOINT_EX, "WriteBreakPointEx", R | RQD, NULL, NULL),
	API(KD_API_RESTORE_BREAKPOINT_EX, "RestoreBreakPointEx", R | RQD, NULL, NULL),
	API(KD_API_CAUSE_BUGCHECK, "CauseBugCheck", 0, NULL, NULL),
	API(KD_API_SWITCH_PROCESSOR, "SwitchProcessor", 0, NULL, NULL),
	API(KD_API_PAGE_IN, "PageIn", R, NULL, NULL),
	API(KD_API_READ_MSR, "ReadMsr", R, NULL, NULL),
	API(KD_API_WRITE_MSR, "WriteMsr", R, NULL, NULL),
	API(KD_API_OLD_VLM1, "OldVlm1", R, NULL, NULL),
	API(KD_API_OLD_VLM2, "OldVlm2", R, NULL, NULL),
	API(KD_API_SEARCH_MEMORY, "SearchMemory", R | RQD, req_search_memory, NULL),
	API(KD_API_GET_BUS_DATA, "GetBusData", R | RPD, NULL, rep_get_bus_data),
	API(KD_API_SET_BUS_DATA, "SetBusData", R | RQD, req_set_bus_data, NULL),
	API(KD_API_CHECK_LOW_MEMORY, "CheckLowMemory", R, NULL, NULL),
	API(KD_API_CLEAR_ALL_INTERNAL_BREAKPOINTS, "ClearAllInternalBreakpoints", 0, NULL, NULL),
	API(KD_API_FILL_MEMORY, "FillMemory", R | RQD, req_fill_memory, NULL),
	API(KD_API_QUERY_MEMORY, "QueryMemory", R, NULL, NULL),
	API(KD_API_SWITCH_PARTITION, "SwitchPartition", R, NULL, NULL),
	API(KD_API_WRITE_CUSTOM_BREAKPOINT, "WriteCustomBreakpoint", R, req_write_custom_bp, NULL),
	API(KD_API_GET_CONTEXT_EX, "GetContextEx", R | RPD, req_get_context_ex, rep_get_context_ex),
	API(KD_API_SET_CONTEXT_EX, "SetContextEx", R | RQD, req_set_context_ex, NULL),
};

#undef API
#undef R
#undef RQD
#undef RPD

static const struct api_entry *api_entry(uint32_t api)
{
	const struct api_entry *e;

	if (api < KD_API_READ_VIRTUAL_MEMORY || api >= KD_API_MAXIMUM)
		return NULL;
	e = &api_table[api - KD_API_READ_VIRTUAL_MEMORY];
	return e->info.name ? e : NULL;
}

const struct kd_api_info *kd_api_lookup(uint32_t api)
{
	const struct api_entry *e = api_entry(api);

	return e ? &e->info : NULL;
}

const char *kd_api_name(uint32_t api)
{
	const struct api_entry *e = api_entry(api);

	return e ? e->info.name : NULL;
}

int kd_api_has_reply(uint32_t api)
{
	const struct api_entry *e = api_entry(api);

	return e ? (e->info.flags & KD_API_F_REPLY) != 0 : 1;
}

const char *kd_api_state_name(uint32_t new_state)
{
	switch (new_state & ~KD_STATE_ALTERNATE_FLAG) {
	case KD_STATE_EXCEPTION:
		return "Exception";
	case KD_STATE_LOAD_SYMBOLS:
		return "LoadSymbols";
	case KD_STATE_COMMAND_STRING:
		return "CommandString";
	default:
		return NULL;
	}
}

const char *kd_api_debug_io_name(uint32_t api)
{
	switch (api) {
	case KD_API_PRINT_STRING:
		return "PrintString";
	case KD_API_GET_STRING:
		return "GetString";
	default:
		return NULL;
	}
}

const char *kd_api_file_io_name(uint32_t api)
{
	static const char *const names[] = { "CreateFile", "ReadFile", "WriteFile", "CloseFile" };

	if (api >= KD_API_CREATE_FILE && api <= KD_API_CLOSE_FILE)
		return names[api - KD_API_CREATE_FILE];
	return NULL;
}

const char *kd_api_control_space_name(uint64_t selector)
{
	static const char *const names[] = {
		[KD_CONTROL_SPACE_KPCR] = "KPCR",
		[KD_CONTROL_SPACE_KPRCB] = "KPRCB",
		[KD_CONTROL_SPACE_KSPECIAL] = "KSPECIAL",
		[KD_CONTROL_SPACE_KTHREAD] = "KTHREAD",
	};

	if (selector < sizeof(names) / sizeof(names[0]))
		return names[selector];
	return NULL;
}

/* ---- messages ------------------------------------------------------------------------- */

static void msg_init(struct kd_api_msg *msg, uint16_t type, uint32_t hdr_len)
{
	kd_memset(msg, 0, sizeof(*msg));
	msg->type = type;
	msg->hdr_len = (uint16_t)hdr_len;
	msg->data = NULL;
	msg->data_len = 0;
}

static void msg_data(struct kd_api_msg *msg, const void *data, size_t len)
{
	msg->data = len ? data : NULL;
	msg->data_len = len;
}

size_t kd_api_msg_packet(const struct kd_api_msg *msg, uint32_t id, uint8_t *out, size_t out_cap)
{
	if (msg->hdr_len > sizeof(msg->u))
		return 0;
	return kd_packet_build(out, out_cap, msg->type, id, &msg->u, msg->hdr_len, msg->data,
			       msg->data_len);
}

/* ---- debugger: requests --------------------------------------------------------------- */

static uint32_t clamp_read(uint32_t len)
{
	return len > KD_MANIPULATE_MAX_DATA ? KD_MANIPULATE_MAX_DATA : len;
}

/* Common part of the requests that carry data: refuse what cannot be sent whole. */
static enum kd_api_error req_data(struct kd_api_msg *msg, const void *data, uint32_t len)
{
	if (len > KD_MANIPULATE_MAX_DATA)
		return KD_API_ERR_OVERSIZE;
	if (!data && len)
		return KD_API_ERR_ARG;
	msg_data(msg, data, len);
	return KD_API_OK;
}

void kd_api_req_init(struct kd_api_msg *msg, uint32_t api)
{
	msg_init(msg, KD_PACKET_TYPE_STATE_MANIPULATE, MANIP_SIZE);
	msg->u.m.api_number = api;
}

void kd_api_req_read_virtual(struct kd_api_msg *msg, uint64_t addr, uint32_t len)
{
	kd_api_req_init(msg, KD_API_READ_VIRTUAL_MEMORY);
	msg->u.m.u.read_memory.target_base_address = addr;
	msg->u.m.u.read_memory.transfer_count = clamp_read(len);
}

enum kd_api_error kd_api_req_write_virtual(struct kd_api_msg *msg, uint64_t addr,
					   const void *data, uint32_t len)
{
	kd_api_req_init(msg, KD_API_WRITE_VIRTUAL_MEMORY);
	msg->u.m.u.write_memory.target_base_address = addr;
	msg->u.m.u.write_memory.transfer_count = len;
	return req_data(msg, data, len);
}

void kd_api_req_read_physical(struct kd_api_msg *msg, uint64_t addr, uint32_t len,
			      uint32_t cache)
{
	kd_api_req_init(msg, KD_API_READ_PHYSICAL_MEMORY);
	msg->u.m.u.read_memory.target_base_address = addr;
	msg->u.m.u.read_memory.transfer_count = clamp_read(len);
	msg->u.m.u.read_memory.actual_bytes_read = cache;
}

enum kd_api_error kd_api_req_write_physical(struct kd_api_msg *msg, uint64_t addr,
					    const void *data, uint32_t len, uint32_t cache)
{
	kd_api_req_init(msg, KD_API_WRITE_PHYSICAL_MEMORY);
	msg->u.m.u.write_memory.target_base_address = addr;
	msg->u.m.u.write_memory.transfer_count = len;
	msg->u.m.u.write_memory.actual_bytes_written = cache;
	return req_data(msg, data, len);
}

void kd_api_req_get_context(struct kd_api_msg *msg, uint16_t cpu)
{
	kd_api_req_init(msg, KD_API_GET_CONTEXT);
	msg->u.m.processor = cpu;
}

void kd_api_req_set_context(struct kd_api_msg *msg, uint16_t cpu,
			    const struct kd_context_amd64 *ctx)
{
	kd_api_req_init(msg, KD_API_SET_CONTEXT);
	msg->u.m.processor = cpu;
	msg->u.m.u.set_context.context_flags = ctx->context_flags;
	msg_data(msg, ctx, CONTEXT_SIZE);
}

enum kd_api_error kd_api_req_get_context_ex(struct kd_api_msg *msg, uint16_t cpu,
					    uint32_t offset, uint32_t count)
{
	kd_api_req_init(msg, KD_API_GET_CONTEXT_EX);
	msg->u.m.processor = cpu;
	msg->u.m.u.context_ex.offset = offset;
	msg->u.m.u.context_ex.byte_count = count;
	return context_range_ok(offset, count) ? KD_API_OK : KD_API_ERR_CONTEXT;
}

enum kd_api_error kd_api_req_set_context_ex(struct kd_api_msg *msg, uint16_t cpu,
					    uint32_t offset, const void *data, uint32_t count)
{
	kd_api_req_init(msg, KD_API_SET_CONTEXT_EX);
	msg->u.m.processor = cpu;
	msg->u.m.u.context_ex.offset = offset;
	msg->u.m.u.context_ex.byte_count = count;
	if (!context_range_ok(offset, count))
		return KD_API_ERR_CONTEXT;
	return req_data(msg, data, count);
}

void kd_api_req_read_control(struct kd_api_msg *msg, uint16_t cpu, uint64_t selector,
			     uint32_t len)
{
	kd_api_req_init(msg, KD_API_READ_CONTROL_SPACE);
	msg->u.m.processor = cpu;
	msg->u.m.u.read_memory.target_base_address = selector;
	msg->u.m.u.read_memory.transfer_count = clamp_read(len);
}

enum kd_api_error kd_api_req_write_control(struct kd_api_msg *msg, uint16_t cpu,
					   uint64_t selector, const void *data, uint32_t len)
{
	kd_api_req_init(msg, KD_API_WRITE_CONTROL_SPACE);
	msg->u.m.processor = cpu;
	msg->u.m.u.write_memory.target_base_address = selector;
	msg->u.m.u.write_memory.transfer_count = len;
	return req_data(msg, data, len);
}

void kd_api_req_write_breakpoint(struct kd_api_msg *msg, uint64_t addr)
{
	kd_api_req_init(msg, KD_API_WRITE_BREAKPOINT);
	msg->u.m.u.write_breakpoint.breakpoint_address = addr;
}

void kd_api_req_restore_breakpoint(struct kd_api_msg *msg, uint32_t handle)
{
	kd_api_req_init(msg, KD_API_RESTORE_BREAKPOINT);
	msg->u.m.u.restore_breakpoint.breakpoint_handle = handle;
}

void kd_api_req_continue(struct kd_api_msg *msg, uint32_t status)
{
	kd_api_req_init(msg, KD_API_CONTINUE);
	msg->u.m.u.continue1.continue_status = status;
}

void kd_api_req_continue2(struct kd_api_msg *msg, uint32_t status, int trace, uint64_t dr7)
{
	struct kd_continue2 *c;

	kd_api_req_init(msg, KD_API_CONTINUE2);
	c = &msg->u.m.u.continue2;
	c->continue_status = status;
	c->trace_flag = trace ? 1 : 0;
	c->dr7 = dr7;
	/* 1..1 tells the kernel to keep its current symbol range (no range stepping). */
	c->current_symbol_start = 1;
	c->current_symbol_end = 1;
}

void kd_api_req_get_version(struct kd_api_msg *msg)
{
	kd_api_req_init(msg, KD_API_GET_VERSION);
}

void kd_api_req_query_memory(struct kd_api_msg *msg, uint64_t addr)
{
	kd_api_req_init(msg, KD_API_QUERY_MEMORY);
	msg->u.m.u.query_memory.address = addr;
	msg->u.m.u.query_memory.address_space = KD_QUERY_SPACE_PROCESS; /* 0 = virtual */
}

void kd_api_req_read_msr(struct kd_api_msg *msg, uint32_t msr)
{
	kd_api_req_init(msg, KD_API_READ_MSR);
	msg->u.m.u.read_write_msr.msr = msr;
}

void kd_api_req_write_msr(struct kd_api_msg *msg, uint32_t msr, uint64_t value)
{
	kd_api_req_init(msg, KD_API_WRITE_MSR);
	msg->u.m.u.read_write_msr.msr = msr;
	msg->u.m.u.read_write_msr.data_value_low = (uint32_t)value;
	msg->u.m.u.read_write_msr.data_value_high = (uint32_t)(value >> 32);
}

/* ---- debugger: replies ---------------------------------------------------------------- */

/* Splits a payload into a fixed header (copied to an aligned struct) and the data behind it.
 * Every parser starts here, so short and oversized payloads are refused in one place. */
static enum kd_api_error split(const uint8_t *payload, size_t len, void *hdr, size_t hdr_len,
			       const uint8_t **data, size_t *data_len)
{
	kd_memset(hdr, 0, hdr_len);
	*data = NULL;
	*data_len = 0;
	if (!payload || len < hdr_len)
		return KD_API_ERR_SHORT;
	kd_memcpy(hdr, payload, hdr_len); /* kept on OVERSIZE too, for logging */
	if (len > KD_MAX_PAYLOAD)
		return KD_API_ERR_OVERSIZE;
	if (len > hdr_len) {
		*data = payload + hdr_len;
		*data_len = len - hdr_len;
	}
	return KD_API_OK;
}

enum kd_api_error kd_api_parse_manipulate(const uint8_t *payload, size_t len,
					  struct kd_manipulate_state64 *m,
					  const uint8_t **data, size_t *data_len)
{
	return split(payload, len, m, MANIP_SIZE, data, data_len);
}

enum kd_api_error kd_api_check_reply(const struct kd_manipulate_state64 *m, size_t data_len)
{
	const struct api_entry *e = api_entry(m->api_number);

	if (data_len > KD_MANIPULATE_MAX_DATA)
		return KD_API_ERR_OVERSIZE;
	if (!kd_nt_success(m->return_status) && data_len == 0)
		return KD_API_OK;
	if (!e || !e->check_reply)
		return KD_API_OK;
	return e->check_reply(m, data_len);
}

enum kd_api_error kd_api_parse_reply(const uint8_t *payload, size_t len, uint32_t expect_api,
				     struct kd_manipulate_state64 *m,
				     const uint8_t **data, size_t *data_len)
{
	enum kd_api_error err = kd_api_parse_manipulate(payload, len, m, data, data_len);

	if (err)
		return err;
	if (m->api_number != expect_api)
		return KD_API_ERR_API_MISMATCH;
	if (!kd_api_has_reply(expect_api))
		return KD_API_ERR_NO_REPLY;
	return kd_api_check_reply(m, *data_len);
}

enum kd_api_error kd_api_parse_version(const uint8_t *payload, size_t len,
				       struct kd_get_version64 *ver)
{
	struct kd_manipulate_state64 m;
	const uint8_t *data;
	size_t data_len;
	enum kd_api_error err;

	kd_memset(ver, 0, sizeof(*ver));
	err = kd_api_parse_reply(payload, len, KD_API_GET_VERSION, &m, &data, &data_len);
	if (err)
		return err;
	if (!kd_nt_success(m.return_status))
		return KD_API_ERR_STATUS;
	kd_memcpy(ver, &m.u.get_version, sizeof(*ver));
	return KD_API_OK;
}

enum kd_api_error kd_api_parse_context(const uint8_t *payload, size_t len,
				       struct kd_context_amd64 *ctx)
{
	struct kd_manipulate_state64 m;
	const uint8_t *data;
	size_t data_len;
	enum kd_api_error err;

	err = kd_api_parse_reply(payload, len, KD_API_GET_CONTEXT, &m, &data, &data_len);
	if (err)
		return err;
	if (!kd_nt_success(m.return_status))
		return KD_API_ERR_STATUS;
	/* rep_get_context guaranteed a full CONTEXT. */
	kd_memcpy(ctx, data, CONTEXT_SIZE);
	return KD_API_OK;
}

/* ---- target: requests and replies ----------------------------------------------------- */

enum kd_api_error kd_api_check_request(const struct kd_manipulate_state64 *m, size_t data_len)
{
	const struct api_entry *e = api_entry(m->api_number);

	if (!e)
		return KD_API_ERR_UNKNOWN;
	if (data_len > KD_MANIPULATE_MAX_DATA)
		return KD_API_ERR_OVERSIZE;
	return e->check_request ? e->check_request(m, data_len) : KD_API_OK;
}

enum kd_api_error kd_api_parse_request(const uint8_t *payload, size_t len,
				       struct kd_manipulate_state64 *m,
				       const uint8_t **data, size_t *data_len)
{
	enum kd_api_error err = kd_api_parse_manipulate(payload, len, m, data, data_len);

	if (err)
		return err;
	return kd_api_check_request(m, *data_len);
}

uint32_t kd_api_read_len(const struct kd_manipulate_state64 *req)
{
	return clamp_read(req->u.read_memory.transfer_count);
}

void kd_api_reply_init(struct kd_api_msg *msg, const struct kd_manipulate_state64 *req,
		       uint32_t status)
{
	msg_init(msg, KD_PACKET_TYPE_STATE_MANIPULATE, MANIP_SIZE);
	kd_memcpy(&msg->u.m, req, MANIP_SIZE);
	msg->u.m.return_status = status;
}

void kd_api_reply_read(struct kd_api_msg *msg, const struct kd_manipulate_state64 *req,
		       const void *data, uint32_t got)
{
	uint32_t want = kd_api_read_len(req);

	if (got > want)
		got = want;
	if (!data)
		got = 0;
	kd_api_reply_init(msg, req, got == want ? KD_STATUS_SUCCESS : KD_STATUS_UNSUCCESSFUL);
	msg->u.m.u.read_memory.actual_bytes_read = got;
	msg_data(msg, data, got);
}

void kd_api_reply_write(struct kd_api_msg *msg, const struct kd_manipulate_state64 *req,
			uint32_t written)
{
	uint32_t want = req->u.write_memory.transfer_count;

	if (written > want)
		written = want;
	kd_api_reply_init(msg, req, written == want ? KD_STATUS_SUCCESS : KD_STATUS_UNSUCCESSFUL);
	msg->u.m.u.write_memory.actual_bytes_written = written;
}

void kd_api_reply_get_context(struct kd_api_msg *msg, const struct kd_manipulate_state64 *req,
			      const struct kd_context_amd64 *ctx)
{
	kd_api_reply_init(msg, req, KD_STATUS_SUCCESS);
	msg_data(msg, ctx, CONTEXT_SIZE);
}

void kd_api_reply_get_context_ex(struct kd_api_msg *msg,
				 const struct kd_manipulate_state64 *req,
				 const struct kd_context_amd64 *ctx)
{
	uint32_t offset = req->u.context_ex.offset;
	uint32_t count = req->u.context_ex.byte_count;

	if (!context_range_ok(offset, count)) {
		kd_api_reply_init(msg, req, KD_STATUS_UNSUCCESSFUL);
		msg->u.m.u.context_ex.bytes_copied = 0;
		return;
	}
	kd_api_reply_init(msg, req, KD_STATUS_SUCCESS);
	msg->u.m.u.context_ex.bytes_copied = count;
	msg_data(msg, (const uint8_t *)ctx + offset, count);
}

void kd_api_reply_version(struct kd_api_msg *msg, const struct kd_manipulate_state64 *req,
			  const struct kd_get_version64 *ver)
{
	kd_api_reply_init(msg, req, KD_STATUS_SUCCESS);
	kd_memcpy(&msg->u.m.u.get_version, ver, sizeof(*ver));
}

void kd_api_reply_breakpoint(struct kd_api_msg *msg, const struct kd_manipulate_state64 *req,
			     uint32_t handle)
{
	kd_api_reply_init(msg, req, handle ? KD_STATUS_SUCCESS : KD_STATUS_UNSUCCESSFUL);
	msg->u.m.u.write_breakpoint.breakpoint_handle = handle;
}

void kd_api_reply_msr(struct kd_api_msg *msg, const struct kd_manipulate_state64 *req,
		      uint64_t value, uint32_t status)
{
	kd_api_reply_init(msg, req, status);
	msg->u.m.u.read_write_msr.data_value_low = (uint32_t)value;
	msg->u.m.u.read_write_msr.data_value_high = (uint32_t)(value >> 32);
}

void kd_api_reply_query_memory(struct kd_api_msg *msg, const struct kd_manipulate_state64 *req,
			       uint32_t space, uint32_t flags)
{
	kd_api_reply_init(msg, req, KD_STATUS_SUCCESS);
	msg->u.m.u.query_memory.reserved = 0;
	msg->u.m.u.query_memory.address_space = space;
	msg->u.m.u.query_memory.flags = flags;
}

/* ---- state changes -------------------------------------------------------------------- */

static const uint8_t trace_blob[KD_API_TRACE_BLOB_LEN] = { 0x01, 0x00, 0x00, 0x00 };

static void state_init(struct kd_api_msg *msg, uint32_t new_state, const struct kd_api_cpu *cpu)
{
	struct kd_wait_state_change64 *sc = &msg->u.sc;
	struct kd_amd64_control_report *cr = &sc->control_report;
	size_t n = cpu->stream ? cpu->stream_len : 0;

	if (n > KD_MAXSTREAM)
		n = KD_MAXSTREAM;
	msg_init(msg, KD_PACKET_TYPE_STATE_CHANGE64, STATE_SIZE);
	sc->new_state = new_state;
	sc->processor_level = cpu->processor_level;
	sc->processor = cpu->processor;
	sc->number_processors = cpu->number_processors;
	sc->thread = cpu->thread;
	sc->program_counter = cpu->pc;
	cr->dr6 = cpu->dr6;
	cr->dr7 = cpu->dr7;
	cr->eflags = cpu->eflags;
	cr->instruction_count = (uint16_t)n;
	/* STANDARD_CS lets the debugger assume a flat 64-bit kernel code segment. */
	cr->report_flags = KD_REPORT_INCLUDES_SEGS;
	if (cpu->seg_cs == KD_KGDT64_R0_CODE)
		cr->report_flags |= KD_REPORT_STANDARD_CS;
	if (n)
		kd_memcpy(cr->instruction_stream, cpu->stream, n);
	cr->seg_cs = cpu->seg_cs;
	cr->seg_ds = cpu->seg_ds;
	cr->seg_es = cpu->seg_es;
	cr->seg_fs = cpu->seg_fs;
}

enum kd_api_error kd_api_build_exception(struct kd_api_msg *msg, const struct kd_api_cpu *cpu,
					 uint32_t code, uint64_t address, int first_chance,
					 const uint64_t *params, uint32_t nparams)
{
	struct kd_exception64 *ex = &msg->u.sc.u.exception;

	state_init(msg, KD_STATE_EXCEPTION, cpu);
	if (nparams > KD_EXCEPTION_MAXIMUM_PARAMETERS || (nparams && !params))
		return KD_API_ERR_ARG;
	ex->record.exception_code = code;
	ex->record.exception_address = address;
	ex->record.number_parameters = nparams;
	for (uint32_t i = 0; i < nparams; i++)
		ex->record.exception_information[i] = params[i];
	ex->first_chance = first_chance ? 1 : 0;
	msg_data(msg, trace_blob, sizeof(trace_blob));
	return KD_API_OK;
}

/* strnlen without libc. */
static size_t str_len(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

enum kd_api_error kd_api_build_load_symbols(struct kd_api_msg *msg,
					    const struct kd_api_cpu *cpu, const char *path,
					    uint64_t base, uint32_t size, uint32_t checksum,
					    int unload)
{
	struct kd_load_symbols64 *ls = &msg->u.sc.u.load_symbols;
	size_t n = path ? str_len(path, MAX_PATH_LEN) + 1 : 0;

	state_init(msg, KD_STATE_LOAD_SYMBOLS, cpu);
	ls->base_of_dll = base;
	ls->size_of_image = size;
	ls->check_sum = checksum;
	ls->unload_symbols = unload ? 1 : 0;
	if (n > MAX_PATH_LEN)
		return KD_API_ERR_OVERSIZE;
	ls->path_name_length = (uint32_t)n;
	msg_data(msg, path, n);
	return KD_API_OK;
}

enum kd_api_error kd_api_parse_state_change(const uint8_t *payload, size_t len,
					    struct kd_wait_state_change64 *sc,
					    const uint8_t **data, size_t *data_len)
{
	enum kd_api_error err = split(payload, len, sc, STATE_SIZE, data, data_len);

	if (err)
		return err;
	switch (sc->new_state & ~KD_STATE_ALTERNATE_FLAG) {
	case KD_STATE_EXCEPTION:
		if (sc->u.exception.record.number_parameters > KD_EXCEPTION_MAXIMUM_PARAMETERS)
			return KD_API_ERR_COUNT;
		return KD_API_OK;
	case KD_STATE_LOAD_SYMBOLS:
		if (sc->u.load_symbols.path_name_length > *data_len)
			return KD_API_ERR_PATH;
		return KD_API_OK;
	case KD_STATE_COMMAND_STRING:
		return KD_API_OK;
	default:
		return KD_API_ERR_UNKNOWN;
	}
}

enum kd_api_error kd_api_state_path(const struct kd_wait_state_change64 *sc,
				    const uint8_t *data, size_t data_len,
				    const char **path, size_t *path_len)
{
	uint32_t n = sc->u.load_symbols.path_name_length;

	*path = NULL;
	*path_len = 0;
	if ((sc->new_state & ~KD_STATE_ALTERNATE_FLAG) != KD_STATE_LOAD_SYMBOLS)
		return KD_API_ERR_ARG;
	if (n > data_len || (n && !data))
		return KD_API_ERR_PATH;
	*path = (const char *)data;
	*path_len = str_len(*path, n);
	return KD_API_OK;
}

/* ---- DEBUG_IO and FILE_IO ------------------------------------------------------------- */

static size_t clamp_text(const char *text, size_t len)
{
	if (!text)
		return 0;
	return len > KD_DEBUG_IO_MAX_TEXT ? KD_DEBUG_IO_MAX_TEXT : len;
}

void kd_api_build_print(struct kd_api_msg *msg, uint16_t cpu, const char *text, size_t len)
{
	len = clamp_text(text, len);
	/* Every DbgPrint comes here: only the header the packet carries is cleared, not the
	 * whole union (a guest pays each store of it). */
	kd_memset(&msg->u.io, 0, DEBUG_IO_SIZE);
	msg->type = KD_PACKET_TYPE_DEBUG_IO;
	msg->hdr_len = DEBUG_IO_SIZE;
	msg->u.io.api_number = KD_API_PRINT_STRING;
	msg->u.io.processor = cpu;
	msg->u.io.length_of_string = (uint32_t)len;
	msg_data(msg, text, len);
}

void kd_api_build_prompt(struct kd_api_msg *msg, uint16_t cpu, const char *prompt, size_t len,
			 uint32_t max_answer)
{
	len = clamp_text(prompt, len);
	msg_init(msg, KD_PACKET_TYPE_DEBUG_IO, DEBUG_IO_SIZE);
	msg->u.io.api_number = KD_API_GET_STRING;
	msg->u.io.processor = cpu;
	msg->u.io.length_of_string = (uint32_t)len;
	msg->u.io.length_of_string_read = max_answer;
	msg_data(msg, prompt, len);
}

void kd_api_build_get_string_reply(struct kd_api_msg *msg, const struct kd_debug_io *prompt,
				   const char *answer, size_t len)
{
	len = clamp_text(answer, len);
	if (len > prompt->length_of_string_read)
		len = prompt->length_of_string_read;
	msg_init(msg, KD_PACKET_TYPE_DEBUG_IO, DEBUG_IO_SIZE);
	/* Like the NT debuggers: echo the prompt's header, LengthOfStringRead = bytes sent. */
	kd_memcpy(&msg->u.io, prompt, DEBUG_IO_SIZE);
	msg->u.io.api_number = KD_API_GET_STRING;
	msg->u.io.length_of_string_read = (uint32_t)len;
	msg_data(msg, answer, len);
}

enum kd_api_error kd_api_parse_debug_io(const uint8_t *payload, size_t len,
					struct kd_debug_io *io,
					const uint8_t **text, size_t *text_len)
{
	enum kd_api_error err = split(payload, len, io, DEBUG_IO_SIZE, text, text_len);

	if (err)
		return err;
	switch (io->api_number) {
	case KD_API_PRINT_STRING:
		if (io->length_of_string > *text_len)
			return KD_API_ERR_DATA_LENGTH;
		*text_len = io->length_of_string;
		if (!*text_len)
			*text = NULL;
		return KD_API_OK;
	case KD_API_GET_STRING:
		/* Answers echo the prompt's length, so only the data length means anything. */
		return KD_API_OK;
	default:
		return KD_API_ERR_UNKNOWN;
	}
}

enum kd_api_error kd_api_parse_file_io(const uint8_t *payload, size_t len,
				       struct kd_file_io *io,
				       const uint8_t **data, size_t *data_len)
{
	enum kd_api_error err = split(payload, len, io, FILE_IO_SIZE, data, data_len);

	if (err)
		return err;
	return kd_api_file_io_name(io->api_number) ? KD_API_OK : KD_API_ERR_UNKNOWN;
}

void kd_api_build_file_io_reply(struct kd_api_msg *msg, const struct kd_file_io *req)
{
	msg_init(msg, KD_PACKET_TYPE_FILE_IO, FILE_IO_SIZE);
	msg->u.file.api_number = req->api_number;
	msg->u.file.status = KD_STATUS_NO_SUCH_FILE;
}
