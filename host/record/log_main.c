/* SPDX-License-Identifier: MIT */
/* `vmkd log VM [-f] [-n N] [--dir DIR]`: a VM's DbgPrint log, and following it across
 * rotations (like tail -F / journalctl -f). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../relay/relay_dbglog.h"
#include "log_follow.h"
#include "record_text.h"

#define FOLLOW_POLL_NS 100000000L /* how often -f looks for new lines */

static void usage(FILE *f)
{
	fprintf(f, "usage: vmkd log [-f] [-n N] [--dir DIR] VM\n\n"
		   "Prints the DbgPrint log the relay keeps for VM (DIR/VM.log): every line the\n"
		   "guest printed, with or without a debugger attached, as\n"
		   "  2026-12-03T07:40:01.123456Z cpu0 text\n\n"
		   "  -f, --follow      keep printing new lines as they come, across rotations\n"
		   "  -n, --lines N     only the last N lines (with -f: default 10)\n"
		   "  -d, --dir DIR     the relay's --log-dir (default $XDG_RUNTIME_DIR/vmkd, root\n"
		   "                    without it: /var/log/vmkd)\n"
		   "  -h, --help\n");
}

/* Prints the last n lines of f (all if n < 0) and leaves f at its end. */
static int print_tail(FILE *f, long n)
{
	char *buf = NULL;
	size_t cap = 0, len = 0, start;
	long seen = 0;
	int c;

	while ((c = getc(f)) != EOF) {
		if (len == cap) {
			char *nb = realloc(buf, cap ? cap * 2 : 65536);

			if (!nb) {
				free(buf);
				return -1;
			}
			buf = nb;
			cap = cap ? cap * 2 : 65536;
		}
		buf[len++] = (char)c;
	}
	start = len;
	if (n < 0) {
		start = 0;
	} else {
		/* back over n line ends (a last line without one counts as a line) */
		if (start && buf[start - 1] == '\n')
			start--;
		while (start > 0) {
			if (buf[start - 1] == '\n' && ++seen == n)
				break;
			start--;
		}
		if (n == 0)
			start = len;
	}
	fwrite(buf + start, 1, len - start, stdout);
	fflush(stdout);
	free(buf);
	return 0;
}

int log_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "lines", required_argument, NULL, 'n' },
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char dir[4096], path[4200], err[256], *end;
	const char *dir_arg = NULL, *vm;
	long lines = -1;
	int c, follow_flag = 0;
	FILE *f;

	optind = 1;
	while ((c = getopt_long(argc, argv, "fn:d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			follow_flag = 1;
			break;
		case 'n':
			lines = strtol(optarg, &end, 10);
			if (*end || end == optarg || lines < 0) {
				fprintf(stderr, "vmkd log: -n wants a number of lines\n");
				return 2;
			}
			break;
		case 'd':
			dir_arg = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	vm = argv[optind];
	if (!*vm || strchr(vm, '/')) {
		fprintf(stderr, "vmkd log: bad VM name '%s'\n", vm);
		return 2;
	}
	if (dir_arg)
		snprintf(dir, sizeof(dir), "%s", dir_arg);
	else if (dbglog_default_dir(dir, sizeof(dir), err, sizeof(err))) {
		fprintf(stderr, "vmkd log: %s\n", err);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s.log", dir, vm);
	if (follow_flag && lines < 0)
		lines = 10;
	f = fopen(path, "re");
	while (!f && follow_flag && errno == ENOENT) {
		struct timespec ts = { 0, FOLLOW_POLL_NS };

		nanosleep(&ts, NULL);
		f = fopen(path, "re");
	}
	if (!f) {
		fprintf(stderr, "vmkd log: cannot open %s: %s%s\n", path, strerror(errno),
			errno == ENOENT ? " (has the relay served this VM? see --dir)" : "");
		return 1;
	}
	if (print_tail(f, lines)) {
		fprintf(stderr, "vmkd log: out of memory\n");
		fclose(f);
		return 1;
	}
	if (follow_flag) {
		struct log_follower fw;
		struct timespec ts = { 0, FOLLOW_POLL_NS };

		if (log_follow_init(&fw, path, f)) {
			fclose(f);
			return 1;
		}
		for (;;) { /* until a signal ends the process, as tail -F */
			log_follow_step(&fw, stdout);
			nanosleep(&ts, NULL);
		}
	}
	fclose(f);
	return 0;
}
