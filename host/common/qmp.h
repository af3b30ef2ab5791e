/* SPDX-License-Identifier: MIT */
/*
 * qmp.h - a small blocking QMP client: connect to QEMU's monitor socket, negotiate
 * capabilities, run one command at a time. Replies are single JSON lines; asynchronous
 * events met on the way are skipped. Every wait is bounded (QMP_TIMEOUT_MS), every line
 * by QMP_LINE_MAX: QEMU is a peer, not trusted to be sane.
 */
#ifndef VMKD_HOST_QMP_H
#define VMKD_HOST_QMP_H

#include <stddef.h>

#define QMP_TIMEOUT_MS 5000
#define QMP_LINE_MAX   (4u << 20)

struct qmp {
	int fd;
	size_t len, cap;
	char *buf;   /* received bytes, not yet split into lines */
};

/* Connects to unix:PATH (or PATH, or another endpoint spec) and negotiates capabilities,
 * retrying the connect for up to 10 s. 0, or -1 with err. */
int qmp_open(struct qmp *q, const char *spec, char *err, size_t errlen);
/* The same with its own connect budget (an event loop cannot wait 10 s). */
int qmp_open_ms(struct qmp *q, const char *spec, int connect_ms, char *err, size_t errlen);
void qmp_close(struct qmp *q);

/*
 * Sends one command (a JSON object, without the newline) and copies the reply line (the
 * one holding "return" or "error") into reply (NULL / 0: not wanted). Returns 0 for a "return", -EPROTO for an
 * "error" (the line is in reply), another negative errno with err.
 */
int qmp_execute(struct qmp *q, const char *json, char *reply, size_t cap, char *err,
		size_t errlen);

/*
 * Runs an HMP command line through human-monitor-command and copies its decoded output
 * (JSON string escapes undone; output truncated to cap - 1) into out. Returns the output
 * length, or a negative errno with err.
 */
long qmp_hmp(struct qmp *q, const char *cmdline, char *out, size_t cap, char *err,
	     size_t errlen);

/* Decodes the JSON string that follows "key": in a reply line into out (NUL-terminated,
 * truncated to cap - 1). Returns its length, or -1 if there is no such string. Pure. */
long qmp_json_string(const char *line, const char *key, char *out, size_t cap);

#endif
