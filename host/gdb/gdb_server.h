/* SPDX-License-Identifier: MIT */
/*
 * gdb_server.h - a GDB remote serial protocol server in front of a KD session: gdb (or
 * lldb, IDA, Ghidra) on one side, the session engine (host/client/session.h) on the other.
 *
 * One debugger connection at a time, all-stop, one thread per processor (gdb thread
 * numbers start at 1: thread N is processor N-1). The server owns no sockets of its own
 * beyond the connection fd it is given, so the loop (gdb_main.c) and tests can drive it.
 */
#ifndef VMKD_HOST_GDB_SERVER_H
#define VMKD_HOST_GDB_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../client/session.h"
#include "gdb_regs.h"
#include "rsp_parser.h"

struct cmd_ctx;

#define GDB_PACKET_SIZE 0x4000u /* announced in qSupported: gdb moves 8 KiB per m/M */
#define GDB_HW_SLOTS 4          /* Dr0-Dr3 */
#define GDB_BREAKIN_RETRY_US 2000000ull

enum gdb_hw_type {
	GDB_HW_EXEC,   /* Z1: instruction breakpoint (Dr7 RW=00) */
	GDB_HW_WRITE,  /* Z2: write watchpoint (RW=01) */
	GDB_HW_READ,   /* Z3: read watchpoint; x86 has none, so read/write (RW=11) */
	GDB_HW_ACCESS, /* Z4: access watchpoint (RW=11) */
};

struct gdb_hw_slot {
	int used;
	enum gdb_hw_type type;
	uint64_t addr;
	unsigned len;          /* 1, 2, 4 or 8 */
};

struct gdb_stats {
	uint64_t packets_in, packets_out, naks_sent, retransmits, interrupts;
	uint64_t mem_read_bytes, mem_write_bytes;
};

struct gdb_server {
	struct session *s;
	FILE *log;             /* what happens, one line each (stderr) */
	int verbose;           /* log every packet */

	int fd;                /* the debugger connection, -1 for none */
	struct rsp_parser parser;
	uint8_t rx[GDB_PACKET_SIZE + 1];
	char reply[GDB_PACKET_SIZE + 64]; /* the payload being built */
	size_t reply_len;
	int reply_none;        /* the handler answers later (c, s) or not at all (k) */
	uint8_t tx[RSP_ENCODED_MAX(GDB_PACKET_SIZE + 64)];
	size_t tx_len;         /* the last packet sent, kept for a NAK */
	int noack;             /* QStartNoAckMode accepted */
	int gdb_swbreak, gdb_hwbreak; /* gdb understands these stop reasons */
	int close_after_reply; /* D, k */

	int running;           /* resumed on gdb's behalf: a stop reply is owed */
	int stepping;          /* ... by a single step */
	int breakin_sent;      /* an interrupt is on its way */
	uint64_t breakin_at;

	struct gdb_reg_state regs;
	uint64_t regs_seq;     /* the stop the cached registers belong to */
	int ctx_valid, sr_valid, fs_valid, gs_valid;

	struct gdb_hw_slot hw[GDB_HW_SLOTS];
	int hw_dirty;          /* the slots changed since they were written to the target */

	unsigned thread_g;     /* Hg: processor for register/memory access (0 = any) */
	int threads_listed;

	struct cmd_ctx *cmd;   /* `monitor kd`: created on first use */
	struct gdb_stats stats;
};

/* Sets up a server over a session (not owned). log may be NULL. */
void gdb_server_init(struct gdb_server *g, struct session *s, FILE *log);
void gdb_server_cleanup(struct gdb_server *g);

/* A debugger connected on fd (non-blocking; owned from now on). */
void gdb_server_attach(struct gdb_server *g, int fd);
/* Drops the connection (the target stays as it is). */
void gdb_server_drop(struct gdb_server *g, const char *why);

/* Reads what the debugger sent and answers it. Returns 0, or -1 once the connection is
 * gone (dropped already). */
int gdb_server_read(struct gdb_server *g);

/* Feeds bytes from the debugger (gdb_server_read calls it; tests and the fuzzer too). */
void gdb_server_feed(struct gdb_server *g, const uint8_t *data, size_t len);

/* Serves the KD side for up to timeout_us while the target runs: sends the stop reply
 * when it stops, repeats an unanswered break-in. Returns 0, or a negative errno when the
 * KD connection is lost. */
int gdb_server_pump(struct gdb_server *g, uint64_t timeout_us);

/* The target is running or not yet heard from: the loop must call gdb_server_pump. */
int gdb_server_waiting(const struct gdb_server *g);

/* DbgPrint text from the session (its print callback): an `O` packet while gdb waits for
 * a stop, and the log. */
void gdb_server_print(struct gdb_server *g, const char *text, size_t len);

/* ---- used by the command table (rsp_cmds.c) ------------------------------------------- */

void gdb_reply(struct gdb_server *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gdb_reply_hex(struct gdb_server *g, const void *data, size_t len);
void gdb_reply_bin(struct gdb_server *g, const void *data, size_t len);
void gdb_reply_error(struct gdb_server *g, int code);
/* Sends a packet now (O output before the final reply). */
int gdb_send(struct gdb_server *g, const void *payload, size_t len);
/* Sends text for gdb's console now: O packets (the text in hex), 1 KiB of text each. */
void gdb_send_console(struct gdb_server *g, const char *text, size_t len);
/* The stop reply (T..) for the last stop. */
void gdb_reply_stop(struct gdb_server *g);

/* Registers of the current stop; fetched on demand. Return 0 or a negative errno. */
int gdb_need_context(struct gdb_server *g);
int gdb_need_reg(struct gdb_server *g, unsigned regno);
void gdb_invalidate(struct gdb_server *g);

/* Resumes the target (step or continue) with the debug registers applied. Returns 0 when
 * it runs (a stop reply follows), 1 when the step completed without running (the stop
 * reply was sent), or a negative errno. */
int gdb_resume(struct gdb_server *g, int step);
/* Removes our breakpoints and debug registers and lets the target go (D, k). */
int gdb_detach_target(struct gdb_server *g);
/* Sends a break-in if the target runs and none is pending. */
void gdb_interrupt(struct gdb_server *g);

/* One decoded packet: finds its handler in the table and runs it. */
void gdb_dispatch(struct gdb_server *g, const char *pkt, size_t len);

/* Hex helpers (rsp_cmds.c). */
int gdb_parse_hex(const char **p, const char *end, uint64_t *out);
size_t gdb_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t cap);

#endif
