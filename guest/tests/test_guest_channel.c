/* SPDX-License-Identifier: MIT */
/* The channel core against a fake device and a scripted relay: HELLO, KD packets both
 * ways, split and merged frames, link state, break-in, resync, stats, back-pressure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_relay.h"
#include "fake_vser.h"
#include "kdvm_channel.h"

#define PAGES 40u
#define STATUS_PORT (0xc040u + 0x12u)

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
	not_present = 0x55;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(f->bad_dma, 0);
	fake_relay_free(r);
	fake_vser_free(f);
	free(f);
	free(ch);
	free(mem);
	return 0;
}

static int init(void)
{
	return kdvm_channel_init(ch, &f->plat, mem, PAGES * 4096u, NULL, &not_present);
}

/* Relay connected before boot, answers HELLO with "debugger attached". */
static void up(void)
{
	f->dev[0].ports[0].host_connected = 1;
	assert_int_equal(init(), 0);
	assert_int_equal(r->hellos, 1);
	assert_int_equal(ch->link, KDVM_LINK_UP);
	assert_true(kdvm_channel_debugger_present(ch));
	assert_int_equal(not_present, 0);
}

static uint16_t txq(void)
{
	return (uint16_t)(fake_port_rxq(f, 0, 0) + 1);
}

/* ---- start-up ------------------------------------------------------------------------ */

static void hello_at_init_with_relay(void **state)
{
	struct vmkd_hello h;
	struct vmkd_frame_header fh;

	(void)state;
	up();
	/* The first bytes on the wire are the HELLO frame. */
	memcpy(&fh, f->host_rx, sizeof(fh));
	assert_int_equal(fh.magic, VMKD_FRAME_MAGIC);
	assert_int_equal(fh.type, VMKD_FRAME_HELLO);
	assert_int_equal(fh.length, sizeof(h));
	memcpy(&h, f->host_rx + sizeof(fh), sizeof(h));
	assert_int_equal(h.capabilities, VMKD_CAP_KD_PACKETS | VMKD_CAP_STATS);
	assert_int_equal(h.max_payload, VMKD_FRAME_MAX_PAYLOAD);
	assert_string_equal(h.agent, KDVM_AGENT);
}

static void no_relay_drops_and_sets_not_present(void **state)
{
	uint8_t hdr[16] = { 1 };
	uint64_t notifies;

	(void)state;
	assert_int_equal(init(), 0);
	assert_int_equal(not_present, 1);
	assert_int_equal(ch->link, KDVM_LINK_DOWN);
	notifies = f->dev[0].q[txq()].notifies;
	not_present = 0;
	assert_int_equal(kdvm_channel_send_kd(ch, 7, hdr, sizeof(hdr), NULL, 0), KDVM_SEND_NO_RELAY);
	assert_int_equal(not_present, 1);
	assert_int_equal(f->dev[0].q[txq()].notifies, notifies); /* QEMU would drop it anyway */
	assert_int_equal(f->host_rx_len, 0);
}

static void relay_connects_later(void **state)
{
	uint8_t hdr[8] = { 9 };

	(void)state;
	assert_int_equal(init(), 0);
	assert_int_equal(r->hellos, 0);
	fake_host_connect(f, 1);
	/* A poll notices the connect and says HELLO; the ACK arrives with the next look. */
	assert_int_equal(kdvm_channel_poll_breakin(ch), 0);
	assert_int_equal(r->hellos, 1);
	assert_int_equal(kdvm_channel_poll_breakin(ch), 0);
	assert_int_equal(ch->link, KDVM_LINK_UP);
	assert_int_equal(not_present, 0);
	assert_int_equal(kdvm_channel_send_kd(ch, 3, hdr, sizeof(hdr), NULL, 0), KDVM_SENT);
	assert_int_equal(r->kd_packets, 1);
}

static void relay_announces_debugger_before_hello(void **state)
{
	(void)state;
	assert_int_equal(init(), 0);
	fake_host_connect(f, 1);
	/* The real relay says DEBUGGER(x) as soon as the chardev connects. */
	fake_relay_send_debugger(r, 1);
	assert_int_equal(kdvm_channel_poll_breakin(ch), 0);
	assert_int_equal(r->hellos, 1);
	assert_int_equal(kdvm_channel_poll_breakin(ch), 0);
	assert_int_equal(ch->link, KDVM_LINK_UP);
	assert_true(kdvm_channel_debugger_present(ch));
}

static void relay_without_hello_ack(void **state)
{
	uint8_t hdr[8] = { 9 };
	uint64_t clock0;

	(void)state;
	r->auto_ack = 0;
	f->dev[0].ports[0].host_connected = 1;
	clock0 = f->clock;
	assert_int_equal(init(), 0);
	assert_int_equal(ch->link, KDVM_LINK_HELLO_SENT);
	/* The init waited about hello_timeout (200 ms) once; sends do not wait again. */
	assert_true(f->clock - clock0 >= 200000);
	clock0 = f->clock;
	assert_int_equal(kdvm_channel_send_kd(ch, 3, hdr, sizeof(hdr), NULL, 0), KDVM_SEND_NO_RELAY);
	assert_true(f->clock - clock0 < 10000);
	assert_int_equal(not_present, 1);
	/* A late HELLO_ACK brings the link up. */
	{
		struct vmkd_hello h = { .debugger = 1 };

		fake_relay_send(r, VMKD_FRAME_HELLO_ACK, &h, sizeof(h));
	}
	assert_int_equal(kdvm_channel_send_kd(ch, 3, hdr, sizeof(hdr), NULL, 0), KDVM_SENT);
	assert_int_equal(not_present, 0);
}

static void relay_without_debugger(void **state)
{
	uint8_t hdr[8] = { 9 };

	(void)state;
	r->debugger = 0;
	f->dev[0].ports[0].host_connected = 1;
	assert_int_equal(init(), 0);
	assert_int_equal(ch->link, KDVM_LINK_UP);
	assert_false(kdvm_channel_debugger_present(ch));
	assert_int_equal(not_present, 1);
	assert_int_equal(kdvm_channel_send_kd(ch, 3, hdr, sizeof(hdr), NULL, 0),
			 KDVM_SEND_NO_DEBUGGER);
	assert_int_equal(r->kd_packets, 0);
}

/* ---- prints for the host's log (VMKD_CAP_HOST_LOG) ----------------------------------- */

/* A DbgPrint's header: DBGKD_DEBUG_IO with PrintString (or a prompt's GetString). */
static void debug_io_hdr(uint8_t *hdr, size_t len, uint32_t api)
{
	memset(hdr, 0, len);
	memcpy(hdr, &api, sizeof(api));
}

/* Relay with its log and no debugger: KdDebuggerNotPresent stays clear, prints are sent
 * without waiting for anything, everything else is dropped as with no debugger. */
