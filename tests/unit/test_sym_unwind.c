/* SPDX-License-Identifier: MIT */
/* host/sym/sym_unwind: .pdata lookup and every unwind opcode on hand-built unwind codes,
 * chained entries, machine frames, malformed input, and the frame-pointer fallback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../host/sym/sym.h"
#include "../../host/sym/sym_unwind.h"
#include "sym_fake.h"

#define BASE 0xfffff80000400000ull
#define IMG 0x4000u
#define STACK 0xfffff80000900000ull
#define STACK_SIZE 0x20000u
#define SP0 (STACK + 0x1000)      /* the stack pointer of the frame being unwound */
#define RET 0xfffff80000401234ull /* the return address planted above each frame */

struct code { uint8_t off, op, info; };

struct fixture {
	struct fake_mem m;
	struct sym_reader r;
	uint8_t *img, *stack;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	f.img = fake_region(&f.m, BASE, IMG);
	f.stack = fake_region(&f.m, STACK, STACK_SIZE);
	f.r = fake_reader(&f.m);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fake_free(&f->m);
	return 0;
}

/* UNWIND_INFO at rva: version 1, flags, prolog size, the slots as given (raw 16-bit values
 * for data slots), frame register/offset, and a chained entry if chain. */
static void put_info(struct fixture *f, uint32_t rva, unsigned flags, uint8_t prolog,
		     const uint16_t *slots, unsigned n, unsigned freg, unsigned foff,
		     const struct sym_runtime_function *chain)
{
	uint8_t *p = f->img + rva;

	p[0] = (uint8_t)(1 | flags << 3);
	p[1] = prolog;
	p[2] = (uint8_t)n;
	p[3] = (uint8_t)(freg | foff << 4);
	for (unsigned i = 0; i < n; i++)
		put16(p + 4 + 2 * i, slots[i]);
	if (chain) {
		uint8_t *c = p + 4 + 2 * ((n + 1) & ~1u);

		put32(c, chain->begin);
		put32(c + 4, chain->end);
		put32(c + 8, chain->unwind);
	}
}

/* One code slot: prolog offset, opcode, info. */
static uint16_t op(uint8_t off, unsigned code, unsigned info)
{
	return (uint16_t)(off | (code | info << 4) << 8);
}

static void stack_put(struct fixture *f, uint64_t va, uint64_t v)
{
	put64(f->stack + (va - STACK), v);
}

static void init_regs(struct sym_regs *r, uint32_t rip_rva)
{
	memset(r, 0, sizeof(*r));
	r->rip = BASE + rip_rva;
	r->r[SYM_RSP] = SP0;
}

static const struct sym_runtime_function fn = { 0x1000, 0x1100, 0x3000 };

static void push_nonvol_and_alloc_small(void **state)
{
	struct fixture *f = *state;
	/* push rbx (ends at 1); sub rsp,28h (ends at 5) */
	const uint16_t s[] = { op(5, SYM_UWOP_ALLOC_SMALL, 4), op(1, SYM_UWOP_PUSH_NONVOL, SYM_RBX) };
	struct sym_regs r;
	int mf;

	put_info(f, 0x3000, 0, 5, s, 2, 0, 0, NULL);
	stack_put(f, SP0 + 0x28, 0xbbbb);
	stack_put(f, SP0 + 0x30, RET);
	init_regs(&r, 0x1040);
	assert_int_equal(sym_unwind_frame(&f->r, BASE, &fn, &r, &mf, NULL, 0), 0);
	assert_int_equal(r.rip, RET);
	assert_int_equal(r.r[SYM_RSP], SP0 + 0x38);
	assert_int_equal(r.r[SYM_RBX], 0xbbbb);
	assert_int_equal(mf, 0);
	/* Stopped after the push, before the sub: only the push is undone. */
	stack_put(f, SP0, 0xcccc);
	stack_put(f, SP0 + 8, RET);
	init_regs(&r, 0x1001);
	assert_int_equal(sym_unwind_frame(&f->r, BASE, &fn, &r, &mf, NULL, 0), 0);
	assert_int_equal(r.r[SYM_RBX], 0xcccc);
	assert_int_equal(r.rip, RET);
	assert_int_equal(r.r[SYM_RSP], SP0 + 0x10);
	/* At the first instruction nothing applies: the return address is at rsp. */
	stack_put(f, SP0, RET + 1);
	init_regs(&r, 0x1000);
	assert_int_equal(sym_unwind_frame(&f->r, BASE, &fn, &r, &mf, NULL, 0), 0);
	assert_int_equal(r.rip, RET + 1);
	assert_int_equal(r.r[SYM_RSP], SP0 + 8);
}

