/* SPDX-License-Identifier: MIT */
/* The relay's event loop: sockets, accept / connect with retries, ppoll, timers, signals. */
#define _GNU_SOURCE /* ppoll */
#include "relay_loop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vmkd/kd_wire.h"

#include "../common/endpoint.h"
#include "relay_hostmem.h"
#include "relay_ivshmem.h"

#define READ_CHUNK (64u * 1024u)

enum pfd_kind {
	PFD_WAKE,
	PFD_GUEST_LISTEN,
	PFD_GUEST_CONNECT,
	PFD_GUEST,
	PFD_DBG_LISTEN,
	PFD_DBG,
	PFD_IVS_LISTEN,
	PFD_IVS_CLIENT,
	PFD_IVS_BELL,
};

#define FDS_PER_VM 8u

/* One VM's sockets around its core. */
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
};

struct relay {
	struct relay_options opt;
	struct relay_log log;
	struct relay_slot *slots;
	size_t count, cap;
	int wake[2];            /* relay_stop() writes a byte here */
	atomic_int stop;
	uint64_t retry_us;
	uint64_t next_stats;
	struct pollfd *pfds;
	uint8_t *pfd_kind;
	size_t *pfd_slot;
};

uint64_t relay_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int set_flags(int fd)
{
	return fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
	       fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ? -1 : 0;
}

struct relay *relay_new(const struct relay_options *opt)
{
	struct relay *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	if (opt)
		r->opt = *opt;
	r->log.f = r->opt.log;
	r->log.t0 = relay_clock_us();
	r->retry_us = r->opt.guest_retry_us ? r->opt.guest_retry_us : RELAY_GUEST_RETRY_US;
	atomic_init(&r->stop, 0);
	if (pipe(r->wake) < 0) {
		free(r);
		return NULL;
	}
	if (set_flags(r->wake[0]) || set_flags(r->wake[1])) {
		close(r->wake[0]);
		close(r->wake[1]);
		free(r);
		return NULL;
	}
	if (r->opt.stats_interval_us)
		r->next_stats = r->log.t0 + r->opt.stats_interval_us;
	return r;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void slot_release(struct relay_slot *s)
{
	close_fd(&s->guest_fd);
	close_fd(&s->guest_listen_fd);
	close_fd(&s->guest_connecting_fd);
	close_fd(&s->dbg_fd);
	close_fd(&s->dbg_listen_fd);
	if (s->unlink_dbg[0])
		unlink(s->unlink_dbg);
	if (s->unlink_guest[0])
		unlink(s->unlink_guest);
	relay_ivshmem_close(s->ivs);
	if (s->vm)
		relay_tap_free(s->vm->tap, relay_clock_us());
	relay_vm_free(s->vm);
	free(s->grx);
	free(s->drx);
}

void relay_free(struct relay *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->count; i++)
		slot_release(&r->slots[i]);
	free(r->slots);
	free(r->pfds);
	free(r->pfd_kind);
	free(r->pfd_slot);
	close(r->wake[0]);
	close(r->wake[1]);
	free(r);
}

/* ---- connections ------------------------------------------------------------------- */

static void guest_attach(struct relay_slot *s, int fd, uint64_t now)
{
	s->guest_fd = fd;
	s->grx_off = 0;
	s->grx_len = 0;
	s->guest_waiting = 0;
	relay_vm_guest_connected(s->vm, now);
}

static void guest_detach(struct relay *r, struct relay_slot *s, uint64_t now, const char *why)
{
	if (s->guest_fd < 0)
		return;
	close_fd(&s->guest_fd);
	s->grx_off = 0;
	s->grx_len = 0;
	relay_logf(&r->log, now, s->cfg.name, "chardev connection closed: %s", why);
	relay_vm_guest_disconnected(s->vm, now);
	s->guest_retry_at = now; /* connect mode: QEMU may be back at once */
}

/* ---- ivshmem: QEMU's ivshmem-doorbell, the channel in shared memory ---------------- */

static int ivs_up(const struct relay_slot *s)
{
	return s->ivs && relay_ivshmem_client_fd(s->ivs) >= 0;
}

