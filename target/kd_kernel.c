/* SPDX-License-Identifier: MIT */
/*
 * kd_kernel.c - the KD target core wired into the test kernel: the transport on the KD COM
 * port, #BP/#DB and faults reported as Windows reports them, the boot-time module report and
 * initial breakpoint, DbgPrint, break-in polling, and the workloads the tests drive.
 *
 * Command line: workload=none|idle|loop|dbgprint|pattern (default none: boot reports, the
 * initial breakpoint, then exit), lines=N (dbgprint), then=M (dbgprint: after the N lines,
 * wait for a break-in, then print M more), print=printf|counter (dbgprint: each line
 * formatted by vsnprintf, or the same text advanced in place: the bench's workload),
 * build=N (Windows build reported, default 18362), nobreak (no initial breakpoint), nokd,
 * debugport=vm|com1|com2 (as Windows' /DEBUGPORT: vm runs the embedded kdvm.dll, the file
 * users install, over virtio-serial; comN or absent: the built-in KDCOM serial transport on
 * the kdport= COM port).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "kd_kdvm.h"
#include "echo.h"
#include "kd_kernel.h"
#include "kd_machine.h"
#include "kd_serial.h"
#include "kd_target.h"
#include "platform.h"

#define DEFAULT_BUILD          18362 /* Windows 10 1903 */
#define DBG_STATUS_CONTROL_C   1u
#define STATUS_ILLEGAL_INSTRUCTION   0xC000001Du
#define STATUS_INTEGER_DIVIDE_BY_ZERO 0xC0000094u
#define STATUS_PRIVILEGED_INSTRUCTION 0xC0000096u
#define STATUS_STACK_OVERFLOW   0xC00000FDu
#define POLL_INTERVAL_US       1000
#define LOOP_PRINT_EVERY       (1u << 22)
#define SERIAL_ACK_TIMEOUT_US  200000
#define SERIAL_RETRIES         10

/* Ways into the debugger that need a trap frame but cannot use int n (this host's KVM
 * does not emulate int3 / int 2d in ring 0): set TF and let the #DB deliver the frame. */
enum kd_pending {
	KD_PENDING_NONE,
	KD_PENDING_BREAKIN,
	KD_PENDING_LOAD_SYMBOLS,
};

static struct kd_kernel {
	bool enabled;
	bool breakin_via_trace; /* KVM here: no int3 in ring 0 */
	bool use_kdvm;          /* transport = kdvm.dll, registered as kdcom.dll */
	volatile enum kd_pending pending;
	struct kd_serial serial;
	struct kd_kdvm kdvm;
	struct kd_target target;
	struct kd_context_amd64 ctx;
	struct kd_machine_debug_regs dregs; /* held while a stop is in the debugger */
	char print_buf[512];
} kd;

/* What ntoskrnl exports under this name; kdvm.dll imports it. */
volatile uint8_t KdDebuggerNotPresent;

/* Known symbols for the tests: a breakpoint target, a flag that ends the workload, and
 * the pattern region. Their addresses are announced at boot through DbgPrint. */
volatile uint32_t vmkd_stop_request;
volatile uint64_t vmkd_workload_calls;

__attribute__((noinline, used)) uint64_t vmkd_workload_function(uint64_t i)
{
	__asm__ __volatile__("" : "+r"(i));
	vmkd_workload_calls++;
	return i * 3 + 1;
}

/* DbgBreakPointWithStatus: Windows' break-in point, an int3 the debugger steps over. */
__attribute__((noinline, used)) void DbgBreakPointWithStatus(uint32_t status)
{
	__asm__ __volatile__("int3" : : "c"(status) : "memory");
}

static void trap_into_debugger(enum kd_pending why)
{
	kd.pending = why;
	__asm__ __volatile__("pushfq\n\t"
			     "orq $0x100, (%%rsp)\n\t"
			     "popfq\n\t"
			     "nop" : : : "memory", "cc");
}

static void kd_break(void)
{
	if (kd.breakin_via_trace)
		trap_into_debugger(KD_PENDING_BREAKIN);
	else
		DbgBreakPointWithStatus(DBG_STATUS_CONTROL_C);
}

/* ---- transport --------------------------------------------------------------------- */

static int kd_uart_get(void *io)
{
	(void)io;
	return uart_try_get(platform_kd_port());
}

static void kd_uart_put(void *io, const uint8_t *buf, size_t len)
{
	(void)io;
	uart_write(platform_kd_port(), buf, len);
}

static uint64_t kd_uart_now(void *io)
{
	(void)io;
	return time_us();
}

static const struct kd_byte_io_ops kd_uart_ops = {
	.get = kd_uart_get,
	.put = kd_uart_put,
	.now_us = kd_uart_now,
};

/* KdEnterDebugger / KdExitDebugger call the transport's KdSave / KdRestore. */
static void kd_enter(void)
{
	if (kd.use_kdvm)
		kd_kdvm_save(&kd.kdvm);
}

static void kd_exit(void)
{
	if (kd.use_kdvm)
		kd_kdvm_restore(&kd.kdvm);
}

/* ---- traps ------------------------------------------------------------------------- */

/* Stops the CPU of tf in the debugger; tf takes back whatever the debugger changed. */
static enum kd_resume stop_in_debugger(struct trap_frame *tf, uint64_t pc, uint32_t code,
				       uint64_t address)
{
	enum kd_resume r;

	kd_machine_frame_to_context(tf, &kd.ctx, &kd.dregs);
	/* Debug registers are off while the debugger has the CPU (Windows clears Dr7 on entry
	 * too), and what the debugger sets is loaded only on the way out: a hit inside the
	 * debugger's own code would re-enter it mid-stop (kd_machine.h). */
	kd_machine_hold_debug_regs(&kd.dregs);
	kd.ctx.rip = pc;
	kd_enter();
	r = kd_target_report_exception(&kd.target, &kd.ctx, code, address, 1);
	kd_exit();
	kd_machine_context_to_frame(&kd.ctx, tf, &kd.dregs);
	kd_machine_release_debug_regs(&kd.dregs);
	return r;
}

static void load_symbols_from_trap(struct trap_frame *tf)
{
	extern uint8_t __image_start[], __image_end[];

	kd_machine_frame_to_context(tf, &kd.ctx, &kd.dregs);
	kd_machine_hold_debug_regs(&kd.dregs);
	kd_enter();
	kd_target_load_symbols(&kd.target, &kd.ctx, "\\SystemRoot\\system32\\ntoskrnl.exe",
			       (uint64_t)(uintptr_t)__image_start,
			       (uint32_t)(__image_end - __image_start), 0);
	/* The boot loader registers the transport under kdcom.dll whatever its file name. */
	if (kd.use_kdvm)
		kd_target_load_symbols(&kd.target, &kd.ctx, "\\SystemRoot\\system32\\kdcom.dll",
				       (uint64_t)(uintptr_t)kd.kdvm.image.base,
				       kd.kdvm.image.info.size_of_image,
				       kd.kdvm.image.info.checksum);
	kd_exit();
	kd_machine_context_to_frame(&kd.ctx, tf, &kd.dregs);
	kd_machine_release_debug_regs(&kd.dregs);
}

void kd_debug_trap(struct trap_frame *tf)
{
	uint64_t dr6 = read_dr(6);
	enum kd_pending pending = kd.pending;

	if (!kd.enabled)
		goto no_debugger;
	if (tf->vector == TRAP_BP) {
		/* Windows reports an int3 at the int3 itself (the CPU's RIP is past it). */
		uint64_t at = tf->rip - 1;

		if (stop_in_debugger(tf, at, KD_STATUS_BREAKPOINT, at) == KD_RESUME_HANDLED)
			return;
		tf->rip = at + 1; /* nobody took it: step over the int3 and go on */
		return;
	}
	tf->rflags &= ~RFLAGS_TF;
	if (pending != KD_PENDING_NONE && (dr6 & DR6_BS)) {
		write_dr(6, 0);
		kd.pending = KD_PENDING_NONE;
		if (pending == KD_PENDING_LOAD_SYMBOLS)
			load_symbols_from_trap(tf);
		else
			stop_in_debugger(tf, tf->rip, KD_STATUS_BREAKPOINT, tf->rip);
		return;
	}
	/* Dr6 stays as the CPU left it while stopped, so the debugger sees which debug
	 * register fired (the control report and the CONTEXT carry it); cleared after. */
	stop_in_debugger(tf, tf->rip, KD_STATUS_SINGLE_STEP, tf->rip);
	write_dr(6, 0);
	/* An instruction breakpoint (DR0-3) would fire again at once without RF. */
	if (dr6 & 0xf)
		tf->rflags |= RFLAGS_RF;
	return;

no_debugger:
	kprintf("vmkd-target: %s at rip=%#lx (no KD core; continuing)\n",
		trap_name((unsigned)tf->vector), tf->rip);
	if (tf->vector == TRAP_DB) {
		tf->rflags &= ~RFLAGS_TF;
		tf->rflags |= RFLAGS_RF;
		kd.pending = KD_PENDING_NONE;
	}
}

