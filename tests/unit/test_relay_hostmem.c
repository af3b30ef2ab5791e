/* SPDX-License-Identifier: MIT */
/*
 * The relay's host path (relay_hostmem) driven through the relay core: a fake guest RAM
 * with hand-built page tables, a fake guest that answers forwarded requests the way the
 * KD target core does (kd_api_reply_read over a reference walk written independently of
 * pagewalk.c), and a debugger-role kd_link. Every read is answered twice in spirit: the
 * reply the debugger got must equal, byte for byte, the reply the guest would have sent.
 * VMKD_TEST_TRACE=1 prints each test's relay log on stderr.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "vmkd/kd_api.h"
#include "vmkd/kd_link.h"

#include "../../host/common/guest_ram.h"
#include "../../host/relay/relay_hostmem.h"
#include "../../host/relay/relay_vm.h"
#include "relay_fixture.h"
#include "test_relay_fakes.h"

#define PC      0xfffff80000401000ull
#define VBASE   0xffff800000000000ull   /* PML4 index 256 */
#define GIB     0x40000000ull
#define MIB     0x100000ull
#define FILE_SZ (GIB + 256 * MIB)       /* 1 GiB below 4 GiB, 256 MiB above */
#define CR3     0x1000ull

#define P   0x1ull
#define RW  0x2ull
#define PS  0x80ull

struct fx {
	struct relay_fixture rf;       /* first: the fixture's hooks are given &fx->rf */
	uint8_t *file;                 /* the "backend file": sparse anonymous memory */
	struct guest_ram ram;

	/* the debugger's replies (STATE_MANIPULATE packets) */
	size_t replies;
	uint8_t last[KD_MAX_PAYLOAD];
	size_t last_len;
	uint32_t apis[16];             /* api_number of the replies, in order */

	int refuse_control;            /* the fake guest refuses ReadControlSpace */
	int hold;                      /* the fake guest does not answer yet */
	size_t guest_reads, guest_controls, guest_other;
};

static struct fx *fx_of(struct relay_fixture *rf)
{
	return (struct fx *)(void *)((char *)rf - offsetof(struct fx, rf));
}

/* ---- the guest's memory ------------------------------------------------------------ */

static uint8_t *gpa_ptr(struct fx *fx, uint64_t gpa)
{
	const uint8_t *p = guest_ram_ptr(&fx->ram, gpa, 1);

	assert_non_null(p);
	return (uint8_t *)(uintptr_t)p;
}

static void set_entry(struct fx *fx, uint64_t table, unsigned index, uint64_t e)
{
	memcpy(gpa_ptr(fx, table + index * 8ull), &e, 8);
}

