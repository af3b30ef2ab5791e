/* SPDX-License-Identifier: MIT */
/*
 * vm_main.c - a bare-metal smoke test of the guest transport against real QEMU: the same
 * channel core and virtio-serial backend kdvm.dll uses, compiled for a 32-bit multiboot
 * kernel (paging off, so virtual = physical). guest/tests/vm/vser-smoke.py plays the relay
 * on the port's unix socket and checks what this kernel prints on COM1.
 *
 * Script (the peer does the other half):
 *   init -> wait for the relay's HELLO_ACK -> send STATE_CHANGE -> receive a manipulate
 *   request -> poll until the break-in (a STATS_REQUEST rides along) -> receive a burst of
 *   24 full packets (the 8-buffer RX ring runs dry: kicks) -> send 24 full packets ->
 *   print counters -> exit through isa-debug-exit.
 */
#include <stddef.h>
#include <stdint.h>

#include "guest_x86_io.h"
#include "kdvm_channel.h"
#include "smoke.h"

#define BURST      24

uint64_t __udivdi3(uint64_t n, uint64_t d);
uint64_t __umoddi3(uint64_t n, uint64_t d);
uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem);
int64_t __divdi3(int64_t n, int64_t d);
void vm_main(void);

static struct kdvm_channel ch;
static uint8_t region[40 * 4096] __attribute__((aligned(4096)));
static uint8_t kd[KD_MAX_PAYLOAD], hdr[0x38], data[KD_MAX_PAYLOAD];
static volatile uint8_t not_present;
static struct guest_platform plat;

/* ---- 64-bit division for i386 without libgcc ----------------------------------------- */

static uint64_t divmod(uint64_t n, uint64_t d, uint64_t *rem)
{
	uint64_t q = 0, r = 0;

	for (int i = 63; i >= 0; i--) {
		r = (r << 1) | ((n >> i) & 1u);
		if (r >= d) {
			r -= d;
			q |= (uint64_t)1 << i;
		}
	}
	*rem = r;
	return q;
}

uint64_t __udivdi3(uint64_t n, uint64_t d)
{
	uint64_t r;

	return divmod(n, d, &r);
}

uint64_t __umoddi3(uint64_t n, uint64_t d)
{
	uint64_t r;

	divmod(n, d, &r);
	return r;
}

uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem)
{
	uint64_t r, q = divmod(n, d, &r);

	if (rem)
		*rem = r;
	return q;
}

int64_t __divdi3(int64_t n, int64_t d)
{
	uint64_t r, q = divmod(n < 0 ? -(uint64_t)n : (uint64_t)n,
			       d < 0 ? -(uint64_t)d : (uint64_t)d, &r);

	return (n < 0) != (d < 0) ? -(int64_t)q : (int64_t)q;
}

/* ---- platform ------------------------------------------------------------------------ */

const char smoke_name[] = "vm";

static int p_v2p(void *c, const void *va, uint64_t *pa)
{
	(void)c;
	*pa = (uint64_t)(uintptr_t)va;
	return 0;
}

static uint64_t p_now(void *c)
{
	(void)c;
	return smoke_rdtsc();
}

/* ---- the script ---------------------------------------------------------------------- */

static int pattern_ok(const uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)(seed + i * 7u))
			return 0;
	return 1;
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7u);
}

static enum kdvm_recv_result receive(uint16_t type, size_t *hl, size_t *dl)
{
	enum kdvm_recv_result r = KDVM_RECV_TIMEOUT;

	for (int tries = 0; tries < 50 && r == KDVM_RECV_TIMEOUT; tries++)
		r = kdvm_channel_receive_kd(&ch, type, hdr, sizeof(hdr), hl, data, sizeof(data), dl);
	return r;
}

