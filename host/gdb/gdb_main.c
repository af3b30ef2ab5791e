/* SPDX-License-Identifier: MIT */
/* `vmkd gdb`: options, the listening socket and the loop serving both sides at once:
 * the debugger's bytes (Ctrl-C included) and the KD session (stops, DbgPrint). */
#include "gdb_main.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/cli.h"
#include "../common/endpoint.h"
#include "gdb_server.h"

#define PUMP_SLICE_US 20000ull  /* KD side while running, between looks at the debugger */
#define IDLE_POLL_MS 200        /* nothing runs: how often to look at the KD side anyway */
#define MAX_SECONDS 86400       /* --timeout, --connect-timeout: at most a day */
#define RECONNECT_SLICE_MS 200  /* one dial attempt, between looks at the debugger */

static volatile sig_atomic_t quit_flag; /* the only process-wide state: signal handlers */

static void on_signal(int sig)
{
	(void)sig;
	quit_flag = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmkd gdb --kd ENDPOINT [--listen ADDR] [OPTIONS]\n\n"
		"A GDB remote protocol server in front of a KD connection (the vmkd relay, or a\n"
		"kernel's serial port): debug a Windows kernel with gdb, lldb, IDA or Ghidra.\n\n"
		"  --kd ENDPOINT            KD side: unix:PATH | tcp:HOST:PORT | HOST:PORT | PATH\n"
		"  --listen ADDR            debugger side (default unix:vmkd-gdb.sock, mode 0600);\n"
		"                           tcp:127.0.0.1:1234 or :1234 for TCP (loopback unless a\n"
		"                           host is given)\n"
		"  --break                  break in as soon as the KD side is connected\n"
		"  --once                   exit when the first debugger disconnects\n"
		"  -t, --timeout SEC        KD request timeout (default 5)\n"
		"      --connect-timeout SEC  keep trying the KD endpoint this long (default 10)\n"
		"      --reconnect SEC      when the KD connection is lost (the relay restarted),\n"
		"                           dial it again for up to SEC while gdb stays connected\n"
		"                           (default: until stopped; 0 = exit at once)\n"
		"  -v, --verbose            log every RSP packet to stderr\n"
		"  -h, --help\n\n"
		"Then: gdb -ex 'set architecture i386:x86-64' -ex 'target remote PATH|HOST:PORT'\n");
}

static int loopback_host(const char *h)
{
	return !strcmp(h, "localhost") || !strncmp(h, "127.", 4) || !strcmp(h, "::1");
}

static void on_print(void *opaque, const char *text, size_t len)
{
	gdb_server_print(opaque, text, len);
}

static void on_module(void *opaque, uint64_t base, uint32_t size, const char *path, int unload)
{
	struct gdb_server *g = opaque;

	if (g->log)
		fprintf(g->log, "vmkd gdb: module %s %s at %#llx (%#x bytes)\n",
			unload ? "unloaded" : "loaded", path, (unsigned long long)base, size);
}

/* The KD connection is gone for good: gdb is told its "process" exited. */
static int kd_lost(struct gdb_server *g)
{
	if (g->fd >= 0) {
		gdb_send(g, "X09", 3);
		gdb_server_drop(g, "KD connection lost");
	}
	return 1;
}

/* One dial while the KD side is down; gdb is served in between. A stopped target reports
 * its stop again on the new link, a running one gets gdb's next interrupt. Nonzero when
 * the time allowed is over. */
static int redial(struct gdb_server *g, const char *kd, uint64_t lost_at, double reconnect_s)
{
	if (session_reconnect(g->s, RECONNECT_SLICE_MS) == 0) {
		fprintf(stderr, "vmkd gdb: reconnected to %s\n", kd);
		return 0;
	}
	if (session_now(g->s) - lost_at < (uint64_t)(reconnect_s * 1e6))
		return 0;
	fprintf(stderr, "vmkd gdb: gave up reconnecting: %s\n", session_error(g->s));
	return 1;
}

