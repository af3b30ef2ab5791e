/* SPDX-License-Identifier: MIT */
/* pic.h - the legacy 8259 interrupt controllers, kept out of the way. */
#ifndef VMKD_TARGET_PIC_H
#define VMKD_TARGET_PIC_H

/* Moves IRQs 0-15 to vectors 0x20-0x2f (away from the exceptions) and masks them all. The
 * kernel runs with IF=0 and polls; this only makes a stray IRQ harmless. */
void pic_disable(void);

#endif
