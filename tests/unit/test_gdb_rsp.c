/* SPDX-License-Identifier: MIT */
/* The RSP framing: the byte-fed parser (every split point, checksums, escapes, run-length
 * encoding, oversize, garbage, interrupts, acks) and the encoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../host/gdb/rsp_parser.h"

#define MAX_EVENTS 16

struct collected {
	enum rsp_event_kind kind[MAX_EVENTS];
	char payload[MAX_EVENTS][256];
	size_t len[MAX_EVENTS];
	size_t n;
};

/* Feeds data in chunks of the given sizes (the last one repeats) and records events. */
static void feed_chunks(struct rsp_parser *p, const uint8_t *data, size_t len, size_t chunk,
			struct collected *c)
{
	struct rsp_event ev;

	while (len) {
		size_t take = len < chunk ? len : chunk;
		const uint8_t *d = data;
		size_t left = take;

		while (left) {
			size_t used = rsp_parser_feed(p, d, left, &ev);

			assert_true(used > 0 && used <= left);
			d += used, left -= used;
			if (ev.kind != RSP_EV_NONE) {
				assert_true(c->n < MAX_EVENTS);
				c->kind[c->n] = ev.kind;
				c->len[c->n] = ev.len;
				if (ev.len)
					memcpy(c->payload[c->n], ev.data, ev.len < 255 ? ev.len : 255);
				c->n++;
			} else {
				assert_int_equal(left, 0);
			}
		}
		data += take, len -= take;
	}
}

static void collect(const char *stream, size_t len, size_t cap, struct collected *c)
{
	static uint8_t buf[512];
	struct rsp_parser p;

	memset(c, 0, sizeof(*c));
	rsp_parser_init(&p, buf, cap);
	feed_chunks(&p, (const uint8_t *)stream, len, len ? len : 1, c);
}

static void packet_whole(void **state)
{
	struct collected c;

	(void)state;
	collect("$qSupported#37", 14, 512, &c);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.kind[0], RSP_EV_PACKET);
	assert_int_equal(c.len[0], 10);
	assert_memory_equal(c.payload[0], "qSupported", 10);
}

/* The same stream split at every point, and fed one byte at a time, gives the same events. */
static void every_split_point(void **state)
{
	static const char stream[] = "+$m1000,4#8e\x03-$c#63garbage$g#67";
	size_t len = sizeof(stream) - 1;
	static uint8_t buf[512];

	(void)state;
	for (size_t split = 0; split <= len; split++) {
		struct rsp_parser p;
		struct collected c;

		memset(&c, 0, sizeof(c));
		rsp_parser_init(&p, buf, sizeof(buf));
		feed_chunks(&p, (const uint8_t *)stream, split, split ? split : 1, &c);
		feed_chunks(&p, (const uint8_t *)stream + split, len - split, 1, &c);
		assert_int_equal(c.n, 6);
		assert_int_equal(c.kind[0], RSP_EV_ACK);
		assert_int_equal(c.kind[1], RSP_EV_PACKET);
		assert_memory_equal(c.payload[1], "m1000,4", 7);
		assert_int_equal(c.kind[2], RSP_EV_INTERRUPT);
		assert_int_equal(c.kind[3], RSP_EV_NAK);
		assert_int_equal(c.kind[4], RSP_EV_PACKET);
		assert_int_equal(c.len[4], 1);
		assert_int_equal(c.kind[5], RSP_EV_PACKET);
		assert_memory_equal(c.payload[5], "g", 1);
		assert_int_equal(p.stats.garbage, 7);
		assert_int_equal(p.state, RSP_IDLE);
	}
}

static void bad_checksum(void **state)
{
	struct collected c;

	(void)state;
	collect("$g#68$g#67", 10, 512, &c);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.kind[0], RSP_EV_BAD_PACKET);
	assert_int_equal(c.kind[1], RSP_EV_PACKET);
	collect("$g#6z", 5, 512, &c); /* not a hex digit */
	assert_int_equal(c.kind[0], RSP_EV_BAD_PACKET);
	collect("$g#G7", 5, 512, &c);
	assert_int_equal(c.kind[0], RSP_EV_BAD_PACKET);
}

/* Checksum digits in upper case are accepted. */
static void checksum_case(void **state)
{
	struct collected c;

	(void)state;
	collect("$m1000,4#8E", 11, 512, &c);
	assert_int_equal(c.kind[0], RSP_EV_PACKET);
}

static void escapes(void **state)
{
	/* X packet data with '#', '$', '}' and '*' escaped: }\x03 = '#', }\x04 = '$',
	 * }] = '}', }\x0a = '*'. Checksum over the raw bytes. */
	uint8_t raw[] = { 'X', '}', 0x03, '}', 0x04, '}', ']', '}', 0x0a, 0 };
	uint8_t pkt[64], sum = 0;
	struct collected c;
	size_t n = 0;

	(void)state;
	pkt[n++] = '$';
	for (size_t i = 0; raw[i]; i++)
		pkt[n++] = raw[i], sum = (uint8_t)(sum + raw[i]);
	n += (size_t)snprintf((char *)pkt + n, sizeof(pkt) - n, "#%02x", sum);
	collect((const char *)pkt, n, 512, &c);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.kind[0], RSP_EV_PACKET);
	assert_int_equal(c.len[0], 5);
	assert_memory_equal(c.payload[0], "X#$}*", 5);
}

