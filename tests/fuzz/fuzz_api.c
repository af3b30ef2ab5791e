/* SPDX-License-Identifier: MIT */
/*
 * fuzz_api.c - libFuzzer harness for the DBGKD API parsers (lib/kd/kd_api.c) and the trace
 * formatter that reads the same payloads (lib/kd/kd_trace.c). The input is a KD payload as
 * it arrives from an untrusted peer; every parser runs on it, then the properties that make
 * the parsers safe to build on are checked:
 *
 *  - a parser never points *data outside the payload, and data + data_len ends inside it;
 *  - a request the target accepts can be answered: the reply the target's builders make
 *    (read, write, version, header-only) parses back as a valid reply to that very api,
 *    and serialises into one packet;
 *  - the trace line of any payload, either direction, is NUL-terminated inside its buffer.
 *
 * The first input byte picks the expected api of kd_api_parse_reply (low bits) and the
 * trace packet type; the rest is the payload.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vmkd/kd_api.h"
#include "vmkd/kd_packet.h"
#include "vmkd/kd_trace.h"

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

/* *data and *data_len describe a slice of [p, p + len), or nothing. */
static void check_slice(const uint8_t *p, size_t len, const uint8_t *data, size_t data_len)
{
	if (data == NULL) {
		check(data_len == 0);
		return;
	}
	check(data >= p && data <= p + len);
	check(data_len <= (size_t)(p + len - data));
}

static uint8_t pkt[KD_MAX_PACKET_BYTES];
static uint8_t filler[KD_MAX_PAYLOAD];

/* A reply built by the target's builders must parse as a reply to the request's api. */
static void check_answer(const struct kd_api_msg *reply, uint32_t api)
{
	struct kd_manipulate_state64 m;
	const uint8_t *data;
	size_t data_len, n;
	uint8_t payload[KD_MAX_PAYLOAD];

	check(reply->type == KD_PACKET_TYPE_STATE_MANIPULATE);
	check(reply->hdr_len + reply->data_len <= KD_MAX_PAYLOAD);
	n = kd_api_msg_packet(reply, KD_INITIAL_PACKET_ID, pkt, sizeof(pkt));
	check(n == KD_HEADER_SIZE + reply->hdr_len + reply->data_len + 1);
	memcpy(payload, pkt + KD_HEADER_SIZE, n - KD_HEADER_SIZE - 1);
	if (!kd_api_has_reply(api))
		return;
	check(kd_api_parse_reply(payload, n - KD_HEADER_SIZE - 1, api, &m, &data, &data_len) ==
	      KD_API_OK);
	check(m.api_number == api);
}

static void answer_request(const uint8_t *p, size_t len)
{
	struct kd_manipulate_state64 req;
	struct kd_get_version64 ver;
	struct kd_api_msg reply;
	const uint8_t *data;
	size_t data_len;
	enum kd_api_error err = kd_api_parse_request(p, len, &req, &data, &data_len);

	check(err < KD_API_ERR_MAX);
	if (err == KD_API_ERR_SHORT || err == KD_API_ERR_OVERSIZE)
		return;
	check_slice(p, len, data, data_len);
	if (err != KD_API_OK) {
		/* Answerable anyway, with a failure status. */
		kd_api_reply_init(&reply, &req, 0xC0000001u);
		check(kd_api_msg_packet(&reply, KD_INITIAL_PACKET_ID, pkt, sizeof(pkt)) > 0);
		return;
	}
	check(kd_api_lookup(req.api_number) != NULL);
	switch (req.api_number) {
	case KD_API_READ_VIRTUAL_MEMORY:
	case KD_API_READ_PHYSICAL_MEMORY:
	case KD_API_READ_CONTROL_SPACE:
		check(kd_api_read_len(&req) <= KD_MANIPULATE_MAX_DATA);
		kd_api_reply_read(&reply, &req, filler, kd_api_read_len(&req));
		check(reply.data_len == kd_api_read_len(&req));
		break;
	case KD_API_WRITE_VIRTUAL_MEMORY:
	case KD_API_WRITE_PHYSICAL_MEMORY:
	case KD_API_WRITE_CONTROL_SPACE:
		check(data_len == req.u.write_memory.transfer_count);
		kd_api_reply_write(&reply, &req, req.u.write_memory.transfer_count);
		break;
	case KD_API_GET_VERSION:
		memset(&ver, 0, sizeof(ver));
		kd_api_reply_version(&reply, &req, &ver);
		break;
	default:
		/* Header only: a success for an api without reply data, else a failure (which
		 * is always consistent: its counts are the request's echo). */
		kd_api_reply_init(&reply, &req,
				  kd_api_lookup(req.api_number)->flags & KD_API_F_REPLY_DATA ?
					  0xC0000001u : 0);
		break;
	}
	check_answer(&reply, req.api_number);
}

