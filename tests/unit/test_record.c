/* SPDX-License-Identifier: MIT */
/*
 * Recordings (host/record): the writer/reader round trip, every truncation and a set of
 * tampered files reported with an offset (never a crash), the trace lines, the pcapng
 * export checked block by block, and replay: a script built from a recording (with
 * retransmissions and RESETs in it) played to a real debugger-role kd_link, to its end
 * and to a divergence.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmkd/kd_api.h"
#include "vmkd/kd_link.h"
#include "vmkd/kd_packet.h"

#include "../../host/record/pcapng.h"
#include "../../host/record/record.h"
#include "../../host/record/record_text.h"
#include "../../host/record/replay.h"
#include "../../host/relay/relay_tap.h"
#include "test_relay_fakes.h"

#define T0 5000000ull      /* monotonic start */
#define WALL 1796283601000000ull

struct mem {
	char *buf;
	size_t len;
	FILE *f;
};

static void mem_open(struct mem *m)
{
	memset(m, 0, sizeof(*m));
	m->f = open_memstream(&m->buf, &m->len);
	assert_non_null(m->f);
}

static void mem_close(struct mem *m)
{
	fclose(m->f);
	m->f = NULL;
}

/* KD packets for a little session, on the wire as the relay would record them. */
static size_t wire_data(uint8_t *out, uint16_t type, uint32_t id, const uint8_t *p, size_t n)
{
	return kd_packet_build(out, KD_MAX_PACKET_BYTES, type, id, p, n, NULL, 0);
}

static size_t get_version_request(uint8_t *out)
{
	struct kd_api_msg m;

	kd_api_req_get_version(&m);
	return tr_msg_payload(&m, out);
}

static size_t read_request(uint8_t *out, uint64_t addr)
{
	struct kd_api_msg m;

	kd_api_req_read_virtual(&m, addr, 16);
	return tr_msg_payload(&m, out);
}

/* A reply: the request with a status and some data after it. */
static size_t reply_to(uint8_t *out, const uint8_t *req, size_t n, const char *data)
{
	memcpy(out, req, n);
	memset(out + 8, 0, 4); /* status 0 */
	memcpy(out + n, data, strlen(data));
	return n + strlen(data);
}

/*
 * The recording: guest HELLO, debugger connects, RESET, a state change (sent twice: a
 * retransmission), ACK, GetVersion, its reply, a DbgPrint, a ReadVirtualMemory sent twice
 * by the debugger (a resend of the same id), its reply, disconnect. Returns it in m.
 */
