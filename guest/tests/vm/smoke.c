/* SPDX-License-Identifier: MIT */
/* The smoke kernels' console, verdict and clock (smoke.h). */
#include "smoke.h"

#include <stddef.h>

#include "guest_x86_io.h"

void smoke_puts(const char *s)
{
	while (*s)
		guest_x86_outb(NULL, SMOKE_COM1, (uint8_t)*s++);
}

void smoke_put_u64(uint64_t v)
{
	/* Digits by subtraction: a 64-bit division would need libgcc. */
	static const uint64_t pow10[] = {
		10000000000000000000ull, 1000000000000000000ull, 100000000000000000ull,
		10000000000000000ull, 1000000000000000ull, 100000000000000ull,
		10000000000000ull, 1000000000000ull, 100000000000ull, 10000000000ull,
		1000000000ull, 100000000ull, 10000000ull, 1000000ull, 100000ull, 10000ull,
		1000ull, 100ull, 10ull, 1ull,
	};
	int started = 0;

	for (size_t i = 0; i < sizeof(pow10) / sizeof(pow10[0]); i++) {
		char d = '0';

		while (v >= pow10[i]) {
			v -= pow10[i];
			d++;
		}
		started |= d != '0' || pow10[i] == 1;
		if (started)
			guest_x86_outb(NULL, SMOKE_COM1, (uint8_t)d);
	}
}

void smoke_put_hex(uint32_t v)
{
	smoke_puts("0x");
	for (int i = 28; i >= 0; i -= 4)
		guest_x86_outb(NULL, SMOKE_COM1, (uint8_t)"0123456789abcdef"[(v >> i) & 0xFu]);
}

void smoke_kv(const char *k, uint64_t v)
{
	smoke_puts(" ");
	smoke_puts(k);
	smoke_puts("=");
	smoke_put_u64(v);
}

void smoke_line(const char *s)
{
	smoke_puts(smoke_name);
	smoke_puts(": ");
	smoke_puts(s);
}

void smoke_finish(int code)
{
	smoke_line(code ? "FAILED\n" : "ok\n");
	guest_x86_outb(NULL, SMOKE_DEBUG_EXIT, (uint8_t)code);
	for (;;)
		__asm__ __volatile__("hlt");
}

void smoke_expect(int ok, const char *what)
{
	smoke_line(ok ? "pass " : "fail ");
	smoke_puts(what);
	smoke_puts("\n");
	if (!ok)
		smoke_finish(1);
}

uint64_t smoke_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

uint64_t smoke_tsc_10ms(void)
{
	uint64_t t0, t1;

	/* Gate on, speaker off; channel 2 one-shot, 11932 ticks = 10 ms; wait for OUT. */
	guest_x86_outb(NULL, 0x61, (uint8_t)((guest_x86_inb(NULL, 0x61) & ~0x02u) | 0x01u));
	guest_x86_outb(NULL, 0x43, 0xB0);
	guest_x86_outb(NULL, 0x42, 11932 & 0xFF);
	guest_x86_outb(NULL, 0x42, 11932 >> 8);
	t0 = smoke_rdtsc();
	while (!(guest_x86_inb(NULL, 0x61) & 0x20))
		;
	t1 = smoke_rdtsc();
	return t1 - t0;
}
