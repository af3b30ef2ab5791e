/* SPDX-License-Identifier: MIT */
/* Guest<->relay frames: push parser with magic resynchronisation, and builders. */
#include "vmkd/vmkd_frame_parser.h"

#include "vmkd/kd_bytes.h"

#define HDR_SIZE sizeof(struct vmkd_frame_header)

void vmkd_frame_parser_init(struct vmkd_frame_parser *p)
{
	p->state = VMKD_FP_HEADER;
	p->got = 0;
	p->stats = (struct vmkd_frame_parser_stats){ 0 };
}

static void decode_header(struct vmkd_frame_header *h, const uint8_t *raw)
{
	h->magic = kd_get_le32(raw);
	h->version = raw[4];
	h->type = raw[5];
	h->flags = kd_get_le16(raw + 6);
	h->length = kd_get_le32(raw + 8);
	h->seq = kd_get_le32(raw + 12);
}

/* What the parser accepts: its magic and version, a known type, a payload in bounds. */
static int header_ok(const struct vmkd_frame_header *h)
{
	return h->magic == VMKD_FRAME_MAGIC && h->version == VMKD_FRAME_VERSION &&
	       h->length <= VMKD_FRAME_MAX_PAYLOAD && h->type != 0 && h->type < VMKD_FRAME_TYPE_MAX;
}

/* Drops the first collected byte and keeps the rest: the magic may start inside them. */
static void slide(struct vmkd_frame_parser *p)
{
	for (size_t i = 1; i < p->got; i++)
		p->header[i - 1] = p->header[i];
	p->got--;
	p->stats.skipped_bytes++;
}

/* Returns 1 when the collected header is good, 0 when it was rejected (and slid). */
static int check_header(struct vmkd_frame_parser *p)
{
	decode_header(&p->hdr, p->header);
	if (p->hdr.magic != VMKD_FRAME_MAGIC) {
		slide(p);
		return 0;
	}
	if (p->hdr.version != VMKD_FRAME_VERSION) {
		p->stats.bad_version++;
		slide(p);
		return 0;
	}
	if (p->hdr.length > VMKD_FRAME_MAX_PAYLOAD) {
		p->stats.bad_length++;
		slide(p);
		return 0;
	}
	if (p->hdr.type == 0 || p->hdr.type >= VMKD_FRAME_TYPE_MAX) {
		p->stats.bad_type++;
		slide(p);
		return 0;
	}
	return 1;
}

static void emit(struct vmkd_frame_parser *p, struct vmkd_frame *out)
{
	out->complete = 1;
	out->hdr = p->hdr;
	out->payload = p->hdr.length ? p->payload : NULL;
	out->payload_len = p->hdr.length;
	p->stats.frames++;
	p->state = VMKD_FP_HEADER;
	p->got = 0;
}

/* A whole header at the start of buf, taken in one step: the byte-wise path below costs
 * tens of instructions per byte, which matters where guest code is emulated. Returns 1 when
 * it was taken; 0 leaves everything (bad magic included) to the byte-wise path, so
 * resynchronisation and the error counters work exactly as there. */
static int take_header(struct vmkd_frame_parser *p, const uint8_t *buf)
{
	struct vmkd_frame_header h;

	decode_header(&h, buf);
	if (!header_ok(&h))
		return 0;
	p->hdr = h;
	return 1;
}

size_t vmkd_frame_decode(const uint8_t *buf, size_t len, struct vmkd_frame *out)
{
	struct vmkd_frame_header h;

	out->complete = 0;
	if (len < HDR_SIZE)
		return 0;
	decode_header(&h, buf);
	if (!header_ok(&h) || h.length > len - HDR_SIZE)
		return 0;
	out->complete = 1;
	out->hdr = h;
	out->payload = h.length ? buf + HDR_SIZE : NULL;
	out->payload_len = h.length;
	return HDR_SIZE + h.length;
}

static size_t feed(struct vmkd_frame_parser *p, const uint8_t *buf, size_t len,
		   struct vmkd_frame *out, int in_place)
{
	size_t i = 0;

