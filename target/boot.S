/* SPDX-License-Identifier: MIT */
/*
 * boot.S - multiboot v1 entry: 32-bit protected mode -> long mode -> kmain at the high
 * kernel address.
 *
 * QEMU's -kernel refuses 64-bit ELF files, so the image is a flat binary with the multiboot
 * "a.out kludge" header: the loader copies it to KERNEL_PHYS_BASE, zeroes the bss, and jumps
 * to the physical address of _start with EAX = magic, EBX = info, paging off.
 *
 * All of the kernel is linked at KERNEL_VIRT_BASE + physical. The 32-bit code below runs
 * before paging, so every absolute address it uses goes through V2P(); jumps and calls in
 * it are relative and need no care.
 */
#include "cpu_bits.h"
#include "layout.h"
#include "multiboot.h"

	.section .note.GNU-stack, "", @progbits

#define MB_FLAGS (MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO | MULTIBOOT_AOUT_KLUDGE)

#define PML4_SLOT_KERNEL ((KERNEL_VIRT_BASE >> 39) & 511)
#define PDPT_SLOT_KERNEL ((KERNEL_VIRT_BASE >> 30) & 511)
#define BOOT_PDE_FLAGS   (PTE_P | PTE_W | PTE_PS)
#define BOOT_TABLE_FLAGS (PTE_P | PTE_W)

/* ---- multiboot header (first page of the image, after the PE header) ---------------- */
	.section .head.multiboot, "a"
	.balign 16
multiboot_header:
	.long	MULTIBOOT_HEADER_MAGIC
	.long	MB_FLAGS
	.long	-(MULTIBOOT_HEADER_MAGIC + MB_FLAGS)
	.long	V2P(multiboot_header)	/* header_addr */
	.long	__image_phys_start	/* load_addr */
	.long	__load_phys_end		/* load_end_addr */
	.long	__bss_phys_end		/* bss_end_addr: the loader zeroes up to here */
	.long	V2P(_start)		/* entry_addr */

/* ---- 32-bit entry ------------------------------------------------------------------ */
	.section .text.boot, "ax"
	.code32
	.globl	_start
_start:
	cli
	cld
	mov	$V2P(boot_stack_top), %esp
	mov	%eax, %esi		/* keep magic and info pointer for kmain */
	mov	%ebx, %edi
	rdtsc				/* kernel start time, for the banner's init= */
	mov	%eax, V2P(boot_tsc)
	mov	%edx, V2P(boot_tsc) + 4

	cmp	$MULTIBOOT_BOOTLOADER_MAGIC, %esi
	jne	no_multiboot

	/* Long mode needs CPUID 0x80000001 EDX.LM; remember EDX.NX for EFER.NXE. */
	mov	$0x80000000, %eax
	cpuid
	cmp	$0x80000001, %eax
	jb	no_long_mode
	mov	$0x80000001, %eax
	cpuid
	test	$CPUID_EXT_LM, %edx
	jz	no_long_mode
	mov	%edx, %ebp

	/*
	 * Page tables (zeroed by the loader): PML4[0] -> identity PDPT -> identity PD, and
	 * PML4[496] -> kernel PDPT -> kernel PD; both PDs map physical 0..1 GiB with 2 MiB
	 * pages. Separate PDs so the two views can later diverge (paging_init trims the
	 * kernel view to RAM and carves guard pages).
	 */
	movl	$(V2P(boot_pdpt_ident) + BOOT_TABLE_FLAGS), V2P(boot_pml4)
	movl	$(V2P(boot_pdpt_kernel) + BOOT_TABLE_FLAGS), \
		V2P(boot_pml4) + PML4_SLOT_KERNEL * 8
	movl	$(V2P(boot_pd_ident) + BOOT_TABLE_FLAGS), V2P(boot_pdpt_ident)
	movl	$(V2P(boot_pd_kernel) + BOOT_TABLE_FLAGS), \
		V2P(boot_pdpt_kernel) + PDPT_SLOT_KERNEL * 8
	xor	%ecx, %ecx
