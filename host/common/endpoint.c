/* SPDX-License-Identifier: MIT */
/* Stream endpoints: parse "unix:PATH" / "tcp:HOST:PORT" / "HOST:PORT" / PATH, connect, listen. */
#include "endpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "../common/errbuf.h"

#define RETRY_INTERVAL_MS 50
#define DEFAULT_TCP_HOST "127.0.0.1"

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static int copy_str(char *dst, size_t cap, const char *src, size_t len)
{
	if (len >= cap)
		return -1;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

/* "HOST:PORT", "[V6]:PORT" or "PORT" (host defaults to loopback). */
static int parse_host_port(const char *s, struct endpoint *ep, char *err, size_t errlen)
{
	const char *colon, *host = s;
	size_t host_len;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':') {
			errbuf_set(err, errlen, "bad address '%s': expected [ADDR]:PORT", s);
			return -1;
		}
		host = s + 1;
		host_len = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon) {
			host = DEFAULT_TCP_HOST;
			host_len = strlen(host);
			colon = s - 1; /* the whole string is the port */
		} else {
			host_len = (size_t)(colon - s);
		}
	}
	if (!all_digits(colon + 1) || atol(colon + 1) > 65535) {
		errbuf_set(err, errlen, "bad port in '%s'", s);
		return -1;
	}
	if (host_len == 0) {
		host = DEFAULT_TCP_HOST;
		host_len = strlen(host);
	}
	if (copy_str(ep->host, sizeof(ep->host), host, host_len) ||
	    copy_str(ep->port, sizeof(ep->port), colon + 1, strlen(colon + 1))) {
		errbuf_set(err, errlen, "address too long: '%s'", s);
		return -1;
	}
	ep->kind = ENDPOINT_TCP;
	return 0;
}

int endpoint_parse(const char *spec, struct endpoint *ep, char *err, size_t errlen)
{
	const char *colon;

	memset(ep, 0, sizeof(*ep));
	if (!spec || !*spec) {
		errbuf_set(err, errlen, "empty endpoint");
		return -1;
	}
	if (!strncmp(spec, "tcp:", 4))
		return parse_host_port(spec + 4, ep, err, errlen);
	if (!strncmp(spec, "unix:", 5))
		spec += 5;
	else if (!strchr(spec, '/') && (colon = strrchr(spec, ':')) && all_digits(colon + 1))
		return parse_host_port(spec, ep, err, errlen);

	if (!*spec) {
		errbuf_set(err, errlen, "empty unix socket path");
		return -1;
	}
	if (copy_str(ep->path, sizeof(ep->path), spec, strlen(spec))) {
		errbuf_set(err, errlen, "unix socket path too long (max %zu bytes): %s",
			sizeof(ep->path) - 1, spec);
		return -1;
	}
	ep->kind = ENDPOINT_UNIX;
	return 0;
}

void endpoint_format(const struct endpoint *ep, char *buf, size_t len)
{
	if (ep->kind == ENDPOINT_UNIX)
		snprintf(buf, len, "unix:%s", ep->path);
	else if (strchr(ep->host, ':'))
		snprintf(buf, len, "tcp:[%s]:%s", ep->host, ep->port);
	else
		snprintf(buf, len, "tcp:%s:%s", ep->host, ep->port);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_nodelay(int fd)
{
	int one = 1;

	/* Fails harmlessly on non-TCP sockets. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Fails harmlessly (ENOPROTOOPT / EOPNOTSUPP) on unix sockets. */
static void set_keepalive(int fd)
{
	int on = 1, idle = ENDPOINT_KEEPALIVE_IDLE_S, intvl = ENDPOINT_KEEPALIVE_INTERVAL_S;
	int cnt = ENDPOINT_KEEPALIVE_COUNT;

	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) < 0)
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

/* One non-blocking connect bounded by wait_ms. Returns the fd or -1 with errno. */
static int try_connect(const struct sockaddr *sa, socklen_t salen, int wait_ms)
{
	struct pollfd pfd;
	int fd, rc, soerr = 0;
	socklen_t len = sizeof(soerr);

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, sa, salen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;

	pfd.fd = fd;
	pfd.events = POLLOUT;
	do
		rc = poll(&pfd, 1, wait_ms < 0 ? 0 : wait_ms);
	while (rc < 0 && errno == EINTR);
	if (rc == 0) {
		errno = ETIMEDOUT;
		goto fail;
	}
	if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		goto fail;
	if (soerr) {
		errno = soerr;
		goto fail;
	}
	return fd;
fail:
	rc = errno;
	close(fd);
	errno = rc;
	return -1;
}

/* The peer may simply not be up yet: these are worth another try. */
static int retryable(int e)
{
	return e == ENOENT || e == ECONNREFUSED || e == EAGAIN || e == ECONNRESET ||
	       e == ETIMEDOUT || e == EHOSTUNREACH || e == ENETUNREACH;
}

static int connect_once(const struct endpoint *ep, int wait_ms, int *gai_error)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, e = ECONNREFUSED, rc;

	*gai_error = 0;
	if (ep->kind == ENDPOINT_UNIX) {
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, ep->path, strlen(ep->path) + 1);
		return try_connect((const struct sockaddr *)&sun, sizeof(sun), wait_ms);
	}

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(ep->host, ep->port, &hints, &res);
	if (rc) {
		*gai_error = rc;
		errno = EHOSTUNREACH;
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = try_connect(ai->ai_addr, ai->ai_addrlen, wait_ms);
		if (fd >= 0)
			break;
		e = errno;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		errno = e;
		return -1;
	}
	set_nodelay(fd);
	if (endpoint_local_port(fd) >= 0)
		set_keepalive(fd);
	return fd;
}

