/* SPDX-License-Identifier: MIT */
/* A small, defensive PE32+ DLL loader: map, relocate, bind imports, find exports. */
#include "pe_loader.h"

#include <string.h>

#include "vmkd/kd_bytes.h"

/* ---- the PE32+ format, as offsets (never structs over untrusted bytes) --------------- */

#define DOS_MAGIC            0x5a4du /* "MZ" */
#define DOS_LFANEW           0x3cu
#define DOS_HEADER_SIZE      0x40u
#define NT_SIGNATURE         0x00004550u /* "PE\0\0" */

#define FH_OFFSET            4u  /* file header, after the signature */
#define FH_MACHINE           0u
#define FH_NSECTIONS         2u
#define FH_OPT_SIZE          16u
#define FH_CHARACTERISTICS   18u
#define FH_SIZE              20u
#define MACHINE_AMD64        0x8664u
#define FILE_RELOCS_STRIPPED 0x0001u
#define FILE_EXECUTABLE      0x0002u

#define OH_OFFSET            (FH_OFFSET + FH_SIZE)
#define OH_MAGIC             0u
#define OH_ENTRY             16u
#define OH_IMAGE_BASE        24u
#define OH_SECTION_ALIGN     32u
#define OH_FILE_ALIGN        36u
#define OH_SIZE_OF_IMAGE     56u
#define OH_SIZE_OF_HEADERS   60u
#define OH_CHECKSUM          64u
#define OH_SUBSYSTEM         68u
#define OH_DLL_CHAR          70u
#define OH_NUM_DIRS          108u
#define OH_DIRS              112u /* the optional header without its directories */
#define OH_MAGIC_PE32PLUS    0x20bu

#define DIR_EXPORT           0u
#define DIR_IMPORT           1u
#define DIR_SECURITY         4u  /* a file offset, not an RVA */
#define DIR_BASERELOC        5u
#define DIR_TLS              9u
#define DIR_DELAY_IMPORT     13u
#define DIR_COUNT            16u

#define SH_SIZE              40u
#define SH_VSIZE             8u
#define SH_VADDR             12u
#define SH_RAW_SIZE          16u
#define SH_RAW_PTR           20u

#define RELOC_BLOCK_HDR      8u
#define RELOC_ABSOLUTE       0u
#define RELOC_DIR64          10u

#define IMP_DESC_SIZE        20u
#define IMP_OFT              0u
#define IMP_NAME             12u
#define IMP_FIRST_THUNK      16u
#define THUNK_ORDINAL        (1ull << 63)
#define THUNK_NAME_MASK      0x7fffffffull
#define HINT_SIZE            2u

#define EXP_DIR_SIZE         40u
#define EXP_NFUNCTIONS       20u
#define EXP_NNAMES           24u
#define EXP_FUNCTIONS        28u
#define EXP_NAMES            32u
#define EXP_ORDINALS         36u

#define PAGE_ALIGN_MASK      0xfffull

/* ---- bounded reads (little-endian loads: vmkd/kd_bytes.h) --------------------------- */

