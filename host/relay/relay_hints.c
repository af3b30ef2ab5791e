/* SPDX-License-Identifier: MIT */
/* Start-up hints: how to plug QEMU (or libvirt) and each debugger into a relayed VM. */
#include "relay_hints.h"

#include <stdlib.h>
#include <string.h>

#include "../common/endpoint.h"

#define CHARDEV_ID "vmkd0"
#define VSER_ID    "vmkd-vser0"

/* -chardev options naming the socket, and which side listens. */
static void qemu_chardev(FILE *f, const struct endpoint *ep, int relay_listens)
{
	fprintf(f, "-chardev socket,id=" CHARDEV_ID ",");
	if (ep->kind == ENDPOINT_UNIX)
		fprintf(f, "path=%s", ep->path);
	else
		fprintf(f, "host=%s,port=%s", ep->host, ep->port);
	fprintf(f, relay_listens ? ",server=off,reconnect=1" : ",server=on,wait=off");
}

/* libvirt's <channel>; when QEMU is the client it reconnects to a restarted relay. */
static void libvirt_channel(FILE *f, const struct endpoint *ep, int relay_listens)
{
	const char *mode = relay_listens ? "connect" : "bind";

	if (ep->kind == ENDPOINT_UNIX)
		fprintf(f, "<channel type='unix'><source mode='%s' path='%s'", mode, ep->path);
	else
		fprintf(f, "<channel type='tcp'><source mode='%s' host='%s' service='%s'", mode,
			ep->host, ep->port);
	if (relay_listens)
		fprintf(f, "><reconnect enabled='yes' timeout='1'/></source>");
	else
		fprintf(f, "/>");
	if (ep->kind == ENDPOINT_TCP)
		fprintf(f, "<protocol type='raw'/>");
	fprintf(f, "<target type='virtio' name='" VMKD_PORT_NAME "'/></channel>");
}

/* kdvm.dll is x64-only, so the guest's word size is 64 (radare2's winkd needs it right). */
#define GUEST_BITS 64
/* The local port suggested for forwarding a unix socket to WinDbg. */
#define FORWARD_PORT 50000
/* The shared memory backend the host path reads (relay_hostmem.h), and QMP. */
static void host_ram_lines(FILE *f, const struct relay_vm_config *vm)
{
	const char *id = vm->ram_id[0] ? vm->ram_id : "vmkd-ram";

	if (!vm->host_ram[0] || vm->no_host_ram) {
		fprintf(f, "  host RAM: off (memory reads run in the guest); to read guest memory on the "
			   "host, give the VM\n"
			   "            -object memory-backend-file,id=vmkd-ram,size=RAM,mem-path="
			   "/dev/shm/vmkd-%s,share=on -machine memory-backend=vmkd-ram\n"
			   "            -qmp unix:/run/vmkd/%s.qmp,server=on,wait=off and the relay "
			   "--host-ram /dev/shm/vmkd-%s --qmp unix:/run/vmkd/%s.qmp\n",
			vm->name, vm->name, vm->name, vm->name);
		return;
	}
	fprintf(f, "  QEMU:     -object memory-backend-file,id=%s,size=RAM,mem-path=%s,share=on "
		   "-machine memory-backend=%s", id, vm->host_ram, id);
	if (!strncmp(vm->qmp, "unix:", 5))
		fprintf(f, " -qmp %s,server=on,wait=off", vm->qmp);
	fprintf(f, "\n  libvirt:  <memoryBacking><source type='file'/><access mode='shared'/>"
		   "</memoryBacking> (the file is in qemu.conf's memory_backing_dir) and a QMP socket "
		   "of the relay's own: <qemu:commandline><qemu:arg value='-qmp'/><qemu:arg "
		   "value='unix:PATH,server=on,wait=off'/></qemu:commandline>; relay --ram-id "
		   "pc.ram\n");
}

static void debugger_lines(FILE *f, const struct endpoint *ep, int port)
{
	if (ep->kind == ENDPOINT_UNIX) {
		fprintf(f, "  vmkd:     vmkd attach unix:%s\n", ep->path);
		fprintf(f, "  radare2:  r2 -a x86 -b %d -D winkd winkd://%s   (x86-64 guest)\n",
			GUEST_BITS, ep->path);
		fprintf(f, "  WinDbg on another machine, through SSH (the socket stays private):\n"
			   "            ssh -N -L %d:%s USER@THIS-HOST\n"
			   "            windbg -k com:ipport=%d,port=127.0.0.1\n",
			FORWARD_PORT, ep->path, FORWARD_PORT);
		fprintf(f, "  WinDbg/kd on a TCP port of this host (any local user can reach it):\n"
			   "            socat TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork "
			   "UNIX-CONNECT:%s\n", FORWARD_PORT, ep->path);
		return;
	}
	fprintf(f, "  WinDbg:   windbg -k com:ipport=%d,port=%s\n", port, ep->host);
	fprintf(f, "  kd:       kd -k com:ipport=%d,port=%s\n", port, ep->host);
	fprintf(f, "  vmkd:     vmkd attach tcp:%s:%d\n", ep->host, port);
}

void relay_print_hints(FILE *f, const struct relay_vm_config *vm, int dbg_port)
{
	struct endpoint guest, dbg;
	char listen[RELAY_SPEC_MAX + 16];

	if (!f || endpoint_parse(vm->guest, &guest, NULL, 0) ||
	    endpoint_parse(vm->listen, &dbg, NULL, 0))
		return;
	if (dbg.kind == ENDPOINT_TCP && dbg_port <= 0)
		dbg_port = atoi(dbg.port);
	if (dbg.kind == ENDPOINT_TCP)
		snprintf(dbg.port, sizeof(dbg.port), "%d", dbg_port);
	endpoint_format(&dbg, listen, sizeof(listen));
	if (vm->guest_ivshmem) {
		/* QEMU connects at device realize: the relay must be up first. */
		fprintf(f, "%s: guest ivshmem:%s (the relay is QEMU's ivshmem server; shared "
			"memory), debugger %s\n", vm->name, guest.path, listen);
		fprintf(f, "  QEMU:     -chardev socket,id=" CHARDEV_ID ",path=%s -device "
			"ivshmem-doorbell,chardev=" CHARDEV_ID ",vectors=1   (start the relay "
			"first)\n", guest.path);
		fprintf(f, "  libvirt:  <shmem name='vmkd0'><model type='ivshmem-doorbell'/>"
			"<server path='%s'/><msi vectors='1'/></shmem>\n", guest.path);
	} else {
		fprintf(f, "%s: guest %s%s (%s), debugger %s\n", vm->name,
			vm->guest_listen ? "listen:" : "", vm->guest,
			vm->guest_listen ? "the relay listens, QEMU connects" :
					   "QEMU listens, the relay connects",
			listen);
		fprintf(f, "  QEMU:     -device virtio-serial-pci,id=" VSER_ID " ");
		qemu_chardev(f, &guest, vm->guest_listen);
		fprintf(f, " -device virtserialport,bus=" VSER_ID ".0,chardev=" CHARDEV_ID
			   ",name=" VMKD_PORT_NAME "\n");
		fprintf(f, "  libvirt:  ");
		libvirt_channel(f, &guest, vm->guest_listen);
		fprintf(f, "\n");
	}
	host_ram_lines(f, vm);
	debugger_lines(f, &dbg, dbg_port);
}
