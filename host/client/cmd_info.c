/* SPDX-License-Identifier: MIT */
/* Commands that describe the target: version, lm, !kdbg, stats. */
#include <stdlib.h>
#include <string.h>

#include "commands_int.h"

#define MAX_LM_ENTRIES 4096 /* PsLoadedModuleList walk bound: a corrupt list may loop */

int cmdh_version(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	const struct kd_get_version64 *v = &c->ver;
	const struct session_stop *st = session_last_stop(c->s);
	char a[18], b[18];

	(void)cmd, (void)argc, (void)argv;
	c->ver_valid = 0;
	if (cmd_get_version(c))
		return -1;
	fprintf(c->out, "Windows Kernel Version %u %s (%u procs) %s %s\n", v->minor_version,
		v->flags & KD_VERSION_FLAG_MP ? "MP" : "UP", st->number_processors,
		v->major_version == KD_MAJOR_VERSION_CHECKED ? "Checked" : "Free",
		v->machine_type == KD_MACHINE_AMD64 ? "x64" :
		v->machine_type == KD_MACHINE_I386 ? "x86" : "unknown machine");
	fprintf(c->out, "Kernel base = 0x%s PsLoadedModuleList = 0x%s\n",
		cmd_addr(a, v->kern_base), cmd_addr(b, v->ps_loaded_module_list));
	fprintf(c->out, "Debugger data list = 0x%s\n", cmd_addr(a, v->debugger_data_list));
	fprintf(c->out, "KD protocol %u.%u, flags %04x, machine %04x, max packet type %u, "
		"max state change %u, max manipulate %u\n", v->protocol_version,
		v->kd_secondary_version, v->flags, v->machine_type, v->max_packet_type,
		v->max_state_change, v->max_manipulate);
	return 0;
}

