/* SPDX-License-Identifier: MIT */
/*
 * fake_guest.c - stands in for VMs on the relay's guest side in the fault and scale tests:
 * one process, one listening unix socket per VM (as QEMU's chardev with server=on; the
 * relay connects, and reconnects), each speaking the frame protocol (vmkd_frame.h) as
 * kdvm.dll does, with a tiny kernel behind it:
 *
 *   HELLO at every connection; the first debugger of a connection (DEBUGGER(1)) gets the
 *     test kernel's boot: the announcement DbgPrint "pattern 0x... phys 0x... size 0x...
 *     guard 0x..." (so `vmkd bench` runs against it) and the initial breakpoint;
 *   BREAKIN or RESYNC -> a breakpoint state change (stopped; a halted kernel reports its
 *     state again, as under kdcom);
 *   ReadVirtualMemory -> in the pattern region the test kernel's pattern,
 *     byte(off) = (off * 7 + 3) & 0xff; elsewhere bytes derived from the address and the
 *     VM's index, byte(a) = (a + 3 * index) & 0xff, so reading another VM's memory shows;
 *   GetVersion -> KernBase 0xfffff80000000000 + (index << 24); GetContext -> RIP = PC;
 *   Continue / Continue2 -> running; any other request -> STATUS_UNSUCCESSFUL.
 *
 * Modes (--mode) for the fault tests:
 *   normal     as above
 *   malformed  after each HELLO, a burst of bad frames (no magic, bad version, oversized,
 *              a KD length that disagrees, a non-data KD type, host-only frame types,
 *              truncated, sequence gaps), then a fresh HELLO and normal service
 *   prints     once a debugger is attached: --lines N DbgPrints "line NNNNNNN\n", paced by
 *              the socket (back-pressure), then a breakpoint state change
 *   mute       stops (boot, break-in) as usual, but never answers a request (a hung guest)
 *
 *   fake_guest [--mode M] [--lines N] [--index BASE] SOCKET...
 *
 * The VM at SOCKET k has index BASE + k. Runs until killed (SIGTERM) and prints one line of
 * counters per VM on exit to stderr.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmkd/kd_api.h"
#include "vmkd/kd_wire.h"
#include "vmkd/vmkd_frame.h"
#include "vmkd/vmkd_frame_parser.h"

#define MAX_VMS   256
#define OUT_CAP   (1u << 20)
#define OUT_LOW   (64u * 1024u)   /* prints mode: refill below this */
#define PC        0xfffff80000401000ull
#define KERN_BASE 0xfffff80000000000ull
#define PATTERN   0xfffff80000600000ull /* the test kernel's pattern region, imitated */
#define PATTERN_SIZE 0x100000ull

enum mode { MODE_NORMAL, MODE_MALFORMED, MODE_PRINTS, MODE_MUTE };

struct vm {
	int index;
	int lfd, fd;
	struct vmkd_frame_parser parser;
	uint32_t seq;
	uint8_t *out;
	size_t out_len;
	int stopped, attached;
	int prints_done;                /* prints mode: the final stop went out */
	int booted;                     /* announcement and initial breakpoint sent */
	unsigned long lines_sent;
	unsigned long connects, requests, frames_in;
};

struct ctx {
	enum mode mode;
	unsigned long lines;
	struct vm vms[MAX_VMS];
	int n;
};

static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

/* ---- output ------------------------------------------------------------------------ */

static void out_raw(struct vm *v, const void *buf, size_t len)
{
	if (v->fd < 0 || v->out_len + len > OUT_CAP)
		return; /* the relay is gone or does not read: dropped, as QEMU would block */
	memcpy(v->out + v->out_len, buf, len);
	v->out_len += len;
}

static void send_frame(struct vm *v, uint8_t type, const void *payload, size_t len)
{
	uint8_t frame[VMKD_FRAME_MAX_BYTES];
	size_t n = vmkd_frame_build(frame, sizeof(frame), type, v->seq++, payload, len, NULL, 0);

	out_raw(v, frame, n);
}

static void send_msg(struct vm *v, const struct kd_api_msg *m)
{
	uint8_t frame[VMKD_FRAME_MAX_BYTES];
	size_t n = vmkd_frame_build_kd(frame, sizeof(frame), v->seq++, m->type, &m->u,
				       m->hdr_len, m->data, m->data_len);

	out_raw(v, frame, n);
}