void vm_main(void)
{
	struct kdvm_channel_config cfg = { .receive_timeout_ms = 100 };
	struct vmkd_guest_stats s;
	size_t hl, dl;
	uint64_t t0;
	int err, brk = 0;

	smoke_line("start\n");
	guest_platform_use_x86_io(&plat);
	plat.virt_to_phys = p_v2p;
	plat.now = p_now;
	plat.ticks_per_sec = smoke_tsc_10ms() * 100u;
	t0 = smoke_rdtsc();
	err = kdvm_channel_init(&ch, &plat, region, sizeof(region), &cfg, &not_present);
	smoke_line("init");
	smoke_kv("err", (uint64_t)(-err));
	smoke_kv("port", ch.vser.port_id);
	smoke_kv("iobase", ch.vser.iobase);
	smoke_kv("host_open", (uint64_t)vser_host_open(&ch.vser));
	smoke_kv("link", ch.link);
	smoke_kv("us", (smoke_rdtsc() - t0) * 1000000u / plat.ticks_per_sec);
	smoke_puts("\n");
	smoke_expect(err == 0, "init");

	/* The relay may connect after the handshake: polls notice it and say HELLO. */
	t0 = smoke_rdtsc();
	while (!kdvm_channel_debugger_present(&ch) && smoke_rdtsc() - t0 < 20 * plat.ticks_per_sec)
		kdvm_channel_poll_breakin(&ch);
	smoke_line("relay");
	smoke_kv("after_ms", (smoke_rdtsc() - t0) * 1000u / plat.ticks_per_sec);
	smoke_kv("hellos", ch.stats.hellos);
	smoke_puts("\n");
	smoke_expect(kdvm_channel_debugger_present(&ch), "relay up, debugger attached");
	smoke_expect(not_present == 0, "KdDebuggerNotPresent cleared");

	fill(kd, 0xF0, 0x10);
	fill(data, 100, 0x20);
	smoke_expect(kdvm_channel_send_kd(&ch, 7, kd, 0xF0, data, 100) == KDVM_SENT, "send state change");
	smoke_expect(receive(2, &hl, &dl) == KDVM_RECV_OK, "receive request");
	smoke_expect(hl == 0x38 && dl == 1000 && pattern_ok(hdr, hl, 0x30) &&
	       pattern_ok(data, dl, (uint8_t)(0x30 + 0x38 * 7)), "request contents");

	t0 = smoke_rdtsc();
	while (!brk && smoke_rdtsc() - t0 < 20 * plat.ticks_per_sec)
		brk = kdvm_channel_poll_breakin(&ch);
	smoke_expect(brk, "break-in");

	for (int k = 0; k < BURST; k++) {
		int ok = receive(2, &hl, &dl) == KDVM_RECV_OK && hl == 0x38 &&
			 dl == KD_MAX_PAYLOAD - 0x38 && hdr[0] == (uint8_t)k &&
			 data[dl - 1] == (uint8_t)k;

		if (!ok) {
			smoke_line("burst packet");
			smoke_kv("k", (uint64_t)k);
			smoke_puts("\n");
			smoke_expect(0, "burst receive");
		}
	}
	smoke_expect(1, "burst of full packets received");
	for (int k = 0; k < BURST; k++) {
		for (size_t i = 0; i < KD_MAX_PAYLOAD; i++)
			kd[i] = (uint8_t)(k + i);
		if (kdvm_channel_send_kd(&ch, 3, kd, 0x10, kd + 0x10, KD_MAX_PAYLOAD - 0x10) !=
		    KDVM_SENT)
			smoke_expect(0, "burst send");
	}
	smoke_expect(1, "burst of full packets sent");
	/* The relay asks for the final numbers, then breaks in. */
	brk = 0;
	t0 = smoke_rdtsc();
	while (!brk && smoke_rdtsc() - t0 < 20 * plat.ticks_per_sec)
		brk = kdvm_channel_poll_breakin(&ch);

	kdvm_channel_guest_stats(&ch, &s);
	smoke_line("stats");
	smoke_kv("sent", s.packets_sent);
	smoke_kv("received", s.packets_received);
	smoke_kv("notifies", s.notifications);
	smoke_kv("io", s.port_io_total);
	smoke_kv("io_polling", s.port_io_while_polling);
	smoke_kv("rx_kicks", ch.vser.stats.rx_kicks);
	smoke_kv("polls", s.polls);
	smoke_kv("rejected", s.frames_rejected);
	smoke_kv("tx_timeouts", ch.stats.tx_timeouts);
	smoke_kv("bad_used", ch.vser.stats.bad_used);
	smoke_kv("ctrl_in", ch.vser.stats.ctrl_in);
	smoke_puts("\n");
	smoke_expect(s.port_io_while_polling == ch.vser.stats.rx_kicks - 1, "polling I/O = RX kicks only");
	smoke_expect(ch.vser.stats.bad_used == 0 && s.frames_rejected == 0, "no protocol errors");
	/* Sends are pipelined: the STATS answer may still be in flight. Power the transport
	 * down as Windows does before it shuts down, which lets it leave first. */
	kdvm_channel_power_down(&ch);
	smoke_finish(0);
}
