/* SPDX-License-Identifier: MIT */
/*
 * kd_target.h - the kernel side of KD: what ntoskrnl's kd64 does above the transport DLL.
 * Reports state changes, serves manipulate-state requests until told to continue, sends
 * DbgPrint text and polls for break-in.
 *
 * Freestanding and platform-free: the machine is reached only through kd_platform_ops
 * (memory, special registers, MSRs, time) and the debugger only through kd_transport_ops,
 * whose two calls have exactly the shape of the transport DLL's KdSendPacket and
 * KdReceivePacket. The built-in KDCOM serial transport and the kdvm.dll adapter both plug
 * in there; the host unit tests plug in fakes.
 */
#ifndef VMKD_KD_TARGET_H
#define VMKD_KD_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "vmkd/kd_wire.h"

struct kd_platform_ops {
	/* Copy up to len bytes; return how many were copied before the first inaccessible
	 * byte (a partial read is answered as Windows does: the bytes that were readable). */
	size_t (*read_virtual)(void *p, uint64_t va, void *buf, size_t len);
	size_t (*write_virtual)(void *p, uint64_t va, const void *buf, size_t len);
	size_t (*read_physical)(void *p, uint64_t pa, void *buf, size_t len);
	size_t (*write_physical)(void *p, uint64_t pa, const void *buf, size_t len);
	void (*read_special)(void *p, struct kd_special_registers_amd64 *sr);
	void (*write_special)(void *p, const struct kd_special_registers_amd64 *sr);
	int (*read_msr)(void *p, uint32_t msr, uint64_t *value);  /* 0 or -1 (#GP) */
	int (*write_msr)(void *p, uint32_t msr, uint64_t value);
	/* KD_QUERY_FLAG_* for a mapped address, 0 if unmapped; *space = KD_QUERY_SPACE_*. */
	uint32_t (*query_memory)(void *p, uint64_t va, uint32_t *space);
	void (*reboot)(void *p);                                   /* optional */
};

/* KdSendPacket / KdReceivePacket, with STRING = struct kd_string64 (buffer = pointer). */
struct kd_transport_ops {
	void (*send_packet)(void *t, uint32_t type, struct kd_string64 *hdr,
			    struct kd_string64 *data, struct kd_context_block *ctx);
	uint32_t (*receive_packet)(void *t, uint32_t type, struct kd_string64 *hdr,
				   struct kd_string64 *data, uint32_t *data_len,
				   struct kd_context_block *ctx);
};

/* What the machine looks like to the debugger. */
struct kd_target_info {
	struct kd_get_version64 version; /* build, KernBase, PsLoadedModuleList, DebuggerDataList */
	uint16_t processor_level;
	uint32_t number_processors;
	uint64_t kpcr, kprcb, kthread;   /* control-space selectors 0, 1, 3 */
};

#define KD_TARGET_MAX_BREAKPOINTS 32u
#define KD_TARGET_RX_HDR ((uint16_t)sizeof(struct kd_manipulate_state64))

struct kd_breakpoint {
	uint64_t address;
	uint8_t saved;
	uint8_t in_use;
};

struct kd_target_stats {
	uint64_t state_changes;
	uint64_t requests;
	uint64_t unknown_requests;
	uint64_t bad_requests;
	uint64_t resends;        /* state change sent again (RESET, break-in while halted) */
	uint64_t prints;
	uint64_t breakins;
};

/* How the stopped CPU is to resume. */
enum kd_resume {
	KD_RESUME_HANDLED,     /* continue status was a success */
	KD_RESUME_NOT_HANDLED, /* debugger said not handled, or no debugger */
};

struct kd_target {
	const struct kd_platform_ops *plat;
	void *plat_ctx;
	const struct kd_transport_ops *tr;
	void *tr_ctx;
	volatile uint8_t *debugger_not_present; /* the kernel's KdDebuggerNotPresent */
	struct kd_context_block kd_ctx;         /* the kernel's KD_CONTEXT */
	struct kd_target_info info;
	struct kd_target_stats stats;
	struct kd_breakpoint bps[KD_TARGET_MAX_BREAKPOINTS];

	/* The current stop. */
	struct kd_context_amd64 *ctx;
	uint8_t context_fetched;
	uint16_t sc_len;
	uint8_t sc_buf[KD_MAX_PAYLOAD];
	uint8_t rx_buf[KD_MAX_PAYLOAD];  /* a request: header, then its data */
	uint8_t tx_data[KD_MAX_PAYLOAD]; /* a reply's data */
};

void kd_target_init(struct kd_target *t, const struct kd_platform_ops *plat, void *plat_ctx,
		    const struct kd_transport_ops *tr, void *tr_ctx,
		    volatile uint8_t *debugger_not_present, const struct kd_target_info *info);

/*
 * Reports an exception of the stopped CPU whose registers are *ctx (RIP at the faulting
 * instruction, for int3 at the int3 itself) and serves the debugger until it continues.
 * *ctx is updated with the debugger's changes; EFLAGS.TF is set when it asked to step.
 */
enum kd_resume kd_target_report_exception(struct kd_target *t, struct kd_context_amd64 *ctx,
					  uint32_t code, uint64_t address, int first_chance);

/* Reports a module load (path like "\SystemRoot\system32\ntoskrnl.exe"). */
enum kd_resume kd_target_load_symbols(struct kd_target *t, struct kd_context_amd64 *ctx,
				      const char *path, uint64_t base, uint32_t size,
				      uint32_t checksum);

/* Sends DbgPrint text (dropped silently when no debugger takes it, as Windows does). */
void kd_target_print(struct kd_target *t, const char *text, size_t len);

/* Polls the transport for a break-in request; 1 if the debugger asked to break. */
int kd_target_poll_breakin(struct kd_target *t);

/* The breakpoint table's view: 1 if addr holds one of the debugger's breakpoints. */
int kd_target_is_breakpoint(const struct kd_target *t, uint64_t addr);

#endif
