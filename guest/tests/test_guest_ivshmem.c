/* SPDX-License-Identifier: MIT */
/*
 * The guest's ivshmem backend (guest/ivshmem.c) against a fake ivshmem-doorbell: PCI config
 * space through 0xCF8/0xCFC (with BAR sizing), BAR0 registers and BAR2 memory the relay
 * formatted, mapped through the platform's map_io.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ivshmem.h"
#include "kdvm_channel.h"
#include "vmkd/vmkd_frame_parser.h"

#define BAR0_PA   0xfebf1000u
#define BAR2_PA   0xfe800000ull
#define SHM_SIZE  VMKD_SHM_SIZE_DEFAULT

struct fake {
	int present;
	uint32_t addr;            /* CF8 latch */
	uint16_t command;
	uint32_t bar[6];
	uint32_t bar_size[6];     /* 0: unimplemented */
	uint32_t regs[IVS_REGS_SIZE / 4];
	uint8_t *shm;
	int map_fails;
	uint64_t mapped_pa[4];
	size_t mapped_len[4];
	int nmapped;
	uint64_t cfg_io;
};

static int cfg_hit(struct fake *f)
{
	/* enabled, bus 0, device 3, function 0 */
	return f->present && (f->addr & 0x80000000u) && ((f->addr >> 8) & 0xFFFFu) == (3u << 3);
}

static uint32_t cfg_read(struct fake *f, uint8_t off)
{
	if (!cfg_hit(f))
		return 0xFFFFFFFFu;
	switch (off) {
	case 0x00: return (VMKD_IVSHMEM_DEVICE << 16) | VMKD_IVSHMEM_VENDOR;
	case 0x04: return f->command;
	case 0x08: return 0x05000001u; /* class: memory controller, RAM */
	case 0x0C: return 0;           /* header type 0 */
	default:
		if (off >= 0x10 && off < 0x28)
			return f->bar[(off - 0x10) / 4];
		return 0;
	}
}

static void cfg_write(struct fake *f, uint8_t off, uint32_t v, int size)
{
	if (!cfg_hit(f))
		return;
	if (off == 0x04) {
		f->command = (uint16_t)v;
		return;
	}
	if (off >= 0x10 && off < 0x28 && size == 4) {
		int i = (off - 0x10) / 4;

		if (i == 3) { /* high half of 64-bit BAR2: 256 KiB never reaches it */
			f->bar[3] = v == 0xFFFFFFFFu ? 0xFFFFFFFFu : v;
			return;
		}
		if (!f->bar_size[i])
			return;
		f->bar[i] = (v & ~(f->bar_size[i] - 1u) & 0xFFFFFFF0u) | (f->bar[i] & 0xFu);
	}
}

static uint32_t p_inl(void *c, uint16_t port)
{
	struct fake *f = c;

	f->cfg_io++;
	return port == 0xCFC ? cfg_read(f, (uint8_t)(f->addr & 0xFCu)) : 0xFFFFFFFFu;
}

static uint16_t p_inw(void *c, uint16_t port)
{
	struct fake *f = c;

	f->cfg_io++;
	if (port >= 0xCFC && port < 0xD00)
		return (uint16_t)(cfg_read(f, (uint8_t)(f->addr & 0xFCu)) >> (8 * (port - 0xCFC)));
	return 0xFFFF;
}

static uint8_t p_inb(void *c, uint16_t port)
{
	struct fake *f = c;

	f->cfg_io++;
	if (port >= 0xCFC && port < 0xD00)
		return (uint8_t)(cfg_read(f, (uint8_t)(f->addr & 0xFCu)) >> (8 * (port - 0xCFC)));
	return 0xFF;
}

static void p_outl(void *c, uint16_t port, uint32_t v)
{
	struct fake *f = c;

	f->cfg_io++;
	if (port == 0xCF8)
		f->addr = v;
	else if (port == 0xCFC)
		cfg_write(f, (uint8_t)(f->addr & 0xFCu), v, 4);
}

