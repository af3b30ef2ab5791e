/* SPDX-License-Identifier: MIT */
/* SIGHUP's reload (relay_reload.h) on a running relay loop over real unix sockets: VMs
 * whose line did not change keep their state and their debugger, the others are closed,
 * reopened or opened, and a file that does not parse changes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../host/relay/relay_config.h"
#include "../../host/relay/relay_loop.h"
#include "../../host/relay/relay_reload.h"

struct fx {
	char dir[64];
	char conf[128];
	struct relay *r;
	FILE *log;
	char *logbuf;
	size_t loglen;
};

/* Writes the config file: each VM NAME gets DIR/NAME.vm (listen mode) and DIR/NAME.kd,
 * with the extras given (e.g. "trace"). */
static void write_conf(struct fx *fx, const char *const *lines, size_t n)
{
	FILE *f = fopen(fx->conf, "w");

	assert_non_null(f);
	for (size_t i = 0; i < n; i++) {
		char name[32], extra[32] = "";

		assert_true(sscanf(lines[i], "%31s %31s", name, extra) >= 1);
		fprintf(f, "%s listen:unix:%s/%s.vm unix:%s/%s.kd %s\n", name, fx->dir, name, fx->dir,
			name, extra);
	}
	assert_int_equal(fclose(f), 0);
}

static int exists(const struct fx *fx, const char *file)
{
	char p[160];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", fx->dir, file);
	return stat(p, &st) == 0;
}

static int connect_to(const struct fx *fx, const char *file)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s", fx->dir, file);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static long index_of(struct relay *r, const char *name)
{
	for (size_t i = 0; i < relay_vm_count(r); i++)
		if (!strcmp(relay_get_config(r, i)->name, name))
			return (long)i;
	return -1;
}

