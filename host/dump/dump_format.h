/* SPDX-License-Identifier: MIT */
/*
 * dump_format.h - guest physical memory written to a file, from any source of bytes (the
 * RAM mapped on the host, or KD requests). No QMP, no terminal: dump_main.c does those.
 *
 *   raw  the guest-physical address space as a file: file offset = physical address, the
 *        holes between RAM ranges left sparse (they read as zeros).
 *   elf  an ELF64 core (ET_CORE, EM_X86_64) with one PT_LOAD per RAM range, p_paddr = the
 *        guest-physical address and p_vaddr = 0, as QEMU's dump-guest-memory writes them
 *        when it does not translate; data pages start 4 KiB aligned.
 *   dmp  a Windows full kernel memory dump: the caller's DUMP_HEADER64 (dump_windows.h,
 *        0x2000 bytes, built from KD), then every page of every range, in order.
 */
#ifndef VMKD_HOST_DUMP_FORMAT_H
#define VMKD_HOST_DUMP_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "../common/guest_ram.h"

enum dump_format {
	DUMP_RAW,
	DUMP_ELF,
	DUMP_DMP,
};

/* Copies len bytes at gpa into buf; 0, or -1 with err (the dump stops). */
typedef int (*dump_read_fn)(void *ctx, uint64_t gpa, void *buf, size_t len, char *err,
			    size_t errlen);

/* Called after every chunk; done/total in bytes of RAM. */
typedef void (*dump_progress_fn)(void *ctx, uint64_t done, uint64_t total);

struct dump_source {
	const struct guest_ram_layout *layout;
	/* Zero-copy source: a host pointer for [gpa, gpa + len), or NULL to use read. */
	const uint8_t *(*map)(void *ctx, uint64_t gpa, size_t len);
	dump_read_fn read;
	void *ctx;
	size_t chunk;                 /* bytes per read / write (0 = 8 MiB) */
	const uint8_t *prefix;        /* DUMP_DMP: the header written first */
	size_t prefix_len;
	dump_progress_fn progress;
	void *progress_ctx;
	/* 1: all-zero pages (DUMP_SPARSE_PAGE bytes, at page offsets of each range) are not
	 * written but left as holes, which read back as zeros: the file must be new or
	 * truncated. The bytes read back are the same; the file takes less space and time. */
	int sparse;
	uint64_t *zero_bytes;         /* optional: gets the bytes left as holes */
};

#define DUMP_SPARSE_PAGE 4096u

#define DUMP_ELF_DATA_ALIGN 4096u

/* Writes the dump to fd (positioned writes from offset 0) and sets its size. 0, or -1
 * with err. */
int dump_write(int fd, enum dump_format fmt, const struct dump_source *src, char *err,
	       size_t errlen);

/* Bytes of ELF headers before the first range's data (aligned). */
uint64_t dump_elf_data_offset(size_t ranges);

/* "raw" / "elf" / "dmp" -> format; -1 if unknown. */
int dump_format_parse(const char *name, enum dump_format *fmt);

#endif
