/* SPDX-License-Identifier: MIT */
/* The KD target core against a fake machine and a scripted transport. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_platform.h"
#include "kd_target.h"
#include "vmkd/kd_api.h"

#define MEM_VA     0xfffff80000200000ull
#define MEM_PA     0x200000ull
#define MEM_SIZE   0x3000u /* the third page is "unmapped" */
#define MEM_MAPPED 0x2000u

/* ---- scripted transport ------------------------------------------------------------- */

#define MAX_SCRIPT 16
#define MAX_SENT 16
#define NEEDS_RESEND_MARK 0xffffu

struct sent_packet {
	uint32_t type;
	size_t len;
	uint8_t payload[KD_MAX_PAYLOAD];
};

struct fake_transport {
	uint8_t requests[MAX_SCRIPT][KD_MAX_PAYLOAD];
	size_t request_len[MAX_SCRIPT];
	int nrequests, next;
	struct sent_packet sent[MAX_SENT];
	int nsent;
	int breakin;
	int ran_dry;
	uint8_t not_present;
};

static void ft_send(void *tp, uint32_t type, struct kd_string64 *hdr, struct kd_string64 *data,
		    struct kd_context_block *ctx)
{
	struct fake_transport *t = tp;
	struct sent_packet *s = &t->sent[t->nsent++];

	(void)ctx;
	assert_true(t->nsent <= MAX_SENT);
	s->type = type;
	memcpy(s->payload, (void *)(uintptr_t)hdr->buffer, hdr->length);
	s->len = hdr->length;
	if (data) {
		memcpy(s->payload + s->len, (void *)(uintptr_t)data->buffer, data->length);
		s->len += data->length;
	}
}

static uint32_t ft_receive(void *tp, uint32_t type, struct kd_string64 *hdr,
			   struct kd_string64 *data, uint32_t *data_len,
			   struct kd_context_block *ctx)
{
	struct fake_transport *t = tp;
	size_t len, hlen;

	(void)ctx;
	if (type == KD_PACKET_TYPE_POLL_BREAKIN)
		return t->breakin ? KD_STATUS_PACKET_RECEIVED : KD_STATUS_TIMED_OUT;
	assert_int_equal(type, KD_PACKET_TYPE_STATE_MANIPULATE);
	if (t->next == t->nrequests) {
		/* The script is over but the core still waits: a halted kernel waits for ever,
		 * so end the test here instead of hanging. */
		t->ran_dry = 1;
		fail_msg("the core waited for a request after the script ended");
	}
	len = t->request_len[t->next];
	if (len == NEEDS_RESEND_MARK) {
		t->next++;
		return KD_STATUS_NEEDS_RESEND;
	}
	hlen = len < hdr->maximum_length ? len : hdr->maximum_length;
	memcpy((void *)(uintptr_t)hdr->buffer, t->requests[t->next], hlen);
	hdr->length = (uint16_t)hlen;
	memcpy((void *)(uintptr_t)data->buffer, t->requests[t->next] + hlen, len - hlen);
	data->length = (uint16_t)(len - hlen);
	*data_len = data->length;
	t->next++;
	return KD_STATUS_PACKET_RECEIVED;
}

static const struct kd_transport_ops fake_transport_ops = {
	.send_packet = ft_send,
	.receive_packet = ft_receive,
};

static void script(struct fake_transport *t, const struct kd_api_msg *msg)
{
	memcpy(t->requests[t->nrequests], &msg->u, msg->hdr_len);
	if (msg->data_len)
		memcpy(t->requests[t->nrequests] + msg->hdr_len, msg->data, msg->data_len);
	t->request_len[t->nrequests++] = msg->hdr_len + msg->data_len;
}

static void script_resend(struct fake_transport *t)
{
	t->request_len[t->nrequests++] = NEEDS_RESEND_MARK;
}

struct fixture {
	uint8_t mem[MEM_SIZE];
	struct fake_platform machine;
	struct fake_transport transport;
	struct kd_target target;
	struct kd_context_amd64 ctx;
};

