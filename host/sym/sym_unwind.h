/* SPDX-License-Identifier: MIT */
/*
 * sym_unwind.h - x64 stack unwinding from the unwind data of images in a target's memory:
 * .pdata (RUNTIME_FUNCTION, sorted, binary-searched) and UNWIND_INFO with every unwind
 * opcode, chained entries and frame registers, as Windows' RtlVirtualUnwind does it (without
 * epilogue detection: a frame stopped inside an epilogue unwinds as if in the body). And a
 * frame-pointer walk, marked as such, for code without unwind data.
 *
 * Pure: only the sym_reader touches the target; everything read is bounded.
 */
#ifndef VMKD_HOST_SYM_UNWIND_H
#define VMKD_HOST_SYM_UNWIND_H

#include <stddef.h>
#include <stdint.h>

#include "sym_reader.h"

/* x64 register numbers as unwind codes use them. */
enum sym_reg {
	SYM_RAX, SYM_RCX, SYM_RDX, SYM_RBX, SYM_RSP, SYM_RBP, SYM_RSI, SYM_RDI,
	SYM_R8, SYM_R9, SYM_R10, SYM_R11, SYM_R12, SYM_R13, SYM_R14, SYM_R15,
	SYM_NREGS
};

struct sym_regs {
	uint64_t rip;
	uint64_t r[SYM_NREGS];   /* r[SYM_RSP] is the stack pointer */
};

/* Unwind opcodes (UNWIND_CODE.UnwindOp). */
enum sym_uwop {
	SYM_UWOP_PUSH_NONVOL = 0,
	SYM_UWOP_ALLOC_LARGE = 1,
	SYM_UWOP_ALLOC_SMALL = 2,
	SYM_UWOP_SET_FPREG = 3,
	SYM_UWOP_SAVE_NONVOL = 4,
	SYM_UWOP_SAVE_NONVOL_FAR = 5,
	SYM_UWOP_EPILOG = 6,
	SYM_UWOP_SPARE_CODE = 7,
	SYM_UWOP_SAVE_XMM128 = 8,
	SYM_UWOP_SAVE_XMM128_FAR = 9,
	SYM_UWOP_PUSH_MACHFRAME = 10,
};

#define SYM_UNW_FLAG_EHANDLER 0x1
#define SYM_UNW_FLAG_UHANDLER 0x2
#define SYM_UNW_FLAG_CHAININFO 0x4
#define SYM_UNWIND_MAX_CHAIN 32     /* chained entries followed at most */
#define SYM_PDATA_MAX_ENTRIES (1u << 20)

struct sym_runtime_function {
	uint32_t begin, end, unwind;    /* RVAs */
};

/*
 * Finds the RUNTIME_FUNCTION covering rva in the image at base whose .pdata is at
 * [pdata_rva, +pdata_size), by binary search over reads of single entries. Returns 0,
 * 1 if there is none (a leaf function), -1 if the table cannot be read.
 */
int sym_pdata_lookup(const struct sym_reader *r, uint64_t base, uint32_t pdata_rva,
		     uint32_t pdata_size, uint32_t rva, struct sym_runtime_function *out);

/*
 * Unwinds one frame of the function rf (image at base, rip inside it): applies its unwind
 * codes (those whose prolog offset is behind rip) and its chained entries to regs, then
 * pops the return address (or takes RIP/RSP from a machine frame). On success regs holds
 * the caller's state and *machframe says whether a trap frame was crossed. Returns 0, or
 * -1 with err.
 */
int sym_unwind_frame(const struct sym_reader *r, uint64_t base,
		     const struct sym_runtime_function *rf, struct sym_regs *regs,
		     int *machframe, char *err, size_t errlen);

/* A leaf (no RUNTIME_FUNCTION): the return address is at RSP. Returns 0 or -1. */
int sym_unwind_leaf(const struct sym_reader *r, struct sym_regs *regs);

/*
 * Frame-pointer fallback for code without unwind data: at a function's first instruction
 * (push rbp) or right after it (mov rbp,rsp), or at a ret, the return address is found
 * from RSP; otherwise RBP chains frames ([rbp] = caller's rbp, [rbp+8] = return address).
 * at_entry: rip is known to be a function's first byte. Returns 0 or -1.
 */
int sym_unwind_fp(const struct sym_reader *r, struct sym_regs *regs, int at_entry);

#endif
