/* SPDX-License-Identifier: MIT */
/* host/sym/sym_pe: PE headers and export tables read over a reader, good and malformed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../host/sym/sym_pe.h"
#include "sym_fake.h"

#define BASE 0xfffff80000200000ull
#define SIZE 0x4000u

static const struct fake_export exports[] = {
	{ "Alpha", 0x2000 },
	{ "Beta", 0x2100 },
	{ NULL, 0x2200 },     /* by ordinal only */
	{ "Gamma", 0x3000 },
};

static void headers_and_exports(void **state)
{
	struct fake_mem m = { 0 };
	uint8_t *img = fake_region(&m, BASE, SIZE);
	struct sym_reader r = fake_reader(&m);
	struct sym_pe_info info;
	struct sym_pe_export *e;
	size_t n;
	char err[128];

	(void)state;
	fake_pe(img, SIZE, "test.dll", exports, 4, 0, 0);
	assert_int_equal(sym_pe_headers(&r, BASE, 0, &info, err, sizeof(err)), 0);
	assert_int_equal(info.machine, 0x8664);
	assert_int_equal(info.size_of_image, SIZE);
	assert_int_equal(info.dir[SYM_PE_DIR_EXPORT].rva, 0x1000);
	assert_int_equal(sym_pe_exports(&r, BASE, &info, &e, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	assert_string_equal(e[0].name, "Alpha");
	assert_int_equal(e[0].rva, 0x2000);
	assert_int_equal(e[0].ordinal, 1);
	assert_string_equal(e[2].name, "Gamma");
	assert_int_equal(e[2].ordinal, 4);
	assert_null(e[3].name);               /* the ordinal-only one comes last */
	assert_int_equal(e[3].rva, 0x2200);
	assert_int_equal(e[3].ordinal, 3);
	assert_int_equal(e[3].forwarder, 0);
	sym_pe_exports_free(e, n);
	fake_free(&m);
}

static void size_hint_bounds_the_image(void **state)
{
	struct fake_mem m = { 0 };
	uint8_t *img = fake_region(&m, BASE, SIZE);
	struct sym_reader r = fake_reader(&m);
	struct sym_pe_info info;
	struct sym_pe_export *e;
	size_t n;

	(void)state;
	fake_pe(img, SIZE, "test.dll", exports, 4, 0, 0);
	/* The module list says 0x2800: Gamma at 0x3000 lies outside and is dropped. */
	assert_int_equal(sym_pe_headers(&r, BASE, 0x2800, &info, NULL, 0), 0);
	assert_int_equal(info.size_of_image, 0x2800);
	assert_int_equal(sym_pe_exports(&r, BASE, &info, &e, &n, NULL, 0), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_true(e[i].rva < 0x2800);
	sym_pe_exports_free(e, n);
	fake_free(&m);
}

static void malformed_headers(void **state)
{
	struct fake_mem m = { 0 };
	uint8_t *img = fake_region(&m, BASE, SIZE);
	struct sym_reader r = fake_reader(&m);
	struct sym_pe_info info;
	char err[128];

	(void)state;
	fake_pe(img, SIZE, "test.dll", exports, 4, 0, 0);
	img[0] = 'X';
	assert_int_equal(sym_pe_headers(&r, BASE, 0, &info, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "MZ"));
	img[0] = 'M';
	put32(img + 0x3c, 0x7fffffff);
	assert_int_equal(sym_pe_headers(&r, BASE, 0, &info, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "e_lfanew"));
	put32(img + 0x3c, 0x80);
	img[0x80] = 'Q';
	assert_int_equal(sym_pe_headers(&r, BASE, 0, &info, err, sizeof(err)), -1);
	img[0x80] = 'P';
	put32(img + 0x80 + 24 + 56, 0);      /* SizeOfImage 0 */
	assert_int_equal(sym_pe_headers(&r, BASE, 0, &info, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "SizeOfImage"));
	put32(img + 0x80 + 24 + 56, SIZE);
	/* An export directory outside the image is ignored, not followed. */
	put32(img + 0x80 + 24 + 112, SIZE - 8);
	assert_int_equal(sym_pe_headers(&r, BASE, 0, &info, err, sizeof(err)), 0);
	assert_int_equal(info.dir[SYM_PE_DIR_EXPORT].rva, 0);
	/* Unreadable memory. */
	assert_int_equal(sym_pe_headers(&r, BASE + 0x100000, 0, &info, err, sizeof(err)), -1);
	fake_free(&m);
}

static void malformed_exports(void **state)
{
	struct fake_mem m = { 0 };
	uint8_t *img = fake_region(&m, BASE, SIZE);
	struct sym_reader r = fake_reader(&m);
	struct sym_pe_info info;
	struct sym_pe_export *e;
	size_t n;
	char err[128];

	(void)state;
	fake_pe(img, SIZE, "test.dll", exports, 4, 0, 0);
	assert_int_equal(sym_pe_headers(&r, BASE, 0, &info, NULL, 0), 0);
	/* A count beyond 16 bits of ordinals is refused. */
	put32(img + 0x1000 + 20, 0x10001);
	assert_int_equal(sym_pe_exports(&r, BASE, &info, &e, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too many"));
	/* The address array running off the image is an error, not a read past it. */
	put32(img + 0x1000 + 20, 4);
	put32(img + 0x1000 + 28, SIZE - 4);
	assert_int_equal(sym_pe_exports(&r, BASE, &info, &e, &n, err, sizeof(err)), -1);
	put32(img + 0x1000 + 28, 0x1000 + 40);
	/* An ordinal past the function count and a name outside the image are skipped. */
	put16(img + 0x1000 + 40 + 16 + 12, 77);
	put32(img + 0x1000 + 40 + 16, SIZE + 5);
	assert_int_equal(sym_pe_exports(&r, BASE, &info, &e, &n, err, sizeof(err)), 0);
	for (size_t i = 0; i < n; i++)
		assert_true(!e[i].name || strcmp(e[i].name, "Alpha"));
	sym_pe_exports_free(e, n);
	/* A name with no NUL before the end of the image is cut, not overrun. */
	memset(img + SIZE - 300, 'A', 300);
	put32(img + 0x1000 + 40 + 16 + 4, SIZE - 300);
	assert_int_equal(sym_pe_exports(&r, BASE, &info, &e, &n, err, sizeof(err)), 0);
	for (size_t i = 0; i < n; i++)
		assert_true(!e[i].name || strlen(e[i].name) < SYM_PE_MAX_NAME);
	sym_pe_exports_free(e, n);
	fake_free(&m);
}

static void forwarders_are_marked(void **state)
{
	struct fake_mem m = { 0 };
	uint8_t *img = fake_region(&m, BASE, SIZE);
	struct sym_reader r = fake_reader(&m);
	const struct fake_export fw[] = { { "Fwd", 0x1004 }, { "Real", 0x2000 } };
	struct sym_pe_info info;
	struct sym_pe_export *e;
	size_t n;

	(void)state;
	fake_pe(img, SIZE, "test.dll", fw, 2, 0, 0);
	assert_int_equal(sym_pe_headers(&r, BASE, 0, &info, NULL, 0), 0);
	assert_int_equal(sym_pe_exports(&r, BASE, &info, &e, &n, NULL, 0), 0);
	assert_int_equal(n, 2);
	assert_int_equal(e[0].forwarder, 1);  /* its RVA lies in the export directory */
	assert_int_equal(e[1].forwarder, 0);
	sym_pe_exports_free(e, n);
	fake_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(headers_and_exports),
		cmocka_unit_test(size_hint_bounds_the_image),
		cmocka_unit_test(malformed_headers),
		cmocka_unit_test(malformed_exports),
		cmocka_unit_test(forwarders_are_marked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
