/* SPDX-License-Identifier: MIT */
/* vmkd: the single command-line tool; each subcommand's main lives with its layer. */
#include <stdio.h>
#include <string.h>

#include "../host/bench/bench.h"
#include "../host/client/attach.h"
#include "../host/gdb/gdb_main.h"
#include "../host/relay/relay.h"

#ifndef VMKD_VERSION
#define VMKD_VERSION "0.1.0-dev"
#endif

struct subcommand {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *summary;
};

/* One line per subcommand; each lives in its own folder with its own header. */
static const struct subcommand subcommands[] = {
	{ "attach", attach_main, "KD debugger in the terminal, on a KDCOM stream (unix/tcp)" },
	{ "relay", relay_main, "KD packets between VMs (kdvm.dll, virtio-serial) and KD debuggers" },
	{ "gdb", gdb_main, "GDB remote protocol server over KD: gdb, lldb, IDA, Ghidra" },
	{ "bench", bench_main, "serial vs vmkd: KD round trips, throughput, DbgPrint rate" },
};

#define NSUB (sizeof(subcommands) / sizeof(subcommands[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: vmkd COMMAND [ARGS...]\n"
		   "       vmkd --help | --version\n\n"
		   "Windows kernel debugging in VMs, made fast.\n\ncommands:\n");
	for (size_t i = 0; i < NSUB; i++)
		fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(f, "\n'vmkd COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("vmkd %s\n", VMKD_VERSION);
		return 0;
	}
	for (size_t i = 0; i < NSUB; i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].main(argc - 1, argv + 1);
	fprintf(stderr, "vmkd: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
