/* SPDX-License-Identifier: MIT */
/*
 * gdt.h - the GDT (Windows x64 selector numbering, see layout.h) and the TSS with its
 * interrupt stacks. After gdt_init: CS=0x10, SS=0x18, DS=ES=GS=0x2B, FS=0x53, TR=0x40, as in
 * a Windows kernel-mode CONTEXT. GS base is 0 until someone (the KD core, for a KPCR)
 * writes MSR_GS_BASE.
 */
#ifndef VMKD_TARGET_GDT_H
#define VMKD_TARGET_GDT_H

#include <stdint.h>

void gdt_init(void);

/* Top of interrupt stack n (1..3: IST_DOUBLE_FAULT, IST_NMI, IST_MACHINE_CHECK). */
uint64_t gdt_ist_top(unsigned n);

#endif
