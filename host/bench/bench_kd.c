/* SPDX-License-Identifier: MIT */
/* The KD phases of `vmkd bench`: requests while stopped, then DbgPrint while running. */
#include "bench_kd.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../client/session.h"
#include "bench_guest.h"
#include "bench_qmp.h"
#include "bench_samples.h"

#define SMALL_READ 16u
#define WARMUP_REQUESTS 16u
#define PRINT_LINE_MAX 512
#define DBGPRINT_SLICE_US 100000ull
#define DBGPRINT_IDLE_LIMIT_NS 30000000000ull /* no line for 30 s: the target is gone */

/* Counters sampled at a phase boundary; each source is optional. */
struct bench_counters {
	struct session_stats host;
	int have_exits;
	struct bench_qmp_counts kvm;
	uint64_t kvm_t_ns;
	int have_guest;
	struct vmkd_guest_stats guest;
};

struct bench_kd {
	const struct bench_kd_config *cfg;
	const struct bench_out *out;
	struct session *s;

	struct bench_qmp qmp;
	int qmp_ok;
	char qmp_why[256];          /* why there are no VM exit counts */
	struct bench_guest guest;
	int guest_ok;
	char guest_why[256];        /* why there are no guest counters */

	/* From the kernel's boot announcement. */
	uint64_t pattern, pattern_size;
	uint8_t *expect;            /* the pattern as the kernel fills it */

	/* DbgPrint text, split into lines. */
	char line[PRINT_LINE_MAX];
	size_t line_len;
	int counting;               /* the DbgPrint phase runs */
	uint8_t *seen;              /* per line number */
	uint64_t got, dups, out_of_order, last_no, foreign;
	uint64_t t_first, t_last;
	int done;
};

/* ---- DbgPrint text ------------------------------------------------------------------- */

static void on_line(struct bench_kd *k, const char *line)
{
	unsigned long long a, b, c, d, no, of;
	const char *p;

	if ((p = strstr(line, "pattern 0x")) &&
	    sscanf(p, "pattern %llx phys %llx size %llx guard %llx", &a, &b, &c, &d) == 4) {
		k->pattern = a;
		k->pattern_size = c;
	}
	if (!k->counting)
		return;
	if ((p = strstr(line, "dbgprint line ")) && sscanf(p, "dbgprint line %llu of %llu", &no,
							 &of) == 2) {
		uint64_t now = bench_now_ns();

		if (!k->got)
			k->t_first = now;
		k->t_last = now;
		if (no < 1 || no > k->cfg->lines) {
			k->foreign++;
			return;
		}
		if (k->seen[no - 1]) {
			k->dups++;
			return;
		}
		k->seen[no - 1] = 1;
		if (no != k->last_no + 1)
			k->out_of_order++;
		k->last_no = no;
		k->got++;
	} else if (strstr(line, "dbgprint done")) {
		k->done = 1;
	}
}

static void on_print(void *opaque, const char *text, size_t len)
{
	struct bench_kd *k = opaque;

	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n' || k->line_len == sizeof(k->line) - 1) {
			k->line[k->line_len] = '\0';
			on_line(k, k->line);
			k->line_len = 0;
			if (text[i] == '\n')
				continue;
		}
		k->line[k->line_len++] = text[i];
	}
}

/* ---- counters ------------------------------------------------------------------------ */

/* with_guest: also ask the guest for STATS (one extra frame from it). */
static void sample(struct bench_kd *k, struct bench_counters *c, int with_guest)
{
	char err[256];
	int rc;

	memset(c, 0, sizeof(*c));
	if (k->guest_ok && with_guest) {
		rc = bench_guest_stats(&k->guest, k->s, &c->guest, err, sizeof(err));
		c->have_guest = rc == 0;
		if (rc) {
			k->guest_ok = 0;
			snprintf(k->guest_why, sizeof(k->guest_why), "%s", err);
		}
	}
	if (k->qmp_ok) {
		rc = bench_qmp_counts(&k->qmp, &c->kvm, err, sizeof(err));
		c->kvm_t_ns = bench_now_ns();
		c->have_exits = rc == 0;
		if (rc) {
			k->qmp_ok = 0;
			snprintf(k->qmp_why, sizeof(k->qmp_why), "%s", err);
		}
	}
	session_get_stats(k->s, &c->host);
}

