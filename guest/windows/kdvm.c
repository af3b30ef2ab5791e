/* SPDX-License-Identifier: MIT */
/*
 * kdvm.c - kdvm.dll, the KD transport DLL: the ten exports Windows (or the vmkd test
 * kernel) calls instead of kdcom.dll's, on top of the channel core and the legacy
 * virtio-serial backend (or, with VMKDDEV=IVSHMEM, the ivshmem-doorbell backend, set up in
 * phase 1).
 *
 * Imports (keep this list in step with guest/README.md and docs/windows.md; the test
 * kernel's PE loader provides exactly these):
 *   ntoskrnl.exe  MmGetPhysicalAddress (phase 0 only), KdDebuggerNotPresent (data),
 *                 MmMapIoSpace (phase 1 only, with VMKDDEV=IVSHMEM: the ivshmem BARs)
 *   HAL.dll       KeQueryPerformanceCounter (phase 1 only: calibrates the TSC)
 * After KdDebuggerInitialize1 no import is ever called: a bug check, the clock interrupt at
 * high IRQL and a power transition find the transport running on its own memory, the TSC
 * and port I/O alone (docs/windows.md, "Boot phases" and "Crash path").
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
/* Only with VMKDDEV=IVSHMEM, and only in KdDebuggerInitialize1 (docs/windows.md 6). */
__declspec(dllimport) void *MmMapIoSpace(PHYSICAL_ADDRESS PhysicalAddress, size_t NumberOfBytes,
					 int CacheType);
#define MM_NON_CACHED 0 /* MEMORY_CACHING_TYPE MmNonCached */

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
NTSTATUS KdPower(void *Arg1, void *Arg2);

/* ---- state --------------------------------------------------------------------------- */

#define KDVM_DMA_BYTES (128u * 1024u)
_Static_assert(KDVM_DMA_BYTES / GUEST_PAGE_SIZE >= VSER_MEM_PAGES_NEEDED + 2u,
	       "region too small for the backend");

enum kdvm_dll_state {
	KDVM_DLL_NEW,     /* KdDebuggerInitialize0 not called yet */
	KDVM_DLL_READY,   /* device and port found */
	KDVM_DLL_ABSENT,  /* no device or port: every call is a cheap no-op */
	KDVM_DLL_PHASE1,  /* VMKDDEV=IVSHMEM: the device is mapped and set up in phase 1 */
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

/* Device memory for the ivshmem backend; called from KdDebuggerInitialize1 only, where Mm
 * is up. Never unmapped: the debugger keeps the device for the life of the system. */
static void *map_io(void *ctx, uint64_t pa, size_t len)
{
	PHYSICAL_ADDRESS p;

	(void)ctx;
	p.QuadPart = (int64_t)pa;
	return MmMapIoSpace(p, len, MM_NON_CACHED);
}

/* The TSC: readable at any IRQL, in any phase, after a bug check, with no import. */
static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(0));
}

static uint64_t clock_now(void *ctx)
{
	(void)ctx;
	return rdtsc();
}

/* Phase 0 runs before HalInitSystem: the HAL's counter is not set up, so the TSC rate is
 * taken from CPUID (the hypervisor leaf 0x40000010, TSC kHz, that KVM and VMware fill in;
 * else leaf 0x16, base MHz) or assumed. A guess too high only lengthens the bounded waits
 * of phase 0; KdDebuggerInitialize1 replaces it with a measured rate. */
#define TSC_GUESS_HZ 3000000000ull

static uint64_t tsc_hz_from_cpuid(void)
{
	uint32_t r[4];

	cpuid(0x40000000u, r);
	if (r[0] >= 0x40000010u && r[0] < 0x40000100u) {
		cpuid(0x40000010u, r);
		if (r[0])
			return (uint64_t)r[0] * 1000u;
	}
	cpuid(0, r);
	if (r[0] >= 0x16u && r[0] < 0x100u) {
		cpuid(0x16u, r);
		if (r[0] & 0xFFFFu)
			return (uint64_t)(r[0] & 0xFFFFu) * 1000000u;
	}
	return TSC_GUESS_HZ;
}

/* Phase 1: the HAL's counter is good now. Measures the TSC against it over about 2 ms,
 * bounded by a read count should the counter not move. */
