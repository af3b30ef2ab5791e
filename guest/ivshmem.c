/* SPDX-License-Identifier: MIT */
/* The ivshmem-doorbell backend: BARs, the header, the rings, the doorbell. Freestanding. */
#include "ivshmem.h"

#define BAR_MEM_MASK   0xFFFFFFF0u
#define BAR_IO         0x1u
#define BAR_TYPE_64    0x4u
#define BAR_TYPE_MASK  0x6u

/* A memory BAR's physical address (64-bit BARs take the next dword too). 0 if unusable. */
static uint64_t mem_bar(struct ivs *v, uint8_t off)
{
	uint32_t lo = pci_read32(&v->io, v->pci, off);
	uint64_t pa;

	if (lo & BAR_IO)
		return 0;
	pa = lo & BAR_MEM_MASK;
	if ((lo & BAR_TYPE_MASK) == BAR_TYPE_64)
		pa |= (uint64_t)pci_read32(&v->io, v->pci, (uint8_t)(off + 4)) << 32;
	return pa;
}

/* The standard sizing probe: all ones, read back, restore; memory decode off meanwhile so
 * no access lands on the half-written BAR. */
static uint64_t mem_bar_size(struct ivs *v, uint8_t off)
{
	uint16_t cmd = pci_read16(&v->io, v->pci, PCI_COMMAND);
	uint32_t lo = pci_read32(&v->io, v->pci, off), hi = 0, slo, shi = 0xFFFFFFFFu;
	int is64 = (lo & BAR_TYPE_MASK) == BAR_TYPE_64;
	uint64_t mask;

	pci_write16(&v->io, v->pci, PCI_COMMAND, (uint16_t)(cmd & ~PCI_COMMAND_MEMORY));
	pci_write32(&v->io, v->pci, off, 0xFFFFFFFFu);
	slo = pci_read32(&v->io, v->pci, off);
	pci_write32(&v->io, v->pci, off, lo);
	if (is64) {
		hi = pci_read32(&v->io, v->pci, (uint8_t)(off + 4));
		pci_write32(&v->io, v->pci, (uint8_t)(off + 4), 0xFFFFFFFFu);
		shi = pci_read32(&v->io, v->pci, (uint8_t)(off + 4));
		pci_write32(&v->io, v->pci, (uint8_t)(off + 4), hi);
	}
	pci_write16(&v->io, v->pci, PCI_COMMAND, cmd);
	mask = ((uint64_t)shi << 32) | (slo & BAR_MEM_MASK);
	if (!(slo & BAR_MEM_MASK))
		return 0;
	return ~mask + 1u;
}

static void decode_on(struct ivs *v)
{
	uint16_t cmd = pci_read16(&v->io, v->pci, PCI_COMMAND);

	if (!(cmd & PCI_COMMAND_MEMORY))
		pci_write16(&v->io, v->pci, PCI_COMMAND, (uint16_t)(cmd | PCI_COMMAND_MEMORY));
}

int ivs_init(struct ivs *v, const struct guest_platform *plat)
{
	struct ivs_stats zero = { 0 };

	v->io.plat = plat;
	v->io.total = v->io.while_polling = v->io.notifies = 0;
	v->io.polling = 0;
	v->stats = zero;
	v->regs = 0;
	v->shm = 0;
	/* No way to map device memory: the device is of no use, and the scan's port I/O is
	 * not spent. */
	if (!plat->map_io)
		return IVS_ERR_NO_MAP;
	if (pci_find(&v->io, VMKD_IVSHMEM_VENDOR, VMKD_IVSHMEM_DEVICE, &v->pci, 1) != 1)
		return IVS_ERR_NO_DEVICE;
	v->bar0 = mem_bar(v, PCI_BAR0);
	v->bar2 = mem_bar(v, IVS_BAR2);
	if (!v->bar0 || !v->bar2)
		return IVS_ERR_BAR;
	v->bar2_len = mem_bar_size(v, IVS_BAR2);
	if (v->bar2_len < VMKD_SHM_DATA_OFFSET + 2u * VMKD_SHM_RING_MIN ||
	    v->bar2_len > ((uint64_t)1 << 31) || (v->bar2 & (v->bar2_len - 1)))
		return IVS_ERR_BAR;
	decode_on(v);
	v->regs = plat->map_io(plat->ctx, v->bar0, IVS_REGS_SIZE);
	v->shm = plat->map_io(plat->ctx, v->bar2, (size_t)v->bar2_len);
	if (!v->regs || !v->shm)
		return IVS_ERR_NO_MAP;
	if (vmkd_shm_check(v->shm, (size_t)v->bar2_len, &v->layout) != VMKD_SHM_OK)
		return IVS_ERR_HEADER;
	v->position = v->regs[VMKD_IVSHMEM_IVPOSITION / 4];
	v->doorbell = ((uint32_t)v->layout.host_peer_id << 16) | v->layout.doorbell_vector;
	vmkd_shmring_attach(&v->tx, v->shm, &v->layout, 0, 1);
	vmkd_shmring_attach(&v->rx, v->shm, &v->layout, 1, 0);
	/* A rebooted guest under the same QEMU: what the relay sent the last one is stale. */
	vmkd_shmring_discard(&v->rx);
	return IVS_OK;
}

int ivs_send(struct ivs *v, const void *frame, size_t len)
{
	if (vmkd_shmring_write_all(&v->tx, frame, len)) {
		v->stats.tx_full++;
		return -1;
	}
	/* The release store of head (vmkd_shmring_write) is ordered before this MMIO write:
	 * x86 keeps stores in order, and the device memory is mapped uncached. */
	v->regs[VMKD_IVSHMEM_DOORBELL / 4] = v->doorbell;
	v->stats.frames_sent++;
	v->stats.doorbells++;
	v->io.notifies++;
	return 0;
}

size_t ivs_recv(struct ivs *v, void *dst, size_t cap)
{
	size_t n = vmkd_shmring_read(&v->rx, dst, cap);

	v->stats.rx_bytes += n;
	return n;
}

int ivs_readable(struct ivs *v)
{
	return vmkd_shmring_readable(&v->rx) != 0;
}

enum ivs_check ivs_check(struct ivs *v)
{
	uint16_t cmd;

	v->stats.checks++;
	if (mem_bar(v, PCI_BAR0) != v->bar0 || mem_bar(v, IVS_BAR2) != v->bar2)
		return IVS_CHECK_LOST;
	if (vmkd_shm_check(v->shm, (size_t)v->bar2_len, 0) != VMKD_SHM_OK)
		return IVS_CHECK_LOST;
	cmd = pci_read16(&v->io, v->pci, PCI_COMMAND);
	if (cmd & PCI_COMMAND_MEMORY)
		return IVS_CHECK_OK;
	pci_write16(&v->io, v->pci, PCI_COMMAND, (uint16_t)(cmd | PCI_COMMAND_MEMORY));
	v->stats.repairs++;
	return IVS_CHECK_REPAIRED;
}
