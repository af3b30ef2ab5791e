/* SPDX-License-Identifier: MIT */
/* sym_fake.h - target memory for symbol-layer tests: regions of bytes behind a sym_reader,
 * and a PE32+ image builder with an export table. */
#ifndef VMKD_TESTS_SYM_FAKE_H
#define VMKD_TESTS_SYM_FAKE_H

#include <stddef.h>
#include <stdint.h>

#include "../../host/sym/sym_reader.h"

#define FAKE_MAX_REGIONS 8

struct fake_mem {
	struct { uint64_t base; uint8_t *bytes; size_t len; } r[FAKE_MAX_REGIONS];
	size_t n;
	unsigned reads;
};

/* Adds a zeroed region; returns its bytes (owned by m). */
uint8_t *fake_region(struct fake_mem *m, uint64_t base, size_t len);
void fake_free(struct fake_mem *m);
struct sym_reader fake_reader(struct fake_mem *m);

struct fake_export {
	const char *name;    /* NULL: by ordinal only */
	uint32_t rva;
};

/* Writes a PE32+ image of size bytes (>= 0x2000) at img: headers at 0, the export directory
 * at 0x1000 naming exports[0..n) (names sorted by the caller), .pdata at pdata_rva/size if
 * pdata_size (data directory 3). Returns the export directory's size. */
uint32_t fake_pe(uint8_t *img, size_t size, const char *dll, const struct fake_export *exports,
		 size_t n, uint32_t pdata_rva, uint32_t pdata_size);

void put16(uint8_t *p, uint16_t v);
void put32(uint8_t *p, uint32_t v);
void put64(uint8_t *p, uint64_t v);

#endif
