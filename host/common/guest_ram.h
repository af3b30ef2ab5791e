/* SPDX-License-Identifier: MIT */
/*
 * guest_ram.h - a VM's RAM as the host sees it: QEMU's memory backend file mapped into this
 * process, and the guest-physical layout of that file.
 *
 * The layout comes from QEMU's own flat view of the address space (HMP `info mtree -f`
 * through QMP), never from an assumption: RAM below the PCI hole continues above 4 GiB at a
 * machine-dependent split (q35: 2 GiB, pc: 3 GiB), and ROM / VGA windows punch holes into
 * the low MiB. Each line of the "memory" address space's flat view that names the backend
 * and is of type "ram" becomes a range {gpa, size, file offset}:
 *
 *     0000000000100000-000000007fffffff (prio 0, ram): vmkd-ram @0000000000100000 KVM
 *
 * The text is untrusted (a hostile or confused QEMU): it is parsed with bounds on line
 * length and range count, and ranges that overlap, wrap or leave the file are refused.
 */
#ifndef VMKD_HOST_GUEST_RAM_H
#define VMKD_HOST_GUEST_RAM_H

#include <stddef.h>
#include <stdint.h>

#define GUEST_RAM_MAX_RANGES 64u
#define GUEST_RAM_ID_MAX     64u

struct guest_ram_range {
	uint64_t gpa;    /* first guest-physical address */
	uint64_t size;   /* bytes */
	uint64_t offset; /* where they are in the backend file */
};

struct guest_ram_layout {
	size_t count;    /* ranges, sorted by gpa, disjoint */
	struct guest_ram_range r[GUEST_RAM_MAX_RANGES];
};

/*
 * Parses `info mtree -f` text (len bytes, need not be NUL-terminated): the ranges of the
 * flat view used by the address space "memory" whose region is named backend_id and has
 * type ram. Returns 0, or -1 with a message in err (no such view, no range, too many,
 * overlapping or wrapping ranges, a malformed range line in that view).
 */
int guest_ram_parse_mtree(const char *text, size_t len, const char *backend_id,
			  struct guest_ram_layout *out, char *err, size_t errlen);

/* Bytes of the file the layout needs (max offset + size), 0 for an empty layout. */
uint64_t guest_ram_layout_file_size(const struct guest_ram_layout *l);

/* The RAM of one VM, mapped. */
struct guest_ram {
	struct guest_ram_layout layout;
	uint8_t *base;      /* file offset 0 */
	size_t map_len;
	int writable;
	int owns_mapping;   /* 1: munmap on unmap (0 for a caller's buffer) */
};

/* Maps the backend file at path (shared; read-only unless writable) and checks that the
 * layout fits in it. Returns 0, or -1 with err. */
int guest_ram_map(struct guest_ram *g, const char *path, const struct guest_ram_layout *l,
		  int writable, char *err, size_t errlen);

/* Uses a caller's buffer as the backend file (tests, fuzzers). -1 if the layout does not
 * fit in len bytes. */
int guest_ram_use_buffer(struct guest_ram *g, uint8_t *buf, size_t len,
			 const struct guest_ram_layout *l, int writable);

void guest_ram_unmap(struct guest_ram *g);

/* Host address of [gpa, gpa + len) when it lies inside one RAM range, else NULL. */
const uint8_t *guest_ram_ptr(const struct guest_ram *g, uint64_t gpa, uint64_t len);

/* Copies up to len bytes from gpa; returns how many before the first byte that is not RAM
 * (MMIO, ROM, a hole, beyond the end). */
size_t guest_ram_read(const struct guest_ram *g, uint64_t gpa, void *buf, size_t len);

/* Total RAM bytes in the layout. */
uint64_t guest_ram_total(const struct guest_ram_layout *l);

#endif