static int setup(void **state)
{
	static struct fixture f;
	struct kd_target_info info;

	memset(&f, 0, sizeof(f));
	fake_platform_init(&f.machine, f.mem, MEM_SIZE, MEM_MAPPED, MEM_VA, MEM_PA);
	for (unsigned i = 0; i < MEM_SIZE; i++)
		f.mem[i] = (uint8_t)(i * 7 + 3);
	f.machine.sr.cr3 = 0x1000;
	f.machine.sr.kernel_dr7 = 0x400;
	memset(&info, 0, sizeof(info));
	info.version.major_version = KD_MAJOR_VERSION_FREE;
	info.version.minor_version = 18362;
	info.version.machine_type = KD_MACHINE_AMD64;
	info.version.kern_base = 0xfffff80000100000ull;
	info.processor_level = 6;
	info.number_processors = 1;
	info.kpcr = 0xfffff80000300000ull;
	info.kthread = 0xfffff80000301000ull;
	f.ctx.rip = MEM_VA + 0x10;
	f.ctx.rsp = MEM_VA + 0x1000;
	f.ctx.seg_cs = KD_KGDT64_R0_CODE;
	f.ctx.eflags = 0x2 | KD_EFLAGS_TF;
	f.ctx.context_flags = KD_CONTEXT_ALL;
	kd_target_init(&f.target, &fake_platform_ops, &f.machine, &fake_transport_ops, &f.transport,
		       &f.transport.not_present, &info);
	*state = &f;
	return 0;
}

static enum kd_resume stop(struct fixture *f)
{
	return kd_target_report_exception(&f->target, &f->ctx, KD_STATUS_BREAKPOINT, f->ctx.rip, 1);
}

static void add_continue(struct fixture *f, int trace)
{
	struct kd_api_msg m;

	kd_api_req_continue2(&m, KD_DBG_CONTINUE, trace, 0);
	script(&f->transport, &m);
}

/* The n-th manipulate reply sent, checked against its request's api. */
static const struct sent_packet *reply(struct fixture *f, int n, uint32_t api,
				       struct kd_manipulate_state64 *m, const uint8_t **data,
				       size_t *data_len)
{
	const struct sent_packet *s = &f->transport.sent[n];

	assert_true(n < f->transport.nsent);
	assert_int_equal(s->type, KD_PACKET_TYPE_STATE_MANIPULATE);
	assert_int_equal(kd_api_parse_reply(s->payload, s->len, api, m, data, data_len), KD_API_OK);
	return s;
}

static void exception_state_change_and_version(void **state)
{
	struct fixture *f = *state;
	struct kd_wait_state_change64 sc;
	struct kd_manipulate_state64 m;
	struct kd_get_version64 ver;
	struct kd_api_msg req;
	const uint8_t *data;
	size_t data_len;

	kd_api_req_get_version(&req);
	script(&f->transport, &req);
	add_continue(f, 0);
	assert_int_equal(stop(f), KD_RESUME_HANDLED);
	assert_false(f->transport.ran_dry);
	assert_int_equal(f->transport.nsent, 2);

	assert_int_equal(f->transport.sent[0].type, KD_PACKET_TYPE_STATE_CHANGE64);
	assert_int_equal(kd_api_parse_state_change(f->transport.sent[0].payload,
						   f->transport.sent[0].len, &sc, &data, &data_len),
			 KD_API_OK);
	assert_int_equal(sc.new_state, KD_STATE_EXCEPTION);
	assert_int_equal(sc.u.exception.record.exception_code, KD_STATUS_BREAKPOINT);
	assert_int_equal(sc.program_counter, MEM_VA + 0x10);
	assert_int_equal(sc.thread, 0xfffff80000301000ull);
	assert_int_equal(sc.control_report.dr7, 0x400);
	assert_int_equal(sc.control_report.instruction_count, 16);
	assert_memory_equal(sc.control_report.instruction_stream, f->machine.mem + 0x10, 16);
	/* Entering the debugger drops TF; Continue2 without trace leaves it off. */
	assert_int_equal(f->ctx.eflags & KD_EFLAGS_TF, 0);

	reply(f, 1, KD_API_GET_VERSION, &m, &data, &data_len);
	assert_int_equal(kd_api_parse_version(f->transport.sent[1].payload, f->transport.sent[1].len,
					      &ver), KD_API_OK);
	assert_int_equal(ver.minor_version, 18362);
	assert_int_equal(ver.kern_base, 0xfffff80000100000ull);
}

