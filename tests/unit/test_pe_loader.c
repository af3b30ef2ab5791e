/* SPDX-License-Identifier: MIT */
/*
 * The test kernel's PE32+ loader (target/pe_loader.c) on the host: a synthetic DLL built
 * here (relocations, .bss, imports called through the IAT, exports, a forwarder), every
 * malformation the loader must refuse cleanly, truncation and random corruption that must
 * never crash it, and the real kdvm.dll from the build.
 *
 * The real DLL: argv[1], else $VMKD_KDVM_DLL, else <dir of this binary>/../guest/kdvm.dll
 * (the same build tree). Its tests are skipped, with a message, when it is absent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "pe_loader.h"

/* ---- a synthetic DLL --------------------------------------------------------------- */

#define S_FILE_SIZE    0xe00u
#define S_IMAGE_SIZE   0x8000u
/* High enough to be free in an ASan process too, so the preferred-base test can map it. */
#define S_IMAGE_BASE   0x3e0000000000ull
#define S_LFANEW       0x80u
#define S_FH           (S_LFANEW + 4)
#define S_OH           (S_FH + 20)
#define S_DIRS         (S_OH + 112)
#define S_SECTIONS     (S_OH + 240)
#define S_NSECTIONS    6u
#define S_DIR(i)       (S_DIRS + 8 * (i))

/* name, VirtualAddress, VirtualSize, PointerToRawData, SizeOfRawData, Characteristics */
static const struct {
	const char *name;
	uint32_t va, vsize, raw_ptr, raw_size, flags;
} s_sections[S_NSECTIONS] = {
	{ ".text", 0x1000, 0x30, 0x400, 0x200, 0x60000020 },
	{ ".data", 0x2000, 0x100, 0x600, 0x200, 0xc0000040 },
	{ ".bss", 0x3000, 0x2000, 0, 0, 0xc0000080 },
	{ ".idata", 0x5000, 0x200, 0x800, 0x200, 0xc0000040 },
	{ ".edata", 0x6000, 0x200, 0xa00, 0x200, 0x40000040 },
	{ ".reloc", 0x7000, 0x10, 0xc00, 0x200, 0x42000040 },
};
#define S_SEC(i)       (S_SECTIONS + 40 * (i))
#define SEC_TEXT 0
#define SEC_DATA 1
#define SEC_IDATA 3
#define SEC_EDATA 4
#define SEC_RELOC 5

/* RVAs inside the image. */
#define RVA_IDENTITY   0x1000u /* mov rax, rcx; ret */
#define RVA_CALL_STALL 0x1010u /* jmp [IAT: KeStallExecutionProcessor] */
#define RVA_GET_PTR    0x1020u /* mov rax, [rip -> .data]; ret */
#define RVA_DATA       0x2000u /* two pointers that need relocating */
#define RVA_BSS        0x3000u
#define RVA_IMPORTS    0x5000u
#define RVA_ILT_HAL    0x5040u
#define RVA_ILT_NT     0x5050u
#define RVA_IAT_HAL    0x5080u
#define RVA_IAT_NT     0x5090u
#define RVA_EXPORTS    0x6000u
#define RVA_EAT        0x6028u
#define RVA_ENAMES     0x6038u
#define RVA_EORDS      0x6048u
#define RVA_RELOCS     0x7000u

struct synth {
	uint8_t f[S_FILE_SIZE];
	size_t size;
};

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* File offset of an RVA inside one of the synthetic sections with raw data. */
static uint32_t file_off(uint32_t rva)
{
	for (unsigned i = 0; i < S_NSECTIONS; i++)
		if (s_sections[i].raw_size && rva >= s_sections[i].va &&
		    rva < s_sections[i].va + s_sections[i].raw_size)
			return rva - s_sections[i].va + s_sections[i].raw_ptr;
	fail_msg("rva %#x has no file offset", rva);
	return 0;
}

static uint8_t *at_rva(struct synth *s, uint32_t rva)
{
	return s->f + file_off(rva);
}

static void put_str(struct synth *s, uint32_t rva, const char *str)
{
	memcpy(at_rva(s, rva), str, strlen(str) + 1);
}

static void put_import(struct synth *s, uint32_t desc, uint32_t ilt, uint32_t iat,
		       uint32_t name, const char *dll, const uint32_t *hint_names, unsigned n)
{
	put32(at_rva(s, desc + 0), ilt);
	put32(at_rva(s, desc + 12), name);
	put32(at_rva(s, desc + 16), iat);
	put_str(s, name, dll);
	for (unsigned i = 0; i < n; i++) {
		put64(at_rva(s, ilt + 8 * i), hint_names[i]);
		put64(at_rva(s, iat + 8 * i), hint_names[i]);
	}
}

