/* SPDX-License-Identifier: MIT */
/* idt.h - the interrupt descriptor table: all 256 vectors lead to trap_entry.S's stubs. */
#ifndef VMKD_TARGET_IDT_H
#define VMKD_TARGET_IDT_H

void idt_init(void);

#endif
