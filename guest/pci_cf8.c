/* SPDX-License-Identifier: MIT */
/* PCI configuration access via 0xCF8/0xCFC and a bounded bus scan. */
#include "pci_cf8.h"

static uint32_t cf8(struct pci_addr a, uint8_t off)
{
	return 0x80000000u | ((uint32_t)a.bus << 16) | ((uint32_t)(a.dev & 31u) << 11) |
	       ((uint32_t)(a.fn & 7u) << 8) | (off & 0xFCu);
}

uint32_t pci_read32(struct guest_io *io, struct pci_addr a, uint8_t off)
{
	guest_outl(io, PCI_CONFIG_ADDRESS, cf8(a, off));
	return guest_inl(io, PCI_CONFIG_DATA);
}

void pci_write32(struct guest_io *io, struct pci_addr a, uint8_t off, uint32_t v)
{
	guest_outl(io, PCI_CONFIG_ADDRESS, cf8(a, off));
	guest_outl(io, PCI_CONFIG_DATA, v);
}

uint16_t pci_read16(struct guest_io *io, struct pci_addr a, uint8_t off)
{
	return (uint16_t)(pci_read32(io, a, off) >> (8u * (off & 2u)));
}

void pci_write16(struct guest_io *io, struct pci_addr a, uint8_t off, uint16_t v)
{
	guest_outl(io, PCI_CONFIG_ADDRESS, cf8(a, off));
	guest_outw(io, (uint16_t)(PCI_CONFIG_DATA + (off & 2u)), v);
}

static uint8_t pci_read8(struct guest_io *io, struct pci_addr a, uint8_t off)
{
	return (uint8_t)(pci_read32(io, a, off) >> (8u * (off & 3u)));
}

/* Scans one bus; remembers the highest subordinate bus behind a bridge of bus 0. */
static unsigned scan_bus(struct guest_io *io, uint8_t bus, uint16_t vendor, uint16_t device,
			 struct pci_addr *out, unsigned n, unsigned max, uint8_t *last_bus)
{
	for (uint8_t dev = 0; dev < 32; dev++) {
		uint8_t nfn = 1;

		for (uint8_t fn = 0; fn < nfn; fn++) {
			struct pci_addr a = { bus, dev, fn };
			uint32_t id = pci_read32(io, a, PCI_VENDOR_ID);
			uint8_t htype;

			if ((id & 0xFFFFu) == 0xFFFFu || (id & 0xFFFFu) == 0)
				continue;
			htype = pci_read8(io, a, PCI_HEADER_TYPE);
			if (fn == 0 && (htype & 0x80u))
				nfn = 8;
			if ((id & 0xFFFFu) == vendor && (id >> 16) == device && n < max)
				out[n++] = a;
			if (bus == 0 && (htype & 0x7Fu) == 1) {
				uint8_t sub = pci_read8(io, a, PCI_SUBORDINATE_BUS);

				if (sub > *last_bus)
					*last_bus = sub;
			}
		}
	}
	return n;
}

unsigned pci_find(struct guest_io *io, uint16_t vendor, uint16_t device, struct pci_addr *out,
		  unsigned max)
{
	uint8_t last_bus = 0;
	unsigned n = scan_bus(io, 0, vendor, device, out, 0, max, &last_bus);

	for (unsigned bus = 1; bus <= last_bus && n < max; bus++)
		n = scan_bus(io, (uint8_t)bus, vendor, device, out, n, max, &last_bus);
	return n;
}
