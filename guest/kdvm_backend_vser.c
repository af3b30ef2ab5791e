/* SPDX-License-Identifier: MIT */
/* The virtio-serial backend of the channel seam: thin calls into virtio_serial.c. */
#include "kdvm_backend.h"

static int tx_reserve(void *be, uint32_t len, uint8_t **buf)
{
	return vser_tx_reserve(be, len, buf);
}

static void tx_submit(void *be, uint32_t len)
{
	vser_tx_submit(be, len);
}

static int tx_submit_batched(void *be, uint32_t len)
{
	return vser_tx_submit_batched(be, len);
}

static void tx_kick(void *be)
{
	vser_tx_kick(be);
}

static void tx_reclaim(void *be)
{
	vser_tx_reclaim(be);
}

static uint32_t tx_in_flight(void *be)
{
	return vser_tx_in_flight(be);
}

static uint64_t tx_lost(void *be)
{
	return ((struct vser *)be)->stats.tx_lost;
}

static uint32_t tx_lost_frames(void *be, const uint8_t **bytes, int take)
{
	return take ? vser_tx_take_lost(be, bytes) : vser_tx_peek_lost(be, bytes);
}

static int broken(void *be)
{
	return ((struct vser *)be)->broken;
}

static int rx_next(void *be, const uint8_t **data, uint32_t *len, uint16_t *id)
{
	return vser_rx_next(be, data, len, id);
}

static void rx_release(void *be, uint16_t id)
{
	vser_rx_release(be, id);
}

static int rx_pending(void *be)
{
	return vser_rx_pending(be);
}

static int host_open(void *be)
{
	return vser_host_open(be);
}

static uint32_t open_generation(void *be)
{
	return ((struct vser *)be)->open_generation;
}

static void poll_control(void *be)
{
	vser_poll_control(be);
}

static enum vser_check check(void *be, int force)
{
	return vser_check(be, force);
}

static enum vser_check check_quick(void *be)
{
	return vser_check_quick(be);
}

static void shutdown_(void *be)
{
	vser_shutdown(be);
}

static struct guest_io *io(void *be)
{
	return &((struct vser *)be)->io;
}

const struct kdvm_backend kdvm_backend_vser = {
	.name = "virtio-serial",
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
