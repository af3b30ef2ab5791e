/* SPDX-License-Identifier: MIT */
/*
 * The guest RAM layout parsed from QEMU's `info mtree -f` (answers captured from QEMU 7.2
 * through QMP, CRLF line ends included: q35 with 5 GiB splits at 2 GiB, pc at 3 GiB and
 * lists the SMM view first), hostile answers, the mapping's bounded reads, and the QMP
 * JSON string decoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../host/common/guest_ram.h"
#include "../../host/common/qmp.h"

static const char q35_5g[] =
	"FlatView #0\n"
	" AS \"memory\", root: system\n"
	" AS \"cpu-memory-0\", root: system\n"
	" Root memory region: system\n"
	"  0000000000000000-00000000000bffff (prio 0, ram): vmkd-ram\n"
	"  00000000000c0000-00000000000dffff (prio 1, rom): pc.rom\n"
	"  00000000000e0000-00000000000fffff (prio 0, rom): pc.bios @0000000000020000\n"
	"  0000000000100000-000000007fffffff (prio 0, ram): vmkd-ram @0000000000100000\n"
	"  00000000fec00000-00000000fec00fff (prio 0, i/o): ioapic\n"
	"  00000000fed00000-00000000fed003ff (prio 0, i/o): hpet\n"
	"  00000000fee00000-00000000feefffff (prio 4096, i/o): apic-msi\n"
	"  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios\n"
	"  0000000100000000-00000001bfffffff (prio 0, ram): vmkd-ram @0000000080000000\n"
	"\n"
	"FlatView #1\n"
	" AS \"cpu-smm-0\", root: memory\n"
	" Root memory region: memory\n"
	"  0000000000000000-00000000000bffff (prio 0, ram): vmkd-ram\n"
	"  00000000000c0000-00000000000dffff (prio 1, rom): pc.rom\n"
	"  00000000000e0000-00000000000fffff (prio 0, rom): pc.bios @0000000000020000\n"
	"  0000000000100000-000000007fffffff (prio 0, ram): vmkd-ram @0000000000100000\n"
	"  00000000fec00000-00000000fec00fff (prio 0, i/o): ioapic\n"
	"  00000000fed00000-00000000fed003ff (prio 0, i/o): hpet\n"
	"  00000000fee00000-00000000feefffff (prio 4096, i/o): apic-msi\n"
	"  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios\n"
	"  0000000100000000-00000001bfffffff (prio 0, ram): vmkd-ram @0000000080000000\n"
	"\n"
	"FlatView #2\n"
	" AS \"I/O\", root: io\n"
	" Root memory region: io\n"
	"  0000000000000000-0000000000000007 (prio 0, i/o): dma-chan\n"
	"  0000000000000008-000000000000000f (prio 0, i/o): dma-cont\n"
	"  0000000000000010-000000000000001f (prio 0, i/o): io @0000000000000010\n"
	"  0000000000000020-0000000000000021 (prio 0, i/o): pic\n"
	"  0000000000000022-000000000000003f (prio 0, i/o): io @0000000000000022\n"
	"  0000000000000040-0000000000000043 (prio 0, i/o): pit\n"
	"  0000000000000044-000000000000005f (prio 0, i/o): io @0000000000000044\n"
	"  0000000000000060-0000000000000060 (prio 0, i/o): i8042-data\n"
	"  0000000000000061-0000000000000061 (prio 0, i/o): pcspk\n"
	"  0000000000000062-0000000000000063 (prio 0, i/o): io @0000000000000062\n"
	"  0000000000000064-0000000000000064 (prio 0, i/o): i8042-cmd\n"
	"  0000000000000065-000000000000006f (prio 0, i/o): io @0000000000000065\n"
	"  0000000000000070-0000000000000070 (prio 0, i/o): rtc-index\n"
	"  0000000000000071-0000000000000071 (prio 0, i/o): rtc @0000000000000001\n"
	"  0000000000000072-000000000000007d (prio 0, i/o): io @0000000000000072\n"
	"  000000000000007e-000000000000007f (prio 0, i/o): kvmvapic\n"
	"  0000000000000080-0000000000000080 (prio 0, i/o): ioport80\n"
	"  0000000000000081-0000000000000083 (prio 0, i/o): dma-page\n"
	"  0000000000000084-0000000000000086 (prio 0, i/o): io @0000000000000084\n"
	"  0000000000000087-0000000000000087 (prio 0, i/o): dma-page\n"
	"  0000000000000088-0000000000000088 (prio 0, i/o): io @0000000000000088\n"
	"  0000000000000089-000000000000008b (prio 0, i/o): dma-page\n"
	"  000000000000008c-000000000000008e (prio 0, i/o): io @000000000000008c\n"
	"  000000000000008f-000000000000008f (prio 0, i/o): dma-page\n"
	"  0000000000000090-0000000000000091 (prio 0, i/o): io @0000000000000090\n"
	"  0000000000000092-0000000000000092 (prio 0, i/o): port92\n"
	"  0000000000000093-000000000000009f (prio 0, i/o): io @0000000000000093\n"
	"  00000000000000a0-00000000000000a1 (prio 0, i/o): pic\n"
	"  00000000000000a2-00000000000000b1 (prio 0, i/o): io @00000000000000a2\n"
	"  00000000000000b2-00000000000000b3 (prio 0, i/o): apm-io\n"
	"  00000000000000b4-00000000000000bf (prio 0, i/o): io @00000000000000b4\n"
	"  00000000000000c0-00000000000000cf (prio 0, i/o): dma-chan\n"
	"  00000000000000d0-00000000000000df (prio 0, i/o): dma-cont\n"
	"  00000000000000e0-00000000000000ef (prio 0, i/o): io @00000000000000e0\n"
	"  00000000000000f0-00000000000000f0 (prio 0, i/o): ioportF0\n"
	"  00000000000000f1-00000000000004cf (prio 0, i/o): io @00000000000000f1\n"
	"  00000000000004d0-00000000000004d0 (prio 0, i/o): elcr\n"
	"  00000000000004d1-00000000000004d1 (prio 0, i/o): elcr\n"
	"  00000000000004d2-000000000000050f (prio 0, i/o): io @00000000000004d2\n"
	"  0000000000000510-0000000000000511 (prio 0, i/o): fwcfg\n"
	"  0000000000000512-0000000000000513 (prio 0, i/o): io @0000000000000512\n"
	"  0000000000000514-000000000000051b (prio 0, i/o): fwcfg.dma\n"
	"  000000000000051c-0000000000000cbf (prio 0, i/o): io @000000000000051c\n"
	"  0000000000000cc0-0000000000000cd7 (prio 0, i/o): acpi-pci-hotplug\n"
	"  0000000000000cd8-0000000000000cf7 (prio 0, i/o): acpi-cpu-hotplug\n"
	"  0000000000000cf8-0000000000000cf8 (prio 0, i/o): pci-conf-idx\n"
	"  0000000000000cf9-0000000000000cf9 (prio 1, i/o): lpc-reset-control\n"
	"  0000000000000cfa-0000000000000cfb (prio 0, i/o): pci-conf-idx @0000000000000002\n"
	"  0000000000000cfc-0000000000000cff (prio 0, i/o): pci-conf-data\n"
	"  0000000000000d00-0000000000005657 (prio 0, i/o): io @0000000000000d00\n"
	"  0000000000005658-0000000000005658 (prio 0, i/o): vmport\n"
	"  0000000000005659-000000000000ffff (prio 0, i/o): io @0000000000005659\n"
	"\n";

static const char pc_5g[] =
	"FlatView #0\n"
	" AS \"cpu-smm-0\", root: memory\n"
	" Root memory region: memory\n"
	"  0000000000000000-00000000000bffff (prio 0, ram): vmkd-ram\n"
	"  00000000000c0000-00000000000dffff (prio 1, rom): pc.rom\n"
	"  00000000000e0000-00000000000fffff (prio 0, rom): pc.bios @0000000000020000\n"
	"  0000000000100000-00000000bfffffff (prio 0, ram): vmkd-ram @0000000000100000\n"
	"  00000000fec00000-00000000fec00fff (prio 0, i/o): ioapic\n"
	"  00000000fed00000-00000000fed003ff (prio 0, i/o): hpet\n"
	"  00000000fee00000-00000000feefffff (prio 4096, i/o): apic-msi\n"
	"  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios\n"
	"  0000000100000000-000000017fffffff (prio 0, ram): vmkd-ram @00000000c0000000\n"
	"\n"
	"FlatView #1\n"
	" AS \"i440FX\", root: bus master container\n"
	" AS \"PIIX3\", root: bus master container\n"
	" AS \"piix3-ide\", root: bus master container\n"
	" AS \"PIIX4_PM\", root: bus master container\n"
	" Root memory region: (none)\n"
	"  No rendered FlatView\n"
	"\n"
	"FlatView #2\n"
	" AS \"memory\", root: system\n"
	" AS \"cpu-memory-0\", root: system\n"
	" Root memory region: system\n"
	"  0000000000000000-00000000000bffff (prio 0, ram): vmkd-ram\n"
	"  00000000000c0000-00000000000dffff (prio 1, rom): pc.rom\n"
	"  00000000000e0000-00000000000fffff (prio 0, rom): pc.bios @0000000000020000\n"
	"  0000000000100000-00000000bfffffff (prio 0, ram): vmkd-ram @0000000000100000\n"
	"  00000000fec00000-00000000fec00fff (prio 0, i/o): ioapic\n"
	"  00000000fed00000-00000000fed003ff (prio 0, i/o): hpet\n"
	"  00000000fee00000-00000000feefffff (prio 4096, i/o): apic-msi\n"
	"  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios\n"
	"  0000000100000000-000000017fffffff (prio 0, ram): vmkd-ram @00000000c0000000\n"
	"\n";

static int parse(const char *text, const char *id, struct guest_ram_layout *l, char *err)
{
	return guest_ram_parse_mtree(text, strlen(text), id, l, err, 256);
}

static void expect_range(const struct guest_ram_layout *l, size_t i, uint64_t gpa,
			 uint64_t size, uint64_t offset)
{
	assert_true(i < l->count);
	assert_int_equal(l->r[i].gpa, gpa);
	assert_int_equal(l->r[i].size, size);
	assert_int_equal(l->r[i].offset, offset);
}

static void layout_q35_splits_at_2g(void **state)
{
	struct guest_ram_layout l;
	char err[256];

	(void)state;
	assert_int_equal(parse(q35_5g, "vmkd-ram", &l, err), 0);
	assert_int_equal(l.count, 3);
	expect_range(&l, 0, 0, 0xc0000, 0);
	expect_range(&l, 1, 0x100000, 0x7ff00000, 0x100000);
	expect_range(&l, 2, 0x100000000ull, 0xc0000000ull, 0x80000000ull);
	assert_int_equal(guest_ram_layout_file_size(&l), 0x140000000ull);
	assert_int_equal(guest_ram_total(&l), 0x140000000ull - 0x40000);
}

static void layout_pc_splits_at_3g_and_skips_the_smm_view(void **state)
{
	struct guest_ram_layout l;
	char err[256];

	(void)state;
	assert_int_equal(parse(pc_5g, "vmkd-ram", &l, err), 0);
	assert_int_equal(l.count, 3);
	expect_range(&l, 1, 0x100000, 0xbff00000ull, 0x100000);
	expect_range(&l, 2, 0x100000000ull, 0x80000000ull, 0xc0000000ull);
	/* Another backend id: nothing of ours in the view. */
	assert_int_equal(parse(pc_5g, "pc.ram", &l, err), -1);
	assert_non_null(strstr(err, "no RAM of backend 'pc.ram'"));
}