static void send_hello(struct vm *v)
{
	struct vmkd_hello h;

	memset(&h, 0, sizeof(h));
	h.capabilities = VMKD_CAP_KD_PACKETS;
	h.max_payload = VMKD_FRAME_MAX_PAYLOAD;
	snprintf(h.agent, sizeof(h.agent), "fake_guest %d", v->index);
	send_frame(v, VMKD_FRAME_HELLO, &h, sizeof(h));
}

static void send_stop(struct vm *v)
{
	static const uint8_t stream[KD_MAXSTREAM] = { 0xcc, 0x90 };
	struct kd_api_cpu cpu;
	struct kd_api_msg m;

	memset(&cpu, 0, sizeof(cpu));
	cpu.number_processors = 1;
	cpu.pc = PC;
	cpu.stream = stream;
	cpu.stream_len = sizeof(stream);
	kd_api_build_exception(&m, &cpu, KD_STATUS_BREAKPOINT, PC, 1, NULL, 0);
	send_msg(v, &m);
	v->stopped = 1;
}

/* What the test kernel prints at boot, for `vmkd bench`. */
static void announce(struct vm *v)
{
	char text[160];
	struct kd_api_msg m;
	int n = snprintf(text, sizeof(text), "fake_guest %d: pattern %#llx phys %#llx size %#llx "
			 "guard %#llx\n", v->index, PATTERN, 0x600000ull, PATTERN_SIZE,
			 PATTERN + PATTERN_SIZE);

	kd_api_build_print(&m, 0, text, (size_t)n);
	send_msg(v, &m);
}

/* Frames the relay must refuse, each alone and counted, then a HELLO that restarts. */
static void send_malformed(struct vm *v)
{
	uint8_t buf[VMKD_FRAME_MAX_BYTES + 64];
	struct vmkd_frame_header *h = (struct vmkd_frame_header *)buf;
	struct vmkd_kd_packet kp;
	size_t n;

	out_raw(v, "garbage without a magic, then half a magic: VMK", 47);
	n = vmkd_frame_build(buf, sizeof(buf), VMKD_FRAME_STATS, v->seq++, NULL, 0, NULL, 0);
	h->version = 99; /* unknown version */
	out_raw(v, buf, n);
	n = vmkd_frame_build(buf, sizeof(buf), VMKD_FRAME_STATS, v->seq++, NULL, 0, NULL, 0);
	h->length = 1u << 30; /* oversized */
	out_raw(v, buf, n);
	memset(&kp, 0, sizeof(kp));
	kp.packet_type = KD_PACKET_TYPE_DEBUG_IO;
	kp.length = 500; /* disagrees with the frame */
	send_frame(v, VMKD_FRAME_KD_PACKET, &kp, sizeof(kp));
	kp.packet_type = KD_PACKET_TYPE_ACKNOWLEDGE; /* not a data type */
	kp.length = 0;
	send_frame(v, VMKD_FRAME_KD_PACKET, &kp, sizeof(kp));
	send_frame(v, VMKD_FRAME_BREAKIN, NULL, 0); /* host-only types */
	send_frame(v, VMKD_FRAME_HELLO_ACK, NULL, 0);
	send_frame(v, VMKD_FRAME_HELLO, "short", 5); /* shorter than struct vmkd_hello */
	v->seq += 1000; /* a gap: out of order */
	send_frame(v, VMKD_FRAME_STATS, "x", 1);
	/* Truncated: a header promising more than comes, completed by filler the parser must
	 * take as payload, then a fresh start. */
	n = vmkd_frame_build(buf, sizeof(buf), VMKD_FRAME_STATS, v->seq++, NULL, 0, NULL, 0);
	h->length = 64;
	out_raw(v, buf, n);
	memset(buf, 0, 64);
	out_raw(v, buf, 64);
	send_hello(v);
}

/* ---- the tiny kernel --------------------------------------------------------------- */

