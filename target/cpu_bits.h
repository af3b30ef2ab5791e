/* SPDX-License-Identifier: MIT */
/* cpu_bits.h - architectural register bits, MSR numbers and page-table entry flags (C and asm). */
#ifndef VMKD_TARGET_CPU_BITS_H
#define VMKD_TARGET_CPU_BITS_H

#include "layout.h" /* ULL() */

#define CR0_PE          ULL(0x1)
#define CR0_MP          ULL(0x2)
#define CR0_EM          ULL(0x4)
#define CR0_TS          ULL(0x8)
#define CR0_NE          ULL(0x20)
#define CR0_WP          ULL(0x10000)
#define CR0_PG          ULL(0x80000000)
#define CR4_PAE         ULL(0x20)
#define CR4_PGE         ULL(0x80)
#define CR4_OSFXSR      ULL(0x200)
#define CR4_OSXMMEXCPT  ULL(0x400)

#define MSR_EFER        0xc0000080
#define MSR_FS_BASE     0xc0000100
#define MSR_GS_BASE     0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define EFER_LME        ULL(0x100)
#define EFER_LMA        ULL(0x400)
#define EFER_NXE        ULL(0x800)

#define RFLAGS_TF       ULL(0x100)
#define RFLAGS_IF       ULL(0x200)
#define RFLAGS_RF       ULL(0x10000)
#define DR6_BS          ULL(0x4000) /* DR6: the #DB was a single step */

#define CPUID_EXT_NX    0x00100000  /* CPUID 0x80000001 EDX bit 20 */
#define CPUID_EXT_LM    0x20000000  /* CPUID 0x80000001 EDX bit 29 */

/* Page-table entries (all levels; PS only in PDPT/PD entries). */
#define PTE_P           ULL(0x1)
#define PTE_W           ULL(0x2)
#define PTE_U           ULL(0x4)
#define PTE_PWT         ULL(0x8)
#define PTE_PCD         ULL(0x10)
#define PTE_A           ULL(0x20)
#define PTE_D           ULL(0x40)
#define PTE_PS          ULL(0x80)
#define PTE_G           ULL(0x100)
#define PTE_NX          ULL(0x8000000000000000)
#define PTE_ADDR_MASK   ULL(0x000ffffffffff000)

#endif
