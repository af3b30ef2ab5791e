/* SPDX-License-Identifier: MIT */
/*
 * fuzz_pagewalk.c - libFuzzer harness for the host's page walker and virtual reads over a
 * guest RAM the input fills: CR3, CR4.LA57, MAXPHYADDR, an address and a length come first,
 * the rest is physical memory split into two RAM ranges with a hole between them. Whatever
 * the tables hold (loops, self-references, frames outside RAM, reserved bits), the walk
 * ends, every byte a read returns is the byte its own translation points at, and a read
 * never returns more than asked.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../host/common/guest_ram.h"
#include "../../host/common/guest_vmem.h"
#include "../../host/common/pagewalk.h"

#define HDR 20u

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t file[1 << 16];
	static uint8_t buf[4096];
	struct guest_ram_layout l;
	struct guest_ram g;
	struct pw_mode m;
	struct pw_translation t;
	uint64_t va, half;
	size_t len, got = 0, mem;
	const char *why;

	if (size < HDR)
		return 0;
	/* Small CR3 values point into the image; the top bits exercise the masks. */
	pw_mode_from_cr(&m, le64(data) & 0xfff0000000000fffull ? le64(data) : le64(data) & 0xffff,
			data[8] & 1 ? PW_CR4_LA57 : 0, data[9] % 64);
	va = le64(data + 10);
	len = (size_t)(data[18] | data[19] << 8) % sizeof(buf);
	mem = size - HDR < sizeof(file) ? size - HDR : sizeof(file);
	memset(file, 0, sizeof(file));
	memcpy(file, data + HDR, mem);
	/* RAM: [0, half) and [half + 64 KiB, ...) of the same file, like a PCI hole. */
	half = (sizeof(file) / 2) & ~0xfffull;
	memset(&l, 0, sizeof(l));
	l.count = 2;
	l.r[0].gpa = 0, l.r[0].size = half, l.r[0].offset = 0;
	l.r[1].gpa = half + 0x10000, l.r[1].size = sizeof(file) - half, l.r[1].offset = half;
	check(guest_ram_use_buffer(&g, file, sizeof(file), &l, 0) == 0);

	if (pw_translate(&m, va, guest_vmem_read_phys, &g, &t) == PW_OK) {
		check(t.page_size == PW_PAGE_4K || t.page_size == PW_PAGE_2M ||
		      t.page_size == PW_PAGE_1G);
		check((t.pa & (t.page_size - 1)) == (va & (t.page_size - 1)));
		check(pw_canonical(&m, va));
	}
	if (guest_vmem_read(&g, &m, va, buf, len, &got, &why) == GUEST_VMEM_OK) {
		check(got <= len);
		for (size_t i = 0; i < got; i += 97) {
			const uint8_t *p;

			check(pw_translate(&m, va + i, guest_vmem_read_phys, &g, &t) == PW_OK);
			p = guest_ram_ptr(&g, t.pa, 1);
			check(p && *p == buf[i]);
		}
	} else {
		check(why != NULL);
	}
	guest_ram_unmap(&g);
	return 0;
}
