/* SPDX-License-Identifier: MIT */
/*
 * dump_windows.h - the header of a Windows full kernel memory dump (DUMP_HEADER64,
 * "PAGE" "DU64", 0x2000 bytes), built from what KD says about the stopped kernel, and read
 * back field by field. After the header come the pages of each physical memory run, in
 * order (DumpType 1, "full"): dump_format.c writes them.
 *
 * Layout facts (public: the DDK's DUMP_HEADER64, as WinDbg, Volatility and the open-source
 * dump tools read it): Signature 0x00, ValidDump 0x04, MajorVersion 0x08 (0xF free build),
 * MinorVersion 0x0C (build), DirectoryTableBase 0x10, PfnDataBase 0x18, PsLoadedModuleList
 * 0x20, PsActiveProcessHead 0x28, MachineImageType 0x30, NumberProcessors 0x34,
 * BugCheckCode 0x38, BugCheckParameter1-4 0x40-0x58, VersionUser 0x60, KdDebuggerDataBlock
 * 0x80, PhysicalMemoryBlock 0x88 (NumberOfRuns u32, NumberOfPages u64 at 0x90, runs
 * {BasePage, PageCount} from 0x98; 700 bytes), ContextRecord 0x348 (3000 bytes),
 * EXCEPTION_RECORD64 0xF00, DumpType 0xF98, RequiredDumpSpace 0xFA0, SystemTime 0xFA8,
 * Comment 0xFB0 (128), SystemUpTime 0x1030. Unused bytes hold the "PAGE" pattern.
 */
#ifndef VMKD_HOST_DUMP_WINDOWS_H
#define VMKD_HOST_DUMP_WINDOWS_H

#include <stddef.h>
#include <stdint.h>

#include "vmkd/kd_wire.h"

#include "../common/guest_ram.h"

#define DMP_HEADER_SIZE      0x2000u
#define DMP_SIGNATURE        0x45474150u /* "PAGE" */
#define DMP_VALID_DUMP64     0x34365544u /* "DU64" */
#define DMP_TYPE_FULL        1u
#define DMP_MAX_RUNS         ((700u - 0x10u) / 0x10u)

#define DMP_OFF_DTB          0x10u
#define DMP_OFF_PFN          0x18u
#define DMP_OFF_MODULES      0x20u
#define DMP_OFF_PROCESSES    0x28u
#define DMP_OFF_MACHINE      0x30u
#define DMP_OFF_NPROC        0x34u
#define DMP_OFF_BUGCHECK     0x38u
#define DMP_OFF_KDBG         0x80u
#define DMP_OFF_RUNS         0x88u
#define DMP_OFF_CONTEXT      0x348u
#define DMP_OFF_EXCEPTION    0xF00u
#define DMP_OFF_DUMP_TYPE    0xF98u
#define DMP_OFF_REQUIRED     0xFA0u
#define DMP_OFF_SYSTEM_TIME  0xFA8u
#define DMP_OFF_COMMENT      0xFB0u

/* What the header says about the kernel (from KD). */
struct dump_win_info {
	uint32_t major, minor;           /* 0xF, build number */
	uint64_t dtb;                    /* CR3 of the stopped processor */
	uint64_t pfn_database;
	uint64_t ps_loaded_module_list;
	uint64_t ps_active_process_head;
	uint32_t machine;                /* 0x8664 */
	uint32_t number_processors;
	uint64_t kd_debugger_data_block;
	struct kd_context_amd64 context; /* of the stopped processor */
	uint32_t exception_code;         /* why it stopped */
	uint64_t exception_address;
	uint64_t system_time;            /* FILETIME: 100 ns since 1601 */
};

/* A parsed header. */
struct dump_win_header {
	struct dump_win_info info;
	uint32_t dump_type;
	uint64_t required_dump_space;
	uint32_t number_of_runs;
	uint64_t number_of_pages;
	struct { uint64_t base_page, page_count; } runs[DMP_MAX_RUNS];
	char comment[129];
};

/* Fills hdr (DMP_HEADER_SIZE bytes) for a full dump of the layout's RAM, whose ranges
 * must be page aligned. 0, or -1 with err (too many runs, unaligned). */
int dump_win_build(uint8_t *hdr, const struct dump_win_info *info,
		   const struct guest_ram_layout *l, char *err, size_t errlen);

/* Reads a header back; checks signature, type, runs against the file size. 0, or -1 with
 * err. */
int dump_win_parse(const uint8_t *hdr, size_t len, uint64_t file_size,
		   struct dump_win_header *out, char *err, size_t errlen);

/* File offset of the page at physical address pa (a page of a run), or 0 if none. */
uint64_t dump_win_page_offset(const struct dump_win_header *h, uint64_t pa);

#endif