/* UTF-16LE to ASCII: what fits a terminal; anything else becomes '?'. */
static void utf16_to_ascii(const uint8_t *src, size_t bytes, char *dst, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i + 1 < bytes && n + 1 < cap; i += 2) {
		unsigned ch = src[i] | (unsigned)src[i + 1] << 8;

		if (!ch)
			break;
		dst[n++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	dst[n] = '\0';
}

/* Walks PsLoadedModuleList (KLDR_DATA_TABLE_ENTRY nodes) into c->mods. */
static int walk_modules(struct cmd_ctx *c)
{
	struct kd_list_entry64 head;
	struct cmd_module *mods = NULL;
	size_t n = 0, cap = 0, got;
	uint64_t link;

	if (cmd_get_version(c))
		return -1;
	if (!c->ver.ps_loaded_module_list)
		return cmd_fail(c, "the target reports no PsLoadedModuleList");
	if (session_read_virtual(c->s, c->ver.ps_loaded_module_list, &head, sizeof(head), &got) ||
	    got != sizeof(head))
		return cmd_fail(c, "cannot read PsLoadedModuleList at %016llx",
				(unsigned long long)c->ver.ps_loaded_module_list);
	for (link = head.flink; link && link != c->ver.ps_loaded_module_list;) {
		struct kd_ldr_data_table_entry64 e;
		uint8_t name16[512];
		char path[256];
		size_t len;

		if (n == MAX_LM_ENTRIES)
			break;
		if (session_read_virtual(c->s, link, &e, sizeof(e), &got) || got != sizeof(e)) {
			cmd_fail(c, "cannot read the module entry at %016llx", (unsigned long long)link);
			break;
		}
		if (n == cap) {
			struct cmd_module *m;

			cap = cap ? cap * 2 : 64;
			m = realloc(mods, cap * sizeof(*m));
			if (!m)
				break;
			mods = m;
		}
		len = e.base_dll_name.length < sizeof(name16) ? e.base_dll_name.length : sizeof(name16);
		path[0] = '\0';
		if (len && session_read_virtual(c->s, e.base_dll_name.buffer, name16, len, &got) == 0)
			utf16_to_ascii(name16, got, path, sizeof(path));
		if (!path[0])
			snprintf(path, sizeof(path), "<unknown>");
		mods[n].base = e.dll_base;
		mods[n].size = e.size_of_image;
		cmd_module_names(path, mods[n].name, sizeof(mods[n].name), mods[n].file,
				  sizeof(mods[n].file));
		n++;
		link = e.in_load_order_links.flink;
	}
	free(c->mods);
	c->mods = mods;
	c->nmods = n;
	return 0;
}

int cmdh_lm(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	char a[18], b[18];

	(void)cmd, (void)argc, (void)argv;
	if (walk_modules(c)) {
		/* Fall back on what LoadSymbols reported, when there is something. */
		if (!session_module_count(c->s))
			return -1;
		fprintf(c->out, "(from load notifications)\n");
		fprintf(c->out, "start             end                 module name\n");
		for (size_t i = 0; i < session_module_count(c->s); i++) {
			const struct session_module *m = session_module_at(c->s, i);
			char name[64], file[64];

			cmd_module_names(m->path, name, sizeof(name), file, sizeof(file));
			fprintf(c->out, "%s %s   %-10s %s\n", cmd_addr(a, m->base),
				cmd_addr(b, m->base + m->size), name, file);
		}
		return 0;
	}
	fprintf(c->out, "start             end                 module name\n");
	for (size_t i = 0; i < c->nmods; i++) {
		const struct cmd_module *m = &c->mods[i];

		fprintf(c->out, "%s %s   %-10s %s\n", cmd_addr(a, m->base),
			cmd_addr(b, m->base + m->size), m->name, m->file);
	}
	return 0;
}

/* !kdbg: KDDEBUGGER_DATA64, found through DebuggerDataList (a list head whose Flink is
 * the block itself). */
int cmdh_kdbg(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	struct kd_debugger_data64 d;
	uint64_t block = 0, p;
	size_t got = 0;
	char a[18];

	(void)cmd, (void)argc, (void)argv;
	if (cmd_get_version(c))
		return -1;
	if (!(c->ver.flags & KD_VERSION_FLAG_DATA) || !c->ver.debugger_data_list)
		return cmd_fail(c, "the target reports no debugger data block");
	if (session_read_virtual(c->s, c->ver.debugger_data_list, &block, sizeof(block), &got) ||
	    got != sizeof(block) || !block)
		return cmd_fail(c, "cannot read DebuggerDataList at %s",
				cmd_addr(a, c->ver.debugger_data_list));
	memset(&d, 0, sizeof(d));
	if (session_read_virtual(c->s, block, &d, sizeof(d), &got) || got < sizeof(d.header) + 0x40)
		return cmd_fail(c, "cannot read KDDEBUGGER_DATA64 at %s", cmd_addr(a, block));
	if (d.header.owner_tag != KD_DEBUGGER_DATA_TAG)
		return cmd_fail(c, "no 'KDBG' tag at %s (found %08x)", cmd_addr(a, block),
				d.header.owner_tag);
	fprintf(c->out, "KDDEBUGGER_DATA64 at %s, size %#x\n", cmd_addr(a, block), d.header.size);
	fprintf(c->out, "  KernBase             %s\n", cmd_addr(a, d.kern_base));
	fprintf(c->out, "  BreakpointWithStatus %s\n", cmd_addr(a, d.breakpoint_with_status));
	fprintf(c->out, "  SavedContext         %s\n", cmd_addr(a, d.saved_context));
	fprintf(c->out, "  PsLoadedModuleList   %s\n", cmd_addr(a, d.ps_loaded_module_list));
	fprintf(c->out, "  PsActiveProcessHead  %s\n", cmd_addr(a, d.ps_active_process_head));
	fprintf(c->out, "  PspCidTable          %s\n", cmd_addr(a, d.psp_cid_table));
	if (got >= KD_DEBUGGER_DATA_KI_PROCESSOR_BLOCK + 8) {
		memcpy(&p, (const uint8_t *)&d + KD_DEBUGGER_DATA_KI_PROCESSOR_BLOCK, 8);
		fprintf(c->out, "  KiProcessorBlock     %s\n", cmd_addr(a, p));
	}
	if (got >= KD_DEBUGGER_DATA_MM_SYSTEM_RANGE_START + 8) {
		memcpy(&p, (const uint8_t *)&d + KD_DEBUGGER_DATA_MM_SYSTEM_RANGE_START, 8);
		fprintf(c->out, "  MmSystemRangeStart   %s\n", cmd_addr(a, p));
	}
	fprintf(c->out, "  PaeEnabled           %u\n", d.pae_enabled & 1);
	return 0;
}

int cmdh_stats(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	struct session_stats st;

	(void)cmd, (void)argc, (void)argv;
	session_get_stats(c->s, &st);
	fprintf(c->out, "packets      rx %llu  tx %llu\n", (unsigned long long)st.packets_rx,
		(unsigned long long)st.packets_tx);
	fprintf(c->out, "bytes        rx %llu  tx %llu\n", (unsigned long long)st.bytes_rx,
		(unsigned long long)st.bytes_tx);
	fprintf(c->out, "requests     %llu (%llu timed out), %.3f ms average\n",
		(unsigned long long)st.requests, (unsigned long long)st.timeouts,
		st.requests ? (double)st.request_us / (double)st.requests / 1000.0 : 0.0);
	fprintf(c->out, "link         retransmits %llu  resets %llu  acks sent %llu received %llu"
		"  resends sent %llu received %llu  duplicates %llu\n",
		(unsigned long long)st.retransmits, (unsigned long long)st.resets,
		(unsigned long long)st.link.acks_sent, (unsigned long long)st.link.acks_received,
		(unsigned long long)st.link.resends_sent, (unsigned long long)st.link.resends_received,
		(unsigned long long)st.link.duplicates);
	fprintf(c->out, "damage       malformed %llu  bad checksum %llu  bad trailer %llu"
		"  bad length %llu  garbage bytes %llu\n", (unsigned long long)st.malformed,
		(unsigned long long)st.parser.bad_checksum, (unsigned long long)st.parser.bad_trailer,
		(unsigned long long)st.parser.bad_length, (unsigned long long)st.parser.garbage_bytes);
	fprintf(c->out, "events       state changes %llu  dbgprints %llu  break-ins sent %llu"
		"  stale replies %llu  dropped %llu\n", (unsigned long long)st.state_changes,
		(unsigned long long)st.dbgprints, (unsigned long long)st.breakins_sent,
		(unsigned long long)st.stale_replies, (unsigned long long)st.dropped);
	return 0;
}
