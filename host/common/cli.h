/* SPDX-License-Identifier: MIT */
/* cli.h - option values the vmkd subcommands share. */
#ifndef VMKD_HOST_CLI_H
#define VMKD_HOST_CLI_H

/* A number of seconds ("10", "0.5") from 0 to max: 0, or -1 for anything else (trailing
 * text, a negative number, NaN, out of range). */
int cli_seconds(const char *s, double max, double *out);

#endif