static void host_log_prints_sent_without_debugger(void **state)
{
	uint8_t hdr[16], text[] = "line\n", sc[16] = { 0x30, 0x30 };
	uint64_t polls, received;

	(void)state;
	r->debugger = 0;
	r->ack_caps = VMKD_CAP_HOST_LOG;
	f->dev[0].ports[0].host_connected = 1;
	assert_int_equal(init(), 0);
	assert_int_equal(ch->link, KDVM_LINK_UP);
	assert_false(kdvm_channel_debugger_present(ch));
	assert_int_equal(not_present, 0);

	debug_io_hdr(hdr, sizeof(hdr), KD_API_PRINT_STRING);
	polls = ch->stats.polls;
	received = ch->stats.packets_received;
	for (int i = 0; i < 3; i++)
		assert_int_equal(kdvm_channel_send_kd(ch, KD_PACKET_TYPE_DEBUG_IO, hdr, sizeof(hdr),
						      text, sizeof(text) - 1), KDVM_SENT);
	/* Fire and forget: no wait loop ran, nothing was read. */
	assert_int_equal(ch->stats.polls, polls);
	assert_int_equal(ch->stats.tx_waits, 0);
	assert_int_equal(ch->stats.packets_received, received);
	assert_int_equal(ch->stats.prints_to_host_log, 3);
	assert_int_equal(not_present, 0);
	fake_relay_poll(r);
	assert_int_equal(r->kd_packets, 3);
	assert_int_equal(r->last_kd_type, KD_PACKET_TYPE_DEBUG_IO);
	assert_int_equal(r->last_kd_len, sizeof(hdr) + sizeof(text) - 1);

	/* A state change finds no debugger: dropped, and the flag tells the kernel to go on
	 * (KdpSendWaitContinue checks it right after the send). */
	assert_int_equal(kdvm_channel_send_kd(ch, KD_PACKET_TYPE_STATE_CHANGE64, sc, sizeof(sc),
					      NULL, 0), KDVM_SEND_NO_DEBUGGER);
	assert_int_equal(not_present, 1);
	/* KdExitDebugger (KdRestore(FALSE)) clears it again for the next DbgPrint. */
	kdvm_channel_debugger_exit(ch);
	assert_int_equal(not_present, 0);
	/* A prompt waits for an answer nobody gives: not for the log. */
	debug_io_hdr(hdr, sizeof(hdr), KD_API_GET_STRING);
	assert_int_equal(kdvm_channel_send_kd(ch, KD_PACKET_TYPE_DEBUG_IO, hdr, sizeof(hdr),
					      text, 4), KDVM_SEND_NO_DEBUGGER);
	fake_relay_poll(r);
	assert_int_equal(r->kd_packets, 3);

	/* DEBUGGER(0) again (a debugger came and went): the host still listens. */
	fake_relay_send_debugger(r, 1);
	assert_int_equal(kdvm_channel_poll_breakin(ch), 0);
	fake_relay_send_debugger(r, 0);
	assert_int_equal(kdvm_channel_poll_breakin(ch), 0);
	assert_int_equal(not_present, 0);
	debug_io_hdr(hdr, sizeof(hdr), KD_API_PRINT_STRING);
	assert_int_equal(kdvm_channel_send_kd(ch, KD_PACKET_TYPE_DEBUG_IO, hdr, sizeof(hdr),
					      text, 4), KDVM_SENT);
	assert_int_equal(ch->stats.prints_to_host_log, 4);
}

/* An old relay (no VMKD_CAP_HOST_LOG): prints with no debugger are dropped as before. */
static void no_host_log_prints_dropped(void **state)
{
	uint8_t hdr[16], text[] = "line\n";

	(void)state;
	r->debugger = 0;
	f->dev[0].ports[0].host_connected = 1;
	assert_int_equal(init(), 0);
	assert_int_equal(not_present, 1);
	debug_io_hdr(hdr, sizeof(hdr), KD_API_PRINT_STRING);
	assert_int_equal(kdvm_channel_send_kd(ch, KD_PACKET_TYPE_DEBUG_IO, hdr, sizeof(hdr),
					      text, sizeof(text) - 1), KDVM_SEND_NO_DEBUGGER);
	kdvm_channel_debugger_exit(ch);
	assert_int_equal(not_present, 1);
	fake_relay_poll(r);
	assert_int_equal(r->kd_packets, 0);
	assert_int_equal(ch->stats.prints_to_host_log, 0);
}

/* With a debugger attached the capability changes nothing: prints are ordinary sends. */
static void host_log_with_debugger_is_ordinary(void **state)
{
	uint8_t hdr[16], text[] = "line\n";

	(void)state;
	r->ack_caps = VMKD_CAP_HOST_LOG;
	up();
	debug_io_hdr(hdr, sizeof(hdr), KD_API_PRINT_STRING);
	assert_int_equal(kdvm_channel_send_kd(ch, KD_PACKET_TYPE_DEBUG_IO, hdr, sizeof(hdr),
					      text, sizeof(text) - 1), KDVM_SENT);
	assert_int_equal(ch->stats.prints_to_host_log, 0);
	fake_relay_poll(r);
	assert_int_equal(r->kd_packets, 1);
	/* The relay goes away: the next relay's HELLO_ACK decides again. */
	fake_host_connect(f, 0);
	assert_int_equal(kdvm_channel_send_kd(ch, KD_PACKET_TYPE_DEBUG_IO, hdr, sizeof(hdr),
					      text, 4), KDVM_SEND_NO_RELAY);
	assert_int_equal(not_present, 1);
	assert_int_equal(ch->host_log, 0);
}

/* ---- sending ------------------------------------------------------------------------- */

static void send_is_one_frame_one_notify(void **state)
{
	uint8_t hdr[0x38], data[3000];
	uint64_t notifies, io;

	(void)state;
	up();
	for (size_t i = 0; i < sizeof(hdr); i++)
		hdr[i] = (uint8_t)(0xA0 + i);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 5);
	for (int k = 0; k < 10; k++) {
		notifies = f->dev[0].q[txq()].notifies;
		io = ch->vser.io.total;
		assert_int_equal(kdvm_channel_send_kd(ch, 2, hdr, sizeof(hdr), data, sizeof(data)),
				 KDVM_SENT);
		assert_int_equal(f->dev[0].q[txq()].notifies, notifies + 1);
		/* The notify and the entry's device check are the only I/O. */
		assert_int_equal(ch->vser.io.total, io + 1 + VSER_CHECK_PORT_IO);
		assert_int_equal(r->last_kd_type, 2);
		assert_int_equal(r->last_kd_len, sizeof(hdr) + sizeof(data));
		assert_memory_equal(r->last_kd, hdr, sizeof(hdr));
		assert_memory_equal(r->last_kd + sizeof(hdr), data, sizeof(data));
	}
	assert_int_equal(r->kd_packets, 10);
	assert_int_equal(ch->stats.packets_sent, 10);
	assert_int_equal(ch->vser.io.while_polling, 0);
}

