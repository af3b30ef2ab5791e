/* SPDX-License-Identifier: MIT */
/* session_int.h - the debugger engine's state, shared by session.c (link, pump, requests)
 * and session_ops.c (API wrappers, run control, breakpoints). Not for other users. */
#ifndef VMKD_HOST_SESSION_INT_H
#define VMKD_HOST_SESSION_INT_H

#include "session.h"

#define RXQ_LEN 64            /* delivered packets waiting to be served */
#define TXQ_LEN 8             /* packets waiting for the link (stop-and-wait: one at a time) */
#define OUT_MAX (1u << 20)    /* unsent bytes beyond this mean the peer stopped reading */
#define MAX_MODULES 4096

#define MANIPULATE_HDR ((size_t)sizeof(struct kd_manipulate_state64))
#define STATE_CHANGE_HDR ((size_t)sizeof(struct kd_wait_state_change64))

struct rx_packet {
	uint16_t type;
	size_t len;
	uint8_t payload[KD_MAX_PAYLOAD];
};

struct tx_packet {
	uint64_t tag;
	uint16_t type;
	size_t len;
	uint8_t payload[KD_MAX_PAYLOAD];
};

enum wait_result {
	WAIT_PENDING = -1,
};

struct session {
	int fd;
	int dead;
	char *spec;                       /* the endpoint dialled, for session_reconnect */
	struct session_options opt;
	uint64_t timeout_us;
	uint64_t t0;

	struct kd_link link;
	struct kd_link_ops ops;

	uint8_t *out;                     /* bytes for the peer not yet accepted by the socket */
	size_t out_len, out_cap;
	/* Fewer writes, fewer wake-ups of the peer: what the link writes while it takes one
	 * read goes out in one write at the end of that pump round, and with defer_ack (set
	 * between the requests of one multi-request read) the ACK of a reply waits to leave
	 * with the next request. session_flush() sends what is held. */
	int holding;
	int defer_ack;

	struct rx_packet *rxq;            /* ring */
	size_t rx_head, rx_count;
	struct tx_packet *txq;            /* ring */
	size_t tx_head, tx_count;
	uint64_t next_tag;
	uint64_t inflight_tag;            /* packet inside the link, 0 = none */
	uint64_t inflight_deadline;
	uint64_t wait_tag;                /* packet whose acknowledgement a caller awaits */
	int wait_result;                  /* WAIT_PENDING or enum kd_send_result */

	/* The request awaiting its reply. */
	int awaiting;
	struct kd_manipulate_state64 await_req; /* as sent: the reply must echo it */
	uint64_t generation;              /* requests sent; the tag in await_req.pad */
	int have_reply;
	int reply_err;
	struct kd_manipulate_state64 reply;
	uint8_t *reply_data;
	size_t reply_cap, reply_len;

	enum session_target_state state;
	int target_gone;                  /* the relay reported its guest disconnected */
	struct session_stop stop;
	int stop_unreported;
	uint64_t int3_skipped_seq;        /* stop whose hard-coded int3 was already skipped */
	uint64_t autocont_tag;            /* the last automatic continue (module loads) */

	struct session_module *mods;
	size_t nmods, mods_cap;
	struct session_bp bps[SESSION_MAX_BPS];
	size_t nbps;
	int next_bp_id;

	int trace_on;
	struct kd_parser trace_rx, trace_tx;
	struct session_stats st;
	char err[512];
	uint8_t scratch[KD_MAX_PAYLOAD];
	uint8_t rdbuf[16384];
};

/* Ends defer_ack and writes what the session holds for the peer. */
void session_flush(struct session *s);

/* Sets the session's error message and returns rc. */
int session_fail(struct session *s, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
