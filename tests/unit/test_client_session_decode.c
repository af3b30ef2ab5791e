/* SPDX-License-Identifier: MIT */
/* The debugger engine's packet decoder (session_decode): events from target packets, and
 * the matching of replies to the request they answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmkd/kd_api.h"

#include "../../host/client/session_decode.h"
#include "../../host/common/relay_notice.h"

static void decode_msg(const struct kd_api_msg *msg, uint8_t *buf, size_t *len,
		       struct sd_event *ev)
{
	*len = msg->hdr_len + msg->data_len;
	assert_true(*len <= KD_MAX_PAYLOAD);
	memcpy(buf, &msg->u, msg->hdr_len);
	if (msg->data_len)
		memcpy(buf + msg->hdr_len, msg->data, msg->data_len);
	sd_decode(msg->type, buf, *len, ev);
}

static void exception_decoded(void **state)
{
	static uint8_t buf[KD_MAX_PAYLOAD];
	static const uint64_t params[2] = { 1, 0xdead };
	struct kd_api_cpu cpu;
	struct kd_api_msg msg;
	struct sd_event ev;
	size_t len;

	(void)state;
	memset(&cpu, 0, sizeof(cpu));
	cpu.number_processors = 2;
	cpu.processor = 1;
	cpu.pc = 0xfffff80000101000ull;
	assert_int_equal(kd_api_build_exception(&msg, &cpu, 0xC0000005u, cpu.pc, 1, params, 2),
			 KD_API_OK);
	decode_msg(&msg, buf, &len, &ev);
	assert_int_equal(ev.kind, SD_STATE_CHANGE);
	assert_int_equal(ev.err, KD_API_OK);
	assert_int_equal(ev.stop.kind, SESSION_STOP_EXCEPTION);
	assert_int_equal(ev.stop.code, 0xC0000005u);
	assert_int_equal(ev.stop.pc, cpu.pc);
	assert_int_equal(ev.stop.processor, 1);
	assert_int_equal(ev.stop.number_processors, 2);
	assert_true(ev.stop.first_chance);
	assert_int_equal(ev.stop.number_parameters, 2);
	assert_int_equal(ev.stop.parameters[1], 0xdead);
	assert_int_equal(ev.stop.seq, 0); /* the engine numbers stops */

	/* Cut short: no stop, a malformed packet. */
	sd_decode(KD_PACKET_TYPE_STATE_CHANGE64, buf, 0x20, &ev);
	assert_int_equal(ev.kind, SD_MALFORMED);
	assert_int_equal(ev.err, KD_API_ERR_SHORT);
	assert_string_equal(ev.what, "state change");
}

static void load_symbols_decoded(void **state)
{
	static uint8_t buf[KD_MAX_PAYLOAD];
	static const char path[] = "\\SystemRoot\\system32\\ntoskrnl.exe";
	struct kd_api_cpu cpu;
	struct kd_api_msg msg;
	struct kd_wait_state_change64 sc;
	struct sd_event ev;
	size_t len;

	(void)state;
	memset(&cpu, 0, sizeof(cpu));
	cpu.number_processors = 1;
	assert_int_equal(kd_api_build_load_symbols(&msg, &cpu, path, 0xfffff80000100000ull,
						   0x6000, 0x1234, 0), KD_API_OK);
	decode_msg(&msg, buf, &len, &ev);
	assert_int_equal(ev.kind, SD_STATE_CHANGE);
	assert_int_equal(ev.err, KD_API_OK);
	assert_int_equal(ev.stop.kind, SESSION_STOP_LOAD_SYMBOLS);
	assert_string_equal(ev.stop.path, path);
	assert_int_equal(ev.stop.base, 0xfffff80000100000ull);
	assert_int_equal(ev.stop.size, 0x6000);
	assert_int_equal(ev.stop.checksum, 0x1234);
	assert_false(ev.stop.unload);

	/* A path length past the packet: still a usable stop (the module is recorded and
	 * the target continued), with the damage reported. */
	memcpy(&sc, buf, sizeof(sc));
	sc.u.load_symbols.path_name_length = 0x7000;
	memcpy(buf, &sc, sizeof(sc));
	sd_decode(KD_PACKET_TYPE_STATE_CHANGE64, buf, len, &ev);
	assert_int_equal(ev.kind, SD_STATE_CHANGE);
	assert_int_not_equal(ev.err, KD_API_OK);
	assert_string_equal(ev.what, "load-symbols state change");
	assert_int_equal(ev.stop.kind, SESSION_STOP_LOAD_SYMBOLS);
	assert_int_equal(ev.stop.base, 0xfffff80000100000ull);
	assert_string_equal(ev.stop.path, "");
}

