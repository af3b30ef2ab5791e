/* SPDX-License-Identifier: MIT */
/*
 * kdvm_options.h - the boot options kdvm.dll reads from the loader block.
 *
 * LOADER_PARAMETER_BLOCK changes layout with almost every Windows release (Geoff Chappell,
 * "LOADER_PARAMETER_BLOCK": x64 size 0xE8 in 6.0 ... 0x148 in 10.0-1709, 0x160 from 1803).
 * Only one x64 layout is taken from a public symbol-derived dump: OsMajorVersion at 0x0,
 * Size at 0x8, LoadOptions (char *) at 0xD8, total size 0x160 (Windows 10 1803..1903). Any
 * other block is ignored, as is NULL: options are then the defaults. A kernel that is not
 * Windows (the vmkd test kernel) can build such a block to pass options.
 *
 * Recognised words (the loader upper-cases the string and drops the slashes):
 *   DEBUGPORT=<name>   recorded; any name is accepted (the loader picked this DLL from it)
 */
#ifndef VMKD_KDVM_OPTIONS_H
#define VMKD_KDVM_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#define KDVM_LPB_MAJOR_OFF        0x00u
#define KDVM_LPB_SIZE_OFF         0x08u
#define KDVM_LPB_LOAD_OPTIONS_OFF 0xD8u
#define KDVM_LPB_KNOWN_SIZE       0x160u
#define KDVM_OPTIONS_MAX          512u   /* bytes of LoadOptions looked at */

struct kdvm_options {
	uint8_t have_debugport;
	char debugport[16];
};

/* The LoadOptions string of a loader block in the one known layout, else NULL. Pointers
 * outside the x64 kernel half are not followed. */
const char *kdvm_loader_options(const void *loader_block);

/* Parses options (NULL allowed) into o (zeroed first). */
void kdvm_options_parse(const char *opts, struct kdvm_options *o);

#endif
