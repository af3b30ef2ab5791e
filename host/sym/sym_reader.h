/* SPDX-License-Identifier: MIT */
/*
 * sym_reader.h - the one thing the symbol layer needs from a target: reading its virtual
 * memory. A KD session, a gdb stub or a byte array in a test all fit behind it.
 */
#ifndef VMKD_HOST_SYM_READER_H
#define VMKD_HOST_SYM_READER_H

#include <stddef.h>
#include <stdint.h>

struct sym_reader {
	/* Reads up to len bytes at va; *got = bytes read (a partial read stops at the first
	 * inaccessible byte). Returns 0 if anything could be read, negative otherwise. */
	int (*read)(void *opaque, uint64_t va, void *buf, size_t len, size_t *got);
	void *opaque;
};

/* Reads exactly len bytes; 0, or -1 if any byte is missing. */
static inline int sym_read_exact(const struct sym_reader *r, uint64_t va, void *buf, size_t len)
{
	size_t got = 0;

	if (!len)
		return 0;
	if (r->read(r->opaque, va, buf, len, &got) || got != len)
		return -1;
	return 0;
}

#endif
