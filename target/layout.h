/* SPDX-License-Identifier: MIT */
/*
 * layout.h - where the test kernel lives: load and link addresses, selectors, stack sizes.
 * Shared by C and assembly, so only plain #defines.
 *
 * Physical: the image is loaded at KERNEL_PHYS_BASE (2 MiB) by QEMU's multiboot loader.
 * Virtual: 0..1 GiB is identity mapped; the kernel runs at KERNEL_VIRT_BASE + physical, a
 * Windows-like "KSEG" alias of all RAM, so KernBase = 0xfffff80000200000 (2 MiB aligned,
 * like ntoskrnl's large-page base).
 */
#ifndef VMKD_TARGET_LAYOUT_H
#define VMKD_TARGET_LAYOUT_H

#ifdef __ASSEMBLER__
#define ULL(x) x
#else
#define ULL(x) x##ull
#endif

#define KERNEL_VIRT_BASE   ULL(0xfffff80000000000) /* physmap: virt = phys + this */
#define KERNEL_PHYS_BASE   0x200000                /* load address of the image */
#define KERNEL_BASE        (KERNEL_VIRT_BASE + KERNEL_PHYS_BASE) /* "KernBase" */

#define V2P(x)             ((x) - KERNEL_VIRT_BASE) /* kernel-image / physmap address to physical */

#define IDENTITY_MAP_SIZE  ULL(0x40000000)          /* boot identity map: 0..1 GiB, 2 MiB pages */
#define PHYSMAP_MAX        ULL(0x40000000)          /* the high alias covers at most 1 GiB of RAM */

#define PAGE_SIZE          4096
#define LARGE_PAGE_SIZE    0x200000

/* GDT selectors, numbered like Windows' KGDT64_* so CONTEXT.SegCs/SegSs look familiar. */
#define KGDT64_R0_CODE     0x10
#define KGDT64_R0_DATA     0x18
#define KGDT64_R3_CMCODE   0x20
#define KGDT64_R3_DATA     0x28
#define KGDT64_R3_CODE     0x30
#define KGDT64_SYS_TSS     0x40
#define KGDT64_R3_CMTEB    0x50
#define GDT_ENTRIES        11      /* 0x00..0x50, the TSS takes two slots */

/* Stacks (all in .bss, see boot.S and gdt.c). */
#define KERNEL_STACK_SIZE  0x10000 /* 64 KiB; an unmapped guard page sits below it */
#define IST_STACK_SIZE     0x4000  /* #DF, NMI, #MC each get their own */
#define IST_DOUBLE_FAULT   1
#define IST_NMI            2
#define IST_MACHINE_CHECK  3

/* A known test region for the KD core (memory reads across a hole): this many mapped pages
 * followed by one page that is deliberately not mapped at its virtual address. */
#define TEST_REGION_PAGES  4

/* isa-debug-exit (QEMU: -device isa-debug-exit,iobase=0xf4,iosize=4). */
#define DEBUG_EXIT_PORT    0xf4

/* Codes passed to target_exit(); QEMU exits with (code << 1) | 1, qemu-target.sh maps it back. */
#define TARGET_EXIT_OK            0
#define TARGET_EXIT_FAIL          1 /* a check failed (self-test) */
#define TARGET_EXIT_PANIC         2 /* panic() */
#define TARGET_EXIT_FAULT         3 /* unexpected exception or interrupt */
#define TARGET_EXIT_DOUBLE_FAULT  4
#define TARGET_EXIT_BOOT          5 /* 32-bit entry: no multiboot magic or no long mode */
/* The KD core may use 16..99; qemu-target.sh reserves 100 and up for its own outcomes. */

#endif
