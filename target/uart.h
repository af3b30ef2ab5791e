/* SPDX-License-Identifier: MIT */
/*
 * uart.h - polled 16550 driver. Every call takes the port's I/O base, so the KD serial
 * transport and the console can sit on either COM port.
 */
#ifndef VMKD_TARGET_UART_H
#define VMKD_TARGET_UART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COM1_BASE 0x3f8
#define COM2_BASE 0x2f8

/* Programs baud (115200 / divisor; 0 means 115200), 8N1, FIFOs on, interrupts off. Returns
 * false when no UART answers at base (then the other calls do nothing / report no data). */
bool uart_init(uint16_t base, uint32_t baud);

/* Sends one byte, waiting for room. */
void uart_put(uint16_t base, uint8_t c);

/* Sends len bytes; with the 16-byte FIFO on it checks the line status once per 16 bytes,
 * which halves the port accesses (each is a VM exit under KVM). */
void uart_write(uint16_t base, const void *buf, size_t len);

/* A received byte (0..255), or -1 when none is waiting. Never blocks. */
int uart_try_get(uint16_t base);

/* True when the transmitter can take a byte now. */
bool uart_can_write(uint16_t base);

/* Waits until everything written has left the transmitter (before an exit). */
void uart_flush(uint16_t base);

#endif
