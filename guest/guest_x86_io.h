/* SPDX-License-Identifier: MIT */
/*
 * guest_x86_io.h - the port I/O half of struct guest_platform on x86, for every guest that
 * runs the transport on bare metal (kdvm.dll, the test kernel's echo workload, the smoke
 * VM). Freestanding; works in 32- and 64-bit code.
 */
#ifndef VMKD_GUEST_X86_IO_H
#define VMKD_GUEST_X86_IO_H

#include <stdint.h>

#include "guest_platform.h"

static uint8_t guest_x86_inb(void *ctx, uint16_t port)
{
	uint8_t v;

	(void)ctx;
	__asm__ __volatile__("inb %w1, %b0" : "=a"(v) : "Nd"(port));
	return v;
}

static uint16_t guest_x86_inw(void *ctx, uint16_t port)
{
	uint16_t v;

	(void)ctx;
	__asm__ __volatile__("inw %w1, %w0" : "=a"(v) : "Nd"(port));
	return v;
}

static uint32_t guest_x86_inl(void *ctx, uint16_t port)
{
	uint32_t v;

	(void)ctx;
	__asm__ __volatile__("inl %w1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void guest_x86_outb(void *ctx, uint16_t port, uint8_t v)
{
	(void)ctx;
	__asm__ __volatile__("outb %b0, %w1" : : "a"(v), "Nd"(port));
}

static void guest_x86_outw(void *ctx, uint16_t port, uint16_t v)
{
	(void)ctx;
	__asm__ __volatile__("outw %w0, %w1" : : "a"(v), "Nd"(port));
}

static void guest_x86_outl(void *ctx, uint16_t port, uint32_t v)
{
	(void)ctx;
	__asm__ __volatile__("outl %0, %w1" : : "a"(v), "Nd"(port));
}

/* Fills the six port I/O members of plat with real in/out instructions. */
static inline void guest_platform_use_x86_io(struct guest_platform *plat)
{
	plat->inb = guest_x86_inb;
	plat->inw = guest_x86_inw;
	plat->inl = guest_x86_inl;
	plat->outb = guest_x86_outb;
	plat->outw = guest_x86_outw;
	plat->outl = guest_x86_outl;
}

#endif
