/* SPDX-License-Identifier: MIT */
/* DbgPrint lines to journald over its native datagram protocol; drops, never waits. */
#include "relay_journal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int journal_key_valid(const char *key)
{
	size_t n = 0;

	if (!key || key[0] == '_' || !key[0])
		return 0;
	for (; key[n]; n++) {
		char c = key[n];

		if (n >= JOURNAL_KEY_MAX ||
		    !((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

size_t journal_encode(uint8_t *out, size_t cap, const struct journal_field *fields, size_t n)
{
	size_t at = 0;

	for (size_t i = 0; i < n; i++) {
		const struct journal_field *f = &fields[i];
		size_t klen;
		int binary;

		/* Bounds first: a value that cannot fit is not even read. */
		if (!journal_key_valid(f->key) || (f->len && !f->value) || f->len > cap - at)
			return 0;
		klen = strlen(f->key);
		binary = f->len && memchr(f->value, '\n', f->len) != NULL;
		/* key, '=' or '\n' + 8 length bytes, the value, '\n' */
		if (klen + 1 + (binary ? 8 : 0) + f->len + 1 > cap - at)
			return 0;
		memcpy(out + at, f->key, klen);
		at += klen;
		if (binary) {
			uint64_t len = f->len;

			out[at++] = '\n';
			for (unsigned b = 0; b < 8; b++)
				out[at++] = (uint8_t)(len >> (8 * b));
		} else {
			out[at++] = '=';
		}
		if (f->len)
			memcpy(out + at, f->value, f->len);
		at += f->len;
		out[at++] = '\n';
	}
	return at;
}

struct journal *journal_open(const char *path, const char *vm, char *err, size_t errlen)
{
	struct journal *j;

	if (!path)
		path = JOURNAL_SOCKET_DEFAULT;
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err, errlen, "journal socket path too long: %s", path);
		return NULL;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(j->path, sizeof(j->path), "%s", path);
	snprintf(j->vm, sizeof(j->vm), "%s", vm ? vm : "");
	/* Unconnected: each entry is addressed, so a journald that (re)starts is found. */
	j->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (j->fd < 0)
		j->last_errno = errno;
	return j;
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j);
}

static int drop(struct journal *j, int err)
{
	j->st.dropped++;
	if (err != j->last_errno) {
		j->last_errno = err;
		j->error_logged = 0;
	}
	return -1;
}

int journal_send_line(struct journal *j, unsigned cpu, const char *text, size_t len)
{
	static const char prio[] = "6", ident[] = JOURNAL_IDENTIFIER;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char cpu_text[16];
	struct journal_field f[] = {
		{ "MESSAGE", text, len },
		{ "PRIORITY", prio, sizeof(prio) - 1 },
		{ "SYSLOG_IDENTIFIER", ident, sizeof(ident) - 1 },
		{ "VMKD_VM", j->vm, strlen(j->vm) },
		{ "VMKD_CPU", cpu_text, 0 },
	};
	size_t n;

	f[4].len = (size_t)snprintf(cpu_text, sizeof(cpu_text), "%u", cpu);
	if (j->fd < 0)
		return drop(j, j->last_errno ? j->last_errno : EBADF);
	n = journal_encode(j->buf, sizeof(j->buf), f, sizeof(f) / sizeof(f[0]));
	if (!n)
		return drop(j, EMSGSIZE);
	memcpy(sa.sun_path, j->path, strlen(j->path) + 1);
	/* MSG_DONTWAIT on a non-blocking socket: a full journald queue is EAGAIN, a drop. */
	if (sendto(j->fd, j->buf, n, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   sizeof(sa)) != (ssize_t)n)
		return drop(j, errno);
	j->st.sent++;
	j->last_errno = 0;
	j->error_logged = 0;
	return 0;
}

const char *journal_take_error(struct journal *j, char *buf, size_t cap)
{
	if (!j->last_errno || j->error_logged)
		return "";
	j->error_logged = 1;
	snprintf(buf, cap, "%s: %s", j->path, strerror(j->last_errno));
	return buf;
}
