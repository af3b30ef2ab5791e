/* SPDX-License-Identifier: MIT */
/* Little-endian loads/stores and tiny mem helpers for the protocol core. Private to lib/kd:
 * the core also builds freestanding, where libc may be absent, so it carries its own. */
#ifndef VMKD_KD_BYTES_H
#define VMKD_KD_BYTES_H

#include <stddef.h>
#include <stdint.h>

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

/* On x86-64 (every vmkd build: host, test kernel, kdvm.dll) a copy is one rep movsb. That
 * matters where guest ring-0 code is emulated instruction by instruction (software KVM):
 * a byte loop costs several emulated instructions per byte, the string instruction one. */
static inline void kd_memcpy(void *dst, const void *src, size_t n)
{
#if defined(__x86_64__)
	__asm__ __volatile__("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
#else
	uint8_t *d = dst;
	const uint8_t *s = src;

	while (n--)
		*d++ = *s++;
#endif
}

static inline void kd_memset(void *dst, int c, size_t n)
{
#if defined(__x86_64__)
	__asm__ __volatile__("rep stosb" : "+D"(dst), "+c"(n) : "a"(c) : "memory");
#else
	uint8_t *d = dst;

	while (n--)
		*d++ = (uint8_t)c;
#endif
}

#endif
