/* SPDX-License-Identifier: MIT */
/* Guest<->relay frames: build, parse in any split, resynchronise after garbage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmkd/vmkd_frame_parser.h"

static struct vmkd_frame_parser parser;

static size_t feed_all(const uint8_t *buf, size_t len, size_t chunk, struct vmkd_frame *frames,
		       uint8_t payloads[][VMKD_FRAME_MAX_PAYLOAD], size_t max)
{
	size_t n = 0, off = 0;

	while (off < len) {
		size_t give = len - off < chunk ? len - off : chunk;
		struct vmkd_frame f;
		size_t used = vmkd_frame_parser_feed(&parser, buf + off, give, &f);

		assert_true(used > 0 && used <= give);
		off += used;
		if (f.complete) {
			assert_true(n < max);
			frames[n] = f;
			memcpy(payloads[n], f.payload ? f.payload : (const uint8_t *)"", f.payload_len);
			n++;
		}
	}
	return n;
}

static void kd_frame_round_trip_every_chunk_size(void **state)
{
	static uint8_t stream[3 * VMKD_FRAME_MAX_BYTES + 64];
	static uint8_t payloads[4][VMKD_FRAME_MAX_PAYLOAD];
	struct vmkd_frame frames[4];
	uint8_t hdr[0x38], data[1000];
	size_t len = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(hdr); i++)
		hdr[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13);
	memcpy(stream, "junk!VMK", 8); /* garbage, including a false start of the magic */
	len = 8;
	len += vmkd_frame_build_kd(stream + len, sizeof(stream) - len, 7, 2, hdr, sizeof(hdr), data,
				   sizeof(data));
	len += vmkd_frame_build(stream + len, sizeof(stream) - len, VMKD_FRAME_BREAKIN, 8, NULL, 0,
				NULL, 0);
	for (size_t chunk = 1; chunk <= 64; chunk++) {
		uint16_t type;
		const uint8_t *kd;
		size_t kd_len;

		vmkd_frame_parser_init(&parser);
		assert_int_equal(feed_all(stream, len, chunk, frames, payloads, 4), 2);
		assert_int_equal(frames[0].hdr.type, VMKD_FRAME_KD_PACKET);
		assert_int_equal(frames[0].hdr.seq, 7);
		assert_int_equal(vmkd_frame_parse_kd(payloads[0], frames[0].payload_len, &type, &kd,
						     &kd_len), 0);
		assert_int_equal(type, 2);
		assert_int_equal(kd_len, sizeof(hdr) + sizeof(data));
		assert_memory_equal(kd, hdr, sizeof(hdr));
		assert_memory_equal(kd + sizeof(hdr), data, sizeof(data));
		assert_int_equal(frames[1].hdr.type, VMKD_FRAME_BREAKIN);
		assert_int_equal(frames[1].payload_len, 0);
		assert_int_equal(parser.stats.skipped_bytes, 8);
	}
}

static void rejects_bad_version_length_type(void **state)
{
	static uint8_t payloads[2][VMKD_FRAME_MAX_PAYLOAD];
	struct vmkd_frame frames[2];
	uint8_t buf[64];
	size_t len;

	(void)state;
	vmkd_frame_parser_init(&parser);
	len = vmkd_frame_build(buf, sizeof(buf), VMKD_FRAME_HELLO, 1, NULL, 0, NULL, 0);
	buf[4] = 9; /* version */
	assert_int_equal(feed_all(buf, len, len, frames, payloads, 2), 0);
	assert_int_equal(parser.stats.bad_version, 1);

	vmkd_frame_parser_init(&parser);
	len = vmkd_frame_build(buf, sizeof(buf), VMKD_FRAME_HELLO, 1, NULL, 0, NULL, 0);
	buf[8] = 0xff, buf[9] = 0xff; /* length 65535 */
	assert_int_equal(feed_all(buf, len, len, frames, payloads, 2), 0);
	assert_int_equal(parser.stats.bad_length, 1);

	vmkd_frame_parser_init(&parser);
	len = vmkd_frame_build(buf, sizeof(buf), 0, 1, NULL, 0, NULL, 0);
	len += vmkd_frame_build(buf + len, sizeof(buf) - len, VMKD_FRAME_RESYNC, 2, NULL, 0, NULL, 0);
	assert_int_equal(feed_all(buf, len, 3, frames, payloads, 2), 1);
	assert_int_equal(frames[0].hdr.type, VMKD_FRAME_RESYNC);
	assert_int_equal(parser.stats.bad_type, 1);
}