static void send_too_big(void **state)
{
	static uint8_t big[KD_MAX_PAYLOAD + 1];

	(void)state;
	up();
	assert_int_equal(kdvm_channel_send_kd(ch, 2, big, 100, big, KD_MAX_PAYLOAD - 99),
			 KDVM_SEND_TOO_BIG);
	assert_int_equal(kdvm_channel_send_kd(ch, 2, big, 100, big, KD_MAX_PAYLOAD - 100),
			 KDVM_SENT);
	assert_int_equal(r->last_kd_len, KD_MAX_PAYLOAD);
}

/* A host that stops reading: sends go on without waiting while the device has room, then
 * one waits tx_timeout (2 s: a relay back-pressures a slow debugger that long) and is
 * dropped (KdDebuggerNotPresent untouched); the next ones are dropped at once while the
 * device has taken nothing; once the host reads again, sends flow and nothing sent before
 * was lost. */
static void send_with_stalled_host(void **state)
{
	uint8_t hdr[8] = { 1 };
	uint64_t clock0;

	(void)state;
	up();
	f->tx_hold = 1;
	clock0 = f->clock;
	for (unsigned i = 0; i < VSER_TX_DESCS; i++)
		assert_int_equal(kdvm_channel_send_kd(ch, 3, hdr, sizeof(hdr), NULL, 0), KDVM_SENT);
	assert_int_equal(ch->stats.tx_waits, 0);
	assert_true(f->clock - clock0 < 1000); /* nobody waited */
	assert_int_equal(kdvm_channel_send_kd(ch, 3, hdr, sizeof(hdr), NULL, 0), KDVM_SEND_BUSY);
	assert_int_equal(ch->stats.tx_timeouts, 1);
	assert_true(f->clock - clock0 >= 2000000);
	assert_int_equal(not_present, 0); /* a stalled host is not a missing debugger */
	clock0 = f->clock;
	for (int i = 0; i < 3; i++)
		assert_int_equal(kdvm_channel_send_kd(ch, 3, hdr, sizeof(hdr), NULL, 0),
				 KDVM_SEND_BUSY);
	assert_true(f->clock - clock0 < 1000); /* one wait per stall, not one per packet */
	assert_int_equal(ch->stats.tx_timeouts, 1);
	assert_int_equal(ch->stats.tx_stalled_drops, 3);
	fake_tx_release(f);
	assert_int_equal(kdvm_channel_send_kd(ch, 3, hdr, sizeof(hdr), NULL, 0), KDVM_SENT);
	assert_int_equal(r->kd_packets, VSER_TX_DESCS + 1);
	/* The stall is over: a full ring makes the sender wait again. */
	assert_int_equal(ch->tx_stalled, 0);
	assert_int_equal(ch->vser.io.while_polling, 0);
}

/* Pipelined sends: each returns at once (one notify, no wait), several frames are with the
 * device together, and the relay gets them in order, each once. */
static void sends_are_pipelined(void **state)
{
	uint32_t line[4];
	uint64_t polls, notifies;

	(void)state;
	up();
	f->tx_hold = 1;
	polls = ch->stats.polls;
	notifies = f->dev[0].q[txq()].notifies;
	for (uint32_t i = 0; i < 20; i++) {
		line[0] = 1000 + i;
		assert_int_equal(kdvm_channel_send_kd(ch, 3, line, sizeof(line), NULL, 0), KDVM_SENT);
	}
	assert_int_equal(ch->stats.polls, polls);
	assert_int_equal(f->dev[0].q[txq()].notifies, notifies + 20);
	assert_int_equal(ch->vser.stats.tx_max_in_flight, 20);
	assert_int_equal(r->kd_packets, 0);
	fake_tx_release(f);
	fake_relay_poll(r);
	assert_int_equal(r->kd_packets, 20);
	for (int i = 0; i < 20; i++)
		assert_int_equal(r->kd_log[i], 1000 + i);
	assert_int_equal(r->seq_gaps, 0);
	/* The device returned all twenty in one batch; the next send reclaims them (its
	 * own frame is reclaimed by a later one). */
	assert_int_equal(kdvm_channel_send_kd(ch, 3, line, sizeof(line), NULL, 0), KDVM_SENT);
	assert_int_equal(vser_tx_in_flight(&ch->vser), 1);
	assert_int_equal(ch->vser.stats.bad_used, 0);
}

/* One DbgPrint: its PrintString header and text. */
static enum kdvm_send_result send_print(unsigned no)
{
	struct kd_debug_io io = { .api_number = KD_API_PRINT_STRING };
	char text[32];
	int n = snprintf(text, sizeof(text), "line %u\n", no);

	io.length_of_string = (uint32_t)n;
	return kdvm_channel_send_kd(ch, KD_PACKET_TYPE_DEBUG_IO, &io, sizeof(io), text,
				    (size_t)n);
}

/* A burst of DbgPrints while the device is busy with the first: that one is notified, the
 * rest ride on it (the device takes frames until the ring is empty); a packet of any other
 * kind is always notified; nothing is lost or reordered. */
static void dbgprint_burst_shares_the_notify(void **state)
{
	uint64_t notifies;
	uint8_t hdr[16] = { 1 };

	(void)state;
	up();
	f->tx_hold = 1;
	notifies = f->dev[0].q[txq()].notifies;
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(send_print(i), KDVM_SENT);
	assert_int_equal(f->dev[0].q[txq()].notifies, notifies + 1);
	assert_int_equal(ch->vser.stats.tx_kicks_deferred, 9);
	assert_true(ch->kick_owed);
	/* Not a DbgPrint: notified even while the device is busy. */
	assert_int_equal(kdvm_channel_send_kd(ch, 2, hdr, sizeof(hdr), NULL, 0), KDVM_SENT);
	assert_int_equal(f->dev[0].q[txq()].notifies, notifies + 2);
	assert_false(ch->kick_owed);
	fake_tx_release(f);
	fake_relay_poll(r);
	assert_int_equal(r->kd_packets, 11);
	assert_int_equal(r->seq_gaps, 0);
	/* The device idle again: the next DbgPrint is notified at once. */
	assert_int_equal(send_print(10), KDVM_SENT);
	assert_int_equal(f->dev[0].q[txq()].notifies, notifies + 3);
	assert_false(ch->kick_owed);
	fake_relay_poll(r);
	assert_int_equal(r->kd_packets, 12);
	assert_memory_equal(r->last_kd + sizeof(struct kd_debug_io), "line 10\n", 8);
	assert_int_equal(ch->vser.io.while_polling, 0);
}

/* The device went idle just as a DbgPrint looked at its index (it had finished the earlier
 * frames but not seen this one): the owed notify goes out after KDVM_KICK_RESCUE_POLLS
 * break-in polls, once; if the device took the frames meanwhile, no notify at all. */
