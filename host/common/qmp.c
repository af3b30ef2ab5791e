/* SPDX-License-Identifier: MIT */
/* A minimal QMP client: one command at a time, line-delimited JSON replies. */
#include "qmp.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "endpoint.h"
#include "vmkd/kd_bytes.h"
#include "errbuf.h"

#define QMP_CHUNK 65536u

static int send_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			if (poll(&p, 1, QMP_TIMEOUT_MS) == 0)
				return -ETIMEDOUT;
			continue;
		}
		if (n <= 0)
			return -EIO;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

static int grow(struct qmp *q)
{
	size_t cap = q->cap ? q->cap * 2 : QMP_CHUNK;
	char *b;

	if (cap > QMP_LINE_MAX)
		return -E2BIG;
	b = realloc(q->buf, cap);
	if (!b)
		return -ENOMEM;
	q->buf = b;
	q->cap = cap;
	return 0;
}

/* Reads until a line holding "return" or "error" arrives (events are skipped) and copies
 * it into line; bytes after it stay queued. */
static int read_reply(struct qmp *q, char *line, size_t cap)
{
	for (;;) {
		char *nl = q->len ? memchr(q->buf, '\n', q->len) : NULL;
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		ssize_t n;
		int rc;

		if (nl) {
			size_t used = (size_t)(nl - q->buf) + 1;
			int is_reply;

			*nl = '\0';
			/* Events start with {"timestamp"...; replies with {"return" / {"error". */
			is_reply = !strstr(q->buf, "\"event\"") &&
				   (strstr(q->buf, "\"return\"") || strstr(q->buf, "\"error\""));
			if (is_reply && cap)
				snprintf(line, cap, "%s", q->buf);
			memmove(q->buf, q->buf + used, q->len - used);
			q->len -= used;
			if (is_reply)
				return 0;
			continue;
		}
		if (q->len == q->cap && (rc = grow(q)))
			return rc;
		rc = poll(&p, 1, QMP_TIMEOUT_MS);
		if (rc == 0)
			return -ETIMEDOUT;
		if (rc < 0 && errno != EINTR)
			return -errno;
		n = read(q->fd, q->buf + q->len, q->cap - q->len);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (n > 0)
			q->len += (size_t)n;
	}
}

int qmp_open(struct qmp *q, const char *spec, char *err, size_t errlen)
{
	return qmp_open_ms(q, spec, 10000, err, errlen);
}

int qmp_open_ms(struct qmp *q, const char *spec, int connect_ms, char *err, size_t errlen)
{
	static const char caps[] = "{\"execute\":\"qmp_capabilities\"}\n";
	char line[512];
	int rc;

	memset(q, 0, sizeof(*q));
	q->fd = endpoint_connect(spec, connect_ms, err, errlen);
	if (q->fd < 0)
		return -1;
	/* The greeting carries no "return": send the capabilities, then wait for theirs. */
	rc = send_all(q->fd, caps, sizeof(caps) - 1);
	if (!rc)
		rc = read_reply(q, line, sizeof(line));
	if (!rc && strstr(line, "\"error\""))
		rc = -EPROTO;
	if (rc) {
		errbuf_fail_rc(err, errlen, rc, "QMP handshake on %s failed: %s", spec, strerror(-rc));
		qmp_close(q);
		return -1;
	}
	return 0;
}

void qmp_close(struct qmp *q)
{
	if (q->fd >= 0)
		close(q->fd);
	free(q->buf);
	memset(q, 0, sizeof(*q));
	q->fd = -1;
}

int qmp_execute(struct qmp *q, const char *json, char *reply, size_t cap, char *err,
		size_t errlen)
{
	size_t n = strlen(json);
	char small[512];
	int rc;

	if (!reply || !cap) { /* the caller wants no text, but errors must still be seen */
		reply = small;
		cap = sizeof(small);
	}
	if (q->fd < 0)
		return errbuf_fail_rc(err, errlen, -EBADF, "QMP not connected");
	rc = send_all(q->fd, json, n);
	if (!rc)
		rc = send_all(q->fd, "\n", 1);
	if (!rc)
		rc = read_reply(q, reply, cap);
	if (rc)
		return errbuf_fail_rc(err, errlen, rc, "QMP: %s", strerror(-rc));
	if (strncmp(reply, "{\"error\"", 8) == 0)
		return errbuf_fail_rc(err, errlen, -EPROTO, "QMP error: %.200s", reply);
	return 0;
}

/* Characters that must be escaped inside a JSON string we build. */
static size_t json_escape(const char *s, char *out, size_t cap)
{
	size_t o = 0;

	for (; *s && o + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return o;
}

long qmp_json_string(const char *line, const char *key, char *out, size_t cap)
{
	char pat[80];
	const char *p;
	size_t o = 0;

	if (!cap)
		return -1;
	snprintf(pat, sizeof(pat), "\"%s\"", key);
	p = strstr(line, pat);
	if (!p)
		return -1;
	p += strlen(pat);
	while (*p == ' ' || *p == ':')
		p++;
	if (*p++ != '"')
		return -1;
	for (; *p && *p != '"'; p++) {
		char c = *p;

		if (c == '\\') {
			p++;
			switch (*p) {
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u': {
				int v = 0;

				for (int i = 1; i <= 4; i++) {
					int h = kd_hex_digit(p[i]);

					if (h < 0)
						return -1;
					v = v << 4 | h;
				}
				p += 4;
				c = v < 0x80 ? (char)v : '?'; /* mtree text is ASCII */
				break;
			}
			case '\0':
				return -1;
			default:
				c = *p; /* \" \\ \/ */
			}
		}
		if (o + 1 < cap)
			out[o++] = c;
	}
	if (*p != '"')
		return -1;
	out[o] = '\0';
	return (long)o;
}

long qmp_hmp(struct qmp *q, const char *cmdline, char *out, size_t cap, char *err,
	     size_t errlen)
{
	char esc[512], cmd[700];
	char *reply;
	long n;
	int rc;

	json_escape(cmdline, esc, sizeof(esc));
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"%s\"}}",
		 esc);
	reply = malloc(QMP_LINE_MAX);
	if (!reply)
		return errbuf_fail_rc(err, errlen, -ENOMEM, "out of memory");
	rc = qmp_execute(q, cmd, reply, QMP_LINE_MAX, err, errlen);
	if (rc) {
		free(reply);
		return rc;
	}
	n = qmp_json_string(reply, "return", out, cap);
	free(reply);
	if (n < 0)
		return errbuf_fail_rc(err, errlen, -EPROTO, "QMP %s: the reply holds no string", cmdline);
	return n;
}