static int serve(struct gdb_server *g, int lfd, int once, const char *kd, double reconnect_s)
{
	uint64_t lost_at = 0;
	int had_client = 0, down = 0;

	while (!quit_flag) {
		struct pollfd p[2];
		int n = 0, waiting, rc;

		/* Lost while waiting for a stop, or by a request gdb sent: said once, then
		 * dialled again until it is back or the time allowed is over. */
		if (!session_connected(g->s)) {
			if (!down) {
				fprintf(stderr, "vmkd gdb: KD connection lost: %s%s\n",
					session_error(g->s),
					reconnect_s > 0 ? "; reconnecting (gdb stays connected)" : "");
				if (reconnect_s <= 0)
					return kd_lost(g);
				down = 1;
				lost_at = session_now(g->s);
			}
			if (redial(g, kd, lost_at, reconnect_s))
				return kd_lost(g);
			down = !session_connected(g->s);
		}
		waiting = session_connected(g->s) && gdb_server_waiting(g);

		p[n++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		if (g->fd >= 0)
			p[n++] = (struct pollfd){ .fd = g->fd, .events = POLLIN };
		rc = poll(p, (nfds_t)n, waiting ? 0 : IDLE_POLL_MS);
		if (rc < 0 && errno != EINTR) {
			perror("vmkd gdb: poll");
			return 1;
		}
		if (rc > 0 && (p[0].revents & POLLIN)) {
			int fd = endpoint_accept(lfd);

			if (fd >= 0) {
				gdb_server_attach(g, fd);
				had_client = 1;
			}
		}
		if (rc > 0 && n > 1 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
			gdb_server_read(g);
		if (once && had_client && g->fd < 0)
			return 0;
		if (!session_connected(g->s))
			continue; /* a request gdb sent found it gone: redial above */
		if (gdb_server_waiting(g) || session_state(g->s) == SESSION_TARGET_STOPPED) {
			/* Running: wait for a stop in slices. Stopped: keep the link served. */
			/* A lost connection is seen at the top of the loop. */
			if (gdb_server_waiting(g))
				gdb_server_pump(g, PUMP_SLICE_US);
			else
				session_poll(g->s, 0);
		}
	}
	return 0;
}

int gdb_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "kd", required_argument, NULL, 'k' },
		{ "listen", required_argument, NULL, 'l' },
		{ "break", no_argument, NULL, 'b' },
		{ "once", no_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
		{ "connect-timeout", required_argument, NULL, 'C' },
		{ "reconnect", required_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct session_options opt;
	struct gdb_server *g;
	struct endpoint ep;
	const char *kd = NULL, *listen_spec = "unix:vmkd-gdb.sock";
	char err[256], name[400];
	int c, lfd, once = 0, verbose = 0, rc = 1;
	double sec, reconnect_s = MAX_SECONDS;
	struct sigaction sa;

	session_default_options(&opt);
	optind = 1;
	while ((c = getopt_long(argc, argv, "t:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': kd = optarg; break;
		case 'l': listen_spec = optarg; break;
		case 'b': opt.break_in = 1; break;
		case 'o': once = 1; break;
		case 'v': verbose = 1; break;
		case 't':
			if (cli_seconds(optarg, MAX_SECONDS, &sec) || sec == 0) {
				fprintf(stderr, "vmkd gdb: bad --timeout '%s'\n", optarg);
				return 2;
			}
			opt.request_timeout_us = (uint64_t)(sec * 1e6);
			break;
		case 'C':
			if (cli_seconds(optarg, MAX_SECONDS, &sec)) {
				fprintf(stderr, "vmkd gdb: bad --connect-timeout '%s'\n", optarg);
				return 2;
			}
			opt.connect_timeout_ms = (int)(sec * 1000);
			break;
		case 'R':
			if (cli_seconds(optarg, MAX_SECONDS, &reconnect_s)) {
				fprintf(stderr, "vmkd gdb: bad --reconnect '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!kd || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (endpoint_parse(listen_spec, &ep, err, sizeof(err))) {
		fprintf(stderr, "vmkd gdb: --listen: %s\n", err);
		return 2;
	}
	if (ep.kind == ENDPOINT_TCP && !loopback_host(ep.host))
		fprintf(stderr, "vmkd gdb: warning: listening on %s:%s, not loopback: anyone who "
				"can reach it controls the kernel\n", ep.host, ep.port);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	g = calloc(1, sizeof(*g)); /* ~50 KiB of packet buffers: not on the stack */
	if (!g)
		return 1;
	gdb_server_init(g, NULL, stderr);
	g->verbose = verbose;
	opt.cb.print = on_print;
	opt.cb.module = on_module;
	opt.cb.opaque = g;
	g->s = session_open(kd, &opt, err, sizeof(err));
	if (!g->s) {
		fprintf(stderr, "vmkd gdb: %s\n", err);
		goto out;
	}
	lfd = endpoint_listen(listen_spec, err, sizeof(err));
	if (lfd < 0) {
		fprintf(stderr, "vmkd gdb: %s\n", err);
		goto out_session;
	}
	if (ep.kind == ENDPOINT_TCP && endpoint_local_port(lfd) > 0) /* port 0: the kernel's pick */
		snprintf(ep.port, sizeof(ep.port), "%d", endpoint_local_port(lfd));
	endpoint_format(&ep, name, sizeof(name));
	fprintf(stderr, "vmkd gdb: KD on %s; listening on %s (gdb: target remote %s)\n", kd,
		name, ep.kind == ENDPOINT_UNIX ? ep.path : name + 4);
	rc = serve(g, lfd, once, kd, reconnect_s);
	close(lfd);
	if (ep.kind == ENDPOINT_UNIX)
		unlink(ep.path);
out_session:
	gdb_server_cleanup(g);
	session_close(g->s);
out:
	free(g);
	return rc;
}
