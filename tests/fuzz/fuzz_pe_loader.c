/* SPDX-License-Identifier: MIT */
/*
 * fuzz_pe_loader.c - libFuzzer harness for the test kernel's PE32+ loader (target/pe_loader.c,
 * freestanding C built here for the host as tests/unit/test_pe_loader.c does). The input is
 * a DLL file, which in the kernel comes from whoever built the image: untrusted.
 *
 * Properties: pe_parse and pe_load agree on the headers; a loaded image stays inside
 * SizeOfImage (each buffer is allocated with exactly that size, so ASan catches a byte
 * beyond it) and every export it resolves points into the image; pe_load gives the same
 * status at two different bases (relocation must not change what is accepted); the
 * checksum is total.
 *
 * Images are capped at IMAGE_CAP, not PE_MAX_IMAGE_SIZE, to keep runs fast; a bigger
 * SizeOfImage is still parsed, and a buffer smaller than it must be refused.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pe_loader.h"

#define IMAGE_CAP (1u << 20)

static uint8_t small[4096] __attribute__((aligned(4096)));

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static unsigned unresolved_calls;

static void on_unresolved(void *ctx, const char *dll, const char *name)
{
	(void)ctx;
	/* Names handed out must be NUL-terminated strings the caller may print. */
	check(strlen(dll) < PE_MAX_NAME && strlen(name) < PE_MAX_NAME);
	unresolved_calls++;
}

/* The kernel's symbol table is of this shape; the addresses are never called here. */
static const struct pe_symbol symbols[] = {
	{ "ntoskrnl.exe", "MmGetPhysicalAddress", 0x1000, 0 },
	{ "ntoskrnl.exe", "KdDebuggerNotPresent", 0x2000, 1 },
	{ "hal.dll", "KeStallExecutionProcessor", 0x3000, 0 },
	{ "hal.dll", "KeQueryPerformanceCounter", 0x4000, 0 },
};

static const char *const exports[] = {
	"KdDebuggerInitialize0", "KdDebuggerInitialize1", "KdSendPacket", "KdReceivePacket",
	"KdD0Transition", "KdD3Transition", "KdSave", "KdRestore", "KdSetHiberRange", "KdPower",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct pe_imports imports = {
		.symbols = symbols,
		.count = sizeof(symbols) / sizeof(symbols[0]),
		.unresolved = on_unresolved,
	};
	struct pe_info info;
	struct pe_image a, b;
	enum pe_status st, st_b;
	void *addr, *pa = NULL, *pb = NULL;
	uint8_t *image_a, *image_b;

	(void)pe_checksum(data, size);
	check(pe_status_name(pe_parse(data, size, &info)) != NULL);
	if (pe_parse(data, size, &info) != PE_OK)
		return 0;
	check(info.size_of_image > 0 && info.size_of_image <= PE_MAX_IMAGE_SIZE);
	check(info.nsections <= PE_MAX_SECTIONS);
	if (info.size_of_image > sizeof(small))
		check(pe_load(data, size, small, sizeof(small), &imports, &a) == PE_E_INVALID_ARG);
	if (info.size_of_image > IMAGE_CAP)
		return 0;
	check(posix_memalign(&pa, 4096, info.size_of_image) == 0);
	check(posix_memalign(&pb, 4096, info.size_of_image) == 0);
	image_a = pa;
	image_b = pb;

	unresolved_calls = 0;
	st = pe_load(data, size, image_a, info.size_of_image, &imports, &a);
	check(st != PE_E_UNRESOLVED || unresolved_calls > 0);
	/* Another base: the heap never hands out the preferred base of a DLL, so both loads
	 * move the image, as the kernel's do. */
	st_b = pe_load(data, size, image_b, info.size_of_image, &imports, &b);
	if (a.delta != 0 && b.delta != 0)
		check(st == st_b);
	if (st != PE_OK)
		goto out;
	check(a.base == image_a);
	check(a.info.size_of_image == info.size_of_image && a.info.nsections == info.nsections);
	check(a.delta == (int64_t)((uint64_t)(uintptr_t)image_a - info.image_base));
	for (size_t i = 0; i < sizeof(exports) / sizeof(exports[0]); i++) {
		if (pe_find_export(&a, exports[i], &addr) == PE_OK)
			check((uint8_t *)addr >= image_a &&
			      (uint8_t *)addr < image_a + info.size_of_image);
	}
out:
	free(pa);
	free(pb);
	return 0;
}
