/* SPDX-License-Identifier: MIT */
/* The KD debugger engine: a debugger-role kd_link over a socket, a poll() pump, requests. */
#include "session_int.h"
#include "session_decode.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vmkd/kd_api.h"
#include "vmkd/kd_packet.h"

#include "../common/endpoint.h"

/* ---- small helpers ---------------------------------------------------------------- */

int session_fail(struct session *s, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return rc;
}

/* A reply that fails a length or consistency check: counted, reported, never trusted. */
static int malformed(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int malformed(struct session *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	s->st.malformed++;
	n = snprintf(s->err, sizeof(s->err), "malformed reply: ");
	va_start(ap, fmt);
	vsnprintf(s->err + n, sizeof(s->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return -EPROTO;
}

static uint64_t clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t session_now(const struct session *s)
{
	return clock_us() - s->t0;
}

static uint64_t deadline_after(uint64_t timeout_us)
{
	uint64_t now = clock_us();

	if (timeout_us == SESSION_WAIT_FOREVER || timeout_us > UINT64_MAX - now)
		return UINT64_MAX;
	return now + timeout_us;
}

static int interrupted(struct session *s)
{
	if (!s->opt.interrupt || !*s->opt.interrupt)
		return 0;
	*s->opt.interrupt = 0;
	return 1;
}

static const char *api_name(uint32_t api)
{
	const char *name = kd_api_name(api);

	return name ? name : "request";
}

static int api_resumes(uint32_t api)
{
	return api == KD_API_CONTINUE || api == KD_API_CONTINUE2 || api == KD_API_REBOOT ||
	       api == KD_API_CAUSE_BUGCHECK || api == KD_API_SWITCH_PROCESSOR;
}

/* ---- output ----------------------------------------------------------------------- */

static void mark_dead(struct session *s, const char *why, int e)
{
	if (s->dead)
		return;
	s->dead = 1;
	if (e)
		session_fail(s, -ECONNRESET, "connection lost: %s: %s", why, strerror(e));
	else
		session_fail(s, -ECONNRESET, "connection lost: %s", why);
}

static void drain_input(struct session *s);
static void serve_queue(struct session *s);

static void flush_out(struct session *s)
{
	while (s->out_len && !s->dead) {
		ssize_t n = send(s->fd, s->out, s->out_len, MSG_NOSIGNAL);

		if (n < 0 && errno == ENOTSOCK)
			n = write(s->fd, s->out, s->out_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				int e = errno;

				if (e == EPIPE || e == ECONNRESET)
					drain_input(s);
				mark_dead(s, "write", e);
			}
			return;
		}
		s->st.writes++;
		memmove(s->out, s->out + n, s->out_len - (size_t)n);
		s->out_len -= (size_t)n;
	}
}

static void trace_feed(struct session *s, struct kd_parser *p, enum session_dir dir,
		       const uint8_t *buf, size_t len)
{
	struct kd_event ev;

	if (!s->trace_on || !s->opt.cb.trace)
		return;
	while (len) {
		size_t used = kd_parser_feed(p, buf, len, &ev);

		buf += used;
		len -= used;
		if (ev.kind != KD_EV_NONE)
			s->opt.cb.trace(s->opt.cb.opaque, dir, &ev, session_now(s));
	}
}

/* n bytes just read into rdbuf: counted, traced, fed to the link. What the link answers
 * (ACKs) is held and leaves with the next flush, in one write. */
static void take_input(struct session *s, size_t n)
{
	s->st.bytes_rx += (uint64_t)n;
	trace_feed(s, &s->trace_rx, SESSION_RX, s->rdbuf, n);
	s->holding = 1;
	kd_link_input(&s->link, s->rdbuf, n, clock_us());
	s->holding = 0;
}

/* The peer closed while we wrote: what it sent before (a relay's "already has a debugger"
 * notice, a last stop) is still in our receive buffer and is taken before the session
 * ends, without waiting and without writing. */
static void drain_input(struct session *s)
{
	for (int i = 0; i < 64; i++) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & (POLLIN | POLLHUP)))
			return;
		n = read(s->fd, s->rdbuf, sizeof(s->rdbuf));
		if (n <= 0)
			return;
		take_input(s, (size_t)n);
		s->holding = 1; /* nothing is written back: the peer is gone */
		serve_queue(s);
		s->holding = 0;
	}
}

