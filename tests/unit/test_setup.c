/* SPDX-License-Identifier: MIT */
/* host/setup: the QEMU arguments and libvirt XML for a VM, and their agreement with the
 * relay's own configuration parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../host/relay/relay_config.h"
#include "../../host/setup/setup.h"

/* Runs a printer into a memory buffer; the caller frees the text. */
static char *capture(int (*print)(FILE *, const struct setup_vm *), const struct setup_vm *vm)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(print(f, vm), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void default_dir(void **state)
{
	char d[SETUP_PATH_MAX];

	(void)state;
	setup_default_dir(d, sizeof(d), 1000, "/run/user/1000");
	assert_string_equal(d, "/run/user/1000/vmkd");
	setup_default_dir(d, sizeof(d), 0, "/run/user/0");
	assert_string_equal(d, "/run/vmkd");
	setup_default_dir(d, sizeof(d), 1000, NULL);
	assert_string_equal(d, "/run/vmkd");
	setup_default_dir(d, sizeof(d), 1000, "relative");
	assert_string_equal(d, "/run/vmkd");
}

static void init_paths_and_errors(void **state)
{
	static const struct {
		const char *name, *dir, *ram, *msg;
	} bad[] = {
		{ "", "/d", NULL, "bad VM name" },
		{ "a b", "/d", NULL, "bad VM name" },
		{ "0123456789012345678901234567890123", "/d", NULL, "bad VM name" },
		{ "vm", "rel/dir", NULL, "absolute path" },
		{ "vm", "/has space", NULL, "blank" },
		{ "vm", "/has#hash", NULL, "'#'" },
		{ "vm", "/d", "4Q", "bad RAM size" },
		{ "vm", "/d", "0", "bad RAM size" },
		{ "vm", "/d", "G", "bad RAM size" },
		{ "vm", "/d", "4GB", "bad RAM size" },
		{ "vm", "/0123456789012345678901234567890123456789012345678901234567890123456789"
			"0123456789012345678901234567890123456789", NULL, "too long" },
		/* the directory fits a socket path, NAME.qmp.sock does not */
		{ "vm", "/0123456789012345678901234567890123456789012345678901234567890123456789"
			"012345678901234567890123456", NULL, "longer than 107" },
	};
	struct setup_vm vm;
	char err[300];

	(void)state;
	assert_int_equal(setup_vm_init(&vm, "win-10.a_b", "/run/vmkd//", "4096M", 1, err,
				       sizeof(err)), 0);
	assert_string_equal(vm.guest_sock, "/run/vmkd/win-10.a_b.vm.sock");
	assert_string_equal(vm.dbg_sock, "/run/vmkd/win-10.a_b.sock");
	assert_string_equal(vm.qmp_sock, "/run/vmkd/win-10.a_b.qmp.sock");
	assert_string_equal(vm.mem_path, "/dev/shm/vmkd-win-10.a_b");
	assert_string_equal(vm.ram, "4096M");
	assert_int_equal(setup_vm_init(&vm, "x", "/", NULL, 0, err, sizeof(err)), 0);
	assert_string_equal(vm.guest_sock, "/x.vm.sock");
	assert_int_equal(setup_vm_qemu_dir(&vm, SETUP_LIBVIRT_DIR, err, sizeof(err)), 0);
	assert_string_equal(vm.guest_sock, SETUP_LIBVIRT_DIR "/vmkd-x.vm.sock");
	assert_string_equal(vm.qmp_sock, SETUP_LIBVIRT_DIR "/vmkd-x.qmp.sock");
	assert_string_equal(vm.dbg_sock, "/x.sock");
	assert_int_equal(setup_vm_qemu_dir(&vm, "nope", err, sizeof(err)), -1);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(setup_vm_init(&vm, bad[i].name, bad[i].dir, bad[i].ram, 0, err,
					       sizeof(err)), -1);
		if (!strstr(err, bad[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].msg);
	}
}

static void qemu_argv_exact(void **state)
{
	static const char *const want[] = {
		"-m", "2G",
		"-object", "memory-backend-file,id=vmkd-ram,mem-path=/dev/shm/vmkd-vm0,size=2G,share=on",
		"-machine", "memory-backend=vmkd-ram",
		"-qmp", "unix:/s/vm0.qmp.sock,server=on,wait=off",
		"-device", "virtio-serial-pci,id=vmkd-vser0",
		"-chardev", "socket,id=vmkd0,path=/s/vm0.vm.sock,server=off,reconnect=1",
		"-device", "virtserialport,bus=vmkd-vser0.0,chardev=vmkd0,name=org.vmkd.0",
	};
	char args[SETUP_MAX_ARGS][SETUP_ARG_MAX];
	struct setup_vm vm;
	char err[300];
	int n;

	(void)state;
	assert_int_equal(setup_vm_init(&vm, "vm0", "/s", "2G", 1, err, sizeof(err)), 0);
	n = setup_qemu_argv(&vm, args, SETUP_MAX_ARGS);
	assert_int_equal(n, (int)(sizeof(want) / sizeof(want[0])));
	for (int i = 0; i < n; i++)
		assert_string_equal(args[i], want[i]);
	/* Too little room is an error, never a cut-off command line. */
	assert_int_equal(setup_qemu_argv(&vm, args, 5), -1);

	/* Without host RAM: only the port; QEMU listening when asked. */
	assert_int_equal(setup_vm_init(&vm, "vm0", "/s", NULL, 0, err, sizeof(err)), 0);
	vm.qemu_listens = 1;
	n = setup_qemu_argv(&vm, args, SETUP_MAX_ARGS);
	assert_int_equal(n, 6);
	assert_string_equal(args[3], "socket,id=vmkd0,path=/s/vm0.vm.sock,server=on,wait=off");

	/* Host RAM without a size cannot give a backend of the guest's size. */
	assert_int_equal(setup_vm_init(&vm, "vm0", "/s", NULL, 1, err, sizeof(err)), 0);
	assert_int_equal(setup_qemu_argv(&vm, args, SETUP_MAX_ARGS), -1);
}

static void qemu_escaping(void **state)
{
	struct setup_vm vm;
	char err[300], *text;

	(void)state;
	/* A comma is doubled for QEMU; a quote and a '$' make the shell word quoted. */
	assert_int_equal(setup_vm_init(&vm, "vm0", "/a,b/it's$x", NULL, 0, err, sizeof(err)), 0);
	text = capture(setup_print_qemu_args, &vm);
	assert_string_equal(text,
			    "-device virtio-serial-pci,id=vmkd-vser0 -chardev "
			    "'socket,id=vmkd0,path=/a,,b/it'\\''s$x/vm0.vm.sock,server=off,"
			    "reconnect=1' -device virtserialport,bus=vmkd-vser0.0,chardev=vmkd0,"
			    "name=org.vmkd.0\n");
	free(text);
}

static void libvirt_xml(void **state)
{
	struct setup_vm vm;
	char err[300], *text;

	(void)state;
	assert_int_equal(setup_vm_init(&vm, "vm0", "/run/vmkd", NULL, 1, err, sizeof(err)), 0);
	vm.qemu_listens = 1;
	assert_int_equal(setup_vm_qemu_dir(&vm, "/q&d", err, sizeof(err)), 0);
	text = capture(setup_print_libvirt, &vm);
	assert_non_null(strstr(text, "<source mode='bind' path='/q&amp;d/vmkd-vm0.vm.sock'/>"));
	assert_non_null(strstr(text, "<target type='virtio' name='org.vmkd.0'/>"));
	assert_non_null(strstr(text, "<controller type='virtio-serial' index='1'/>"));
	assert_non_null(strstr(text, "<address type='virtio-serial' controller='1' bus='0' "
				     "port='1'/>"));
	assert_non_null(strstr(text, "<access mode='shared'/>"));
	assert_non_null(strstr(text, "<qemu:arg value='unix:/q&amp;d/vmkd-vm0.qmp.sock,"
				     "server=on,wait=off'/>"));
	assert_null(strstr(text, "reconnect"));
	free(text);

	assert_int_equal(setup_vm_init(&vm, "vm0", "/run/vmkd", NULL, 0, err, sizeof(err)), 0);
	text = capture(setup_print_libvirt, &vm);
	assert_non_null(strstr(text, "<source mode='connect' path='/run/vmkd/vm0.vm.sock'>"));
	assert_non_null(strstr(text, "<reconnect enabled='yes' timeout='1'/>"));
	assert_null(strstr(text, "memoryBacking"));
	assert_null(strstr(text, "qemu:commandline"));
	/* XML comments may not contain "--": the relay's options stay out of them. */
	for (const char *c = strstr(text, "<!--"); c; c = strstr(c + 4, "<!--")) {
		const char *end = strstr(c + 4, "-->");

		assert_non_null(end);
		for (const char *p = c + 4; p < end; p++)
			assert_false(p[0] == '-' && p[1] == '-');
	}
	free(text);
}

/* The relay.conf line printed for a VM is one the relay itself accepts, with the same
 * endpoints and the same side listening. */
static void relay_agrees(void **state)
{
	struct relay_vm_config rvm;
	struct setup_vm vm;
	char err[300], *text;

	(void)state;
	for (int qemu_listens = 0; qemu_listens <= 1; qemu_listens++) {
		assert_int_equal(setup_vm_init(&vm, "w11", "/run/vmkd", NULL, 0, err, sizeof(err)),
				 0);
		vm.qemu_listens = qemu_listens;
		text = capture(setup_print_relay_conf, &vm);
		assert_int_equal(relay_config_parse_line(text, &rvm, err, sizeof(err)), 1);
		assert_string_equal(rvm.name, "w11");
		assert_string_equal(rvm.guest, "unix:/run/vmkd/w11.vm.sock");
		assert_string_equal(rvm.listen, "unix:/run/vmkd/w11.sock");
		assert_int_equal(rvm.guest_listen, !qemu_listens);
		free(text);
		text = capture(setup_print_relay_cmd, &vm);
		assert_string_equal(text, qemu_listens ?
			"vmkd relay --name w11 --guest unix:/run/vmkd/w11.vm.sock "
			"--listen unix:/run/vmkd/w11.sock\n" :
			"vmkd relay --name w11 --guest listen:unix:/run/vmkd/w11.vm.sock "
			"--listen unix:/run/vmkd/w11.sock\n");
		free(text);
	}
}

static void windbg_lines(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(setup_print_windbg(f, "> ", "tcp:127.0.0.1:50001", 50000), 0);
	assert_int_equal(setup_print_windbg(f, "> ", "unix:/run/vmkd/w.sock", 50002), 0);
	assert_int_equal(setup_print_windbg(f, "> ", "tcp:10.0.0.5:50003", 50003), 0);
	assert_int_equal(setup_print_windbg(f, "> ", "tcp:[::1]:50004", 50004), 0);
	assert_int_equal(setup_print_windbg(f, "> ", "tcp:host:notaport", 1), -1);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(buf, "> WinDbg on this host: windbg -k com:ipport=50001,port=127.0.0.1\n"));
	assert_non_null(strstr(buf, "> WinDbg elsewhere:    ssh -N -L 50000:127.0.0.1:50001 "
				    "USER@THIS-HOST, then windbg -k com:ipport=50000,port=127.0.0.1\n"));
	assert_non_null(strstr(buf, "ssh -N -L 50002:/run/vmkd/w.sock USER@THIS-HOST, then "
				    "windbg -k com:ipport=50002,port=127.0.0.1\n"));
	/* A unix socket has no direct WinDbg line: WinDbg runs on Windows. */
	assert_null(strstr(buf, "com:ipport=50002,port=/"));
	assert_non_null(strstr(buf, "ssh -N -L 50003:10.0.0.5:50003"));
	assert_non_null(strstr(buf, "ssh -N -L 50004:[::1]:50004"));
	assert_non_null(strstr(buf, "no authentication"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_dir),
		cmocka_unit_test(init_paths_and_errors),
		cmocka_unit_test(qemu_argv_exact),
		cmocka_unit_test(qemu_escaping),
		cmocka_unit_test(libvirt_xml),
		cmocka_unit_test(relay_agrees),
		cmocka_unit_test(windbg_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