/* [off, off + len) lies within [0, size), without overflow. */
static int fits(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static int is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

/* The NUL-terminated string at rva, if it ends within the image and PE_MAX_NAME. */
static const char *image_str(const uint8_t *img, uint32_t size, uint64_t rva)
{
	uint64_t max;

	if (rva >= size)
		return NULL;
	max = size - rva < PE_MAX_NAME ? size - rva : PE_MAX_NAME;
	for (uint64_t i = 0; i < max; i++)
		if (img[rva + i] == 0)
			return (const char *)(img + rva);
	return NULL;
}

static int ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int dll_name_equal(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (ascii_lower((unsigned char)*a) != ascii_lower((unsigned char)*b))
			return 0;
	return *a == *b;
}

const char *pe_status_name(enum pe_status st)
{
	static const char *const names[] = {
		[PE_OK] = "PE_OK",
		[PE_E_INVALID_ARG] = "PE_E_INVALID_ARG",
		[PE_E_TRUNCATED] = "PE_E_TRUNCATED",
		[PE_E_NOT_MZ] = "PE_E_NOT_MZ",
		[PE_E_BAD_LFANEW] = "PE_E_BAD_LFANEW",
		[PE_E_NOT_PE] = "PE_E_NOT_PE",
		[PE_E_BAD_MACHINE] = "PE_E_BAD_MACHINE",
		[PE_E_NOT_PE32PLUS] = "PE_E_NOT_PE32PLUS",
		[PE_E_NOT_EXECUTABLE] = "PE_E_NOT_EXECUTABLE",
		[PE_E_BAD_OPT_HEADER] = "PE_E_BAD_OPT_HEADER",
		[PE_E_BAD_ALIGNMENT] = "PE_E_BAD_ALIGNMENT",
		[PE_E_BAD_IMAGE_SIZE] = "PE_E_BAD_IMAGE_SIZE",
		[PE_E_BAD_SECTION] = "PE_E_BAD_SECTION",
		[PE_E_SECTION_OVERLAP] = "PE_E_SECTION_OVERLAP",
		[PE_E_BAD_DIRECTORY] = "PE_E_BAD_DIRECTORY",
		[PE_E_UNSUPPORTED] = "PE_E_UNSUPPORTED",
		[PE_E_BAD_RELOC] = "PE_E_BAD_RELOC",
		[PE_E_RELOC_TYPE] = "PE_E_RELOC_TYPE",
		[PE_E_RELOCS_STRIPPED] = "PE_E_RELOCS_STRIPPED",
		[PE_E_BAD_IMPORT] = "PE_E_BAD_IMPORT",
		[PE_E_IMPORT_ORDINAL] = "PE_E_IMPORT_ORDINAL",
		[PE_E_UNRESOLVED] = "PE_E_UNRESOLVED",
		[PE_E_BAD_EXPORT] = "PE_E_BAD_EXPORT",
		[PE_E_FORWARDER] = "PE_E_FORWARDER",
		[PE_E_NOT_FOUND] = "PE_E_NOT_FOUND",
	};

	if ((unsigned)st < sizeof(names) / sizeof(names[0]) && names[st])
		return names[st];
	return "PE_E_UNKNOWN";
}

/* ---- headers ----------------------------------------------------------------------- */

/* The parsed layout of a file, shared by parse and load. */
struct pe_layout {
	struct pe_info info;
	uint32_t nt;          /* e_lfanew */
	uint32_t opt;         /* optional header offset */
	uint32_t sections;    /* section table offset */
	uint32_t ndirs;
	uint32_t dir_rva[DIR_COUNT];
	uint32_t dir_size[DIR_COUNT];
};

static enum pe_status parse_nt_headers(const uint8_t *f, size_t n, struct pe_layout *l)
{
	uint32_t opt_size;

	if (n < DOS_HEADER_SIZE)
		return PE_E_TRUNCATED;
	if (n > UINT32_MAX)
		return PE_E_BAD_IMAGE_SIZE; /* every offset below is 32-bit */
	if (kd_get_le16(f) != DOS_MAGIC)
		return PE_E_NOT_MZ;
	l->nt = kd_get_le32(f + DOS_LFANEW);
	if (!fits(l->nt, 4, n))
		return PE_E_BAD_LFANEW;
	if (kd_get_le32(f + l->nt) != NT_SIGNATURE)
		return PE_E_NOT_PE;
	if (!fits(l->nt, OH_OFFSET, n))
		return PE_E_TRUNCATED;
	if (kd_get_le16(f + l->nt + FH_OFFSET + FH_MACHINE) != MACHINE_AMD64)
		return PE_E_BAD_MACHINE;
	l->info.nsections = kd_get_le16(f + l->nt + FH_OFFSET + FH_NSECTIONS);
	l->info.characteristics = kd_get_le16(f + l->nt + FH_OFFSET + FH_CHARACTERISTICS);
	if (!(l->info.characteristics & FILE_EXECUTABLE))
		return PE_E_NOT_EXECUTABLE;
	opt_size = kd_get_le16(f + l->nt + FH_OFFSET + FH_OPT_SIZE);
	l->opt = l->nt + OH_OFFSET;
	if (!fits(l->opt, 2, n))
		return PE_E_TRUNCATED;
	if (kd_get_le16(f + l->opt + OH_MAGIC) != OH_MAGIC_PE32PLUS)
		return PE_E_NOT_PE32PLUS;
	if (opt_size < OH_DIRS)
		return PE_E_BAD_OPT_HEADER;
	if (!fits(l->opt, opt_size, n))
		return PE_E_TRUNCATED;
	l->ndirs = kd_get_le32(f + l->opt + OH_NUM_DIRS);
	if (l->ndirs > DIR_COUNT)
		l->ndirs = DIR_COUNT; /* the format says so: extra entries are ignored */
	if (OH_DIRS + 8ull * l->ndirs > opt_size)
		return PE_E_BAD_OPT_HEADER;
	l->sections = l->opt + opt_size;
	if (l->info.nsections > PE_MAX_SECTIONS)
		return PE_E_BAD_SECTION;
	if (!fits(l->sections, (uint64_t)l->info.nsections * SH_SIZE, n))
		return PE_E_TRUNCATED;
	return PE_OK;
}

static enum pe_status parse_optional(const uint8_t *f, size_t n, struct pe_layout *l)
{
	const uint8_t *o = f + l->opt;
	struct pe_info *i = &l->info;
	uint32_t salign = kd_get_le32(o + OH_SECTION_ALIGN), falign = kd_get_le32(o + OH_FILE_ALIGN);

	i->image_base = kd_get_le64(o + OH_IMAGE_BASE);
	i->entry_rva = kd_get_le32(o + OH_ENTRY);
	i->size_of_image = kd_get_le32(o + OH_SIZE_OF_IMAGE);
	i->size_of_headers = kd_get_le32(o + OH_SIZE_OF_HEADERS);
	i->checksum = kd_get_le32(o + OH_CHECKSUM);
	i->subsystem = kd_get_le16(o + OH_SUBSYSTEM);
	i->dll_characteristics = kd_get_le16(o + OH_DLL_CHAR);

	if (!is_pow2(salign) || !is_pow2(falign) || falign > salign ||
	    (i->image_base & PAGE_ALIGN_MASK))
		return PE_E_BAD_ALIGNMENT;
	if (i->size_of_image == 0 || i->size_of_image > PE_MAX_IMAGE_SIZE)
		return PE_E_BAD_IMAGE_SIZE;
	/* The headers hold the section table, come from the file, and fit the image. */
	if (i->size_of_headers < l->sections + (uint64_t)i->nsections * SH_SIZE ||
	    i->size_of_headers > i->size_of_image)
		return PE_E_BAD_IMAGE_SIZE;
	if (i->size_of_headers > n)
		return PE_E_TRUNCATED;
	if (i->entry_rva >= i->size_of_image)
		return PE_E_BAD_IMAGE_SIZE;

	for (uint32_t d = 0; d < DIR_COUNT; d++) {
		l->dir_rva[d] = d < l->ndirs ? kd_get_le32(o + OH_DIRS + 8 * d) : 0;
		l->dir_size[d] = d < l->ndirs ? kd_get_le32(o + OH_DIRS + 8 * d + 4) : 0;
		if (d == DIR_SECURITY || l->dir_size[d] == 0)
			continue;
		if (!fits(l->dir_rva[d], l->dir_size[d], i->size_of_image))
			return PE_E_BAD_DIRECTORY;
	}
	/* TLS callbacks and delay-load thunks would need a real loader behind them. */
	if (l->dir_size[DIR_TLS] || l->dir_size[DIR_DELAY_IMPORT])
		return PE_E_UNSUPPORTED;
	return PE_OK;
}

/* Sections: raw data inside the file, in ascending non-overlapping virtual order, past the
 * headers and inside SizeOfImage. */
static enum pe_status check_sections(const uint8_t *f, size_t n, const struct pe_layout *l)
{
	uint64_t prev_end = l->info.size_of_headers;

	for (uint32_t s = 0; s < l->info.nsections; s++) {
		const uint8_t *sh = f + l->sections + s * SH_SIZE;
		uint32_t va = kd_get_le32(sh + SH_VADDR), raw = kd_get_le32(sh + SH_RAW_SIZE);
		uint32_t ptr = kd_get_le32(sh + SH_RAW_PTR), vsize = kd_get_le32(sh + SH_VSIZE);

		if (vsize == 0)
			vsize = raw; /* some linkers leave VirtualSize 0: the raw size is meant */
		if (raw && (ptr < l->info.size_of_headers || !fits(ptr, raw, n)))
			return PE_E_BAD_SECTION;
		if (!fits(va, vsize, l->info.size_of_image))
			return PE_E_BAD_SECTION;
		if (va < prev_end)
			return PE_E_SECTION_OVERLAP;
		prev_end = (uint64_t)va + vsize;
	}
	return PE_OK;
}

static enum pe_status parse_layout(const void *file, size_t n, struct pe_layout *l)
{
	const uint8_t *f = file;
	enum pe_status st;

	memset(l, 0, sizeof(*l));
	st = parse_nt_headers(f, n, l);
	if (st == PE_OK)
		st = parse_optional(f, n, l);
	if (st == PE_OK)
		st = check_sections(f, n, l);
	return st;
}

enum pe_status pe_parse(const void *file, size_t file_size, struct pe_info *info)
{
	struct pe_layout l;
	enum pe_status st;

	if (!file || !info)
		return PE_E_INVALID_ARG;
	st = parse_layout(file, file_size, &l);
	if (st == PE_OK)
		*info = l.info;
	return st;
}

/* ---- mapping ----------------------------------------------------------------------- */

static void map_sections(const uint8_t *f, const struct pe_layout *l, uint8_t *img)
{
	memcpy(img, f, l->info.size_of_headers);
	for (uint32_t s = 0; s < l->info.nsections; s++) {
		const uint8_t *sh = f + l->sections + s * SH_SIZE;
		uint32_t raw = kd_get_le32(sh + SH_RAW_SIZE), vsize = kd_get_le32(sh + SH_VSIZE);
		uint32_t copy = vsize && vsize < raw ? vsize : raw;

		/* The rest up to VirtualSize (.bss, raw padding) stays zero from the memset. */
		if (copy)
			memcpy(img + kd_get_le32(sh + SH_VADDR), f + kd_get_le32(sh + SH_RAW_PTR), copy);
	}
}

/* Walks the base-relocation blocks {PageRVA, BlockSize, u16 entries}; applies DIR64 fixups
 * for delta, skips ABSOLUTE padding, refuses anything else. Also run when delta is 0, so a
 * malformed table is refused wherever the image lands. */
static enum pe_status relocate(uint8_t *img, const struct pe_layout *l, uint64_t delta,
			       uint32_t *count)
{
	uint32_t size = l->info.size_of_image;
	uint32_t off = l->dir_rva[DIR_BASERELOC];
	uint32_t end = off + l->dir_size[DIR_BASERELOC]; /* checked against the image */

	if (l->dir_size[DIR_BASERELOC] == 0)
		return PE_OK; /* ld emits no .reloc when nothing needs fixing */
	if (delta && (l->info.characteristics & FILE_RELOCS_STRIPPED))
		return PE_E_RELOCS_STRIPPED;
	while (end - off >= RELOC_BLOCK_HDR) {
		uint32_t page = kd_get_le32(img + off), block = kd_get_le32(img + off + 4);

		if (block < RELOC_BLOCK_HDR || (block & 1) || block > end - off)
			return PE_E_BAD_RELOC;
		for (uint32_t e = RELOC_BLOCK_HDR; e < block; e += 2) {
			uint16_t entry = kd_get_le16(img + off + e);
			uint64_t at = (uint64_t)page + (entry & 0xfffu);

			switch (entry >> 12) {
			case RELOC_ABSOLUTE:
				break;
			case RELOC_DIR64:
				if (!fits(at, 8, size))
					return PE_E_BAD_RELOC;
				kd_put_le64(img + at, kd_get_le64(img + at) + delta);
				(*count)++;
				break;
			default:
				return PE_E_RELOC_TYPE;
			}
		}
		off += block;
	}
	/* A tail too short for a block header is malformed, not padding. */
	return off == end ? PE_OK : PE_E_BAD_RELOC;
}

static const struct pe_symbol *find_symbol(const struct pe_imports *imp, const char *dll,
					   const char *name)
{
	for (size_t i = 0; i < imp->count; i++) {
		const struct pe_symbol *s = &imp->symbols[i];

		if (dll_name_equal(s->dll, dll) && strcmp(s->name, name) == 0)
			return s;
	}
	return NULL;
}

/* Binds one descriptor's thunks: each ILT entry names a symbol, its IAT slot gets the
 * address. Missing symbols are reported and counted, not fatal here. */
static enum pe_status bind_descriptor(uint8_t *img, uint32_t size, const char *dll,
				      uint32_t ilt, uint32_t iat, const struct pe_imports *imp,
				      uint32_t *bound, uint32_t *missing)
{
	for (uint64_t i = 0;; i++) {
		uint64_t at_ilt = ilt + 8 * i, at_iat = iat + 8 * i;
		const struct pe_symbol *sym;
		const char *name;
		uint64_t thunk;

		if (!fits(at_ilt, 8, size) || !fits(at_iat, 8, size))
			return PE_E_BAD_IMPORT;
		thunk = kd_get_le64(img + at_ilt);
		if (thunk == 0)
			return PE_OK;
		if (thunk & THUNK_ORDINAL)
			return PE_E_IMPORT_ORDINAL;
		if (thunk & ~THUNK_NAME_MASK)
			return PE_E_BAD_IMPORT; /* bits 31-62 must be zero */
		name = image_str(img, size, thunk + HINT_SIZE);
		if (!name)
			return PE_E_BAD_IMPORT;
		sym = find_symbol(imp, dll, name);
		if (!sym) {
			if (imp->unresolved)
				imp->unresolved(imp->ctx, dll, name);
			(*missing)++;
			continue;
		}
		kd_put_le64(img + at_iat, sym->address);
		(*bound)++;
	}
}

static enum pe_status bind_imports(uint8_t *img, const struct pe_layout *l,
				   const struct pe_imports *imp, uint32_t *bound)
{
	uint32_t size = l->info.size_of_image, missing = 0;
	uint64_t off = l->dir_rva[DIR_IMPORT];
	enum pe_status st;

	if (l->dir_size[DIR_IMPORT] == 0)
		return PE_OK;
	/* Descriptors run to an all-zero one; the directory size is only a hint. */
	for (;; off += IMP_DESC_SIZE) {
		uint32_t oft, name_rva, first;
		const char *dll;

		if (!fits(off, IMP_DESC_SIZE, size))
			return PE_E_BAD_IMPORT;
		oft = kd_get_le32(img + off + IMP_OFT);
		name_rva = kd_get_le32(img + off + IMP_NAME);
		first = kd_get_le32(img + off + IMP_FIRST_THUNK);
		if (name_rva == 0 && first == 0)
			break;
		if (name_rva == 0 || first == 0)
			return PE_E_BAD_IMPORT;
		dll = image_str(img, size, name_rva);
		if (!dll)
			return PE_E_BAD_IMPORT;
		st = bind_descriptor(img, size, dll, oft ? oft : first, first, imp, bound,
				     &missing);
		if (st != PE_OK)
			return st;
	}
	return missing ? PE_E_UNRESOLVED : PE_OK;
}

/* ---- exports ----------------------------------------------------------------------- */

struct export_view {
	uint32_t nfunctions, nnames;
	uint32_t functions, names, ordinals; /* RVAs of the three arrays */
};

static enum pe_status export_view(const uint8_t *img, uint32_t size, uint32_t rva,
				  uint32_t dir_size, struct export_view *v)
{
	if (dir_size < EXP_DIR_SIZE || !fits(rva, dir_size, size))
		return PE_E_BAD_EXPORT;
	v->nfunctions = kd_get_le32(img + rva + EXP_NFUNCTIONS);
	v->nnames = kd_get_le32(img + rva + EXP_NNAMES);
	v->functions = kd_get_le32(img + rva + EXP_FUNCTIONS);
	v->names = kd_get_le32(img + rva + EXP_NAMES);
	v->ordinals = kd_get_le32(img + rva + EXP_ORDINALS);
	if (!fits(v->functions, 4ull * v->nfunctions, size) ||
	    !fits(v->names, 4ull * v->nnames, size) ||
	    !fits(v->ordinals, 2ull * v->nnames, size))
		return PE_E_BAD_EXPORT;
	return PE_OK;
}

/* The code/data RVA of the i-th name, after checking everything it depends on. */
static enum pe_status export_entry(const uint8_t *img, uint32_t size, const struct export_view *v,
				   uint32_t i, const char **name, uint32_t *target)
{
	uint16_t ordinal = kd_get_le16(img + v->ordinals + 2ull * i);

	*name = image_str(img, size, kd_get_le32(img + v->names + 4ull * i));
	if (!*name || ordinal >= v->nfunctions)
		return PE_E_BAD_EXPORT;
	*target = kd_get_le32(img + v->functions + 4ull * ordinal);
	if (*target == 0 || *target >= size)
		return PE_E_BAD_EXPORT;
	return PE_OK;
}

static enum pe_status check_exports(const uint8_t *img, const struct pe_layout *l)
{
	struct export_view v;
	enum pe_status st;

	if (l->dir_size[DIR_EXPORT] == 0)
		return PE_OK;
	st = export_view(img, l->info.size_of_image, l->dir_rva[DIR_EXPORT],
			 l->dir_size[DIR_EXPORT], &v);
	for (uint32_t i = 0; st == PE_OK && i < v.nnames; i++) {
		const char *name;
		uint32_t target;

		st = export_entry(img, l->info.size_of_image, &v, i, &name, &target);
	}
	return st;
}

enum pe_status pe_find_export(const struct pe_image *img, const char *name, void **addr)
{
	uint32_t size, rva, dir_size, target;
	struct export_view v;
	enum pe_status st;
	const char *n;

	if (!img || !img->base || !name || !addr)
		return PE_E_INVALID_ARG;
	*addr = NULL;
	size = img->info.size_of_image;
	rva = img->export_rva;
	dir_size = img->export_size;
	if (dir_size == 0)
		return PE_E_NOT_FOUND;
	/* Checked again: the image is writable and its code has run since pe_load. */
	st = export_view(img->base, size, rva, dir_size, &v);
	for (uint32_t i = 0; st == PE_OK && i < v.nnames; i++) {
		st = export_entry(img->base, size, &v, i, &n, &target);
		if (st != PE_OK || strcmp(n, name) != 0)
			continue;
		/* An RVA inside the export directory is a "DLL.Name" forwarder string. */
		if (target >= rva && target - rva < dir_size)
			return PE_E_FORWARDER;
		*addr = img->base + target;
		return PE_OK;
	}
	return st == PE_OK ? PE_E_NOT_FOUND : st;
}

/* ---- the whole load ---------------------------------------------------------------- */

enum pe_status pe_load(const void *file, size_t file_size, void *image, size_t image_size,
		       const struct pe_imports *imports, struct pe_image *out)
{
	static const struct pe_imports no_imports;
	struct pe_layout l;
	enum pe_status st;
	uint8_t *img = image;

	if (!file || !image || !out)
		return PE_E_INVALID_ARG;
	memset(out, 0, sizeof(*out));
	st = parse_layout(file, file_size, &l);
	if (st != PE_OK)
		return st;
	if (image_size < l.info.size_of_image)
		return PE_E_INVALID_ARG;
	if (!imports)
		imports = &no_imports;

	memset(img, 0, l.info.size_of_image);
	map_sections(file, &l, img);
	out->base = img;
	out->info = l.info;
	out->delta = (int64_t)((uint64_t)(uintptr_t)img - l.info.image_base);
	out->export_rva = l.dir_rva[DIR_EXPORT];
	out->export_size = l.dir_size[DIR_EXPORT];

	st = relocate(img, &l, (uint64_t)out->delta, &out->relocations);
	if (st != PE_OK)
		return st;
	st = bind_imports(img, &l, imports, &out->imports);
	if (st != PE_OK)
		return st;
	return check_exports(img, &l);
}

/* ---- checksum ---------------------------------------------------------------------- */

/* 16-bit one's-complement-style sum with carries folded in, the CheckSum field counted as
 * zero, plus the file length: what ld writes and CheckSumMappedFile computes. */
uint32_t pe_checksum(const void *file, size_t file_size)
{
	const uint8_t *f = file;
	uint64_t field = 0, sum = 0;
	int has_field = 0;

	if (file_size >= DOS_HEADER_SIZE) {
		field = (uint64_t)kd_get_le32(f + DOS_LFANEW) + OH_OFFSET + OH_CHECKSUM;
		has_field = fits(field, 4, file_size);
	}
	for (size_t i = 0; i < file_size; i += 2) {
		uint8_t lo = f[i], hi = i + 1 < file_size ? f[i + 1] : 0;

		if (has_field && i >= field && i < field + 4)
			lo = 0;
		if (has_field && i + 1 >= field && i + 1 < field + 4)
			hi = 0;
		sum += (uint32_t)lo | (uint32_t)hi << 8;
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return (uint32_t)(sum + file_size);
}