static uint32_t exception_code(uint64_t vector)
{
	switch (vector) {
	case TRAP_DE:
		return STATUS_INTEGER_DIVIDE_BY_ZERO;
	case TRAP_UD:
		return STATUS_ILLEGAL_INSTRUCTION;
	case TRAP_SS:
		return STATUS_STACK_OVERFLOW;
	case TRAP_GP:
		return STATUS_PRIVILEGED_INSTRUCTION;
	default:
		return KD_STATUS_ACCESS_VIOLATION;
	}
}

/* A fault the kernel cannot handle goes to the debugger first (first chance), as on
 * Windows before a bugcheck; if the debugger fixed the frame and said "handled", resume. */
bool kd_exception_hook(struct trap_frame *tf)
{
	if (!kd.enabled || KdDebuggerNotPresent || tf->vector == TRAP_DF)
		return false;
	kprintf("vmkd-target: %s at %#lx, reporting to the debugger\n",
		trap_name((unsigned)tf->vector), tf->rip);
	return stop_in_debugger(tf, tf->rip, exception_code(tf->vector), tf->rip) ==
	       KD_RESUME_HANDLED;
}

/* ---- DbgPrint and break-in --------------------------------------------------------- */

static void kd_poll(void)
{
	if (kd_target_poll_breakin(&kd.target))
		kd_break();
}

/* DbgPrint of formatted text: the console, then (as Windows' KdpPrint) the transport,
 * inside KdEnterDebugger / KdExitDebugger, only while KdDebuggerNotPresent is clear
 * (docs/windows.md, "DbgPrint with no debugger"). */
static void kd_print_text(const char *text, size_t len)
{
	console_write(text, len);
	if (!KdDebuggerNotPresent) {
		kd_enter();
		kd_target_print(&kd.target, text, len);
		kd_exit();
	}
	kd_poll(); /* Windows polls for break-in after every DbgPrint */
}

