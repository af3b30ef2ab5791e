/* SPDX-License-Identifier: MIT */
/*
 * pci_cf8.h - PCI configuration space through the legacy 0xCF8/0xCFC mechanism, and a
 * small bus scan. Bus 0 is scanned, plus the buses behind its PCI-to-PCI bridges (q35 root
 * ports), so the scan costs a few hundred port accesses, not 65536.
 */
#ifndef VMKD_PCI_CF8_H
#define VMKD_PCI_CF8_H

#include <stdint.h>

#include "guest_io.h"

#define PCI_CONFIG_ADDRESS  0xCF8u
#define PCI_CONFIG_DATA     0xCFCu

#define PCI_VENDOR_ID       0x00u
#define PCI_COMMAND         0x04u
#define PCI_HEADER_TYPE     0x0Eu
#define PCI_BAR0            0x10u
#define PCI_SECONDARY_BUS   0x19u
#define PCI_SUBORDINATE_BUS 0x1Au

#define PCI_COMMAND_IO            0x0001u
#define PCI_COMMAND_MASTER        0x0004u
#define PCI_COMMAND_INTX_DISABLE  0x0400u

struct pci_addr {
	uint8_t bus, dev, fn;
};

uint32_t pci_read32(struct guest_io *io, struct pci_addr a, uint8_t off);
void pci_write32(struct guest_io *io, struct pci_addr a, uint8_t off, uint32_t v);
uint16_t pci_read16(struct guest_io *io, struct pci_addr a, uint8_t off);
void pci_write16(struct guest_io *io, struct pci_addr a, uint8_t off, uint16_t v);

/* Fills out[] with up to max functions whose vendor:device matches; returns the count. */
unsigned pci_find(struct guest_io *io, uint16_t vendor, uint16_t device, struct pci_addr *out,
		  unsigned max);

#endif