static void layout_hostile_answers(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "", "no FlatView" },
		{ "garbage\nmore garbage", "no FlatView" },
		{ "FlatView #0\n AS \"I/O\", root: io\n"
		  "  0000000000000000-00000000000bffff (prio 0, ram): vmkd-ram\n", "no RAM" },
		{ "FlatView #0\n AS \"memory\", root: system\n"
		  "  0000000000000000-00000000000bffff (prio 0, ram): vmkd-ram\n"
		  "  0000000000080000-00000000000fffff (prio 0, ram): vmkd-ram @0000000000100000\n",
		  "overlap" },
		{ "FlatView #0\n AS \"memory\", root: system\n"
		  "  0000000000000000-00000000000bffff (prio 0, ram): vmkd-ram\n"
		  "  0000000000100000-00000000001fffff (prio 0, ram): vmkd-ram @0000000000000000\n",
		  "share file offset" },
		{ "FlatView #0\n AS \"memory\", root: system\n"
		  "  0000000000000000-ffffffffffffffff (prio 0, ram): vmkd-ram\n", "wraps" },
		{ "FlatView #0\n AS \"memory\", root: system\n"
		  "  0000000000001000-0000000000001fff (prio 0, ram): vmkd-ram @fffffffffffff800\n",
		  "wraps" },
		{ "FlatView #0\n AS \"memory\", root: system\n"
		  "  0000000000002000-0000000000001fff (prio 0, ram): vmkd-ram\n", "malformed" },
		{ "FlatView #0\n AS \"memory\", root: system\n"
		  "  0000000000000000-00000000000bfzff (prio 0, ram): vmkd-ram\n", "malformed" },
		{ "FlatView #0\n AS \"memory\", root: system\n"
		  "  0000000000000000-00000000000bffff (prio 0 ram: vmkd-ram\n", "malformed" },
		{ "FlatView #0\n AS \"memory\", root: system\n"
		  "  0000000000000000-00000000000bffff (prio 0, ram): vmkd-ram @12\n", "malformed" },
	};
	struct guest_ram_layout l;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(parse(bad[i].text, "vmkd-ram", &l, err), -1);
		if (!strstr(err, bad[i].why))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].why);
	}
	assert_int_equal(parse(q35_5g, "", &l, err), -1);
}

