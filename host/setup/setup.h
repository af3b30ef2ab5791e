/* SPDX-License-Identifier: MIT */
/*
 * setup.h - what a VM needs to talk to the relay: the QEMU arguments (`vmkd qemu-args`) and
 * the libvirt domain XML (`vmkd libvirt`), from one description of the VM. Pure formatting:
 * no sockets, no files; the relay's start-up hints may use it too.
 *
 * Paths, for a VM NAME in the socket directory DIR:
 *   DIR/NAME.vm.sock    QEMU's chardev (virtio-serial port org.vmkd.0)
 *   DIR/NAME.sock       where the debugger connects (the relay's default)
 *   DIR/NAME.qmp.sock   QMP, with --host-ram
 *   /dev/shm/vmkd-NAME  guest RAM, with --host-ram (memory-backend-file, share=on)
 * DIR defaults to $XDG_RUNTIME_DIR/vmkd, or /run/vmkd for root.
 */
#ifndef VMKD_HOST_SETUP_H
#define VMKD_HOST_SETUP_H

#include <stddef.h>
#include <stdio.h>

#define SETUP_NAME_MAX    32u   /* same rule as the relay: 1-31 of [A-Za-z0-9._-] */
#define SETUP_PATH_MAX    108u  /* a unix socket path with its NUL (sun_path) */
#define SETUP_SIZE_MAX    24u
#define SETUP_MAX_ARGS    16u
#define SETUP_ARG_MAX     512u

#define SETUP_VSER_ID     "vmkd-vser0"
#define SETUP_CHARDEV_ID  "vmkd0"
#define SETUP_RAM_ID      "vmkd-ram"
#define SETUP_SHM_DIR     "/dev/shm"
#define SETUP_LIBVIRT_DIR "/var/lib/libvirt/qemu/channel/target"
#define SETUP_LIBVIRT_CONTROLLER 1u  /* index of vmkd's own virtio-serial controller */

struct setup_vm {
	char name[SETUP_NAME_MAX];
	char guest_sock[SETUP_PATH_MAX];  /* QEMU's chardev */
	char dbg_sock[SETUP_PATH_MAX];    /* the debugger's socket */
	char qmp_sock[SETUP_PATH_MAX];
	char mem_path[SETUP_PATH_MAX];
	char ram[SETUP_SIZE_MAX];         /* "" when not given */
	int host_ram;                     /* share guest RAM with the relay (+ QMP) */
	int qemu_listens;                 /* QEMU binds the chardev socket; else the relay does */
	unsigned controller;              /* libvirt: virtio-serial controller index */
};

/* The default socket directory for a user: $XDG_RUNTIME_DIR/vmkd for a user with one
 * (xdg_runtime_dir may be NULL), /run/vmkd for root (uid 0) and as the last resort. */
void setup_default_dir(char *buf, size_t len, unsigned uid, const char *xdg_runtime_dir);

/* Fills vm for NAME with its sockets in dir. ram: NULL or a size QEMU accepts (digits with
 * an optional K/M/G/T suffix). QEMU's arguments for host RAM need the size (the backend's
 * size must equal -m); libvirt's do not. Returns 0, or -1 with a message in err. */
int setup_vm_init(struct setup_vm *vm, const char *name, const char *dir, const char *ram,
		  int host_ram, char *err, size_t errlen);

/* Moves the sockets QEMU creates (the chardev when QEMU listens, and QMP) to dir, named
 * vmkd-NAME.vm.sock and vmkd-NAME.qmp.sock: with libvirt's system instance QEMU runs as
 * another user, and creates them where that user may (SETUP_LIBVIRT_DIR). */
int setup_vm_qemu_dir(struct setup_vm *vm, const char *dir, char *err, size_t errlen);

/* QEMU's arguments, one string each (commas in paths doubled as QEMU's option syntax
 * wants). Returns the count (<= max), or -1 if they would not fit or host RAM has no
 * size. */
int setup_qemu_argv(const struct setup_vm *vm, char args[][SETUP_ARG_MAX], size_t max);

/* One line of shell words: the arguments, single-quoted where the shell would split or
 * expand them. Returns 0, or -1 on a write error. */
int setup_print_qemu_args(FILE *f, const struct setup_vm *vm);

/* The libvirt XML: a <domain> skeleton (well-formed, so xmllint can read it) holding the
 * pieces to merge with `virsh edit`: <memoryBacking> with host RAM, vmkd's own
 * virtio-serial <controller>, the <channel>, and a <qemu:commandline> for QMP with host
 * RAM. Returns 0, or -1 on a write error. */
int setup_print_libvirt(FILE *f, const struct setup_vm *vm);

/* The relay side of the same VM: a relay.conf line "NAME GUEST LISTEN" and the matching
 * `vmkd relay` command line. */
int setup_print_relay_conf(FILE *f, const struct setup_vm *vm);
int setup_print_relay_cmd(FILE *f, const struct setup_vm *vm);

/* How WinDbg or kd (on Windows: KDCOM over TCP, "-k com:ipport=PORT,port=HOST") reaches
 * the debugger endpoint dbg_spec (endpoint.h): directly when it is a TCP listener, and
 * from another machine through an SSH tunnel to local_port (TCP or unix socket alike).
 * prefix starts each line. Returns 0, or -1 for a spec that does not parse. */
int setup_print_windbg(FILE *f, const char *prefix, const char *dbg_spec, int local_port);

#endif
