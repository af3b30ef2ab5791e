/* SPDX-License-Identifier: MIT */
/* dump_kdinfo.h - the facts a Windows dump header needs, asked from a stopped kernel over
 * KD (host/client/session.h): GetVersion, KDDEBUGGER_DATA64, the stopped processor's
 * CONTEXT and CR3 (control space KSPECIAL_REGISTERS). */
#ifndef VMKD_HOST_DUMP_KDINFO_H
#define VMKD_HOST_DUMP_KDINFO_H

#include <stddef.h>

#include "../client/session.h"
#include "dump_windows.h"

/* The session must be stopped. 0, or -1 with err. */
int dump_win_from_kd(struct session *s, struct dump_win_info *info, char *err, size_t errlen);

#endif
