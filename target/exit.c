/* SPDX-License-Identifier: MIT */
/* exit.c - isa-debug-exit and panic. */
#include <stdarg.h>
#include <stdint.h>

#include "console.h"
#include "cpu.h"
#include "exit.h"
#include "layout.h"
#include "uart.h"

void target_exit(unsigned code)
{
	static const struct desc_ptr no_idt = { 0, 0 };

	uart_flush(console_port());
	outl(DEBUG_EXIT_PORT, code);
	/* Still here: no isa-debug-exit device. A fault with an empty IDT escalates to a triple
	 * fault, i.e. a reset, and QEMU started with -no-reboot then exits. (A #GP from a
	 * non-canonical read rather than int3: this host's KVM cannot emulate int3 in ring 0.) */
	irq_disable();
	lidt(&no_idt);
	(void)*(volatile uint8_t *)(uintptr_t)0x8000000000000000ull;
	for (;;)
		halt();
}

void panic(const char *fmt, ...)
{
	va_list ap;

	kprintf("\nvmkd-target: PANIC: ");
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
	target_exit(TARGET_EXIT_PANIC);
}