static void owed_notify_is_paid_by_polls(void **state)
{
	uint64_t notifies;

	(void)state;
	up();
	f->tx_hold = 1;
	notifies = f->dev[0].q[txq()].notifies;
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(send_print(i), KDVM_SENT);
	assert_int_equal(f->dev[0].q[txq()].notifies, notifies + 1);
	/* It stops holding without looking again: four frames it has not seen. */
	f->tx_hold = 0;
	for (unsigned i = 0; i + 1 < KDVM_KICK_RESCUE_POLLS; i++)
		assert_int_equal(kdvm_channel_poll_breakin(ch), 0);
	assert_int_equal(f->dev[0].q[txq()].notifies, notifies + 1);
	assert_int_equal(kdvm_channel_poll_breakin(ch), 0);
	assert_int_equal(f->dev[0].q[txq()].notifies, notifies + 2);
	assert_int_equal(ch->vser.stats.tx_kicks_late, 1);
	fake_relay_poll(r);
	assert_int_equal(r->kd_packets, 5);
	assert_int_equal(r->seq_gaps, 0);
	for (unsigned i = 0; i < 2 * KDVM_KICK_RESCUE_POLLS; i++)
		kdvm_channel_poll_breakin(ch);
	assert_int_equal(f->dev[0].q[txq()].notifies, notifies + 2);

	/* Taken by the device before the polls ran out: the debt is paid without I/O. */
	f->tx_hold = 1;
	assert_int_equal(send_print(5), KDVM_SENT);
	assert_int_equal(send_print(6), KDVM_SENT);
	assert_int_equal(f->dev[0].q[txq()].notifies, notifies + 3);
	fake_tx_release(f);
	for (unsigned i = 0; i < KDVM_KICK_RESCUE_POLLS; i++)
		kdvm_channel_poll_breakin(ch);
	assert_int_equal(f->dev[0].q[txq()].notifies, notifies + 3);
	assert_false(ch->kick_owed);
	fake_relay_poll(r);
	assert_int_equal(r->kd_packets, 7);
	assert_int_equal(ch->vser.io.while_polling, 0);
}

/* Every descriptor with the device: the next send waits (memory-only) until the host reads
 * again, then goes out behind the others. */
static void full_ring_makes_the_sender_wait(void **state)
{
	uint32_t line[2];

	(void)state;
	up();
	f->tx_hold = 1;
	for (uint32_t i = 0; i < VSER_TX_DESCS; i++) {
		line[0] = i;
		assert_int_equal(kdvm_channel_send_kd(ch, 3, line, sizeof(line), NULL, 0), KDVM_SENT);
	}
	f->tx_release_after = 50; /* the host reads again after 50 clock reads */
	line[0] = VSER_TX_DESCS;
	assert_int_equal(kdvm_channel_send_kd(ch, 3, line, sizeof(line), NULL, 0), KDVM_SENT);
	assert_int_equal(ch->stats.tx_waits, 1);
	assert_int_equal(ch->stats.tx_timeouts, 0);
	fake_relay_poll(r);
	assert_int_equal(r->kd_packets, VSER_TX_DESCS + 1);
	for (uint32_t i = 0; i <= VSER_TX_DESCS; i++)
		assert_int_equal(r->kd_log[i], i);
	assert_int_equal(ch->vser.io.while_polling, 0);
}

/* The device is reset (another owner) while frames are in flight and the kernel waits for
 * an answer: the frames are counted lost, the DbgPrint among them goes out again after the
 * HELLO, and the receive asks the kernel to send its state again (NeedsResend), which then
 * goes out on the new rings. */
static void reset_with_frames_in_flight_asks_for_a_resend(void **state)
{
	uint8_t sc[0xF0] = { 0x11 }, hdr[0x38], data[16];
	size_t hl, dl;

	(void)state;
	up();
	f->tx_hold = 1;
	assert_int_equal(send_print(7), KDVM_SENT);
	assert_int_equal(kdvm_channel_send_kd(ch, 7, sc, sizeof(sc), NULL, 0), KDVM_SENT);
	/* A receive that follows a send does not check; the next one does. */
	assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_TIMEOUT);
	f->plat.outb(f, STATUS_PORT, 0);
	f->tx_hold = 0;
	assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_RESYNC);
	assert_int_equal(ch->vser.stats.tx_lost, 2);
	assert_int_equal(ch->stats.resends_asked, 1);
	assert_int_equal(r->hellos, 2);
	/* The print went out again with the HELLO, before the kernel resends its state. */
	assert_int_equal(ch->stats.prints_resent, 1);
	assert_int_equal(r->kd_packets, 1);
	assert_string_equal(r->printed, "line 7\n");
	sc[0] = 0x22;
	assert_int_equal(kdvm_channel_send_kd(ch, 7, sc, sizeof(sc), NULL, 0), KDVM_SENT);
	fake_relay_poll(r);
	assert_int_equal(r->kd_packets, 2);
	assert_int_equal(r->last_kd[0], 0x22);
	/* Asked once: the next receive just waits. */
	assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_TIMEOUT);
	assert_int_equal(ch->vser.io.while_polling, 0);
}

/* The device is reset by someone else while DbgPrints are in flight (the host was slow to
 * take them): the next print finds the reset, says HELLO again, and the lines the reset
 * took go out again first: every line arrives, in order, once, and the kernel is not asked
 * to resend anything (it waits for no answer to a print). */
static void reset_resends_prints_in_flight(void **state)
{
	(void)state;
	up();
	f->tx_hold = 1;
	for (unsigned i = 1; i <= 5; i++)
		assert_int_equal(send_print(i), KDVM_SENT);
	assert_int_equal(vser_tx_in_flight(&ch->vser), 5);
	f->plat.outb(f, STATUS_PORT, 0);
	f->tx_hold = 0;
	assert_int_equal(send_print(6), KDVM_SENT);
	fake_relay_poll(r);
	assert_int_equal(ch->vser.stats.tx_lost, 5);
	assert_int_equal(r->hellos, 2);
	assert_int_equal(ch->stats.prints_resent, 5);
	assert_int_equal(ch->stats.prints_resend_dropped, 0);
	assert_string_equal(r->printed, "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\n");
	assert_int_equal(ch->stats.resends_asked, 0);
	assert_int_equal(ch->vser.io.while_polling, 0);
	/* Sent once: a later reset has nothing left to send again. */
	f->plat.outb(f, STATUS_PORT, 0);
	assert_int_equal(send_print(7), KDVM_SENT);
	fake_relay_poll(r);
	assert_int_equal(r->hellos, 3);
	assert_int_equal(ch->stats.prints_resent, 5);
	assert_string_equal(r->printed + strlen(r->printed) - 7, "line 7\n");
	assert_int_equal(r->kd_packets, 7);
}

/* Before sleep or hibernation the frames in flight leave the VM, then the device is
 * reset. */
static void power_down_lets_frames_in_flight_leave(void **state)
{
	uint32_t line[2] = { 9, 0 };

	(void)state;
	up();
	f->tx_hold = 1;
	assert_int_equal(kdvm_channel_send_kd(ch, 3, line, sizeof(line), NULL, 0), KDVM_SENT);
	f->tx_release_after = 20;
	kdvm_channel_power_down(ch);
	assert_int_equal(f->dev[0].status, 0);
	fake_relay_poll(r);
	assert_int_equal(r->kd_packets, 1);
	assert_int_equal(r->kd_log[0], 9);
	assert_int_equal(ch->vser.stats.tx_lost, 0);
}