static void fill(struct fx *fx, uint64_t gpa, size_t len, uint8_t seed)
{
	uint8_t *p = gpa_ptr(fx, gpa);

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/*
 *  VBASE + 0x000000  4 KiB -> 0x200000     VBASE + 0x001000  4 KiB -> 0x300000
 *  VBASE + 0x002000  not present
 *  VBASE + 0x200000  2 MiB -> 0x400000     VBASE + 0x400000  4 KiB -> 0x100000000
 *  VBASE + 0x600000  4 KiB -> 0xb0000 (the VGA hole: not RAM)
 *  VBASE + 0x800000  2 MiB with a reserved bit     VBASE + 0xa00000 table at 2 GiB (no RAM)
 *  VBASE + 0xc00000  the PD used as its own page table (self-reference)
 *  VBASE + 1 GiB     1 GiB -> 0            VBASE + 2 GiB     4 KiB -> 0x100001000
 */
static void build_tables(struct fx *fx)
{
	const uint64_t pml4 = CR3, pdpt = 0x2000, pd = 0x3000, pt = 0x4000, pt2 = 0x5000,
		       pd3 = 0x6000, pt3 = 0x7000, pt4 = 0x8000;

	set_entry(fx, pml4, 256, pdpt | P | RW);
	set_entry(fx, pdpt, 0, pd | P | RW);
	set_entry(fx, pdpt, 1, 0x0 | P | RW | PS);
	set_entry(fx, pdpt, 2, pd3 | P | RW);
	set_entry(fx, pd, 0, pt | P | RW);
	set_entry(fx, pt, 0, 0x200000 | P | RW);
	set_entry(fx, pt, 1, 0x300000 | P);
	set_entry(fx, pd, 1, 0x400000 | P | RW | PS);
	set_entry(fx, pd, 2, pt2 | P | RW);
	set_entry(fx, pt2, 0, 0x100000000ull | P | RW);
	set_entry(fx, pd, 3, pt4 | P | RW);
	set_entry(fx, pt4, 0, 0xb0000 | P | RW);
	set_entry(fx, pd, 4, 0x800000 | P | RW | PS | (1ull << 13));
	set_entry(fx, pd, 5, 0x80000000ull | P | RW);
	set_entry(fx, pd, 6, pd | P | RW);
	set_entry(fx, pd3, 0, pt3 | P | RW);
	set_entry(fx, pt3, 0, 0x100001000ull | P | RW);

	fill(fx, 0x200000, 0x1000, 1);
	fill(fx, 0x300000, 0x1000, 2);
	fill(fx, 0x400000, 0x200000, 3);
	fill(fx, 0x100000000ull, 0x2000, 4);
	fill(fx, 0x3fff0000, 0x10000, 5);
}

/* ---- the reference: what the guest's KD core answers -------------------------------- */

static int ref_phys(struct fx *fx, uint64_t pa, uint8_t *out)
{
	const uint8_t *p = guest_ram_ptr(&fx->ram, pa, 1);

	if (!p)
		return -1;
	*out = *p;
	return 0;
}

static int ref_entry(struct fx *fx, uint64_t table, uint64_t index, uint64_t *e)
{
	const uint8_t *p = guest_ram_ptr(&fx->ram, table + index * 8, 8);

	if (!p)
		return -1;
	memcpy(e, p, 8);
	return 0;
}

/* One byte through a 4-level walk (non-canonical and non-present: -1). */
static int ref_virt(struct fx *fx, uint64_t va, uint8_t *out)
{
	uint64_t table = CR3, e = 0;
	int level;

	if (!((va >> 47) == 0 || (va >> 47) == 0x1ffff))
		return -1;
	for (level = 4; level >= 1; level--) {
		uint64_t shift = 12 + 9 * (uint64_t)(level - 1);

		if (ref_entry(fx, table, (va >> shift) & 511, &e) || !(e & P))
			return -1;
		if (level == 1 || (level <= 3 && (e & PS)))
			return ref_phys(fx, (e & 0x000ffffffffff000ull & ~((1ull << shift) - 1)) |
					     (va & ((1ull << shift) - 1)), out);
		table = e & 0x000ffffffffff000ull;
	}
	return -1;
}

static size_t ref_read(struct fx *fx, int virt, uint64_t addr, uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (addr + i < addr)
			break;
		if ((virt ? ref_virt(fx, addr + i, &buf[i]) : ref_phys(fx, addr + i, &buf[i])))
			break;
	}
	return i;
}

/* The guest's reply to a read request, as kd_target builds it. */
static size_t ref_reply(struct fx *fx, const struct kd_manipulate_state64 *req, uint8_t *out)
{
	static uint8_t data[KD_MAX_PAYLOAD];
	struct kd_api_msg msg;
	size_t got = ref_read(fx, req->api_number == KD_API_READ_VIRTUAL_MEMORY,
			      req->u.read_memory.target_base_address, data, kd_api_read_len(req));

	kd_api_reply_read(&msg, req, data, (uint32_t)got);
	return tr_msg_payload(&msg, out);
}

/* ---- plumbing ------------------------------------------------------------------------ */

/* The fake debugger got a packet: its replies are what the tests compare. */
static void on_deliver(struct relay_fixture *rf, uint16_t type, uint32_t id,
		       const uint8_t *payload, size_t len)
{
	struct fx *fx = fx_of(rf);

	(void)id;
	if (type != KD_PACKET_TYPE_STATE_MANIPULATE)
		return;
	if (fx->replies < 16 && len >= 4)
		memcpy(&fx->apis[fx->replies], payload, 4);
	fx->replies++;
	fx->last_len = len;
	memcpy(fx->last, payload, len);
}

/* The fake guest (the fixture's guest hook) answers every manipulate request the relay
 * forwarded. */
