/* SPDX-License-Identifier: MIT */
/*
 * cmdline.h - the kernel command line (QEMU -append "..."): space-separated words, each a
 * bare flag ("nobreak") or key=value ("workload=idle", "build=18362", "kdport=com1").
 * No quoting: values cannot contain spaces. The last occurrence of a key wins.
 */
#ifndef VMKD_TARGET_CMDLINE_H
#define VMKD_TARGET_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CMDLINE_MAX 1024

/* Keeps a copy of raw (truncated to CMDLINE_MAX-1). The first word is dropped when it looks
 * like the image path QEMU's multiboot loader puts there (contains '/' or '.', no '='). */
void cmdline_init(const char *raw);

/* The command line without the image path. */
const char *cmdline_raw(void);

/* Copies key's value into buf (always terminated when size > 0, truncated to fit). Returns
 * the value's full length, or -1 when key is absent. A bare "key" has the empty value. */
int cmdline_get(const char *key, char *buf, size_t size);

/* True when the word "flag" or "flag=..." is present. */
bool cmdline_has(const char *flag);

/* key's value as a number (decimal, or hex with 0x), or def if absent or malformed. */
uint64_t cmdline_get_u64(const char *key, uint64_t def);

/* The same lookup on any string (used by the self-test; handy for sub-options). */
int cmdline_lookup(const char *line, const char *key, char *buf, size_t size);

#endif