static void p_outw(void *c, uint16_t port, uint16_t v)
{
	struct fake *f = c;

	f->cfg_io++;
	if (port == 0xCFC && (f->addr & 0xFCu) == 0x04)
		cfg_write(f, 0x04, v, 2);
}

static void p_outb(void *c, uint16_t port, uint8_t v)
{
	(void)c;
	(void)port;
	(void)v;
}

static void *p_map(void *c, uint64_t pa, size_t len)
{
	struct fake *f = c;

	if (f->map_fails || f->nmapped == 4)
		return NULL;
	f->mapped_pa[f->nmapped] = pa;
	f->mapped_len[f->nmapped++] = len;
	if (pa == BAR0_PA && len <= sizeof(f->regs))
		return f->regs;
	if (pa == BAR2_PA && len <= SHM_SIZE)
		return f->shm;
	return NULL;
}

struct fx {
	struct fake f;
	struct guest_platform plat;
	struct ivs v;
	struct vmkd_shm_layout host_layout;
	struct vmkd_shmring host_rx, host_tx;  /* the relay's ends */
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->f.present = 1;
	fx->f.bar[0] = BAR0_PA;
	fx->f.bar_size[0] = 256;
	fx->f.bar[1] = 0xfebf2000u;
	fx->f.bar_size[1] = 4096;
	fx->f.bar[2] = (uint32_t)BAR2_PA | 0xCu; /* 64-bit prefetchable */
	fx->f.bar_size[2] = SHM_SIZE;
	fx->f.bar[3] = 0;
	fx->f.regs[VMKD_IVSHMEM_IVPOSITION / 4] = 1;
	fx->f.shm = calloc(1, SHM_SIZE);
	assert_non_null(fx->f.shm);
	assert_int_equal(vmkd_shm_format(fx->f.shm, SHM_SIZE, 0, 0, 1, &fx->host_layout),
			 VMKD_SHM_OK);
	vmkd_shmring_attach(&fx->host_rx, fx->f.shm, &fx->host_layout, 0, 0);
	vmkd_shmring_attach(&fx->host_tx, fx->f.shm, &fx->host_layout, 1, 1);
	fx->plat = (struct guest_platform){
		.ctx = &fx->f, .inb = p_inb, .inw = p_inw, .inl = p_inl,
		.outb = p_outb, .outw = p_outw, .outl = p_outl, .map_io = p_map,
	};
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	free(fx->f.shm);
	free(fx);
	return 0;
}

static void test_init(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(ivs_init(&fx->v, &fx->plat), IVS_OK);
	assert_int_equal(fx->v.bar0, BAR0_PA);
	assert_int_equal(fx->v.bar2, BAR2_PA);
	assert_int_equal(fx->v.bar2_len, SHM_SIZE);
	assert_int_equal(fx->v.position, 1);
	assert_int_equal(fx->v.doorbell, 0); /* peer 0, vector 0 */
	assert_true(fx->f.command & PCI_COMMAND_MEMORY);
	/* the BAR survived its sizing probe */
	assert_int_equal(fx->f.bar[2], (uint32_t)BAR2_PA | 0xCu);
	assert_int_equal(fx->f.nmapped, 2);
	assert_int_equal(fx->f.mapped_len[1], SHM_SIZE);
}

static void test_send_rings_doorbell(void **state)
{
	struct fx *fx = *state;
	uint8_t frame[64], got[64];
	uint64_t io;
	size_t n;

	assert_int_equal(ivs_init(&fx->v, &fx->plat), IVS_OK);
	n = vmkd_frame_build(frame, sizeof(frame), VMKD_FRAME_STATS_REQUEST, 5, NULL, 0, NULL, 0);
	fx->f.regs[VMKD_IVSHMEM_DOORBELL / 4] = 0xdeadbeef;
	io = fx->f.cfg_io;
	assert_int_equal(ivs_send(&fx->v, frame, n), 0);
	assert_int_equal(fx->f.regs[VMKD_IVSHMEM_DOORBELL / 4], 0);
	assert_int_equal(fx->f.cfg_io, io); /* no port I/O on the data path */
	assert_int_equal(fx->v.stats.doorbells, 1);
	assert_int_equal(vmkd_shmring_read(&fx->host_rx, got, sizeof(got)), n);
	assert_memory_equal(got, frame, n);
}

