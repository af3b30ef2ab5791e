/* SPDX-License-Identifier: MIT */
/* x64 unwinding: .pdata lookup, UNWIND_INFO interpretation, frame-pointer fallback. */
#include "sym_unwind.h"

#include <string.h>

#include "../common/errbuf.h"
#include "vmkd/kd_bytes.h"

#define RF_SIZE 12u
#define UNWIND_HDR 4u
#define MAX_CODES 255u

static int read_u64(const struct sym_reader *r, uint64_t va, uint64_t *v)
{
	uint8_t b[8];

	if (sym_read_exact(r, va, b, sizeof(b)))
		return -1;
	*v = kd_get_le64(b);
	return 0;
}

static int read_rf(const struct sym_reader *r, uint64_t va, struct sym_runtime_function *rf)
{
	uint8_t b[RF_SIZE];

	if (sym_read_exact(r, va, b, sizeof(b)))
		return -1;
	rf->begin = kd_get_le32(b);
	rf->end = kd_get_le32(b + 4);
	rf->unwind = kd_get_le32(b + 8);
	return 0;
}

int sym_pdata_lookup(const struct sym_reader *r, uint64_t base, uint32_t pdata_rva,
		     uint32_t pdata_size, uint32_t rva, struct sym_runtime_function *out)
{
	uint32_t lo = 0, hi = pdata_size / RF_SIZE;

	if (!pdata_rva || hi == 0)
		return 1;
	if (hi > SYM_PDATA_MAX_ENTRIES)
		hi = SYM_PDATA_MAX_ENTRIES;
	/* The table is sorted by BeginAddress (the loader relies on it too). */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		struct sym_runtime_function rf;

		if (read_rf(r, base + pdata_rva + (uint64_t)mid * RF_SIZE, &rf))
			return -1;
		if (rva < rf.begin) {
			hi = mid;
		} else if (rva >= rf.end) {
			lo = mid + 1;
		} else {
			*out = rf;
			return 0;
		}
	}
	return 1;
}

/* Slots each opcode takes (ALLOC_LARGE with OpInfo 1 takes one more). */
static unsigned op_slots(unsigned op, unsigned info)
{
	static const uint8_t slots[] = { 1, 2, 1, 1, 2, 3, 2, 3, 2, 3, 1 };

	if (op >= sizeof(slots))
		return 0;
	return op == SYM_UWOP_ALLOC_LARGE && info == 1 ? 3 : slots[op];
}

/*
 * Applies the codes of one UNWIND_INFO. prolog_off: how far rip is into the function
 * (UINT32_MAX for chained entries: all codes apply). *chain gets the chained entry, if any.
 */
static int apply_info(const struct sym_reader *r, uint64_t base, uint32_t unwind_rva,
		      uint32_t prolog_off, struct sym_regs *regs, int *machframe,
		      int *has_chain, struct sym_runtime_function *chain, char *err,
		      size_t errlen)
{
	uint8_t hdr[UNWIND_HDR], codes[2 * (MAX_CODES + 1) + RF_SIZE];
	unsigned version, flags, ncodes, frame_reg, frame_off, i;
	uint64_t va = base + unwind_rva;
	size_t codes_len;

	if (sym_read_exact(r, va, hdr, sizeof(hdr)))
		return errbuf_fail(err, errlen, "cannot read UNWIND_INFO at %016llx", (unsigned long long)va);
	version = hdr[0] & 7;
	flags = hdr[0] >> 3;
	ncodes = hdr[2];
	frame_reg = hdr[3] & 15;
	frame_off = hdr[3] >> 4;
	if (version != 1 && version != 2)
		return errbuf_fail(err, errlen, "UNWIND_INFO version %u at %016llx", version,
				   (unsigned long long)va);
	/* The codes, padded to an even count, then the chained RUNTIME_FUNCTION. */
	codes_len = 2u * ((ncodes + 1u) & ~1u) + ((flags & SYM_UNW_FLAG_CHAININFO) ? RF_SIZE : 0);
	if (sym_read_exact(r, va + UNWIND_HDR, codes, codes_len))
		return errbuf_fail(err, errlen, "cannot read unwind codes at %016llx",
				   (unsigned long long)(va + UNWIND_HDR));
	for (i = 0; i < ncodes;) {
		unsigned code_off = codes[2 * i], op = codes[2 * i + 1] & 15,
			 info = codes[2 * i + 1] >> 4, n = op_slots(op, info);
		uint64_t *rsp = &regs->r[SYM_RSP], v;
		uint32_t x;

		if (!n)
			return errbuf_fail(err, errlen, "unknown unwind opcode %u", op);
		if (i + n > ncodes)
			return errbuf_fail(err, errlen, "unwind opcode %u runs past the codes", op);
		/* In the prolog, codes of instructions not yet executed do not apply. */
		if (code_off > prolog_off && op != SYM_UWOP_EPILOG) {
			i += n;
			continue;
		}
		switch (op) {
		case SYM_UWOP_PUSH_NONVOL:
			if (read_u64(r, *rsp, &regs->r[info]))
				return errbuf_fail(err, errlen, "cannot read the saved register at %016llx",
						   (unsigned long long)*rsp);
			*rsp += 8;
			break;
		case SYM_UWOP_ALLOC_LARGE:
			if (info == 0)
				*rsp += 8u * (uint64_t)kd_get_le16(codes + 2 * (i + 1));
			else if (info == 1)
				*rsp += kd_get_le32(codes + 2 * (i + 1));
			else
				return errbuf_fail(err, errlen, "ALLOC_LARGE with OpInfo %u", info);
			break;
		case SYM_UWOP_ALLOC_SMALL:
			*rsp += 8u * info + 8u;
			break;
		case SYM_UWOP_SET_FPREG:
			if (!frame_reg)
				return errbuf_fail(err, errlen, "SET_FPREG without a frame register");
			*rsp = regs->r[frame_reg] - 16u * frame_off;
			break;
		case SYM_UWOP_SAVE_NONVOL:
		case SYM_UWOP_SAVE_NONVOL_FAR:
			x = op == SYM_UWOP_SAVE_NONVOL ? 8u * kd_get_le16(codes + 2 * (i + 1)) :
							 kd_get_le32(codes + 2 * (i + 1));
			if (read_u64(r, *rsp + x, &v))
				return errbuf_fail(err, errlen, "cannot read the saved register at %016llx",
						   (unsigned long long)(*rsp + x));
			regs->r[info] = v;
			break;
		case SYM_UWOP_SAVE_XMM128:
		case SYM_UWOP_SAVE_XMM128_FAR:
			/* XMM registers are not tracked: the slots are skipped. */
			break;
		case SYM_UWOP_EPILOG:
		case SYM_UWOP_SPARE_CODE:
			break; /* epilogue descriptions (version 2): only for epilogue detection */
		case SYM_UWOP_PUSH_MACHFRAME:
			/* RIP, CS, EFLAGS, RSP, SS pushed by the CPU, after an error code if info 1. */
			if (info > 1)
				return errbuf_fail(err, errlen, "PUSH_MACHFRAME with OpInfo %u", info);
			*rsp += 8u * info;
			if (read_u64(r, *rsp, &regs->rip) || read_u64(r, *rsp + 24, &v))
				return errbuf_fail(err, errlen, "cannot read the machine frame at %016llx",
						   (unsigned long long)*rsp);
			*rsp = v;
			*machframe = 1;
			break;
		}
		i += n;
	}
	*has_chain = !!(flags & SYM_UNW_FLAG_CHAININFO);
	if (*has_chain) {
		const uint8_t *c = codes + 2u * ((ncodes + 1u) & ~1u);

		chain->begin = kd_get_le32(c);
		chain->end = kd_get_le32(c + 4);
		chain->unwind = kd_get_le32(c + 8);
	}
	return 0;
}

