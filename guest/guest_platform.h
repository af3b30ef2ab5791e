/* SPDX-License-Identifier: MIT */
/*
 * guest_platform.h - what the environment gives the guest transport: port I/O, virtual to
 * physical translation and a clock. The DLL fills it with in/out instructions,
 * MmGetPhysicalAddress and KeQueryPerformanceCounter; the host unit tests with a fake
 * device. Freestanding.
 */
#ifndef VMKD_GUEST_PLATFORM_H
#define VMKD_GUEST_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

struct guest_platform {
	void *ctx;
	uint8_t (*inb)(void *ctx, uint16_t port);
	uint16_t (*inw)(void *ctx, uint16_t port);
	uint32_t (*inl)(void *ctx, uint16_t port);
	void (*outb)(void *ctx, uint16_t port, uint8_t v);
	void (*outw)(void *ctx, uint16_t port, uint16_t v);
	void (*outl)(void *ctx, uint16_t port, uint32_t v);
	/* 0 and *pa for a mapped address, -1 otherwise. */
	int (*virt_to_phys)(void *ctx, const void *va, uint64_t *pa);
	/* A monotonic counter and its rate. ticks_per_sec == 0 means "no clock": waits are
	 * then bounded by poll counts alone (assuming at least 1 us per poll). */
	uint64_t (*now)(void *ctx);
	uint64_t ticks_per_sec;
	/* Maps len bytes of device memory at physical pa (uncached) and returns the address,
	 * or NULL. Optional: NULL member means "no MMIO devices" (the ivshmem backend needs
	 * it, virtio-serial does not). */
	void *(*map_io)(void *ctx, uint64_t pa, size_t len);
	/* Polls between two clock reads (0 = 64): the clock may itself cost a VM exit
	 * (HPET, ACPI PM timer), so wait loops read it rarely. */
	uint32_t clock_every;
};

#endif