static void answer(struct ctx *c, struct vm *v, const uint8_t *kd, size_t len)
{
	static uint8_t mem[KD_MANIPULATE_MAX_DATA];
	struct kd_manipulate_state64 req;
	struct kd_get_version64 ver;
	struct kd_context_amd64 ctxt;
	struct kd_api_msg m;
	const uint8_t *data;
	size_t data_len;
	uint32_t n;

	if (c->mode == MODE_MUTE)
		return;
	if (kd_api_parse_request(kd, len, &req, &data, &data_len) != KD_API_OK) {
		if (len >= sizeof(req)) {
			kd_api_reply_init(&m, &req, KD_STATUS_UNSUCCESSFUL);
			send_msg(v, &m);
		}
		return;
	}
	v->requests++;
	switch (req.api_number) {
	case KD_API_READ_VIRTUAL_MEMORY:
		n = kd_api_read_len(&req);
		for (uint32_t i = 0; i < n; i++) {
			uint64_t a = req.u.read_memory.target_base_address + i;

			mem[i] = a - PATTERN < PATTERN_SIZE ? (uint8_t)((a - PATTERN) * 7 + 3)
							    : (uint8_t)(a + 3u * (unsigned)v->index);
		}
		kd_api_reply_read(&m, &req, mem, n);
		break;
	case KD_API_GET_VERSION:
		memset(&ver, 0, sizeof(ver));
		ver.major_version = 0xf;
		ver.minor_version = 19041;
		ver.protocol_version = 6;
		ver.kd_secondary_version = 2;
		ver.flags = 0x6;
		ver.machine_type = KD_MACHINE_AMD64;
		ver.kern_base = KERN_BASE + ((uint64_t)v->index << 24);
		kd_api_reply_version(&m, &req, &ver);
		break;
	case KD_API_GET_CONTEXT:
		memset(&ctxt, 0, sizeof(ctxt));
		ctxt.rip = PC;
		ctxt.context_flags = 0x10001f;
		kd_api_reply_get_context(&m, &req, &ctxt);
		break;
	case KD_API_CONTINUE:
	case KD_API_CONTINUE2:
		v->stopped = 0;
		return;
	default:
		if (!kd_api_has_reply(req.api_number))
			return;
		kd_api_reply_init(&m, &req, KD_STATUS_UNSUCCESSFUL);
		break;
	}
	send_msg(v, &m);
}

static void on_frame(struct ctx *c, struct vm *v, const struct vmkd_frame *f)
{
	struct vmkd_debugger_state ds;
	uint16_t type;
	const uint8_t *kd;
	size_t len;

	v->frames_in++;
	switch (f->hdr.type) {
	case VMKD_FRAME_BREAKIN:
	case VMKD_FRAME_RESYNC:
		send_stop(v);
		break;
	case VMKD_FRAME_DEBUGGER:
		if (f->payload_len >= sizeof(ds)) {
			memcpy(&ds, f->payload, sizeof(ds));
			if (ds.attached && !v->attached && !v->booted) {
				v->booted = 1;
				announce(v);
				if (c->mode != MODE_PRINTS)
					send_stop(v); /* the initial breakpoint */
			}
			v->attached = ds.attached != 0;
		}
		break;
	case VMKD_FRAME_KD_PACKET:
		if (vmkd_frame_parse_kd(f->payload, f->payload_len, &type, &kd, &len) == 0 &&
		    type == KD_PACKET_TYPE_STATE_MANIPULATE)
			answer(c, v, kd, len);
		break;
	default:
		break;
	}
}

/* prints mode: more lines while the relay keeps up, then a stop. */
static void refill_prints(struct ctx *c, struct vm *v)
{
	char text[32];
	struct kd_api_msg m;

	if (c->mode != MODE_PRINTS || !v->attached || v->fd < 0 || v->stopped)
		return;
	while (v->lines_sent < c->lines && v->out_len < OUT_LOW) {
		int n = snprintf(text, sizeof(text), "line %07lu\n", v->lines_sent);

		kd_api_build_print(&m, 0, text, (size_t)n);
		send_msg(v, &m);
		v->lines_sent++;
	}
	if (v->lines_sent == c->lines && !v->prints_done) {
		v->prints_done = 1;
		send_stop(v);
	}
}

/* ---- sockets ----------------------------------------------------------------------- */

static int listen_unix(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		goto fail;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4))
		goto fail;
	return fd;
