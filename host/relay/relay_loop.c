/* SPDX-License-Identifier: MIT */
/*
 * The relay's event loop: readiness dispatch. One epoll set holds every fd the relay waits
 * on (registered once, modified when the interest changes); one min-heap holds every VM's
 * next deadline. A round serves the VMs that are due, waits (epoll_pwait with the caller's
 * signal mask), hands each ready fd to the handler of its kind, and serves the VMs those
 * events touched: its cost depends on what happened, not on how many VMs sit idle.
 */
#define _GNU_SOURCE /* epoll_pwait */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "relay_loop_int.h"

#define EVENTS_PER_WAIT 64 /* more ready fds wait for the next round (level-triggered) */

#define slot_of_timer(t) \
	((struct relay_slot *)((char *)(t) - offsetof(struct relay_slot, timer)))

uint64_t relay_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- watches ----------------------------------------------------------------------- */

static void drain_wake(struct relay *r, struct relay_slot *s, uint32_t ev, uint64_t now)
{
	uint8_t buf[64];

	(void)s;
	(void)ev;
	(void)now;
	while (read(r->wake[0], buf, sizeof(buf)) > 0)
		;
}

typedef void (*watch_handler)(struct relay *r, struct relay_slot *s, uint32_t ev,
			      uint64_t now);

static const struct {
	const char *name; /* for the log */
	watch_handler on_ready;
} kinds[RW_KINDS] = {
	[RW_WAKE] = { "wake pipe", drain_wake },
	[RW_GUEST_LISTEN] = { "chardev listener", relay_conn_guest_listen },
	[RW_GUEST_CONNECT] = { "chardev connect", relay_conn_guest_connect },
	[RW_GUEST] = { "chardev", relay_conn_guest },
	[RW_DBG_LISTEN] = { "debugger listener", relay_conn_dbg_listen },
	[RW_DBG] = { "debugger", relay_conn_dbg },
	[RW_IVS_LISTEN] = { "ivshmem listener", relay_conn_ivs_listen },
	[RW_IVS_CLIENT] = { "ivshmem connection", relay_conn_ivs_client },
	[RW_IVS_BELL] = { "ivshmem doorbell", relay_conn_ivs_bell },
};

static void watch_init(struct relay_watch *w, struct relay_slot *s, enum relay_watch_kind k)
{
	w->slot = s;
	w->fd = -1;
	w->events = 0;
	w->kind = (uint8_t)k;
}

int relay_watch(struct relay *r, struct relay_watch *w, int fd, uint32_t events)
{
	struct epoll_event ev;

	if (fd < 0)
		events = 0;
	if (w->fd == fd && w->events == events)
		return 0;
	if (w->events && (w->fd != fd || !events)) {
		/* The fd is still open here (the callers' rule), so this cannot fail. */
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, w->fd, NULL);
		w->fd = -1;
		w->events = 0;
	}
	if (!events)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = w;
	if (epoll_ctl(r->epfd, w->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0) {
		relay_logf(&r->log, relay_clock_us(), w->slot ? w->slot->cfg.name : NULL,
			   "epoll_ctl (%s): %s", kinds[w->kind].name, strerror(errno));
		if (w->events)
			epoll_ctl(r->epfd, EPOLL_CTL_DEL, w->fd, NULL);
		w->fd = -1;
		w->events = 0;
		return -1;
	}
	w->fd = fd;
	w->events = events;
	return 0;
}

/* ---- lifetime ---------------------------------------------------------------------- */

int relay_loop_init(struct relay *r)
{
	relay_timers_init(&r->timers);
	r->due = NULL;
	watch_init(&r->wake_watch, NULL, RW_WAKE);
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0)
		return -1;
	return relay_watch(r, &r->wake_watch, r->wake[0], EPOLLIN);
}

void relay_loop_fini(struct relay *r)
{
	relay_watch(r, &r->wake_watch, -1, 0);
	if (r->epfd >= 0)
		close(r->epfd);
	r->epfd = -1;
	relay_timers_free(&r->timers);
	free(r->due);
	r->due = NULL;
}

int relay_loop_reserve(struct relay *r, size_t cap)
{
	struct relay_slot **due;

	if (relay_timers_reserve(&r->timers, cap))
		return -1;
	due = realloc(r->due, cap * sizeof(*due));
	if (!due)
		return -1;
	r->due = due;
	return 0;
}

void relay_loop_slot_init(struct relay *r, struct relay_slot *s)
{
	(void)r;
	for (size_t k = 0; k < RW_KINDS; k++)
		watch_init(&s->w[k], s, (enum relay_watch_kind)k);
	relay_timer_init(&s->timer);
}

void relay_loop_slot_fini(struct relay *r, struct relay_slot *s)
{
	for (size_t k = 0; k < RW_KINDS; k++)
		relay_watch(r, &s->w[k], -1, 0);
	relay_timers_cancel(&r->timers, &s->timer);
}

/* ---- deadlines --------------------------------------------------------------------- */

void relay_slot_due(struct relay *r, struct relay_slot *s)
{
	if (relay_timer_armed(&s->timer) && s->timer.at == 0)
		return; /* already */
	/* Cannot fail: relay_loop_reserve made room for every VM's timer. */
	(void)relay_timers_set(&r->timers, &s->timer, 0);
}

/* The stats line: on request (SIGUSR1's flag) and every stats_interval_us. */
static void stats(struct relay *r, uint64_t now)
{
	if (r->opt.stats_flag && *r->opt.stats_flag) {
		*r->opt.stats_flag = 0;
		relay_log_stats(r, 1);
	}
	if (r->opt.stats_interval_us && now >= r->next_stats) {
		relay_log_stats(r, 1);
		r->next_stats = now + r->opt.stats_interval_us;
	}
}

/* Serves every VM due by now, each once: a VM due again at once (a connect to the next
 * address) waits for the next round, as a zero timeout. */
static void serve_due(struct relay *r, uint64_t now)
{
	struct relay_timer *t;
	size_t n = 0;

	stats(r, now);
	while (n < r->count && (t = relay_timers_pop_due(&r->timers, now)))
		r->due[n++] = slot_of_timer(t);
	for (size_t i = 0; i < n; i++) {
		struct relay_slot *s = r->due[i];

		s->served++;
		(void)relay_timers_set(&r->timers, &s->timer, relay_conn_service(r, s, now));
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

/* ---- the loop ---------------------------------------------------------------------- */

int relay_run_once(struct relay *r, int max_wait_ms)
{
	struct epoll_event ev[EVENTS_PER_WAIT];
	uint64_t now = relay_clock_us(), deadline;
	int n;

	serve_due(r, now);
	deadline = relay_timers_next(&r->timers);
	if (r->opt.stats_interval_us && r->next_stats < deadline)
		deadline = r->next_stats;
	n = epoll_pwait(r->epfd, ev, EVENTS_PER_WAIT, timeout_ms(deadline, now, max_wait_ms),
			r->opt.wait_sigmask);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		relay_logf(&r->log, relay_clock_us(), NULL, "epoll_pwait: %s", strerror(errno));
		return -1;
	}
	now = relay_clock_us();
	for (int i = 0; i < n; i++) {
		struct relay_watch *w = ev[i].data.ptr;

		/* Unwatched by an earlier handler of this round (its fd closed, or no longer
		 * wanted): the event is stale. Nothing is watched anew before the next wait. */
		if (!w->events)
			continue;
		kinds[w->kind].on_ready(r, w->slot, ev[i].events, now);
		if (w->slot)
			relay_slot_due(r, w->slot);
	}
	serve_due(r, now);
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
