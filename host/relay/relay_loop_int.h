/* SPDX-License-Identifier: MIT */
/*
 * relay_loop_int.h - what the relay's three parts share: the loop (relay_loop.c: epoll
 * readiness, deadlines, dispatch), the VMs' connections (relay_conn.c: accept, connect,
 * read, write, per-VM service) and the VM table (relay_vms.c: add, remove, look up).
 *
 * Every fd the relay waits on is a watch: registered with epoll once, with the interest it
 * needs now (relay_watch), modified only when that changes, deleted before the fd is closed
 * (an fd also held elsewhere, like the ivshmem doorbell QEMU got, would stay in the epoll
 * set after close otherwise). The epoll event points at the watch, the watch at its VM.
 *
 * Every VM has one timer: its next deadline (link retransmits, keepalive answers, DbgPrint
 * log flush, connect retries, the ivshmem ring retry), or "now" when one of its fds was
 * ready; a round serves only the VMs whose timer is due (relay_slot_due).
 */
#ifndef VMKD_RELAY_LOOP_INT_H
#define VMKD_RELAY_LOOP_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/endpoint.h"
#include "relay_log.h"
#include "relay_loop.h"
#include "relay_timers.h"

#define RELAY_READ_CHUNK (64u * 1024u)

/* The kinds of fd the loop waits on; relay_loop.c has one handler per kind. */
enum relay_watch_kind {
	RW_WAKE,          /* relay_stop()'s pipe (the relay's own, no VM) */
	RW_GUEST_LISTEN,  /* listen mode: QEMU connects here */
	RW_GUEST_CONNECT, /* connect mode: a connect in progress (EPOLLOUT) */
	RW_GUEST,         /* QEMU's chardev connection */
	RW_DBG_LISTEN,    /* the debugger listener */
	RW_DBG,           /* the debugger's connection */
	RW_IVS_LISTEN,    /* ivshmem: QEMU's server socket */
	RW_IVS_CLIENT,    /* ivshmem: QEMU's connection (EOF: it went away) */
	RW_IVS_BELL,      /* ivshmem: the guest's doorbell eventfd */
	RW_KINDS
};

struct relay_slot;

struct relay_watch {
	struct relay_slot *slot; /* NULL for RW_WAKE */
	int fd;                  /* the registered fd, or -1 */
	uint32_t events;         /* the registered interest; 0: not registered */
	uint8_t kind;
};

/* One VM's sockets around its core. Allocated one by one: watches and the timer are
 * pointed at, so a slot never moves. */
struct relay_slot {
	struct relay_vm_config cfg;
	struct relay_vm *vm;
	int guest_fd;           /* the chardev connection, or -1 */
	int guest_listen_fd;    /* listen mode, or -1 */
	struct endpoint_addrs guest_addrs; /* connect mode: resolved once, at start-up */
	int guest_connecting_fd; /* connect in progress (non-blocking), or -1 */
	size_t guest_addr;      /* the address being tried */
	uint64_t guest_connect_deadline;
	int dbg_listen_fd;
	int dbg_fd;             /* the debugger, or -1 */
	int dbg_port;           /* TCP port bound, or -1 */
	uint64_t guest_retry_at;
	int guest_waiting;      /* "waiting for QEMU" logged since the last connection */
	uint8_t *grx;           /* guest bytes read, not yet taken by the core */
	size_t grx_off, grx_len;
	uint8_t *drx;           /* debugger bytes read, not yet taken by the core */
	size_t drx_off, drx_len;
	char unlink_dbg[sizeof(((struct endpoint *)0)->path)];
	char unlink_guest[sizeof(((struct endpoint *)0)->path)];
	struct relay_ivshmem *ivs; /* ivshmem:PATH: the relay is QEMU's ivshmem server */
	struct relay_watch w[RW_KINDS]; /* by kind; w[RW_WAKE] unused */
	struct relay_timer timer;       /* the next deadline, or now: serve this VM */
	uint64_t served;                /* times the loop served it (relay_served) */
};

struct relay {
	struct relay_options opt;
	struct relay_log log;
	struct relay_slot **slots;
	size_t count, cap;
	int wake[2];            /* relay_stop() writes a byte here */
	atomic_int stop;
	uint64_t retry_us;
	uint64_t next_stats;
	/* the loop (relay_loop.c) */
	int epfd;
	struct relay_watch wake_watch;
	struct relay_timers timers; /* one per VM, room reserved for cap */
	struct relay_slot **due;    /* the VMs served this round (room for cap) */
};

/* ---- relay_loop.c ------------------------------------------------------------------- */

/* Creates the epoll set and watches the wake pipe. Returns 0 or -1 (errno). */
int relay_loop_init(struct relay *r);
void relay_loop_fini(struct relay *r);

/* Makes w's epoll registration match (fd, events): added, modified or deleted as needed,
 * nothing when it already does. events 0 (or fd -1) unregisters: call that before closing
 * the fd. Returns 0, or -1 (logged; the watch is then unregistered). */
int relay_watch(struct relay *r, struct relay_watch *w, int fd, uint32_t events);

/* Serve VM s in this round's next pass (one of its fds was ready, or its state changed
 * outside the loop). */
void relay_slot_due(struct relay *r, struct relay_slot *s);

/* Room in the loop's per-VM tables for cap VMs. Returns 0 or -1 (out of memory). */
int relay_loop_reserve(struct relay *r, size_t cap);

/* Sets up s's watches and timer (served in the next round); forgets them before s goes. */
void relay_loop_slot_init(struct relay *r, struct relay_slot *s);
void relay_loop_slot_fini(struct relay *r, struct relay_slot *s);

/* ---- relay_conn.c ------------------------------------------------------------------- */

/* One handler per kind of watch, called with the epoll events of its fd. */
void relay_conn_guest_listen(struct relay *r, struct relay_slot *s, uint32_t ev, uint64_t now);
void relay_conn_guest_connect(struct relay *r, struct relay_slot *s, uint32_t ev, uint64_t now);
void relay_conn_guest(struct relay *r, struct relay_slot *s, uint32_t ev, uint64_t now);
void relay_conn_dbg_listen(struct relay *r, struct relay_slot *s, uint32_t ev, uint64_t now);
void relay_conn_dbg(struct relay *r, struct relay_slot *s, uint32_t ev, uint64_t now);
void relay_conn_ivs_listen(struct relay *r, struct relay_slot *s, uint32_t ev, uint64_t now);
void relay_conn_ivs_client(struct relay *r, struct relay_slot *s, uint32_t ev, uint64_t now);
void relay_conn_ivs_bell(struct relay *r, struct relay_slot *s, uint32_t ev, uint64_t now);

/* Serves VM s: connect timeouts and retries, its core's timers, bytes it can take now,
 * writes; then its watches' interest. Returns its next deadline (KD_LINK_NO_DEADLINE:
 * none). */
uint64_t relay_conn_service(struct relay *r, struct relay_slot *s, uint64_t now);

/* Closes VM s's connections and listeners (unwatched first) and frees what it holds. */
void relay_conn_release(struct relay *r, struct relay_slot *s);

#endif
