/* SPDX-License-Identifier: MIT */
/*
 * gdb_regs.h - gdb's x86-64 register numbering mapped onto the AMD64 CONTEXT, the
 * KSPECIAL_REGISTERS block and MSRs, and the target description that announces it.
 *
 * Numbers follow the description's order: org.gnu.gdb.i386.core (rax..gs, st0-7, the x87
 * control registers), org.gnu.gdb.i386.sse (xmm0-15, mxcsr), org.gnu.gdb.i386.segments
 * (fs_base, gs_base), then org.vmkd.gdb.i386.sys (cr0, cr2, cr3, cr4, cr8, dr0-3, dr6,
 * dr7), which gdb shows under `info registers system`. The `g` packet carries core + sse
 * (everything in the CONTEXT); the rest is read one register at a time with `p`, so a stop
 * costs one GetContext unless the user asks for more.
 */
#ifndef VMKD_HOST_GDB_REGS_H
#define VMKD_HOST_GDB_REGS_H

#include <stddef.h>
#include <stdint.h>

#include "vmkd/kd_wire.h"

enum gdb_reg_src {
	GDB_SRC_CONTEXT,  /* a CONTEXT field (GetContext / SetContext) */
	GDB_SRC_SPECIAL,  /* KSPECIAL_REGISTERS (control space, read-only here) */
	GDB_SRC_MSR,      /* an MSR (ReadMsr / WriteMsr) */
};

#define GDB_REG_RIP 16
#define GDB_REG_EFLAGS 17
#define GDB_REG_FS_BASE 57
#define GDB_REG_GS_BASE 58
#define GDB_REG_DR0 64
#define GDB_REG_DR7 69
#define GDB_NUM_REGS 70
#define GDB_G_REGS 57        /* core + sse: the `g` packet */
#define GDB_REG_MAX_BYTES 16

/* Everything a register can come from; which parts are valid is the caller's business. */
struct gdb_reg_state {
	struct kd_context_amd64 ctx;
	struct kd_special_registers_amd64 sr;
	uint64_t fs_base, gs_base;
};

/* Size in bytes of register regno, 0 if there is none. */
size_t gdb_reg_size(unsigned regno);
enum gdb_reg_src gdb_reg_source(unsigned regno);
const char *gdb_reg_name(unsigned regno);
/* The MSR behind a GDB_SRC_MSR register. */
uint32_t gdb_reg_msr(unsigned regno);

/* Target byte order (little endian) into out; returns the size, 0 for no such register. */
size_t gdb_reg_read(const struct gdb_reg_state *st, unsigned regno, uint8_t *out);
/* Stores a register from in (gdb_reg_size bytes). Returns 0, or -1 for no such register
 * or one that cannot be written (the special registers). */
int gdb_reg_write(struct gdb_reg_state *st, unsigned regno, const uint8_t *in);

/* The `g` block: registers 0 .. GDB_G_REGS-1 back to back. */
size_t gdb_regs_g_size(void);
size_t gdb_regs_read_g(const struct gdb_reg_state *st, uint8_t *out, size_t cap);
/* Stores a `G` block of exactly gdb_regs_g_size() bytes; returns 0 or -1. */
int gdb_regs_write_g(struct gdb_reg_state *st, const uint8_t *in, size_t len);

/* Writes the target description (target.xml), NUL-terminated, generated from the register
 * table. Returns its length, or 0 if cap is too small (GDB_TARGET_XML_MAX always fits). */
#define GDB_TARGET_XML_MAX 8192
size_t gdb_target_xml(char *buf, size_t cap);

#endif
