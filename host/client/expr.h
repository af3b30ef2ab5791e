/* SPDX-License-Identifier: MIT */
/*
 * expr.h - WinDbg-style numbers and expressions, and the command-line tokenizer.
 *
 * Numbers are hex by default (0x optional), with 0n for decimal, 0t octal, 0y binary, and
 * backticks as separators anywhere (fffff800`00100000). Terms: numbers, @reg (or a bare
 * register name that is not also a hex number), module, module!symbol, poi(expr) (8 bytes at
 * expr), (expr). A bare word is a number if it can be one, else a module, else a register.
 * Operators: unary -, binary + - *, left to right with * binding tighter.
 */
#ifndef VMKD_HOST_EXPR_H
#define VMKD_HOST_EXPR_H

#include <stddef.h>
#include <stdint.h>

struct expr_env {
	/* Value of a register; returns 0, or -1 if there is no such register. */
	int (*reg)(void *opaque, const char *name, size_t len, uint64_t *value);
	/* Reads 8 bytes for poi(); returns 0 or -1. */
	int (*read_ptr)(void *opaque, uint64_t addr, uint64_t *value);
	void *opaque;
	/* Address of "module" or "module!symbol" (text[0..len)); 0, or -1 if unknown. */
	int (*symbol)(void *opaque, const char *text, size_t len, uint64_t *value);
};

/* Evaluates text (whole). env may be NULL (no registers, no poi). Returns 0 or -1 with a
 * message ("bad number '12g'") in err. */
int expr_eval(const char *text, const struct expr_env *env, uint64_t *out, char *err,
	      size_t errlen);

/* A plain number (no registers); returns 0 or -1. */
int expr_number(const char *text, uint64_t *out);

/*
 * Splits line in place into at most max words at blanks; "double quotes" group a word.
 * Returns the number of words, or -1 if there are more than max or a quote is open.
 */
int expr_split(char *line, char **argv, int max);

/*
 * Cuts the next command off a "cmd; cmd" list: returns a pointer to the start of the next
 * command (after the ';') or NULL at the end, and terminates the current one in place.
 * Semicolons inside double quotes do not split.
 */
char *expr_next_command(char *list);

/* Parses a WinDbg length argument at argv[*i]: "L20", "l20", "L 20" or "L?20"; advances *i.
 * Returns 1 if one was found, 0 if argv[*i] is not a length, -1 if it is malformed. */
int expr_length(int argc, char **argv, int *i, uint64_t *count);

#endif
