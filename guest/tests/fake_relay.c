/* SPDX-License-Identifier: MIT */
/* A scripted relay on the fake device's port. */
#include "fake_relay.h"

#include <stdlib.h>
#include <string.h>

#include "vmkd/kd_bytes.h"

size_t fake_relay_build(struct fake_relay *r, uint8_t *out, size_t cap, uint8_t type,
			const void *payload, size_t len)
{
	return vmkd_frame_build(out, cap, type, r->seq++, payload, len, NULL, 0);
}

size_t fake_relay_build_kd(struct fake_relay *r, uint8_t *out, size_t cap, uint16_t kd_type,
			   const void *kd, size_t len)
{
	return vmkd_frame_build_kd(out, cap, r->seq++, kd_type, kd, len, NULL, 0);
}

void fake_relay_send(struct fake_relay *r, uint8_t type, const void *payload, size_t len)
{
	uint8_t buf[VMKD_FRAME_MAX_BYTES];
	size_t n = fake_relay_build(r, buf, sizeof(buf), type, payload, len);

	fake_host_write(r->f, buf, n);
}

void fake_relay_send_kd(struct fake_relay *r, uint16_t kd_type, const void *kd, size_t len)
{
	uint8_t buf[VMKD_FRAME_MAX_BYTES];
	size_t n = fake_relay_build_kd(r, buf, sizeof(buf), kd_type, kd, len);

	fake_host_write(r->f, buf, n);
}

void fake_relay_send_debugger(struct fake_relay *r, int attached)
{
	struct vmkd_debugger_state d = { .attached = (uint32_t)attached };

	fake_relay_send(r, VMKD_FRAME_DEBUGGER, &d, sizeof(d));
}

static void on_frame(struct fake_relay *r, const struct vmkd_frame *fr)
{
	const uint8_t *kd;
	size_t kd_len;
	uint16_t kd_type;

	if (r->seq_known && fr->hdr.type != VMKD_FRAME_HELLO && fr->hdr.seq != r->last_seq + 1)
		r->seq_gaps++;
	r->seq_known = 1;
	r->last_seq = fr->hdr.seq;
	switch (fr->hdr.type) {
	case VMKD_FRAME_HELLO:
		r->hellos++;
		if (r->auto_ack) {
			struct vmkd_hello h = { .capabilities = VMKD_CAP_KD_PACKETS | r->ack_caps,
						.max_payload = VMKD_FRAME_MAX_PAYLOAD,
						.debugger = (uint32_t)r->debugger };

			memcpy(h.agent, "fake relay", 11);
			fake_relay_send(r, VMKD_FRAME_HELLO_ACK, &h, sizeof(h));
		}
		break;
	case VMKD_FRAME_KD_PACKET:
		if (vmkd_frame_parse_kd(fr->payload, fr->payload_len, &kd_type, &kd, &kd_len))
			break;
		r->kd_packets++;
		r->last_kd_type = kd_type;
		r->last_kd_len = (uint32_t)kd_len;
		memcpy(r->last_kd, kd, kd_len);
		if (r->kd_logged < (int)(sizeof(r->kd_log) / sizeof(r->kd_log[0]))) {
			uint32_t w = 0;

			memcpy(&w, kd, kd_len < 4 ? kd_len : 4);
			r->kd_log[r->kd_logged++] = w;
		}
		if (kd_type == KD_PACKET_TYPE_DEBUG_IO && kd_len >= sizeof(struct kd_debug_io) &&
		    kd_get_le32(kd) == KD_API_PRINT_STRING) {
			size_t n = kd_len - sizeof(struct kd_debug_io);

			if (n > sizeof(r->printed) - 1 - r->printed_len)
				n = sizeof(r->printed) - 1 - r->printed_len;
			memcpy(r->printed + r->printed_len, kd + sizeof(struct kd_debug_io), n);
			r->printed_len += n;
			r->printed[r->printed_len] = '\0';
		}
		if (r->reply_len) {
			size_t n = r->reply_len;

			r->reply_len = 0;
			fake_host_write(r->f, r->reply, n);
		}
		break;
	case VMKD_FRAME_STATS:
		r->stats_frames++;
		if (fr->payload_len == sizeof(r->last_stats))
			memcpy(&r->last_stats, fr->payload, sizeof(r->last_stats));
		break;
	default:
		r->other_frames++;
		break;
	}
}

void fake_relay_poll(struct fake_relay *r)
{
	struct fake_vser *f = r->f;

	while (r->consumed < f->host_rx_len) {
		struct vmkd_frame fr;

		r->consumed += vmkd_frame_parser_feed(&r->parser, f->host_rx + r->consumed,
						      f->host_rx_len - r->consumed, &fr);
		if (fr.complete)
			on_frame(r, &fr);
	}
}

static void tick(struct fake_vser *f, void *arg)
{
	(void)f;
	fake_relay_poll(arg);
}

struct fake_relay *fake_relay_new(struct fake_vser *f, int auto_ack, int debugger)
{
	struct fake_relay *r = calloc(1, sizeof(*r));

	r->f = f;
	r->auto_ack = auto_ack;
	r->debugger = debugger;
	vmkd_frame_parser_init(&r->parser);
	f->on_tick = tick;
	f->hook_arg = r;
	return r;
}

void fake_relay_free(struct fake_relay *r)
{
	if (r->f->on_tick == tick)
		r->f->on_tick = NULL;
	free(r->reply);
	free(r);
}