static void read_write_memory_and_partial_read(void **state)
{
	struct fixture *f = *state;
	struct kd_manipulate_state64 m;
	struct kd_api_msg req;
	const uint8_t *data;
	size_t data_len;
	static const uint8_t patch[4] = { 0xde, 0xad, 0xbe, 0xef };

	kd_api_req_read_virtual(&req, MEM_VA + 0x100, 64);
	script(&f->transport, &req);
	kd_api_req_read_virtual(&req, MEM_VA + MEM_MAPPED - 10, 100); /* runs off the map */
	script(&f->transport, &req);
	assert_int_equal(kd_api_req_write_virtual(&req, MEM_VA + 0x200, patch, 4), KD_API_OK);
	script(&f->transport, &req);
	kd_api_req_read_physical(&req, MEM_PA + 0x200, 4, 0);
	script(&f->transport, &req);
	add_continue(f, 0);
	assert_int_equal(stop(f), KD_RESUME_HANDLED);

	reply(f, 1, KD_API_READ_VIRTUAL_MEMORY, &m, &data, &data_len);
	assert_int_equal(m.return_status, KD_STATUS_SUCCESS);
	assert_int_equal(data_len, 64);
	assert_memory_equal(data, f->machine.mem + 0x100, 64);

	reply(f, 2, KD_API_READ_VIRTUAL_MEMORY, &m, &data, &data_len);
	assert_int_equal(m.return_status, KD_STATUS_UNSUCCESSFUL);
	assert_int_equal(m.u.read_memory.actual_bytes_read, 10);
	assert_int_equal(data_len, 10);

	reply(f, 3, KD_API_WRITE_VIRTUAL_MEMORY, &m, &data, &data_len);
	assert_int_equal(m.return_status, KD_STATUS_SUCCESS);
	assert_int_equal(m.u.write_memory.actual_bytes_written, 4);

	reply(f, 4, KD_API_READ_PHYSICAL_MEMORY, &m, &data, &data_len);
	assert_memory_equal(data, patch, 4);
}

static void breakpoints_patch_and_hide(void **state)
{
	struct fixture *f = *state;
	struct kd_wait_state_change64 sc;
	struct kd_manipulate_state64 m;
	struct kd_api_msg req;
	const uint8_t *data;
	size_t data_len;
	uint8_t orig = f->machine.mem[0x14];

	kd_api_req_write_breakpoint(&req, MEM_VA + 0x14);
	script(&f->transport, &req);
	kd_api_req_write_breakpoint(&req, MEM_VA + MEM_MAPPED + 1); /* unmapped: refused */
	script(&f->transport, &req);
	add_continue(f, 0);
	assert_int_equal(stop(f), KD_RESUME_HANDLED);
	reply(f, 1, KD_API_WRITE_BREAKPOINT, &m, &data, &data_len);
	assert_int_equal(m.return_status, KD_STATUS_SUCCESS);
	assert_int_equal(m.u.write_breakpoint.breakpoint_handle, 1);
	assert_int_equal(f->machine.mem[0x14], 0xCC);
	assert_true(kd_target_is_breakpoint(&f->target, MEM_VA + 0x14));
	reply(f, 2, KD_API_WRITE_BREAKPOINT, &m, &data, &data_len);
	assert_int_equal(m.return_status, KD_STATUS_UNSUCCESSFUL);

	/* Next stop: the instruction stream shows the real byte, then the bp goes away. */
	memset(&f->transport, 0, offsetof(struct fake_transport, not_present));
	kd_api_req_restore_breakpoint(&req, 1);
	script(&f->transport, &req);
	kd_api_req_restore_breakpoint(&req, 9);
	script(&f->transport, &req);
	add_continue(f, 0);
	assert_int_equal(stop(f), KD_RESUME_HANDLED);
	assert_int_equal(kd_api_parse_state_change(f->transport.sent[0].payload,
						   f->transport.sent[0].len, &sc, &data, &data_len),
			 KD_API_OK);
	assert_int_equal(sc.control_report.instruction_stream[4], orig);
	reply(f, 1, KD_API_RESTORE_BREAKPOINT, &m, &data, &data_len);
	assert_int_equal(m.return_status, KD_STATUS_SUCCESS);
	assert_int_equal(f->machine.mem[0x14], orig);
	reply(f, 2, KD_API_RESTORE_BREAKPOINT, &m, &data, &data_len);
	assert_int_equal(m.return_status, KD_STATUS_UNSUCCESSFUL);
}

