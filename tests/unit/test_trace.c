/* SPDX-License-Identifier: MIT */
/* Trace decoder: exact lines for representative packets, malformed input, truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmkd/kd_api.h"
#include "vmkd/kd_packet.h"
#include "vmkd/kd_trace.h"

#include "vmkd/kd_bytes.h"

#define TO KD_TRACE_TO_TARGET
#define FROM KD_TRACE_FROM_TARGET

static char line[KD_TRACE_LINE_MAX];

/* Formats a raw payload under a data-packet header that matches it. */
static const char *fmt_raw(enum kd_trace_dir dir, uint16_t type, uint32_t id,
			   const uint8_t *payload, size_t len)
{
	struct kd_packet_header hdr = {
		.leader = KD_PACKET_LEADER,
		.type = type,
		.byte_count = (uint16_t)len,
		.id = id,
		.checksum = kd_checksum(payload, len),
	};
	size_t n = kd_trace_format(line, sizeof(line), dir, &hdr, payload, len);

	assert_int_equal(n, strlen(line));
	assert_true(n < sizeof(line) - 1); /* never cut at this size */
	return line;
}

/* Serialises msg as the wire would carry it and formats the result. */
static const char *fmt_msg(enum kd_trace_dir dir, uint32_t id, const struct kd_api_msg *msg)
{
	static uint8_t wire[KD_MAX_PACKET_BYTES];
	struct kd_packet_header hdr;
	size_t n = kd_api_msg_packet(msg, id, wire, sizeof(wire));

	assert_true(n > KD_HEADER_SIZE);
	kd_header_decode(&hdr, wire);
	n = kd_trace_format(line, sizeof(line), dir, &hdr, wire + KD_HEADER_SIZE, hdr.byte_count);
	assert_int_equal(n, strlen(line));
	assert_true(n < sizeof(line) - 1);
	return line;
}

static const char *fmt_control(enum kd_trace_dir dir, uint16_t type, uint32_t id)
{
	uint8_t raw[KD_HEADER_SIZE];
	struct kd_packet_header hdr;

	kd_control_build(raw, type, id);
	kd_header_decode(&hdr, raw);
	kd_trace_format(line, sizeof(line), dir, &hdr, NULL, 0);
	return line;
}

static void control_packets(void **state)
{
	(void)state;
	struct kd_packet_header hdr = { .leader = 0x41414141, .type = 2, .id = 5 };

	assert_string_equal(fmt_control(TO, KD_PACKET_TYPE_ACKNOWLEDGE, 0x80800000u),
			    "-> ACK id=80800000");
	assert_string_equal(fmt_control(FROM, KD_PACKET_TYPE_ACKNOWLEDGE, 0x80800001u),
			    "<- ACK id=80800001");
	assert_string_equal(fmt_control(TO, KD_PACKET_TYPE_RESET, 0), "-> RESET");
	assert_string_equal(fmt_control(TO, KD_PACKET_TYPE_RESEND, 0), "-> RESEND");
	assert_string_equal(fmt_control(FROM, KD_PACKET_TYPE_RESET, 0xdeadbeefu),
			    "<- RESET id=deadbeef");
	assert_string_equal(fmt_control(FROM, 9, 0), "<- CONTROL type=9 (unknown) id=00000000");
	kd_trace_format(line, sizeof(line), TO, NULL, NULL, 0);
	assert_string_equal(line, "-> BREAKIN");
	kd_trace_format(line, sizeof(line), FROM, &hdr, NULL, 0);
	assert_string_equal(line, "<- leader=41414141 (unknown) type=2 id=00000005");
}