static int setup(void **state)
{
	static const char *const a[] = { "keep", "drop", "change" };
	struct fx *fx = calloc(1, sizeof(*fx));
	struct relay_options opt;
	struct relay_config cfg;
	char err[256];

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/vmkd-reload.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->conf, sizeof(fx->conf), "%s/relay.conf", fx->dir);
	fx->log = open_memstream(&fx->logbuf, &fx->loglen);
	assert_non_null(fx->log);
	memset(&opt, 0, sizeof(opt));
	fx->r = relay_new(&opt);
	assert_non_null(fx->r);
	write_conf(fx, a, 3);
	relay_config_init(&cfg);
	assert_int_equal(relay_config_load(&cfg, fx->conf, err, sizeof(err)), 0);
	for (size_t i = 0; i < cfg.count; i++)
		assert_int_equal(relay_add_vm(fx->r, &cfg.vms[i], err, sizeof(err)), 0);
	relay_config_free(&cfg);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[128];

	relay_free(fx->r);
	fclose(fx->log);
	free(fx->logbuf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

static void reload_applies_the_difference(void **state)
{
	static const char *const b[] = { "keep", "change trace", "new" };
	struct fx *fx = *state;
	struct relay_reload_result res;
	struct relay_vm *keep;
	char err[256];
	int dbg;

	/* A debugger on "keep", accepted by the loop. */
	dbg = connect_to(fx, "keep.kd");
	for (int i = 0; i < 20 && !relay_vm_debugger_attached(relay_get_vm(fx->r, 0)); i++)
		assert_int_equal(relay_run_once(fx->r, 50), 0);
	keep = relay_get_vm(fx->r, (size_t)index_of(fx->r, "keep"));
	assert_true(relay_vm_debugger_attached(keep));

	write_conf(fx, b, 3);
	assert_int_equal(relay_reload(fx->r, fx->conf, fx->log, NULL, &res, err, sizeof(err)), 0);
	fflush(fx->log);
	assert_int_equal(res.kept, 1);
	assert_int_equal(res.removed, 2);  /* drop, and change's old line */
	assert_int_equal(res.added, 2);    /* change's new line, and new */
	assert_int_equal(res.failed, 0);
	assert_int_equal(relay_vm_count(fx->r), 3);

	/* "keep" is the very same core, its debugger still attached. */
	assert_true(index_of(fx->r, "keep") >= 0);
	assert_ptr_equal(relay_get_vm(fx->r, (size_t)index_of(fx->r, "keep")), keep);
	assert_true(relay_vm_debugger_attached(keep));
	for (int i = 0; i < 5; i++)
		assert_int_equal(relay_run_once(fx->r, 10), 0);
	assert_true(relay_vm_debugger_attached(keep));

	/* "drop" is gone with its sockets; "change" is back with trace; "new" listens. */
	assert_int_equal(index_of(fx->r, "drop"), -1);
	assert_false(exists(fx, "drop.kd"));
	assert_false(exists(fx, "drop.vm"));
	assert_true(relay_get_config(fx->r, (size_t)index_of(fx->r, "change"))->trace);
	assert_true(exists(fx, "change.kd"));
	assert_true(exists(fx, "new.kd") && exists(fx, "new.vm"));
	close(connect_to(fx, "new.kd"));
	assert_non_null(strstr(fx->logbuf, "drop: no longer in"));
	assert_non_null(strstr(fx->logbuf, "new: opened from"));
	assert_non_null(strstr(fx->logbuf, "1 kept, 2 opened, 2 closed, 0 failed"));
	close(dbg);
}

/* The same socket path as an ivshmem server instead of a chardev listener is another VM
 * set-up: the line is reopened, and the relay now serves QEMU's ivshmem on it. */
static void chardev_to_ivshmem(void **state)
{
	struct fx *fx = *state;
	struct relay_reload_result res;
	const struct relay_vm_config *c;
	char err[256];
	FILE *f = fopen(fx->conf, "w");

	assert_non_null(f);
	fprintf(f, "keep listen:unix:%s/keep.vm unix:%s/keep.kd\n", fx->dir, fx->dir);
	fprintf(f, "drop listen:unix:%s/drop.vm unix:%s/drop.kd\n", fx->dir, fx->dir);
	fprintf(f, "change ivshmem:%s/change.vm unix:%s/change.kd\n", fx->dir, fx->dir);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(relay_reload(fx->r, fx->conf, fx->log, NULL, &res, err, sizeof(err)), 0);
	assert_int_equal(res.kept, 2);
	assert_int_equal(res.removed, 1);
	assert_int_equal(res.added, 1);
	assert_int_equal(res.failed, 0);
	c = relay_get_config(fx->r, (size_t)index_of(fx->r, "change"));
	assert_int_equal(c->guest_ivshmem, 1);
	assert_true(exists(fx, "change.vm"));
}

static void a_bad_file_changes_nothing(void **state)
{
	struct fx *fx = *state;
	struct relay_reload_result res;
	struct relay_vm *before[3];
	char err[256];
	FILE *f;

	for (size_t i = 0; i < 3; i++)
		before[i] = relay_get_vm(fx->r, i);
	f = fopen(fx->conf, "w");
	assert_non_null(f);
	fprintf(f, "keep listen:unix:%s/keep.vm unix:%s/keep.kd\nbad line\n", fx->dir, fx->dir);
	fclose(f);
	assert_int_equal(relay_reload(fx->r, fx->conf, fx->log, NULL, &res, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2:"));
	assert_int_equal(relay_vm_count(fx->r), 3);
	for (size_t i = 0; i < 3; i++)
		assert_ptr_equal(relay_get_vm(fx->r, i), before[i]);
	assert_true(exists(fx, "drop.kd"));

	unlink(fx->conf);
	assert_int_equal(relay_reload(fx->r, fx->conf, fx->log, NULL, &res, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot open"));
	assert_int_equal(relay_vm_count(fx->r), 3);
}

/* Two VMs trade debugger sockets: both lines changed, so both close before either opens. */
static void swapped_endpoints(void **state)
{
	struct fx *fx = *state;
	struct relay_reload_result res;
	char err[256];
	FILE *f = fopen(fx->conf, "w");

	assert_non_null(f);
	fprintf(f, "keep listen:unix:%s/keep.vm unix:%s/drop.kd\n", fx->dir, fx->dir);
	fprintf(f, "drop listen:unix:%s/drop.vm unix:%s/keep.kd\n", fx->dir, fx->dir);
	fclose(f);
	assert_int_equal(relay_reload(fx->r, fx->conf, fx->log, NULL, &res, err, sizeof(err)), 0);
	assert_int_equal(res.failed, 0);
	assert_int_equal(res.added, 2);
	assert_int_equal(res.removed, 3);
	assert_int_equal(relay_vm_count(fx->r), 2);
	assert_false(exists(fx, "change.kd"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(reload_applies_the_difference, setup, teardown),
		cmocka_unit_test_setup_teardown(a_bad_file_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(chardev_to_ivshmem, setup, teardown),
		cmocka_unit_test_setup_teardown(swapped_endpoints, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