static void context_get_set_and_step(void **state)
{
	struct fixture *f = *state;
	struct kd_manipulate_state64 m;
	struct kd_context_amd64 ctx;
	struct kd_api_msg req;
	const uint8_t *data;
	size_t data_len;

	memset(&ctx, 0, sizeof(ctx));
	ctx.rip = 0x1234;
	kd_api_req_set_context(&req, 0, &ctx); /* before any GetContext: refused */
	script(&f->transport, &req);
	kd_api_req_get_context(&req, 0);
	script(&f->transport, &req);
	ctx = f->ctx;
	ctx.rip += 1;
	ctx.rax = 0x5555;
	kd_api_req_set_context(&req, 0, &ctx);
	script(&f->transport, &req);
	kd_api_req_get_context(&req, 3); /* no such processor */
	script(&f->transport, &req);
	add_continue(f, 1);
	assert_int_equal(stop(f), KD_RESUME_HANDLED);

	reply(f, 1, KD_API_SET_CONTEXT, &m, &data, &data_len);
	assert_int_equal(m.return_status, KD_STATUS_UNSUCCESSFUL);
	reply(f, 2, KD_API_GET_CONTEXT, &m, &data, &data_len);
	assert_int_equal(data_len, sizeof(struct kd_context_amd64));
	memcpy(&ctx, data, sizeof(ctx));
	assert_int_equal(ctx.rip, MEM_VA + 0x10);
	reply(f, 3, KD_API_SET_CONTEXT, &m, &data, &data_len);
	assert_int_equal(m.return_status, KD_STATUS_SUCCESS);
	reply(f, 4, KD_API_GET_CONTEXT, &m, &data, &data_len);
	assert_int_equal(m.return_status, KD_STATUS_UNSUCCESSFUL);
	assert_int_equal(f->ctx.rip, MEM_VA + 0x11);
	assert_int_equal(f->ctx.rax, 0x5555);
	assert_int_equal(f->ctx.eflags & KD_EFLAGS_TF, KD_EFLAGS_TF);
}

static void control_space_msr_and_query(void **state)
{
	struct fixture *f = *state;
	struct kd_special_registers_amd64 sr;
	struct kd_manipulate_state64 m;
	struct kd_api_msg req;
	const uint8_t *data;
	size_t data_len;
	uint64_t ptr;

	kd_api_req_read_control(&req, 0, KD_CONTROL_SPACE_KSPECIAL, sizeof(sr));
	script(&f->transport, &req);
	kd_api_req_read_control(&req, 0, KD_CONTROL_SPACE_KPCR, 8);
	script(&f->transport, &req);
	kd_api_req_read_control(&req, 0, 7, 8);
	script(&f->transport, &req);
	kd_api_req_read_msr(&req, 0xC0000080u);
	script(&f->transport, &req);
	kd_api_req_read_msr(&req, 0x1234);
	script(&f->transport, &req);
	kd_api_req_query_memory(&req, MEM_VA + 8);
	script(&f->transport, &req);
	add_continue(f, 0);
	assert_int_equal(stop(f), KD_RESUME_HANDLED);

	reply(f, 1, KD_API_READ_CONTROL_SPACE, &m, &data, &data_len);
	assert_int_equal(data_len, sizeof(sr));
	memcpy(&sr, data, sizeof(sr));
	assert_int_equal(sr.cr3, 0x1000);
	reply(f, 2, KD_API_READ_CONTROL_SPACE, &m, &data, &data_len);
	memcpy(&ptr, data, 8);
	assert_int_equal(ptr, 0xfffff80000300000ull);
	reply(f, 3, KD_API_READ_CONTROL_SPACE, &m, &data, &data_len);
	assert_int_equal(m.return_status, KD_STATUS_UNSUCCESSFUL);
	reply(f, 4, KD_API_READ_MSR, &m, &data, &data_len);
	assert_int_equal(m.return_status, KD_STATUS_SUCCESS);
	assert_int_equal(m.u.read_write_msr.data_value_low, 0xd01);
	reply(f, 5, KD_API_READ_MSR, &m, &data, &data_len);
	assert_int_equal(m.return_status, KD_STATUS_NO_SUCH_DEVICE);
	reply(f, 6, KD_API_QUERY_MEMORY, &m, &data, &data_len);
	assert_int_equal(m.u.query_memory.address_space, KD_QUERY_SPACE_KERNEL);
	assert_int_equal(m.u.query_memory.flags, KD_QUERY_FLAG_READ | KD_QUERY_FLAG_WRITE);
}

