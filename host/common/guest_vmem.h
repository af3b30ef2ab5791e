/* SPDX-License-Identifier: MIT */
/*
 * guest_vmem.h - reads of guest-virtual memory from the mapped guest RAM (guest_ram.h),
 * translated by the host's page walker (pagewalk.h), with the guest's own answer for
 * partial reads: the copy stops at the first byte of a page that is not present, at a
 * non-canonical address or where the address wraps, and returns the bytes before it (what
 * a Windows kernel and vmkd's test kernel answer). When the exact answer cannot be known
 * from RAM alone (a page table or a page outside RAM, i.e. MMIO or ROM; reserved bits that
 * would fault) it says so, and the caller asks the guest instead.
 */
#ifndef VMKD_HOST_GUEST_VMEM_H
#define VMKD_HOST_GUEST_VMEM_H

#include <stddef.h>
#include <stdint.h>

#include "guest_ram.h"
#include "pagewalk.h"

enum guest_vmem_result {
	GUEST_VMEM_OK,       /* *got bytes (maybe fewer than asked: the guest's partial read) */
	GUEST_VMEM_UNKNOWN,  /* only the guest can answer; *why says what stopped us */
};

enum guest_vmem_result guest_vmem_read(const struct guest_ram *ram, const struct pw_mode *m,
				       uint64_t va, void *buf, size_t len, size_t *got,
				       const char **why);

/* The pw_read_phys_fn for a struct guest_ram (ctx). */
size_t guest_vmem_read_phys(void *ctx, uint64_t pa, void *buf, size_t len);

#endif