__attribute__((format(printf, 1, 2))) static void kd_print(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(kd.print_buf, sizeof(kd.print_buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(kd.print_buf))
		n = sizeof(kd.print_buf) - 1;
	kd_print_text(kd.print_buf, (size_t)n);
}

/* ---- workloads --------------------------------------------------------------------- */

static void fill_pattern(void)
{
	uint8_t *p = test_region();

	for (size_t i = 0; i < TEST_REGION_SIZE; i++)
		p[i] = (uint8_t)(i * 7 + 3);
}

static void run_until_stopped(bool call_function)
{
	uint64_t next_poll = 0, i = 0;

	while (!vmkd_stop_request) {
		if (call_function) {
			vmkd_workload_function(i++);
			/* A little DbgPrint traffic while running, as a live system has. */
			if ((i & (LOOP_PRINT_EVERY - 1)) == 0)
				kd_print("vmkd-target: loop: %lu calls\n", i);
		}
		if (time_us() >= next_poll) {
			kd_poll();
			next_poll = time_us() + POLL_INTERVAL_US;
		}
	}
}

/*
 * print=counter: the same lines as kd_print's "vmkd-target: dbgprint line %lu of %lu\n",
 * built once and then advanced by a decimal increment in place, so a line costs the
 * DbgPrint path (KdpPrint -> KdSendPacket -> transport) and almost no formatting. Under
 * this host's KVM every ring-0 instruction is emulated and the kernel's vsnprintf would
 * be most of a line's instructions, for serial and kdvm alike (bench/README.md).
 */
struct counter_line {
	char buf[96];
	size_t len;    /* bytes of the whole line */
	size_t digits; /* where the line number starts */
	size_t width;  /* its digits */
};

static void counter_line_init(struct counter_line *c, uint64_t total)
{
	static const char head[] = "vmkd-target: dbgprint line ";

	memcpy(c->buf, head, sizeof(head) - 1);
	c->digits = sizeof(head) - 1;
	c->width = 1;
	c->buf[c->digits] = '1';
	c->len = c->digits + 1 + (size_t)ksnprintf(c->buf + c->digits + 1,
						      sizeof(c->buf) - c->digits - 1,
						      " of %lu\n", total);
}

/* number + 1; a carry out of the first digit moves the tail one byte right. */
static void counter_line_next(struct counter_line *c)
{
	char *d = c->buf + c->digits;
	size_t i = c->width;

	while (i > 0 && d[i - 1] == '9')
		d[--i] = '0';
	if (i > 0) {
		d[i - 1]++;
		return;
	}
	if (c->len + 1 > sizeof(c->buf))
		return; /* 20 digits: beyond any lines= */
	memmove(d + 1, d, c->len - c->digits);
	d[0] = '1';
	c->width++;
	c->len++;
}

static void print_lines(uint64_t from, uint64_t to, uint64_t total, bool counter)
{
	struct counter_line c;

	if (!counter) {
		for (uint64_t i = from; i < to && !vmkd_stop_request; i++)
			kd_print("vmkd-target: dbgprint line %lu of %lu\n", i + 1, total);
		return;
	}
	counter_line_init(&c, total);
	for (uint64_t i = 0; i < from; i++)
		counter_line_next(&c);
	for (uint64_t i = from; i < to && !vmkd_stop_request; i++) {
		kd_print_text(c.buf, c.len);
		counter_line_next(&c);
	}
}

static void workload_dbgprint(void)
{
	uint64_t lines = cmdline_get_u64("lines", 20), then = cmdline_get_u64("then", 0);
	uint64_t total = lines + then, i, stops;
	char how[16] = "printf";
	bool counter;

	cmdline_get("print", how, sizeof(how));
	counter = strcmp(how, "counter") == 0;
	print_lines(0, lines, total, counter);
	i = lines;
	if (then) {
		/* The tests attach a debugger now (it breaks in, then continues): the lines
		 * before went to the host's log alone, the ones after reach the debugger too. */
		kd_print("vmkd-target: dbgprint waiting for a break-in\n");
		stops = kd.target.stats.breakins;
		while (kd.target.stats.breakins == stops && !vmkd_stop_request)
			kd_poll();
		print_lines(i, total, total, counter);
	}
	kd_print("vmkd-target: dbgprint done\n");
}

struct workload {
	const char *name;
	void (*run)(void);
	bool without_kd; /* owns the virtio port itself: KD stays off */
};

static void workload_idle(void)
{
	run_until_stopped(false);
}

static void workload_loop(void)
{
	run_until_stopped(true);
}

static void workload_none(void)
{
}

static const struct workload workloads[] = {
	{ "none", workload_none, false },
	{ "idle", workload_idle, false },
	{ "loop", workload_loop, false },
	{ "dbgprint", workload_dbgprint, false },
	{ "pattern", workload_idle, false }, /* the pattern is always there; this one just waits */
	{ "echo", workload_echo, true }, /* the channel floor for the benchmark */
};

static const struct workload *choose_workload(void)
{
	char name[16];

	if (cmdline_get("workload", name, sizeof(name)) < 0)
		return &workloads[0];
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++)
		if (strcmp(name, workloads[i].name) == 0)
			return &workloads[i];
	kprintf("vmkd-target: unknown workload \"%s\", running idle\n", name);
	return &workloads[0];
}

/* ---- transport choice -------------------------------------------------------------- */

static bool word_equal_nocase(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if ((*a | 0x20) != (*b | 0x20))
			return false;
	return *a == *b;
}

/* debugport= as Windows' /DEBUGPORT (any case): vm loads kdvm.dll; com1/com2 or absent is
 * the built-in serial transport, whose port kdport= picks. */
static bool want_kdvm(void)
{
	char port[16];

	if (cmdline_get("debugport", port, sizeof(port)) < 0)
		return false;
	if (word_equal_nocase(port, "vm"))
		return true;
	if (!word_equal_nocase(port, "com1") && !word_equal_nocase(port, "com2"))
		kprintf("vmkd-target: unknown debugport=%s, using the serial transport\n", port);
	return false;
}

/* Loads and starts kdvm.dll; false (and a console line saying why) means "use serial":
 * a kernel without the virtio-serial device boots on. */
static bool start_kdvm(void)
{
	struct pe_image *img = &kd.kdvm.image;
	enum kd_kdvm_status st;

	st = kd_kdvm_load(&kd.kdvm);
	if (st == KD_KDVM_OK)
		st = kd_kdvm_start(&kd.kdvm);
	if (st != KD_KDVM_OK) {
		kprintf("vmkd-target: debugport=vm: %s, falling back to the serial transport\n",
			kd_kdvm_status_name(st));
		KdDebuggerNotPresent = 0; /* whatever the DLL concluded is not serial's verdict */
		return false;
	}
	kd_machine_add_module("\\SystemRoot\\system32\\kdcom.dll", "kdcom.dll",
			      (uint64_t)(uintptr_t)img->base, img->info.size_of_image,
			      img->info.entry_rva ? (uint64_t)(uintptr_t)img->base +
							    img->info.entry_rva : 0);
	return true;
}

