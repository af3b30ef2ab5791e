/* SPDX-License-Identifier: MIT */
/* host/common/cli: option values (seconds) of the vmkd subcommands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../host/common/cli.h"

static void seconds(void **state)
{
	double v = -1;

	(void)state;
	assert_int_equal(cli_seconds("10", 100, &v), 0);
	assert_true(v == 10);
	assert_int_equal(cli_seconds("0.25", 100, &v), 0);
	assert_true(v == 0.25);
	assert_int_equal(cli_seconds("0", 100, &v), 0);
	assert_true(v == 0);
	assert_int_equal(cli_seconds("100", 100, &v), 0); /* the bound is inclusive */
	assert_true(v == 100);
	v = 7;
	assert_int_equal(cli_seconds("100.5", 100, &v), -1);
	assert_int_equal(cli_seconds("-1", 100, &v), -1);
	assert_int_equal(cli_seconds("", 100, &v), -1);
	assert_int_equal(cli_seconds("5s", 100, &v), -1);
	assert_int_equal(cli_seconds("nan", 100, &v), -1);
	assert_int_equal(cli_seconds("inf", 100, &v), -1);
	assert_int_equal(cli_seconds("1e999", 1e300, &v), -1); /* ERANGE */
	assert_true(v == 7); /* a refused value leaves the old one */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seconds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
