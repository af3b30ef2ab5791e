/* SPDX-License-Identifier: MIT */
/*
 * relay_vm.h - the relay's per-VM core: the guest link (frames over the VM's virtio-serial
 * chardev) and the debugger link (KDCOM, target role, towards WinDbg / kd / r2 / vmkd
 * attach). No sockets, no clock: the event loop (relay_loop.h) feeds it bytes and the time
 * in microseconds, and drains its two output buffers; tests drive it the same way.
 *
 *   guest bytes     -> relay_vm_guest_input()     (may take less: back-pressure)
 *   debugger bytes  -> relay_vm_debugger_input()
 *   time passes     -> relay_vm_poll()            (by relay_vm_deadline())
 *   connections     -> relay_vm_{guest,debugger}_{connected,disconnected}()
 *   output          <- vm->to_guest, vm->to_debugger (relay_buf: peek, write, consume)
 *
 * Debugger side, one debugger at a time:
 *
 *   NONE --connect--> ATTACHED --link gave up on a packet--> SILENT
 *     ^                 |   ^                                  |
 *     +---disconnect----+   +------the debugger speaks again---+   (SILENT--disconnect-->NONE)
 *
 *   connect     the link restarts (its first packet carries the SYNC id); guest: DEBUGGER(1)
 *   disconnect  the packet in flight and the queue are dropped; guest: DEBUGGER(0)
 *   gave up     the queue is dropped; guest: DEBUGGER(0) (kdcom's ACK timeout)
 *   speaks      any packet or break-in byte; guest: DEBUGGER(1)
 *
 * While ATTACHED, guest KD packets go out through the link one at a time (stop-and-wait);
 * the rest wait in a queue of RELAY_QUEUE_MAX; when it is full the guest is not read.
 * Otherwise (NONE, SILENT) the kdcom rules apply: a packet that waits for an answer (state
 * change, DbgPrompt, file I/O, control request) is answered with DEBUGGER(0), the rest
 * (DbgPrint, manipulate replies, trace I/O) is dropped and counted.
 *
 * Debugger to guest: a data packet the link delivered becomes a KD_PACKET frame. The link
 * ACKs it only if it can be passed on (a guest is connected, the frame fits the guest's
 * max_payload and the buffer): otherwise the debugger keeps it and sends it again. Debugger
 * input is taken only while both outputs have room for its worst-case answers (a RESEND
 * costs a whole retransmission), so a flood of RESENDs cannot grow the buffers; what is
 * held back stays with the caller and is counted. A break-in byte becomes a BREAKIN frame; a RESET while no packet is in flight a RESYNC
 * frame (with a packet in flight the link resends it renumbered, which serves the same
 * purpose). BREAKIN and RESYNC are sent once until the guest sends a KD packet again (or
 * RELAY_COALESCE_US passed), and no RESYNC while a BREAKIN is pending: repeats (WinDbg
 * RESETs every second while it waits; 'b' + RESET on connect) would only make the guest
 * report its state again and again.
 *
 * Guest side: HELLO (transport start, guest reboot) restarts the debugger link, so the next
 * packet carries the SYNC id and the debugger resynchronises as with a rebooted Windows,
 * drops what was queued, and is answered with HELLO_ACK. Frames are untrusted: what the
 * frame parser rejects is counted and skipped; a KD_PACKET whose inner length disagrees
 * or whose packet type is not a data type (1-3, 7, 9-11), a short HELLO or STATS, and the
 * host-to-guest frame types are rejected and counted. A HELLO max_payload below one whole
 * KD packet is raised to it (counted). The chardev connection is never closed by the core:
 * QEMU discards guest writes while nobody is connected. When it goes away (or comes back)
 * under an attached debugger, the debugger gets a DbgPrint of the relay's own
 * (relay_notice.h), queued behind what the guest had sent.
 */
#ifndef VMKD_RELAY_VM_H
#define VMKD_RELAY_VM_H

#include <stddef.h>
#include <stdint.h>

#include "vmkd/kd_link.h"
#include "vmkd/kd_parser.h"
#include "vmkd/vmkd_frame.h"
#include "vmkd/vmkd_frame_parser.h"

#include "relay_buf.h"
#include "relay_log.h"
#include "relay_queue.h"

