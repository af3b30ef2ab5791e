/* SPDX-License-Identifier: MIT */
#include "sym_fake.h"

#include <stdlib.h>
#include <string.h>

void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

uint8_t *fake_region(struct fake_mem *m, uint64_t base, size_t len)
{
	if (m->n == FAKE_MAX_REGIONS)
		abort();
	m->r[m->n].base = base;
	m->r[m->n].len = len;
	m->r[m->n].bytes = calloc(1, len);
	if (!m->r[m->n].bytes)
		abort();
	return m->r[m->n++].bytes;
}

void fake_free(struct fake_mem *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->r[i].bytes);
	m->n = 0;
}

static int fake_read(void *opaque, uint64_t va, void *buf, size_t len, size_t *got)
{
	struct fake_mem *m = opaque;

	m->reads++;
	*got = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (va >= m->r[i].base && va - m->r[i].base < m->r[i].len) {
			size_t off = (size_t)(va - m->r[i].base), n = m->r[i].len - off;

			if (n > len)
				n = len;
			memcpy(buf, m->r[i].bytes + off, n);
			*got = n;
			return 0;
		}
	}
	return -1;
}

struct sym_reader fake_reader(struct fake_mem *m)
{
	return (struct sym_reader){ fake_read, m };
}

uint32_t fake_pe(uint8_t *img, size_t size, const char *dll, const struct fake_export *exports,
		 size_t n, uint32_t pdata_rva, uint32_t pdata_size)
{
	const uint32_t lfanew = 0x80, opt = lfanew + 24, dir = 0x1000;
	uint32_t funcs = dir + 40, names = funcs + 4 * (uint32_t)n, ords, str, nnames = 0;

	memset(img, 0, 0x400);
	img[0] = 'M';
	img[1] = 'Z';
	put32(img + 0x3c, lfanew);
	memcpy(img + lfanew, "PE\0\0", 4);
	put16(img + lfanew + 4, 0x8664);
	put16(img + lfanew + 20, 240);       /* SizeOfOptionalHeader */
	put16(img + opt, 0x20b);
	put64(img + opt + 24, 0xfffff80000000000ull);
	put32(img + opt + 56, (uint32_t)size);
	put32(img + opt + 108, 16);
	for (size_t i = 0; i < n; i++)
		nnames += exports[i].name != NULL;
	ords = names + 4 * nnames;
	str = ords + 2 * nnames;
	put32(img + dir + 16, 1);             /* ordinal base */
	put32(img + dir + 20, (uint32_t)n);
	put32(img + dir + 24, nnames);
	put32(img + dir + 28, funcs);
	put32(img + dir + 32, names);
	put32(img + dir + 36, ords);
	put32(img + dir + 12, str);
	strcpy((char *)img + str, dll);
	str += (uint32_t)strlen(dll) + 1;
	for (size_t i = 0, k = 0; i < n; i++) {
		put32(img + funcs + 4 * i, exports[i].rva);
		if (!exports[i].name)
			continue;
		put32(img + names + 4 * k, str);
		put16(img + ords + 2 * k, (uint16_t)i);
		strcpy((char *)img + str, exports[i].name);
		str += (uint32_t)strlen(exports[i].name) + 1;
		k++;
	}
	put32(img + opt + 112, dir);
	put32(img + opt + 116, str - dir);
	if (pdata_size) {
		put32(img + opt + 112 + 24, pdata_rva);
		put32(img + opt + 116 + 24, pdata_size);
	}
	return str - dir;
}