static void link_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct session *s = opaque;

	if (s->dead)
		return;
	s->st.bytes_tx += len;
	trace_feed(s, &s->trace_tx, SESSION_TX, buf, len);
	if (s->out_len + len > s->out_cap) {
		size_t cap = s->out_cap ? s->out_cap : 8192;
		uint8_t *p;

		while (cap < s->out_len + len)
			cap *= 2;
		if (cap > OUT_MAX || !(p = realloc(s->out, cap))) {
			mark_dead(s, "the target stopped reading", 0);
			return;
		}
		s->out = p;
		s->out_cap = cap;
	}
	memcpy(s->out + s->out_len, buf, len);
	s->out_len += len;
	if (!s->holding)
		flush_out(s);
}

void session_flush(struct session *s)
{
	s->defer_ack = 0;
	flush_out(s);
}

/* ---- link callbacks --------------------------------------------------------------- */

static void link_deliver(void *opaque, uint16_t type, uint32_t id, const uint8_t *payload,
			 size_t len)
{
	struct session *s = opaque;
	struct rx_packet *p;

	(void)id;
	if (s->rx_count == RXQ_LEN || len > KD_MAX_PAYLOAD) {
		s->st.dropped++;
		return;
	}
	p = &s->rxq[(s->rx_head + s->rx_count++) % RXQ_LEN];
	p->type = type;
	p->len = len;
	if (len)
		memcpy(p->payload, payload, len);
}

static void link_send_done(void *opaque, enum kd_send_result result)
{
	struct session *s = opaque;

	if (s->inflight_tag && s->inflight_tag == s->wait_tag)
		s->wait_result = (int)result;
	s->inflight_tag = 0;
}

static const struct kd_link_ops session_link_ops = {
	.write = link_write,
	.deliver = link_deliver,
	.send_done = link_send_done,
};

/* ---- transmit queue --------------------------------------------------------------- */

/* Queues a data packet for the link. Returns its tag, or 0 when the queue is full. */
static uint64_t txq_push(struct session *s, uint16_t type, const void *hdr, size_t hdr_len,
			 const void *data, size_t data_len)
{
	struct tx_packet *p;

	if (s->tx_count == TXQ_LEN || hdr_len + data_len > KD_MAX_PAYLOAD)
		return 0;
	p = &s->txq[(s->tx_head + s->tx_count++) % TXQ_LEN];
	p->tag = ++s->next_tag;
	p->type = type;
	p->len = hdr_len + data_len;
	memcpy(p->payload, hdr, hdr_len);
	if (data_len)
		memcpy(p->payload + hdr_len, data, data_len);
	return p->tag;
}

/* Hands the next queued packet to the link when it is idle. */
static void tx_kick(struct session *s)
{
	struct tx_packet *p;
	uint64_t now;

	if (s->dead || !s->tx_count || s->inflight_tag || kd_link_busy(&s->link))
		return;
	p = &s->txq[s->tx_head];
	now = clock_us();
	s->inflight_tag = p->tag;
	s->inflight_deadline = now + s->timeout_us;
	s->st.packets_tx++;
	if (kd_link_send(&s->link, p->type, p->payload, p->len, NULL, 0, now) != 0) {
		/* Cannot happen for a checked length on an idle link; drop rather than spin. */
		s->inflight_tag = 0;
		if (p->tag == s->wait_tag)
			s->wait_result = KD_SEND_GAVE_UP;
	}
	s->tx_head = (s->tx_head + 1) % TXQ_LEN;
	s->tx_count--;
}

/* Withdraws packet tag, queued or in flight. */
static void tx_cancel(struct session *s, uint64_t tag)
{
	if (!tag)
		return;
	if (s->inflight_tag == tag) {
		kd_link_cancel(&s->link);
		s->inflight_tag = 0;
		return;
	}
	for (size_t i = 0; i < s->tx_count; i++) {
		size_t at = (s->tx_head + i) % TXQ_LEN;

		if (s->txq[at].tag != tag)
			continue;
		/* Close the gap, keeping order. */
		for (size_t j = i; j + 1 < s->tx_count; j++)
			s->txq[(s->tx_head + j) % TXQ_LEN] = s->txq[(s->tx_head + j + 1) % TXQ_LEN];
		s->tx_count--;
		return;
	}
}