static void ivs_accept(struct relay *r, struct relay_slot *s, uint64_t now)
{
	const struct vmkd_shm_layout *l;
	char err[256];
	int replaced, rc = relay_ivshmem_accept(s->ivs, &replaced, err, sizeof(err));

	if (replaced) {
		relay_logf(&r->log, now, s->cfg.name, "ivshmem: QEMU connected again; the new "
			   "connection replaces the old one");
		relay_vm_guest_disconnected(s->vm, now);
	}
	if (rc < 0) {
		relay_logf(&r->log, now, s->cfg.name, "%s", err);
		if (replaced)
			s->grx_off = s->grx_len = 0;
		return;
	}
	if (!rc)
		return;
	l = relay_ivshmem_layout(s->ivs);
	relay_logf(&r->log, now, s->cfg.name, "ivshmem: QEMU connected; shared memory %zu KiB, "
		   "rings 2 x %u KiB, generation %u; doorbell peer %u vector %u",
		   relay_ivshmem_size(s->ivs) / 1024u, l->ring_size / 1024u, l->generation,
		   l->host_peer_id, l->doorbell_vector);
	s->grx_off = s->grx_len = 0;
	relay_vm_guest_connected(s->vm, now);
}

static void ivs_client_event(struct relay *r, struct relay_slot *s, uint64_t now)
{
	if (relay_ivshmem_client_alive(s->ivs))
		return;
	s->grx_off = s->grx_len = 0;
	relay_logf(&r->log, now, s->cfg.name, "ivshmem: QEMU closed its connection");
	relay_vm_guest_disconnected(s->vm, now);
}

/* A connect failed: the next address of the name at once; after the last one, all again
 * in retry_us (logged once per outage). */
static void guest_connect_failed(struct relay *r, struct relay_slot *s, uint64_t now, int e)
{
	close_fd(&s->guest_connecting_fd);
	if (++s->guest_addr < s->guest_addrs.count) {
		s->guest_retry_at = now; /* the next address, at once */
		return;
	}
	s->guest_addr = 0;
	s->guest_retry_at = now + r->retry_us;
	if (!s->guest_waiting)
		relay_logf(&r->log, now, s->cfg.name,
			   "waiting for QEMU's chardev (cannot connect to %s: %s); retrying every "
			   "%llu ms", s->guest_addrs.name, strerror(e),
			   (unsigned long long)(r->retry_us / 1000u));
	s->guest_waiting = 1;
}

/* Starts a connect without waiting: it completes in the loop (POLLOUT), so a QEMU that is
 * slow to accept (a full backlog) never stalls the other VMs. */
static void guest_try_connect(struct relay *r, struct relay_slot *s, uint64_t now)
{
	int in_progress, fd = endpoint_connect_start(&s->guest_addrs, s->guest_addr, &in_progress);

	if (fd < 0) {
		guest_connect_failed(r, s, now, errno);
		return;
	}
	if (in_progress) {
		s->guest_connecting_fd = fd;
		s->guest_connect_deadline = now + RELAY_CONNECT_TIMEOUT_US;
		return;
	}
	s->guest_addr = 0;
	guest_attach(s, fd, now);
}

/* POLLOUT (or an error) on the connect in progress. */
static void guest_connect_done(struct relay *r, struct relay_slot *s, uint64_t now)
{
	int fd = s->guest_connecting_fd;

	if (endpoint_connect_finish(fd) < 0) {
		guest_connect_failed(r, s, now, errno);
		return;
	}
	s->guest_connecting_fd = -1;
	s->guest_addr = 0;
	guest_attach(s, fd, now);
}

static int accept_one(struct relay *r, struct relay_slot *s, int listen_fd, uint64_t now)
{
	for (;;) {
		int fd = endpoint_accept(listen_fd);

		if (fd >= 0)
			return fd;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			relay_logf(&r->log, now, s->cfg.name, "accept: %s", strerror(errno));
		return -1;
	}
}

static void guest_accept(struct relay *r, struct relay_slot *s, uint64_t now)
{
	int fd = accept_one(r, s, s->guest_listen_fd, now);

	if (fd < 0)
		return;
	if (s->guest_fd >= 0)
		guest_detach(r, s, now, "QEMU connected again; the new connection replaces it");
	guest_attach(s, fd, now);
}

