/* SPDX-License-Identifier: MIT */
/* DUMP_HEADER64: built from KD facts, read back by the tests and `vmkd dump --inspect`. */
#include "dump_windows.h"

#include <stdio.h>
#include <string.h>

#include "vmkd/kd_bytes.h"
#include "../common/errbuf.h"

#define PAGE 0x1000u
#define RUN0 (DMP_OFF_RUNS + 0x10u)

int dump_win_build(uint8_t *hdr, const struct dump_win_info *info,
		   const struct guest_ram_layout *l, char *err, size_t errlen)
{
	static const char comment[] = "vmkd dump: full memory dump from the host";
	uint64_t pages = 0;
	uint8_t *ex = hdr + DMP_OFF_EXCEPTION;

	if (l->count == 0 || l->count > DMP_MAX_RUNS)
		return errbuf_fail(err, errlen, "%zu RAM ranges: a dump header holds 1-%u runs", l->count,
			    DMP_MAX_RUNS);
	/* Windows starts from a header full of "PAGE" and fills in what it knows. */
	for (size_t i = 0; i < DMP_HEADER_SIZE; i += 4)
		kd_put_le32(hdr + i, DMP_SIGNATURE);
	kd_put_le32(hdr + 0x04, DMP_VALID_DUMP64);
	kd_put_le32(hdr + 0x08, info->major);
	kd_put_le32(hdr + 0x0C, info->minor);
	kd_put_le64(hdr + DMP_OFF_DTB, info->dtb);
	kd_put_le64(hdr + DMP_OFF_PFN, info->pfn_database);
	kd_put_le64(hdr + DMP_OFF_MODULES, info->ps_loaded_module_list);
	kd_put_le64(hdr + DMP_OFF_PROCESSES, info->ps_active_process_head);
	kd_put_le32(hdr + DMP_OFF_MACHINE, info->machine);
	kd_put_le32(hdr + DMP_OFF_NPROC, info->number_processors);
	memset(hdr + DMP_OFF_BUGCHECK, 0, 0x60 - DMP_OFF_BUGCHECK); /* no bug check */
	kd_put_le64(hdr + DMP_OFF_KDBG, info->kd_debugger_data_block);

	memset(hdr + DMP_OFF_RUNS, 0, 700);
	kd_put_le32(hdr + DMP_OFF_RUNS, (uint32_t)l->count);
	for (size_t i = 0; i < l->count; i++) {
		const struct guest_ram_range *r = &l->r[i];

		if ((r->gpa | r->size) & (PAGE - 1))
			return errbuf_fail(err, errlen, "RAM range %#llx+%#llx is not page aligned",
				    (unsigned long long)r->gpa, (unsigned long long)r->size);
		kd_put_le64(hdr + RUN0 + i * 16, r->gpa / PAGE);
		kd_put_le64(hdr + RUN0 + i * 16 + 8, r->size / PAGE);
		pages += r->size / PAGE;
	}
	kd_put_le64(hdr + DMP_OFF_RUNS + 8, pages);

	memset(hdr + DMP_OFF_CONTEXT, 0, 3000);
	memcpy(hdr + DMP_OFF_CONTEXT, &info->context, sizeof(info->context));
	/* EXCEPTION_RECORD64: Code, Flags, Record, Address, NumberParameters, ... */
	memset(ex, 0, 0x98);
	kd_put_le32(ex + 0x00, info->exception_code);
	kd_put_le64(ex + 0x10, info->exception_address);
	kd_put_le32(hdr + DMP_OFF_DUMP_TYPE, DMP_TYPE_FULL);
	kd_put_le64(hdr + DMP_OFF_REQUIRED, DMP_HEADER_SIZE + pages * PAGE);
	kd_put_le64(hdr + DMP_OFF_SYSTEM_TIME, info->system_time);
	memset(hdr + DMP_OFF_COMMENT, 0, 0x80);
	memcpy(hdr + DMP_OFF_COMMENT, comment, sizeof(comment));
	return 0;
}

int dump_win_parse(const uint8_t *hdr, size_t len, uint64_t file_size,
		   struct dump_win_header *out, char *err, size_t errlen)
{
	struct dump_win_info *in = &out->info;
	uint64_t pages = 0;

