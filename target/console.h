/* SPDX-License-Identifier: MIT */
/*
 * console.h - the human-readable console (one of the COM ports) and a small printf.
 *
 * Formats: %d %i %u %x %X %o %c %s %p %%, length modifiers hh h l ll z t j, flags '-' '0'
 * '+' ' ' '#', width and precision (numbers or '*'). No floating point.
 */
#ifndef VMKD_TARGET_CONSOLE_H
#define VMKD_TARGET_CONSOLE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Selects the console port (uart_init is the caller's job). Before this, COM2. */
void console_init(uint16_t port);
uint16_t console_port(void);

void console_write(const char *s, size_t len);

int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kvprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Like snprintf: always terminates (size > 0), returns the length the full output needs. */
int ksnprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* The formatting engine itself, for other sinks (e.g. DbgPrint text into a KD packet):
 * emit(opaque, chunk, len) is called with pieces of output; returns the total length. */
typedef void (*kformat_emit_fn)(void *opaque, const char *chunk, size_t len);
int kvformat(kformat_emit_fn emit, void *opaque, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
