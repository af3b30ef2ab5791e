/* SPDX-License-Identifier: MIT */
/*
 * smoke.h - what the bare-metal smoke kernels (vm_main.c: virtio-serial, ivs_main.c:
 * ivshmem) share: their COM1 console, the verdict through isa-debug-exit, and the TSC
 * against the PIT. No 64-bit division: the kernels link no libgcc.
 *
 * Every console line starts with the kernel's name (smoke_name, defined by each kernel),
 * which the scripts that boot them look for: "NAME: pass WHAT", "NAME: ok", ...
 */
#ifndef VMKD_GUEST_TESTS_SMOKE_H
#define VMKD_GUEST_TESTS_SMOKE_H

#include <stdint.h>

#define SMOKE_COM1       0x3F8u
#define SMOKE_DEBUG_EXIT 0xF4u   /* QEMU's isa-debug-exit: QEMU exits (code << 1) | 1 */

extern const char smoke_name[];

void smoke_puts(const char *s);
void smoke_put_u64(uint64_t v);
void smoke_put_hex(uint32_t v);
/* " KEY=VALUE" */
void smoke_kv(const char *k, uint64_t v);
/* "NAME: " then s: the start of a console line. */
void smoke_line(const char *s);

/* "NAME: ok" (code 0) or "NAME: FAILED", then QEMU exits with code. */
void smoke_finish(int code) __attribute__((noreturn));
/* "NAME: pass WHAT" or "NAME: fail WHAT" and the end (code 1). */
void smoke_expect(int ok, const char *what);

uint64_t smoke_rdtsc(void);
/* TSC ticks in 10 ms of PIT channel 2 (1193182 Hz). */
uint64_t smoke_tsc_10ms(void);

#endif