static void synth_build(struct synth *s)
{
	static const uint32_t hal[] = { 0x5100 };
	static const uint32_t nt[] = { 0x5120, 0x5140 };
	static const uint8_t identity[] = { 0x48, 0x89, 0xc8, 0xc3 };
	static const char *const enames[] = { "CallStall", "Fwd", "GetDataPtr",
					      "KdDebuggerInitialize0" };
	static const uint16_t eords[] = { 1, 3, 2, 0 };
	static const uint32_t eat[] = { RVA_IDENTITY, RVA_CALL_STALL, RVA_GET_PTR, 0x6090 };
	uint8_t *p;

	memset(s, 0, sizeof(*s));
	s->size = S_FILE_SIZE;
	s->f[0] = 'M';
	s->f[1] = 'Z';
	put32(s->f + 0x3c, S_LFANEW);
	memcpy(s->f + S_LFANEW, "PE\0\0", 4);
	put16(s->f + S_FH + 0, 0x8664);
	put16(s->f + S_FH + 2, S_NSECTIONS);
	put16(s->f + S_FH + 16, 240);
	put16(s->f + S_FH + 18, 0x2022); /* executable, large address aware, DLL */
	put16(s->f + S_OH + 0, 0x20b);
	put64(s->f + S_OH + 24, S_IMAGE_BASE);
	put32(s->f + S_OH + 32, 0x1000);
	put32(s->f + S_OH + 36, 0x200);
	put32(s->f + S_OH + 56, S_IMAGE_SIZE);
	put32(s->f + S_OH + 60, 0x400);
	put16(s->f + S_OH + 68, 1);
	put16(s->f + S_OH + 70, 0x160);
	put32(s->f + S_OH + 108, 16);
	put32(s->f + S_DIR(0), RVA_EXPORTS);
	put32(s->f + S_DIR(0) + 4, 0x100);
	put32(s->f + S_DIR(1), RVA_IMPORTS);
	put32(s->f + S_DIR(1) + 4, 0x3c);
	put32(s->f + S_DIR(5), RVA_RELOCS);
	put32(s->f + S_DIR(5) + 4, 0x10);
	for (unsigned i = 0; i < S_NSECTIONS; i++) {
		p = s->f + S_SEC(i);
		memcpy(p, s_sections[i].name, strlen(s_sections[i].name));
		put32(p + 8, s_sections[i].vsize);
		put32(p + 12, s_sections[i].va);
		put32(p + 16, s_sections[i].raw_size);
		put32(p + 20, s_sections[i].raw_ptr);
		put32(p + 36, s_sections[i].flags);
	}

	/* .text */
	memcpy(at_rva(s, RVA_IDENTITY), identity, sizeof(identity));
	p = at_rva(s, RVA_CALL_STALL);
	p[0] = 0xff, p[1] = 0x25; /* jmp [rip + disp32] */
	put32(p + 2, RVA_IAT_HAL - (RVA_CALL_STALL + 6));
	p = at_rva(s, RVA_GET_PTR);
	p[0] = 0x48, p[1] = 0x8b, p[2] = 0x05; /* mov rax, [rip + disp32] */
	put32(p + 3, RVA_DATA - (RVA_GET_PTR + 7));
	p[7] = 0xc3;

	/* .data: two absolute pointers, initialised bytes, then raw padding past VirtualSize
	 * that must not reach the image. */
	p = at_rva(s, RVA_DATA);
	put64(p, S_IMAGE_BASE + RVA_IDENTITY);
	put64(p + 8, S_IMAGE_BASE + RVA_BSS + 0x10);
	memset(p + 0x10, 0x11, 0xf0);
	memset(p + 0x100, 0xee, 0x100);

	/* .idata: HAL.dll and ntoskrnl.exe, then the all-zero terminator. */
	put_import(s, RVA_IMPORTS, RVA_ILT_HAL, RVA_IAT_HAL, 0x50c0, "HAL.dll", hal, 1);
	put_import(s, RVA_IMPORTS + 20, RVA_ILT_NT, RVA_IAT_NT, 0x50c8, "ntoskrnl.exe", nt, 2);
	put_str(s, 0x5102, "KeStallExecutionProcessor");
	put_str(s, 0x5122, "MmGetPhysicalAddress");
	put_str(s, 0x5142, "KdDebuggerNotPresent");

	/* .edata: four names (sorted, as Windows expects), one of them a forwarder. */
	p = at_rva(s, RVA_EXPORTS);
	put32(p + 12, 0x6080);
	put32(p + 16, 1);
	put32(p + 20, 4);
	put32(p + 24, 4);
	put32(p + 28, RVA_EAT);
	put32(p + 32, RVA_ENAMES);
	put32(p + 36, RVA_EORDS);
	put_str(s, 0x6080, "synth.dll");
	put_str(s, 0x6090, "NTOSKRNL.Foo");
	for (unsigned i = 0; i < 4; i++) {
		put32(at_rva(s, RVA_EAT + 4 * i), eat[i]);
		put32(at_rva(s, RVA_ENAMES + 4 * i), 0x60a0 + 0x10 * i);
		put16(at_rva(s, RVA_EORDS + 2 * i), eords[i]);
		put_str(s, 0x60a0 + 0x10 * i, enames[i]);
	}

	/* .reloc: one block for the .data page: DIR64 at +0 and +8, two ABSOLUTE pads. */
	p = at_rva(s, RVA_RELOCS);
	put32(p, RVA_DATA);
	put32(p + 4, 0x10);
	put16(p + 8, 0xa000);
	put16(p + 10, 0xa008);

	put32(s->f + S_OH + 64, pe_checksum(s->f, s->size));
}

/* ---- the kernel's side: stubs the imports bind to ---------------------------------- */

static uint32_t stall_us;
static volatile uint8_t stub_not_present;

__attribute__((ms_abi)) static void stub_stall(uint32_t us)
{
	stall_us = us;
}

__attribute__((ms_abi)) static uint64_t stub_get_phys(void *va)
{
	return (uint64_t)(uintptr_t)va;
}

__attribute__((ms_abi)) static int64_t stub_qpc(int64_t *freq)
{
	if (freq)
		*freq = 1000000;
	return 42;
}

__attribute__((ms_abi)) static void *stub_map_io(uint64_t pa, size_t len, int cache_type)
{
	(void)pa;
	(void)len;
	(void)cache_type;
	return NULL;
}

static const struct pe_symbol stubs[] = {
	{ "ntoskrnl.exe", "MmGetPhysicalAddress", (uint64_t)(uintptr_t)stub_get_phys, 0 },
	{ "ntoskrnl.exe", "KdDebuggerNotPresent", (uint64_t)(uintptr_t)&stub_not_present, 1 },
	{ "hal.dll", "KeStallExecutionProcessor", (uint64_t)(uintptr_t)stub_stall, 0 },
	{ "hal.dll", "KeQueryPerformanceCounter", (uint64_t)(uintptr_t)stub_qpc, 0 },
	/* kdvm.dll with VMKDDEV=IVSHMEM, phase 1 (docs/windows.md section 6) */
	{ "ntoskrnl.exe", "MmMapIoSpace", (uint64_t)(uintptr_t)stub_map_io, 0 },
};

struct unresolved_log {
	unsigned count;
	char last[128];
};

static void log_unresolved(void *ctx, const char *dll, const char *name)
{
	struct unresolved_log *log = ctx;

	log->count++;
	snprintf(log->last, sizeof(log->last), "%s!%s", dll, name);
}

