/* SPDX-License-Identifier: MIT */
/* Raw and ELF core dumps of guest physical memory. */
#include "dump_format.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../common/errbuf.h"

#define DEFAULT_CHUNK (8u << 20)

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off, char *err,
		      size_t errlen)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return errbuf_fail(err, errlen, "write at %#llx: %s", (unsigned long long)off,
				    n < 0 ? strerror(errno) : "no progress");
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

uint64_t dump_elf_data_offset(size_t ranges)
{
	uint64_t hdr = sizeof(Elf64_Ehdr) + ranges * sizeof(Elf64_Phdr);

	return (hdr + DUMP_ELF_DATA_ALIGN - 1) & ~(uint64_t)(DUMP_ELF_DATA_ALIGN - 1);
}

static int write_elf_headers(int fd, const struct guest_ram_layout *l, char *err,
			     size_t errlen)
{
	size_t hlen = sizeof(Elf64_Ehdr) + l->count * sizeof(Elf64_Phdr);
	uint8_t *h = calloc(1, hlen);
	Elf64_Ehdr eh;
	uint64_t off = dump_elf_data_offset(l->count);
	int rc;

	if (!h)
		return errbuf_fail(err, errlen, "out of memory");
	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
	eh.e_type = ET_CORE;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(Elf64_Ehdr);
	eh.e_ehsize = sizeof(Elf64_Ehdr);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = (Elf64_Half)l->count;
	memcpy(h, &eh, sizeof(eh));
	for (size_t i = 0; i < l->count; i++) {
		Elf64_Phdr ph;

		memset(&ph, 0, sizeof(ph));
		ph.p_type = PT_LOAD;
		ph.p_flags = PF_R | PF_W | PF_X;
		ph.p_offset = off;
		ph.p_vaddr = 0;
		ph.p_paddr = l->r[i].gpa;
		ph.p_filesz = l->r[i].size;
		ph.p_memsz = l->r[i].size;
		ph.p_align = 0;
		memcpy(h + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
		off += l->r[i].size;
	}
	rc = pwrite_all(fd, h, hlen, 0, err, errlen);
	free(h);
	return rc;
}

/* Whether the page-sized block p of len bytes is all zero: its first word is zero and every
 * byte equals the one 8 bytes before it (memcmp is vectorised; no zero page to compare to). */
static int all_zero(const uint8_t *p, size_t len)
{
	uint64_t w;

	if (len < sizeof(w)) {
		for (size_t i = 0; i < len; i++)
			if (p[i])
				return 0;
		return 1;
	}
	memcpy(&w, p, sizeof(w));
	return w == 0 && !memcmp(p, p + sizeof(w), len - sizeof(w));
}

/* Writes n bytes of p at off; with sparse, the runs of all-zero pages are skipped (the file
 * is fresh and its final size is set at the end, so they read back as zeros). Counts the
 * skipped bytes in *zero. */
static int write_block(int fd, const uint8_t *p, size_t n, uint64_t off, int sparse,
		       uint64_t *zero, char *err, size_t errlen)
{
	size_t pos = 0;

	if (!sparse)
		return pwrite_all(fd, p, n, off, err, errlen);
	while (pos < n) {
		size_t run = pos, page;

		/* Zero pages: skipped. */
		while (run < n) {
			page = n - run < DUMP_SPARSE_PAGE ? n - run : DUMP_SPARSE_PAGE;
			if (!all_zero(p + run, page))
				break;
			run += page;
		}
		*zero += run - pos;
		pos = run;
		/* Data pages: written in one go. */
		while (run < n) {
			page = n - run < DUMP_SPARSE_PAGE ? n - run : DUMP_SPARSE_PAGE;
			if (all_zero(p + run, page))
				break;
			run += page;
		}
		if (run > pos && pwrite_all(fd, p + pos, run - pos, off + pos, err, errlen))
			return -1;
		pos = run;
	}
	return 0;
}

/* Copies one RAM range to the file at off, chunk by chunk. */
static int copy_range(int fd, const struct dump_source *src, const struct guest_ram_range *r,
		      uint64_t off, uint8_t *buf, uint64_t *done, uint64_t *zero, uint64_t total,
		      char *err, size_t errlen)
{
	size_t chunk = src->chunk ? src->chunk : DEFAULT_CHUNK;

	for (uint64_t pos = 0; pos < r->size;) {
		size_t n = r->size - pos < chunk ? (size_t)(r->size - pos) : chunk;
		const uint8_t *p = src->map ? src->map(src->ctx, r->gpa + pos, n) : NULL;

		if (!p) {
			if (!src->read)
				return errbuf_fail(err, errlen, "no bytes for %#llx",
					    (unsigned long long)(r->gpa + pos));
			if (src->read(src->ctx, r->gpa + pos, buf, n, err, errlen))
				return -1;
			p = buf;
		}
		if (write_block(fd, p, n, off + pos, src->sparse, zero, err, errlen))
			return -1;
		pos += n;
		*done += n;
		if (src->progress)
			src->progress(src->progress_ctx, *done, total);
	}
	return 0;
}

int dump_write(int fd, enum dump_format fmt, const struct dump_source *src, char *err,
	       size_t errlen)
{
	const struct guest_ram_layout *l = src->layout;
	uint64_t total = guest_ram_total(l), done = 0, zero = 0, off;
	uint8_t *buf = NULL;
	int rc = -1;

	if (!l->count)
		return errbuf_fail(err, errlen, "nothing to dump: no RAM ranges");
	if (src->read) {
		buf = malloc(src->chunk ? src->chunk : DEFAULT_CHUNK);
		if (!buf)
			return errbuf_fail(err, errlen, "out of memory");
	}
	if (fmt == DUMP_ELF && write_elf_headers(fd, l, err, errlen))
		goto out;
	if (fmt == DUMP_DMP) {
		if (!src->prefix || !src->prefix_len) {
			errbuf_fail(err, errlen, "a Windows dump needs its header");
			goto out;
		}
		if (pwrite_all(fd, src->prefix, src->prefix_len, 0, err, errlen))
			goto out;
	}
	off = fmt == DUMP_ELF ? dump_elf_data_offset(l->count) :
	      fmt == DUMP_DMP ? src->prefix_len : 0;
	for (size_t i = 0; i < l->count; i++) {
		uint64_t at = fmt == DUMP_RAW ? l->r[i].gpa : off;

		if (copy_range(fd, src, &l->r[i], at, buf, &done, &zero, total, err, errlen))
			goto out;
		off += l->r[i].size;
	}
	/* The file ends where its last byte belongs even if the pages before it were holes:
	 * a raw file at the end of the last range, the others after the last range's data. */
	if (fmt == DUMP_RAW)
		off = l->r[l->count - 1].gpa + l->r[l->count - 1].size;
	if ((fmt == DUMP_RAW || src->sparse) && ftruncate(fd, (off_t)off) < 0) {
		errbuf_fail(err, errlen, "truncate: %s", strerror(errno));
		goto out;
	}
	if (src->zero_bytes)
		*src->zero_bytes = zero;
	rc = 0;
out:
	free(buf);
	return rc;
}

int dump_format_parse(const char *name, enum dump_format *fmt)
{
	if (!strcmp(name, "raw"))
		*fmt = DUMP_RAW;
	else if (!strcmp(name, "elf"))
		*fmt = DUMP_ELF;
	else if (!strcmp(name, "dmp"))
		*fmt = DUMP_DMP;
	else
		return -1;
	return 0;
}