static void dbg_detach(struct relay *r, struct relay_slot *s, uint64_t now, const char *why)
{
	if (s->dbg_fd < 0)
		return;
	close_fd(&s->dbg_fd);
	s->drx_off = s->drx_len = 0;
	relay_logf(&r->log, now, s->cfg.name, "debugger connection closed: %s", why);
	relay_vm_debugger_disconnected(s->vm, now);
}

/* Tells a refused debugger why before closing. Unread input is drained first: closing a
 * TCP socket with unread data sends a RST, which may destroy the notice at the peer. */
static void dbg_refuse(struct relay *r, struct relay_slot *s, int fd, uint64_t now)
{
	static uint8_t notice[2 * KD_MAX_PACKET_BYTES];
	uint8_t sink[512];
	size_t n = relay_vm_refusal_notice(s->vm, s->cfg.listen, notice, sizeof(notice));

	relay_logf(&r->log, now, s->cfg.name,
		   "debugger connection refused: one is already attached to %s (close it first, "
		   "or run the relay with --takeover); told the newcomer so", s->cfg.listen);
	for (int i = 0; i < 64 && recv(fd, sink, sizeof(sink), 0) > 0; i++)
		; /* bounded: a peer that keeps sending must not hold the loop */
	if (n && send(fd, notice, n, MSG_NOSIGNAL) < 0) {
		/* best effort: the log line above says it anyway */
	}
	shutdown(fd, SHUT_WR);
	close(fd);
}

static void dbg_accept(struct relay *r, struct relay_slot *s, uint64_t now)
{
	int fd;

	while ((fd = accept_one(r, s, s->dbg_listen_fd, now)) >= 0) {
		if (s->dbg_fd >= 0 && (s->cfg.takeover || r->opt.takeover)) {
			s->vm->st.debugger_takeovers++;
			dbg_detach(r, s, now, "replaced by a new debugger connection (takeover)");
		} else if (s->dbg_fd >= 0 && s->vm->dbg == RELAY_DBG_SILENT) {
			s->vm->st.debugger_takeovers++;
			dbg_detach(r, s, now, "replaced by a new debugger connection (it had "
					      "stopped acknowledging)");
		}
		if (relay_vm_debugger_connected(s->vm, now) < 0) {
			dbg_refuse(r, s, fd, now);
			continue;
		}
		s->dbg_fd = fd;
	}
}

/* ---- moving bytes ------------------------------------------------------------------ */

/* Offers the bytes read earlier to the core, as far as it takes them. */
static void guest_feed(struct relay_slot *s, uint64_t now)
{
	while (s->grx_off < s->grx_len && relay_vm_guest_can_read(s->vm)) {
		size_t used = relay_vm_guest_input(s->vm, s->grx + s->grx_off,
						   s->grx_len - s->grx_off, now);

		if (!used)
			break;
		s->grx_off += used;
	}
	if (s->grx_off == s->grx_len)
		s->grx_off = s->grx_len = 0;
}

/* Guest bytes from the ring, copied out into grx (the guest cannot change them under the
 * parser), as long as the core takes them. */
static void ivs_read(struct relay_slot *s, uint64_t now)
{
	while (!s->grx_len && relay_vm_guest_can_read(s->vm)) {
		size_t n = relay_ivshmem_read(s->ivs, s->grx, READ_CHUNK);

		if (!n)
			break;
		s->grx_off = 0;
		s->grx_len = n;
		guest_feed(s, now);
	}
}

static void guest_read(struct relay *r, struct relay_slot *s, uint64_t now)
{
	ssize_t n;

	if (s->grx_len)
		return; /* the core has not taken the last read yet */
	n = recv(s->guest_fd, s->grx, READ_CHUNK, 0);
	if (n == 0) {
		guest_detach(r, s, now, "QEMU closed it");
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			guest_detach(r, s, now, strerror(errno));
		return;
	}
	s->grx_off = 0;
	s->grx_len = (size_t)n;
	guest_feed(s, now);
}