static struct pe_imports stub_imports(struct unresolved_log *log)
{
	return (struct pe_imports){ .symbols = stubs,
				    .count = sizeof(stubs) / sizeof(stubs[0]),
				    .unresolved = log_unresolved,
				    .ctx = log };
}

/* Page-aligned memory that may run code (the synthetic DLL's), poisoned like the kernel
 * test in platform.md B2 did, so missing zeroing shows. */
struct region {
	uint8_t *p;
	size_t size;
	int exec;
};

static struct region region_map(size_t size, void *hint)
{
	struct region r = { NULL, size, 1 };
	void *p = mmap(hint, size, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS | (hint ? MAP_FIXED_NOREPLACE : 0), -1, 0);

	if (p == MAP_FAILED) {
		r.exec = 0;
		p = mmap(hint, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | (hint ? MAP_FIXED_NOREPLACE : 0), -1, 0);
	}
	if (p == MAP_FAILED || (hint && p != hint)) {
		if (p != MAP_FAILED)
			munmap(p, size);
		r.p = NULL;
		return r;
	}
	r.p = p;
	memset(r.p, 0xcc, size);
	return r;
}

static void region_unmap(struct region *r)
{
	if (r->p)
		munmap(r->p, r->size);
	r->p = NULL;
}

/* ---- the synthetic DLL loads -------------------------------------------------------- */

static void test_synth_parse(void **state)
{
	struct synth s;
	struct pe_info info;

	(void)state;
	synth_build(&s);
	assert_int_equal(pe_parse(s.f, s.size, &info), PE_OK);
	assert_int_equal(info.image_base, S_IMAGE_BASE);
	assert_int_equal(info.size_of_image, S_IMAGE_SIZE);
	assert_int_equal(info.size_of_headers, 0x400);
	assert_int_equal(info.nsections, S_NSECTIONS);
	assert_int_equal(info.entry_rva, 0);
	assert_int_equal(info.checksum, pe_checksum(s.f, s.size));
}

static void test_synth_load(void **state)
{
	struct unresolved_log log = { 0 };
	struct pe_imports imp = stub_imports(&log);
	struct region r = region_map(S_IMAGE_SIZE, NULL);
	struct synth s;
	struct pe_image img;
	uint8_t *b = r.p;
	void *fn;

	(void)state;
	assert_non_null(b);
	synth_build(&s);
	assert_int_equal(pe_load(s.f, s.size, b, r.size, &imp, &img), PE_OK);
	assert_int_equal(log.count, 0);
	assert_ptr_equal(img.base, b);
	assert_int_equal(img.delta, (int64_t)((uintptr_t)b - S_IMAGE_BASE));
	assert_int_equal(img.relocations, 2);
	assert_int_equal(img.imports, 3);

	/* Headers copied; gaps and .bss zero; .data copied only up to its VirtualSize. */
	assert_memory_equal(b, s.f, 0x400);
	for (uint32_t i = 0x400; i < 0x1000; i++)
		assert_int_equal(b[i], 0);
	for (uint32_t i = 0; i < 0x2000; i++)
		assert_int_equal(b[RVA_BSS + i], 0);
	assert_int_equal(b[RVA_DATA + 0xff], 0x11);
	for (uint32_t i = 0x100; i < 0x1000; i++)
		assert_int_equal(b[RVA_DATA + i], 0);

	/* Relocated pointers, bound IAT slots (the data import gets the variable's address). */
	assert_int_equal(get64(b + RVA_DATA), (uintptr_t)b + RVA_IDENTITY);
	assert_int_equal(get64(b + RVA_DATA + 8), (uintptr_t)b + RVA_BSS + 0x10);
	assert_int_equal(get64(b + RVA_IAT_HAL), (uintptr_t)stub_stall);
	assert_int_equal(get64(b + RVA_IAT_NT), (uintptr_t)stub_get_phys);
	assert_int_equal(get64(b + RVA_IAT_NT + 8), (uintptr_t)&stub_not_present);

	/* Exports; a forwarder and an unknown name are refused. */
	assert_int_equal(pe_find_export(&img, "KdDebuggerInitialize0", &fn), PE_OK);
	assert_ptr_equal(fn, b + RVA_IDENTITY);
	assert_int_equal(pe_find_export(&img, "GetDataPtr", &fn), PE_OK);
	assert_ptr_equal(fn, b + RVA_GET_PTR);
	assert_int_equal(pe_find_export(&img, "Fwd", &fn), PE_E_FORWARDER);
	assert_null(fn);
	assert_int_equal(pe_find_export(&img, "KdSendPacket", &fn), PE_E_NOT_FOUND);
	assert_int_equal(pe_find_export(&img, "kddebuggerinitialize0", &fn), PE_E_NOT_FOUND);

	/* Call into it the way the kernel does: Windows x64 ABI, imports through the IAT. */
	if (r.exec) {
		typedef __attribute__((ms_abi)) uint64_t (*ms_fn1)(uint64_t);
		typedef __attribute__((ms_abi)) void (*ms_stall)(uint32_t);
		typedef __attribute__((ms_abi)) uint64_t (*ms_fn0)(void);

		assert_int_equal(pe_find_export(&img, "KdDebuggerInitialize0", &fn), PE_OK);
		assert_int_equal(((ms_fn1)fn)(0x1234567890ull), 0x1234567890ull);
		assert_int_equal(pe_find_export(&img, "CallStall", &fn), PE_OK);
		((ms_stall)fn)(777);
		assert_int_equal(stall_us, 777);
		assert_int_equal(pe_find_export(&img, "GetDataPtr", &fn), PE_OK);
		assert_int_equal(((ms_fn0)fn)(), (uintptr_t)b + RVA_IDENTITY);
	} else {
		print_message("note: no executable memory here; calls into the image skipped\n");
	}
	region_unmap(&r);
}

