/* SPDX-License-Identifier: MIT */
/* trap.c - exception dispatch, fatal-fault reports, probe fixups. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "console.h"
#include "cpu.h"
#include "exit.h"
#include "kd_hooks.h"
#include "layout.h"
#include "paging.h"
#include "trap.h"
#include "uart.h"

#define BACKTRACE_MAX 16

/* probe.S: pairs of (faulting instruction, resume address), ended by a zero pair. */
extern const uint64_t probe_fixups[];

static trap_handler_fn handlers[TRAP_NR_VECTORS];
static int fatal_depth;

static const char *const exception_names[TRAP_NR_EXCEPTIONS] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
	"#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
	"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23",
	"#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
};

const char *trap_name(unsigned vector)
{
	return vector < TRAP_NR_EXCEPTIONS ? exception_names[vector] : "INT";
}

trap_handler_fn trap_set_handler(unsigned vector, trap_handler_fn fn)
{
	trap_handler_fn old;

	if (vector >= TRAP_NR_VECTORS)
		return NULL;
	old = handlers[vector];
	handlers[vector] = fn;
	return old;
}

bool probe_fixup(struct trap_frame *tf)
{
	if (tf->vector != TRAP_PF && tf->vector != TRAP_GP)
		return false;
	for (const uint64_t *f = probe_fixups; f[0]; f += 2) {
		if (tf->rip == f[0]) {
			tf->rip = f[1];
			return true;
		}
	}
	return false;
}

static void backtrace(uint64_t rbp)
{
	kprintf("  backtrace:");
	for (int i = 0; i < BACKTRACE_MAX && rbp; i++) {
		uint64_t frame[2]; /* saved rbp, return address */

		if ((rbp & 7) || vm_read(rbp, frame, sizeof(frame)) != sizeof(frame))
			break;
		kprintf(" %#lx", frame[1]);
		if (frame[0] <= rbp) /* stacks grow down: callers' frames are higher */
			break;
		rbp = frame[0];
	}
	kprintf("\n");
}

void trap_dump(const struct trap_frame *tf)
{
	kprintf("  vector=%lu (%s) error=%#lx rip=%016lx cs=%#lx rflags=%#lx\n", tf->vector,
		trap_name((unsigned)tf->vector), tf->error_code, tf->rip, tf->cs, tf->rflags);
	kprintf("  rsp=%016lx ss=%#lx cr2=%016lx cr3=%016lx\n", tf->rsp, tf->ss, tf->cr2,
		read_cr3());
	kprintf("  rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx\n", tf->rax, tf->rbx, tf->rcx,
		tf->rdx);
	kprintf("  rsi=%016lx rdi=%016lx rbp=%016lx r8 =%016lx\n", tf->rsi, tf->rdi, tf->rbp,
		tf->r8);
	kprintf("  r9 =%016lx r10=%016lx r11=%016lx r12=%016lx\n", tf->r9, tf->r10, tf->r11,
		tf->r12);
	kprintf("  r13=%016lx r14=%016lx r15=%016lx\n", tf->r13, tf->r14, tf->r15);
	kprintf("  ds=%#lx es=%#lx fs=%#lx gs=%#lx mxcsr=%#x\n", tf->ds, tf->es, tf->fs, tf->gs,
		tf->fx.mxcsr);
	backtrace(tf->rbp);
}

void trap_fatal(const struct trap_frame *tf)
{
	unsigned code = tf->vector == TRAP_DF ? TARGET_EXIT_DOUBLE_FAULT : TARGET_EXIT_FAULT;

	/* A fault while reporting a fault: skip the report, just leave. */
	if (fatal_depth++)
		target_exit(code);
	kprintf("\nvmkd-target: FATAL %s (vector %lu) at rip=%#lx\n",
		trap_name((unsigned)tf->vector), tf->vector, tf->rip);
	trap_dump(tf);
	target_exit(code);
}

void trap_dispatch(struct trap_frame *tf)
{
	unsigned vector = (unsigned)tf->vector;

	if (probe_fixup(tf))
		return;
	if (vector < TRAP_NR_VECTORS && handlers[vector] && handlers[vector](tf))
		return;
	if (vector == TRAP_DB || vector == TRAP_BP) {
		kd_debug_trap(tf);
		return;
	}
	if (vector < TRAP_NR_EXCEPTIONS && kd_exception_hook(tf))
		return;
	trap_fatal(tf);
}