#define RELAY_QUEUE_MAX     64u                 /* guest packets waiting for the link */
#define RELAY_NOTICE_SLOTS  4u                  /* queue room kept for the relay's notices */
#define RELAY_OUT_SOFT_CAP  (256u * 1024u)      /* stop reading peers above this */
#define RELAY_COALESCE_US   2000000u            /* a BREAKIN / RESYNC repeats after this */
#define RELAY_GUEST_ANSWER_US 10000000u         /* a stopped guest silent on a request this
						   long is reported (once per request) */
#define RELAY_NAME_MAX      32u
#define RELAY_SPEC_MAX      256u
#define RELAY_AGENT         "vmkd relay 0.1"
/* A guest must take one whole KD packet in a frame: a smaller HELLO max_payload is raised. */
#define RELAY_MIN_GUEST_PAYLOAD VMKD_FRAME_MAX_PAYLOAD

/* One VM as configured: what the relay connects to and listens on. */
struct relay_vm_config {
	char name[RELAY_NAME_MAX];
	char guest[RELAY_SPEC_MAX];   /* endpoint spec of QEMU's chardev (endpoint.h) */
	int guest_listen;             /* 1: the relay listens and QEMU connects (server=off) */
	int guest_ivshmem;            /* 1: guest is "unix:PATH" where the relay is QEMU's
					 ivshmem server (relay_ivshmem.h) */
	char listen[RELAY_SPEC_MAX];  /* endpoint spec the debugger connects to */
	int trace;                    /* log every packet on both sides */
	int takeover;                 /* a new debugger connection replaces the attached one */
	/* host path (relay_hostmem.h): guest RAM read on the host while the guest is stopped */
	char host_ram[RELAY_SPEC_MAX];  /* the memory backend file ("" = off) */
	char qmp[RELAY_SPEC_MAX];       /* QEMU's QMP socket (endpoint spec) */
	char ram_id[64];                /* the backend object's id ("" = vmkd-ram) */
	int no_host_ram;                /* --no-host-ram: configured, but off */
	int no_dbglog;                /* no DbgPrint log for this VM (config: nodbglog) */
};

enum relay_debugger_state {
	RELAY_DBG_NONE,     /* nobody connected */
	RELAY_DBG_ATTACHED, /* connected and answering */
	RELAY_DBG_SILENT,   /* connected, but the link gave up on a packet */
};

struct relay_vm_stats {
	/* guest -> debugger */
	uint64_t kd_from_guest;        /* valid KD_PACKET frames from the guest */
	uint64_t kd_to_debugger;       /* packets handed to the link (first transmissions) */
	uint64_t kd_to_debugger_bytes; /* their KD payload bytes */
	uint64_t kd_acked;             /* ... acknowledged by the debugger */
	/* debugger -> guest */
	uint64_t kd_to_guest;          /* delivered packets sent as KD_PACKET frames */
	uint64_t kd_to_guest_bytes;
	uint64_t debugger_bad_type;    /* delivered with a non-data type: dropped */
	uint64_t breakins, breakins_coalesced;
	uint64_t resyncs, resyncs_coalesced;
	uint64_t resyncs_before_hello; /* RESYNCs not sent: the guest had not said HELLO */
	uint64_t breakins_deferred;    /* break-ins held until the guest's HELLO */
	uint64_t debugger_resets;      /* RESETs the link answered */
	/* raw bytes */
	uint64_t guest_rx_bytes, guest_tx_bytes, guest_frames_rx, guest_frames_tx;
	uint64_t debugger_rx_bytes, debugger_tx_bytes;
	uint64_t debugger_held;        /* times debugger input was held back: no room for the
					  worst-case answer (RESEND amplification) */
	uint64_t debugger_held_bytes;  /* bytes left untaken then (offered again later) */
	/* guest frames refused (the parser's own counts are in vm->parser.stats) */
	uint64_t frames_rejected;      /* all refusals below */
	uint64_t bad_kd_length;
	uint64_t bad_kd_type;
	uint64_t bad_hello;
	uint64_t bad_stats;
	uint64_t unexpected_frames;    /* host-to-guest types sent by the guest */
	uint64_t seq_gaps;             /* guest frame counter skipped */
	/* queue and drops */
	uint64_t queued;               /* packets that had to wait */
	uint64_t queue_max;            /* high-water mark */
	uint64_t prints_joined;        /* DbgPrints appended to a queued one (relay_guest.c) */
	uint64_t guest_stalls;         /* times the guest was not read: queue or output full */
	uint64_t dropped_prints;       /* DbgPrint with no debugger attached */
	uint64_t dropped_no_debugger;  /* other packets with no debugger (manipulate replies...) */
	uint64_t dropped_queue_full;   /* never expected: the guest is not read while full */
	uint64_t answered_no_debugger; /* packets answered with DEBUGGER(0) */
	uint64_t dropped_flushed;      /* queued or in flight when the debugger left / gave up /
					  the guest said HELLO */
	uint64_t prints_kept_across_hello; /* queued DbgPrints a guest HELLO did not flush */
	uint64_t gave_up;              /* packets the link gave up on */
	uint64_t dropped_no_guest;     /* frames for a guest that is not connected */
	uint64_t dropped_too_big;      /* larger than the guest's max_payload */
	uint64_t unacked_no_guest;     /* debugger packets not ACKed: no guest to take them */
	uint64_t unacked_too_big;      /* ... larger than the guest's max_payload */
	uint64_t unacked_full;         /* ... no room in the guest's output buffer */
	uint64_t bad_max_payload;      /* HELLOs whose max_payload was below one KD packet */
	uint64_t out_overflow;         /* output buffer refused bytes (never expected) */
	/* connections */
	uint64_t debugger_connects, debugger_refused, debugger_disconnects, debugger_silences;
	uint64_t debugger_takeovers;   /* attached debuggers replaced by a new connection */
	uint64_t guest_connects, guest_disconnects, hellos;
	uint64_t guest_stats_frames, stats_requests;
	/* the relay's own DbgPrints to the debugger (relay_notice.h) */
	uint64_t notices;              /* sent or queued */
	uint64_t notices_dropped;      /* the queue was full */
	/* faults */
	uint64_t requests_resent;      /* unanswered requests resent after a mid-stop HELLO */
	uint64_t rsp_clients;          /* debuggers that spoke GDB RSP: told, not attached */
	uint64_t guest_unanswered;     /* requests a stopped guest left unanswered for
					  RELAY_GUEST_ANSWER_US (reported) */
};

