/* SPDX-License-Identifier: MIT */
/*
 * The Windows full memory dump header (DUMP_HEADER64): built from KD facts, then read back
 * field by field both by raw offsets (what WinDbg and Volatility read) and by
 * dump_win_parse; the page lookup through the runs; headers that must be refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmkd/kd_bytes.h"

#include "../../host/dump/dump_windows.h"

static uint8_t hdr[DMP_HEADER_SIZE];

static void sample(struct dump_win_info *info, struct guest_ram_layout *l)
{
	memset(info, 0, sizeof(*info));
	info->major = 0xF;
	info->minor = 19041;
	info->dtb = 0x1ad000;
	info->pfn_database = 0xfffffa8000000000ull;
	info->ps_loaded_module_list = 0xfffff80002a4e670ull;
	info->ps_active_process_head = 0xfffff80002a48940ull;
	info->machine = 0x8664;
	info->number_processors = 2;
	info->kd_debugger_data_block = 0xfffff800029f70a0ull;
	info->context.rip = 0xfffff80000203292ull;
	info->context.rsp = 0xfffff8000022ff00ull;
	info->context.seg_cs = 0x10;
	info->exception_code = 0x80000003u;
	info->exception_address = 0xfffff80000203292ull;
	info->system_time = 0x01db0000deadbeefull;
	memset(l, 0, sizeof(*l));
	l->count = 3;
	l->r[0] = (struct guest_ram_range){ 0, 0xc0000, 0 };
	l->r[1] = (struct guest_ram_range){ 0x100000, 0x7ff00000, 0x100000 };
	l->r[2] = (struct guest_ram_range){ 0x100000000ull, 0xc0000000ull, 0x80000000ull };
}

static void header_fields_at_their_offsets(void **state)
{
	struct dump_win_info info;
	struct guest_ram_layout l;
	char err[128];
	uint64_t pages = 0xc0 + 0x7ff00 + 0xc0000;

	(void)state;
	sample(&info, &l);
	assert_int_equal(dump_win_build(hdr, &info, &l, err, sizeof(err)), 0);
	assert_memory_equal(hdr, "PAGEDU64", 8);
	assert_int_equal(kd_get_le32(hdr + 0x08), 0xF);
	assert_int_equal(kd_get_le32(hdr + 0x0C), 19041);
	assert_int_equal(kd_get_le64(hdr + 0x10), 0x1ad000);
	assert_int_equal(kd_get_le64(hdr + 0x18), 0xfffffa8000000000ull);
	assert_int_equal(kd_get_le64(hdr + 0x20), 0xfffff80002a4e670ull);
	assert_int_equal(kd_get_le64(hdr + 0x28), 0xfffff80002a48940ull);
	assert_int_equal(kd_get_le32(hdr + 0x30), 0x8664);
	assert_int_equal(kd_get_le32(hdr + 0x34), 2);
	assert_int_equal(kd_get_le32(hdr + 0x38), 0);          /* BugCheckCode */
	assert_int_equal(kd_get_le64(hdr + 0x40), 0);          /* BugCheckParameter1 */
	assert_memory_equal(hdr + 0x60, "PAGEPAGE", 8);         /* VersionUser: untouched */
	assert_int_equal(kd_get_le64(hdr + 0x80), 0xfffff800029f70a0ull);
	assert_int_equal(kd_get_le32(hdr + 0x88), 3);          /* NumberOfRuns */
	assert_int_equal(kd_get_le64(hdr + 0x90), pages);      /* NumberOfPages */
	assert_int_equal(kd_get_le64(hdr + 0x98), 0);          /* Run[0].BasePage */
	assert_int_equal(kd_get_le64(hdr + 0xa0), 0xc0);       /* Run[0].PageCount */
	assert_int_equal(kd_get_le64(hdr + 0xa8), 0x100);
	assert_int_equal(kd_get_le64(hdr + 0xb0), 0x7ff00);
	assert_int_equal(kd_get_le64(hdr + 0xb8), 0x100000);
	assert_int_equal(kd_get_le64(hdr + 0xc0), 0xc0000);
	assert_int_equal(kd_get_le64(hdr + 0x348 + offsetof(struct kd_context_amd64, rip)),
			 0xfffff80000203292ull);
	assert_int_equal(kd_get_le32(hdr + 0xf00), 0x80000003u); /* ExceptionCode */
	assert_int_equal(kd_get_le64(hdr + 0xf10), 0xfffff80000203292ull); /* ExceptionAddress */
	assert_int_equal(kd_get_le32(hdr + 0xf98), 1);         /* DumpType: full */
	assert_int_equal(kd_get_le64(hdr + 0xfa0), 0x2000 + pages * 0x1000);
	assert_int_equal(kd_get_le64(hdr + 0xfa8), 0x01db0000deadbeefull);
	assert_memory_equal(hdr + 0xfb0, "vmkd dump", 9);
	assert_memory_equal(hdr + 0x1ff8, "PAGEPAGE", 8);       /* the tail: the pattern */
}