static void layout_too_many_ranges_and_long_lines(void **state)
{
	size_t cap = 64 * (GUEST_RAM_MAX_RANGES + 2) + 4096;
	char *text = malloc(cap), *p = text;
	struct guest_ram_layout l;
	char err[256];

	(void)state;
	assert_non_null(text);
	p += sprintf(p, "FlatView #0\n AS \"memory\", root: system\n");
	for (unsigned i = 0; i <= GUEST_RAM_MAX_RANGES; i++)
		p += sprintf(p, "  %016x-%016x (prio 0, ram): vmkd-ram @%016x\n", i * 0x2000u,
			     i * 0x2000u + 0xfffu, i * 0x1000u);
	assert_int_equal(parse(text, "vmkd-ram", &l, err), -1);
	assert_non_null(strstr(err, "more than"));
	/* Exactly the maximum is fine, and the ranges come out sorted. */
	*strrchr(text, '\n') = '\0';
	*(strrchr(text, '\n') + 1) = '\0';
	assert_int_equal(parse(text, "vmkd-ram", &l, err), 0);
	assert_int_equal(l.count, GUEST_RAM_MAX_RANGES);
	/* An overlong line in the memory view. */
	p = text + sprintf(text, "FlatView #0\n AS \"memory\", root: system\n  ");
	memset(p, 'x', 2000);
	p[2000] = '\0';
	assert_int_equal(parse(text, "vmkd-ram", &l, err), -1);
	/* Not NUL-terminated: only len bytes are looked at. */
	assert_int_equal(guest_ram_parse_mtree(q35_5g, 120, "vmkd-ram", &l, err, sizeof(err)), -1);
	free(text);
}

