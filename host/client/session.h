/* SPDX-License-Identifier: MIT */
/*
 * session.h - the KD debugger engine: one connection to a KD target (a kernel on a serial
 * port, or the vmkd relay), driven through a debugger-role kd_link.
 *
 * Blocking API over a poll() pump: every call runs the link (ACKs, retransmissions, RESET)
 * and serves what the target sends meanwhile (DbgPrint text, prompts, file I/O, module
 * loads) until its own result arrives or its timeout passes. No globals; one session per
 * struct; not thread-safe.
 *
 * Return convention: 0 (or a byte count) on success, a negative errno on failure with a
 * readable message in session_error():
 *   -ETIMEDOUT   no reply within the timeout      -ECONNRESET  the connection closed
 *   -EPROTO      malformed reply (counted)        -EBUSY       target running
 *   -EFAULT      the target could not access the memory
 *   -EIO         the target answered with a failure status
 *   -EINTR       interrupted (the interrupt flag was raised while the target was stopped)
 *   -ENOTCONN    the relay reports that its guest (the VM's side) disconnected
 */
#ifndef VMKD_HOST_SESSION_H
#define VMKD_HOST_SESSION_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "vmkd/kd_link.h"
#include "vmkd/kd_parser.h"
#include "vmkd/kd_wire.h"

struct session;

#define SESSION_DEFAULT_TIMEOUT_US 5000000ull /* a request with no reply fails after 5 s */
#define SESSION_WAIT_FOREVER UINT64_MAX
#define SESSION_GONE_GRACE_US 300000ull /* after the relay's guest-gone notice, wait this
					       * long for its guest-back notice */

enum session_dir {
	SESSION_RX, /* target -> debugger */
	SESSION_TX, /* debugger -> target */
};

/* Callbacks; any may be NULL. */
struct session_callbacks {
	/* DbgPrint text as it arrives (not NUL-terminated). */
	void (*print)(void *opaque, const char *text, size_t len);
	/* DbgPrompt: write the answer into answer (cap bytes) and return its length; NULL or
	 * a negative return answers with an empty line. */
	int (*prompt)(void *opaque, const char *prompt, size_t len, char *answer, size_t cap);
	/* Every packet on the wire in both directions, while tracing is on (ev->kind tells
	 * data, control, break-in byte or a damaged packet); now is the session clock (us). */
	void (*trace)(void *opaque, enum session_dir dir, const struct kd_event *ev, uint64_t now);
	/* A module load or unload reported by a LoadSymbols state change. */
	void (*module)(void *opaque, uint64_t base, uint32_t size, const char *path, int unload);
	void *opaque;
};

struct session_options {
	uint64_t request_timeout_us;   /* 0 = SESSION_DEFAULT_TIMEOUT_US */
	int connect_timeout_ms;        /* keep retrying the connect this long; 0 = once */
	int break_in;                  /* send 'b' right after connecting */
	int stop_on_load_symbols;      /* report LoadSymbols as a stop instead of continuing */
	int trace;                     /* start with tracing on */
	volatile sig_atomic_t *interrupt; /* set by a SIGINT handler: break in / cancel */
	const struct kd_link_config *link_config; /* NULL = kd_link_default_config() */
	struct session_callbacks cb;
};

/* Fills defaults: 5 s requests, 10 s connect, no break-in. */
void session_default_options(struct session_options *opt);

enum session_stop_kind {
	SESSION_STOP_NONE,
	SESSION_STOP_EXCEPTION,
	SESSION_STOP_LOAD_SYMBOLS,
	SESSION_STOP_COMMAND_STRING,
	SESSION_STOP_OTHER,
};

/* The last state change, decoded. */
struct session_stop {
	enum session_stop_kind kind;
	uint64_t seq;                  /* increments with every state change */
	uint32_t new_state;
	uint16_t processor;
	uint16_t processor_level;
	uint32_t number_processors;
	uint64_t thread;
	uint64_t pc;
	/* exception */
	uint32_t code;
	uint32_t flags;
	uint64_t address;
	int first_chance;
	uint32_t number_parameters;
	uint64_t parameters[KD_EXCEPTION_MAXIMUM_PARAMETERS];
	/* load symbols */
	uint64_t base;
	uint32_t size;
	uint32_t checksum;
	int unload;
	char path[260];                /* image path, or the command string's name + command */
	struct kd_amd64_control_report report;
	struct kd_wait_state_change64 raw;
};