int endpoint_connect(const char *spec, int timeout_ms, char *err, size_t errlen)
{
	struct endpoint ep;
	char name[400];
	int64_t deadline;
	int fd, gai_error;

	if (endpoint_parse(spec, &ep, err, errlen))
		return -1;
	endpoint_format(&ep, name, sizeof(name));
	deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);

	for (;;) {
		int64_t left = deadline - now_ms();

		fd = connect_once(&ep, left > 1000 ? 1000 : (int)(left > 0 ? left : 1000), &gai_error);
		if (fd >= 0)
			return fd;
		if (gai_error) {
			errbuf_set(err, errlen, "cannot connect to %s: %s", name, gai_strerror(gai_error));
			if (gai_error != EAI_AGAIN)
				return -1;
		} else {
			errbuf_set(err, errlen, "cannot connect to %s: %s", name, strerror(errno));
			if (!retryable(errno))
				return -1;
		}
		left = deadline - now_ms();
		if (left <= 0)
			return -1;
		usleep((useconds_t)(left < RETRY_INTERVAL_MS ? left : RETRY_INTERVAL_MS) * 1000);
	}
}

int endpoint_resolve(const char *spec, struct endpoint_addrs *out, char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	struct endpoint ep;
	int rc;

	memset(out, 0, sizeof(*out));
	if (endpoint_parse(spec, &ep, err, errlen))
		return -1;
	endpoint_format(&ep, out->name, sizeof(out->name));
	if (ep.kind == ENDPOINT_UNIX) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&out->addr[0];

		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, ep.path, strlen(ep.path) + 1);
		out->len[0] = sizeof(*sun);
		out->count = 1;
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(ep.host, ep.port, &hints, &res);
	if (rc) {
		errbuf_set(err, errlen, "cannot resolve %s: %s", out->name, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai && out->count < ENDPOINT_MAX_ADDRS; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(out->addr[0]))
			continue;
		memcpy(&out->addr[out->count], ai->ai_addr, ai->ai_addrlen);
		out->len[out->count++] = ai->ai_addrlen;
	}
	freeaddrinfo(res);
	if (!out->count) {
		errbuf_set(err, errlen, "cannot resolve %s: no usable address", out->name);
		return -1;
	}
	return 0;
}

int endpoint_connect_start(const struct endpoint_addrs *a, size_t i, int *in_progress)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->addr[i];
	int fd, e;

	*in_progress = 0;
	if (i >= a->count) {
		errno = EINVAL;
		return -1;
	}
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, sa, a->len[i]) == 0) {
		if (sa->sa_family != AF_UNIX) {
			set_nodelay(fd);
			set_keepalive(fd);
		}
		return fd;
	}
	if (errno == EINPROGRESS) {
		*in_progress = 1;
		return fd;
	}
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

int endpoint_connect_finish(int fd)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return -1;
	if (soerr) {
		errno = soerr;
		return -1;
	}
	set_nodelay(fd);
	if (endpoint_local_port(fd) >= 0)
		set_keepalive(fd);
	return 0;
}