static void ram_reads_stop_where_ram_ends(void **state)
{
	struct guest_ram_layout l;
	struct guest_ram g;
	static uint8_t file[0x3000];
	uint8_t buf[0x3000];
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(file); i++)
		file[i] = (uint8_t)(i * 13 + 1);
	assert_int_equal(parse("FlatView #0\n AS \"memory\", root: system\n"
			       "  0000000000000000-0000000000000fff (prio 0, ram): r\n"
			       "  0000000000001000-0000000000001fff (prio 0, ram): r @0000000000002000\n"
			       "  0000000100000000-0000000100000fff (prio 0, ram): r @0000000000001000\n",
			       "r", &l, err), 0);
	assert_int_equal(guest_ram_use_buffer(&g, file, 0x2fff, &l, 0), -1); /* too small */
	assert_int_equal(guest_ram_use_buffer(&g, file, sizeof(file), &l, 0), 0);
	/* Adjacent ranges with different offsets: read across. */
	assert_int_equal(guest_ram_read(&g, 0xff0, buf, 0x20), 0x20);
	assert_memory_equal(buf, file + 0xff0, 0x10);
	assert_memory_equal(buf + 0x10, file + 0x2000, 0x10);
	assert_null(guest_ram_ptr(&g, 0xff0, 0x20)); /* not one range */
	assert_ptr_equal(guest_ram_ptr(&g, 0x1000, 0x1000), file + 0x2000);
	assert_null(guest_ram_ptr(&g, 0x1000, 0x1001));
	/* The hole: a read stops there. */
	assert_int_equal(guest_ram_read(&g, 0x1ff8, buf, 0x10), 8);
	assert_int_equal(guest_ram_read(&g, 0x2000, buf, 1), 0);
	assert_int_equal(guest_ram_read(&g, 0x100000ff8ull, buf, 0x10), 8);
	assert_memory_equal(buf, file + 0x1ff8, 8);
	assert_int_equal(guest_ram_read(&g, 0xfffffffffffffff0ull, buf, 0x20), 0);
	assert_null(guest_ram_ptr(&g, 0xffffffffffffffffull, 2));
	guest_ram_unmap(&g);
}