struct session_module {
	uint64_t base;
	uint32_t size;
	char path[260];
};

enum session_target_state {
	SESSION_TARGET_UNKNOWN, /* connected, nothing heard yet */
	SESSION_TARGET_RUNNING,
	SESSION_TARGET_STOPPED,
};

struct session_stats {
	uint64_t packets_rx, packets_tx;   /* data packets delivered / first transmissions */
	uint64_t bytes_rx, bytes_tx;       /* raw stream bytes */
	uint64_t writes;                   /* write calls that sent bytes (ACKs coalesced) */
	uint64_t retransmits;
	uint64_t resets;                   /* RESETs sent + received */
	uint64_t malformed;                /* link/parser damage + replies failing length checks */
	uint64_t stale_replies;            /* replies for a request no longer awaited */
	uint64_t requests, timeouts;
	uint64_t state_changes, dbgprints, breakins_sent;
	uint64_t dropped;                  /* packets dropped because the queue was full */
	uint64_t reconnects;               /* session_reconnect calls that connected */
	uint64_t reconnects_reset;         /* new connections reset at once, dialled again */
	uint64_t request_us;               /* total time spent in requests */
	struct kd_link_stats link;
	struct kd_parser_stats parser;
};

struct session_bp {
	int id;                            /* user-visible number (bl/bc) */
	uint64_t addr;
	uint32_t handle;                   /* the target's breakpoint handle */
	int temporary;                     /* removed by its owner after the stop */
	int original_known;                /* the byte under the int3 could be read */
	uint8_t original;                  /* it: reads show it instead of our 0xCC */
};

#define SESSION_MAX_BPS 32

/* ---- lifetime --------------------------------------------------------------------- */

/* Connects to spec (see endpoint.h), starts the RESET handshake, optionally breaks in.
 * Returns NULL with a message in err. */
struct session *session_open(const char *spec, const struct session_options *opt,
			     char *err, size_t errlen);

/* Runs the session on an already connected fd (tests, relays); takes ownership of fd. */
struct session *session_open_fd(int fd, const struct session_options *opt,
				char *err, size_t errlen);

void session_close(struct session *s);

/* After the connection was lost (a relay restarted, a network drop): dials the endpoint
 * session_open was given again, for at most timeout_ms, and starts a fresh link (RESET, as
 * on attach). Whatever was sent on the old connection is dropped unanswered; the target's
 * state is unknown until it reports a stop (a stopped target reports its stop again, a
 * running one needs a break-in). Breakpoints, modules and statistics are kept: they live
 * in the target and in this session, not in the connection. A connection counts once it
 * has lived a fifth of a second (one reset at once, by a relay still dying, is dialled
 * again). 0, or -errno with the reason in session_error (-ENOTSUP for a session opened on
 * a file descriptor). */
int session_reconnect(struct session *s, int timeout_ms);

const char *session_error(const struct session *s);
void session_set_trace(struct session *s, int on);
int session_tracing(const struct session *s);
void session_set_timeout(struct session *s, uint64_t timeout_us);
uint64_t session_now(const struct session *s);

/* ---- run control ------------------------------------------------------------------ */

enum session_target_state session_state(const struct session *s);

/* 0 once the connection is lost (peer closed, I/O error); every call then fails. */
int session_connected(const struct session *s);

/* 1 while the relay reports its guest disconnected (an in-band notice, relay_notice.h):
 * waits and requests then fail at once with -ENOTCONN. Its "guest back" notice, or any
 * stop the target reports, clears it. The notice text is printed like any DbgPrint. */
int session_target_gone(const struct session *s);

/* The last state change (valid once a stop was seen). */
const struct session_stop *session_last_stop(const struct session *s);

/* Serves the target until it reports a stop (an exception, or any state change with
 * stop_on_load_symbols), at most timeout_us (SESSION_WAIT_FOREVER: no limit). The
 * interrupt flag sends a break-in; no stop within the request timeout after it is
 * -ETIMEDOUT ("not answering"). -ENOTCONN when the relay reports its guest gone,
 * -ECONNRESET when the connection closes. A stop already seen and not yet returned is
 * returned at once. */
int session_wait_stop(struct session *s, uint64_t timeout_us, struct session_stop *out);

