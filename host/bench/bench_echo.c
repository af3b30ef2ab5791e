/* SPDX-License-Identifier: MIT */
/* Channel echo client: vmkd frames straight to QEMU's chardev, timed round trips. */
#include "bench_echo.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmkd/vmkd_frame_parser.h"

#include "../common/endpoint.h"
#include "bench_qmp.h"
#include "bench_samples.h"

#define ECHO_SMALL 72u                 /* = the reply to a 16-byte read: 56 + 16 */
#define ECHO_TIMEOUT_NS 5000000000ull  /* one echo: far above any real round trip */
#define ECHO_AGENT "vmkd bench echo"

struct bench_echo {
	int fd;
	uint32_t seq;
	uint8_t rdbuf[8192];
	size_t rd_len, rd_off;
	struct vmkd_frame_parser parser;
	uint8_t tx[VMKD_FRAME_MAX_BYTES];
	uint8_t payload[KD_MAX_PAYLOAD];
	struct bench_qmp qmp;
	int qmp_ok;
};

static int write_all(struct bench_echo *e, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(e->fd, buf, len);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd p = { .fd = e->fd, .events = POLLOUT };

			poll(&p, 1, 1000);
			continue;
		}
		if (n <= 0)
			return n < 0 ? -errno : -ECONNRESET;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The next complete frame, waiting until deadline (bench_now_ns). */
static int next_frame(struct bench_echo *e, struct vmkd_frame *f, uint64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = e->fd, .events = POLLIN };
		uint64_t now;
		ssize_t n;

		while (e->rd_off < e->rd_len) {
			e->rd_off += vmkd_frame_parser_feed(&e->parser, e->rdbuf + e->rd_off,
							   e->rd_len - e->rd_off, f);
			if (f->complete)
				return 0;
		}
		e->rd_off = e->rd_len = 0;
		now = bench_now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		/* Round trips are tens of microseconds: wait in poll, not in a sleep. */
		if (poll(&p, 1, (int)((deadline - now) / 1000000u) + 1) < 0 && errno != EINTR)
			return -errno;
		n = read(e->fd, e->rdbuf, sizeof(e->rdbuf));
		if (n == 0)
			return -ECONNRESET;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (n > 0)
			e->rd_len = (size_t)n;
	}
}

static int wait_hello(struct bench_echo *e, double wait_s)
{
	uint64_t deadline = bench_now_ns() + (uint64_t)(wait_s * 1e9);
	struct vmkd_hello ack;
	struct vmkd_frame f;
	size_t n;
	int rc;

	do {
		rc = next_frame(e, &f, deadline);
		if (rc)
			return rc;
	} while (f.hdr.type != VMKD_FRAME_HELLO);
	memset(&ack, 0, sizeof(ack));
	ack.capabilities = VMKD_CAP_KD_PACKETS;
	ack.max_payload = VMKD_FRAME_MAX_PAYLOAD;
	ack.debugger = 1; /* the guest channel sends only while "a debugger" listens */
	memcpy(ack.agent, ECHO_AGENT, sizeof(ECHO_AGENT));
	n = vmkd_frame_build(e->tx, sizeof(e->tx), VMKD_FRAME_HELLO_ACK, e->seq++, &ack,
			     sizeof(ack), NULL, 0);
	return write_all(e, e->tx, n);
}

/* Sends len bytes as a KD_PACKET frame and waits for the same bytes back. */
static int echo_once(struct bench_echo *e, size_t len, uint32_t tag)
{
	uint64_t deadline = bench_now_ns() + ECHO_TIMEOUT_NS;
	const uint8_t *kd;
	struct vmkd_frame f;
	uint16_t type;
	size_t kd_len, n;
	int rc;

	for (size_t i = 0; i < len; i++)
		e->payload[i] = (uint8_t)(tag + i * 13);
	n = vmkd_frame_build_kd(e->tx, sizeof(e->tx), e->seq++, KD_PACKET_TYPE_STATE_MANIPULATE,
				e->payload, len, NULL, 0);
	if (!n)
		return -EINVAL;
	rc = write_all(e, e->tx, n);
	if (rc)
		return rc;
	for (;;) {
		rc = next_frame(e, &f, deadline);
		if (rc)
			return rc;
		if (f.hdr.type != VMKD_FRAME_KD_PACKET)
			continue; /* HELLO after a reconnect, STATS: not ours */
		if (vmkd_frame_parse_kd(f.payload, f.payload_len, &type, &kd, &kd_len))
			return -EPROTO;
		if (type != KD_PACKET_TYPE_STATE_MANIPULATE || kd_len != len ||
		    memcmp(kd, e->payload, len))
			return -EPROTO;
		return 0;
	}
}