/* ---- requests ------------------------------------------------------------------------ */

/* One virtual read of len bytes at offset off of the pattern, checked byte for byte. */
static int read_checked(struct bench_kd *k, uint64_t off, uint8_t *buf, size_t len)
{
	size_t got = 0;
	int rc = session_read_virtual(k->s, k->pattern + off, buf, len, &got);

	if (rc) {
		fprintf(stderr, "vmkd bench: read of %zu bytes at %#" PRIx64 ": %s\n", len,
			k->pattern + off, session_error(k->s));
		return rc;
	}
	if (got != len || memcmp(buf, k->expect + off, len)) {
		fprintf(stderr, "vmkd bench: read of %zu bytes at %#" PRIx64 " returned %zu bytes "
				"that are not the pattern\n", len, k->pattern + off, got);
		return -EPROTO;
	}
	return 0;
}

/* Offsets cycle through the pattern so replies are not all alike. */
static uint64_t offset_for(const struct bench_kd *k, unsigned i, size_t len)
{
	uint64_t span = k->pattern_size - len + 1;

	return ((uint64_t)i * len) % span;
}

/* n reads of len bytes, each timed. *wall_ns gets the whole loop. */
static int timed_reads(struct bench_kd *k, unsigned n, size_t len, struct bench_samples *lat,
		       uint64_t *wall_ns)
{
	uint8_t buf[KD_MANIPULATE_MAX_DATA];
	uint64_t start = bench_now_ns();
	int rc;

	for (unsigned i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();

		rc = read_checked(k, offset_for(k, i, len), buf, len);
		if (rc)
			return rc;
		bench_samples_add(lat, (double)(bench_now_ns() - t0) / 1e3);
	}
	*wall_ns = bench_now_ns() - start;
	return 0;
}

static int phase_latency(struct bench_kd *k, const char *metric, unsigned n, size_t len,
			 int report_rate)
{
	struct bench_samples lat;
	uint64_t wall = 0;
	char name[64];
	int rc;

	if (!n)
		return 0;
	if (bench_samples_init(&lat, n))
		return -ENOMEM;
	fprintf(stderr, "vmkd bench: [%s] %u reads of %zu bytes\n", metric, n, len);
	rc = timed_reads(k, n, len, &lat, &wall);
	if (!rc) {
		bench_out_value(k->out, metric, bench_samples_quantile(&lat, 0.5), "us");
		snprintf(name, sizeof(name), "%s_p99", metric);
		bench_out_value(k->out, name, bench_samples_quantile(&lat, 0.99), "us");
		bench_out_note(k->out, metric, "median and p99 of %u ReadVirtualMemory of %zu "
			       "bytes, debugger -> target -> debugger", n, len);
		if (report_rate) {
			bench_out_value(k->out, "requests_per_s", (double)n * 1e9 / (double)wall,
					"req/s");
			bench_out_note(k->out, "requests_per_s", "%u back-to-back %zu-byte reads "
				       "in %.3f s (the rtt_small loop)", n, len, (double)wall / 1e9);
		}
	}
	bench_samples_free(&lat);
	return rc;
}

/* Bulk reads as a memory window or .writemem makes them: session_read_virtual calls of
 * several requests each (as many whole KD_MANIPULATE_MAX_DATA requests as the pattern
 * holds), so the engine sends each reply's ACK with the next request. */
