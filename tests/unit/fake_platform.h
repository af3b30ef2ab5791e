/* SPDX-License-Identifier: MIT */
/*
 * fake_platform.h - the one fake machine of the unit tests: struct kd_platform_ops over a
 * byte array, for the KD target core (test_target_core, test_kd_serial) and the fake kernel
 * the debugger engine talks to (test_client_session).
 *
 * The array is seen at virtual address va and physical address pa; only its first `mapped`
 * bytes are accessible (a read running past them is partial, as on a page fault). One MSR
 * exists. Counters say what the target did, so a test can tell how often a request ran;
 * they are atomic because the fake kernel of test_client_session runs in its own thread.
 */
#ifndef VMKD_TEST_FAKE_PLATFORM_H
#define VMKD_TEST_FAKE_PLATFORM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "kd_target.h"

#define FAKE_MSR_EFER 0xC0000080u

struct fake_platform {
	uint8_t *mem;
	size_t size;                      /* bytes in mem */
	size_t mapped;                    /* accessible prefix of mem */
	uint64_t va, pa;
	int read_only;                    /* writes copy nothing (and report 0 bytes) */
	uint32_t msr;                     /* the MSR that exists; 0: none does */
	uint64_t msr_value;
	struct kd_special_registers_amd64 sr;

	/* What the target did. */
	uint64_t watch;                   /* virtual address whose accesses are counted */
	atomic_uint watch_reads, watch_writes;
	atomic_uint msr_reads, msr_writes;
};

/* mem (size bytes, the first mapped accessible) at va / pa; EFER = 0xd01 exists. */
void fake_platform_init(struct fake_platform *fp, void *mem, size_t size, size_t mapped,
			uint64_t va, uint64_t pa);

extern const struct kd_platform_ops fake_platform_ops;

#endif
