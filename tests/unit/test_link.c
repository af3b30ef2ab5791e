/* SPDX-License-Identifier: MIT */
/* Link layer: ids, ACK, RESEND, RESET, retries, duplicates, implied ACK, both roles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmkd/kd_link.h"
#include "vmkd/kd_packet.h"

#define SYNC_ID  (KD_INITIAL_PACKET_ID | KD_SYNC_PACKET_ID)
#define ID0      KD_INITIAL_PACKET_ID
#define ID1      (KD_INITIAL_PACKET_ID | KD_PACKET_ID_TOGGLE)
#define TIMEOUT  1000u
#define INTERVAL 10000u

/* ---- a recording owner ------------------------------------------------------------- */

#define MAX_WRITES 64
#define MAX_EVENTS 32

struct write_rec {
	size_t off, len;
};

struct harness {
	struct kd_link link;
	uint8_t out[MAX_WRITES * KD_MAX_PACKET_BYTES];
	size_t out_len;
	struct write_rec writes[MAX_WRITES];
	size_t nwrites;
	char events[MAX_EVENTS + 1]; /* 'D' deliver, 'A'/'G'/'C' send_done, 'B' break-in, 'R' reset */
	size_t nevents;
	uint16_t rx_type;
	uint32_t rx_id;
	uint8_t rx_payload[KD_MAX_PAYLOAD];
	size_t rx_len;
	size_t delivered;
	int send_on_done; /* send payload_a from the next send_done */
};

static struct harness h;

static const uint8_t payload_a[] = { 0x31, 0x31, 0, 0, 1, 2, 3, 4, 5 };
static const uint8_t payload_b[] = { 0x46, 0x31, 0, 0, 9, 8, 7 };

static void log_event(char c)
{
	assert_true(h.nevents < MAX_EVENTS);
	h.events[h.nevents++] = c;
	h.events[h.nevents] = 0;
}

static void on_write(void *opaque, const uint8_t *buf, size_t len)
{
	assert_ptr_equal(opaque, &h);
	assert_true(h.nwrites < MAX_WRITES);
	assert_true(len <= KD_MAX_PACKET_BYTES);
	memcpy(h.out + h.out_len, buf, len);
	h.writes[h.nwrites].off = h.out_len;
	h.writes[h.nwrites].len = len;
	h.nwrites++;
	h.out_len += len;
}

static void on_deliver(void *opaque, uint16_t type, uint32_t id, const uint8_t *payload,
		       size_t len)
{
	(void)opaque;
	h.rx_type = type;
	h.rx_id = id;
	h.rx_len = len;
	if (len)
		memcpy(h.rx_payload, payload, len);
	h.delivered++;
	log_event('D');
}

static void on_send_done(void *opaque, enum kd_send_result result)
{
	(void)opaque;
	log_event(result == KD_SEND_ACKED ? 'A' : result == KD_SEND_GAVE_UP ? 'G' : 'C');
	if (h.send_on_done) {
		h.send_on_done = 0;
		assert_false(kd_link_busy(&h.link));
		assert_int_equal(kd_link_send(&h.link, KD_PACKET_TYPE_STATE_MANIPULATE, payload_a,
					      sizeof(payload_a), NULL, 0, 0), 0);
	}
}

static void on_breakin(void *opaque)
{
	(void)opaque;
	log_event('B');
}

static void on_reset(void *opaque)
{
	(void)opaque;
	log_event('R');
}

static const struct kd_link_ops ops = {
	.write = on_write,
	.deliver = on_deliver,
	.send_done = on_send_done,
	.breakin = on_breakin,
	.reset = on_reset,
};

static void test_config(struct kd_link_config *cfg)
{
	kd_link_default_config(cfg);
	cfg->ack_timeout = TIMEOUT;
	cfg->reset_interval = INTERVAL;
}

static void start(enum kd_role role, const struct kd_link_config *cfg)
{
	struct kd_link_config def;

	memset(&h, 0, sizeof(h));
	if (!cfg) {
		test_config(&def);
		cfg = &def;
	}
	kd_link_init(&h.link, role, cfg, &ops, &h);
}

static void clear_output(void)
{
	h.out_len = 0;
	h.nwrites = 0;
}

static const uint8_t *written(size_t i)
{
	assert_true(i < h.nwrites);
	return h.out + h.writes[i].off;
}

static struct kd_packet_header written_header(size_t i)
{
	struct kd_packet_header hdr;

	assert_true(h.writes[i].len >= KD_HEADER_SIZE);
	kd_header_decode(&hdr, written(i));
	return hdr;
}

/* Write i is the control packet type/id, byte for byte. */
static void assert_control(size_t i, uint16_t type, uint32_t id)
{
	uint8_t want[KD_HEADER_SIZE];

	kd_control_build(want, type, id);
	assert_int_equal(h.writes[i].len, KD_HEADER_SIZE);
	assert_memory_equal(written(i), want, KD_HEADER_SIZE);
}

static void assert_data_id(size_t i, uint32_t id)
{
	struct kd_packet_header hdr = written_header(i);

	assert_int_equal(hdr.leader, KD_PACKET_LEADER);
	assert_int_equal(hdr.id, id);
}

static void feed(const void *buf, size_t len, uint64_t now)
{
	kd_link_input(&h.link, buf, len, now);
}

static void feed_control(uint16_t type, uint32_t id, uint64_t now)
{
	uint8_t pkt[KD_HEADER_SIZE];

	feed(pkt, kd_control_build(pkt, type, id), now);
}

static size_t build_data(uint8_t *out, uint32_t id, const uint8_t *payload, size_t len)
{
	return kd_packet_build(out, KD_MAX_PACKET_BYTES, KD_PACKET_TYPE_STATE_MANIPULATE, id,
			       payload, len, NULL, 0);
}

static void feed_data(uint32_t id, const uint8_t *payload, size_t len, uint64_t now)
{
	uint8_t pkt[KD_MAX_PACKET_BYTES];

	feed(pkt, build_data(pkt, id, payload, len), now);
}