static void alloc_large_both_forms(void **state)
{
	struct fixture *f = *state;
	const uint16_t s16[] = { op(7, SYM_UWOP_ALLOC_LARGE, 0), 0x200 };         /* 0x1000 */
	const uint16_t s32[] = { op(7, SYM_UWOP_ALLOC_LARGE, 1), 0x2340, 0x0001 }; /* 0x12340 */
	struct sym_regs r;
	int mf;

	put_info(f, 0x3000, 0, 7, s16, 2, 0, 0, NULL);
	stack_put(f, SP0 + 0x1000, RET);
	init_regs(&r, 0x1010);
	assert_int_equal(sym_unwind_frame(&f->r, BASE, &fn, &r, &mf, NULL, 0), 0);
	assert_int_equal(r.r[SYM_RSP], SP0 + 0x1008);
	assert_int_equal(r.rip, RET);

	put_info(f, 0x3000, 0, 7, s32, 3, 0, 0, NULL);
	stack_put(f, SP0 + 0x12340, RET + 2);
	init_regs(&r, 0x1010);
	assert_int_equal(sym_unwind_frame(&f->r, BASE, &fn, &r, &mf, NULL, 0), 0);
	assert_int_equal(r.r[SYM_RSP], SP0 + 0x12348);
	assert_int_equal(r.rip, RET + 2);
}

static void set_fpreg(void **state)
{
	struct fixture *f = *state;
	/* push rbp (1); sub rsp,40h (5); lea rbp,[rsp+20h] (10): frame rbp, offset 2 (x16) */
	const uint16_t s[] = { op(10, SYM_UWOP_SET_FPREG, 0), op(5, SYM_UWOP_ALLOC_SMALL, 7),
			       op(1, SYM_UWOP_PUSH_NONVOL, SYM_RBP) };
	uint64_t frame_rsp = SP0, rbp = frame_rsp + 0x20;
	struct sym_regs r;
	int mf;

	put_info(f, 0x3000, 0, 10, s, 3, SYM_RBP, 2, NULL);
	stack_put(f, frame_rsp + 0x40, 0x5555);   /* saved rbp */
	stack_put(f, frame_rsp + 0x48, RET);
	init_regs(&r, 0x1080);
	r.r[SYM_RSP] = frame_rsp - 0x300;         /* the body moved rsp (alloca): rbp rules */
	r.r[SYM_RBP] = rbp;
	assert_int_equal(sym_unwind_frame(&f->r, BASE, &fn, &r, &mf, NULL, 0), 0);
	assert_int_equal(r.rip, RET);
	assert_int_equal(r.r[SYM_RBP], 0x5555);
	assert_int_equal(r.r[SYM_RSP], frame_rsp + 0x50);
}

static void save_nonvol_near_and_far(void **state)
{
	struct fixture *f = *state;
	/* sub rsp,58h (4); mov [rsp+60h],rsi (9); mov [rsp+10000h],rdi (17) */
	const uint16_t s[] = { op(17, SYM_UWOP_SAVE_NONVOL_FAR, SYM_RDI), 0x0000, 0x0001,
			       op(9, SYM_UWOP_SAVE_NONVOL, SYM_RSI), 0x60 / 8,
			       op(4, SYM_UWOP_ALLOC_SMALL, 10) };
	struct sym_regs r;
	int mf;

	put_info(f, 0x3000, 0, 17, s, 6, 0, 0, NULL);
	stack_put(f, SP0 + 0x60, 0x5151);
	stack_put(f, SP0 + 0x10000, 0xd1d1);
	stack_put(f, SP0 + 0x58, RET);
	init_regs(&r, 0x1020);
	assert_int_equal(sym_unwind_frame(&f->r, BASE, &fn, &r, &mf, NULL, 0), 0);
	assert_int_equal(r.r[SYM_RSI], 0x5151);
	assert_int_equal(r.r[SYM_RDI], 0xd1d1);
	assert_int_equal(r.rip, RET);
	assert_int_equal(r.r[SYM_RSP], SP0 + 0x60);
}