static void prints_prompts_and_notices(void **state)
{
	static uint8_t buf[KD_MAX_PAYLOAD];
	static const char gone[] = RELAY_NOTICE_PREFIX RELAY_NOTICE_GUEST_GONE
		": QEMU closed the chardev\n";
	static const char back[] = RELAY_NOTICE_PREFIX RELAY_NOTICE_GUEST_BACK "\n";
	struct kd_api_msg msg;
	struct sd_event ev;
	size_t len;

	(void)state;
	kd_api_build_print(&msg, 0, "hello\n", 6);
	decode_msg(&msg, buf, &len, &ev);
	assert_int_equal(ev.kind, SD_PRINT);
	assert_int_equal(ev.text_len, 6);
	assert_memory_equal(ev.text, "hello\n", 6);
	assert_int_equal(ev.notice, SD_NOTICE_NONE);

	kd_api_build_print(&msg, 0, gone, sizeof(gone) - 1);
	decode_msg(&msg, buf, &len, &ev);
	assert_int_equal(ev.kind, SD_PRINT);
	assert_int_equal(ev.notice, SD_NOTICE_GUEST_GONE);
	assert_int_equal(ev.text_len, sizeof(gone) - 1); /* still printed in full */
	kd_api_build_print(&msg, 0, back, sizeof(back) - 1);
	decode_msg(&msg, buf, &len, &ev);
	assert_int_equal(ev.notice, SD_NOTICE_GUEST_BACK);

	/* Only the whole word after the prefix, at the start, counts. */
	assert_int_equal(sd_notice(RELAY_NOTICE_PREFIX RELAY_NOTICE_GUEST_GONE, 31),
			 SD_NOTICE_GUEST_GONE);
	assert_int_equal(sd_notice(RELAY_NOTICE_PREFIX "guest-disconnectedly", 33), SD_NOTICE_NONE);
	assert_int_equal(sd_notice("x" RELAY_NOTICE_PREFIX RELAY_NOTICE_GUEST_GONE "\n", 33),
			 SD_NOTICE_NONE);
	assert_int_equal(sd_notice(RELAY_NOTICE_PREFIX, 13), SD_NOTICE_NONE);
	assert_int_equal(sd_notice(NULL, 0), SD_NOTICE_NONE);

	/* A prompt: its text is LengthOfString long, whatever else arrived. */
	kd_api_build_prompt(&msg, 0, "Break, Ignore? ", 15, 16);
	decode_msg(&msg, buf, &len, &ev);
	assert_int_equal(ev.kind, SD_PROMPT);
	assert_int_equal(ev.text_len, 15);
	assert_memory_equal(ev.text, "Break, Ignore? ", 15);
	assert_int_equal(ev.io.length_of_string_read, 16);

	/* Shorter than its header. */
	sd_decode(KD_PACKET_TYPE_DEBUG_IO, buf, 8, &ev);
	assert_int_equal(ev.kind, SD_MALFORMED);
	assert_string_equal(ev.what, "debug I/O packet");
}

static void file_io_and_others(void **state)
{
	static uint8_t buf[KD_MAX_PAYLOAD];
	struct kd_file_io io;
	struct sd_event ev;

	(void)state;
	memset(&io, 0, sizeof(io));
	io.api_number = KD_API_CREATE_FILE;
	memcpy(buf, &io, sizeof(io));
	sd_decode(KD_PACKET_TYPE_FILE_IO, buf, sizeof(io), &ev);
	assert_int_equal(ev.kind, SD_FILE_IO);
	assert_int_equal(ev.file.api_number, KD_API_CREATE_FILE);
	/* An unknown file API is still answered. */
	io.api_number = 0x3499;
	memcpy(buf, &io, sizeof(io));
	sd_decode(KD_PACKET_TYPE_FILE_IO, buf, sizeof(io), &ev);
	assert_int_equal(ev.kind, SD_FILE_IO);
	sd_decode(KD_PACKET_TYPE_FILE_IO, buf, 4, &ev);
	assert_int_equal(ev.kind, SD_MALFORMED);

	sd_decode(KD_PACKET_TYPE_STATE_MANIPULATE, buf, 4, &ev);
	assert_int_equal(ev.kind, SD_REPLY);
	sd_decode(KD_PACKET_TYPE_TRACE_IO, buf, 4, &ev);
	assert_int_equal(ev.kind, SD_IGNORED);
	sd_decode(0x7777, NULL, 0, &ev);
	assert_int_equal(ev.kind, SD_IGNORED);
}

/* ---- replies -------------------------------------------------------------------------- */

struct reply_case {
	struct kd_manipulate_state64 req;
	uint8_t buf[KD_MAX_PAYLOAD];
	size_t len;
};

static enum sd_match match(struct reply_case *c, const struct kd_api_msg *reply)
{
	struct kd_manipulate_state64 m;
	const uint8_t *data;
	size_t dlen;
	enum kd_api_error err;

	c->len = reply->hdr_len + reply->data_len;
	memcpy(c->buf, &reply->u, reply->hdr_len);
	if (reply->data_len)
		memcpy(c->buf + reply->hdr_len, reply->data, reply->data_len);
	return sd_match_reply(&c->req, c->buf, c->len, &m, &data, &dlen, &err);
}

