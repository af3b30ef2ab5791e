/* SPDX-License-Identifier: MIT */
/*
 * The relay as ivshmem server (relay_ivshmem.h) against a fake QEMU: it connects to the
 * server socket, receives the set-up messages and fds as QEMU's ivshmem-doorbell does
 * (docs/specs/ivshmem-spec.rst), maps the memory and plays the guest's side of the rings.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmkd/vmkd_frame_parser.h"
#include "vmkd/vmkd_shmring.h"

#include "../../host/relay/relay_config.h"
#include "../../host/relay/relay_hints.h"
#include "../../host/relay/relay_ivshmem.h"
#include "../../host/relay/relay_loop.h"

/* ---- the fake QEMU -------------------------------------------------------------------- */

struct fake_qemu {
	int sock;
	int64_t id;
	int mem_fd, bell_fd, own_fd; /* bell: interrupts peer 0 (the relay); own: our vector */
	int64_t bell_peer;
	uint8_t *mem;
	size_t size;
	struct vmkd_shm_layout l;
	struct vmkd_shmring tx, rx;    /* guest side: g2h producer, h2g consumer */
	struct vmkd_frame_parser parser;
	uint32_t seq;
};

/* One message: the int64 and the fd that came with it (-1: none). 0, or -1 on EOF. */
static int recv_msg(int sock, int64_t *value, int *fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	uint64_t le;
	struct iovec iov = { .iov_base = &le, .iov_len = sizeof(le) };
	struct msghdr msg;
	struct cmsghdr *c;
	ssize_t n;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	if (n != (ssize_t)sizeof(le))
		return -1;
	*value = (int64_t)le64toh(le);
	*fd = -1;
	c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return 0;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un a;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Connects and returns once the socket is accepted; pump runs the server side. */
static void qemu_connect(struct fake_qemu *q, const char *path)
{
	memset(q, 0, sizeof(*q));
	q->mem_fd = q->bell_fd = q->own_fd = -1;
	q->sock = connect_unix(path);
}

/* Reads the five set-up messages and checks each against the spec. */
static void qemu_setup(struct fake_qemu *q)
{
	struct pollfd p = { .fd = q->sock, .events = POLLIN };
	struct stat st;
	int64_t v;
	int fd;

	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(recv_msg(q->sock, &v, &fd), 0);
	assert_int_equal(v, 0);                 /* 1. protocol version 0, no fd */
	assert_int_equal(fd, -1);
	assert_int_equal(recv_msg(q->sock, &v, &fd), 0);
	assert_true(v >= 0 && v <= 65535);      /* 2. our id, no fd */
	assert_int_equal(fd, -1);
	q->id = v;
	assert_int_equal(recv_msg(q->sock, &v, &fd), 0);
	assert_int_equal(v, -1);                /* 3. -1 with the shared memory */
	assert_true(fd >= 0);
	q->mem_fd = fd;
	assert_int_equal(recv_msg(q->sock, &v, &fd), 0);
	assert_true(v != q->id && v >= 0 && v <= 65535); /* 4. a peer (the relay) + eventfd */
	assert_true(fd >= 0);
	q->bell_peer = v;
	q->bell_fd = fd;
	assert_int_equal(recv_msg(q->sock, &v, &fd), 0);
	assert_int_equal(v, q->id);             /* 5. our own vector 0 */
	assert_true(fd >= 0);
	q->own_fd = fd;

	assert_int_equal(fstat(q->mem_fd, &st), 0);
	q->size = (size_t)st.st_size;
	assert_true(q->size && !(q->size & (q->size - 1))); /* BAR2: a power of two */
	q->mem = mmap(NULL, q->size, PROT_READ | PROT_WRITE, MAP_SHARED, q->mem_fd, 0);
	assert_true(q->mem != MAP_FAILED);
	assert_int_equal(vmkd_shm_check(q->mem, q->size, &q->l), VMKD_SHM_OK);
	assert_int_equal(q->l.host_peer_id, q->bell_peer);
	vmkd_shmring_attach(&q->tx, q->mem, &q->l, 0, 1);
	vmkd_shmring_attach(&q->rx, q->mem, &q->l, 1, 0);
	vmkd_frame_parser_init(&q->parser);
}

static void qemu_close(struct fake_qemu *q)
{
	if (q->mem && q->mem != MAP_FAILED)
		munmap(q->mem, q->size);
	q->mem = NULL;
	for (int *fd = &q->mem_fd; fd <= &q->own_fd; fd++)
		if (*fd >= 0)
			close(*fd);
	q->mem_fd = q->bell_fd = q->own_fd = -1;
	if (q->sock >= 0)
		close(q->sock);
	q->sock = -1;
}

/* What QEMU does on a guest write of (peer << 16 | vector) to the Doorbell register. */
static void qemu_doorbell(struct fake_qemu *q)
{
	uint64_t one = 1;

	assert_int_equal(write(q->bell_fd, &one, sizeof(one)), sizeof(one));
}

/* The guest sends a frame: into the ring, then the doorbell. */
static void guest_send(struct fake_qemu *q, uint8_t type, const void *p, size_t len, int ring)
{
	uint8_t frame[VMKD_FRAME_MAX_BYTES];
	size_t n = vmkd_frame_build(frame, sizeof(frame), type, q->seq++, p, len, NULL, 0);

	assert_true(n > 0);
	assert_int_equal(vmkd_shmring_write_all(&q->tx, frame, n), 0);
	if (ring)
		qemu_doorbell(q);
}

static void guest_hello(struct fake_qemu *q)
{
	struct vmkd_hello h;

	memset(&h, 0, sizeof(h));
	h.capabilities = VMKD_CAP_KD_PACKETS | VMKD_CAP_STATS;
	h.max_payload = VMKD_FRAME_MAX_PAYLOAD;
	memcpy(h.agent, "fake qemu guest", 15);
	guest_send(q, VMKD_FRAME_HELLO, &h, sizeof(h), 1);
}

/* The next frame from the host, or 0 if the ring has none. */
static int guest_recv(struct fake_qemu *q, struct vmkd_frame *f)
{
	uint8_t b;

	while (vmkd_shmring_read(&q->rx, &b, 1) == 1) {
		vmkd_frame_parser_feed(&q->parser, &b, 1, f);
		if (f->complete)
			return 1;
	}
	return 0;
}

/* ---- fixture --------------------------------------------------------------------------- */

struct fx {
	char dir[64];
	char ivs_path[128];
	char dbg_spec[140];
	char *logbuf;
	size_t logsize;
	FILE *log;
	struct relay *r;
	struct fake_qemu q;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/vmkd-ivs-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->ivs_path, sizeof(fx->ivs_path), "%s/ivs.sock", fx->dir);
	snprintf(fx->dbg_spec, sizeof(fx->dbg_spec), "unix:%s/kd.sock", fx->dir);
	fx->log = open_memstream(&fx->logbuf, &fx->logsize);
	fx->q.sock = -1;
	fx->q.mem_fd = fx->q.bell_fd = fx->q.own_fd = -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	qemu_close(&fx->q);
	relay_free(fx->r);
	fclose(fx->log);
	free(fx->logbuf);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static const char *logtext(struct fx *fx)
{
	fflush(fx->log);
	return fx->logbuf ? fx->logbuf : "";
}

/* ---- the server alone ------------------------------------------------------------------ */

static void test_server_protocol(void **state)
{
	struct fx *fx = *state;
	struct relay_ivshmem_stats st;
	struct relay_ivshmem *ivs;
	uint8_t buf[64];
	char err[256];
	int replaced;
	struct stat sst;

	ivs = relay_ivshmem_open(fx->ivs_path, 0, err, sizeof(err));
	assert_non_null(ivs);
	assert_int_equal(stat(fx->ivs_path, &sst), 0);
	assert_int_equal(sst.st_mode & 0777, 0600);
	/* nobody waiting */
	assert_int_equal(relay_ivshmem_accept(ivs, &replaced, err, sizeof(err)), 0);
	qemu_connect(&fx->q, fx->ivs_path);
	assert_int_equal(relay_ivshmem_accept(ivs, &replaced, err, sizeof(err)), 1);
	assert_int_equal(replaced, 0);
	qemu_setup(&fx->q);
	assert_int_equal(fx->q.id, RELAY_IVSHMEM_QEMU_ID);
	assert_int_equal(fx->q.bell_peer, VMKD_SHM_HOST_PEER);
	assert_int_equal(fx->q.size, VMKD_SHM_SIZE_DEFAULT);
	assert_int_equal(fx->q.l.generation, 1);

	/* guest -> host: bytes and the doorbell */
	assert_int_equal(relay_ivshmem_doorbell(ivs), 0);
	assert_int_equal(vmkd_shmring_write(&fx->q.tx, "hello", 5), 5);
	qemu_doorbell(&fx->q);
	qemu_doorbell(&fx->q);
	assert_int_equal(relay_ivshmem_doorbell(ivs), 2);
	assert_int_equal(relay_ivshmem_read(ivs, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	/* host -> guest */
	assert_int_equal(relay_ivshmem_write(ivs, "world", 5), 5);
	assert_int_equal(vmkd_shmring_read(&fx->q.rx, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "world", 5);
	assert_int_equal(relay_ivshmem_client_alive(ivs), 1);

	/* a second QEMU replaces the first; the memory is formatted again */
	{
		struct fake_qemu q2;

		qemu_connect(&q2, fx->ivs_path);
		assert_int_equal(relay_ivshmem_accept(ivs, &replaced, err, sizeof(err)), 1);
		assert_int_equal(replaced, 1);
		qemu_setup(&q2);
		assert_int_equal(q2.l.generation, 2);
		assert_int_equal(vmkd_shmring_readable(&q2.rx), 0);
		qemu_close(&q2);
	}
	/* that QEMU went away */
	assert_int_equal(relay_ivshmem_client_alive(ivs), 0);
	assert_int_equal(relay_ivshmem_client_fd(ivs), -1);
	assert_int_equal(relay_ivshmem_write(ivs, "x", 1), 0);
	relay_ivshmem_get_stats(ivs, &st);
	assert_int_equal(st.connects, 2);
	assert_int_equal(st.doorbells, 2);
	assert_int_equal(st.g2h_bytes, 5);
	assert_int_equal(st.h2g_bytes, 5);
	relay_ivshmem_close(ivs);
	/* the socket file went with it */
	assert_int_equal(stat(fx->ivs_path, &sst), -1);
}

static void test_server_bad_size(void **state)
{
	struct fx *fx = *state;
	char err[256];

	assert_null(relay_ivshmem_open(fx->ivs_path, 300000, err, sizeof(err)));
	assert_non_null(strstr(err, "power of two"));
	assert_null(relay_ivshmem_open(fx->ivs_path, 4096, err, sizeof(err)));
}

/* ---- the relay loop with an ivshmem guest ------------------------------------------------ */

static void relay_start(struct fx *fx)
{
	struct relay_options opt;
	struct relay_vm_config cfg;
	char spec[160], err[256];

	memset(&opt, 0, sizeof(opt));
	opt.log = fx->log;
	opt.trace = 1;
	fx->r = relay_new(&opt);
	assert_non_null(fx->r);
	snprintf(spec, sizeof(spec), "ivshmem:%s", fx->ivs_path);
	assert_int_equal(relay_vm_config_set(&cfg, "vm0", spec, fx->dbg_spec, err, sizeof(err)),
			 0);
	assert_int_equal(cfg.guest_ivshmem, 1);
	assert_int_equal(relay_add_vm(fx->r, &cfg, err, sizeof(err)), 0);
}

static void pump(struct fx *fx, int rounds)
{
	for (int i = 0; i < rounds; i++)
		assert_int_equal(relay_run_once(fx->r, 20), 0);
}

/* QEMU connects to the relay's ivshmem server and takes its peer id, memory and doorbells,
 * as `-chardev socket,path=...` does when the VM starts. */
static void qemu_attach(struct fx *fx)
{
	qemu_connect(&fx->q, fx->ivs_path);
	pump(fx, 2);
	qemu_setup(&fx->q);
}

/* Waits (bounded) for the next host frame. */
static void expect_frame(struct fx *fx, uint8_t type, struct vmkd_frame *f)
{
	for (int i = 0; i < 200; i++) {
		if (guest_recv(&fx->q, f)) {
			assert_int_equal(f->hdr.type, type);
			return;
		}
		pump(fx, 1);
	}
	fail_msg("no frame of type %u from the relay", type);
}

static void test_loop_hello(void **state)
{
	struct fx *fx = *state;
	struct vmkd_frame f;
	struct relay_vm *vm;
	struct vmkd_hello ack;
	struct vmkd_debugger_state ds;

	relay_start(fx);
	vm = relay_get_vm(fx->r, 0);
	qemu_attach(fx);
	assert_int_equal(vm->guest_connected, 1);
	assert_non_null(strstr(logtext(fx), "ivshmem: QEMU connected"));
	/* on connect the relay tells the guest: no debugger */
	expect_frame(fx, VMKD_FRAME_DEBUGGER, &f);
	assert_int_equal(f.payload_len, sizeof(ds));
	memcpy(&ds, f.payload, sizeof(ds));
	assert_int_equal(ds.attached, 0);
	/* HELLO -> HELLO_ACK, through the ring and the doorbell */
	guest_hello(&fx->q);
	expect_frame(fx, VMKD_FRAME_HELLO_ACK, &f);
	memcpy(&ack, f.payload, sizeof(ack));
	assert_int_equal(ack.max_payload, VMKD_FRAME_MAX_PAYLOAD);
	assert_int_equal(vm->st.hellos, 1);
	assert_string_equal(vm->guest_agent, "fake qemu guest");
	/* a STATS_REQUEST goes out the same way (asked through the loop, which then serves
	 * the VM: a call on the core behind its back would wait for the VM's next event) */
	relay_log_stats(fx->r, 1);
	pump(fx, 1);
	expect_frame(fx, VMKD_FRAME_STATS_REQUEST, &f);
	/* QEMU quits: the guest is gone */
	qemu_close(&fx->q);
	for (int i = 0; i < 100 && vm->guest_connected; i++)
		pump(fx, 1);
	assert_int_equal(vm->guest_connected, 0);
	assert_non_null(strstr(logtext(fx), "ivshmem: QEMU closed its connection"));
	/* and comes back: a fresh memory generation, the session starts over */
	qemu_attach(fx);
	assert_int_equal(fx->q.l.generation, 2);
	assert_int_equal(vm->guest_connected, 1);
	guest_hello(&fx->q);
	expect_frame(fx, VMKD_FRAME_DEBUGGER, &f);
	expect_frame(fx, VMKD_FRAME_HELLO_ACK, &f);
	assert_int_equal(vm->st.hellos, 2);
}

/* Many frames, more than the ring holds at once, some without a doorbell of their own. */
static void test_loop_many_frames(void **state)
{
	struct fx *fx = *state;
	struct relay_vm *vm;
	static uint8_t text[3000];
	uint64_t want = 0;

	relay_start(fx);
	vm = relay_get_vm(fx->r, 0);
	qemu_attach(fx);
	guest_hello(&fx->q);
	memset(text, 'x', sizeof(text));
	/* STATS frames: the core logs each, no debugger needed */
	for (int round = 0; round < 10; round++) {
		struct vmkd_guest_stats gs;

		for (int i = 0; i < 20; i++) {
			memset(&gs, 0, sizeof(gs));
			gs.packets_sent = want + 1;
			if (vmkd_shmring_writable(&fx->q.tx) < sizeof(gs) + 16)
				break;
			guest_send(&fx->q, VMKD_FRAME_STATS, &gs, sizeof(gs), i == 19);
			want++;
		}
		qemu_doorbell(&fx->q);
		pump(fx, 3);
	}
	for (int i = 0; i < 100 && vm->st.guest_stats_frames < want; i++)
		pump(fx, 1);
	assert_int_equal(vm->st.guest_stats_frames, want);
	assert_int_equal(vm->guest_stats.packets_sent, want);
	assert_int_equal(vm->st.seq_gaps, 0);
	assert_int_equal(vm->st.frames_rejected, 0);
}

/* The guest scribbles on its ring index: counted, resynchronised, the session goes on. */
static void test_loop_corrupt_index(void **state)
{
	struct fx *fx = *state;
	struct relay_vm *vm;
	struct vmkd_frame f;
	volatile struct vmkd_shm_ring_ctl *g2h;

	relay_start(fx);
	vm = relay_get_vm(fx->r, 0);
	qemu_attach(fx);
	g2h = (volatile struct vmkd_shm_ring_ctl *)(fx->q.mem + fx->q.l.g2h_ctl);
	g2h->head = 0x40000000u;
	qemu_doorbell(&fx->q);
	pump(fx, 3);
	assert_int_equal(vm->st.guest_rx_bytes, 0);
	/* the guest restarts its producer where the relay now is */
	vmkd_shmring_attach(&fx->q.tx, fx->q.mem, &fx->q.l, 0, 1);
	guest_hello(&fx->q);
	expect_frame(fx, VMKD_FRAME_DEBUGGER, &f);
	expect_frame(fx, VMKD_FRAME_HELLO_ACK, &f);
	assert_int_equal(vm->st.hellos, 1);
}

/* QEMU keeps the doorbell eventfd (it got a copy) after the relay removes the VM (a reload):
 * the relay must have taken it out of its epoll set before closing, or the next ring would
 * report an event for the freed VM (ASan: use after free) on every round. */
static void test_loop_remove_with_doorbell_held(void **state)
{
	struct fx *fx = *state;
	struct vmkd_frame f;

	relay_start(fx);
	qemu_attach(fx);
	expect_frame(fx, VMKD_FRAME_DEBUGGER, &f); /* on connect: no debugger */
	guest_hello(&fx->q);
	expect_frame(fx, VMKD_FRAME_HELLO_ACK, &f);
	relay_remove_vm(fx->r, 0);
	assert_int_equal(relay_vm_count(fx->r), 0);
	qemu_doorbell(&fx->q);
	pump(fx, 3);
	/* The relay serves a new VM on the same path as before. */
	qemu_close(&fx->q);
	{
		struct relay_vm_config cfg;
		char spec[160], err[256];

		snprintf(spec, sizeof(spec), "ivshmem:%s", fx->ivs_path);
		assert_int_equal(relay_vm_config_set(&cfg, "vm1", spec, fx->dbg_spec, err,
						     sizeof(err)), 0);
		assert_int_equal(relay_add_vm(fx->r, &cfg, err, sizeof(err)), 0);
	}
	qemu_attach(fx);
	expect_frame(fx, VMKD_FRAME_DEBUGGER, &f); /* on connect: no debugger */
	guest_hello(&fx->q);
	expect_frame(fx, VMKD_FRAME_HELLO_ACK, &f);
	assert_int_equal(relay_get_vm(fx->r, 0)->st.hellos, 1);
}

static void test_config(void **state)
{
	struct relay_vm_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(relay_vm_config_set(&cfg, "w", "ivshmem:/tmp/x.sock", "tcp:50000", err,
					     sizeof(err)), 0);
	assert_int_equal(cfg.guest_ivshmem, 1);
	assert_int_equal(cfg.guest_listen, 0);
	assert_string_equal(cfg.guest, "unix:/tmp/x.sock");
	/* the start-up hints give QEMU's and libvirt's ivshmem-doorbell, not virtio-serial */
	{
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		assert_non_null(f);
		relay_print_hints(f, &cfg, 50000);
		fclose(f);
		assert_non_null(strstr(buf, "-chardev socket,id=vmkd0,path=/tmp/x.sock -device "
					    "ivshmem-doorbell,chardev=vmkd0,vectors=1"));
		assert_non_null(strstr(buf, "<model type='ivshmem-doorbell'/><server "
					    "path='/tmp/x.sock'/>"));
		assert_null(strstr(buf, "virtserialport"));
		free(buf);
	}
	assert_int_equal(relay_vm_config_set(&cfg, "w", "ivshmem:tcp:127.0.0.1:4000", "tcp:50000",
					     err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unix socket"));
	assert_int_equal(relay_vm_config_set(&cfg, "w", "unix:/tmp/y.sock", "tcp:50000", err,
					     sizeof(err)), 0);
	assert_int_equal(cfg.guest_ivshmem, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_server_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_bad_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop_hello, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop_many_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop_corrupt_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop_remove_with_doorbell_held, setup, teardown),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
