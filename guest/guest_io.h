/* SPDX-License-Identifier: MIT */
/*
 * guest_io.h - counting wrappers around the platform's port I/O. Every in/out of the
 * transport goes through them, so the STATS frame can say how many VM exits the
 * transport caused in total and how many of them happened while it was polling for data
 * (the design goal for the latter is 0).
 */
#ifndef VMKD_GUEST_IO_H
#define VMKD_GUEST_IO_H

#include <stdint.h>

#include "guest_platform.h"

struct guest_io {
	const struct guest_platform *plat;
	uint64_t total;          /* every in/out */
	uint64_t while_polling;  /* in/out issued while a wait loop was active */
	uint64_t notifies;       /* QUEUE_NOTIFY writes (a subset of total) */
	uint32_t polling;        /* > 0 inside a wait loop (see guest_io_poll_begin) */
};

static inline void guest_io_count(struct guest_io *io)
{
	io->total++;
	if (io->polling)
		io->while_polling++;
}

/* Wait loops bracket themselves with these; sends that a loop has to make (a HELLO, an
 * answer to the device) suspend the mark, so only the polling itself is counted. */
static inline uint32_t guest_io_poll_begin(struct guest_io *io)
{
	return io->polling++;
}

static inline void guest_io_poll_end(struct guest_io *io, uint32_t saved)
{
	io->polling = saved;
}

static inline uint32_t guest_io_poll_suspend(struct guest_io *io)
{
	uint32_t saved = io->polling;

	io->polling = 0;
	return saved;
}

static inline uint8_t guest_inb(struct guest_io *io, uint16_t port)
{
	guest_io_count(io);
	return io->plat->inb(io->plat->ctx, port);
}

static inline uint16_t guest_inw(struct guest_io *io, uint16_t port)
{
	guest_io_count(io);
	return io->plat->inw(io->plat->ctx, port);
}

static inline uint32_t guest_inl(struct guest_io *io, uint16_t port)
{
	guest_io_count(io);
	return io->plat->inl(io->plat->ctx, port);
}

static inline void guest_outb(struct guest_io *io, uint16_t port, uint8_t v)
{
	guest_io_count(io);
	io->plat->outb(io->plat->ctx, port, v);
}

static inline void guest_outw(struct guest_io *io, uint16_t port, uint16_t v)
{
	guest_io_count(io);
	io->plat->outw(io->plat->ctx, port, v);
}

static inline void guest_outl(struct guest_io *io, uint16_t port, uint32_t v)
{
	guest_io_count(io);
	io->plat->outl(io->plat->ctx, port, v);
}

#endif
