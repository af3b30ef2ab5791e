/* SPDX-License-Identifier: MIT */
/*
 * selftest.h - a quick check of the platform at boot: page-table walks and mappings, the
 * guard pages, the trap path (int3 round trip with a changed register and xmm0, single
 * step), the clock, the mini libc. Small on purpose: under this host's software KVM every
 * ring-0 instruction is emulated.
 */
#ifndef VMKD_TARGET_SELFTEST_H
#define VMKD_TARGET_SELFTEST_H

#include <stdbool.h>

/* Runs every check, printing failures (and, if verbose, each pass). Returns the number of
 * failed checks. */
int selftest_run(bool verbose);

/* Deliberately crashes for the tests of the fatal path: "pf" (write to the test region's
 * guard page), "gp" (non-canonical access), "ud" (ud2), "df" (kernel stack overflow into its
 * guard page: #PF cannot be delivered, #DF on its own stack). "bp" executes int3 and returns
 * if the KD hook resumes. Returns if kind is unknown. */
void selftest_crash(const char *kind);

#endif