/* ---- serving what the target sends ------------------------------------------------ */

static void take_reply(struct session *s, const struct rx_packet *p, const struct sd_event *ev)
{
	struct kd_manipulate_state64 m;
	const uint8_t *data = NULL;
	size_t dlen = 0;
	enum kd_api_error err;
	const char *name = api_name(s->await_req.api_number);

	(void)ev;
	/* Nothing awaited, or already answered: a late or duplicated reply. */
	if (!s->awaiting || s->have_reply || s->reply_err) {
		s->st.stale_replies++;
		return;
	}
	switch (sd_match_reply(&s->await_req, p->payload, p->len, &m, &data, &dlen, &err)) {
	case SD_MATCH_STALE:
		s->st.stale_replies++;
		return;
	case SD_MATCH_MALFORMED:
		s->reply_err = malformed(s, "%s reply of %zu bytes: %s", name, p->len,
					 kd_api_error_name(err));
		return;
	case SD_MATCH_OURS:
		break;
	}
	if (dlen > s->reply_cap) {
		s->reply_err = malformed(s, "%s reply carries %zu data bytes, expected at most %zu",
					 name, dlen, s->reply_cap);
		return;
	}
	s->reply = m;
	if (dlen)
		memcpy(s->reply_data, data, dlen);
	s->reply_len = dlen;
	s->have_reply = 1;
}

static void module_update(struct session *s, const struct session_stop *st)
{
	size_t i;

	for (i = 0; i < s->nmods; i++)
		if (s->mods[i].base == st->base)
			break;
	if (st->unload) {
		if (i < s->nmods) {
			memmove(&s->mods[i], &s->mods[i + 1], (s->nmods - i - 1) * sizeof(s->mods[0]));
			s->nmods--;
		}
		return;
	}
	if (i == s->nmods) {
		if (s->nmods == s->mods_cap) {
			size_t cap = s->mods_cap ? s->mods_cap * 2 : 32;
			struct session_module *m;

			if (cap > MAX_MODULES || !(m = realloc(s->mods, cap * sizeof(*m))))
				return;
			s->mods = m;
			s->mods_cap = cap;
		}
		s->nmods++;
	}
	s->mods[i].base = st->base;
	s->mods[i].size = st->size;
	snprintf(s->mods[i].path, sizeof(s->mods[i].path), "%s", st->path);
}

/* Whether packet tag is still queued or in flight. */
static int tx_pending(const struct session *s, uint64_t tag)
{
	if (!tag)
		return 0;
	if (s->inflight_tag == tag)
		return 1;
	for (size_t i = 0; i < s->tx_count; i++)
		if (s->txq[(s->tx_head + i) % TXQ_LEN].tag == tag)
			return 1;
	return 0;
}

static uint64_t push_msg(struct session *s, const struct kd_api_msg *msg)
{
	return txq_push(s, msg->type, &msg->u, msg->hdr_len, msg->data, msg->data_len);
}

static void auto_continue(struct session *s)
{
	struct kd_api_msg msg;

	kd_api_req_continue2(&msg, KD_DBG_CONTINUE, 0, 0);
	msg.u.m.processor = s->stop.processor;
	s->autocont_tag = push_msg(s, &msg);
	if (s->autocont_tag)
		s->state = SESSION_TARGET_RUNNING;
}