static int phase_bulk(struct bench_kd *k)
{
	struct session_stats st0, st1;
	uint64_t done = 0, start, wall;
	size_t block = KD_MANIPULATE_MAX_DATA;
	unsigned i = 0;
	uint8_t *buf;
	int rc = 0;

	if (!k->cfg->bulk_bytes)
		return 0;
	if (k->pattern_size >= KD_MANIPULATE_MAX_DATA)
		block = (size_t)(k->pattern_size / KD_MANIPULATE_MAX_DATA) * KD_MANIPULATE_MAX_DATA;
	buf = malloc(block);
	if (!buf)
		return -ENOMEM;
	fprintf(stderr, "vmkd bench: [read_mb_s] %" PRIu64 " bytes in %zu-byte reads of %u-byte "
		"requests\n", k->cfg->bulk_bytes, block, (unsigned)KD_MANIPULATE_MAX_DATA);
	session_get_stats(k->s, &st0);
	start = bench_now_ns();
	while (done < k->cfg->bulk_bytes) {
		size_t len = block;

		if (k->cfg->bulk_bytes - done < len)
			len = (size_t)(k->cfg->bulk_bytes - done);
		rc = read_checked(k, offset_for(k, i++, block), buf, len);
		if (rc)
			goto out;
		done += len;
	}
	wall = bench_now_ns() - start;
	session_get_stats(k->s, &st1);
	bench_out_value(k->out, "read_mb_s", (double)done * 1e3 / (double)wall, "MB/s");
	bench_out_value(k->out, "read_bytes", (double)done, "bytes");
	bench_out_note(k->out, "read_mb_s", "%" PRIu64 " bytes (%.2f MiB) of virtual memory in "
		       "%u reads of up to %zu bytes = %" PRIu64 " ReadVirtualMemory requests of up "
		       "to %u bytes, %.3f s, %" PRIu64 " writes by the debugger; MB = 10^6 bytes",
		       done, (double)done / 1048576.0, i, block, st1.requests - st0.requests,
		       (unsigned)KD_MANIPULATE_MAX_DATA, (double)wall / 1e9,
		       st1.writes - st0.writes);
out:
	free(buf);
	return rc;
}

/* ---- transport counters -------------------------------------------------------------- */

static double per_s(uint64_t a, uint64_t b, uint64_t t_a, uint64_t t_b)
{
	return t_b > t_a ? (double)(b - a) * 1e9 / (double)(t_b - t_a) : NAN;
}

static void report_exits(struct bench_kd *k, const struct bench_counters *idle0,
			 const struct bench_counters *idle1, const struct bench_counters *small1,
			 const struct bench_counters *req1)
{
	const struct bench_counters *req0 = idle1;
	uint64_t pkts = (req1->host.packets_rx - req0->host.packets_rx) +
			(req1->host.packets_tx - req0->host.packets_tx);
	uint64_t exits = req1->kvm.exits - req0->kvm.exits;
	double idle_rate, background;

	if (!idle0->have_exits || !idle1->have_exits || !small1->have_exits ||
	    !req1->have_exits) {
		bench_out_na(k->out, "vm_exits_per_packet", "exits/pkt", k->qmp_why);
		bench_out_na(k->out, "vm_exits_per_packet_net", "exits/pkt", k->qmp_why);
		bench_out_na(k->out, "idle_exits_per_s", "exits/s", k->qmp_why);
		return;
	}
	idle_rate = per_s(idle0->kvm.exits, idle1->kvm.exits, idle0->kvm_t_ns, idle1->kvm_t_ns);
	background = idle_rate * (double)(req1->kvm_t_ns - req0->kvm_t_ns) / 1e9;
	bench_out_value(k->out, "vm_exits_per_packet", pkts ? (double)exits / (double)pkts : NAN,
			"exits/pkt");
	bench_out_note(k->out, "vm_exits_per_packet", "QMP query-stats kvm 'exits' over the "
		       "request phases: %" PRIu64 " exits for %" PRIu64 " KD data packets (both "
		       "ways); the stopped-idle rate alone would give %.0f of them. This host's "
		       "KVM counts only exits to QEMU user space (ioeventfd notifies are "
		       "invisible)", exits, pkts, background);
	/* What the packets added to the background; noise can push it below 0. */
	bench_out_value(k->out, "vm_exits_per_packet_net",
			pkts ? ((double)exits > background ? ((double)exits - background) /
							      (double)pkts : 0) : NAN,
			"exits/pkt");
	bench_out_note(k->out, "vm_exits_per_packet_net", "vm_exits_per_packet minus the "
		       "stopped-idle rate over the same time (%.0f exits), floored at 0",
		       background);
	bench_out_value(k->out, "idle_exits_per_s", idle_rate, "exits/s");
	bench_out_note(k->out, "idle_exits_per_s", "VM exits per second while the target "
		       "sits stopped in the debugger waiting for a request (%u ms)",
		       k->cfg->idle_ms);
	/* Ring-0 code is emulated here: instructions, not exits, are what costs time. */
	bench_out_note(k->out, "rtt_small_us", "KVM emulated %.0f guest instructions/s while "
		       "idle-polling and %.0f per small request (QMP insn_emulation)",
		       per_s(idle0->kvm.insn_emulation, idle1->kvm.insn_emulation,
			     idle0->kvm_t_ns, idle1->kvm_t_ns),
		       k->cfg->small_n ? (double)(small1->kvm.insn_emulation -
						  req0->kvm.insn_emulation) /
						 (double)k->cfg->small_n : NAN);
}

