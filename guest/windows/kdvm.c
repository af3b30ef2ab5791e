/* SPDX-License-Identifier: MIT */
/*
 * kdvm.c - kdvm.dll, the KD transport DLL: the nine exports Windows (or the vmkd test
 * kernel) calls instead of kdcom.dll's, on top of the channel core and the legacy
 * virtio-serial backend.
 *
 * Imports (keep this list in step with guest/README.md; the test kernel's PE loader
 * provides exactly these):
 *   ntoskrnl.exe  MmGetPhysicalAddress, KdDebuggerNotPresent (data)
 *   HAL.dll       KeQueryPerformanceCounter
 *
 * Everything lives in .bss: one channel context and one page-aligned region that the
 * backend carves into rings and buffers after checking each page's physical address.
 * No allocation, no CRT, no floating point (-mgeneral-regs-only).
 */
#include <stddef.h>
#include <stdint.h>

#include "guest_x86_io.h"
#include "kdvm_channel.h"
#include "kdvm_options.h"
#include "kdvm_transport.h"

/* ---- Windows types (x64; the DDK headers are not used: they fight -Werror) ------------- */

typedef int32_t NTSTATUS;
typedef uint32_t KDSTATUS;
typedef uint8_t BOOLEAN;

typedef union {
	struct {
		uint32_t LowPart;
		int32_t HighPart;
	} u;
	int64_t QuadPart;
} LARGE_INTEGER;

typedef LARGE_INTEGER PHYSICAL_ADDRESS;

typedef struct {
	uint16_t Length;
	uint16_t MaximumLength;
	char *Buffer;
} STRING;

typedef struct {
	uint32_t KdpDefaultRetries;
	BOOLEAN KdpControlCPending;
} KD_CONTEXT;

_Static_assert(sizeof(STRING) == sizeof(struct kd_string64), "STRING");
_Static_assert(offsetof(STRING, Buffer) == offsetof(struct kd_string64, buffer), "STRING.Buffer");
_Static_assert(sizeof(KD_CONTEXT) == sizeof(struct kd_context_block), "KD_CONTEXT");
_Static_assert(offsetof(KD_CONTEXT, KdpControlCPending) ==
	       offsetof(struct kd_context_block, control_c_pending), "KD_CONTEXT.KdpControlCPending");

#define STATUS_SUCCESS                ((NTSTATUS)0x00000000)
#define STATUS_NO_SUCH_DEVICE         ((NTSTATUS)0xC000000E)
#define STATUS_INSUFFICIENT_RESOURCES ((NTSTATUS)0xC000009A)
#define STATUS_NOT_SUPPORTED          ((NTSTATUS)0xC00000BB)

/* ---- imports ----------------------------------------------------------------------- */

__declspec(dllimport) PHYSICAL_ADDRESS MmGetPhysicalAddress(void *BaseAddress);
__declspec(dllimport) LARGE_INTEGER KeQueryPerformanceCounter(LARGE_INTEGER *PerformanceFrequency);
__declspec(dllimport) extern BOOLEAN KdDebuggerNotPresent;

/* ---- exports (named in kdvm.def) ----------------------------------------------------- */

NTSTATUS KdDebuggerInitialize0(void *LoaderBlock);
NTSTATUS KdDebuggerInitialize1(void *LoaderBlock);
void KdSendPacket(uint32_t PacketType, STRING *MessageHeader, STRING *MessageData,
		  KD_CONTEXT *Context);
KDSTATUS KdReceivePacket(uint32_t PacketType, STRING *MessageHeader, STRING *MessageData,
			 uint32_t *DataLength, KD_CONTEXT *Context);
NTSTATUS KdD0Transition(void);
NTSTATUS KdD3Transition(void);
NTSTATUS KdSave(BOOLEAN SleepTransition);
NTSTATUS KdRestore(BOOLEAN SleepTransition);
NTSTATUS KdSetHiberRange(void *MemoryMap);

/* ---- state --------------------------------------------------------------------------- */

#define KDVM_DMA_BYTES (128u * 1024u)
_Static_assert(KDVM_DMA_BYTES / GUEST_PAGE_SIZE >= VSER_MEM_PAGES_NEEDED + 2u,
	       "region too small for the backend");

enum kdvm_dll_state {
	KDVM_DLL_NEW,     /* KdDebuggerInitialize0 not called yet */
	KDVM_DLL_READY,   /* device and port found */
	KDVM_DLL_ABSENT,  /* no device or port: every call is a cheap no-op */
};

static enum kdvm_dll_state kdvm_state;
static struct kdvm_channel kdvm_chan;
static struct kdvm_options kdvm_opts;
static struct guest_platform kdvm_plat;
static uint8_t kdvm_dma[KDVM_DMA_BYTES] __attribute__((aligned(4096)));

/* ---- platform ------------------------------------------------------------------------ */

