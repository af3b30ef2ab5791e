/* SPDX-License-Identifier: MIT */
/* Little-endian loads/stores and tiny mem helpers for the protocol core and the other
 * freestanding layers (target/kd, guest/): where libc may be absent they carry their own. */
#ifndef VMKD_KD_BYTES_H
#define VMKD_KD_BYTES_H

#include <stddef.h>
#include <stdint.h>
#if __STDC_HOSTED__
#include <string.h>
#endif

static inline uint16_t kd_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t kd_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static inline uint64_t kd_get_le64(const uint8_t *p)
{
	return (uint64_t)kd_get_le32(p) | ((uint64_t)kd_get_le32(p + 4) << 32);
}

static inline void kd_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void kd_put_le32(uint8_t *p, uint32_t v)
{
	kd_put_le16(p, (uint16_t)v);
	kd_put_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void kd_put_le64(uint8_t *p, uint64_t v)
{
	kd_put_le32(p, (uint32_t)v);
	kd_put_le32(p + 4, (uint32_t)(v >> 32));
}

/* The value of a hex digit (either case), or -1. */
static inline int kd_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* In the freestanding x86-64 builds (test kernel, kdvm.dll) a copy is a string instruction. That
 * matters where guest ring-0 code is emulated instruction by instruction (software KVM):
 * a byte loop costs several emulated instructions per byte, the string instruction one. */
static inline void kd_memcpy(void *dst, const void *src, size_t n)
{
#if __STDC_HOSTED__
	/* Host builds: libc's, which the sanitizers see (inline asm they do not). A zero-length
	 * copy may come with NULL pointers, which memcpy does not allow. */
	if (n)
		memcpy(dst, src, n);
#elif defined(__x86_64__)
	/* Quadwords first: an emulator that charges per iteration does an eighth of the work. */
	size_t quads = n / 8, tail = n % 8;

	__asm__ __volatile__("rep movsq" : "+D"(dst), "+S"(src), "+c"(quads) : : "memory");
	__asm__ __volatile__("rep movsb" : "+D"(dst), "+S"(src), "+c"(tail) : : "memory");
#else
	uint8_t *d = dst;
	const uint8_t *s = src;

	while (n--)
		*d++ = *s++;
#endif
}

static inline void kd_memset(void *dst, int c, size_t n)
{
#if __STDC_HOSTED__
	if (n)
		memset(dst, c, n);
#elif defined(__x86_64__)
	uint64_t pattern = 0x0101010101010101ull * (uint8_t)c;
	size_t quads = n / 8, tail = n % 8;

	__asm__ __volatile__("rep stosq" : "+D"(dst), "+c"(quads) : "a"(pattern) : "memory");
	__asm__ __volatile__("rep stosb" : "+D"(dst), "+c"(tail) : "a"(pattern) : "memory");
#else
	uint8_t *d = dst;

	while (n--)
		*d++ = (uint8_t)c;
#endif
}

#endif