static void start_serial(void)
{
	struct kd_link_config cfg;

	kd_serial_init(&kd.serial, &kd_uart_ops, NULL, &KdDebuggerNotPresent);
	/* A kernel waits for an absent debugger only briefly (kdcom counts polls, not
	 * seconds): 10 tries of 200 ms, then it boots on without one. */
	cfg = kd.serial.link.cfg;
	cfg.ack_timeout = SERIAL_ACK_TIMEOUT_US;
	cfg.max_retries = SERIAL_RETRIES;
	kd.serial.link.cfg = cfg;
}

void kd_main(void)
{
	const struct workload *w = choose_workload();
	struct kd_target_info info;
	uint16_t build = (uint16_t)cmdline_get_u64("build", DEFAULT_BUILD);

	fill_pattern();
	if (w->without_kd) {
		w->run();
		return;
	}
	if (cmdline_has("nokd")) {
		kprintf("vmkd-target: KD disabled (nokd)\n");
		return;
	}
	kd.breakin_via_trace = cpu_is_kvm();
	kd_machine_init(&info, build, (uint64_t)(uintptr_t)DbgBreakPointWithStatus);
	kd.use_kdvm = want_kdvm() && start_kdvm();
	if (kd.use_kdvm) {
		kd_target_init(&kd.target, &kd_machine_ops, &kd.dregs, &kd_kdvm_transport, &kd.kdvm,
			       &KdDebuggerNotPresent, &info);
		kprintf("vmkd-target: KD on vm (kdvm.dll as kdcom.dll), build %u, workload %s\n",
			build, w->name);
	} else {
		start_serial();
		kd_target_init(&kd.target, &kd_machine_ops, &kd.dregs, &kd_serial_transport,
			       &kd.serial, &KdDebuggerNotPresent, &info);
		kprintf("vmkd-target: KD on com%d (serial KDCOM), build %u, workload %s\n",
			platform_kd_port() == COM1_BASE ? 1 : 2, build, w->name);
	}
	kd.enabled = true;

	trap_into_debugger(KD_PENDING_LOAD_SYMBOLS);
	kd_print("vmkd-target: KernBase %#lx workload %s function %#lx stop-flag %#lx calls %#lx\n",
		 info.version.kern_base, w->name,
		 (uint64_t)(uintptr_t)vmkd_workload_function,
		 (uint64_t)(uintptr_t)&vmkd_stop_request,
		 (uint64_t)(uintptr_t)&vmkd_workload_calls);
	kd_print("vmkd-target: pattern %#lx phys %#lx size %#lx guard %#lx\n",
		 (uint64_t)(uintptr_t)test_region(), kva_to_phys(test_region()),
		 (uint64_t)TEST_REGION_SIZE, test_region_guard());
	if (!cmdline_has("nobreak"))
		kd_break();
	w->run();
	kd_print("vmkd-target: workload %s finished\n", w->name);
	if (kd.use_kdvm) {
		/* Windows powers the transport down (D3) before it shuts down: kdvm.dll sends
		 * without waiting, so that is when the frames it still has in flight leave. */
		kd.kdvm.d3_transition();
		kprintf("vmkd-target: kd stats: state changes %lu, requests %lu, bad %lu, "
			"unknown %lu, resends %lu, prints %lu (kdvm.dll)\n",
			kd.target.stats.state_changes, kd.target.stats.requests,
			kd.target.stats.bad_requests, kd.target.stats.unknown_requests,
			kd.target.stats.resends, kd.target.stats.prints);
		return;
	}
	kprintf("vmkd-target: kd stats: state changes %lu, requests %lu, bad %lu, unknown %lu, "
		"resends %lu, prints %lu, link retransmits %lu, resets %lu\n",
		kd.target.stats.state_changes, kd.target.stats.requests,
		kd.target.stats.bad_requests, kd.target.stats.unknown_requests,
		kd.target.stats.resends, kd.target.stats.prints,
		kd.serial.link.stats.retransmits, kd.serial.link.stats.resets_received);
}
