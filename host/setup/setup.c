/* SPDX-License-Identifier: MIT */
/* The QEMU arguments and libvirt XML that connect a VM to the relay. */
#include "setup.h"

#include <ctype.h>
#include <stdarg.h>
#include <string.h>

#include "vmkd/vmkd_frame.h"

#include "../common/endpoint.h"

void setup_default_dir(char *buf, size_t len, unsigned uid, const char *xdg_runtime_dir)
{
	if (uid != 0 && xdg_runtime_dir && xdg_runtime_dir[0] == '/')
		snprintf(buf, len, "%s/vmkd", xdg_runtime_dir);
	else
		snprintf(buf, len, "/run/vmkd");
}

static int valid_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= SETUP_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != '-')
			return 0;
	return 1;
}

/* QEMU's sizes: digits, then at most one of K M G T (B alone is bytes too). */
static int valid_size(const char *s)
{
	size_t digits = strspn(s, "0123456789");
	int nonzero = 0;

	if (!digits || digits > 15)
		return 0;
	for (size_t i = 0; i < digits; i++)
		nonzero |= s[i] != '0';
	if (!nonzero)
		return 0;
	s += digits;
	return !*s || (strchr("KMGTkmgt", *s) && !s[1]);
}

__attribute__((format(printf, 5, 6)))
static int path_set(char *out, const char *what, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, SETUP_PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= SETUP_PATH_MAX) {
		snprintf(err, errlen, "the %s path would be longer than %u characters", what,
			 SETUP_PATH_MAX - 1);
		return -1;
	}
	return 0;
}

/* The length of dir without trailing slashes ("/" itself counts 0, so that paths built
 * as "%.*s/x" never get a doubled slash), or -1 with a message when it is unusable. */
static int dir_len(const char *dir, char *err, size_t errlen)
{
	size_t dlen = strlen(dir);

	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	if (!dlen || dir[0] != '/') {
		snprintf(err, errlen, "the socket directory must be an absolute path, not '%s'",
			 dir);
		return -1;
	}
	/* The relay's config file splits at blanks and '#' starts a comment there. */
	for (size_t i = 0; i < dlen; i++) {
		if (isspace((unsigned char)dir[i]) || iscntrl((unsigned char)dir[i]) ||
		    dir[i] == '#') {
			snprintf(err, errlen, "the socket directory '%s' has a blank, a control "
					      "character or '#'", dir);
			return -1;
		}
	}
	if (dlen > SETUP_PATH_MAX) {
		snprintf(err, errlen, "the socket directory is too long");
		return -1;
	}
	return dlen == 1 ? 0 : (int)dlen;
}

int setup_vm_qemu_dir(struct setup_vm *vm, const char *dir, char *err, size_t errlen)
{
	int dlen = dir_len(dir, err, errlen);

	if (dlen < 0 ||
	    path_set(vm->guest_sock, "chardev socket", err, errlen, "%.*s/vmkd-%s.vm.sock", dlen,
		     dir, vm->name) ||
	    path_set(vm->qmp_sock, "QMP socket", err, errlen, "%.*s/vmkd-%s.qmp.sock", dlen, dir,
		     vm->name))
		return -1;
	return 0;
}

int setup_vm_init(struct setup_vm *vm, const char *name, const char *dir, const char *ram,
		  int host_ram, char *err, size_t errlen)
{
	int dlen;

	memset(vm, 0, sizeof(*vm));
	if (!valid_name(name)) {
		snprintf(err, errlen, "bad VM name '%s': 1-%u characters of A-Z a-z 0-9 . _ -",
			 name, SETUP_NAME_MAX - 1);
		return -1;
	}
	dlen = dir_len(dir, err, errlen);
	if (dlen < 0)
		return -1;
	if (ram && !valid_size(ram)) {
		snprintf(err, errlen, "bad RAM size '%s': a number with an optional K, M, G or T",
			 ram);
		return -1;
	}
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	if (path_set(vm->guest_sock, "chardev socket", err, errlen, "%.*s/%s.vm.sock", dlen,
		     dir, name) ||
	    path_set(vm->dbg_sock, "debugger socket", err, errlen, "%.*s/%s.sock", dlen, dir,
		     name) ||
	    path_set(vm->qmp_sock, "QMP socket", err, errlen, "%.*s/%s.qmp.sock", dlen, dir,
		     name) ||
	    path_set(vm->mem_path, "memory", err, errlen, SETUP_SHM_DIR "/vmkd-%s", name))
		return -1;
	if (ram)
		snprintf(vm->ram, sizeof(vm->ram), "%s", ram);
	vm->host_ram = host_ram;
	vm->controller = SETUP_LIBVIRT_CONTROLLER;
	return 0;
}

