/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the RSP framing (host/gdb/rsp_parser.c) and the register block
 * decoder (host/gdb/gdb_regs.c): whatever a debugger sends, no crash, and the parser
 * gives the same events whole, in chunks and byte by byte; every packet it accepts
 * survives a round trip through the encoder. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../host/gdb/gdb_regs.h"
#include "../../host/gdb/rsp_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 256 /* small, so oversize packets are common */
#define MAX_EVENTS 4096

#define check(cond) do { if (!(cond)) __builtin_trap(); } while (0)

struct rec {
	enum rsp_event_kind kind;
	size_t len;
	uint32_t hash;
	size_t end;
};

static uint32_t fnv(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void roundtrip(const uint8_t *payload, size_t len)
{
	static uint8_t enc[RSP_ENCODED_MAX(CAP)], back[CAP];
	struct rsp_parser p;
	struct rsp_event ev;
	size_t n = rsp_encode(payload, len, enc, sizeof(enc));

	check(n >= len + 4 && n <= RSP_ENCODED_MAX(len));
	rsp_parser_init(&p, back, sizeof(back));
	check(rsp_parser_feed(&p, enc, n, &ev) == n);
	check(ev.kind == RSP_EV_PACKET && ev.len == len && !memcmp(ev.data, payload, len));
}

/* Parses stream in chunks from the generator (chunk 0 = whole); records events. */
static size_t run(const uint8_t *s, size_t len, unsigned mode, uint32_t seed, struct rec *out,
		  int verify)
{
	static uint8_t buf[CAP];
	struct rsp_parser p;
	struct rsp_event ev;
	size_t off = 0, n = 0;

	rsp_parser_init(&p, buf, sizeof(buf));
	while (off < len) {
		size_t chunk = len - off;

		if (mode == 1)
			chunk = 1;
		else if (mode == 2) {
			seed = seed * 1103515245u + 12345u;
			chunk = 1 + (seed >> 16) % 17;
			if (chunk > len - off)
				chunk = len - off;
		}
		while (chunk) {
			size_t used = rsp_parser_feed(&p, s + off, chunk, &ev);

			check(used >= 1 && used <= chunk);
			off += used, chunk -= used;
			if (ev.kind == RSP_EV_NONE) {
				check(chunk == 0);
				continue;
			}
			check(n < MAX_EVENTS);
			out[n].kind = ev.kind;
			out[n].len = ev.len;
			out[n].hash = ev.kind == RSP_EV_PACKET ? fnv(ev.data, ev.len) : 0;
			out[n].end = off;
			if (ev.kind == RSP_EV_PACKET) {
				check(ev.len < CAP && ev.data[ev.len] == 0);
				if (verify)
					roundtrip(ev.data, ev.len);
			}
			n++;
		}
	}
	check(p.stats.packets + p.stats.bad_packets + p.stats.oversize + p.stats.interrupts +
	      p.stats.acks + p.stats.naks >= n);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rec a[MAX_EVENTS], b[MAX_EVENTS], c[MAX_EVENTS];
	struct gdb_reg_state st;
	size_t na, nb, nc;
	uint32_t seed;

	if (size < 2 || size > 1u << 16)
		return 0;
	seed = data[0] | (uint32_t)data[1] << 8;
	data += 2, size -= 2;
	na = run(data, size, 0, seed, a, 1);
	nb = run(data, size, 1, seed, b, 0);
	nc = run(data, size, 2, seed, c, 0);
	check(na == nb && na == nc);
	for (size_t i = 0; i < na; i++) {
		check(a[i].kind == b[i].kind && a[i].kind == c[i].kind);
		check(a[i].len == b[i].len && a[i].len == c[i].len);
		check(a[i].hash == b[i].hash && a[i].hash == c[i].hash);
		check(a[i].end == b[i].end && a[i].end == c[i].end);
	}
	/* The same bytes as a G block and as single registers: decoded or refused. */
	memset(&st, 0, sizeof(st));
	if (size >= gdb_regs_g_size())
		check(gdb_regs_write_g(&st, data, gdb_regs_g_size()) == 0);
	else
		check(gdb_regs_write_g(&st, data, size) == -1);
	if (size >= GDB_REG_MAX_BYTES)
		for (unsigned r = 0; r <= GDB_NUM_REGS; r++) {
			uint8_t out[GDB_REG_MAX_BYTES];

			gdb_reg_write(&st, r, data);
			check(gdb_reg_read(&st, r, out) == gdb_reg_size(r));
		}
	return 0;
}
