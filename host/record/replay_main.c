/* SPDX-License-Identifier: MIT */
/* `vmkd replay FILE --listen ENDPOINT`: a recording's target side for one debugger. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/cli.h"
#include "../common/endpoint.h"
#include "../relay/relay_buf.h"
#include "record_text.h"
#include "replay.h"

#define RECORDING_MAX ((size_t)1 << 30)
#define MAX_SECONDS 1e6         /* --timeout: at most ~11 days */

static void usage(FILE *f)
{
	fprintf(f, "usage: vmkd replay --listen ENDPOINT [--timeout SECONDS] FILE\n\n"
		   "Plays the target side of a recording (vmkd relay --record) to one debugger:\n"
		   "the recording's first debugger session answers the same requests with the\n"
		   "recorded replies, in order; KDCOM ids, ACKs and RESETs run live. The first\n"
		   "request that differs from the recording is reported in one line (expected vs\n"
		   "got) and the exit status is 1; 0 when the debugger leaves after the last\n"
		   "recorded request.\n\n"
		   "  -l, --listen ENDPOINT  where the debugger connects: unix:PATH or\n"
		   "                         tcp:[HOST:]PORT\n"
		   "  -T, --timeout SECONDS  give up (exit 1) after this long (default: never)\n"
		   "  -q, --quiet            no summary line\n"
		   "  -h, --help\n");
}

static uint64_t clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void out_write(void *opaque, const uint8_t *buf, size_t len)
{
	relay_buf_append(opaque, buf, len); /* bounded: one packet at a time, stop-and-wait */
}

static int wait_ms(uint64_t deadline, uint64_t now, uint64_t end)
{
	uint64_t d = deadline < end ? deadline : end;

	if (d == UINT64_MAX)
		return 1000;
	return d <= now ? 0 : (int)((d - now) / 1000u + 1 > 1000 ? 1000 : (d - now) / 1000u + 1);
}

/* Serves one debugger connection. Returns 0 (played to the end), 1 (diverged, timed out). */
static int serve(int fd, const struct replay_script *s, uint64_t end, int quiet)
{
	struct relay_buf out;
	struct replay rp;
	uint8_t buf[65536];
	int rc = 1;

	relay_buf_init(&out);
	replay_start(&rp, s, NULL, out_write, &out, clock_us());
	while (rp.status == REPLAY_RUNNING) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = clock_us();
		ssize_t n;

		if (relay_buf_pending(&out))
			p.events |= POLLOUT;
		if (now >= end) {
			fprintf(stderr, "vmkd replay: timed out at packet %zu of the script\n",
				rp.cursor + 1);
			goto done;
		}
		if (poll(&p, 1, wait_ms(replay_deadline(&rp), now, end)) < 0 && errno != EINTR)
			goto done;
		now = clock_us();
		if (p.revents & POLLOUT) {
			n = write(fd, relay_buf_peek(&out), relay_buf_pending(&out));
			if (n > 0)
				relay_buf_consume(&out, (size_t)n);
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(fd, buf, sizeof(buf));
			if (n > 0) {
				replay_input(&rp, buf, (size_t)n, now);
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				replay_debugger_gone(&rp);
				break;
			}
		}
		replay_poll(&rp, clock_us());
	}
	if (rp.status == REPLAY_DIVERGED) {
		printf("vmkd replay: divergence: %s\n", rp.msg);
		fflush(stdout);
	} else if (rp.status == REPLAY_DONE) {
		rc = 0;
		if (!quiet)
			fprintf(stderr, "vmkd replay: the debugger's %zu requests matched the "
				"recording\n", rp.matched);
	}
done:
	relay_buf_free(&out);
	return rc;
}

int replay_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct replay_script script;
	struct record_reader r;
	const char *listen = NULL;
	double timeout = 0;
	uint64_t end = UINT64_MAX;
	char err[512];
	uint8_t *data = NULL;
	size_t len;
	int c, lfd = -1, fd = -1, quiet = 0, rc = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "l:T:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen = optarg;
			break;
		case 'T':
			if (cli_seconds(optarg, MAX_SECONDS, &timeout) || timeout == 0) {
				fprintf(stderr, "vmkd replay: --timeout wants seconds\n");
				return 2;
			}
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || !listen) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (record_load_file(argv[optind], RECORDING_MAX, &data, &len, err, sizeof(err))) {
		fprintf(stderr, "vmkd replay: %s\n", err);
		return 1;
	}
	if (record_reader_init(&r, data, len) || replay_script_build(&script, &r, err, sizeof(err))) {
		fprintf(stderr, "vmkd replay: %s: %s\n", argv[optind], r.err[0] ? r.err : err);
		free(data);
		return 1;
	}
	if (timeout > 0)
		end = clock_us() + (uint64_t)(timeout * 1e6);
	lfd = endpoint_listen(listen, err, sizeof(err));
	if (lfd < 0) {
		fprintf(stderr, "vmkd replay: %s\n", err);
		goto out;
	}
	if (!quiet)
		fprintf(stderr, "vmkd replay: %s (VM '%s'): %zu packets to send, %zu requests to "
			"match; waiting for a debugger on %s\n", argv[optind], r.vm,
			script.targets, script.debuggers, listen);
	while (fd < 0) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		uint64_t now = clock_us();

		if (now >= end) {
			fprintf(stderr, "vmkd replay: no debugger came\n");
			goto out;
		}
		if (poll(&p, 1, wait_ms(UINT64_MAX, now, end)) > 0)
			fd = endpoint_accept(lfd);
	}
	rc = serve(fd, &script, end, quiet);
out:
	if (fd >= 0)
		close(fd);
	if (lfd >= 0) {
		struct endpoint ep;

		close(lfd);
		if (!endpoint_parse(listen, &ep, NULL, 0) && ep.kind == ENDPOINT_UNIX)
			unlink(ep.path);
	}
	replay_script_free(&script);
	free(data);
	return rc;
}
