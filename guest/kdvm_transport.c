/* SPDX-License-Identifier: MIT */
/* KdSendPacket / KdReceivePacket semantics over the channel. */
#include "kdvm_transport.h"

void kdvm_send_packet(struct kdvm_channel *ch, uint32_t type, const struct kd_string64 *hdr,
		      const struct kd_string64 *data, struct kd_context_block *ctx)
{
	const void *h = hdr ? (const void *)(uintptr_t)hdr->buffer : NULL;
	const void *d = data ? (const void *)(uintptr_t)data->buffer : NULL;
	size_t hl = h ? hdr->length : 0;
	size_t dl = d ? data->length : 0;

	(void)ctx;
	if (!ch)
		return;
	if (type >= KD_PACKET_TYPE_MAX || type == KD_PACKET_TYPE_POLL_BREAKIN) {
		ch->stats.send_dropped++;
		return;
	}
	kdvm_channel_send_kd(ch, (uint16_t)type, h, hl, d, dl);
}

uint32_t kdvm_receive_packet(struct kdvm_channel *ch, uint32_t type, struct kd_string64 *hdr,
			     struct kd_string64 *data, uint32_t *data_len,
			     struct kd_context_block *ctx)
{
	size_t hl = 0, dl = 0;
	void *hb, *db;

	if (type == KD_PACKET_TYPE_POLL_BREAKIN) {
		int brk = ch ? kdvm_channel_poll_breakin(ch) : 0;

		if (brk || (ctx && ctx->control_c_pending))
			return KD_STATUS_PACKET_RECEIVED;
		return KD_STATUS_TIMED_OUT;
	}
	if (!ch || !hdr || type >= KD_PACKET_TYPE_MAX)
		return KD_STATUS_TIMED_OUT;
	hb = (void *)(uintptr_t)hdr->buffer;
	db = data ? (void *)(uintptr_t)data->buffer : NULL;
	switch (kdvm_channel_receive_kd(ch, (uint16_t)type, hb, hb ? hdr->maximum_length : 0, &hl,
					db, db ? data->maximum_length : 0, &dl)) {
	case KDVM_RECV_OK:
		hdr->length = (uint16_t)hl;
		if (data)
			data->length = (uint16_t)dl;
		if (data_len)
			*data_len = (uint32_t)dl;
		return KD_STATUS_PACKET_RECEIVED;
	case KDVM_RECV_BREAKIN:
		/* kdcom: a break-in byte while the kernel waits makes it report again, and
		 * the break stays pending for the next poll. */
		if (ctx)
			ctx->control_c_pending = 1;
		return KD_STATUS_NEEDS_RESEND;
	case KDVM_RECV_RESYNC:
	case KDVM_RECV_GONE:
		return KD_STATUS_NEEDS_RESEND;
	case KDVM_RECV_TIMEOUT:
	default:
		return KD_STATUS_TIMED_OUT;
	}
}
