/* SPDX-License-Identifier: MIT */
/*
 * DbgPrint lines to the systemd journal (host/relay/relay_journal.h): the native-protocol
 * encoder (plain and binary-safe fields, key rules, bounds), and end to end through the
 * DbgPrint log and the relay's tap into a fake journald (a unix datagram socket this test
 * binds): one entry per line with the VM's name and processor, drops counted (no socket,
 * a full queue) and never a wait.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmkd/kd_api.h"

#include "../../host/relay/relay_dbglog.h"
#include "../../host/relay/relay_journal.h"
#include "../../host/relay/relay_log.h"
#include "../../host/relay/relay_tap.h"

/* ---- the encoder ---------------------------------------------------------------------- */

static void encodes_plain_fields(void **state)
{
	struct journal_field f[] = {
		{ "MESSAGE", "hello world", 11 },
		{ "VMKD_VM", "win10", 5 },
		{ "EMPTY", "", 0 },
	};
	static const char want[] = "MESSAGE=hello world\nVMKD_VM=win10\nEMPTY=\n";
	uint8_t out[128];
	size_t n;

	(void)state;
	n = journal_encode(out, sizeof(out), f, 3);
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(out, want, n);
}

static void encodes_newlines_binary_safe(void **state)
{
	static const char value[] = "two\nlines\0and a NUL";
	struct journal_field f[] = {
		{ "A", "x", 1 },
		{ "MESSAGE", value, sizeof(value) - 1 },
	};
	uint8_t out[128], want[128];
	size_t n, w = 0, len = sizeof(value) - 1;

	(void)state;
	memcpy(want, "A=x\nMESSAGE\n", 12);
	w = 12;
	for (unsigned b = 0; b < 8; b++)
		want[w++] = (uint8_t)(len >> (8 * b)); /* 64-bit little endian */
	memcpy(want + w, value, len);
	w += len;
	want[w++] = '\n';
	n = journal_encode(out, sizeof(out), f, 2);
	assert_int_equal(n, w);
	assert_memory_equal(out, want, w);
	assert_int_equal(out[12], len);
	assert_int_equal(out[13], 0);
}