static void send_a(uint64_t now)
{
	assert_int_equal(kd_link_send(&h.link, KD_PACKET_TYPE_STATE_MANIPULATE, payload_a, 4,
				      payload_a + 4, sizeof(payload_a) - 4, now), 0);
}

/* ---- ids -------------------------------------------------------------------------- */

static void initial_ids_per_role(void **state)
{
	(void)state;
	start(KD_ROLE_TARGET, NULL);
	assert_int_equal(h.link.next_id, SYNC_ID);
	assert_int_equal(h.link.expected_id, ID0);
	assert_false(kd_link_busy(&h.link));
	send_a(0);
	assert_int_equal(h.nwrites, 1);
	assert_data_id(0, SYNC_ID);

	start(KD_ROLE_DEBUGGER, NULL);
	assert_int_equal(h.link.next_id, ID0);
	assert_int_equal(h.link.last_rx_id, KD_LINK_NO_ID);
	send_a(0);
	assert_data_id(0, ID0);
}

/* The packet goes out in one write: header, both parts, trailer, checksum over both. */
static void send_builds_one_packet(void **state)
{
	struct kd_packet_header hdr;
	uint8_t want[KD_MAX_PACKET_BYTES];
	size_t n;

	(void)state;
	start(KD_ROLE_DEBUGGER, NULL);
	send_a(0);
	assert_int_equal(h.nwrites, 1);
	n = build_data(want, ID0, payload_a, sizeof(payload_a));
	assert_int_equal(h.writes[0].len, n);
	assert_memory_equal(written(0), want, n);
	hdr = written_header(0);
	assert_int_equal(hdr.byte_count, sizeof(payload_a));
	assert_int_equal(h.link.tx_len, sizeof(payload_a));
	assert_int_equal(h.link.stats.data_sent, 1);
}

static void ack_toggles_id(void **state)
{
	(void)state;
	start(KD_ROLE_DEBUGGER, NULL);
	send_a(0);
	feed_control(KD_PACKET_TYPE_ACKNOWLEDGE, ID0, 1);
	assert_string_equal(h.events, "A");
	assert_false(kd_link_busy(&h.link));
	assert_int_equal(h.link.next_id, ID1);
	clear_output();
	send_a(2);
	assert_data_id(0, ID1);
	feed_control(KD_PACKET_TYPE_ACKNOWLEDGE, ID1, 3);
	assert_string_equal(h.events, "AA");
	assert_int_equal(h.link.next_id, ID0);
	assert_int_equal(h.link.stats.acks_received, 2);
}

/* A real kernel accepts only the ACK without SYNC (3.6); we accept both forms. */
static void sync_bit_cleared_after_first_ack(void **state)
{
	(void)state;
	start(KD_ROLE_TARGET, NULL);
	send_a(0);
	feed_control(KD_PACKET_TYPE_ACKNOWLEDGE, ID0, 1);
	assert_string_equal(h.events, "A");
	assert_int_equal(h.link.next_id, ID1);
	clear_output();
	send_a(2);
	assert_data_id(0, ID1);

	start(KD_ROLE_TARGET, NULL);
	send_a(0);
	feed_control(KD_PACKET_TYPE_ACKNOWLEDGE, SYNC_ID, 1); /* rizin echoes the id as is */
	assert_string_equal(h.events, "A");
	assert_int_equal(h.link.next_id, ID1);
}

static void wrong_ack_ignored(void **state)
{
	(void)state;
	start(KD_ROLE_TARGET, NULL);
	feed_control(KD_PACKET_TYPE_ACKNOWLEDGE, ID0, 0); /* nothing outstanding */
	send_a(0);
	feed_control(KD_PACKET_TYPE_ACKNOWLEDGE, ID1, 1);
	feed_control(KD_PACKET_TYPE_ACKNOWLEDGE, ID1 | KD_SYNC_PACKET_ID, 1);
	feed_control(KD_PACKET_TYPE_ACKNOWLEDGE, 0, 1);
	assert_true(kd_link_busy(&h.link));
	assert_int_equal(h.nevents, 0);
	assert_int_equal(h.link.stats.acks_ignored, 4);
	assert_int_equal(h.link.next_id, SYNC_ID);
	feed_control(KD_PACKET_TYPE_ACKNOWLEDGE, ID0, 2);
	assert_string_equal(h.events, "A");
}

static void send_refuses_busy_and_oversize(void **state)
{
	static uint8_t big[KD_MAX_PAYLOAD + 1];

	(void)state;
	start(KD_ROLE_DEBUGGER, NULL);
	assert_int_equal(kd_link_send(&h.link, 2, big, KD_MAX_PAYLOAD + 1, NULL, 0, 0), -2);
	assert_int_equal(kd_link_send(&h.link, 2, big, 3000, big, 1001, 0), -2);
	assert_int_equal(kd_link_send(&h.link, 2, NULL, 10, NULL, 0, 0), -2);
	assert_int_equal(kd_link_send(&h.link, 2, big, 10, NULL, SIZE_MAX, 0), -2);
	assert_false(kd_link_busy(&h.link));
	assert_int_equal(h.nwrites, 0);
	assert_int_equal(kd_link_send(&h.link, 2, big, 3000, big, 1000, 0), 0);
	assert_int_equal(written_header(0).byte_count, KD_MAX_PAYLOAD);
	assert_int_equal(kd_link_send(&h.link, 2, big, 1, NULL, 0, 0), -1);
	assert_int_equal(h.nwrites, 1);
	/* An empty payload is a valid packet. */
	start(KD_ROLE_DEBUGGER, NULL);
	assert_int_equal(kd_link_send(&h.link, 2, NULL, 0, NULL, 0, 0), 0);
	assert_int_equal(h.writes[0].len, KD_HEADER_SIZE + 1);
}

/* ---- receiving ------------------------------------------------------------------------ */

