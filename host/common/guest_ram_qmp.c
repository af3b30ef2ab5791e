/* SPDX-License-Identifier: MIT */
/* The RAM of a running VM, located through QMP and mapped. */
#include "guest_ram_qmp.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* QEMU must say that the backend object uses this very file: mapping another VM's file by
 * a typo would show a consistent but wrong memory. */
static int check_mem_path(struct qmp *q, const char *path, const char *id, char *err,
			  size_t errlen)
{
	char cmd[256], reply[PATH_MAX + 128], qpath[PATH_MAX], real_q[PATH_MAX], real_p[PATH_MAX];

	snprintf(cmd, sizeof(cmd),
		 "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/objects/%s\","
		 "\"property\":\"mem-path\"}}", id);
	if (qmp_execute(q, cmd, reply, sizeof(reply), err, errlen)) {
		snprintf(err, errlen, "QEMU has no file-backed memory object '%s' "
			 "(-object memory-backend-file,id=%s,...,share=on)", id, id);
		return -1;
	}
	if (qmp_json_string(reply, "return", qpath, sizeof(qpath)) <= 0) {
		snprintf(err, errlen, "memory object '%s' has no mem-path", id);
		return -1;
	}
	if (!realpath(qpath, real_q) || !realpath(path, real_p) || strcmp(real_q, real_p)) {
		snprintf(err, errlen, "memory object '%s' uses %s, not %s", id, qpath, path);
		return -1;
	}
	return 0;
}

int guest_ram_open_qmp(struct guest_ram *g, struct qmp *q, const char *path,
		       const char *backend_id, int writable, char *err, size_t errlen)
{
	const char *id = backend_id && *backend_id ? backend_id : GUEST_RAM_DEFAULT_ID;
	struct guest_ram_layout layout;
	char *text;
	long n;
	int rc = -1;

	if (strlen(id) >= GUEST_RAM_ID_MAX || strpbrk(id, "\"\\/")) {
		snprintf(err, errlen, "bad memory backend id '%s'", id);
		return -1;
	}
	if (check_mem_path(q, path, id, err, errlen))
		return -1;
	text = malloc(QMP_LINE_MAX);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = qmp_hmp(q, "info mtree -f", text, QMP_LINE_MAX, err, errlen);
	if (n >= 0 &&
	    !guest_ram_parse_mtree(text, (size_t)n, id, &layout, err, errlen) &&
	    !guest_ram_map(g, path, &layout, writable, err, errlen))
		rc = 0;
	free(text);
	return rc;
}

int guest_ram_open(struct guest_ram *g, const char *qmp_spec, int connect_ms, const char *path,
		   const char *backend_id, int writable, char *err, size_t errlen)
{
	struct qmp q;
	int rc;

	if (qmp_open_ms(&q, qmp_spec, connect_ms, err, errlen))
		return -1;
	rc = guest_ram_open_qmp(g, &q, path, backend_id, writable, err, errlen);
	qmp_close(&q);
	return rc;
}
