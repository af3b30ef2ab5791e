/* SPDX-License-Identifier: MIT */
/* `vmkd bench`: options, then the KD phases or the channel echo; rows to stdout or --csv. */
#include "bench.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_echo.h"
#include "bench_kd.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmkd bench [OPTIONS] ENDPOINT\n"
		"       vmkd bench --echo [OPTIONS] CHARDEV\n\n"
		"Measures a KD target stopped at its initial breakpoint through the session engine\n"
		"of `vmkd attach`: small and maximal ReadVirtualMemory round trips, requests per\n"
		"second, bulk read throughput, then (after `g`) DbgPrint lines per second. With\n"
		"--echo, times vmkd frames echoed by a guest over the virtio-serial chardev (the\n"
		"raw channel, no KD). bench/run.sh boots the VMs; see bench/README.md.\n\n"
		"ENDPOINT   a KDCOM stream: unix:PATH | tcp:HOST:PORT (serial socket or vmkd relay)\n"
		"CHARDEV    QEMU's virtio-serial chardev socket: unix:PATH\n\n"
		"  -a, --accel NAME        accelerator label for the rows (default unknown)\n"
		"  -T, --transport NAME    transport label (default serial; vmkd with --echo)\n"
		"  -s, --small N           16-byte reads timed (default 1000)\n"
		"  -r, --read4k N          3944-byte reads timed (default 200; echoes with --echo)\n"
		"  -b, --bulk BYTES        bytes for read_mb_s, K/M suffixes (default 16M)\n"
		"  -l, --lines N           DbgPrint lines the kernel prints (its lines=N; 0 skips)\n"
		"  -i, --idle-ms MS        idle window for exits per second (default 1000)\n"
		"  -w, --wait SEC          connect + initial breakpoint (or HELLO) limit (default 60)\n"
		"  -q, --qmp SOCK          QEMU QMP socket: VM exits from query-stats (KVM)\n"
		"  -p, --relay-pid PID     the vmkd relay: SIGUSR1 asks the guest for its STATS...\n"
		"  -L, --relay-log FILE    ...which the relay logs to this file (its stderr)\n"
		"  -o, --csv FILE          append rows to FILE instead of stdout\n"
		"  -e, --echo              channel echo mode\n"
		"  -h, --help\n\n"
		"Rows: accel,transport,metric,value,unit (value n/a when not measurable), plus\n"
		"'# note ...' lines saying how each value was obtained. Exit status 0, 1 on error,\n"
		"3 when --echo found no echoing guest.\n");
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long mul = 1;
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	if (*end == 'K' || *end == 'k')
		mul = 1024, end++;
	else if (*end == 'M' || *end == 'm')
		mul = 1024 * 1024, end++;
	if (errno || end == s || *end || *s == '-' || *out > max / mul)
		return -1;
	*out *= mul;
	return 0;
}

struct bench_args {
	struct bench_kd_config kd;
	struct bench_echo_config echo;
	struct bench_out out;
	const char *csv;
	int echo_mode;
};

static int parse_args(int argc, char **argv, struct bench_args *a)
{
	static const struct option longopts[] = {
		{ "accel", required_argument, NULL, 'a' },
		{ "transport", required_argument, NULL, 'T' },
		{ "small", required_argument, NULL, 's' },
		{ "read4k", required_argument, NULL, 'r' },
		{ "bulk", required_argument, NULL, 'b' },
		{ "lines", required_argument, NULL, 'l' },
		{ "idle-ms", required_argument, NULL, 'i' },
		{ "wait", required_argument, NULL, 'w' },
		{ "qmp", required_argument, NULL, 'q' },
		{ "relay-pid", required_argument, NULL, 'p' },
		{ "relay-log", required_argument, NULL, 'L' },
		{ "csv", required_argument, NULL, 'o' },
		{ "echo", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long v;
	int c;

	memset(a, 0, sizeof(*a));
	a->kd.small_n = 1000;
	a->kd.large_n = 200;
	a->kd.bulk_bytes = 16ull << 20;
	a->kd.idle_ms = 1000;
	a->kd.wait_s = 60;
	a->out.accel = "unknown";
	optind = 1;
	while ((c = getopt_long(argc, argv, "a:T:s:r:b:l:i:w:q:p:L:o:eh", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			a->out.accel = optarg;
			break;
		case 'T':
			a->out.transport = optarg;
			break;
		case 'q':
			a->kd.qmp = optarg;
			break;
		case 'L':
			a->kd.relay_log = optarg;
			break;
		case 'o':
			a->csv = optarg;
			break;
		case 'e':
			a->echo_mode = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 's': case 'r': case 'b': case 'l': case 'i': case 'w': case 'p':
			if (parse_uint(optarg, c == 'b' ? 1ull << 40 : 100000000ull, &v) ||
			    (c == 'w' && (v < 1 || v > 3600)) || (c == 'p' && v < 1)) {
				fprintf(stderr, "vmkd bench: bad value '%s' for -%c\n", optarg, c);
				return 2;
			}
			if (c == 's')
				a->kd.small_n = (unsigned)v;
			else if (c == 'r')
				a->kd.large_n = (unsigned)v;
			else if (c == 'b')
				a->kd.bulk_bytes = v;
			else if (c == 'l')
				a->kd.lines = (unsigned)v;
			else if (c == 'i')
				a->kd.idle_ms = (unsigned)v;
			else if (c == 'w')
				a->kd.wait_s = (double)v;
			else
				a->kd.relay_pid = (pid_t)v;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "vmkd bench: give exactly one endpoint\n\n");
		usage(stderr);
		return 2;
	}
	if (!a->kd.relay_pid != !a->kd.relay_log) {
		fprintf(stderr, "vmkd bench: --relay-pid and --relay-log go together\n");
		return 2;
	}
	if (!a->out.transport)
		a->out.transport = a->echo_mode ? "vmkd" : "serial";
	a->kd.endpoint = argv[optind];
	a->echo.endpoint = argv[optind];
	a->echo.small_n = a->kd.small_n;
	a->echo.large_n = a->kd.large_n;
	a->echo.wait_s = a->kd.wait_s;
	a->echo.qmp = a->kd.qmp;
	return -1;
}

int bench_main(int argc, char **argv)
{
	struct bench_args a;
	int rc;

	rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		return rc;
	signal(SIGPIPE, SIG_IGN);
	a.out.f = stdout;
	if (a.csv) {
		a.out.f = fopen(a.csv, "a");
		if (!a.out.f) {
			fprintf(stderr, "vmkd bench: %s: %s\n", a.csv, strerror(errno));
			return 1;
		}
	}
	if (a.echo_mode)
		rc = bench_echo_run(&a.echo, &a.out);
	else
		rc = bench_kd_run(&a.kd, &a.out);
	if (a.csv)
		fclose(a.out.f);
	return rc;
}
