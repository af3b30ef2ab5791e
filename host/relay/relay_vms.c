/* SPDX-License-Identifier: MIT */
/* The relay's VM table: the relay object, adding a VM (its listeners, its core, its
 * observers), removing one, looking them up, stats. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay_hostmem.h"
#include "relay_ivshmem.h"
#include "relay_loop_int.h"

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
	r->epfd = -1;
	if (pipe(r->wake) < 0) {
		free(r);
		return NULL;
	}
	if (set_flags(r->wake[0]) || set_flags(r->wake[1]) || relay_loop_init(r)) {
		relay_loop_fini(r);
		close(r->wake[0]);
		close(r->wake[1]);
		free(r);
		return NULL;
	}
	if (r->opt.stats_interval_us)
		r->next_stats = r->log.t0 + r->opt.stats_interval_us;
	return r;
}

static void slot_free(struct relay *r, struct relay_slot *s)
{
	relay_conn_release(r, s);
	relay_loop_slot_fini(r, s);
	free(s);
}

void relay_free(struct relay *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->count; i++)
		slot_free(r, r->slots[i]);
	free(r->slots);
	relay_loop_fini(r);
	close(r->wake[0]);
	close(r->wake[1]);
	free(r);
}

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
	size_t cap = r->cap ? r->cap * 2 : 4;
	struct relay_slot **slots;

	if (relay_loop_reserve(r, cap))
		return -1;
	slots = realloc(r->slots, cap * sizeof(*slots));
	if (!slots)
		return -1;
	r->slots = slots;
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
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	relay_loop_slot_init(r, s);
	s->cfg = *cfg;
	s->guest_fd = s->guest_listen_fd = s->dbg_fd = s->dbg_listen_fd = -1;
	s->guest_connecting_fd = -1;
	s->dbg_port = -1;
	s->vm = relay_vm_new(cfg->name, r->opt.link_config, &r->log);
	s->grx = malloc(RELAY_READ_CHUNK);
	s->drx = malloc(RELAY_READ_CHUNK);
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
	r->slots[r->count++] = s;
	relay_slot_due(r, s); /* the next round watches its fds and connects */
	return 0;
fail:
	slot_free(r, s);
	return -1;
}

void relay_remove_vm(struct relay *r, size_t i)
{
	if (i >= r->count)
		return;
	slot_free(r, r->slots[i]);
	memmove(&r->slots[i], &r->slots[i + 1], (r->count - i - 1) * sizeof(r->slots[0]));
	r->count--;
}

size_t relay_vm_count(const struct relay *r)
{
	return r->count;
}

struct relay_vm *relay_get_vm(struct relay *r, size_t i)
{
	return i < r->count ? r->slots[i]->vm : NULL;
}

const struct relay_vm_config *relay_get_config(const struct relay *r, size_t i)
{
	return i < r->count ? &r->slots[i]->cfg : NULL;
}

int relay_guest_connecting(const struct relay *r, size_t i)
{
	return i < r->count && r->slots[i]->guest_connecting_fd >= 0;
}

uint64_t relay_served(const struct relay *r, size_t i)
{
	return i < r->count ? r->slots[i]->served : 0;
}

int relay_debugger_port(const struct relay *r, size_t i)
{
	return i < r->count ? r->slots[i]->dbg_port : -1;
}

void relay_log_stats(struct relay *r, int request_guest)
{
	uint64_t now = relay_clock_us();
	char line[2048];

	for (size_t i = 0; i < r->count; i++) {
		struct relay_slot *s = r->slots[i];

		relay_vm_format_stats(s->vm, line, sizeof(line));
		relay_logf(&r->log, now, s->cfg.name, "%s", line);
		if (request_guest) {
			relay_vm_request_stats(s->vm, now);
			relay_slot_due(r, s); /* a frame for the guest to write */
		}
	}
}

