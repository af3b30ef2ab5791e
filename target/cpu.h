/* SPDX-License-Identifier: MIT */
/* cpu.h - x86-64 instruction wrappers: port I/O, MSRs, control/debug registers, GDT/IDT. */
#ifndef VMKD_TARGET_CPU_H
#define VMKD_TARGET_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu_bits.h"

/* ---- port I/O ----------------------------------------------------------------------- */
static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ __volatile__("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ __volatile__("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ __volatile__("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	__asm__ __volatile__("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ __volatile__("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* ---- MSRs, TSC, CPUID ------------------------------------------------------------- */
static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ __volatile__("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/* The same for MSR numbers that may not exist (a debugger's ReadMsr): a #GP is caught
 * (probe.S + trap.c) and reported as -1 instead of being fatal. 0 on success. */
int rdmsr_safe(uint32_t msr, uint64_t *value);
int wrmsr_safe(uint32_t msr, uint64_t value);

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;

	__asm__ __volatile__("cpuid"
			     : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			     : "a"(leaf), "c"(subleaf));
	return r;
}

/* ---- control registers -------------------------------------------------------------- */
#define DEFINE_CR_ACCESSORS(n)                                                  \
	static inline uint64_t read_cr##n(void)                                 \
	{                                                                       \
		uint64_t v;                                                     \
		__asm__ __volatile__("mov %%cr" #n ", %0" : "=r"(v));           \
		return v;                                                       \
	}                                                                       \
	static inline void write_cr##n(uint64_t v)                              \
	{                                                                       \
		__asm__ __volatile__("mov %0, %%cr" #n : : "r"(v) : "memory");  \
	}
DEFINE_CR_ACCESSORS(0)
DEFINE_CR_ACCESSORS(2)
DEFINE_CR_ACCESSORS(3)
DEFINE_CR_ACCESSORS(4)
DEFINE_CR_ACCESSORS(8)
#undef DEFINE_CR_ACCESSORS

/* ---- debug registers: DR0-DR3, DR6, DR7 (DR4/DR5 alias DR6/DR7 and are not offered) -- */
#define DEFINE_DR_ACCESSORS(n)                                                  \
	static inline uint64_t read_dr##n(void)                                 \
	{                                                                       \
		uint64_t v;                                                     \
		__asm__ __volatile__("mov %%dr" #n ", %0" : "=r"(v));           \
		return v;                                                       \
	}                                                                       \
	static inline void write_dr##n(uint64_t v)                             \
	{                                                                       \
		__asm__ __volatile__("mov %0, %%dr" #n : : "r"(v));             \
	}
DEFINE_DR_ACCESSORS(0)
DEFINE_DR_ACCESSORS(1)
DEFINE_DR_ACCESSORS(2)
DEFINE_DR_ACCESSORS(3)
DEFINE_DR_ACCESSORS(6)
DEFINE_DR_ACCESSORS(7)
#undef DEFINE_DR_ACCESSORS

/* Indexed forms for table-driven code (CONTEXT Dr0..Dr7): n = 0-3, 6, 7. Others read 0 and
 * ignore writes. */
static inline uint64_t read_dr(unsigned n)
{
	switch (n) {
	case 0: return read_dr0();
	case 1: return read_dr1();
	case 2: return read_dr2();
	case 3: return read_dr3();
	case 6: return read_dr6();
	case 7: return read_dr7();
	default: return 0;
	}
}

static inline void write_dr(unsigned n, uint64_t v)
{
	switch (n) {
	case 0: write_dr0(v); break;
	case 1: write_dr1(v); break;
	case 2: write_dr2(v); break;
	case 3: write_dr3(v); break;
	case 6: write_dr6(v); break;
	case 7: write_dr7(v); break;
	default: break;
	}
}

/* ---- descriptor tables -------------------------------------------------------------- */
struct __attribute__((packed)) desc_ptr {
	uint16_t limit;
	uint64_t base;
};

static inline void lgdt(const struct desc_ptr *p)
{
	__asm__ __volatile__("lgdt %0" : : "m"(*p));
}

static inline void lidt(const struct desc_ptr *p)
{
	__asm__ __volatile__("lidt %0" : : "m"(*p));
}

static inline struct desc_ptr sgdt(void)
{
	struct desc_ptr p;

	__asm__ __volatile__("sgdt %0" : "=m"(p));
	return p;
}

static inline struct desc_ptr sidt(void)
{
	struct desc_ptr p;

	__asm__ __volatile__("sidt %0" : "=m"(p));
	return p;
}

static inline uint16_t read_tr(void)
{
	uint16_t sel;

	__asm__ __volatile__("str %0" : "=r"(sel));
	return sel;
}

static inline uint16_t read_ldtr(void)
{
	uint16_t sel;

	__asm__ __volatile__("sldt %0" : "=r"(sel));
	return sel;
}

static inline void ltr(uint16_t sel)
{
	__asm__ __volatile__("ltr %0" : : "r"(sel));
}

#define DEFINE_SEG_READ(name)                                                   \
	static inline uint16_t read_##name(void)                                \
	{                                                                       \
		uint16_t v;                                                     \
		__asm__ __volatile__("mov %%" #name ", %0" : "=r"(v));          \
		return v;                                                       \
	}
DEFINE_SEG_READ(cs)
DEFINE_SEG_READ(ds)
DEFINE_SEG_READ(es)
DEFINE_SEG_READ(fs)
DEFINE_SEG_READ(gs)
DEFINE_SEG_READ(ss)
#undef DEFINE_SEG_READ

/* ---- misc --------------------------------------------------------------------------- */
static inline uint64_t read_rflags(void)
{
	uint64_t v;

	__asm__ __volatile__("pushfq; popq %0" : "=r"(v));
	return v;
}

static inline void invlpg(uint64_t va)
{
	__asm__ __volatile__("invlpg (%0)" : : "r"(va) : "memory");
}

static inline void cpu_relax(void)
{
	__asm__ __volatile__("pause" : : : "memory");
}

static inline void halt(void)
{
	__asm__ __volatile__("hlt" : : : "memory");
}

static inline void irq_disable(void)
{
	__asm__ __volatile__("cli" : : : "memory");
}

/* Whole-TLB flush (no global pages are used, so reloading CR3 is enough). */
static inline void tlb_flush_all(void)
{
	write_cr3(read_cr3());
}

/* The accelerator QEMU runs us under, from the hypervisor CPUID leaf: "kvm", "tcg" or
 * "none" (no hypervisor leaf). Cached after the first call. */
const char *cpu_accel_name(void);
bool cpu_is_kvm(void);

/* Enables what the trap path and Windows-built code need: x87/SSE state (FXSAVE works,
 * MXCSR at its default) on top of what boot.S set up (PAE, long mode, NXE, WP). */
void cpu_init(void);

/* Whether EFER.NXE is on (so PTE bit 63 may be used). */
bool cpu_nx_enabled(void);

#endif