struct relay_tap;

struct relay_vm {
	char name[RELAY_NAME_MAX];
	int trace;
	const struct relay_log *log;
	uint64_t now;                      /* time of the call being served */

	/* guest link */
	int guest_connected;
	int guest_hello;                   /* HELLO heard since the chardev connected */
	int breakin_deferred;              /* a break-in asked for before that HELLO */
	struct vmkd_frame_parser parser;
	uint32_t tx_seq;                   /* our frame counter */
	uint32_t rx_seq_next;              /* the guest's next frame counter */
	int rx_seq_known;
	uint32_t guest_caps;               /* from HELLO */
	uint16_t guest_machine;            /* from its GetVersion reply (0: not seen this boot) */
	uint32_t guest_max_payload;        /* from HELLO (VMKD_FRAME_MAX_PAYLOAD until then) */
	char guest_agent[sizeof(((struct vmkd_hello *)0)->agent) + 1];
	int breakin_sent;                  /* BREAKIN out, the guest silent since */
	int resync_sent;                   /* RESYNC out, the guest silent since */
	uint64_t breakin_at, resync_at;    /* when they went out */
	int gone_notified;                 /* the debugger was told the guest left */
	int unacked_logged;                /* a debugger packet was left unACKed: logged once
					      until the guest is back */
	int have_guest_stats;
	struct vmkd_guest_stats guest_stats; /* the last STATS frame */
	struct relay_buf to_guest;

	/* debugger link */
	enum relay_debugger_state dbg;
	struct kd_link_config link_cfg;
	struct kd_link link;
	uint64_t dbg_heard;                /* packets + break-ins the link parsed, last look */
	struct kd_parser trace_rx;         /* --trace: the debugger's bytes, decoded */
	struct relay_queue queue;
	struct relay_buf to_debugger;
	int dbg_fresh;                     /* no byte from this debugger yet */
	int dbg_rsp;                       /* it spoke GDB RSP: its input is discarded */

	/* A kernel stopped in the debugger re-initialising its transport (HELLO: the virtio
	 * device was reset) loses the request in its receive ring, which the relay has ACKed:
	 * the last manipulate request without its reply is kept and sent again then. */
	int guest_stopped;                 /* a state change came, no Continue went since */
	size_t unanswered_len;             /* 0: none */
	uint64_t unanswered_at;            /* when it went to the guest */
	int unanswered_reported;           /* logged as unanswered */
	uint16_t unanswered_type;
	uint8_t unanswered[KD_MAX_PAYLOAD];

	struct relay_vm_stats st;
	struct relay_hostmem *hostmem;     /* NULL: the host path is off */

	/* observers: DbgPrint log, recorder (relay_tap.h); NULL: none. Set by the owner. */
	struct relay_tap *tap;
};

/* Allocates a VM core (guest and debugger both disconnected). link_cfg NULL = the kdcom
 * defaults (kd_link_default_config). log must outlive the VM; NULL = silent. */
struct relay_vm *relay_vm_new(const char *name, const struct kd_link_config *link_cfg,
			      const struct relay_log *log);
void relay_vm_free(struct relay_vm *vm);

/* ---- guest side (QEMU's chardev) ---------------------------------------------------- */

/* The chardev connection is up: tells the guest whether a debugger is attached. */
void relay_vm_guest_connected(struct relay_vm *vm, uint64_t now);
/* It went away (QEMU stopped): partial frames and unsent frames are dropped. */
void relay_vm_guest_disconnected(struct relay_vm *vm, uint64_t now);

/* Feeds bytes from the guest. Returns how many were taken: fewer than len when the queue
 * or an output buffer is full; keep the rest and offer it again once
 * relay_vm_guest_can_read() says so. */
size_t relay_vm_guest_input(struct relay_vm *vm, const uint8_t *buf, size_t len, uint64_t now);

/* 1 if the core takes guest bytes now. */
int relay_vm_guest_can_read(const struct relay_vm *vm);

/* Asks the guest for its transport counters (a STATS_REQUEST frame). */
void relay_vm_request_stats(struct relay_vm *vm, uint64_t now);

/* ---- debugger side ------------------------------------------------------------------ */

/* A debugger connected. Returns 0, or -1 if one is already connected (refuse the new one;
 * counted as debugger_refused). */
int relay_vm_debugger_connected(struct relay_vm *vm, uint64_t now);
void relay_vm_debugger_disconnected(struct relay_vm *vm, uint64_t now);
/* Feeds bytes from the debugger. Returns how many were taken: fewer than len when an output
 * buffer has no room for the worst-case answer to one more packet (a RESEND answered with a
 * whole retransmission); keep the rest and offer it again once relay_vm_debugger_can_read()
 * says so. */
size_t relay_vm_debugger_input(struct relay_vm *vm, const uint8_t *buf, size_t len,
			       uint64_t now);

/* How many debugger bytes the core takes now: as many minimal (16-byte) packets as the
 * output buffers have room for worst-case answers to. 0 while none or nobody is connected.
 * relay_vm_debugger_input takes at least min(len, this) bytes. */
size_t relay_vm_debugger_budget(const struct relay_vm *vm);

/* 1 if the core takes debugger bytes now (relay_vm_debugger_budget() > 0). */
int relay_vm_debugger_can_read(const struct relay_vm *vm);

/* 1 while a debugger is connected and answering. */
static inline int relay_vm_debugger_attached(const struct relay_vm *vm)
{
	return vm->dbg == RELAY_DBG_ATTACHED;
}

/* The notice a refused debugger gets before the relay closes its connection: a RESET (which
 * also answers the RESET a debugger sends on connect) and a DbgPrint
 * "RELAY_NOTICE_PREFIX RELAY_NOTICE_REFUSED: ..." (relay_notice.h) naming the VM and the
 * way to take it over. Returns the bytes written to out (cap >= 2 * KD_MAX_PACKET_BYTES). */
size_t relay_vm_refusal_notice(const struct relay_vm *vm, const char *listen, uint8_t *out,
			       size_t cap);

/* ---- time ----------------------------------------------------------------------------- */

void relay_vm_poll(struct relay_vm *vm, uint64_t now);
/* Earliest time relay_vm_poll has work, or KD_LINK_NO_DEADLINE. */
uint64_t relay_vm_deadline(const struct relay_vm *vm);

/* ---- stats (relay_stats.c) ------------------------------------------------------------ */

/* One line, no newline: packets and bytes each way, resends, resets, retransmits, frames
 * rejected, queue and drops, connections. */
void relay_vm_format_stats(const struct relay_vm *vm, char *buf, size_t cap);

/* The guest's last STATS frame as one line, or "no guest stats yet". */
void relay_vm_format_guest_stats(const struct relay_vm *vm, char *buf, size_t cap);

#endif