/* Two bases: every relocated value moves by exactly the difference. */
static void test_synth_two_bases(void **state)
{
	struct unresolved_log log = { 0 };
	struct pe_imports imp = stub_imports(&log);
	struct region r1 = region_map(S_IMAGE_SIZE, NULL), r2 = region_map(S_IMAGE_SIZE, NULL);
	struct pe_image i1, i2;
	struct synth s;

	(void)state;
	synth_build(&s);
	assert_int_equal(pe_load(s.f, s.size, r1.p, r1.size, &imp, &i1), PE_OK);
	assert_int_equal(pe_load(s.f, s.size, r2.p, r2.size, &imp, &i2), PE_OK);
	assert_int_equal(get64(r2.p + RVA_DATA) - get64(r1.p + RVA_DATA),
			 (uintptr_t)r2.p - (uintptr_t)r1.p);
	assert_memory_equal(r1.p + RVA_IMPORTS, r2.p + RVA_IMPORTS, 0x1000);
	region_unmap(&r1);
	region_unmap(&r2);
}

/* At its preferred base nothing moves (when the host lets us map there). */
static void test_synth_preferred_base(void **state)
{
	struct pe_imports imp = stub_imports(&(struct unresolved_log){ 0 });
	struct region r = region_map(S_IMAGE_SIZE, (void *)(uintptr_t)S_IMAGE_BASE);
	struct pe_image img;
	struct synth s;

	(void)state;
	if (!r.p) {
		skip();
		return;
	}
	synth_build(&s);
	assert_int_equal(pe_load(s.f, s.size, r.p, r.size, &imp, &img), PE_OK);
	assert_int_equal(img.delta, 0);
	assert_int_equal(get64(r.p + RVA_DATA), S_IMAGE_BASE + RVA_IDENTITY);
	region_unmap(&r);
}

/* ld leaves out .reloc when nothing needs fixing (platform.md P9): that loads anywhere. */
static void test_synth_no_reloc_dir(void **state)
{
	struct pe_imports imp = stub_imports(&(struct unresolved_log){ 0 });
	struct region r = region_map(S_IMAGE_SIZE, NULL);
	struct pe_image img;
	struct synth s;

	(void)state;
	synth_build(&s);
	put32(s.f + S_DIR(5), 0);
	put32(s.f + S_DIR(5) + 4, 0);
	assert_int_equal(pe_load(s.f, s.size, r.p, r.size, &imp, &img), PE_OK);
	assert_int_equal(img.relocations, 0);
	assert_int_equal(get64(r.p + RVA_DATA), S_IMAGE_BASE + RVA_IDENTITY);
	region_unmap(&r);
}

static void test_synth_unresolved(void **state)
{
	struct unresolved_log log = { 0 };
	struct pe_imports imp = stub_imports(&log);
	struct region r = region_map(S_IMAGE_SIZE, NULL);
	struct pe_image img;
	struct synth s;

	(void)state;
	synth_build(&s);
	imp.count = 1; /* only MmGetPhysicalAddress */
	assert_int_equal(pe_load(s.f, s.size, r.p, r.size, &imp, &img), PE_E_UNRESOLVED);
	assert_int_equal(log.count, 2);
	assert_string_equal(log.last, "ntoskrnl.exe!KdDebuggerNotPresent");
	/* Without a callback it still fails, just silently. */
	imp.unresolved = NULL;
	assert_int_equal(pe_load(s.f, s.size, r.p, r.size, &imp, &img), PE_E_UNRESOLVED);
	assert_int_equal(pe_load(s.f, s.size, r.p, r.size, NULL, &img), PE_E_UNRESOLVED);
	region_unmap(&r);
}

static void test_bad_arguments(void **state)
{
	struct pe_imports imp = stub_imports(&(struct unresolved_log){ 0 });
	struct region r = region_map(S_IMAGE_SIZE, NULL);
	struct pe_image img = { 0 };
	struct pe_info info;
	struct synth s;
	void *fn;

	(void)state;
	synth_build(&s);
	assert_int_equal(pe_parse(NULL, 10, &info), PE_E_INVALID_ARG);
	assert_int_equal(pe_parse(s.f, s.size, NULL), PE_E_INVALID_ARG);
	assert_int_equal(pe_load(s.f, s.size, r.p, S_IMAGE_SIZE - 1, &imp, &img),
			 PE_E_INVALID_ARG);
	assert_int_equal(pe_load(s.f, s.size, NULL, S_IMAGE_SIZE, &imp, &img),
			 PE_E_INVALID_ARG);
	assert_int_equal(pe_find_export(&img, "x", &fn), PE_E_INVALID_ARG);
	assert_int_equal(pe_find_export(NULL, "x", &fn), PE_E_INVALID_ARG);
	region_unmap(&r);
}

static void test_status_names(void **state)
{
	(void)state;
	for (int a = PE_OK; a <= PE_E_NOT_FOUND; a++) {
		assert_string_not_equal(pe_status_name((enum pe_status)a), "PE_E_UNKNOWN");
		for (int b = a + 1; b <= PE_E_NOT_FOUND; b++)
			assert_string_not_equal(pe_status_name((enum pe_status)a),
						pe_status_name((enum pe_status)b));
	}
	assert_string_equal(pe_status_name(PE_E_RELOC_TYPE), "PE_E_RELOC_TYPE");
	assert_string_equal(pe_status_name((enum pe_status)999), "PE_E_UNKNOWN");
}

/* ---- malformed files: refused with the right error, never a crash ------------------- */

enum width { W8 = 1, W16 = 2, W32 = 4, W64 = 8, TRUNCATE = 0 };

struct malformation {
	const char *what;
	uint32_t off;      /* file offset (or the new file size for TRUNCATE) */
	enum width width;
	uint64_t value;
	enum pe_status expect;
	uint32_t off2;     /* an optional second write (width2 != 0) */
	enum width width2;
	uint64_t value2;
};

#define RELOC_FILE 0xc00u  /* .reloc raw data */
#define IDATA_FILE 0x800u
#define EDATA_FILE 0xa00u

#define BAD(what, off, width, value, expect) \
	{ what, off, width, value, expect, 0, TRUNCATE, 0 }
