/* SPDX-License-Identifier: MIT */
/*
 * kdvm_options.h - the boot options kdvm.dll reads from the loader block.
 *
 * The x64 LOADER_PARAMETER_BLOCK starts with OsMajorVersion (0x00), OsMinorVersion (0x04)
 * and Size (0x08) from Windows 7 (6.1) on; the members behind them move between releases.
 * A block is read only when {major, minor, size} is one of the layouts in the table below
 * (Geoff Chappell, "LOADER_PARAMETER_BLOCK", offsets from public symbols and the WDK's
 * arc.h; docs/windows.md section 3). Any other block, and NULL, gives the defaults: the
 * layout is identified, never guessed.
 *
 *   version            major.minor  Size    LoadOptions
 *   Windows 7          6.1          0xF0    0x98
 *   Windows 8          6.2          0x118   0xB8
 *   Windows 8.1        6.3          0x128   0xB8
 *   Windows 10 -1709   10.0         0x148   0xD8
 *   Windows 10 1803+   10.0         0x160   0xD8   (11 too while Size stays 0x160)
 *
 * LoadOptions is the loader's option string: upper case, slashes dropped. Words read:
 *   DEBUGPORT=<name>   recorded; any name is accepted (the loader picked this DLL from it)
 *   VMKDPORT=<n>       use the virtio-serial port named "org.vmkd.<n>" (n = 0..99), for a
 *                      VM with several such ports; numeric because the loader upper-cases
 *                      the string and port names are case-sensitive
 *   VMKDDEV=<d>        the device: VIRTIO (virtio-serial), IVSHMEM (ivshmem-doorbell with
 *                      the relay as its server; kdvm.dll maps it in phase 1), AUTO (default:
 *                      virtio-serial in the DLL, which cannot map device memory in phase 0)
 */
#ifndef VMKD_KDVM_OPTIONS_H
#define VMKD_KDVM_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#define KDVM_LPB_MAJOR_OFF        0x00u
#define KDVM_LPB_MINOR_OFF        0x04u
#define KDVM_LPB_SIZE_OFF         0x08u
#define KDVM_OPTIONS_MAX          512u   /* bytes of LoadOptions looked at */
#define KDVM_PORT_NAME_MAX        16u

struct kdvm_lpb_layout {
	const char *name;
	uint32_t major, minor, size;
	uint32_t load_options;     /* offset of the char * */
};

/* The known layouts (the table above), for the test kernel and the tests. */
extern const struct kdvm_lpb_layout kdvm_lpb_layouts[];
extern const size_t kdvm_lpb_layout_count;

enum kdvm_opt_device {
	KDVM_OPT_DEV_AUTO = 0,
	KDVM_OPT_DEV_VIRTIO,
	KDVM_OPT_DEV_IVSHMEM,
};

struct kdvm_options {
	uint8_t device;                     /* enum kdvm_opt_device (VMKDDEV=) */
	uint8_t have_debugport;
	char debugport[16];
	uint8_t have_port;
	char port_name[KDVM_PORT_NAME_MAX]; /* "org.vmkd.<n>" when VMKDPORT= was given */
};

/* The LoadOptions string of a loader block in a known layout (and *layout, if not NULL,
 * names it), else NULL. Pointers outside the x64 kernel half are not followed. */
const char *kdvm_loader_options(const void *loader_block, const struct kdvm_lpb_layout **layout);

/* Parses options (NULL allowed) into o (zeroed first). */
void kdvm_options_parse(const char *opts, struct kdvm_options *o);

#endif
