/* SPDX-License-Identifier: MIT */
/* disasm.h - x86-64 disassembly (capstone, Intel syntax) printed the way WinDbg does. */
#ifndef VMKD_HOST_DISASM_H
#define VMKD_HOST_DISASM_H

#include <stddef.h>
#include <stdint.h>

struct disasm;

enum disasm_flags {
	DISASM_CALL = 1u << 0,   /* call: `p` steps over it */
	DISASM_BRANCH = 1u << 1, /* jmp / jcc / loop */
	DISASM_RET = 1u << 2,
};

/* Returns NULL if capstone cannot be initialised. */
struct disasm *disasm_open(void);
void disasm_close(struct disasm *d);

/*
 * Decodes one instruction at addr from code[0..len). text gets "mnemonic operands" in
 * WinDbg's style ("sub     rsp,28h", "call    fffff800`00101000"); flags (may be NULL)
 * gets enum disasm_flags. Returns the instruction length, or 0 if the bytes do not decode.
 */
size_t disasm_one(struct disasm *d, uint64_t addr, const uint8_t *code, size_t len,
		  char *text, size_t cap, unsigned *flags);

/* A whole WinDbg line: "fffff800`00101000 4883ec28        sub     rsp,28h". Bytes that do
 * not decode give "??" and "???" and count as one byte. Returns the length consumed. */
size_t disasm_line(struct disasm *d, uint64_t addr, const uint8_t *code, size_t len,
		   char *line, size_t cap, unsigned *flags);

#endif