static void target_duplicate_acked_delivered_once(void **state)
{
	(void)state;
	start(KD_ROLE_TARGET, NULL);
	feed_data(ID0, payload_a, sizeof(payload_a), 0);
	feed_data(ID0, payload_a, sizeof(payload_a), 1);
	assert_int_equal(h.nwrites, 2);
	assert_control(0, KD_PACKET_TYPE_ACKNOWLEDGE, ID0);
	assert_control(1, KD_PACKET_TYPE_ACKNOWLEDGE, ID0);
	assert_int_equal(h.delivered, 1);
	assert_int_equal(h.rx_id, ID0);
	assert_int_equal(h.rx_type, KD_PACKET_TYPE_STATE_MANIPULATE);
	assert_int_equal(h.rx_len, sizeof(payload_a));
	assert_memory_equal(h.rx_payload, payload_a, sizeof(payload_a));
	assert_int_equal(h.link.stats.duplicates, 1);
	assert_int_equal(h.link.expected_id, ID1);
	/* An id the target does not expect is acknowledged with that id and dropped. */
	feed_data(ID0 | 0x10, payload_b, sizeof(payload_b), 2);
	assert_control(2, KD_PACKET_TYPE_ACKNOWLEDGE, ID0 | 0x10);
	assert_int_equal(h.delivered, 1);
	feed_data(ID1, payload_b, sizeof(payload_b), 3);
	assert_int_equal(h.delivered, 2);
	assert_memory_equal(h.rx_payload, payload_b, sizeof(payload_b));
}

static void debugger_duplicate_acked_delivered_once(void **state)
{
	(void)state;
	start(KD_ROLE_DEBUGGER, NULL);
	feed_data(ID1, payload_a, sizeof(payload_a), 0); /* any first id is new */
	feed_data(ID1, payload_a, sizeof(payload_a), 1);
	assert_int_equal(h.nwrites, 2);
	assert_control(0, KD_PACKET_TYPE_ACKNOWLEDGE, ID1);
	assert_control(1, KD_PACKET_TYPE_ACKNOWLEDGE, ID1);
	assert_int_equal(h.delivered, 1);
	assert_int_equal(h.link.stats.duplicates, 1);
	feed_data(ID0, payload_b, sizeof(payload_b), 2);
	assert_int_equal(h.delivered, 2);
	assert_int_equal(h.link.last_rx_id, ID0);
}

/* kd-protocol.md 1.2: the RESEND bytes, for each kind of damage the parser reports. */
static void bad_packets_answered_with_resend(void **state)
{
	static const uint8_t resend[] = { 0x69, 0x69, 0x69, 0x69, 0x05, 0x00, 0x00, 0x00,
					  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };
	uint8_t pkt[KD_MAX_PACKET_BYTES];
	size_t n;

	(void)state;
	start(KD_ROLE_TARGET, NULL);
	n = build_data(pkt, ID0, payload_a, sizeof(payload_a));
	pkt[KD_HEADER_SIZE + 2] ^= 0x40; /* checksum */
	feed(pkt, n, 0);
	assert_int_equal(h.nwrites, 1);
	assert_int_equal(h.writes[0].len, sizeof(resend));
	assert_memory_equal(written(0), resend, sizeof(resend));

	n = build_data(pkt, ID0, payload_a, sizeof(payload_a));
	pkt[n - 1] = 0x55; /* trailer */
	feed(pkt, n, 1);
	n = build_data(pkt, ID0, payload_a, sizeof(payload_a));
	pkt[6] = 0xa1; /* byte count 0x0fa1 = 4001 */
	pkt[7] = 0x0f;
	feed(pkt, KD_HEADER_SIZE, 2);
	assert_int_equal(h.nwrites, 3);
	assert_memory_equal(written(1), resend, sizeof(resend));
	assert_memory_equal(written(2), resend, sizeof(resend));
	assert_int_equal(h.link.stats.bad_packets, 3);
	assert_int_equal(h.link.stats.resends_sent, 3);
	assert_int_equal(h.delivered, 0);
	assert_int_equal(h.link.expected_id, ID0);
}

static void breakin_callback_and_byte(void **state)
{
	static const uint8_t b = KD_BREAKIN_BYTE;

	(void)state;
	start(KD_ROLE_TARGET, NULL);
	feed(&b, 1, 0);
	assert_string_equal(h.events, "B");
	assert_int_equal(h.link.stats.breakins, 1);
	assert_int_equal(h.nwrites, 0);

	start(KD_ROLE_DEBUGGER, NULL);
	kd_link_send_breakin(&h.link);
	assert_int_equal(h.nwrites, 1);
	assert_int_equal(h.writes[0].len, 1);
	assert_int_equal(written(0)[0], KD_BREAKIN_BYTE);
}

static void unknown_control_ignored(void **state)
{
	(void)state;
	start(KD_ROLE_TARGET, NULL);
	send_a(0);
	clear_output();
	feed_control(KD_PACKET_TYPE_STATE_MANIPULATE, ID0, 1);
	feed_control(0x1234, 0, 1);
	assert_int_equal(h.link.stats.unknown_control, 2);
	assert_int_equal(h.nwrites, 0);
	assert_int_equal(h.nevents, 0);
	assert_true(kd_link_busy(&h.link));
}

/* ---- retransmission ------------------------------------------------------------------ */

static void resend_retransmits_identical_bytes(void **state)
{
	(void)state;
	start(KD_ROLE_TARGET, NULL);
	send_a(0);
	feed_control(KD_PACKET_TYPE_RESEND, 0, 5);
	assert_int_equal(h.nwrites, 2);
	assert_int_equal(h.writes[1].len, h.writes[0].len);
	assert_memory_equal(written(1), written(0), h.writes[0].len);
	assert_int_equal(h.link.stats.retransmits, 1);
	assert_int_equal(h.link.stats.resends_received, 1);
	/* RESEND restarts the ACK timer and costs no retry. */
	assert_int_equal(kd_link_deadline(&h.link), 5 + TIMEOUT);
	assert_int_equal(h.link.retries_left, 20);
	/* Nothing outstanding: nothing to resend. */
	feed_control(KD_PACKET_TYPE_ACKNOWLEDGE, ID0, 6);
	feed_control(KD_PACKET_TYPE_RESEND, 0, 7);
	assert_int_equal(h.nwrites, 2);
}

