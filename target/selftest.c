/* SPDX-License-Identifier: MIT */
/* selftest.c - boot-time checks of the platform layer (see selftest.h). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cmdline.h"
#include "console.h"
#include "cpu.h"
#include "layout.h"
#include "paging.h"
#include "pmm.h"
#include "selftest.h"
#include "timer.h"
#include "trap.h"

/* A fresh PML4 slot (KERNEL_VIRT_BASE is slot 496), so mapping there builds every level. */
#define SCRATCH_VA (KERNEL_VIRT_BASE + 0x8000000000ull)
#define XMM_BEFORE 0x1122334455667788ull
#define XMM_AFTER  0x8877665544332211ull

struct selftest {
	bool verbose;
	int failed;
	int passed;
	int skipped;
};

static void check(struct selftest *st, bool ok, const char *what)
{
	if (ok)
		st->passed++;
	else
		st->failed++;
	if (!ok || st->verbose)
		kprintf("vmkd-target: selftest %s: %s\n", ok ? "pass" : "FAIL", what);
}

static void skip(struct selftest *st, const char *what)
{
	st->skipped++;
	if (st->verbose)
		kprintf("vmkd-target: selftest skip: %s\n", what);
}

/* ---- page tables ---------------------------------------------------------------------- */

static bool maps_to(uint64_t va, uint64_t want)
{
	uint64_t pa;

	return paging_translate(va, &pa, NULL) == PAGING_OK && pa == want;
}

static bool unmapped(uint64_t va)
{
	uint64_t pa;

	return paging_translate(va, &pa, NULL) == PAGING_ENOTMAPPED;
}

static void test_translate(struct selftest *st)
{
	uint64_t text = (uint64_t)(uintptr_t)selftest_run;

	check(st, maps_to(text, text - KERNEL_VIRT_BASE), "translate kernel text");
	check(st, maps_to(KERNEL_BASE, KERNEL_PHYS_BASE), "translate KernBase");
	check(st, maps_to(KERNEL_PHYS_BASE + 0x1234, KERNEL_PHYS_BASE + 0x1234),
	      "translate identity map");
	check(st, unmapped(0), "page 0 not mapped");
	check(st, unmapped(0x0000800000000000ull), "non-canonical not mapped");
	check(st, physmap_end() >= PHYSMAP_MAX || unmapped(KERNEL_VIRT_BASE + physmap_end()),
	      "physmap ends with RAM");
	check(st, memcmp((const void *)KERNEL_BASE, "MZ", 2) == 0, "KernBase starts with MZ");
}

static void test_aliases(struct selftest *st)
{
	static volatile uint64_t cell;
	/* Identity address of the same cell: its physical address used as a pointer. */
	volatile uint64_t *ident =
		(volatile uint64_t *)(uintptr_t)((uintptr_t)&cell - KERNEL_VIRT_BASE);

	cell = 0x5a5a5a5a12345678ull;
	*ident ^= 0xffffffffull;
	check(st, cell == 0x5a5a5a5aedcba987ull, "high and identity aliases share memory");
}

static void test_guards(struct selftest *st)
{
	uint64_t guard = test_region_guard();
	uint8_t buf[32];

	memset(test_region() + TEST_REGION_SIZE - 16, 0xa5, 16);
	check(st, unmapped(guard), "test region guard page not mapped");
	check(st, !unmapped(guard - 1), "test region last byte mapped");
	check(st, probe_read_u8(guard - 1) == 0xa5, "probe reads the test region");
	check(st, probe_read_u8(guard) == -1, "probe of the guard page faults");
	check(st, vm_read(guard - 16, buf, sizeof(buf)) == 16 && buf[15] == 0xa5,
	      "vm_read stops at the guard page");
	check(st, unmapped(kernel_stack_guard()), "kernel stack guard page not mapped");
}

static void test_msr(struct selftest *st)
{
	uint64_t efer = 0, junk = 0;
	int bogus = rdmsr_safe(0xdeadbeef, &junk);

	/* KVM raises #GP for an unknown MSR; QEMU's TCG (7.2) reads 0 instead. */
	check(st, rdmsr_safe(MSR_EFER, &efer) == 0 && (efer & EFER_LMA) &&
		  (cpu_is_kvm() ? bogus == -1 : bogus == 0 || bogus == -1),
	      "rdmsr_safe: EFER.LMA set; an unknown MSR does not crash");
}

