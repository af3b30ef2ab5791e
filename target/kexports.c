/* SPDX-License-Identifier: MIT */
/* The ntoskrnl.exe / hal.dll exports a loaded transport DLL may import. */
#include "kexports.h"

#include "cpu.h"
#include "kd_kernel.h"
#include "paging.h"
#include "timer.h"

KEXPORT uint64_t MmGetPhysicalAddress(void *va)
{
	uint64_t pa;

	if (paging_translate((uint64_t)(uintptr_t)va, &pa, NULL) != PAGING_OK)
		return 0;
	return pa;
}

KEXPORT void KeStallExecutionProcessor(uint32_t us)
{
	udelay(us);
}

KEXPORT int64_t KeQueryPerformanceCounter(int64_t *frequency)
{
	if (frequency)
		*frequency = (int64_t)tsc_hz();
	return (int64_t)rdtsc();
}

#define FUNC(dll, sym) { dll, #sym, (uint64_t)(uintptr_t)sym, 0 }
#define DATA(dll, sym) { dll, #sym, (uint64_t)(uintptr_t)&sym, 1 }

/* Add a line here when a DLL needs another import (the loader names what is missing). */
const struct pe_symbol kexports[] = {
	FUNC("ntoskrnl.exe", MmGetPhysicalAddress),
	DATA("ntoskrnl.exe", KdDebuggerNotPresent),
	FUNC("hal.dll", KeStallExecutionProcessor),
	FUNC("hal.dll", KeQueryPerformanceCounter),
};

const size_t kexports_count = sizeof(kexports) / sizeof(kexports[0]);