static void trace(const uint8_t *p, size_t len, uint16_t type)
{
	struct kd_packet_header hdr = {
		.leader = KD_PACKET_LEADER,
		.type = type,
		.byte_count = (uint16_t)len,
		.id = KD_INITIAL_PACKET_ID,
		.checksum = kd_checksum(p, len),
	};
	char line[KD_TRACE_LINE_MAX];
	size_t n;

	for (int dir = 0; dir < 2; dir++) {
		memset(line, 0x55, sizeof(line));
		n = kd_trace_format(line, sizeof(line), (enum kd_trace_dir)dir, &hdr, p, len);
		check(n < sizeof(line) && line[n] == '\0' && strlen(line) == n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	static const uint16_t types[] = {
		KD_PACKET_TYPE_STATE_MANIPULATE, KD_PACKET_TYPE_STATE_CHANGE64,
		KD_PACKET_TYPE_DEBUG_IO, KD_PACKET_TYPE_FILE_IO,
	};
	struct kd_manipulate_state64 m;
	struct kd_wait_state_change64 sc;
	struct kd_debug_io io;
	struct kd_file_io fio;
	struct kd_get_version64 ver;
	struct kd_context_amd64 ctx;
	const uint8_t *p, *data;
	const char *path;
	size_t len, data_len, path_len;
	uint32_t expect;
	enum kd_api_error err;

	if (size < 1 || size - 1 > KD_MAX_PAYLOAD + 64)
		return 0;
	expect = 0x3130u + (in[0] & 0x3fu);
	p = in + 1;
	len = size - 1;

	err = kd_api_parse_manipulate(p, len, &m, &data, &data_len);
	check(err == KD_API_OK || err == KD_API_ERR_SHORT || err == KD_API_ERR_OVERSIZE);
	check_slice(p, len, data, data_len);

	err = kd_api_parse_reply(p, len, expect, &m, &data, &data_len);
	check(err < KD_API_ERR_MAX);
	if (err == KD_API_OK) {
		check(m.api_number == expect);
		check(kd_api_check_reply(&m, data_len) == KD_API_OK);
	}
	if (err != KD_API_ERR_SHORT)
		check_slice(p, len, data, data_len);

	check(kd_api_parse_version(p, len, &ver) < KD_API_ERR_MAX);
	check(kd_api_parse_context(p, len, &ctx) < KD_API_ERR_MAX);

	answer_request(p, len);

	err = kd_api_parse_state_change(p, len, &sc, &data, &data_len);
	check(err < KD_API_ERR_MAX);
	if (err == KD_API_OK) {
		check_slice(p, len, data, data_len);
		if (kd_api_state_path(&sc, data, data_len, &path, &path_len) == KD_API_OK)
			check_slice(data, data_len, (const uint8_t *)path, path_len);
	}

	err = kd_api_parse_debug_io(p, len, &io, &data, &data_len);
	check(err < KD_API_ERR_MAX);
	if (err == KD_API_OK)
		check_slice(p, len, data, data_len);

	err = kd_api_parse_file_io(p, len, &fio, &data, &data_len);
	check(err < KD_API_ERR_MAX);
	if (err == KD_API_OK) {
		struct kd_api_msg reply;

		check_slice(p, len, data, data_len);
		kd_api_build_file_io_reply(&reply, &fio);
		check(kd_api_msg_packet(&reply, 1, pkt, sizeof(pkt)) > 0);
	}

	if (len <= 0xffff)
		trace(p, len, types[(in[0] >> 6) & 3]);
	return 0;
}
