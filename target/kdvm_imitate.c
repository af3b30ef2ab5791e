/* SPDX-License-Identifier: MIT */
/* Device resets, BAR moves, power cycles and a bug check, imitated under kdvm.dll. */
#include "kdvm_imitate.h"

#include <string.h>

#include "cmdline.h"
#include "console.h"
#include "guest_x86_io.h"
#include "kd_kdvm.h"
#include "kexports.h"
#include "virtio_serial.h"

static const char *const event_names[IMITATE_COUNT] = {
	[IMITATE_RESET] = "reset", [IMITATE_DECODE] = "decode", [IMITATE_BAR] = "bar",
	[IMITATE_POWER] = "power", [IMITATE_HIBER] = "hiber", [IMITATE_CRASH] = "crash",
};

static int parse_event(const char *w, size_t n, enum kdvm_imitate_event *what, uint32_t *at)
{
	size_t k = 0;
	uint64_t v = 0;

	while (k < n && w[k] != '@')
		k++;
	if (k == n || k + 1 == n)
		return -1;
	for (size_t i = k + 1; i < n; i++) {
		if (w[i] < '0' || w[i] > '9' || v > 100000u)
			return -1;
		v = v * 10u + (uint64_t)(w[i] - '0');
	}
	for (unsigned e = 0; e < IMITATE_COUNT; e++) {
		if (strlen(event_names[e]) == k && !strncmp(w, event_names[e], k)) {
			*what = (enum kdvm_imitate_event)e;
			*at = (uint32_t)v;
			return 0;
		}
	}
	return -1;
}

void kdvm_imitate_init(struct kdvm_imitate *im)
{
	char list[128];
	size_t i = 0;

	memset(im, 0, sizeof(*im));
	if (cmdline_get("kdvm_imitate", list, sizeof(list)) < 0)
		return;
	while (list[i]) {
		size_t start = i;

		while (list[i] && list[i] != ',')
			i++;
		if (i > start) {
			enum kdvm_imitate_event what;
			uint32_t at;

			if (parse_event(list + start, i - start, &what, &at) ||
			    im->n == KDVM_IMITATE_MAX)
				kprintf("vmkd-target: imitate: ignored \"%.*s\"\n", (int)(i - start),
					list + start);
			else {
				im->ev[im->n].what = what;
				im->ev[im->n].after_sends = at;
				im->n++;
			}
		}
		if (list[i])
			i++;
	}
	guest_platform_use_x86_io(&im->plat);
	im->io.plat = &im->plat;
	/* The device kdvm.dll drives: the first virtio-serial function (the tests have one). */
	im->have_dev = pci_find(&im->io, VSER_PCI_VENDOR, VSER_PCI_DEVICE, &im->dev, 1) == 1;
	kprintf("vmkd-target: imitate: %u event(s) scheduled%s\n", im->n,
		im->have_dev ? "" : ", but no virtio-serial device found");
}

static uint16_t io_base(struct kdvm_imitate *im)
{
	return (uint16_t)(pci_read32(&im->io, im->dev, PCI_BAR0) & 0xFFFCu);
}

/* What firmware leaves on resume: the device reset, decodes off. */
static void firmware_reset(struct kdvm_imitate *im)
{
	guest_outb(&im->io, (uint16_t)(io_base(im) + VSER_REG_STATUS), 0);
	pci_write16(&im->io, im->dev, PCI_COMMAND, 0);
}

static void fire(struct kdvm_imitate *im, struct kd_kdvm *k, enum kdvm_imitate_event what)
{
	uint16_t base = io_base(im), nb;
	uint16_t cmd;

	switch (what) {
	case IMITATE_RESET:
		guest_outb(&im->io, (uint16_t)(base + VSER_REG_STATUS), 0);
		kprintf("vmkd-target: imitate: device reset (status 0 at %#x)\n", base);
		break;
	case IMITATE_DECODE:
		cmd = pci_read16(&im->io, im->dev, PCI_COMMAND);
		pci_write16(&im->io, im->dev, PCI_COMMAND,
			    (uint16_t)(cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MASTER)));
		kprintf("vmkd-target: imitate: I/O decode and bus mastering off (command %#x -> "
			"%#x)\n", cmd, pci_read16(&im->io, im->dev, PCI_COMMAND));
		break;
	case IMITATE_BAR:
		/* Another page of the PCI I/O window (0xc000-0xffff on QEMU's pc machine). */
		nb = (uint16_t)(base < 0xe000u ? base + 0x1000u : base - 0x1000u);
		pci_write32(&im->io, im->dev, PCI_BAR0, (uint32_t)nb | 1u);
		kprintf("vmkd-target: imitate: I/O BAR moved %#x -> %#x\n", base, io_base(im));
		break;
	case IMITATE_POWER:
		k->d3_transition();
		firmware_reset(im);
		kprintf("vmkd-target: imitate: KdD3Transition, device reset by \"firmware\", "
			"KdD0Transition\n");
		/* As the PCI driver does on the way up, before KD hears of D0. */
		pci_write16(&im->io, im->dev, PCI_COMMAND, PCI_COMMAND_IO);
		k->d0_transition();
		break;
	case IMITATE_HIBER:
		k->save(1);
		firmware_reset(im);
		kprintf("vmkd-target: imitate: KdSave(TRUE), device reset by \"firmware\", "
			"KdRestore(TRUE), KdDebuggerInitialize0(NULL) again\n");
		k->restore(1);
		kprintf("vmkd-target: imitate: KdDebuggerInitialize0(NULL) = %#x\n",
			(uint32_t)k->initialize0(NULL));
		break;
	case IMITATE_CRASH:
		kexports_set_phase(KEXPORTS_CRASHED);
		kprintf("vmkd-target: imitate: bug check: kdvm.dll's imports poisoned, interrupts "
			"off, KD goes on\n");
		break;
	case IMITATE_COUNT:
		break;
	}
}

void kdvm_imitate_before_send(struct kdvm_imitate *im, struct kd_kdvm *k)
{
	if (!im->have_dev)
		return;
	for (unsigned i = 0; i < im->n; i++) {
		if (im->ev[i].done || im->sends < im->ev[i].after_sends)
			continue;
		im->ev[i].done = 1;
		kprintf("vmkd-target: imitate: %s after packet %u\n", event_names[im->ev[i].what],
			im->sends);
		fire(im, k, im->ev[i].what);
	}
	im->sends++;
}
