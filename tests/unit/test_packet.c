/* SPDX-License-Identifier: MIT */
/* Packet codec: checksum, data and control packet layout, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmkd/kd_packet.h"

static void checksum_is_byte_sum(void **state)
{
	(void)state;
	const uint8_t bytes[] = { 0x01, 0xff, 0x80, 0x7f };

	assert_int_equal(kd_checksum(bytes, sizeof(bytes)), 0x1ff);
	assert_int_equal(kd_checksum(NULL, 0), 0);
	assert_int_equal(kd_checksum_update(kd_checksum(bytes, 2), bytes + 2, 2), 0x1ff);
}

/* The ACK of packet 0x80800000 from kd-protocol.md 1.2, byte for byte. */
/* The quadword-at-a-time sum equals a byte loop: every length and misalignment around the
 * 8-byte and 128-quadword steps, and all-0xff bytes (the largest lane values). */
static void checksum_matches_byte_loop(void **state)
{
	static uint8_t buf[KD_MAX_PAYLOAD + 16];
	uint32_t x = 12345;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	for (int fill = 0; fill < 2; fill++) {
		if (fill)
			memset(buf, 0xff, sizeof(buf));
		for (size_t off = 0; off < 8; off++) {
			for (size_t len = 0; len + off <= sizeof(buf); len += len < 2100 ? 1 : 97) {
				uint32_t want = 7;

				for (size_t i = 0; i < len; i++)
					want += buf[off + i];
				assert_int_equal(kd_checksum_update(7, buf + off, len), want);
			}
		}
	}
}

static void control_packet_bytes(void **state)
{
	(void)state;
	const uint8_t want[] = { 0x69, 0x69, 0x69, 0x69, 0x04, 0x00, 0x00, 0x00,
				 0x00, 0x00, 0x80, 0x80, 0x00, 0x00, 0x00, 0x00 };
	uint8_t out[KD_HEADER_SIZE];

	assert_int_equal(kd_control_build(out, KD_PACKET_TYPE_ACKNOWLEDGE, KD_INITIAL_PACKET_ID), 16);
	assert_memory_equal(out, want, sizeof(want));
}

/* The GetVersion request from the late-breakin capture, rebuilt from its parts. */
static void data_packet_matches_capture(void **state)
{
	(void)state;
	struct kd_manipulate_state64 req;
	uint8_t out[KD_MAX_PACKET_BYTES];
	struct kd_packet_header hdr;
	size_t n;

	memset(&req, 0, sizeof(req));
	req.api_number = KD_API_GET_VERSION;
	n = kd_packet_build(out, sizeof(out), KD_PACKET_TYPE_STATE_MANIPULATE, 0x80800000u,
			    &req, sizeof(req), NULL, 0);
	assert_int_equal(n, 16 + 0x38 + 1);
	kd_header_decode(&hdr, out);
	assert_int_equal(hdr.leader, KD_PACKET_LEADER);
	assert_int_equal(hdr.type, KD_PACKET_TYPE_STATE_MANIPULATE);
	assert_int_equal(hdr.byte_count, 0x38);
	assert_int_equal(hdr.id, 0x80800000u);
	assert_int_equal(hdr.checksum, 0x77); /* 0x46 + 0x31, as captured */
	assert_int_equal(out[n - 1], KD_PACKET_TRAILER);
}

static void build_refuses_oversize_and_short_buffers(void **state)
{
	(void)state;
	static uint8_t big[KD_MAX_PAYLOAD + 1];
	static uint8_t out[KD_MAX_PACKET_BYTES + 8];

	assert_int_equal(kd_packet_build(out, sizeof(out), 2, 0, big, KD_MAX_PAYLOAD, NULL, 0),
			 KD_MAX_PACKET_BYTES);
	assert_int_equal(kd_packet_build(out, sizeof(out), 2, 0, big, KD_MAX_PAYLOAD + 1, NULL, 0), 0);
	assert_int_equal(kd_packet_build(out, sizeof(out), 2, 0, big, 3000, big, 1001), 0);
	assert_int_equal(kd_packet_build(out, 16 + 10, 2, 0, big, 10, NULL, 0), 0);
	assert_int_equal(kd_packet_build(out, 16 + 11, 2, 0, big, 10, NULL, 0), 27);
}

static void type_names(void **state)
{
	(void)state;
	assert_string_equal(kd_packet_type_name(KD_PACKET_TYPE_STATE_MANIPULATE), "MANIPULATE");
	assert_string_equal(kd_packet_type_name(KD_PACKET_TYPE_RESET), "RESET");
	assert_string_equal(kd_packet_type_name(99), "UNKNOWN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(checksum_is_byte_sum),
		cmocka_unit_test(checksum_matches_byte_loop),
		cmocka_unit_test(control_packet_bytes),
		cmocka_unit_test(data_packet_matches_capture),
		cmocka_unit_test(build_refuses_oversize_and_short_buffers),
		cmocka_unit_test(type_names),
	};

	return cmocka_run_group_tests_name("kd_packet", tests, NULL, NULL);
}