/* Serves the target (prints, acks) for up to timeout_us without waiting for anything. */
int session_poll(struct session *s, uint64_t timeout_us);

/* Sends one break-in byte. */
int session_break_in(struct session *s);

/* Continue2 (no reply): status DBG_CONTINUE etc., trace = single step, dr7 for every CPU.
 * Returns once the target acknowledged it; the target is then running. */
int session_continue2(struct session *s, uint32_t status, int trace, uint64_t dr7);

/* If the target stopped on a hard-coded int3 (not one of our breakpoints) at its PC,
 * advances the PC past it with SetContext, as WinDbg does. Returns 1 if it did, 0 if
 * there was nothing to skip, or a negative errno. */
int session_skip_int3(struct session *s);

/* Resumes like WinDbg's `g`: skips a hard-coded int3, steps off one of our breakpoints
 * (remove, single step, re-insert), then continues. */
int session_go(struct session *s);

/* Executes one instruction (stepping off our breakpoint if needed) and waits for the
 * stop. A hard-coded int3 at the PC is skipped without running (returns 1, as WinDbg). */
int session_step(struct session *s, struct session_stop *out);

/* ---- requests --------------------------------------------------------------------- */

/*
 * Sends a manipulate-state request (header + optional data) and waits for the reply with
 * the same ApiNumber; replies to other requests are counted and ignored. The reply header
 * goes to *reply, its data (up to cap bytes; more is -EPROTO) to data, its length to
 * *data_len. timeout_us 0 = the session's timeout. Requests without a reply (Continue,
 * Continue2, Reboot, ClearAllInternalBreakpoints, ...) return once acknowledged.
 * The ReturnStatus is not checked here: the wrappers below do that.
 */
int session_request(struct session *s, const struct kd_manipulate_state64 *req,
		    const void *data, size_t len, struct kd_manipulate_state64 *reply,
		    void *reply_data, size_t cap, size_t *data_len, uint64_t timeout_us);

int session_get_version(struct session *s, struct kd_get_version64 *ver);

/* Reads len bytes in requests of at most KD_MANIPULATE_MAX_DATA, stopping at the first
 * partial read. *got = bytes read. Returns 0 if anything was read (or len is 0), -EFAULT
 * if nothing could be, another negative errno on a transport error. Virtual reads show
 * the original bytes under our breakpoints (as WinDbg does); virtual writes over one lift
 * it, write, and put it back over the new byte. */
int session_read_virtual(struct session *s, uint64_t addr, void *buf, size_t len, size_t *got);
int session_write_virtual(struct session *s, uint64_t addr, const void *buf, size_t len);
int session_read_physical(struct session *s, uint64_t addr, void *buf, size_t len, size_t *got);
int session_write_physical(struct session *s, uint64_t addr, const void *buf, size_t len);
/* selector: enum kd_amd64_control_space */
int session_read_control_space(struct session *s, uint16_t processor, uint64_t selector,
			       void *buf, size_t len, size_t *got);

/* GetContext / SetContext of the stopped processor (AMD64 CONTEXT only). */
int session_get_context(struct session *s, struct kd_context_amd64 *ctx);
int session_set_context(struct session *s, const struct kd_context_amd64 *ctx);

int session_read_msr(struct session *s, uint32_t msr, uint64_t *value);
int session_write_msr(struct session *s, uint32_t msr, uint64_t value);

int session_write_breakpoint(struct session *s, uint64_t addr, uint32_t *handle);
int session_restore_breakpoint(struct session *s, uint32_t handle);

/* ---- breakpoints and modules ------------------------------------------------------ */

/* Inserts a software breakpoint; *id (may be NULL) gets its number. */
int session_bp_add(struct session *s, uint64_t addr, int temporary, int *id);
/* Removes breakpoint id, or all with id -1. */
int session_bp_remove(struct session *s, int id);
/* i-th breakpoint in id order, or NULL past the end. */
const struct session_bp *session_bp_at(const struct session *s, size_t i);
const struct session_bp *session_bp_find(const struct session *s, uint64_t addr);

/* Modules reported by LoadSymbols state changes (unloads removed), in load order. */
size_t session_module_count(const struct session *s);
const struct session_module *session_module_at(const struct session *s, size_t i);

void session_get_stats(const struct session *s, struct session_stats *st);

/* Human name of an exception code ("Break instruction exception") or NULL. */
const char *session_exception_name(uint32_t code);

#endif