#define CALIBRATE_MAX_READS 1000000u

static uint64_t tsc_hz_calibrated(uint64_t fallback)
{
	LARGE_INTEGER freq, q0, q1;
	uint64_t t0, t1, span;

	freq.QuadPart = 0;
	q0 = KeQueryPerformanceCounter(&freq);
	if (freq.QuadPart <= 0)
		return fallback;
	span = (uint64_t)freq.QuadPart / 500u + 1u;
	t0 = rdtsc();
	q1 = q0;
	for (uint32_t i = 0;
	     i < CALIBRATE_MAX_READS && (uint64_t)(q1.QuadPart - q0.QuadPart) < span; i++)
		q1 = KeQueryPerformanceCounter(NULL);
	t1 = rdtsc();
	if (q1.QuadPart <= q0.QuadPart || t1 <= t0)
		return fallback;
	/* (t1 - t0) * freq fits 64 bits for spans of milliseconds at GHz rates. */
	return (t1 - t0) * (uint64_t)freq.QuadPart / (uint64_t)(q1.QuadPart - q0.QuadPart);
}

static void platform_setup(void)
{
	kdvm_plat.ctx = NULL;
	guest_platform_use_x86_io(&kdvm_plat);
	kdvm_plat.virt_to_phys = virt_to_phys;
	kdvm_plat.now = clock_now;
	kdvm_plat.ticks_per_sec = tsc_hz_from_cpuid();
	kdvm_plat.clock_every = 0;
}

/* ---- exports ------------------------------------------------------------------------- */