1:	mov	%ecx, %eax
	shl	$21, %eax
	or	$BOOT_PDE_FLAGS, %eax
	mov	%eax, V2P(boot_pd_ident)(, %ecx, 8)
	mov	%eax, V2P(boot_pd_kernel)(, %ecx, 8)
	inc	%ecx
	cmp	$512, %ecx
	jb	1b

	/* PAE + SSE state (FXSAVE in the trap path works from the first trap on). */
	mov	%cr4, %eax
	or	$(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	mov	%eax, %cr4
	mov	$V2P(boot_pml4), %eax
	mov	%eax, %cr3

	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	test	$CPUID_EXT_NX, %ebp
	jz	2f
	or	$EFER_NXE, %eax
2:	wrmsr

	/* Paging on (-> long mode, compatibility submode), WP so read-only pages hold in
	 * ring 0 too, x87/SSE native (EM=0, MP=1, NE=1). */
	mov	%cr0, %eax
	and	$~(CR0_EM | CR0_TS), %eax
	or	$(CR0_PG | CR0_WP | CR0_MP | CR0_NE | CR0_PE), %eax
	mov	%eax, %cr0

	lgdt	V2P(boot_gdt_ptr)
	ljmp	$KGDT64_R0_CODE, $V2P(long_mode_low)

/* Early failure: say so on both COM ports (the console is not known yet), then exit. */
no_multiboot:
	mov	$V2P(msg_no_multiboot), %ebx
	jmp	early_fail
no_long_mode:
	mov	$V2P(msg_no_long_mode), %ebx
early_fail:
	mov	%ebx, %esi
	mov	$0x3f8, %dx
	call	early_puts
	mov	$0x2f8, %dx
	call	early_puts
	mov	$DEBUG_EXIT_PORT, %dx
	mov	$TARGET_EXIT_BOOT, %eax
	outl	%eax, %dx
3:	hlt
	jmp	3b

/* Writes the NUL-terminated string at %ebx to the UART at %dx (no status polling: QEMU's
 * UART takes bytes at any rate). */
early_puts:
	mov	%ebx, %esi
4:	lodsb
	test	%al, %al
	jz	5f
	outb	%al, %dx
	jmp	4b
5:	ret

	.code64
long_mode_low:
	/* Running 64-bit code at its physical address (identity map). Load data selectors,
	 * then jump to the high alias where everything is linked. */
	mov	$KGDT64_R0_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	xor	%eax, %eax
	mov	%eax, %fs
	mov	%eax, %gs
	movabs	$long_mode_high, %rax
	jmp	*%rax

	.text
long_mode_high:
	lea	boot_stack_top(%rip), %rsp
	xor	%ebp, %ebp		/* ends frame-pointer backtraces */
	/* kmain(magic, info). 32-bit moves also clear the upper halves, which are undefined
	 * after the switch from 32-bit mode. */
	mov	%esi, %eax
	mov	%edi, %esi
	mov	%eax, %edi
	call	kmain
6:	cli
	hlt
	jmp	6b

	.section .rodata
	.balign 8
boot_gdt:
	.quad	0
	.quad	0
	.quad	0x00af9b000000ffff	/* 0x10: 64-bit ring-0 code */
	.quad	0x00cf93000000ffff	/* 0x18: ring-0 data */
boot_gdt_end:
boot_gdt_ptr:
	.short	boot_gdt_end - boot_gdt - 1
	.long	V2P(boot_gdt)

msg_no_multiboot:
	.asciz	"vmkd-target: not started by a multiboot loader\r\n"
msg_no_long_mode:
	.asciz	"vmkd-target: this CPU has no long mode\r\n"

	.section .bss
	.balign	8
	.globl	boot_tsc
boot_tsc:		.skip	8	/* TSC at _start */

/* ---- page tables and the boot stack (zeroed by the loader) ------------------------- */
	.section .bss.page_aligned, "aw", @nobits
	.balign	PAGE_SIZE
	.globl	boot_pml4
boot_pml4:		.skip	PAGE_SIZE
boot_pdpt_ident:	.skip	PAGE_SIZE
boot_pdpt_kernel:	.skip	PAGE_SIZE
boot_pd_ident:		.skip	PAGE_SIZE
boot_pd_kernel:		.skip	PAGE_SIZE
	.globl	boot_stack_guard
boot_stack_guard:	.skip	PAGE_SIZE	/* unmapped by paging_init */
boot_stack_bottom:	.skip	KERNEL_STACK_SIZE
	.globl	boot_stack_top
boot_stack_top:
