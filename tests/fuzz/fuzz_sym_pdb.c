/* SPDX-License-Identifier: MIT */
/*
 * fuzz_sym_pdb.c - libFuzzer harness for the symbol layer's PDB (MSF 7.00) reader:
 * whatever the file holds, sym_pdb_symbols stays inside it, terminates, and every symbol it
 * returns has a non-empty name. Inputs that do not start with the MSF magic get it
 * prepended, so the fuzzer spends its time past the signature check.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../host/sym/sym_pdb.h"

static const char magic[32] = "Microsoft C/C++ MSF 7.00\r\n\x1a" "DS\0\0";

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sym_pdb_symbol *s = NULL;
	uint8_t *file;
	size_t n = 0, len = size;

	if (size >= sizeof(magic) && !memcmp(data, magic, sizeof(magic))) {
		file = malloc(size ? size : 1);
		if (!file)
			return 0;
		memcpy(file, data, size);
	} else {
		len = sizeof(magic) + size;
		file = malloc(len);
		if (!file)
			return 0;
		memcpy(file, magic, sizeof(magic));
		memcpy(file + sizeof(magic), data, size);
	}
	if (sym_pdb_symbols(file, len, NULL, &s, &n, NULL, 0) == 0) {
		for (size_t i = 0; i < n; i++)
			check(s[i].name && s[i].name[0]);
		sym_pdb_free(s, n);
	}
	free(file);
	return 0;
}
