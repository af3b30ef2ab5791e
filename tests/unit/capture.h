/* SPDX-License-Identifier: MIT */
/* Test helper: loads the real KD wire captures in shared/captures and splits them into packets. */
#ifndef VMKD_TEST_CAPTURE_H
#define VMKD_TEST_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "vmkd/kd_parser.h"
#include "vmkd/kd_wire.h"

#define CAPTURE_BOOT_ATTACH "kd64-amd64-boot-attach.txt"
#define CAPTURE_LATE_BREAKIN "kd64-amd64-late-breakin.txt"
#define CAPTURE_MISSING_MSG "shared/captures not found: set VMKD_SHARED"

enum capture_dir {
	CAPTURE_TX, /* debugger -> kernel */
	CAPTURE_RX, /* kernel -> debugger */
};

/* One read() or write() of the capture: "[seconds] TX|RX hex bytes...". */
struct capture_line {
	uint64_t t_us;
	enum capture_dir dir;
	uint8_t *bytes;
	size_t len;
};

struct capture {
	struct capture_line *lines;
	size_t n;
};

/* One parser event of either direction, in the order the capture saw them complete. */
struct capture_event {
	size_t line;                 /* index of the line whose bytes completed it */
	enum capture_dir dir;
	enum kd_event_kind kind;
	struct kd_packet_header hdr; /* not for KD_EV_BREAKIN */
	uint8_t *payload;            /* copy, or NULL */
	size_t len;
};

struct capture_events {
	struct capture_event *ev;
	size_t n;
	struct kd_parser_stats stats[2]; /* per enum capture_dir */
};

/* $VMKD_SHARED, else "../shared" (relative to the repo root, where the tests run). */
const char *capture_shared_dir(void);

/* Loads shared/captures/<name>; NULL if the file does not exist. A malformed line fails the
 * running test. */
struct capture *capture_load(const char *name);
void capture_free(struct capture *c);

/* Feeds each direction through its own kd_parser, line by line. */
void capture_events(const struct capture *c, struct capture_events *out);
void capture_events_free(struct capture_events *evs);

/* Events of one direction, kind, and (for DATA/CONTROL) packet type; type -1 = any. */
size_t capture_count(const struct capture_events *evs, enum capture_dir dir,
		     enum kd_event_kind kind, int type);

/* Data packets of one direction and type whose payload starts with this 32-bit number
 * (api number or new state). */
size_t capture_count_api(const struct capture_events *evs, enum capture_dir dir, uint16_t type,
			 uint32_t api);

/* The payload's first 32-bit number, or 0 when shorter. */
uint32_t capture_api(const struct capture_event *ev);

#endif