fail:
	fprintf(stderr, "fake_guest: %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static void drop_conn(struct vm *v)
{
	close(v->fd);
	v->fd = -1;
	v->out_len = 0;
	v->attached = 0;
}

static void on_accept(struct ctx *c, struct vm *v)
{
	int fd = accept4(v->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (v->fd >= 0) { /* as QEMU: one connection at a time */
		close(fd);
		return;
	}
	v->fd = fd;
	v->connects++;
	vmkd_frame_parser_init(&v->parser);
	v->seq = 0;
	v->booted = 0;
	v->stopped = 0;
	send_hello(v);
	if (c->mode == MODE_MALFORMED)
		send_malformed(v);
}

static void on_readable(struct ctx *c, struct vm *v)
{
	uint8_t buf[16384];
	ssize_t got = read(v->fd, buf, sizeof(buf));
	size_t off = 0;

	if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
		drop_conn(v);
		return;
	}
	while (got > 0 && off < (size_t)got) {
		struct vmkd_frame f;

		off += vmkd_frame_parser_feed(&v->parser, buf + off, (size_t)got - off, &f);
		if (f.complete)
			on_frame(c, v, &f);
	}
}

static void on_writable(struct vm *v)
{
	ssize_t n = write(v->fd, v->out, v->out_len);

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			drop_conn(v);
		return;
	}
	memmove(v->out, v->out + n, v->out_len - (size_t)n);
	v->out_len -= (size_t)n;
}

static int parse_args(struct ctx *c, int argc, char **argv, int *first)
{
	static const char *const modes[] = { "normal", "malformed", "prints", "mute" };
	int base = 0, i;

	for (i = 1; i < argc && argv[i][0] == '-'; i += 2) {
		if (i + 1 >= argc)
			return -1;
		if (!strcmp(argv[i], "--mode")) {
			size_t k;

			for (k = 0; k < sizeof(modes) / sizeof(modes[0]); k++)
				if (!strcmp(argv[i + 1], modes[k]))
					break;
			if (k == sizeof(modes) / sizeof(modes[0]))
				return -1;
			c->mode = (enum mode)k;
		} else if (!strcmp(argv[i], "--lines")) {
			c->lines = strtoul(argv[i + 1], NULL, 0);
		} else if (!strcmp(argv[i], "--index")) {
			base = atoi(argv[i + 1]);
		} else {
			return -1;
		}
	}
	*first = i;
	return i < argc && argc - i <= MAX_VMS ? base : -1;
}

int main(int argc, char **argv)
{
	static struct ctx c;
	struct pollfd pfd[2 * MAX_VMS];
	int first, base, rc = 1;

	base = parse_args(&c, argc, argv, &first);
	if (base < 0) {
		fprintf(stderr, "usage: fake_guest [--mode normal|malformed|prints|mute] "
			"[--lines N] [--index BASE] SOCKET...\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	for (int k = first; k < argc; k++) {
		struct vm *v = &c.vms[c.n++];

		v->index = base + (k - first);
		v->fd = -1;
		v->out = malloc(OUT_CAP);
		v->lfd = listen_unix(argv[k]);
		if (!v->out || v->lfd < 0)
			goto out;
	}
	while (!quit) {
		int np = 0;

		for (int k = 0; k < c.n; k++) {
			struct vm *v = &c.vms[k];

			refill_prints(&c, v);
			pfd[np++] = (struct pollfd){ .fd = v->lfd, .events = POLLIN };
			pfd[np++] = (struct pollfd){ .fd = v->fd, .events = (short)(
				(v->out_len < OUT_CAP / 2 ? POLLIN : 0) | (v->out_len ? POLLOUT : 0)) };
		}
		if (poll(pfd, (nfds_t)np, 200) < 0 && errno != EINTR)
			break;
		for (int k = 0; k < c.n; k++) {
			struct vm *v = &c.vms[k];
			short re = pfd[2 * k + 1].revents;

			if (pfd[2 * k].revents & POLLIN)
				on_accept(&c, v);
			if (v->fd >= 0 && pfd[2 * k + 1].fd == v->fd && (re & POLLOUT))
				on_writable(v);
			if (v->fd >= 0 && pfd[2 * k + 1].fd == v->fd && (re & (POLLIN | POLLHUP | POLLERR)))
				on_readable(&c, v);
		}
	}
	rc = 0;
out:
	for (int k = 0; k < c.n; k++) {
		struct vm *v = &c.vms[k];

		fprintf(stderr, "fake_guest vm%d: connects=%lu frames_in=%lu requests=%lu lines=%lu\n",
			v->index, v->connects, v->frames_in, v->requests, v->lines_sent);
		if (v->fd >= 0)
			close(v->fd);
		if (v->lfd >= 0)
			close(v->lfd);
		free(v->out);
	}
	return rc;
}
