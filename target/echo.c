/* SPDX-License-Identifier: MIT */
/*
 * echo.c - workload=echo: the raw channel floor for the benchmark. Runs kdvm.dll's channel
 * core (guest/, compiled into the kernel) directly, with no KD on top: every KD_PACKET frame
 * from the host comes back unchanged; an empty one ends the workload. The host side is
 * `vmkd bench --echo` on QEMU's chardev socket (host/bench/bench_echo.h).
 */
#include <stdbool.h>
#include <stdint.h>

#include "echo.h"
#include "guest_x86_io.h"
#include "kdvm_channel.h"
#include "platform.h"

#define ECHO_DMA_BYTES (128u * 1024u)

static struct {
	struct kdvm_channel ch;
	struct guest_platform plat;
	uint8_t hdr[KD_MAX_PAYLOAD];
	uint8_t dma[ECHO_DMA_BYTES] __attribute__((aligned(4096)));
} echo;

static int e_virt_to_phys(void *ctx, const void *va, uint64_t *pa)
{
	(void)ctx;
	return paging_translate((uint64_t)(uintptr_t)va, pa, NULL) == PAGING_OK ? 0 : -1;
}

static uint64_t e_now(void *ctx)
{
	(void)ctx;
	return rdtsc();
}

void workload_echo(void)
{
	uint64_t echoed = 0;
	int err;

	echo.plat = (struct guest_platform){
		.virt_to_phys = e_virt_to_phys, .now = e_now, .ticks_per_sec = tsc_hz(),
	};
	guest_platform_use_x86_io(&echo.plat);
	err = kdvm_channel_init(&echo.ch, &echo.plat, echo.dma, sizeof(echo.dma), NULL, NULL);
	if (err) {
		kprintf("vmkd-target: echo: no virtio-serial port org.vmkd.0 (error %d)\n", err);
		return;
	}
	kprintf("vmkd-target: echo: channel up, echoing KD packets until an empty one\n");
	for (;;) {
		size_t len = 0, none = 0;
		enum kdvm_recv_result r;

		r = kdvm_channel_receive_kd(&echo.ch, KD_PACKET_TYPE_STATE_MANIPULATE, echo.hdr,
					    sizeof(echo.hdr), &len, NULL, 0, &none);
		if (r != KDVM_RECV_OK)
			continue;
		if (len == 0)
			break;
		while (kdvm_channel_send_kd(&echo.ch, KD_PACKET_TYPE_STATE_MANIPULATE, echo.hdr, len,
					    NULL, 0) == KDVM_SEND_BUSY)
			;
		echoed++;
	}
	kprintf("vmkd-target: echo: %lu packets echoed, %lu polls\n", echoed,
		echo.ch.stats.polls);
}