static void timeout_retransmits_then_gives_up(void **state)
{
	struct kd_link_config cfg;
	uint64_t now = 100;

	(void)state;
	test_config(&cfg);
	cfg.max_retries = 2;
	start(KD_ROLE_TARGET, &cfg);
	send_a(now);
	for (int i = 1; i <= 2; i++) {
		now = kd_link_deadline(&h.link);
		kd_link_poll(&h.link, now - 1); /* not yet */
		assert_int_equal(h.nwrites, (size_t)i);
		kd_link_poll(&h.link, now);
		assert_int_equal(h.nwrites, (size_t)i + 1);
		assert_memory_equal(written(i), written(0), h.writes[0].len);
	}
	assert_int_equal(h.nevents, 0);
	now = kd_link_deadline(&h.link);
	kd_link_poll(&h.link, now);
	assert_string_equal(h.events, "G");
	assert_int_equal(h.nwrites, 3);
	assert_false(kd_link_busy(&h.link));
	assert_int_equal(kd_link_deadline(&h.link), KD_LINK_NO_DEADLINE);
	assert_int_equal(h.link.stats.timeouts, 3);
	assert_int_equal(h.link.stats.retransmits, 2);
	assert_int_equal(h.link.stats.gave_up, 1);
	/* Did the debugger get it? Unknown: the next packet asks for a RESET (SYNC), and
	 * with the other id so a late ACK of the abandoned one cannot complete it. */
	assert_int_equal(h.link.next_id, ID1 | KD_SYNC_PACKET_ID);
	clear_output();
	send_a(now);
	assert_data_id(0, ID1 | KD_SYNC_PACKET_ID);
	feed_control(KD_PACKET_TYPE_ACKNOWLEDGE, ID0, now);
	assert_true(kd_link_busy(&h.link));
}

static void zero_max_retries_retries_forever(void **state)
{
	struct kd_link_config cfg;

	(void)state;
	test_config(&cfg);
	cfg.max_retries = 0;
	start(KD_ROLE_DEBUGGER, &cfg);
	send_a(0);
	for (int i = 0; i < 1000; i++) {
		kd_link_poll(&h.link, kd_link_deadline(&h.link));
		clear_output();
	}
	assert_true(kd_link_busy(&h.link));
	assert_int_equal(h.link.stats.retransmits, 1000);
	assert_int_equal(h.nevents, 0);
}

static void debug_io_gives_up_after_one_try(void **state)
{
	static const uint8_t print[0x10 + 3] = { 0x30, 0x32 };

	(void)state;
	start(KD_ROLE_TARGET, NULL);
	assert_int_equal(kd_link_send(&h.link, KD_PACKET_TYPE_DEBUG_IO, print, sizeof(print),
				      NULL, 0, 0), 0);
	kd_link_poll(&h.link, TIMEOUT);
	assert_string_equal(h.events, "G");
	assert_int_equal(h.nwrites, 1);
	assert_int_equal(h.link.stats.retransmits, 0);

	/* debug_io_retries counts retransmissions. */
	{
		struct kd_link_config cfg;

		test_config(&cfg);
		cfg.debug_io_retries = 1;
		start(KD_ROLE_TARGET, &cfg);
	}
	kd_link_send(&h.link, KD_PACKET_TYPE_DEBUG_IO, print, sizeof(print), NULL, 0, 0);
	kd_link_poll(&h.link, TIMEOUT);
	kd_link_poll(&h.link, 2 * TIMEOUT);
	assert_string_equal(h.events, "G");
	assert_int_equal(h.nwrites, 2);

	/* A debugger's DEBUG_IO (a prompt's answer) must arrive: normal retries. */
	start(KD_ROLE_DEBUGGER, NULL);
	kd_link_send(&h.link, KD_PACKET_TYPE_DEBUG_IO, print, sizeof(print), NULL, 0, 0);
	kd_link_poll(&h.link, TIMEOUT);
	assert_int_equal(h.nevents, 0);
	assert_int_equal(h.nwrites, 2);
}

static void deadline_computation(void **state)
{
	struct kd_link_config cfg;

	(void)state;
	start(KD_ROLE_TARGET, NULL);
	assert_int_equal(kd_link_deadline(&h.link), KD_LINK_NO_DEADLINE);
	send_a(500);
	assert_int_equal(kd_link_deadline(&h.link), 500 + TIMEOUT);
	kd_link_poll(&h.link, 500 + TIMEOUT + 7); /* late poll: the timer restarts from then */
	assert_int_equal(kd_link_deadline(&h.link), 500 + 2 * TIMEOUT + 7);
	/* A clock going back is no time passing. */
	kd_link_poll(&h.link, 3);
	assert_int_equal(h.nwrites, 2);
	feed_control(KD_PACKET_TYPE_ACKNOWLEDGE, ID0, 600);
	assert_int_equal(kd_link_deadline(&h.link), KD_LINK_NO_DEADLINE);

	/* Debugger with an unanswered RESET: the RESET repeat is the only timer. */
	start(KD_ROLE_DEBUGGER, NULL);
	kd_link_start_reset(&h.link, 1000);
	assert_int_equal(kd_link_deadline(&h.link), 1000 + INTERVAL);
	send_a(1500);
	assert_int_equal(kd_link_deadline(&h.link), 1000 + INTERVAL);
	feed_control(KD_PACKET_TYPE_RESET, 0, 2000);
	assert_int_equal(kd_link_deadline(&h.link), 2000 + TIMEOUT);

	/* Huge intervals saturate but never read as "no deadline". */
	test_config(&cfg);
	cfg.ack_timeout = UINT64_MAX;
	start(KD_ROLE_TARGET, &cfg);
	send_a(UINT64_MAX - 10);
	assert_int_equal(kd_link_deadline(&h.link), KD_LINK_NO_DEADLINE - 1);
}