/* A power-down while the relay back-pressures a slow debugger: the frames in flight are
 * waited for (up to a send's 2 s, here ~1 s of clock), not dropped after a short drain:
 * the test kernel's last lines before it exits went that way. */
static void power_down_waits_for_a_slow_host(void **state)
{
	uint32_t line[2] = { 11, 0 };
	uint64_t clock0;

	(void)state;
	up();
	f->tx_hold = 1;
	assert_int_equal(kdvm_channel_send_kd(ch, 3, line, sizeof(line), NULL, 0), KDVM_SENT);
	clock0 = f->clock;
	f->tx_release_after = (uint32_t)(1000000 / (f->clock_step ? f->clock_step : 1));
	kdvm_channel_power_down(ch);
	assert_true(f->clock - clock0 >= 900000);
	fake_relay_poll(r);
	assert_int_equal(r->kd_packets, 1);
	assert_int_equal(r->kd_log[0], 11);
	assert_int_equal(ch->vser.stats.tx_lost, 0);
	assert_int_equal(ch->stats.tx_timeouts, 0);
}

/* A DbgPrint flood while the debugger sends requests: every line arrives in order and
 * once, every request is answered, and the device returns its buffers in batches. */
static void dbgprint_flood_with_requests(void **state)
{
	uint8_t req[0x38] = { 0 }, hdr[0x38], data[16], reply[0x38];
	uint32_t line[8], lines = 0;
	size_t hl, dl;
	int answered = 0;

	(void)state;
	up();
	for (int round = 0; round < 40; round++) {
		/* The host reads in bursts: buffers come back several at a time. */
		f->tx_hold = 1;
		f->tx_release_after = 3 + (uint32_t)(round % 5);
		for (int k = 0; k < 25; k++) {
			line[0] = 0x10000u + lines++;
			assert_int_equal(kdvm_channel_send_kd(ch, 3, line, sizeof(line), NULL, 0),
					 KDVM_SENT);
			assert_int_equal(kdvm_channel_poll_breakin(ch), 0);
		}
		/* A request (the debugger's), answered by the kernel. */
		req[0] = (uint8_t)round;
		fake_relay_send_kd(r, 2, req, sizeof(req));
		assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, data,
							 sizeof(data), &dl), KDVM_RECV_OK);
		assert_int_equal(hdr[0], round);
		memset(reply, 0, sizeof(reply));
		reply[0] = 0xEE;
		reply[1] = (uint8_t)round;
		assert_int_equal(kdvm_channel_send_kd(ch, 2, reply, sizeof(reply), NULL, 0),
				 KDVM_SENT);
		answered++;
	}
	fake_tx_release(f);
	fake_relay_poll(r);
	assert_int_equal(r->kd_packets, (int)lines + answered);
	assert_int_equal(r->seq_gaps, 0);
	for (int i = 0, l = 0, a = 0; i < r->kd_logged; i++) {
		if (!(r->kd_log[i] >> 16)) /* a reply: 0xEE, round, 0, 0 */
			assert_int_equal((r->kd_log[i] >> 8) & 0xFF, a++);
		else
			assert_int_equal(r->kd_log[i], 0x10000u + (uint32_t)l++);
	}
	assert_true(ch->vser.stats.tx_max_in_flight > 1);
	assert_int_equal(ch->vser.stats.bad_used, 0);
	assert_int_equal(ch->vser.io.while_polling, 0);
}

/* ---- receiving ----------------------------------------------------------------------- */

static void receive_split_merged_frames(void **state)
{
	static uint8_t stream[2 * VMKD_FRAME_MAX_BYTES + 100];
	uint8_t kd[0x38 + 500], hdr[0x38], data[1000];
	size_t len = 0, hl, dl;

	(void)state;
	up();
	for (size_t i = 0; i < sizeof(kd); i++)
		kd[i] = (uint8_t)(i * 11);
	memcpy(stream, "noise", 5); /* the parser must skip it */
	len = 5;
	len += fake_relay_build_kd(r, stream + len, sizeof(stream) - len, 2, kd, sizeof(kd));
	len += fake_relay_build(r, stream + len, sizeof(stream) - len, VMKD_FRAME_BREAKIN, NULL, 0);
	f->rx_chunk = 7; /* every frame spread over many buffers, the two merged in one */
	fake_host_write(f, stream, len);
	assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_OK);
	assert_int_equal(hl, 0x38);
	assert_int_equal(dl, 500);
	assert_memory_equal(hdr, kd, 0x38);
	assert_memory_equal(data, kd + 0x38, 500);
	assert_int_equal(kdvm_channel_poll_breakin(ch), 1);
	assert_int_equal(kdvm_channel_poll_breakin(ch), 0);
	assert_int_equal(ch->parser.stats.skipped_bytes, 5);
	/* 7-byte buffers run the ring dry again and again: those kicks are the only I/O
	 * while polling (the first kick of all was the set-up's). */
	assert_int_equal(ch->vser.io.while_polling, ch->vser.stats.rx_kicks - 1);
}

static void receive_short_packet_fills_header_only(void **state)
{
	uint8_t kd[0x10] = { 1, 2, 3 }, hdr[0x38], data[16];
	size_t hl, dl;

	(void)state;
	up();
	fake_relay_send_kd(r, 3, kd, sizeof(kd));
	assert_int_equal(kdvm_channel_receive_kd(ch, 3, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_OK);
	assert_int_equal(hl, sizeof(kd));
	assert_int_equal(dl, 0);
}

static void receive_timeout_is_memory_only(void **state)
{
	uint8_t hdr[0x38], data[16];
	size_t hl, dl;
	uint64_t io, clock0;

	(void)state;
	up();
	io = ch->vser.io.total;
	clock0 = f->clock;
	assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_TIMEOUT);
	assert_true(f->clock - clock0 >= 100000 && f->clock - clock0 < 110000);
	/* One device check on entry, none in the wait loop. */
	assert_int_equal(ch->vser.io.total, io + VSER_CHECK_PORT_IO);
	assert_int_equal(ch->vser.io.while_polling, 0);
	assert_true(ch->stats.polls > 1000);
}

static void receive_drops_wrong_type_and_oversize(void **state)
{
	uint8_t kd[0x38 + 100] = { 0 }, hdr[0x38], data[50];
	size_t hl, dl;

	(void)state;
	up();
	fake_relay_send_kd(r, 3, kd, sizeof(kd));      /* wrong type */
	fake_relay_send_kd(r, 2, kd, sizeof(kd));      /* data does not fit 50 bytes */
	kd[0] = 0x42;
	fake_relay_send_kd(r, 2, kd, 0x38 + 40);       /* this one fits */
	assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_OK);
	assert_int_equal(hdr[0], 0x42);
	assert_int_equal(dl, 40);
	assert_int_equal(ch->stats.recv_dropped_type, 1);
	assert_int_equal(ch->stats.recv_dropped_size, 1);
	/* Without a data buffer, a packet with data is dropped. */
	fake_relay_send_kd(r, 2, kd, sizeof(kd));
	assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, NULL, 0, &dl),
			 KDVM_RECV_TIMEOUT);
	assert_int_equal(ch->stats.recv_dropped_size, 2);
}