static void test_receive_without_port_io(void **state)
{
	struct fx *fx = *state;
	uint8_t got[16];
	uint64_t io;

	assert_int_equal(vmkd_shmring_write(&fx->host_tx, "stale", 5), 5);
	assert_int_equal(ivs_init(&fx->v, &fx->plat), IVS_OK);
	/* what the relay sent before this guest started is dropped */
	assert_int_equal(ivs_readable(&fx->v), 0);
	io = fx->f.cfg_io;
	assert_int_equal(ivs_recv(&fx->v, got, sizeof(got)), 0);
	assert_int_equal(vmkd_shmring_write(&fx->host_tx, "fresh", 5), 5);
	assert_int_equal(ivs_readable(&fx->v), 1);
	assert_int_equal(ivs_recv(&fx->v, got, sizeof(got)), 5);
	assert_memory_equal(got, "fresh", 5);
	assert_int_equal(fx->f.cfg_io, io);
}

static void test_full_ring(void **state)
{
	struct fx *fx = *state;
	static uint8_t big[VMKD_FRAME_MAX_BYTES];
	int sent = 0;

	assert_int_equal(ivs_init(&fx->v, &fx->plat), IVS_OK);
	while (!ivs_send(&fx->v, big, sizeof(big)))
		sent++;
	assert_int_equal(sent, fx->host_layout.ring_size / sizeof(big));
	assert_int_equal(fx->v.stats.tx_full, 1);
	assert_int_equal(fx->v.stats.doorbells, (uint64_t)sent);
}

static void test_errors(void **state)
{
	struct fx *fx = *state;

	fx->f.present = 0;
	assert_int_equal(ivs_init(&fx->v, &fx->plat), IVS_ERR_NO_DEVICE);
	fx->f.present = 1;
	fx->f.bar[2] = 0x1; /* an I/O BAR: not ours */
	assert_int_equal(ivs_init(&fx->v, &fx->plat), IVS_ERR_BAR);
	fx->f.bar[2] = (uint32_t)BAR2_PA | 0xCu;
	fx->plat.map_io = NULL;
	assert_int_equal(ivs_init(&fx->v, &fx->plat), IVS_ERR_NO_MAP);
	fx->plat.map_io = p_map;
	fx->f.map_fails = 1;
	assert_int_equal(ivs_init(&fx->v, &fx->plat), IVS_ERR_NO_MAP);
	fx->f.map_fails = 0;
	/* an ivshmem device whose server is not the relay */
	memset(fx->f.shm, 0, 64);
	assert_int_equal(ivs_init(&fx->v, &fx->plat), IVS_ERR_HEADER);
}

/* A header claiming more than the BAR holds is refused (sized from the device). */
static void test_header_bigger_than_bar(void **state)
{
	struct fx *fx = *state;
	struct vmkd_shm_header *h;

	h = (struct vmkd_shm_header *)fx->f.shm;
	h->total_size = SHM_SIZE * 4;
	assert_int_equal(ivs_init(&fx->v, &fx->plat), IVS_ERR_HEADER);
}

static void test_check(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(ivs_init(&fx->v, &fx->plat), IVS_OK);
	assert_int_equal(ivs_check(&fx->v), IVS_CHECK_OK);
	fx->f.command &= (uint16_t)~PCI_COMMAND_MEMORY;
	assert_int_equal(ivs_check(&fx->v), IVS_CHECK_REPAIRED);
	assert_true(fx->f.command & PCI_COMMAND_MEMORY);
	fx->f.bar[2] = 0xfd000000u | 0xCu;
	assert_int_equal(ivs_check(&fx->v), IVS_CHECK_LOST);
	fx->f.bar[2] = (uint32_t)BAR2_PA | 0xCu;
	((struct vmkd_shm_header *)fx->f.shm)->magic = 0;
	assert_int_equal(ivs_check(&fx->v), IVS_CHECK_LOST);
}