static int echo_phase(struct bench_echo *e, const struct bench_out *out, const char *metric,
		      unsigned count, size_t len)
{
	struct bench_qmp_counts kvm0, kvm1;
	struct bench_samples lat;
	char name[64], err[256];
	int rc = 0, have_kvm;

	if (!count)
		return 0;
	if (bench_samples_init(&lat, count))
		return -ENOMEM;
	fprintf(stderr, "vmkd bench: [%s] %u echoes of %zu bytes\n", metric, count, len);
	have_kvm = e->qmp_ok && !bench_qmp_counts(&e->qmp, &kvm0, err, sizeof(err));
	for (unsigned i = 0; i < count && !rc; i++) {
		uint64_t t0 = bench_now_ns();

		rc = echo_once(e, len, i);
		if (!rc)
			bench_samples_add(&lat, (double)(bench_now_ns() - t0) / 1e3);
	}
	if (rc) {
		fprintf(stderr, "vmkd bench: echo of %zu bytes: %s\n", len, strerror(-rc));
	} else {
		bench_out_value(out, metric, bench_samples_quantile(&lat, 0.5), "us");
		snprintf(name, sizeof(name), "%s_p99", metric);
		bench_out_value(out, name, bench_samples_quantile(&lat, 0.99), "us");
		bench_out_note(out, metric, "median and p99 of %u echoes of a %zu-byte KD_PACKET "
			       "frame, host -> guest channel core -> host, no KD and no relay",
			       count, len);
		/* Under an instruction-emulating KVM this is where the channel's time goes. */
		if (have_kvm && !bench_qmp_counts(&e->qmp, &kvm1, err, sizeof(err)))
			bench_out_note(out, metric, "KVM emulated %.0f guest instructions per echo "
				       "(QMP insn_emulation, polling included)",
				       (double)(kvm1.insn_emulation - kvm0.insn_emulation) /
				       (double)count);
	}
	bench_samples_free(&lat);
	return rc;
}

int bench_echo_run(const struct bench_echo_config *cfg, const struct bench_out *out)
{
	struct bench_echo *e = calloc(1, sizeof(*e));
	char err[256];
	size_t n;
	int rc = 1;

	if (!e) {
		fprintf(stderr, "vmkd bench: out of memory\n");
		return 1;
	}
	vmkd_frame_parser_init(&e->parser);
	e->fd = endpoint_connect(cfg->endpoint, (int)(cfg->wait_s * 1000), err, sizeof(err));
	if (e->fd < 0) {
		fprintf(stderr, "vmkd bench: %s\n", err);
		goto out;
	}
	if (wait_hello(e, cfg->wait_s)) {
		fprintf(stderr, "vmkd bench: no HELLO from a guest echo on %s within %.0f s\n",
			cfg->endpoint, cfg->wait_s);
		rc = 3;
		goto out;
	}
	/* Only now: QEMU serves no QMP while it waits for the chardev client (wait=on). */
	if (cfg->qmp)
		e->qmp_ok = bench_qmp_open(&e->qmp, cfg->qmp, err, sizeof(err)) == 0;
	if (echo_phase(e, out, "channel_rtt_us", cfg->small_n, ECHO_SMALL) ||
	    echo_phase(e, out, "channel_rtt4k_us", cfg->large_n, KD_MAX_PAYLOAD))
		goto out;
	/* The end marker: an empty KD packet. */
	n = vmkd_frame_build_kd(e->tx, sizeof(e->tx), e->seq++, KD_PACKET_TYPE_STATE_MANIPULATE,
				NULL, 0, NULL, 0);
	write_all(e, e->tx, n);
	rc = 0;
out:
	if (e->fd >= 0)
		close(e->fd);
	if (e->qmp_ok)
		bench_qmp_close(&e->qmp);
	free(e);
	return rc;
}
