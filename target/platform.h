/* SPDX-License-Identifier: MIT */
/*
 * platform.h - everything the test kernel's platform layer offers the KD core, in one
 * include, plus the boot-time facts kmain collected.
 */
#ifndef VMKD_TARGET_PLATFORM_H
#define VMKD_TARGET_PLATFORM_H

#include <stdint.h>

#include "cmdline.h"
#include "console.h"
#include "cpu.h"
#include "exit.h"
#include "gdt.h"
#include "kd_hooks.h"
#include "layout.h"
#include "multiboot.h"
#include "paging.h"
#include "pmm.h"
#include "timer.h"
#include "trap.h"
#include "uart.h"

/* The COM port for the KD serial transport (COM1 unless the command line says
 * kdport=com2) and the console port (always the other one). Both are initialised at
 * 115200 8N1 by kmain; call uart_init again for another speed. */
uint16_t platform_kd_port(void);
uint16_t platform_console_port(void);

/* What the loader told us (memory map, loader name). */
const struct boot_info *platform_boot_info(void);

/* Entry from boot.S. */
void kmain(uint32_t magic, uint32_t mbi_phys);

#endif