static void make_recording(struct mem *m)
{
	struct record_writer w;
	uint8_t pkt[KD_MAX_PACKET_BYTES], kd[KD_MAX_PAYLOAD], req[KD_MAX_PAYLOAD];
	size_t n, k, r;
	uint64_t t = T0;

	mem_open(m);
	assert_int_equal(record_writer_start(&w, m->f, "vm0", WALL, T0), 0);
	record_write_event(&w, t += 10, RECORD_EV_GUEST_CONNECTED, NULL);
	record_write_event(&w, t += 10, RECORD_EV_GUEST_HELLO, "kdvm.dll 0.1");
	record_write_event(&w, t += 10, RECORD_EV_DEBUGGER_CONNECTED, NULL);
	n = kd_control_build(pkt, KD_PACKET_TYPE_RESET, 0);
	record_write(&w, RECORD_KD_WIRE, RECORD_DIR_DEBUGGER_TO_RELAY, 0, t += 10, pkt, n, NULL, 0);
	record_write(&w, RECORD_KD_WIRE, RECORD_DIR_RELAY_TO_DEBUGGER, 0, t += 10, pkt, n, NULL, 0);
	k = tr_state_change(kd, 0xfffff80000401000ull);
	record_write(&w, RECORD_GUEST_KD, RECORD_DIR_GUEST_TO_RELAY, 0, t += 10,
		     (uint8_t[]){ 7, 0, 0, 0 }, 4, kd, k);
	n = wire_data(pkt, KD_PACKET_TYPE_STATE_CHANGE64, 0x80800800, kd, k);
	record_write(&w, RECORD_KD_WIRE, RECORD_DIR_RELAY_TO_DEBUGGER, 0, t += 10, pkt, n, NULL, 0);
	record_write(&w, RECORD_KD_WIRE, RECORD_DIR_RELAY_TO_DEBUGGER, 0, t += 10, pkt, n, NULL, 0);
	n = kd_control_build(pkt, KD_PACKET_TYPE_ACKNOWLEDGE, 0x80800800);
	record_write(&w, RECORD_KD_WIRE, RECORD_DIR_DEBUGGER_TO_RELAY, 0, t += 10, pkt, n, NULL, 0);
	r = get_version_request(req);
	n = wire_data(pkt, KD_PACKET_TYPE_STATE_MANIPULATE, 0x80800000, req, r);
	record_write(&w, RECORD_KD_WIRE, RECORD_DIR_DEBUGGER_TO_RELAY, 0, t += 10, pkt, n, NULL, 0);
	k = reply_to(kd, req, r, "");
	n = wire_data(pkt, KD_PACKET_TYPE_STATE_MANIPULATE, 0x80800001, kd, k);
	record_write(&w, RECORD_KD_WIRE, RECORD_DIR_RELAY_TO_DEBUGGER, 0, t += 10, pkt, n, NULL, 0);
	n = kd_control_build(pkt, KD_PACKET_TYPE_ACKNOWLEDGE, 0x80800001);
	record_write(&w, RECORD_KD_WIRE, RECORD_DIR_DEBUGGER_TO_RELAY, 0, t += 10, pkt, n, NULL, 0);
	k = tr_print(kd, "hello\n");
	n = wire_data(pkt, KD_PACKET_TYPE_DEBUG_IO, 0x80800000, kd, k);
	record_write(&w, RECORD_KD_WIRE, RECORD_DIR_RELAY_TO_DEBUGGER, 0, t += 10, pkt, n, NULL, 0);
	n = kd_control_build(pkt, KD_PACKET_TYPE_ACKNOWLEDGE, 0x80800000);
	record_write(&w, RECORD_KD_WIRE, RECORD_DIR_DEBUGGER_TO_RELAY, 0, t += 10, pkt, n, NULL, 0);
	r = read_request(req, 0xfffff80000200000ull);
	n = wire_data(pkt, KD_PACKET_TYPE_STATE_MANIPULATE, 0x80800001, req, r);
	record_write(&w, RECORD_KD_WIRE, RECORD_DIR_DEBUGGER_TO_RELAY, 0, t += 10, pkt, n, NULL, 0);
	record_write(&w, RECORD_KD_WIRE, RECORD_DIR_DEBUGGER_TO_RELAY, 0, t += 10, pkt, n, NULL, 0);
	k = reply_to(kd, req, r, "MZ\x90");
	n = wire_data(pkt, KD_PACKET_TYPE_STATE_MANIPULATE, 0x80800001, kd, k);
	record_write(&w, RECORD_KD_WIRE, RECORD_DIR_RELAY_TO_DEBUGGER, 0, t += 10, pkt, n, NULL, 0);
	n = kd_control_build(pkt, KD_PACKET_TYPE_ACKNOWLEDGE, 0x80800001);
	record_write(&w, RECORD_KD_WIRE, RECORD_DIR_DEBUGGER_TO_RELAY, 0, t += 10, pkt, n, NULL, 0);
	record_write_event(&w, t += 10, RECORD_EV_DEBUGGER_DISCONNECTED, NULL);
	record_write(&w, 200, 0, 0, t += 10, "future", 6, NULL, 0); /* an unknown type */
	assert_int_equal(w.dropped, 0);
	assert_int_equal(w.records, 21);
	mem_close(m);
}

static void round_trip(void **state)
{
	struct record_reader r;
	struct record rec;
	struct mem m;
	int types[RECORD_TYPE_MAX + 1] = { 0 }, unknown = 0, rc;
	uint64_t last = 0;

	(void)state;
	make_recording(&m);
	assert_int_equal(record_reader_init(&r, (uint8_t *)m.buf, m.len), 0);
	assert_int_equal(r.hdr.version, RECORD_VERSION);
	assert_true(r.hdr.start_wall_us == WALL && r.hdr.start_mono_us == T0);
	while ((rc = record_next(&r, &rec)) == 1) {
		assert_true(rec.time_us >= last);
		last = rec.time_us;
		if (rec.type < RECORD_TYPE_MAX)
			types[rec.type]++;
		else
			unknown++;
		if (rec.type == RECORD_START)
			assert_string_equal(r.vm, "vm0");
		if (rec.type == RECORD_GUEST_KD) {
			assert_int_equal(rec.dir, RECORD_DIR_GUEST_TO_RELAY);
			assert_int_equal(rec.body[0], KD_PACKET_TYPE_STATE_CHANGE64);
		}
	}
	assert_int_equal(rc, 0);
	assert_int_equal(types[RECORD_START], 1);
	assert_int_equal(types[RECORD_EVENT], 4);
	assert_int_equal(types[RECORD_GUEST_KD], 1);
	assert_int_equal(types[RECORD_KD_WIRE], 14);
	assert_int_equal(unknown, 1);
	free(m.buf);
}

