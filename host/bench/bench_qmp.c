/* SPDX-License-Identifier: MIT */
/* A minimal QMP client: one command at a time, line-delimited JSON replies. */
#include "bench_qmp.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/endpoint.h"

#define QMP_TIMEOUT_MS 5000

static const char query_stats[] =
	"{\"execute\":\"query-stats\",\"arguments\":{\"target\":\"vcpu\","
	"\"providers\":[{\"provider\":\"kvm\",\"names\":[\"exits\",\"insn_emulation\"]}]}}\n";

static int send_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			poll(&p, 1, QMP_TIMEOUT_MS);
			continue;
		}
		if (n <= 0)
			return -EIO;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Reads until a line holding "return" or "error" arrives (events in between are skipped)
 * and copies it to line; the bytes after it stay queued.
 */
static int read_reply(struct bench_qmp *q, char *line, size_t cap)
{
	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		ssize_t n;
		int rc;

		if (nl) {
			size_t used = (size_t)(nl - q->buf) + 1;
			int is_reply;

			*nl = '\0';
			is_reply = strstr(q->buf, "\"return\"") || strstr(q->buf, "\"error\"");
			if (is_reply)
				snprintf(line, cap, "%s", q->buf);
			memmove(q->buf, q->buf + used, q->len - used);
			q->len -= used;
			if (is_reply)
				return 0;
			continue;
		}
		if (q->len == sizeof(q->buf))
			return -E2BIG;
		rc = poll(&p, 1, QMP_TIMEOUT_MS);
		if (rc == 0)
			return -ETIMEDOUT;
		if (rc < 0 && errno != EINTR)
			return -errno;
		n = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (n > 0)
			q->len += (size_t)n;
	}
}

int bench_qmp_open(struct bench_qmp *q, const char *spec, char *err, size_t errlen)
{
	static const char caps[] = "{\"execute\":\"qmp_capabilities\"}\n";
	char line[512];
	int rc;

	q->len = 0;
	q->fd = endpoint_connect(spec, 10000, err, errlen);
	if (q->fd < 0)
		return -1;
	/* The greeting carries no "return": send the capabilities, then wait for theirs. */
	rc = send_all(q->fd, caps, sizeof(caps) - 1);
	if (!rc)
		rc = read_reply(q, line, sizeof(line));
	if (!rc && strstr(line, "\"error\""))
		rc = -EPROTO;
	if (rc) {
		snprintf(err, errlen, "QMP handshake on %s failed: %s", spec, strerror(-rc));
		bench_qmp_close(q);
		return -1;
	}
	return 0;
}

void bench_qmp_close(struct bench_qmp *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
}

/* Sums every "value" that follows the quoted name (one per vCPU). Returns how many. */
static int sum_stat(const char *reply, const char *quoted_name, uint64_t *sum)
{
	const char *p = reply;
	int found = 0;

	*sum = 0;
	while ((p = strstr(p, quoted_name))) {
		char *end;
		uint64_t v;

		p = strstr(p, "\"value\"");
		if (!p)
			break;
		p = strchr(p, ':');
		if (!p)
			break;
		v = strtoull(p + 1, &end, 10);
		if (end == p + 1)
			break;
		*sum += v;
		found++;
		p = end;
	}
	return found;
}

int bench_qmp_counts(struct bench_qmp *q, struct bench_qmp_counts *c, char *err,
		     size_t errlen)
{
	int rc;

	if (q->fd < 0)
		return -EBADF;
	rc = send_all(q->fd, query_stats, sizeof(query_stats) - 1);
	if (!rc)
		rc = read_reply(q, q->line, sizeof(q->line));
	if (rc) {
		snprintf(err, errlen, "QMP query-stats: %s", strerror(-rc));
		return rc;
	}
	if (strstr(q->line, "\"error\"")) {
		snprintf(err, errlen, "QMP query-stats: %.200s", q->line);
		return -EPROTO;
	}
	/* {"return": [{"provider": "kvm", "stats": [{"name": "exits", "value": N}, ...]}]} */
	if (!sum_stat(q->line, "\"exits\"", &c->exits)) {
		snprintf(err, errlen, "QEMU reports no KVM vCPU stats (TCG, or no binary stats)");
		return -ENOTSUP;
	}
	sum_stat(q->line, "\"insn_emulation\"", &c->insn_emulation);
	return 0;
}