/* ---- the channel core over the ivshmem backend ------------------------------------------ */

/* The relay's side: frames into the host->guest ring. */
static void host_send(struct fx *fx, uint8_t type, const void *a, size_t alen, const void *b,
		      size_t blen)
{
	static uint32_t seq;
	uint8_t frame[VMKD_FRAME_MAX_BYTES];
	size_t n = vmkd_frame_build(frame, sizeof(frame), type, seq++, a, alen, b, blen);

	assert_true(n > 0);
	assert_int_equal(vmkd_shmring_write_all(&fx->host_tx, frame, n), 0);
}

/* The next guest frame from the guest->host ring, or 0. */
static int host_recv(struct fx *fx, struct vmkd_frame_parser *p, struct vmkd_frame *f)
{
	uint8_t b;

	while (vmkd_shmring_read(&fx->host_rx, &b, 1) == 1) {
		vmkd_frame_parser_feed(p, &b, 1, f);
		if (f->complete)
			return 1;
	}
	return 0;
}

static void test_channel_session(void **state)
{
	struct fx *fx = *state;
	static struct kdvm_channel ch;
	static uint8_t mem[1];
	struct kdvm_channel_config cfg = { .device = KDVM_DEVICE_IVSHMEM,
					   .hello_timeout_ms = 1, .receive_timeout_ms = 5 };
	struct vmkd_frame_parser p;
	struct vmkd_frame f;
	struct vmkd_hello ack;
	struct vmkd_kd_packet kp;
	struct vmkd_guest_stats gs;
	uint8_t hdr[16], data[64], kd[40];
	size_t hl, dl;
	const uint8_t *kdp;
	uint16_t kt;
	size_t kl;
	volatile uint8_t not_present = 0;

	vmkd_frame_parser_init(&p);
	assert_int_equal(kdvm_channel_init(&ch, &fx->plat, mem, sizeof(mem), &cfg, &not_present), 0);
	assert_ptr_equal(ch.be, &kdvm_backend_ivs);
	assert_int_equal(not_present, 1);
	/* the guest said HELLO through the ring and rang once */
	assert_true(host_recv(fx, &p, &f));
	assert_int_equal(f.hdr.type, VMKD_FRAME_HELLO);
	assert_int_equal(ch.ivs.stats.doorbells, 1);
	memset(&ack, 0, sizeof(ack));
	ack.debugger = 1;
	ack.max_payload = VMKD_FRAME_MAX_PAYLOAD;
	host_send(fx, VMKD_FRAME_HELLO_ACK, &ack, sizeof(ack), NULL, 0);

	/* a KD packet out: one frame, one doorbell */
	memset(kd, 0x5a, sizeof(kd));
	assert_int_equal(kdvm_channel_send_kd(&ch, 7, kd, 24, kd + 24, 16), KDVM_SENT);
	assert_int_equal(not_present, 0);
	assert_true(host_recv(fx, &p, &f));
	assert_int_equal(f.hdr.type, VMKD_FRAME_KD_PACKET);
	assert_int_equal(vmkd_frame_parse_kd(f.payload, f.payload_len, &kt, &kdp, &kl), 0);
	assert_int_equal(kt, 7);
	assert_int_equal(kl, 40);
	assert_int_equal(ch.ivs.stats.doorbells, 2);

	/* a KD packet in, polled from memory */
	memset(&kp, 0, sizeof(kp));
	kp.packet_type = 2;
	kp.length = 20;
	memset(data, 0x33, 20);
	host_send(fx, VMKD_FRAME_KD_PACKET, &kp, sizeof(kp), data, 20);
	memset(data, 0, sizeof(data));
	assert_int_equal(kdvm_channel_receive_kd(&ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_OK);
	assert_int_equal(hl, 16);
	assert_int_equal(dl, 4);
	assert_int_equal(hdr[0], 0x33);
	/* nothing there: a bounded wait */
	assert_int_equal(kdvm_channel_receive_kd(&ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data),
						 &dl), KDVM_RECV_TIMEOUT);
	/* break-in */
	assert_int_equal(kdvm_channel_poll_breakin(&ch), 0);
	host_send(fx, VMKD_FRAME_BREAKIN, NULL, 0, NULL, 0);
	assert_int_equal(kdvm_channel_poll_breakin(&ch), 1);
	/* the relay's STATS_REQUEST is answered */
	host_send(fx, VMKD_FRAME_STATS_REQUEST, NULL, 0, NULL, 0);
	assert_int_equal(kdvm_channel_poll_breakin(&ch), 0);
	assert_true(host_recv(fx, &p, &f));
	assert_int_equal(f.hdr.type, VMKD_FRAME_STATS);
	memcpy(&gs, f.payload, sizeof(gs));
	assert_int_equal(gs.packets_sent, 1);
	assert_int_equal(gs.packets_received, 1);
	assert_int_equal(gs.notifications, 2); /* HELLO and the packet (STATS rings after) */
	/* waiting cost no port I/O at all; config space only in checks */
	assert_int_equal(gs.port_io_while_polling, 0);
	assert_int_equal(p.stats.skipped_bytes, 0);
	/* a resume: the link starts over with HELLO */
	assert_int_equal(kdvm_channel_check_device(&ch, 1), VSER_CHECK_RESET);
	assert_int_equal(kdvm_channel_poll_breakin(&ch), 0);
	(void)kdvm_channel_receive_kd(&ch, 2, hdr, sizeof(hdr), &hl, data, sizeof(data), &dl);
	assert_true(host_recv(fx, &p, &f));
	assert_int_equal(f.hdr.type, VMKD_FRAME_HELLO);
}

