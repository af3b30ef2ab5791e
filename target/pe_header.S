/* SPDX-License-Identifier: MIT */
/*
 * pe_header.S - an MZ/PE32+ header at the very start of the image, so KernBase looks like a
 * Windows kernel's to debuggers that check it (rizin reads "MZ"/"PE" there; WinDbg's !dh and
 * lm read SizeOfImage and the section table). The image is loaded flat, so file offsets and
 * RVAs are equal (FileAlignment = SectionAlignment = 4 KiB). An export table names a few
 * functions and variables (the test symbols, kd_main, kmain), so a debugger that reads
 * symbols from the image in memory, as vmkd attach does without a PDB, finds them. No
 * imports, relocations or debug directory.
 */
	.section .note.GNU-stack, "", @progbits

#define IMAGE_FILE_MACHINE_AMD64      0x8664
#define IMAGE_FILE_EXECUTABLE_IMAGE   0x0002
#define IMAGE_FILE_LARGE_ADDRESS_AWARE 0x0020
#define IMAGE_NT_OPTIONAL_HDR64_MAGIC 0x020b
#define IMAGE_SUBSYSTEM_NATIVE        1
#define SCN_CODE     0x00000020
#define SCN_IDATA    0x00000040
#define SCN_UDATA    0x00000080
#define SCN_EXECUTE  0x20000000
#define SCN_READ     0x40000000
#define SCN_WRITE    0x80000000

	.section .head.pe, "a"
	.globl	__pe_header
__pe_header:
	/* IMAGE_DOS_HEADER: only e_magic and e_lfanew matter. */
	.ascii	"MZ"
	.fill	0x3c - 2, 1, 0
	.long	pe_signature - __pe_header

pe_signature:
	.ascii	"PE\0\0"
	/* IMAGE_FILE_HEADER */
	.short	IMAGE_FILE_MACHINE_AMD64
	.short	(section_table_end - section_table) / 40
	.long	0			/* TimeDateStamp */
	.long	0, 0			/* symbol table */
	.short	optional_header_end - optional_header
	.short	IMAGE_FILE_EXECUTABLE_IMAGE | IMAGE_FILE_LARGE_ADDRESS_AWARE

optional_header:			/* IMAGE_OPTIONAL_HEADER64 */
	.short	IMAGE_NT_OPTIONAL_HDR64_MAGIC
	.byte	0, 0			/* linker version */
	.long	__pe_text_size		/* SizeOfCode */
	.long	__pe_idata_size		/* SizeOfInitializedData */
	.long	__pe_bss_size		/* SizeOfUninitializedData */
	.long	__pe_entry_rva		/* AddressOfEntryPoint: kmain */
	.long	__pe_text_rva		/* BaseOfCode */
	.quad	__image_start		/* ImageBase = KernBase */
	.long	0x1000, 0x1000		/* SectionAlignment, FileAlignment */
	.short	10, 0, 0, 0, 10, 0	/* OS, image, subsystem versions */
	.long	0			/* Win32VersionValue */
	.long	__pe_image_size		/* SizeOfImage */
	.long	0x1000			/* SizeOfHeaders: this page */
	.long	0			/* CheckSum */
	.short	IMAGE_SUBSYSTEM_NATIVE
	.short	0			/* DllCharacteristics */
	.quad	0x80000, 0x1000, 0x100000, 0x1000 /* stack/heap reserve/commit */
	.long	0			/* LoaderFlags */
	.long	16			/* NumberOfRvaAndSizes */
	.long	export_dir - __pe_header, export_end - export_dir /* [0] export */
	.fill	15 * 8, 1, 0		/* the other data directories: none */
optional_header_end:

section_table:
0:	.ascii	".text"
1:	.fill	8 - (1b - 0b), 1, 0
	.long	__pe_text_size, __pe_text_rva, __pe_text_size, __pe_text_rva, 0, 0
	.short	0, 0
	.long	SCN_CODE | SCN_EXECUTE | SCN_READ
0:	.ascii	".rdata"
1:	.fill	8 - (1b - 0b), 1, 0
	.long	__pe_rdata_size, __pe_rdata_rva, __pe_rdata_size, __pe_rdata_rva, 0, 0
	.short	0, 0
	.long	SCN_IDATA | SCN_READ
0:	.ascii	".data"
1:	.fill	8 - (1b - 0b), 1, 0
	.long	__pe_data_size, __pe_data_rva, __pe_data_size, __pe_data_rva, 0, 0
	.short	0, 0
	.long	SCN_IDATA | SCN_READ | SCN_WRITE
0:	.ascii	".bss"
1:	.fill	8 - (1b - 0b), 1, 0
	.long	__pe_bss_size, __pe_bss_rva, 0, 0, 0, 0
	.short	0, 0
	.long	SCN_UDATA | SCN_READ | SCN_WRITE
section_table_end:

/* IMAGE_EXPORT_DIRECTORY; names sorted (ASCII), as loaders binary-search them. */
#define NEXPORTS 8
	.balign	4
export_dir:
	.long	0, 0			/* Characteristics, TimeDateStamp */
	.short	0, 0			/* version */
	.long	export_dll_name - __pe_header
	.long	1			/* ordinal base */
	.long	NEXPORTS, NEXPORTS
	.long	export_funcs - __pe_header, export_names - __pe_header
	.long	export_ords - __pe_header
export_funcs:
	.long	__pe_export_DbgBreakPointWithStatus, __pe_export_KdDebuggerNotPresent
	.long	__pe_export_MmGetPhysicalAddress, __pe_export_kd_main, __pe_export_kmain
	.long	__pe_export_vmkd_stop_request, __pe_export_vmkd_workload_calls
	.long	__pe_export_vmkd_workload_function
export_names:
	.long	0f - __pe_header, 1f - __pe_header, 2f - __pe_header, 3f - __pe_header
	.long	4f - __pe_header, 5f - __pe_header, 6f - __pe_header, 7f - __pe_header
export_ords:
	.short	0, 1, 2, 3, 4, 5, 6, 7
export_dll_name:
	.asciz	"ntoskrnl.exe"
0:	.asciz	"DbgBreakPointWithStatus"
1:	.asciz	"KdDebuggerNotPresent"
2:	.asciz	"MmGetPhysicalAddress"
3:	.asciz	"kd_main"
4:	.asciz	"kmain"
5:	.asciz	"vmkd_stop_request"
6:	.asciz	"vmkd_workload_calls"
7:	.asciz	"vmkd_workload_function"
export_end:
