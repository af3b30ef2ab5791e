/* SPDX-License-Identifier: MIT */
/*
 * vmkd dump's file formats, read back field by field: the ELF core's header and one
 * PT_LOAD per RAM range (p_paddr, sizes, offsets, alignment), the data behind each, and
 * the raw image's sparse layout (file offset = physical address). Sources: a zero-copy
 * mapping and a read callback (the KD path), including a failing read. Sparse output (all-
 * zero pages left as holes) reads back byte for byte as the dense file, in every format.
 */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../host/dump/dump_format.h"

#define FILE_SZ 0x6000u

struct fx {
	uint8_t ram[FILE_SZ];
	struct guest_ram g;
	struct guest_ram_layout l;
	char path[64];
	int fd;
	uint64_t last_done, calls;
	int fail_at;        /* read callback fails on this call (0 = never) */
	int reads;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	for (size_t i = 0; i < FILE_SZ; i++)
		fx->ram[i] = (uint8_t)(i * 31 + (i >> 8));
	fx->l.count = 2;
	fx->l.r[0] = (struct guest_ram_range){ .gpa = 0x1000, .size = 0x2000, .offset = 0x4000 };
	fx->l.r[1] = (struct guest_ram_range){ .gpa = 0x10000, .size = 0x3000, .offset = 0 };
	assert_int_equal(guest_ram_use_buffer(&fx->g, fx->ram, FILE_SZ, &fx->l, 0), 0);
	snprintf(fx->path, sizeof(fx->path), "/tmp/vmkd-test-dump.XXXXXX");
	fx->fd = mkstemp(fx->path);
	assert_true(fx->fd >= 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	close(fx->fd);
	unlink(fx->path);
	free(fx);
	return 0;
}

static const uint8_t *map(void *ctx, uint64_t gpa, size_t len)
{
	struct fx *fx = ctx;

	return guest_ram_ptr(&fx->g, gpa, len);
}

static int rd(void *ctx, uint64_t gpa, void *buf, size_t len, char *err, size_t errlen)
{
	struct fx *fx = ctx;

	if (++fx->reads == fx->fail_at) {
		snprintf(err, errlen, "injected failure");
		return -1;
	}
	return guest_ram_read(&fx->g, gpa, buf, len) == len ? 0 : -1;
}

static void progress(void *ctx, uint64_t done, uint64_t total)
{
	struct fx *fx = ctx;

	assert_true(done > fx->last_done);
	assert_true(done <= total);
	assert_int_equal(total, 0x5000);
	fx->last_done = done;
	fx->calls++;
}

static void file_read(struct fx *fx, uint64_t off, void *buf, size_t len)
{
	assert_int_equal(pread(fx->fd, buf, len, (off_t)off), (ssize_t)len);
}

static void elf_core_fields(void **state)
{
	struct fx *fx = *state;
	struct dump_source src = { .layout = &fx->l, .map = map, .ctx = fx, .chunk = 0x1000,
				   .progress = progress, .progress_ctx = fx };
	uint8_t buf[0x3000];
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	char err[128];
	struct stat st;

	assert_int_equal(dump_write(fx->fd, DUMP_ELF, &src, err, sizeof(err)), 0);
	file_read(fx, 0, &eh, sizeof(eh));
	assert_memory_equal(eh.e_ident, ELFMAG, SELFMAG);
	assert_int_equal(eh.e_ident[EI_CLASS], ELFCLASS64);
	assert_int_equal(eh.e_ident[EI_DATA], ELFDATA2LSB);
	assert_int_equal(eh.e_type, ET_CORE);
	assert_int_equal(eh.e_machine, EM_X86_64);
	assert_int_equal(eh.e_phoff, sizeof(Elf64_Ehdr));
	assert_int_equal(eh.e_phentsize, sizeof(Elf64_Phdr));
	assert_int_equal(eh.e_phnum, 2);
	file_read(fx, eh.e_phoff, ph, sizeof(ph));
	assert_int_equal(ph[0].p_type, PT_LOAD);
	assert_int_equal(ph[0].p_paddr, 0x1000);
	assert_int_equal(ph[0].p_vaddr, 0);
	assert_int_equal(ph[0].p_filesz, 0x2000);
	assert_int_equal(ph[0].p_memsz, 0x2000);
	assert_int_equal(ph[0].p_offset, dump_elf_data_offset(2));
	assert_int_equal(ph[0].p_offset % DUMP_ELF_DATA_ALIGN, 0);
	assert_int_equal(ph[1].p_paddr, 0x10000);
	assert_int_equal(ph[1].p_filesz, 0x3000);
	assert_int_equal(ph[1].p_offset, ph[0].p_offset + 0x2000);
	file_read(fx, ph[0].p_offset, buf, 0x2000);
	assert_memory_equal(buf, fx->ram + 0x4000, 0x2000);
	file_read(fx, ph[1].p_offset, buf, 0x3000);
	assert_memory_equal(buf, fx->ram, 0x3000);
	assert_int_equal(fstat(fx->fd, &st), 0);
	assert_int_equal(st.st_size, ph[1].p_offset + 0x3000);
	assert_int_equal(fx->calls, 5); /* one per 4 KiB chunk */
	assert_int_equal(fx->last_done, 0x5000);
}

static void raw_is_the_physical_space(void **state)
{
	struct fx *fx = *state;
	struct dump_source src = { .layout = &fx->l, .read = rd, .ctx = fx, .chunk = 0x1800 };
	uint8_t buf[0x3000], zero[0x1000];
	char err[128];
	struct stat st;

	assert_int_equal(dump_write(fx->fd, DUMP_RAW, &src, err, sizeof(err)), 0);
	assert_int_equal(fstat(fx->fd, &st), 0);
	assert_int_equal(st.st_size, 0x13000);
	file_read(fx, 0x1000, buf, 0x2000);
	assert_memory_equal(buf, fx->ram + 0x4000, 0x2000);
	file_read(fx, 0x10000, buf, 0x3000);
	assert_memory_equal(buf, fx->ram, 0x3000);
	memset(zero, 0, sizeof(zero));
	file_read(fx, 0x8000, buf, 0x1000); /* a hole reads as zeros */
	assert_memory_equal(buf, zero, sizeof(zero));
	assert_int_equal(fx->reads, 4); /* 0x2000 and 0x3000 in 0x1800 chunks */
}

static void failures_are_reported(void **state)
{
	struct fx *fx = *state;
	struct dump_source src = { .layout = &fx->l, .read = rd, .ctx = fx, .chunk = 0x1000 };
	struct guest_ram_layout empty = { .count = 0 };
	enum dump_format fmt;
	char err[128];

	fx->fail_at = 3;
	assert_int_equal(dump_write(fx->fd, DUMP_ELF, &src, err, sizeof(err)), -1);
	assert_string_equal(err, "injected failure");
	src.layout = &empty;
	assert_int_equal(dump_write(fx->fd, DUMP_RAW, &src, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no RAM ranges"));
	src.layout = &fx->l;
	src.read = NULL; /* neither a mapping nor a reader */
	assert_int_equal(dump_write(fx->fd, DUMP_RAW, &src, err, sizeof(err)), -1);
	assert_int_equal(dump_format_parse("elf", &fmt), 0);
	assert_int_equal(fmt, DUMP_ELF);
	assert_int_equal(dump_format_parse("raw", &fmt), 0);
	assert_int_equal(fmt, DUMP_RAW);
	assert_int_equal(dump_format_parse("dmp", &fmt), 0);
	assert_int_equal(fmt, DUMP_DMP);
	assert_int_equal(dump_format_parse("qcow2", &fmt), -1);
	/* A Windows dump without its header. */
	src.read = rd;
	fx->fail_at = 0;
	assert_int_equal(dump_write(fx->fd, DUMP_DMP, &src, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "needs its header"));
}

/* dmp: the header first, then every range's pages back to back. */
static void dmp_pages_follow_the_header(void **state)
{
	struct fx *fx = *state;
	static uint8_t hdr[0x2000];
	struct dump_source src = { .layout = &fx->l, .map = map, .ctx = fx, .prefix = hdr,
				   .prefix_len = sizeof(hdr) };
	uint8_t buf[0x3000];
	char err[128];
	struct stat st;

	memset(hdr, 0xab, sizeof(hdr));
	assert_int_equal(dump_write(fx->fd, DUMP_DMP, &src, err, sizeof(err)), 0);
	assert_int_equal(fstat(fx->fd, &st), 0);
	assert_int_equal(st.st_size, 0x2000 + 0x5000);
	file_read(fx, 0, buf, 0x2000);
	assert_memory_equal(buf, hdr, 0x2000);
	file_read(fx, 0x2000, buf, 0x2000);
	assert_memory_equal(buf, fx->ram + 0x4000, 0x2000);
	file_read(fx, 0x4000, buf, 0x3000);
	assert_memory_equal(buf, fx->ram, 0x3000);
}

/* The whole of fd as bytes; *len gets its size. */
static uint8_t *slurp(int fd, size_t *len)
{
	struct stat st;
	uint8_t *p;

	assert_int_equal(fstat(fd, &st), 0);
	*len = (size_t)st.st_size;
	p = malloc(*len + 1);
	assert_non_null(p);
	assert_int_equal(pread(fd, p, *len, 0), (ssize_t)*len);
	return p;
}

/* Zero pages at the start, middle and end of ranges, and pages that are zero but for their
 * first or last byte (which must be written): sparse and dense files are equal. */
static void sparse_reads_back_the_same(void **state)
{
	static const enum dump_format fmts[] = { DUMP_RAW, DUMP_ELF, DUMP_DMP };
	struct fx *fx = *state;
	static uint8_t hdr[0x2000];
	char err[128], path[64];

	memset(hdr, 0x5a, sizeof(hdr));
	memset(fx->ram + 0x1000, 0, 0x1000); /* range 1, middle page */
	memset(fx->ram + 0x2000, 0, 0x1000); /* range 1, last page: a trailing hole */
	memset(fx->ram + 0x4000, 0, 0x1000); /* range 0, first page */
	memset(fx->ram + 0x5000, 0, 0x1000); /* range 0, last page ... */
	fx->ram[0x5fff] = 1;                 /* ... but for its last byte */
	memset(fx->ram, 0, 0x1000);          /* range 1, first page ... */
	fx->ram[0] = 2;                      /* ... but for its first byte */
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		struct dump_source src = { .layout = &fx->l, .map = map, .ctx = fx,
					   .chunk = 0x2000, .prefix = hdr,
					   .prefix_len = sizeof(hdr) };
		uint64_t zero = 1234;
		uint8_t *dense, *sparse;
		size_t dlen, slen;
		int fd;

		snprintf(path, sizeof(path), "/tmp/vmkd-test-dump-sparse.XXXXXX");
		fd = mkstemp(path);
		assert_true(fd >= 0);
		unlink(path);
		assert_int_equal(ftruncate(fx->fd, 0), 0);
		src.zero_bytes = &zero;
		assert_int_equal(dump_write(fx->fd, fmts[i], &src, err, sizeof(err)), 0);
		assert_int_equal(zero, 0); /* dense: no holes */
		src.sparse = 1;
		assert_int_equal(dump_write(fd, fmts[i], &src, err, sizeof(err)), 0);
		assert_int_equal(zero, 3 * 0x1000);
		dense = slurp(fx->fd, &dlen);
		sparse = slurp(fd, &slen);
		assert_int_equal(slen, dlen);
		assert_memory_equal(sparse, dense, dlen);
		free(dense);
		free(sparse);
		close(fd);
	}
}

/* The read callback (KD) source is sparse too, and a range of zeros only is all hole. */
static void sparse_read_source(void **state)
{
	struct fx *fx = *state;
	struct dump_source src = { .layout = &fx->l, .read = rd, .ctx = fx, .chunk = 0x1800,
				   .sparse = 1 };
	uint64_t zero = 0;
	uint8_t buf[0x3000], z[0x3000];
	char err[128];
	struct stat st;

	memset(fx->ram, 0, 0x3000); /* all of range 1 */
	memset(z, 0, sizeof(z));
	src.zero_bytes = &zero;
	assert_int_equal(dump_write(fx->fd, DUMP_ELF, &src, err, sizeof(err)), 0);
	assert_int_equal(zero, 0x3000);
	assert_int_equal(fstat(fx->fd, &st), 0);
	assert_int_equal(st.st_size, dump_elf_data_offset(2) + 0x5000);
	file_read(fx, dump_elf_data_offset(2), buf, 0x2000);
	assert_memory_equal(buf, fx->ram + 0x4000, 0x2000);
	file_read(fx, dump_elf_data_offset(2) + 0x2000, buf, 0x3000);
	assert_memory_equal(buf, z, 0x3000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(elf_core_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(raw_is_the_physical_space, setup, teardown),
		cmocka_unit_test_setup_teardown(failures_are_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(dmp_pages_follow_the_header, setup, teardown),
		cmocka_unit_test_setup_teardown(sparse_reads_back_the_same, setup, teardown),
		cmocka_unit_test_setup_teardown(sparse_read_source, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
