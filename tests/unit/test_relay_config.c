/* SPDX-License-Identifier: MIT */
/* The relay's configuration (flags and config file lines) and its start-up hints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../host/relay/relay.h"
#include "../../host/relay/relay_config.h"
#include "../../host/relay/relay_hints.h"

static void config_good_lines(void **state)
{
	struct relay_vm_config vm;
	char err[256];

	(void)state;
	assert_int_equal(relay_config_parse_line("vm1 unix:/run/vmkd/vm1.sock tcp:50001\n", &vm,
						 err, sizeof(err)), 1);
	assert_string_equal(vm.name, "vm1");
	assert_string_equal(vm.guest, "unix:/run/vmkd/vm1.sock");
	assert_string_equal(vm.listen, "tcp:127.0.0.1:50001");
	assert_false(vm.guest_listen);
	assert_false(vm.trace);

	assert_int_equal(relay_config_parse_line("\tw-11.b_2  listen:unix:/tmp/g.sock   "
						 "unix:/tmp/kd.sock trace # a comment", &vm,
						 err, sizeof(err)), 1);
	assert_string_equal(vm.name, "w-11.b_2");
	assert_true(vm.guest_listen);
	assert_string_equal(vm.guest, "unix:/tmp/g.sock");
	assert_string_equal(vm.listen, "unix:/tmp/kd.sock");
	assert_true(vm.trace);

	assert_int_equal(relay_config_parse_line("x connect:/tmp/x.sock 127.0.0.1:5#c", &vm, err,
						 sizeof(err)), 1);
	assert_false(vm.guest_listen);
	assert_string_equal(vm.guest, "unix:/tmp/x.sock");
	assert_string_equal(vm.listen, "tcp:127.0.0.1:5");

	assert_false(vm.takeover);
	assert_int_equal(relay_config_parse_line("t unix:/tmp/t.sock unix:/tmp/t-kd takeover trace",
						 &vm, err, sizeof(err)), 1);
	assert_true(vm.takeover);
	assert_true(vm.trace);

	assert_int_equal(relay_config_parse_line("", &vm, err, sizeof(err)), 0);
	assert_int_equal(relay_config_parse_line("   \r\n", &vm, err, sizeof(err)), 0);
	assert_int_equal(relay_config_parse_line("# NAME GUEST LISTEN", &vm, err, sizeof(err)), 0);
}

static void config_bad_lines(void **state)
{
	static const struct {
		const char *line;
		const char *msg;
	} cases[] = {
		{ "vm1 unix:/x", "two fields" },
		{ "vm1", "one field" },
		{ "a b c d e f g h i j", "too many" },
		{ "vm1 unix:/x tcp:1 bogus", "unknown option 'bogus'" },
		{ "vm1 unix:/x tcp:1 trace trace", "option 'trace' given twice" },
		{ "vm1 unix:/x tcp:1 trace takeover x", "unknown option 'x'" },
		{ "bad/name unix:/x tcp:1", "bad VM name" },
		{ "abcdefghijabcdefghijabcdefghij12 unix:/x tcp:1", "bad VM name" },
		{ "vm1 tcp:h:port tcp:1", "guest endpoint" },
		{ "vm1 unix:/x tcp:99999", "listen endpoint" },
		{ "vm1 unix:/x unix:/x", "different endpoints" },
		{ "vm1 listen:tcp:5 tcp:127.0.0.1:5", "different endpoints" },
	};
	struct relay_vm_config vm;
	char err[256], longline[2048];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(relay_config_parse_line(cases[i].line, &vm, err, sizeof(err)), -1);
		if (!strstr(err, cases[i].msg))
			fail_msg("'%s': got '%s', want '%s'", cases[i].line, err, cases[i].msg);
	}
	memset(longline, 'a', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	assert_int_equal(relay_config_parse_line(longline, &vm, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));
}

static int read_text(struct relay_config *c, const char *text, char *err, size_t errlen)
{
	FILE *f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
	int rc;

	assert_non_null(f);
	rc = relay_config_read(c, f, "relay.conf", err, errlen);
	fclose(f);
	return rc;
}

static void config_files(void **state)
{
	struct relay_config c;
	char err[512];

	(void)state;
	relay_config_init(&c);
	assert_int_equal(read_text(&c, "# two VMs\n"
				       "win10 unix:/run/vmkd/win10.sock tcp:127.0.0.1:50000\n"
				       "\n"
				       "win11 listen:unix:/run/vmkd/w11 unix:/run/vmkd/w11-kd trace\n",
				   err, sizeof(err)), 0);
	assert_int_equal(c.count, 2);
	assert_string_equal(c.vms[0].name, "win10");
	assert_string_equal(c.vms[1].listen, "unix:/run/vmkd/w11-kd");
	assert_true(c.vms[1].trace);
	relay_config_free(&c);

	relay_config_init(&c);
	assert_int_equal(read_text(&c, "a unix:/a tcp:1\nb unix:/b tcp:2\na unix:/c tcp:3\n", err,
				   sizeof(err)), -1);
	assert_string_equal(err, "relay.conf:3: VM name 'a' used twice");
	relay_config_free(&c);

	relay_config_init(&c);
	assert_int_equal(read_text(&c, "a unix:/a tcp:1\nb unix:/b tcp:127.0.0.1:1\n", err,
				   sizeof(err)), -1);
	assert_non_null(strstr(err, "relay.conf:2: b: an endpoint of 'b' is also used by 'a'"));
	relay_config_free(&c);

	relay_config_init(&c);
	assert_int_equal(read_text(&c, "a unix:/a tcp:1\nb tcp:1 unix:/b\n", err, sizeof(err)),
			 -1);
	relay_config_free(&c);

	relay_config_init(&c);
	assert_int_equal(read_text(&c, "# nothing\n\n", err, sizeof(err)), -1);
	assert_string_equal(err, "relay.conf: no VM configured");
	relay_config_free(&c);

	relay_config_init(&c);
	assert_int_equal(relay_config_load(&c, "/nonexistent/relay.conf", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot open /nonexistent/relay.conf"));
	relay_config_free(&c);
}

static char *hints(const char *guest, const char *listen, int port)
{
	struct relay_vm_config vm;
	char err[256], *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	assert_int_equal(relay_vm_config_set(&vm, "vm0", guest, listen, err, sizeof(err)), 0);
	relay_print_hints(f, &vm, port);
	fclose(f);
	return text;
}

static void assert_has(const char *text, const char *want)
{
	if (!strstr(text, want))
		fail_msg("missing \"%s\" in:\n%s", want, text);
}

static void hints_lines(void **state)
{
	char *t;

	(void)state;
	t = hints("unix:/run/vmkd/vm0.sock", "tcp:127.0.0.1:50000", 50000);
	assert_has(t, "vm0: guest unix:/run/vmkd/vm0.sock (QEMU listens, the relay connects), "
		      "debugger tcp:127.0.0.1:50000\n");
	assert_has(t, "-device virtio-serial-pci,id=vmkd-vser0 -chardev socket,id=vmkd0,"
		      "path=/run/vmkd/vm0.sock,server=on,wait=off -device virtserialport,"
		      "bus=vmkd-vser0.0,chardev=vmkd0,name=org.vmkd.0\n");
	assert_has(t, "<channel type='unix'><source mode='bind' path='/run/vmkd/vm0.sock'/>"
		      "<target type='virtio' name='org.vmkd.0'/></channel>\n");
	assert_has(t, "windbg -k com:ipport=50000,port=127.0.0.1\n");
	assert_has(t, "kd -k com:ipport=50000,port=127.0.0.1\n");
	assert_has(t, "vmkd attach tcp:127.0.0.1:50000\n");
	free(t);

	/* Port 0 in the config: the hints show the port the kernel picked. */
	t = hints("unix:/g", "tcp:0", 41234);
	assert_has(t, "debugger tcp:127.0.0.1:41234\n");
	assert_has(t, "windbg -k com:ipport=41234,port=127.0.0.1\n");
	free(t);

	t = hints("listen:unix:/run/vmkd/vm0.sock", "unix:/run/vmkd/kd0", -1);
	assert_has(t, "(the relay listens, QEMU connects)");
	assert_has(t, "path=/run/vmkd/vm0.sock,server=off,reconnect=1 -device");
	assert_has(t, "<source mode='connect' path='/run/vmkd/vm0.sock'><reconnect "
		      "enabled='yes' timeout='1'/></source>");
	/* Issue #10: radare2 gets the guest's word size (x86-64), and a unix socket gets the
	 * ways to reach it from WinDbg: SSH forwarding, or socat to a loopback port. */
	assert_has(t, "r2 -a x86 -b 64 -D winkd winkd:///run/vmkd/kd0");
	assert_null(strstr(t, "-b 32"));
	assert_has(t, "vmkd attach unix:/run/vmkd/kd0\n");
	assert_has(t, "ssh -N -L 50000:/run/vmkd/kd0 ");
	assert_has(t, "windbg -k com:ipport=50000,port=127.0.0.1\n");
	assert_has(t, "socat TCP-LISTEN:50000,bind=127.0.0.1,reuseaddr,fork "
		      "UNIX-CONNECT:/run/vmkd/kd0\n");
	free(t);

	t = hints("tcp:127.0.0.1:4555", "tcp:4556", 4556);
	assert_has(t, "-chardev socket,id=vmkd0,host=127.0.0.1,port=4555,server=on,wait=off");
	assert_has(t, "<channel type='tcp'><source mode='bind' host='127.0.0.1' service='4555'/>"
		      "<protocol type='raw'/>");
	free(t);
}

