/* SPDX-License-Identifier: MIT */
/*
 * relay_loop.h - the relay's event loop: one process, one epoll set, many VMs. Per VM it
 * owns the sockets (QEMU's chardev, connected with retries or accepted; the debugger
 * listener and its one connection) and moves bytes between them and the VM's core
 * (relay_vm.h), runs the link timers, the stats timer and the signal flags.
 *
 * Connections:
 *   guest     connect mode: connect to QEMU's listening chardev, retry every
 *             guest_retry_us until it appears and again after QEMU went away. Connects
 *             never block: started non-blocking, completed on EPOLLOUT (SO_ERROR), given
 *             up after RELAY_CONNECT_TIMEOUT_US; a host name is resolved once, by
 *             relay_add_vm, never in the loop.
 *             listen mode: accept QEMU; a new connection replaces the old one (a new QEMU).
 *             ivshmem mode (relay_ivshmem.h): the relay is QEMU's ivshmem server; the
 *             guest's bytes come from a ring in shared memory (woken by the doorbell
 *             eventfd), the guest's frames go into the other ring (retried every
 *             RELAY_IVSHMEM_RETRY_US while it is full); QEMU's socket only says it is there.
 *   debugger  one at a time. A second connection replaces the first if the VM takes over
 *             (--takeover, or 'takeover' in its config line) or the first stopped
 *             acknowledging (SILENT); otherwise it gets a refusal notice (a KD DbgPrint)
 *             and is closed, with a log line, and the first stays.
 * The loop reads a peer only while the core takes its bytes (back-pressure: the guest's
 * queue is full, or an output buffer holds RELAY_OUT_SOFT_CAP bytes), writes without
 * blocking, and never closes the chardev because the debugger left.
 */
#ifndef VMKD_RELAY_LOOP_H
#define VMKD_RELAY_LOOP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmkd/kd_link.h"

#include "relay_tap.h"
#include "relay_vm.h"

#define RELAY_GUEST_RETRY_US 500000u  /* connect to QEMU's chardev this often */
#define RELAY_CONNECT_TIMEOUT_US 5000000u /* a connect still in progress is abandoned */
#define RELAY_IVSHMEM_RETRY_US 1000u   /* ivshmem: the guest's ring was full, try again */

struct relay_options {
	FILE *log;                         /* events, traces, stats lines; NULL: silent */
	int trace;                         /* trace every VM (a config line can ask per VM) */
	uint64_t stats_interval_us;        /* print stats this often; 0: on request only */
	uint64_t guest_retry_us;           /* 0: RELAY_GUEST_RETRY_US */
	int takeover;                      /* every VM: a new debugger replaces the attached one
					      (a config line can ask per VM) */
	const struct kd_link_config *link_config; /* NULL: kdcom's defaults */
	volatile sig_atomic_t *stop_flag;  /* a signal handler sets it: relay_run returns */
	volatile sig_atomic_t *stats_flag; /* a signal handler sets it: stats now (cleared) */
	volatile sig_atomic_t *reload_flag; /* a signal handler sets it: relay_run returns, the
					     * caller reloads and clears it (relay_reload.h) */
	const sigset_t *wait_sigmask;      /* signal mask while waiting (epoll_pwait); NULL: as is */
	const struct relay_tap_options *tap; /* DbgPrint log, recording (relay_tap.h); NULL: none */
};

struct relay;

struct relay *relay_new(const struct relay_options *opt);
void relay_free(struct relay *r);   /* closes everything, removes its unix sockets */

/* Opens the VM's listeners and starts connecting to its guest. Returns 0 or -1 with err. */
int relay_add_vm(struct relay *r, const struct relay_vm_config *cfg, char *err, size_t errlen);

/* Closes VM i (its sockets, its unix socket files) and moves the later VMs down by one. */
void relay_remove_vm(struct relay *r, size_t i);

size_t relay_vm_count(const struct relay *r);
/* VM i's core, to look at: the loop serves a VM only on its events and deadlines, so a
 * change made through this pointer is acted on at the VM's next one. */
struct relay_vm *relay_get_vm(struct relay *r, size_t i);
const struct relay_vm_config *relay_get_config(const struct relay *r, size_t i);
/* 1 while the relay's connect to VM i's chardev is in progress (non-blocking). */
int relay_guest_connecting(const struct relay *r, size_t i);

/* How many times the loop served VM i (its core's timers, reads, writes): only when one of
 * its fds was ready or one of its deadlines passed, never because another VM was busy. */
uint64_t relay_served(const struct relay *r, size_t i);

/* TCP port of VM i's debugger listener (useful after listening on port 0), or -1. */
int relay_debugger_port(const struct relay *r, size_t i);

/* Logs each VM's stats line; with request_guest, also asks each guest for its counters
 * (they are logged when the STATS frame comes). */
void relay_log_stats(struct relay *r, int request_guest);

/* One round: the VMs whose deadline passed, a wait of at most max_wait_ms (-1: until
 * something happens), the ready fds, the VMs they touched. Its cost does not grow with
 * the number of idle VMs (relay_loop_int.h). Returns 0, or -1 if epoll_pwait failed. */
int relay_run_once(struct relay *r, int max_wait_ms);

/* Rounds until relay_stop(), the stop flag or the reload flag. Returns 0, or -1 if
 * epoll_pwait failed. */
int relay_run(struct relay *r);

/* Makes relay_run return soon; callable from another thread. */
void relay_stop(struct relay *r);

/* The monotonic clock the loop feeds the cores (microseconds). */
uint64_t relay_clock_us(void);

#endif
