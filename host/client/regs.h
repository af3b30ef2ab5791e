/* SPDX-License-Identifier: MIT */
/* regs.h - AMD64 register names and their place in the KD CONTEXT (for `r` and @reg). */
#ifndef VMKD_HOST_REGS_H
#define VMKD_HOST_REGS_H

#include <stddef.h>
#include <stdint.h>

#include "vmkd/kd_wire.h"

struct reg_desc {
	const char *name;
	uint16_t offset;    /* in struct kd_context_amd64 */
	uint8_t size;       /* bytes: 2, 4 or 8 */
	uint8_t shift;      /* sub-registers: bit position inside the full register */
	uint8_t bits;       /* sub-registers: width in bits (0 = size * 8) */
};

/* Looks a register up by name (case-insensitive, len bytes of name). NULL if unknown. */
const struct reg_desc *reg_find(const char *name, size_t len);

uint64_t reg_get(const struct kd_context_amd64 *ctx, const struct reg_desc *r);

/* Stores v; returns -1 (nothing changed) if v does not fit the register. */
int reg_set(struct kd_context_amd64 *ctx, const struct reg_desc *r, uint64_t v);

/* WinDbg's flag letters for an EFLAGS value: "nv up ei pl zr na po nc" (23 chars + NUL). */
void reg_format_flags(uint32_t eflags, char out[24]);

#endif