static void save_xmm128_slots_are_skipped(void **state)
{
	struct fixture *f = *state;
	/* XMM saves (2 and 3 slots) between a push and an alloc: both still apply. */
	const uint16_t s[] = { op(20, SYM_UWOP_SAVE_XMM128_FAR, 7), 0x0000, 0x0002,
			       op(14, SYM_UWOP_SAVE_XMM128, 6), 0x0002,
			       op(5, SYM_UWOP_ALLOC_SMALL, 0),
			       op(1, SYM_UWOP_PUSH_NONVOL, SYM_R12) };
	struct sym_regs r;
	int mf;

	put_info(f, 0x3000, 0, 20, s, 7, 0, 0, NULL);
	stack_put(f, SP0 + 8, 0x1212);
	stack_put(f, SP0 + 16, RET);
	init_regs(&r, 0x1030);
	assert_int_equal(sym_unwind_frame(&f->r, BASE, &fn, &r, &mf, NULL, 0), 0);
	assert_int_equal(r.r[SYM_R12], 0x1212);
	assert_int_equal(r.rip, RET);
	assert_int_equal(r.r[SYM_RSP], SP0 + 24);
}

static void push_machframe(void **state)
{
	struct fixture *f = *state;
	const uint16_t s0[] = { op(1, SYM_UWOP_PUSH_MACHFRAME, 0) };
	const uint16_t s1[] = { op(1, SYM_UWOP_PUSH_MACHFRAME, 1) };
	struct sym_regs r;
	int mf;

	/* RIP, CS, EFLAGS, RSP, SS */
	stack_put(f, SP0, RET);
	stack_put(f, SP0 + 24, STACK + 0x8000);
	put_info(f, 0x3000, 0, 1, s0, 1, 0, 0, NULL);
	init_regs(&r, 0x1010);
	assert_int_equal(sym_unwind_frame(&f->r, BASE, &fn, &r, &mf, NULL, 0), 0);
	assert_int_equal(mf, 1);
	assert_int_equal(r.rip, RET);
	assert_int_equal(r.r[SYM_RSP], STACK + 0x8000);
	/* With an error code below the frame. */
	stack_put(f, SP0, 0xe);
	stack_put(f, SP0 + 8, RET + 4);
	stack_put(f, SP0 + 32, STACK + 0x9000);
	put_info(f, 0x3000, 0, 1, s1, 1, 0, 0, NULL);
	init_regs(&r, 0x1010);
	assert_int_equal(sym_unwind_frame(&f->r, BASE, &fn, &r, &mf, NULL, 0), 0);
	assert_int_equal(r.rip, RET + 4);
	assert_int_equal(r.r[SYM_RSP], STACK + 0x9000);
}

static void chained_entries(void **state)
{
	struct fixture *f = *state;
	/* The primary function's prolog pushed rdi; a fragment adds alloc 0x20 and chains. */
	const uint16_t primary[] = { op(1, SYM_UWOP_PUSH_NONVOL, SYM_RDI) };
	const uint16_t frag[] = { op(4, SYM_UWOP_ALLOC_SMALL, 3) };
	const struct sym_runtime_function prim = { 0x1000, 0x1100, 0x3100 };
	const struct sym_runtime_function part = { 0x2000, 0x2080, 0x3000 };
	struct sym_regs r;
	int mf;

	put_info(f, 0x3100, 0, 1, primary, 1, 0, 0, NULL);
	put_info(f, 0x3000, SYM_UNW_FLAG_CHAININFO, 4, frag, 1, 0, 0, &prim);
	stack_put(f, SP0 + 0x20, 0xd7d7);
	stack_put(f, SP0 + 0x28, RET);
	/* rip at the fragment's start: its own codes are in the prolog, the chained ones all
	 * apply (the primary prolog ran long before). */
	init_regs(&r, 0x2010);
	assert_int_equal(sym_unwind_frame(&f->r, BASE, &part, &r, &mf, NULL, 0), 0);
	assert_int_equal(r.r[SYM_RDI], 0xd7d7);
	assert_int_equal(r.rip, RET);
	assert_int_equal(r.r[SYM_RSP], SP0 + 0x30);
	/* A chain that points at itself ends at the bound, with an error. */
	put_info(f, 0x3000, SYM_UNW_FLAG_CHAININFO, 4, frag, 1, 0, 0, &part);
	init_regs(&r, 0x2010);
	assert_int_equal(sym_unwind_frame(&f->r, BASE, &part, &r, &mf, NULL, 0), -1);
}