static void memory_requests_and_replies(void **state)
{
	(void)state;
	static uint8_t mem[KD_MANIPULATE_MAX_DATA];
	struct kd_api_msg req, rep;

	kd_api_req_read_virtual(&req, 0xfffff80000001000ull, 3944);
	assert_string_equal(fmt_msg(TO, 0x80800000u, &req),
			    "-> MANIPULATE id=80800000 ReadVirtualMemory addr=fffff80000001000 len=3944");
	kd_api_reply_read(&rep, &req.u.m, mem, 3944);
	assert_string_equal(fmt_msg(FROM, 0x80800001u, &rep),
			    "<- MANIPULATE id=80800001 ReadVirtualMemory status=00000000 read=3944");
	kd_api_reply_read(&rep, &req.u.m, mem, 12);
	assert_string_equal(fmt_msg(FROM, 0x80800001u, &rep),
			    "<- MANIPULATE id=80800001 ReadVirtualMemory status=c0000001 read=12");

	assert_int_equal(kd_api_req_write_virtual(&req, 0x1000, mem, 16), KD_API_OK);
	assert_string_equal(fmt_msg(TO, 0x80800000u, &req),
			    "-> MANIPULATE id=80800000 WriteVirtualMemory addr=0000000000001000 len=16");
	kd_api_reply_write(&rep, &req.u.m, 16);
	assert_string_equal(fmt_msg(FROM, 0x80800000u, &rep),
			    "<- MANIPULATE id=80800000 WriteVirtualMemory status=00000000 written=16");

	kd_api_req_read_physical(&req, 0x7000, 8, 2);
	assert_string_equal(fmt_msg(TO, 0x80800000u, &req),
			    "-> MANIPULATE id=80800000 ReadPhysicalMemory addr=0000000000007000 len=8 cache=2");
	assert_int_equal(kd_api_req_write_physical(&req, 0x7000, mem, 4, 0), KD_API_OK);
	assert_string_equal(fmt_msg(TO, 0x80800000u, &req),
			    "-> MANIPULATE id=80800000 WritePhysicalMemory addr=0000000000007000 len=4");

	kd_api_req_read_control(&req, 1, KD_CONTROL_SPACE_KSPECIAL, 0xE0);
	assert_string_equal(fmt_msg(TO, 0x80800000u, &req),
			    "-> MANIPULATE id=80800000 ReadControlSpace cpu=1 sel=KSPECIAL len=224");
	kd_api_req_read_control(&req, 0, 7, 8);
	assert_string_equal(fmt_msg(TO, 0x80800000u, &req),
			    "-> MANIPULATE id=80800000 ReadControlSpace cpu=0 sel=0x7 len=8");
	assert_int_equal(kd_api_req_write_control(&req, 0, KD_CONTROL_SPACE_KSPECIAL, mem, 0xE0),
			 KD_API_OK);
	assert_string_equal(fmt_msg(TO, 0x80800000u, &req),
			    "-> MANIPULATE id=80800000 WriteControlSpace cpu=0 sel=KSPECIAL len=224");

	kd_api_req_query_memory(&req, 0xfffff80000400000ull);
	assert_string_equal(fmt_msg(TO, 0x80800000u, &req),
			    "-> MANIPULATE id=80800000 QueryMemory addr=fffff80000400000");
	kd_api_reply_query_memory(&rep, &req.u.m, KD_QUERY_SPACE_KERNEL,
				  KD_QUERY_FLAG_READ | KD_QUERY_FLAG_EXECUTE);
	assert_string_equal(fmt_msg(FROM, 0x80800001u, &rep),
			    "<- MANIPULATE id=80800001 QueryMemory status=00000000 space=kernel flags=r-x");
}