static void ram_map_checks_the_file(void **state)
{
	char path[] = "/tmp/vmkd-test-ram.XXXXXX", err[256];
	struct guest_ram_layout l = { .count = 1, .r = { { 0, 0x2000, 0 } } };
	struct guest_ram g;
	uint8_t buf[16];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 0x1000), 0);
	assert_int_equal(guest_ram_map(&g, path, &l, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "the layout needs"));
	assert_int_equal(pwrite(fd, "hello", 5, 0x1ffb), 5);
	assert_int_equal(guest_ram_map(&g, path, &l, 0, err, sizeof(err)), 0);
	assert_int_equal(guest_ram_read(&g, 0x1ffb, buf, 16), 5);
	assert_memory_equal(buf, "hello", 5);
	guest_ram_unmap(&g);
	close(fd);
	unlink(path);
	assert_int_equal(guest_ram_map(&g, path, &l, 0, err, sizeof(err)), -1);
}

static void qmp_json_strings(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(qmp_json_string("{\"return\": \"a\\r\\nb\\\"c\\\\d\\u0041\"}", "return",
					 out, sizeof(out)), 9);
	assert_string_equal(out, "a\r\nb\"c\\dA");
	assert_int_equal(qmp_json_string("{\"return\": {}}", "return", out, sizeof(out)), -1);
	assert_int_equal(qmp_json_string("{\"return\": \"unterminated", "return", out,
					 sizeof(out)), -1);
	assert_int_equal(qmp_json_string("{\"return\": \"bad \\u00zz\"}", "return", out,
					 sizeof(out)), -1);
	assert_int_equal(qmp_json_string("{\"return\": \"0123456789\"}", "return", out, 4), 3);
	assert_string_equal(out, "012");
	assert_int_equal(qmp_json_string("{\"error\": {}}", "return", out, sizeof(out)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(layout_q35_splits_at_2g),
		cmocka_unit_test(layout_pc_splits_at_3g_and_skips_the_smm_view),
		cmocka_unit_test(layout_hostile_answers),
		cmocka_unit_test(layout_too_many_ranges_and_long_lines),
		cmocka_unit_test(ram_reads_stop_where_ram_ends),
		cmocka_unit_test(ram_map_checks_the_file),
		cmocka_unit_test(qmp_json_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