/* Same for the debugger: the core takes bytes only while its answers fit. */
static void dbg_feed(struct relay_slot *s, uint64_t now)
{
	while (s->drx_off < s->drx_len && relay_vm_debugger_can_read(s->vm)) {
		size_t used = relay_vm_debugger_input(s->vm, s->drx + s->drx_off,
						      s->drx_len - s->drx_off, now);

		if (!used)
			break;
		s->drx_off += used;
	}
	if (s->drx_off == s->drx_len)
		s->drx_off = s->drx_len = 0;
}

static void dbg_read(struct relay *r, struct relay_slot *s, uint64_t now)
{
	ssize_t n;

	if (s->drx_len)
		return; /* the core has not taken the last read yet */
	n = recv(s->dbg_fd, s->drx, READ_CHUNK, 0);

	if (n == 0) {
		dbg_detach(r, s, now, "the debugger closed it");
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			dbg_detach(r, s, now, strerror(errno));
		return;
	}
	s->drx_off = 0;
	s->drx_len = (size_t)n;
	dbg_feed(s, now);
}

/* Writes what the socket takes now. Returns 0, or -1 on a broken connection. */
static int flush(int fd, struct relay_buf *b)
{
	while (relay_buf_pending(b)) {
		ssize_t n = send(fd, relay_buf_peek(b), relay_buf_pending(b), MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		}
		relay_buf_consume(b, (size_t)n);
	}
	return 0;
}

static void flush_slot(struct relay *r, struct relay_slot *s, uint64_t now)
{
	if (ivs_up(s))
		relay_buf_consume(&s->vm->to_guest,
				  relay_ivshmem_write(s->ivs, relay_buf_peek(&s->vm->to_guest),
						      relay_buf_pending(&s->vm->to_guest)));
	if (s->guest_fd >= 0 && flush(s->guest_fd, &s->vm->to_guest))
		guest_detach(r, s, now, strerror(errno));
	if (s->dbg_fd >= 0 && flush(s->dbg_fd, &s->vm->to_debugger))
		dbg_detach(r, s, now, strerror(errno));
}

/* ---- VMs --------------------------------------------------------------------------- */

static int loopback(const char *host)
{
	return !strcmp(host, "127.0.0.1") || !strcmp(host, "localhost") || !strcmp(host, "::1");
}

/* Listens on spec; a unix socket is remembered so relay_free removes it. */
static int listen_on(const char *spec, char *unlink_path, size_t cap, char *err, size_t errlen)
{
	struct endpoint ep;
	int fd = endpoint_listen(spec, err, errlen);

	if (fd >= 0 && !endpoint_parse(spec, &ep, NULL, 0) && ep.kind == ENDPOINT_UNIX)
		snprintf(unlink_path, cap, "%s", ep.path);
	return fd;
}

static int grow_slots(struct relay *r)
{
	size_t cap = r->cap ? r->cap * 2 : 4, nfds = cap * FDS_PER_VM + 1;
	struct relay_slot *slots = realloc(r->slots, cap * sizeof(*slots));
	struct pollfd *pfds;
	uint8_t *kind;
	size_t *slot;

	if (!slots)
		return -1;
	r->slots = slots;
	pfds = realloc(r->pfds, nfds * sizeof(*pfds));
	if (!pfds)
		return -1;
	r->pfds = pfds;
	kind = realloc(r->pfd_kind, nfds * sizeof(*kind));
	if (!kind)
		return -1;
	r->pfd_kind = kind;
	slot = realloc(r->pfd_slot, nfds * sizeof(*slot));
	if (!slot)
		return -1;
	r->pfd_slot = slot;
	r->cap = cap;
	return 0;
}

/* The VM's DbgPrint log and recording, if asked for (relay_tap.h). */
static int add_tap(struct relay *r, struct relay_slot *s, uint64_t now, char *err,
		   size_t errlen)
{
	struct relay_tap_options o;

	if (!r->opt.tap)
		return 0;
	o = *r->opt.tap;
	if (s->cfg.no_dbglog) {
		o.log_dir = NULL;
		o.journal = NULL;
	}
	s->vm->tap = relay_tap_new(s->cfg.name, &o, &r->log, now, err, errlen);
	return !s->vm->tap && *err ? -1 : 0;
}

