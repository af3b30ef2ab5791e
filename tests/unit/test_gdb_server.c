/* SPDX-License-Identifier: MIT */
/*
 * The gdb server's command dispatch end to end: RSP packets in on one socket, the real
 * session engine on another, and behind it a fake kernel in a thread (the real KD target
 * core over the KDCOM transport, driving a toy CPU: int3, nop, inc rax, hlt as the idle
 * loop polling for break-in). What comes back is what gdb would read.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "kd_serial.h"
#include "kd_target.h"

#include "../../host/client/session.h"
#include "../../host/gdb/gdb_server.h"

#define SECOND 1000000ull
#define VA 0xfffff80000100000ull
#define MEM_SIZE 0x3000u
#define MAPPED 0x2000u /* the last page is unmapped */
#define CODE (VA + 0x1000)
#define BREAK_FN (CODE + 0x40)
#define PATTERN (VA + 0x800)

/* int3 (first stop); nop; inc rax; nop; nop; hlt (idle: polls for break-in) */
static const uint8_t code_main[] = { 0xcc, 0x90, 0x48, 0xff, 0xc0, 0x90, 0x90, 0xf4 };
static const uint8_t code_break[] = { 0xcc, 0x90, 0xf4 };

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SECOND + (uint64_t)ts.tv_nsec / 1000u;
}

struct fake_kernel {
	int fd;
	pthread_t thread;
	uint8_t mem[MEM_SIZE];
	struct kd_special_registers_amd64 sr;
	struct kd_serial ser;
	struct kd_target t;
	struct kd_context_amd64 ctx;
	volatile uint8_t not_present;
	volatile int dead;      /* the debugger's end hung up */
	volatile int quit;      /* teardown: leave before the next instruction */
	volatile int exited;
	uint8_t rx[4096];
	size_t rx_len, rx_pos;
};

static size_t span(uint64_t addr, size_t len)
{
	if (addr < VA || addr - VA >= MAPPED)
		return 0;
	return len < MAPPED - (addr - VA) ? len : (size_t)(MAPPED - (addr - VA));
}

static size_t fk_read(void *p, uint64_t va, void *buf, size_t len)
{
	size_t n = span(va, len);

	if (n)
		memcpy(buf, ((struct fake_kernel *)p)->mem + (va - VA), n);
	return n;
}

static size_t fk_write(void *p, uint64_t va, const void *buf, size_t len)
{
	size_t n = span(va, len);

	if (n)
		memcpy(((struct fake_kernel *)p)->mem + (va - VA), buf, n);
	return n;
}

static void fk_read_special(void *p, struct kd_special_registers_amd64 *sr)
{
	*sr = ((struct fake_kernel *)p)->sr;
}

static void fk_write_special(void *p, const struct kd_special_registers_amd64 *sr)
{
	((struct fake_kernel *)p)->sr = *sr;
}

static int fk_read_msr(void *p, uint32_t msr, uint64_t *value)
{
	(void)p;
	if (msr != 0xC0000101u)
		return -1;
	*value = 0xfffff80000123000ull;
	return 0;
}

static int fk_write_msr(void *p, uint32_t msr, uint64_t value)
{
	(void)p, (void)msr, (void)value;
	return -1;
}

static uint32_t fk_query(void *p, uint64_t va, uint32_t *space)
{
	(void)p;
	*space = KD_QUERY_SPACE_KERNEL;
	return span(va, 1) ? KD_QUERY_FLAG_READ | KD_QUERY_FLAG_WRITE : 0;
}

static const struct kd_platform_ops fk_platform = {
	.read_virtual = fk_read, .write_virtual = fk_write,
	.read_physical = fk_read, .write_physical = fk_write,
	.read_special = fk_read_special, .write_special = fk_write_special,
	.read_msr = fk_read_msr, .write_msr = fk_write_msr, .query_memory = fk_query,
};

