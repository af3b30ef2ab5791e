/* SPDX-License-Identifier: MIT */
/*
 * The relay's real event loop over real unix sockets: a fake QEMU + guest in a thread
 * (it listens like `-chardev socket,server=on` and answers like a kdvm guest: HELLO,
 * a state change on BREAKIN / RESYNC, GetVersion, memory reads, Continue2), the session
 * engine of `vmkd attach` as the debugger, and the loop in its own thread or stepped
 * in-line. VMKD_TEST_TRACE=1 prints the relay's log on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmkd/kd_api.h"
#include "vmkd/kd_link.h"
#include "vmkd/kd_packet.h"
#include "vmkd/vmkd_frame_parser.h"

#include "../../host/client/session.h"
#include "../../host/common/endpoint.h"
#include "../../host/common/relay_notice.h"
#include "../../host/relay/relay_config.h"
#include "../../host/relay/relay_loop.h"
#include "test_relay_fakes.h"

#define MS         1000ull
#define SECOND     1000000ull
#define PC         0xfffff80000401000ull
#define VA         0xfffff80000100000ull
#define MEM_SIZE   0x3000u
#define BUILD      19041
#define NPRINTS    1000

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SECOND + (uint64_t)ts.tv_nsec / 1000u;
}

/* Waits up to 2 s for *v to reach at least want. */
static int wait_for(atomic_int *v, int want)
{
	uint64_t end = now_us() + 2 * SECOND;

	while (atomic_load(v) < want && now_us() < end)
		usleep(500);
	return atomic_load(v) >= want;
}

/* ---- the fake QEMU + guest ------------------------------------------------------------ */

struct fake_guest {
	char path[128];
	int listen_fd;        /* QEMU's chardev server socket, or -1 (relay listens) */
	int fd;
	pthread_t thread;
	int running;
	atomic_int quit;
	atomic_int connected;     /* connections accepted / made */
	atomic_int debugger_frames;
	atomic_int debugger_state;
	atomic_int breakins, resyncs, hello_acks, stats_requests, requests, continues;
	atomic_int prints_sent;
	atomic_int eof;           /* the relay closed the connection */
	int prints;               /* DbgPrints to flood after HELLO */
	int halted;
	uint32_t seq;
	struct vmkd_frame_parser parser;
	uint8_t mem[MEM_SIZE];
};