int relay_add_vm(struct relay *r, const struct relay_vm_config *cfg, char *err, size_t errlen)
{
	struct relay_slot *s;
	struct endpoint ep;
	uint64_t now = relay_clock_us();

	if (r->count == r->cap && grow_slots(r)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s = &r->slots[r->count];
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	s->guest_fd = s->guest_listen_fd = s->dbg_fd = s->dbg_listen_fd = -1;
	s->guest_connecting_fd = -1;
	s->dbg_port = -1;
	s->vm = relay_vm_new(cfg->name, r->opt.link_config, &r->log);
	s->grx = malloc(READ_CHUNK);
	s->drx = malloc(READ_CHUNK);
	if (!s->vm || !s->grx || !s->drx) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	s->vm->trace = cfg->trace || r->opt.trace;
	if (cfg->guest_ivshmem)
		s->ivs = relay_ivshmem_open(cfg->guest + strlen("unix:"), 0, err, errlen);
	if (relay_hostmem_enable(s->vm, cfg, err, errlen) || add_tap(r, s, now, err, errlen))
		goto fail;

	s->dbg_listen_fd = listen_on(cfg->listen, s->unlink_dbg, sizeof(s->unlink_dbg), err,
				     errlen);
	if (s->dbg_listen_fd < 0)
		goto fail;
	if (!endpoint_parse(cfg->listen, &ep, NULL, 0) && ep.kind == ENDPOINT_TCP) {
		s->dbg_port = endpoint_local_port(s->dbg_listen_fd);
		if (!loopback(ep.host))
			relay_logf(&r->log, now, cfg->name,
				   "WARNING: the debugger port %s is reachable from other hosts; "
				   "KD has no authentication: whoever connects owns the VM's kernel",
				   cfg->listen);
	}
	if (cfg->guest_ivshmem) {
		if (!s->ivs)
			goto fail;
	} else if (cfg->guest_listen) {
		s->guest_listen_fd = listen_on(cfg->guest, s->unlink_guest,
					       sizeof(s->unlink_guest), err, errlen);
		if (s->guest_listen_fd < 0)
			goto fail;
	} else {
		/* The only name lookup: the loop connects to these addresses. */
		if (endpoint_resolve(cfg->guest, &s->guest_addrs, err, errlen))
			goto fail;
		s->guest_retry_at = now; /* the loop's first round connects */
	}
	r->count++;
	return 0;
fail:
	slot_release(s);
	return -1;
}

void relay_remove_vm(struct relay *r, size_t i)
{
	if (i >= r->count)
		return;
	slot_release(&r->slots[i]);
	memmove(&r->slots[i], &r->slots[i + 1], (r->count - i - 1) * sizeof(r->slots[0]));
	r->count--;
}

size_t relay_vm_count(const struct relay *r)
{
	return r->count;
}

struct relay_vm *relay_get_vm(struct relay *r, size_t i)
{
	return i < r->count ? r->slots[i].vm : NULL;
}

const struct relay_vm_config *relay_get_config(const struct relay *r, size_t i)
{
	return i < r->count ? &r->slots[i].cfg : NULL;
}

int relay_guest_connecting(const struct relay *r, size_t i)
{
	return i < r->count && r->slots[i].guest_connecting_fd >= 0;
}

int relay_debugger_port(const struct relay *r, size_t i)
{
	return i < r->count ? r->slots[i].dbg_port : -1;
}

void relay_log_stats(struct relay *r, int request_guest)
{
	uint64_t now = relay_clock_us();
	char line[2048];

	for (size_t i = 0; i < r->count; i++) {
		struct relay_slot *s = &r->slots[i];

		relay_vm_format_stats(s->vm, line, sizeof(line));
		relay_logf(&r->log, now, s->cfg.name, "%s", line);
		if (request_guest)
			relay_vm_request_stats(s->vm, now);
	}
}

/* ---- the loop ---------------------------------------------------------------------- */

static uint64_t earliest(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Timers, connection retries, leftovers, writes. Returns the next deadline. */
static uint64_t service(struct relay *r, uint64_t now)
{
	uint64_t deadline = KD_LINK_NO_DEADLINE;

	if (r->opt.stats_flag && *r->opt.stats_flag) {
		*r->opt.stats_flag = 0;
		relay_log_stats(r, 1);
	}
	if (r->opt.stats_interval_us) {
		if (now >= r->next_stats) {
			relay_log_stats(r, 1);
			r->next_stats = now + r->opt.stats_interval_us;
		}
		deadline = r->next_stats;
	}
	for (size_t i = 0; i < r->count; i++) {
		struct relay_slot *s = &r->slots[i];

		if (s->guest_connecting_fd >= 0 && now >= s->guest_connect_deadline)
			guest_connect_failed(r, s, now, ETIMEDOUT);
		if (!s->cfg.guest_listen && !s->ivs && s->guest_fd < 0 &&
		    s->guest_connecting_fd < 0 && now >= s->guest_retry_at)
			guest_try_connect(r, s, now);
		if (s->guest_connecting_fd >= 0)
			deadline = earliest(deadline, s->guest_connect_deadline);
		else if (!s->cfg.guest_listen && !s->ivs && s->guest_fd < 0)
			deadline = earliest(deadline, s->guest_retry_at);
		relay_vm_poll(s->vm, now);
		if (s->guest_fd >= 0 || ivs_up(s))
			guest_feed(s, now);
		if (ivs_up(s))
			ivs_read(s, now);
		if (s->dbg_fd >= 0)
			dbg_feed(s, now);
		flush_slot(r, s, now);
		/* The guest polls its ring and never says when it made room: look again soon. */
		if (ivs_up(s) && relay_buf_pending(&s->vm->to_guest))
			deadline = earliest(deadline, now + RELAY_IVSHMEM_RETRY_US);
		deadline = earliest(deadline, relay_vm_deadline(s->vm));
	}
	return deadline;
}

static void add_pfd(struct relay *r, size_t *n, int fd, short events, enum pfd_kind kind,
		    size_t slot)
{
	/* Nothing wanted: leave it out, or a hang-up would be reported over and over. */
	r->pfds[*n].fd = events ? fd : -1;
	r->pfds[*n].events = events;
	r->pfds[*n].revents = 0;
	r->pfd_kind[*n] = (uint8_t)kind;
	r->pfd_slot[*n] = slot;
	(*n)++;
}

static size_t build_pollset(struct relay *r)
{
	size_t n = 0;

	add_pfd(r, &n, r->wake[0], POLLIN, PFD_WAKE, 0);
	for (size_t i = 0; i < r->count; i++) {
		struct relay_slot *s = &r->slots[i];
		short ev;

		if (s->guest_listen_fd >= 0)
			add_pfd(r, &n, s->guest_listen_fd, POLLIN, PFD_GUEST_LISTEN, i);
		if (s->ivs) {
			add_pfd(r, &n, relay_ivshmem_listen_fd(s->ivs), POLLIN, PFD_IVS_LISTEN, i);
			if (ivs_up(s))
				add_pfd(r, &n, relay_ivshmem_client_fd(s->ivs), POLLIN,
					PFD_IVS_CLIENT, i);
			add_pfd(r, &n, relay_ivshmem_doorbell_fd(s->ivs), POLLIN, PFD_IVS_BELL, i);
		}
		if (s->guest_connecting_fd >= 0)
			add_pfd(r, &n, s->guest_connecting_fd, POLLOUT, PFD_GUEST_CONNECT, i);
		if (s->guest_fd >= 0) {
			ev = 0;
			if (!s->grx_len && relay_vm_guest_can_read(s->vm))
				ev |= POLLIN;
			if (relay_buf_pending(&s->vm->to_guest))
				ev |= POLLOUT;
			add_pfd(r, &n, s->guest_fd, ev, PFD_GUEST, i);
		}
		add_pfd(r, &n, s->dbg_listen_fd, POLLIN, PFD_DBG_LISTEN, i);
		if (s->dbg_fd >= 0) {
			ev = 0;
			if (!s->drx_len && relay_vm_debugger_can_read(s->vm))
				ev |= POLLIN;
			if (relay_buf_pending(&s->vm->to_debugger))
				ev |= POLLOUT;
			add_pfd(r, &n, s->dbg_fd, ev, PFD_DBG, i);
		}
	}
	return n;
}

static void drain_wake(struct relay *r)
{
	uint8_t buf[64];

	while (read(r->wake[0], buf, sizeof(buf)) > 0)
		;
}

static void dispatch(struct relay *r, const struct pollfd *p, enum pfd_kind kind,
		     struct relay_slot *s, uint64_t now)
{
	short in = POLLIN | POLLHUP | POLLERR;

	switch (kind) {
	case PFD_WAKE:
		drain_wake(r);
		break;
	case PFD_GUEST_LISTEN:
		guest_accept(r, s, now);
		break;
	case PFD_GUEST_CONNECT:
		if (p->fd == s->guest_connecting_fd)
			guest_connect_done(r, s, now);
		break;
	case PFD_DBG_LISTEN:
		dbg_accept(r, s, now);
		break;
	case PFD_IVS_LISTEN:
		ivs_accept(r, s, now);
		break;
	case PFD_IVS_CLIENT:
		if (ivs_up(s) && p->fd == relay_ivshmem_client_fd(s->ivs))
			ivs_client_event(r, s, now);
		break;
	case PFD_IVS_BELL:
		/* The ring is read in service() right after this round's events. */
		relay_ivshmem_doorbell(s->ivs);
		break;
	case PFD_GUEST:
		if (p->fd != s->guest_fd) /* replaced during this round */
			break;
		if (p->revents & in)
			guest_read(r, s, now);
		if (s->guest_fd >= 0 && (p->revents & POLLOUT))
			flush_slot(r, s, now);
		break;
	case PFD_DBG:
		if (p->fd != s->dbg_fd)
			break;
		if (p->revents & in)
			dbg_read(r, s, now);
		if (s->dbg_fd >= 0 && (p->revents & POLLOUT))
			flush_slot(r, s, now);
		break;
	}
}

static int timeout_ms(uint64_t deadline, uint64_t now, int max_wait_ms)
{
	uint64_t ms;

	if (deadline == KD_LINK_NO_DEADLINE)
		return max_wait_ms;
	ms = deadline > now ? (deadline - now + 999u) / 1000u : 0;
	if (max_wait_ms >= 0 && ms > (uint64_t)max_wait_ms)
		ms = (uint64_t)max_wait_ms;
	return ms > 60000u ? 60000 : (int)ms;
}

int relay_run_once(struct relay *r, int max_wait_ms)
{
	uint64_t now = relay_clock_us(), deadline;
	struct timespec ts, *tsp = NULL;
	size_t n;
	int ms, rc;

	deadline = service(r, now);
	n = build_pollset(r);
	ms = timeout_ms(deadline, now, max_wait_ms);
	if (ms >= 0) {
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (long)(ms % 1000) * 1000000L;
		tsp = &ts;
	}
	rc = ppoll(r->pfds, n, tsp, r->opt.wait_sigmask);
	if (rc < 0) {
		if (errno == EINTR)
			return 0;
		relay_logf(&r->log, relay_clock_us(), NULL, "poll: %s", strerror(errno));
		return -1;
	}
	now = relay_clock_us();
	for (size_t i = 0; i < n && rc > 0; i++) {
		if (!r->pfds[i].revents)
			continue;
		rc--;
		dispatch(r, &r->pfds[i], (enum pfd_kind)r->pfd_kind[i],
			 r->pfd_kind[i] == PFD_WAKE ? NULL : &r->slots[r->pfd_slot[i]], now);
	}
	service(r, now);
	return 0;
}

static int stopping(const struct relay *r)
{
	return atomic_load(&r->stop) || (r->opt.stop_flag && *r->opt.stop_flag) ||
	       (r->opt.reload_flag && *r->opt.reload_flag);
}

int relay_run(struct relay *r)
{
	while (!stopping(r))
		if (relay_run_once(r, -1) < 0)
			return -1;
	return 0;
}

void relay_stop(struct relay *r)
{
	static const uint8_t one = 1;

	atomic_store(&r->stop, 1);
	if (write(r->wake[1], &one, 1) < 0) {
		/* full pipe: a wake-up is already pending */
	}
}
