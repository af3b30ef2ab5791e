/* SPDX-License-Identifier: MIT */
/*
 * relay_reload.h - SIGHUP: read the config file again and apply the difference to a
 * running relay. A VM whose line did not change keeps its sockets, its debugger and its
 * guest connection; a VM that left the file is closed; a changed one is closed and opened
 * again; a new one is opened. A file that does not parse changes nothing.
 */
#ifndef VMKD_RELAY_RELOAD_H
#define VMKD_RELAY_RELOAD_H

#include <stdio.h>

#include "relay_loop.h"

struct relay_reload_result {
	size_t kept, added, removed, failed;
};

/* Applies path to r. log gets one line per change and a summary; hints (NULL: none) the
 * start-up hints of each VM opened. Returns 0, or -1 when the file was refused (err says
 * why; nothing changed). A VM that cannot be opened is counted in failed and logged; the
 * others are served. */
int relay_reload(struct relay *r, const char *path, FILE *log, FILE *hints,
		 struct relay_reload_result *res, char *err, size_t errlen);

#endif
