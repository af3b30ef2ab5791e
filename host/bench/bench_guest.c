/* SPDX-License-Identifier: MIT */
/* Guest transport counters through the relay's SIGUSR1 and its log. */
#include "bench_guest.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../client/session.h"
#include "bench_samples.h"

#define GUEST_STATS_TIMEOUT_NS 10000000000ull /* a stopped guest answers in well under 1 s */
#define GUEST_STATS_POLL_US 5000

static const char stats_tag[] = "guest stats: ";

void bench_guest_init(struct bench_guest *g, pid_t relay_pid, const char *log_path)
{
	struct stat st;

	g->relay_pid = relay_pid;
	g->log_path = log_path;
	g->seen = stat(log_path, &st) == 0 ? st.st_size : 0;
}

/* The relay's text (relay_stats.c): "guest stats: packets sent A received B,
 * notifications C, port I/O D (E while polling), frames rejected F, polls G". */
static int parse_line(const char *line, struct vmkd_guest_stats *out)
{
	unsigned long long v[7];
	const char *p = strstr(line, stats_tag);

	if (!p)
		return -1;
	if (sscanf(p + sizeof(stats_tag) - 1,
		   "packets sent %llu received %llu, notifications %llu, port I/O %llu "
		   "(%llu while polling), frames rejected %llu, polls %llu",
		   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]) != 7)
		return -1;
	memset(out, 0, sizeof(*out));
	out->packets_sent = v[0];
	out->packets_received = v[1];
	out->notifications = v[2];
	out->port_io_total = v[3];
	out->port_io_while_polling = v[4];
	out->frames_rejected = v[5];
	out->polls = v[6];
	return 0;
}

/* Looks at the complete lines appended since the last call; 1 if one was a STATS line. */
static int scan_log(struct bench_guest *g, struct vmkd_guest_stats *out)
{
	char line[1024];
	int found = 0;
	FILE *f = fopen(g->log_path, "r");

	if (!f)
		return -errno;
	if (fseeko(f, g->seen, SEEK_SET) == 0) {
		while (fgets(line, sizeof(line), f)) {
			size_t n = strlen(line);

			if (!n || line[n - 1] != '\n')
				break; /* half a line: read it again next time */
			g->seen += (off_t)n;
			if (parse_line(line, out) == 0)
				found = 1;
		}
	}
	fclose(f);
	return found;
}

int bench_guest_stats(struct bench_guest *g, struct session *s, struct vmkd_guest_stats *out,
		      char *err, size_t errlen)
{
	uint64_t deadline = bench_now_ns() + GUEST_STATS_TIMEOUT_NS;
	int rc;

	/* Forget older lines: only an answer to this request counts. */
	rc = scan_log(g, out);
	if (rc < 0) {
		snprintf(err, errlen, "relay log %s: %s", g->log_path, strerror(-rc));
		return rc;
	}
	if (kill(g->relay_pid, SIGUSR1) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot signal the relay (pid %d): %s", (int)g->relay_pid,
			 strerror(errno));
		return rc;
	}
	while (bench_now_ns() < deadline) {
		rc = scan_log(g, out);
		if (rc < 0) {
			snprintf(err, errlen, "relay log %s: %s", g->log_path, strerror(-rc));
			return rc;
		}
		if (rc > 0)
			return 0;
		rc = session_poll(s, GUEST_STATS_POLL_US);
		if (rc) {
			snprintf(err, errlen, "waiting for guest stats: %s", session_error(s));
			return rc;
		}
	}
	snprintf(err, errlen, "no \"guest stats\" line in %s within %llu s", g->log_path,
		 GUEST_STATS_TIMEOUT_NS / 1000000000ull);
	return -ETIMEDOUT;
}
