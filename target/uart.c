/* SPDX-License-Identifier: MIT */
/* uart.c - polled 16550 (COM1/COM2) driver. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu.h"
#include "uart.h"

/* Register offsets from the base port. */
#define UART_RBR 0 /* receive buffer (read) */
#define UART_THR 0 /* transmit holding (write) */
#define UART_DLL 0 /* divisor low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1 /* divisor high (DLAB=1) */
#define UART_FCR 2 /* FIFO control (write) */
#define UART_IIR 2 /* interrupt identification (read) */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_SCR 7

#define LCR_8N1  0x03
#define LCR_DLAB 0x80
#define FCR_ENABLE_CLEAR 0x07 /* FIFOs on, both cleared, RX trigger at 1 byte */
#define MCR_DTR_RTS 0x03      /* OUT2 stays off: the IRQ line is never used */
#define LSR_DR   0x01         /* data ready */
#define LSR_THRE 0x20         /* transmit holding register (or FIFO) empty */
#define LSR_TEMT 0x40         /* transmitter completely idle */
#define IIR_FIFO_MASK 0xc0

#define UART_CLOCK_BAUD 115200u
#define FIFO_DEPTH 16u

/* Per-port state, indexed by which of the two standard bases it is. */
struct uart_state {
	bool absent; /* uart_init found nothing; before uart_init a port is assumed present */
	bool fifo;   /* 16550A FIFO confirmed on */
};

static struct uart_state uart_states[2];

static struct uart_state *uart_state(uint16_t base)
{
	static struct uart_state other; /* any non-standard base: assume a plain 16450 */

	if (base == COM1_BASE)
		return &uart_states[0];
	if (base == COM2_BASE)
		return &uart_states[1];
	other.absent = false;
	other.fifo = false;
	return &other;
}

bool uart_init(uint16_t base, uint32_t baud)
{
	struct uart_state *st = uart_state(base);
	uint32_t div = baud ? UART_CLOCK_BAUD / baud : 1;

	/* The scratch register round trip tells an absent port (reads 0xff) from a real one. */
	outb(base + UART_SCR, 0x5a);
	st->absent = inb(base + UART_SCR) != 0x5a;
	if (st->absent)
		return false;
	if (div == 0)
		div = 1;
	outb(base + UART_IER, 0);
	outb(base + UART_LCR, LCR_DLAB);
	outb(base + UART_DLL, (uint8_t)div);
	outb(base + UART_DLM, (uint8_t)(div >> 8));
	outb(base + UART_LCR, LCR_8N1);
	outb(base + UART_FCR, FCR_ENABLE_CLEAR);
	outb(base + UART_MCR, MCR_DTR_RTS);
	st->fifo = (inb(base + UART_IIR) & IIR_FIFO_MASK) == IIR_FIFO_MASK;
	/* Clearing the FIFO drops what QEMU had queued without telling its chardev, which
	 * stopped reading the socket while the receiver was full: under KVM (no main-loop
	 * wake-ups from the vCPU) reception then stalls for good. Reading RBR makes QEMU
	 * accept input again. */
	(void)inb(base + UART_RBR);
	return true;
}

bool uart_can_write(uint16_t base)
{
	return (inb(base + UART_LSR) & LSR_THRE) != 0;
}

void uart_put(uint16_t base, uint8_t c)
{
	if (uart_state(base)->absent)
		return;
	while (!uart_can_write(base))
		cpu_relax();
	outb(base + UART_THR, c);
}

void uart_write(uint16_t base, const void *buf, size_t len)
{
	const struct uart_state *st = uart_state(base);
	const uint8_t *p = buf;
	size_t burst = st->fifo ? FIFO_DEPTH : 1;

	if (st->absent)
		return;
	while (len) {
		size_t n = len < burst ? len : burst;

		/* THRE with the FIFO on means the whole FIFO is empty, so n bytes fit. */
		while (!uart_can_write(base))
			cpu_relax();
		len -= n;
		while (n--)
			outb(base + UART_THR, *p++);
	}
}

int uart_try_get(uint16_t base)
{
	if (uart_state(base)->absent)
		return -1;
	if (!(inb(base + UART_LSR) & LSR_DR))
		return -1;
	return inb(base + UART_RBR);
}

void uart_flush(uint16_t base)
{
	if (uart_state(base)->absent)
		return;
	while (!(inb(base + UART_LSR) & LSR_TEMT))
		cpu_relax();
}