static void test_map_unmap(struct selftest *st)
{
	uint64_t pa = pmm_alloc_pages(1);
	volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)SCRATCH_VA;

	if (!pa) {
		check(st, false, "allocate a page");
		return;
	}
	check(st, paging_map_page(SCRATCH_VA, pa, PTE_W) == PAGING_OK && maps_to(SCRATCH_VA, pa),
	      "map a 4 KiB page");
	*p = 0xc0ffee11u;
	check(st, *(volatile uint32_t *)phys_to_virt(pa) == 0xc0ffee11u,
	      "new mapping hits its page");
	check(st, paging_unmap_page(SCRATCH_VA) == PAGING_OK && unmapped(SCRATCH_VA) &&
		  probe_read_u8(SCRATCH_VA) == -1, "unmap a 4 KiB page");
}

/* ---- trap path ------------------------------------------------------------------------ */

uint64_t selftest_fault_roundtrip(uint64_t va, const void *xmm_in, void *xmm_out);

static uint64_t seen_rip, seen_dr6;
static int seen_traps;
static bool frame_ok;

/* #PF from selftest_fault_roundtrip: check the frame, change rax and xmm0, resume at r8. */
static bool pf_roundtrip(struct trap_frame *tf)
{
	uint64_t before = XMM_BEFORE, after = XMM_AFTER;

	frame_ok = tf->cr2 == test_region_guard() && tf->rax == 0x1111 &&
		   tf->cs == KGDT64_R0_CODE && tf->ss == KGDT64_R0_DATA &&
		   (tf->error_code & 1) == 0 && memcmp(tf->fx.xmm[0], &before, 8) == 0;
	memcpy(tf->fx.xmm[0], &after, 8);
	tf->rax = 0x2222;
	tf->rip = tf->r8;
	return true;
}

/* #DB: count it, keep DR6, stop single-stepping, and set RF so that an instruction
 * breakpoint does not fire again on the same instruction. */
static bool db_record(struct trap_frame *tf)
{
	seen_traps++;
	seen_rip = tf->rip;
	seen_dr6 = read_dr6();
	write_dr6(0xffff0ff0); /* DR6 status bits are sticky: back to the reset value */
	tf->rflags = (tf->rflags & ~RFLAGS_TF) | RFLAGS_RF;
	return true;
}

static bool bp_changes_rax(struct trap_frame *tf)
{
	seen_traps++;
	seen_rip = tf->rip;
	frame_ok = tf->rax == 0x1111 && tf->error_code == 0;
	tf->rax = 0x2222;
	return true;
}

static void test_fault_roundtrip(struct selftest *st)
{
	trap_handler_fn old = trap_set_handler(TRAP_PF, pf_roundtrip);
	uint64_t in[2] = { XMM_BEFORE, 0 }, out[2] = { 0, 0 }, rax;

	frame_ok = false;
	rax = selftest_fault_roundtrip(test_region_guard(), in, out);
	trap_set_handler(TRAP_PF, old);
	check(st, frame_ok && rax == 0x2222 && out[0] == XMM_AFTER,
	      "#PF round trip: frame has the registers, changed rax/rip/xmm0 come back");
}

static void test_single_step(struct selftest *st)
{
	trap_handler_fn old = trap_set_handler(TRAP_DB, db_record);
	uint64_t expect;

	seen_traps = 0;
	/* TF set by popf traps after the instruction following the popf. */
	__asm__ __volatile__("leaq 1f(%%rip), %[expect]\n\t"
			     "pushfq\n\t"
			     "orq %[tf], (%%rsp)\n\t"
			     "popfq\n\t"
			     "nop\n"
			     "1:\tnop"
			     : [expect] "=&r"(expect)
			     : [tf] "i"(RFLAGS_TF)
			     : "memory", "cc");
	trap_set_handler(TRAP_DB, old);
	check(st, seen_traps == 1 && seen_rip == expect && (seen_dr6 & DR6_BS),
	      "RFLAGS.TF single-steps one instruction into #DB");
}

static void test_hw_breakpoint(struct selftest *st)
{
	trap_handler_fn old = trap_set_handler(TRAP_DB, db_record);
	uint64_t addr;

	seen_traps = 0;
	/* DR7 = 1: DR0 enabled (L0) as a 1-byte instruction breakpoint (RW0 = LEN0 = 0). */
	__asm__ __volatile__("leaq 1f(%%rip), %[addr]\n\t"
			     "movq %[addr], %%dr0\n\t"
			     "movq %[dr7], %%dr7\n\t"
			     "nop\n"
			     "1:\tnop"
			     : [addr] "=&r"(addr)
			     : [dr7] "r"(1ull)
			     : "memory");
	write_dr7(0);
	write_dr0(0);
	trap_set_handler(TRAP_DB, old);
	check(st, seen_traps == 1 && seen_rip == addr && (seen_dr6 & 1),
	      "DR0 instruction breakpoint raises #DB, RF resumes");
}