static void report_guest(struct bench_kd *k, const struct bench_counters *idle0,
			 const struct bench_counters *req0, const struct bench_counters *req1)
{
	const struct vmkd_guest_stats *a = &req0->guest, *b = &req1->guest;
	uint64_t frames;

	if (!idle0->have_guest || !req0->have_guest || !req1->have_guest) {
		bench_out_na(k->out, "notifications_per_packet", "notify/pkt", k->guest_why);
		bench_out_na(k->out, "portio_per_packet", "portio/pkt", k->guest_why);
		bench_out_na(k->out, "portio_while_polling", "portio", k->guest_why);
		return;
	}
	/* The counters in a STATS frame are taken before that frame is sent, so the window
	 * holds the KD packets plus exactly one STATS frame (req0's own). */
	frames = b->packets_sent - a->packets_sent + 1;
	bench_out_value(k->out, "notifications_per_packet",
			(double)(b->notifications - a->notifications) / (double)frames,
			"notify/pkt");
	bench_out_note(k->out, "notifications_per_packet", "guest transport counters (STATS "
		       "via the relay): %" PRIu64 " notifications for %" PRIu64 " frames sent "
		       "(%" PRIu64 " KD packets + 1 STATS) in the request phases",
		       b->notifications - a->notifications, frames, frames - 1);
	bench_out_value(k->out, "portio_per_packet",
			(double)(b->port_io_total - a->port_io_total) / (double)frames,
			"portio/pkt");
	bench_out_note(k->out, "portio_per_packet", "every in/out of the guest transport: "
		       "%" PRIu64 " for %" PRIu64 " frames sent",
		       b->port_io_total - a->port_io_total, frames);
	bench_out_value(k->out, "portio_while_polling",
			(double)(b->port_io_while_polling - idle0->guest.port_io_while_polling),
			"portio");
	bench_out_note(k->out, "portio_while_polling", "in/out issued inside the transport's "
		       "wait loops over the idle and request phases (%" PRIu64 " polls)",
		       b->polls - idle0->guest.polls);
}

/* Serial: the kernel's KDCOM transport counts nothing; the wire says what it wrote. */
static void report_serial_wire(struct bench_kd *k, const struct bench_counters *req0,
			       const struct bench_counters *req1)
{
	uint64_t bytes = req1->host.bytes_rx - req0->host.bytes_rx;
	uint64_t pkts = req1->host.packets_rx - req0->host.packets_rx;
	static const char why[] = "the built-in KDCOM serial transport does not count its port "
				  "I/O (under KVM, vm_exits_per_packet counts every 16550 access)";

	bench_out_value(k->out, "notifications_per_packet", pkts ? (double)bytes / (double)pkts :
			NAN, "notify/pkt");
	bench_out_note(k->out, "notifications_per_packet", "bytes the guest wrote to the UART "
		       "per KD data packet it sent (%" PRIu64 " bytes incl. its ACKs, %" PRIu64
		       " packets): one OUT to THR, one VM exit, per byte", bytes, pkts);
	bench_out_na(k->out, "portio_per_packet", "portio/pkt", why);
	bench_out_na(k->out, "portio_while_polling", "portio", why);
}

/* ---- DbgPrint ------------------------------------------------------------------------ */

