/* SPDX-License-Identifier: MIT */
/* KdSendPacket / KdReceivePacket semantics (STRING, KD_CONTEXT, KDSTATUS) over the channel,
 * and the boot options read from the loader block. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_relay.h"
#include "fake_vser.h"
#include "kdvm_options.h"
#include "kdvm_transport.h"

#define PAGES 40u

static struct fake_vser *f;
static struct fake_relay *r;
static struct kdvm_channel *ch;
static uint8_t *mem;
static volatile uint8_t not_present;

static int setup(void **state)
{
	(void)state;
	mem = aligned_alloc(4096, PAGES * 4096u);
	f = calloc(1, sizeof(*f));
	ch = calloc(1, sizeof(*ch));
	fake_vser_init(f, mem, PAGES, VMKD_PORT_NAME);
	r = fake_relay_new(f, 1, 1);
	f->dev[0].ports[0].host_connected = 1;
	assert_int_equal(kdvm_channel_init(ch, &f->plat, mem, PAGES * 4096u, NULL, &not_present), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_relay_free(r);
	fake_vser_free(f);
	free(f);
	free(ch);
	free(mem);
	return 0;
}

static struct kd_string64 str(void *buf, uint16_t len, uint16_t max)
{
	struct kd_string64 s = { .length = len, .maximum_length = max,
				 .buffer = (uint64_t)(uintptr_t)buf };

	return s;
}

static void send_joins_header_and_data(void **state)
{
	uint8_t h[0xF0], d[20];
	struct kd_string64 hs = str(h, sizeof(h), sizeof(h)), ds = str(d, sizeof(d), sizeof(d));
	struct kd_context_block ctx = { .retry_count = 20 };

	(void)state;
	memset(h, 0x11, sizeof(h));
	memset(d, 0x22, sizeof(d));
	kdvm_send_packet(ch, KD_PACKET_TYPE_STATE_CHANGE64, &hs, &ds, &ctx);
	assert_int_equal(r->last_kd_type, KD_PACKET_TYPE_STATE_CHANGE64);
	assert_int_equal(r->last_kd_len, sizeof(h) + sizeof(d));
	assert_int_equal(r->last_kd[sizeof(h)], 0x22);
	kdvm_send_packet(ch, KD_PACKET_TYPE_DEBUG_IO, &hs, NULL, &ctx);
	assert_int_equal(r->last_kd_len, sizeof(h));
	/* Pseudo and unknown types never go out. */
	kdvm_send_packet(ch, KD_PACKET_TYPE_POLL_BREAKIN, &hs, NULL, &ctx);
	kdvm_send_packet(ch, 99, &hs, NULL, &ctx);
	assert_int_equal(r->kd_packets, 2);
	kdvm_send_packet(NULL, 3, &hs, NULL, &ctx); /* not initialised: nothing happens */
}

static void receive_splits_by_maximum_length(void **state)
{
	uint8_t kd[0x38 + 300], h[0x38], d[0x1000];
	struct kd_string64 hs = str(h, 0, sizeof(h)), ds = str(d, 0, sizeof(d));
	struct kd_context_block ctx = { 0 };
	uint32_t dl = 0xFFFF;

	(void)state;
	for (size_t i = 0; i < sizeof(kd); i++)
		kd[i] = (uint8_t)i;
	fake_relay_send_kd(r, KD_PACKET_TYPE_STATE_MANIPULATE, kd, sizeof(kd));
	assert_int_equal(kdvm_receive_packet(ch, KD_PACKET_TYPE_STATE_MANIPULATE, &hs, &ds, &dl,
					     &ctx), KD_STATUS_PACKET_RECEIVED);
	assert_int_equal(hs.length, 0x38);
	assert_int_equal(ds.length, 300);
	assert_int_equal(dl, 300);
	assert_memory_equal(h, kd, 0x38);
	assert_memory_equal(d, kd + 0x38, 300);
}

static void receive_status_codes(void **state)
{
	uint8_t h[0x38], d[16];
	struct kd_string64 hs = str(h, 0, sizeof(h)), ds = str(d, 0, sizeof(d));
	struct kd_context_block ctx = { 0 };
	uint32_t dl;

	(void)state;
	assert_int_equal(kdvm_receive_packet(ch, 2, &hs, &ds, &dl, &ctx), KD_STATUS_TIMED_OUT);
	fake_relay_send(r, VMKD_FRAME_RESYNC, NULL, 0);
	assert_int_equal(kdvm_receive_packet(ch, 2, &hs, &ds, &dl, &ctx), KD_STATUS_NEEDS_RESEND);
	assert_int_equal(ctx.control_c_pending, 0);
	/* A break-in while the kernel waits: resend, and the break stays pending (kdcom). */
	fake_relay_send(r, VMKD_FRAME_BREAKIN, NULL, 0);
	assert_int_equal(kdvm_receive_packet(ch, 2, &hs, &ds, &dl, &ctx), KD_STATUS_NEEDS_RESEND);
	assert_int_equal(ctx.control_c_pending, 1);
	/* The debugger left: resend, which the send then drops. */
	fake_relay_send_debugger(r, 0);
	assert_int_equal(kdvm_receive_packet(ch, 2, &hs, &ds, &dl, &ctx), KD_STATUS_NEEDS_RESEND);
	kdvm_send_packet(ch, 7, &hs, NULL, &ctx);
	assert_int_equal(not_present, 1);
	/* No header buffer, unknown type, no channel: time out at once. */
	assert_int_equal(kdvm_receive_packet(ch, 2, NULL, NULL, NULL, &ctx), KD_STATUS_TIMED_OUT);
	assert_int_equal(kdvm_receive_packet(ch, 77, &hs, &ds, &dl, &ctx), KD_STATUS_TIMED_OUT);
	assert_int_equal(kdvm_receive_packet(NULL, 2, &hs, &ds, &dl, &ctx), KD_STATUS_TIMED_OUT);
}

