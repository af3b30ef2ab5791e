/* SPDX-License-Identifier: MIT */
/* selftest_asm.S - a trap-path check using xmm0 (C cannot under -mgeneral-regs-only). */
	.section .note.GNU-stack, "", @progbits

	.text
	.code64

/*
 * uint64_t selftest_fault_roundtrip(uint64_t va, const void *xmm_in, void *xmm_out)
 *
 * Loads xmm0 from xmm_in, sets rax = 0x1111 and r8 = the resume address, then reads va,
 * which must fault. The #PF handler is expected to change rax and the xmm0 image in the
 * frame and to resume at r8. Stores xmm0 to xmm_out and returns rax. (movdqu rather than
 * movq: the software-KVM instruction emulator on this host implements the former.)
 */
	.globl	selftest_fault_roundtrip
selftest_fault_roundtrip:
	movdqu	(%rsi), %xmm0
	mov	$0x1111, %eax
	lea	1f(%rip), %r8
	movb	(%rdi), %al
	mov	$0x3333, %eax		/* skipped when the handler resumes at r8 */
1:	movdqu	%xmm0, (%rdx)
	ret
