/* SPDX-License-Identifier: MIT */
/*
 * kd_wire.h - every structure vmkd exchanges on the Windows KD wire (KDCOM framing,
 * DBGKD state-change / manipulate-state / debug-I/O, AMD64 CONTEXT and special registers,
 * KDDEBUGGER_DATA64), plus the constants that go with them.
 *
 * Freestanding-safe: only <stdint.h> and <stddef.h>. All wire data is little endian and
 * vmkd only builds for x86-64 hosts and guests, so structs are used in place.
 *
 * Layout policy: no struct relies on the compiler's packing rules. Every gap that Windows'
 * natural alignment creates is an explicit `pad` member, and _Static_assert pins the size
 * and every offset a peer depends on. That gives the same bytes as a packed struct while
 * keeping members naturally aligned (so their addresses can be taken safely). Copy wire
 * bytes in and out with memcpy; never cast an unaligned buffer.
 *
 * Facts: shared/docs/kd-protocol.md (section numbers below refer to it).
 */
#ifndef VMKD_KD_WIRE_H
#define VMKD_KD_WIRE_H

#include <stddef.h>
#include <stdint.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "vmkd's wire structs are little endian"
#endif

#define KD_ASSERT_SIZE(type, size) _Static_assert(sizeof(type) == (size), #type " size")
#define KD_ASSERT_OFF(type, member, off) \
	_Static_assert(offsetof(type, member) == (off), #type "." #member " offset")

/* ---- 1. framing ------------------------------------------------------------------- */

#define KD_PACKET_LEADER          0x30303030u /* "0000": data packet */
#define KD_PACKET_LEADER_BYTE     0x30u
#define KD_CONTROL_LEADER         0x69696969u /* "iiii": control packet */
#define KD_CONTROL_LEADER_BYTE    0x69u
#define KD_BREAKIN_PACKET         0x62626262u
#define KD_BREAKIN_BYTE           0x62u       /* 'b', sent alone by the debugger */
#define KD_PACKET_TRAILER         0xAAu       /* follows data packets only */
#define KD_MAX_PAYLOAD            4000u       /* PACKET_MAX_SIZE: ByteCount limit */
#define KD_MAXSTREAM              16u         /* DBGKD_MAXSTREAM */

#define KD_INITIAL_PACKET_ID      0x80800000u
#define KD_SYNC_PACKET_ID         0x00000800u /* OR-ed in: first packet since (re)init */
#define KD_PACKET_ID_TOGGLE       0x00000001u

/* KD_PACKET: 16-byte header; data packets add payload + trailer. */
struct kd_packet_header {
	uint32_t leader;     /* KD_PACKET_LEADER or KD_CONTROL_LEADER */
	uint16_t type;       /* enum kd_packet_type */
	uint16_t byte_count; /* payload bytes, header and trailer excluded */
	uint32_t id;
	uint32_t checksum;   /* byte sum of the payload; 0 for control packets */
};
KD_ASSERT_SIZE(struct kd_packet_header, 16);
KD_ASSERT_OFF(struct kd_packet_header, type, 4);
KD_ASSERT_OFF(struct kd_packet_header, byte_count, 6);
KD_ASSERT_OFF(struct kd_packet_header, id, 8);
KD_ASSERT_OFF(struct kd_packet_header, checksum, 12);

#define KD_HEADER_SIZE            16u
/* Largest data packet on the wire: header + max payload + trailer. */
#define KD_MAX_PACKET_BYTES       (KD_HEADER_SIZE + KD_MAX_PAYLOAD + 1u)

/* ---- 2. packet types -------------------------------------------------------------- */

enum kd_packet_type {
	KD_PACKET_TYPE_UNUSED = 0,
	KD_PACKET_TYPE_STATE_CHANGE32 = 1,
	KD_PACKET_TYPE_STATE_MANIPULATE = 2,
	KD_PACKET_TYPE_DEBUG_IO = 3,
	KD_PACKET_TYPE_ACKNOWLEDGE = 4,
	KD_PACKET_TYPE_RESEND = 5,
	KD_PACKET_TYPE_RESET = 6,
	KD_PACKET_TYPE_STATE_CHANGE64 = 7,
	KD_PACKET_TYPE_POLL_BREAKIN = 8, /* never on the wire: KdReceivePacket pseudo-type */
	KD_PACKET_TYPE_TRACE_IO = 9,
	KD_PACKET_TYPE_CONTROL_REQUEST = 10,
	KD_PACKET_TYPE_FILE_IO = 11,
	KD_PACKET_TYPE_MAX = 12,
};

/* KdReceivePacket return values (KDSTATUS). */
enum kd_status {
	KD_STATUS_PACKET_RECEIVED = 0,
	KD_STATUS_TIMED_OUT = 1,
	KD_STATUS_NEEDS_RESEND = 2,
};

/* ---- NTSTATUS and continue codes (6.5) -------------------------------------------- */

#define KD_STATUS_SUCCESS                0x00000000u
#define KD_STATUS_PENDING                0x00000103u
#define KD_STATUS_UNSUCCESSFUL           0xC0000001u
#define KD_STATUS_NOT_IMPLEMENTED        0xC0000002u
#define KD_STATUS_INVALID_PARAMETER      0xC000000Du
#define KD_STATUS_NO_SUCH_DEVICE         0xC000000Eu
#define KD_STATUS_NO_SUCH_FILE           0xC000000Fu
#define KD_STATUS_NOT_SUPPORTED          0xC00000BBu
#define KD_STATUS_DATATYPE_MISALIGNMENT  0x80000002u
#define KD_STATUS_BREAKPOINT             0x80000003u
#define KD_STATUS_SINGLE_STEP            0x80000004u
#define KD_STATUS_WAKE_SYSTEM_DEBUGGER   0x80000007u
#define KD_STATUS_NO_MORE_ENTRIES        0x8000001Au
#define KD_STATUS_ACCESS_VIOLATION       0xC0000005u
#define KD_DBG_EXCEPTION_HANDLED         0x00010001u
#define KD_DBG_CONTINUE                  0x00010002u
#define KD_DBG_EXCEPTION_NOT_HANDLED     0x80010001u

static inline int kd_nt_success(uint32_t status) { return (int32_t)status >= 0; }

/* ---- 5. state change (packet type 7) ---------------------------------------------- */

enum kd_new_state {
	KD_STATE_EXCEPTION = 0x3030,
	KD_STATE_LOAD_SYMBOLS = 0x3031,
	KD_STATE_COMMAND_STRING = 0x3032,
	KD_STATE_MAXIMUM = 0x3033,
};
#define KD_STATE_ALTERNATE_FLAG  0x10000u

#define KD_EXCEPTION_MAXIMUM_PARAMETERS 15u

struct kd_exception_record64 {
	uint32_t exception_code;
	uint32_t exception_flags;
	uint64_t exception_record;
	uint64_t exception_address;
	uint32_t number_parameters;
	uint32_t pad;
	uint64_t exception_information[KD_EXCEPTION_MAXIMUM_PARAMETERS];
};
KD_ASSERT_SIZE(struct kd_exception_record64, 0x98);
KD_ASSERT_OFF(struct kd_exception_record64, exception_address, 0x10);
KD_ASSERT_OFF(struct kd_exception_record64, number_parameters, 0x18);
KD_ASSERT_OFF(struct kd_exception_record64, exception_information, 0x20);

struct kd_exception64 { /* DBGKM_EXCEPTION64 */
	struct kd_exception_record64 record;
	uint32_t first_chance;
	uint32_t pad;
};
KD_ASSERT_SIZE(struct kd_exception64, 0xA0);
KD_ASSERT_OFF(struct kd_exception64, first_chance, 0x98);

struct kd_load_symbols64 { /* DBGKD_LOAD_SYMBOLS64 */
	uint32_t path_name_length; /* bytes of path in the packet's data, NUL included */
	uint32_t pad0;
	uint64_t base_of_dll;
	uint64_t process_id;
	uint32_t check_sum;
	uint32_t size_of_image;
	uint8_t unload_symbols;
	uint8_t pad1[7];
};
KD_ASSERT_SIZE(struct kd_load_symbols64, 0x28);
KD_ASSERT_OFF(struct kd_load_symbols64, base_of_dll, 0x08);
KD_ASSERT_OFF(struct kd_load_symbols64, check_sum, 0x18);
KD_ASSERT_OFF(struct kd_load_symbols64, unload_symbols, 0x20);

struct kd_command_string {
	uint32_t flags;
	uint32_t reserved1;
	uint64_t reserved2[7];
};
KD_ASSERT_SIZE(struct kd_command_string, 0x40);

#define KD_REPORT_INCLUDES_SEGS  0x0001u
#define KD_REPORT_STANDARD_CS    0x0002u

struct kd_amd64_control_report { /* AMD64_DBGKD_CONTROL_REPORT */
	uint64_t dr6;
	uint64_t dr7;
	uint32_t eflags;
	uint16_t instruction_count;
	uint16_t report_flags;
	uint8_t instruction_stream[KD_MAXSTREAM];
	uint16_t seg_cs;
	uint16_t seg_ds;
	uint16_t seg_es;
	uint16_t seg_fs;
};
KD_ASSERT_SIZE(struct kd_amd64_control_report, 0x30);
KD_ASSERT_OFF(struct kd_amd64_control_report, eflags, 0x10);
KD_ASSERT_OFF(struct kd_amd64_control_report, instruction_count, 0x14);
KD_ASSERT_OFF(struct kd_amd64_control_report, instruction_stream, 0x18);
KD_ASSERT_OFF(struct kd_amd64_control_report, seg_cs, 0x28);

struct kd_wait_state_change64 { /* DBGKD_ANY_WAIT_STATE_CHANGE, AMD64 form */
	uint32_t new_state;
	uint16_t processor_level;
	uint16_t processor;
	uint32_t number_processors;
	uint32_t pad;
	uint64_t thread;
	uint64_t program_counter;
	union {
		struct kd_exception64 exception;
		struct kd_load_symbols64 load_symbols;
		struct kd_command_string command_string;
		uint8_t raw[0xA0];
	} u;
	struct kd_amd64_control_report control_report;
};
KD_ASSERT_SIZE(struct kd_wait_state_change64, 0xF0);
KD_ASSERT_OFF(struct kd_wait_state_change64, number_processors, 0x08);
KD_ASSERT_OFF(struct kd_wait_state_change64, thread, 0x10);
KD_ASSERT_OFF(struct kd_wait_state_change64, program_counter, 0x18);
KD_ASSERT_OFF(struct kd_wait_state_change64, u, 0x20);
KD_ASSERT_OFF(struct kd_wait_state_change64, control_report, 0xC0);

/* ---- 6. manipulate state (packet type 2) ------------------------------------------ */

enum kd_api_number {
	KD_API_READ_VIRTUAL_MEMORY = 0x3130,
	KD_API_WRITE_VIRTUAL_MEMORY = 0x3131,
	KD_API_GET_CONTEXT = 0x3132,
	KD_API_SET_CONTEXT = 0x3133,
	KD_API_WRITE_BREAKPOINT = 0x3134,
	KD_API_RESTORE_BREAKPOINT = 0x3135,
	KD_API_CONTINUE = 0x3136,
	KD_API_READ_CONTROL_SPACE = 0x3137,
	KD_API_WRITE_CONTROL_SPACE = 0x3138,
	KD_API_READ_IO_SPACE = 0x3139,
	KD_API_WRITE_IO_SPACE = 0x313A,
	KD_API_REBOOT = 0x313B,
	KD_API_CONTINUE2 = 0x313C,
	KD_API_READ_PHYSICAL_MEMORY = 0x313D,
	KD_API_WRITE_PHYSICAL_MEMORY = 0x313E,
	KD_API_QUERY_SPECIAL_CALLS = 0x313F,
	KD_API_SET_SPECIAL_CALL = 0x3140,
	KD_API_CLEAR_SPECIAL_CALLS = 0x3141,
	KD_API_SET_INTERNAL_BREAKPOINT = 0x3142,
	KD_API_GET_INTERNAL_BREAKPOINT = 0x3143,
	KD_API_READ_IO_SPACE_EXTENDED = 0x3144,
	KD_API_WRITE_IO_SPACE_EXTENDED = 0x3145,
	KD_API_GET_VERSION = 0x3146,
	KD_API_WRITE_BREAKPOINT_EX = 0x3147,
	KD_API_RESTORE_BREAKPOINT_EX = 0x3148,
	KD_API_CAUSE_BUGCHECK = 0x3149,
	KD_API_SWITCH_PROCESSOR = 0x3150,
	KD_API_PAGE_IN = 0x3151,
	KD_API_READ_MSR = 0x3152,
	KD_API_WRITE_MSR = 0x3153,
	KD_API_OLD_VLM1 = 0x3154,
	KD_API_OLD_VLM2 = 0x3155,
	KD_API_SEARCH_MEMORY = 0x3156,
	KD_API_GET_BUS_DATA = 0x3157,
	KD_API_SET_BUS_DATA = 0x3158,
	KD_API_CHECK_LOW_MEMORY = 0x3159,
	KD_API_CLEAR_ALL_INTERNAL_BREAKPOINTS = 0x315A,
	KD_API_FILL_MEMORY = 0x315B,
	KD_API_QUERY_MEMORY = 0x315C,
	KD_API_SWITCH_PARTITION = 0x315D,
	KD_API_WRITE_CUSTOM_BREAKPOINT = 0x315E,
	KD_API_GET_CONTEXT_EX = 0x315F,
	KD_API_SET_CONTEXT_EX = 0x3160,
	KD_API_MAXIMUM = 0x3161,
};

struct kd_read_memory64 { /* also ReadPhysical / ReadControlSpace */
	uint64_t target_base_address;
	uint32_t transfer_count;
	uint32_t actual_bytes_read; /* ReadPhysical request: caching mode */
};
KD_ASSERT_SIZE(struct kd_read_memory64, 0x10);

struct kd_write_memory64 {
	uint64_t target_base_address;
	uint32_t transfer_count;
	uint32_t actual_bytes_written; /* WritePhysical request: caching mode */
};
KD_ASSERT_SIZE(struct kd_write_memory64, 0x10);

struct kd_get_context { uint32_t unused; };
struct kd_set_context { uint32_t context_flags; };

struct kd_write_breakpoint64 {
	uint64_t breakpoint_address;
	uint32_t breakpoint_handle;
	uint32_t pad;
};
KD_ASSERT_SIZE(struct kd_write_breakpoint64, 0x10);

struct kd_restore_breakpoint { uint32_t breakpoint_handle; };
struct kd_continue { uint32_t continue_status; };

struct kd_continue2 { /* DBGKD_CONTINUE2 with the AMD64 control set (pack 4) */
	uint32_t continue_status;
	uint32_t trace_flag;           /* nonzero: set EFLAGS.TF */
	uint64_t dr7;
	uint64_t current_symbol_start; /* 1 = no change */
	uint64_t current_symbol_end;
};
KD_ASSERT_SIZE(struct kd_continue2, 0x20);
KD_ASSERT_OFF(struct kd_continue2, dr7, 0x08);

struct kd_read_write_io64 {
	uint64_t io_address;
	uint32_t data_size;
	uint32_t data_value;
};
KD_ASSERT_SIZE(struct kd_read_write_io64, 0x10);

struct kd_read_write_io_extended64 {
	uint32_t data_size;
	uint32_t interface_type;
	uint32_t bus_number;
	uint32_t address_space;
	uint64_t io_address;
	uint32_t data_value;
	uint32_t pad;
};
KD_ASSERT_SIZE(struct kd_read_write_io_extended64, 0x20);

struct kd_read_write_msr {
	uint32_t msr;
	uint32_t data_value_low;
	uint32_t data_value_high;
};
KD_ASSERT_SIZE(struct kd_read_write_msr, 0x0C);

#define KD_VERSION_FLAG_MP          0x0001u
#define KD_VERSION_FLAG_DATA        0x0002u /* DebuggerDataList is valid */
#define KD_VERSION_FLAG_PTR64       0x0004u
#define KD_VERSION_FLAG_NOMM        0x0008u
#define KD_VERSION_FLAG_HSS         0x0010u
#define KD_VERSION_FLAG_PARTITIONS  0x0020u
#define KD_MACHINE_AMD64            0x8664u
#define KD_MACHINE_I386             0x014Cu
#define KD_PROTOCOL_VERSION_64BIT2  6u
#define KD_SECONDARY_VERSION_AMD64_CONTEXT 2u
#define KD_MAJOR_VERSION_FREE       0x000Fu
#define KD_MAJOR_VERSION_CHECKED    0x000Cu

struct kd_get_version64 { /* DBGKD_GET_VERSION64 */
	uint16_t major_version;
	uint16_t minor_version; /* build number */
	uint8_t protocol_version;
	uint8_t kd_secondary_version;
	uint16_t flags;
	uint16_t machine_type;
	uint8_t max_packet_type;
	uint8_t max_state_change;
	uint8_t max_manipulate;
	uint8_t simulation;
	uint16_t unused;
	uint64_t kern_base;
	uint64_t ps_loaded_module_list;
	uint64_t debugger_data_list;
};
KD_ASSERT_SIZE(struct kd_get_version64, 0x28);
KD_ASSERT_OFF(struct kd_get_version64, machine_type, 0x08);
KD_ASSERT_OFF(struct kd_get_version64, max_manipulate, 0x0C);
KD_ASSERT_OFF(struct kd_get_version64, kern_base, 0x10);
KD_ASSERT_OFF(struct kd_get_version64, debugger_data_list, 0x20);

#define KD_QUERY_SPACE_PROCESS  0u
#define KD_QUERY_SPACE_SESSION  1u
#define KD_QUERY_SPACE_KERNEL   2u
#define KD_QUERY_FLAG_READ      1u
#define KD_QUERY_FLAG_WRITE     2u
#define KD_QUERY_FLAG_EXECUTE   4u
#define KD_QUERY_FLAG_FIXED     8u

struct kd_query_memory {
	uint64_t address;
	uint64_t reserved;
	uint32_t address_space;
	uint32_t flags;
};
KD_ASSERT_SIZE(struct kd_query_memory, 0x18);

struct kd_context_ex { /* GetContextEx / SetContextEx */
	uint32_t offset;
	uint32_t byte_count;
	uint32_t bytes_copied;
};
KD_ASSERT_SIZE(struct kd_context_ex, 0x0C);

struct kd_search_memory {
	uint64_t search_address; /* reply: found address */
	uint64_t search_length;
	uint32_t pattern_length;
	uint32_t pad;
};
KD_ASSERT_SIZE(struct kd_search_memory, 0x18);

#define KD_FILL_MEMORY_VIRTUAL  1u
#define KD_FILL_MEMORY_PHYSICAL 2u

struct kd_fill_memory {
	uint64_t address;
	uint32_t length;
	uint16_t flags;
	uint16_t pattern_length;
};
KD_ASSERT_SIZE(struct kd_fill_memory, 0x10);

struct kd_get_set_bus_data {
	uint32_t bus_data_type;
	uint32_t bus_number;
	uint32_t slot_number;
	uint32_t offset;
	uint32_t length;
};
KD_ASSERT_SIZE(struct kd_get_set_bus_data, 0x14);

struct kd_breakpoint_ex {
	uint32_t breakpoint_count;
	uint32_t continue_status;
};

struct kd_set_internal_breakpoint64 {
	uint64_t breakpoint_address;
	uint32_t flags;
	uint32_t pad;
};

struct kd_get_internal_breakpoint64 {
	uint64_t breakpoint_address;
	uint32_t flags;
	uint32_t calls;
	uint32_t max_calls_per_period;
	uint32_t min_instructions;
	uint32_t max_instructions;
	uint32_t total_instructions;
};
KD_ASSERT_SIZE(struct kd_get_internal_breakpoint64, 0x20);

struct kd_write_custom_breakpoint {
	uint64_t breakpoint_address;
	uint64_t breakpoint_instruction;
	uint32_t breakpoint_handle;
	uint8_t breakpoint_instruction_size;
	uint8_t breakpoint_instruction_alignment;
	uint8_t pad[2];
};
KD_ASSERT_SIZE(struct kd_write_custom_breakpoint, 0x18);

struct kd_switch_partition { uint32_t partition; };

struct kd_manipulate_state64 { /* DBGKD_MANIPULATE_STATE64 */
	uint32_t api_number;
	uint16_t processor_level;
	uint16_t processor;
	uint32_t return_status;
	uint32_t pad;
	union {
		struct kd_read_memory64 read_memory;
		struct kd_write_memory64 write_memory;
		struct kd_get_context get_context;
		struct kd_set_context set_context;
		struct kd_write_breakpoint64 write_breakpoint;
		struct kd_restore_breakpoint restore_breakpoint;
		struct kd_continue continue1;
		struct kd_continue2 continue2;
		struct kd_read_write_io64 read_write_io;
		struct kd_read_write_io_extended64 read_write_io_extended;
		struct kd_read_write_msr read_write_msr;
		struct kd_get_version64 get_version;
		struct kd_query_memory query_memory;
		struct kd_context_ex context_ex;
		struct kd_search_memory search_memory;
		struct kd_fill_memory fill_memory;
		struct kd_get_set_bus_data bus_data;
		struct kd_breakpoint_ex breakpoint_ex;
		struct kd_set_internal_breakpoint64 set_internal_breakpoint;
		struct kd_get_internal_breakpoint64 get_internal_breakpoint;
		struct kd_write_custom_breakpoint write_custom_breakpoint;
		struct kd_switch_partition switch_partition;
		uint8_t raw[0x28];
	} u;
};
KD_ASSERT_SIZE(struct kd_manipulate_state64, 0x38);
KD_ASSERT_OFF(struct kd_manipulate_state64, processor, 0x06);
KD_ASSERT_OFF(struct kd_manipulate_state64, return_status, 0x08);
KD_ASSERT_OFF(struct kd_manipulate_state64, u, 0x10);

/* Largest data part of a manipulate-state packet (reads are clamped to it). */
#define KD_MANIPULATE_MAX_DATA (KD_MAX_PAYLOAD - (uint32_t)sizeof(struct kd_manipulate_state64))

/* ReadControlSpace selectors on AMD64 (8.3). */
enum kd_amd64_control_space {
	KD_CONTROL_SPACE_KPCR = 0,
	KD_CONTROL_SPACE_KPRCB = 1,
	KD_CONTROL_SPACE_KSPECIAL = 2,
	KD_CONTROL_SPACE_KTHREAD = 3,
};

/* ---- 7. debug I/O, file I/O, trace I/O, control request --------------------------- */

enum kd_debug_io_api {
	KD_API_PRINT_STRING = 0x3230,
	KD_API_GET_STRING = 0x3231,
};

struct kd_debug_io { /* DBGKD_DEBUG_IO */
	uint32_t api_number;
	uint16_t processor_level;
	uint16_t processor;
	uint32_t length_of_string;        /* PrintString / GetString prompt length */
	uint32_t length_of_string_read;   /* GetString: answer limit */
};
KD_ASSERT_SIZE(struct kd_debug_io, 0x10);
#define KD_DEBUG_IO_MAX_TEXT (KD_MAX_PAYLOAD - (uint32_t)sizeof(struct kd_debug_io))

enum kd_file_io_api {
	KD_API_CREATE_FILE = 0x3430,
	KD_API_READ_FILE = 0x3431,
	KD_API_WRITE_FILE = 0x3432,
	KD_API_CLOSE_FILE = 0x3433,
};

struct kd_file_io { /* DBGKD_FILE_IO */
	uint32_t api_number;
	uint32_t status;
	uint64_t reserve_space[7];
};
KD_ASSERT_SIZE(struct kd_file_io, 0x40);

#define KD_API_PRINT_TRACE 0x3330u

struct kd_trace_io { /* DBGKD_TRACE_IO */
	uint32_t api_number;
	uint16_t processor_level;
	uint16_t processor;
	uint64_t reserve_space[7]; /* PrintTrace.LengthOfData is the first ULONG */
};
KD_ASSERT_SIZE(struct kd_trace_io, 0x40);

enum kd_control_request_api {
	KD_API_REQUEST_HARDWARE_BP = 0x4300,
	KD_API_RELEASE_HARDWARE_BP = 0x4301,
};

struct kd_control_request { /* DBGKD_CONTROL_REQUEST */
	uint32_t api_number;
	uint32_t hardware_breakpoint_number;
	uint32_t available;
};
KD_ASSERT_SIZE(struct kd_control_request, 0x0C);

/* ---- 8. AMD64 register state ------------------------------------------------------ */

#define KD_CONTEXT_AMD64            0x00100000u
#define KD_CONTEXT_CONTROL          (KD_CONTEXT_AMD64 | 0x01u)
#define KD_CONTEXT_INTEGER          (KD_CONTEXT_AMD64 | 0x02u)
#define KD_CONTEXT_SEGMENTS         (KD_CONTEXT_AMD64 | 0x04u)
#define KD_CONTEXT_FLOATING_POINT   (KD_CONTEXT_AMD64 | 0x08u)
#define KD_CONTEXT_DEBUG_REGISTERS  (KD_CONTEXT_AMD64 | 0x10u)
#define KD_CONTEXT_FULL             (KD_CONTEXT_CONTROL | KD_CONTEXT_INTEGER | KD_CONTEXT_FLOATING_POINT)
#define KD_CONTEXT_ALL              (KD_CONTEXT_FULL | KD_CONTEXT_SEGMENTS | KD_CONTEXT_DEBUG_REGISTERS)

#define KD_EFLAGS_TF                0x00000100u
#define KD_KGDT64_R0_CODE           0x0010u

struct kd_m128 { uint64_t low; uint64_t high; };

struct kd_xmm_save_area32 { /* XMM_SAVE_AREA32 (FXSAVE image) */
	uint16_t control_word;
	uint16_t status_word;
	uint8_t tag_word;
	uint8_t reserved1;
	uint16_t error_opcode;
	uint32_t error_offset;
	uint16_t error_selector;
	uint16_t reserved2;
	uint32_t data_offset;
	uint16_t data_selector;
	uint16_t reserved3;
	uint32_t mx_csr;
	uint32_t mx_csr_mask;
	struct kd_m128 float_registers[8];
	struct kd_m128 xmm_registers[16];
	uint8_t reserved4[96];
};
KD_ASSERT_SIZE(struct kd_xmm_save_area32, 512);
KD_ASSERT_OFF(struct kd_xmm_save_area32, mx_csr, 0x18);
KD_ASSERT_OFF(struct kd_xmm_save_area32, float_registers, 0x20);
KD_ASSERT_OFF(struct kd_xmm_save_area32, xmm_registers, 0xA0);

struct kd_context_amd64 { /* CONTEXT, AMD64 */
	uint64_t p1_home, p2_home, p3_home, p4_home, p5_home, p6_home;
	uint32_t context_flags;
	uint32_t mx_csr;
	uint16_t seg_cs, seg_ds, seg_es, seg_fs, seg_gs, seg_ss;
	uint32_t eflags;
	uint64_t dr0, dr1, dr2, dr3, dr6, dr7;
	uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip;
	struct kd_xmm_save_area32 flt_save; /* xmm0-15 live inside it at 0x1A0 */
	struct kd_m128 vector_register[26];
	uint64_t vector_control;
	uint64_t debug_control;
	uint64_t last_branch_to_rip;
	uint64_t last_branch_from_rip;
	uint64_t last_exception_to_rip;
	uint64_t last_exception_from_rip;
};
KD_ASSERT_SIZE(struct kd_context_amd64, 0x4D0);
KD_ASSERT_OFF(struct kd_context_amd64, context_flags, 0x30);
KD_ASSERT_OFF(struct kd_context_amd64, seg_cs, 0x38);
KD_ASSERT_OFF(struct kd_context_amd64, seg_ss, 0x42);
KD_ASSERT_OFF(struct kd_context_amd64, eflags, 0x44);
KD_ASSERT_OFF(struct kd_context_amd64, dr0, 0x48);
KD_ASSERT_OFF(struct kd_context_amd64, dr7, 0x70);
KD_ASSERT_OFF(struct kd_context_amd64, rax, 0x78);
KD_ASSERT_OFF(struct kd_context_amd64, rsp, 0x98);
KD_ASSERT_OFF(struct kd_context_amd64, r8, 0xB8);
KD_ASSERT_OFF(struct kd_context_amd64, r15, 0xF0);
KD_ASSERT_OFF(struct kd_context_amd64, rip, 0xF8);
KD_ASSERT_OFF(struct kd_context_amd64, flt_save, 0x100);
KD_ASSERT_OFF(struct kd_context_amd64, vector_register, 0x300);
KD_ASSERT_OFF(struct kd_context_amd64, vector_control, 0x4A0);
KD_ASSERT_OFF(struct kd_context_amd64, last_exception_from_rip, 0x4C8);

#define KD_CONTEXT_I386_SIZE 0x2CCu

struct kd_descriptor_amd64 { /* KDESCRIPTOR */
	uint16_t pad[3];
	uint16_t limit;
	uint64_t base;
};
KD_ASSERT_SIZE(struct kd_descriptor_amd64, 16);

struct kd_special_registers_amd64 { /* KSPECIAL_REGISTERS (with Xcr0) */
	uint64_t cr0, cr2, cr3, cr4;
	uint64_t kernel_dr0, kernel_dr1, kernel_dr2, kernel_dr3, kernel_dr6, kernel_dr7;
	struct kd_descriptor_amd64 gdtr;
	struct kd_descriptor_amd64 idtr;
	uint16_t tr;
	uint16_t ldtr;
	uint32_t mx_csr;
	uint64_t debug_control;
	uint64_t last_branch_to_rip;
	uint64_t last_branch_from_rip;
	uint64_t last_exception_to_rip;
	uint64_t last_exception_from_rip;
	uint64_t cr8;
	uint64_t msr_gs_base;
	uint64_t msr_gs_swap;
	uint64_t msr_star;
	uint64_t msr_lstar;
	uint64_t msr_cstar;
	uint64_t msr_syscall_mask;
	uint64_t xcr0;
};
KD_ASSERT_SIZE(struct kd_special_registers_amd64, 0xE0);
KD_ASSERT_OFF(struct kd_special_registers_amd64, kernel_dr6, 0x40);
KD_ASSERT_OFF(struct kd_special_registers_amd64, kernel_dr7, 0x48);
KD_ASSERT_OFF(struct kd_special_registers_amd64, gdtr, 0x50);
KD_ASSERT_OFF(struct kd_special_registers_amd64, idtr, 0x60);
KD_ASSERT_OFF(struct kd_special_registers_amd64, tr, 0x70);
KD_ASSERT_OFF(struct kd_special_registers_amd64, mx_csr, 0x74);
KD_ASSERT_OFF(struct kd_special_registers_amd64, cr8, 0xA0);
KD_ASSERT_OFF(struct kd_special_registers_amd64, msr_syscall_mask, 0xD0);
KD_ASSERT_OFF(struct kd_special_registers_amd64, xcr0, 0xD8);

/* Windows kernel structure offsets a debugger walks (x64). */
#define KD_KPCR_SELF_OFFSET            0x18u
#define KD_KPCR_CURRENT_PRCB_OFFSET    0x20u
#define KD_KPCR_PRCB_OFFSET            0x180u
#define KD_KPRCB_CURRENT_THREAD_OFFSET 0x08u

/* ---- 8.4 KDDEBUGGER_DATA64 and the loaded-module list ----------------------------- */

#define KD_DEBUGGER_DATA_TAG 0x4742444Bu /* 'KDBG' */

struct kd_list_entry64 {
	uint64_t flink;
	uint64_t blink;
};
KD_ASSERT_SIZE(struct kd_list_entry64, 16);

struct kd_debug_data_header64 {
	struct kd_list_entry64 list;
	uint32_t owner_tag;
	uint32_t size;
};
KD_ASSERT_SIZE(struct kd_debug_data_header64, 0x18);

/* KDDEBUGGER_DATA64 up to MmVirtualTranslationBase; newer kernels append more (the
 * header's size field says how much). Every member after 0x38 is a 64-bit pointer. */
struct kd_debugger_data64 {
	struct kd_debug_data_header64 header;
	uint64_t kern_base;
	uint64_t breakpoint_with_status;
	uint64_t saved_context;
	uint16_t th_callback_stack;
	uint16_t next_callback;
	uint16_t frame_pointer;
	uint16_t pae_enabled; /* bit 0 */
	uint64_t ki_call_user_mode;
	uint64_t ke_user_callback_dispatcher;
	uint64_t ps_loaded_module_list;
	uint64_t ps_active_process_head;
	uint64_t psp_cid_table;
	uint64_t more_pointers[(0x268 - 0x60) / 8]; /* ExpSystemResourcesList .. MmTotalCommitLimitMaximum */
	uint64_t cm_nt_csd_version;
	uint64_t mm_physical_memory_block;
	uint64_t mm_session_base;
	uint64_t mm_session_size;
	uint64_t mm_system_parent_table_page;
	uint64_t mm_virtual_translation_base;
};
KD_ASSERT_SIZE(struct kd_debugger_data64, 0x298);
KD_ASSERT_OFF(struct kd_debugger_data64, kern_base, 0x18);
KD_ASSERT_OFF(struct kd_debugger_data64, breakpoint_with_status, 0x20);
KD_ASSERT_OFF(struct kd_debugger_data64, pae_enabled, 0x36);
KD_ASSERT_OFF(struct kd_debugger_data64, ps_loaded_module_list, 0x48);
KD_ASSERT_OFF(struct kd_debugger_data64, ps_active_process_head, 0x50);
KD_ASSERT_OFF(struct kd_debugger_data64, cm_nt_csd_version, 0x268);

/* Offsets of a few pointers inside kd_debugger_data64.more_pointers' range. */
#define KD_DEBUGGER_DATA_MM_HIGHEST_USER_ADDRESS 0x1C8u
#define KD_DEBUGGER_DATA_MM_SYSTEM_RANGE_START   0x1D0u
#define KD_DEBUGGER_DATA_NT_BUILD_LAB            0x208u
#define KD_DEBUGGER_DATA_KI_PROCESSOR_BLOCK      0x218u

struct kd_unicode_string64 {
	uint16_t length;         /* bytes, no NUL */
	uint16_t maximum_length;
	uint32_t pad;
	uint64_t buffer;
};
KD_ASSERT_SIZE(struct kd_unicode_string64, 16);

/* KLDR_DATA_TABLE_ENTRY (x64), the node type of PsLoadedModuleList, up to BaseDllName. */
struct kd_ldr_data_table_entry64 {
	struct kd_list_entry64 in_load_order_links;
	uint64_t exception_table;
	uint32_t exception_table_size;
	uint32_t pad0;
	uint64_t gp_value;
	uint64_t non_paged_debug_info;
	uint64_t dll_base;
	uint64_t entry_point;
	uint32_t size_of_image;
	uint32_t pad1;
	struct kd_unicode_string64 full_dll_name;
	struct kd_unicode_string64 base_dll_name;
	uint32_t flags;
	uint16_t load_count;
	uint16_t pad2;
};
KD_ASSERT_SIZE(struct kd_ldr_data_table_entry64, 0x70);
KD_ASSERT_OFF(struct kd_ldr_data_table_entry64, dll_base, 0x30);
KD_ASSERT_OFF(struct kd_ldr_data_table_entry64, size_of_image, 0x40);
KD_ASSERT_OFF(struct kd_ldr_data_table_entry64, full_dll_name, 0x48);
KD_ASSERT_OFF(struct kd_ldr_data_table_entry64, base_dll_name, 0x58);

/* ---- 4.2 transport-DLL call structures (x64) -------------------------------------- */

struct kd_string64 { /* STRING as passed to KdSendPacket / KdReceivePacket */
	uint16_t length;
	uint16_t maximum_length;
	uint32_t pad;
	uint64_t buffer;
};
KD_ASSERT_SIZE(struct kd_string64, 16);

struct kd_context_block { /* KD_CONTEXT */
	uint32_t retry_count;
	uint8_t control_c_pending;
	uint8_t pad[3];
};
KD_ASSERT_SIZE(struct kd_context_block, 8);

#endif /* VMKD_KD_WIRE_H */