static int fk_get(void *p)
{
	struct fake_kernel *k = p;

	if (k->rx_pos == k->rx_len) {
		struct pollfd pfd = { .fd = k->fd, .events = POLLIN };
		ssize_t n;

		if (k->dead || poll(&pfd, 1, 1) <= 0)
			return -1;
		n = read(k->fd, k->rx, sizeof(k->rx));
		if (n <= 0) {
			k->dead = 1;
			k->not_present = 1;
			return -1;
		}
		k->rx_len = (size_t)n;
		k->rx_pos = 0;
	}
	return k->rx[k->rx_pos++];
}

static void fk_put(void *p, const uint8_t *buf, size_t len)
{
	struct fake_kernel *k = p;

	while (len && !k->dead) {
		ssize_t n = send(k->fd, buf, len, MSG_NOSIGNAL);

		if (n <= 0) {
			k->dead = k->not_present = 1;
			return;
		}
		buf += n, len -= (size_t)n;
	}
}

static uint64_t fk_now(void *p)
{
	(void)p;
	return now_us();
}

static const struct kd_byte_io_ops fk_io = { .get = fk_get, .put = fk_put, .now_us = fk_now };

static void fk_report(struct fake_kernel *k, uint32_t code)
{
	kd_target_report_exception(&k->t, &k->ctx, code, k->ctx.rip, 1);
}

static void cpu_run(struct fake_kernel *k)
{
	while (!k->dead && !k->quit) {
		uint64_t rip = k->ctx.rip;
		int tf = (k->ctx.eflags & KD_EFLAGS_TF) != 0;
		uint8_t op[4] = { 0 };

		if (!fk_read(k, rip, op, sizeof(op))) {
			fk_report(k, KD_STATUS_ACCESS_VIOLATION);
			continue;
		}
		switch (op[0]) {
		case 0xcc:
			fk_report(k, KD_STATUS_BREAKPOINT);
			continue;
		case 0x90:
			rip += 1;
			break;
		case 0x48:
			k->ctx.rax++;
			rip += 3;
			break;
		case 0xf4:
			if (kd_target_poll_breakin(&k->t))
				k->ctx.rip = BREAK_FN;
			else
				usleep(500);
			continue;
		default:
			fk_report(k, 0xC000001Du);
			rip += 1;
			break;
		}
		k->ctx.rip = rip;
		if (tf)
			fk_report(k, KD_STATUS_SINGLE_STEP);
	}
}

static void *kernel_main(void *arg)
{
	struct fake_kernel *k = arg;
	struct kd_target_info info;

	memset(&info, 0, sizeof(info));
	info.version.major_version = KD_MAJOR_VERSION_FREE;
	info.version.minor_version = 19041;
	info.version.protocol_version = KD_PROTOCOL_VERSION_64BIT2;
	info.version.kd_secondary_version = KD_SECONDARY_VERSION_AMD64_CONTEXT;
	info.version.flags = KD_VERSION_FLAG_PTR64;
	info.version.machine_type = KD_MACHINE_AMD64;
	info.version.max_packet_type = KD_PACKET_TYPE_MAX;
	info.version.max_state_change = 3;
	info.version.max_manipulate = 0x31;
	info.version.kern_base = VA;
	info.processor_level = 6;
	info.number_processors = 1;
	kd_serial_init(&k->ser, &fk_io, k, &k->not_present);
	k->ser.link.cfg.ack_timeout = 200000;
	k->ser.link.cfg.max_retries = 10;
	kd_target_init(&k->t, &fk_platform, k, &kd_serial_transport, &k->ser, &k->not_present,
		       &info);
	kd_target_load_symbols(&k->t, &k->ctx, "\\SystemRoot\\system32\\ntoskrnl.exe", VA,
			       MEM_SIZE, 0);
	cpu_run(k);
	k->exited = 1;
	return NULL;
}

/* ---- the fixture: kernel, session, server, and the debugger's end of the socket ------- */

struct fixture {
	struct fake_kernel *k;
	struct session *s;
	struct gdb_server *g;
	int dbg;                /* what gdb would hold */
	struct rsp_parser p;
	uint8_t pbuf[GDB_PACKET_SIZE + 64];
	char last[GDB_PACKET_SIZE + 64];
	int acks, naks;
};

