/* SPDX-License-Identifier: MIT */
/*
 * ivs_main.c - a bare-metal smoke test of the ivshmem backend against real QEMU
 * (ivshmem-doorbell) and the real relay as its ivshmem server: guest/ivshmem.c and the
 * shared-memory rings compiled into a 32-bit multiboot kernel (paging off, so a BAR's
 * physical address is its virtual address). tests/integration/ivshmem-smoke.sh runs it and
 * checks the relay's log and DbgPrint log.
 *
 * Script: init -> HELLO, wait for HELLO_ACK -> IVS_PRINTS DbgPrints "ivs line N" (several
 * times the ring: the guest waits for room, the relay is woken by the doorbell) -> wait for
 * the relay's STATS_REQUEST (the script sends the relay SIGUSR1) -> answer STATS -> exit
 * through isa-debug-exit. Only 32-bit arithmetic: no libgcc.
 */
#include <stddef.h>
#include <stdint.h>

#include "guest_x86_io.h"
#include "ivshmem.h"
#include "smoke.h"
#include "vmkd/vmkd_frame_parser.h"

#define IVS_PRINTS  2000u
#define WAIT_SEC    60u

void vm_main(void);

static struct ivs ivs;
static struct guest_platform plat;
static struct vmkd_frame_parser parser;
static uint8_t frame[VMKD_FRAME_MAX_BYTES];
static uint32_t seq;
static uint32_t tsc_per_ms;

/* ---- clock, platform ----------------------------------------------------------------- */

const char smoke_name[] = "ivs";

static uint32_t rdtsc_lo_ms(void)
{
	uint64_t t = smoke_rdtsc();

	/* milliseconds by repeated subtraction would be slow: shift into range instead */
	return (uint32_t)(t >> 10); /* units of 1024 ticks; compared against tsc_per_ms >> 10 */
}

/* Deadline in 1024-tick units. */
static uint32_t deadline_in(uint32_t sec)
{
	uint32_t per_ms = tsc_per_ms >> 10 ? tsc_per_ms >> 10 : 1u;

	return rdtsc_lo_ms() + sec * 1000u * per_ms;
}

static int expired(uint32_t deadline)
{
	return (int32_t)(rdtsc_lo_ms() - deadline) > 0;
}

/* Paging is off: device memory is where the BAR says, below 4 GiB. */
static void *p_map_io(void *c, uint64_t pa, size_t len)
{
	(void)c;
	if (pa + len > 0xFFFFFFFFull)
		return NULL;
	return (void *)(uintptr_t)pa;
}

/* ---- frames -------------------------------------------------------------------------- */

static int send(uint8_t type, const void *a, size_t alen, const void *b, size_t blen)
{
	size_t n = vmkd_frame_build(frame, sizeof(frame), type, seq, a, alen, b, blen);
	uint32_t d = deadline_in(WAIT_SEC);

	if (!n)
		return -1;
	/* A full ring waits for the relay: it drains on the doorbell. */
	while (ivs_send(&ivs, frame, n))
		if (expired(d))
			return -1;
	seq++;
	return 0;
}

/* The next host frame of this type (others are skipped), or 0 on timeout. */
static int wait_frame(uint8_t type, struct vmkd_frame *f)
{
	uint32_t d = deadline_in(WAIT_SEC);
	uint8_t b;

	while (!expired(d)) {
		if (!ivs_recv(&ivs, &b, 1))
			continue;
		vmkd_frame_parser_feed(&parser, &b, 1, f);
		if (f->complete && f->hdr.type == type)
			return 1;
	}
	return 0;
}

static size_t fmt_line(char *out, uint32_t n)
{
	static const char pre[] = "ivs line ";
	char num[12];
	size_t len = 0;
	int i = 11;

	for (; pre[len]; len++)
		out[len] = pre[len];
	num[i] = 0;
	do {
		num[--i] = (char)('0' + n % 10u);
		n /= 10u;
	} while (n);
	while (num[i])
		out[len++] = num[i++];
	out[len++] = '\n';
	return len;
}

void vm_main(void)
{
	struct vmkd_hello hello = { .capabilities = VMKD_CAP_KD_PACKETS | VMKD_CAP_STATS,
				    .max_payload = VMKD_FRAME_MAX_PAYLOAD };
	static const char agent[] = "ivshmem smoke";
	struct vmkd_guest_stats st;
	struct vmkd_frame f;
	int err;

	smoke_line("start\n");
	guest_platform_use_x86_io(&plat);
	plat.map_io = p_map_io;
	tsc_per_ms = (uint32_t)smoke_tsc_10ms() / 10u;
	vmkd_frame_parser_init(&parser);
	err = ivs_init(&ivs, &plat);
	smoke_line("init");
	smoke_kv("err", (uint32_t)-err);
	smoke_kv("bus", ivs.pci.bus);
	smoke_kv("dev", ivs.pci.dev);
	smoke_puts(" bar0=");
	smoke_put_hex((uint32_t)ivs.bar0);
	smoke_puts(" bar2=");
	smoke_put_hex((uint32_t)ivs.bar2);
	smoke_kv("bar2_kib", (uint32_t)(ivs.bar2_len >> 10));
	smoke_kv("ring_kib", ivs.layout.ring_size >> 10);
	smoke_kv("position", ivs.position);
	smoke_kv("doorbell", ivs.doorbell);
	smoke_puts("\n");
	smoke_expect(err == IVS_OK, "init");

	for (size_t i = 0; i < sizeof(agent); i++)
		hello.agent[i] = agent[i];
	smoke_expect(!send(VMKD_FRAME_HELLO, &hello, sizeof(hello), NULL, 0), "HELLO sent");
	smoke_expect(wait_frame(VMKD_FRAME_HELLO_ACK, &f), "HELLO_ACK received");

	for (uint32_t n = 0; n < IVS_PRINTS; n++) {
		struct vmkd_kd_packet kp = { .packet_type = KD_PACKET_TYPE_DEBUG_IO };
		struct {
			struct kd_debug_io io;
			char text[32];
		} p = { .io = { .api_number = KD_API_PRINT_STRING } };
		size_t len = fmt_line(p.text, n);

		p.io.length_of_string = (uint32_t)len;
		kp.length = (uint32_t)(sizeof(p.io) + len);
		if (send(VMKD_FRAME_KD_PACKET, &kp, sizeof(kp), &p, sizeof(p.io) + len))
			smoke_expect(0, "DbgPrint sent");
	}
	smoke_line("prints sent");
	smoke_kv("n", IVS_PRINTS);
	smoke_kv("doorbells", (uint32_t)ivs.stats.doorbells);
	smoke_kv("ring_full", (uint32_t)ivs.stats.tx_full);
	smoke_puts("\n");

	smoke_expect(wait_frame(VMKD_FRAME_STATS_REQUEST, &f), "STATS_REQUEST received");
	for (size_t i = 0; i < sizeof(st); i++)
		((uint8_t *)&st)[i] = 0;
	st.packets_sent = IVS_PRINTS;
	st.notifications = ivs.stats.doorbells + 1;
	st.port_io_total = ivs.io.total;
	st.port_io_while_polling = 0;
	st.frames_rejected = parser.stats.bad_version + parser.stats.bad_length +
			     parser.stats.bad_type;
	smoke_expect(!send(VMKD_FRAME_STATS, &st, sizeof(st), NULL, 0), "STATS sent");
	smoke_line("data path port I/O");
	smoke_kv("config_io", (uint32_t)ivs.io.total);
	smoke_puts("\n");
	smoke_finish(0);
}