static void cancel_reports_and_resynchronises(void **state)
{
	(void)state;
	start(KD_ROLE_TARGET, NULL);
	kd_link_cancel(&h.link); /* idle: nothing */
	assert_int_equal(h.nevents, 0);
	send_a(0);
	kd_link_cancel(&h.link);
	assert_string_equal(h.events, "C");
	assert_false(kd_link_busy(&h.link));
	assert_true(h.link.next_id & KD_SYNC_PACKET_ID);

	/* The debugger sends RESET before its next packet and holds it until the answer. */
	start(KD_ROLE_DEBUGGER, NULL);
	send_a(0);
	feed_control(KD_PACKET_TYPE_ACKNOWLEDGE, ID0, 1);
	send_a(2);
	kd_link_cancel(&h.link);
	clear_output();
	send_a(3);
	assert_int_equal(h.nwrites, 1);
	assert_control(0, KD_PACKET_TYPE_RESET, 0);
	feed_control(KD_PACKET_TYPE_RESET, 0, 4);
	assert_int_equal(h.nwrites, 2);
	assert_data_id(1, ID0);
}

/* ---- RESET ------------------------------------------------------------------------------ */

static void target_reset_mid_transfer(void **state)
{
	(void)state;
	start(KD_ROLE_TARGET, NULL);
	feed_data(ID0, payload_b, sizeof(payload_b), 0); /* expected moves to ID1 */
	send_a(1);
	clear_output();
	h.nevents = 0;
	feed_control(KD_PACKET_TYPE_RESET, 0, 2);
	assert_int_equal(h.nwrites, 2);
	assert_control(0, KD_PACKET_TYPE_RESET, 0);
	assert_data_id(1, ID0);
	/* The same packet otherwise. */
	assert_int_equal(h.writes[1].len, KD_HEADER_SIZE + sizeof(payload_a) + 1);
	assert_memory_equal(written(1) + 12, h.link.tx_wire + 12, h.writes[1].len - 12);
	assert_string_equal(h.events, "R");
	assert_int_equal(h.link.next_id, ID0);
	assert_int_equal(h.link.expected_id, ID0);
	assert_int_equal(h.link.stats.resets_received, 1);
	assert_int_equal(h.link.stats.resets_sent, 1);
	assert_int_equal(kd_link_deadline(&h.link), 2 + TIMEOUT);
	feed_control(KD_PACKET_TYPE_ACKNOWLEDGE, ID0, 3);
	assert_string_equal(h.events, "RA");
	assert_int_equal(h.link.next_id, ID1);

	/* Another RESET soon after, no data between: a repeat of the one just answered. */
	clear_output();
	feed_control(KD_PACKET_TYPE_RESET, 0, 2 + INTERVAL / 2 - 1);
	assert_int_equal(h.nwrites, 0);
	assert_string_equal(h.events, "RA");
	assert_int_equal(h.link.stats.resets_repeated, 1);
	/* Half an interval on, it is the debugger repeating a RESET whose answer was lost. */
	feed_control(KD_PACKET_TYPE_RESET, 0, 2 + INTERVAL / 2);
	assert_int_equal(h.nwrites, 1);
	assert_control(0, KD_PACKET_TYPE_RESET, 0);
	assert_string_equal(h.events, "RAR");
	assert_int_equal(h.link.next_id, ID0);
	/* Data since the answer: the debugger is past it, a RESET is new. */
	feed_data(ID0, payload_b, sizeof(payload_b), 2 + INTERVAL / 2 + 1);
	feed_control(KD_PACKET_TYPE_RESET, 0, 2 + INTERVAL / 2 + 2);
	assert_string_equal(h.events, "RARDR");
	assert_int_equal(h.link.stats.resets_repeated, 1);
}

static void debugger_reset_from_target_mid_transfer(void **state)
{
	(void)state;
	start(KD_ROLE_DEBUGGER, NULL);
	send_a(0);
	feed_control(KD_PACKET_TYPE_ACKNOWLEDGE, ID0, 1);
	feed_data(ID1, payload_b, sizeof(payload_b), 2);
	send_a(3); /* id ID1 */
	clear_output();
	h.nevents = 0;
	feed_control(KD_PACKET_TYPE_RESET, 0, 4);
	assert_int_equal(h.nwrites, 1); /* no answer to a target's RESET: it would loop */
	assert_data_id(0, ID0);
	assert_string_equal(h.events, "R");
	assert_int_equal(h.link.last_rx_id, KD_LINK_NO_ID);
	/* The target's numbering restarted: ID1 again is a new packet. */
	feed_control(KD_PACKET_TYPE_ACKNOWLEDGE, ID0, 5);
	feed_data(ID1, payload_b, sizeof(payload_b), 6);
	assert_string_equal(h.events, "RAD");
}

/* A target's own RESET is a handshake too: marked, data held until the debugger's RESET. */
static void target_start_reset(void **state)
{
	(void)state;
	start(KD_ROLE_TARGET, NULL);
	send_a(0);
	clear_output();
	kd_link_start_reset(&h.link, 10);
	assert_int_equal(h.nwrites, 1);
	assert_control(0, KD_PACKET_TYPE_RESET, KD_LINK_RESET_REQUEST_ID);
	assert_true(h.link.reset_pending);
	assert_int_equal(kd_link_deadline(&h.link), 10 + INTERVAL);
	kd_link_start_reset(&h.link, 11); /* already out: nothing more */
	assert_int_equal(h.nwrites, 1);
	/* Numbered before the debugger saw our RESET: neither ACKed nor delivered. */
	feed_data(ID0, payload_b, sizeof(payload_b), 12);
	feed_control(KD_PACKET_TYPE_ACKNOWLEDGE, ID0, 13);
	assert_int_equal(h.nwrites, 1);
	assert_int_equal(h.nevents, 0);
	assert_int_equal(h.link.stats.dropped_resetting, 1);
	kd_link_poll(&h.link, 10 + INTERVAL);
	assert_int_equal(h.nwrites, 2);
	assert_control(1, KD_PACKET_TYPE_RESET, KD_LINK_RESET_REQUEST_ID);
	/* The debugger's RESET: answered as always, then the held packet goes. */
	feed_control(KD_PACKET_TYPE_RESET, 0, 20 + INTERVAL);
	assert_int_equal(h.nwrites, 4);
	assert_control(2, KD_PACKET_TYPE_RESET, 0);
	assert_data_id(3, ID0);
	assert_false(h.link.reset_pending);
	assert_string_equal(h.events, "R");
	assert_int_equal(kd_link_deadline(&h.link), 20 + INTERVAL + TIMEOUT);
}