static void malformed(void **state)
{
	struct fixture *f = *state;
	const uint16_t bad_op[] = { op(1, 11, 0) };
	const uint16_t short_large[] = { op(1, SYM_UWOP_ALLOC_LARGE, 1), 0x10 };
	const uint16_t bad_large[] = { op(1, SYM_UWOP_ALLOC_LARGE, 2), 0x10 };
	const uint16_t fp_no_reg[] = { op(1, SYM_UWOP_SET_FPREG, 0) };
	const uint16_t mf2[] = { op(1, SYM_UWOP_PUSH_MACHFRAME, 2) };
	struct sym_runtime_function far = { 0x1000, 0x1100, IMG - 2 };
	struct sym_regs r;
	char err[128];
	int mf;

	put_info(f, 0x3000, 0, 1, bad_op, 1, 0, 0, NULL);
	init_regs(&r, 0x1010);
	assert_int_equal(sym_unwind_frame(&f->r, BASE, &fn, &r, &mf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown unwind opcode 11"));
	put_info(f, 0x3000, 0, 1, short_large, 2, 0, 0, NULL);
	assert_int_equal(sym_unwind_frame(&f->r, BASE, &fn, &r, &mf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "runs past"));
	put_info(f, 0x3000, 0, 1, bad_large, 2, 0, 0, NULL);
	assert_int_equal(sym_unwind_frame(&f->r, BASE, &fn, &r, &mf, err, sizeof(err)), -1);
	put_info(f, 0x3000, 0, 1, fp_no_reg, 1, 0, 0, NULL);
	assert_int_equal(sym_unwind_frame(&f->r, BASE, &fn, &r, &mf, err, sizeof(err)), -1);
	put_info(f, 0x3000, 0, 1, mf2, 1, 0, 0, NULL);
	assert_int_equal(sym_unwind_frame(&f->r, BASE, &fn, &r, &mf, err, sizeof(err)), -1);
	f->img[0x3000] = 3; /* version 3 */
	assert_int_equal(sym_unwind_frame(&f->r, BASE, &fn, &r, &mf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "version"));
	/* Unwind info running off readable memory. */
	assert_int_equal(sym_unwind_frame(&f->r, BASE, &far, &r, &mf, err, sizeof(err)), -1);
	/* A stack pointer in unreadable memory. */
	put_info(f, 0x3000, 0, 1, (const uint16_t[]){ op(1, SYM_UWOP_PUSH_NONVOL, 3) }, 1, 0, 0,
		 NULL);
	init_regs(&r, 0x1010);
	r.r[SYM_RSP] = 0x1000;
	assert_int_equal(sym_unwind_frame(&f->r, BASE, &fn, &r, &mf, err, sizeof(err)), -1);
}

static void pdata_binary_search(void **state)
{
	struct fixture *f = *state;
	struct sym_runtime_function rf;

	/* 100 functions of 0x20 bytes at 0x1000, 0x1040, ...: gaps between them. */
	for (uint32_t i = 0; i < 100; i++) {
		put32(f->img + 0x2000 + 12 * i, 0x1000 + 0x40 * i);
		put32(f->img + 0x2000 + 12 * i + 4, 0x1020 + 0x40 * i);
		put32(f->img + 0x2000 + 12 * i + 8, 0x3000 + 8 * i);
	}
	assert_int_equal(sym_pdata_lookup(&f->r, BASE, 0x2000, 1200, 0x1000, &rf), 0);
	assert_int_equal(rf.begin, 0x1000);
	assert_int_equal(sym_pdata_lookup(&f->r, BASE, 0x2000, 1200, 0x1000 + 0x40 * 77 + 0x1f,
					  &rf), 0);
	assert_int_equal(rf.unwind, 0x3000 + 8 * 77);
	assert_int_equal(sym_pdata_lookup(&f->r, BASE, 0x2000, 1200, 0x1000 + 0x40 * 99, &rf), 0);
	assert_int_equal(rf.begin, 0x1000 + 0x40 * 99);
	assert_int_equal(sym_pdata_lookup(&f->r, BASE, 0x2000, 1200, 0x1020, &rf), 1);  /* gap */
	assert_int_equal(sym_pdata_lookup(&f->r, BASE, 0x2000, 1200, 0x0fff, &rf), 1);
	assert_int_equal(sym_pdata_lookup(&f->r, BASE, 0x2000, 1200, 0x9000, &rf), 1);
	assert_int_equal(sym_pdata_lookup(&f->r, BASE, 0, 0, 0x1000, &rf), 1);
	/* A table running into unreadable memory is an error. */
	assert_int_equal(sym_pdata_lookup(&f->r, BASE, IMG - 12, 1200, 0x1000 + 0x40 * 99, &rf),
			 -1);
}

static void frame_pointer_fallback(void **state)
{
	struct fixture *f = *state;
	struct sym_regs r;

	/* code at 0x1000: push rbp; mov rbp,rsp; nop */
	memcpy(f->img + 0x1000, "\x55\x48\x89\xe5\x90", 5);
	stack_put(f, SP0, RET);
	init_regs(&r, 0x1000);
	assert_int_equal(sym_unwind_fp(&f->r, &r, 0), 0);   /* push rbp seen */
	assert_int_equal(r.rip, RET);
	assert_int_equal(r.r[SYM_RSP], SP0 + 8);
	/* After the push: saved rbp at rsp, return address above it. */
	stack_put(f, SP0, 0xabab);
	stack_put(f, SP0 + 8, RET + 1);
	init_regs(&r, 0x1001);
	assert_int_equal(sym_unwind_fp(&f->r, &r, 0), 0);
	assert_int_equal(r.rip, RET + 1);
	assert_int_equal(r.r[SYM_RBP], 0xabab);
	assert_int_equal(r.r[SYM_RSP], SP0 + 16);
	/* In the body: the rbp chain. */
	stack_put(f, SP0 + 0x100, SP0 + 0x200);
	stack_put(f, SP0 + 0x108, RET + 2);
	init_regs(&r, 0x1004);
	r.r[SYM_RBP] = SP0 + 0x100;
	assert_int_equal(sym_unwind_fp(&f->r, &r, 0), 0);
	assert_int_equal(r.rip, RET + 2);
	assert_int_equal(r.r[SYM_RBP], SP0 + 0x200);
	assert_int_equal(r.r[SYM_RSP], SP0 + 0x110);
	/* An rbp below rsp, misaligned or zero is no chain. */
	init_regs(&r, 0x1004);
	r.r[SYM_RBP] = SP0 - 0x100;
	assert_int_equal(sym_unwind_fp(&f->r, &r, 0), -1);
	r.r[SYM_RBP] = SP0 + 3;
	assert_int_equal(sym_unwind_fp(&f->r, &r, 0), -1);
	r.r[SYM_RBP] = 0;
	assert_int_equal(sym_unwind_fp(&f->r, &r, 0), -1);
	/* A known function start is an entry whatever the byte there. */
	init_regs(&r, 0x1004);
	stack_put(f, SP0, RET + 3);
	assert_int_equal(sym_unwind_fp(&f->r, &r, 1), 0);
	assert_int_equal(r.rip, RET + 3);
}

/* The walk over a module with .pdata calling into one without: frames and how. */
static void stack_walk(void **state)
{
	struct fixture *f = *state;
	static const struct fake_export ex[] = { { "Leaf", 0x1000 }, { "Body", 0x1040 } };
	struct sym_module_desc mods[1] = { { BASE, IMG, "drv.sys" } };
	const uint16_t s[] = { op(4, SYM_UWOP_ALLOC_SMALL, 3) };
	struct sym_frame fr[8];
	struct sym_table *t;
	struct sym_regs r;
	size_t n;

	fake_pe(f->img, IMG, "drv.sys", ex, 2, 0x2000, 12);
	put32(f->img + 0x2000, 0x1040);  /* Body has unwind data, Leaf has none */
	put32(f->img + 0x2004, 0x1080);
	put32(f->img + 0x2008, 0x3000);
	put_info(f, 0x3000, 0, 4, s, 1, 0, 0, NULL);
	/* Leaf (rip 0x1008) <- Body+0x20 (ALLOC 0x20) <- 0xfffff80000a00000 (outside: fp) */
	stack_put(f, SP0, BASE + 0x1060);
	stack_put(f, SP0 + 8 + 0x20, 0xfffff80000a00000ull);
	t = sym_table_new(&f->r);
	assert_non_null(t);
	sym_table_set_modules(t, mods, 1);
	init_regs(&r, 0x1008);
	n = sym_stack_walk(t, &r, fr, 8);
	assert_int_equal(n, 3);
	assert_int_equal(fr[0].how, SYM_FRAME_LEAF);
	assert_int_equal(fr[0].ret, BASE + 0x1060);
	assert_int_equal(fr[1].how, SYM_FRAME_PDATA);
	assert_int_equal(fr[1].sp, SP0 + 8);
	assert_int_equal(fr[1].ret, 0xfffff80000a00000ull);
	assert_int_equal(fr[2].how, SYM_FRAME_FP);   /* no module there: fp, which fails */
	assert_int_equal(fr[2].ret, 0);
	sym_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(push_nonvol_and_alloc_small, setup, teardown),
		cmocka_unit_test_setup_teardown(alloc_large_both_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(set_fpreg, setup, teardown),
		cmocka_unit_test_setup_teardown(save_nonvol_near_and_far, setup, teardown),
		cmocka_unit_test_setup_teardown(save_xmm128_slots_are_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(push_machframe, setup, teardown),
		cmocka_unit_test_setup_teardown(chained_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(pdata_binary_search, setup, teardown),
		cmocka_unit_test_setup_teardown(frame_pointer_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(stack_walk, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
