/* SPDX-License-Identifier: MIT */
/* The ntoskrnl.exe / hal.dll exports a loaded transport DLL may import. */
#include "kexports.h"

#include "cpu.h"
#include "exit.h"
#include "kd_kernel.h"
#include "paging.h"
#include "timer.h"

static enum kexports_phase kexports_phase = KEXPORTS_PHASE1;

static const char *const phase_names[] = {
	[KEXPORTS_PHASE0] = "phase 0 (before HalInitSystem)",
	[KEXPORTS_PHASE1] = "phase 1",
	[KEXPORTS_CRASHED] = "the bug check",
};

void kexports_set_phase(enum kexports_phase phase)
{
	kexports_phase = phase;
}

/* A service the DLL must not call now: fail loudly (the test sees the panic). */
static void not_now(const char *name, enum kexports_phase unsafe_from)
{
	if (kexports_phase == KEXPORTS_CRASHED ||
	    (unsafe_from == KEXPORTS_PHASE0 && kexports_phase == KEXPORTS_PHASE0))
		panic("kdvm.dll called %s in %s, where it is not safe", name,
		      phase_names[kexports_phase]);
}

KEXPORT uint64_t MmGetPhysicalAddress(void *va)
{
	uint64_t pa;

	not_now("MmGetPhysicalAddress", KEXPORTS_CRASHED);
	if (paging_translate((uint64_t)(uintptr_t)va, &pa, NULL) != PAGING_OK)
		return 0;
	return pa;
}

KEXPORT void KeStallExecutionProcessor(uint32_t us)
{
	not_now("KeStallExecutionProcessor", KEXPORTS_CRASHED);
	udelay(us);
}

KEXPORT int64_t KeQueryPerformanceCounter(int64_t *frequency)
{
	not_now("KeQueryPerformanceCounter", KEXPORTS_PHASE0);
	if (frequency)
		*frequency = (int64_t)tsc_hz();
	return (int64_t)rdtsc();
}

/* Device memory for MmMapIoSpace: its own window above the physmap, uncached, never freed
 * (kdvm.dll maps the ivshmem BARs once, in phase 1). */
#define IO_MAP_BASE  (KERNEL_VIRT_BASE + ULL(0x8000000000))
#define IO_MAP_SIZE  ULL(0x10000000)

KEXPORT void *MmMapIoSpace(uint64_t pa, size_t len, int cache_type)
{
	static uint64_t next = IO_MAP_BASE;
	uint64_t off = pa & (PAGE_SIZE - 1), base = pa - off, va;
	uint64_t span = (off + len + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);

	/* Windows documents it for IRQL <= DISPATCH_LEVEL once Mm is up: not in phase 0. */
	not_now("MmMapIoSpace", KEXPORTS_PHASE0);
	(void)cache_type; /* always uncached here (MmNonCached is what kdvm.dll asks for) */
	if (!len || span > IO_MAP_BASE + IO_MAP_SIZE - next)
		return NULL;
	va = next;
	if (paging_map_range(va, base, span, PTE_W | PTE_PCD | PTE_PWT | PTE_NX) != PAGING_OK)
		return NULL;
	next += span;
	return (void *)(uintptr_t)(va + off);
}

#define FUNC(dll, sym) { dll, #sym, (uint64_t)(uintptr_t)sym, 0 }
#define DATA(dll, sym) { dll, #sym, (uint64_t)(uintptr_t)&sym, 1 }

/* Add a line here when a DLL needs another import (the loader names what is missing). */
const struct pe_symbol kexports[] = {
	FUNC("ntoskrnl.exe", MmGetPhysicalAddress),
	FUNC("ntoskrnl.exe", MmMapIoSpace),
	DATA("ntoskrnl.exe", KdDebuggerNotPresent),
	FUNC("hal.dll", KeStallExecutionProcessor),
	FUNC("hal.dll", KeQueryPerformanceCounter),
};

const size_t kexports_count = sizeof(kexports) / sizeof(kexports[0]);
