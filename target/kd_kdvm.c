/* SPDX-License-Identifier: MIT */
/* kdvm.dll behind kd_transport_ops: load it, bind it, call it as ntoskrnl does. */
#include "kd_kdvm.h"

#include <stddef.h>

#include "console.h"
#include "kexports.h"
#include "loader_block.h"
#include "paging.h"
#include "pmm.h"

#define DLL_NAME "kdvm.dll"

extern const uint8_t kdvm_dll_start[], kdvm_dll_end[];

const char *kd_kdvm_status_name(enum kd_kdvm_status st)
{
	switch (st) {
	case KD_KDVM_OK:
		return "ok";
	case KD_KDVM_NOT_BUILT_IN:
		return "kdvm.dll not built in";
	case KD_KDVM_NO_MEMORY:
		return "out of memory";
	case KD_KDVM_BAD_IMAGE:
		return "bad image";
	case KD_KDVM_MISSING_EXPORT:
		return "missing export";
	case KD_KDVM_INIT_FAILED:
		return "KdDebuggerInitialize0 failed";
	}
	return "?";
}

static void report_unresolved(void *ctx, const char *dll, const char *name)
{
	(void)ctx;
	kprintf("vmkd-target: " DLL_NAME ": unresolved import %s!%s\n", dll, name);
}

/* Every export ntoskrnl imports from kdcom.dll: Windows would not boot with one missing,
 * so neither does this kernel. */
enum kdvm_export {
	EXP_INIT0,
	EXP_INIT1,
	EXP_SEND,
	EXP_RECEIVE,
	EXP_D0,
	EXP_D3,
	EXP_SAVE,
	EXP_RESTORE,
	EXP_SET_HIBER,
	EXP_POWER,
	EXP_COUNT,
};

static const char *const export_names[EXP_COUNT] = {
	[EXP_INIT0] = "KdDebuggerInitialize0",
	[EXP_INIT1] = "KdDebuggerInitialize1",
	[EXP_SEND] = "KdSendPacket",
	[EXP_RECEIVE] = "KdReceivePacket",
	[EXP_D0] = "KdD0Transition",
	[EXP_D3] = "KdD3Transition",
	[EXP_SAVE] = "KdSave",
	[EXP_RESTORE] = "KdRestore",
	[EXP_SET_HIBER] = "KdSetHiberRange",
	[EXP_POWER] = "KdPower", /* imported by newer kernels (docs/windows.md) */
};

static enum kd_kdvm_status resolve_exports(struct kd_kdvm *k)
{
	void *at[EXP_COUNT];
	unsigned missing = 0;

	for (unsigned i = 0; i < EXP_COUNT; i++) {
		enum pe_status st = pe_find_export(&k->image, export_names[i], &at[i]);

		if (st != PE_OK) {
			kprintf("vmkd-target: " DLL_NAME ": export %s: %s\n", export_names[i],
				pe_status_name(st));
			missing++;
			continue;
		}
		kprintf("vmkd-target: " DLL_NAME ": %-21s = %#lx\n", export_names[i],
			(uint64_t)(uintptr_t)at[i]);
	}
	if (missing)
		return KD_KDVM_MISSING_EXPORT;
	/* Object pointer to function pointer: fine on x86-64, it is how GetProcAddress works. */
	k->initialize0 = (kdvm_init_fn)at[EXP_INIT0];
	k->initialize1 = (kdvm_init_fn)at[EXP_INIT1];
	k->send_packet = (kdvm_send_fn)at[EXP_SEND];
	k->receive_packet = (kdvm_receive_fn)at[EXP_RECEIVE];
	k->d0_transition = (kdvm_power_fn)at[EXP_D0];
	k->d3_transition = (kdvm_power_fn)at[EXP_D3];
	k->save = (kdvm_save_fn)at[EXP_SAVE];
	k->restore = (kdvm_save_fn)at[EXP_RESTORE];
	k->set_hiber_range = (kdvm_hiber_fn)at[EXP_SET_HIBER];
	k->power = (kdvm_kdpower_fn)at[EXP_POWER];
	return KD_KDVM_OK;
}

