/* SPDX-License-Identifier: MIT */
/* trap_entry.S - IDT entry stubs: build a struct trap_frame, call trap_dispatch, iretq. */
#include "trap.h"

	.section .note.GNU-stack, "", @progbits

	.text
	.code64

/* One stub per vector. Vectors where the CPU pushes an error code: 8, 10-14, 17, 21, 29,
 * 30; the others push a 0 so every frame has the same layout. */
.macro trap_stub vec
	.balign 16
trap_stub_\vec:
	.if (\vec == 8) || ((\vec >= 10) && (\vec <= 14)) || (\vec == 17) || (\vec == 21) || \
		(\vec == 29) || (\vec == 30)
	.else
	pushq	$0
	.endif
	pushq	$\vec
	jmp	trap_common
.endm

.macro trap_stub_addr vec
	.quad	trap_stub_\vec
.endm

	.altmacro
	.set	vec, 0
	.rept	TRAP_NR_VECTORS
	trap_stub %vec
	.set	vec, vec + 1
	.endr
	.noaltmacro

/* The CPU aligned RSP to 16 before pushing its 40-byte frame; with the error code and the
 * vector that is 56 bytes, so after 15 GPRs (120) we are back on a 16-byte boundary and the
 * layout below (see TF_* in trap.h) keeps the FXSAVE area 16-byte aligned. */
	.balign 16
trap_common:
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	pushq	%rbx
	pushq	%rbp
	pushq	%rsi
	pushq	%rdi
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	mov	%ds, %eax
	pushq	%rax
	mov	%es, %eax
	pushq	%rax
	mov	%fs, %eax
	pushq	%rax
	mov	%gs, %eax
	pushq	%rax
	pushq	$0			/* pad */
	mov	%cr2, %rax
	pushq	%rax
	sub	$512, %rsp
	fxsave64 (%rsp)

	mov	%rsp, %rdi
	cld				/* the C ABI wants DF=0; the interrupted code may not */
	call	trap_dispatch

	fxrstor64 (%rsp)
	add	$(TF_R15 - TF_FXSAVE), %rsp	/* FXSAVE area, cr2, pad, selectors */
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rdi
	popq	%rsi
	popq	%rbp
	popq	%rbx
	popq	%rdx
	popq	%rcx
	popq	%rax
	add	$16, %rsp		/* vector, error code */
	iretq

	.section .rodata
	.balign 8
	.globl	trap_stub_table
trap_stub_table:
	.altmacro
	.set	vec, 0
	.rept	TRAP_NR_VECTORS
	trap_stub_addr %vec
	.set	vec, vec + 1
	.endr
	.noaltmacro