static int guest_serve(struct relay_fixture *rf)
{
	struct fx *fx = fx_of(rf);
	struct relay_buf *b = &rf->vm->to_guest;
	uint8_t out[KD_MAX_PAYLOAD];
	int answered = 0;

	if (fx->hold)
		return 0; /* frames stay in the relay's buffer until the guest reads them */
	tr_view_clear(&rf->gv);
	tr_view_feed(&rf->gv, relay_buf_peek(b), relay_buf_pending(b));
	relay_buf_consume(b, relay_buf_pending(b));
	for (size_t i = 0; i < rf->gv.count; i++) {
		const struct tr_frame_rec *f = &rf->gv.frames[i];
		struct kd_manipulate_state64 m;
		const uint8_t *data;
		size_t data_len;
		struct kd_api_msg msg;

		if (f->type != VMKD_FRAME_KD_PACKET || f->kd_type != KD_PACKET_TYPE_STATE_MANIPULATE)
			continue;
		assert_int_equal(kd_api_parse_request(f->payload + sizeof(struct vmkd_kd_packet),
						      f->len - sizeof(struct vmkd_kd_packet), &m,
						      &data, &data_len), KD_API_OK);
		answered = 1;
		switch (m.api_number) {
		case KD_API_READ_CONTROL_SPACE: {
			struct kd_special_registers_amd64 sr;

			fx->guest_controls++;
			assert_int_equal(m.u.read_memory.target_base_address,
					 KD_CONTROL_SPACE_KSPECIAL);
			if (fx->refuse_control) {
				kd_api_reply_init(&msg, &m, KD_STATUS_UNSUCCESSFUL);
				rfx_guest_kd(rf, KD_PACKET_TYPE_STATE_MANIPULATE, out,
					 tr_msg_payload(&msg, out));
				break;
			}
			memset(&sr, 0, sizeof(sr));
			sr.cr3 = CR3 | 0x18; /* PWT/PCD bits: ignored */
			sr.cr4 = 0x6f8;
			kd_api_reply_read(&msg, &m, &sr, kd_api_read_len(&m) < sizeof(sr) ?
					  kd_api_read_len(&m) : (uint32_t)sizeof(sr));
			rfx_guest_kd(rf, KD_PACKET_TYPE_STATE_MANIPULATE, out, tr_msg_payload(&msg, out));
			break;
		}
		case KD_API_READ_VIRTUAL_MEMORY:
		case KD_API_READ_PHYSICAL_MEMORY:
			fx->guest_reads++;
			rfx_guest_kd(rf, KD_PACKET_TYPE_STATE_MANIPULATE, out, ref_reply(fx, &m, out));
			break;
		case KD_API_CONTINUE:
		case KD_API_CONTINUE2:
			break; /* runs: no reply */
		default:
			fx->guest_other++;
			kd_api_reply_init(&msg, &m, KD_STATUS_SUCCESS);
			rfx_guest_kd(rf, KD_PACKET_TYPE_STATE_MANIPULATE, out, tr_msg_payload(&msg, out));
			break;
		}
	}
	return answered;
}

