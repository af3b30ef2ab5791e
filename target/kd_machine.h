/* SPDX-License-Identifier: MIT */
/*
 * kd_machine.h - the test kernel as the KD target core sees it: kd_platform_ops over the
 * live page tables, MSRs and special registers, the Windows-shaped data a debugger reads
 * first (KDDEBUGGER_DATA64, PsLoadedModuleList, KPCR/KPRCB/KTHREAD), and the conversion
 * between a trap frame and an AMD64 CONTEXT.
 */
#ifndef VMKD_TARGET_KD_MACHINE_H
#define VMKD_TARGET_KD_MACHINE_H

#include <stdint.h>

#include "kd_target.h"
#include "trap.h"

/* Takes a struct kd_machine_debug_regs * as the platform context (kd_target_init). */
extern const struct kd_platform_ops kd_machine_ops;

/*
 * The debug registers while the debugger has the CPU. Windows keeps what a debugger
 * writes (KSPECIAL_REGISTERS, Continue2's Dr7, a CONTEXT's Dr0-7) in the PRCB's saved
 * processor state and loads it when the debugger returns. Loaded at once, a watchpoint
 * or instruction breakpoint is live while the debugger's own code still runs: a hit
 * there re-enters the debugger in the middle of a stop, and the nested stop overwrites
 * the stopped CPU's CONTEXT. So on entry the CPU's values are held here and Dr7 is
 * cleared; reads and writes of the special registers go to the held copy until release
 * loads it into the CPU.
 */
struct kd_machine_debug_regs {
	int held;
	uint64_t dr[4];
	uint64_t dr6, dr7;
};

void kd_machine_hold_debug_regs(struct kd_machine_debug_regs *d);
void kd_machine_release_debug_regs(struct kd_machine_debug_regs *d);

/* Builds the debugger data block, the module list and the processor blocks, points
 * MSR_GS_BASE at the KPCR (as Windows does) and fills *info for GetVersion. build is the
 * Windows build number reported as MinorVersion. */
void kd_machine_init(struct kd_target_info *info, uint16_t build, uint64_t breakpoint_routine);

/* Appends a module to PsLoadedModuleList after the kernel (call after kd_machine_init),
 * e.g. the transport DLL as "kdcom.dll". Returns 0, or -1 when the list is full. */
#define KD_MACHINE_MAX_MODULES 4
int kd_machine_add_module(const char *full_name, const char *base_name, uint64_t base,
			  uint32_t size, uint64_t entry_point);

/* Registers of a trap frame as a CONTEXT, and back (only what a CPU can take back: the
 * segment selectors and reserved RFLAGS bits stay as the CPU had them). The CONTEXT's
 * debug registers come from, and go to, d: the CPU's own when d is not held. */
void kd_machine_frame_to_context(const struct trap_frame *tf, struct kd_context_amd64 *ctx,
				 const struct kd_machine_debug_regs *d);
void kd_machine_context_to_frame(const struct kd_context_amd64 *ctx, struct trap_frame *tf,
				 struct kd_machine_debug_regs *d);

#endif