#define BAD2(what, off, width, value, expect, off2, width2, value2) \
	{ what, off, width, value, expect, off2, width2, value2 }

static const struct malformation malformations[] = {
	BAD("empty file", 0, TRUNCATE, 0, PE_E_TRUNCATED),
	BAD("truncated DOS header", 0x30, TRUNCATE, 0, PE_E_TRUNCATED),
	BAD("truncated in the file header", 0x90, TRUNCATE, 0, PE_E_TRUNCATED),
	BAD("truncated in the optional header", 0x100, TRUNCATE, 0, PE_E_TRUNCATED),
	BAD("truncated in the section table", 0x1a0, TRUNCATE, 0, PE_E_TRUNCATED),
	BAD("truncated before SizeOfHeaders", 0x300, TRUNCATE, 0, PE_E_TRUNCATED),
	BAD("truncated in the last section", 0xd00, TRUNCATE, 0, PE_E_BAD_SECTION),
	BAD("no MZ", 0, W16, 0x4d5a, PE_E_NOT_MZ),
	BAD("e_lfanew far out", 0x3c, W32, 0xfffffff0u, PE_E_BAD_LFANEW),
	BAD("e_lfanew at the last bytes", 0x3c, W32, S_FILE_SIZE - 2, PE_E_BAD_LFANEW),
	BAD("e_lfanew just inside", 0x3c, W32, S_FILE_SIZE - 4, PE_E_NOT_PE),
	BAD("no PE signature", S_LFANEW, W32, 0x00004551, PE_E_NOT_PE),
	BAD("i386 machine", S_FH, W16, 0x14c, PE_E_BAD_MACHINE),
	BAD("PE32 magic", S_OH, W16, 0x10b, PE_E_NOT_PE32PLUS),
	BAD("object file", S_FH + 18, W16, 0x2020, PE_E_NOT_EXECUTABLE),
	BAD("optional header too small", S_FH + 16, W16, 100, PE_E_BAD_OPT_HEADER),
	BAD("optional header past the end", S_FH + 16, W16, 0xfff0, PE_E_TRUNCATED),
	BAD("directories past the optional header", S_FH + 16, W16, 112 + 8, PE_E_BAD_OPT_HEADER),
	BAD("too many sections", S_FH + 2, W16, 200, PE_E_BAD_SECTION),
	BAD("section table past the end", S_FH + 2, W16, 90, PE_E_TRUNCATED),
	BAD("section alignment 0x1001", S_OH + 32, W32, 0x1001, PE_E_BAD_ALIGNMENT),
	BAD("file alignment 0", S_OH + 36, W32, 0, PE_E_BAD_ALIGNMENT),
	BAD("file alignment > section alignment", S_OH + 36, W32, 0x2000, PE_E_BAD_ALIGNMENT),
	BAD("unaligned image base", S_OH + 24, W64, S_IMAGE_BASE + 0x10, PE_E_BAD_ALIGNMENT),
	BAD("SizeOfImage 0", S_OH + 56, W32, 0, PE_E_BAD_IMAGE_SIZE),
	BAD("SizeOfImage huge", S_OH + 56, W32, 0x7fffffff, PE_E_BAD_IMAGE_SIZE),
	BAD("SizeOfImage below the directories", S_OH + 56, W32, 0x7000, PE_E_BAD_DIRECTORY),
	BAD("SizeOfHeaders below the section table", S_OH + 60, W32, 0x100, PE_E_BAD_IMAGE_SIZE),
	BAD("SizeOfHeaders past the image", S_OH + 60, W32, 0x9000, PE_E_BAD_IMAGE_SIZE),
	BAD("SizeOfHeaders past the file", S_OH + 60, W32, 0x1000, PE_E_TRUNCATED),
	BAD("entry point outside", S_OH + 16, W32, 0x8000, PE_E_BAD_IMAGE_SIZE),
	BAD("section raw data past the end", S_SEC(SEC_RELOC) + 20, W32, 0xd00, PE_E_BAD_SECTION),
	BAD("section raw size huge", S_SEC(SEC_RELOC) + 16, W32, 0xffffffffu, PE_E_BAD_SECTION),
	BAD("section raw data in the headers", S_SEC(SEC_TEXT) + 20, W32, 0x200, PE_E_BAD_SECTION),
	BAD("section past SizeOfImage", S_SEC(SEC_RELOC) + 12, W32, 0x8000, PE_E_BAD_SECTION),
	BAD("section size wraps", S_SEC(SEC_TEXT) + 8, W32, 0xfffffff0u, PE_E_BAD_SECTION),
	BAD("sections overlap", S_SEC(SEC_DATA) + 12, W32, 0x1000, PE_E_SECTION_OVERLAP),
	BAD("section over the headers", S_SEC(SEC_TEXT) + 12, W32, 0x200, PE_E_SECTION_OVERLAP),
	BAD("export directory outside", S_DIR(0), W32, 0x7f80, PE_E_BAD_DIRECTORY),
	BAD("import directory wraps", S_DIR(1) + 4, W32, 0xffffffffu, PE_E_BAD_DIRECTORY),
	BAD("TLS directory", S_DIR(9) + 4, W32, 0x28, PE_E_UNSUPPORTED),
	BAD("delay imports", S_DIR(13) + 4, W32, 0x40, PE_E_UNSUPPORTED),
	BAD("HIGHLOW relocation", RELOC_FILE + 8, W16, 0x3000, PE_E_RELOC_TYPE),
	BAD("HIGHADJ relocation", RELOC_FILE + 10, W16, 0x4008, PE_E_RELOC_TYPE),
	BAD("relocation past the image", RELOC_FILE, W32, 0x7ffc, PE_E_BAD_RELOC),
	BAD("relocation block of 0 bytes", RELOC_FILE + 4, W32, 0, PE_E_BAD_RELOC),
	BAD("relocation block of 4 bytes", RELOC_FILE + 4, W32, 4, PE_E_BAD_RELOC),
	BAD("relocation block odd", RELOC_FILE + 4, W32, 0xf, PE_E_BAD_RELOC),
	BAD("relocation block past the directory", RELOC_FILE + 4, W32, 0x30, PE_E_BAD_RELOC),
	BAD("relocation directory tail", S_DIR(5) + 4, W32, 0x14, PE_E_BAD_RELOC),
	BAD("relocs stripped but must move", S_FH + 18, W16, 0x2023, PE_E_RELOCS_STRIPPED),
	BAD("import DLL name outside", IDATA_FILE + 12, W32, 0x9000, PE_E_BAD_IMPORT),
	BAD2("import DLL name unterminated", IDATA_FILE + 12, W32, RVA_DATA + 0x10, PE_E_BAD_IMPORT,
	     S_SEC(SEC_DATA) + 8, W32, 0x200), /* 0x1f0 nonzero bytes: longer than PE_MAX_NAME */
	BAD("import without IAT", IDATA_FILE + 16, W32, 0, PE_E_BAD_IMPORT),
	BAD("import thunk outside", IDATA_FILE + 0, W32, 0x7ffc, PE_E_BAD_IMPORT),
	BAD("import by ordinal", IDATA_FILE + 0x40, W64, (1ull << 63) | 5, PE_E_IMPORT_ORDINAL),
	BAD("import name outside", IDATA_FILE + 0x40, W64, 0x9000, PE_E_BAD_IMPORT),
	BAD("import name at the image end", IDATA_FILE + 0x40, W64, 0x7ffe, PE_E_BAD_IMPORT),
	BAD("import thunk reserved bits", IDATA_FILE + 0x40, W64, 0x100005100ull, PE_E_BAD_IMPORT),
	BAD2("import descriptors run off the image", S_DIR(1), W32, 0x7ff8, PE_E_BAD_IMPORT,
	     S_DIR(1) + 4, W32, 8),
	BAD("export directory too small", S_DIR(0) + 4, W32, 0x20, PE_E_BAD_EXPORT),
	BAD("export names outside", EDATA_FILE + 32, W32, 0x7ffe, PE_E_BAD_EXPORT),
	BAD("export functions huge", EDATA_FILE + 20, W32, 0x40000000, PE_E_BAD_EXPORT),
	BAD("export ordinal out of range", EDATA_FILE + 0x48, W16, 9, PE_E_BAD_EXPORT),
	BAD("export function outside", EDATA_FILE + 0x28, W32, 0x9000, PE_E_BAD_EXPORT),
	BAD("export name outside", EDATA_FILE + 0x38, W32, 0x9000, PE_E_BAD_EXPORT),
};

