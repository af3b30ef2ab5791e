/* SPDX-License-Identifier: MIT */
/*
 * fuzz_mtree.c - libFuzzer harness for the `info mtree -f` parser: whatever text QEMU (or
 * something posing as it) answers, the parser reads only its input and a layout it accepts
 * is sorted, disjoint in the guest-physical space and in the file, and never wraps.
 */
#include <stddef.h>
#include <stdint.h>

#include "../../host/common/guest_ram.h"

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_ram_layout l;
	char err[256];

	if (guest_ram_parse_mtree((const char *)data, size, "vmkd-ram", &l, err, sizeof(err)))
		return 0;
	check(l.count > 0 && l.count <= GUEST_RAM_MAX_RANGES);
	for (size_t i = 0; i < l.count; i++) {
		const struct guest_ram_range *r = &l.r[i];

		check(r->size > 0);
		check(r->gpa + r->size - 1 >= r->gpa);
		check(r->offset + r->size > r->offset);
		if (i)
			check(l.r[i - 1].gpa + l.r[i - 1].size <= r->gpa);
		for (size_t j = 0; j < i; j++)
			check(r->offset >= l.r[j].offset + l.r[j].size ||
			      l.r[j].offset >= r->offset + r->size);
	}
	return 0;
}