static void refuses_bad_keys(void **state)
{
	static const char *const bad[] = { "", "_TRUSTED", "lower", "WITH=EQ", "A-B",
					   "K\n", "ÄÖ" };
	char longkey[JOURNAL_KEY_MAX + 2];
	uint8_t out[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct journal_field f = { bad[i], "v", 1 };

		assert_false(journal_key_valid(bad[i]));
		assert_int_equal(journal_encode(out, sizeof(out), &f, 1), 0);
	}
	assert_false(journal_key_valid(NULL));
	memset(longkey, 'K', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	assert_false(journal_key_valid(longkey));
	longkey[JOURNAL_KEY_MAX] = '\0';
	assert_true(journal_key_valid(longkey));
	assert_true(journal_key_valid("VMKD_CPU2"));
}

static void bounded_by_cap(void **state)
{
	struct journal_field f[] = { { "MESSAGE", "0123456789", 10 } };
	struct journal_field nl[] = { { "M", "a\nb", 3 } };
	uint8_t out[64];

	(void)state;
	/* "MESSAGE=0123456789\n" is 19 bytes: 18 do not hold it, 19 do. */
	memset(out, 0xee, sizeof(out));
	assert_int_equal(journal_encode(out, 18, f, 1), 0);
	assert_int_equal(journal_encode(out, 19, f, 1), 19);
	assert_int_equal(out[19], 0xee);
	/* "M\n" + 8 + "a\nb" + "\n" = 14 */
	assert_int_equal(journal_encode(out, 13, nl, 1), 0);
	assert_int_equal(journal_encode(out, 14, nl, 1), 14);
	/* A length that would wrap the arithmetic is refused, not written. */
	f[0].len = SIZE_MAX - 4;
	assert_int_equal(journal_encode(out, sizeof(out), f, 1), 0);
}

/* ---- a fake journald ------------------------------------------------------------------ */

struct fake {
	char dir[64];
	char path[108];
	int fd;
};

static int fake_setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/vmkd-test-journal.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/socket", f->dir);
	f->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(f->fd >= 0);
	memcpy(sa.sun_path, f->path, strlen(f->path) + 1);
	assert_int_equal(bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	*state = f;
	return 0;
}

static int fake_teardown(void **state)
{
	struct fake *f = *state;

	if (f->fd >= 0)
		close(f->fd);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* The next datagram (non-blocking); its length, or -1 when none waits. */
static ssize_t fake_recv(struct fake *f, uint8_t *buf, size_t cap)
{
	return recv(f->fd, buf, cap, MSG_DONTWAIT);
}

/* Field key's value in a datagram of plain fields, as a string ("" if absent). */
static const char *field(const uint8_t *dgram, size_t len, const char *key, char *out,
			 size_t cap)
{
	size_t klen = strlen(key), i = 0;

	out[0] = '\0';
	while (i < len) {
		const uint8_t *eol = memchr(dgram + i, '\n', len - i);
		size_t l = eol ? (size_t)(eol - (dgram + i)) : len - i;

		if (l > klen && dgram[i + klen] == '=' && !memcmp(dgram + i, key, klen)) {
			size_t v = l - klen - 1 < cap - 1 ? l - klen - 1 : cap - 1;

			memcpy(out, dgram + i + klen + 1, v);
			out[v] = '\0';
			return out;
		}
		i += l + 1;
	}
	return out;
}

static void lines_reach_the_socket(void **state)
{
	struct fake *f = *state;
	char err[128], v[256];
	uint8_t buf[JOURNAL_ENTRY_MAX];
	struct journal *j = journal_open(f->path, "vm-a", err, sizeof(err));
	ssize_t n;

	assert_non_null(j);
	assert_int_equal(journal_send_line(j, 3, "text of the line", 16), 0);
	n = fake_recv(f, buf, sizeof(buf));
	assert_true(n > 0);
	assert_string_equal(field(buf, (size_t)n, "MESSAGE", v, sizeof(v)), "text of the line");
	assert_string_equal(field(buf, (size_t)n, "VMKD_VM", v, sizeof(v)), "vm-a");
	assert_string_equal(field(buf, (size_t)n, "VMKD_CPU", v, sizeof(v)), "3");
	assert_string_equal(field(buf, (size_t)n, "SYSLOG_IDENTIFIER", v, sizeof(v)), "vmkd");
	assert_string_equal(field(buf, (size_t)n, "PRIORITY", v, sizeof(v)), "6");
	assert_true(fake_recv(f, buf, sizeof(buf)) < 0);
	assert_int_equal(j->st.sent, 1);
	assert_int_equal(j->st.dropped, 0);
	journal_close(j);
}

static void missing_socket_is_counted(void **state)
{
	struct fake *f = *state;
	char err[128], path[128], e[256];
	struct journal *j;

	snprintf(path, sizeof(path), "%s/absent", f->dir);
	j = journal_open(path, "vm-b", err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_send_line(j, 0, "lost", 4), -1);
	assert_int_equal(journal_send_line(j, 0, "lost", 4), -1);
	assert_int_equal(j->st.dropped, 2);
	assert_int_equal(j->st.sent, 0);
	/* Reported once, with the reason. */
	assert_non_null(strstr(journal_take_error(j, e, sizeof(e)), "No such file"));
	assert_string_equal(journal_take_error(j, e, sizeof(e)), "");
	journal_close(j);

	/* A path no sockaddr holds is refused at open. */
	memset(path, 'p', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	assert_null(journal_open(path, "vm-b", err, sizeof(err)));
	assert_non_null(strstr(err, "too long"));
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A journald that does not read: the sender drops and counts, and never waits. */
static void full_queue_drops_without_waiting(void **state)
{
	struct fake *f = *state;
	char err[128], line[1024];
	uint8_t buf[JOURNAL_ENTRY_MAX];
	struct journal *j = journal_open(f->path, "vm-c", err, sizeof(err));
	uint64_t t0, got = 0;
	unsigned sent = 0, tries = 20000;

	assert_non_null(j);
	memset(line, 'x', sizeof(line));
	t0 = now_us();
	for (unsigned i = 0; i < tries; i++)
		sent += journal_send_line(j, 0, line, sizeof(line)) == 0;
	/* Every call returned (the test would hang otherwise); some did not fit. */
	assert_true(now_us() - t0 < 30u * 1000000u);
	assert_int_equal(j->st.sent + j->st.dropped, tries);
	assert_int_equal(j->st.sent, sent);
	assert_true(j->st.dropped > 0);
	assert_int_equal(j->last_errno, EAGAIN);
	/* What was sent is all there, whole. */
	while (fake_recv(f, buf, sizeof(buf)) > 0)
		got++;
	assert_int_equal(got, sent);
	/* Read empty: it takes lines again. */
	assert_int_equal(journal_send_line(j, 0, "again", 5), 0);
	journal_close(j);
}

/* Through the DbgPrint log's line hook, with no log file: lines joined across DbgPrints
 * per processor, one entry each, escaped as in the file. */
static void journal_hook(void *ctx, unsigned cpu, const char *line, size_t len)
{
	journal_send_line(ctx, cpu, line, len);
}

static void dbglog_lines_to_journal(void **state)
{
	struct fake *f = *state;
	char err[128], v[256];
	uint8_t buf[JOURNAL_ENTRY_MAX];
	struct journal *j = journal_open(f->path, "vm-d", err, sizeof(err));
	struct dbglog_options o = { .on_line = journal_hook };
	static const char *const want[][2] = { { "2", "b" }, { "0", "a\\\\c" }, { "0", "d" } };
	struct dbglog *l;
	ssize_t n;

	assert_non_null(j);
	o.on_line_ctx = j;
	l = dbglog_open(NULL, &o);
	assert_non_null(l);
	dbglog_print(l, 0, 0, (const uint8_t *)"a\\", 2);
	dbglog_print(l, 1, 2, (const uint8_t *)"b\n", 2);
	dbglog_print(l, 2, 0, (const uint8_t *)"c\nd\n", 4);
	assert_int_equal(l->st.lines, 3);
	assert_int_equal(l->st.errors, 0);
	for (size_t i = 0; i < 3; i++) {
		n = fake_recv(f, buf, sizeof(buf));
		assert_true(n > 0);
		assert_string_equal(field(buf, (size_t)n, "VMKD_CPU", v, sizeof(v)), want[i][0]);
		assert_string_equal(field(buf, (size_t)n, "MESSAGE", v, sizeof(v)), want[i][1]);
		assert_string_equal(field(buf, (size_t)n, "VMKD_VM", v, sizeof(v)), "vm-d");
	}
	assert_true(fake_recv(f, buf, sizeof(buf)) < 0);
	/* A partial line goes out when the log is closed (the guest left). */
	dbglog_print(l, 3, 5, (const uint8_t *)"tail", 4);
	dbglog_close(l, 4);
	n = fake_recv(f, buf, sizeof(buf));
	assert_true(n > 0);
	assert_string_equal(field(buf, (size_t)n, "MESSAGE", v, sizeof(v)), "tail");
	assert_int_equal(j->st.sent, 4);
	journal_close(j);
}

/* The relay's tap with --journal and no log directory: a DbgPrint KD packet from the guest
 * becomes one journal entry. */
static void tap_sends_prints(void **state)
{
	struct fake *f = *state;
	struct relay_log rlog;
	struct relay_tap_options o = { .journal = f->path };
	struct relay_tap *t;
	struct kd_api_msg msg;
	uint8_t kd[512], buf[JOURNAL_ENTRY_MAX];
	char err[128], v[256];
	ssize_t n;

	rlog.f = NULL;
	rlog.t0 = 0;
	t = relay_tap_new("vm-tap", &o, &rlog, 0, err, sizeof(err));
	assert_non_null(t);
	assert_non_null(t->journal);
	assert_non_null(t->dbglog);
	kd_api_build_print(&msg, 1, "half ", 5);
	memcpy(kd, &msg.u, msg.hdr_len);
	memcpy(kd + msg.hdr_len, msg.data, msg.data_len);
	relay_tap_on_guest_kd(t, 10, 0, msg.type, kd, msg.hdr_len + msg.data_len);
	assert_true(fake_recv(f, buf, sizeof(buf)) < 0); /* no newline yet */
	kd_api_build_print(&msg, 1, "line\ttab\n", 9);
	memcpy(kd, &msg.u, msg.hdr_len);
	memcpy(kd + msg.hdr_len, msg.data, msg.data_len);
	relay_tap_on_guest_kd(t, 20, 0, msg.type, kd, msg.hdr_len + msg.data_len);
	n = fake_recv(f, buf, sizeof(buf));
	assert_true(n > 0);
	assert_string_equal(field(buf, (size_t)n, "MESSAGE", v, sizeof(v)), "half line\\ttab");
	assert_string_equal(field(buf, (size_t)n, "VMKD_VM", v, sizeof(v)), "vm-tap");
	assert_string_equal(field(buf, (size_t)n, "VMKD_CPU", v, sizeof(v)), "1");
	/* Packets to the guest are not prints of its own. */
	relay_tap_on_guest_kd(t, 30, 1, msg.type, kd, msg.hdr_len + msg.data_len);
	assert_true(fake_recv(f, buf, sizeof(buf)) < 0);
	assert_int_equal(t->journal->st.sent, 1);
	relay_tap_free(t, 40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(encodes_plain_fields),
		cmocka_unit_test(encodes_newlines_binary_safe),
		cmocka_unit_test(refuses_bad_keys),
		cmocka_unit_test(bounded_by_cap),
		cmocka_unit_test_setup_teardown(lines_reach_the_socket, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(missing_socket_is_counted, fake_setup,
						fake_teardown),
		cmocka_unit_test_setup_teardown(full_queue_drops_without_waiting, fake_setup,
						fake_teardown),
		cmocka_unit_test_setup_teardown(dbglog_lines_to_journal, fake_setup,
						fake_teardown),
		cmocka_unit_test_setup_teardown(tap_sends_prints, fake_setup, fake_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
