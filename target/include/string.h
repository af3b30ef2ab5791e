/* SPDX-License-Identifier: MIT */
/*
 * string.h - the test kernel's own mini libc (libc.c). target.mk puts target/include first
 * on the include path, so freestanding code (this kernel and lib/kd built for it) gets these
 * declarations instead of the host's.
 */
#ifndef VMKD_TARGET_STRING_H
#define VMKD_TARGET_STRING_H

#include <stddef.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);

/* -ffreestanding turns off the builtins; bring the common ones back so small constant-size
 * copies are inlined. gcc still calls the functions above for the rest. */
#define memcpy(d, s, n)  __builtin_memcpy((d), (s), (n))
#define memset(d, c, n)  __builtin_memset((d), (c), (n))
#define memcmp(a, b, n)  __builtin_memcmp((a), (b), (n))
#define strlen(s)        __builtin_strlen((s))

#endif