static void context_breakpoints_continue(void **state)
{
	(void)state;
	struct kd_context_amd64 ctx;
	struct kd_api_msg req, rep;

	memset(&ctx, 0, sizeof(ctx));
	ctx.context_flags = KD_CONTEXT_FULL;
	ctx.rip = 0xfffff80000587d12ull;

	kd_api_req_get_context(&req, 0);
	assert_string_equal(fmt_msg(TO, 0x80800001u, &req),
			    "-> MANIPULATE id=80800001 GetContext cpu=0");
	kd_api_reply_get_context(&rep, &req.u.m, &ctx);
	assert_string_equal(fmt_msg(FROM, 0x80800000u, &rep),
			    "<- MANIPULATE id=80800000 GetContext status=00000000 rip=fffff80000587d12");
	ctx.rip++;
	kd_api_req_set_context(&req, 0, &ctx);
	assert_string_equal(fmt_msg(TO, 0x80800000u, &req),
			    "-> MANIPULATE id=80800000 SetContext cpu=0 flags=0010000b rip=fffff80000587d13");
	kd_api_reply_init(&rep, &req.u.m, KD_STATUS_SUCCESS);
	assert_string_equal(fmt_msg(FROM, 0x80800001u, &rep),
			    "<- MANIPULATE id=80800001 SetContext status=00000000");
	assert_int_equal(kd_api_req_get_context_ex(&req, 0, 0x78, 0x88), KD_API_OK);
	assert_string_equal(fmt_msg(TO, 0x80800000u, &req),
			    "-> MANIPULATE id=80800000 GetContextEx cpu=0 offset=0x78 count=136");
	kd_api_reply_get_context_ex(&rep, &req.u.m, &ctx);
	assert_string_equal(fmt_msg(FROM, 0x80800001u, &rep),
			    "<- MANIPULATE id=80800001 GetContextEx status=00000000 copied=136");

	kd_api_req_write_breakpoint(&req, 0xfffff80000401000ull);
	assert_string_equal(fmt_msg(TO, 0x80800000u, &req),
			    "-> MANIPULATE id=80800000 WriteBreakPoint addr=fffff80000401000");
	kd_api_reply_breakpoint(&rep, &req.u.m, 1);
	assert_string_equal(fmt_msg(FROM, 0x80800001u, &rep),
			    "<- MANIPULATE id=80800001 WriteBreakPoint status=00000000 handle=1");
	kd_api_req_restore_breakpoint(&req, 1);
	assert_string_equal(fmt_msg(TO, 0x80800000u, &req),
			    "-> MANIPULATE id=80800000 RestoreBreakPoint handle=1");

	kd_api_req_continue(&req, KD_DBG_CONTINUE);
	assert_string_equal(fmt_msg(TO, 0x80800001u, &req),
			    "-> MANIPULATE id=80800001 Continue continue=00010002");
	kd_api_req_continue2(&req, KD_DBG_CONTINUE, 1, 0x400);
	assert_string_equal(fmt_msg(TO, 0x80800001u, &req),
			    "-> MANIPULATE id=80800001 Continue2 continue=00010002 trace=1 dr7=0000000000000400");
	kd_api_req_init(&req, KD_API_CLEAR_ALL_INTERNAL_BREAKPOINTS);
	assert_string_equal(fmt_msg(TO, 0x80800000u, &req),
			    "-> MANIPULATE id=80800000 ClearAllInternalBreakpoints");
}

static void version_msr_unknown(void **state)
{
	(void)state;
	struct kd_get_version64 ver;
	struct kd_api_msg req, rep;

	memset(&ver, 0, sizeof(ver));
	ver.major_version = KD_MAJOR_VERSION_CHECKED;
	ver.minor_version = 3790;
	ver.protocol_version = 6;
	ver.kd_secondary_version = 2;
	ver.flags = 6;
	ver.machine_type = KD_MACHINE_AMD64;
	ver.kern_base = 0xfffff80000400000ull;
	ver.ps_loaded_module_list = 0xfffff8000062cc80ull;
	ver.debugger_data_list = 0xfffff8000061ab30ull;
	kd_api_req_get_version(&req);
	assert_string_equal(fmt_msg(TO, 0x80800000u, &req), "-> MANIPULATE id=80800000 GetVersion");
	kd_api_reply_version(&rep, &req.u.m, &ver);
	assert_string_equal(fmt_msg(FROM, 0x80800001u, &rep),
			    "<- MANIPULATE id=80800001 GetVersion status=00000000 build=3790 major=c "
			    "proto=6.2 machine=8664 flags=0006 kernbase=fffff80000400000 "
			    "modules=fffff8000062cc80 kddata=fffff8000061ab30");

	kd_api_req_read_msr(&req, 0xC0000082u);
	assert_string_equal(fmt_msg(TO, 0x80800000u, &req),
			    "-> MANIPULATE id=80800000 ReadMsr msr=c0000082");
	kd_api_reply_msr(&rep, &req.u.m, 0xfffff80000501000ull, KD_STATUS_SUCCESS);
	assert_string_equal(fmt_msg(FROM, 0x80800001u, &rep),
			    "<- MANIPULATE id=80800001 ReadMsr status=00000000 msr=c0000082 value=fffff80000501000");
	kd_api_req_write_msr(&req, 0x174, 0x10);
	assert_string_equal(fmt_msg(TO, 0x80800000u, &req),
			    "-> MANIPULATE id=80800000 WriteMsr msr=00000174 value=0000000000000010");

	kd_api_req_init(&req, 0x314A);
	assert_string_equal(fmt_msg(TO, 0x80800000u, &req),
			    "-> MANIPULATE id=80800000 api=0x314a (unknown)");
	kd_api_reply_init(&rep, &req.u.m, KD_STATUS_UNSUCCESSFUL);
	assert_string_equal(fmt_msg(FROM, 0x80800001u, &rep),
			    "<- MANIPULATE id=80800001 api=0x314a (unknown) status=c0000001");
	kd_api_req_init(&req, KD_API_CHECK_LOW_MEMORY);
	assert_string_equal(fmt_msg(TO, 0x80800000u, &req),
			    "-> MANIPULATE id=80800000 CheckLowMemory");
}

