/* SPDX-License-Identifier: MIT */
/* .logopen / .logclose: everything the session prints also goes to a file (WinDbg's log). */
#define _GNU_SOURCE /* fopencookie: a FILE that writes to the terminal and the log */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands_int.h"

struct tee {
	FILE *a, *b;
};

static ssize_t tee_write(void *cookie, const char *buf, size_t len)
{
	struct tee *t = cookie;

	fwrite(buf, 1, len, t->a);
	fflush(t->a);
	fwrite(buf, 1, len, t->b);
	return (ssize_t)len; /* a full disk must not stop the debugger */
}

static int tee_close(void *cookie)
{
	(void)cookie;
	return 0;
}

static FILE *tee_open(struct tee *t, FILE *a, FILE *b)
{
	static const cookie_io_functions_t io = { .write = tee_write, .close = tee_close };

	t->a = a;
	t->b = b;
	return fopencookie(t, "w", io);
}

/* An open log: the file and the two tees over it, owned by the context. */
struct cmd_log {
	FILE *file;
	FILE *out, *err;               /* the streams before the log */
	struct tee tout, terr;
};

void cmd_log_close(struct cmd_ctx *c)
{
	struct cmd_log *l = c->log;

	if (!l)
		return;
	fflush(c->out);
	fflush(c->err);
	fclose(c->out);
	fclose(c->err);
	c->out = l->out;
	c->err = l->err;
	fprintf(l->file, "Closing open log file\n");
	fclose(l->file);
	free(l);
	c->log = NULL;
}

void cmd_log_line(struct cmd_ctx *c, const char *prompt, const char *line)
{
	if (c->log)
		fprintf(((struct cmd_log *)c->log)->file, "%s%s\n", prompt, line);
}

int cmdh_logopen(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	struct cmd_log *l;
	int append = 0, i = 1;

	if (i < argc && !strcmp(argv[i], "/t")) /* not supported: say so rather than guess */
		return cmd_fail(c, "/t (timestamped names) is not supported");
	if (i < argc && !strcmp(argv[i], "/a")) {
		append = 1;
		i++;
	}
	if (i + 1 != argc)
		return cmd_fail(c, "usage: %s", cmd->usage);
	cmd_log_close(c);
	l = calloc(1, sizeof(*l));
	if (!l)
		return cmd_fail(c, "out of memory");
	l->file = fopen(argv[i], append ? "a" : "w");
	if (!l->file) {
		free(l);
		return cmd_fail(c, "cannot open %s: %s", argv[i], strerror(errno));
	}
	l->out = c->out;
	l->err = c->err;
	c->out = tee_open(&l->tout, l->out, l->file);
	c->err = tee_open(&l->terr, l->err, l->file);
	if (!c->out || !c->err) {
		if (c->out)
			fclose(c->out);
		if (c->err)
			fclose(c->err);
		c->out = l->out;
		c->err = l->err;
		fclose(l->file);
		free(l);
		return cmd_fail(c, "cannot set up the log");
	}
	c->log = l;
	fprintf(c->out, "Opened log file '%s'\n", argv[i]);
	return 0;
}

int cmdh_logclose(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	(void)cmd, (void)argc, (void)argv;
	if (!c->log)
		return cmd_fail(c, "no log file open");
	cmd_log_close(c);
	fprintf(c->out, "Closing open log file\n");
	return 0;
}
