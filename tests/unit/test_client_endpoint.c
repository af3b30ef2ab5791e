/* SPDX-License-Identifier: MIT */
/* Endpoints: spelling rules, connect errors, retry until the listener appears, listening. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../host/common/endpoint.h"

static void parse_spellings(void **state)
{
	struct endpoint ep;
	char err[256], name[300];

	(void)state;
	assert_int_equal(endpoint_parse("unix:/tmp/kd.sock", &ep, err, sizeof(err)), 0);
	assert_int_equal(ep.kind, ENDPOINT_UNIX);
	assert_string_equal(ep.path, "/tmp/kd.sock");

	assert_int_equal(endpoint_parse("/tmp/kd.sock", &ep, err, sizeof(err)), 0);
	assert_int_equal(ep.kind, ENDPOINT_UNIX);

	assert_int_equal(endpoint_parse("kd.sock", &ep, err, sizeof(err)), 0);
	assert_int_equal(ep.kind, ENDPOINT_UNIX);
	assert_string_equal(ep.path, "kd.sock");

	assert_int_equal(endpoint_parse("tcp:example.org:4445", &ep, err, sizeof(err)), 0);
	assert_int_equal(ep.kind, ENDPOINT_TCP);
	assert_string_equal(ep.host, "example.org");
	assert_string_equal(ep.port, "4445");

	assert_int_equal(endpoint_parse("localhost:1234", &ep, err, sizeof(err)), 0);
	assert_int_equal(ep.kind, ENDPOINT_TCP);
	assert_string_equal(ep.host, "localhost");

	assert_int_equal(endpoint_parse("tcp:4445", &ep, err, sizeof(err)), 0);
	assert_string_equal(ep.host, "127.0.0.1");
	assert_int_equal(endpoint_parse(":4445", &ep, err, sizeof(err)), 0);
	assert_int_equal(ep.kind, ENDPOINT_TCP);
	assert_string_equal(ep.host, "127.0.0.1");

	assert_int_equal(endpoint_parse("tcp:[::1]:4445", &ep, err, sizeof(err)), 0);
	assert_string_equal(ep.host, "::1");
	endpoint_format(&ep, name, sizeof(name));
	assert_string_equal(name, "tcp:[::1]:4445");

	/* A path with a colon and a slash stays a path. */
	assert_int_equal(endpoint_parse("./dir:1/sock", &ep, err, sizeof(err)), 0);
	assert_int_equal(ep.kind, ENDPOINT_UNIX);
}

static void parse_errors(void **state)
{
	struct endpoint ep;
	char err[256], longpath[300];

	(void)state;
	assert_int_equal(endpoint_parse("", &ep, err, sizeof(err)), -1);
	assert_int_equal(endpoint_parse("unix:", &ep, err, sizeof(err)), -1);
	assert_int_equal(endpoint_parse("tcp:host:notaport", &ep, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "port"));
	assert_int_equal(endpoint_parse("tcp:host:99999", &ep, err, sizeof(err)), -1);
	assert_int_equal(endpoint_parse("tcp:[::1", &ep, err, sizeof(err)), -1);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(endpoint_parse(longpath, &ep, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));
}

