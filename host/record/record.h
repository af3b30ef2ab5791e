/* SPDX-License-Identifier: MIT */
/*
 * record.h - the vmkd recording format (docs/recording.md): a versioned, little-endian
 * binary file of timestamped records, written by `vmkd relay --record` and read by
 * `vmkd trace` and `vmkd replay`.
 *
 *   file header (32 bytes)   "VMKDREC\0", version, header size, flags, start times
 *   record header (16 bytes) type, dir, flags, body length, time (monotonic us)
 *   body                     body length bytes (<= RECORD_MAX_BODY)
 *
 * The reader works on bytes in memory and trusts nothing: every length is checked against
 * the bytes there are, and a bad file gives a clear error with its offset, never a crash.
 */
#ifndef VMKD_RECORD_H
#define VMKD_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RECORD_MAGIC        "VMKDREC" /* 8 bytes with its NUL */
#define RECORD_MAGIC_LEN    8u
#define RECORD_VERSION      1u
#define RECORD_FILE_HEADER  32u
#define RECORD_HEADER       16u
#define RECORD_MAX_BODY     65536u
#define RECORD_NAME_MAX     64u

enum record_type {
	RECORD_START = 1,    /* body: the VM's name (1-63 bytes, no NUL) */
	RECORD_EVENT = 2,    /* body: u32 event code, then text (no NUL) */
	RECORD_KD_WIRE = 3,  /* body: KDCOM bytes on the debugger side (dir 2 or 3) */
	RECORD_GUEST_KD = 4, /* body: u16 KD packet type, u16 0, KD payload (dir 0 or 1) */
	RECORD_TYPE_MAX
};

enum record_dir {
	RECORD_DIR_GUEST_TO_RELAY = 0,
	RECORD_DIR_RELAY_TO_GUEST = 1,
	RECORD_DIR_DEBUGGER_TO_RELAY = 2,
	RECORD_DIR_RELAY_TO_DEBUGGER = 3,
	RECORD_DIR_NONE = 0xff, /* START, EVENT */
};

/* RECORD_KD_WIRE flags */
#define RECORD_FLAG_FRAGMENT 0x0001u /* not one whole packet or break-in byte: garbage, or
				       a packet cut short when the connection ended */

enum record_event {
	RECORD_EV_GUEST_CONNECTED = 1,
	RECORD_EV_GUEST_DISCONNECTED = 2,
	RECORD_EV_GUEST_HELLO = 3,          /* text: the guest agent */
	RECORD_EV_DEBUGGER_CONNECTED = 4,
	RECORD_EV_DEBUGGER_DISCONNECTED = 5,
	RECORD_EV_MAX
};

struct record_file_header {
	uint16_t version;
	uint16_t header_size;   /* >= RECORD_FILE_HEADER: later versions may add fields */
	uint32_t flags;         /* 0 */
	uint64_t start_wall_us; /* UNIX time (us) when the recording started */
	uint64_t start_mono_us; /* the monotonic clock at that moment: records use this clock */
};

struct record {
	uint8_t type;
	uint8_t dir;
	uint16_t flags;
	uint32_t len;
	uint64_t time_us;
	const uint8_t *body;    /* points into the reader's bytes */
	uint64_t offset;        /* of the record header in the file */
};

/* ---- writer ---------------------------------------------------------------------------- */

struct record_writer {
	FILE *f;
	uint64_t records, bytes;
	int failed;             /* a write failed: further records are dropped (counted) */
	uint64_t dropped;
};

/* Creates path (truncating) and writes the file header and a START record. Returns 0, or
 * -1 with errno. */
int record_writer_open(struct record_writer *w, const char *path, const char *vm,
		       uint64_t wall_us, uint64_t mono_us);
/* Writes to an open stream instead (tests, fuzz seeds). */
int record_writer_start(struct record_writer *w, FILE *f, const char *vm, uint64_t wall_us,
			uint64_t mono_us);
/* One record whose body is part1 followed by part2 (either may be empty). Bodies larger
 * than RECORD_MAX_BODY are refused (-1, counted as dropped). */
int record_write(struct record_writer *w, uint8_t type, uint8_t dir, uint16_t flags,
		 uint64_t time_us, const void *part1, size_t len1, const void *part2, size_t len2);
int record_write_event(struct record_writer *w, uint64_t time_us, uint32_t event,
		       const char *text);
void record_writer_flush(struct record_writer *w);
/* Flushes and closes; returns -1 if any write failed. */
int record_writer_close(struct record_writer *w);

/* ---- reader ---------------------------------------------------------------------------- */

struct record_reader {
	const uint8_t *data;
	size_t len;
	size_t off;
	struct record_file_header hdr;
	char vm[RECORD_NAME_MAX];   /* from the START record ("" if none yet) */
	char err[160];
};

/* Checks the file header. Returns 0, or -1 with r->err. */
int record_reader_init(struct record_reader *r, const uint8_t *data, size_t len);
/* The next record: 1, 0 at a clean end, -1 with r->err ("offset N: ..."). A record of an
 * unknown type is returned as is (readers skip it); a known type whose body is malformed
 * is an error. */
int record_next(struct record_reader *r, struct record *rec);

/* Reads a whole file into memory (at most max bytes). Returns 0, or -1 with err. */
int record_load_file(const char *path, size_t max, uint8_t **data, size_t *len, char *err,
		     size_t errlen);

const char *record_event_name(uint32_t event);
const char *record_type_name(uint8_t type);

/* Expands a --record pattern: "%n" is the VM's name, "%%" a percent sign. Returns 0, or -1
 * if the result does not fit or the pattern has another % sequence. */
int record_path_expand(const char *pattern, const char *vm, char *out, size_t cap);

#endif