static void take_stop(struct session *s, const struct rx_packet *p, const struct sd_event *ev)
{
	const struct session_stop *st = &ev->stop;

	(void)p;
	/* The same module load again while our continue for it is still on its way: the
	 * target re-sent it (a break-in byte reached it halted). One continue is enough. */
	if (st->kind == SESSION_STOP_LOAD_SYMBOLS && tx_pending(s, s->autocont_tag) &&
	    !memcmp(&st->raw, &s->stop.raw, sizeof(st->raw))) {
		s->st.stale_replies++;
		return;
	}
	if (ev->err)
		malformed(s, "%s: %s", ev->what, kd_api_error_name(ev->err));
	s->st.state_changes++;
	s->stop = *st;
	s->stop.seq = s->st.state_changes;
	s->state = SESSION_TARGET_STOPPED;
	/* A target that reports a stop is there, whatever the relay said before. */
	s->target_gone = 0;
	if (st->kind == SESSION_STOP_LOAD_SYMBOLS) {
		module_update(s, st);
		if (s->opt.cb.module)
			s->opt.cb.module(s->opt.cb.opaque, st->base, st->size, st->path, st->unload);
	}
	if (st->kind == SESSION_STOP_EXCEPTION || st->kind == SESSION_STOP_OTHER ||
	    s->opt.stop_on_load_symbols) {
		/* A stop reported again while a request awaits its reply (the target
		 * resynchronised: a RESET, a SYNC-flagged packet, a break-in byte) needs
		 * nothing from us. Exactly one layer re-sends a request: the link, which
		 * re-sends (renumbered) what the target has not acknowledged. A copy queued
		 * here as well ran twice on the target; a request the target acknowledged
		 * and then dropped fails by its timeout rather than risk that. */
		s->stop_unreported = 1;
		return;
	}
	/* Module loads at boot and command strings: recorded, then the target goes on. The
	 * kernel's own load-symbols breakpoint advances its PC itself. */
	auto_continue(s);
}

static void take_print(struct session *s, const struct rx_packet *p, const struct sd_event *ev)
{
	(void)p;
	s->st.dbgprints++;
	/* The relay's notices are shown like any DbgPrint, and change what waits expect. */
	if (ev->notice == SD_NOTICE_GUEST_GONE)
		s->target_gone = 1;
	else if (ev->notice == SD_NOTICE_GUEST_BACK)
		s->target_gone = 0;
	if (s->opt.cb.print && ev->text_len)
		s->opt.cb.print(s->opt.cb.opaque, ev->text, ev->text_len);
}

static void answer_prompt(struct session *s, const struct rx_packet *p, const struct sd_event *ev)
{
	char answer[KD_DEBUG_IO_MAX_TEXT];
	struct kd_api_msg msg;
	size_t cap = ev->io.length_of_string_read < sizeof(answer) ? ev->io.length_of_string_read :
								     sizeof(answer);
	int len = -1;

	(void)p;
	if (s->opt.cb.prompt)
		len = s->opt.cb.prompt(s->opt.cb.opaque, ev->text, ev->text_len, answer, cap);
	if (len < 0)
		len = 0;
	kd_api_build_get_string_reply(&msg, &ev->io, answer, (size_t)len);
	push_msg(s, &msg);
}

/* We serve no files (.kdfiles): every file request gets STATUS_NO_SUCH_FILE. */
static void answer_file_io(struct session *s, const struct rx_packet *p, const struct sd_event *ev)
{
	struct kd_api_msg msg;

	(void)p;
	kd_api_build_file_io_reply(&msg, &ev->file);
	push_msg(s, &msg);
}

static void take_malformed(struct session *s, const struct rx_packet *p, const struct sd_event *ev)
{
	malformed(s, "%s of %zu bytes: %s", ev->what, p->len, kd_api_error_name(ev->err));
}

typedef void (*serve_fn)(struct session *s, const struct rx_packet *p, const struct sd_event *ev);

static const serve_fn serve_table[] = {
	[SD_IGNORED] = NULL, /* the link ACKed it; nothing to answer */
	[SD_MALFORMED] = take_malformed,
	[SD_REPLY] = take_reply,
	[SD_STATE_CHANGE] = take_stop,
	[SD_PRINT] = take_print,
	[SD_PROMPT] = answer_prompt,
	[SD_FILE_IO] = answer_file_io,
};

static void serve_queue(struct session *s)
{
	struct sd_event ev;

	while (s->rx_count) {
		struct rx_packet *p = &s->rxq[s->rx_head];

		s->st.packets_rx++;
		sd_decode(p->type, p->payload, p->len, &ev);
		if ((size_t)ev.kind < sizeof(serve_table) / sizeof(serve_table[0]) &&
		    serve_table[ev.kind])
			serve_table[ev.kind](s, p, &ev);
		s->rx_head = (s->rx_head + 1) % RXQ_LEN;
		s->rx_count--;
	}
}

