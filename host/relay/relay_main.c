/* SPDX-License-Identifier: MIT */
/* `vmkd relay`: options, signals, start-up hints, then the event loop until SIGINT/SIGTERM. */
#include "relay.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/endpoint.h"
#include "relay_config.h"
#include "relay_hints.h"
#include "relay_journal.h"
#include "relay_loop.h"
#include "relay_reload.h"

/* The only process-wide state: a signal handler cannot reach a context. */
static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t stats_flag;
static volatile sig_atomic_t reload_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void on_stats(int sig)
{
	(void)sig;
	stats_flag = 1;
}

static void on_reload(int sig)
{
	(void)sig;
	reload_flag = 1;
}

/*
 * The handlers run only inside epoll_pwait: the signals are blocked everywhere else, so a flag
 * set just before the loop waits cannot be missed. *wait_mask gets the mask for epoll_pwait.
 */
static int install_signals(sigset_t *wait_mask, int reload)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGUSR1, SIGHUP };
	/* SIGHUP reloads a config file; one VM from flags keeps its default (terminate). */
	size_t nsigs = sizeof(sigs) / sizeof(sigs[0]) - (reload ? 0 : 1);
	struct sigaction sa;
	sigset_t block;

	sigemptyset(&block);
	for (size_t i = 0; i < nsigs; i++) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = sigs[i] == SIGUSR1 ? on_stats : sigs[i] == SIGHUP ? on_reload : on_stop;
		sigemptyset(&sa.sa_mask);
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -1;
		sigaddset(&block, sigs[i]);
	}
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &block, wait_mask) < 0)
		return -1;
	for (size_t i = 0; i < nsigs; i++)
		sigdelset(wait_mask, sigs[i]);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmkd relay --guest GUEST [--listen LISTEN] [--name NAME] [OPTIONS]\n"
		"       vmkd relay --config FILE [OPTIONS]\n\n"
		"Relays KD between VMs whose kdvm.dll sends KD packets over a virtio-serial port\n"
		"(" VMKD_PORT_NAME ") and unmodified KD debuggers speaking KDCOM (WinDbg, kd, radare2,\n"
		"vmkd attach). ACK, RESEND and RESET stay on the host.\n\n"
		"  -g, --guest GUEST     QEMU's chardev: unix:PATH (QEMU server=on; the relay\n"
		"                        connects and reconnects) or listen:unix:PATH (the relay\n"
		"                        listens; QEMU server=off), or ivshmem:PATH (the relay\n"
		"                        is the ivshmem server of QEMU's ivshmem-doorbell device:\n"
		"                        the channel runs in shared memory; start it first)\n"
		"  -l, --listen LISTEN   where the debugger connects: unix:PATH (mode 0600) or\n"
		"                        tcp:[HOST:]PORT (any local user can connect; a warning\n"
		"                        for non-loopback hosts). Default: the user's private\n"
		"                        unix:$XDG_RUNTIME_DIR/vmkd/NAME.sock (root without it:\n"
		"                        /run/vmkd/NAME.sock), in a 0700 directory\n"
		"  -n, --name NAME       the VM's name in logs (default " RELAY_DEFAULT_NAME ")\n"
		"  -c, --config FILE     many VMs, one a line: NAME GUEST LISTEN [OPTION...]\n"
		"                        (options: trace takeover no-host-ram nodbglog ram=FILE\n"
		"                        qmp=SOCKET ram-id=ID)\n"
		"      --takeover        a new debugger connection replaces the attached one\n"
		"                        (default: it is refused with a notice, unless the\n"
		"                        attached one stopped acknowledging)\n"
		"  -t, --trace           log every packet on both sides, with timestamps, and which\n"
		"                        path (host RAM or guest) answered each memory read\n"
		"  -m, --host-ram FILE   the VM's memory backend file (QEMU -object\n"
		"                        memory-backend-file,...,share=on): memory reads of a stopped\n"
		"                        guest are answered from it, on the host (needs --qmp)\n"
		"  -Q, --qmp SOCKET      QEMU's QMP socket (unix:PATH): where the RAM sits\n"
		"      --ram-id ID       the memory backend object's id (default vmkd-ram;\n"
		"                        libvirt: pc.ram)\n"
		"      --no-host-ram     every request goes to the guest (the host path off)\n"
		"  -s, --stats SECONDS   log a stats line per VM this often (and on SIGUSR1)\n"
		"  -q, --quiet           no start-up hints\n"
		"      --log-dir DIR     the DbgPrint log, DIR/NAME.log (rotated, NAME.log.1 ...),\n"
		"                        kept with or without a debugger; default\n"
		"                        $XDG_RUNTIME_DIR/vmkd (root without it: /var/log/vmkd);\n"
		"                        read it with 'vmkd log NAME [-f]'\n"
		"      --no-dbglog       no DbgPrint log (a config line can say 'nodbglog')\n"
		"      --journal[=SOCKET]  each DbgPrint line to the systemd journal too\n"
		"                        (journald's native protocol, SOCKET default\n"
		"                        " JOURNAL_SOCKET_DEFAULT "): MESSAGE, VMKD_VM=NAME,\n"
		"                        VMKD_CPU, SYSLOG_IDENTIFIER=vmkd; never waits (lines it\n"
		"                        cannot take are dropped and counted); with --no-dbglog\n"
		"                        the journal alone. journalctl -t vmkd VMKD_VM=NAME\n"
		"      --record FILE     record each VM's session (KD packets both sides, link\n"
		"                        events) to FILE, %%n the VM's name; see 'vmkd trace',\n"
		"                        'vmkd replay'\n"
		"  -h, --help\n\n"
		"One debugger per VM at a time (see --takeover). Logs go to stderr,\n"
		"the start-up hints (QEMU, libvirt and debugger command lines) to stdout.\n"
		"SIGUSR1 logs the stats and asks each guest for its transport counters. SIGHUP\n"
		"reloads --config FILE: VMs whose line did not change are not disturbed.\n");
}

