/* SPDX-License-Identifier: MIT */
/* Option values the vmkd subcommands share. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>

int cli_seconds(const char *s, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	/* written so that NaN fails too */
	if (errno || end == s || *end || !(v >= 0 && v <= max))
		return -1;
	*out = v;
	return 0;
}
