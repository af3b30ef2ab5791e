/* SPDX-License-Identifier: MIT */
/* vmkd: the single command-line tool; each subcommand's main lives with its layer. */
#include <stdio.h>
#include <string.h>

#include "../host/bench/bench.h"
#include "../host/client/attach.h"
#include "../host/dump/dump.h"
#include "../host/record/record_text.h"
#include "../host/gdb/gdb_main.h"
#include "../host/pdb/pdb_cmd.h"
#include "../host/relay/relay.h"
#include "../host/setup/setup_cmd.h"

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
	{ "dump", dump_main, "guest physical memory to a file (raw, ELF core), from host RAM or KD" },
	{ "log", log_main, "a VM's DbgPrint log, kept by the relay with or without a debugger" },
	{ "trace", trace_main, "print a session recording (relay --record), or export pcapng" },
	{ "replay", replay_main, "play a recording's target side to a debugger; report divergence" },
	{ "gdb", gdb_main, "GDB remote protocol server over KD: gdb, lldb, IDA, Ghidra" },
	{ "bench", bench_main, "serial vs vmkd: KD round trips, throughput, DbgPrint rate" },
	{ "qemu-args", qemu_args_main, "the QEMU arguments that connect a VM to the relay" },
	{ "libvirt", libvirt_main, "the libvirt domain XML that connects a VM to the relay" },
	{ "pdb", pdb_main, "what a PDB file holds: GUID, age, publics, globals, procedures" },
	{ "symfetch", symfetch_main, "find an image's PDB along a symbol path (srv*CACHE*URL)" },
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
	for (size_t i = 0; i < NSUB; i++) {
		if (strcmp(argv[1], subcommands[i].name))
			continue;
		/* `vmkd COMMAND --version` answers like `vmkd --version`, for every command. */
		if (argc == 3 && (!strcmp(argv[2], "--version") || !strcmp(argv[2], "-V"))) {
			printf("vmkd %s\n", VMKD_VERSION);
			return 0;
		}
		return subcommands[i].main(argc - 1, argv + 1);
	}
	fprintf(stderr, "vmkd: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