/* The debugger side of it: a marked RESET gets a RESET of ours; plain ones do not. */
static void debugger_answers_marked_reset_only(void **state)
{
	(void)state;
	start(KD_ROLE_DEBUGGER, NULL);
	send_a(0);
	feed_control(KD_PACKET_TYPE_ACKNOWLEDGE, ID0, 1);
	send_a(2); /* ID1 outstanding */
	clear_output();
	feed_control(KD_PACKET_TYPE_RESET, KD_LINK_RESET_REQUEST_ID, 3);
	assert_int_equal(h.nwrites, 1);
	assert_control(0, KD_PACKET_TYPE_RESET, 0);
	assert_true(h.link.reset_pending);
	assert_string_equal(h.events, "A"); /* not resynchronised until answered */
	/* Its repeat, crossing ours, is not our answer: the target answers ours. */
	feed_control(KD_PACKET_TYPE_RESET, KD_LINK_RESET_REQUEST_ID, 4);
	assert_int_equal(h.nwrites, 1);
	assert_true(h.link.reset_pending);
	feed_control(KD_PACKET_TYPE_RESET, 0, 5);
	assert_false(h.link.reset_pending);
	assert_int_equal(h.nwrites, 2);
	assert_data_id(1, ID0);
	assert_string_equal(h.events, "AR");

	/* A plain RESET while synchronised renumbers and is never answered (a kernel
	 * answers every RESET: that would never end). */
	clear_output();
	feed_control(KD_PACKET_TYPE_RESET, 0, 6);
	assert_int_equal(h.nwrites, 1);
	assert_data_id(0, ID0);
	assert_string_equal(h.events, "ARR");
}

/* kd_link_start_reset while a RESET is out sends nothing: answers do not say which RESET
 * they answer, so two in flight could have a late answer taken for a later one's. */
static void start_reset_while_pending_is_quiet(void **state)
{
	(void)state;
	start(KD_ROLE_DEBUGGER, NULL);
	kd_link_start_reset(&h.link, 0);
	kd_link_start_reset(&h.link, 1);
	assert_int_equal(h.nwrites, 1);
	assert_int_equal(h.link.reset_sent_at, 0);
}

/* WinDbg's queued RESETs in one read are answered once (kd-protocol.md 3.3). */
static void flush_on_reset_drops_rest_of_chunk(void **state)
{
	uint8_t chunk[3 * KD_HEADER_SIZE + KD_MAX_PACKET_BYTES];
	struct kd_link_config cfg;
	size_t n = 0;

	(void)state;
	n += kd_control_build(chunk + n, KD_PACKET_TYPE_RESET, 0);
	n += kd_control_build(chunk + n, KD_PACKET_TYPE_RESET, 0);
	n += build_data(chunk + n, ID0, payload_a, sizeof(payload_a));
	n += kd_control_build(chunk + n, KD_PACKET_TYPE_RESET, 0);

	start(KD_ROLE_TARGET, NULL);
	feed(chunk, n, 0);
	assert_int_equal(h.nwrites, 1);
	assert_control(0, KD_PACKET_TYPE_RESET, 0);
	assert_string_equal(h.events, "R");
	/* The next chunk is read normally, even one starting mid-packet after the flush. */
	feed_data(ID0, payload_a, sizeof(payload_a), 1);
	assert_string_equal(h.events, "RD");

	test_config(&cfg);
	cfg.flush_on_reset = 0;
	start(KD_ROLE_TARGET, &cfg);
	feed(chunk, n, 0);
	assert_int_equal(h.nwrites, 4);
	assert_control(0, KD_PACKET_TYPE_RESET, 0);
	assert_control(1, KD_PACKET_TYPE_RESET, 0);
	assert_control(2, KD_PACKET_TYPE_ACKNOWLEDGE, ID0);
	assert_control(3, KD_PACKET_TYPE_RESET, 0);
	assert_string_equal(h.events, "RRDR");
}

/* Late-breakin capture: RESET sent, the SYNC-flagged state change crosses it 5 ms later
 * (no second RESET), the kernel answers RESET and resends with 0x80800000. */
static void debugger_sync_packet_late_breakin(void **state)
{
	(void)state;
	start(KD_ROLE_DEBUGGER, NULL);
	kd_link_send_breakin(&h.link);
	kd_link_start_reset(&h.link, 1000);
	assert_int_equal(h.nwrites, 2);
	assert_control(1, KD_PACKET_TYPE_RESET, 0);
	assert_true(h.link.reset_pending);
	clear_output();
	feed_data(SYNC_ID, payload_a, sizeof(payload_a), 1005);
	assert_int_equal(h.nwrites, 0); /* neither ACK nor a second RESET */
	assert_int_equal(h.delivered, 0);
	assert_int_equal(h.link.stats.sync_packets, 1);
	feed_control(KD_PACKET_TYPE_RESET, 0, 1006);
	assert_false(h.link.reset_pending);
	feed_data(ID0, payload_a, sizeof(payload_a), 1007);
	assert_int_equal(h.nwrites, 1);
	assert_control(0, KD_PACKET_TYPE_ACKNOWLEDGE, ID0);
	assert_string_equal(h.events, "RD");
	assert_int_equal(h.rx_id, ID0);
	/* A repeat of it is acknowledged and dropped. */
	feed_data(ID0, payload_a, sizeof(payload_a), 1008);
	assert_int_equal(h.delivered, 1);
	assert_control(1, KD_PACKET_TYPE_ACKNOWLEDGE, ID0);
}

