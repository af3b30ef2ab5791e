/* SPDX-License-Identifier: MIT */
/* The RSP framing: a byte-fed parser with an explicit state and the packet encoder. */
#include "rsp_parser.h"

#include <string.h>

#include "vmkd/kd_bytes.h"

#define RSP_INTERRUPT 0x03
#define RSP_ESCAPE_XOR 0x20
#define RSP_REPEAT_BIAS 29

void rsp_parser_init(struct rsp_parser *p, uint8_t *buf, size_t cap)
{
	memset(p, 0, sizeof(*p));
	p->buf = buf;
	p->cap = cap;
	rsp_parser_reset(p);
}

void rsp_parser_reset(struct rsp_parser *p)
{
	p->state = RSP_IDLE;
	p->len = 0;
	p->sum = 0;
	p->bad = 0;
	p->overflow = 0;
	if (p->cap)
		p->buf[0] = 0;
}

/* One decoded payload byte; a payload that outgrows the buffer is still read to its end
 * (so the stream stays in step) and reported as oversize. */
static void put(struct rsp_parser *p, uint8_t c)
{
	if (p->cap && p->len < p->cap - 1)
		p->buf[p->len++] = c;
	else
		p->overflow = 1;
}

static void start_packet(struct rsp_parser *p)
{
	p->state = RSP_DATA;
	p->len = 0;
	p->sum = 0;
	p->bad = 0;
	p->overflow = 0;
}

/* The checksum's second digit arrived: classify the packet. */
static enum rsp_event_kind finish(struct rsp_parser *p, int lo)
{
	p->state = RSP_IDLE;
	if (lo < 0 || p->bad || (uint8_t)(p->csum | lo) != p->sum) {
		p->stats.bad_packets++;
		return RSP_EV_BAD_PACKET;
	}
	if (p->overflow) {
		p->stats.oversize++;
		return RSP_EV_OVERSIZE;
	}
	if (p->cap)
		p->buf[p->len] = 0;
	p->stats.packets++;
	return RSP_EV_PACKET;
}

size_t rsp_parser_feed(struct rsp_parser *p, const uint8_t *data, size_t len,
		       struct rsp_event *ev)
{
	size_t i;

	ev->kind = RSP_EV_NONE;
	ev->data = NULL;
	ev->len = 0;
	for (i = 0; i < len && ev->kind == RSP_EV_NONE; i++) {
		uint8_t c = data[i];
		int v;

		switch (p->state) {
		case RSP_IDLE:
			if (c == '$')
				start_packet(p);
			else if (c == RSP_INTERRUPT)
				ev->kind = RSP_EV_INTERRUPT, p->stats.interrupts++;
			else if (c == '+')
				ev->kind = RSP_EV_ACK, p->stats.acks++;
			else if (c == '-')
				ev->kind = RSP_EV_NAK, p->stats.naks++;
			else
				p->stats.garbage++;
			break;
		case RSP_DATA:
			if (c == '#') {
				p->state = RSP_CSUM_HI;
				break;
			}
			if (c == '$') { /* a new start inside a packet: the old one was cut */
				p->stats.bad_packets++;
				start_packet(p);
				break;
			}
			p->sum += c;
			if (c == '}')
				p->state = RSP_ESCAPE;
			else if (c == '*')
				p->state = RSP_REPEAT;
			else
				put(p, c);
			break;
		case RSP_ESCAPE:
			p->sum += c;
			put(p, c ^ RSP_ESCAPE_XOR);
			p->state = RSP_DATA;
			break;
		case RSP_REPEAT:
			/* '#' and '$' cannot be counts; a count needs a byte before it. */
			if (c == '#' || c == '$' || c < RSP_REPEAT_BIAS + 3 || c > 126 || !p->len) {
				p->bad = 1;
				if (c == '#') {
					p->state = RSP_CSUM_HI;
					break;
				}
				if (c == '$') {
					p->stats.bad_packets++;
					start_packet(p);
					break;
				}
			} else {
				uint8_t last = p->buf[p->len - 1];

				for (int n = c - RSP_REPEAT_BIAS; n > 0; n--)
					put(p, last);
			}
			p->sum += c;
			p->state = RSP_DATA;
			break;
		case RSP_CSUM_HI:
			v = kd_hex_digit(c);
			if (v < 0)
				p->bad = 1;
			p->csum = (uint8_t)((v < 0 ? 0 : v) << 4);
			p->state = RSP_CSUM_LO;
			break;
		case RSP_CSUM_LO:
			ev->kind = finish(p, kd_hex_digit(c));
			if (ev->kind == RSP_EV_PACKET) {
				ev->data = p->buf;
				ev->len = p->len;
			}
			break;
		}
	}
	return i;
}

static int needs_escape(uint8_t c)
{
	return c == '$' || c == '#' || c == '}' || c == '*';
}

size_t rsp_encode(const void *payload, size_t len, uint8_t *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *in = payload;
	uint8_t sum = 0;
	size_t o = 0;

	if (cap < 4)
		return 0;
	out[o++] = '$';
	for (size_t i = 0; i < len; i++) {
		uint8_t c = in[i];

		if (needs_escape(c)) {
			if (o + 2 > cap - 3)
				return 0;
			out[o++] = '}';
			sum += '}';
			c ^= RSP_ESCAPE_XOR;
		} else if (o + 1 > cap - 3) {
			return 0;
		}
		out[o++] = c;
		sum += c;
	}
	out[o++] = '#';
	out[o++] = (uint8_t)hex[sum >> 4];
	out[o++] = (uint8_t)hex[sum & 0xf];
	return o;
}
