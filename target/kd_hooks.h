/* SPDX-License-Identifier: MIT */
/*
 * kd_hooks.h - where the KD target core plugs into the platform. Each hook has a weak
 * default in kd_hooks.c; defining the function in another file of the kernel replaces it.
 */
#ifndef VMKD_TARGET_KD_HOOKS_H
#define VMKD_TARGET_KD_HOOKS_H

#include <stdbool.h>

#include "trap.h"

/* Runs once the platform is up and the self-test passed (kmain). When it returns, the kernel
 * exits QEMU with TARGET_EXIT_OK, or idles if the command line has "stay". Default: returns
 * at once. */
void kd_main(void);

/* #DB (vector 1: single step, hardware breakpoint) and #BP (vector 3: int3, RIP already past
 * the 0xCC). Change *tf to resume elsewhere / with other registers / with RFLAGS.TF set to
 * single-step. Default: prints one line and resumes; for #DB it clears TF and sets RF so a
 * stray single step or instruction breakpoint cannot loop. */
void kd_debug_trap(struct trap_frame *tf);

/* Any other exception (vectors 0-31 except 1 and 3), before it is treated as fatal - the
 * place to report a fault to the debugger the way Windows does before a bugcheck. Return
 * true to resume with *tf. Default: false. */
bool kd_exception_hook(struct trap_frame *tf);

#endif