	memset(out, 0, sizeof(*out));
	if (len < DMP_HEADER_SIZE)
		return errbuf_fail(err, errlen, "shorter than a dump header (%zu bytes)", len);
	if (kd_get_le32(hdr) != DMP_SIGNATURE || kd_get_le32(hdr + 4) != DMP_VALID_DUMP64)
		return errbuf_fail(err, errlen, "not a 64-bit Windows dump (no PAGEDU64)");
	in->major = kd_get_le32(hdr + 0x08);
	in->minor = kd_get_le32(hdr + 0x0C);
	in->dtb = kd_get_le64(hdr + DMP_OFF_DTB);
	in->pfn_database = kd_get_le64(hdr + DMP_OFF_PFN);
	in->ps_loaded_module_list = kd_get_le64(hdr + DMP_OFF_MODULES);
	in->ps_active_process_head = kd_get_le64(hdr + DMP_OFF_PROCESSES);
	in->machine = kd_get_le32(hdr + DMP_OFF_MACHINE);
	in->number_processors = kd_get_le32(hdr + DMP_OFF_NPROC);
	in->kd_debugger_data_block = kd_get_le64(hdr + DMP_OFF_KDBG);
	memcpy(&in->context, hdr + DMP_OFF_CONTEXT, sizeof(in->context));
	in->exception_code = kd_get_le32(hdr + DMP_OFF_EXCEPTION);
	in->exception_address = kd_get_le64(hdr + DMP_OFF_EXCEPTION + 0x10);
	in->system_time = kd_get_le64(hdr + DMP_OFF_SYSTEM_TIME);
	out->dump_type = kd_get_le32(hdr + DMP_OFF_DUMP_TYPE);
	out->required_dump_space = kd_get_le64(hdr + DMP_OFF_REQUIRED);
	memcpy(out->comment, hdr + DMP_OFF_COMMENT, 128);
	out->number_of_runs = kd_get_le32(hdr + DMP_OFF_RUNS);
	out->number_of_pages = kd_get_le64(hdr + DMP_OFF_RUNS + 8);
	if (out->dump_type != DMP_TYPE_FULL)
		return errbuf_fail(err, errlen, "dump type %u, not a full dump (1)", out->dump_type);
	if (out->number_of_runs == 0 || out->number_of_runs > DMP_MAX_RUNS)
		return errbuf_fail(err, errlen, "%u runs", out->number_of_runs);
	for (uint32_t i = 0; i < out->number_of_runs; i++) {
		uint64_t base = kd_get_le64(hdr + RUN0 + i * 16);
		uint64_t count = kd_get_le64(hdr + RUN0 + i * 16 + 8);

		if (!count || count > (1ull << 40) || base > (1ull << 40) ||
		    (i && base < out->runs[i - 1].base_page + out->runs[i - 1].page_count))
			return errbuf_fail(err, errlen, "run %u (%#llx + %#llx pages) is bad or out of order",
				    i, (unsigned long long)base, (unsigned long long)count);
		out->runs[i].base_page = base;
		out->runs[i].page_count = count;
		pages += count;
	}
	if (pages != out->number_of_pages)
		return errbuf_fail(err, errlen, "runs hold %llu pages, NumberOfPages says %llu",
			    (unsigned long long)pages, (unsigned long long)out->number_of_pages);
	if (out->required_dump_space != DMP_HEADER_SIZE + pages * PAGE)
		return errbuf_fail(err, errlen, "RequiredDumpSpace %#llx for %llu pages",
			    (unsigned long long)out->required_dump_space, (unsigned long long)pages);
	if (file_size && file_size < out->required_dump_space)
		return errbuf_fail(err, errlen, "the file has %llu bytes, the runs need %llu",
			    (unsigned long long)file_size,
			    (unsigned long long)out->required_dump_space);
	return 0;
}

uint64_t dump_win_page_offset(const struct dump_win_header *h, uint64_t pa)
{
	uint64_t off = DMP_HEADER_SIZE, pfn = pa / PAGE;

	for (uint32_t i = 0; i < h->number_of_runs; i++) {
		if (pfn >= h->runs[i].base_page && pfn - h->runs[i].base_page < h->runs[i].page_count)
			return off + (pfn - h->runs[i].base_page) * PAGE;
		off += h->runs[i].page_count * PAGE;
	}
	return 0;
}
