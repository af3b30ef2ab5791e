/* SPDX-License-Identifier: MIT */
/* kd_hooks.c - weak defaults for the KD core's hooks (kd_hooks.h). */
#include <stdbool.h>

#include "console.h"
#include "cpu.h"
#include "kd_hooks.h"
#include "trap.h"

__attribute__((weak)) void kd_main(void)
{
}

__attribute__((weak)) void kd_debug_trap(struct trap_frame *tf)
{
	kprintf("vmkd-target: %s at rip=%#lx (no KD core; continuing)\n",
		trap_name((unsigned)tf->vector), tf->rip);
	if (tf->vector == TRAP_DB) {
		tf->rflags &= ~RFLAGS_TF;
		tf->rflags |= RFLAGS_RF;
	}
}

__attribute__((weak)) bool kd_exception_hook(struct trap_frame *tf)
{
	(void)tf;
	return false;
}
