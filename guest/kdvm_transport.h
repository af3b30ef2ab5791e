/* SPDX-License-Identifier: MIT */
/*
 * kdvm_transport.h - KdSendPacket / KdReceivePacket semantics (kd-protocol.md 4.3) on top of
 * the channel, with the kernel's own STRING and KD_CONTEXT layouts (struct kd_string64,
 * struct kd_context_block). The DLL's exports are thin wrappers around these two; the
 * shape is that of struct kd_transport_ops (target/kd/kd_target.h).
 */
#ifndef VMKD_KDVM_TRANSPORT_H
#define VMKD_KDVM_TRANSPORT_H

#include <stdint.h>

#include "kdvm_channel.h"
#include "vmkd/kd_wire.h"

/* Sends and returns (the relay acknowledges the debugger); with no relay or no debugger
 * the packet is dropped and KdDebuggerNotPresent set. ch may be NULL (not initialised). */
void kdvm_send_packet(struct kdvm_channel *ch, uint32_t type, const struct kd_string64 *hdr,
		      const struct kd_string64 *data, struct kd_context_block *ctx);

/*
 * KD_PACKET_TYPE_POLL_BREAKIN: KD_STATUS_PACKET_RECEIVED iff a break-in is pending (or
 * ctx->control_c_pending), else KD_STATUS_TIMED_OUT, at once. Other types: wait (bounded)
 * for such a packet; KD_STATUS_NEEDS_RESEND after a RESYNC, a break-in (which also sets
 * ctx->control_c_pending, as kdcom does) or when the debugger or relay went away.
 */
uint32_t kdvm_receive_packet(struct kdvm_channel *ch, uint32_t type, struct kd_string64 *hdr,
			     struct kd_string64 *data, uint32_t *data_len,
			     struct kd_context_block *ctx);

#endif