static void malformed_frames_are_counted(void **state)
{
	uint8_t buf[64];
	size_t n;
	uint8_t hdr[0x38], data[16];
	size_t hl, dl;
	const uint8_t bad_kd[8] = { 2, 0, 0, 0, 99, 0, 0, 0 }; /* length field lies */
	struct vmkd_guest_stats s;

	(void)state;
	up();
	n = fake_relay_build(r, buf, sizeof(buf), VMKD_FRAME_KD_PACKET, bad_kd, sizeof(bad_kd));
	fake_host_write(f, buf, n);
	n = fake_relay_build(r, buf, sizeof(buf), VMKD_FRAME_DEBUGGER, NULL, 0); /* too short */
	fake_host_write(f, buf, n);
	n = fake_relay_build(r, buf, sizeof(buf), VMKD_FRAME_HELLO, NULL, 0);    /* wrong way */
	fake_host_write(f, buf, n);
	n = fake_relay_build(r, buf, sizeof(buf), VMKD_FRAME_BREAKIN, NULL, 0);
	buf[4] = 9; /* bad version */
	fake_host_write(f, buf, n);
	assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_TIMEOUT);
	assert_int_equal(ch->stats.frames_rejected, 2);
	assert_int_equal(ch->stats.frames_unexpected, 1);
	assert_int_equal(ch->breakin, 0);
	kdvm_channel_guest_stats(ch, &s);
	assert_int_equal(s.frames_rejected, 3);
}

static void many_packets_through_a_small_ring(void **state)
{
	static uint8_t kd[KD_MAX_PAYLOAD], hdr[0x38], data[KD_MAX_PAYLOAD];
	size_t hl, dl;

	(void)state;
	up();
	for (int k = 0; k < 50; k++) {
		memset(kd, k, sizeof(kd));
		fake_relay_send_kd(r, 2, kd, sizeof(kd)); /* 50 x 4024 bytes: 8 buffers run dry */
	}
	for (int k = 0; k < 50; k++) {
		assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, data,
							 sizeof(data), &dl), KDVM_RECV_OK);
		assert_int_equal(hdr[0], k);
		assert_int_equal(data[dl - 1], k);
		assert_int_equal(dl, KD_MAX_PAYLOAD - 0x38);
	}
	assert_int_equal(ch->stats.packets_received, 50);
	/* The only I/O while polling: kicks after the ring ran empty. */
	assert_int_equal(ch->vser.io.while_polling, ch->vser.stats.rx_kicks - 1);
	assert_true(ch->vser.stats.rx_kicks > 1);
}

static void request_reply_round_trip(void **state)
{
	uint8_t sc[0xF0] = { 7 }, req[0x38] = { 0x30, 0x31 }, hdr[0x38], data[64];
	uint8_t frame[VMKD_FRAME_MAX_BYTES];
	size_t hl, dl;

	(void)state;
	up();
	/* The relay answers the state change with a request, at once. */
	r->reply_len = fake_relay_build_kd(r, frame, sizeof(frame), 2, req, sizeof(req));
	r->reply = malloc(r->reply_len);
	memcpy(r->reply, frame, r->reply_len);
	assert_int_equal(kdvm_channel_send_kd(ch, 7, sc, sizeof(sc), NULL, 0), KDVM_SENT);
	/* The answer may already be parsed and held by the send; it is not lost. */
	assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_OK);
	assert_memory_equal(hdr, req, sizeof(req));
}

/* ---- link events --------------------------------------------------------------------- */

static void resync_makes_receive_ask_for_resend(void **state)
{
	uint8_t hdr[0x38], data[16];
	size_t hl, dl;

	(void)state;
	up();
	fake_relay_send(r, VMKD_FRAME_RESYNC, NULL, 0);
	assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_RESYNC);
	assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_TIMEOUT);
}

static void breakin_while_waiting(void **state)
{
	uint8_t hdr[0x38], data[16];
	size_t hl, dl;

	(void)state;
	up();
	fake_relay_send(r, VMKD_FRAME_BREAKIN, NULL, 0);
	assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_BREAKIN);
	assert_int_equal(kdvm_channel_poll_breakin(ch), 0);
}

static void debugger_leaves_and_returns(void **state)
{
	uint8_t hdr[0x38], data[16];
	size_t hl, dl;

	(void)state;
	up();
	fake_relay_send_debugger(r, 0);
	assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_GONE);
	assert_int_equal(not_present, 1);
	assert_int_equal(kdvm_channel_send_kd(ch, 7, hdr, 16, NULL, 0), KDVM_SEND_NO_DEBUGGER);
	fake_relay_send_debugger(r, 1);
	assert_int_equal(kdvm_channel_poll_breakin(ch), 0);
	assert_int_equal(not_present, 0);
	assert_int_equal(kdvm_channel_send_kd(ch, 7, hdr, 16, NULL, 0), KDVM_SENT);
}

static void relay_disconnect_and_reconnect(void **state)
{
	uint8_t hdr[0x38], data[16];
	size_t hl, dl;

	(void)state;
	up();
	fake_relay_send(r, VMKD_FRAME_BREAKIN, NULL, 0);
	fake_host_connect(f, 0);
	assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_GONE);
	assert_int_equal(ch->link, KDVM_LINK_DOWN);
	assert_int_equal(not_present, 1);
	assert_int_equal(kdvm_channel_send_kd(ch, 7, hdr, 16, NULL, 0), KDVM_SEND_NO_RELAY);
	/* Reconnect: a new HELLO; the old connection's break-in is gone. */
	fake_host_connect(f, 1);
	assert_int_equal(kdvm_channel_send_kd(ch, 7, hdr, 16, NULL, 0), KDVM_SENT);
	assert_int_equal(r->hellos, 2);
	assert_int_equal(kdvm_channel_poll_breakin(ch), 0);
}

static void reconnect_between_two_looks(void **state)
{
	(void)state;
	up();
	fake_host_connect(f, 0);
	fake_host_connect(f, 1);
	/* Both control messages are seen in one poll: the generation says "new relay". */
	assert_int_equal(kdvm_channel_poll_breakin(ch), 0);
	assert_int_equal(r->hellos, 2);
}

