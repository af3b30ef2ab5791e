/* SPDX-License-Identifier: MIT */
/* relay_hints.h - the start-up text: the exact QEMU, libvirt and debugger command lines. */
#ifndef VMKD_RELAY_HINTS_H
#define VMKD_RELAY_HINTS_H

#include <stdio.h>

#include "relay_vm.h"

/* Prints the lines for one VM. dbg_port: the TCP port the debugger listener is bound to
 * (the configured one, or the one the kernel chose for port 0); ignored for unix. */
void relay_print_hints(FILE *f, const struct relay_vm_config *vm, int dbg_port);

#endif
