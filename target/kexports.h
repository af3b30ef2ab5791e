/* SPDX-License-Identifier: MIT */
/*
 * kexports.h - what this kernel exports to a loaded DLL, under the names and with the
 * calling convention of ntoskrnl.exe and hal.dll: the symbol table pe_load binds kdvm.dll's
 * imports from. The functions are Windows x64 (ms_abi) because the DLL calls them.
 */
#ifndef VMKD_TARGET_KEXPORTS_H
#define VMKD_TARGET_KEXPORTS_H

#include <stddef.h>
#include <stdint.h>

#include "pe_loader.h"

#define KEXPORT __attribute__((ms_abi))

/* ntoskrnl.exe: the physical address behind va (walks the live page tables), 0 when
 * va is not mapped, as Windows returns. PHYSICAL_ADDRESS comes back in RAX. */
KEXPORT uint64_t MmGetPhysicalAddress(void *va);

/* ntoskrnl.exe: maps len bytes of device memory at physical pa (uncached) into a window of
 * its own and returns the address, or NULL. PHYSICAL_ADDRESS is passed by value (RCX).
 * Panics in phase 0, where Windows' Mm is not up (docs/windows.md section 6). */
KEXPORT void *MmMapIoSpace(uint64_t pa, size_t len, int cache_type);

/* hal.dll: busy-wait at least us microseconds. */
KEXPORT void KeStallExecutionProcessor(uint32_t us);

/* hal.dll: the TSC as the performance counter; its frequency to *frequency if not NULL.
 * LARGE_INTEGER (8 bytes) comes back in RAX. */
KEXPORT int64_t KeQueryPerformanceCounter(int64_t *frequency);

/*
 * Which services a transport may call now (docs/windows.md, "Boot phases", "Crash path"):
 * in phase 0 the HAL's counter is not up (KeQueryPerformanceCounter panics the kernel),
 * after phase 1 everything works, and after a (simulated) bug check every function export
 * panics: the system behind them is gone. A panic names the service and the phase.
 */
enum kexports_phase {
	KEXPORTS_PHASE0,
	KEXPORTS_PHASE1,
	KEXPORTS_CRASHED,
};
void kexports_set_phase(enum kexports_phase phase);

/* The table pe_load binds imports from: one entry per exported symbol. */
extern const struct pe_symbol kexports[];
extern const size_t kexports_count;

#endif