static void fg_send(struct fake_guest *g, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = send(g->fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void fg_send_kd(struct fake_guest *g, uint16_t type, const uint8_t *kd, size_t len)
{
	uint8_t frame[VMKD_FRAME_MAX_BYTES];

	fg_send(g, frame, tr_kd_frame(frame, sizeof(frame), g->seq++, type, kd, len));
}

static void fg_report(struct fake_guest *g)
{
	uint8_t kd[KD_MAX_PAYLOAD];

	fg_send_kd(g, KD_PACKET_TYPE_STATE_CHANGE64, kd, tr_state_change(kd, PC));
}

static void fg_manipulate(struct fake_guest *g, const uint8_t *kd, size_t len)
{
	struct kd_manipulate_state64 m;
	struct kd_get_version64 ver;
	struct kd_api_msg reply;
	uint8_t out[KD_MAX_PAYLOAD];
	const uint8_t *data;
	size_t dlen;

	atomic_fetch_add(&g->requests, 1);
	if (kd_api_parse_request(kd, len, &m, &data, &dlen) != KD_API_OK)
		memset(&m, 0, sizeof(m));
	switch (m.api_number) {
	case KD_API_GET_VERSION:
		memset(&ver, 0, sizeof(ver));
		ver.major_version = KD_MAJOR_VERSION_FREE;
		ver.minor_version = BUILD;
		ver.protocol_version = KD_PROTOCOL_VERSION_64BIT2;
		ver.kd_secondary_version = KD_SECONDARY_VERSION_AMD64_CONTEXT;
		ver.flags = KD_VERSION_FLAG_MP | KD_VERSION_FLAG_PTR64;
		ver.machine_type = KD_MACHINE_AMD64;
		ver.max_packet_type = KD_PACKET_TYPE_MAX;
		ver.max_state_change = 3;
		ver.max_manipulate = 0x31;
		ver.kern_base = VA;
		kd_api_reply_version(&reply, &m, &ver);
		break;
	case KD_API_READ_VIRTUAL_MEMORY: {
		uint64_t a = m.u.read_memory.target_base_address;
		uint32_t n = kd_api_read_len(&m), got = 0;

		if (a >= VA && a - VA < MEM_SIZE)
			got = n < MEM_SIZE - (a - VA) ? n : (uint32_t)(MEM_SIZE - (a - VA));
		kd_api_reply_read(&reply, &m, got ? g->mem + (a - VA) : NULL, got);
		break;
	}
	case KD_API_CONTINUE2:
		g->halted = 0;
		atomic_fetch_add(&g->continues, 1);
		return;
	default:
		kd_api_reply_init(&reply, &m, KD_STATUS_UNSUCCESSFUL);
		break;
	}
	fg_send_kd(g, KD_PACKET_TYPE_STATE_MANIPULATE, out, tr_msg_payload(&reply, out));
}

static void fg_frame(struct fake_guest *g, const struct vmkd_frame *f)
{
	uint32_t v = 0;

	switch (f->hdr.type) {
	case VMKD_FRAME_HELLO_ACK:
		atomic_fetch_add(&g->hello_acks, 1);
		break;
	case VMKD_FRAME_DEBUGGER:
		if (f->payload_len >= 4)
			memcpy(&v, f->payload, 4);
		atomic_store(&g->debugger_state, (int)v);
		atomic_fetch_add(&g->debugger_frames, 1);
		break;
	case VMKD_FRAME_BREAKIN:
		atomic_fetch_add(&g->breakins, 1);
		if (!g->halted) {
			g->halted = 1;
			fg_report(g);
		}
		break;
	case VMKD_FRAME_RESYNC:
		atomic_fetch_add(&g->resyncs, 1);
		if (g->halted)
			fg_report(g);
		break;
	case VMKD_FRAME_STATS_REQUEST: {
		struct vmkd_guest_stats st;

		atomic_fetch_add(&g->stats_requests, 1);
		memset(&st, 0, sizeof(st));
		st.packets_sent = g->seq;
		uint8_t frame[256];
		fg_send(g, frame, tr_frame(frame, sizeof(frame), VMKD_FRAME_STATS, g->seq++, &st,
					   sizeof(st)));
		break;
	}
	case VMKD_FRAME_KD_PACKET: {
		uint16_t type;
		const uint8_t *kd;
		size_t len;

		if (!vmkd_frame_parse_kd(f->payload, f->payload_len, &type, &kd, &len) &&
		    type == KD_PACKET_TYPE_STATE_MANIPULATE)
			fg_manipulate(g, kd, len);
		break;
	}
	default:
		break;
	}
}

static void fg_hello_and_flood(struct fake_guest *g)
{
	uint8_t frame[VMKD_FRAME_MAX_BYTES], kd[KD_MAX_PAYLOAD];
	char text[32];

	fg_send(g, frame, tr_hello_frame(frame, sizeof(frame), g->seq++));
	for (int i = 0; i < g->prints; i++) {
		snprintf(text, sizeof(text), "line %04d\n", i % 10000);
		/* Alternating processors: neighbours are never joined (relay_guest.c), so
		 * every line stays a packet and the queue really fills. */
		fg_send_kd(g, KD_PACKET_TYPE_DEBUG_IO, kd, tr_print_cpu(kd, (uint16_t)(i & 1), text));
		atomic_fetch_add(&g->prints_sent, 1);
	}
}

/* Serves one connection until quit or EOF. */
static void fg_serve(struct fake_guest *g)
{
	uint8_t buf[8192];

	vmkd_frame_parser_init(&g->parser);
	g->halted = 0;
	fg_hello_and_flood(g);
	while (!atomic_load(&g->quit)) {
		struct pollfd p = { .fd = g->fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 5) <= 0)
			continue;
		n = recv(g->fd, buf, sizeof(buf), 0);
		if (n <= 0) {
			atomic_store(&g->eof, 1);
			return;
		}
		for (size_t off = 0; off < (size_t)n;) {
			struct vmkd_frame f;

			off += vmkd_frame_parser_feed(&g->parser, buf + off, (size_t)n - off, &f);
			if (f.complete)
				fg_frame(g, &f);
		}
	}
}

/* Blocking sends into a small socket buffer: a relay that stops reading stalls us soon,
 * as QEMU stalls the guest's TX queue, whatever the host's default buffer sizes are. */
static void fg_blocking(struct fake_guest *g)
{
	int size = 4096;

	fcntl(g->fd, F_SETFL, 0);
	setsockopt(g->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

static void *fg_thread(void *opaque)
{
	struct fake_guest *g = opaque;

	if (g->listen_fd >= 0) {
		while (!atomic_load(&g->quit)) {
			struct pollfd p = { .fd = g->listen_fd, .events = POLLIN };

			if (poll(&p, 1, 5) <= 0)
				continue;
			g->fd = endpoint_accept(g->listen_fd);
			if (g->fd >= 0)
				break;
		}
		if (g->fd < 0)
			return NULL;
		fg_blocking(g);
	}
	atomic_fetch_add(&g->connected, 1);
	fg_serve(g);
	return NULL;
}

/* QEMU with server=on: listens at path and serves the relay once it connects. */
static void fg_start_server(struct fake_guest *g, const char *path)
{
	char err[256];

	snprintf(g->path, sizeof(g->path), "%s", path);
	atomic_store(&g->quit, 0);
	atomic_store(&g->eof, 0);
	g->fd = -1;
	g->listen_fd = endpoint_listen(path, err, sizeof(err));
	assert_true(g->listen_fd >= 0);
	assert_int_equal(pthread_create(&g->thread, NULL, fg_thread, g), 0);
	g->running = 1;
}

/* QEMU with server=off: connects to the relay's listener. */
static void fg_start_client(struct fake_guest *g, const char *path)
{
	char err[256];

	atomic_store(&g->quit, 0);
	atomic_store(&g->eof, 0);
	g->listen_fd = -1;
	g->fd = endpoint_connect(path, 2000, err, sizeof(err));
	assert_true(g->fd >= 0);
	fg_blocking(g);
	assert_int_equal(pthread_create(&g->thread, NULL, fg_thread, g), 0);
	g->running = 1;
}

/* QEMU exits: the connection and the listener close, the socket file goes. */
static void fg_stop(struct fake_guest *g)
{
	if (!g->running)
		return;
	atomic_store(&g->quit, 1);
	pthread_join(g->thread, NULL);
	g->running = 0;
	if (g->listen_fd >= 0) {
		close(g->listen_fd);
		unlink(g->path);
	}
	g->listen_fd = -1;
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
}

/* ---- the relay ----------------------------------------------------------------------- */

struct fx {
	char dir[64];
	char guest_path[128];
	char dbg_path[128];
	char dbg_spec[140];
	struct relay *r;
	pthread_t thread;
	int threaded;
	FILE *log;
	char *logbuf;
	size_t logsize;
	volatile sig_atomic_t stats_flag;
	int takeover;
	const struct kd_link_config *link_cfg;
	struct fake_guest g, g2;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/vmkd-relay-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->guest_path, sizeof(fx->guest_path), "%s/vm0.sock", fx->dir);
	snprintf(fx->dbg_path, sizeof(fx->dbg_path), "%s/kd.sock", fx->dir);
	snprintf(fx->dbg_spec, sizeof(fx->dbg_spec), "unix:%s", fx->dbg_path);
	fx->log = open_memstream(&fx->logbuf, &fx->logsize);
	fx->g.listen_fd = fx->g.fd = -1;
	fx->g2.listen_fd = fx->g2.fd = -1;
	*state = fx;
	return 0;
}

static void *relay_thread(void *opaque)
{
	relay_run(opaque);
	return NULL;
}

static void relay_start(struct fx *fx, const char *guest, int threaded, uint64_t stats_us)
{
	struct relay_options opt;
	struct relay_vm_config cfg;
	char err[256];

	memset(&opt, 0, sizeof(opt));
	opt.log = fx->log;
	opt.trace = 1;
	opt.guest_retry_us = 10 * MS;
	opt.stats_interval_us = stats_us;
	opt.stats_flag = &fx->stats_flag;
	opt.takeover = fx->takeover;
	opt.link_config = fx->link_cfg;
	fx->r = relay_new(&opt);
	assert_non_null(fx->r);
	assert_int_equal(relay_vm_config_set(&cfg, "vm0", guest, fx->dbg_spec, err, sizeof(err)),
			 0);
	assert_int_equal(relay_add_vm(fx->r, &cfg, err, sizeof(err)), 0);
	if (threaded) {
		assert_int_equal(pthread_create(&fx->thread, NULL, relay_thread, fx->r), 0);
		fx->threaded = 1;
	}
}

/* Stops the loop thread; afterwards the relay's state can be read safely. */
static void relay_halt(struct fx *fx)
{
	if (!fx->threaded)
		return;
	relay_stop(fx->r);
	pthread_join(fx->thread, NULL);
	fx->threaded = 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	relay_halt(fx);
	fg_stop(&fx->g);
	fg_stop(&fx->g2);
	relay_free(fx->r);
	fclose(fx->log);
	if (getenv("VMKD_TEST_TRACE"))
		fprintf(stderr, "%s", fx->logbuf);
	free(fx->logbuf);
	unlink(fx->guest_path);
	unlink(fx->dbg_path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static const char *log_text(struct fx *fx)
{
	fflush(fx->log);
	return fx->logbuf ? fx->logbuf : "";
}

static struct relay_vm *vm0(struct fx *fx)
{
	return relay_get_vm(fx->r, 0);
}

static struct session *open_session(struct fx *fx, int break_in)
{
	struct session_options opt;
	struct session *s;
	char err[256];

	session_default_options(&opt);
	opt.break_in = break_in;
	opt.connect_timeout_ms = 2000;
	opt.request_timeout_us = 2 * SECOND;
	s = session_open(fx->dbg_spec, &opt, err, sizeof(err));
	if (!s)
		fail_msg("session_open: %s", err);
	return s;
}

/* ---- tests --------------------------------------------------------------------------- */

static void loop_session_through_relay(void **state)
{
	struct fx *fx = *state;
	struct session_stop stop;
	struct kd_get_version64 ver;
	struct session *s;
	static uint8_t buf[MEM_SIZE];
	size_t got = 0;
	struct stat st;

	for (size_t i = 0; i < MEM_SIZE; i++)
		fx->g.mem[i] = (uint8_t)(i * 7 + 3);
	fg_start_server(&fx->g, fx->guest_path);
	relay_start(fx, fx->guest_path, 1, 0);
	assert_true(wait_for(&fx->g.hello_acks, 1));
	assert_int_equal(stat(fx->dbg_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* vmkd attach -b: break-in byte and RESET; the guest stops and reports. */
	s = open_session(fx, 1);
	assert_int_equal(session_wait_stop(s, 2 * SECOND, &stop), 0);
	assert_int_equal(stop.kind, SESSION_STOP_EXCEPTION);
	assert_int_equal(stop.code, KD_STATUS_BREAKPOINT);
	assert_int_equal(stop.pc, PC);
	assert_int_equal(atomic_load(&fx->g.debugger_state), 1);

	assert_int_equal(session_get_version(s, &ver), 0);
	assert_int_equal(ver.minor_version, BUILD);
	assert_int_equal(ver.machine_type, KD_MACHINE_AMD64);
	assert_int_equal(ver.kern_base, VA);

	/* Reads of nearly KD_MAX_PAYLOAD each way. */
	assert_int_equal(session_read_virtual(s, VA, buf, MEM_SIZE, &got), 0);
	assert_int_equal(got, MEM_SIZE);
	assert_memory_equal(buf, fx->g.mem, MEM_SIZE);

	assert_int_equal(session_continue2(s, KD_DBG_CONTINUE, 0, 0), 0);
	assert_true(wait_for(&fx->g.continues, 1));
	session_close(s);
	/* The debugger left: the guest hears DEBUGGER(0); the chardev stays connected. */
	assert_true(wait_for(&fx->g.debugger_frames, 3));
	assert_int_equal(atomic_load(&fx->g.debugger_state), 0);
	assert_false(atomic_load(&fx->g.eof));

	relay_halt(fx);
	assert_int_equal(vm0(fx)->st.debugger_connects, 1);
	assert_int_equal(vm0(fx)->st.debugger_disconnects, 1);
	assert_int_equal(vm0(fx)->st.guest_connects, 1);
	assert_true(vm0(fx)->st.kd_to_guest >= 3);
	assert_int_equal(vm0(fx)->st.frames_rejected, 0);
	assert_int_equal(vm0(fx)->st.seq_gaps, 0);
	assert_true(strstr(log_text(fx), "dbg   -> MANIPULATE id=") != NULL);
	assert_true(strstr(log_text(fx), "GetVersion") != NULL);
}

/* Reads what the relay wrote until it closed (2 s at most); returns the byte count. */
static size_t read_until_eof(int fd, uint8_t *buf, size_t cap)
{
	size_t got = 0;
	struct pollfd p;
	ssize_t n;

	p.fd = fd;
	p.events = POLLIN;
	while (got < cap && poll(&p, 1, 2000) == 1) {
		n = recv(fd, buf + got, cap - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

/* The text of the first DbgPrint in a KDCOM byte stream, or "" if there is none. */
static void first_print(const uint8_t *buf, size_t len, char *out, size_t cap)
{
	struct kd_parser p;
	struct kd_event ev;
	struct kd_debug_io io;
	const uint8_t *text;
	size_t tlen;

	out[0] = '\0';
	kd_parser_init(&p);
	while (len) {
		size_t used = kd_parser_feed(&p, buf, len, &ev);

		buf += used;
		len -= used;
		if (ev.kind == KD_EV_DATA && ev.hdr.type == KD_PACKET_TYPE_DEBUG_IO &&
		    kd_api_parse_debug_io(ev.payload, ev.payload_len, &io, &text, &tlen) ==
		    KD_API_OK) {
			tlen = tlen < cap - 1 ? tlen : cap - 1;
			memcpy(out, text, tlen);
			out[tlen] = '\0';
			return;
		}
		if (!used && ev.kind == KD_EV_NONE)
			return;
	}
}

/* Issue #10 item 6: a refused debugger is told why, in a DbgPrint it shows, then closed. */
static void loop_second_debugger_refused(void **state)
{
	struct fx *fx = *state;
	char err[256], c, text[512];
	static uint8_t buf[8192];
	size_t n;
	int a, b;

	fg_start_server(&fx->g, fx->guest_path);
	relay_start(fx, fx->guest_path, 1, 0);
	assert_true(wait_for(&fx->g.hello_acks, 1));

	a = endpoint_connect(fx->dbg_spec, 2000, err, sizeof(err));
	assert_true(a >= 0);
	assert_true(wait_for(&fx->g.debugger_frames, 2)); /* DEBUGGER(0) at start, then 1 */
	b = endpoint_connect(fx->dbg_spec, 2000, err, sizeof(err));
	assert_true(b >= 0);
	n = read_until_eof(b, buf, sizeof(buf));        /* then closed by the relay */
	close(b);
	first_print(buf, n, text, sizeof(text));
	assert_true(!strncmp(text, RELAY_NOTICE_PREFIX RELAY_NOTICE_REFUSED ": ",
			     strlen(RELAY_NOTICE_PREFIX RELAY_NOTICE_REFUSED ": ")));
	assert_non_null(strstr(text, "'vm0'"));
	assert_non_null(strstr(text, "--takeover"));
	assert_int_equal(text[strlen(text) - 1], '\n');

	/* The first one still works: a break-in reaches the guest. */
	c = KD_BREAKIN_BYTE;
	assert_int_equal(send(a, &c, 1, MSG_NOSIGNAL), 1);
	assert_true(wait_for(&fx->g.breakins, 1));
	close(a);
	relay_halt(fx);
	assert_int_equal(vm0(fx)->st.debugger_refused, 1);
	assert_int_equal(vm0(fx)->st.debugger_connects, 1);
	assert_true(strstr(log_text(fx), "debugger connection refused: one is already attached")
		    != NULL);
}

/* With --takeover a new debugger replaces the attached one (which may be dead). */
static void loop_takeover(void **state)
{
	struct fx *fx = *state;
	static uint8_t buf[8192];
	char err[256], c;
	int a, b;

	fx->takeover = 1;
	fg_start_server(&fx->g, fx->guest_path);
	relay_start(fx, fx->guest_path, 1, 0);
	assert_true(wait_for(&fx->g.hello_acks, 1));

	a = endpoint_connect(fx->dbg_spec, 2000, err, sizeof(err));
	assert_true(a >= 0);
	assert_true(wait_for(&fx->g.debugger_frames, 2));
	b = endpoint_connect(fx->dbg_spec, 2000, err, sizeof(err));
	assert_true(b >= 0);
	read_until_eof(a, buf, sizeof(buf));             /* the old one is closed */
	close(a);

	c = KD_BREAKIN_BYTE;                              /* the new one is served */
	assert_int_equal(send(b, &c, 1, MSG_NOSIGNAL), 1);
	assert_true(wait_for(&fx->g.breakins, 1));
	close(b);
	relay_halt(fx);
	assert_int_equal(vm0(fx)->st.debugger_refused, 0);
	assert_int_equal(vm0(fx)->st.debugger_connects, 2);
	assert_int_equal(vm0(fx)->st.debugger_takeovers, 1);
	assert_non_null(strstr(log_text(fx), "replaced by a new debugger connection"));
}

/* Without --takeover a debugger that stopped acknowledging (the link gave up on it: SILENT)
 * is replaced by the next connection rather than holding the VM. */
static void loop_silent_debugger_replaced(void **state)
{
	struct fx *fx = *state;
	struct kd_link_config lc;
	char err[256], c;
	int a, b;

	kd_link_default_config(&lc);
	lc.ack_timeout = 20 * MS;
	lc.max_retries = 2;
	fx->link_cfg = &lc;
	fg_start_server(&fx->g, fx->guest_path);
	relay_start(fx, fx->guest_path, 1, 0);
	assert_true(wait_for(&fx->g.hello_acks, 1));

	a = endpoint_connect(fx->dbg_spec, 2000, err, sizeof(err));
	assert_true(a >= 0);
	c = KD_BREAKIN_BYTE;              /* the guest reports; a never ACKs */
	assert_int_equal(send(a, &c, 1, MSG_NOSIGNAL), 1);
	assert_true(wait_for(&fx->g.breakins, 1));
	for (int i = 0; i < 200 && atomic_load(&fx->g.debugger_state) != 0; i++)
		usleep(10 * MS);
	assert_int_equal(atomic_load(&fx->g.debugger_state), 0); /* SILENT: DEBUGGER(0) */

	b = endpoint_connect(fx->dbg_spec, 2000, err, sizeof(err));
	assert_true(b >= 0);
	for (int i = 0; i < 200 && atomic_load(&fx->g.debugger_state) != 1; i++)
		usleep(10 * MS);
	assert_int_equal(atomic_load(&fx->g.debugger_state), 1);
	close(b);
	close(a);
	relay_halt(fx);
	assert_int_equal(vm0(fx)->st.debugger_refused, 0);
	assert_int_equal(vm0(fx)->st.debugger_takeovers, 1);
	assert_non_null(strstr(log_text(fx), "it had stopped acknowledging"));
}

/* QEMU exits and starts again: the relay reconnects on its own; the debugger stays. */
static void loop_qemu_restart(void **state)
{
	struct fx *fx = *state;
	struct session_stop stop;
	struct session *s;

	relay_start(fx, fx->guest_path, 1, 0);
	usleep(30 * MS); /* the relay retries before QEMU is there */
	fg_start_server(&fx->g, fx->guest_path);
	assert_true(wait_for(&fx->g.hello_acks, 1));
	s = open_session(fx, 1);
	assert_int_equal(session_wait_stop(s, 2 * SECOND, &stop), 0);

	fg_stop(&fx->g);
	usleep(30 * MS);
	fg_start_server(&fx->g2, fx->guest_path);
	assert_true(wait_for(&fx->g2.hello_acks, 1));
	/* The new guest was told a debugger is attached; a break-in reaches it. */
	assert_true(wait_for(&fx->g2.debugger_frames, 1));
	assert_int_equal(atomic_load(&fx->g2.debugger_state), 1);
	assert_int_equal(session_break_in(s), 0);
	assert_int_equal(session_wait_stop(s, 2 * SECOND, &stop), 0);
	assert_int_equal(stop.pc, PC);
	session_close(s);
	relay_halt(fx);
	assert_int_equal(vm0(fx)->st.guest_connects, 2);
	assert_int_equal(vm0(fx)->st.guest_disconnects, 1);
	assert_int_equal(vm0(fx)->st.hellos, 2);
	assert_true(strstr(log_text(fx), "waiting for QEMU's chardev") != NULL);
}

/* The relay listens; QEMU (server=off) connects, and a newer connection replaces it. */
static void loop_guest_listen_mode(void **state)
{
	struct fx *fx = *state;
	char spec[160];

	snprintf(spec, sizeof(spec), "listen:unix:%s", fx->guest_path);
	relay_start(fx, spec, 1, 0);
	fg_start_client(&fx->g, fx->guest_path);
	assert_true(wait_for(&fx->g.hello_acks, 1));
	assert_int_equal(atomic_load(&fx->g.debugger_state), 0);
	fg_start_client(&fx->g2, fx->guest_path);
	assert_true(wait_for(&fx->g2.hello_acks, 1));
	assert_true(wait_for(&fx->g.eof, 1));
	relay_halt(fx);
	assert_int_equal(vm0(fx)->st.guest_connects, 2);
	assert_int_equal(vm0(fx)->st.hellos, 2);
}

/* A TCP listener on 127.0.0.1 whose accept queue is full: a further connect stays in
 * progress (the kernel drops its SYNs). Returns the listener; clients[] keeps the queue. */
static int full_listener(int *port, int *clients, int *nclients)
{
	struct sockaddr_in sin;
	int lfd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(lfd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	*port = endpoint_local_port(lfd);
	sin.sin_port = htons((uint16_t)*port);
	for (*nclients = 0; *nclients < 16;) {
		int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		struct pollfd p = { .fd = c, .events = POLLOUT };

		assert_true(c >= 0);
		if (connect(c, (struct sockaddr *)&sin, sizeof(sin)) < 0)
			assert_int_equal(errno, EINPROGRESS);
		if (poll(&p, 1, 300) == 0) {
			close(c); /* stuck in SYN_SENT: the queue is full */
			return lfd;
		}
		clients[(*nclients)++] = c;
	}
	fail_msg("the listener's accept queue never filled");
	return -1;
}

/* Issue #10 item 3: connecting to QEMU's chardev never blocks the loop. Against a listener
 * whose backlog is full the connect stays in progress across rounds (the loop keeps
 * serving), and completes in the loop once the listener accepts again. */
static void loop_guest_connect_nonblocking(void **state)
{
	struct fx *fx = *state;
	int lfd, port, clients[16], n, afd = -1;
	char spec[64];
	uint8_t buf[256];
	uint64_t t0, first_round;

	lfd = full_listener(&port, clients, &n);
	snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%d", port);
	relay_start(fx, spec, 0, 0);
	t0 = now_us();
	assert_int_equal(relay_run_once(fx->r, 0), 0);
	first_round = now_us() - t0;
	assert_int_equal(relay_run_once(fx->r, 0), 0);
	assert_true(relay_guest_connecting(fx->r, 0));
	assert_false(vm0(fx)->guest_connected);
	print_message("first loop round with the connect pending: %llu us\n",
		      (unsigned long long)first_round);

	/* The listener drains its queue; the relay's SYN is retransmitted and goes through. */
	for (int i = 0; i < n; i++)
		close(clients[i]);
	for (int i = 0; i < n; i++) {
		int c = accept(lfd, NULL, NULL);

		if (c >= 0)
			close(c);
	}
	for (int i = 0; i < 1000 && !vm0(fx)->guest_connected; i++)
		assert_int_equal(relay_run_once(fx->r, 10), 0);
	assert_true(vm0(fx)->guest_connected);
	assert_false(relay_guest_connecting(fx->r, 0));
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	for (int i = 0; i < 100 && relay_buf_pending(&vm0(fx)->to_guest); i++)
		relay_run_once(fx->r, 10);
	assert_true(recv(afd, buf, sizeof(buf), MSG_DONTWAIT) > 0); /* DEBUGGER(0) */
	assert_int_equal(vm0(fx)->st.guest_connects, 1);
	close(afd);
	close(lfd);
}

/* The debugger side of the back-pressure test: a raw debugger-role link on a socket. */
struct slow_dbg {
	int fd;
	struct kd_link link;
	int delivered;
	int next;
	int in_order;
};

static void sd_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct slow_dbg *d = opaque;

	while (len) {
		ssize_t n = send(d->fd, buf, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void sd_deliver(void *opaque, uint16_t type, uint32_t id, const uint8_t *payload,
		       size_t len)
{
	struct slow_dbg *d = opaque;
	struct kd_debug_io io;
	const uint8_t *text;
	size_t n;

	(void)id;
	if (type != KD_PACKET_TYPE_DEBUG_IO ||
	    kd_api_parse_debug_io(payload, len, &io, &text, &n) != KD_API_OK || n != 10)
		return;
	if (atoi((const char *)text + 5) != d->next)
		d->in_order = 0;
	d->next = atoi((const char *)text + 5) + 1;
	d->delivered++;
}

static const struct kd_link_ops sd_ops = { .write = sd_write, .deliver = sd_deliver };

/* 1000 DbgPrints from the guest as fast as it can; the debugger first does not read at
 * all, then reads 100 bytes at a time: the queue fills, the guest's writes stall, and
 * every line arrives once, in order. */
static void loop_backpressure(void **state)
{
	struct fx *fx = *state;
	struct kd_link_config cfg;
	struct slow_dbg d;
	char err[256];
	uint8_t buf[100];
	uint64_t end;

	fx->g.prints = NPRINTS;
	memset(&d, 0, sizeof(d));
	d.in_order = 1;
	relay_start(fx, fx->guest_path, 1, 0);
	d.fd = endpoint_connect(fx->dbg_spec, 2000, err, sizeof(err));
	assert_true(d.fd >= 0);
	kd_link_default_config(&cfg);
	kd_link_init(&d.link, KD_ROLE_DEBUGGER, &cfg, &sd_ops, &d);
	usleep(20 * MS); /* attached before the guest starts */
	fg_start_server(&fx->g, fx->guest_path);
	kd_link_start_reset(&d.link, now_us());

	usleep(150 * MS); /* not reading: the guest must stall, not lose anything */
	assert_true(atomic_load(&fx->g.prints_sent) < NPRINTS);

	end = now_us() + 3 * SECOND;
	while (d.delivered < NPRINTS && now_us() < end) {
		struct pollfd p = { .fd = d.fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 10) > 0) {
			n = recv(d.fd, buf, sizeof(buf), 0);
			if (n <= 0)
				break;
			kd_link_input(&d.link, buf, (size_t)n, now_us());
		}
		kd_link_poll(&d.link, now_us());
	}
	assert_int_equal(d.delivered, NPRINTS);
	assert_true(d.in_order);
	close(d.fd);
	relay_halt(fx);
	assert_int_equal(vm0(fx)->st.queue_max, RELAY_QUEUE_MAX);
	assert_true(vm0(fx)->st.guest_stalls > 0);
	assert_int_equal(vm0(fx)->st.dropped_prints + vm0(fx)->st.gave_up +
			 vm0(fx)->st.dropped_queue_full, 0);
}

/* Stepped in-line: SIGUSR1's flag and the --stats timer log the stats and ask the guest. */
static void loop_stats_requests(void **state)
{
	struct fx *fx = *state;
	uint64_t end;

	fg_start_server(&fx->g, fx->guest_path);
	relay_start(fx, fx->guest_path, 0, 40 * MS);
	end = now_us() + 2 * SECOND;
	while (atomic_load(&fx->g.hello_acks) < 1 && now_us() < end)
		relay_run_once(fx->r, 5);
	fx->stats_flag = 1;
	while ((atomic_load(&fx->g.stats_requests) < 3 || !vm0(fx)->have_guest_stats) &&
	       now_us() < end)
		relay_run_once(fx->r, 5);
	assert_int_equal(fx->stats_flag, 0);
	assert_true(atomic_load(&fx->g.stats_requests) >= 3);
	assert_true(vm0(fx)->have_guest_stats);
	assert_true(strstr(log_text(fx), "vm0: stats: guest->dbg") != NULL);
	assert_true(strstr(log_text(fx), "vm0: guest stats: packets sent") != NULL);
}

/* One relay, two VMs from a config file: each debugger reaches only its own guest. */
static void loop_two_vms(void **state)
{
	struct fx *fx = *state;
	struct relay_options opt;
	struct relay_config cfg;
	struct session_stop stop;
	struct session *s1, *s2;
	struct kd_get_version64 ver;
	struct session_options so;
	char text[1024], err[256], spec2[160];
	FILE *f;

	snprintf(text, sizeof(text), "# two guests\nvm0 unix:%s unix:%s\nvm1 unix:%s/vm1.sock "
		 "tcp:127.0.0.1:0 trace\n", fx->guest_path, fx->dbg_path, fx->dir);
	f = fmemopen(text, strlen(text), "r");
	relay_config_init(&cfg);
	assert_int_equal(relay_config_read(&cfg, f, "two.conf", err, sizeof(err)), 0);
	fclose(f);
	memset(&opt, 0, sizeof(opt));
	opt.log = fx->log;
	opt.guest_retry_us = 10 * MS;
	fx->r = relay_new(&opt);
	for (size_t i = 0; i < cfg.count; i++)
		assert_int_equal(relay_add_vm(fx->r, &cfg.vms[i], err, sizeof(err)), 0);
	assert_int_equal(relay_debugger_port(fx->r, 0), -1);
	assert_true(relay_debugger_port(fx->r, 1) > 0);
	snprintf(spec2, sizeof(spec2), "tcp:127.0.0.1:%d", relay_debugger_port(fx->r, 1));
	snprintf(text, sizeof(text), "%s/vm1.sock", fx->dir);
	fg_start_server(&fx->g, fx->guest_path);
	fg_start_server(&fx->g2, text);
	assert_int_equal(pthread_create(&fx->thread, NULL, relay_thread, fx->r), 0);
	fx->threaded = 1;
	assert_true(wait_for(&fx->g.hello_acks, 1));
	assert_true(wait_for(&fx->g2.hello_acks, 1));

	s1 = open_session(fx, 0);
	session_default_options(&so);
	so.break_in = 1;
	so.connect_timeout_ms = 2000;
	so.request_timeout_us = 2 * SECOND;
	s2 = session_open(spec2, &so, err, sizeof(err));
	assert_non_null(s2);
	assert_int_equal(session_wait_stop(s2, 2 * SECOND, &stop), 0);
	assert_int_equal(session_get_version(s2, &ver), 0);
	assert_int_equal(atomic_load(&fx->g2.breakins), 1);
	assert_int_equal(atomic_load(&fx->g.breakins), 0);
	assert_int_equal(session_break_in(s1), 0);
	assert_int_equal(session_wait_stop(s1, 2 * SECOND, &stop), 0);
	assert_int_equal(atomic_load(&fx->g.breakins), 1);
	assert_int_equal(atomic_load(&fx->g.requests), 0);
	assert_true(atomic_load(&fx->g2.requests) >= 1);
	session_close(s1);
	session_close(s2);
	relay_halt(fx);
	relay_config_free(&cfg);
	/* Only vm1 traces. */
	assert_non_null(strstr(log_text(fx), "vm1: dbg   -> MANIPULATE"));
	assert_null(strstr(log_text(fx), "vm0: dbg   ->"));
	unlink(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(loop_session_through_relay, setup, teardown),
		cmocka_unit_test_setup_teardown(loop_second_debugger_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(loop_takeover, setup, teardown),
		cmocka_unit_test_setup_teardown(loop_silent_debugger_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(loop_qemu_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(loop_guest_listen_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(loop_guest_connect_nonblocking, setup, teardown),
		cmocka_unit_test_setup_teardown(loop_backpressure, setup, teardown),
		cmocka_unit_test_setup_teardown(loop_stats_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(loop_two_vms, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
