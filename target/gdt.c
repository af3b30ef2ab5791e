/* SPDX-License-Identifier: MIT */
/* gdt.c - global descriptor table, task state segment, segment register setup. */
#include <stdint.h>

#include "cpu.h"
#include "gdt.h"
#include "layout.h"

struct __attribute__((packed)) tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
};
_Static_assert(sizeof(struct tss64) == 104, "TSS layout");

/* Descriptor words: G, L/D, P, DPL, type (accessed bit preset, so the CPU never writes). */
#define DESC_R0_CODE64  0x00af9b000000ffffull
#define DESC_R0_DATA    0x00cf93000000ffffull
#define DESC_R3_CODE32  0x00cffb000000ffffull
#define DESC_R3_DATA    0x00cff3000000ffffull
#define DESC_R3_CODE64  0x00affb000000ffffull
#define DESC_R3_CMTEB   0x0040f30000000fffull /* 4 KiB data segment, like the 32-bit TEB one */
#define TSS_TYPE_AVAIL  0x89ull               /* present, 64-bit TSS (available) */

#define SEL_RPL3 3

static uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
static uint8_t ist_stacks[3][IST_STACK_SIZE] __attribute__((aligned(PAGE_SIZE)));

uint64_t gdt_ist_top(unsigned n)
{
	if (n < 1 || n > 3)
		return 0;
	return (uint64_t)(uintptr_t)(ist_stacks[n - 1] + IST_STACK_SIZE);
}

static void set_tss_descriptor(unsigned sel, uint64_t base, uint32_t limit)
{
	gdt[sel / 8] = (limit & 0xffffull) | ((base & 0xffffffull) << 16) |
		       (TSS_TYPE_AVAIL << 40) | ((uint64_t)(limit >> 16 & 0xf) << 48) |
		       ((base >> 24 & 0xffull) << 56);
	gdt[sel / 8 + 1] = base >> 32;
}

void gdt_init(void)
{
	struct desc_ptr p = { .limit = sizeof(gdt) - 1, .base = (uint64_t)(uintptr_t)gdt };

	gdt[0] = 0;
	gdt[KGDT64_R0_CODE / 8] = DESC_R0_CODE64;
	gdt[KGDT64_R0_DATA / 8] = DESC_R0_DATA;
	gdt[KGDT64_R3_CMCODE / 8] = DESC_R3_CODE32;
	gdt[KGDT64_R3_DATA / 8] = DESC_R3_DATA;
	gdt[KGDT64_R3_CODE / 8] = DESC_R3_CODE64;
	gdt[KGDT64_R3_CMTEB / 8] = DESC_R3_CMTEB;

	for (unsigned i = 1; i <= 3; i++)
		tss.ist[i - 1] = gdt_ist_top(i);
	tss.iomap_base = sizeof(tss); /* no I/O bitmap */
	set_tss_descriptor(KGDT64_SYS_TSS, (uint64_t)(uintptr_t)&tss, sizeof(tss) - 1);

	lgdt(&p);
	/* Reload CS with a far return, then the data selectors Windows uses in kernel mode
	 * (DS/ES/GS = R3 data | RPL3: allowed at CPL0 because the descriptor's DPL is 3). */
	__asm__ __volatile__(
		"pushq %[cs]\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"
		"1:\n\t"
		"movl %[ss], %%eax\n\t"
		"mov %%eax, %%ss\n\t"
		"movl %[ds], %%eax\n\t"
		"mov %%eax, %%ds\n\t"
		"mov %%eax, %%es\n\t"
		"mov %%eax, %%gs\n\t"
		"movl %[fs], %%eax\n\t"
		"mov %%eax, %%fs\n\t"
		:
		: [cs] "i"(KGDT64_R0_CODE), [ss] "i"(KGDT64_R0_DATA),
		  [ds] "i"(KGDT64_R3_DATA | SEL_RPL3), [fs] "i"(KGDT64_R3_CMTEB | SEL_RPL3)
		: "rax", "memory");
	ltr(KGDT64_SYS_TSS);
}