static int phase_dbgprint(struct bench_kd *k)
{
	uint64_t lines = k->cfg->lines, last_change, got_before;
	struct bench_counters c0, c1;
	uint64_t c1_lines = 0;
	int rc;

	if (!lines)
		return 0;
	k->seen = calloc(lines, 1);
	if (!k->seen)
		return -ENOMEM;
	fprintf(stderr, "vmkd bench: [dbgprint] continuing; the kernel prints %" PRIu64 " lines\n",
		lines);
	k->counting = 1;
	sample(k, &c0, 0);
	rc = session_go(k->s);
	if (rc) {
		fprintf(stderr, "vmkd bench: continue: %s\n", session_error(k->s));
		return rc;
	}
	last_change = bench_now_ns();
	got_before = 0;
	while (!k->done && session_connected(k->s)) {
		session_poll(k->s, DBGPRINT_SLICE_US);
		/* At 90% of the lines: after the last one the kernel ends, and QEMU with it,
		 * before a sample could be taken. */
		if (!c1_lines && k->got && k->got >= lines - lines / 10) {
			sample(k, &c1, 0);
			c1_lines = k->got;
		}
		if (k->got != got_before) {
			got_before = k->got;
			last_change = bench_now_ns();
		} else if (bench_now_ns() - last_change > DBGPRINT_IDLE_LIMIT_NS) {
			break;
		}
	}
	k->counting = 0;
	/* Under this host's KVM ring-0 code is emulated: a line costs its instructions. The
	 * window runs from `g` (the resume included) to the arrival of 90% of the lines. */
	if (c1_lines && c0.have_exits && c1.have_exits)
		bench_out_note(k->out, "dbgprint_lines_s", "KVM emulated %.0f guest "
			       "instructions per line (QMP insn_emulation, %" PRIu64 " from g to "
			       "the %" PRIu64 "th line)", (double)(c1.kvm.insn_emulation -
			       c0.kvm.insn_emulation) / (double)c1_lines,
			       c1.kvm.insn_emulation - c0.kvm.insn_emulation, c1_lines);
	if (k->got < 2 || k->t_last <= k->t_first) {
		bench_out_na(k->out, "dbgprint_lines_s", "lines/s",
			     "fewer than two DbgPrint lines arrived");
	} else {
		bench_out_value(k->out, "dbgprint_lines_s",
				(double)(k->got - 1) * 1e9 / (double)(k->t_last - k->t_first),
				"lines/s");
	}
	bench_out_value(k->out, "dbgprint_lines_lost", (double)(lines - k->got), "lines");
	bench_out_note(k->out, "dbgprint_lines_s", "%" PRIu64 " of %" PRIu64 " lines arrived "
		       "(%" PRIu64 " duplicates, %" PRIu64 " out of order, %" PRIu64 " out of "
		       "range), first to last in %.3f s; %s", k->got, lines, k->dups,
		       k->out_of_order, k->foreign,
		       (double)(k->t_last - k->t_first) / 1e9,
		       k->done ? "the end marker arrived" : "NO end marker");
	return 0;
}

/* ---- the run ------------------------------------------------------------------------- */

static int wait_initial_stop(struct bench_kd *k)
{
	struct kd_get_version64 ver;
	struct session_stop st;
	uint8_t buf[SMALL_READ];
	int rc;

	rc = session_wait_stop(k->s, (uint64_t)(k->cfg->wait_s * 1e6), &st);
	if (rc) {
		fprintf(stderr, "vmkd bench: no initial breakpoint: %s\n", session_error(k->s));
		return rc;
	}
	if (!k->pattern || k->pattern_size < KD_MANIPULATE_MAX_DATA) {
		fprintf(stderr, "vmkd bench: the target did not announce a usable pattern "
				"region (\"pattern 0x... size 0x...\")\n");
		return -EPROTO;
	}
	k->expect = malloc(k->pattern_size);
	if (!k->expect)
		return -ENOMEM;
	for (uint64_t i = 0; i < k->pattern_size; i++)
		k->expect[i] = (uint8_t)(i * 7 + 3);
	rc = session_get_version(k->s, &ver);
	if (rc) {
		fprintf(stderr, "vmkd bench: GetVersion: %s\n", session_error(k->s));
		return rc;
	}
	fprintf(stderr, "vmkd bench: [stop] at %#" PRIx64 "; build %u, KernBase %#" PRIx64
		", pattern %#" PRIx64 " (%" PRIu64 " bytes)\n", st.pc,
		(unsigned)ver.minor_version, ver.kern_base, k->pattern, k->pattern_size);
	/* Warm caches and the link before anything is timed. */
	for (unsigned i = 0; i < WARMUP_REQUESTS; i++) {
		rc = read_checked(k, offset_for(k, i, SMALL_READ), buf, SMALL_READ);
		if (rc)
			return rc;
	}
	return 0;
}