static void test_int3(struct selftest *st)
{
	trap_handler_fn old = trap_set_handler(TRAP_BP, bp_changes_rax);
	uint64_t v = 0x1111, expect;

	frame_ok = false;
	seen_traps = 0;
	__asm__ __volatile__("leaq 1f(%%rip), %[expect]\n\t"
			     "int3\n"
			     "1:"
			     : "+a"(v), [expect] "=&r"(expect)
			     :
			     : "memory");
	trap_set_handler(TRAP_BP, old);
	check(st, seen_traps == 1 && frame_ok && v == 0x2222 && seen_rip == expect,
	      "int3 returns past the 0xCC with a changed rax");
}

static void test_traps(struct selftest *st)
{
	test_fault_roundtrip(st);
	test_single_step(st);
	test_hw_breakpoint(st);
	/* This host's software KVM cannot emulate INT3 (or any INT n) in ring 0: the VM
	 * stops with "KVM internal error ... emulation failure". */
	if (cpu_is_kvm())
		skip(st, "int3 round trip (not emulated in ring 0 by this host's KVM)");
	else
		test_int3(st);
}

/* ---- clock, libc, formatting, command line --------------------------------------------- */

static void test_clock(struct selftest *st)
{
	uint64_t t0 = time_us(), t1;

	udelay(2000);
	t1 = time_us();
	check(st, tsc_rate_measured() && tsc_hz() >= 100000000ull && tsc_hz() <= 20000000000ull,
	      "TSC rate plausible");
	check(st, t1 - t0 >= 2000 && t1 - t0 < 1000000, "time_us advances with udelay");
}

static void test_libc(struct selftest *st)
{
	char b[16] = "abcdefgh";
	char out[64];

	memmove(b + 2, b, 6);
	check(st, memcmp(b, "ababcdef", 8) == 0, "memmove overlap");
	check(st, strcmp("abc", "abd") < 0 && strncmp("abcx", "abcy", 3) == 0 &&
		  strlen("vmkd") == 4, "string functions");
	ksnprintf(out, sizeof(out), "%5d|%-4s|%08lx|%c|%llx|%u|%p", -42, "ab", 0xbeefUL, 'z',
		  0x1234567890ull, 7u, (void *)0x10);
	check(st, strcmp(out, "  -42|ab  |0000beef|z|1234567890|7|0x0000000000000010") == 0,
	      "ksnprintf formats");
	check(st, cmdline_lookup("a=1 kdport=com2 nobreak", "kdport", out, sizeof(out)) == 4 &&
		  strcmp(out, "com2") == 0 &&
		  cmdline_lookup("a=1 nobreak", "nobreak", NULL, 0) == 0 &&
		  cmdline_lookup("a=1 nob", "nobreak", NULL, 0) == -1, "command line parser");
}

int selftest_run(bool verbose)
{
	struct selftest st = { .verbose = verbose };

	test_translate(&st);
	test_aliases(&st);
	test_guards(&st);
	test_msr(&st);
	test_map_unmap(&st);
	test_traps(&st);
	test_clock(&st);
	test_libc(&st);
	if (verbose)
		kprintf("vmkd-target: selftest: %d passed, %d failed, %d skipped\n", st.passed,
			st.failed, st.skipped);
	return st.failed;
}

void selftest_crash(const char *kind)
{
	kprintf("vmkd-target: crash=%s requested\n", kind);
	if (strcmp(kind, "pf") == 0) {
		*(volatile uint8_t *)(uintptr_t)test_region_guard() = 1;
	} else if (strcmp(kind, "gp") == 0) {
		(void)*(volatile uint64_t *)(uintptr_t)0x8000000000000000ull;
	} else if (strcmp(kind, "ud") == 0) {
		__asm__ __volatile__("ud2");
	} else if (strcmp(kind, "bp") == 0) {
		/* Not a crash under TCG: goes to kd_debug_trap (its default prints and resumes).
		 * Under this host's KVM it stops the VM: int3 is not emulated in ring 0. */
		__asm__ __volatile__("int3");
		kprintf("vmkd-target: crash=bp resumed after int3\n");
		return;
	} else if (strcmp(kind, "df") == 0) {
		/* Point RSP at the top of the stack's guard page and push: the #PF cannot be
		 * delivered on that stack, so the CPU raises #DF, which has its own (IST). */
		__asm__ __volatile__("movq %0, %%rsp\n\t"
				     "pushq $0"
				     :
				     : "r"(kernel_stack_guard() + PAGE_SIZE)
				     : "memory");
	}
	kprintf("vmkd-target: crash=%s did not crash\n", kind);
}
