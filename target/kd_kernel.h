/* SPDX-License-Identifier: MIT */
/* kd_kernel.h - symbols of the test kernel's KD glue that other code (and the tests, through
 * the addresses announced at boot) refer to. */
#ifndef VMKD_TARGET_KD_KERNEL_H
#define VMKD_TARGET_KD_KERNEL_H

#include <stdint.h>

/* ntoskrnl's KdDebuggerNotPresent: set by the transport when no debugger answers. */
extern volatile uint8_t KdDebuggerNotPresent;

/* Set to nonzero (e.g. by the debugger with `ed`) to end the running workload. */
extern volatile uint32_t vmkd_stop_request;
extern volatile uint64_t vmkd_workload_calls;

/* The loop workload's call target: the tests put a breakpoint on it. */
uint64_t vmkd_workload_function(uint64_t i);

/* Windows' break-in routine: an int3 (status in ecx) the debugger steps over. */
void DbgBreakPointWithStatus(uint32_t status);

#endif
