/* SPDX-License-Identifier: MIT */
/*
 * kd_kdvm.h - kdvm.dll as the KD transport: the DLL embedded in the kernel image is mapped
 * with the PE loader, its imports bound to the kernel's exports (kexports.h), and its
 * KdSendPacket / KdReceivePacket called exactly as ntoskrnl calls them (Windows x64 ABI,
 * STRING and KD_CONTEXT structs), behind struct kd_transport_ops.
 */
#ifndef VMKD_TARGET_KD_KDVM_H
#define VMKD_TARGET_KD_KDVM_H

#include <stdint.h>

#include "kd_target.h"
#include "kdvm_imitate.h"
#include "pe_loader.h"

/* The transport DLL's exports (kd-protocol.md 4.1), all ms_abi. */
typedef __attribute__((ms_abi)) int32_t (*kdvm_init_fn)(void *loader_block);
typedef __attribute__((ms_abi)) void (*kdvm_send_fn)(uint32_t type, struct kd_string64 *hdr,
						     struct kd_string64 *data,
						     struct kd_context_block *ctx);
typedef __attribute__((ms_abi)) uint32_t (*kdvm_receive_fn)(uint32_t type,
							    struct kd_string64 *hdr,
							    struct kd_string64 *data,
							    uint32_t *data_len,
							    struct kd_context_block *ctx);
typedef __attribute__((ms_abi)) int32_t (*kdvm_power_fn)(void);
typedef __attribute__((ms_abi)) int32_t (*kdvm_save_fn)(uint8_t sleep_transition);
typedef __attribute__((ms_abi)) int32_t (*kdvm_hiber_fn)(void *memory_map);
typedef __attribute__((ms_abi)) int32_t (*kdvm_kdpower_fn)(void *arg1, void *arg2);

enum kd_kdvm_status {
	KD_KDVM_OK = 0,
	KD_KDVM_NOT_BUILT_IN,    /* the kernel was built without guest/guest.mk */
	KD_KDVM_NO_MEMORY,       /* pmm could not give SizeOfImage contiguous bytes */
	KD_KDVM_BAD_IMAGE,       /* the PE loader refused it (pe_status says why) */
	KD_KDVM_MISSING_EXPORT,  /* ntoskrnl's imports from kdcom.dll would not bind */
	KD_KDVM_INIT_FAILED,     /* KdDebuggerInitialize0 returned an error status */
};

struct kd_kdvm {
	struct pe_image image;
	enum pe_status pe_status; /* of the last pe_load */
	int32_t init_status;      /* KdDebuggerInitialize0's NTSTATUS */
	kdvm_init_fn initialize0, initialize1;
	kdvm_send_fn send_packet;
	kdvm_receive_fn receive_packet;
	kdvm_power_fn d0_transition, d3_transition;
	kdvm_save_fn save, restore;
	kdvm_hiber_fn set_hiber_range;
	kdvm_kdpower_fn power;
	struct kdvm_imitate imitate; /* kdvm_imitate= events (kdvm_imitate.h) */
};

const char *kd_kdvm_status_name(enum kd_kdvm_status st);

/* Maps the embedded kdvm.dll into fresh pages and resolves the ten transport exports, as
 * the boot loader and ntoskrnl's import binding would. Reports progress and every
 * problem (unresolved imports as DLL!name) on the console. */
enum kd_kdvm_status kd_kdvm_load(struct kd_kdvm *k);

/* KdDebuggerInitialize0, then KdDebuggerInitialize1, as ntoskrnl calls them (phase 0 and
 * phase 1), with the loader block loader_block.h builds (NULL without loaderblock=).
 * Phase 0 runs with the HAL's services refused (kexports.h). */
enum kd_kdvm_status kd_kdvm_start(struct kd_kdvm *k);

/* KdSave(FALSE) / KdRestore(FALSE): bracket every entry into the debugger. */
void kd_kdvm_save(struct kd_kdvm *k);
void kd_kdvm_restore(struct kd_kdvm *k);

/* The transport as the KD target core calls it (pass the kd_kdvm as its context). */
extern const struct kd_transport_ops kd_kdvm_transport;

#endif
