/* SPDX-License-Identifier: MIT */
/*
 * The ivshmem backend of the channel seam (guest/ivshmem.c underneath). Nothing is in
 * flight once submitted: the bytes are in shared memory the relay reads whatever the guest
 * does next. The host side is "open" for the life of the VM (QEMU cannot reconnect to a
 * restarted ivshmem server), so the link restarts only on the core's own reset or a resume.
 */
#include "ivshmem.h"
#include "kdvm_backend.h"

static int tx_reserve(void *be, uint32_t len, uint8_t **buf)
{
	struct ivs *v = be;

	if (len > sizeof(v->txbuf) || vmkd_shmring_writable(&v->tx) < len)
		return -1;
	*buf = v->txbuf;
	return 0;
}

static void tx_submit(void *be, uint32_t len)
{
	struct ivs *v = be;

	/* Room was there at reserve and only grows (we are the only producer). */
	ivs_send(v, v->txbuf, len);
}

/* The doorbell stays one per frame here: the relay polls the ring while it is busy. */
static int tx_submit_batched(void *be, uint32_t len)
{
	tx_submit(be, len);
	return 0;
}

static void tx_kick(void *be)
{
	(void)be;
}

static void tx_reclaim(void *be)
{
	(void)be;
}

static uint32_t tx_in_flight(void *be)
{
	(void)be;
	return 0;
}

static uint64_t tx_lost(void *be)
{
	(void)be;
	return 0;
}

/* The rings live in memory the reset does not touch: nothing is lost to keep. */
static uint32_t tx_lost_frames(void *be, const uint8_t **bytes, int take)
{
	(void)be, (void)take;
	*bytes = 0;
	return 0;
}

static int broken(void *be)
{
	(void)be;
	return 0;
}

static int rx_next(void *be, const uint8_t **data, uint32_t *len, uint16_t *id)
{
	struct ivs *v = be;
	size_t n = ivs_recv(v, v->rxbuf, sizeof(v->rxbuf));

	if (!n)
		return 0;
	*data = v->rxbuf;
	*len = (uint32_t)n;
	*id = 0;
	return 1;
}

static void rx_release(void *be, uint16_t id)
{
	(void)be;
	(void)id;
}

static int rx_pending(void *be)
{
	return ivs_readable(be);
}

static int host_open(void *be)
{
	(void)be;
	return 1;
}

static uint32_t open_generation(void *be)
{
	return ((struct ivs *)be)->layout.generation;
}

static void poll_control(void *be)
{
	(void)be;
}

static enum vser_check from_ivs(enum ivs_check c)
{
	return c == IVS_CHECK_OK ? VSER_CHECK_OK :
	       c == IVS_CHECK_REPAIRED ? VSER_CHECK_FIXED : VSER_CHECK_LOST;
}

/* force (a resume): nothing to set up again, but the link starts over (HELLO), and bytes
 * the relay wrote before are dropped as at init. */
static enum vser_check check(void *be, int force)
{
	struct ivs *v = be;
	enum vser_check r = from_ivs(ivs_check(v));

	if (force && r != VSER_CHECK_LOST) {
		vmkd_shmring_discard(&v->rx);
		return VSER_CHECK_RESET;
	}
	return r;
}

/* One port read: the command register's memory decode bit. */
static enum vser_check check_quick(void *be)
{
	struct ivs *v = be;

	if (pci_read16(&v->io, v->pci, PCI_COMMAND) & PCI_COMMAND_MEMORY)
		return VSER_CHECK_OK;
	return from_ivs(ivs_check(v));
}

static void shutdown_(void *be)
{
	(void)be; /* no DMA, no device state: the memory stays as it is */
}

static struct guest_io *io(void *be)
{
	return &((struct ivs *)be)->io;
}

const struct kdvm_backend kdvm_backend_ivs = {
	.name = "ivshmem",
	.tx_reserve = tx_reserve,
	.tx_submit = tx_submit,
	.tx_submit_batched = tx_submit_batched,
	.tx_kick = tx_kick,
	.tx_reclaim = tx_reclaim,
	.tx_in_flight = tx_in_flight,
	.tx_lost = tx_lost,
	.tx_lost_frames = tx_lost_frames,
	.broken = broken,
	.rx_next = rx_next,
	.rx_release = rx_release,
	.rx_pending = rx_pending,
	.host_open = host_open,
	.open_generation = open_generation,
	.poll_control = poll_control,
	.check = check,
	.check_quick = check_quick,
	.shutdown = shutdown_,
	.io = io,
};