static void state_changes(void **state)
{
	(void)state;
	struct kd_api_cpu cpu;
	struct kd_api_msg msg;

	memset(&cpu, 0, sizeof(cpu));
	cpu.number_processors = 1;
	cpu.pc = 0xfffff80000582d19ull;
	cpu.seg_cs = KD_KGDT64_R0_CODE;
	assert_int_equal(kd_api_build_exception(&msg, &cpu, KD_STATUS_BREAKPOINT, cpu.pc, 1,
						NULL, 0),
			 KD_API_OK);
	assert_string_equal(fmt_msg(FROM, 0x80800800u, &msg),
			    "<- STATE_CHANGE id=80800800 Exception code=80000003 pc=fffff80000582d19 first-chance");
	cpu.processor = 1;
	cpu.number_processors = 4;
	assert_int_equal(kd_api_build_exception(&msg, &cpu, KD_STATUS_SINGLE_STEP, cpu.pc, 0,
						NULL, 0),
			 KD_API_OK);
	assert_string_equal(fmt_msg(FROM, 0x80800000u, &msg),
			    "<- STATE_CHANGE id=80800000 Exception code=80000004 pc=fffff80000582d19 second-chance cpu=1/4");

	cpu.processor = 0;
	cpu.number_processors = 1;
	assert_int_equal(kd_api_build_load_symbols(&msg, &cpu, "\\SystemRoot\\system32\\ntoskrnl.exe",
						   0xfffff80000400000ull, 0x2bb000, 0, 0),
			 KD_API_OK);
	assert_string_equal(fmt_msg(FROM, 0x80800001u, &msg),
			    "<- STATE_CHANGE id=80800001 LoadSymbols base=fffff80000400000 size=0x2bb000 "
			    "\\SystemRoot\\system32\\ntoskrnl.exe");
	assert_int_equal(kd_api_build_load_symbols(&msg, &cpu, NULL, UINT64_MAX, 0, 0, 1),
			 KD_API_OK);
	assert_string_equal(fmt_msg(FROM, 0x80800000u, &msg),
			    "<- STATE_CHANGE id=80800000 LoadSymbols unload base=ffffffffffffffff size=0x0");

	/* Command string and an unknown state, from raw bytes. */
	{
		static uint8_t buf[0xF0 + 12];

		memset(buf, 0, sizeof(buf));
		kd_put_le32(buf, KD_STATE_COMMAND_STRING);
		memcpy(buf + 0xF0, "dbg\0.reload\0", 12);
		assert_string_equal(fmt_raw(FROM, KD_PACKET_TYPE_STATE_CHANGE64, 0x80800000u, buf,
					    sizeof(buf)),
				    "<- STATE_CHANGE id=80800000 CommandString \"dbg\\x00.reload\\x00\"");
		kd_put_le32(buf, 0x3099);
		kd_put_le64(buf + 0x18, 0x1000);
		assert_string_equal(fmt_raw(FROM, KD_PACKET_TYPE_STATE_CHANGE64, 0x80800000u, buf,
					    0xF0),
				    "<- STATE_CHANGE id=80800000 state=0x3099 (unknown) pc=0000000000001000");
	}
}

