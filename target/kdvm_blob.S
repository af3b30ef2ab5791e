/* SPDX-License-Identifier: MIT */
/*
 * kdvm_blob.S - kdvm.dll, byte for byte as users install it, inside the kernel image.
 * target.mk passes its path as KDVM_DLL_PATH when guest/guest.mk builds it; otherwise the
 * blob is empty (kdvm_dll_end == kdvm_dll_start) and debugport=vm falls back to serial.
 * Read-only here: target/kd_kdvm.c maps a copy with the PE loader.
 */
	.section .note.GNU-stack, "", @progbits

	.section .rodata.kdvm_dll, "a"
	.balign	16
	.globl	kdvm_dll_start
	.globl	kdvm_dll_end
kdvm_dll_start:
#ifdef KDVM_DLL_PATH
	.incbin	KDVM_DLL_PATH
#endif
kdvm_dll_end:
