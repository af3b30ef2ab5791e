/* SPDX-License-Identifier: MIT */
/*
 * trap.h - the trap frame every exception and interrupt builds (trap_entry.S), and the dispatcher.
 *
 * Each IDT vector has a stub that pushes a dummy error code when the CPU does not, the
 * vector number, all general registers, the data segment selectors, CR2, and the FXSAVE
 * image, then calls trap_dispatch(frame). Everything in the frame may be changed by a
 * handler and is reloaded on the way out (iretq: RIP, CS, RFLAGS, RSP, SS; pops: GPRs;
 * FXRSTOR: x87/SSE) - except cr2, vector, error_code and the segment selectors ds/es/fs/gs,
 * which are reports only.
 *
 * The FXSAVE image has the layout of CONTEXT.FltSave (XMM_SAVE_AREA32). FXRSTOR faults
 * (#GP) on reserved MXCSR bits: mask a debugger-supplied MxCsr with MxCsr_Mask first.
 */
#ifndef VMKD_TARGET_TRAP_H
#define VMKD_TARGET_TRAP_H

/* Byte offsets in the frame, shared with trap_entry.S. */
#define TF_FXSAVE      0x000 /* 512 bytes, 16-byte aligned */
#define TF_CR2         0x200
#define TF_PAD         0x208
#define TF_GS          0x210
#define TF_FS          0x218
#define TF_ES          0x220
#define TF_DS          0x228
#define TF_R15         0x230
#define TF_R14         0x238
#define TF_R13         0x240
#define TF_R12         0x248
#define TF_R11         0x250
#define TF_R10         0x258
#define TF_R9          0x260
#define TF_R8          0x268
#define TF_RDI         0x270
#define TF_RSI         0x278
#define TF_RBP         0x280
#define TF_RBX         0x288
#define TF_RDX         0x290
#define TF_RCX         0x298
#define TF_RAX         0x2a0
#define TF_VECTOR      0x2a8
#define TF_ERROR_CODE  0x2b0
#define TF_RIP         0x2b8 /* from here on: the CPU's interrupt frame */
#define TF_CS          0x2c0
#define TF_RFLAGS      0x2c8
#define TF_RSP         0x2d0
#define TF_SS          0x2d8
#define TF_SIZE        0x2e0

#define TRAP_DE   0  /* divide error */
#define TRAP_DB   1  /* debug: single step, hardware breakpoint */
#define TRAP_NMI  2
#define TRAP_BP   3  /* int3; RIP points after the 0xCC */
#define TRAP_OF   4
#define TRAP_BR   5
#define TRAP_UD   6
#define TRAP_NM   7
#define TRAP_DF   8
#define TRAP_TS   10
#define TRAP_NP   11
#define TRAP_SS   12
#define TRAP_GP   13
#define TRAP_PF   14
#define TRAP_MF   16
#define TRAP_AC   17
#define TRAP_MC   18
#define TRAP_XM   19
#define TRAP_VE   20
#define TRAP_CP   21
#define TRAP_NR_EXCEPTIONS 32
#define TRAP_NR_VECTORS    256

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fxsave_area {
	uint16_t fcw, fsw;
	uint8_t ftw, reserved0;
	uint16_t fop;
	uint64_t fip, fdp;
	uint32_t mxcsr, mxcsr_mask;
	uint8_t st[8][16];   /* x87/MMX registers, 16 bytes each */
	uint8_t xmm[16][16]; /* xmm0-15 */
	uint8_t reserved1[96];
};

struct trap_frame {
	struct fxsave_area fx;
	uint64_t cr2; /* read at entry: the faulting address of a #PF */
	uint64_t pad;
	uint64_t gs, fs, es, ds;
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rdi, rsi, rbp, rbx, rdx, rcx, rax;
	uint64_t vector;
	uint64_t error_code; /* 0 for vectors without one */
	uint64_t rip, cs, rflags, rsp, ss;
};

_Static_assert(sizeof(struct fxsave_area) == 512, "FXSAVE image");
_Static_assert(offsetof(struct fxsave_area, mxcsr) == 0x18, "FXSAVE mxcsr");
_Static_assert(offsetof(struct fxsave_area, xmm) == 0xa0, "FXSAVE xmm");
_Static_assert(offsetof(struct trap_frame, cr2) == TF_CR2, "tf cr2");
_Static_assert(offsetof(struct trap_frame, gs) == TF_GS, "tf gs");
_Static_assert(offsetof(struct trap_frame, ds) == TF_DS, "tf ds");
_Static_assert(offsetof(struct trap_frame, r15) == TF_R15, "tf r15");
_Static_assert(offsetof(struct trap_frame, r8) == TF_R8, "tf r8");
_Static_assert(offsetof(struct trap_frame, rdi) == TF_RDI, "tf rdi");
_Static_assert(offsetof(struct trap_frame, rax) == TF_RAX, "tf rax");
_Static_assert(offsetof(struct trap_frame, vector) == TF_VECTOR, "tf vector");
_Static_assert(offsetof(struct trap_frame, error_code) == TF_ERROR_CODE, "tf error");
_Static_assert(offsetof(struct trap_frame, rip) == TF_RIP, "tf rip");
_Static_assert(offsetof(struct trap_frame, ss) == TF_SS, "tf ss");
_Static_assert(sizeof(struct trap_frame) == TF_SIZE, "tf size");
_Static_assert(TF_SIZE % 16 == 0, "frame keeps the stack 16-byte aligned");

/* A handler returns true when it dealt with the trap (the frame, possibly changed, is then
 * resumed) and false to let the default path run. */
typedef bool (*trap_handler_fn)(struct trap_frame *tf);

/* Called by trap_entry.S for every vector. Order: probe fixups (probe.S), a handler set with
 * trap_set_handler, then #DB/#BP -> kd_debug_trap(), other exceptions ->
 * kd_exception_hook() and, if it declines, a fatal report and exit. */
void trap_dispatch(struct trap_frame *tf);

/* Installs (or, with NULL, removes) a handler that runs before everything else for that
 * vector. Returns the previous one. Meant for self-tests and special cases. */
trap_handler_fn trap_set_handler(unsigned vector, trap_handler_fn fn);

/* "#PF", "#GP", ... or "INT" for vectors >= 32. */
const char *trap_name(unsigned vector);

/* Prints the frame (and a frame-pointer backtrace) on the console. */
void trap_dump(const struct trap_frame *tf);

/* Prints "FATAL ...", the frame, and exits QEMU with TARGET_EXIT_FAULT (or
 * TARGET_EXIT_DOUBLE_FAULT for #DF). */
__attribute__((noreturn)) void trap_fatal(const struct trap_frame *tf);

/* Entry points of the 256 stubs (trap_entry.S), for idt.c. */
extern const uint64_t trap_stub_table[TRAP_NR_VECTORS];

/* probe.S: read or write one byte at va; a #PF or #GP on that access is caught and
 * reported as -1 instead of being fatal. Return the byte (0..255) / 0 on success. */
int probe_read_u8(uint64_t va);
int probe_write_u8(uint64_t va, uint8_t value);

/* Used by trap_dispatch: redirects a fault inside a probe to its failure path. */
bool probe_fixup(struct trap_frame *tf);
#endif

#endif