	out->complete = 0;
	out->payload = NULL;
	out->payload_len = 0;
	while (i < len && !out->complete) {
		if (p->state == VMKD_FP_HEADER) {
			if (p->got == 0 && len - i >= HDR_SIZE && take_header(p, buf + i)) {
				i += HDR_SIZE;
				if (p->hdr.length == 0) {
					emit(p, out);
					continue;
				}
				/* The whole payload is here too: no copy, when the caller
				 * keeps buf for as long as it uses the frame. */
				if (in_place && len - i >= p->hdr.length) {
					emit(p, out);
					out->payload = buf + i;
					i += out->payload_len;
					continue;
				}
				p->state = VMKD_FP_PAYLOAD;
				continue;
			}
			p->header[p->got++] = buf[i++];
			/* Reject a wrong magic as early as its first wrong byte. */
			while (p->got && p->got <= 4 &&
			       p->header[p->got - 1] != (uint8_t)(VMKD_FRAME_MAGIC >> (8 * (p->got - 1))))
				slide(p);
			if (p->got < HDR_SIZE || !check_header(p))
				continue;
			if (p->hdr.length == 0) {
				emit(p, out);
				continue;
			}
			p->state = VMKD_FP_PAYLOAD;
			p->got = 0;
			continue;
		}
		{
			size_t take = p->hdr.length - p->got;

			if (take > len - i)
				take = len - i;
			kd_memcpy(p->payload + p->got, buf + i, take);
			p->got += take;
			i += take;
			if (p->got == p->hdr.length)
				emit(p, out);
		}
	}
	p->stats.bytes += i;
	return i;
}

size_t vmkd_frame_parser_feed(struct vmkd_frame_parser *p, const uint8_t *buf, size_t len,
			      struct vmkd_frame *out)
{
	return feed(p, buf, len, out, 0);
}

size_t vmkd_frame_parser_feed_in_place(struct vmkd_frame_parser *p, const uint8_t *buf,
				       size_t len, struct vmkd_frame *out)
{
	return feed(p, buf, len, out, 1);
}

static void put_header(uint8_t *out, uint8_t type, uint32_t seq, uint32_t length)
{
	kd_put_le32(out, VMKD_FRAME_MAGIC);
	out[4] = VMKD_FRAME_VERSION;
	out[5] = type;
	kd_put_le16(out + 6, 0);
	kd_put_le32(out + 8, length);
	kd_put_le32(out + 12, seq);
}

size_t vmkd_frame_build(uint8_t *out, size_t out_cap, uint8_t type, uint32_t seq,
			const void *part1, size_t len1, const void *part2, size_t len2)
{
	size_t total;

	if (len1 > VMKD_FRAME_MAX_PAYLOAD || len2 > VMKD_FRAME_MAX_PAYLOAD ||
	    len1 + len2 > VMKD_FRAME_MAX_PAYLOAD)
		return 0;
	total = HDR_SIZE + len1 + len2;
	if (out_cap < total)
		return 0;
	put_header(out, type, seq, (uint32_t)(len1 + len2));
	if (len1)
		kd_memcpy(out + HDR_SIZE, part1, len1);
	if (len2)
		kd_memcpy(out + HDR_SIZE + len1, part2, len2);
	return total;
}

size_t vmkd_frame_build_kd(uint8_t *out, size_t out_cap, uint32_t seq, uint16_t packet_type,
			   const void *hdr, size_t hdr_len, const void *data, size_t data_len)
{
	size_t kd_len = hdr_len + data_len;
	size_t total = HDR_SIZE + sizeof(struct vmkd_kd_packet) + kd_len;
	uint8_t *p = out + HDR_SIZE;

	if (hdr_len > KD_MAX_PAYLOAD || data_len > KD_MAX_PAYLOAD || kd_len > KD_MAX_PAYLOAD ||
	    out_cap < total)
		return 0;
	kd_put_le16(p, packet_type);
	kd_put_le16(p + 2, 0);
	kd_put_le32(p + 4, (uint32_t)kd_len);
	if (hdr_len)
		kd_memcpy(p + sizeof(struct vmkd_kd_packet), hdr, hdr_len);
	if (data_len)
		kd_memcpy(p + sizeof(struct vmkd_kd_packet) + hdr_len, data, data_len);
	put_header(out, VMKD_FRAME_KD_PACKET, seq,
		   (uint32_t)(sizeof(struct vmkd_kd_packet) + kd_len));
	return total;
}

int vmkd_frame_parse_kd(const uint8_t *payload, size_t len, uint16_t *packet_type,
			const uint8_t **kd, size_t *kd_len)
{
	uint32_t n;

	if (len < sizeof(struct vmkd_kd_packet))
		return -1;
	n = kd_get_le32(payload + 4);
	if (n > KD_MAX_PAYLOAD || n != len - sizeof(struct vmkd_kd_packet))
		return -1;
	*packet_type = kd_get_le16(payload);
	*kd = payload + sizeof(struct vmkd_kd_packet);
	*kd_len = n;
	return 0;
}
