/* SPDX-License-Identifier: MIT */
/*
 * The debugger engine (session) and the attach commands against fake targets on a
 * socketpair, each in its own thread:
 *   - a "kernel" made of the real KD target core (kd_target over the kd_serial KDCOM
 *     transport) driving a toy CPU: int3, nop, inc rax, call, ret, and hlt as the idle
 *     loop that polls for break-in (a break-in "calls" DbgBreakPointWithStatus);
 *   - a scripted target on a bare target-role kd_link that misbehaves on purpose:
 *     truncated, inconsistent and stale replies, silence, damaged packets, file I/O and
 *     a prompt.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_platform.h"
#include "kd_serial.h"
#include "kd_target.h"
#include "vmkd/kd_api.h"
#include "vmkd/kd_link.h"
#include "vmkd/kd_packet.h"
#include "vmkd/kd_trace.h"

#include "../../host/client/attach.h"
#include "../../host/client/commands.h"
#include "../../host/client/disasm.h"
#include "../../host/client/session.h"
#include "../../host/common/relay_notice.h"

#define SECOND 1000000ull

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SECOND + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- what the debugger side saw ----------------------------------------------------- */

struct seen {
	char printed[4096];
	size_t printed_len;
	int modules;
};

static void seen_print(void *opaque, const char *text, size_t len)
{
	struct seen *sn = opaque;

	if (len > sizeof(sn->printed) - 1 - sn->printed_len)
		len = sizeof(sn->printed) - 1 - sn->printed_len;
	memcpy(sn->printed + sn->printed_len, text, len);
	sn->printed_len += len;
	sn->printed[sn->printed_len] = '\0';
}

static int seen_prompt(void *opaque, const char *prompt, size_t len, char *answer, size_t cap)
{
	(void)opaque, (void)prompt, (void)len;
	if (cap < 3)
		return -1;
	memcpy(answer, "yes", 3);
	return 3;
}

/* VMKD_TEST_TRACE=1 prints the wire traffic of these tests on stderr. */
static void trace_stderr(void *opaque, enum session_dir dir, const struct kd_event *ev,
			 uint64_t now)
{
	char line[KD_TRACE_LINE_MAX];

	(void)opaque;
	kd_trace_format(line, sizeof(line), dir == SESSION_TX ? KD_TRACE_TO_TARGET :
								 KD_TRACE_FROM_TARGET,
			ev->kind == KD_EV_BREAKIN ? NULL : &ev->hdr, ev->payload, ev->payload_len);
	fprintf(stderr, "[%6.3f] %s%s\n", (double)now / 1e6,
		ev->kind == KD_EV_DATA || ev->kind == KD_EV_CONTROL || ev->kind == KD_EV_BREAKIN ?
		"" : "(damaged) ", line);
}

static void seen_module(void *opaque, uint64_t base, uint32_t size, const char *path, int unload)
{
	(void)base, (void)size, (void)path, (void)unload;
	((struct seen *)opaque)->modules++;
}

/* ---- the fake kernel ---------------------------------------------------------------- */

#define VA        0xfffff80000100000ull
#define PA        0x100000ull
#define MEM_SIZE  0x6000u
#define MAPPED    0x5000u /* the last page is unmapped */
#define CODE      (VA + 0x1000)
#define FUNC      (CODE + 0x20)
#define BREAK_FN  (CODE + 0x40)  /* "DbgBreakPointWithStatus": int3; ret */
#define STACK_TOP (VA + 0x3000)
#define LIST_HEAD (VA + 0x100)
#define BUILD     19041
#define KPRCB     0xfffff80000180000ull
#define KDBG_LIST (VA + 0x500)
#define KDBG      (VA + 0x600)

static const uint8_t code_main[] = {
	0xcc,                         /* +0  int3 (the first stop) */
	0x90,                         /* +1  nop */
	0x48, 0xff, 0xc0,             /* +2  inc rax */
	0xe8, 0x16, 0x00, 0x00, 0x00, /* +5  call FUNC */
	0x90,                         /* +10 nop */
	0xf4,                         /* +11 hlt: idle, polls for break-in */
};
static const uint8_t code_func[] = { 0x90, 0x48, 0xff, 0xc0, 0xc3 }; /* nop; inc rax; ret */
static const uint8_t code_break[] = { 0xcc, 0xc3 };

struct fake_kernel {
	int fd;
	pthread_t thread;
	uint8_t mem[MEM_SIZE];
	struct fake_platform plat;        /* mem as the machine the target core sees */
	struct kd_serial ser;
	struct kd_target t;
	struct kd_context_amd64 ctx;
	volatile uint8_t not_present;
	volatile int quit;                /* teardown: leave before the next instruction */
	volatile int dead;                /* the debugger's end hung up */
	volatile int exited;
	atomic_int resync;                /* enum resync, armed by a test */
	int resync_due;                   /* the request was swallowed: resync when idle */
	uint8_t rx[4096];
	size_t rx_len, rx_pos;
};

/* A resynchronisation the kernel goes through when the next request reaches its UART. */
enum resync {
	RESYNC_NONE,
	RESYNC_RESET,   /* the request is lost on the wire; the kernel sends a RESET */
	RESYNC_SYNC,    /* lost; a break-in byte makes the kernel report its stop again, and
			   that report is SYNC-flagged (as after a send it gave up) */
};

static size_t span(uint64_t addr, size_t len)
{
	if (addr < VA || addr - VA >= MAPPED)
		return 0;
	return len < MAPPED - (addr - VA) ? len : (size_t)(MAPPED - (addr - VA));
}

/* Offset of the first data packet's leader in buf, or len. */
static size_t data_packet_at(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i + 4 <= len; i++)
		if (!memcmp(buf + i, "0000", 4))
			return i;
	return len;
}

/* The armed resynchronisation, once the link is idle (the lost ACK of its last packet
 * came again). Returns a byte to hand to the transport, or -1. */
static int fk_resync(struct fake_kernel *k)
{
	struct kd_link *l = &k->ser.link;
	int mode = k->resync_due;

	k->resync_due = RESYNC_NONE;
	if (mode == RESYNC_RESET) {
		kd_link_start_reset(l, now_us());
		return -1;
	}
	l->next_id = (l->next_id ^ KD_PACKET_ID_TOGGLE) | KD_SYNC_PACKET_ID;
	return KD_BREAKIN_BYTE;
}

/* The "UART": bytes from the socket, buffered; EOF means the debugger went away. */
static int fk_get(void *p)
{
	struct fake_kernel *k = p;

	if (k->resync_due && k->rx_pos == k->rx_len && !kd_link_busy(&k->ser.link))
		return fk_resync(k);
	if (k->rx_pos == k->rx_len) {
		struct pollfd pfd = { .fd = k->fd, .events = POLLIN };
		ssize_t n;
		int mode;

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
		mode = atomic_load(&k->resync);
		if (mode != RESYNC_NONE && data_packet_at(k->rx, k->rx_len) < k->rx_len) {
			/* The chunk with the request is lost, with the ACK in front of it. */
			k->rx_len = 0;
			k->resync_due = mode;
			atomic_store(&k->resync, RESYNC_NONE);
			return -1;
		}
	}
	return k->rx[k->rx_pos++];
}