static void debug_io_file_io_others(void **state)
{
	(void)state;
	static const char text[] = "hi \"kd\"\\ \x01\t\r\n";
	static char big[200];
	static uint8_t buf[0x40 + 8];
	struct kd_debug_io prompt;
	struct kd_file_io fio;
	struct kd_api_msg msg;

	kd_api_build_print(&msg, 0, text, strlen(text));
	assert_string_equal(fmt_msg(FROM, 0x80800000u, &msg),
			    "<- DEBUG_IO id=80800000 PrintString \"hi \\\"kd\\\"\\\\ \\x01\\t\\r\\n\"");
	memset(big, 'x', sizeof(big));
	kd_api_build_print(&msg, 0, big, sizeof(big));
	fmt_msg(FROM, 0x80800001u, &msg);
	assert_int_equal(strlen(line), strlen("<- DEBUG_IO id=80800001 PrintString \"\"...") + 96);
	assert_string_equal(line + strlen(line) - 6, "xx\"...");

	kd_api_build_prompt(&msg, 0, "Continue? ", 10, 8);
	assert_string_equal(fmt_msg(FROM, 0x80800000u, &msg),
			    "<- DEBUG_IO id=80800000 GetString max=8 \"Continue? \"");
	memcpy(&prompt, &msg.u.io, sizeof(prompt));
	kd_api_build_get_string_reply(&msg, &prompt, "yes", 3);
	assert_string_equal(fmt_msg(TO, 0x80800000u, &msg),
			    "-> DEBUG_IO id=80800000 GetString \"yes\"");

	memset(buf, 0, sizeof(buf));
	kd_put_le32(buf, KD_API_CREATE_FILE);
	memcpy(buf + 0x40, "a\0.\0s\0\0\0", 8);
	assert_string_equal(fmt_raw(FROM, KD_PACKET_TYPE_FILE_IO, 0x80800000u, buf, sizeof(buf)),
			    "<- FILE_IO id=80800000 CreateFile \"a.s\"");
	{
		static uint8_t name[0x40 + 2 * 100];

		memset(name, 0, sizeof(name));
		kd_put_le32(name, KD_API_CREATE_FILE);
		for (size_t i = 0; i < 100; i++)
			name[0x40 + 2 * i] = 'n';
		name[0x41] = 0x04; /* not ASCII */
		fmt_raw(FROM, KD_PACKET_TYPE_FILE_IO, 0x80800000u, name, sizeof(name));
		assert_int_equal(strncmp(line, "<- FILE_IO id=80800000 CreateFile \"?nn", 38), 0);
		assert_int_equal(strlen(line), strlen("<- FILE_IO id=80800000 CreateFile \"\"...") + 96);
	}
	memcpy(&fio, buf, sizeof(fio));
	kd_api_build_file_io_reply(&msg, &fio);
	assert_string_equal(fmt_msg(TO, 0x80800000u, &msg),
			    "-> FILE_IO id=80800000 CreateFile status=c000000f");
	kd_put_le32(buf, KD_API_READ_FILE);
	kd_put_le64(buf + 8, 0x44);
	kd_put_le64(buf + 16, 0x1000);
	kd_put_le32(buf + 24, 512);
	assert_string_equal(fmt_raw(FROM, KD_PACKET_TYPE_FILE_IO, 0x80800001u, buf, 0x40),
			    "<- FILE_IO id=80800001 ReadFile handle=44 offset=0x1000 len=512");

	memset(buf, 0, sizeof(buf));
	kd_put_le32(buf, KD_API_PRINT_TRACE);
	kd_put_le32(buf + 8, 24);
	assert_string_equal(fmt_raw(FROM, KD_PACKET_TYPE_TRACE_IO, 0x80800000u, buf, 0x40),
			    "<- TRACE_IO id=80800000 PrintTrace len=24");
	kd_put_le32(buf, KD_API_REQUEST_HARDWARE_BP);
	kd_put_le32(buf + 4, 2);
	kd_put_le32(buf + 8, 1);
	assert_string_equal(fmt_raw(FROM, KD_PACKET_TYPE_CONTROL_REQUEST, 0x80800000u, buf, 12),
			    "<- CONTROL_REQUEST id=80800000 RequestHardwareBp bp=2 available=1");
	assert_string_equal(fmt_raw(FROM, KD_PACKET_TYPE_STATE_CHANGE32, 0x80800000u, buf, 12),
			    "<- STATE_CHANGE32 id=80800000 len=12");
	assert_string_equal(fmt_raw(FROM, 77, 0x80800000u, buf, 3),
			    "<- type=77 (unknown) id=80800000 len=3");
}