/* ---- the pump --------------------------------------------------------------------- */

/* One round: wait for input, the link's next timer or deadline (absolute, clock_us),
 * whichever is first; feed the link; serve delivered packets; start the next send. */
static void pump(struct session *s, uint64_t deadline)
{
	struct pollfd pfd;
	uint64_t now, wake;
	int timeout_ms, rc;

	serve_queue(s);
	tx_kick(s);
	flush_out(s);
	if (s->dead)
		return;

	now = clock_us();
	wake = deadline;
	if (kd_link_deadline(&s->link) < wake)
		wake = kd_link_deadline(&s->link);
	if (s->inflight_tag && s->inflight_deadline < wake)
		wake = s->inflight_deadline;
	if (wake <= now)
		timeout_ms = 0;
	else if (wake - now > 1000000)
		timeout_ms = 1000; /* wake up now and then anyway: cheap, and robust to drift */
	else
		timeout_ms = (int)((wake - now + 999) / 1000);

	pfd.fd = s->fd;
	pfd.events = POLLIN | (s->out_len ? POLLOUT : 0);
	pfd.revents = 0;
	rc = poll(&pfd, 1, timeout_ms);
	if (rc < 0 && errno != EINTR) {
		mark_dead(s, "poll", errno);
		return;
	}
	if (rc > 0 && (pfd.revents & POLLOUT))
		flush_out(s);
	if (rc > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
		ssize_t n = read(s->fd, s->rdbuf, sizeof(s->rdbuf));

		if (n == 0) {
			mark_dead(s, "closed by the peer", 0);
		} else if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				mark_dead(s, "read", errno);
		} else {
			take_input(s, (size_t)n);
		}
	}
	now = clock_us();
	kd_link_poll(&s->link, now);
	/* A packet the target never acknowledges must not block the queue forever. */
	if (s->inflight_tag && now >= s->inflight_deadline)
		tx_cancel(s, s->inflight_tag);
	serve_queue(s);
	tx_kick(s);
	/* The reply a multi-request read waited for: its ACK leaves with the next request
	 * (session_request's first pump round), one write instead of two. */
	if (!(s->defer_ack && s->have_reply))
		flush_out(s);
}

/* ---- lifetime --------------------------------------------------------------------- */

void session_default_options(struct session_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->request_timeout_us = SESSION_DEFAULT_TIMEOUT_US;
	opt->connect_timeout_ms = 10000;
}

/* A fresh link on s->fd: the KD handshake from its start. */
static void start_link(struct session *s, int break_in)
{
	struct kd_link_config cfg;

	if (s->opt.link_config)
		cfg = *s->opt.link_config;
	else
		kd_link_default_config(&cfg);
	s->ops = session_link_ops;
	kd_link_init(&s->link, KD_ROLE_DEBUGGER, &cfg, &s->ops, s);
	kd_parser_init(&s->trace_rx);
	kd_parser_init(&s->trace_tx);
	/* Break-in byte first, then RESET: what the captures show a working client do. */
	if (break_in) {
		kd_link_send_breakin(&s->link);
		s->st.breakins_sent++;
	}
	kd_link_start_reset(&s->link, clock_us());
}

static int set_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -1 : 0;
}

struct session *session_open_fd(int fd, const struct session_options *opt, char *err,
				size_t errlen)
{
	struct session *s;

	s = calloc(1, sizeof(*s));
	if (!s)
		goto fail_nomem;
	s->rxq = calloc(RXQ_LEN, sizeof(*s->rxq));
	s->txq = calloc(TXQ_LEN, sizeof(*s->txq));
	if (!s->rxq || !s->txq)
		goto fail_nomem;

	s->fd = fd;
	/* The pump never blocks in read or write; poll() does the waiting. */
	if (set_nonblocking(fd) < 0) {
		snprintf(err, errlen, "cannot make the connection non-blocking: %s", strerror(errno));
		free(s->rxq);
		free(s->txq);
		free(s);
		close(fd);
		return NULL;
	}
	if (opt)
		s->opt = *opt;
	else
		session_default_options(&s->opt);
	s->timeout_us = s->opt.request_timeout_us ? s->opt.request_timeout_us :
						    SESSION_DEFAULT_TIMEOUT_US;
	s->t0 = clock_us();
	s->trace_on = s->opt.trace;
	s->next_bp_id = 0;

	start_link(s, s->opt.break_in);
	if (s->dead) {
		snprintf(err, errlen, "%s", s->err);
		session_close(s);
		return NULL;
	}
	return s;

fail_nomem:
	snprintf(err, errlen, "out of memory");
	if (s) {
		free(s->rxq);
		free(s->txq);
		free(s);
	}
	close(fd);
	return NULL;
}