static void open_sources(struct bench_kd *k)
{
	char err[256];

	snprintf(k->qmp_why, sizeof(k->qmp_why), "no QMP socket given");
	if (k->cfg->qmp) {
		if (bench_qmp_open(&k->qmp, k->cfg->qmp, err, sizeof(err)) == 0)
			k->qmp_ok = 1;
		else
			snprintf(k->qmp_why, sizeof(k->qmp_why), "%s", err);
	}
	snprintf(k->guest_why, sizeof(k->guest_why), "no relay to ask for guest STATS");
	if (k->cfg->relay_pid > 0 && k->cfg->relay_log) {
		bench_guest_init(&k->guest, k->cfg->relay_pid, k->cfg->relay_log);
		k->guest_ok = 1;
	}
}

static int run_phases(struct bench_kd *k)
{
	struct bench_counters idle0, idle1, small1, req1;
	uint64_t settle;
	int rc;

	rc = wait_initial_stop(k);
	if (rc)
		return rc;
	/* Only now: QEMU serves no QMP while it waits for a chardev client (wait=on). */
	open_sources(k);

	fprintf(stderr, "vmkd bench: [idle] %u ms stopped\n", k->cfg->idle_ms);
	sample(k, &idle0, 1);
	settle = k->cfg->idle_ms * 1000ull;
	session_poll(k->s, settle);
	sample(k, &idle1, 1);

	rc = phase_latency(k, "rtt_small_us", k->cfg->small_n, SMALL_READ, 1);
	if (rc)
		return rc;
	sample(k, &small1, 0);
	rc = phase_latency(k, "rtt_read4k_us", k->cfg->large_n, KD_MANIPULATE_MAX_DATA, 0);
	if (!rc)
		rc = phase_bulk(k);
	if (rc)
		return rc;
	sample(k, &req1, 1);

	report_exits(k, &idle0, &idle1, &small1, &req1);
	if (k->cfg->relay_pid > 0)
		report_guest(k, &idle0, &idle1, &req1);
	else
		report_serial_wire(k, &idle1, &req1);
	return phase_dbgprint(k);
}

int bench_kd_run(const struct bench_kd_config *cfg, const struct bench_out *out)
{
	struct session_options opt;
	struct session_stats st;
	struct bench_kd *k;
	char err[256];
	int rc;

	k = calloc(1, sizeof(*k));
	if (!k) {
		fprintf(stderr, "vmkd bench: out of memory\n");
		return 1;
	}
	k->cfg = cfg;
	k->out = out;
	k->qmp.fd = -1;

	session_default_options(&opt);
	opt.connect_timeout_ms = (int)(cfg->wait_s * 1000);
	opt.cb.print = on_print;
	opt.cb.opaque = k;
	k->s = session_open(cfg->endpoint, &opt, err, sizeof(err));
	if (!k->s) {
		fprintf(stderr, "vmkd bench: %s\n", err);
		rc = -ECONNREFUSED;
	} else {
		rc = run_phases(k);
		session_get_stats(k->s, &st);
		fprintf(stderr, "vmkd bench: [session] %" PRIu64 " requests, %" PRIu64 " timeouts, "
			"%" PRIu64 " retransmits, %" PRIu64 " resets, %" PRIu64 " malformed\n",
			st.requests, st.timeouts, st.retransmits, st.resets, st.malformed);
		session_close(k->s);
	}
	if (k->qmp_ok)
		bench_qmp_close(&k->qmp);
	free(k->expect);
	free(k->seen);
	free(k);
	return rc ? 1 : 0;
}
