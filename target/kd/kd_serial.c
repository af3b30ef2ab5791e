/* SPDX-License-Identifier: MIT */
/* KDCOM transport: KdSendPacket / KdReceivePacket semantics over the target-role link. */
#include "kd_serial.h"

#include "vmkd/kd_bytes.h"

#define PUMP_CHUNK 256

static void on_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct kd_serial *s = opaque;

	s->io->put(s->io_ctx, buf, len);
}

static void on_deliver(void *opaque, uint16_t type, uint32_t id, const uint8_t *payload,
		       size_t len)
{
	struct kd_serial *s = opaque;

	(void)id;
	if (s->have_packet)
		s->stats.overruns++;
	kd_memcpy(s->rx_payload, payload, len);
	s->rx_type = type;
	s->rx_len = len;
	s->have_packet = 1;
}

static void on_send_done(void *opaque, enum kd_send_result result)
{
	struct kd_serial *s = opaque;

	s->send_finished = 1;
	s->send_result = result;
}

static void on_breakin(void *opaque)
{
	((struct kd_serial *)opaque)->breakin_seen = 1;
}

static void on_reset(void *opaque)
{
	((struct kd_serial *)opaque)->reset_seen = 1;
}

static const struct kd_link_ops serial_link_ops = {
	.write = on_write,
	.deliver = on_deliver,
	.send_done = on_send_done,
	.breakin = on_breakin,
	.reset = on_reset,
};

void kd_serial_init(struct kd_serial *s, const struct kd_byte_io_ops *io, void *io_ctx,
		    volatile uint8_t *debugger_not_present)
{
	struct kd_link_config cfg;

	kd_link_default_config(&cfg);
	cfg.flush_on_reset = 1;
	s->io = io;
	s->io_ctx = io_ctx;
	s->debugger_not_present = debugger_not_present;
	s->receive_timeout_us = 100000;
	s->send_finished = 0;
	s->reset_seen = 0;
	s->breakin_seen = 0;
	s->have_packet = 0;
	s->stats = (struct kd_serial_stats){ 0 };
	kd_link_init(&s->link, KD_ROLE_TARGET, &cfg, &serial_link_ops, s);
}

/* Moves whatever bytes are waiting into the link and runs its timers. Never blocks. */
static void pump(struct kd_serial *s)
{
	uint8_t buf[PUMP_CHUNK];
	uint64_t now;
	size_t n = 0;
	int c;

	while (n < sizeof(buf) && (c = s->io->get(s->io_ctx)) >= 0)
		buf[n++] = (uint8_t)c;
	now = s->io->now_us(s->io_ctx);
	if (n)
		kd_link_input(&s->link, buf, n, now);
	if (now >= kd_link_deadline(&s->link))
		kd_link_poll(&s->link, now);
}

static void serial_send_packet(void *tp, uint32_t type, struct kd_string64 *hdr,
			       struct kd_string64 *data, struct kd_context_block *ctx)
{
	struct kd_serial *s = tp;
	const void *dbuf = data ? (const void *)(uintptr_t)data->buffer : NULL;
	size_t dlen = data ? data->length : 0;

	(void)ctx;
	if (kd_link_busy(&s->link))
		kd_link_cancel(&s->link);
	s->send_finished = 0;
	/* A RESET during the send is handled by the link (it renumbers and retransmits); it
	 * must not make the next KdReceivePacket ask for a resend as well. */
	s->reset_seen = 0;
	if (kd_link_send(&s->link, (uint16_t)type, (const void *)(uintptr_t)hdr->buffer,
			 hdr->length, dbuf, dlen, s->io->now_us(s->io_ctx)) != 0)
		return;
	while (!s->send_finished)
		pump(s);
	s->reset_seen = 0;
	/* kdcom's rule: a state change nobody acknowledges means no debugger is there; a
	 * DbgPrint nobody takes is just dropped. */
	if (s->send_result == KD_SEND_GAVE_UP) {
		s->stats.send_gave_up++;
		if (type != KD_PACKET_TYPE_DEBUG_IO && s->debugger_not_present)
			*s->debugger_not_present = 1;
	}
}

/* Hands the waiting packet to the caller's two buffers the way KdReceivePacket does:
 * the first MaximumLength bytes to the header, the rest to the data. */
static int take_packet(struct kd_serial *s, struct kd_string64 *hdr, struct kd_string64 *data,
		       uint32_t *data_len)
{
	size_t hlen = s->rx_len < hdr->maximum_length ? s->rx_len : hdr->maximum_length;
	size_t dlen = s->rx_len - hlen;
	uint8_t *hbuf = (uint8_t *)(uintptr_t)hdr->buffer;
	uint8_t *dbuf = data ? (uint8_t *)(uintptr_t)data->buffer : NULL;

	s->have_packet = 0;
	if (dlen && (!data || dlen > data->maximum_length)) {
		s->stats.dropped_too_big++;
		return 0;
	}
	kd_memcpy(hbuf, s->rx_payload, hlen);
	kd_memcpy(dbuf, s->rx_payload + hlen, dlen);
	hdr->length = (uint16_t)hlen;
	if (data)
		data->length = (uint16_t)dlen;
	if (data_len)
		*data_len = (uint32_t)dlen;
	return 1;
}

static uint32_t poll_breakin(struct kd_serial *s, struct kd_context_block *ctx)
{
	pump(s);
	s->have_packet = 0; /* a running kernel expects no data packets */
	/* A debugger that speaks again is present again; only 'b' asks the kernel to stop
	 * (WinDbg's RESET on connect does not break into a running system). */
	if ((s->breakin_seen || s->reset_seen) && s->debugger_not_present)
		*s->debugger_not_present = 0;
	s->reset_seen = 0;
	if (s->breakin_seen) {
		s->breakin_seen = 0;
		if (ctx)
			ctx->control_c_pending = 0;
		return KD_STATUS_PACKET_RECEIVED;
	}
	return KD_STATUS_TIMED_OUT;
}

static uint32_t serial_receive_packet(void *tp, uint32_t type, struct kd_string64 *hdr,
				      struct kd_string64 *data, uint32_t *data_len,
				      struct kd_context_block *ctx)
{
	struct kd_serial *s = tp;
	uint64_t deadline;

	if (type == KD_PACKET_TYPE_POLL_BREAKIN)
		return poll_breakin(s, ctx);
	if (!hdr)
		return KD_STATUS_TIMED_OUT;
	deadline = s->io->now_us(s->io_ctx) + s->receive_timeout_us;
	for (;;) {
		pump(s);
		if (s->have_packet) {
			if (s->rx_type == type && take_packet(s, hdr, data, data_len))
				return KD_STATUS_PACKET_RECEIVED;
			if (s->have_packet) {
				s->have_packet = 0;
				s->stats.dropped_wrong_type++;
			}
			continue;
		}
		/* RESET or a break-in byte while the kernel waits: it must send its state
		 * change again (kd-protocol.md 3.3, 3.5). */
		if (s->reset_seen || s->breakin_seen) {
			if (s->breakin_seen && ctx)
				ctx->control_c_pending = 1;
			s->reset_seen = 0;
			s->breakin_seen = 0;
			return KD_STATUS_NEEDS_RESEND;
		}
		if (s->io->now_us(s->io_ctx) >= deadline)
			return KD_STATUS_TIMED_OUT;
	}
}

const struct kd_transport_ops kd_serial_transport = {
	.send_packet = serial_send_packet,
	.receive_packet = serial_receive_packet,
};