static void run_length(void **state)
{
	char pkt[64];
	struct collected c;
	uint8_t sum = 0;
	const char *body = "0* 1*\"";  /* '0' + 3 more, '1' + 5 more */

	(void)state;
	for (const char *s = body; *s; s++)
		sum = (uint8_t)(sum + *s);
	snprintf(pkt, sizeof(pkt), "$%s#%02x", body, sum);
	collect(pkt, strlen(pkt), 512, &c);
	assert_int_equal(c.kind[0], RSP_EV_PACKET);
	assert_int_equal(c.len[0], 10);
	assert_memory_equal(c.payload[0], "0000111111", 10);

	/* A repeat with nothing before it, and a count below 3, are bad. */
	snprintf(pkt, sizeof(pkt), "$*\"#%02x", (uint8_t)('*' + '"'));
	collect(pkt, strlen(pkt), 512, &c);
	assert_int_equal(c.kind[0], RSP_EV_BAD_PACKET);
	snprintf(pkt, sizeof(pkt), "$0*\x1e#%02x", (uint8_t)('0' + '*' + 0x1e));
	collect(pkt, strlen(pkt), 512, &c);
	assert_int_equal(c.kind[0], RSP_EV_BAD_PACKET);
	/* '*' right before '#': bad, and the stream stays in step. */
	collect("$0*#5a$g#67", 11, 512, &c);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.kind[0], RSP_EV_BAD_PACKET);
	assert_int_equal(c.kind[1], RSP_EV_PACKET);
}

static void oversize(void **state)
{
	char pkt[600];
	struct collected c;
	uint8_t sum = 0;
	size_t n = 0;

	(void)state;
	pkt[n++] = '$';
	for (int i = 0; i < 100; i++)
		pkt[n++] = 'a', sum = (uint8_t)(sum + 'a');
	n += (size_t)snprintf(pkt + n, sizeof(pkt) - n, "#%02x$g#67", sum);
	collect(pkt, n, 64, &c); /* room for 63 bytes */
	assert_int_equal(c.n, 2);
	assert_int_equal(c.kind[0], RSP_EV_OVERSIZE);
	assert_int_equal(c.kind[1], RSP_EV_PACKET);
	/* Exactly cap - 1 bytes fit. */
	n = 0, sum = 0;
	pkt[n++] = '$';
	for (int i = 0; i < 63; i++)
		pkt[n++] = 'b', sum = (uint8_t)(sum + 'b');
	n += (size_t)snprintf(pkt + n, sizeof(pkt) - n, "#%02x", sum);
	collect(pkt, n, 64, &c);
	assert_int_equal(c.kind[0], RSP_EV_PACKET);
	assert_int_equal(c.len[0], 63);
	/* Run-length expansion counts against the limit too. */
	collect("$a*~#09", 7, 64, &c); /* 'a' + 97 more */
	assert_int_equal(c.kind[0], RSP_EV_OVERSIZE);
}

/* A '$' inside a packet starts over: the cut packet is dropped. */
static void restart(void **state)
{
	struct collected c;

	(void)state;
	collect("$m10$g#67", 9, 512, &c);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.kind[0], RSP_EV_PACKET);
	assert_memory_equal(c.payload[0], "g", 1);
}

/* 0x03 inside a packet is data, not an interrupt. */
static void interrupt_only_between_packets(void **state)
{
	char pkt[16];
	struct collected c;

	(void)state;
	snprintf(pkt, sizeof(pkt), "$a\x03#%02x\x03", (uint8_t)('a' + 3));
	collect(pkt, strlen(pkt), 512, &c);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.kind[0], RSP_EV_PACKET);
	assert_int_equal(c.len[0], 2);
	assert_int_equal(c.kind[1], RSP_EV_INTERRUPT);
}

static void encoder(void **state)
{
	uint8_t out[64], back[64];
	static const uint8_t payload[] = { 'O', 'K', '#', '$', '}', '*', 0x00, 0xff };
	struct rsp_parser p;
	struct rsp_event ev;
	size_t n;

	(void)state;
	n = rsp_encode("OK", 2, out, sizeof(out));
	assert_int_equal(n, 6);
	assert_memory_equal(out, "$OK#9a", 6);
	n = rsp_encode("", 0, out, sizeof(out));
	assert_memory_equal(out, "$#00", n);

	/* Binary with every special byte survives a round trip through the parser. */
	n = rsp_encode(payload, sizeof(payload), out, sizeof(out));
	assert_int_equal(n, 1 + sizeof(payload) + 4 + 3);
	assert_null(memchr(out + 1, '#', n - 4));
	rsp_parser_init(&p, back, sizeof(back));
	assert_int_equal(rsp_parser_feed(&p, out, n, &ev), n);
	assert_int_equal(ev.kind, RSP_EV_PACKET);
	assert_int_equal(ev.len, sizeof(payload));
	assert_memory_equal(ev.data, payload, sizeof(payload));

	/* Too small a buffer: 0, at every size below what is needed. */
	for (size_t cap = 0; cap < 1 + sizeof(payload) + 4 + 3; cap++)
		assert_int_equal(rsp_encode(payload, sizeof(payload), out, cap), 0);
	assert_true(RSP_ENCODED_MAX(sizeof(payload)) >= 1 + sizeof(payload) + 4 + 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(packet_whole),
		cmocka_unit_test(every_split_point),
		cmocka_unit_test(bad_checksum),
		cmocka_unit_test(checksum_case),
		cmocka_unit_test(escapes),
		cmocka_unit_test(run_length),
		cmocka_unit_test(oversize),
		cmocka_unit_test(restart),
		cmocka_unit_test(interrupt_only_between_packets),
		cmocka_unit_test(encoder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