enum { OPT_TAKEOVER = 256, OPT_LOG_DIR, OPT_NO_DBGLOG, OPT_RECORD, OPT_JOURNAL }; /* long-only */

struct relay_args {
	const char *guest, *listen, *name, *config;
	const char *host_ram, *qmp, *ram_id, *log_dir, *record, *journal;
	int trace, quiet, takeover, no_host_ram, no_dbglog;
	double stats_seconds;
};

static int parse_args(int argc, char **argv, struct relay_args *a)
{
	static const struct option longopts[] = {
		{ "guest", required_argument, NULL, 'g' },
		{ "listen", required_argument, NULL, 'l' },
		{ "name", required_argument, NULL, 'n' },
		{ "config", required_argument, NULL, 'c' },
		{ "trace", no_argument, NULL, 't' },
		{ "stats", required_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "takeover", no_argument, NULL, OPT_TAKEOVER },
		{ "host-ram", required_argument, NULL, 'm' },
		{ "qmp", required_argument, NULL, 'Q' },
		{ "ram-id", required_argument, NULL, 'I' },
		{ "no-host-ram", no_argument, NULL, 'N' },
		{ "log-dir", required_argument, NULL, OPT_LOG_DIR },
		{ "no-dbglog", no_argument, NULL, OPT_NO_DBGLOG },
		{ "record", required_argument, NULL, OPT_RECORD },
		{ "journal", optional_argument, NULL, OPT_JOURNAL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(argc, argv, "g:l:n:c:ts:qhm:Q:", longopts, NULL)) != -1) {
		switch (c) {
		case 'g':
			a->guest = optarg;
			break;
		case 'l':
			a->listen = optarg;
			break;
		case 'n':
			a->name = optarg;
			break;
		case 'c':
			a->config = optarg;
			break;
		case 't':
			a->trace = 1;
			break;
		case 's':
			a->stats_seconds = strtod(optarg, &end);
			if (*end || end == optarg || !(a->stats_seconds > 0) ||
			    a->stats_seconds > 86400) {
				fprintf(stderr, "vmkd relay: --stats wants seconds (0 < s <= 86400)\n");
				return 2;
			}
			break;
		case 'q':
			a->quiet = 1;
			break;
		case OPT_TAKEOVER:
			a->takeover = 1;
			break;
		case 'm':
			a->host_ram = optarg;
			break;
		case 'Q':
			a->qmp = optarg;
			break;
		case 'I':
			a->ram_id = optarg;
			break;
		case 'N':
			a->no_host_ram = 1;
			break;
		case OPT_LOG_DIR:
			a->log_dir = optarg;
			break;
		case OPT_NO_DBGLOG:
			a->no_dbglog = 1;
			break;
		case OPT_RECORD:
			a->record = optarg;
			break;
		case OPT_JOURNAL:
			a->journal = optarg && *optarg ? optarg : JOURNAL_SOCKET_DEFAULT;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vmkd relay: unexpected argument '%s'\n\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!a->config == !a->guest) {
		fprintf(stderr, "vmkd relay: give either --guest (one VM) or --config (many)\n\n");
		usage(stderr);
		return 2;
	}
	if (a->config && (a->host_ram || a->qmp || a->ram_id)) {
		fprintf(stderr, "vmkd relay: with --config, give ram=, qmp= and ram-id= per VM "
				"in the file\n");
		return 2;
	}
	if (a->config && (a->listen || a->name)) {
		fprintf(stderr, "vmkd relay: --listen and --name go with --guest; the config "
				"file names each VM's endpoints\n");
		return 2;
	}
	return -1;
}

/* --host-ram, --qmp, --ram-id as the config file's options. */
static int host_ram_options(const struct relay_args *a, struct relay_vm_config *vm, char *err,
			    size_t errlen)
{
	char opt[RELAY_SPEC_MAX + 16];

	if (a->host_ram) {
		snprintf(opt, sizeof(opt), "ram=%s", a->host_ram);
		if (relay_vm_config_option(vm, opt, err, errlen))
			return -1;
	}
	if (a->qmp) {
		snprintf(opt, sizeof(opt), "qmp=%s", a->qmp);
		if (relay_vm_config_option(vm, opt, err, errlen))
			return -1;
	}
	if (a->ram_id) {
		snprintf(opt, sizeof(opt), "ram-id=%s", a->ram_id);
		if (relay_vm_config_option(vm, opt, err, errlen))
			return -1;
	}
	return 0;
}

static int load_config(const struct relay_args *a, struct relay_config *cfg)
{
	char err[512], spec[RELAY_SPEC_MAX];

	if (a->config) {
		if (relay_config_load(cfg, a->config, err, sizeof(err)))
			goto fail;
		for (size_t i = 0; i < cfg->count; i++)
			cfg->vms[i].no_host_ram |= a->no_host_ram;
		return 0;
	}
	if (relay_config_single(cfg, a->name, a->guest, a->listen, err, sizeof(err)) ||
	    host_ram_options(a, &cfg->vms[0], err, sizeof(err)))
		goto fail;
	cfg->vms[0].no_host_ram = a->no_host_ram;
	if (cfg->vms[0].host_ram[0] && !cfg->vms[0].qmp[0]) {
		snprintf(err, sizeof(err), "--host-ram needs --qmp (where QEMU tells the layout)");
		goto fail;
	}
	/* The default socket's directory is made (0700) only now that the rest is valid. */
	if (!a->listen && endpoint_default_debugger(cfg->vms[0].name, 1, spec, sizeof(spec), err,
						    sizeof(err)))
		goto fail;
	return 0;
fail:
	fprintf(stderr, "vmkd relay: %s\n", err);
	return -1;
}

/* The DbgPrint log's directory and the recording's pattern (relay_tap.h). Returns 0, or -1
 * after a message. */
static int tap_options(const struct relay_args *a, const struct relay_config *cfg,
		       struct relay_tap_options *t, char *dir, size_t cap)
{
	char err[512];
	struct timespec mono, wall;

	memset(t, 0, sizeof(*t));
	if (!a->no_dbglog && a->log_dir) {
		snprintf(dir, cap, "%s", a->log_dir);
		if (dbglog_make_dir(dir, err, sizeof(err)))
			goto fail;
		t->log_dir = dir;
	} else if (!a->no_dbglog) {
		/* the default place may not exist for this user: then no log, and a line saying
		 * so, rather than a relay that no longer starts where it used to */
		if (dbglog_default_dir(dir, cap, err, sizeof(err)) ||
		    dbglog_make_dir(dir, err, sizeof(err)))
			fprintf(stderr, "vmkd relay: no DbgPrint log: %s\n", err);
		else
			t->log_dir = dir;
	}
	if (a->record && cfg->count > 1 && !strstr(a->record, "%n")) {
		fprintf(stderr, "vmkd relay: --record with several VMs needs %%n (the VM's name) "
				"in the file name\n");
		return -1;
	}
	t->record = a->record;
	t->journal = a->journal;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &wall);
	t->wall_offset_us = ((int64_t)wall.tv_sec - (int64_t)mono.tv_sec) * 1000000 +
			    ((int64_t)wall.tv_nsec - (int64_t)mono.tv_nsec) / 1000;
	return 0;
fail:
	fprintf(stderr, "vmkd relay: %s\n", err);
	return -1;
}

