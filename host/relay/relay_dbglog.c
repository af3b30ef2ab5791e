/* SPDX-License-Identifier: MIT */
/* A VM's DbgPrint log: lines assembled per processor, escaped, timestamped, rotated. */
#include "relay_dbglog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmkd/kd_wire.h"

#define REOPEN_US 1000000u /* a log that cannot be opened is tried again this often */

static void set_error(struct dbglog *l, const char *what, const char *path)
{
	int e = errno;

	/* a path too long for the message is cut: the message is still useful */
	if (snprintf(l->last_error, sizeof(l->last_error), "%s %s: %s", what, path,
		     strerror(e)) < 0)
		l->last_error[0] = '\0';
	l->error_logged = 0;
}

static int open_file(struct dbglog *l)
{
	struct stat sb;

	l->f = fopen(l->path, "ae");
	if (!l->f) {
		set_error(l, "cannot open", l->path);
		return -1;
	}
	l->size = fstat(fileno(l->f), &sb) == 0 ? (uint64_t)sb.st_size : 0;
	return 0;
}

struct dbglog *dbglog_open(const char *path, const struct dbglog_options *opt)
{
	struct dbglog *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	snprintf(l->path, sizeof(l->path), "%s", path ? path : "");
	if (opt)
		l->opt = *opt;
	if (!l->opt.max_bytes)
		l->opt.max_bytes = DBGLOG_MAX_BYTES;
	if (!l->opt.keep)
		l->opt.keep = DBGLOG_KEEP;
	if (!l->opt.flush_us)
		l->opt.flush_us = DBGLOG_FLUSH_US;
	if (l->path[0])
		open_file(l);
	return l;
}

const char *dbglog_take_error(struct dbglog *l)
{
	if (l->error_logged || !l->last_error[0])
		return "";
	l->error_logged = 1;
	return l->last_error;
}

/* NAME.log.(keep-1) -> NAME.log.keep ... NAME.log -> NAME.log.1; a fresh NAME.log. */
static void rotate(struct dbglog *l)
{
	char from[sizeof(l->path) + 16], to[sizeof(l->path) + 16];

	fclose(l->f);
	l->f = NULL;
	for (unsigned i = l->opt.keep; i > 1; i--) {
		snprintf(from, sizeof(from), "%s.%u", l->path, i - 1);
		snprintf(to, sizeof(to), "%s.%u", l->path, i);
		if (rename(from, to) && errno != ENOENT)
			set_error(l, "cannot rotate", from);
	}
	snprintf(to, sizeof(to), "%s.1", l->path);
	if (rename(l->path, to))
		set_error(l, "cannot rotate", l->path);
	l->st.rotations++;
	open_file(l);
}

static void stamp(char *buf, size_t cap, int64_t wall_us)
{
	time_t secs = (time_t)(wall_us / 1000000);
	struct tm tm;

	if (wall_us < 0 || !gmtime_r(&secs, &tm)) {
		snprintf(buf, cap, "1970-01-01T00:00:00.000000Z");
		return;
	}
	size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);

	snprintf(buf + n, cap - n, ".%06uZ", (unsigned)(wall_us % 1000000));
}

static void write_line(struct dbglog *l, uint64_t now, unsigned cpu, struct dbglog_partial *p)
{
	char ts[40];
	int n;

	if (l->opt.on_line)
		l->opt.on_line(l->opt.on_line_ctx, cpu, p->buf, p->len);
	if (!l->path[0]) {
		l->st.lines++;
		goto done;
	}
	if (!l->f && now >= l->retry_at) {
		/* closed by a failed open or rotation: try again, at most once a second */
		if (open_file(l))
			l->retry_at = now + REOPEN_US;
	}
	if (!l->f) {
		l->st.errors++;
		goto done;
	}
	stamp(ts, sizeof(ts), (int64_t)now + l->opt.wall_offset_us);
	if (l->size && l->size + strlen(ts) + p->len + 16 > l->opt.max_bytes) {
		rotate(l);
		if (!l->f) {
			l->retry_at = now + REOPEN_US;
			l->st.errors++;
			goto done;
		}
	}
	n = fprintf(l->f, "%s cpu%u %.*s\n", ts, cpu, (int)p->len, p->buf);
	if (n < 0) {
		set_error(l, "cannot write", l->path);
		l->st.errors++;
		goto done;
	}
	l->size += (uint64_t)n;
	l->st.bytes += (uint64_t)n;
	l->st.lines++;
done:
	p->len = 0;
}

/* Appends one byte of guest text, escaped. */
static void put_escaped(char *out, size_t *n, uint8_t c)
{
	static const char hex[] = "0123456789abcdef";

	if (c >= 0x20 && c < 0x7f && c != '\\') {
		out[(*n)++] = (char)c;
		return;
	}
	out[(*n)++] = '\\';
	switch (c) {
	case '\\':
		out[(*n)++] = '\\';
		break;
	case '\t':
		out[(*n)++] = 't';
		break;
	case '\r':
		out[(*n)++] = 'r';
		break;
	default:
		out[(*n)++] = 'x';
		out[(*n)++] = hex[c >> 4];
		out[(*n)++] = hex[c & 15];
	}
}

