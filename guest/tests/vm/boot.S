/* SPDX-License-Identifier: MIT */
/* boot.S - multiboot v1 entry of the virtio-serial smoke kernel: 32-bit protected mode,
 * paging off (virtual = physical), a stack, then vm_main(). */
	.set MB_MAGIC, 0x1BADB002
	.set MB_FLAGS, 0x00000003
	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.text
	.globl _start
_start:
	mov $stack_top, %esp
	call vm_main
1:	hlt
	jmp 1b

	.bss
	.align 16
stack:
	.skip 65536
stack_top:
	.section .note.GNU-stack, "", @progbits
