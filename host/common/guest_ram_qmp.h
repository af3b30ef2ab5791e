/* SPDX-License-Identifier: MIT */
/*
 * guest_ram_qmp.h - maps a running VM's RAM: asks QEMU over QMP which file backs the
 * memory backend object (qom-get mem-path, checked against the file we were told) and
 * where its pieces sit in the guest-physical space (`info mtree -f`), then maps the file.
 */
#ifndef VMKD_HOST_GUEST_RAM_QMP_H
#define VMKD_HOST_GUEST_RAM_QMP_H

#include <stddef.h>

#include "guest_ram.h"
#include "qmp.h"

#define GUEST_RAM_DEFAULT_ID "vmkd-ram"

/* With an open QMP connection. backend_id NULL = GUEST_RAM_DEFAULT_ID. 0, or -1 with err. */
int guest_ram_open_qmp(struct guest_ram *g, struct qmp *q, const char *path,
		       const char *backend_id, int writable, char *err, size_t errlen);

/* Connects to qmp_spec (trying for up to connect_ms), maps, disconnects. */
int guest_ram_open(struct guest_ram *g, const char *qmp_spec, int connect_ms, const char *path,
		   const char *backend_id, int writable, char *err, size_t errlen);

#endif
