/* SPDX-License-Identifier: MIT */
/* One VM's connections around its core: QEMU's chardev (connect with retries, or accept),
 * the ivshmem server, the debugger listener and its connection; reading, feeding the core
 * as far as it takes bytes, writing without blocking; and the per-VM service the loop runs
 * when the VM is due (relay_loop_int.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmkd/kd_wire.h"

#include "relay_ivshmem.h"
#include "relay_loop_int.h"

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Out of the epoll set first, then closed (relay_loop_int.h says why). */
static void close_watched(struct relay *r, struct relay_slot *s, enum relay_watch_kind k,
			  int *fd)
{
	relay_watch(r, &s->w[k], -1, 0);
	close_fd(fd);
}

static int connect_mode(const struct relay_slot *s)
{
	return !s->cfg.guest_listen && !s->ivs;
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
	close_watched(r, s, RW_GUEST, &s->guest_fd);
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
	int replaced, rc;

	relay_watch(r, &s->w[RW_IVS_CLIENT], -1, 0); /* the accept may close it */
	rc = relay_ivshmem_accept(s->ivs, &replaced, err, sizeof(err));

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

static void ivs_read(struct relay_slot *s, uint64_t now);

static void ivs_client_event(struct relay *r, struct relay_slot *s, uint64_t now)
{
	/* What the guest put in the ring before QEMU went is still there (its last doorbell
	 * may come in the same round as the hang-up): taken first. */
	ivs_read(s, now);
	relay_watch(r, &s->w[RW_IVS_CLIENT], -1, 0); /* the check may close it */
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
	close_watched(r, s, RW_GUEST_CONNECT, &s->guest_connecting_fd);
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

/* Starts a connect without waiting: it completes in the loop (EPOLLOUT), so a QEMU that is
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

/* EPOLLOUT (or an error) on the connect in progress. */
static void guest_connect_done(struct relay *r, struct relay_slot *s, uint64_t now)
{
	int fd = s->guest_connecting_fd;

	if (endpoint_connect_finish(fd) < 0) {
		guest_connect_failed(r, s, now, errno);
		return;
	}
	relay_watch(r, &s->w[RW_GUEST_CONNECT], -1, 0); /* watched as RW_GUEST from now on */
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
	close_watched(r, s, RW_DBG, &s->dbg_fd);
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
		size_t n = relay_ivshmem_read(s->ivs, s->grx, RELAY_READ_CHUNK);

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
	n = recv(s->guest_fd, s->grx, RELAY_READ_CHUNK, 0);
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
	n = recv(s->dbg_fd, s->drx, RELAY_READ_CHUNK, 0);

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

/* ---- the loop's handlers, one per kind of watch ---------------------------------------- */

#define IN_EVENTS (EPOLLIN | EPOLLHUP | EPOLLERR)

void relay_conn_guest_listen(struct relay *r, struct relay_slot *s, uint32_t ev, uint64_t now)
{
	(void)ev;
	guest_accept(r, s, now);
}

void relay_conn_guest_connect(struct relay *r, struct relay_slot *s, uint32_t ev, uint64_t now)
{
	(void)ev;
	if (s->guest_connecting_fd >= 0)
		guest_connect_done(r, s, now);
}

void relay_conn_guest(struct relay *r, struct relay_slot *s, uint32_t ev, uint64_t now)
{
	if (ev & IN_EVENTS)
		guest_read(r, s, now);
	if (s->guest_fd >= 0 && (ev & EPOLLOUT))
		flush_slot(r, s, now);
}

void relay_conn_dbg_listen(struct relay *r, struct relay_slot *s, uint32_t ev, uint64_t now)
{
	(void)ev;
	dbg_accept(r, s, now);
}

void relay_conn_dbg(struct relay *r, struct relay_slot *s, uint32_t ev, uint64_t now)
{
	if (ev & IN_EVENTS)
		dbg_read(r, s, now);
	if (s->dbg_fd >= 0 && (ev & EPOLLOUT))
		flush_slot(r, s, now);
}

void relay_conn_ivs_listen(struct relay *r, struct relay_slot *s, uint32_t ev, uint64_t now)
{
	(void)ev;
	ivs_accept(r, s, now);
}

void relay_conn_ivs_client(struct relay *r, struct relay_slot *s, uint32_t ev, uint64_t now)
{
	(void)ev;
	if (ivs_up(s))
		ivs_client_event(r, s, now);
}

void relay_conn_ivs_bell(struct relay *r, struct relay_slot *s, uint32_t ev, uint64_t now)
{
	(void)r;
	(void)ev;
	(void)now;
	/* The ring is read when the VM is served, right after this round's events. */
	relay_ivshmem_doorbell(s->ivs);
}

/* ---- serving one VM ------------------------------------------------------------------ */

static uint64_t earliest(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The interest each of the VM's fds has now. A connection that cannot be watched (epoll
 * out of memory) is closed rather than left unread; a listener is tried again next time. */
static void slot_watch(struct relay *r, struct relay_slot *s, uint64_t now)
{
	uint32_t ev;

	relay_watch(r, &s->w[RW_GUEST_LISTEN], s->guest_listen_fd, EPOLLIN);
	relay_watch(r, &s->w[RW_GUEST_CONNECT], s->guest_connecting_fd, EPOLLOUT);
	ev = 0;
	if (!s->grx_len && relay_vm_guest_can_read(s->vm))
		ev |= EPOLLIN;
	if (relay_buf_pending(&s->vm->to_guest))
		ev |= EPOLLOUT;
	/* Nothing wanted: out of the set, or a hang-up would be reported over and over. */
	if (relay_watch(r, &s->w[RW_GUEST], s->guest_fd, ev) < 0)
		guest_detach(r, s, now, "cannot watch it");
	relay_watch(r, &s->w[RW_DBG_LISTEN], s->dbg_listen_fd, EPOLLIN);
	ev = 0;
	if (!s->drx_len && relay_vm_debugger_can_read(s->vm))
		ev |= EPOLLIN;
	if (relay_buf_pending(&s->vm->to_debugger))
		ev |= EPOLLOUT;
	if (relay_watch(r, &s->w[RW_DBG], s->dbg_fd, ev) < 0)
		dbg_detach(r, s, now, "cannot watch it");
	if (s->ivs) {
		relay_watch(r, &s->w[RW_IVS_LISTEN], relay_ivshmem_listen_fd(s->ivs), EPOLLIN);
		relay_watch(r, &s->w[RW_IVS_CLIENT], relay_ivshmem_client_fd(s->ivs), EPOLLIN);
		relay_watch(r, &s->w[RW_IVS_BELL], relay_ivshmem_doorbell_fd(s->ivs), EPOLLIN);
	}
}

uint64_t relay_conn_service(struct relay *r, struct relay_slot *s, uint64_t now)
{
	uint64_t deadline;

	if (s->guest_connecting_fd >= 0 && now >= s->guest_connect_deadline)
		guest_connect_failed(r, s, now, ETIMEDOUT);
	if (connect_mode(s) && s->guest_fd < 0 && s->guest_connecting_fd < 0 &&
	    now >= s->guest_retry_at)
		guest_try_connect(r, s, now);
	relay_vm_poll(s->vm, now);
	if (s->guest_fd >= 0 || ivs_up(s))
		guest_feed(s, now);
	if (ivs_up(s))
		ivs_read(s, now);
	if (s->dbg_fd >= 0)
		dbg_feed(s, now);
	flush_slot(r, s, now);

	deadline = relay_vm_deadline(s->vm);
	if (s->guest_connecting_fd >= 0)
		deadline = earliest(deadline, s->guest_connect_deadline);
	else if (connect_mode(s) && s->guest_fd < 0)
		deadline = earliest(deadline, s->guest_retry_at);
	/* The guest polls its ring and never says when it made room: look again soon. */
	if (ivs_up(s) && relay_buf_pending(&s->vm->to_guest))
		deadline = earliest(deadline, now + RELAY_IVSHMEM_RETRY_US);
	slot_watch(r, s, now);
	return deadline;
}

void relay_conn_release(struct relay *r, struct relay_slot *s)
{
	for (size_t k = 0; k < RW_KINDS; k++)
		relay_watch(r, &s->w[k], -1, 0);
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
	s->ivs = NULL;
	if (s->vm)
		relay_tap_free(s->vm->tap, relay_clock_us());
	relay_vm_free(s->vm);
	s->vm = NULL;
	free(s->grx);
	free(s->drx);
	s->grx = s->drx = NULL;
}