/* Boot-attach capture: the first RESET went nowhere (the kernel was not up); the SYNC
 * packet 3.5 s later gets a fresh RESET, whose answer is followed by the renumbered packet. */
static void debugger_sync_packet_boot_attach(void **state)
{
	struct kd_link_config cfg;

	(void)state;
	kd_link_default_config(&cfg); /* 1 s repeat; the capture's client never repeated */
	start(KD_ROLE_DEBUGGER, &cfg);
	kd_link_start_reset(&h.link, 0);
	clear_output();
	feed_data(SYNC_ID, payload_a, sizeof(payload_a), 3504000);
	assert_int_equal(h.nwrites, 1);
	assert_control(0, KD_PACKET_TYPE_RESET, 0);
	assert_int_equal(h.link.reset_sent_at, 3504000);
	/* The kernel's resend crossing the new RESET gets nothing. */
	feed_data(SYNC_ID, payload_a, sizeof(payload_a), 3504000 + 499999);
	assert_int_equal(h.nwrites, 1);
	feed_control(KD_PACKET_TYPE_RESET, 0, 3506000);
	feed_data(ID0, payload_a, sizeof(payload_a), 3506100);
	feed_data(ID1, payload_b, sizeof(payload_b), 3507000);
	assert_string_equal(h.events, "RDD");
	assert_control(1, KD_PACKET_TYPE_ACKNOWLEDGE, ID0);
	assert_control(2, KD_PACKET_TYPE_ACKNOWLEDGE, ID1);

	/* Synchronised and a SYNC packet comes: the target restarted, RESET at once. */
	clear_output();
	feed_data(SYNC_ID, payload_a, sizeof(payload_a), 3507100);
	assert_int_equal(h.nwrites, 1);
	assert_control(0, KD_PACKET_TYPE_RESET, 0);
	assert_int_equal(h.link.stats.sync_packets, 3);
}

static void debugger_ignores_data_while_reset_pending(void **state)
{
	(void)state;
	start(KD_ROLE_DEBUGGER, NULL);
	kd_link_start_reset(&h.link, 0);
	clear_output();
	feed_data(ID0, payload_a, sizeof(payload_a), 1);
	feed_data(ID1, payload_a, sizeof(payload_a), 2);
	assert_int_equal(h.nwrites, 0);
	assert_int_equal(h.delivered, 0);
	assert_int_equal(h.link.stats.dropped_resetting, 2);
	/* A held packet goes out only after the answer; ACKs meanwhile are stale. */
	send_a(3);
	assert_true(kd_link_busy(&h.link));
	assert_int_equal(h.nwrites, 0);
	feed_control(KD_PACKET_TYPE_ACKNOWLEDGE, ID0, 4);
	feed_control(KD_PACKET_TYPE_RESEND, 0, 4);
	assert_int_equal(h.nwrites, 0);
	assert_true(kd_link_busy(&h.link));
	feed_control(KD_PACKET_TYPE_RESET, 0, 5);
	assert_int_equal(h.nwrites, 1);
	assert_data_id(0, ID0);
	assert_int_equal(h.link.stats.data_sent, 1);
	feed_control(KD_PACKET_TYPE_ACKNOWLEDGE, ID0, 6);
	assert_string_equal(h.events, "RA");
}

static void debugger_repeats_unanswered_reset(void **state)
{
	(void)state;
	start(KD_ROLE_DEBUGGER, NULL);
	kd_link_start_reset(&h.link, 0);
	kd_link_poll(&h.link, INTERVAL - 1);
	assert_int_equal(h.nwrites, 1);
	kd_link_poll(&h.link, INTERVAL);
	kd_link_poll(&h.link, 2 * INTERVAL + 5);
	assert_int_equal(h.nwrites, 3);
	assert_control(2, KD_PACKET_TYPE_RESET, 0);
	assert_int_equal(kd_link_deadline(&h.link), 3 * INTERVAL + 5);
	feed_control(KD_PACKET_TYPE_RESET, 0, 2 * INTERVAL + 6);
	kd_link_poll(&h.link, 10 * INTERVAL);
	assert_int_equal(h.nwrites, 3);
	assert_int_equal(h.link.stats.resets_sent, 3);
	assert_int_equal(kd_link_deadline(&h.link), KD_LINK_NO_DEADLINE);
}

/* ---- implied acknowledgement ------------------------------------------------------------ */

static void implicit_ack_completes_before_deliver(void **state)
{
	(void)state;
	start(KD_ROLE_TARGET, NULL);
	feed_data(ID0, payload_b, sizeof(payload_b), 0); /* the request */
	send_a(1);                                       /* the reply, its ACK gets lost */
	clear_output();
	feed_data(ID1, payload_b, sizeof(payload_b), 2); /* the next request */
	assert_string_equal(h.events, "DAD");
	assert_int_equal(h.nwrites, 1);
	assert_control(0, KD_PACKET_TYPE_ACKNOWLEDGE, ID1);
	assert_int_equal(h.link.next_id, ID1);
	assert_false(kd_link_busy(&h.link));

	/* A repeat of the old request is no answer to ours. */
	send_a(3);
	feed_data(ID1, payload_b, sizeof(payload_b), 4);
	assert_true(kd_link_busy(&h.link));
	assert_string_equal(h.events, "DAD");

	start(KD_ROLE_DEBUGGER, NULL);
	send_a(0);
	feed_data(ID0, payload_b, sizeof(payload_b), 1);
	assert_string_equal(h.events, "AD");
	assert_int_equal(h.link.next_id, ID1);
}

