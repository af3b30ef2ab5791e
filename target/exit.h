/* SPDX-License-Identifier: MIT */
/* exit.h - leaving QEMU: isa-debug-exit with a code (TARGET_EXIT_* in layout.h), panic. */
#ifndef VMKD_TARGET_EXIT_H
#define VMKD_TARGET_EXIT_H

#include "layout.h"

/* Drains the console, then writes code to isa-debug-exit: QEMU exits with (code << 1) | 1.
 * Without that device it triple-faults, which QEMU's -no-reboot turns into exit status 0. */
__attribute__((noreturn)) void target_exit(unsigned code);

/* Prints "vmkd-target: PANIC: <message>" and exits with TARGET_EXIT_PANIC. */
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);

#endif
