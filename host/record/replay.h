/* SPDX-License-Identifier: MIT */
/*
 * replay.h - the target side of a recording, played to a debugger (`vmkd replay`).
 *
 * The script is the recording's first debugger session (from its first "debugger
 * connected" event to the next "debugger disconnected"), read from the debugger-side
 * KD_WIRE records as a list of steps:
 *
 *   TARGET    a data packet the relay sent (state change, reply, DbgPrint): sent again
 *   DEBUGGER  a data packet the debugger sent: the next one from the debugger must match
 *   TRIGGER   one or more break-ins / RESETs from the debugger: wait for one
 *
 * Retransmissions are not steps: a target packet sent again before the debugger
 * acknowledged it (same payload), and a debugger packet with the id and payload of the
 * one before. The KDCOM link itself runs live (kd_link, target role): ids, ACKs,
 * RESENDs and RESETs are regenerated, not replayed.
 *
 * Matching a debugger packet: the same packet type; for STATE_MANIPULATE the same API
 * number, then the same bytes but for ReturnStatus (offset 8, which a debugger fills
 * with anything); other types byte for byte. The first mismatch is the divergence.
 * No sockets here: replay_main.c owns them.
 */
#ifndef VMKD_REPLAY_H
#define VMKD_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "vmkd/kd_link.h"

#include "record.h"

enum replay_step_kind {
	REPLAY_TARGET,
	REPLAY_DEBUGGER,
	REPLAY_TRIGGER,
};

struct replay_step {
	enum replay_step_kind kind;
	uint16_t type;
	size_t len;
	const uint8_t *data;  /* into the recording's bytes */
	uint64_t offset;      /* of its record in the file */
};

struct replay_script {
	struct replay_step *steps;
	size_t count, cap;
	size_t targets, debuggers, triggers;
};

/* Builds the script from a reader positioned after the file header. Returns 0, or -1
 * with err (a damaged recording, or no debugger packets in it). */
int replay_script_build(struct replay_script *s, struct record_reader *r, char *err,
			size_t errlen);
void replay_script_free(struct replay_script *s);

enum replay_status {
	REPLAY_RUNNING,
	REPLAY_DIVERGED,  /* msg says how */
	REPLAY_DONE,      /* the debugger left after the last debugger step */
};

struct replay {
	const struct replay_script *s;
	size_t cursor;
	int triggered;        /* a break-in or RESET came, not used yet */
	size_t matched;       /* debugger packets that matched */
	uint64_t now;         /* time of the call being served */
	enum replay_status status;
	char msg[2 * 1100];
	struct kd_link link;
	/* output for the debugger; the owner drains it */
	void (*write)(void *opaque, const uint8_t *buf, size_t len);
	void *opaque;
};

/* Starts a replay for a debugger that just connected (cfg NULL: kdcom's defaults): the link
 * in target role (its first packet carries the SYNC id), the cursor at the first step. */
void replay_start(struct replay *rp, const struct replay_script *s,
		  const struct kd_link_config *cfg,
		  void (*write)(void *opaque, const uint8_t *buf, size_t len), void *opaque,
		  uint64_t now);
void replay_input(struct replay *rp, const uint8_t *buf, size_t len, uint64_t now);
void replay_poll(struct replay *rp, uint64_t now);
uint64_t replay_deadline(const struct replay *rp);
/* The debugger went away: DONE if no debugger step is left, else DIVERGED. */
void replay_debugger_gone(struct replay *rp);

#endif
