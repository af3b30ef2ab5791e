/* SPDX-License-Identifier: MIT */
/*
 * The DbgPrint log (host/relay/relay_dbglog.h): lines joined across DbgPrints per
 * processor, escaping, partial lines flushed on a timeout, the processor number from the
 * DEBUG_IO packet, size-bounded rotation; and through the relay core's tap: every DbgPrint
 * a guest sends without a debugger lands in the log while the guest is answered as before.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmkd/kd_api.h"

#include "../../host/record/log_follow.h"
#include "../../host/relay/relay_config.h"
#include "../../host/relay/relay_dbglog.h"
#include "../../host/relay/relay_tap.h"
#include "../../host/relay/relay_vm.h"
#include "test_relay_fakes.h"

#define SECOND 1000000ull
/* 2026-12-03T07:40:01.123456Z as a monotonic clock starting at 0 */
#define WALL_BASE 1796283601123456ll

struct fx {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/vmkd-test-dbglog.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/vm0.log", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* The whole file as a string (caller frees); "" if it does not exist. */
static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = calloc(1, 1 << 20);
	size_t n = 0;

	assert_non_null(buf);
	if (fp) {
		n = fread(buf, 1, (1 << 20) - 1, fp);
		fclose(fp);
	}
	buf[n] = '\0';
	return buf;
}

static struct dbglog *open_log(struct fx *f, uint64_t max_bytes, unsigned keep)
{
	struct dbglog_options o = {
		.max_bytes = max_bytes,
		.keep = keep,
		.flush_us = SECOND / 2,
		.wall_offset_us = WALL_BASE,
	};
	struct dbglog *l = dbglog_open(f->path, &o);

	assert_non_null(l);
	return l;
}

static void print(struct dbglog *l, uint64_t now, unsigned cpu, const char *s)
{
	dbglog_print(l, now, cpu, (const uint8_t *)s, strlen(s));
}

static void lines_joined_per_processor(void **state)
{
	struct fx *f = *state;
	struct dbglog *l = open_log(f, 0, 0);
	char *text;

	print(l, 0, 0, "hel");
	print(l, 10, 1, "other ");
	print(l, 20, 0, "lo\nsecond\n");
	print(l, 30, 1, "cpu\n");
	assert_int_equal(l->st.lines, 3);
	dbglog_close(l, 40);
	text = slurp(f->path);
	assert_string_equal(text,
			    "2026-12-03T07:40:01.123476Z cpu0 hello\n"
			    "2026-12-03T07:40:01.123476Z cpu0 second\n"
			    "2026-12-03T07:40:01.123486Z cpu1 other cpu\n");
	free(text);
}

static void escaping(void **state)
{
	struct fx *f = *state;
	struct dbglog *l = open_log(f, 0, 0);
	static const uint8_t raw[] = { 'a', 0x01, '\t', '\\', 0xc3, 0xa9, '\r', 0, 'z', '\n' };
	char *text;

	dbglog_print(l, 0, 0, raw, sizeof(raw));
	dbglog_close(l, 0);
	text = slurp(f->path);
	assert_non_null(strstr(text, " cpu0 a\\x01\\t\\\\\\xc3\\xa9\\r\\x00z\n"));
	assert_int_equal(strchr(text, '\n') - text + 1, (long)strlen(text)); /* one line */
	free(text);
}

static void partial_line_flushed_on_timeout(void **state)
{
	struct fx *f = *state;
	struct dbglog *l = open_log(f, 0, 0);
	char *text;

	assert_true(dbglog_deadline(l) == DBGLOG_NO_DEADLINE);
	print(l, 1000, 2, "no newline yet");
	assert_true(dbglog_deadline(l) == 1000 + SECOND / 2);
	dbglog_poll(l, 1000 + SECOND / 2 - 1);
	assert_int_equal(l->st.lines, 0);
	dbglog_poll(l, 1000 + SECOND / 2);
	assert_int_equal(l->st.lines, 1);
	assert_int_equal(l->st.timeouts, 1);
	assert_true(dbglog_deadline(l) == DBGLOG_NO_DEADLINE);
	print(l, 2 * SECOND, 2, "rest\n"); /* a new line: the timed-out piece is not repeated */
	/* whole lines are buffered, and reach the file within DBGLOG_SYNC_US */
	assert_true(dbglog_deadline(l) == 2 * SECOND + DBGLOG_SYNC_US);
	text = slurp(f->path);
	assert_null(strstr(text, "cpu2 rest\n"));
	free(text);
	dbglog_poll(l, 2 * SECOND + DBGLOG_SYNC_US);
	assert_true(dbglog_deadline(l) == DBGLOG_NO_DEADLINE);
	text = slurp(f->path);
	assert_non_null(strstr(text, "cpu2 no newline yet\n"));
	assert_non_null(strstr(text, "cpu2 rest\n"));
	dbglog_close(l, 0);
	free(text);
}