static void malformed_packets(void **state)
{
	(void)state;
	static uint8_t buf[KD_MAX_PAYLOAD];
	struct kd_packet_header hdr;
	struct kd_api_msg req;

	memset(buf, 0, sizeof(buf));
	kd_put_le32(buf, KD_API_READ_VIRTUAL_MEMORY);
	assert_string_equal(fmt_raw(FROM, KD_PACKET_TYPE_STATE_MANIPULATE, 0x80800000u, buf, 20),
			    "<- MANIPULATE id=80800000 (malformed: 20 bytes, header needs 56)");
	assert_string_equal(fmt_raw(TO, KD_PACKET_TYPE_STATE_MANIPULATE, 0x80800000u, buf, 0),
			    "-> MANIPULATE id=80800000 (malformed: 0 bytes, header needs 56)");
	/* Read reply claiming more than it carries. */
	kd_put_le32(buf + 0x18, 200);
	kd_put_le32(buf + 0x1C, 100);
	assert_string_equal(fmt_raw(FROM, KD_PACKET_TYPE_STATE_MANIPULATE, 0x80800000u, buf,
				    0x38 + 99),
			    "<- MANIPULATE id=80800000 ReadVirtualMemory status=00000000 read=100 (malformed: data-length)");
	/* Write request whose data disagrees with its count. */
	kd_put_le32(buf, KD_API_WRITE_VIRTUAL_MEMORY);
	assert_string_equal(fmt_raw(TO, KD_PACKET_TYPE_STATE_MANIPULATE, 0x80800000u, buf,
				    0x38 + 3),
			    "-> MANIPULATE id=80800000 WriteVirtualMemory addr=0000000000000000 len=200 (malformed: data-length)");
	/* A "reply" to Continue. */
	kd_api_req_continue(&req, KD_DBG_CONTINUE);
	assert_string_equal(fmt_raw(FROM, KD_PACKET_TYPE_STATE_MANIPULATE, 0x80800000u,
				    (const uint8_t *)&req.u.m, 0x38),
			    "<- MANIPULATE id=80800000 Continue status=00000000 (malformed: no-reply)");
	/* Oversized manipulate. */
	{
		static uint8_t big[KD_MAX_PAYLOAD + 8];
		struct kd_packet_header h = { .leader = KD_PACKET_LEADER, .type = 2, .id = 1,
					      .byte_count = 0xFFFF };

		memset(big, 0, sizeof(big));
		kd_put_le32(big, KD_API_SET_CONTEXT);
		kd_trace_format(line, sizeof(line), FROM, &h, big, sizeof(big));
		assert_string_equal(line, "<- MANIPULATE id=00000001 SetContext status=00000000 "
					  "(malformed: oversize) (malformed: 4008 bytes, count says 65535)");
	}

	/* State change too short, LoadSymbols path beyond the packet. */
	memset(buf, 0, sizeof(buf));
	kd_put_le32(buf, KD_STATE_LOAD_SYMBOLS);
	assert_string_equal(fmt_raw(FROM, KD_PACKET_TYPE_STATE_CHANGE64, 0x80800000u, buf, 0xEF),
			    "<- STATE_CHANGE id=80800000 (malformed: 239 bytes, header needs 240)");
	kd_put_le32(buf + 0x20, 50);
	memcpy(buf + 0xF0, "abc", 3);
	assert_string_equal(fmt_raw(FROM, KD_PACKET_TYPE_STATE_CHANGE64, 0x80800000u, buf, 0xF3),
			    "<- STATE_CHANGE id=80800000 LoadSymbols base=0000000000000000 size=0x0 (malformed: path)");

	/* DEBUG_IO: short, and a length beyond the data (what arrived is shown). */
	memset(buf, 0, sizeof(buf));
	kd_put_le32(buf, KD_API_PRINT_STRING);
	kd_put_le32(buf + 8, 10);
	memcpy(buf + 16, "abc", 3);
	assert_string_equal(fmt_raw(FROM, KD_PACKET_TYPE_DEBUG_IO, 0x80800000u, buf, 15),
			    "<- DEBUG_IO id=80800000 (malformed: 15 bytes, header needs 16)");
	assert_string_equal(fmt_raw(FROM, KD_PACKET_TYPE_DEBUG_IO, 0x80800000u, buf, 19),
			    "<- DEBUG_IO id=80800000 PrintString \"abc\" (malformed: data-length)");
	kd_put_le32(buf, 0x3299);
	assert_string_equal(fmt_raw(FROM, KD_PACKET_TYPE_DEBUG_IO, 0x80800000u, buf, 19),
			    "<- DEBUG_IO id=80800000 api=0x3299 (unknown)");
	assert_string_equal(fmt_raw(FROM, KD_PACKET_TYPE_FILE_IO, 0x80800000u, buf, 19),
			    "<- FILE_IO id=80800000 (malformed: 19 bytes, header needs 64)");
	assert_string_equal(fmt_raw(FROM, KD_PACKET_TYPE_TRACE_IO, 0x80800000u, buf, 8),
			    "<- TRACE_IO id=80800000 (malformed: 8 bytes, header needs 64)");
	assert_string_equal(fmt_raw(FROM, KD_PACKET_TYPE_CONTROL_REQUEST, 0x80800000u, buf, 8),
			    "<- CONTROL_REQUEST id=80800000 (malformed: 8 bytes, header needs 12)");

	/* Header and payload disagreeing: count, checksum. */
	kd_put_le32(buf, KD_API_PRINT_STRING);
	kd_put_le32(buf + 8, 3);
	hdr = (struct kd_packet_header){ .leader = KD_PACKET_LEADER, .type = 3, .id = 7,
					 .byte_count = 19, .checksum = 1 };
	kd_trace_format(line, sizeof(line), FROM, &hdr, buf, 19);
	assert_string_equal(line, "<- DEBUG_IO id=00000007 PrintString \"abc\" (bad checksum)");
	hdr.byte_count = 30;
	kd_trace_format(line, sizeof(line), FROM, &hdr, buf, 19);
	assert_string_equal(line, "<- DEBUG_IO id=00000007 PrintString \"abc\" "
				  "(malformed: 19 bytes, count says 30)");
	/* No payload at all, whatever len claims. */
	kd_trace_format(line, sizeof(line), FROM, &hdr, NULL, 19);
	assert_string_equal(line, "<- DEBUG_IO id=00000007 (malformed: 0 bytes, header needs 16) "
				  "(malformed: 0 bytes, count says 30)");
}