static void generations(void **state)
{
	(void)state;
	assert_int_not_equal(sd_generation(1), sd_generation(2));
	assert_int_equal(sd_generation(1) & ~SD_GENERATION_MASK, SD_GENERATION_MARK);
	/* Never the bare marker, also where the count wraps. */
	assert_int_not_equal(sd_generation(0x1000000ull), SD_GENERATION_MARK);
	assert_int_not_equal(sd_generation(0), 0);
}

static void replies_matched_by_echo_and_generation(void **state)
{
	static struct reply_case c;
	static const uint8_t data[16] = { 1, 2, 3 };
	struct kd_manipulate_state64 other;
	struct kd_api_msg req, rep;

	(void)state;
	/* A memory read: ours; another address or length, another processor: stale. */
	kd_api_req_read_virtual(&req, 0x1000, 16);
	c.req = req.u.m;
	c.req.pad = sd_generation(7);
	kd_api_reply_read(&rep, &c.req, data, 16);
	assert_int_equal(match(&c, &rep), SD_MATCH_OURS);
	other = c.req;
	other.u.read_memory.target_base_address = 0x2000;
	kd_api_reply_read(&rep, &other, data, 16);
	assert_int_equal(match(&c, &rep), SD_MATCH_STALE);
	other = c.req;
	other.u.read_memory.transfer_count = 8;
	kd_api_reply_read(&rep, &other, data, 8);
	assert_int_equal(match(&c, &rep), SD_MATCH_STALE);
	other = c.req;
	other.processor = 1;
	kd_api_reply_read(&rep, &other, data, 16);
	assert_int_equal(match(&c, &rep), SD_MATCH_STALE);

	/* An earlier generation: stale, even when everything else matches (a duplicate). */
	other = c.req;
	other.pad = sd_generation(6);
	kd_api_reply_read(&rep, &other, data, 16);
	assert_int_equal(match(&c, &rep), SD_MATCH_STALE);
	/* ...and even when it is too short to parse: it is not ours to judge. */
	rep.data_len = 4;
	assert_int_equal(match(&c, &rep), SD_MATCH_STALE);
	/* Ours but inconsistent: malformed. */
	kd_api_reply_read(&rep, &c.req, data, 16);
	rep.data_len = 4;
	assert_int_equal(match(&c, &rep), SD_MATCH_MALFORMED);
	/* A target that zeroes the pad, or leaves bytes of its own there: matched by the
	 * echoed fields alone. */
	other = c.req;
	other.pad = 0;
	kd_api_reply_read(&rep, &other, data, 16);
	assert_int_equal(match(&c, &rep), SD_MATCH_OURS);
	other.pad = 0x00000103u;
	kd_api_reply_read(&rep, &other, data, 16);
	assert_int_equal(match(&c, &rep), SD_MATCH_OURS);

	/* Another API. */
	kd_api_req_get_version(&rep);
	kd_api_reply_init(&rep, &rep.u.m, KD_STATUS_SUCCESS);
	assert_int_equal(match(&c, &rep), SD_MATCH_STALE);
	/* Fewer bytes than an ApiNumber. */
	rep.hdr_len = 2;
	assert_int_equal(match(&c, &rep), SD_MATCH_STALE);

	/* MSRs by number. */
	kd_api_req_read_msr(&req, 0xC0000080u);
	c.req = req.u.m;
	c.req.pad = sd_generation(8);
	kd_api_reply_msr(&rep, &c.req, 0xd01, KD_STATUS_SUCCESS);
	assert_int_equal(match(&c, &rep), SD_MATCH_OURS);
	other = c.req;
	other.u.read_write_msr.msr = 0x10;
	kd_api_reply_msr(&rep, &other, 0xd01, KD_STATUS_SUCCESS);
	assert_int_equal(match(&c, &rep), SD_MATCH_STALE);

	/* Breakpoints by address (write) and handle (restore). */
	kd_api_req_write_breakpoint(&req, 0xfffff80000101005ull);
	c.req = req.u.m;
	c.req.pad = sd_generation(9);
	kd_api_reply_breakpoint(&rep, &c.req, 3);
	assert_int_equal(match(&c, &rep), SD_MATCH_OURS);
	other = c.req;
	other.u.write_breakpoint.breakpoint_address++;
	kd_api_reply_breakpoint(&rep, &other, 3);
	assert_int_equal(match(&c, &rep), SD_MATCH_STALE);
	kd_api_req_restore_breakpoint(&req, 3);
	c.req = req.u.m;
	c.req.pad = sd_generation(10);
	kd_api_reply_init(&rep, &c.req, KD_STATUS_SUCCESS);
	assert_int_equal(match(&c, &rep), SD_MATCH_OURS);
	other = c.req;
	other.u.restore_breakpoint.breakpoint_handle = 4;
	kd_api_reply_init(&rep, &other, KD_STATUS_SUCCESS);
	assert_int_equal(match(&c, &rep), SD_MATCH_STALE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exception_decoded),
		cmocka_unit_test(load_symbols_decoded),
		cmocka_unit_test(prints_prompts_and_notices),
		cmocka_unit_test(file_io_and_others),
		cmocka_unit_test(generations),
		cmocka_unit_test(replies_matched_by_echo_and_generation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