static void stats_on_request(void **state)
{
	uint8_t hdr[16] = { 0 };

	(void)state;
	up();
	for (int i = 0; i < 3; i++)
		kdvm_channel_send_kd(ch, 3, hdr, sizeof(hdr), NULL, 0);
	fake_relay_send(r, VMKD_FRAME_STATS_REQUEST, NULL, 0);
	assert_int_equal(kdvm_channel_poll_breakin(ch), 0);
	assert_int_equal(r->stats_frames, 1);
	assert_int_equal(r->last_stats.packets_sent, 3);
	assert_int_equal(r->last_stats.port_io_while_polling, 0);
	assert_true(r->last_stats.port_io_total > 64); /* PCI scan + setup */
	assert_true(r->last_stats.notifications >= 4);
	assert_true(r->last_stats.polls > 0);
	assert_int_equal(r->last_stats.tx_timeouts, 0);
	assert_int_equal(r->last_stats.send_dropped, ch->stats.send_dropped);
	for (size_t i = 0; i < sizeof(r->last_stats.reserved) / sizeof(r->last_stats.reserved[0]); i++)
		assert_int_equal(r->last_stats.reserved[i], 0);
}

static void poll_breakin_discards_stray_packets(void **state)
{
	uint8_t kd[16] = { 0 }, hdr[0x38], data[16];
	size_t hl, dl;

	(void)state;
	up();
	fake_relay_send_kd(r, 2, kd, sizeof(kd));
	fake_relay_send_kd(r, 2, kd, sizeof(kd));
	fake_relay_send(r, VMKD_FRAME_BREAKIN, NULL, 0);
	assert_int_equal(kdvm_channel_poll_breakin(ch), 1);
	assert_int_equal(ch->stats.recv_dropped_idle, 2);
	assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_TIMEOUT);
}

static void frames_after_a_breakin_wait_for_the_stop(void **state)
{
	uint8_t kd[0x38] = { 0x77 }, hdr[0x38], data[16];
	size_t hl, dl;

	(void)state;
	up();
	fake_relay_send(r, VMKD_FRAME_BREAKIN, NULL, 0);
	fake_relay_send_kd(r, 2, kd, sizeof(kd));
	fake_relay_send(r, VMKD_FRAME_RESYNC, NULL, 0);
	fake_relay_send_kd(r, 2, kd, sizeof(kd));
	assert_int_equal(kdvm_channel_poll_breakin(ch), 1);
	assert_int_equal(ch->stats.recv_dropped_idle, 0);
	assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_OK);
	assert_int_equal(hdr[0], 0x77);
	assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_RESYNC);
	hdr[0] = 0;
	assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_OK);
	assert_int_equal(hdr[0], 0x77);
}

/* ---- device defence ------------------------------------------------------------------ */

/* Another driver (or firmware) resets the device while the kernel runs: the next send
 * finds status 0, sets the device up again, says HELLO and the packet still goes out. */
static void device_reset_is_set_up_again(void **state)
{
	uint8_t sc[0xF0] = { 0x11 }, req[0x38] = { 0x30, 0x31 }, hdr[0x38], data[64];
	uint8_t frame[VMKD_FRAME_MAX_BYTES];
	size_t hl, dl;

	(void)state;
	up();
	assert_int_equal(kdvm_channel_send_kd(ch, 7, sc, sizeof(sc), NULL, 0), KDVM_SENT);
	f->plat.outb(f, STATUS_PORT, 0);
	assert_int_equal(f->dev[0].status, 0);
	r->reply_len = fake_relay_build_kd(r, frame, sizeof(frame), 2, req, sizeof(req));
	r->reply = malloc(r->reply_len);
	memcpy(r->reply, frame, r->reply_len);
	sc[0] = 0x22;
	assert_int_equal(kdvm_channel_send_kd(ch, 7, sc, sizeof(sc), NULL, 0), KDVM_SENT);
	assert_int_equal(ch->stats.device_resetups, 1);
	assert_int_equal(f->dev[0].status, 7);
	assert_int_equal(r->hellos, 2);
	assert_int_equal(r->kd_packets, 2);
	assert_int_equal(r->last_kd[0], 0x22);
	assert_int_equal(not_present, 0);
	/* The request that answers it arrives on the new rings. */
	assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_OK);
	assert_memory_equal(hdr, req, sizeof(req));
}

/* I/O decode and bus mastering turned off (a PnP stop, a driver's D3): turned on again,
 * nothing else touched. */
static void cleared_command_register_is_restored(void **state)
{
	uint8_t sc[0xF0] = { 0 };

	(void)state;
	up();
	f->dev[0].pci_command = 0;
	assert_int_equal(kdvm_channel_send_kd(ch, 7, sc, sizeof(sc), NULL, 0), KDVM_SENT);
	assert_int_equal(f->dev[0].pci_command & 0x405, 0x405);
	assert_int_equal(ch->stats.device_repairs, 1);
	assert_int_equal(ch->stats.device_resetups, 0);
	assert_int_equal(r->hellos, 1);
	assert_int_equal(r->kd_packets, 1);
}

/* PnP rebalanced the I/O BAR: the registers are followed to the new address. */
static void moved_bar_is_followed(void **state)
{
	uint8_t sc[0xF0] = { 0 };

	(void)state;
	up();
	f->dev[0].bar0 = 0xd001;
	assert_int_equal(kdvm_channel_send_kd(ch, 7, sc, sizeof(sc), NULL, 0), KDVM_SENT);
	assert_int_equal(ch->vser.iobase, 0xd000);
	assert_int_equal(ch->stats.device_repairs, 1);
	assert_int_equal(ch->stats.device_resetups, 0);
	assert_int_equal(r->kd_packets, 1);
}

/* DbgPrint sends read only the status register (a full check every 64th), and that is
 * enough to find a reset device, disabled decodes or a moved BAR on the next line. */
static void prints_check_only_the_status(void **state)
{
	uint32_t line[4] = { 0 };
	uint64_t io, checks;

	(void)state;
	up();
	checks = ch->stats.device_checks;
	for (unsigned i = 1; i <= 2 * KDVM_PRINT_CHECK_EVERY; i++) {
		io = ch->vser.io.total;
		assert_int_equal(kdvm_channel_send_kd(ch, 3, line, sizeof(line), NULL, 0), KDVM_SENT);
		assert_int_equal(ch->vser.io.total - io,
				 1 + (i % KDVM_PRINT_CHECK_EVERY ? VSER_QUICK_CHECK_PORT_IO
								  : VSER_CHECK_PORT_IO));
	}
	assert_int_equal(ch->stats.device_checks, checks + 2);
	assert_int_equal(ch->stats.device_quick_checks, 2 * KDVM_PRINT_CHECK_EVERY - 2);
	/* Reset by another owner: found on the next line, set up again, HELLO, sent. */
	f->plat.outb(f, STATUS_PORT, 0);
	line[0] = 0xAB;
	assert_int_equal(kdvm_channel_send_kd(ch, 3, line, sizeof(line), NULL, 0), KDVM_SENT);
	assert_int_equal(ch->stats.device_resetups, 1);
	assert_int_equal(r->hellos, 2);
	fake_relay_poll(r);
	assert_int_equal(r->last_kd[0], 0xAB);
	/* Decodes off: nothing answers at the port, so the full check runs and repairs. */
	f->dev[0].pci_command = 0;
	assert_int_equal(kdvm_channel_send_kd(ch, 3, line, sizeof(line), NULL, 0), KDVM_SENT);
	assert_int_equal(f->dev[0].pci_command & 0x405, 0x405);
	/* A moved BAR: the same. */
	f->dev[0].bar0 = 0xd001;
	assert_int_equal(kdvm_channel_send_kd(ch, 3, line, sizeof(line), NULL, 0), KDVM_SENT);
	assert_int_equal(ch->vser.iobase, 0xd000);
	assert_int_equal(ch->stats.device_repairs, 2);
	assert_int_equal(ch->vser.io.while_polling, 0);
}

