/* SPDX-License-Identifier: MIT */
/* `vmkd qemu-args` and `vmkd libvirt`: options in, setup.h's text out. */
#include "setup_cmd.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "setup.h"

static void qemu_args_usage(FILE *f)
{
	fprintf(f,
		"usage: vmkd qemu-args NAME [--ram SIZE [--host-ram]] [--socket-dir DIR] [-q]\n\n"
		"Prints, on one line, the QEMU arguments that connect VM NAME to the relay: its own\n"
		"virtio-serial-pci controller, a chardev socket DIR/NAME.vm.sock that QEMU connects\n"
		"to (server=off,reconnect=1: the relay listens, start it first or later), and the\n"
		"virtserialport org.vmkd.0 that kdvm.dll drives.\n\n"
		"  -m, --ram SIZE        guest RAM (-m SIZE), e.g. 4G\n"
		"  -H, --host-ram        guest RAM in a shared file /dev/shm/vmkd-NAME\n"
		"                        (memory-backend-file,share=on; needs --ram) and a QMP\n"
		"                        socket DIR/NAME.qmp.sock, so the relay can read guest memory\n"
		"  -d, --socket-dir DIR  where the sockets are (default $XDG_RUNTIME_DIR/vmkd, or\n"
		"                        /run/vmkd for root)\n"
		"      --qemu-listens    QEMU creates the chardev socket (server=on,wait=off) and\n"
		"                        the relay connects to it\n"
		"  -q, --quiet           do not print the matching relay command on stderr\n"
		"  -h, --help\n\n"
		"Example:  qemu-system-x86_64 ... $(vmkd qemu-args win10 --ram 4G)\n");
}

static void libvirt_usage(FILE *f)
{
	fprintf(f,
		"usage: vmkd libvirt NAME [--host-ram] [--socket-dir DIR] [--qemu-dir DIR]\n"
		"                         [--relay-listens] [--controller N] [-q]\n\n"
		"Prints the libvirt domain XML that connects VM NAME to the relay, inside a <domain>\n"
		"skeleton that shows where each piece goes (merge them with `virsh edit DOMAIN`):\n"
		"vmkd's own virtio-serial <controller>, the <channel> to the virtserialport\n"
		"org.vmkd.0, and with --host-ram a shared file <memoryBacking> and a\n"
		"<qemu:commandline> with a QMP socket for the relay.\n\n"
		"By default QEMU (run by libvirt as its own user) creates the chardev socket\n"
		"QEMU_DIR/vmkd-NAME.vm.sock (mode='bind') and the relay connects to it.\n\n"
		"  -H, --host-ram        shared guest RAM and a QMP socket QEMU_DIR/vmkd-NAME.qmp.sock\n"
		"  -d, --socket-dir DIR  the relay's directory, for the debugger socket (default\n"
		"                        $XDG_RUNTIME_DIR/vmkd, or /run/vmkd for root)\n"
		"      --qemu-dir DIR    where QEMU creates its sockets (default\n"
		"                        " SETUP_LIBVIRT_DIR ")\n"
		"      --relay-listens   the relay listens in DIR/NAME.vm.sock and QEMU connects\n"
		"                        (mode='connect' with reconnect; for qemu:///session)\n"
		"      --controller N    index of vmkd's virtio-serial controller (default %u)\n"
		"  -q, --quiet           do not print the matching relay command on stderr\n"
		"  -h, --help\n",
		SETUP_LIBVIRT_CONTROLLER);
}

enum { OPT_QEMU_LISTENS = 256, OPT_QEMU_DIR, OPT_RELAY_LISTENS, OPT_CONTROLLER };

struct setup_args {
	const char *name, *dir, *qemu_dir, *ram;
	int host_ram, quiet, qemu_listens, relay_listens;
	unsigned controller;
};

