/* SPDX-License-Identifier: MIT */
/*
 * `vmkd dump`: guest physical memory to a file. From the RAM mapped on the host (QMP tells
 * the layout; the guest is paused with QMP `stop` for a consistent image and resumed with
 * `cont` only if it was running), or through KD ReadPhysicalMemory requests (a debugger
 * endpoint; the guest is broken in and continued), for comparison.
 */
#include "dump.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../client/session.h"
#include "../common/guest_ram_qmp.h"
#include "../common/qmp.h"
#include "dump_format.h"
#include "dump_kdinfo.h"
#include "dump_windows.h"

struct dump_args {
	const char *qmp, *ram, *ram_id, *kd, *out, *inspect;
	enum dump_format fmt;
	int have_range, no_pause, quiet, dense;
	uint64_t start, len;
};

struct progress {
	int tty;
	double t0, last;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "\r  128/256 MiB  50%  1234.5 MB/s  0:03 left" at most 10 times a second. */
static void show_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	double t = now_s(), el = t - p->t0, rate;
	unsigned left;

	if (!p->tty || (t - p->last < 0.1 && done < total))
		return;
	p->last = t;
	rate = el > 0 ? (double)done / el : 0;
	left = rate > 0 ? (unsigned)((double)(total - done) / rate) : 0;
	fprintf(stderr, "\r  %llu/%llu MiB  %3u%%  %.1f MB/s  %u:%02u left ",
		(unsigned long long)(done >> 20), (unsigned long long)(total >> 20),
		total ? (unsigned)(done * 100 / total) : 100, rate / 1e6, left / 60, left % 60);
	if (done == total)
		fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmkd dump --qmp SOCKET --ram FILE [--ram-id ID] [OPTIONS] -o OUT\n"
		"       vmkd dump --kd ENDPOINT --range START:LEN [OPTIONS] -o OUT\n"
		"       vmkd dump -f dmp --kd ENDPOINT --qmp SOCKET --ram FILE [OPTIONS] -o OUT\n"
		"       vmkd dump --inspect FILE.dmp\n\n"
		"Writes guest physical memory to OUT. With --ram, straight from the VM's shared\n"
		"memory backend file (-object memory-backend-file,...,share=on); QEMU's QMP socket\n"
		"gives the layout, and the guest is paused (QMP stop) while the file is written and\n"
		"resumed after if it was running. With --kd, through KD ReadPhysicalMemory requests\n"
		"on a debugger endpoint (vmkd relay's or a serial port's): slower, for comparison.\n\n"
		"  -Q, --qmp SOCKET       QEMU's QMP socket (unix:PATH)\n"
		"  -m, --ram FILE         the memory backend file\n"
		"      --ram-id ID        the backend object's id (default vmkd-ram)\n"
		"  -k, --kd ENDPOINT      read through KD instead (unix:PATH or tcp:HOST:PORT)\n"
		"  -f, --format FMT       raw (file offset = physical address, holes sparse),\n"
		"                         elf (ELF64 core, one PT_LOAD per RAM range; default) or\n"
		"                         dmp (Windows full kernel memory dump: the header from\n"
		"                         KD on --kd, which breaks in and continues after; the\n"
		"                         pages from host RAM)\n"
		"      --inspect FILE     print a .dmp file's header, field by field, and check it\n"
		"  -r, --range START:LEN  only this physical range (hex or decimal)\n"
		"      --no-pause         do not stop the guest (the image may be inconsistent)\n"
		"      --no-sparse        write every page; by default all-zero pages are left\n"
		"                         as holes in OUT (they read back as zeros)\n"
		"  -o, --output OUT       the file to write\n"
		"  -q, --quiet            no progress bar\n");
}

static int parse_range(const char *s, struct dump_args *a)
{
	char *end;

	errno = 0;
	a->start = strtoull(s, &end, 0);
	if (errno || *end != ':')
		return -1;
	a->len = strtoull(end + 1, &end, 0);
	if (errno || *end || !a->len || a->start + a->len < a->start)
		return -1;
	a->have_range = 1;
	return 0;
}

