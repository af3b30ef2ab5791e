/* SPDX-License-Identifier: MIT */
/*
 * relay_dbglog.h - a VM's DbgPrint log: every DbgPrint line the guest sends, whether or not
 * a debugger is attached, in DIR/NAME.log, one line each:
 *
 *     2026-12-03T07:40:01.123456Z cpu0 text of the line
 *
 * The time is the moment the line's last piece arrived (UTC); cpuN is the processor number
 * of the DEBUG_IO packet. Lines are assembled per processor: a DbgPrint without a newline
 * waits for the rest (the next DbgPrint of that processor), and is written as it is after
 * DBGLOG_FLUSH_US without one, or when the guest restarts or leaves. A line longer than
 * DBGLOG_LINE_MAX bytes is cut there and continued on the next line. Bytes outside
 * printable ASCII, and the backslash, are escaped (\t \r \\ \xNN), so a line of the log is
 * always one line of the guest's text.
 *
 * Size-bounded: when a line would make NAME.log larger than max_bytes, NAME.log.(N-1) is
 * renamed NAME.log.N ... NAME.log becomes NAME.log.1, and a new NAME.log starts (keep N
 * files, the oldest removed). No clock of its own: times come from the caller (monotonic,
 * us) plus the wall-clock offset given at open.
 */
#ifndef VMKD_RELAY_DBGLOG_H
#define VMKD_RELAY_DBGLOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DBGLOG_LINE_MAX     2048u               /* escaped bytes of one line */
#define DBGLOG_PROCS        64u                 /* processors 63 and above share a slot */
#define DBGLOG_FLUSH_US     500000u             /* a partial line waits at most this */
#define DBGLOG_SYNC_US      100000u             /* written lines reach the file within this */
#define DBGLOG_MAX_BYTES    (16u * 1024u * 1024u)
#define DBGLOG_KEEP         4u
#define DBGLOG_NO_DEADLINE  UINT64_MAX

/* Each finished line (escaped, without the newline) also goes here, e.g. to the journal
 * (relay_journal.h); it must not block. */
typedef void (*dbglog_line_fn)(void *ctx, unsigned cpu, const char *line, size_t len);

struct dbglog_options {
	uint64_t max_bytes;      /* 0: DBGLOG_MAX_BYTES */
	unsigned keep;           /* rotated files kept; 0: DBGLOG_KEEP */
	uint64_t flush_us;       /* 0: DBGLOG_FLUSH_US */
	int64_t wall_offset_us;  /* wall-clock us = monotonic us + this */
	dbglog_line_fn on_line;  /* NULL: the file only */
	void *on_line_ctx;
};

struct dbglog_partial {
	size_t len;              /* escaped bytes waiting for the rest of the line */
	uint64_t since;          /* when the first piece came */
	char buf[DBGLOG_LINE_MAX];
};

struct dbglog_stats {
	uint64_t prints;         /* DbgPrint packets taken */
	uint64_t lines;          /* lines written (to the file, or to on_line alone) */
	uint64_t bytes;          /* bytes written */
	uint64_t timeouts;       /* partial lines written after flush_us */
	uint64_t cut;            /* lines cut at DBGLOG_LINE_MAX */
	uint64_t rotations;
	uint64_t errors;         /* lines lost to write / open errors */
};

struct dbglog {
	char path[4096];
	struct dbglog_options opt;
	FILE *f;
	uint64_t size;           /* bytes in the current file */
	uint64_t retry_at;       /* the file could not be opened: next try */
	int dirty;               /* lines buffered since dirty_since, not yet written out */
	uint64_t dirty_since;
	int error_logged;
	char last_error[256];
	struct dbglog_stats st;
	struct dbglog_partial part[DBGLOG_PROCS];
};

/* Opens (appends to) path; a failure is remembered and retried at the next line. path
 * NULL: no file, the lines go to opt->on_line only. Returns the log, or NULL without
 * memory. */
struct dbglog *dbglog_open(const char *path, const struct dbglog_options *opt);
/* Writes the partial lines and closes. */
void dbglog_close(struct dbglog *l, uint64_t now);

/* A DEBUG_IO PrintString's text from processor cpu. */
void dbglog_print(struct dbglog *l, uint64_t now, unsigned cpu, const uint8_t *text,
		  size_t len);
/* A whole KD packet from the guest: DEBUG_IO PrintString goes to dbglog_print, the rest is
 * ignored. Returns 1 if it was a DbgPrint. */
int dbglog_packet(struct dbglog *l, uint64_t now, uint16_t type, const uint8_t *kd,
		  size_t len);
/* Writes every partial line and everything buffered now (the guest restarted or left). */
void dbglog_flush(struct dbglog *l, uint64_t now);
/* Writes the partial lines older than flush_us, and the buffered lines after
 * DBGLOG_SYNC_US (lines are buffered, not written one system call each). */
void dbglog_poll(struct dbglog *l, uint64_t now);
uint64_t dbglog_deadline(const struct dbglog *l);

/* The last error ("" if none) and whether it was new since the last call. */
const char *dbglog_take_error(struct dbglog *l);

/* The default log directory: $XDG_RUNTIME_DIR/vmkd (next to the debugger sockets), or
 * /var/log/vmkd for root without XDG_RUNTIME_DIR. Returns 0, or -1 with err. */
int dbglog_default_dir(char *dir, size_t cap, char *err, size_t errlen);
/* Creates dir (mode 0700) if it does not exist. Returns 0, or -1 with err. */
int dbglog_make_dir(const char *dir, char *err, size_t errlen);

#endif