int relay_main(int argc, char **argv)
{
	struct relay_tap_options tap;
	char log_dir[4096];
	struct relay_options opt;
	struct relay_config cfg;
	struct relay_args a;
	struct relay *r = NULL;
	sigset_t wait_mask;
	char err[512];
	int rc;

	rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		return rc;
	relay_config_init(&cfg);
	rc = 1;
	if (load_config(&a, &cfg))
		goto out;
	if (tap_options(&a, &cfg, &tap, log_dir, sizeof(log_dir)))
		goto out;
	if (install_signals(&wait_mask, a.config != NULL)) {
		perror("vmkd relay: signals");
		goto out;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	setvbuf(stderr, NULL, _IOLBF, 0);

	memset(&opt, 0, sizeof(opt));
	opt.log = stderr;
	opt.trace = a.trace;
	opt.takeover = a.takeover;
	opt.stats_interval_us = (uint64_t)(a.stats_seconds * 1e6);
	opt.stop_flag = &stop_flag;
	opt.stats_flag = &stats_flag;
	opt.reload_flag = &reload_flag;
	opt.wait_sigmask = &wait_mask;
	opt.tap = &tap;
	r = relay_new(&opt);
	if (!r) {
		fprintf(stderr, "vmkd relay: out of resources\n");
		goto out;
	}
	for (size_t i = 0; i < cfg.count; i++) {
		if (relay_add_vm(r, &cfg.vms[i], err, sizeof(err))) {
			fprintf(stderr, "vmkd relay: %s: %s\n", cfg.vms[i].name, err);
			goto out;
		}
		if (!a.quiet)
			relay_print_hints(stdout, &cfg.vms[i], relay_debugger_port(r, i));
	}
	fprintf(stderr, "vmkd relay: serving %zu VM%s; Ctrl-C stops, SIGUSR1 logs stats%s\n",
		cfg.count, cfg.count == 1 ? "" : "s", a.config ? ", SIGHUP reloads" : "");
	while (!(rc = relay_run(r) ? 1 : 0) && reload_flag && !stop_flag) {
		struct relay_reload_result res;

		reload_flag = 0;
		if (relay_reload(r, a.config, stderr, a.quiet ? NULL : stdout, &res, err,
				 sizeof(err)))
			fprintf(stderr, "vmkd relay: reload refused, nothing changed: %s\n", err);
	}
	relay_log_stats(r, 0);
out:
	relay_free(r);
	relay_config_free(&cfg);
	return rc;
}