void dbglog_print(struct dbglog *l, uint64_t now, unsigned cpu, const uint8_t *text,
		  size_t len)
{
	unsigned slot = cpu < DBGLOG_PROCS ? cpu : DBGLOG_PROCS - 1;
	struct dbglog_partial *p = &l->part[slot];
	uint64_t lines_before = l->st.lines;

	l->st.prints++;
	for (size_t i = 0; i < len; i++) {
		char esc[4];
		size_t n = 0;

		if (text[i] == '\n') {
			write_line(l, now, cpu, p);
			continue;
		}
		put_escaped(esc, &n, text[i]);
		if (p->len + n > sizeof(p->buf)) {
			l->st.cut++;
			write_line(l, now, cpu, p);
		}
		if (!p->len)
			p->since = now;
		memcpy(p->buf + p->len, esc, n);
		p->len += n;
	}
	/* written out by dbglog_poll within DBGLOG_SYNC_US: one write per DbgPrint would cost
	 * the relay a system call per line in a DbgPrint flood */
	if (l->f && !l->dirty && l->st.lines != lines_before) {
		l->dirty = 1;
		l->dirty_since = now;
	}
}

static void sync_file(struct dbglog *l)
{
	if (l->f && fflush(l->f)) {
		set_error(l, "cannot write", l->path);
		l->st.errors++;
	}
	l->dirty = 0;
}

int dbglog_packet(struct dbglog *l, uint64_t now, uint16_t type, const uint8_t *kd,
		  size_t len)
{
	struct kd_debug_io io;

	if (type != KD_PACKET_TYPE_DEBUG_IO || len < sizeof(io))
		return 0;
	memcpy(&io, kd, sizeof(io));
	if (io.api_number != KD_API_PRINT_STRING)
		return 0;
	/* The text is what arrived: a length_of_string beyond it is not trusted. */
	len -= sizeof(io);
	if (io.length_of_string < len)
		len = io.length_of_string;
	dbglog_print(l, now, io.processor, kd + sizeof(io), len);
	return 1;
}

static void flush_older(struct dbglog *l, uint64_t now, uint64_t age, int timeout)
{
	int wrote = 0;

	for (unsigned i = 0; i < DBGLOG_PROCS; i++) {
		struct dbglog_partial *p = &l->part[i];

		if (!p->len || (now >= p->since && now - p->since < age))
			continue;
		if (timeout)
			l->st.timeouts++;
		write_line(l, now, i, p);
		wrote = 1;
	}
	if (wrote)
		sync_file(l);
}

void dbglog_flush(struct dbglog *l, uint64_t now)
{
	flush_older(l, now, 0, 0);
	sync_file(l);
}

void dbglog_poll(struct dbglog *l, uint64_t now)
{
	flush_older(l, now, l->opt.flush_us, 1);
	if (l->dirty && now - l->dirty_since >= DBGLOG_SYNC_US)
		sync_file(l);
}

uint64_t dbglog_deadline(const struct dbglog *l)
{
	uint64_t d = l->dirty ? l->dirty_since + DBGLOG_SYNC_US : DBGLOG_NO_DEADLINE;

	for (unsigned i = 0; i < DBGLOG_PROCS; i++)
		if (l->part[i].len && l->part[i].since + l->opt.flush_us < d)
			d = l->part[i].since + l->opt.flush_us;
	return d;
}

void dbglog_close(struct dbglog *l, uint64_t now)
{
	if (!l)
		return;
	dbglog_flush(l, now);
	if (l->f)
		fclose(l->f);
	free(l);
}

int dbglog_default_dir(char *dir, size_t cap, char *err, size_t errlen)
{
	const char *runtime = getenv("XDG_RUNTIME_DIR");
	int n;

	if (runtime && *runtime == '/')
		n = snprintf(dir, cap, "%s/vmkd", runtime);
	else if (geteuid() == 0)
		n = snprintf(dir, cap, "/var/log/vmkd");
	else {
		snprintf(err, errlen, "no $XDG_RUNTIME_DIR for the DbgPrint log: give --log-dir "
			 "DIR (or --no-dbglog)");
		return -1;
	}
	if (n < 0 || (size_t)n >= cap) {
		snprintf(err, errlen, "log directory name too long");
		return -1;
	}
	return 0;
}

int dbglog_make_dir(const char *dir, char *err, size_t errlen)
{
	struct stat sb;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "cannot create the log directory %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	if (stat(dir, &sb) || !S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "the log directory %s is not a directory", dir);
		return -1;
	}
	return 0;
}