static int parse_args(int argc, char **argv, struct dump_args *a)
{
	static const struct option longopts[] = {
		{ "qmp", required_argument, NULL, 'Q' },
		{ "ram", required_argument, NULL, 'm' },
		{ "ram-id", required_argument, NULL, 'I' },
		{ "kd", required_argument, NULL, 'k' },
		{ "format", required_argument, NULL, 'f' },
		{ "range", required_argument, NULL, 'r' },
		{ "no-pause", no_argument, NULL, 'P' },
		{ "no-sparse", no_argument, NULL, 'S' },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "inspect", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->fmt = DUMP_ELF;
	optind = 1;
	while ((c = getopt_long(argc, argv, "Q:m:k:f:r:o:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'Q': a->qmp = optarg; break;
		case 'm': a->ram = optarg; break;
		case 'I': a->ram_id = optarg; break;
		case 'k': a->kd = optarg; break;
		case 'P': a->no_pause = 1; break;
		case 'S': a->dense = 1; break;
		case 'o': a->out = optarg; break;
		case 'q': a->quiet = 1; break;
		case 'i': a->inspect = optarg; break;
		case 'f':
			if (dump_format_parse(optarg, &a->fmt)) {
				fprintf(stderr, "vmkd dump: --format is raw, elf or dmp\n");
				return 2;
			}
			break;
		case 'r':
			if (parse_range(optarg, a)) {
				fprintf(stderr, "vmkd dump: --range wants START:LEN, LEN > 0\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (a->inspect && optind == argc)
		return -1;
	if (optind < argc || !a->out ||
	    (a->fmt == DUMP_DMP ? !(a->kd && a->qmp && a->ram) :
	     (!a->kd == !(a->qmp && a->ram)) || (a->kd && !a->have_range))) {
		fprintf(stderr, "vmkd dump: give -o OUT and either --qmp + --ram, or --kd + "
				"--range (-f dmp: --kd + --qmp + --ram)\n\n");
		usage(stderr);
		return 2;
	}
	return -1;
}

/* The layout cut down to [start, start + len). */
static void clip(struct guest_ram_layout *l, uint64_t start, uint64_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < l->count; i++) {
		struct guest_ram_range r = l->r[i];
		uint64_t lo = r.gpa > start ? r.gpa : start;
		uint64_t hi = r.gpa + r.size < start + len ? r.gpa + r.size : start + len;

		if (lo >= hi)
			continue;
		r.offset += lo - r.gpa;
		r.gpa = lo;
		r.size = hi - lo;
		l->r[n++] = r;
	}
	l->count = n;
}

static const uint8_t *map_ram(void *ctx, uint64_t gpa, size_t len)
{
	return guest_ram_ptr(ctx, gpa, len);
}

static int read_kd(void *ctx, uint64_t gpa, void *buf, size_t len, char *err, size_t errlen)
{
	struct session *s = ctx;
	size_t got = 0;
	int rc = session_read_physical(s, gpa, buf, len, &got);

	if (rc || got != len) {
		snprintf(err, errlen, "KD read at %#llx: %zu of %zu bytes (%s)",
			 (unsigned long long)gpa, got, len, rc ? session_error(s) : "partial");
		return -1;
	}
	return 0;
}

/* QMP query-status: 1 running, 0 not, -1 error. */
static int vm_running(struct qmp *q, char *err, size_t errlen)
{
	char reply[512];

	if (qmp_execute(q, "{\"execute\":\"query-status\"}", reply, sizeof(reply), err, errlen))
		return -1;
	return strstr(reply, "\"running\": true") || strstr(reply, "\"running\":true") ? 1 : 0;
}

static int write_out(const struct dump_args *a, struct dump_source *src, char *err,
		     size_t errlen)
{
	int fd = open(a->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", a->out, strerror(errno));
		return -1;
	}
	rc = dump_write(fd, a->fmt, src, err, errlen);
	if (close(fd) < 0 && !rc) {
		snprintf(err, errlen, "%s: %s", a->out, strerror(errno));
		rc = -1;
	}
	return rc;
}

/* A KD session on a stopped guest: connects, breaks in, waits for the stop. */
static struct session *kd_stopped(const char *spec, char *err, size_t errlen)
{
	struct session_options opt;
	struct session_stop stop;
	struct session *s;

	session_default_options(&opt);
	opt.break_in = 1;
	s = session_open(spec, &opt, err, errlen);
	if (!s)
		return NULL;
	if (session_wait_stop(s, 30000000, &stop)) {
		snprintf(err, errlen, "no stop after the break-in: %s", session_error(s));
		session_close(s);
		return NULL;
	}
	return s;
}

/* -f dmp: the DUMP_HEADER64 from KD facts, then the guest continues. */
static int dmp_header(const struct dump_args *a, const struct guest_ram_layout *l,
		      uint8_t *hdr, char *err, size_t errlen)
{
	struct dump_win_info info;
	struct session *s = kd_stopped(a->kd, err, errlen);
	int rc;

	if (!s)
		return -1;
	rc = dump_win_from_kd(s, &info, err, errlen);
	if (!rc)
		rc = dump_win_build(hdr, &info, l, err, errlen);
	/* The pages come from host RAM with the vCPUs paused, so the kernel may run on:
	 * what it changes meanwhile is what a live dump shows anyway. */
	if (session_go(s) && !rc) {
		snprintf(err, errlen, "could not continue the guest: %s", session_error(s));
		rc = -1;
	}
	session_close(s);
	return rc;
}

/* l: the caller's, it outlives the dump (the summary counts it). */
static int dump_host(const struct dump_args *a, struct guest_ram_layout *l,
		     struct dump_source *src, char *err, size_t errlen, double *paused)
{
	static uint8_t hdr[DMP_HEADER_SIZE];
	struct guest_ram g;
	struct qmp q;
	int running = 0, rc = -1;
	double t;

	if (qmp_open(&q, a->qmp, err, errlen))
		return -1;
	if (guest_ram_open_qmp(&g, &q, a->ram, a->ram_id, 0, err, errlen))
		goto out_qmp;
	*l = g.layout;
	if (a->have_range)
		clip(l, a->start, a->len);
	if (a->fmt == DUMP_DMP) {
		if (dmp_header(a, l, hdr, err, errlen))
			goto out;
		src->prefix = hdr;
		src->prefix_len = sizeof(hdr);
	}
	src->layout = l;
	src->map = map_ram;
	src->ctx = &g;
	if (!a->no_pause) {
		running = vm_running(&q, err, errlen);
		if (running < 0)
			goto out;
		if (running && qmp_execute(&q, "{\"execute\":\"stop\"}", NULL, 0, err, errlen))
			goto out;
	}
	t = now_s();
	rc = write_out(a, src, err, errlen);
	*paused = now_s() - t;
	if (running == 1) {
		char e2[256];

		if (qmp_execute(&q, "{\"execute\":\"cont\"}", NULL, 0, e2, sizeof(e2))) {
			fprintf(stderr, "vmkd dump: could not resume the guest: %s\n", e2);
			rc = -1;
		}
	}
out:
	guest_ram_unmap(&g);
out_qmp:
	qmp_close(&q);
	return rc;
}

static int dump_kd(const struct dump_args *a, struct guest_ram_layout *l,
		   struct dump_source *src, char *err, size_t errlen)
{
	struct session *s = kd_stopped(a->kd, err, errlen);
	int rc;

	if (!s)
		return -1;
	memset(l, 0, sizeof(*l));
	l->count = 1;
	l->r[0].gpa = a->start;
	l->r[0].size = a->len;
	src->layout = l;
	src->read = read_kd;
	src->ctx = s;
	src->chunk = 64 * KD_MANIPULATE_MAX_DATA;
	rc = write_out(a, src, err, errlen);
	if (session_go(s) && !rc) {
		snprintf(err, errlen, "could not continue the guest: %s", session_error(s));
		rc = -1;
	}
	session_close(s);
	return rc;
}

/* --inspect: the header read back by dump_win_parse, one field a line. */
static int inspect(const char *path)
{
	static uint8_t hdr[DMP_HEADER_SIZE];
	struct dump_win_header h;
	char err[256];
	long size;
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f) {
		fprintf(stderr, "vmkd dump: %s: %s\n", path, strerror(errno));
		return 1;
	}
	n = fread(hdr, 1, sizeof(hdr), f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fclose(f);
	if (dump_win_parse(hdr, n, size > 0 ? (uint64_t)size : 0, &h, err, sizeof(err))) {
		fprintf(stderr, "vmkd dump: %s: %s\n", path, err);
		return 1;
	}
	printf("signature: PAGEDU64\nversion: %u.%u\nmachine: %x\nprocessors: %u\n"
	       "DirectoryTableBase: %#llx\nPfnDataBase: %#llx\nPsLoadedModuleList: %#llx\n"
	       "PsActiveProcessHead: %#llx\nKdDebuggerDataBlock: %#llx\n"
	       "exception: %#x at %#llx\ncontext: rip %#llx rsp %#llx cs %#x\n"
	       "dump type: %u (full)\nrequired: %#llx\nruns: %u, %llu pages\n",
	       h.info.major, h.info.minor, h.info.machine, h.info.number_processors,
	       (unsigned long long)h.info.dtb, (unsigned long long)h.info.pfn_database,
	       (unsigned long long)h.info.ps_loaded_module_list,
	       (unsigned long long)h.info.ps_active_process_head,
	       (unsigned long long)h.info.kd_debugger_data_block, h.info.exception_code,
	       (unsigned long long)h.info.exception_address,
	       (unsigned long long)h.info.context.rip, (unsigned long long)h.info.context.rsp,
	       h.info.context.seg_cs, h.dump_type, (unsigned long long)h.required_dump_space,
	       h.number_of_runs, (unsigned long long)h.number_of_pages);
	for (uint32_t i = 0; i < h.number_of_runs; i++)
		printf("run %u: page %#llx, %llu pages, file offset %#llx\n", i,
		       (unsigned long long)h.runs[i].base_page,
		       (unsigned long long)h.runs[i].page_count,
		       (unsigned long long)dump_win_page_offset(&h, h.runs[i].base_page << 12));
	printf("comment: %s\n", h.comment);
	return 0;
}

int dump_main(int argc, char **argv)
{
	static struct guest_ram_layout layout;
	struct progress prog;
	struct dump_source src;
	struct dump_args a;
	uint64_t zero = 0;
	double t0, el, paused = 0;
	char err[512];
	int rc;

	rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		return rc;
	if (a.inspect)
		return inspect(a.inspect);
	memset(&src, 0, sizeof(src));
	memset(&prog, 0, sizeof(prog));
	prog.tty = !a.quiet && isatty(STDERR_FILENO);
	prog.t0 = t0 = now_s();
	src.progress = show_progress;
	src.progress_ctx = &prog;
	src.sparse = !a.dense;
	src.zero_bytes = &zero;
	rc = a.kd && a.fmt != DUMP_DMP ? dump_kd(&a, &layout, &src, err, sizeof(err)) :
		    dump_host(&a, &layout, &src, err, sizeof(err), &paused);
	if (rc) {
		fprintf(stderr, "vmkd dump: %s\n", err);
		return 1;
	}
	el = now_s() - t0;
	printf("dump: %llu KiB in %zu range%s -> %s (%s) in %.3f s, %.1f MB/s%s\n",
	       (unsigned long long)(guest_ram_total(src.layout) >> 10), src.layout->count,
	       src.layout->count == 1 ? "" : "s", a.out, a.fmt == DUMP_ELF ? "elf" : a.fmt == DUMP_DMP ? "dmp" : "raw", el,
	       el > 0 ? (double)guest_ram_total(src.layout) / el / 1e6 : 0.0,
	       a.kd && a.fmt != DUMP_DMP ? " through KD" : "");
	if (src.sparse)
		printf("dump: %llu KiB of all-zero pages left as holes (--no-sparse writes them)\n",
		       (unsigned long long)(zero >> 10));
	if ((!a.kd || a.fmt == DUMP_DMP) && !a.no_pause)
		printf("dump: guest paused for %.3f s\n", paused);
	return 0;
}
