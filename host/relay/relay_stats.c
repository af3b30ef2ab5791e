/* SPDX-License-Identifier: MIT */
/* The relay's stats line and the guest transport's counters as text. */
#include <stdio.h>
#include <string.h>

#include "relay_hostmem.h"
#include "relay_vm.h"

static const char *const dbg_state_names[] = {
	[RELAY_DBG_NONE] = "none",
	[RELAY_DBG_ATTACHED] = "attached",
	[RELAY_DBG_SILENT] = "silent",
};

#define U(x) ((unsigned long long)(x))

void relay_vm_format_stats(const struct relay_vm *vm, char *buf, size_t cap)
{
	const struct relay_vm_stats *s = &vm->st;
	const struct kd_link_stats *l = &vm->link.stats;
	const struct vmkd_frame_parser_stats *p = &vm->parser.stats;

	snprintf(buf, cap,
		 "stats: guest->dbg %llu pkts %llu B, dbg->guest %llu pkts %llu B | "
		 "debugger %s, %llu connects, %llu refused, %llu taken over | guest %s, "
		 "%llu hellos | "
		 "resends %llu in %llu out, resets %llu in %llu out, retransmits %llu, "
		 "timeouts %llu, gave up %llu | frames rejected %llu (skipped %llu B, "
		 "bad version %llu, bad length %llu, bad type %llu, bad kd %llu), seq gaps %llu | "
		 "queue %zu (max %llu, stalls %llu, prints joined %llu, kept across HELLO %llu) | "
		 "dropped: prints %llu, no debugger %llu, "
		 "flushed %llu, no guest %llu; answered DEBUGGER(0) %llu | "
		 "breakins %llu (%llu held for a HELLO), resyncs %llu (%llu unsent: no HELLO yet) | "
		 "not ACKed: no guest %llu, too big %llu, "
		 "full %llu | dbg input held %llu (%llu B) | notices %llu (dropped %llu) | "
		 "bad max_payload %llu",
		 U(s->kd_to_debugger), U(s->kd_to_debugger_bytes), U(s->kd_to_guest),
		 U(s->kd_to_guest_bytes), dbg_state_names[vm->dbg], U(s->debugger_connects),
		 U(s->debugger_refused), U(s->debugger_takeovers), vm->guest_connected ? "connected" : "disconnected",
		 U(s->hellos), U(l->resends_received), U(l->resends_sent), U(l->resets_received),
		 U(l->resets_sent), U(l->retransmits), U(l->timeouts), U(l->gave_up),
		 U(s->frames_rejected + p->bad_version + p->bad_length + p->bad_type),
		 U(p->skipped_bytes), U(p->bad_version), U(p->bad_length), U(p->bad_type),
		 U(s->bad_kd_length + s->bad_kd_type), U(s->seq_gaps), vm->queue.count, U(s->queue_max),
		 U(s->guest_stalls), U(s->prints_joined), U(s->prints_kept_across_hello),
		 U(s->dropped_prints), U(s->dropped_no_debugger),
		 U(s->dropped_flushed), U(s->dropped_no_guest), U(s->answered_no_debugger),
		 U(s->breakins), U(s->breakins_deferred), U(s->resyncs),
		 U(s->resyncs_before_hello), U(s->unacked_no_guest), U(s->unacked_too_big),
		 U(s->unacked_full), U(s->debugger_held), U(s->debugger_held_bytes),
		 U(s->notices), U(s->notices_dropped), U(s->bad_max_payload));
	relay_hostmem_format_stats(vm, buf + strlen(buf), cap - strlen(buf));
}

void relay_vm_format_guest_stats(const struct relay_vm *vm, char *buf, size_t cap)
{
	const struct vmkd_guest_stats *g = &vm->guest_stats;

	if (!vm->have_guest_stats) {
		snprintf(buf, cap, "no guest stats yet");
		return;
	}
	snprintf(buf, cap,
		 "guest stats: packets sent %llu received %llu, notifications %llu, port I/O %llu "
		 "(%llu while polling), frames rejected %llu, polls %llu, TX waits timed out %llu, "
		 "packets dropped %llu, frames lost in device resets %llu (DbgPrints sent again %llu)",
		 U(g->packets_sent), U(g->packets_received), U(g->notifications),
		 U(g->port_io_total), U(g->port_io_while_polling), U(g->frames_rejected),
		 U(g->polls), U(g->tx_timeouts), U(g->send_dropped), U(g->tx_lost_in_resets),
		 U(g->prints_resent));
}