static void processor_from_debug_io_packet(void **state)
{
	struct fx *f = *state;
	struct dbglog *l = open_log(f, 0, 0);
	uint8_t kd[KD_MAX_PAYLOAD];
	struct kd_api_msg m;
	size_t n;
	char *text;

	kd_api_build_print(&m, 5, "from cpu five\n", 14);
	n = tr_msg_payload(&m, kd);
	assert_int_equal(dbglog_packet(l, 0, KD_PACKET_TYPE_DEBUG_IO, kd, n), 1);
	/* not a DbgPrint: a state change, a prompt, a short packet */
	assert_int_equal(dbglog_packet(l, 0, KD_PACKET_TYPE_STATE_CHANGE64, kd, n), 0);
	kd_api_build_prompt(&m, 0, "prompt> ", 8, 10);
	n = tr_msg_payload(&m, kd);
	assert_int_equal(dbglog_packet(l, 0, KD_PACKET_TYPE_DEBUG_IO, kd, n), 0);
	assert_int_equal(dbglog_packet(l, 0, KD_PACKET_TYPE_DEBUG_IO, kd, 3), 0);
	/* a length_of_string beyond the packet is cut to what arrived */
	kd_api_build_print(&m, 1, "short\n", 6);
	n = tr_msg_payload(&m, kd);
	m.u.io.length_of_string = 4000;
	memcpy(kd, &m.u, m.hdr_len);
	assert_int_equal(dbglog_packet(l, 0, KD_PACKET_TYPE_DEBUG_IO, kd, n), 1);
	dbglog_close(l, 0);
	text = slurp(f->path);
	assert_non_null(strstr(text, " cpu5 from cpu five\n"));
	assert_non_null(strstr(text, " cpu1 short\n"));
	assert_null(strstr(text, "prompt"));
	free(text);
}

static void long_line_cut(void **state)
{
	struct fx *f = *state;
	struct dbglog *l = open_log(f, 0, 0);
	char *big = malloc(DBGLOG_LINE_MAX + 11);

	memset(big, 'x', DBGLOG_LINE_MAX + 10);
	big[DBGLOG_LINE_MAX + 10] = '\0';
	print(l, 0, 0, big);
	print(l, 0, 0, "\n");
	assert_int_equal(l->st.cut, 1);
	assert_int_equal(l->st.lines, 2);
	dbglog_close(l, 0);
	free(big);
}

static void rotation(void **state)
{
	struct fx *f = *state;
	struct dbglog *l = open_log(f, 400, 2);
	char line[64], path[160], *all, *p;
	struct stat sb;
	int last = -1, n;

	for (int i = 0; i < 60; i++) {
		snprintf(line, sizeof(line), "line %03d\n", i);
		print(l, (uint64_t)i, 0, line);
	}
	assert_true(l->st.rotations >= 2);
	assert_int_equal(l->st.lines, 60);
	dbglog_close(l, 100);
	/* NAME.log, NAME.log.1, NAME.log.2; nothing older kept */
	all = calloc(1, 8192);
	for (int k = 2; k >= 0; k--) {
		char *part;

		if (k)
			snprintf(path, sizeof(path), "%s.%d", f->path, k);
		else
			snprintf(path, sizeof(path), "%s", f->path);
		assert_int_equal(stat(path, &sb), 0);
		assert_true(sb.st_size <= 400);
		part = slurp(path);
		strcat(all, part);
		free(part);
	}
	snprintf(path, sizeof(path), "%s.3", f->path);
	assert_int_not_equal(stat(path, &sb), 0);
	/* oldest to newest, the kept lines are consecutive and end with the last one */
	for (p = all; (p = strstr(p, "line ")); p += 5) {
		n = atoi(p + 5);
		if (last >= 0)
			assert_int_equal(n, last + 1);
		last = n;
	}
	assert_int_equal(last, 59);
	free(all);
}

static void unwritable_log_counts_errors(void **state)
{
	struct fx *f = *state;
	struct dbglog_options o = { .wall_offset_us = 0 };
	char path[160];
	struct dbglog *l;

	snprintf(path, sizeof(path), "%s/no/such/dir/vm0.log", f->dir);
	l = dbglog_open(path, &o);
	assert_non_null(l);
	print(l, 0, 0, "lost\n");
	assert_int_equal(l->st.errors, 1);
	assert_int_equal(l->st.lines, 0);
	assert_non_null(strstr(dbglog_take_error(l), "cannot open"));
	assert_string_equal(dbglog_take_error(l), ""); /* reported once */
	dbglog_close(l, 0);
}

/* Through the relay core: DbgPrints with no debugger are answered as before (dropped and
 * counted) and all of them reach the log, in order. */
