/* SPDX-License-Identifier: MIT */
/* `vmkd trace FILE`: a recording, one line per record; `--pcapng OUT`: for Wireshark. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmkd/kd_trace.h"

#include "pcapng.h"
#include "record_text.h"

#define RECORDING_MAX ((size_t)1 << 30)

static void usage(FILE *f)
{
	fprintf(f, "usage: vmkd trace [--pcapng OUT] FILE\n\n"
		   "Prints a recording of `vmkd relay --record` one line per record: link events,\n"
		   "and every KD packet on the guest side and on the debugger side, decoded\n"
		   "(\"->\" towards the kernel, \"<-\" away from it). A damaged or truncated file is\n"
		   "reported with the offset where it goes wrong (exit status 1).\n\n"
		   "  -p, --pcapng OUT   write a pcapng file for Wireshark instead (link type\n"
		   "                     LINKTYPE_USER0 = 147; dissector: tools/wireshark/vmkd.lua)\n"
		   "  -h, --help\n");
}

static int print_all(struct record_reader *r)
{
	char line[KD_TRACE_LINE_MAX + 64];
	struct record rec;
	int rc;

	while ((rc = record_next(r, &rec)) == 1) {
		record_format(r, &rec, line, sizeof(line));
		puts(line);
	}
	if (rc < 0) {
		fprintf(stderr, "vmkd trace: %s\n", r->err);
		return 1;
	}
	return 0;
}

static int export(struct record_reader *r, const char *out_path)
{
	FILE *out = fopen(out_path, "wbe");
	char err[256];
	long n;

	if (!out) {
		perror(out_path);
		return 1;
	}
	n = pcapng_export(r, out, err, sizeof(err));
	if (fclose(out) && n >= 0) {
		snprintf(err, sizeof(err), "cannot write %s", out_path);
		n = -1;
	}
	if (n < 0) {
		fprintf(stderr, "vmkd trace: %s\n", err);
		return 1;
	}
	fprintf(stderr, "vmkd trace: %ld packets written to %s\n", n, out_path);
	return 0;
}

int trace_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pcapng", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct record_reader r;
	const char *pcap = NULL;
	char err[512];
	uint8_t *data;
	size_t len;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pcap = optarg;
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
	if (record_load_file(argv[optind], RECORDING_MAX, &data, &len, err, sizeof(err))) {
		fprintf(stderr, "vmkd trace: %s\n", err);
		return 1;
	}
	if (record_reader_init(&r, data, len)) {
		fprintf(stderr, "vmkd trace: %s: %s\n", argv[optind], r.err);
		free(data);
		return 1;
	}
	rc = pcap ? export(&r, pcap) : print_all(&r);
	free(data);
	return rc;
}