int sym_unwind_leaf(const struct sym_reader *r, struct sym_regs *regs)
{
	if (read_u64(r, regs->r[SYM_RSP], &regs->rip))
		return -1;
	regs->r[SYM_RSP] += 8;
	return 0;
}

int sym_unwind_frame(const struct sym_reader *r, uint64_t base,
		     const struct sym_runtime_function *rf, struct sym_regs *regs,
		     int *machframe, char *err, size_t errlen)
{
	struct sym_runtime_function cur = *rf, next;
	uint64_t off = regs->rip - (base + rf->begin);
	uint32_t prolog_off = off > UINT32_MAX ? UINT32_MAX : (uint32_t)off;
	int chained = 0;

	*machframe = 0;
	for (unsigned depth = 0;; depth++) {
		if (depth > SYM_UNWIND_MAX_CHAIN)
			return errbuf_fail(err, errlen, "unwind chain longer than %d", SYM_UNWIND_MAX_CHAIN);
		if (apply_info(r, base, cur.unwind, chained ? UINT32_MAX : prolog_off, regs,
			       machframe, &chained, &next, err, errlen))
			return -1;
		if (!chained || *machframe)
			break;
		cur = next;
	}
	if (*machframe)
		return 0;
	if (sym_unwind_leaf(r, regs))
		return errbuf_fail(err, errlen, "cannot read the return address at %016llx",
				   (unsigned long long)regs->r[SYM_RSP]);
	return 0;
}

int sym_unwind_fp(const struct sym_reader *r, struct sym_regs *regs, int at_entry)
{
	uint8_t code[3] = { 0 };
	uint64_t rbp = regs->r[SYM_RBP], saved;
	size_t got = 0;

	r->read(r->opaque, regs->rip, code, sizeof(code), &got);
	/* push rbp / ret: nothing of this frame is on the stack yet (or any more). */
	if (at_entry || (got >= 1 && (code[0] == 0x55 || code[0] == 0xc3)))
		return sym_unwind_leaf(r, regs);
	/* mov rbp,rsp right after push rbp: the saved rbp is at rsp. */
	if (got == 3 && code[0] == 0x48 && code[1] == 0x89 && code[2] == 0xe5) {
		if (read_u64(r, regs->r[SYM_RSP], &saved))
			return -1;
		regs->r[SYM_RSP] += 8;
		regs->r[SYM_RBP] = saved;
		return sym_unwind_leaf(r, regs);
	}
	if (!rbp || rbp & 7 || rbp < regs->r[SYM_RSP])
		return -1; /* no chain to follow: frames live above the stack pointer */
	if (read_u64(r, rbp, &saved) || read_u64(r, rbp + 8, &regs->rip))
		return -1;
	regs->r[SYM_RSP] = rbp + 16;
	regs->r[SYM_RBP] = saved;
	return 0;
}