static void fk_put(void *p, const uint8_t *buf, size_t len)
{
	struct fake_kernel *k = p;

	while (len && !k->dead) {
		ssize_t n = send(k->fd, buf, len, MSG_NOSIGNAL);

		if (n <= 0) {
			k->dead = 1;
			k->not_present = 1;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

static uint64_t fk_now(void *p)
{
	(void)p;
	return now_us();
}

static const struct kd_byte_io_ops fk_io = { .get = fk_get, .put = fk_put, .now_us = fk_now };

static void put_u64(struct fake_kernel *k, uint64_t va, uint64_t v)
{
	memcpy(k->mem + (va - VA), &v, sizeof(v));
}

static uint64_t get_u64(struct fake_kernel *k, uint64_t va)
{
	uint64_t v = 0;

	if (span(va, 8) == 8)
		memcpy(&v, k->mem + (va - VA), sizeof(v));
	return v;
}

static void put_utf16(struct fake_kernel *k, uint64_t va, const char *s)
{
	for (size_t i = 0; s[i]; i++) {
		k->mem[va - VA + 2 * i] = (uint8_t)s[i];
		k->mem[va - VA + 2 * i + 1] = 0;
	}
}

/* A two-entry PsLoadedModuleList: ntoskrnl.exe at VA, hal.dll behind it. */
static void put_module(struct fake_kernel *k, uint64_t entry, uint64_t next, uint64_t base,
		       uint32_t size, uint64_t name_va, const char *name)
{
	struct kd_ldr_data_table_entry64 e;

	memset(&e, 0, sizeof(e));
	e.in_load_order_links.flink = next;
	e.dll_base = base;
	e.size_of_image = size;
	e.base_dll_name.length = (uint16_t)(2 * strlen(name));
	e.base_dll_name.maximum_length = e.base_dll_name.length;
	e.base_dll_name.buffer = name_va;
	memcpy(k->mem + (entry - VA), &e, sizeof(e));
	put_utf16(k, name_va, name);
}

static void fk_report(struct fake_kernel *k, uint32_t code)
{
	kd_target_report_exception(&k->t, &k->ctx, code, k->ctx.rip, 1);
}

/* The toy CPU: runs until the debugger hangs up or the test says quit. */
static void cpu_run(struct fake_kernel *k)
{
	while (!k->dead && !k->quit) {
		uint64_t rip = k->ctx.rip;
		int tf = (k->ctx.eflags & KD_EFLAGS_TF) != 0;
		uint8_t op[8] = { 0 };
		int32_t rel;

		if (!span(rip, 1)) {
			fk_report(k, KD_STATUS_ACCESS_VIOLATION);
			continue;
		}
		memcpy(op, k->mem + (rip - VA), span(rip, sizeof(op)));
		switch (op[0]) {
		case 0xcc: /* the kernel reports an int3 at the int3 itself */
			fk_report(k, KD_STATUS_BREAKPOINT);
			continue;
		case 0x90:
			rip += 1;
			break;
		case 0x48: /* inc rax */
			k->ctx.rax++;
			rip += 3;
			break;
		case 0xe8:
			memcpy(&rel, op + 1, 4);
			k->ctx.rsp -= 8;
			put_u64(k, k->ctx.rsp, rip + 5);
			rip = rip + 5 + (uint64_t)(int64_t)rel;
			break;
		case 0xc3:
			rip = get_u64(k, k->ctx.rsp);
			k->ctx.rsp += 8;
			break;
		case 0xf4:
			if (kd_target_poll_breakin(&k->t)) {
				/* DbgBreakPointWithStatus: called from here, stops on its int3. */
				k->ctx.rsp -= 8;
				put_u64(k, k->ctx.rsp, rip);
				k->ctx.rip = BREAK_FN;
			} else {
				usleep(500);
			}
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
	static const char hello[] = "hello from the fake kernel\n";
	struct fake_kernel *k = arg;
	struct kd_target_info info;

	memset(&info, 0, sizeof(info));
	info.version.major_version = KD_MAJOR_VERSION_FREE;
	info.version.minor_version = BUILD;
	info.version.protocol_version = KD_PROTOCOL_VERSION_64BIT2;
	info.version.kd_secondary_version = KD_SECONDARY_VERSION_AMD64_CONTEXT;
	info.version.flags = KD_VERSION_FLAG_DATA | KD_VERSION_FLAG_PTR64 | KD_VERSION_FLAG_MP;
	info.version.machine_type = KD_MACHINE_AMD64;
	info.version.max_packet_type = KD_PACKET_TYPE_MAX;
	info.version.max_state_change = 3;
	info.version.max_manipulate = 0x31;
	info.version.kern_base = VA;
	info.version.ps_loaded_module_list = LIST_HEAD;
	info.version.debugger_data_list = KDBG_LIST;
	info.processor_level = 6;
	info.number_processors = 1;
	info.kprcb = KPRCB;

	kd_serial_init(&k->ser, &fk_io, k, &k->not_present);
	/* Quick retries: a test that hangs up must not leave the kernel waiting 20 s. */
	k->ser.link.cfg.ack_timeout = 200000;
	k->ser.link.cfg.max_retries = 10;
	kd_target_init(&k->t, &fake_platform_ops, &k->plat, &kd_serial_transport, &k->ser, &k->not_present,
		       &info);
	kd_target_print(&k->t, hello, sizeof(hello) - 1);
	kd_target_load_symbols(&k->t, &k->ctx, "\\SystemRoot\\system32\\ntoskrnl.exe", VA,
			       MEM_SIZE, 0);
	cpu_run(k);
	k->exited = 1;
	return NULL;
}

struct kernel_fixture {
	struct fake_kernel *k;
	struct session *s;
	struct seen seen;
	volatile sig_atomic_t interrupt;
};

static struct kernel_fixture *kernel_start(void)
{
	struct kernel_fixture *f = calloc(1, sizeof(*f));
	struct session_options opt;
	struct fake_kernel *k;
	char err[256];
	int sv[2];

	assert_non_null(f);
	k = calloc(1, sizeof(*k));
	assert_non_null(k);
	f->k = k;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	k->fd = sv[1];
	fake_platform_init(&k->plat, k->mem, MEM_SIZE, MAPPED, VA, PA);
	memcpy(k->mem + (CODE - VA), code_main, sizeof(code_main));
	memcpy(k->mem + (FUNC - VA), code_func, sizeof(code_func));
	memcpy(k->mem + (BREAK_FN - VA), code_break, sizeof(code_break));
	put_u64(k, LIST_HEAD, VA + 0x200);
	put_u64(k, LIST_HEAD + 8, VA + 0x300);
	put_module(k, VA + 0x200, VA + 0x300, VA, MEM_SIZE, VA + 0x400, "ntoskrnl.exe");
	put_module(k, VA + 0x300, LIST_HEAD, VA + 0x10000, 0x1000, VA + 0x440, "hal.dll");
	{
		struct kd_debugger_data64 d;

		memset(&d, 0, sizeof(d));
		d.header.owner_tag = KD_DEBUGGER_DATA_TAG;
		d.header.size = sizeof(d);
		d.kern_base = VA;
		d.breakpoint_with_status = BREAK_FN;
		d.ps_loaded_module_list = LIST_HEAD;
		memcpy(k->mem + (KDBG - VA), &d, sizeof(d));
		put_u64(k, KDBG_LIST, KDBG);
	}
	k->ctx.context_flags = KD_CONTEXT_FULL;
	k->ctx.rip = CODE;
	k->ctx.rsp = STACK_TOP;
	k->ctx.rax = 0x40;
	k->ctx.seg_cs = KD_KGDT64_R0_CODE;
	k->ctx.seg_ss = 0x18;
	k->ctx.seg_ds = k->ctx.seg_es = k->ctx.seg_gs = 0x2b;
	k->ctx.seg_fs = 0x53;
	k->ctx.eflags = 0x246;

	session_default_options(&opt);
	opt.request_timeout_us = 5 * SECOND;
	opt.interrupt = &f->interrupt;
	opt.cb.print = seen_print;
	opt.cb.prompt = seen_prompt;
	opt.cb.module = seen_module;
	opt.cb.trace = trace_stderr;
	opt.trace = getenv("VMKD_TEST_TRACE") != NULL;
	opt.cb.opaque = &f->seen;
	f->s = session_open_fd(sv[0], &opt, err, sizeof(err));
	if (!f->s)
		fail_msg("session_open_fd: %s", err);
	assert_int_equal(pthread_create(&k->thread, NULL, kernel_main, k), 0);
	return f;
}

static void kernel_stop(struct kernel_fixture *f)
{
	uint64_t end = now_us() + 10 * SECOND;

	/* A kernel that took a stop waits for its debugger for ever, as Windows does, so it
	 * must be told to quit before it is resumed: run on, it could meet a breakpoint, and
	 * once that report is acknowledged nothing ends its wait (test_gdb_server's teardown
	 * hung so). */
	f->k->quit = 1;
	if (session_state(f->s) == SESSION_TARGET_STOPPED)
		session_continue2(f->s, KD_DBG_CONTINUE, 0, 0);
	session_close(f->s);
	while (!f->k->exited && now_us() < end)
		usleep(1000);
	if (!f->k->exited)
		fail_msg("the fake kernel did not leave within 10 s"); /* leaks f: it still runs */
	pthread_join(f->k->thread, NULL);
	close(f->k->fd);
	free(f->k);
	free(f);
}

static void wait_first_stop(struct kernel_fixture *f, struct session_stop *st)
{
	if (session_wait_stop(f->s, 10 * SECOND, st))
		fail_msg("no stop: %s", session_error(f->s));
}

/* ---- engine against the kernel ------------------------------------------------------ */

static void kernel_requests(void **state)
{
	struct kernel_fixture *f = kernel_start();
	struct session_stats st0, st1;
	struct session_stop st;
	struct kd_get_version64 ver;
	struct kd_context_amd64 ctx;
	static uint8_t big[10000];
	uint8_t buf[256];
	uint64_t v;
	size_t got;

	(void)state;
	wait_first_stop(f, &st);
	assert_int_equal(st.kind, SESSION_STOP_EXCEPTION);
	assert_int_equal(st.code, KD_STATUS_BREAKPOINT);
	assert_int_equal(st.pc, CODE);
	assert_true(st.first_chance);
	assert_int_equal(st.report.instruction_stream[0], 0xcc);
	assert_int_equal(session_state(f->s), SESSION_TARGET_STOPPED);

	/* What happened before the stop: DbgPrint shown, module load recorded + continued. */
	assert_non_null(strstr(f->seen.printed, "hello from the fake kernel\n"));
	assert_int_equal(f->seen.modules, 1);
	assert_int_equal(session_module_count(f->s), 1);
	assert_string_equal(session_module_at(f->s, 0)->path, "\\SystemRoot\\system32\\ntoskrnl.exe");
	assert_int_equal(session_module_at(f->s, 0)->base, VA);
	assert_int_equal(session_module_at(f->s, 0)->size, MEM_SIZE);

	assert_int_equal(session_get_version(f->s, &ver), 0);
	assert_int_equal(ver.minor_version, BUILD);
	assert_int_equal(ver.machine_type, KD_MACHINE_AMD64);
	assert_int_equal(ver.kern_base, VA);

	assert_int_equal(session_read_virtual(f->s, CODE, buf, sizeof(code_main), &got), 0);
	assert_int_equal(got, sizeof(code_main));
	assert_memory_equal(buf, code_main, sizeof(code_main));

	/* Large reads are split into <= 3944-byte requests. */
	for (size_t i = 0; i < sizeof(big); i++)
		f->k->mem[0x2800 + i] = (uint8_t)(i * 7);
	session_get_stats(f->s, &st0);
	assert_int_equal(session_read_virtual(f->s, VA + 0x2800, big, sizeof(big), &got), 0);
	session_get_stats(f->s, &st1);
	assert_int_equal(got, sizeof(big));
	assert_memory_equal(big, f->k->mem + 0x2800, sizeof(big));
	assert_int_equal(st1.requests - st0.requests, 3);
	/* Each reply's ACK but the last leaves with the next request: request 1, ACK 1 +
	 * request 2, ACK 2 + request 3, ACK 3 (a retransmission would add writes). */
	assert_int_equal(st1.writes - st0.writes, 4 + (st1.retransmits - st0.retransmits));

	/* A read running into unmapped memory stops there; one starting there fails. */
	assert_int_equal(session_read_virtual(f->s, VA + MAPPED - 0x10, buf, 0x100, &got), 0);
	assert_int_equal(got, 0x10);
	assert_int_equal(session_read_virtual(f->s, VA + MAPPED, buf, 0x10, &got), -EFAULT);
	assert_int_equal(got, 0);
	assert_non_null(strstr(session_error(f->s), "cannot read memory"));

	assert_int_equal(session_write_virtual(f->s, VA + 0x2000, "\x11\x22\x33\x44", 4), 0);
	assert_memory_equal(f->k->mem + 0x2000, "\x11\x22\x33\x44", 4);
	assert_int_equal(session_write_virtual(f->s, VA + MAPPED, "x", 1), -EFAULT);

	assert_int_equal(session_read_physical(f->s, PA + 0x1000, buf, sizeof(code_main), &got), 0);
	assert_memory_equal(buf, code_main, sizeof(code_main));
	assert_int_equal(session_write_physical(f->s, PA + 0x2004, "\x55", 1), 0);
	assert_int_equal(f->k->mem[0x2004], 0x55);

	assert_int_equal(session_read_control_space(f->s, 0, KD_CONTROL_SPACE_KPRCB, &v, 8, &got), 0);
	assert_int_equal(got, 8);
	assert_int_equal(v, KPRCB);

	assert_int_equal(session_get_context(f->s, &ctx), 0);
	assert_int_equal(ctx.rip, CODE);
	assert_int_equal(ctx.rsp, STACK_TOP);
	ctx.rax = 0x1234;
	assert_int_equal(session_set_context(f->s, &ctx), 0);
	memset(&ctx, 0, sizeof(ctx));
	assert_int_equal(session_get_context(f->s, &ctx), 0);
	assert_int_equal(ctx.rax, 0x1234);

	assert_int_equal(session_read_msr(f->s, 0xC0000080u, &v), 0);
	assert_int_equal(v, 0xd01);
	assert_int_equal(session_write_msr(f->s, 0xC0000080u, 0xd01), 0);
	assert_int_equal(session_read_msr(f->s, 0x1234, &v), -EIO);
	assert_non_null(strstr(session_error(f->s), "MSR"));

	session_get_stats(f->s, &st1);
	assert_int_equal(st1.malformed, 0);
	assert_int_equal(st1.timeouts, 0);
	assert_true(st1.packets_rx > 10 && st1.packets_tx > 10);
	assert_true(st1.bytes_rx > 10000);
	assert_int_equal(st1.dbgprints, 1);
	kernel_stop(f);
}

/* Issue 10.1: across a resync (the kernel's RESET, or its SYNC-flagged re-report of the
 * stop) the link re-sends the request it lost; the session must not queue a copy of its
 * own, or the kernel runs it twice. Counted on the machine: reads of one address, MSR
 * writes. The GetVersion after each request flushes out any copy still queued. */
static void resync_runs_request_once(struct kernel_fixture *f, enum resync mode)
{
	struct fake_platform *fp = &f->k->plat;
	struct kd_get_version64 ver;
	struct session_stats st0, st1;
	uint8_t buf[16];
	unsigned reads, writes;
	size_t got;

	session_get_stats(f->s, &st0);
	fp->watch = VA + 0x2100;
	reads = atomic_load(&fp->watch_reads);
	atomic_store(&f->k->resync, mode);
	assert_int_equal(session_read_virtual(f->s, VA + 0x2100, buf, sizeof(buf), &got), 0);
	assert_int_equal(got, sizeof(buf));
	assert_memory_equal(buf, f->k->mem + 0x2100, sizeof(buf));
	assert_int_equal(atomic_load(&f->k->resync), RESYNC_NONE); /* it did happen */
	assert_int_equal(session_get_version(f->s, &ver), 0);
	assert_int_equal(atomic_load(&fp->watch_reads) - reads, 1);

	writes = atomic_load(&fp->msr_writes);
	atomic_store(&f->k->resync, mode);
	assert_int_equal(session_write_msr(f->s, FAKE_MSR_EFER, 0xd01), 0);
	assert_int_equal(atomic_load(&f->k->resync), RESYNC_NONE);
	assert_int_equal(session_get_version(f->s, &ver), 0);
	assert_int_equal(atomic_load(&fp->msr_writes) - writes, 1);

	session_get_stats(f->s, &st1);
	assert_true(st1.resets > st0.resets);
	assert_int_equal(st1.timeouts, st0.timeouts);
}

static void kernel_resync_runs_requests_once(void **state)
{
	struct kernel_fixture *f = kernel_start();
	struct session_stop st;

	(void)state;
	wait_first_stop(f, &st);
	resync_runs_request_once(f, RESYNC_RESET);
	resync_runs_request_once(f, RESYNC_SYNC);
	/* The re-reported stop is the same stop. */
	assert_int_equal(session_last_stop(f->s)->pc, CODE);
	kernel_stop(f);
}

static void kernel_run_control(void **state)
{
	struct kernel_fixture *f = kernel_start();
	struct kd_context_amd64 ctx;
	struct session_stop st;
	struct session_stats stats;
	int id = -1;

	(void)state;
	wait_first_stop(f, &st);

	/* A breakpoint on the call; `g` skips the hard-coded int3 first (PC + 1). */
	assert_int_equal(session_bp_add(f->s, CODE + 5, 0, &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(f->k->mem[CODE + 5 - VA], 0xcc);
	assert_non_null(session_bp_find(f->s, CODE + 5));
	{
		uint8_t code[sizeof(code_main)];
		size_t got;

		/* Reads show the code, not our int3. */
		assert_int_equal(session_read_virtual(f->s, CODE, code, sizeof(code), &got), 0);
		assert_memory_equal(code, code_main, sizeof(code));
		/* A write over a breakpoint lands under it; the breakpoint stays. */
		assert_int_equal(session_bp_add(f->s, CODE + 0x30, 0, &id), 0);
		assert_int_equal(id, 1);
		assert_int_equal(session_write_virtual(f->s, CODE + 0x2f, "\x66\x77", 2), 0);
		assert_int_equal(f->k->mem[CODE + 0x30 - VA], 0xcc);
		assert_int_equal(session_read_virtual(f->s, CODE + 0x30, code, 1, &got), 0);
		assert_int_equal(code[0], 0x77);
		assert_int_equal(session_bp_remove(f->s, 1), 0);
		assert_int_equal(f->k->mem[CODE + 0x30 - VA], 0x77);
		assert_int_equal(f->k->mem[CODE + 0x2f - VA], 0x66);
	}
	assert_int_equal(session_go(f->s), 0);
	assert_int_equal(session_state(f->s), SESSION_TARGET_RUNNING);
	assert_int_equal(session_wait_stop(f->s, 5 * SECOND, &st), 0);
	assert_int_equal(st.code, KD_STATUS_BREAKPOINT);
	assert_int_equal(st.pc, CODE + 5);
	/* The report's instruction bytes hide our breakpoint. */
	assert_int_equal(st.report.instruction_stream[0], 0xe8);
	assert_int_equal(session_get_context(f->s, &ctx), 0);
	assert_int_equal(ctx.rax, 0x41); /* nop, inc rax ran once */

	/* Stepping off our breakpoint: lifted, one instruction (the call), put back. */
	assert_int_equal(session_step(f->s, &st), 0);
	assert_int_equal(st.code, KD_STATUS_SINGLE_STEP);
	assert_int_equal(st.pc, FUNC);
	assert_int_equal(f->k->mem[CODE + 5 - VA], 0xcc);
	assert_int_equal(session_step(f->s, &st), 0);
	assert_int_equal(st.pc, FUNC + 1);

	/* Runs into the idle loop: no stop until we break in. */
	assert_int_equal(session_go(f->s), 0);
	assert_int_equal(session_wait_stop(f->s, 200000, &st), -ETIMEDOUT);
	assert_int_equal(session_state(f->s), SESSION_TARGET_RUNNING);
	assert_int_equal(session_read_virtual(f->s, CODE, &ctx, 1, &(size_t){ 0 }), -EBUSY);

	/* Ctrl-C: the handler only raises the flag; the pump sends the break-in byte. */
	f->interrupt = 1;
	assert_int_equal(session_wait_stop(f->s, 5 * SECOND, &st), 0);
	assert_int_equal(f->interrupt, 0);
	assert_int_equal(st.code, KD_STATUS_BREAKPOINT);
	assert_int_equal(st.pc, BREAK_FN);
	session_get_stats(f->s, &stats);
	assert_int_equal(stats.breakins_sent, 1);

	/* The int3 there is the kernel's own: skipped once, not twice. */
	assert_int_equal(session_skip_int3(f->s), 1);
	assert_int_equal(session_last_stop(f->s)->pc, BREAK_FN + 1);
	assert_int_equal(session_skip_int3(f->s), 0);
	assert_int_equal(session_get_context(f->s, &ctx), 0);
	assert_int_equal(ctx.rip, BREAK_FN + 1);

	assert_int_equal(session_bp_remove(f->s, 0), 0);
	assert_int_equal(f->k->mem[CODE + 5 - VA], 0xe8);
	assert_int_equal(session_bp_remove(f->s, 7), -ENOENT);
	assert_null(session_bp_at(f->s, 0));
	kernel_stop(f);
}

/* ---- commands against the kernel ---------------------------------------------------- */

struct cmd_fixture {
	struct kernel_fixture *f;
	struct cmd_ctx c;
	struct disasm *dis;
	char *out, *err;
	size_t out_len, err_len;
	FILE *fout, *ferr;
};

static void cmds_open(struct cmd_fixture *cf)
{
	struct session_stop st;

	memset(cf, 0, sizeof(*cf));
	cf->f = kernel_start();
	cf->dis = disasm_open();
	assert_non_null(cf->dis);
	wait_first_stop(cf->f, &st);
}

/* Runs line; returns its output (valid until the next call) and checks the result. */
static const char *run(struct cmd_fixture *cf, const char *line, int want_rc)
{
	int rc;

	free(cf->out);
	free(cf->err);
	cf->out = cf->err = NULL;
	cf->fout = open_memstream(&cf->out, &cf->out_len);
	cf->ferr = open_memstream(&cf->err, &cf->err_len);
	cf->c.out = cf->fout;
	cf->c.err = cf->ferr;
	rc = cmd_execute(&cf->c, line);
	fclose(cf->fout);
	fclose(cf->ferr);
	if (rc != want_rc)
		fail_msg("'%s' returned %d\nout: %s\nerr: %s", line, rc, cf->out, cf->err);
	return cf->out;
}

static void expect(const char *text, const char *want)
{
	if (!strstr(text, want))
		fail_msg("expected \"%s\" in:\n%s", want, text);
}

static void commands_inspect(void **state)
{
	struct cmd_fixture cf;
	const char *o;

	(void)state;
	cmds_open(&cf);
	cmd_init(&cf.c, cf.f->s, cf.dis, stdout, stderr);

	/* The stop as WinDbg shows it. */
	cf.fout = open_memstream(&cf.out, &cf.out_len);
	cf.c.out = cf.fout;
	cmd_report_stop(&cf.c, session_last_stop(cf.f->s), 0);
	fclose(cf.fout);
	expect(cf.out, "Break instruction exception - code 80000003 (first chance)\n");
	expect(cf.out, "nt+0x1000:\n");
	expect(cf.out, "fffff800`00101000 cc              int     3\n");

	o = run(&cf, "r", 0);
	expect(o, "rax=0000000000000040 rbx=0000000000000000");
	expect(o, "rip=fffff80000101000 rsp=fffff80000103000");
	expect(o, "iopl=0         nv up ei pl zr na pe nc\n");
	expect(o, "cs=0010  ss=0018  ds=002b  es=002b  fs=0053  gs=002b             efl=00000246\n");
	run(&cf, "r rax=5, rbx = @rax+1", 0);
	o = run(&cf, "r rax, rbx", 0);
	expect(o, "rax=0000000000000005\nrbx=0000000000000006\n");
	run(&cf, "r nosuch=1", -1);
	expect(cf.err, "bad register");
	run(&cf, "r al=100", -1);
	expect(cf.err, "does not fit");

	o = run(&cf, "db fffff800`00101000 L10", 0);
	assert_string_equal(o, "fffff800`00101000  cc 90 48 ff c0 e8 16 00-00 00 90 f4 00 00 00 00"
			       "  ..H.............\n");
	o = run(&cf, "dd @rip L2", 0);
	assert_string_equal(o, "fffff800`00101000  ff4890cc 0016e8c0\n");
	o = run(&cf, "dq @rip+0x10 L1", 0);
	assert_string_equal(o, "fffff800`00101010  00000000`00000000\n");
	o = run(&cf, "dd", 0); /* goes on after the last dump */
	expect(o, "fffff800`00101018  00000000 00000000 c0ff4890 000000c3\n");
	o = run(&cf, "db fffff800`00104ff8 L10", 0);
	expect(o, "fffff800`00104ff8  00 00 00 00 00 00 00 00-?? ?? ?? ?? ?? ?? ?? ??");
	o = run(&cf, "dw fffff800`00105000 L2", 0);
	assert_string_equal(o, "fffff800`00105000  ???? ????\n");
	run(&cf, "db", 0);
	run(&cf, "db zz", -1);
	run(&cf, "db 1000 L0", -1);
	run(&cf, "db 1000 junk", -1);

	o = run(&cf, "u @rip L5", 0);
	expect(o, "nt+0x1000:\n");
	expect(o, "fffff800`00101000 cc              int     3\n");
	expect(o, "fffff800`00101001 90              nop\n");
	expect(o, "fffff800`00101002 48ffc0          inc     rax\n");
	expect(o, "fffff800`00101005 e816000000      call    fffff800`00101020\n");
	expect(o, "fffff800`0010100a 90              nop\n");
	o = run(&cf, "u", 0); /* goes on */
	expect(o, "fffff800`0010100b f4              hlt\n");
	o = run(&cf, "u fffff800`00104fff L2", 0);
	expect(o, "fffff800`00105000 ??              ???\n");

	o = run(&cf, "lm", 0);
	expect(o, "start             end                 module name\n");
	expect(o, "fffff800`00100000 fffff800`00106000   nt         ntoskrnl.exe\n");
	expect(o, "fffff800`00110000 fffff800`00111000   hal        hal.dll\n");

	o = run(&cf, "!kdbg", 0);
	expect(o, "KDDEBUGGER_DATA64 at fffff800`00100600, size 0x298\n");
	expect(o, "  BreakpointWithStatus fffff800`00101040\n");
	expect(o, "  PsLoadedModuleList   fffff800`00100100\n");
	put_u64(cf.f->k, KDBG + 0x10, 0); /* the tag goes */
	run(&cf, "!kdbg", -1);
	expect(cf.err, "no 'KDBG' tag");

	o = run(&cf, "version", 0);
	expect(o, "Windows Kernel Version 19041 MP (1 procs) Free x64\n");
	expect(o, "Kernel base = 0xfffff800`00100000 PsLoadedModuleList = 0xfffff800`00100100\n");

	run(&cf, "eb fffff800`00102000 11 22", 0);
	o = run(&cf, "db fffff800`00102000 L2", 0);
	expect(o, "11 22");
	run(&cf, "ed fffff800`00102000 0n305419896", 0);
	o = run(&cf, "dd fffff800`00102000 L1", 0);
	expect(o, "12345678");
	run(&cf, "eq fffff800`00102008 fffff800`00101000", 0);
	assert_int_equal(get_u64(cf.f->k, VA + 0x2008), CODE);
	run(&cf, "eb fffff800`00102000 100", -1);
	expect(cf.err, "does not fit");
	run(&cf, "eb fffff800`00105000 1", -1);
	expect(cf.err, "cannot write");

	o = run(&cf, "!db 101000 L4", 0);
	expect(o, "#  101000 cc 90 48 ff");
	o = run(&cf, "rdmsr c0000080", 0);
	assert_string_equal(o, "msr[c0000080] = 00000000`00000d01\n");
	run(&cf, "rdmsr 1234", -1);
	run(&cf, "wrmsr c0000080 d01", 0);

	o = run(&cf, "? @rip+8", 0);
	expect(o, "= fffff800`00101008");
	o = run(&cf, "? poi(fffff800`00102008)", 0);
	expect(o, "= fffff800`00101000");

	o = run(&cf, "stats", 0);
	expect(o, "packets");
	expect(o, "malformed 0");
	expect(o, "reconnects 0  (new connections reset at once 0)");
	o = run(&cf, "help", 0);
	expect(o, "db [ADDR] [L COUNT]");
	run(&cf, "bogus", -1);
	expect(cf.err, "bogus: unknown command");
	run(&cf, ".trace on", 0);
	o = run(&cf, ".trace", 0);
	expect(o, "packet trace is on");
	run(&cf, ".trace off", 0);
	o = run(&cf, ".trace", 0);
	expect(o, "packet trace is off");
	session_set_trace(cf.f->s, getenv("VMKD_TEST_TRACE") != NULL);
	run(&cf, ".trace maybe", -1);

	cmd_cleanup(&cf.c);
	disasm_close(cf.dis);
	free(cf.out);
	free(cf.err);
	kernel_stop(cf.f);
}

static void commands_run_control(void **state)
{
	struct cmd_fixture cf;
	const char *o;
	char *list_out = NULL;
	size_t list_len = 0;
	int failed;

	(void)state;
	cmds_open(&cf);
	cmd_init(&cf.c, cf.f->s, cf.dis, stdout, stderr);

	run(&cf, "bp fffff800`00101005", 0);
	o = run(&cf, "bl", 0);
	expect(o, " 0 e fffff800`00101005     0001 (0001) nt+0x1005\n");
	o = run(&cf, "bp fffff800`00101005", 0);
	expect(o, "breakpoint 0 redefined");

	o = run(&cf, "g", 0);
	expect(o, "Breakpoint 0 hit\n");
	expect(o, "fffff800`00101005 e816000000      call    fffff800`00101020\n");

	/* p steps over the call: FUNC runs (rax + 1) and we stop after it, no banner. */
	o = run(&cf, "p", 0);
	expect(o, "rax=0000000000000042");
	expect(o, "rip=fffff8000010100a");
	expect(o, "fffff800`0010100a 90              nop\n");
	assert_null(strstr(o, "Breakpoint"));
	assert_null(strstr(o, "exception"));
	o = run(&cf, "bl", 0);
	assert_null(strstr(o, "0010100a")); /* the temporary breakpoint is gone */

	o = run(&cf, "t", 0);
	expect(o, "rip=fffff8000010100b");
	expect(o, "fffff800`0010100b f4              hlt\n");

	run(&cf, "bc *", 0);
	o = run(&cf, "bl", 0);
	assert_string_equal(o, "");
	run(&cf, "bc 5", -1);

	/* g into the idle loop; a Ctrl-C (the flag) brings it back. */
	cf.f->interrupt = 1;
	o = run(&cf, "g", 0);
	expect(o, "Break instruction exception - code 80000003 (first chance)\n");
	expect(o, "fffff800`00101040 cc              int     3\n");

	/* t at a hard-coded int3 moves past it without running, as WinDbg does. */
	o = run(&cf, "t", 0);
	expect(o, "rip=fffff80000101041");
	expect(o, "fffff800`00101041 c3              ret\n");
	assert_null(strstr(o, "exception"));
	o = run(&cf, "t", 0);
	expect(o, "rip=fffff8000010100b"); /* back in the idle loop */

	/* g ADDR: a temporary breakpoint that is not listed afterwards. */
	run(&cf, "r rip=fffff800`00101001", 0);
	o = run(&cf, "g fffff800`00101005", 0);
	expect(o, "fffff800`00101005 e816000000      call");
	assert_null(strstr(o, "Breakpoint"));
	o = run(&cf, "bl", 0);
	assert_string_equal(o, "");

	/* A command list with the prompt echoed, as -c and scripted stdin do. */
	cf.c.out = open_memstream(&list_out, &list_len);
	free(cf.err);
	cf.c.err = open_memstream(&cf.err, &cf.err_len);
	failed = cmd_execute_list(&cf.c, "r rip; ? 1+1 ;; nosuchcmd", "0: kd> ");
	fclose(cf.c.out);
	fclose(cf.c.err);
	expect(cf.err, "nosuchcmd: unknown command");
	assert_int_equal(failed, 1);
	expect(list_out, "0: kd> r rip\nrip=fffff80000101005\n");
	expect(list_out, "0: kd> ? 1+1\nEvaluate expression: 2 = 00000000`00000002\n");
	free(list_out);

	run(&cf, "q", 0);
	assert_true(cf.c.quit);

	cmd_cleanup(&cf.c);
	disasm_close(cf.dis);
	free(cf.out);
	free(cf.err);
	kernel_stop(cf.f);
}

/* ---- a scripted, misbehaving target ------------------------------------------------- */

#define SCRIPT_Q 16
#define RAW_BYTES 0xffffu /* queue entry written as is, outside the link */

struct script_item {
	uint16_t type;
	size_t len;
	uint8_t bytes[KD_MAX_PACKET_BYTES];
};

struct script_target {
	int fd;
	int listen_fd;
	pthread_t thread;
	struct kd_link link;
	pthread_mutex_t lock;
	struct script_item q[SCRIPT_Q];
	size_t qh, qn;
	volatile int quit;
	int getversions;
	/* what the debugger sent */
	volatile int file_replies;
	volatile uint32_t file_status;
	volatile uint32_t file_api;
	volatile int answers;
	char answer[64];
	volatile int continues;
	/* resynchronisation (issue 10.1) */
	atomic_int lose;                 /* enum script_lose: what happens to the next request */
	atomic_int rereport_on_reset;    /* report the stop again when the RESET completes */
	atomic_int executed;             /* ReadVirtualMemory at LOSE_ADDR served */
	/* stale replies (issue 10.5) */
	atomic_int stale_first;          /* answer GetContext / ReadMsr after a stale reply */
	atomic_int zero_pad;             /* answer with the header's pad zeroed */
	struct kd_manipulate_state64 last_getcontext, last_readmsr;
	int have_getcontext, have_readmsr;
	/* a target that goes away (issue 10, vmkd attach) */
	atomic_int on_continue;          /* enum script_continue */
	atomic_int hangup;               /* close the connection */
	atomic_int drop_next;            /* accept the next connection and close it at once */
	volatile sig_atomic_t interrupt; /* the session's Ctrl-C flag */
};

enum script_continue {
	CONT_SCRIPTED,   /* file I/O, a prompt, then a stop (st_after_continue) */
	CONT_SILENT,     /* runs, and never answers a break-in */
	CONT_GONE,       /* the relay's "guest disconnected" notice */
	CONT_HANGUP,     /* the connection closes */
};

#define GONE_NOTICE RELAY_NOTICE_PREFIX RELAY_NOTICE_GUEST_GONE ": the VM's chardev closed\n"
#define BACK_NOTICE RELAY_NOTICE_PREFIX RELAY_NOTICE_GUEST_BACK "\n"

enum script_lose {
	LOSE_NONE,
	LOSE_ON_WIRE,    /* the bytes never arrive; the target RESETs and re-reports its stop */
	LOSE_AFTER_ACK,  /* ACKed, then dropped; the target re-reports its stop */
};

#define LOSE_ADDR 0x6000u

static void st_push(struct script_target *t, uint16_t type, const void *hdr, size_t hdr_len,
		    const void *data, size_t data_len)
{
	struct script_item *it;

	pthread_mutex_lock(&t->lock);
	assert_true(t->qn < SCRIPT_Q);
	it = &t->q[(t->qh + t->qn++) % SCRIPT_Q];
	it->type = type;
	it->len = hdr_len + data_len;
	assert_true(it->len <= sizeof(it->bytes));
	memcpy(it->bytes, hdr, hdr_len);
	if (data_len)
		memcpy(it->bytes + hdr_len, data, data_len);
	pthread_mutex_unlock(&t->lock);
}

static void st_push_msg(struct script_target *t, const struct kd_api_msg *msg)
{
	st_push(t, msg->type, &msg->u, msg->hdr_len, msg->data, msg->data_len);
}

static void st_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct script_target *t = opaque;

	while (len) {
		ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void st_exception(struct script_target *t, uint64_t pc)
{
	struct kd_api_cpu cpu;
	struct kd_api_msg msg;

	memset(&cpu, 0, sizeof(cpu));
	cpu.number_processors = 1;
	cpu.pc = pc;
	assert_int_equal(kd_api_build_exception(&msg, &cpu, KD_STATUS_BREAKPOINT, pc, 1, NULL, 0),
			 KD_API_OK);
	st_push_msg(t, &msg);
}

static void st_reply_read(struct script_target *t, const struct kd_manipulate_state64 *req)
{
	uint64_t addr = req->u.read_memory.target_base_address;
	struct kd_manipulate_state64 other;
	struct kd_api_msg msg;
	uint8_t data[64];

	memset(data, 0xab, sizeof(data));
	switch (addr) {
	case 0x1000: /* says 16 bytes, carries 8 */
		kd_api_reply_read(&msg, req, data, 16);
		msg.data_len = 8;
		st_push_msg(t, &msg);
		break;
	case 0x2000: /* a stale reply of another api, one for another address, then ours */
		kd_api_req_get_version(&msg);
		kd_api_reply_init(&msg, &msg.u.m, KD_STATUS_SUCCESS);
		st_push_msg(t, &msg);
		other = *req;
		other.u.read_memory.target_base_address = 0x9999;
		kd_api_reply_read(&msg, &other, data, 16);
		st_push_msg(t, &msg);
		kd_api_reply_read(&msg, req, data, 16);
		st_push_msg(t, &msg);
		break;
	case 0x3000: /* silence */
		break;
	case 0x4000: /* more than asked for */
		kd_api_reply_read(&msg, req, data, 16);
		msg.u.m.u.read_memory.actual_bytes_read = 32;
		msg.data_len = 32;
		st_push_msg(t, &msg);
		break;
	default:
		kd_api_reply_read(&msg, req, NULL, 0);
		st_push_msg(t, &msg);
		break;
	}
}

static void st_after_continue(struct script_target *t)
{
	struct kd_file_io io;
	struct kd_api_msg msg;
	static const char name[] = "\\??\\C:\\Windows\\system32\\drivers\\foo.sys";

	memset(&io, 0, sizeof(io));
	io.api_number = KD_API_CREATE_FILE;
	st_push(t, KD_PACKET_TYPE_FILE_IO, &io, sizeof(io), name, sizeof(name));
	kd_api_build_prompt(&msg, 0, "Break, Ignore? ", 15, 16);
	st_push_msg(t, &msg);
	st_exception(t, 0x5000);
}

/* GetContext: rip 0x1000 + the number of the request. Armed, the reply to the previous
 * GetContext comes first (a late answer to a request that timed out). */
static void st_reply_context(struct script_target *t, const struct kd_manipulate_state64 *req)
{
	static int served;
	struct kd_context_amd64 ctx;
	struct kd_api_msg msg;

	memset(&ctx, 0, sizeof(ctx));
	ctx.context_flags = KD_CONTEXT_FULL;
	if (atomic_exchange(&t->stale_first, 0) && t->have_getcontext) {
		ctx.rip = 0xbad;
		kd_api_reply_get_context(&msg, &t->last_getcontext, &ctx);
		st_push_msg(t, &msg);
	}
	ctx.rip = 0x1000 + (uint64_t)++served;
	kd_api_reply_get_context(&msg, req, &ctx);
	st_push_msg(t, &msg);
	t->last_getcontext = *req;
	t->have_getcontext = 1;
}

/* ReadMsr: the value is the MSR number + 0x600d0000. Armed, a late reply to the previous
 * ReadMsr and one for another MSR come first. */
static void st_reply_msr(struct script_target *t, const struct kd_manipulate_state64 *req)
{
	struct kd_manipulate_state64 other = *req;
	struct kd_api_msg msg;

	if (atomic_exchange(&t->stale_first, 0) && t->have_readmsr) {
		kd_api_reply_msr(&msg, &t->last_readmsr, 0xbad, KD_STATUS_SUCCESS);
		st_push_msg(t, &msg);
		other.u.read_write_msr.msr++;
		kd_api_reply_msr(&msg, &other, 0xbad, KD_STATUS_SUCCESS);
		st_push_msg(t, &msg);
	}
	kd_api_reply_msr(&msg, req, 0x600d0000u + req->u.read_write_msr.msr, KD_STATUS_SUCCESS);
	st_push_msg(t, &msg);
	t->last_readmsr = *req;
	t->have_readmsr = 1;
}

static void st_reset(void *opaque)
{
	struct script_target *t = opaque;

	size_t queued;

	pthread_mutex_lock(&t->lock);
	queued = t->qn;
	pthread_mutex_unlock(&t->lock);
	/* Like a kernel waiting for a request: one that was still sending resends that. */
	if (atomic_exchange(&t->rereport_on_reset, 0) && !queued && !kd_link_busy(&t->link))
		st_exception(t, 0x1000);
}

static void st_deliver(void *opaque, uint16_t type, uint32_t id, const uint8_t *payload,
		       size_t len)
{
	struct script_target *t = opaque;
	struct kd_manipulate_state64 m;
	struct kd_get_version64 ver;
	struct kd_api_msg msg;
	const uint8_t *data;
	size_t dlen;

	(void)id;
	if (type == KD_PACKET_TYPE_FILE_IO) {
		struct kd_file_io io;

		if (kd_api_parse_file_io(payload, len, &io, &data, &dlen) == KD_API_OK) {
			t->file_api = io.api_number;
			t->file_status = io.status;
		}
		t->file_replies++;
		return;
	}
	if (type == KD_PACKET_TYPE_DEBUG_IO) {
		struct kd_debug_io io;

		if (kd_api_parse_debug_io(payload, len, &io, &data, &dlen) == KD_API_OK &&
		    dlen < sizeof(t->answer)) {
			memcpy(t->answer, data, dlen);
			t->answer[dlen] = '\0';
		}
		t->answers++;
		return;
	}
	if (type != KD_PACKET_TYPE_STATE_MANIPULATE ||
	    kd_api_parse_request(payload, len, &m, &data, &dlen) != KD_API_OK)
		return;
	if (atomic_load(&t->zero_pad))
		m.pad = 0; /* a target that builds its reply from scratch */
	switch (m.api_number) {
	case KD_API_GET_CONTEXT:
		st_reply_context(t, &m);
		break;
	case KD_API_READ_MSR:
		st_reply_msr(t, &m);
		break;
	case KD_API_GET_VERSION:
		memset(&ver, 0, sizeof(ver));
		ver.minor_version = 1234;
		ver.machine_type = KD_MACHINE_AMD64;
		kd_api_reply_version(&msg, &m, &ver);
		/* The first answer is cut short: 0x20 bytes of a 0x38-byte header. */
		st_push(t, msg.type, &msg.u, t->getversions++ ? msg.hdr_len : 0x20, NULL, 0);
		break;
	case KD_API_READ_VIRTUAL_MEMORY:
		if (m.u.read_memory.target_base_address == LOSE_ADDR) {
			if (atomic_exchange(&t->lose, LOSE_NONE) == LOSE_AFTER_ACK) {
				st_exception(t, 0x1000);
				break;
			}
			atomic_fetch_add(&t->executed, 1);
			kd_api_reply_read(&msg, &m, "sixteen bytes..", 16);
			st_push_msg(t, &msg);
			break;
		}
		st_reply_read(t, &m);
		break;
	case KD_API_CONTINUE2:
		t->continues++;
		switch (atomic_load(&t->on_continue)) {
		case CONT_SCRIPTED:
			st_after_continue(t);
			break;
		case CONT_SILENT:
			break;
		case CONT_GONE:
			kd_api_build_print(&msg, 0, GONE_NOTICE, sizeof(GONE_NOTICE) - 1);
			st_push_msg(t, &msg);
			break;
		case CONT_HANGUP:
			atomic_store(&t->hangup, 1);
			break;
		}
		break;
	default:
		kd_api_reply_init(&msg, &m, KD_STATUS_UNSUCCESSFUL);
		st_push_msg(t, &msg);
		break;
	}
}

static const struct kd_link_ops st_ops = {
	.write = st_write,
	.deliver = st_deliver,
	.reset = st_reset,
};

static void *script_main(void *arg)
{
	struct script_target *t = arg;
	uint8_t buf[8192];

	while (!t->quit) {
		struct pollfd pfd = { .fd = t->fd, .events = POLLIN };
		uint64_t now;

		if (poll(&pfd, 1, 2) > 0) {
			ssize_t n = read(t->fd, buf, sizeof(buf));

			if (n <= 0)
				break;
			if (atomic_load(&t->lose) == LOSE_ON_WIRE &&
			    data_packet_at(buf, (size_t)n) < (size_t)n) {
				/* The request never arrives; the target resynchronises. */
				atomic_store(&t->lose, LOSE_NONE);
				atomic_store(&t->rereport_on_reset, 1);
				kd_link_start_reset(&t->link, now_us());
				continue;
			}
			kd_link_input(&t->link, buf, (size_t)n, now_us());
		}
		now = now_us();
		kd_link_poll(&t->link, now);
		pthread_mutex_lock(&t->lock);
		if (t->qn && !kd_link_busy(&t->link)) {
			struct script_item *it = &t->q[t->qh];

			if (it->type == RAW_BYTES)
				st_write(t, it->bytes, it->len);
			else
				kd_link_send(&t->link, it->type, it->bytes, it->len, NULL, 0, now);
			t->qh = (t->qh + 1) % SCRIPT_Q;
			t->qn--;
		}
		pthread_mutex_unlock(&t->lock);
		if (atomic_load(&t->hangup)) {
			shutdown(t->fd, SHUT_RDWR);
			break;
		}
	}
	return NULL;
}

static void scripted_target_misbehaves(void **state)
{
	struct script_target *t = calloc(1, sizeof(*t));
	struct session_options opt;
	struct session_stop st;
	struct session_stats stats;
	struct kd_get_version64 ver;
	struct kd_link_config cfg;
	struct seen seen;
	struct session *s;
	uint8_t buf[64], pkt[KD_MAX_PACKET_BYTES];
	char err[256];
	size_t got, n;
	int sv[2];

	(void)state;
	assert_non_null(t);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	t->fd = sv[1];
	pthread_mutex_init(&t->lock, NULL);
	kd_link_default_config(&cfg);
	kd_link_init(&t->link, KD_ROLE_TARGET, &cfg, &st_ops, t);

	session_default_options(&opt);
	opt.request_timeout_us = 2 * SECOND;
	opt.cb.print = seen_print;
	opt.cb.prompt = seen_prompt;
	opt.cb.opaque = &seen;
	s = session_open_fd(sv[0], &opt, err, sizeof(err));
	assert_non_null(s);
	st_exception(t, 0x1000);
	assert_int_equal(pthread_create(&t->thread, NULL, script_main, t), 0);

	assert_int_equal(session_wait_stop(s, 10 * SECOND, &st), 0);
	assert_int_equal(st.pc, 0x1000);

	/* A truncated reply is an error, counted, not a crash. */
	assert_int_equal(session_get_version(s, &ver), -EPROTO);
	assert_non_null(strstr(session_error(s), "malformed reply: GetVersion"));
	session_get_stats(s, &stats);
	assert_int_equal(stats.malformed, 1);
	assert_int_equal(session_get_version(s, &ver), 0);
	assert_int_equal(ver.minor_version, 1234);

	/* ActualBytesRead that disagrees with the data. */
	assert_int_equal(session_read_virtual(s, 0x1000, buf, 16, &got), -EPROTO);
	assert_int_equal(got, 0);
	/* Stale replies (other api, other address) are skipped; ours is taken. */
	assert_int_equal(session_read_virtual(s, 0x2000, buf, 16, &got), 0);
	assert_int_equal(got, 16);
	assert_int_equal(buf[0], 0xab);
	assert_int_equal(buf[15], 0xab);
	session_get_stats(s, &stats);
	assert_int_equal(stats.stale_replies, 2);

	/* No reply: a clear timeout, and the session still works afterwards. */
	session_set_timeout(s, 300000);
	assert_int_equal(session_read_virtual(s, 0x3000, buf, 16, &got), -ETIMEDOUT);
	assert_non_null(strstr(session_error(s), "ReadVirtualMemory: no reply"));
	session_set_timeout(s, 2 * SECOND);
	/* More data than asked for. */
	assert_int_equal(session_read_virtual(s, 0x4000, buf, 16, &got), -EPROTO);

	/* Damage on the wire: a bad checksum (the link asks for a resend) and a state change
	 * too short to decode. Neither changes the stop. */
	n = kd_packet_build(pkt, sizeof(pkt), KD_PACKET_TYPE_DEBUG_IO, 0x80800001u, "0123456789abcdef",
			    16, NULL, 0);
	pkt[20] ^= 0xff;
	st_push(t, RAW_BYTES, pkt, n, NULL, 0);
	st_push(t, KD_PACKET_TYPE_STATE_CHANGE64, "short state change", 16, NULL, 0);
	session_poll(s, 300000);
	assert_int_equal(session_get_version(s, &ver), 0);
	session_get_stats(s, &stats);
	assert_int_equal(stats.timeouts, 1);
	assert_int_equal(stats.parser.bad_checksum, 1);
	assert_int_equal(stats.malformed, 1 + 1 + 1 + 1 + 1); /* trunc, count x2, checksum, short */
	assert_int_equal(session_state(s), SESSION_TARGET_STOPPED);
	assert_int_equal(session_last_stop(s)->pc, 0x1000);

	/* Running: requests are refused; file I/O and a prompt are answered on the way. */
	assert_int_equal(session_continue2(s, KD_DBG_CONTINUE, 0, 0), 0);
	assert_int_equal(session_read_virtual(s, 0x2000, buf, 16, &got), -EBUSY);
	assert_int_equal(session_wait_stop(s, 5 * SECOND, &st), 0);
	assert_int_equal(st.pc, 0x5000);
	for (int i = 0; i < 200 && (!t->file_replies || !t->answers); i++)
		session_poll(s, 10000);
	assert_int_equal(t->continues, 1);
	assert_int_equal(t->file_replies, 1);
	assert_int_equal(t->file_api, KD_API_CREATE_FILE);
	assert_int_equal(t->file_status, KD_STATUS_NO_SUCH_FILE);
	assert_int_equal(t->answers, 1);
	assert_string_equal(t->answer, "yes");

	/* The target hangs up: every call says so. */
	t->quit = 1;
	pthread_join(t->thread, NULL);
	close(t->fd);
	assert_int_equal(session_get_version(s, &ver), -ECONNRESET);
	assert_non_null(strstr(session_error(s), "connection lost"));
	assert_int_equal(session_wait_stop(s, SECOND, &st), -ECONNRESET);
	session_close(s);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static struct script_target *script_start(struct session **s, struct seen *seen)
{
	struct script_target *t = calloc(1, sizeof(*t));
	struct session_options opt;
	struct kd_link_config cfg;
	struct session_stop st;
	char err[256];
	int sv[2];

	assert_non_null(t);
	memset(seen, 0, sizeof(*seen));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	t->fd = sv[1];
	pthread_mutex_init(&t->lock, NULL);
	kd_link_default_config(&cfg);
	kd_link_init(&t->link, KD_ROLE_TARGET, &cfg, &st_ops, t);
	session_default_options(&opt);
	opt.request_timeout_us = 3 * SECOND;
	opt.interrupt = &t->interrupt;
	opt.cb.print = seen_print;
	opt.cb.opaque = seen;
	opt.cb.trace = trace_stderr;
	opt.trace = getenv("VMKD_TEST_TRACE") != NULL;
	*s = session_open_fd(sv[0], &opt, err, sizeof(err));
	assert_non_null(*s);
	st_exception(t, 0x1000);
	assert_int_equal(pthread_create(&t->thread, NULL, script_main, t), 0);
	assert_int_equal(session_wait_stop(*s, 10 * SECOND, &st), 0);
	assert_int_equal(st.pc, 0x1000);
	return t;
}

static void script_stop(struct script_target *t, struct session *s)
{
	t->quit = 1;
	pthread_join(t->thread, NULL);
	close(t->fd);
	session_close(s);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* Issue 10.1 against a target that serves every packet it gets (no single receive slot to
 * hide a duplicate): a request lost on the wire across the target's RESET is re-sent by
 * the link alone and runs once. One the target ACKed and then dropped (it reported its
 * stop again without answering) is not re-sent by the session: it times out, cleanly. */
static void scripted_resync_runs_requests_once(void **state)
{
	uint64_t v;
	struct session_stats st;
	struct seen seen;
	struct session *s;
	struct script_target *t = script_start(&s, &seen);
	uint8_t buf[16];
	size_t got;

	(void)state;
	atomic_store(&t->lose, LOSE_ON_WIRE);
	assert_int_equal(session_read_virtual(s, LOSE_ADDR, buf, sizeof(buf), &got), 0);
	assert_int_equal(got, sizeof(buf));
	assert_int_equal(session_read_msr(s, 0x10, &v), 0); /* a copy would run first */
	assert_int_equal(atomic_load(&t->executed), 1);
	session_get_stats(s, &st);
	assert_true(st.resets >= 2);

	atomic_store(&t->lose, LOSE_AFTER_ACK);
	session_set_timeout(s, SECOND / 2);
	assert_int_equal(session_read_virtual(s, LOSE_ADDR, buf, sizeof(buf), &got), -ETIMEDOUT);
	session_set_timeout(s, 3 * SECOND);
	assert_int_equal(session_read_msr(s, 0x10, &v), 0);
	assert_int_equal(atomic_load(&t->executed), 1);
	session_get_stats(s, &st);
	assert_int_equal(st.timeouts, 1);
	assert_int_equal(session_last_stop(s)->pc, 0x1000);
	script_stop(t, s);
}

/* Issue 10.5: a late GetContext / ReadMsr reply (to a request that timed out) arriving
 * before the real one is dropped and counted, by its generation and by the MSR it echoes;
 * a target that does not echo the generation is still answered. */
static void scripted_stale_replies_dropped(void **state)
{
	struct kd_context_amd64 ctx;
	struct session_stats st0, st1;
	struct seen seen;
	struct session *s;
	struct script_target *t = script_start(&s, &seen);
	uint64_t v;

	(void)state;
	assert_int_equal(session_get_context(s, &ctx), 0);
	assert_int_equal(ctx.rip, 0x1001);
	session_get_stats(s, &st0);
	atomic_store(&t->stale_first, 1);
	assert_int_equal(session_get_context(s, &ctx), 0);
	assert_int_equal(ctx.rip, 0x1002);
	session_get_stats(s, &st1);
	assert_int_equal(st1.stale_replies - st0.stale_replies, 1);

	assert_int_equal(session_read_msr(s, 0x10, &v), 0);
	assert_int_equal(v, 0x600d0010);
	atomic_store(&t->stale_first, 1);
	assert_int_equal(session_read_msr(s, 0x10, &v), 0);
	assert_int_equal(v, 0x600d0010);
	session_get_stats(s, &st0);
	assert_int_equal(st0.stale_replies - st1.stale_replies, 2);

	/* Without the generation echoed, the echoed MSR number still catches the stray. */
	atomic_store(&t->zero_pad, 1);
	atomic_store(&t->stale_first, 1);
	assert_int_equal(session_read_msr(s, 0x20, &v), 0);
	assert_int_equal(v, 0x600d0020);
	assert_int_equal(session_get_context(s, &ctx), 0);
	assert_int_equal(ctx.rip, 0x1003);
	session_get_stats(s, &st1);
	assert_int_equal(st1.stale_replies - st0.stale_replies, 2);
	assert_int_equal(st1.malformed, 0);
	assert_int_equal(st1.timeouts, 0);
	script_stop(t, s);
}

/* Issue 10: `vmkd attach` noticed no target that had gone. Every wait now ends with a
 * clear error: the relay's "guest disconnected" notice (-ENOTCONN, until it says the guest
 * is back), a break-in the target does not answer within the request timeout (-ETIMEDOUT,
 * "not answering"), a connection the peer closed (-ECONNRESET). The waits here are finite
 * only so that a regression fails instead of hanging. */
static void scripted_waits_end_when_target_gone(void **state)
{
	struct kd_get_version64 ver;
	struct session_stop st;
	struct seen seen;
	struct session *s;
	struct script_target *t = script_start(&s, &seen);
	struct kd_api_msg msg;
	uint64_t t0;

	(void)state;
	/* The relay reports its guest gone while the target runs. */
	atomic_store(&t->on_continue, CONT_GONE);
	assert_int_equal(session_continue2(s, KD_DBG_CONTINUE, 0, 0), 0);
	assert_int_equal(session_wait_stop(s, 10 * SECOND, &st), -ENOTCONN);
	assert_non_null(strstr(session_error(s), "the relay reports its guest disconnected"));
	assert_non_null(strstr(seen.printed, GONE_NOTICE)); /* still shown */
	assert_true(session_target_gone(s));
	assert_true(session_connected(s));
	assert_int_equal(session_wait_stop(s, 10 * SECOND, &st), -ENOTCONN);
	assert_int_equal(session_get_version(s, &ver), -ENOTCONN);
	assert_non_null(strstr(session_error(s), "GetVersion: the relay reports"));

	/* It comes back, and the kernel stops again. */
	kd_api_build_print(&msg, 0, BACK_NOTICE, sizeof(BACK_NOTICE) - 1);
	st_push_msg(t, &msg);
	for (int i = 0; i < 500 && session_target_gone(s); i++)
		session_poll(s, 10000);
	assert_false(session_target_gone(s));
	st_exception(t, 0x7000);
	assert_int_equal(session_wait_stop(s, 10 * SECOND, &st), 0);
	assert_int_equal(st.pc, 0x7000);

	/* Ctrl-C while it runs, and no stop comes: reported after the request timeout. */
	atomic_store(&t->on_continue, CONT_SILENT);
	assert_int_equal(session_continue2(s, KD_DBG_CONTINUE, 0, 0), 0);
	session_set_timeout(s, SECOND / 2);
	t->interrupt = 1;
	t0 = now_us();
	assert_int_equal(session_wait_stop(s, 10 * SECOND, &st), -ETIMEDOUT);
	assert_non_null(strstr(session_error(s), "the target is not answering"));
	assert_true(now_us() - t0 < 10 * SECOND);
	assert_int_equal(session_state(s), SESSION_TARGET_RUNNING);
	/* A stop that comes late is still reported. */
	st_exception(t, 0x8000);
	assert_int_equal(session_wait_stop(s, 10 * SECOND, &st), 0);
	assert_int_equal(st.pc, 0x8000);

	/* The connection closes while the target runs. */
	atomic_store(&t->on_continue, CONT_HANGUP);
	assert_int_equal(session_continue2(s, KD_DBG_CONTINUE, 0, 0), 0);
	assert_int_equal(session_wait_stop(s, 10 * SECOND, &st), -ECONNRESET);
	assert_non_null(strstr(session_error(s), "connection lost: closed by the peer"));
	assert_false(session_connected(s));
	script_stop(t, s);
}

/* The scripted target listens on DIR/kd.sock (dir: a mkdtemp template), as a relay
 * does; spec names it for session_open. */
static void script_listen(struct script_target *t, char *dir, struct sockaddr_un *sa,
			  char *spec, size_t spec_len)
{
	assert_non_null(mkdtemp(dir));
	snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/kd.sock", dir);
	snprintf(spec, spec_len, "unix:%s", sa->sun_path);
	t->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(t->listen_fd >= 0);
	assert_int_equal(bind(t->listen_fd, (struct sockaddr *)sa, sizeof(*sa)), 0);
	assert_int_equal(listen(t->listen_fd, 1), 0);
	pthread_mutex_init(&t->lock, NULL);
}

/* `vmkd attach` in scripted mode (stdin a pipe) against a relay that reports its guest
 * gone during `g`: the message is printed, the script stops (the command after `g` is not
 * run), the exit status is nonzero. */
static void *accept_main(void *arg)
{
	struct script_target *t = arg;

	t->fd = accept(t->listen_fd, NULL, NULL);
	if (t->fd < 0)
		return NULL;
	return script_main(t);
}

static void attach_script_stops_when_guest_gone(void **state)
{
	struct script_target *t = calloc(1, sizeof(*t));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static const char script[] = "g\nr rip\n";
	char dir[] = "/tmp/vmkd-test-attach.XXXXXX", spec[160], *err_text = NULL;
	char a0[] = "attach", a1[] = "-t", a2[] = "2";
	char *argv[] = { a0, a1, a2, spec, NULL };
	struct kd_link_config cfg;
	int in[2], saved_in, saved_out, saved_err, devnull, errfd, rc;
	size_t err_len = 0;
	FILE *err_mem;

	(void)state;
	assert_non_null(t);
	script_listen(t, dir, &sa, spec, sizeof(spec));
	kd_link_default_config(&cfg);
	kd_link_init(&t->link, KD_ROLE_TARGET, &cfg, &st_ops, t);
	atomic_store(&t->on_continue, CONT_GONE);
	st_exception(t, 0x7000); /* memory there reads as nothing: no int3 to skip */
	assert_int_equal(pthread_create(&t->thread, NULL, accept_main, t), 0);

	/* stdin: the script; stdout: discarded; stderr: kept to check the messages. */
	assert_int_equal(pipe(in), 0);
	assert_int_equal(write(in[1], script, sizeof(script) - 1), (ssize_t)sizeof(script) - 1);
	close(in[1]);
	err_mem = tmpfile();
	assert_non_null(err_mem);
	devnull = open("/dev/null", O_WRONLY);
	assert_true(devnull >= 0);
	fflush(stdout);
	fflush(stderr);
	saved_in = dup(STDIN_FILENO);
	saved_out = dup(STDOUT_FILENO);
	saved_err = dup(STDERR_FILENO);
	dup2(in[0], STDIN_FILENO);
	dup2(devnull, STDOUT_FILENO);
	errfd = fileno(err_mem);
	dup2(errfd, STDERR_FILENO);
	rc = attach_main(4, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_in, STDIN_FILENO);
	dup2(saved_out, STDOUT_FILENO);
	dup2(saved_err, STDERR_FILENO);
	close(saved_in);
	close(saved_out);
	close(saved_err);
	close(in[0]);
	close(devnull);
	signal(SIGINT, SIG_DFL);

	err_text = calloc(1, 4096);
	assert_non_null(err_text);
	rewind(err_mem);
	err_len = fread(err_text, 1, 4095, err_mem);
	fclose(err_mem);
	assert_true(err_len > 0);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err_text, "g: the relay reports its guest disconnected"));
	assert_non_null(strstr(err_text, "vmkd attach: the relay reports its guest disconnected; stopping"));
	assert_null(strstr(err_text, "r: ")); /* the script stopped before `r rip` */
	assert_int_equal(t->continues, 1);

	t->quit = 1;
	pthread_join(t->thread, NULL);
	if (t->fd >= 0)
		close(t->fd);
	close(t->listen_fd);
	unlink(sa.sun_path);
	rmdir(dir);
	pthread_mutex_destroy(&t->lock);
	free(err_text);
	free(t);
}


/* A relay restarted under the debugger: the target on a listening socket hangs up while
 * stopped, then takes the next connection (a fresh link) and reports its stop again once
 * the debugger's RESET is through, as kdvm.dll does after the relay's RESYNC. */
static void *reaccept_main(void *arg)
{
	struct script_target *t = arg;
	struct kd_link_config cfg;

	kd_link_default_config(&cfg);
	for (int conn = 0; !t->quit; conn++) {
		struct pollfd pfd = { .fd = t->listen_fd, .events = POLLIN };

		if (poll(&pfd, 1, 10) <= 0)
			continue;
		t->fd = accept(t->listen_fd, NULL, NULL);
		if (t->fd < 0)
			break;
		if (atomic_exchange(&t->drop_next, 0)) {
			char byte;

			/* A relay still dying: the dial and the debugger's first write go
			 * through, the connection ends right after. */
			if (read(t->fd, &byte, 1) < 0)
				perror("read");
			close(t->fd);
			t->fd = -1;
			conn--;
			continue;
		}
		kd_link_init(&t->link, KD_ROLE_TARGET, &cfg, &st_ops, t);
		atomic_store(&t->hangup, 0);
		if (conn == 0)
			st_exception(t, 0x1000);
		else
			atomic_store(&t->rereport_on_reset, 1);
		script_main(t);
		close(t->fd);
		t->fd = -1;
	}
	return NULL;
}

static void session_reconnects_after_the_relay_restarts(void **state)
{
	struct script_target *t = calloc(1, sizeof(*t));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/vmkd-test-reconnect.XXXXXX", spec[160], err[256];
	struct session_options opt;
	struct session_stats stats;
	struct kd_get_version64 ver;
	struct session_stop st;
	struct session *s;
	int sv[2];

	(void)state;
	assert_non_null(t);
	t->fd = -1;
	t->getversions = 1; /* only the first one is answered short on purpose */
	script_listen(t, dir, &sa, spec, sizeof(spec));
	assert_int_equal(pthread_create(&t->thread, NULL, reaccept_main, t), 0);

	session_default_options(&opt);
	opt.request_timeout_us = 3 * SECOND;
	opt.cb.trace = trace_stderr;
	opt.trace = getenv("VMKD_TEST_TRACE") != NULL;
	s = session_open(spec, &opt, err, sizeof(err));
	if (!s)
		fail_msg("session_open: %s", err);
	assert_int_equal(session_wait_stop(s, 10 * SECOND, &st), 0);
	assert_int_equal(st.pc, 0x1000);
	assert_int_equal(session_get_version(s, &ver), 0);
	assert_int_equal(t->getversions, 2);

	/* The relay goes away while the target is stopped. */
	atomic_store(&t->hangup, 1);
	assert_int_equal(session_poll(s, 10 * SECOND), -ECONNRESET);
	assert_false(session_connected(s));
	assert_int_equal(session_get_version(s, &ver), -ECONNRESET);

	/* ... and is back: the stop is reported again, requests are answered. The first
	 * connection is closed at once, as by a relay still dying: dialled again, not
	 * reported as connected. */
	atomic_store(&t->drop_next, 1);
	assert_int_equal(session_reconnect(s, 5000), 0);
	assert_int_equal(atomic_load(&t->drop_next), 0);
	assert_true(session_connected(s));
	assert_int_equal(session_wait_stop(s, 10 * SECOND, &st), 0);
	assert_int_equal(st.pc, 0x1000);
	assert_int_equal(session_state(s), SESSION_TARGET_STOPPED);
	assert_int_equal(session_get_version(s, &ver), 0);
	assert_int_equal(t->getversions, 3);
	session_get_stats(s, &stats);
	assert_int_equal(stats.reconnects, 1);
	assert_int_equal(stats.reconnects_reset, 1);

	/* Nobody listens any more: a clear error within the time given, no hang. */
	t->quit = 1;
	pthread_join(t->thread, NULL);
	close(t->listen_fd);
	unlink(sa.sun_path);
	session_poll(s, SECOND / 10);
	assert_false(session_connected(s));
	assert_true(session_reconnect(s, 300) < 0);
	assert_false(session_connected(s));
	assert_int_equal(session_get_version(s, &ver), -ECONNRESET);
	session_close(s);

	/* A session on a bare descriptor has no endpoint to dial. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	s = session_open_fd(sv[0], &opt, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(session_reconnect(s, 100), -ENOTSUP);
	assert_non_null(strstr(session_error(s), "cannot reconnect"));
	session_close(s);
	close(sv[1]);

	rmdir(dir);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kernel_requests),
		cmocka_unit_test(kernel_resync_runs_requests_once),
		cmocka_unit_test(kernel_run_control),
		cmocka_unit_test(commands_inspect),
		cmocka_unit_test(commands_run_control),
		cmocka_unit_test(scripted_target_misbehaves),
		cmocka_unit_test(scripted_resync_runs_requests_once),
		cmocka_unit_test(scripted_stale_replies_dropped),
		cmocka_unit_test(scripted_waits_end_when_target_gone),
		cmocka_unit_test(attach_script_stops_when_guest_gone),
		cmocka_unit_test(session_reconnects_after_the_relay_restarts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