/* The owner may send again from send_done: the new packet carries the toggled id, and
 * after an implied ACK it follows our ACK of the packet that implied it. */
static void send_from_send_done_callback(void **state)
{
	(void)state;
	start(KD_ROLE_DEBUGGER, NULL);
	send_a(0);
	h.send_on_done = 1;
	feed_control(KD_PACKET_TYPE_ACKNOWLEDGE, ID0, 1);
	assert_int_equal(h.nwrites, 2);
	assert_data_id(1, ID1);
	assert_true(kd_link_busy(&h.link));

	h.send_on_done = 1;
	feed_data(ID0, payload_b, sizeof(payload_b), 2);
	assert_string_equal(h.events, "AAD");
	assert_int_equal(h.nwrites, 4);
	assert_control(2, KD_PACKET_TYPE_ACKNOWLEDGE, ID0);
	assert_data_id(3, ID0);
}

/* After a RESET the peer's first packet may be a resend of one older than ours: no
 * implied ACK. A packet of ours that crossed the RESET may have reached the peer only
 * under its old id: only an explicit ACK of the new id ends it. */
static void no_implicit_ack_across_reset(void **state)
{
	(void)state;
	start(KD_ROLE_DEBUGGER, NULL);
	feed_control(KD_PACKET_TYPE_RESET, 0, 0);
	send_a(1); /* after the RESET */
	feed_data(ID0, payload_b, sizeof(payload_b), 2); /* the target's resent packet */
	assert_string_equal(h.events, "RD");
	assert_true(kd_link_busy(&h.link));
	feed_data(ID1, payload_b, sizeof(payload_b), 3); /* sent after it got ours */
	assert_string_equal(h.events, "RDAD");

	start(KD_ROLE_DEBUGGER, NULL);
	send_a(0);
	feed_control(KD_PACKET_TYPE_RESET, 0, 1); /* ours goes out again as ID0 */
	feed_data(ID0, payload_b, sizeof(payload_b), 2);
	feed_data(ID1, payload_b, sizeof(payload_b), 3);
	assert_string_equal(h.events, "RDD");
	assert_true(kd_link_busy(&h.link));
	feed_control(KD_PACKET_TYPE_ACKNOWLEDGE, ID0, 4);
	assert_string_equal(h.events, "RDDA");
	/* The next send is free to be implied again. */
	send_a(5);
	feed_data(ID0, payload_b, sizeof(payload_b), 6);
	assert_string_equal(h.events, "RDDAAD");
}

/* A partial ACK left in the parser when a send is given up must not complete later: two
 * give-ups toggle the id back, and the stale ACK would match the next packet. */
static void give_up_drops_partial_input(void **state)
{
	static const uint8_t print[0x10] = { 0x30, 0x32 };
	uint8_t ack[KD_HEADER_SIZE];
	uint64_t now = 0;

	(void)state;
	start(KD_ROLE_TARGET, NULL);
	kd_control_build(ack, KD_PACKET_TYPE_ACKNOWLEDGE, ID0);
	kd_link_send(&h.link, KD_PACKET_TYPE_DEBUG_IO, print, sizeof(print), NULL, 0, now);
	feed(ack, KD_HEADER_SIZE - 1, now); /* the ACK lost its last byte */
	for (int i = 0; i < 2; i++) {
		now += TIMEOUT;
		kd_link_poll(&h.link, now);
		kd_link_send(&h.link, KD_PACKET_TYPE_DEBUG_IO, print, sizeof(print), NULL, 0, now);
	}
	assert_string_equal(h.events, "GG");
	assert_int_equal(h.link.next_id, SYNC_ID);
	feed(ack + KD_HEADER_SIZE - 1, 1, now); /* a byte that would complete it */
	assert_true(kd_link_busy(&h.link));
	assert_int_equal(h.link.stats.acks_received, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(initial_ids_per_role),
		cmocka_unit_test(send_builds_one_packet),
		cmocka_unit_test(ack_toggles_id),
		cmocka_unit_test(sync_bit_cleared_after_first_ack),
		cmocka_unit_test(wrong_ack_ignored),
		cmocka_unit_test(send_refuses_busy_and_oversize),
		cmocka_unit_test(target_duplicate_acked_delivered_once),
		cmocka_unit_test(debugger_duplicate_acked_delivered_once),
		cmocka_unit_test(bad_packets_answered_with_resend),
		cmocka_unit_test(breakin_callback_and_byte),
		cmocka_unit_test(unknown_control_ignored),
		cmocka_unit_test(resend_retransmits_identical_bytes),
		cmocka_unit_test(timeout_retransmits_then_gives_up),
		cmocka_unit_test(zero_max_retries_retries_forever),
		cmocka_unit_test(debug_io_gives_up_after_one_try),
		cmocka_unit_test(deadline_computation),
		cmocka_unit_test(cancel_reports_and_resynchronises),
		cmocka_unit_test(target_reset_mid_transfer),
		cmocka_unit_test(debugger_reset_from_target_mid_transfer),
		cmocka_unit_test(target_start_reset),
		cmocka_unit_test(debugger_answers_marked_reset_only),
		cmocka_unit_test(start_reset_while_pending_is_quiet),
		cmocka_unit_test(flush_on_reset_drops_rest_of_chunk),
		cmocka_unit_test(debugger_sync_packet_late_breakin),
		cmocka_unit_test(debugger_sync_packet_boot_attach),
		cmocka_unit_test(debugger_ignores_data_while_reset_pending),
		cmocka_unit_test(debugger_repeats_unanswered_reset),
		cmocka_unit_test(implicit_ack_completes_before_deliver),
		cmocka_unit_test(send_from_send_done_callback),
		cmocka_unit_test(no_implicit_ack_across_reset),
		cmocka_unit_test(give_up_drops_partial_input),
	};

	return cmocka_run_group_tests_name("kd_link", tests, NULL, NULL);
}