static void unknown_silent_and_malformed_requests(void **state)
{
	struct fixture *f = *state;
	struct kd_manipulate_state64 m;
	struct kd_api_msg req;
	const uint8_t *data;
	size_t data_len;
	static const uint8_t two[2] = { 1, 2 };

	kd_api_req_init(&req, 0x3161); /* past the table */
	script(&f->transport, &req);
	kd_api_req_init(&req, KD_API_CLEAR_ALL_INTERNAL_BREAKPOINTS); /* no reply */
	script(&f->transport, &req);
	/* A write whose count disagrees with its data: answered, not applied. */
	assert_int_equal(kd_api_req_write_virtual(&req, MEM_VA, two, 2), KD_API_OK);
	req.u.m.u.write_memory.transfer_count = 100;
	script(&f->transport, &req);
	kd_api_req_init(&req, KD_API_GET_VERSION);
	req.hdr_len = 0x20; /* short header: dropped, counted */
	script(&f->transport, &req);
	add_continue(f, 0);
	assert_int_equal(stop(f), KD_RESUME_HANDLED);

	assert_int_equal(f->transport.nsent, 3);
	assert_int_equal(kd_api_parse_manipulate(f->transport.sent[1].payload,
						 f->transport.sent[1].len, &m, &data, &data_len),
			 KD_API_OK);
	assert_int_equal(m.api_number, 0x3161);
	assert_int_equal(m.return_status, KD_STATUS_UNSUCCESSFUL);
	reply(f, 2, KD_API_WRITE_VIRTUAL_MEMORY, &m, &data, &data_len);
	assert_int_equal(m.return_status, KD_STATUS_UNSUCCESSFUL);
	assert_int_not_equal(f->machine.mem[0], 1);
	assert_int_equal(f->target.stats.unknown_requests, 1);
	assert_int_equal(f->target.stats.bad_requests, 2);
}

static void needs_resend_repeats_state_change(void **state)
{
	struct fixture *f = *state;

	script_resend(&f->transport);
	add_continue(f, 0);
	assert_int_equal(stop(f), KD_RESUME_HANDLED);
	assert_int_equal(f->transport.nsent, 2);
	assert_int_equal(f->transport.sent[1].type, KD_PACKET_TYPE_STATE_CHANGE64);
	assert_memory_equal(f->transport.sent[0].payload, f->transport.sent[1].payload,
			    f->transport.sent[0].len);
	assert_int_equal(f->target.stats.resends, 1);
}

static void no_debugger_no_stop_and_print_dropped(void **state)
{
	struct fixture *f = *state;

	f->transport.not_present = 1;
	assert_int_equal(stop(f), KD_RESUME_NOT_HANDLED);
	kd_target_print(&f->target, "x", 1);
	assert_int_equal(f->transport.nsent, 0);
	f->transport.not_present = 0;
	kd_target_print(&f->target, "hello\n", 6);
	assert_int_equal(f->transport.nsent, 1);
	assert_int_equal(f->transport.sent[0].type, KD_PACKET_TYPE_DEBUG_IO);
	assert_memory_equal(f->transport.sent[0].payload + sizeof(struct kd_debug_io), "hello\n", 6);
	assert_int_equal(kd_target_poll_breakin(&f->target), 0);
	f->transport.breakin = 1;
	assert_int_equal(kd_target_poll_breakin(&f->target), 1);
	/* A debugger that attaches after the kernel gave up on one still gets through. */
	f->transport.not_present = 1;
	assert_int_equal(kd_target_poll_breakin(&f->target), 1);
}

static void load_symbols_carries_path(void **state)
{
	struct fixture *f = *state;
	struct kd_wait_state_change64 sc;
	const uint8_t *data;
	const char *path;
	size_t data_len, path_len;
	static const char name[] = "\\SystemRoot\\system32\\ntoskrnl.exe";

	add_continue(f, 0);
	assert_int_equal(kd_target_load_symbols(&f->target, &f->ctx, name, 0xfffff80000100000ull,
						0x40000, 0x1234), KD_RESUME_HANDLED);
	assert_int_equal(kd_api_parse_state_change(f->transport.sent[0].payload,
						   f->transport.sent[0].len, &sc, &data, &data_len),
			 KD_API_OK);
	assert_int_equal(sc.new_state, KD_STATE_LOAD_SYMBOLS);
	assert_int_equal(sc.u.load_symbols.base_of_dll, 0xfffff80000100000ull);
	assert_int_equal(sc.u.load_symbols.size_of_image, 0x40000);
	assert_int_equal(kd_api_state_path(&sc, data, data_len, &path, &path_len), KD_API_OK);
	assert_int_equal(path_len, strlen(name));
	assert_memory_equal(path, name, path_len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(exception_state_change_and_version, setup),
		cmocka_unit_test_setup(read_write_memory_and_partial_read, setup),
		cmocka_unit_test_setup(breakpoints_patch_and_hide, setup),
		cmocka_unit_test_setup(context_get_set_and_step, setup),
		cmocka_unit_test_setup(control_space_msr_and_query, setup),
		cmocka_unit_test_setup(unknown_silent_and_malformed_requests, setup),
		cmocka_unit_test_setup(needs_resend_repeats_state_change, setup),
		cmocka_unit_test_setup(no_debugger_no_stop_and_print_dropped, setup),
		cmocka_unit_test_setup(load_symbols_carries_path, setup),
	};

	return cmocka_run_group_tests_name("kd_target_core", tests, NULL, NULL);
}