enum kd_kdvm_status kd_kdvm_load(struct kd_kdvm *k)
{
	const struct pe_imports imports = {
		.symbols = kexports,
		.count = kexports_count,
		.unresolved = report_unresolved,
	};
	size_t file_size = (size_t)(kdvm_dll_end - kdvm_dll_start);
	struct pe_info info;
	uint64_t pa;
	size_t pages;

	*k = (struct kd_kdvm){ 0 };
	if (file_size == 0)
		return KD_KDVM_NOT_BUILT_IN;
	k->pe_status = pe_parse(kdvm_dll_start, file_size, &info);
	if (k->pe_status != PE_OK)
		goto bad_image;
	/* Physically contiguous and in the physmap: the DLL hands its own buffers' physical
	 * addresses (MmGetPhysicalAddress) to the virtio device. */
	pages = (info.size_of_image + PAGE_SIZE - 1) / PAGE_SIZE;
	pa = pmm_alloc_pages(pages);
	if (!pa) {
		kprintf("vmkd-target: " DLL_NAME ": no memory for %zu pages\n", pages);
		return KD_KDVM_NO_MEMORY;
	}
	k->pe_status = pe_load(kdvm_dll_start, file_size, phys_to_virt(pa), pages * PAGE_SIZE,
			       &imports, &k->image);
	if (k->pe_status != PE_OK)
		goto bad_image;
	kprintf("vmkd-target: " DLL_NAME " loaded at %#lx (phys %#lx), size %#x, preferred base "
		"%#lx, %u relocations, %u imports bound, checksum %s\n",
		(uint64_t)(uintptr_t)k->image.base, pa, info.size_of_image, info.image_base,
		k->image.relocations, k->image.imports,
		pe_checksum(kdvm_dll_start, file_size) == info.checksum ? "ok" : "MISMATCH");
	return resolve_exports(k);

bad_image:
	kprintf("vmkd-target: " DLL_NAME " (%zu bytes) refused by the PE loader: %s\n", file_size,
		pe_status_name(k->pe_status));
	return KD_KDVM_BAD_IMAGE;
}

enum kd_kdvm_status kd_kdvm_start(struct kd_kdvm *k)
{
	void *lpb = loader_block_build();
	const char *lpb_name = lpb ? "LoaderBlock" : "NULL";
	int32_t st;

	kdvm_imitate_init(&k->imitate);
	kexports_set_phase(KEXPORTS_PHASE0);
	k->init_status = k->initialize0(lpb);
	kexports_set_phase(KEXPORTS_PHASE1);
	kprintf("vmkd-target: " DLL_NAME ": KdDebuggerInitialize0(%s) = %#x\n", lpb_name,
		(uint32_t)k->init_status);
	if (k->init_status < 0)
		return KD_KDVM_INIT_FAILED;
	/* Phase 1 cannot undo phase 0 on Windows either: its status is only reported. */
	st = k->initialize1(lpb);
	kprintf("vmkd-target: " DLL_NAME ": KdDebuggerInitialize1(%s) = %#x\n", lpb_name,
		(uint32_t)st);
	return KD_KDVM_OK;
}

void kd_kdvm_save(struct kd_kdvm *k)
{
	if (k->save)
		k->save(0);
}

void kd_kdvm_restore(struct kd_kdvm *k)
{
	if (k->restore)
		k->restore(0);
}

/* The core's STRING is already the x64 STRING (kd_string64) and its KD_CONTEXT the real
 * one, so the DLL gets the very structs ntoskrnl would pass. */
static void kdvm_send_packet(void *t, uint32_t type, struct kd_string64 *hdr,
			     struct kd_string64 *data, struct kd_context_block *ctx)
{
	struct kd_kdvm *k = t;

	kdvm_imitate_before_send(&k->imitate, k);
	k->send_packet(type, hdr, data, ctx);
}

static uint32_t kdvm_receive_packet(void *t, uint32_t type, struct kd_string64 *hdr,
				    struct kd_string64 *data, uint32_t *data_len,
				    struct kd_context_block *ctx)
{
	struct kd_kdvm *k = t;

	return k->receive_packet(type, hdr, data, data_len, ctx);
}

const struct kd_transport_ops kd_kdvm_transport = {
	.send_packet = kdvm_send_packet,
	.receive_packet = kdvm_receive_packet,
};
