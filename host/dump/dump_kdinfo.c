/* SPDX-License-Identifier: MIT */
/* A Windows dump header's facts from KD. */
#include "dump_kdinfo.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define KDBG_MM_PFN_DATABASE 0xC0u      /* KDDEBUGGER_DATA64.MmPfnDatabase */
#define FILETIME_UNIX_EPOCH  11644473600ull

static int read_u64(struct session *s, uint64_t va, uint64_t *v)
{
	size_t got = 0;

	*v = 0;
	return session_read_virtual(s, va, v, sizeof(*v), &got) || got != sizeof(*v) ? -1 : 0;
}

int dump_win_from_kd(struct session *s, struct dump_win_info *info, char *err, size_t errlen)
{
	const struct session_stop *stop = session_last_stop(s);
	struct kd_special_registers_amd64 sr;
	struct kd_debugger_data64 d;
	struct kd_get_version64 ver;
	uint64_t kdbg = 0, pfn_var = 0;
	size_t got = 0;
	struct timespec ts;

	memset(info, 0, sizeof(*info));
	if (session_get_version(s, &ver)) {
		snprintf(err, errlen, "GetVersion: %s", session_error(s));
		return -1;
	}
	info->major = 0xF; /* a free build, as dumps of retail kernels say */
	info->minor = ver.minor_version;
	info->machine = ver.machine_type;
	info->ps_loaded_module_list = ver.ps_loaded_module_list;
	info->number_processors = stop->number_processors;
	info->exception_code = stop->code;
	info->exception_address = stop->address;

	/* DebuggerDataList is a LIST_ENTRY whose Flink is KDDEBUGGER_DATA64's header. */
	memset(&d, 0, sizeof(d));
	if (read_u64(s, ver.debugger_data_list, &kdbg) || !kdbg)
		fprintf(stderr, "vmkd dump: warning: DebuggerDataList at %#llx not read (%s): the "
			"header has no KdDebuggerDataBlock\n",
			(unsigned long long)ver.debugger_data_list, session_error(s));
	else if (session_read_virtual(s, kdbg, &d, sizeof(d), &got) ||
		 got < offsetof(struct kd_debugger_data64, psp_cid_table) ||
		 d.header.owner_tag != KD_DEBUGGER_DATA_TAG)
		fprintf(stderr, "vmkd dump: warning: KDDEBUGGER_DATA64 at %#llx not read (%zu bytes, "
			"tag %#x: %s)\n", (unsigned long long)kdbg, got, d.header.owner_tag,
			session_error(s));
	else {
		info->kd_debugger_data_block = kdbg;
		info->ps_active_process_head = d.ps_active_process_head;
		if (!info->ps_loaded_module_list)
			info->ps_loaded_module_list = d.ps_loaded_module_list;
		if (got >= KDBG_MM_PFN_DATABASE + 8) {
			memcpy(&pfn_var, (uint8_t *)&d + KDBG_MM_PFN_DATABASE, 8);
			if (pfn_var)
				read_u64(s, pfn_var, &info->pfn_database);
		}
	}
	if (session_get_context(s, &info->context)) {
		snprintf(err, errlen, "GetContext: %s", session_error(s));
		return -1;
	}
	if (session_read_control_space(s, stop->processor, KD_CONTROL_SPACE_KSPECIAL, &sr,
				       sizeof(sr), &got) || got < offsetof(struct kd_special_registers_amd64, cr4)) {
		snprintf(err, errlen, "ReadControlSpace (CR3): %s", session_error(s));
		return -1;
	}
	info->dtb = sr.cr3;
	clock_gettime(CLOCK_REALTIME, &ts);
	info->system_time = ((uint64_t)ts.tv_sec + FILETIME_UNIX_EPOCH) * 10000000ull +
			    (uint64_t)ts.tv_nsec / 100;
	return 0;
}