static void header_reads_back(void **state)
{
	struct dump_win_info info;
	struct guest_ram_layout l;
	struct dump_win_header h;
	char err[128];

	(void)state;
	sample(&info, &l);
	assert_int_equal(dump_win_build(hdr, &info, &l, err, sizeof(err)), 0);
	assert_int_equal(dump_win_parse(hdr, sizeof(hdr), 0, &h, err, sizeof(err)), 0);
	assert_int_equal(h.info.minor, 19041);
	assert_int_equal(h.info.dtb, info.dtb);
	assert_int_equal(h.info.pfn_database, info.pfn_database);
	assert_int_equal(h.info.ps_loaded_module_list, info.ps_loaded_module_list);
	assert_int_equal(h.info.ps_active_process_head, info.ps_active_process_head);
	assert_int_equal(h.info.kd_debugger_data_block, info.kd_debugger_data_block);
	assert_int_equal(h.info.number_processors, 2);
	assert_memory_equal(&h.info.context, &info.context, sizeof(info.context));
	assert_int_equal(h.number_of_runs, 3);
	assert_int_equal(h.runs[2].base_page, 0x100000);
	/* Pages are laid out run after run behind the header. */
	assert_int_equal(dump_win_page_offset(&h, 0), 0x2000);
	assert_int_equal(dump_win_page_offset(&h, 0xbf123), 0x2000 + 0xbf000);
	assert_int_equal(dump_win_page_offset(&h, 0xc0000), 0);   /* not RAM */
	assert_int_equal(dump_win_page_offset(&h, 0x100000), 0x2000 + 0xc0000);
	assert_int_equal(dump_win_page_offset(&h, 0x100000000ull),
			 0x2000 + (0xc0 + 0x7ff00) * 0x1000ull);
	assert_string_equal(h.comment, "vmkd dump: full memory dump from the host");
	/* The file must hold every page. */
	assert_int_equal(dump_win_parse(hdr, sizeof(hdr), 0x3000, &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "the runs need"));
}

static void bad_headers(void **state)
{
	struct dump_win_info info;
	struct guest_ram_layout l;
	struct dump_win_header h;
	char err[128];

	(void)state;
	sample(&info, &l);
	l.r[1].size = 0x7ff00800;
	assert_int_equal(dump_win_build(hdr, &info, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not page aligned"));
	l.count = DMP_MAX_RUNS + 1;
	assert_int_equal(dump_win_build(hdr, &info, &l, err, sizeof(err)), -1);
	sample(&info, &l);
	assert_int_equal(dump_win_build(hdr, &info, &l, err, sizeof(err)), 0);

	assert_int_equal(dump_win_parse(hdr, 100, 0, &h, err, sizeof(err)), -1);
	hdr[4] = 'X';
	assert_int_equal(dump_win_parse(hdr, sizeof(hdr), 0, &h, err, sizeof(err)), -1);
	hdr[4] = 'D';
	kd_put_le32(hdr + DMP_OFF_DUMP_TYPE, 2);
	assert_int_equal(dump_win_parse(hdr, sizeof(hdr), 0, &h, err, sizeof(err)), -1);
	kd_put_le32(hdr + DMP_OFF_DUMP_TYPE, 1);
	kd_put_le32(hdr + DMP_OFF_RUNS, 0);
	assert_int_equal(dump_win_parse(hdr, sizeof(hdr), 0, &h, err, sizeof(err)), -1);
	kd_put_le32(hdr + DMP_OFF_RUNS, 1000);
	assert_int_equal(dump_win_parse(hdr, sizeof(hdr), 0, &h, err, sizeof(err)), -1);
	kd_put_le32(hdr + DMP_OFF_RUNS, 3);
	kd_put_le64(hdr + 0xa8, 0x10); /* run 1 starts inside run 0 */
	assert_int_equal(dump_win_parse(hdr, sizeof(hdr), 0, &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "out of order"));
	kd_put_le64(hdr + 0xa8, 0x100);
	kd_put_le64(hdr + 0x90, 5); /* NumberOfPages disagrees */
	assert_int_equal(dump_win_parse(hdr, sizeof(hdr), 0, &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "NumberOfPages"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(header_fields_at_their_offsets),
		cmocka_unit_test(header_reads_back),
		cmocka_unit_test(bad_headers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