static void relay_tap_logs_without_debugger(void **state)
{
	struct fx *f = *state;
	struct relay_tap_options o = { .log_dir = f->dir };
	struct relay_log rlog = { NULL, 0 };
	struct relay_vm *vm = relay_vm_new("vm0", NULL, &rlog);
	uint8_t kd[KD_MAX_PAYLOAD], frame[VMKD_FRAME_MAX_BYTES];
	char err[128], line[64], *text, *p;
	uint32_t seq = 0;
	size_t n;
	int i;

	assert_non_null(vm);
	vm->tap = relay_tap_new("vm0", &o, &rlog, 0, err, sizeof(err));
	assert_non_null(vm->tap);
	relay_vm_guest_connected(vm, 0);
	n = tr_hello_frame(frame, sizeof(frame), seq++);
	assert_int_equal(relay_vm_guest_input(vm, frame, n, 1), n);
	for (i = 0; i < 100; i++) {
		/* every third line comes in two DbgPrints */
		snprintf(line, sizeof(line), i % 3 ? "print %d\n" : "print %d", i);
		n = tr_kd_frame(frame, sizeof(frame), seq++, KD_PACKET_TYPE_DEBUG_IO, kd,
				tr_print(kd, line));
		assert_int_equal(relay_vm_guest_input(vm, frame, n, 2 + (uint64_t)i), n);
		if (!(i % 3)) {
			n = tr_kd_frame(frame, sizeof(frame), seq++, KD_PACKET_TYPE_DEBUG_IO, kd,
					tr_print(kd, "\n"));
			relay_vm_guest_input(vm, frame, n, 2 + (uint64_t)i);
		}
	}
	assert_int_equal(vm->st.dropped_prints, 134);
	relay_tap_free(vm->tap, 1000);
	vm->tap = NULL;
	relay_vm_free(vm);
	text = slurp(f->path);
	for (i = 0, p = text; (p = strstr(p, " cpu0 print ")); p += 12, i++)
		assert_int_equal(atoi(p + 12), i);
	assert_int_equal(i, 100);
	free(text);
}

/* `vmkd log -f` across rotations: the follower ends with every line, in order, once,
 * stepping after each line (the log rotates every few lines) and after a rotation that
 * caught it mid-file. */
static void follow_across_rotations(void **state)
{
	struct fx *f = *state;
	struct dbglog *l = open_log(f, 300, 4);
	struct log_follower fw;
	char line[64], *out = NULL, *p;
	size_t outlen = 0;
	FILE *mem = open_memstream(&out, &outlen);
	FILE *in = fopen(f->path, "r");
	int n = 0;

	assert_non_null(in);
	assert_int_equal(log_follow_init(&fw, f->path, in), 0);
	for (int i = 0; i < 50; i++) {
		snprintf(line, sizeof(line), "follow %03d\n", i);
		print(l, (uint64_t)i, 0, line);
		if (i % 2) { /* two lines per step: some rotations happen between steps */
			dbglog_poll(l, (uint64_t)i + DBGLOG_SYNC_US);
			log_follow_step(&fw, mem);
		}
	}
	log_follow_step(&fw, mem);
	assert_true(l->st.rotations >= 4);
	assert_int_equal(fw.reopens, l->st.rotations);
	dbglog_close(l, 100);
	log_follow_close(&fw);
	fclose(mem);
	for (p = out; (p = strstr(p, "follow ")); p += 7, n++)
		assert_int_equal(atoi(p + 7), n);
	assert_int_equal(n, 50);
	free(out);
}

/* 'nodbglog' on a config line turns the log off for that VM only. */
static void config_nodbglog(void **state)
{
	struct relay_vm_config vm;
	char err[256];

	(void)state;
	assert_int_equal(relay_config_parse_line("a unix:/tmp/a.sock unix:/tmp/a-kd.sock nodbglog",
						 &vm, err, sizeof(err)), 1);
	assert_int_equal(vm.no_dbglog, 1);
	assert_int_equal(relay_config_parse_line("b unix:/tmp/b.sock unix:/tmp/b-kd.sock trace",
						 &vm, err, sizeof(err)), 1);
	assert_int_equal(vm.no_dbglog, 0);
	assert_int_equal(relay_config_parse_line("c unix:/tmp/c.sock unix:/tmp/c-kd.sock nodbglog "
						 "nodbglog", &vm, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "given twice"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(lines_joined_per_processor, setup, teardown),
		cmocka_unit_test_setup_teardown(escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(partial_line_flushed_on_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(processor_from_debug_io_packet, setup, teardown),
		cmocka_unit_test_setup_teardown(long_line_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(unwritable_log_counts_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(relay_tap_logs_without_debugger, setup, teardown),
		cmocka_unit_test(config_nodbglog),
		cmocka_unit_test_setup_teardown(follow_across_rotations, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