static void poke(struct synth *s, uint32_t off, enum width width, uint64_t value)
{
	uint8_t *p = s->f + off;

	switch (width) {
	case TRUNCATE:
		s->size = off;
		break;
	case W8:
		*p = (uint8_t)value;
		break;
	case W16:
		put16(p, (uint16_t)value);
		break;
	case W32:
		put32(p, (uint32_t)value);
		break;
	case W64:
		put64(p, value);
		break;
	}
}

static void apply(struct synth *s, const struct malformation *m)
{
	poke(s, m->off, m->width, m->value);
	if (m->width2 != TRUNCATE)
		poke(s, m->off2, m->width2, m->value2);
}

static void test_malformed(void **state)
{
	struct pe_imports imp = stub_imports(&(struct unresolved_log){ 0 });
	struct region r = region_map(S_IMAGE_SIZE, NULL);
	unsigned bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(malformations) / sizeof(malformations[0]); i++) {
		const struct malformation *m = &malformations[i];
		/* The file on the heap at its exact size, so ASan sees any read past it. */
		struct synth s;
		struct pe_image img;
		enum pe_status st;
		uint8_t *copy;

		synth_build(&s);
		apply(&s, m);
		copy = malloc(s.size ? s.size : 1);
		assert_non_null(copy);
		memcpy(copy, s.f, s.size);
		st = pe_load(copy, s.size, r.p, r.size, &imp, &img);
		if (st != m->expect) {
			print_error("%s: got %s, expected %s\n", m->what, pe_status_name(st),
				    pe_status_name(m->expect));
			bad++;
		}
		free(copy);
	}
	assert_int_equal(bad, 0);
	region_unmap(&r);
}

/* ---- robustness: every truncation, random corruption ------------------------------- */

/* Loads file (exactly file_size bytes on the heap) and, if that worked, looks up a few
 * names; whatever comes back must lie inside the image. */
static enum pe_status load_and_probe(const uint8_t *file, size_t file_size)
{
	static const char *const names[] = { "KdSendPacket", "KdDebuggerInitialize0",
					     "GetDataPtr", "Fwd", "" };
	struct pe_imports imp = stub_imports(&(struct unresolved_log){ 0 });
	uint8_t *copy = malloc(file_size ? file_size : 1), *image;
	struct pe_image img;
	struct pe_info info;
	enum pe_status st;

	assert_non_null(copy);
	memcpy(copy, file, file_size);
	st = pe_parse(copy, file_size, &info);
	if (st == PE_OK) {
		image = malloc(info.size_of_image);
		assert_non_null(image);
		st = pe_load(copy, file_size, image, info.size_of_image, &imp, &img);
		for (size_t i = 0; st == PE_OK && i < sizeof(names) / sizeof(names[0]); i++) {
			void *at;

			if (pe_find_export(&img, names[i], &at) == PE_OK)
				assert_true((uint8_t *)at >= image &&
					    (uint8_t *)at < image + info.size_of_image);
		}
		free(image);
	}
	free(copy);
	return st;
}

