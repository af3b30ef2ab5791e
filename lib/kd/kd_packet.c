/* SPDX-License-Identifier: MIT */
/* KD packet codec: checksum and packet construction. */
#include "vmkd/kd_packet.h"

#include "vmkd/kd_bytes.h"

/*
 * The byte sum, eight bytes at a time: the even and odd bytes of each quadword go into four
 * 16-bit lanes, at most 510 a quadword, so a lane holds 128 quadwords before it is folded.
 * About 8x fewer instructions than a byte loop: every 4 KiB packet is summed by its sender
 * and its receiver, on the host and in the guest (whose ring-0 code may be emulated).
 */
#define SUM_QUADS_PER_FOLD 128u
#define SUM_EVEN_BYTES 0x00ff00ff00ff00ffull

uint32_t kd_checksum_update(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len >= 8) {
		size_t quads = len / 8 < SUM_QUADS_PER_FOLD ? len / 8 : SUM_QUADS_PER_FOLD;
		uint64_t lanes = 0, w;

		len -= quads * 8;
		while (quads--) {
			__builtin_memcpy(&w, p, sizeof(w)); /* one unaligned load, also freestanding */
			lanes += (w & SUM_EVEN_BYTES) + ((w >> 8) & SUM_EVEN_BYTES);
			p += 8;
		}
		sum += (uint32_t)((lanes & 0xffff) + ((lanes >> 16) & 0xffff) +
				  ((lanes >> 32) & 0xffff) + (lanes >> 48));
	}
	while (len--)
		sum += *p++;
	return sum;
}

uint32_t kd_checksum(const void *buf, size_t len)
{
	return kd_checksum_update(0, buf, len);
}

static void header_encode(uint8_t *out, uint32_t leader, uint16_t type, uint16_t count,
			  uint32_t id, uint32_t checksum)
{
	kd_put_le32(out + 0, leader);
	kd_put_le16(out + 4, type);
	kd_put_le16(out + 6, count);
	kd_put_le32(out + 8, id);
	kd_put_le32(out + 12, checksum);
}

size_t kd_packet_build(uint8_t *out, size_t out_cap, uint16_t type, uint32_t id,
		       const void *hdr, size_t hdr_len, const void *data, size_t data_len)
{
	size_t payload = hdr_len + data_len;
	uint32_t sum;

	if (hdr_len > KD_MAX_PAYLOAD || data_len > KD_MAX_PAYLOAD || payload > KD_MAX_PAYLOAD)
		return 0;
	if (out_cap < KD_HEADER_SIZE + payload + 1)
		return 0;
	if (hdr_len)
		kd_memcpy(out + KD_HEADER_SIZE, hdr, hdr_len);
	if (data_len)
		kd_memcpy(out + KD_HEADER_SIZE + hdr_len, data, data_len);
	sum = kd_checksum(out + KD_HEADER_SIZE, payload);
	header_encode(out, KD_PACKET_LEADER, type, (uint16_t)payload, id, sum);
	out[KD_HEADER_SIZE + payload] = KD_PACKET_TRAILER;
	return KD_HEADER_SIZE + payload + 1;
}

size_t kd_control_build(uint8_t out[KD_HEADER_SIZE], uint16_t type, uint32_t id)
{
	header_encode(out, KD_CONTROL_LEADER, type, 0, id, 0);
	return KD_HEADER_SIZE;
}

void kd_header_decode(struct kd_packet_header *hdr, const uint8_t raw[KD_HEADER_SIZE])
{
	hdr->leader = kd_get_le32(raw + 0);
	hdr->type = kd_get_le16(raw + 4);
	hdr->byte_count = kd_get_le16(raw + 6);
	hdr->id = kd_get_le32(raw + 8);
	hdr->checksum = kd_get_le32(raw + 12);
}

static const char *const packet_type_names[KD_PACKET_TYPE_MAX] = {
	[KD_PACKET_TYPE_UNUSED] = "UNUSED",
	[KD_PACKET_TYPE_STATE_CHANGE32] = "STATE_CHANGE32",
	[KD_PACKET_TYPE_STATE_MANIPULATE] = "MANIPULATE",
	[KD_PACKET_TYPE_DEBUG_IO] = "DEBUG_IO",
	[KD_PACKET_TYPE_ACKNOWLEDGE] = "ACK",
	[KD_PACKET_TYPE_RESEND] = "RESEND",
	[KD_PACKET_TYPE_RESET] = "RESET",
	[KD_PACKET_TYPE_STATE_CHANGE64] = "STATE_CHANGE",
	[KD_PACKET_TYPE_POLL_BREAKIN] = "POLL_BREAKIN",
	[KD_PACKET_TYPE_TRACE_IO] = "TRACE_IO",
	[KD_PACKET_TYPE_CONTROL_REQUEST] = "CONTROL_REQUEST",
	[KD_PACKET_TYPE_FILE_IO] = "FILE_IO",
};

const char *kd_packet_type_name(uint32_t type)
{
	if (type < KD_PACKET_TYPE_MAX && packet_type_names[type])
		return packet_type_names[type];
	return "UNKNOWN";
}