static void connect_error_messages(void **state)
{
	char err[256];
	int fd;

	(void)state;
	fd = endpoint_connect("unix:/nonexistent/vmkd-test.sock", 0, err, sizeof(err));
	assert_int_equal(fd, -1);
	assert_string_equal(err, "cannot connect to unix:/nonexistent/vmkd-test.sock: "
				 "No such file or directory");
	fd = endpoint_connect("tcp:127.0.0.1:1", 0, err, sizeof(err));
	assert_int_equal(fd, -1);
	assert_string_equal(err, "cannot connect to tcp:127.0.0.1:1: Connection refused");
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The deadline is honoured: a missing socket gives up after about the timeout. */
static void connect_gives_up_at_deadline(void **state)
{
	char err[256];
	uint64_t t0 = now_ms(), dt;

	(void)state;
	assert_int_equal(endpoint_connect("unix:/nonexistent/x.sock", 300, err, sizeof(err)), -1);
	dt = now_ms() - t0;
	assert_true(dt >= 250 && dt < 3000);
}

/* QEMU may create its socket after we start: keep trying until it appears. */
static void connect_retries_until_listener_appears(void **state)
{
	char path[] = "/tmp/vmkd-ep-XXXXXX", sock[64], spec[80], err[256];
	pid_t pid;
	int fd, status;

	(void)state;
	assert_non_null(mkdtemp(path));
	snprintf(sock, sizeof(sock), "%s/kd.sock", path);
	snprintf(spec, sizeof(spec), "unix:%s", sock);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int lfd, cfd = -1;

		usleep(300000);
		lfd = endpoint_listen(spec, err, sizeof(err));
		if (lfd < 0)
			_exit(1);
		for (int i = 0; i < 500 && cfd < 0; i++) {
			cfd = endpoint_accept(lfd);
			if (cfd < 0)
				usleep(10000);
		}
		if (cfd < 0 || write(cfd, "ok", 2) != 2)
			_exit(2);
		usleep(100000);
		_exit(0);
	}
	fd = endpoint_connect(spec, 5000, err, sizeof(err));
	if (fd < 0)
		fail_msg("%s", err);
	{
		char buf[2];
		int n = 0;

		for (int i = 0; i < 200 && n != 2; i++) {
			ssize_t r = read(fd, buf, 2);

			if (r > 0)
				n += (int)r;
			else
				usleep(10000);
		}
		assert_int_equal(n, 2);
		assert_memory_equal(buf, "ok", 2);
	}
	close(fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	unlink(sock);
	rmdir(path);
}

static void listen_unix_mode_and_stale_socket(void **state)
{
	char path[] = "/tmp/vmkd-ep-XXXXXX", sock[64], spec[80], err[256];
	struct stat st;
	int lfd, lfd2, fd, afd = -1;

	(void)state;
	assert_non_null(mkdtemp(path));
	snprintf(sock, sizeof(sock), "%s/relay.sock", path);
	snprintf(spec, sizeof(spec), "unix:%s", sock);
	lfd = endpoint_listen(spec, err, sizeof(err));
	assert_true(lfd >= 0);
	assert_int_equal(stat(sock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* A live listener is not replaced. */
	assert_int_equal(endpoint_listen(spec, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot listen on unix:"));

	fd = endpoint_connect(spec, 1000, err, sizeof(err));
	assert_true(fd >= 0);
	for (int i = 0; i < 100 && afd < 0; i++) {
		afd = endpoint_accept(lfd);
		if (afd < 0)
			usleep(5000);
	}
	assert_true(afd >= 0);
	close(afd);
	close(fd);
	close(lfd);

	/* The socket file of a dead listener is stale: taken over. */
	lfd2 = endpoint_listen(spec, err, sizeof(err));
	assert_true(lfd2 >= 0);
	close(lfd2);
	unlink(sock);

	/* A regular file is never removed. */
	fd = open(sock, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(endpoint_listen(spec, err, sizeof(err)), -1);
	assert_int_equal(access(sock, F_OK), 0);
	unlink(sock);
	rmdir(path);
}

static void listen_tcp_loopback(void **state)
{
	char err[256], spec[64];
	int lfd, port, fd, afd = -1;

	(void)state;
	lfd = endpoint_listen("tcp:0", err, sizeof(err));
	assert_true(lfd >= 0);
	port = endpoint_local_port(lfd);
	assert_true(port > 0);
	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	fd = endpoint_connect(spec, 1000, err, sizeof(err));
	assert_true(fd >= 0);
	for (int i = 0; i < 100 && afd < 0; i++) {
		afd = endpoint_accept(lfd);
		if (afd < 0)
			usleep(5000);
	}
	assert_true(afd >= 0);
	close(afd);
	close(fd);
	close(lfd);
}

/* Issue #10 item 6: a debugger that vanished without a FIN (host crash, cable, NAT) must
 * not hold its VM for hours: accepted TCP connections probe the peer with keepalives. */
static void accept_tcp_keepalive(void **state)
{
	char err[256], spec[64];
	int lfd, fd, afd = -1, on = 0, idle = 0, intvl = 0, cnt = 0;
	socklen_t len = sizeof(int);

	(void)state;
	lfd = endpoint_listen("tcp:0", err, sizeof(err));
	assert_true(lfd >= 0);
	snprintf(spec, sizeof(spec), "127.0.0.1:%d", endpoint_local_port(lfd));
	fd = endpoint_connect(spec, 1000, err, sizeof(err));
	assert_true(fd >= 0);
	for (int i = 0; i < 100 && afd < 0; i++) {
		afd = endpoint_accept(lfd);
		if (afd < 0)
			usleep(5000);
	}
	assert_true(afd >= 0);
	assert_int_equal(getsockopt(afd, SOL_SOCKET, SO_KEEPALIVE, &on, &len), 0);
	assert_int_equal(on, 1);
	assert_int_equal(getsockopt(afd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, &len), 0);
	assert_int_equal(getsockopt(afd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, &len), 0);
	assert_int_equal(getsockopt(afd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, &len), 0);
	assert_int_equal(idle, ENDPOINT_KEEPALIVE_IDLE_S);
	assert_int_equal(intvl, ENDPOINT_KEEPALIVE_INTERVAL_S);
	assert_int_equal(cnt, ENDPOINT_KEEPALIVE_COUNT);
	close(afd);
	close(fd);
	close(lfd);
}

/* Resolved once, then connected without waiting: unix and numeric TCP addresses. */
static void resolve_then_connect_nonblocking(void **state)
{
	struct endpoint_addrs a;
	char err[256], spec[64];
	int lfd, fd, in_progress = -1;
	struct pollfd p;

	(void)state;
	assert_int_equal(endpoint_resolve("unix:/tmp/x.sock", &a, err, sizeof(err)), 0);
	assert_int_equal(a.count, 1);
	assert_string_equal(a.name, "unix:/tmp/x.sock");
	assert_int_equal(endpoint_resolve("tcp:bad:port", &a, err, sizeof(err)), -1);

	lfd = endpoint_listen("tcp:0", err, sizeof(err));
	assert_true(lfd >= 0);
	snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%d", endpoint_local_port(lfd));
	assert_int_equal(endpoint_resolve(spec, &a, err, sizeof(err)), 0);
	assert_int_equal(a.count, 1);
	fd = endpoint_connect_start(&a, 0, &in_progress);
	assert_true(fd >= 0);
	assert_true(in_progress == 0 || in_progress == 1);
	p.fd = fd;
	p.events = POLLOUT;
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(endpoint_connect_finish(fd), 0);
	close(fd);

	/* Nobody listens any more: the error comes from SO_ERROR (or at once). */
	close(lfd);
	fd = endpoint_connect_start(&a, 0, &in_progress);
	if (fd >= 0) {
		assert_int_equal(in_progress, 1);
		p.fd = fd;
		assert_int_equal(poll(&p, 1, 2000), 1);
		assert_int_equal(endpoint_connect_finish(fd), -1);
		assert_int_equal(errno, ECONNREFUSED);
		close(fd);
	} else {
		assert_int_equal(errno, ECONNREFUSED);
	}
}

/* Issue #10 item 7: the default debugger endpoint is a socket only its user can reach:
 * $XDG_RUNTIME_DIR/vmkd/NAME.sock in a 0700 directory created for it, else /run/vmkd for
 * root; a directory owned by another user or writable by others is refused. */
static void default_debugger_socket(void **state)
{
	char dir[64], vdir[128], spec[256], want[256], err[256];
	const char *saved = getenv("XDG_RUNTIME_DIR");
	char *old = saved ? strdup(saved) : NULL;
	struct stat st;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vmkd-xdg-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(vdir, sizeof(vdir), "%s/vmkd", dir);
	setenv("XDG_RUNTIME_DIR", dir, 1);

	/* Looking it up (the client) creates nothing. */
	assert_int_equal(endpoint_default_debugger("vm0", 0, spec, sizeof(spec), err,
						   sizeof(err)), 0);
	snprintf(want, sizeof(want), "unix:%s/vmkd/vm0.sock", dir);
	assert_string_equal(spec, want);
	assert_int_equal(stat(vdir, &st), -1);

	/* The relay creates the directory 0700. */
	assert_int_equal(endpoint_default_debugger("vm0", 1, spec, sizeof(spec), err,
						   sizeof(err)), 0);
	assert_string_equal(spec, want);
	assert_int_equal(stat(vdir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(st.st_uid, geteuid());

	/* Writable by others: refused. */
	assert_int_equal(chmod(vdir, 0777), 0);
	assert_int_equal(endpoint_default_debugger("vm0", 1, spec, sizeof(spec), err,
						   sizeof(err)), -1);
	assert_non_null(strstr(err, "writable"));
	assert_int_equal(chmod(vdir, 0700), 0);

	/* Someone else's: refused (needs root to set up). */
	if (geteuid() == 0) {
		assert_int_equal(chown(vdir, 65534, 65534), 0);
		assert_int_equal(endpoint_default_debugger("vm0", 1, spec, sizeof(spec), err,
							   sizeof(err)), -1);
		assert_non_null(strstr(err, "owned by"));
	}
	rmdir(vdir);

	/* A file where the directory should be: refused. */
	close(open(vdir, O_CREAT | O_WRONLY, 0600));
	assert_int_equal(endpoint_default_debugger("vm0", 1, spec, sizeof(spec), err,
						   sizeof(err)), -1);
	unlink(vdir);
	rmdir(dir);

	/* No runtime directory: root uses /run/vmkd, anyone else is told to choose. */
	unsetenv("XDG_RUNTIME_DIR");
	if (geteuid() == 0) {
		assert_int_equal(endpoint_default_debugger("vm0", 0, spec, sizeof(spec), err,
							   sizeof(err)), 0);
		assert_string_equal(spec, "unix:/run/vmkd/vm0.sock");
	} else {
		assert_int_equal(endpoint_default_debugger("vm0", 0, spec, sizeof(spec), err,
							   sizeof(err)), -1);
		assert_non_null(strstr(err, "XDG_RUNTIME_DIR"));
	}
	if (old)
		setenv("XDG_RUNTIME_DIR", old, 1);
	free(old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_spellings),
		cmocka_unit_test(parse_errors),
		cmocka_unit_test(connect_error_messages),
		cmocka_unit_test(connect_gives_up_at_deadline),
		cmocka_unit_test(connect_retries_until_listener_appears),
		cmocka_unit_test(listen_unix_mode_and_stale_socket),
		cmocka_unit_test(listen_tcp_loopback),
		cmocka_unit_test(accept_tcp_keepalive),
		cmocka_unit_test(resolve_then_connect_nonblocking),
		cmocka_unit_test(default_debugger_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