/* A socket file nobody accepts on is left over from a dead process: safe to replace. */
static int unlink_stale_socket(const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	rc = connect(fd, (const struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (rc == 0) {
		errno = EADDRINUSE;
		return -1;
	}
	return unlink(path);
}

static int listen_unix(const struct endpoint *ep, const char *name, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	mode_t old_mask;
	int fd, rc;

	if (unlink_stale_socket(ep->path)) {
		errbuf_set(err, errlen, "cannot listen on %s: %s", name, strerror(errno));
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, ep->path, strlen(ep->path) + 1);
	/* The socket file is created by bind: the umask decides its mode, so no other user
	 * ever sees a connectable debugger port (chmod afterwards would leave a window). */
	old_mask = umask(0177);
	rc = bind(fd, (const struct sockaddr *)&sun, sizeof(sun));
	umask(old_mask);
	if (rc < 0 || listen(fd, 8) < 0)
		goto fail;
	return fd;
fail:
	errbuf_set(err, errlen, "cannot listen on %s: %s", name, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int listen_tcp(const struct endpoint *ep, const char *name, char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, one = 1, rc, e = EADDRNOTAVAIL;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(ep->host, ep->port, &hints, &res);
	if (rc) {
		errbuf_set(err, errlen, "cannot listen on %s: %s", name, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			e = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 8) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		errbuf_set(err, errlen, "cannot listen on %s: %s", name, strerror(e));
	return fd;
}

int endpoint_listen(const char *spec, char *err, size_t errlen)
{
	struct endpoint ep;
	char name[400];

	if (endpoint_parse(spec, &ep, err, errlen))
		return -1;
	endpoint_format(&ep, name, sizeof(name));
	if (ep.kind == ENDPOINT_UNIX)
		return listen_unix(&ep, name, err, errlen);
	return listen_tcp(&ep, name, err, errlen);
}

int endpoint_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

int endpoint_accept(int listen_fd)
{
	int fd = accept(listen_fd, NULL, NULL), e;

	if (fd < 0)
		return -1;
	/* accept4() would be one call, but it is a GNU extension. */
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	set_nodelay(fd);
	if (endpoint_local_port(fd) >= 0)
		set_keepalive(fd);
	return fd;
}

/* A directory only its owner can change: exists (or, with create, is made 0700), is no
 * symlink, belongs to the effective user and is not writable by group or others. */
static int private_dir(const char *dir, int create, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(dir, &st) < 0) {
		if (errno != ENOENT)
			goto fail;
		if (!create)
			return 0; /* the relay will make it */
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			goto fail;
		if (lstat(dir, &st) < 0)
			goto fail;
	}
	if (!S_ISDIR(st.st_mode)) {
		errbuf_set(err, errlen, "%s is not a directory", dir);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		errbuf_set(err, errlen, "%s is owned by uid %u, not by you (uid %u): refusing to "
			"put a debugger socket there", dir, (unsigned)st.st_uid, (unsigned)geteuid());
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		errbuf_set(err, errlen, "%s is writable by group or others (mode %03o): refusing to "
			"put a debugger socket there", dir, (unsigned)(st.st_mode & 0777));
		return -1;
	}
	return 0;
fail:
	errbuf_set(err, errlen, "cannot use %s: %s", dir, strerror(errno));
	return -1;
}

int endpoint_default_debugger(const char *name, int create, char *spec, size_t cap, char *err,
			      size_t errlen)
{
	const char *runtime = getenv("XDG_RUNTIME_DIR");
	char dir[sizeof(((struct endpoint *)0)->path)];
	int n;

	if (!name || !*name || strchr(name, '/')) {
		errbuf_set(err, errlen, "bad VM name for a socket path: '%s'", name ? name : "");
		return -1;
	}
	if (runtime && *runtime == '/') {
		n = snprintf(dir, sizeof(dir), "%s/vmkd", runtime);
	} else if (geteuid() == 0) {
		n = snprintf(dir, sizeof(dir), "/run/vmkd");
	} else {
		errbuf_set(err, errlen, "no $XDG_RUNTIME_DIR to put the debugger socket in: give "
			"--listen unix:PATH (in a directory of your own) or tcp:127.0.0.1:PORT");
		return -1;
	}
	if (n < 0 || (size_t)n >= sizeof(dir) ||
	    strlen(dir) + 1 + strlen(name) + sizeof(".sock") > sizeof(dir)) {
		errbuf_set(err, errlen, "debugger socket path too long: %s/%s.sock", dir, name);
		return -1;
	}
	if (private_dir(dir, create, err, errlen))
		return -1;
	if ((size_t)snprintf(spec, cap, "unix:%s/%s.sock", dir, name) >= cap) {
		errbuf_set(err, errlen, "debugger socket path too long");
		return -1;
	}
	return 0;
}