static void guest_stops(struct fx *fx)
{
	rfx_guest_state_change(&fx->rf, PC);
	rfx_exchange(&fx->rf);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct guest_ram_layout l = {
		.count = 3,
		.r = {
			{ .gpa = 0, .size = 0xa0000, .offset = 0 },
			{ .gpa = MIB, .size = GIB - MIB, .offset = MIB },
			{ .gpa = 0x100000000ull, .size = 256 * MIB, .offset = GIB },
		},
	};

	assert_non_null(fx);
	fx->file = mmap(NULL, FILE_SZ, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(fx->file != MAP_FAILED);
	assert_int_equal(guest_ram_use_buffer(&fx->ram, fx->file, FILE_SZ, &l, 0), 0);
	rfx_init(&fx->rf, 1000000);
	fx->rf.guest = guest_serve;
	fx->rf.on_deliver = on_deliver;
	assert_int_equal(relay_hostmem_enable_ram(fx->rf.vm, &fx->ram), 0);
	build_tables(fx);

	relay_vm_guest_connected(fx->rf.vm, fx->rf.now);
	rfx_dbg_connect(&fx->rf, 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	rfx_fini(&fx->rf);
	munmap(fx->file, FILE_SZ);
	free(fx);
	return 0;
}

/* Sends a read and checks the reply against the reference; returns 1 if the host path
 * answered it (no read reached the fake guest). */
static int read_and_compare(struct fx *fx, int virt, uint64_t addr, uint32_t len)
{
	uint8_t expect[KD_MAX_PAYLOAD];
	struct kd_api_msg req;
	size_t replies = fx->replies, greads = fx->guest_reads, n;

	if (virt)
		kd_api_req_read_virtual(&req, addr, len);
	else
		kd_api_req_read_physical(&req, addr, len, 0);
	rfx_dbg_send(&fx->rf, &req);
	assert_int_equal(fx->replies, replies + 1);
	n = ref_reply(fx, &req.u.m, expect);
	assert_int_equal(fx->last_len, n);
	assert_memory_equal(fx->last, expect, n);
	return fx->guest_reads == greads;
}

static uint32_t last_status(struct fx *fx)
{
	struct kd_manipulate_state64 m;

	memcpy(&m, fx->last, sizeof(m));
	return m.return_status;
}

static uint32_t last_actual(struct fx *fx)
{
	struct kd_manipulate_state64 m;

	memcpy(&m, fx->last, sizeof(m));
	return m.u.read_memory.actual_bytes_read;
}

/* ---- tests --------------------------------------------------------------------------- */

static void hostmem_virtual_reads_match_the_guest(void **state)
{
	struct fx *fx = *state;
	const struct relay_hostmem_stats *st = relay_hostmem_stats(fx->rf.vm);

	guest_stops(fx);
	assert_true(read_and_compare(fx, 1, VBASE + 0x10, 64));
	assert_int_equal(last_status(fx), KD_STATUS_SUCCESS);
	assert_int_equal(fx->guest_controls, 1); /* CR3 fetched once ... */
	assert_true(read_and_compare(fx, 1, VBASE + 0xff8, 16));    /* 4 KiB boundary */
	assert_true(read_and_compare(fx, 1, VBASE + 0x3ffff8, 16)); /* 2 MiB boundary */
	assert_true(read_and_compare(fx, 1, VBASE + 2 * GIB - 8, 16)); /* 1 GiB boundary */
	assert_true(read_and_compare(fx, 1, VBASE + 0xc00000, 32)); /* self-referencing PD */
	assert_true(read_and_compare(fx, 1, VBASE + GIB + 0x1234, KD_MANIPULATE_MAX_DATA));
	assert_int_equal(fx->guest_controls, 1); /* ... per stop */
	assert_int_equal(st->host_reads, 6);
	assert_int_equal(st->guest_reads, 0);
	assert_int_equal(st->cr_fetches, 1);
}

static void hostmem_partial_reads_end_where_the_guests_do(void **state)
{
	struct fx *fx = *state;

	guest_stops(fx);
	assert_true(read_and_compare(fx, 1, VBASE + 0x1ff0, 64)); /* into a non-present page */
	assert_int_equal(last_status(fx), KD_STATUS_UNSUCCESSFUL);
	assert_int_equal(last_actual(fx), 16);
	assert_true(read_and_compare(fx, 1, VBASE + 0x2000, 8));  /* wholly unmapped */
	assert_int_equal(last_actual(fx), 0);
	assert_true(read_and_compare(fx, 1, 0x00007ffffffffff8ull, 16)); /* non-canonical end */
	assert_true(read_and_compare(fx, 1, 0x0000800000000000ull, 16)); /* non-canonical */
	assert_true(read_and_compare(fx, 1, 0xfffffffffffffff8ull, 16)); /* wraps */
	assert_int_equal(relay_hostmem_stats(fx->rf.vm)->host_reads, 5);
}

static void hostmem_unknown_answers_go_to_the_guest(void **state)
{
	struct fx *fx = *state;
	const struct relay_hostmem_stats *st = relay_hostmem_stats(fx->rf.vm);

	guest_stops(fx);
	assert_false(read_and_compare(fx, 1, VBASE + 0x600000, 16)); /* page in the VGA hole */
	assert_false(read_and_compare(fx, 1, VBASE + 0x800000, 16)); /* reserved bit */
	assert_false(read_and_compare(fx, 1, VBASE + 0xa00000, 16)); /* table outside RAM */
	assert_false(read_and_compare(fx, 0, 0x9fff8, 16));          /* runs into the hole */
	assert_false(read_and_compare(fx, 0, 0xfffffff0ull, 16));    /* below 4 GiB, no RAM */
	assert_int_equal(st->guest_reads, 5);
	assert_int_equal(st->why_unknown_pt, 3);
	assert_int_equal(st->why_outside_ram, 2);
	assert_int_equal(st->host_reads, 0);
}

static void hostmem_physical_reads(void **state)
{
	struct fx *fx = *state;

	guest_stops(fx);
	assert_true(read_and_compare(fx, 0, 0x200000, 256));
	assert_true(read_and_compare(fx, 0, GIB - 16, 16));          /* top of low RAM */
	assert_true(read_and_compare(fx, 0, 0x100000000ull, 4096 - 56)); /* above 4 GiB */
	assert_int_equal(fx->guest_controls, 0); /* physical reads need no CR3 */
	assert_int_equal(relay_hostmem_stats(fx->rf.vm)->host_reads, 3);
}

static void hostmem_running_guest_and_invalidation(void **state)
{
	struct fx *fx = *state;
	const struct relay_hostmem_stats *st = relay_hostmem_stats(fx->rf.vm);
	struct kd_api_msg req;

	/* No stop yet: the guest answers. */
	assert_false(read_and_compare(fx, 1, VBASE, 16));
	assert_int_equal(st->why_running, 1);

	guest_stops(fx);
	assert_true(read_and_compare(fx, 1, VBASE, 16));
	/* The page tables change while the guest runs; the next stop sees the new ones. */
	kd_api_req_continue2(&req, KD_DBG_CONTINUE, 0, 0);
	rfx_dbg_send(&fx->rf, &req);
	assert_false(read_and_compare(fx, 1, VBASE, 16)); /* running again */
	set_entry(fx, 0x4000, 0, 0x300000 | P);
	guest_stops(fx);
	assert_true(read_and_compare(fx, 1, VBASE, 16));
	assert_memory_equal(fx->last + sizeof(struct kd_manipulate_state64),
			    gpa_ptr(fx, 0x300000), 16);
	assert_int_equal(fx->guest_controls, 2);

	/* SetContext may change CR3: fetched again. */
	kd_api_req_get_context(&req, 0);
	rfx_dbg_send(&fx->rf, &req);
	assert_true(read_and_compare(fx, 1, VBASE, 16));
	assert_int_equal(fx->guest_controls, 2); /* a read-only request keeps it */
	{
		struct kd_context_amd64 ctx;

		memset(&ctx, 0, sizeof(ctx));
		kd_api_req_set_context(&req, 0, &ctx);
		rfx_dbg_send(&fx->rf, &req);
	}
	assert_true(read_and_compare(fx, 1, VBASE, 16));
	assert_int_equal(fx->guest_controls, 3);
}

static void hostmem_refused_cr3_falls_back(void **state)
{
	struct fx *fx = *state;
	const struct relay_hostmem_stats *st = relay_hostmem_stats(fx->rf.vm);

	fx->refuse_control = 1;
	guest_stops(fx);
	assert_false(read_and_compare(fx, 1, VBASE, 16)); /* held, then forwarded */
	assert_false(read_and_compare(fx, 1, VBASE, 16)); /* no second fetch in this stop */
	assert_int_equal(fx->guest_controls, 1);
	assert_int_equal(st->cr_failures, 1);
	assert_true(read_and_compare(fx, 0, 0x200000, 16)); /* physical still works */
	/* The ReadControlSpace reply never reached the debugger. */
	assert_int_equal(fx->replies, 3);
}

/* A request still with the guest: a read after it must not overtake its reply. */
static void hostmem_keeps_reply_order(void **state)
{
	struct fx *fx = *state;
	const struct relay_hostmem_stats *st = relay_hostmem_stats(fx->rf.vm);
	struct kd_api_msg req;

	guest_stops(fx);
	assert_true(read_and_compare(fx, 1, VBASE, 16)); /* CR3 known */
	fx->hold = 1;
	kd_api_req_get_version(&req);
	rfx_dbg_send(&fx->rf, &req);
	kd_api_req_read_virtual(&req, VBASE + 0x20, 16);
	rfx_dbg_send(&fx->rf, &req);
	assert_int_equal(fx->replies, 1);
	assert_int_equal(st->why_busy, 1);
	fx->hold = 0;
	rfx_exchange(&fx->rf);
	assert_int_equal(fx->replies, 3);
	assert_int_equal(fx->apis[1], KD_API_GET_VERSION);
	assert_int_equal(fx->apis[2], KD_API_READ_VIRTUAL_MEMORY);
	assert_int_equal(fx->guest_reads, 1);
	/* Both answered: the host path takes reads again. */
	assert_true(read_and_compare(fx, 1, VBASE + 0x40, 16));
	assert_int_equal(st->host_reads, 2);
}

/* A guest that reconnects (QEMU restarted) forgets the stop: it runs until it reports. */
static void hostmem_guest_restart_forgets_the_stop(void **state)
{
	struct fx *fx = *state;

	guest_stops(fx);
	assert_true(read_and_compare(fx, 1, VBASE, 16));
	relay_vm_guest_disconnected(fx->rf.vm, fx->rf.now);
	relay_vm_guest_connected(fx->rf.vm, fx->rf.now);
	rfx_exchange(&fx->rf);
	assert_false(read_and_compare(fx, 1, VBASE, 16));
	assert_int_equal(relay_hostmem_stats(fx->rf.vm)->why_running, 1);
	guest_stops(fx);
	assert_true(read_and_compare(fx, 1, VBASE, 16));
	assert_int_equal(fx->guest_controls, 2);
}

/* The guest re-reports its stop (a RESYNC) while a read waits for our CR3: the read still
 * gets its answer, and our ReadControlSpace, answered late, never reaches the debugger. */
static void hostmem_restop_while_fetching(void **state)
{
	struct fx *fx = *state;
	const struct relay_hostmem_stats *st = relay_hostmem_stats(fx->rf.vm);
	struct kd_api_msg req;

	guest_stops(fx);
	fx->hold = 1; /* the guest has not read our ReadControlSpace yet */
	kd_api_req_read_virtual(&req, VBASE, 16);
	rfx_dbg_send(&fx->rf, &req);
	assert_int_equal(fx->replies, 0);
	assert_int_equal(st->cr_fetches, 1);
	fx->hold = 0;
	{
		uint8_t kd[KD_MAX_PAYLOAD];

		rfx_guest_kd(&fx->rf, KD_PACKET_TYPE_STATE_CHANGE64, kd, tr_state_change(kd, PC));
	}
	rfx_exchange(&fx->rf);
	/* The debugger got the read's reply, from the guest, and nothing else. */
	assert_int_equal(fx->replies, 1);
	assert_int_equal(fx->apis[0], KD_API_READ_VIRTUAL_MEMORY);
	assert_int_equal(fx->guest_reads, 1);
	assert_int_equal(st->held_resent, 1);
	assert_int_equal(st->own_late, 1);
	/* The next stop's reads come from the host again. */
	assert_true(read_and_compare(fx, 1, VBASE + 0x40, 16));
	assert_true(st->host_reads >= 1);
}

static void hostmem_stats_and_trace(void **state)
{
	struct fx *fx = *state;
	char line[2048];
	const char *log;

	guest_stops(fx);
	assert_true(read_and_compare(fx, 1, VBASE, 16));
	assert_false(read_and_compare(fx, 0, 0xfffffff0ull, 16));
	relay_vm_format_stats(fx->rf.vm, line, sizeof(line));
	assert_non_null(strstr(line, "host path 1 reads 16 B, guest path 1 reads"));
	log = rfx_log_text(&fx->rf);
	assert_non_null(strstr(log, "ReadVirtualMemory 0xffff800000000000 len 16: host path"));
	assert_non_null(strstr(log, "ReadPhysicalMemory 0xfffffff0 len 16: guest path"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(hostmem_virtual_reads_match_the_guest, setup,
						teardown),
		cmocka_unit_test_setup_teardown(hostmem_partial_reads_end_where_the_guests_do,
						setup, teardown),
		cmocka_unit_test_setup_teardown(hostmem_unknown_answers_go_to_the_guest, setup,
						teardown),
		cmocka_unit_test_setup_teardown(hostmem_physical_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(hostmem_running_guest_and_invalidation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(hostmem_refused_cr3_falls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(hostmem_keeps_reply_order, setup, teardown),
		cmocka_unit_test_setup_teardown(hostmem_guest_restart_forgets_the_stop, setup,
						teardown),
		cmocka_unit_test_setup_teardown(hostmem_restop_while_fetching, setup, teardown),
		cmocka_unit_test_setup_teardown(hostmem_stats_and_trace, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