/* A receive call checks once on entry (not after a send that just did), never in its
 * wait loop; a reset found there is set up again before the wait. */
static void receive_checks_once_per_call(void **state)
{
	uint8_t sc[0xF0] = { 0 }, req[0x38] = { 0x44 }, hdr[0x38], data[16];
	size_t hl, dl;
	uint64_t checks;

	(void)state;
	up();
	assert_int_equal(kdvm_channel_send_kd(ch, 7, sc, sizeof(sc), NULL, 0), KDVM_SENT);
	checks = ch->vser.stats.checks;
	assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_TIMEOUT);
	assert_int_equal(ch->vser.stats.checks, checks);
	assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_TIMEOUT);
	assert_int_equal(ch->vser.stats.checks, checks + 1);
	f->plat.outb(f, STATUS_PORT, 0);
	fake_relay_send_kd(r, 2, req, sizeof(req));
	assert_int_equal(kdvm_channel_receive_kd(ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_OK);
	assert_int_equal(hdr[0], 0x44);
	assert_int_equal(ch->stats.device_resetups, 1);
	assert_int_equal(r->hellos, 2);
	assert_int_equal(ch->vser.io.while_polling, 0);
}

/* The clock interrupt's POLL_BREAKIN stays memory-only but for one check every
 * KDVM_POLL_CHECK_EVERY calls, so a break-in still gets through a reset device. */
static void poll_breakin_checks_rarely(void **state)
{
	uint64_t io;

	(void)state;
	up();
	f->plat.outb(f, STATUS_PORT, 0);
	io = ch->vser.io.total;
	for (unsigned i = 1; i < KDVM_POLL_CHECK_EVERY; i++)
		assert_int_equal(kdvm_channel_poll_breakin(ch), 0);
	assert_int_equal(ch->vser.io.total, io);
	assert_int_equal(ch->stats.device_resetups, 0);
	assert_int_equal(kdvm_channel_poll_breakin(ch), 0);
	assert_int_equal(ch->stats.device_resetups, 1);
	assert_int_equal(r->hellos, 2);
	fake_relay_send(r, VMKD_FRAME_BREAKIN, NULL, 0);
	assert_int_equal(kdvm_channel_poll_breakin(ch), 1);
	assert_int_equal(ch->vser.io.while_polling, 0);
}

/* BAR unassigned (PnP stopped the device): packets are dropped as with no relay, and the
 * device is taken up again once it is back. */
static void lost_device_comes_back(void **state)
{
	uint8_t sc[0xF0] = { 0 };

	(void)state;
	up();
	f->dev[0].bar0 = 0;
	assert_int_equal(kdvm_channel_send_kd(ch, 7, sc, sizeof(sc), NULL, 0),
			 KDVM_SEND_NO_RELAY);
	assert_int_equal(ch->stats.device_lost, 1);
	assert_int_equal(not_present, 1);
	f->dev[0].bar0 = 0xc041;
	assert_int_equal(kdvm_channel_send_kd(ch, 7, sc, sizeof(sc), NULL, 0), KDVM_SENT);
	assert_int_equal(ch->stats.device_resetups, 1);
	assert_int_equal(r->hellos, 2);
	assert_int_equal(not_present, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(hello_at_init_with_relay, setup, teardown),
		cmocka_unit_test_setup_teardown(no_relay_drops_and_sets_not_present, setup, teardown),
		cmocka_unit_test_setup_teardown(relay_connects_later, setup, teardown),
		cmocka_unit_test_setup_teardown(relay_announces_debugger_before_hello, setup,
						teardown),
		cmocka_unit_test_setup_teardown(relay_without_hello_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(host_log_prints_sent_without_debugger, setup,
						teardown),
		cmocka_unit_test_setup_teardown(no_host_log_prints_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(host_log_with_debugger_is_ordinary, setup, teardown),
		cmocka_unit_test_setup_teardown(relay_without_debugger, setup, teardown),
		cmocka_unit_test_setup_teardown(send_is_one_frame_one_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(dbgprint_burst_shares_the_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(owed_notify_is_paid_by_polls, setup, teardown),
		cmocka_unit_test_setup_teardown(send_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(send_with_stalled_host, setup, teardown),
		cmocka_unit_test_setup_teardown(sends_are_pipelined, setup, teardown),
		cmocka_unit_test_setup_teardown(full_ring_makes_the_sender_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(reset_with_frames_in_flight_asks_for_a_resend, setup,
						teardown),
		cmocka_unit_test_setup_teardown(power_down_waits_for_a_slow_host, setup, teardown),
		cmocka_unit_test_setup_teardown(reset_resends_prints_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(power_down_lets_frames_in_flight_leave, setup,
						teardown),
		cmocka_unit_test_setup_teardown(dbgprint_flood_with_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(receive_split_merged_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(receive_short_packet_fills_header_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(receive_timeout_is_memory_only, setup, teardown),
		cmocka_unit_test_setup_teardown(receive_drops_wrong_type_and_oversize, setup,
						teardown),
		cmocka_unit_test_setup_teardown(malformed_frames_are_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(many_packets_through_a_small_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(request_reply_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(resync_makes_receive_ask_for_resend, setup, teardown),
		cmocka_unit_test_setup_teardown(breakin_while_waiting, setup, teardown),
		cmocka_unit_test_setup_teardown(debugger_leaves_and_returns, setup, teardown),
		cmocka_unit_test_setup_teardown(relay_disconnect_and_reconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(reconnect_between_two_looks, setup, teardown),
		cmocka_unit_test_setup_teardown(stats_on_request, setup, teardown),
		cmocka_unit_test_setup_teardown(poll_breakin_discards_stray_packets, setup, teardown),
		cmocka_unit_test_setup_teardown(frames_after_a_breakin_wait_for_the_stop, setup,
						teardown),
		cmocka_unit_test_setup_teardown(device_reset_is_set_up_again, setup, teardown),
		cmocka_unit_test_setup_teardown(cleared_command_register_is_restored, setup,
						teardown),
		cmocka_unit_test_setup_teardown(moved_bar_is_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(prints_check_only_the_status, setup, teardown),
		cmocka_unit_test_setup_teardown(receive_checks_once_per_call, setup, teardown),
		cmocka_unit_test_setup_teardown(poll_breakin_checks_rarely, setup, teardown),
		cmocka_unit_test_setup_teardown(lost_device_comes_back, setup, teardown),
	};

	return cmocka_run_group_tests_name("guest_channel", tests, NULL, NULL);
}
