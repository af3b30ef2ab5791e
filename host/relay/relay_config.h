/* SPDX-License-Identifier: MIT */
/*
 * relay_config.h - which VMs the relay serves: from command-line flags (one VM) or a
 * config file, one VM a line:
 *
 *     # NAME   GUEST                        LISTEN                  [OPTION...]
 *     win10    unix:/run/vmkd/win10.sock    tcp:127.0.0.1:50000
 *     win11    listen:unix:/run/vmkd/w11    unix:/run/vmkd/w11-kd   trace
 *     win12    unix:/run/vmkd/w12.sock      tcp:50002  ram=/dev/shm/vmkd-w12 qmp=unix:/run/w12.qmp
 *
 * Options (at most three): trace; ram=FILE qmp=SOCKET [ram-id=ID] for the host path
 * (relay_hostmem.h: the memory backend file, QEMU's QMP socket, the backend object's id,
 * default vmkd-ram); no-host-ram.
 *
 * GUEST is QEMU's chardev: an endpoint (endpoint.h) the relay connects to, QEMU listening
 * (server=on), "listen:ENDPOINT" where the relay listens and QEMU connects (server=off),
 * or "ivshmem:PATH" where the relay is the ivshmem server of QEMU's ivshmem-doorbell device
 * and the channel runs in shared memory (relay_ivshmem.h).
 * LISTEN is where the debugger connects: tcp:[HOST:]PORT (127.0.0.1 unless a host is
 * given) or unix:PATH (mode 0600). '#' starts a comment; blank lines are skipped.
 */
#ifndef VMKD_RELAY_CONFIG_H
#define VMKD_RELAY_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "relay_vm.h"

#define RELAY_MAX_VMS       256u
#define RELAY_DEFAULT_NAME  "vm0"
#define RELAY_GUEST_LISTEN_PREFIX "listen:"
#define RELAY_GUEST_IVSHMEM_PREFIX "ivshmem:" /* ivshmem:PATH, relay_ivshmem.h */

struct relay_config {
	struct relay_vm_config *vms;
	size_t count;
	size_t cap;
};

void relay_config_init(struct relay_config *c);
void relay_config_free(struct relay_config *c);

/* Checks and fills one VM; the endpoints are stored in their canonical spelling
 * ("tcp:127.0.0.1:50000", "unix:/path"). Names: 1-31 of [A-Za-z0-9._-].
 * Returns 0, or -1 with a message in err. */
int relay_vm_config_set(struct relay_vm_config *vm, const char *name, const char *guest,
			const char *listen, char *err, size_t errlen);

/* One OPTION of a config line (or its command-line twin): trace, no-host-ram, ram=FILE,
 * qmp=SOCKET, ram-id=ID. 0, or -1 with err. */
int relay_vm_config_option(struct relay_vm_config *vm, const char *opt, char *err,
			   size_t errlen);

/* Adds a VM, refusing a second one with the same name, guest or listen endpoint. */
int relay_config_add(struct relay_config *c, const struct relay_vm_config *vm, char *err,
		     size_t errlen);

/* The one VM of the command line (--name, --guest, --listen). name NULL: RELAY_DEFAULT_NAME;
 * listen NULL: the VM's default debugger socket (endpoint_default_debugger: a 0600 unix
 * socket in the user's 0700 runtime directory; nothing is created here). */
int relay_config_single(struct relay_config *c, const char *name, const char *guest,
			const char *listen, char *err, size_t errlen);

/* One line of a config file. Returns 1 with *vm filled, 0 for a blank or comment line,
 * -1 with a message in err. */
int relay_config_parse_line(const char *line, struct relay_vm_config *vm, char *err,
			    size_t errlen);

/* Reads every line of f (name: the file name for messages "FILE:LINE: ..."). */
int relay_config_read(struct relay_config *c, FILE *f, const char *name, char *err,
		      size_t errlen);
int relay_config_load(struct relay_config *c, const char *path, char *err, size_t errlen);

#endif