static void test_channel_choice(void **state)
{
	struct fx *fx = *state;
	static struct kdvm_channel ch;
	static uint8_t mem[1];
	struct kdvm_channel_config cfg = { .hello_timeout_ms = 1 };

	/* AUTO with a mappable device carrying the relay's header: ivshmem */
	assert_int_equal(kdvm_channel_init(&ch, &fx->plat, mem, sizeof(mem), &cfg, NULL), 0);
	assert_ptr_equal(ch.be, &kdvm_backend_ivs);
	/* forced, but the memory is not the relay's */
	memset(fx->f.shm, 0, 64);
	cfg.device = KDVM_DEVICE_IVSHMEM;
	assert_int_equal(kdvm_channel_init(&ch, &fx->plat, mem, sizeof(mem), &cfg, NULL),
			 KDVM_ERR_IVSHMEM + IVS_ERR_HEADER);
	/* AUTO falls back to virtio-serial (none here) */
	cfg.device = KDVM_DEVICE_AUTO;
	assert_int_equal(kdvm_channel_init(&ch, &fx->plat, mem, sizeof(mem), &cfg, NULL),
			 VSER_ERR_NO_DEVICE);
	assert_ptr_equal(ch.be, &kdvm_backend_vser);
	/* VIRTIO never looks at the ivshmem device */
	vmkd_shm_format(fx->f.shm, SHM_SIZE, 0, 0, 2, NULL);
	cfg.device = KDVM_DEVICE_VIRTIO;
	assert_int_equal(kdvm_channel_init(&ch, &fx->plat, mem, sizeof(mem), &cfg, NULL),
			 VSER_ERR_NO_DEVICE);
	assert_ptr_equal(ch.be, &kdvm_backend_vser);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_rings_doorbell, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_without_port_io, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_bigger_than_bar, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_channel_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_channel_choice, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