/* Issue #10 item 7: without --listen the debugger socket is the user's private unix
 * socket, never a TCP port. */
static void default_listen_is_private_socket(void **state)
{
	struct relay_config c;
	char dir[64], want[160], err[256];
	const char *saved = getenv("XDG_RUNTIME_DIR");
	char *old = saved ? strdup(saved) : NULL;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vmkd-xdg-XXXXXX");
	assert_non_null(mkdtemp(dir));
	setenv("XDG_RUNTIME_DIR", dir, 1);
	relay_config_init(&c);
	assert_int_equal(relay_config_single(&c, "win10", "unix:/g", NULL, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "unix:%s/vmkd/win10.sock", dir);
	assert_string_equal(c.vms[0].listen, want);
	relay_config_free(&c);

	relay_config_init(&c);
	assert_int_equal(relay_config_single(&c, NULL, "unix:/g", "tcp:5", err, sizeof(err)), 0);
	assert_string_equal(c.vms[0].name, RELAY_DEFAULT_NAME);
	assert_string_equal(c.vms[0].listen, "tcp:127.0.0.1:5");
	relay_config_free(&c);
	rmdir(dir);
	if (old)
		setenv("XDG_RUNTIME_DIR", old, 1);
	else
		unsetenv("XDG_RUNTIME_DIR");
	free(old);
}

/* The host path's options: config keys, their hints, their misuse. */
static void host_ram_options(void **state)
{
	struct relay_vm_config vm;
	char err[256], *text = NULL;
	size_t size = 0;
	FILE *f;
	const char *ram_without_qmp[] = { "relay", "--guest", "unix:/g", "--host-ram", "/dev/shm/x",
					  NULL };
	const char *ram_with_config[] = { "relay", "--config", "/c", "--qmp", "unix:/q", NULL };

	(void)state;
	assert_int_equal(relay_config_parse_line("w1 unix:/g tcp:1 ram=/dev/shm/vmkd-w1 "
						 "qmp=unix:/run/w1.qmp ram-id=pc.ram", &vm, err,
						 sizeof(err)), 1);
	assert_string_equal(vm.host_ram, "/dev/shm/vmkd-w1");
	assert_string_equal(vm.qmp, "unix:/run/w1.qmp");
	assert_string_equal(vm.ram_id, "pc.ram");
	assert_false(vm.trace);
	assert_false(vm.no_host_ram);
	assert_int_equal(relay_config_parse_line("w1 unix:/g tcp:1 trace no-host-ram", &vm, err,
						 sizeof(err)), 1);
	assert_true(vm.trace);
	assert_true(vm.no_host_ram);
	assert_string_equal(vm.host_ram, "");
	assert_int_equal(relay_config_parse_line("w1 unix:/g tcp:1 ram=", &vm, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "ram= wants a value"));
	assert_int_equal(relay_config_parse_line("w1 unix:/g tcp:1 ram-id=0123456789012345678901234"
						 "5678901234567890123456789012345678901234567890",
						 &vm, err, sizeof(err)), -1);

	/* Hints: the memory backend and QMP arguments for QEMU, the libvirt equivalent. */
	assert_int_equal(relay_config_parse_line("vm0 unix:/g tcp:1 ram=/dev/shm/vmkd-vm0 "
						 "qmp=unix:/run/vm0.qmp", &vm, err, sizeof(err)), 1);
	f = open_memstream(&text, &size);
	relay_print_hints(f, &vm, 1);
	fclose(f);
	assert_has(text, "-object memory-backend-file,id=vmkd-ram,size=RAM,mem-path="
			 "/dev/shm/vmkd-vm0,share=on -machine memory-backend=vmkd-ram "
			 "-qmp unix:/run/vm0.qmp,server=on,wait=off\n");
	assert_has(text, "<memoryBacking><source type='file'/><access mode='shared'/>"
			 "</memoryBacking>");
	free(text);
	text = NULL;
	vm.no_host_ram = 1;
	f = open_memstream(&text, &size);
	relay_print_hints(f, &vm, 1);
	fclose(f);
	assert_has(text, "host RAM: off");
	free(text);

	assert_int_equal(relay_main(5, (char **)(uintptr_t)ram_without_qmp), 1);
	assert_int_equal(relay_main(5, (char **)(uintptr_t)ram_with_config), 2);
}

static int run_main(int argc, const char **argv)
{
	return relay_main(argc, (char **)(uintptr_t)argv);
}

static void main_rejects_bad_usage(void **state)
{
	const char *none[] = { "relay", NULL };
	const char *both[] = { "relay", "--guest", "unix:/g", "--config", "/c", NULL };
	const char *listen_with_config[] = { "relay", "--config", "/c", "--listen", "tcp:1", NULL };
	const char *zero_stats[] = { "relay", "--guest", "unix:/g", "--stats", "0", NULL };
	const char *extra[] = { "relay", "--guest", "unix:/g", "stray", NULL };
	const char *bad_guest[] = { "relay", "--guest", "tcp:x:y", NULL };

	(void)state;
	assert_int_equal(run_main(1, none), 2);
	assert_int_equal(run_main(5, both), 2);
	assert_int_equal(run_main(5, listen_with_config), 2);
	assert_int_equal(run_main(5, zero_stats), 2);
	assert_int_equal(run_main(4, extra), 2);
	assert_int_equal(run_main(3, bad_guest), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_good_lines),
		cmocka_unit_test(config_bad_lines),
		cmocka_unit_test(config_files),
		cmocka_unit_test(hints_lines),
		cmocka_unit_test(default_listen_is_private_socket),
		cmocka_unit_test(host_ram_options),
		cmocka_unit_test(main_rejects_bad_usage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