static void on_print(void *opaque, const char *text, size_t len)
{
	gdb_server_print(opaque, text, len);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct session_options opt;
	struct session_stop st;
	char err[256];
	int kv[2], gv[2];

	assert_non_null(f);
	f->k = calloc(1, sizeof(*f->k));
	f->g = calloc(1, sizeof(*f->g));
	assert_non_null(f->k);
	assert_non_null(f->g);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, kv), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, gv), 0);
	f->k->fd = kv[1];
	memcpy(f->k->mem + (CODE - VA), code_main, sizeof(code_main));
	memcpy(f->k->mem + (BREAK_FN - VA), code_break, sizeof(code_break));
	for (unsigned i = 0; i < 0x100; i++)
		f->k->mem[PATTERN - VA + i] = (uint8_t)(i * 7 + 3);
	f->k->ctx.context_flags = KD_CONTEXT_FULL;
	f->k->ctx.rip = CODE;
	f->k->ctx.rax = 0x40;
	f->k->ctx.seg_cs = 0x10;
	f->k->ctx.eflags = 0x246;
	f->k->sr.cr3 = 0x1ab000;

	gdb_server_init(f->g, NULL, NULL);
	session_default_options(&opt);
	opt.request_timeout_us = 5 * SECOND;
	opt.cb.print = on_print;
	opt.cb.opaque = f->g;
	f->s = session_open_fd(kv[0], &opt, err, sizeof(err));
	if (!f->s)
		fail_msg("session_open_fd: %s", err);
	f->g->s = f->s;
	assert_int_equal(pthread_create(&f->k->thread, NULL, kernel_main, f->k), 0);
	if (session_wait_stop(f->s, 10 * SECOND, &st))
		fail_msg("no first stop: %s", session_error(f->s));
	gdb_server_attach(f->g, gv[0]);
	f->dbg = gv[1];
	rsp_parser_init(&f->p, f->pbuf, sizeof(f->pbuf));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	uint64_t end = now_us() + 10 * SECOND;

	/* A kernel that took a stop waits for its debugger for ever, as Windows does, so it
	 * must be told to quit before it is resumed: resumed at an int3 it would otherwise
	 * report again, and once that report is acknowledged nothing ends its wait. */
	f->k->quit = 1;
	if (session_state(f->s) == SESSION_TARGET_STOPPED)
		session_continue2(f->s, KD_DBG_CONTINUE, 0, 0);
	gdb_server_cleanup(f->g);
	session_close(f->s);
	while (!f->k->exited && now_us() < end)
		usleep(1000);
	if (!f->k->exited)
		fail_msg("the fake kernel did not leave within 10 s"); /* leaks f: it still runs */
	pthread_join(f->k->thread, NULL);
	close(f->k->fd);
	close(f->dbg);
	free(f->k);
	free(f->g);
	free(f);
	return 0;
}

/* The next packet the server sent (serving the KD side meanwhile), or NULL after 10 s. */
static const char *next_packet(struct fixture *f)
{
	uint64_t end = now_us() + 10 * SECOND;

	while (now_us() < end) {
		struct pollfd pfd = { .fd = f->dbg, .events = POLLIN };
		uint8_t buf[4096];
		ssize_t n;
		size_t off = 0;

		if (poll(&pfd, 1, 0) <= 0) {
			if (gdb_server_waiting(f->g))
				gdb_server_pump(f->g, 20000);
			else
				usleep(1000);
			continue;
		}
		/* One byte at a time: whatever follows the packet stays in the socket. */
		n = read(f->dbg, buf, 1);
		if (n <= 0)
			return NULL;
		while (off < (size_t)n) {
			struct rsp_event ev;

			off += rsp_parser_feed(&f->p, buf + off, (size_t)n - off, &ev);
			if (ev.kind == RSP_EV_ACK)
				f->acks++;
			else if (ev.kind == RSP_EV_NAK)
				f->naks++;
			else if (ev.kind == RSP_EV_PACKET) {
				memcpy(f->last, ev.data, ev.len);
				f->last[ev.len] = 0;
				return f->last;
			}
		}
	}
	return NULL;
}