/* Every prefix of real packets, in a heap block of exactly that size: ASan sees any read
 * past len. */
static void prefixes_never_overread(void **state)
{
	(void)state;
	static uint8_t mem[64];
	struct kd_api_msg msgs[6];
	struct kd_context_amd64 ctx;
	struct kd_api_cpu cpu;

	memset(&ctx, 0, sizeof(ctx));
	memset(&cpu, 0, sizeof(cpu));
	kd_api_req_read_virtual(&msgs[0], 0x1000, 64);
	kd_api_reply_read(&msgs[1], &msgs[0].u.m, mem, 64);
	kd_api_req_set_context(&msgs[2], 0, &ctx);
	assert_int_equal(kd_api_build_load_symbols(&msgs[3], &cpu, "\\a\\b.sys", 1, 2, 3, 0),
			 KD_API_OK);
	kd_api_build_print(&msgs[4], 0, "some text\n", 10);
	assert_int_equal(kd_api_build_exception(&msgs[5], &cpu, 0x80000003u, 0, 1, NULL, 0),
			 KD_API_OK);
	for (size_t m = 0; m < sizeof(msgs) / sizeof(msgs[0]); m++) {
		static uint8_t wire[KD_MAX_PACKET_BYTES];
		struct kd_packet_header hdr;
		size_t n = kd_api_msg_packet(&msgs[m], 0x80800000u, wire, sizeof(wire));

		assert_true(n > KD_HEADER_SIZE);
		kd_header_decode(&hdr, wire);
		for (size_t len = 0; len <= hdr.byte_count; len++) {
			uint8_t *p = malloc(len ? len : 1);

			assert_non_null(p);
			memcpy(p, wire + KD_HEADER_SIZE, len);
			for (int dir = 0; dir < 2; dir++)
				kd_trace_format(line, sizeof(line), (enum kd_trace_dir)dir, &hdr, p,
						len);
			free(p);
		}
	}
}

