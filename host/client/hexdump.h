/* SPDX-License-Identifier: MIT */
/* hexdump.h - WinDbg-style memory dumps (db/dw/dd/dq and the physical !d* forms). */
#ifndef VMKD_HOST_HEXDUMP_H
#define VMKD_HOST_HEXDUMP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Address as WinDbg prints a 64-bit one: "fffff800`00100000" (18 bytes with the NUL). */
void hexdump_addr(char out[18], uint64_t addr);

/*
 * Dumps len bytes of buf that were read from addr, in units of 1, 2, 4 or 8 bytes,
 * 16 bytes a line; only the first valid bytes are real, the rest print as "??" (a
 * partial read). Bytes get an ASCII column. physical selects the "#    1000" address
 * form of !db. Writes to out; returns the number of lines.
 */
size_t hexdump_format(FILE *out, uint64_t addr, const uint8_t *buf, size_t len, size_t valid,
		      unsigned unit, int physical);

#endif
