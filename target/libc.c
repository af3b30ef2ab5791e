/* SPDX-License-Identifier: MIT */
/* libc.c - memcpy and friends for the freestanding kernel (gcc also emits calls to them). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The builtin macros from string.h must not rename the definitions below. */
#undef memcpy
#undef memset
#undef memcmp
#undef strlen

/* String instructions: short code, and gcc cannot turn them back into calls to the very
 * functions being defined. Quadwords first, then the byte tail: this host's software KVM
 * emulates a rep instruction iteration by iteration, so movsq does an eighth of the work
 * (measured: a maximal KD read through kdvm.dll 12.8 -> 4.9 ms). */
void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	void *d = dst;
	size_t quads = n / 8, tail = n % 8;

	__asm__ __volatile__("rep movsq" : "+D"(d), "+S"(src), "+c"(quads) : : "memory");
	__asm__ __volatile__("rep movsb" : "+D"(d), "+S"(src), "+c"(tail) : : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d == s || n == 0)
		return dst;
	if (d < s || d >= s + n)
		return memcpy(dst, src, n);
	/* Overlap with dst above src: copy backwards (DF=1), then restore DF=0 as the ABI wants. */
	d += n - 1;
	s += n - 1;
	__asm__ __volatile__("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;
	uint64_t pattern = 0x0101010101010101ull * (uint8_t)c;
	size_t quads = n / 8, tail = n % 8;

	__asm__ __volatile__("rep stosq" : "+D"(d), "+c"(quads) : "a"(pattern) : "memory");
	__asm__ __volatile__("rep stosb" : "+D"(d), "+c"(tail) : "a"(pattern) : "memory");
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	const char *p = s;

	while (*p)
		p++;
	return (size_t)(p - s);
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			break;
	}
	return 0;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)(uintptr_t)s; /* C's signature drops const */
		if (!*s)
			return NULL;
	}
}