static void output_truncation(void **state)
{
	(void)state;
	struct kd_api_msg req;
	static uint8_t wire[KD_MAX_PACKET_BYTES];
	struct kd_packet_header hdr;
	char full[KD_TRACE_LINE_MAX], small[16];
	size_t n;

	kd_api_req_read_virtual(&req, 0xfffff80000001000ull, 3944);
	kd_api_msg_packet(&req, 0x80800000u, wire, sizeof(wire));
	kd_header_decode(&hdr, wire);
	n = kd_trace_format(full, sizeof(full), TO, &hdr, wire + 16, hdr.byte_count);
	assert_int_equal(n, strlen(full));

	for (size_t cap = 1; cap <= sizeof(small); cap++) {
		memset(small, '#', sizeof(small));
		n = kd_trace_format(small, cap, TO, &hdr, wire + 16, hdr.byte_count);
		assert_int_equal(n, cap - 1);
		assert_int_equal(small[cap - 1], '\0');
		assert_memory_equal(small, full, cap - 1);
		if (cap < sizeof(small))
			assert_int_equal(small[cap], '#'); /* nothing written past cap */
	}
	/* cap 0: nothing touched, nothing returned. */
	small[0] = '#';
	assert_int_equal(kd_trace_format(small, 0, TO, &hdr, wire + 16, hdr.byte_count), 0);
	assert_int_equal(small[0], '#');
	assert_int_equal(kd_trace_format(NULL, 0, TO, &hdr, NULL, 0), 0);
	/* Exactly enough room. */
	n = kd_trace_format(small, sizeof(small), TO, NULL, NULL, 0);
	assert_string_equal(small, "-> BREAKIN");
	assert_int_equal(n, 10);
	assert_int_equal(kd_trace_format(small, 11, TO, NULL, NULL, 0), 10);
	assert_int_equal(kd_trace_format(small, 10, TO, NULL, NULL, 0), 9);
	assert_string_equal(small, "-> BREAKI");
}

/* The worst lines the decoder can make still fit KD_TRACE_LINE_MAX. */
static void line_max_holds_worst_case(void **state)
{
	(void)state;
	static uint8_t buf[KD_MAX_PAYLOAD];
	struct kd_packet_header hdr = { .leader = KD_PACKET_LEADER, .id = 0xffffffffu,
					.byte_count = 0xffff, .checksum = 1 };
	char big[KD_TRACE_LINE_MAX + 64];
	size_t n;

	/* Path of non-printables, on an unload with many CPUs; count and checksum wrong. */
	memset(buf, 0x01, sizeof(buf));
	kd_put_le32(buf, KD_STATE_LOAD_SYMBOLS);
	kd_put_le16(buf + 6, 0xffff);
	kd_put_le32(buf + 8, 0xffffffffu);
	kd_put_le32(buf + 0x20, KD_MAX_PAYLOAD - 0xF0);
	hdr.type = KD_PACKET_TYPE_STATE_CHANGE64;
	n = kd_trace_format(big, sizeof(big), FROM, &hdr, buf, sizeof(buf));
	assert_true(n < KD_TRACE_LINE_MAX - 1);

	/* Text of non-printables, in a GetString prompt. */
	memset(buf, 0x01, sizeof(buf));
	kd_put_le32(buf, KD_API_GET_STRING);
	kd_put_le32(buf + 8, 0xffffffffu);
	kd_put_le32(buf + 12, 0xffffffffu);
	hdr.type = KD_PACKET_TYPE_DEBUG_IO;
	n = kd_trace_format(big, sizeof(big), FROM, &hdr, buf, sizeof(buf));
	assert_true(n < KD_TRACE_LINE_MAX - 1);
	kd_put_le32(buf, KD_API_PRINT_STRING);
	n = kd_trace_format(big, sizeof(big), FROM, &hdr, buf, sizeof(buf));
	assert_true(n < KD_TRACE_LINE_MAX - 1);

	/* The widest manipulate line. */
	memset(buf, 0xff, sizeof(buf));
	kd_put_le32(buf, KD_API_GET_VERSION);
	hdr.type = KD_PACKET_TYPE_STATE_MANIPULATE;
	n = kd_trace_format(big, sizeof(big), FROM, &hdr, buf, sizeof(buf));
	assert_true(n < KD_TRACE_LINE_MAX - 1);
	for (uint32_t api = KD_API_READ_VIRTUAL_MEMORY; api < KD_API_MAXIMUM; api++) {
		kd_put_le32(buf, api);
		for (int dir = 0; dir < 2; dir++) {
			n = kd_trace_format(big, sizeof(big), (enum kd_trace_dir)dir, &hdr, buf,
					    sizeof(buf));
			assert_true(n < KD_TRACE_LINE_MAX - 1);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(control_packets),
		cmocka_unit_test(memory_requests_and_replies),
		cmocka_unit_test(context_breakpoints_continue),
		cmocka_unit_test(version_msr_unknown),
		cmocka_unit_test(state_changes),
		cmocka_unit_test(debug_io_file_io_others),
		cmocka_unit_test(malformed_packets),
		cmocka_unit_test(prefixes_never_overread),
		cmocka_unit_test(output_truncation),
		cmocka_unit_test(line_max_holds_worst_case),
	};

	return cmocka_run_group_tests_name("kd_trace", tests, NULL, NULL);
}
