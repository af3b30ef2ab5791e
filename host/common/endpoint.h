/* SPDX-License-Identifier: MIT */
/*
 * endpoint.h - byte-stream endpoints named by a string: connect with a deadline (the peer,
 * e.g. QEMU, may not be listening yet) and listen (for the relay).
 *
 * Spellings:
 *   unix:PATH          AF_UNIX stream socket
 *   tcp:HOST:PORT      TCP; HOST may be [v6addr]
 *   tcp:PORT, :PORT    TCP on 127.0.0.1
 *   HOST:PORT          TCP when PORT is all digits and the spec has no '/'
 *   PATH               anything else is a unix socket path
 *
 * Returned descriptors are non-blocking and close-on-exec; TCP has Nagle disabled (KD
 * exchanges many tiny packets, each waiting for the previous one) and keepalive on.
 */
#ifndef VMKD_HOST_ENDPOINT_H
#define VMKD_HOST_ENDPOINT_H

#include <stddef.h>
#include <sys/socket.h>

enum endpoint_kind {
	ENDPOINT_UNIX,
	ENDPOINT_TCP,
};

struct endpoint {
	enum endpoint_kind kind;
	char path[108];  /* unix: fits sockaddr_un.sun_path with its NUL */
	char host[256];  /* tcp: name or address, without brackets */
	char port[16];   /* tcp: decimal */
};

/* Parses spec. Returns 0, or -1 with a message in err. */
int endpoint_parse(const char *spec, struct endpoint *ep, char *err, size_t errlen);

/* Canonical name: "unix:/path" or "tcp:host:port". */
void endpoint_format(const struct endpoint *ep, char *buf, size_t len);

/*
 * Connects, retrying while the peer is absent (no such socket, refused) until timeout_ms
 * has passed; timeout_ms 0 tries once. Returns the fd (non-blocking), or -1 with
 * "cannot connect to unix:/x: No such file or directory" in err.
 */
int endpoint_connect(const char *spec, int timeout_ms, char *err, size_t errlen);

/*
 * For event loops, which must never block: the endpoint's addresses are resolved once (at
 * start-up: the only name lookup), then each connect is started without waiting and
 * completed when poll reports POLLOUT.
 */
#define ENDPOINT_MAX_ADDRS 4

struct endpoint_addrs {
	size_t count;
	struct sockaddr_storage addr[ENDPOINT_MAX_ADDRS];
	socklen_t len[ENDPOINT_MAX_ADDRS];
	char name[400];  /* canonical spelling, for messages */
};

/* Parses spec and resolves a TCP host (getaddrinfo: may block; call it at start-up).
 * Returns 0, or -1 with "cannot resolve HOST: ..." in err. */
int endpoint_resolve(const char *spec, struct endpoint_addrs *out, char *err, size_t errlen);

/* Starts a non-blocking connect to address i. Returns the fd (non-blocking, close-on-exec)
 * with *in_progress 1 while the connect is still under way (wait for POLLOUT, then call
 * endpoint_connect_finish), or -1 with errno (ENOENT, ECONNREFUSED, EAGAIN for a unix
 * listener whose backlog is full, ...). */
int endpoint_connect_start(const struct endpoint_addrs *a, size_t i, int *in_progress);

/* After POLLOUT on a connect in progress: 0 when connected (TCP: Nagle off, keepalive on),
 * or -1 with errno set to the connect's error. */
int endpoint_connect_finish(int fd);

/* Listens: a unix socket gets mode 0600 (a stale socket file nobody serves is replaced);
 * TCP binds 127.0.0.1 unless a host is given. Returns the listening fd or -1. */
int endpoint_listen(const char *spec, char *err, size_t errlen);

/*
 * The default debugger endpoint of VM name: "unix:$XDG_RUNTIME_DIR/vmkd/NAME.sock", or
 * "unix:/run/vmkd/NAME.sock" for root without XDG_RUNTIME_DIR (anyone else must choose).
 * KD has no authentication, so the socket (0600) lives in a directory of the user's own:
 * with create the directory is made 0700 if missing; an existing one must be a real
 * directory owned by the user and not writable by group or others. Returns 0, or -1 with
 * a message in err.
 */
int endpoint_default_debugger(const char *name, int create, char *spec, size_t cap, char *err,
			      size_t errlen);

/* Port a TCP listener is bound to (after listening on port 0), or -1. */
int endpoint_local_port(int fd);

/* TCP keepalive of accepted and connected TCP sockets: a peer that vanished without a FIN (crashed host,
 * pulled cable, NAT timeout) is found dead after IDLE + COUNT * INTERVAL seconds (25 s). */
#define ENDPOINT_KEEPALIVE_IDLE_S     10
#define ENDPOINT_KEEPALIVE_INTERVAL_S 5
#define ENDPOINT_KEEPALIVE_COUNT      3

/* Accepts one connection (non-blocking, close-on-exec; TCP: TCP_NODELAY and keepalive).
 * Returns the fd, or -1 with errno set (EAGAIN when nobody is waiting). */
int endpoint_accept(int listen_fd);

#endif