/* ---- QEMU ------------------------------------------------------------------------------ */

/* Appends s to a QEMU option value, doubling commas (QEMU's escape inside key=value lists). */
static void qemu_escape(char *out, size_t cap, const char *s)
{
	size_t n = strlen(out);

	for (; *s && n + 2 < cap; s++) {
		out[n++] = *s;
		if (*s == ',')
			out[n++] = ',';
	}
	out[n] = '\0';
}

/* One argument: fmt's text, then an escaped path, then a suffix. Returns -1 if it does not
 * fit (never silently truncated). */
static int arg_set(char *out, const char *prefix, const char *path, const char *suffix)
{
	size_t need = strlen(prefix) + strlen(suffix) + 1;

	for (const char *p = path ? path : ""; *p; p++)
		need += *p == ',' ? 2 : 1;
	if (need > SETUP_ARG_MAX)
		return -1;
	snprintf(out, SETUP_ARG_MAX, "%s", prefix);
	if (path)
		qemu_escape(out, SETUP_ARG_MAX, path);
	strcat(out, suffix);
	return 0;
}

int setup_qemu_argv(const struct setup_vm *vm, char args[][SETUP_ARG_MAX], size_t max)
{
	char suffix[SETUP_ARG_MAX];
	size_t n = 0;

#define ADD(prefix, path, suffix_)                                                    \
	do {                                                                          \
		if (n >= max || arg_set(args[n], prefix, path, suffix_))              \
			return -1;                                                    \
		n++;                                                                  \
	} while (0)

	if (vm->ram[0]) {
		ADD("-m", NULL, "");
		ADD(vm->ram, NULL, "");
	}
	if (vm->host_ram) {
		if (!vm->ram[0])
			return -1; /* the backend's size must equal -m: setup_vm_init's caller */
		/* share=on: the relay maps the same pages; -machine memory-backend makes this
		 * object the guest's RAM (QEMU merges it with any other -machine option). */
		snprintf(suffix, sizeof(suffix), ",size=%s,share=on", vm->ram);
		ADD("-object", NULL, "");
		ADD("memory-backend-file,id=" SETUP_RAM_ID ",mem-path=", vm->mem_path, suffix);
		ADD("-machine", NULL, "");
		ADD("memory-backend=" SETUP_RAM_ID, NULL, "");
		ADD("-qmp", NULL, "");
		ADD("unix:", vm->qmp_sock, ",server=on,wait=off");
	}
	/* vmkd's own controller: the port never shares a bus with the guest agent's. */
	ADD("-device", NULL, "");
	ADD("virtio-serial-pci,id=" SETUP_VSER_ID, NULL, "");
	ADD("-chardev", NULL, "");
	ADD("socket,id=" SETUP_CHARDEV_ID ",path=", vm->guest_sock,
	    vm->qemu_listens ? ",server=on,wait=off" : ",server=off,reconnect=1");
	ADD("-device", NULL, "");
	ADD("virtserialport,bus=" SETUP_VSER_ID ".0,chardev=" SETUP_CHARDEV_ID
	    ",name=" VMKD_PORT_NAME, NULL, "");
#undef ADD
	return (int)n;
}

/* Writes s as one shell word: as is when it holds only safe characters, else in single
 * quotes (a quote inside becomes '\''). */
static void shell_word(FILE *f, const char *s)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789-_./:=,+@%";

	if (*s && s[strspn(s, safe)] == '\0') {
		fputs(s, f);
		return;
	}
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	}
	fputc('\'', f);
}

int setup_print_qemu_args(FILE *f, const struct setup_vm *vm)
{
	char args[SETUP_MAX_ARGS][SETUP_ARG_MAX];
	int n = setup_qemu_argv(vm, args, SETUP_MAX_ARGS);

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		if (i)
			fputc(' ', f);
		shell_word(f, args[i]);
	}
	fputc('\n', f);
	return ferror(f) ? -1 : 0;
}

/* ---- libvirt --------------------------------------------------------------------------- */