NTSTATUS KdDebuggerInitialize0(void *LoaderBlock)
{
	struct kdvm_channel_config cfg = { 0 };
	int err;

	if (kdvm_state == KDVM_DLL_READY) {
		/* Called again: on resume from hibernation and when the debugger is enabled
		 * again (KdInitSystem(0, NULL)). The device may have been reset or moved in
		 * between: checked, and set up again if so, with what phase 0 prepared and no
		 * imports. Not forced: KdRestore(TRUE) may just have set it up. */
		kdvm_channel_check_device(&kdvm_chan, 0);
		return STATUS_SUCCESS;
	}
	/* Options from a loader block of a known layout (docs/windows.md 3), else defaults. */
	kdvm_options_parse(kdvm_loader_options(LoaderBlock, NULL), &kdvm_opts);
	cfg.port_name = kdvm_opts.have_port ? kdvm_opts.port_name : NULL;
	platform_setup();
	if (kdvm_opts.device == KDVM_OPT_DEV_IVSHMEM) {
		/* No mapping of device memory before Mm: the channel starts in phase 1 and
		 * the kernel runs without a debugger until then. */
		kdvm_state = KDVM_DLL_PHASE1;
		KdDebuggerNotPresent = 1;
		return STATUS_SUCCESS;
	}
	cfg.device = KDVM_DEVICE_VIRTIO;
	err = kdvm_channel_init(&kdvm_chan, &kdvm_plat, kdvm_dma, sizeof(kdvm_dma), &cfg,
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

/* Phase 1 of the ivshmem backend: map the BARs (MmMapIoSpace works now), set it up. */
static NTSTATUS start_ivshmem(void)
{
	struct kdvm_channel_config cfg = { 0 };

	cfg.device = KDVM_DEVICE_IVSHMEM;
	kdvm_plat.map_io = map_io;
	if (kdvm_channel_init(&kdvm_chan, &kdvm_plat, kdvm_dma, sizeof(kdvm_dma), &cfg,
			      (volatile uint8_t *)&KdDebuggerNotPresent)) {
		kdvm_state = KDVM_DLL_ABSENT;
		KdDebuggerNotPresent = 1;
		return STATUS_NO_SUCH_DEVICE;
	}
	kdvm_state = KDVM_DLL_READY;
	return STATUS_SUCCESS;
}

NTSTATUS KdDebuggerInitialize1(void *LoaderBlock)
{
	(void)LoaderBlock;
	if (kdvm_state == KDVM_DLL_PHASE1) {
		kdvm_plat.ticks_per_sec = tsc_hz_calibrated(kdvm_plat.ticks_per_sec);
		return start_ivshmem();
	}
	if (kdvm_state == KDVM_DLL_READY)
		kdvm_plat.ticks_per_sec = tsc_hz_calibrated(kdvm_plat.ticks_per_sec);
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
	const void *d = MessageData ? MessageData->Buffer : NULL;

	/* Straight to the channel (every DbgPrint comes here): the context says nothing a
	 * send needs, as resends are the relay's business. */
	(void)Context;
	if (kdvm_state != KDVM_DLL_READY || !MessageHeader) {
		KdDebuggerNotPresent = 1;
		return;
	}
	if (PacketType >= KD_PACKET_TYPE_MAX || PacketType == KD_PACKET_TYPE_POLL_BREAKIN) {
		kdvm_chan.stats.send_dropped++;
		return;
	}
	kdvm_channel_send_kd(&kdvm_chan, (uint16_t)PacketType, MessageHeader->Buffer,
			     MessageHeader->Buffer ? MessageHeader->Length : 0, d,
			     d ? MessageData->Length : 0);
}

KDSTATUS KdReceivePacket(uint32_t PacketType, STRING *MessageHeader, STRING *MessageData,
			 uint32_t *DataLength, KD_CONTEXT *Context)
{
	struct kd_string64 hdr, data;
	struct kd_context_block ctx = { 0 };
	KDSTATUS st;

	if (kdvm_state != KDVM_DLL_READY)
		return KD_STATUS_TIMED_OUT;
	if (PacketType == KD_PACKET_TYPE_POLL_BREAKIN) {
		/* The clock interrupt's call (and the one after every DbgPrint): nothing to
		 * convert, as kdvm_receive_packet would answer it. */
		if (kdvm_channel_poll_breakin(&kdvm_chan) || (Context && Context->KdpControlCPending))
			return KD_STATUS_PACKET_RECEIVED;
		return KD_STATUS_TIMED_OUT;
	}
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

/*
 * Power. KdD3Transition comes before the machine sleeps or hibernates, KdD0Transition
 * after it is back (docs/windows.md, "Power transitions"). Going down, the device is
 * reset, so it writes nothing into memory the hibernation image is being made from and
 * leaves no half-used rings; coming back (firmware has reset it anyway), it is set up
 * again and HELLO tells the relay to take the stream up. A packet sent in between (a bug
 * check during the transition) finds the device reset and sets it up on its own.
 */
static void power_down(void)
{
	if (kdvm_state == KDVM_DLL_READY)
		kdvm_channel_power_down(&kdvm_chan);
}

static void power_up(void)
{
	if (kdvm_state == KDVM_DLL_READY)
		kdvm_channel_check_device(&kdvm_chan, 1);
}

NTSTATUS KdD0Transition(void)
{
	power_up();
	return STATUS_SUCCESS;
}

NTSTATUS KdD3Transition(void)
{
	power_down();
	return STATUS_SUCCESS;
}

/* FALSE: every entry into and exit from the debugger (the device is checked by the packet
 * calls); on exit, with a relay that keeps DbgPrints, KdDebuggerNotPresent is cleared again
 * after a state change found no debugger (docs/windows.md, "DbgPrint with no debugger").
 * TRUE: around a sleep transition, as D3/D0. */
NTSTATUS KdSave(BOOLEAN SleepTransition)
{
	if (SleepTransition)
		power_down();
	return STATUS_SUCCESS;
}

NTSTATUS KdRestore(BOOLEAN SleepTransition)
{
	if (SleepTransition)
		power_up();
	else if (kdvm_state == KDVM_DLL_READY)
		kdvm_channel_debugger_exit(&kdvm_chan);
	return STATUS_SUCCESS;
}

/* Newer kernels import KdPower from the transport as well (VirtualKD-Redux exports it for
 * that reason); its arguments are not public. As kdcom-like transports do, decline: the
 * D0/D3 calls and the device check on every packet cover the power cycle. */
NTSTATUS KdPower(void *Arg1, void *Arg2)
{
	(void)Arg1;
	(void)Arg2;
	return STATUS_NOT_SUPPORTED;
}

/* As kdcom: the debugger has no pages to keep out of the hibernation file. */
NTSTATUS KdSetHiberRange(void *MemoryMap)
{
	(void)MemoryMap;
	return STATUS_NOT_SUPPORTED;
}