static void truncate_everywhere(const uint8_t *file, size_t size, size_t must_fail_below)
{
	for (size_t n = 0; n < size; n++) {
		enum pe_status st = load_and_probe(file, n);

		if (n < must_fail_below && st == PE_OK)
			fail_msg("a file cut to %zu of %zu bytes loaded", n, size);
	}
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void corrupt_randomly(const uint8_t *file, size_t size, unsigned rounds)
{
	uint8_t *buf = malloc(size);
	unsigned loaded = 0;

	assert_non_null(buf);
	for (unsigned r = 0; r < rounds; r++) {
		unsigned flips = 1 + (unsigned)(rng() % 4);

		memcpy(buf, file, size);
		for (unsigned k = 0; k < flips; k++) {
			/* Mostly the headers and tables, where the offsets are. */
			size_t head = size < 0x400 ? size : 0x400;
			size_t at = rng() % 2 ? rng() % head : rng() % size;
			uint64_t v = rng();

			switch (rng() % 3) {
			case 0:
				buf[at] = (uint8_t)v;
				break;
			case 1:
				buf[at] ^= (uint8_t)(1u << (v % 8));
				break;
			default:
				if (at + 4 <= size)
					put32(buf + at, (uint32_t)v);
				break;
			}
		}
		loaded += load_and_probe(buf, size) == PE_OK;
	}
	print_message("%u of %u corrupted copies still loaded\n", loaded, rounds);
	free(buf);
}

static void test_synth_truncations(void **state)
{
	struct synth s;

	(void)state;
	synth_build(&s);
	truncate_everywhere(s.f, s.size, s.size);
	assert_int_equal(load_and_probe(s.f, s.size), PE_OK);
}

static void test_synth_corruption(void **state)
{
	struct synth s;

	(void)state;
	synth_build(&s);
	corrupt_randomly(s.f, s.size, 20000);
}

/* ---- the real kdvm.dll -------------------------------------------------------------- */

static const char *dll_path;
static uint8_t *dll;
static size_t dll_size;

static void load_dll_file(void)
{
	FILE *fp;
	long n;

	if (!dll_path || !(fp = fopen(dll_path, "rb")))
		return;
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) > 0 && fseek(fp, 0, SEEK_SET) == 0) {
		dll = malloc((size_t)n);
		if (dll && fread(dll, 1, (size_t)n, fp) == (size_t)n)
			dll_size = (size_t)n;
	}
	fclose(fp);
	if (!dll_size) {
		free(dll);
		dll = NULL;
	}
}

