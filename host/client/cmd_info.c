/* SPDX-License-Identifier: MIT */
/* Commands that describe the target: version, lm, !kdbg, stats. */
#include <stdlib.h>
#include <string.h>

#include "../sym/sym.h"
#include "commands_int.h"

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

/* lm: PsLoadedModuleList merged with the LoadSymbols reports; "(exports)" tells which
 * modules symbols come from, once they were read. */
int cmdh_lm(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	struct sym_table *t = cmd_sym(c, 1);
	char a[18], b[18];

	(void)cmd, (void)argc, (void)argv;
	if (!t || !sym_module_count(t))
		return cmd_fail(c, "no modules known (no PsLoadedModuleList, no load reports)");
	fprintf(c->out, "start             end                 module name\n");
	for (size_t i = 0; i < sym_module_count(t); i++) {
		const struct sym_module *m = sym_module_at(t, i);

		fprintf(c->out, "%s %s   %-10s %s%s%s\n", cmd_addr(a, m->base),
			cmd_addr(b, m->base + m->size), m->name, m->file,
			m->pdb[0] ? "   (pdb symbols) " : m->state == SYM_EXPORTS_READ ?
			"   (export symbols)" : "", m->pdb);
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
	fprintf(c->out, "connection   reconnects %llu  (new connections reset at once %llu)\n",
		(unsigned long long)st.reconnects, (unsigned long long)st.reconnects_reset);
	return 0;
}