static void kd_payload_checks(void **state)
{
	uint8_t buf[VMKD_FRAME_MAX_BYTES + 1];
	static uint8_t big[KD_MAX_PAYLOAD + 1];
	uint16_t type;
	const uint8_t *kd;
	size_t kd_len;
	uint8_t bad[8] = { 2, 0, 0, 0, 9, 0, 0, 0 };

	(void)state;
	assert_int_equal(vmkd_frame_build_kd(buf, sizeof(buf), 1, 2, big, KD_MAX_PAYLOAD, NULL, 0),
			 VMKD_FRAME_MAX_BYTES);
	assert_int_equal(vmkd_frame_build_kd(buf, sizeof(buf), 1, 2, big, KD_MAX_PAYLOAD + 1, NULL, 0), 0);
	assert_int_equal(vmkd_frame_parse_kd(bad, sizeof(bad), &type, &kd, &kd_len), -1);
	assert_int_equal(vmkd_frame_parse_kd(bad, 4, &type, &kd, &kd_len), -1);
}

/* A whole frame at the start of a buffer, checked as the parser checks it. */
static void decode_takes_a_whole_good_frame(void **state)
{
	uint8_t buf[128], hdr[4] = { 1, 2, 3, 4 };
	struct vmkd_frame f;
	uint16_t type;
	const uint8_t *kd;
	size_t len, kd_len;

	(void)state;
	len = vmkd_frame_build_kd(buf, sizeof(buf), 5, 2, hdr, sizeof(hdr), NULL, 0);
	buf[len] = 0xee; /* what follows is not the frame's */
	assert_int_equal(vmkd_frame_decode(buf, len + 1, &f), len);
	assert_true(f.complete);
	assert_int_equal(f.hdr.type, VMKD_FRAME_KD_PACKET);
	assert_int_equal(f.hdr.seq, 5);
	assert_ptr_equal(f.payload, buf + sizeof(struct vmkd_frame_header));
	assert_int_equal(vmkd_frame_parse_kd(f.payload, f.payload_len, &type, &kd, &kd_len), 0);
	assert_int_equal(kd_len, sizeof(hdr));
	assert_memory_equal(kd, hdr, sizeof(hdr));

	/* Cut short, header only, or one the parser would reject: none. */
	assert_int_equal(vmkd_frame_decode(buf, len - 1, &f), 0);
	assert_false(f.complete);
	assert_int_equal(vmkd_frame_decode(buf, sizeof(struct vmkd_frame_header) - 1, &f), 0);
	buf[4] = 9; /* version */
	assert_int_equal(vmkd_frame_decode(buf, len, &f), 0);
	len = vmkd_frame_build(buf, sizeof(buf), 0, 1, NULL, 0, NULL, 0); /* type 0 */
	assert_int_equal(vmkd_frame_decode(buf, len, &f), 0);

	/* No payload: payload NULL, as the parser gives it. */
	len = vmkd_frame_build(buf, sizeof(buf), VMKD_FRAME_BREAKIN, 2, NULL, 0, NULL, 0);
	assert_int_equal(vmkd_frame_decode(buf, len, &f), len);
	assert_null(f.payload);
	assert_int_equal(f.payload_len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kd_frame_round_trip_every_chunk_size),
		cmocka_unit_test(rejects_bad_version_length_type),
		cmocka_unit_test(kd_payload_checks),
		cmocka_unit_test(decode_takes_a_whole_good_frame),
	};

	return cmocka_run_group_tests_name("vmkd_frame", tests, NULL, NULL);
}