/* Every cut of a valid file: a clean end only at a record boundary, otherwise an error
 * naming the offset; never a read past the bytes given (ASan build). */
static void every_truncation_reported(void **state)
{
	struct record_reader r;
	struct record rec;
	struct mem m;

	(void)state;
	make_recording(&m);
	for (size_t cut = 0; cut < m.len; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		int rc;

		memcpy(copy, m.buf, cut);
		if (record_reader_init(&r, copy, cut)) {
			assert_true(cut < RECORD_FILE_HEADER);
			assert_non_null(strstr(r.err, "offset "));
			free(copy);
			continue;
		}
		while ((rc = record_next(&r, &rec)) == 1)
			;
		if (rc < 0)
			assert_non_null(strstr(r.err, "truncated"));
		else
			assert_int_equal(r.off, cut); /* ended exactly at a record boundary */
		free(copy);
	}
	free(m.buf);
}

static int first_error(uint8_t *data, size_t len, char *err, size_t cap)
{
	struct record_reader r;
	struct record rec;
	int rc;

	if (record_reader_init(&r, data, len)) {
		snprintf(err, cap, "%s", r.err);
		return -1;
	}
	while ((rc = record_next(&r, &rec)) == 1)
		;
	snprintf(err, cap, "%s", r.err);
	return rc;
}

