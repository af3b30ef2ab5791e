/* SPDX-License-Identifier: MIT */
/* include/vmkd/kd_bytes.h: little-endian loads and stores, hex digits. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmkd/kd_bytes.h"

static void little_endian(void **state)
{
	uint8_t b[8];

	(void)state;
	kd_put_le64(b, 0x0123456789abcdefull);
	assert_int_equal(b[0], 0xef);
	assert_int_equal(b[7], 0x01);
	assert_int_equal(kd_get_le64(b), 0x0123456789abcdefull);
	assert_int_equal(kd_get_le32(b + 4), 0x01234567u);
	assert_int_equal(kd_get_le16(b + 2), 0x89abu);
}

/* Every byte value: a hex digit's value in either case, -1 for anything else. */
static void hex_digits(void **state)
{
	static const char digits[] = "0123456789abcdef";

	(void)state;
	for (int c = -128; c < 256; c++) {
		/* c > 0: strchr would find the terminating NUL */
		const char *at = c > 0 ? strchr(digits, tolower(c)) : NULL;
		int want = at ? (int)(at - digits) : -1;

		assert_int_equal(kd_hex_digit(c), want);
	}
	assert_int_equal(kd_hex_digit('F'), 15);
	assert_int_equal(kd_hex_digit('g'), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(little_endian),
		cmocka_unit_test(hex_digits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