static int virt_to_phys(void *ctx, const void *va, uint64_t *pa)
{
	PHYSICAL_ADDRESS p = MmGetPhysicalAddress((void *)(uintptr_t)va);

	(void)ctx;
	/* MmGetPhysicalAddress answers 0 for an address that is not mapped. */
	if (!p.QuadPart)
		return -1;
	*pa = (uint64_t)p.QuadPart;
	return 0;
}

static uint64_t clock_now(void *ctx)
{
	(void)ctx;
	return (uint64_t)KeQueryPerformanceCounter(NULL).QuadPart;
}

static void platform_setup(void)
{
	LARGE_INTEGER freq;

	freq.QuadPart = 0;
	KeQueryPerformanceCounter(&freq);
	kdvm_plat.ctx = NULL;
	guest_platform_use_x86_io(&kdvm_plat);
	kdvm_plat.virt_to_phys = virt_to_phys;
	kdvm_plat.now = clock_now;
	/* Early in boot the HAL may not have a counter yet: waits then count polls. */
	kdvm_plat.ticks_per_sec = freq.QuadPart > 0 ? (uint64_t)freq.QuadPart : 0;
	kdvm_plat.clock_every = 0;
}

/* ---- exports ------------------------------------------------------------------------- */

NTSTATUS KdDebuggerInitialize0(void *LoaderBlock)
{
	int err;

	if (kdvm_state == KDVM_DLL_READY)
		return STATUS_SUCCESS;
	kdvm_options_parse(kdvm_loader_options(LoaderBlock), &kdvm_opts);
	platform_setup();
	err = kdvm_channel_init(&kdvm_chan, &kdvm_plat, kdvm_dma, sizeof(kdvm_dma), NULL,
				(volatile uint8_t *)&KdDebuggerNotPresent);
	if (err) {
		kdvm_state = KDVM_DLL_ABSENT;
		KdDebuggerNotPresent = 1;
		/* The kernel boots on without a debugger. */
		return err == VSER_ERR_NO_MEMORY ? STATUS_INSUFFICIENT_RESOURCES
						 : STATUS_NO_SUCH_DEVICE;
	}
	kdvm_state = KDVM_DLL_READY;
	return STATUS_SUCCESS;
}

NTSTATUS KdDebuggerInitialize1(void *LoaderBlock)
{
	(void)LoaderBlock;
	return STATUS_SUCCESS;
}

static struct kd_string64 to_kd(const STRING *s)
{
	struct kd_string64 k;

	k.length = s->Length;
	k.maximum_length = s->MaximumLength;
	k.pad = 0;
	k.buffer = (uint64_t)(uintptr_t)s->Buffer;
	return k;
}

void KdSendPacket(uint32_t PacketType, STRING *MessageHeader, STRING *MessageData,
		  KD_CONTEXT *Context)
{
	struct kd_string64 hdr, data;
	struct kd_context_block ctx = { 0 };

	if (kdvm_state != KDVM_DLL_READY || !MessageHeader) {
		KdDebuggerNotPresent = 1;
		return;
	}
	hdr = to_kd(MessageHeader);
	if (MessageData)
		data = to_kd(MessageData);
	if (Context) {
		ctx.retry_count = Context->KdpDefaultRetries;
		ctx.control_c_pending = Context->KdpControlCPending;
	}
	kdvm_send_packet(&kdvm_chan, PacketType, &hdr, MessageData ? &data : NULL, &ctx);
}

KDSTATUS KdReceivePacket(uint32_t PacketType, STRING *MessageHeader, STRING *MessageData,
			 uint32_t *DataLength, KD_CONTEXT *Context)
{
	struct kd_string64 hdr, data;
	struct kd_context_block ctx = { 0 };
	KDSTATUS st;

	if (kdvm_state != KDVM_DLL_READY)
		return KD_STATUS_TIMED_OUT;
	if (Context)
		ctx.control_c_pending = Context->KdpControlCPending;
	if (MessageHeader)
		hdr = to_kd(MessageHeader);
	if (MessageData)
		data = to_kd(MessageData);
	st = kdvm_receive_packet(&kdvm_chan, PacketType, MessageHeader ? &hdr : NULL,
				 MessageData ? &data : NULL, DataLength, Context ? &ctx : NULL);
	if (MessageHeader)
		MessageHeader->Length = hdr.length;
	if (MessageData)
		MessageData->Length = data.length;
	if (Context)
		Context->KdpControlCPending = ctx.control_c_pending;
	return st;
}

NTSTATUS KdD0Transition(void)
{
	return STATUS_SUCCESS;
}

NTSTATUS KdD3Transition(void)
{
	return STATUS_SUCCESS;
}

NTSTATUS KdSave(BOOLEAN SleepTransition)
{
	(void)SleepTransition;
	return STATUS_SUCCESS;
}

NTSTATUS KdRestore(BOOLEAN SleepTransition)
{
	(void)SleepTransition;
	return STATUS_SUCCESS;
}

/* As kdcom: the debugger has no pages to keep out of the hibernation file. */
NTSTATUS KdSetHiberRange(void *MemoryMap)
{
	(void)MemoryMap;
	return STATUS_NOT_SUPPORTED;
}