static void tampered_files_reported(void **state)
{
	struct mem m;
	uint8_t *d;
	char err[200];
	size_t first = RECORD_FILE_HEADER; /* the START record */
	size_t second;

	(void)state;
	make_recording(&m);
	d = (uint8_t *)m.buf;
	second = first + RECORD_HEADER + 3;
	assert_int_equal(first_error(d, m.len, err, sizeof(err)), 0);

	d[0] ^= 1;
	assert_int_equal(first_error(d, m.len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a vmkd recording"));
	d[0] ^= 1;
	d[8] = 2;
	assert_int_equal(first_error(d, m.len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "version 2"));
	d[8] = 1;
	d[10] = 8; /* header size below 32 */
	assert_int_equal(first_error(d, m.len, err, sizeof(err)), -1);
	d[10] = 32;
	d[second + 7] = 0x7f; /* body length 2 GB */
	assert_int_equal(first_error(d, m.len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "offset 51: "));
	d[second + 7] = 0;
	d[second] = 0; /* type 0 */
	assert_int_equal(first_error(d, m.len, err, sizeof(err)), -1);
	d[second] = RECORD_EVENT;
	d[second + 4] = 2; /* an EVENT shorter than its code */
	assert_int_equal(first_error(d, m.len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "EVENT record of 2 bytes"));
	d[second + 4] = 4;
	d[first + 4] = 0; /* START without a name */
	assert_int_equal(first_error(d, m.len, err, sizeof(err)), -1);
	d[first + 4] = 3;
	assert_int_equal(first_error(d, m.len, err, sizeof(err)), 0);
	free(m.buf);
}

static void path_patterns(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(record_path_expand("/tmp/%n.rec", "vm0", out, sizeof(out)), 0);
	assert_string_equal(out, "/tmp/vm0.rec");
	assert_int_equal(record_path_expand("a%%b%n", "x", out, sizeof(out)), 0);
	assert_string_equal(out, "a%bx");
	assert_int_equal(record_path_expand("bad%d", "x", out, sizeof(out)), -1);
	assert_int_equal(record_path_expand("%n%n%n%n%n%n%n%n%n", "long-name", out, sizeof(out)),
			 -1);
}

static void trace_lines(void **state)
{
	struct record_reader r;
	struct record rec;
	struct mem m;
	char line[2048], *all = calloc(1, 1 << 16);

	(void)state;
	make_recording(&m);
	assert_int_equal(record_reader_init(&r, (uint8_t *)m.buf, m.len), 0);
	while (record_next(&r, &rec) == 1) {
		record_format(&r, &rec, line, sizeof(line));
		strcat(all, line);
		strcat(all, "\n");
	}
	assert_non_null(strstr(all, "[    0.000000] start: VM 'vm0', 2026-12-03T07:40:01.000000Z\n"));
	assert_non_null(strstr(all, "] event: guest hello \"kdvm.dll 0.1\"\n"));
	assert_non_null(strstr(all, "] dbg   -> RESET\n"));
	assert_non_null(strstr(all, "] guest <- STATE_CHANGE Exception code=80000003"));
	assert_non_null(strstr(all, "] dbg   <- STATE_CHANGE id=80800800 Exception"));
	assert_non_null(strstr(all, "] dbg   -> MANIPULATE id=80800000 GetVersion\n"));
	assert_non_null(strstr(all, "] dbg   <- DEBUG_IO id=80800000 PrintString \"hello\\n\""));
	assert_non_null(strstr(all, "record type 200 (6 bytes): skipped"));
	free(all);
	free(m.buf);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The pcapng file block by block: lengths agree front and back, SHB, IDB with link type
 * 147, one EPB per known record but START, with the pseudo-header and epb_flags
 * direction. */
static void pcapng_structure(void **state)
{
	struct record_reader r;
	struct mem m, out;
	const uint8_t *p, *end;
	long packets;
	char err[128];
	int blocks = 0, epbs = 0, inbound = 0, outbound = 0, none = 0;

	(void)state;
	make_recording(&m);
	assert_int_equal(record_reader_init(&r, (uint8_t *)m.buf, m.len), 0);
	mem_open(&out);
	packets = pcapng_export(&r, out.f, err, sizeof(err));
	mem_close(&out);
	assert_int_equal(packets, 19); /* every record but START and the unknown type */
	p = (const uint8_t *)out.buf;
	end = p + out.len;
	while (p < end) {
		uint32_t type, len;

		assert_true(end - p >= 12);
		type = le32(p);
		len = le32(p + 4);
		assert_true(len % 4 == 0 && len >= 12 && len <= (size_t)(end - p));
		assert_int_equal(le32(p + len - 4), len);
		if (blocks == 0) {
			assert_int_equal(type, PCAPNG_SHB_TYPE);
			assert_int_equal(le32(p + 8), PCAPNG_BYTE_ORDER_MAGIC);
		} else if (blocks == 1) {
			assert_int_equal(type, PCAPNG_IDB_TYPE);
			assert_int_equal(p[8] | p[9] << 8, PCAPNG_LINKTYPE_VMKD);
			assert_memory_equal(p + 20, "vmkd:vm0", 8); /* if_name */
		} else {
			uint32_t caplen = le32(p + 20), opt, flags;
			const uint8_t *data = p + 28;

			assert_int_equal(type, PCAPNG_EPB_TYPE);
			assert_int_equal(le32(p + 24), caplen);
			assert_int_equal(data[0], 1); /* pseudo-header version */
			assert_true(data[2] >= PCAPNG_KIND_KDCOM && data[2] <= PCAPNG_KIND_EVENT);
			opt = 28 + ((caplen + 3) & ~3u);
			assert_int_equal(p[opt] | p[opt + 1] << 8, 2); /* epb_flags */
			flags = le32(p + opt + 4);
			if (data[2] == PCAPNG_KIND_EVENT) {
				assert_int_equal(flags, 0);
				none++;
			} else if (data[1] == RECORD_DIR_DEBUGGER_TO_RELAY ||
				   data[1] == RECORD_DIR_GUEST_TO_RELAY) {
				assert_int_equal(flags, 1);
				inbound++;
			} else {
				assert_int_equal(flags, 2);
				outbound++;
			}
			epbs++;
		}
		blocks++;
		p += len;
	}
	assert_int_equal(epbs, 19);
	assert_int_equal(none, 4);
	assert_int_equal(inbound + outbound, 15);
	free(out.buf);
	free(m.buf);
}

/* ---- replay -------------------------------------------------------------------------- */

struct play {
	struct replay rp;
	struct kd_link dbg;
	uint8_t to_dbg[1 << 16], to_target[1 << 16];
	size_t to_dbg_len, to_target_len;
	int stops, prints, replies;
	uint64_t now;
	struct replay_script script; /* of the recording in rec */
	struct mem rec;
};

static void target_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct play *pl = opaque;

	assert_true(pl->to_dbg_len + len <= sizeof(pl->to_dbg));
	memcpy(pl->to_dbg + pl->to_dbg_len, buf, len);
	pl->to_dbg_len += len;
}

static void dbg_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct play *pl = opaque;

	memcpy(pl->to_target + pl->to_target_len, buf, len);
	pl->to_target_len += len;
}

static void dbg_deliver(void *opaque, uint16_t type, uint32_t id, const uint8_t *p, size_t len)
{
	struct play *pl = opaque;

	(void)id;
	(void)p;
	(void)len;
	if (type == KD_PACKET_TYPE_STATE_CHANGE64)
		pl->stops++;
	else if (type == KD_PACKET_TYPE_DEBUG_IO)
		pl->prints++;
	else if (type == KD_PACKET_TYPE_STATE_MANIPULATE)
		pl->replies++;
}

static const struct kd_link_ops dbg_ops = {
	.write = dbg_write,
	.deliver = dbg_deliver,
};

/* Moves bytes both ways until neither side has more. */
static void pump(struct play *pl)
{
	while (pl->to_dbg_len || pl->to_target_len) {
		uint8_t buf[1 << 16];
		size_t n;

		n = pl->to_dbg_len;
		memcpy(buf, pl->to_dbg, n);
		pl->to_dbg_len = 0;
		kd_link_input(&pl->dbg, buf, n, pl->now);
		n = pl->to_target_len;
		memcpy(buf, pl->to_target, n);
		pl->to_target_len = 0;
		replay_input(&pl->rp, buf, n, pl->now);
	}
}

static void send_request(struct play *pl, const uint8_t *req, size_t n)
{
	assert_int_equal(kd_link_send(&pl->dbg, KD_PACKET_TYPE_STATE_MANIPULATE, req, n, NULL, 0,
				      pl->now), 0);
	pump(pl);
}

/* Fixture of the replay tests: the recording of make_recording, replayed to a debugger
 * link that has just sent its RESET. */
static int play_setup(void **state)
{
	struct play *pl = calloc(1, sizeof(*pl));
	struct replay_script *s;
	struct record_reader r;
	struct kd_link_config cfg;
	char err[128];

	assert_non_null(pl);
	s = &pl->script;
	make_recording(&pl->rec);
	assert_int_equal(record_reader_init(&r, (uint8_t *)pl->rec.buf, pl->rec.len), 0);
	assert_int_equal(replay_script_build(s, &r, err, sizeof(err)), 0);
	/* RESET; state change (its retransmission is no step); GetVersion; reply; DbgPrint;
	 * ReadVirtualMemory (its resend is no step); reply */
	assert_int_equal(s->count, 7);
	assert_int_equal(s->triggers, 1);
	assert_int_equal(s->targets, 4);
	assert_int_equal(s->debuggers, 2);
	kd_link_default_config(&cfg);
	kd_link_init(&pl->dbg, KD_ROLE_DEBUGGER, &cfg, &dbg_ops, pl);
	replay_start(&pl->rp, s, NULL, target_write, pl, 0);
	kd_link_start_reset(&pl->dbg, 0);
	pump(pl);
	*state = pl;
	return 0;
}

static int play_teardown(void **state)
{
	struct play *pl = *state;

	replay_script_free(&pl->script);
	free(pl->rec.buf);
	free(pl);
	return 0;
}

static void replay_to_the_end(void **state)
{
	struct play *pl = *state;
	uint8_t req[KD_MAX_PAYLOAD];

	assert_int_equal(pl->stops, 1); /* the RESET released the state change */
	send_request(pl, req, get_version_request(req));
	assert_int_equal(pl->replies, 1);
	assert_int_equal(pl->prints, 1);
	send_request(pl, req, read_request(req, 0xfffff80000200000ull));
	assert_int_equal(pl->replies, 2);
	assert_int_equal(pl->rp.matched, 2);
	assert_int_equal(pl->rp.status, REPLAY_RUNNING);
	replay_debugger_gone(&pl->rp);
	assert_int_equal(pl->rp.status, REPLAY_DONE);
}

static void replay_reports_divergence(void **state)
{
	struct play *pl = *state;
	uint8_t req[KD_MAX_PAYLOAD];

	send_request(pl, req, get_version_request(req));
	send_request(pl, req, read_request(req, 0xfffff80000200100ull));
	assert_int_equal(pl->rp.status, REPLAY_DIVERGED);
	assert_int_equal(pl->replies, 1);
	assert_non_null(strstr(pl->rp.msg, "expected -> MANIPULATE ReadVirtualMemory "
				"addr=fffff80000200000"));
	assert_non_null(strstr(pl->rp.msg, "got -> MANIPULATE ReadVirtualMemory "
				"addr=fffff80000200100"));
	assert_null(strchr(pl->rp.msg, '\n'));
}

static void replay_debugger_leaves_early(void **state)
{
	struct play *pl = *state;
	uint8_t req[KD_MAX_PAYLOAD];

	send_request(pl, req, get_version_request(req));
	replay_debugger_gone(&pl->rp);
	assert_int_equal(pl->rp.status, REPLAY_DIVERGED);
	assert_non_null(strstr(pl->rp.msg, "the debugger left at packet"));
}


/* The recorder cuts the debugger's byte stream into one record per packet however it is
 * split; bytes between packets get a FRAGMENT record of their own. */
static void tap_records_debugger_packets(void **state)
{
	char path[] = "/tmp/vmkd-test-record.XXXXXX", err[128];
	struct relay_tap_options o = { .record = path };
	struct relay_log log = { NULL, 0 };
	uint8_t stream[3 * KD_MAX_PACKET_BYTES], req[KD_MAX_PAYLOAD], *data;
	struct record_reader r;
	struct record rec;
	struct relay_tap *t;
	size_t n = 0, len;
	int fd = mkstemp(path), wires = 0, fragments = 0, whole = 0;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	t = relay_tap_new("vm0", &o, &log, 100, err, sizeof(err));
	assert_non_null(t);
	n += kd_control_build(stream + n, KD_PACKET_TYPE_RESET, 0);
	stream[n++] = 'b';
	memcpy(stream + n, "junk", 4);
	n += 4;
	n += wire_data(stream + n, KD_PACKET_TYPE_STATE_MANIPULATE, 0x80800000, req,
		       get_version_request(req));
	n += kd_control_build(stream + n, KD_PACKET_TYPE_ACKNOWLEDGE, 0x80800000);
	for (size_t i = 0; i < n; i++) /* one byte at a time */
		relay_tap_on_debugger(t, 200 + i, 0, stream + i, 1);
	relay_tap_on_debugger(t, 1000, 1, stream, 16); /* the relay's own: as written */
	relay_tap_on_event(t, 1001, RECORD_EV_DEBUGGER_DISCONNECTED, NULL);
	relay_tap_free(t, 1002);
	assert_int_equal(record_load_file(path, 1 << 20, &data, &len, err, sizeof(err)), 0);
	assert_int_equal(record_reader_init(&r, data, len), 0);
	while (record_next(&r, &rec) == 1) {
		if (rec.type != RECORD_KD_WIRE)
			continue;
		wires++;
		if (rec.flags & RECORD_FLAG_FRAGMENT) {
			fragments++;
			assert_int_equal(rec.len, 4);
			assert_memory_equal(rec.body, "junk", 4);
		} else {
			whole++;
		}
	}
	/* RESET, 'b', "junk", GetVersion, ACK from the debugger; RESET from the relay */
	assert_int_equal(wires, 6);
	assert_int_equal(fragments, 1);
	assert_int_equal(whole, 5);
	free(data);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(every_truncation_reported),
		cmocka_unit_test(tampered_files_reported),
		cmocka_unit_test(path_patterns),
		cmocka_unit_test(trace_lines),
		cmocka_unit_test(pcapng_structure),
		cmocka_unit_test_setup_teardown(replay_to_the_end, play_setup, play_teardown),
		cmocka_unit_test_setup_teardown(replay_reports_divergence, play_setup, play_teardown),
		cmocka_unit_test_setup_teardown(replay_debugger_leaves_early, play_setup, play_teardown),
		cmocka_unit_test(tap_records_debugger_packets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
