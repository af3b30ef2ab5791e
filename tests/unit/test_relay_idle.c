/* SPDX-License-Identifier: MIT */
/* The relay loop with many VMs over real unix sockets: each VM's guest and debugger
 * connected, all idle; traffic on one VM serves that VM and no other (relay_served), and
 * the bytes still go where they belong. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../host/relay/relay_config.h"
#include "../../host/relay/relay_loop.h"
#include "test_relay_fakes.h"

#define NVM 24

struct fx {
	char dir[64];
	struct relay *r;
	int guest[NVM], dbg[NVM];
};

static int connect_unix(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
	assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Reads what is there without waiting; returns the byte count (0: nothing). */
static size_t drain(int fd, uint8_t *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	while (got < cap && (n = recv(fd, buf + got, cap - got, MSG_DONTWAIT)) > 0)
		got += (size_t)n;
	return got;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct relay_options opt;

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/vmkd-idle-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	memset(&opt, 0, sizeof(opt));
	fx->r = relay_new(&opt);
	assert_non_null(fx->r);
	for (int i = 0; i < NVM; i++) {
		struct relay_vm_config cfg;
		char name[16], guest[128], listen[128], err[256];

		snprintf(name, sizeof(name), "vm%d", i);
		snprintf(guest, sizeof(guest), "listen:unix:%s/g%d", fx->dir, i);
		snprintf(listen, sizeof(listen), "unix:%s/d%d", fx->dir, i);
		assert_int_equal(relay_vm_config_set(&cfg, name, guest, listen, err, sizeof(err)), 0);
		assert_int_equal(relay_add_vm(fx->r, &cfg, err, sizeof(err)), 0);
		fx->guest[i] = fx->dbg[i] = -1;
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	for (int i = 0; i < NVM; i++) {
		if (fx->guest[i] >= 0)
			close(fx->guest[i]);
		if (fx->dbg[i] >= 0)
			close(fx->dbg[i]);
	}
	relay_free(fx->r); /* removes the sockets */
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* Rounds until every VM has its guest (HELLO heard) and its debugger. */
static void connect_all(struct fx *fx)
{
	uint8_t frame[256], sink[4096];
	char path[128];
	size_t n = tr_hello_frame(frame, sizeof(frame), 0);
	int ready = 0;

	for (int i = 0; i < NVM; i++) {
		snprintf(path, sizeof(path), "%s/g%d", fx->dir, i);
		fx->guest[i] = connect_unix(path);
		send_all(fx->guest[i], frame, n);
	}
	for (int round = 0; round < 500 && !ready; round++) {
		assert_int_equal(relay_run_once(fx->r, 10), 0);
		ready = 1;
		for (int i = 0; i < NVM; i++)
			ready &= relay_get_vm(fx->r, (size_t)i)->st.hellos == 1;
	}
	assert_true(ready);
	for (int i = 0; i < NVM; i++) {
		snprintf(path, sizeof(path), "%s/d%d", fx->dir, i);
		fx->dbg[i] = connect_unix(path);
	}
	ready = 0;
	for (int round = 0; round < 500 && !ready; round++) {
		assert_int_equal(relay_run_once(fx->r, 10), 0);
		ready = 1;
		for (int i = 0; i < NVM; i++)
			ready &= relay_vm_debugger_attached(relay_get_vm(fx->r, (size_t)i));
	}
	assert_true(ready);
	for (int i = 0; i < NVM; i++)
		drain(fx->guest[i], sink, sizeof(sink)); /* HELLO_ACK, DEBUGGER(1) */
}

/* Rounds until a few in a row serve nobody: every VM is idle. */
static void settle(struct fx *fx)
{
	uint64_t before[NVM];
	int quiet = 0;

	for (int round = 0; round < 200 && quiet < 3; round++) {
		int same = 1;

		for (int i = 0; i < NVM; i++)
			before[i] = relay_served(fx->r, (size_t)i);
		assert_int_equal(relay_run_once(fx->r, 10), 0);
		for (int i = 0; i < NVM; i++)
			same &= relay_served(fx->r, (size_t)i) == before[i];
		quiet = same ? quiet + 1 : 0;
	}
	assert_int_equal(quiet, 3);
}

static void idle_vms_are_not_served(void **state)
{
	static const char text[] = "vmkd idle test: from the busy VM\n";
	struct fx *fx = *state;
	const int busy = NVM / 2;
	uint64_t before[NVM];
	uint8_t kd[512], frame[1024], got[8192];
	size_t n, have = 0;

	connect_all(fx);
	settle(fx);
	for (int i = 0; i < NVM; i++)
		before[i] = relay_served(fx->r, (size_t)i);
	/* One VM prints: its debugger gets the packet (and does not ACK it, so the link keeps
	 * that VM's retransmit timer busy too). */
	n = tr_print(kd, text);
	n = tr_kd_frame(frame, sizeof(frame), 1, KD_PACKET_TYPE_DEBUG_IO, kd, n);
	assert_true(n > 0);
	send_all(fx->guest[busy], frame, n);
	for (int round = 0; round < 200 && !memmem(got, have, text, strlen(text) - 1); round++) {
		assert_int_equal(relay_run_once(fx->r, 10), 0);
		have += drain(fx->dbg[busy], got + have, sizeof(got) - have);
	}
	assert_non_null(memmem(got, have, text, strlen(text) - 1));
	for (int round = 0; round < 20; round++)
		assert_int_equal(relay_run_once(fx->r, 5), 0);
	assert_true(relay_served(fx->r, (size_t)busy) > before[busy]);
	for (int i = 0; i < NVM; i++) {
		uint8_t sink[256];

		if (i == busy)
			continue;
		assert_int_equal(relay_served(fx->r, (size_t)i), before[i]);
		assert_int_equal(drain(fx->dbg[i], sink, sizeof(sink)), 0); /* no cross-talk */
		assert_int_equal(relay_get_vm(fx->r, (size_t)i)->st.kd_from_guest, 0);
	}
	assert_int_equal(relay_get_vm(fx->r, (size_t)busy)->st.kd_from_guest, 1);
}

/* A debugger leaving serves its VM (the hang-up), and only that one. */
static void hangup_serves_its_vm_only(void **state)
{
	struct fx *fx = *state;
	const int gone = 3;
	uint64_t before[NVM];

	connect_all(fx);
	settle(fx);
	for (int i = 0; i < NVM; i++)
		before[i] = relay_served(fx->r, (size_t)i);
	close(fx->dbg[gone]);
	fx->dbg[gone] = -1;
	for (int round = 0; round < 200; round++) {
		assert_int_equal(relay_run_once(fx->r, 10), 0);
		if (relay_get_vm(fx->r, (size_t)gone)->st.debugger_disconnects == 1)
			break;
	}
	assert_int_equal(relay_get_vm(fx->r, (size_t)gone)->st.debugger_disconnects, 1);
	settle(fx);
	assert_true(relay_served(fx->r, (size_t)gone) > before[gone]);
	for (int i = 0; i < NVM; i++)
		if (i != gone)
			assert_int_equal(relay_served(fx->r, (size_t)i), before[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(idle_vms_are_not_served, setup, teardown),
		cmocka_unit_test_setup_teardown(hangup_serves_its_vm_only, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