/* Returns -1 to go on, else the exit status (0 after --help, 2 on a usage error). */
static int parse_args(int argc, char **argv, int libvirt, struct setup_args *a)
{
	static const struct option longopts[] = {
		{ "ram", required_argument, NULL, 'm' },
		{ "host-ram", no_argument, NULL, 'H' },
		{ "socket-dir", required_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "qemu-listens", no_argument, NULL, OPT_QEMU_LISTENS },
		{ "qemu-dir", required_argument, NULL, OPT_QEMU_DIR },
		{ "relay-listens", no_argument, NULL, OPT_RELAY_LISTENS },
		{ "controller", required_argument, NULL, OPT_CONTROLLER },
		{ NULL, 0, NULL, 0 },
	};
	void (*usage)(FILE *) = libvirt ? libvirt_usage : qemu_args_usage;
	const char *me = libvirt ? "vmkd libvirt" : "vmkd qemu-args";
	unsigned long v;
	char *end;
	int c;

	memset(a, 0, sizeof(*a));
	a->controller = SETUP_LIBVIRT_CONTROLLER;
	optind = 1;
	while ((c = getopt_long(argc, argv, libvirt ? "Hd:qh" : "m:Hd:qh", longopts, NULL)) != -1) {
		/* Each command takes only its own long options. */
		int foreign = libvirt ? (c == 'm' || c == OPT_QEMU_LISTENS) :
					(c == OPT_QEMU_DIR || c == OPT_RELAY_LISTENS ||
					 c == OPT_CONTROLLER);

		if (foreign) {
			fprintf(stderr, "%s: option '%s' belongs to the other command\n\n", me,
				argv[optind - 1]);
			c = '?';
		}
		switch (c) {
		case 'm':
			a->ram = optarg;
			break;
		case 'H':
			a->host_ram = 1;
			break;
		case 'd':
			a->dir = optarg;
			break;
		case 'q':
			a->quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_QEMU_LISTENS:
			a->qemu_listens = 1;
			break;
		case OPT_QEMU_DIR:
			a->qemu_dir = optarg;
			break;
		case OPT_RELAY_LISTENS:
			a->relay_listens = 1;
			break;
		case OPT_CONTROLLER:
			v = strtoul(optarg, &end, 10);
			if (*end || end == optarg || optarg[0] == '-' || v > 255) {
				fprintf(stderr, "%s: --controller wants 0-255\n", me);
				return 2;
			}
			a->controller = (unsigned)v;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "%s: %s\n\n", me,
			optind >= argc ? "give the VM's name" : "only one VM name, please");
		usage(stderr);
		return 2;
	}
	a->name = argv[optind];
	if (a->relay_listens && a->qemu_dir) {
		fprintf(stderr, "%s: --qemu-dir is for sockets QEMU creates; with --relay-listens "
				"the relay creates the chardev socket\n", me);
		return 2;
	}
	return -1;
}

/* The VM from the arguments; 0, or the exit status (2: the arguments were wrong). */
static int make_vm(const struct setup_args *a, int libvirt, struct setup_vm *vm)
{
	char dir[SETUP_PATH_MAX], err[300];
	const char *me = libvirt ? "vmkd libvirt" : "vmkd qemu-args";

	if (!a->dir)
		setup_default_dir(dir, sizeof(dir), (unsigned)geteuid(), getenv("XDG_RUNTIME_DIR"));
	if (!libvirt && a->host_ram && !a->ram) {
		snprintf(err, sizeof(err), "--host-ram needs --ram SIZE: the memory backend's "
					   "size must equal the guest's RAM");
		goto bad;
	}
	if (setup_vm_init(vm, a->name, a->dir ? a->dir : dir, a->ram, a->host_ram, err,
			  sizeof(err)))
		goto bad;
	vm->controller = a->controller;
	vm->qemu_listens = libvirt ? !a->relay_listens : a->qemu_listens;
	if (libvirt && !a->relay_listens &&
	    setup_vm_qemu_dir(vm, a->qemu_dir ? a->qemu_dir : SETUP_LIBVIRT_DIR, err, sizeof(err)))
		goto bad;
	return 0;
bad:
	fprintf(stderr, "%s: %s\n", me, err);
	return 2;
}

static int run(int argc, char **argv, int libvirt)
{
	char spec[SETUP_PATH_MAX + 8];
	struct setup_args a;
	struct setup_vm vm;
	int rc = parse_args(argc, argv, libvirt, &a);

	if (rc >= 0)
		return rc;
	rc = make_vm(&a, libvirt, &vm);
	if (rc)
		return rc;
	if (libvirt ? setup_print_libvirt(stdout, &vm) : setup_print_qemu_args(stdout, &vm)) {
		fprintf(stderr, "vmkd %s: %s\n", libvirt ? "libvirt" : "qemu-args",
			"an argument is too long for QEMU's option syntax, or output failed");
		return 1;
	}
	if (!a.quiet) {
		fprintf(stderr, "# the relay for %s: ", vm.name);
		setup_print_relay_cmd(stderr, &vm);
		fprintf(stderr, "#   or in relay.conf: ");
		setup_print_relay_conf(stderr, &vm);
		snprintf(spec, sizeof(spec), "unix:%s", vm.dbg_sock);
		setup_print_windbg(stderr, "#   ", spec, 50000);
	}
	return fflush(stdout) ? 1 : 0;
}

int qemu_args_main(int argc, char **argv)
{
	return run(argc, argv, 0);
}

int libvirt_main(int argc, char **argv)
{
	return run(argc, argv, 1);
}
