/* SPDX-License-Identifier: MIT */
/* VM exit counters through the shared QMP client (host/common/qmp.h). */
#include "bench_qmp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char query_stats[] =
	"{\"execute\":\"query-stats\",\"arguments\":{\"target\":\"vcpu\","
	"\"providers\":[{\"provider\":\"kvm\",\"names\":[\"exits\",\"insn_emulation\"]}]}}";

int bench_qmp_open(struct bench_qmp *q, const char *spec, char *err, size_t errlen)
{
	if (qmp_open(&q->q, spec, err, errlen)) {
		q->fd = -1;
		return -1;
	}
	q->fd = q->q.fd;
	return 0;
}

void bench_qmp_close(struct bench_qmp *q)
{
	if (q->fd >= 0)
		qmp_close(&q->q);
	q->fd = -1;
}

/* Sums every "value" that follows the quoted name (one per vCPU). Returns how many. */
static int sum_stat(const char *reply, const char *quoted_name, uint64_t *sum)
{
	const char *p = reply;
	int found = 0;

	*sum = 0;
	while ((p = strstr(p, quoted_name))) {
		char *end;
		uint64_t v;

		p = strstr(p, "\"value\"");
		if (!p)
			break;
		p = strchr(p, ':');
		if (!p)
			break;
		v = strtoull(p + 1, &end, 10);
		if (end == p + 1)
			break;
		*sum += v;
		found++;
		p = end;
	}
	return found;
}

int bench_qmp_counts(struct bench_qmp *q, struct bench_qmp_counts *c, char *err,
		     size_t errlen)
{
	int rc;

	if (q->fd < 0)
		return -EBADF;
	rc = qmp_execute(&q->q, query_stats, q->line, sizeof(q->line), err, errlen);
	if (rc)
		return rc;
	/* {"return": [{"provider": "kvm", "stats": [{"name": "exits", "value": N}, ...]}]} */
	if (!sum_stat(q->line, "\"exits\"", &c->exits)) {
		snprintf(err, errlen, "QEMU reports no KVM vCPU stats (TCG, or no binary stats)");
		return -ENOTSUP;
	}
	sum_stat(q->line, "\"insn_emulation\"", &c->insn_emulation);
	return 0;
}
