/* SPDX-License-Identifier: MIT */
/* idt.c - fills and loads the IDT (interrupt gates; #DF, NMI, #MC on their own stacks). */
#include <stdint.h>

#include "cpu.h"
#include "idt.h"
#include "layout.h"
#include "trap.h"

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
};
_Static_assert(sizeof(struct idt_gate) == 16, "IDT gate");

#define GATE_INTERRUPT 0x8e /* present, DPL 0, 64-bit interrupt gate: entry clears IF */
#define GATE_DPL3      0x60 /* int3 may be issued from any ring, as on Windows */

static struct idt_gate idt[TRAP_NR_VECTORS] __attribute__((aligned(16)));

static void set_gate(unsigned vector, uint64_t handler, unsigned ist, uint8_t attr)
{
	struct idt_gate *g = &idt[vector];

	g->offset_low = (uint16_t)handler;
	g->selector = KGDT64_R0_CODE;
	g->ist = (uint8_t)ist;
	g->type_attr = attr;
	g->offset_mid = (uint16_t)(handler >> 16);
	g->offset_high = (uint32_t)(handler >> 32);
	g->reserved = 0;
}

void idt_init(void)
{
	struct desc_ptr p = { .limit = sizeof(idt) - 1, .base = (uint64_t)(uintptr_t)idt };

	for (unsigned v = 0; v < TRAP_NR_VECTORS; v++)
		set_gate(v, trap_stub_table[v], 0, GATE_INTERRUPT);
	/* Faults that mean the current stack may be unusable get a known-good one. */
	set_gate(TRAP_DF, trap_stub_table[TRAP_DF], IST_DOUBLE_FAULT, GATE_INTERRUPT);
	set_gate(TRAP_NMI, trap_stub_table[TRAP_NMI], IST_NMI, GATE_INTERRUPT);
	set_gate(TRAP_MC, trap_stub_table[TRAP_MC], IST_MACHINE_CHECK, GATE_INTERRUPT);
	set_gate(TRAP_BP, trap_stub_table[TRAP_BP], 0, GATE_INTERRUPT | GATE_DPL3);
	lidt(&p);
}