/* An XML attribute value between single quotes. */
static void xml_attr(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

int setup_print_libvirt(FILE *f, const struct setup_vm *vm)
{
	/* No relay command line in the comment: XML comments may not hold "--". */
	fprintf(f, "<!-- vmkd libvirt %s: merge these elements into the domain (virsh edit) -->\n",
		vm->name);
	fprintf(f, "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n");
	if (vm->host_ram)
		fprintf(f, "  <!-- guest RAM in a shared file (libvirt puts it in qemu.conf's "
			   "memory_backing_dir) -->\n"
			   "  <memoryBacking>\n"
			   "    <source type='file'/>\n"
			   "    <access mode='shared'/>\n"
			   "  </memoryBacking>\n");
	fprintf(f, "  <devices>\n"
		   "    <!-- vmkd's own virtio-serial controller, apart from the guest agent's -->\n"
		   "    <controller type='virtio-serial' index='%u'/>\n", vm->controller);
	fprintf(f, "    <channel type='unix'>\n      <source mode='%s' path='",
		vm->qemu_listens ? "bind" : "connect");
	xml_attr(f, vm->guest_sock);
	if (vm->qemu_listens)
		fprintf(f, "'/>\n");
	else
		fprintf(f, "'>\n        <reconnect enabled='yes' timeout='1'/>\n      </source>\n");
	fprintf(f, "      <target type='virtio' name='" VMKD_PORT_NAME "'/>\n"
		   "      <address type='virtio-serial' controller='%u' bus='0' port='1'/>\n"
		   "    </channel>\n"
		   "  </devices>\n", vm->controller);
	if (vm->host_ram) {
		fprintf(f, "  <!-- a QMP socket of the relay's own (libvirt keeps its monitor) -->\n"
			   "  <qemu:commandline>\n"
			   "    <qemu:arg value='-qmp'/>\n"
			   "    <qemu:arg value='unix:");
		/* QEMU's option syntax first (commas doubled), then XML's. */
		for (const char *p = vm->qmp_sock; *p; p++) {
			char c[2] = { *p, '\0' };

			xml_attr(f, c);
			if (*p == ',')
				fputc(',', f);
		}
		fprintf(f, ",server=on,wait=off'/>\n"
			   "  </qemu:commandline>\n");
	}
	fprintf(f, "</domain>\n");
	return ferror(f) ? -1 : 0;
}

/* ---- the relay side -------------------------------------------------------------------- */

int setup_print_relay_conf(FILE *f, const struct setup_vm *vm)
{
	fprintf(f, "%s %sunix:%s unix:%s\n", vm->name, vm->qemu_listens ? "" : "listen:",
		vm->guest_sock, vm->dbg_sock);
	return ferror(f) ? -1 : 0;
}

int setup_print_relay_cmd(FILE *f, const struct setup_vm *vm)
{
	fprintf(f, "vmkd relay --name %s --guest ", vm->name);
	if (!vm->qemu_listens)
		fputs("listen:", f);
	fputs("unix:", f);
	shell_word(f, vm->guest_sock);
	fputs(" --listen unix:", f);
	shell_word(f, vm->dbg_sock);
	fputc('\n', f);
	return ferror(f) ? -1 : 0;
}

/* ---- WinDbg ---------------------------------------------------------------------------- */

int setup_print_windbg(FILE *f, const char *prefix, const char *dbg_spec, int local_port)
{
	struct endpoint ep;

	if (endpoint_parse(dbg_spec, &ep, NULL, 0))
		return -1;
	if (ep.kind == ENDPOINT_TCP) {
		/* WinDbg's port= takes a name or an IPv4 address; brackets are not its syntax. */
		fprintf(f, "%sWinDbg on this host: windbg -k com:ipport=%s,port=%s\n", prefix,
			ep.port, ep.host);
		/* ssh -L wants an IPv6 address in brackets. */
		int v6 = strchr(ep.host, ':') != NULL;

		fprintf(f, "%sWinDbg elsewhere:    ssh -N -L %d:%s%s%s:%s USER@THIS-HOST, then "
			   "windbg -k com:ipport=%d,port=127.0.0.1\n", prefix, local_port,
			v6 ? "[" : "", ep.host, v6 ? "]" : "", ep.port, local_port);
	} else {
		fprintf(f, "%sWinDbg elsewhere:    ssh -N -L %d:%s USER@THIS-HOST, then "
			   "windbg -k com:ipport=%d,port=127.0.0.1\n", prefix, local_port, ep.path,
			local_port);
	}
	fprintf(f, "%s(KD has no authentication: keep the endpoint local and tunnel it)\n", prefix);
	return ferror(f) ? -1 : 0;
}