static void poll_breakin(void **state)
{
	struct kd_context_block ctx = { 0 };
	uint64_t io;

	(void)state;
	io = ch->vser.io.total;
	assert_int_equal(kdvm_receive_packet(ch, KD_PACKET_TYPE_POLL_BREAKIN, NULL, NULL, NULL, NULL),
			 KD_STATUS_TIMED_OUT);
	fake_relay_send(r, VMKD_FRAME_BREAKIN, NULL, 0);
	assert_int_equal(kdvm_receive_packet(ch, KD_PACKET_TYPE_POLL_BREAKIN, NULL, NULL, NULL, NULL),
			 KD_STATUS_PACKET_RECEIVED);
	assert_int_equal(kdvm_receive_packet(ch, KD_PACKET_TYPE_POLL_BREAKIN, NULL, NULL, NULL, &ctx),
			 KD_STATUS_TIMED_OUT);
	ctx.control_c_pending = 1;
	assert_int_equal(kdvm_receive_packet(ch, KD_PACKET_TYPE_POLL_BREAKIN, NULL, NULL, NULL, &ctx),
			 KD_STATUS_PACKET_RECEIVED);
	assert_int_equal(kdvm_receive_packet(NULL, KD_PACKET_TYPE_POLL_BREAKIN, NULL, NULL, NULL,
					     &ctx), KD_STATUS_PACKET_RECEIVED);
	/* Polling never touched an I/O port. */
	assert_int_equal(ch->vser.io.total, io);
}

/* ---- options ------------------------------------------------------------------------- */

static void options_from_loader_block(void **state)
{
	static uint8_t block[KDVM_LPB_KNOWN_SIZE];
	uint32_t v;
	uint64_t p = 0xFFFFF80000123456ull;

	(void)state;
	assert_null(kdvm_loader_options(NULL));
	v = 10;
	memcpy(block + KDVM_LPB_MAJOR_OFF, &v, 4);
	v = KDVM_LPB_KNOWN_SIZE;
	memcpy(block + KDVM_LPB_SIZE_OFF, &v, 4);
	memcpy(block + KDVM_LPB_LOAD_OPTIONS_OFF, &p, 8);
	assert_ptr_equal(kdvm_loader_options(block), (const char *)(uintptr_t)p);
	v = 0x148; /* 10.0 before 1803: another layout */
	memcpy(block + KDVM_LPB_SIZE_OFF, &v, 4);
	assert_null(kdvm_loader_options(block));
	v = KDVM_LPB_KNOWN_SIZE;
	memcpy(block + KDVM_LPB_SIZE_OFF, &v, 4);
	p = 0x1000; /* not a kernel address */
	memcpy(block + KDVM_LPB_LOAD_OPTIONS_OFF, &p, 8);
	assert_null(kdvm_loader_options(block));
}

static void options_parse(void **state)
{
	struct kdvm_options o;

	(void)state;
	kdvm_options_parse(NULL, &o);
	assert_int_equal(o.have_debugport, 0);
	kdvm_options_parse(" NOEXECUTE=OPTIN  DEBUG  DEBUGPORT=VM BAUDRATE=115200", &o);
	assert_int_equal(o.have_debugport, 1);
	assert_string_equal(o.debugport, "VM");
	kdvm_options_parse("/debug /debugport=vmkd", &o);
	assert_string_equal(o.debugport, "VMKD");
	kdvm_options_parse("DEBUGPORTX=1 DEBUGPORT=averyveryverylongportname", &o);
	assert_string_equal(o.debugport, "AVERYVERYVERYLO");
	kdvm_options_parse("DEBUG", &o);
	assert_int_equal(o.have_debugport, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(send_joins_header_and_data, setup, teardown),
		cmocka_unit_test_setup_teardown(receive_splits_by_maximum_length, setup, teardown),
		cmocka_unit_test_setup_teardown(receive_status_codes, setup, teardown),
		cmocka_unit_test_setup_teardown(poll_breakin, setup, teardown),
		cmocka_unit_test(options_from_loader_block),
		cmocka_unit_test(options_parse),
	};

	return cmocka_run_group_tests_name("guest_transport", tests, NULL, NULL);
}