struct session *session_open(const char *spec, const struct session_options *opt, char *err,
			     size_t errlen)
{
	struct session_options def;
	struct session *s;
	int fd;

	if (!opt) {
		session_default_options(&def);
		opt = &def;
	}
	fd = endpoint_connect(spec, opt->connect_timeout_ms, err, errlen);
	if (fd < 0)
		return NULL;
	s = session_open_fd(fd, opt, err, errlen);
	if (s && !(s->spec = strdup(spec))) {
		session_close(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return s;
}

/* A connection counts once it has lived this long. A relay killed a moment ago can close
 * our old connection before its listening socket: a dial in between is accepted by the
 * kernel, then reset (seen under load as "reconnected" followed at once by "connection
 * reset by peer"). Such a connection is dialled again instead of reported. */
#define RECONNECT_SETTLE_US 200000

/* Replaces the connection with fd and starts a fresh link on it. */
static void adopt_connection(struct session *s, int fd)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = fd;
	s->dead = 0;
	s->out_len = 0;
	s->holding = 0;
	s->defer_ack = 0;
	/* Nothing sent on the old connection can be answered on this one. Packets received
	 * whole before it broke stay queued: a DbgPrint or a stop is still news. */
	s->tx_count = 0;
	s->inflight_tag = 0;
	s->wait_tag = 0;
	s->awaiting = 0;
	s->have_reply = 0;
	s->state = SESSION_TARGET_UNKNOWN;
	s->target_gone = 0;
	start_link(s, 0);
}

int session_reconnect(struct session *s, int timeout_ms)
{
	uint64_t deadline = deadline_after((uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000);
	char err[256];
	int fd;

	if (!s->spec)
		return session_fail(s, -ENOTSUP, "cannot reconnect a session opened on a descriptor");
	for (;;) {
		uint64_t now = clock_us();
		int left_ms = now < deadline ? (int)((deadline - now + 999) / 1000) : 1;

		fd = endpoint_connect(s->spec, left_ms, err, sizeof(err)); /* non-blocking */
		if (fd < 0)
			return session_fail(s, -ECONNREFUSED, "%s", err);
		adopt_connection(s, fd);
		if (session_poll(s, RECONNECT_SETTLE_US) == 0)
			break;
		s->st.reconnects_reset++;
		if (clock_us() >= deadline)
			return -ECONNRESET; /* session_error: why the connection died */
	}
	s->st.reconnects++;
	return 0;
}

void session_close(struct session *s)
{
	if (!s)
		return;
	if (s->fd >= 0) {
		flush_out(s);
		close(s->fd);
	}
	free(s->spec);
	free(s->out);
	free(s->mods);
	free(s->rxq);
	free(s->txq);
	free(s);
}

const char *session_error(const struct session *s)
{
	return s->err[0] ? s->err : "no error";
}

void session_set_trace(struct session *s, int on)
{
	if (on && !s->trace_on) {
		/* Start clean: a half-parsed packet from before would decode as noise. */
		kd_parser_reset(&s->trace_rx);
		kd_parser_reset(&s->trace_tx);
	}
	s->trace_on = on;
}

int session_tracing(const struct session *s)
{
	return s->trace_on;
}

void session_set_timeout(struct session *s, uint64_t timeout_us)
{
	s->timeout_us = timeout_us ? timeout_us : SESSION_DEFAULT_TIMEOUT_US;
}

enum session_target_state session_state(const struct session *s)
{
	return s->state;
}

int session_connected(const struct session *s)
{
	return !s->dead;
}

const struct session_stop *session_last_stop(const struct session *s)
{
	return &s->stop;
}

/* ---- waiting ---------------------------------------------------------------------- */

int session_poll(struct session *s, uint64_t timeout_us)
{
	uint64_t deadline = deadline_after(timeout_us);

	do {
		if (s->dead)
			return -ECONNRESET;
		pump(s, deadline);
	} while (clock_us() < deadline);
	return s->dead ? -ECONNRESET : 0;
}

int session_break_in(struct session *s)
{
	if (s->dead)
		return -ECONNRESET;
	kd_link_send_breakin(&s->link);
	s->st.breakins_sent++;
	flush_out(s);
	return s->dead ? -ECONNRESET : 0;
}

int session_target_gone(const struct session *s)
{
	return s->target_gone;
}

/* The relay said its guest is gone: serve what arrives for a short while (the relay's
 * notices travel stop-and-wait, so "back" can only follow once "gone" was ACKed), then
 * fail fast rather than wait for what cannot come. */
static int check_gone(struct session *s, const char *what)
{
	uint64_t deadline;

	if (!s->target_gone)
		return 0;
	deadline = deadline_after(SESSION_GONE_GRACE_US);
	do {
		pump(s, deadline);
	} while (s->target_gone && !s->stop_unreported && !s->dead && clock_us() < deadline);
	if (!s->target_gone || s->stop_unreported)
		return 0;
	return session_fail(s, -ENOTCONN, "%s%sthe relay reports its guest disconnected", what,
			    *what ? ": " : "");
}

int session_wait_stop(struct session *s, uint64_t timeout_us, struct session_stop *out)
{
	uint64_t deadline = deadline_after(timeout_us), breakin_deadline = UINT64_MAX, now;
	int rc;

	for (;;) {
		if (s->stop_unreported) {
			s->stop_unreported = 0;
			if (out)
				*out = s->stop;
			return 0;
		}
		if (s->dead)
			return -ECONNRESET; /* the message says how it was lost */
		if ((rc = check_gone(s, "")) != 0)
			return rc;
		if (s->stop_unreported)
			continue;
		/* Ctrl-C while the target runs: ask it to stop, keep waiting for the report,
		 * but not for ever: a target that does not answer a break-in within the
		 * request timeout is reported as not answering. */
		if (interrupted(s)) {
			session_break_in(s);
			if (breakin_deadline == UINT64_MAX)
				breakin_deadline = deadline_after(s->timeout_us);
		}
		now = clock_us();
		if (now >= breakin_deadline)
			return session_fail(s, -ETIMEDOUT,
				    "the target is not answering: no stop %.1f s after the break-in",
				    (double)s->timeout_us / 1e6);
		if (now >= deadline)
			return session_fail(s, -ETIMEDOUT, "the target did not stop within %.1f s",
				    (double)timeout_us / 1e6);
		pump(s, deadline < breakin_deadline ? deadline : breakin_deadline);
	}
}

/* ---- requests --------------------------------------------------------------------- */

int session_request(struct session *s, const struct kd_manipulate_state64 *req,
		    const void *data, size_t len, struct kd_manipulate_state64 *reply,
		    void *reply_data, size_t cap, size_t *data_len, uint64_t timeout_us)
{
	uint64_t start = clock_us(), deadline;
	int no_reply = !kd_api_has_reply(req->api_number);
	const char *name = api_name(req->api_number);
	int rc;

	if (data_len)
		*data_len = 0;
	if (s->dead)
		return -ECONNRESET;
	if ((rc = check_gone(s, name)) != 0)
		return rc;
	if (s->state != SESSION_TARGET_STOPPED)
		return session_fail(s, -EBUSY, "%s: the target is running (break in first)", name);
	if (len > KD_MANIPULATE_MAX_DATA)
		return session_fail(s, -EINVAL, "%s: %zu data bytes exceed the %u-byte limit", name, len,
			    (unsigned)KD_MANIPULATE_MAX_DATA);
	if (s->awaiting || s->wait_tag)
		return session_fail(s, -EBUSY, "%s: another request is in progress", name);

	deadline = deadline_after(timeout_us ? timeout_us : s->timeout_us);
	/* The request goes out tagged with its generation; replies to earlier ones (timed
	 * out, interrupted, or run twice by the target) carry theirs and are dropped. */
	s->await_req = *req;
	s->await_req.pad = sd_generation(++s->generation);
	s->awaiting = !no_reply;
	s->have_reply = 0;
	s->reply_err = 0;
	s->reply_data = reply_data ? reply_data : s->scratch;
	s->reply_cap = reply_data ? cap : sizeof(s->scratch);
	s->reply_len = 0;
	s->wait_result = WAIT_PENDING;
	s->wait_tag = txq_push(s, KD_PACKET_TYPE_STATE_MANIPULATE, &s->await_req,
			       sizeof(s->await_req), data, len);
	if (!s->wait_tag) {
		s->awaiting = 0;
		return session_fail(s, -EBUSY, "%s: send queue full", name);
	}
	s->st.requests++;
	if (api_resumes(req->api_number)) {
		/* Set before pumping: the next state change may arrive in the same read as the
		 * ACK of this packet, and must not be overwritten by "running" afterwards. */
		s->state = SESSION_TARGET_RUNNING;
		s->stop_unreported = 0;
	}

	for (;;) {
		pump(s, deadline);
		if (s->dead) {
			rc = -ECONNRESET;
			break;
		}
		if (s->reply_err) {
			rc = s->reply_err;
			break;
		}
		if (s->have_reply) {
			rc = 0;
			break;
		}
		if (s->wait_result == KD_SEND_GAVE_UP || s->wait_result == KD_SEND_CANCELLED) {
			s->st.timeouts++;
			rc = session_fail(s, -ETIMEDOUT, "%s: the target did not acknowledge the request", name);
			break;
		}
		if (no_reply && s->wait_result == KD_SEND_ACKED) {
			rc = 0;
			break;
		}
		if (!no_reply && interrupted(s)) {
			rc = session_fail(s, -EINTR, "%s: interrupted", name);
			break;
		}
		if (clock_us() >= deadline) {
			s->st.timeouts++;
			rc = session_fail(s, -ETIMEDOUT, "%s: no reply from the target within %.1f s", name,
				  (double)(deadline - start) / 1e6);
			break;
		}
	}

	if (rc && s->wait_result == WAIT_PENDING)
		tx_cancel(s, s->wait_tag);
	if (rc && api_resumes(req->api_number) && s->state == SESSION_TARGET_RUNNING)
		s->state = SESSION_TARGET_STOPPED; /* it never got the continue */
	if (!rc && reply)
		*reply = no_reply ? *req : s->reply;
	if (!rc && data_len)
		*data_len = s->reply_len;
	s->awaiting = 0;
	s->wait_tag = 0;
	s->st.request_us += clock_us() - start;
	return rc;
}

size_t session_module_count(const struct session *s)
{
	return s->nmods;
}

const struct session_module *session_module_at(const struct session *s, size_t i)
{
	return i < s->nmods ? &s->mods[i] : NULL;
}

void session_get_stats(const struct session *s, struct session_stats *st)
{
	*st = s->st;
	st->link = s->link.stats;
	st->parser = s->link.parser.stats;
	st->retransmits = s->link.stats.retransmits;
	st->resets = s->link.stats.resets_sent + s->link.stats.resets_received;
	st->malformed = s->st.malformed + s->link.stats.bad_packets;
}

const char *session_exception_name(uint32_t code)
{
	switch (code) {
	case KD_STATUS_BREAKPOINT:
		return "Break instruction exception";
	case KD_STATUS_SINGLE_STEP:
		return "Single step exception";
	case KD_STATUS_ACCESS_VIOLATION:
		return "Access violation";
	case KD_STATUS_DATATYPE_MISALIGNMENT:
		return "Data misaligned";
	case KD_STATUS_WAKE_SYSTEM_DEBUGGER:
		return "Wake debugger";
	case 0xC000001Du:
		return "Illegal instruction";
	case 0xC0000094u:
		return "Integer divide-by-zero";
	case 0xC0000096u:
		return "Privileged instruction";
	case 0xC00000FDu:
		return "Stack overflow";
	case 0xC0000409u:
		return "Security check failure or stack buffer overrun";
	default:
		return NULL;
	}
}
