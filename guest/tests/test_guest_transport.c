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

/* A block laid out as layout l, LoadOptions = p, the rest 0xA5 (no field is taken from
 * anywhere but the layout's offsets). */
static void fill_block(uint8_t *block, size_t cap, const struct kdvm_lpb_layout *l, uint64_t p)
{
	uint32_t v;

	memset(block, 0xA5, cap);
	v = l->major;
	memcpy(block + KDVM_LPB_MAJOR_OFF, &v, 4);
	v = l->minor;
	memcpy(block + KDVM_LPB_MINOR_OFF, &v, 4);
	v = l->size;
	memcpy(block + KDVM_LPB_SIZE_OFF, &v, 4);
	memcpy(block + l->load_options, &p, 8);
}

static void options_from_each_known_layout(void **state)
{
	static uint8_t block[0x200];
	const struct kdvm_lpb_layout *got;
	uint64_t p = 0xFFFFF80000123456ull;

	(void)state;
	assert_null(kdvm_loader_options(NULL, &got));
	assert_null(got);
	assert_int_equal(kdvm_lpb_layout_count, 5);
	for (size_t i = 0; i < kdvm_lpb_layout_count; i++) {
		const struct kdvm_lpb_layout *l = &kdvm_lpb_layouts[i];

		assert_true(l->load_options + 8 <= l->size);
		fill_block(block, sizeof(block), l, p + i);
		assert_ptr_equal(kdvm_loader_options(block, &got), (const char *)(uintptr_t)(p + i));
		assert_ptr_equal(got, l);
	}
	/* The offsets of docs/windows.md section 3 (Chappell's table). */
	assert_int_equal(kdvm_lpb_layouts[0].load_options, 0x98);
	assert_int_equal(kdvm_lpb_layouts[4].load_options, 0xD8);
}

static void options_from_unknown_layouts(void **state)
{
	static uint8_t block[0x200];
	const struct kdvm_lpb_layout *got;
	const struct kdvm_lpb_layout *w10 = &kdvm_lpb_layouts[4];
	struct kdvm_lpb_layout l;
	uint64_t p = 0xFFFFF80000123456ull;

	(void)state;
	/* A size no release had, with a known version: not guessed. */
	l = *w10;
	l.size = 0x168;
	fill_block(block, sizeof(block), &l, p);
	assert_null(kdvm_loader_options(block, &got));
	assert_null(got);
	/* A known size with another version (6.3's size under 6.2). */
	l = kdvm_lpb_layouts[2];
	l.minor = 2;
	fill_block(block, sizeof(block), &l, p);
	assert_null(kdvm_loader_options(block, NULL));
	/* A pre-6.1 block begins with a LIST_ENTRY: a kernel pointer, no version. */
	memset(block, 0, sizeof(block));
	memcpy(block, &p, 8);
	memcpy(block + 8, &p, 8);
	assert_null(kdvm_loader_options(block, NULL));
	/* Known layout, but LoadOptions is not a kernel address. */
	fill_block(block, sizeof(block), w10, 0x1000);
	assert_null(kdvm_loader_options(block, NULL));
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
	assert_int_equal(o.have_port, 0);
	/* vmkd's own word: the port number (the loader upper-cases everything). */
	kdvm_options_parse("DEBUG DEBUGPORT=VM VMKDPORT=7", &o);
	assert_int_equal(o.have_port, 1);
	assert_string_equal(o.port_name, "org.vmkd.7");
	kdvm_options_parse("/vmkdport=42,NOEXECUTE=OPTIN", &o);
	assert_string_equal(o.port_name, "org.vmkd.42");
	kdvm_options_parse("VMKDPORT=123", &o);
	assert_int_equal(o.have_port, 0);
	kdvm_options_parse("VMKDPORT=X1", &o);
	assert_int_equal(o.have_port, 0);
	kdvm_options_parse("VMKDPORT=", &o);
	assert_int_equal(o.have_port, 0);
}

/* The parser stops after KDVM_OPTIONS_MAX bytes even without a terminator in sight. */
static void options_parse_is_bounded(void **state)
{
	static char opts[KDVM_OPTIONS_MAX + 64];
	struct kdvm_options o;

	(void)state;
	memset(opts, 'A', sizeof(opts));
	memcpy(opts + KDVM_OPTIONS_MAX + 8, " DEBUGPORT=VM", 13);
	opts[sizeof(opts) - 1] = 0;
	kdvm_options_parse(opts, &o);
	assert_int_equal(o.have_debugport, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(send_joins_header_and_data, setup, teardown),
		cmocka_unit_test_setup_teardown(receive_splits_by_maximum_length, setup, teardown),
		cmocka_unit_test_setup_teardown(receive_status_codes, setup, teardown),
		cmocka_unit_test_setup_teardown(poll_breakin, setup, teardown),
		cmocka_unit_test(options_from_each_known_layout),
		cmocka_unit_test(options_from_unknown_layouts),
		cmocka_unit_test(options_parse_is_bounded),
		cmocka_unit_test(options_parse),
	};

	return cmocka_run_group_tests_name("guest_transport", tests, NULL, NULL);
}
