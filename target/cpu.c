/* SPDX-License-Identifier: MIT */
/* cpu.c - processor setup after boot.S (x87/SSE state) and accelerator detection. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cpu.h"

void cpu_init(void)
{
	/* boot.S already set these so an early trap can FXSAVE; repeat them here so the
	 * state is explicit in one place. EM=0/MP=1/NE=1: x87 and SSE run natively and x87
	 * errors are reported as #MF rather than through the legacy IRQ13 path. */
	write_cr0((read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE);
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
	/* x87 to its init state. MXCSR keeps its reset value 0x1f80 (all masked): LDMXCSR is
	 * not implemented by this host's software-KVM instruction emulator (emulation failure,
	 * the VM stops), so it is deliberately not used. */
	__asm__ __volatile__("fninit");
}

bool cpu_nx_enabled(void)
{
	return (rdmsr(MSR_EFER) & EFER_NXE) != 0;
}

const char *cpu_accel_name(void)
{
	static const char *cached;
	struct cpuid_regs r;
	char sig[13];

	if (cached)
		return cached;
	cached = "none";
	if (!(cpuid(1, 0).ecx & (1u << 31))) /* no hypervisor present bit */
		return cached;
	r = cpuid(0x40000000, 0);
	memcpy(sig + 0, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	sig[12] = '\0';
	if (memcmp(sig, "KVMKVMKVM", 9) == 0)
		cached = "kvm";
	else if (memcmp(sig, "TCGTCGTCGTCG", 12) == 0)
		cached = "tcg";
	else
		cached = "other";
	return cached;
}

bool cpu_is_kvm(void)
{
	return strcmp(cpu_accel_name(), "kvm") == 0;
}
