/* SPDX-License-Identifier: MIT */
/* probe.S - memory and MSR accesses that survive a #PF/#GP (the trap handler redirects). */
#include "trap.h"

	.section .note.GNU-stack, "", @progbits

	.text
	.code64

/* int probe_read_u8(uint64_t va): the byte, or -1 if the access faulted. */
	.globl	probe_read_u8
probe_read_u8:
	xor	%eax, %eax
probe_read_insn:
	movb	(%rdi), %al
	ret
probe_read_fail:
	mov	$-1, %eax
	ret

/* int probe_write_u8(uint64_t va, uint8_t value): 0, or -1 if the access faulted. */
	.globl	probe_write_u8
probe_write_u8:
probe_write_insn:
	movb	%sil, (%rdi)
	xor	%eax, %eax
	ret
probe_write_fail:
	mov	$-1, %eax
	ret

/* int rdmsr_safe(uint32_t msr, uint64_t *value): 0, or -1 if RDMSR raised #GP (no such MSR). */
	.globl	rdmsr_safe
rdmsr_safe:
	mov	%edi, %ecx
rdmsr_insn:
	rdmsr
	shl	$32, %rdx
	or	%rdx, %rax
	mov	%rax, (%rsi)
	xor	%eax, %eax
	ret
rdmsr_fail:
	mov	$-1, %eax
	ret

/* int wrmsr_safe(uint32_t msr, uint64_t value): 0, or -1 if WRMSR raised #GP. */
	.globl	wrmsr_safe
wrmsr_safe:
	mov	%edi, %ecx
	mov	%esi, %eax
	mov	%rsi, %rdx
	shr	$32, %rdx
wrmsr_insn:
	wrmsr
	xor	%eax, %eax
	ret
wrmsr_fail:
	mov	$-1, %eax
	ret

/* Fault site -> resume address, read by probe_fixup in trap.c. */
	.section .rodata
	.balign 8
	.globl	probe_fixups
probe_fixups:
	.quad	probe_read_insn, probe_read_fail
	.quad	probe_write_insn, probe_write_fail
	.quad	rdmsr_insn, rdmsr_fail
	.quad	wrmsr_insn, wrmsr_fail
	.quad	0, 0