static int need_dll(void)
{
	static int told;

	if (dll)
		return 1;
	if (!told++)
		print_message("kdvm.dll not found at %s (build it: make build/guest/kdvm.dll, "
			      "or pass its path as argv[1] / VMKD_KDVM_DLL): its tests are "
			      "skipped\n", dll_path ? dll_path : "(no path)");
	skip();
	return 0;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The real file's layout, read here independently of the loader. */
struct real_layout {
	uint32_t opt, sections, nsections;
	uint32_t dir_rva[16], dir_size[16];
};

static void real_layout(struct real_layout *l)
{
	uint32_t nt = rd32(dll + 0x3c);

	l->nsections = rd16(dll + nt + 6);
	l->opt = nt + 24;
	l->sections = l->opt + rd16(dll + nt + 20);
	for (unsigned d = 0; d < 16 && d < rd32(dll + l->opt + 108); d++) {
		l->dir_rva[d] = rd32(dll + l->opt + 112 + 8 * d);
		l->dir_size[d] = rd32(dll + l->opt + 116 + 8 * d);
	}
}

/* File offset of an RVA inside some section's raw data. */
static uint32_t real_file_off(const struct real_layout *l, uint32_t rva)
{
	for (uint32_t s = 0; s < l->nsections; s++) {
		const uint8_t *sh = dll + l->sections + 40 * s;
		uint32_t va = rd32(sh + 12), raw = rd32(sh + 16);

		if (rva >= va && rva - va + 8 <= raw)
			return rva - va + rd32(sh + 20);
	}
	fail_msg("rva %#x is not in any section's raw data", rva);
	return 0;
}

static uint8_t *load_real(struct pe_image *img, struct unresolved_log *log)
{
	struct pe_imports imp = stub_imports(log);
	struct pe_info info;
	uint8_t *image;

	assert_int_equal(pe_parse(dll, dll_size, &info), PE_OK);
	image = aligned_alloc(4096, (info.size_of_image + 4095) & ~4095u);
	assert_non_null(image);
	memset(image, 0xcc, info.size_of_image); /* poison: zeroing must be the loader's */
	assert_int_equal(pe_load(dll, dll_size, image, info.size_of_image, &imp, img), PE_OK);
	return image;
}

static void test_real_headers(void **state)
{
	struct pe_info info;

	(void)state;
	if (!need_dll())
		return;
	assert_int_equal(pe_parse(dll, dll_size, &info), PE_OK);
	print_message("kdvm.dll: %zu bytes, ImageBase %#llx, SizeOfImage %#x, %u sections, "
		      "entry %#x, checksum %#x (computed %#x)\n",
		      dll_size, (unsigned long long)info.image_base, info.size_of_image,
		      info.nsections, info.entry_rva, info.checksum, pe_checksum(dll, dll_size));
	assert_true(info.characteristics & 0x2000); /* IMAGE_FILE_DLL */
	assert_int_equal(info.subsystem, 1);        /* native */
	/* ld writes a valid checksum, and Windows wants one on kernel modules. */
	assert_int_equal(pe_checksum(dll, dll_size), info.checksum);
}

static void test_real_load(void **state)
{
	static const char *const exports[] = {
		"KdDebuggerInitialize0", "KdDebuggerInitialize1", "KdSendPacket",
		"KdReceivePacket", "KdD0Transition", "KdD3Transition", "KdSave", "KdRestore",
		"KdSetHiberRange",
	};
	struct unresolved_log log = { 0 };
	struct real_layout l = { 0 };
	struct pe_image img;
	uint8_t *image;
	uint32_t slots = 0;

	(void)state;
	if (!need_dll())
		return;
	image = load_real(&img, &log);
	real_layout(&l);
	assert_int_equal(log.count, 0);
	assert_int_not_equal(img.delta, 0); /* malloc never returns 0x140000000 */

	/* .bss and every other tail past the raw data: zero, despite the poison. */
	for (uint32_t s = 0; s < l.nsections; s++) {
		const uint8_t *sh = dll + l.sections + 40 * s;
		uint32_t vsize = rd32(sh + 8), va = rd32(sh + 12), raw = rd32(sh + 16);

		for (uint32_t i = raw; i < vsize; i++)
			assert_int_equal(image[va + i], 0);
	}

	/* Every IAT slot holds one of the stubs. */
	for (uint32_t d = l.dir_rva[1]; rd32(image + d + 12); d += 20) {
		for (uint32_t t = rd32(image + d + 16);; t += 8) {
			uint64_t v = get64(image + t);
			int known = 0;

			if (!v)
				break;
			for (size_t k = 0; k < sizeof(stubs) / sizeof(stubs[0]); k++)
				known |= v == stubs[k].address;
			assert_true(known);
			slots++;
		}
	}
	assert_int_equal(slots, img.imports);
	print_message("kdvm.dll: %u imports bound, %u relocations applied\n", img.imports,
		      img.relocations);

	/* The nine transport exports, each in the image's code. */
	for (size_t i = 0; i < sizeof(exports) / sizeof(exports[0]); i++) {
		void *at;

		assert_int_equal(pe_find_export(&img, exports[i], &at), PE_OK);
		assert_true((uint8_t *)at > image + img.info.size_of_headers &&
			    (uint8_t *)at < image + img.info.size_of_image);
	}
	free(image);
}

/* Loaded at two bases, the images differ only where the relocations are, by the delta. */
static void test_real_relocations(void **state)
{
	struct unresolved_log log = { 0 };
	struct real_layout l = { 0 };
	struct pe_image i1, i2;
	uint8_t *a, *b, *fixed;
	uint64_t diff;
	uint32_t size, fixups = 0;

	(void)state;
	if (!need_dll())
		return;
	a = load_real(&i1, &log);
	b = load_real(&i2, &log);
	real_layout(&l);
	size = i1.info.size_of_image;
	diff = (uint64_t)(uintptr_t)b - (uint64_t)(uintptr_t)a;
	fixed = calloc(size, 1);
	assert_non_null(fixed);
	for (uint32_t off = l.dir_rva[5]; off < l.dir_rva[5] + l.dir_size[5];) {
		uint32_t page = rd32(a + off), block = rd32(a + off + 4);

		assert_true(block >= 8);
		for (uint32_t e = 8; e < block; e += 2) {
			uint16_t entry = rd16(a + off + e);
			uint32_t at = page + (entry & 0xfff);

			if (entry >> 12 == 0)
				continue;
			assert_int_equal(entry >> 12, 10);
			assert_int_equal(get64(b + at) - get64(a + at), diff);
			assert_int_equal(get64(a + at) - (uint64_t)i1.delta,
					 get64(dll + real_file_off(&l, at)));
			memset(fixed + at, 1, 8);
			fixups++;
		}
		off += block;
	}
	assert_int_equal(fixups, i1.relocations);
	/* Everything else is byte-identical, except the IAT, which holds the same stubs. */
	for (uint32_t i = 0; i < size; i++)
		if (!fixed[i] && a[i] != b[i])
			fail_msg("byte %#x differs between two bases outside any relocation", i);
	free(fixed);
	free(a);
	free(b);
}

static void test_real_unresolved(void **state)
{
	struct unresolved_log log = { 0 };
	struct pe_imports imp = stub_imports(&log);
	struct pe_image img;
	struct pe_info info;
	uint8_t *image;

	(void)state;
	if (!need_dll())
		return;
	assert_int_equal(pe_parse(dll, dll_size, &info), PE_OK);
	image = malloc(info.size_of_image);
	assert_non_null(image);
	imp.count = 0;
	assert_int_equal(pe_load(dll, dll_size, image, info.size_of_image, &imp, &img),
			 PE_E_UNRESOLVED);
	assert_int_equal(img.imports, 0);
	assert_true(log.count > 0);
	print_message("with no exports, kdvm.dll reports %u unresolved imports (last %s)\n",
		      log.count, log.last);
	free(image);
}

static void test_real_truncations(void **state)
{
	struct pe_info info;
	size_t need = 0;

	(void)state;
	if (!need_dll())
		return;
	/* Cut anywhere before the end of the last section's raw data, it must not load. */
	assert_int_equal(pe_parse(dll, dll_size, &info), PE_OK);
	{
		struct real_layout l = { 0 };

		real_layout(&l);
		for (uint32_t s = 0; s < l.nsections; s++) {
			const uint8_t *sh = dll + l.sections + 40 * s;
			size_t end = (size_t)rd32(sh + 20) + rd32(sh + 16);

			if (rd32(sh + 16) && end > need)
				need = end;
		}
	}
	truncate_everywhere(dll, dll_size, need);
}

static void test_real_corruption(void **state)
{
	(void)state;
	if (!need_dll())
		return;
	corrupt_randomly(dll, dll_size, 5000);
}

static const char *default_dll_path(const char *argv0)
{
	static char buf[4096];
	const char *slash = strrchr(argv0, '/');
	int n;

	if (!slash)
		return "../guest/kdvm.dll";
	n = snprintf(buf, sizeof(buf), "%.*s/../guest/kdvm.dll", (int)(slash - argv0), argv0);
	return n > 0 && (size_t)n < sizeof(buf) ? buf : NULL;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synth_parse),
		cmocka_unit_test(test_synth_load),
		cmocka_unit_test(test_synth_two_bases),
		cmocka_unit_test(test_synth_preferred_base),
		cmocka_unit_test(test_synth_no_reloc_dir),
		cmocka_unit_test(test_synth_unresolved),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_synth_truncations),
		cmocka_unit_test(test_synth_corruption),
		cmocka_unit_test(test_real_headers),
		cmocka_unit_test(test_real_load),
		cmocka_unit_test(test_real_relocations),
		cmocka_unit_test(test_real_unresolved),
		cmocka_unit_test(test_real_truncations),
		cmocka_unit_test(test_real_corruption),
	};
	int rc;

	dll_path = argc > 1 ? argv[1] : getenv("VMKD_KDVM_DLL");
	if (!dll_path)
		dll_path = default_dll_path(argv[0]);
	load_dll_file();
	if (dll)
		print_message("kdvm.dll: %s\n", dll_path);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(dll);
	return rc;
}
