/* SPDX-License-Identifier: MIT */
/* Boot options from the loader block (one known x64 layout) and their parser. */
#include "kdvm_options.h"

#define KERNEL_HALF 0xFFFF800000000000ull

const char *kdvm_loader_options(const void *loader_block)
{
	const uint8_t *b = loader_block;
	uint32_t major, size;
	uint64_t p = 0;

	if (!b)
		return NULL;
	major = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
		((uint32_t)b[3] << 24);
	size = (uint32_t)b[KDVM_LPB_SIZE_OFF] | ((uint32_t)b[KDVM_LPB_SIZE_OFF + 1] << 8) |
	       ((uint32_t)b[KDVM_LPB_SIZE_OFF + 2] << 16) |
	       ((uint32_t)b[KDVM_LPB_SIZE_OFF + 3] << 24);
	if (major != 10 || size != KDVM_LPB_KNOWN_SIZE)
		return NULL;
	for (unsigned i = 0; i < 8; i++)
		p |= (uint64_t)b[KDVM_LPB_LOAD_OPTIONS_OFF + i] << (8 * i);
	if (p < KERNEL_HALF)
		return NULL;
	return (const char *)(uintptr_t)p;
}

static char upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static int is_sep(char c)
{
	return c == ' ' || c == '\t' || c == '/' || c == ',';
}

/* The length of key (upper case, ending in "=") if the word at w (length n) starts with it,
 * else 0. */
static size_t key_len(const char *w, size_t n, const char *key)
{
	size_t i;

	for (i = 0; key[i]; i++)
		if (i >= n || upper(w[i]) != key[i])
			return 0;
	return i;
}

void kdvm_options_parse(const char *opts, struct kdvm_options *o)
{
	size_t i = 0;

	for (size_t k = 0; k < sizeof(*o); k++)
		((uint8_t *)o)[k] = 0;
	if (!opts)
		return;
	while (i < KDVM_OPTIONS_MAX && opts[i]) {
		size_t start, n, kl;

		while (i < KDVM_OPTIONS_MAX && opts[i] && is_sep(opts[i]))
			i++;
		start = i;
		while (i < KDVM_OPTIONS_MAX && opts[i] && !is_sep(opts[i]))
			i++;
		n = i - start;
		kl = key_len(opts + start, n, "DEBUGPORT=");
		if (kl) {
			size_t v = 0;

			while (kl + v < n && v < sizeof(o->debugport) - 1) {
				o->debugport[v] = upper(opts[start + kl + v]);
				v++;
			}
			o->debugport[v] = 0;
			o->have_debugport = 1;
		}
	}
}