/* Sends one packet as gdb would and returns the reply. */
static const char *ask(struct fixture *f, const char *pkt)
{
	uint8_t enc[RSP_ENCODED_MAX(4096)];
	size_t n = rsp_encode(pkt, strlen(pkt), enc, sizeof(enc));
	const char *r;

	gdb_server_feed(f->g, enc, n);
	r = next_packet(f);
	if (!r)
		fail_msg("no reply to %s", pkt);
	return r;
}

static const char *hex_of(const char *s, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; s[i]; i++) {
		out[2 * i] = hex[(uint8_t)s[i] >> 4];
		out[2 * i + 1] = hex[(uint8_t)s[i] & 0xf];
	}
	out[2 * i] = 0;
	return out;
}

static uint64_t le_hex(const char *h, size_t bytes)
{
	uint64_t v = 0;

	for (size_t i = 0; i < bytes; i++) {
		unsigned b;

		sscanf(h + 2 * i, "%2x", &b);
		v |= (uint64_t)b << (8 * i);
	}
	return v;
}

/* `monitor CMD`: the console text of its O packets into out, and the final reply. */
static const char *monitor(struct fixture *f, const char *cmd, char *out, size_t cap)
{
	char pkt[256] = "qRcmd,";
	const char *r;
	size_t o = 0;

	hex_of(cmd, pkt + 6);
	for (r = ask(f, pkt); r && r[0] == 'O' && strcmp(r, "OK"); r = next_packet(f)) {
		for (const char *h = r + 1; h[0] && h[1] && o + 1 < cap; h += 2) {
			unsigned b;

			sscanf(h, "%2x", &b);
			out[o++] = (char)b;
		}
	}
	out[o] = 0;
	if (!r)
		fail_msg("monitor %s: no final reply after \"%s\"", cmd, out);
	return r;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void handshake(void **state)
{
	struct fixture *f = *state;
	char buf[256];
	const char *r;

	r = ask(f, "qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386");
	assert_non_null(strstr(r, "PacketSize=4000"));
	assert_non_null(strstr(r, "qXfer:features:read+"));
	assert_non_null(strstr(r, "QStartNoAckMode+"));
	assert_true(f->acks >= 1); /* our packet was acknowledged */
	assert_string_equal(ask(f, "vMustReplyEmpty"), "");
	assert_string_equal(ask(f, "qNoSuchThing"), "");
	assert_string_equal(ask(f, "?"), "T05thread:1;");
	assert_string_equal(ask(f, "qfThreadInfo"), "m1");
	assert_string_equal(ask(f, "qsThreadInfo"), "l");
	assert_string_equal(ask(f, "qC"), "QC1");
	assert_string_equal(ask(f, "qAttached"), "1");
	assert_string_equal(ask(f, "Hg0"), "OK");
	assert_string_equal(ask(f, "Hg1"), "OK");
	assert_string_equal(ask(f, "Hc-1"), "OK");
	assert_string_equal(ask(f, "Hg5"), "E01");
	assert_string_equal(ask(f, "T1"), "OK");
	assert_string_equal(ask(f, "T2"), "E01");
	assert_string_equal(ask(f, "vCont?"), "vCont;c;C;s;S");
	r = ask(f, "qXfer:features:read:target.xml:0,20");
	assert_int_equal(r[0], 'm');
	assert_memory_equal(r + 1, "<?xml version=\"1.0\"?>", 21);
	assert_int_equal(strlen(r), 1 + 0x20);
	assert_string_equal(ask(f, "qXfer:features:read:other.xml:0,20"), "E00");
	r = ask(f, "qXfer:features:read:target.xml:100000,20");
	assert_string_equal(r, "l");
	r = ask(f, "qXfer:libraries:read::0,1000");
	assert_int_equal(r[0], 'l');
	snprintf(buf, sizeof(buf), "<segment address=\"0x%llx\"/>", VA + 0x1000);
	assert_non_null(strstr(r, "ntoskrnl.exe"));
	assert_non_null(strstr(r, buf)); /* no PE header in the fake: base + 0x1000 */

	/* A damaged packet is NAKed; QStartNoAckMode ends acks. */
	gdb_server_feed(f->g, (const uint8_t *)"$g#00", 5);
	{
		uint64_t end = now_us() + 5 * SECOND;
		struct pollfd pfd = { .fd = f->dbg, .events = POLLIN };
		char c = 0;

		while (now_us() < end && poll(&pfd, 1, 10) <= 0)
			;
		assert_int_equal(read(f->dbg, &c, 1), 1);
		assert_int_equal(c, '-');
	}
	assert_string_equal(ask(f, "QStartNoAckMode"), "OK");
	f->acks = 0;
	assert_string_equal(ask(f, "qC"), "QC1");
	assert_int_equal(f->acks, 0);
}

static void registers(void **state)
{
	struct fixture *f = *state;
	const char *r;

	r = ask(f, "g");
	assert_int_equal(strlen(r), 2 * gdb_regs_g_size());
	assert_int_equal(le_hex(r, 8), 0x40);                  /* rax */
	assert_int_equal(le_hex(r + 2 * 16 * 8, 8), CODE);     /* rip */
	assert_int_equal(le_hex(r + 2 * 17 * 8, 4), 0x246);    /* eflags */
	assert_int_equal(le_hex(r + 2 * (17 * 8 + 4), 4), 0x10); /* cs */
	r = ask(f, "p10");
	assert_int_equal(le_hex(r, 8), CODE);
	r = ask(f, "p3d"); /* cr3, from KSPECIAL_REGISTERS */
	assert_int_equal(le_hex(r, 8), 0x1ab000);
	r = ask(f, "p3a"); /* gs_base: MSR C0000101 */
	assert_int_equal(le_hex(r, 8), 0xfffff80000123000ull);
	r = ask(f, "p39"); /* fs_base: the fake refuses that MSR */
	assert_string_equal(r, "xxxxxxxxxxxxxxxx");
	assert_string_equal(ask(f, "p999"), "E01");
	assert_string_equal(ask(f, "P3d=0000000000000000"), "E01"); /* cr3 is read-only */
	assert_string_equal(ask(f, "P0=99"), "E01");               /* wrong size */

	/* rax = 0x1234 with P, seen by g and by the kernel once it runs. */
	assert_string_equal(ask(f, "P0=3412000000000000"), "OK");
	r = ask(f, "g");
	assert_int_equal(le_hex(r, 8), 0x1234);
	/* G writes the whole block back (rip + 1: past the int3). */
	{
		static char block[2 * 1024 + 2];
		char rip_hex[17];

		snprintf(block, sizeof(block), "G%s", ask(f, "g"));
		for (int i = 0; i < 8; i++)
			snprintf(rip_hex + 2 * i, 3, "%02x", (unsigned)((CODE + 1) >> (8 * i)) & 0xff);
		memcpy(block + 1 + 2 * 16 * 8, rip_hex, 16);
		assert_string_equal(ask(f, block), "OK");
	}
	r = ask(f, "p10");
	assert_int_equal(le_hex(r, 8), CODE + 1);
	assert_string_equal(ask(f, "Gzz"), "E01");
}

static void memory(void **state)
{
	struct fixture *f = *state;
	char pkt[128];
	const char *r;

	snprintf(pkt, sizeof(pkt), "m%llx,8", PATTERN);
	assert_string_equal(ask(f, pkt), "030a11181f262d34");
	/* A read running into the unmapped page returns what was read. */
	snprintf(pkt, sizeof(pkt), "m%llx,8", VA + MAPPED - 4);
	assert_int_equal(strlen(ask(f, pkt)), 8);
	snprintf(pkt, sizeof(pkt), "m%llx,8", VA + MAPPED);
	assert_string_equal(ask(f, pkt), "E0e");
	assert_string_equal(ask(f, "mzz,8"), "E01");
	/* A large read is split into KD requests and comes back whole. */
	snprintf(pkt, sizeof(pkt), "m%llx,1000", VA);
	assert_int_equal(strlen(ask(f, pkt)), 2 * 0x1000);

	snprintf(pkt, sizeof(pkt), "M%llx,4:deadbeef", PATTERN + 0x10);
	assert_string_equal(ask(f, pkt), "OK");
	assert_int_equal(f->k->mem[PATTERN - VA + 0x10], 0xde);
	assert_int_equal(f->k->mem[PATTERN - VA + 0x13], 0xef);
	snprintf(pkt, sizeof(pkt), "M%llx,4:dead", PATTERN); /* short data */
	assert_string_equal(ask(f, pkt), "E01");
	snprintf(pkt, sizeof(pkt), "M%llx,1:00", VA + MAPPED);
	assert_string_equal(ask(f, pkt), "E0e");

	/* X: binary, with a '#' in the data (escaped on the wire by the encoder). */
	snprintf(pkt, sizeof(pkt), "X%llx,3:a#b", PATTERN + 0x20);
	assert_string_equal(ask(f, pkt), "OK");
	assert_memory_equal(f->k->mem + (PATTERN - VA + 0x20), "a#b", 3);
	snprintf(pkt, sizeof(pkt), "X%llx,0:", PATTERN);
	assert_string_equal(ask(f, pkt), "OK"); /* gdb's probe for X */
	snprintf(pkt, sizeof(pkt), "X%llx,5:ab", PATTERN);
	assert_string_equal(ask(f, pkt), "E01");
	{
		char text[1024];

		assert_string_equal(monitor(f, "lm", text, sizeof(text)), "OK");
		assert_non_null(strstr(text, "0xfffff80000100000 0xfffff80000103000 "
					     "\\SystemRoot\\system32\\ntoskrnl.exe"));
		assert_string_equal(monitor(f, "version", text, sizeof(text)), "OK");
		assert_non_null(strstr(text, "Windows Kernel Version 19041"));
		/* phys: the fake maps physical = virtual - VA + VA */
		snprintf(pkt, sizeof(pkt), "phys %llx 4", PATTERN);
		assert_string_equal(monitor(f, pkt, text, sizeof(text)), "OK");
		assert_non_null(strstr(text, "03 0a 11 18"));
		assert_string_equal(monitor(f, "kd r rax", text, sizeof(text)), "OK");
		assert_non_null(strstr(text, "rax=0000000000000040"));
		assert_string_equal(monitor(f, "bogus", text, sizeof(text)), "OK");
		assert_non_null(strstr(text, "unknown monitor command"));
	}
	(void)r;
}

static void run_control(void **state)
{
	struct fixture *f = *state;
	char pkt[64], buf[64];
	const char *r;

	ask(f, "qSupported:swbreak+;hwbreak+");
	/* Step off the hard-coded int3 at CODE: WinDbg's skip, no run. */
	r = ask(f, "s");
	assert_string_equal(r, "T05thread:1;");
	assert_int_equal(le_hex(ask(f, "p10"), 8), CODE + 1);
	/* A real single step: nop. */
	r = ask(f, "vCont;s:1");
	assert_string_equal(r, "T05thread:1;");
	assert_int_equal(le_hex(ask(f, "p10"), 8), CODE + 2);

	/* Breakpoint at CODE + 5, continue: stops there with swbreak. */
	snprintf(pkt, sizeof(pkt), "Z0,%llx,1", CODE + 5);
	assert_string_equal(ask(f, pkt), "OK");
	snprintf(pkt, sizeof(pkt), "m%llx,1", CODE + 5);
	assert_string_equal(ask(f, pkt), "90"); /* reads show the original byte */
	r = ask(f, "c");
	assert_string_equal(r, "T05thread:1;swbreak:;");
	assert_int_equal(le_hex(ask(f, "p10"), 8), CODE + 5);
	assert_int_equal(le_hex(ask(f, "p0"), 8), 0x41); /* inc rax ran */
	snprintf(pkt, sizeof(pkt), "z0,%llx,1", CODE + 5);
	assert_string_equal(ask(f, pkt), "OK");
	assert_int_equal(f->k->mem[CODE + 5 - VA], 0x90);

	/* Debug registers: slots, sizes, alignment. */
	snprintf(pkt, sizeof(pkt), "Z2,%llx,3", PATTERN);
	assert_string_equal(ask(f, pkt), "E01");
	snprintf(pkt, sizeof(pkt), "Z2,%llx,8", PATTERN + 4);
	assert_string_equal(ask(f, pkt), "E01");
	for (int i = 0; i < 4; i++) {
		snprintf(pkt, sizeof(pkt), "Z%d,%llx,%d", i == 0 ? 1 : 2, PATTERN + 8 * i,
			 i == 0 ? 1 : 8);
		assert_string_equal(ask(f, pkt), "OK");
	}
	snprintf(pkt, sizeof(pkt), "Z4,%llx,8", PATTERN + 0x40);
	assert_string_equal(ask(f, pkt), "E1c"); /* all four in use */
	snprintf(pkt, sizeof(pkt), "z2,%llx,8", PATTERN + 8);
	assert_string_equal(ask(f, pkt), "OK");
	snprintf(pkt, sizeof(pkt), "Z4,%llx,8", PATTERN + 0x40);
	assert_string_equal(ask(f, pkt), "OK");

	/* Continue into the idle loop, then interrupt with 0x03: a KD break-in, and the stop
	 * reply. The debug registers reached the kernel's CONTEXT and Continue2's Dr7. */
	gdb_server_feed(f->g, (const uint8_t *)"$c#63", 5);
	usleep(100000);
	gdb_server_pump(f->g, 50000);
	assert_true(gdb_server_waiting(f->g));
	gdb_server_feed(f->g, (const uint8_t *)"\x03", 1);
	r = next_packet(f);
	assert_non_null(r);
	assert_string_equal(r, "T05thread:1;");
	assert_int_equal(le_hex(ask(f, "p10"), 8), BREAK_FN);
	r = ask(f, "p40"); /* dr0: the Z1 slot */
	assert_int_equal(le_hex(r, 8), PATTERN);
	r = ask(f, "p45"); /* dr7 */
	assert_true(le_hex(r, 8) & 0x1);                         /* L0 */
	assert_int_equal((le_hex(r, 8) >> 16) & 0xf, 0);         /* exec, 1 byte */
	assert_int_equal((le_hex(r, 8) >> 24) & 0xf, 0x9);       /* slot 2: write, 8 bytes */
	assert_int_equal((le_hex(r, 8) >> 20) & 0xf, 0xb);       /* slot 1: access, 8 bytes */
	assert_int_equal(f->k->sr.kernel_dr7, le_hex(r, 8));     /* and KSPECIAL */

	/* monitor kd refuses run control; monitor help answers. */
	{
		char text[256];

		assert_string_equal(monitor(f, "kd g", text, sizeof(text)), "OK");
		assert_non_null(strstr(text, "run control belongs to gdb"));
		assert_int_equal(session_state(f->s), SESSION_TARGET_STOPPED);
	}

	/* D: OK, then the connection closes and the kernel runs on. */
	assert_string_equal(ask(f, "D"), "OK");
	assert_int_equal(f->g->fd, -1);
	assert_int_equal(read(f->dbg, buf, sizeof(buf)), 0);
	assert_int_equal(session_state(f->s), SESSION_TARGET_RUNNING);
	assert_null(session_bp_at(f->s, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(handshake, setup, teardown),
		cmocka_unit_test_setup_teardown(registers, setup, teardown),
		cmocka_unit_test_setup_teardown(memory, setup, teardown),
		cmocka_unit_test_setup_teardown(run_control, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
