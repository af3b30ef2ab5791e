/* SPDX-License-Identifier: MIT */
/* kd_packet.h - KD packet codec: checksum, building data and control packets. Freestanding. */
#ifndef VMKD_KD_PACKET_H
#define VMKD_KD_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "vmkd/kd_wire.h"

/* Byte sum of the payload, modulo 2^32 (KD checksum). */
uint32_t kd_checksum(const void *buf, size_t len);

/* Adds len bytes to a running checksum (for payloads built from several parts). */
uint32_t kd_checksum_update(uint32_t sum, const void *buf, size_t len);

/*
 * Builds a data packet: 16-byte header, header bytes, data bytes, trailer 0xAA.
 * Returns the total number of bytes written to out, or 0 if hdr_len + data_len exceeds
 * KD_MAX_PAYLOAD or out_cap is too small. Either part may be empty (NULL, 0).
 */
size_t kd_packet_build(uint8_t *out, size_t out_cap, uint16_t type, uint32_t id,
		       const void *hdr, size_t hdr_len, const void *data, size_t data_len);

/* Builds a 16-byte control packet (ACK / RESEND / RESET). Returns KD_HEADER_SIZE. */
size_t kd_control_build(uint8_t out[KD_HEADER_SIZE], uint16_t type, uint32_t id);

/* Reads a little-endian header from 16 bytes. */
void kd_header_decode(struct kd_packet_header *hdr, const uint8_t raw[KD_HEADER_SIZE]);

/* Packet-type name ("STATE_MANIPULATE", ...) or "UNKNOWN". */
const char *kd_packet_type_name(uint32_t type);

#endif
