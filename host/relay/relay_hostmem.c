/* SPDX-License-Identifier: MIT */
/* The host path: memory reads answered from the mapped guest RAM while the guest is stopped. */
#include "relay_hostmem.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmkd/kd_api.h"
#include "vmkd/kd_bytes.h"
#include "vmkd/kd_wire.h"

#include "../common/guest_ram_qmp.h"
#include "../common/guest_vmem.h"
#include "../common/pagewalk.h"
#include "relay_vm_int.h"

#define MANIP_SIZE sizeof(struct kd_manipulate_state64)
/* Our own requests carry this in the pad field, which KD targets echo (the session's
 * generations use the 0xD6 top byte): a reply bearing it is ours, whatever came between. */
#define HOSTMEM_OWN_MARK 0x52000000u
#define QMP_CONNECT_MS 500 /* QEMU runs (its chardev is connected): its QMP socket exists */

enum cr_state {
	CR_UNKNOWN,  /* not asked for in this stop */
	CR_FETCHING, /* our ReadControlSpace is with the guest */
	CR_KNOWN,
	CR_FAILED,   /* the guest refused: virtual reads go to the guest until the next stop */
};

struct relay_hostmem {
	/* configuration */
	char ram_path[RELAY_SPEC_MAX];
	char qmp[RELAY_SPEC_MAX];
	char ram_id[GUEST_RAM_ID_MAX];
	int fixed_ram;              /* tests: the RAM was given, never remapped */

	/* the mapping, valid for one guest connection (QEMU process) */
	struct guest_ram ram;
	int mapped;
	uint64_t map_epoch;         /* guest_connects when mapped or when mapping failed */
	int map_tried;

	/* the current stop */
	uint64_t guest_epoch;       /* guest connections and HELLOs seen */
	uint64_t dbg_epoch;         /* debugger connections seen */
	int own_pending;            /* our ReadControlSpace is with the guest */
	int cr_dirty;               /* ... and a request that may change CR3 followed it */
	int stopped;
	uint16_t processor;         /* the processor that reported the stop */
	uint32_t outstanding;       /* debugger requests with the guest, unanswered */
	enum cr_state cr;
	struct pw_mode mode;

	/* a debugger read held while our ReadControlSpace is out */
	int held;
	size_t held_len;
	uint8_t held_pkt[KD_MAX_PAYLOAD];

	uint8_t out[KD_MAX_PAYLOAD];
	struct relay_hostmem_stats st;
};

/* ---- set-up ----------------------------------------------------------------------------- */

static struct relay_hostmem *hm_new(struct relay_vm *vm)
{
	struct relay_hostmem *hm = calloc(1, sizeof(*hm));

	if (!hm)
		return NULL;
	relay_hostmem_free(vm);
	vm->hostmem = hm;
	return hm;
}

int relay_hostmem_enable(struct relay_vm *vm, const struct relay_vm_config *cfg, char *err,
			 size_t errlen)
{
	struct relay_hostmem *hm;

	if (cfg->no_host_ram || !cfg->host_ram[0])
		return 0;
	if (!cfg->qmp[0]) {
		snprintf(err, errlen, "the host RAM path needs QEMU's QMP socket (--qmp / qmp=)");
		return -1;
	}
	hm = hm_new(vm);
	if (!hm) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(hm->ram_path, sizeof(hm->ram_path), "%s", cfg->host_ram);
	snprintf(hm->qmp, sizeof(hm->qmp), "%s", cfg->qmp);
	snprintf(hm->ram_id, sizeof(hm->ram_id), "%s",
		 cfg->ram_id[0] ? cfg->ram_id : GUEST_RAM_DEFAULT_ID);
	relay_logf(vm->log, vm->now, vm->name, "host RAM path: %s (backend '%s', QMP %s)",
		   hm->ram_path, hm->ram_id, hm->qmp);
	return 0;
}

int relay_hostmem_enable_ram(struct relay_vm *vm, const struct guest_ram *ram)
{
	struct relay_hostmem *hm = hm_new(vm);

	if (!hm)
		return -1;
	hm->ram = *ram;
	hm->ram.owns_mapping = 0;
	hm->mapped = 1;
	hm->fixed_ram = 1;
	return 0;
}

void relay_hostmem_free(struct relay_vm *vm)
{
	struct relay_hostmem *hm = vm->hostmem;

	if (!hm)
		return;
	guest_ram_unmap(&hm->ram);
	free(hm);
	vm->hostmem = NULL;
}

/* The RAM of the QEMU behind the current guest connection; mapped once per connection
 * (a restarted QEMU has a new file behind the same name). */
static int have_ram(struct relay_vm *vm, struct relay_hostmem *hm)
{
	char err[256];

	if (hm->fixed_ram)
		return hm->mapped;
	if (hm->map_tried && hm->map_epoch == vm->st.guest_connects)
		return hm->mapped;
	guest_ram_unmap(&hm->ram);
	hm->mapped = 0;
	hm->map_tried = 1;
	hm->map_epoch = vm->st.guest_connects;
	/* Blocking, once per QEMU process: a local socket answers in milliseconds. */
	if (guest_ram_open(&hm->ram, hm->qmp, QMP_CONNECT_MS, hm->ram_path, hm->ram_id, 0, err,
			   sizeof(err))) {
		hm->st.map_failures++;
		relay_logf(vm->log, vm->now, vm->name,
			   "host RAM path off until QEMU restarts: %s", err);
		return 0;
	}
	hm->mapped = 1;
	hm->st.maps++;
	relay_logf(vm->log, vm->now, vm->name, "host RAM mapped: %llu MiB in %zu ranges",
		   (unsigned long long)(guest_ram_total(&hm->ram.layout) >> 20),
		   hm->ram.layout.count);
	return 1;
}

/* ---- the stop ------------------------------------------------------------------------- */

static void forget_stop(struct relay_hostmem *hm)
{
	hm->stopped = 0;
	hm->outstanding = 0;
	hm->cr = CR_UNKNOWN;
	hm->held = 0;
}

/* Connections come and go under us: anything we knew about the stop may be stale. A
 * restarted guest will not answer our request; a new debugger does not change that. */
static void check_epoch(struct relay_vm *vm, struct relay_hostmem *hm)
{
	uint64_t g = vm->st.guest_connects + vm->st.hellos;
	uint64_t d = vm->st.debugger_connects + vm->st.debugger_disconnects;

	if (g != hm->guest_epoch) {
		hm->guest_epoch = g;
		hm->own_pending = 0;
		forget_stop(hm);
	}
	if (d != hm->dbg_epoch) {
		hm->dbg_epoch = d;
		forget_stop(hm);
	}
}

/* APIs after which the CR3 we know still holds. Anything else (SetContext, control-space
 * writes, processor switches, MSR writes, continues, ...) drops it. */
static int keeps_cr3(uint32_t api)
{
	switch (api) {
	case KD_API_READ_VIRTUAL_MEMORY:
	case KD_API_WRITE_VIRTUAL_MEMORY:
	case KD_API_READ_PHYSICAL_MEMORY:
	case KD_API_WRITE_PHYSICAL_MEMORY:
	case KD_API_READ_CONTROL_SPACE:
	case KD_API_GET_CONTEXT:
	case KD_API_GET_CONTEXT_EX:
	case KD_API_GET_VERSION:
	case KD_API_QUERY_MEMORY:
	case KD_API_READ_MSR:
	case KD_API_WRITE_BREAKPOINT:
	case KD_API_RESTORE_BREAKPOINT:
		return 1;
	default:
		return 0;
	}
}

static int resumes(uint32_t api)
{
	return api == KD_API_CONTINUE || api == KD_API_CONTINUE2 || api == KD_API_REBOOT;
}

/* ---- replies -------------------------------------------------------------------------- */

static void to_debugger(struct relay_vm *vm, const uint8_t *pkt, size_t len)
{
	enum relay_fate fate = relay_debugger_fate(vm, KD_PACKET_TYPE_STATE_MANIPULATE, pkt, len);

	relay_debugger_apply(vm, fate, KD_PACKET_TYPE_STATE_MANIPULATE, pkt, len);
}

static void to_guest(struct relay_vm *vm, struct relay_hostmem *hm, const uint8_t *pkt,
		     size_t len)
{
	vm->st.kd_to_guest++;
	vm->st.kd_to_guest_bytes += len;
	hm->outstanding++;
	relay_guest_send_kd(vm, KD_PACKET_TYPE_STATE_MANIPULATE, pkt, len);
}

static void trace_guest(struct relay_vm *vm, const struct kd_manipulate_state64 *m,
			const char *why)
{
	if (vm->trace)
		relay_logf(vm->log, vm->now, vm->name, "%s %#llx len %u: guest path (%s)",
			   kd_api_name(m->api_number),
			   (unsigned long long)m->u.read_memory.target_base_address,
			   m->u.read_memory.transfer_count, why);
}

/* Fills hm->out with the reply and sends it. data sits at hm->out + MANIP_SIZE already. */
static void send_read_reply(struct relay_vm *vm, struct relay_hostmem *hm,
			    const struct kd_manipulate_state64 *req, size_t got)
{
	struct kd_api_msg msg;

	kd_api_reply_read(&msg, req, hm->out + MANIP_SIZE, (uint32_t)got);
	memcpy(hm->out, &msg.u, MANIP_SIZE);
	hm->st.host_reads++;
	hm->st.host_bytes += got;
	if (vm->trace)
		relay_logf(vm->log, vm->now, vm->name, "%s %#llx len %u: host path, %zu bytes%s",
			   kd_api_name(req->api_number),
			   (unsigned long long)req->u.read_memory.target_base_address,
			   req->u.read_memory.transfer_count, got,
			   msg.u.m.return_status == KD_STATUS_SUCCESS ? "" : " (partial)");
	to_debugger(vm, hm->out, MANIP_SIZE + got);
}

/* Tries to answer a read; 1 if answered, 0 if it must go to the guest (counted). */
static int answer_read(struct relay_vm *vm, struct relay_hostmem *hm,
		       const struct kd_manipulate_state64 *req)
{
	uint64_t addr = req->u.read_memory.target_base_address;
	uint32_t want = kd_api_read_len(req);
	uint8_t *data = hm->out + MANIP_SIZE;
	const uint8_t *src;
	const char *why;
	size_t got;

	if (!have_ram(vm, hm)) {
		hm->st.why_no_ram++;
		trace_guest(vm, req, "no host RAM");
		return 0;
	}
	if (req->api_number == KD_API_READ_PHYSICAL_MEMORY) {
		src = guest_ram_ptr(&hm->ram, addr, want);
		if (!src) {
			hm->st.why_outside_ram++;
			trace_guest(vm, req, "not all in RAM");
			return 0;
		}
		memcpy(data, src, want);
		send_read_reply(vm, hm, req, want);
		return 1;
	}
	if (guest_vmem_read(&hm->ram, &hm->mode, addr, data, want, &got, &why) !=
	    GUEST_VMEM_OK) {
		hm->st.why_unknown_pt++;
		trace_guest(vm, req, why);
		return 0;
	}
	send_read_reply(vm, hm, req, got);
	return 1;
}

/* Our own ReadControlSpace(KSPECIAL_REGISTERS) for the stopped processor. */
static void fetch_cr(struct relay_vm *vm, struct relay_hostmem *hm)
{
	struct kd_api_msg msg;
	uint8_t pkt[MANIP_SIZE];

	kd_api_req_read_control(&msg, hm->processor, KD_CONTROL_SPACE_KSPECIAL,
				(uint32_t)sizeof(struct kd_special_registers_amd64));
	msg.u.m.pad = HOSTMEM_OWN_MARK;
	memcpy(pkt, &msg.u, MANIP_SIZE);
	hm->cr = CR_FETCHING;
	hm->own_pending = 1;
	hm->cr_dirty = 0;
	hm->st.cr_fetches++;
	relay_guest_send_kd(vm, KD_PACKET_TYPE_STATE_MANIPULATE, pkt, sizeof(pkt));
}

/* The reply to our ReadControlSpace: CR3 and CR4 from KSPECIAL_REGISTERS. */
static void take_cr(struct relay_vm *vm, struct relay_hostmem *hm, const uint8_t *kd,
		    size_t len)
{
	struct kd_special_registers_amd64 sr;
	struct kd_manipulate_state64 m;
	const uint8_t *data;
	size_t data_len;

	if (kd_api_parse_reply(kd, len, KD_API_READ_CONTROL_SPACE, &m, &data, &data_len) ||
	    m.return_status != KD_STATUS_SUCCESS || data_len < offsetof(struct kd_special_registers_amd64, cr4) + 8) {
		hm->cr = CR_FAILED;
		hm->st.cr_failures++;
		relay_logf(vm->log, vm->now, vm->name,
			   "host RAM: the guest did not give CR3 (ReadControlSpace refused); "
			   "virtual reads go to the guest in this stop");
		return;
	}
	memset(&sr, 0, sizeof(sr));
	memcpy(&sr, data, data_len < sizeof(sr) ? data_len : sizeof(sr));
	pw_mode_from_cr(&hm->mode, sr.cr3, sr.cr4, 0);
	hm->cr = hm->cr_dirty ? CR_UNKNOWN : CR_KNOWN;
	if (vm->trace)
		relay_logf(vm->log, vm->now, vm->name,
			   "host RAM: processor %u CR3 %#llx CR4 %#llx (%d-level paging)",
			   hm->processor, (unsigned long long)sr.cr3, (unsigned long long)sr.cr4,
			   hm->mode.la57 ? 5 : 4);
}

/* ---- hooks ---------------------------------------------------------------------------- */

/* A debugger read the host path may take: 1 answered or held, 0 to the guest. */
static int try_read(struct relay_vm *vm, struct relay_hostmem *hm,
		    const struct kd_manipulate_state64 *m, const uint8_t *kd, size_t len)
{
	if (!hm->stopped) {
		hm->st.why_running++;
		trace_guest(vm, m, "guest not stopped");
		return 0;
	}
	if (hm->outstanding || hm->own_pending) {
		hm->st.why_busy++; /* a guest reply is due first: keep the order */
		trace_guest(vm, m, "a guest reply is pending");
		return 0;
	}
	if (m->api_number == KD_API_READ_VIRTUAL_MEMORY && hm->cr != CR_KNOWN) {
		if (hm->cr == CR_FAILED || !have_ram(vm, hm)) {
			hm->st.why_no_cr3++;
			trace_guest(vm, m, hm->cr == CR_FAILED ? "no CR3" : "no host RAM");
			return 0;
		}
		memcpy(hm->held_pkt, kd, len);
		hm->held_len = len;
		hm->held = 1;
		fetch_cr(vm, hm);
		return 1;
	}
	return answer_read(vm, hm, m);
}

int relay_hostmem_from_debugger(struct relay_vm *vm, uint16_t type, const uint8_t *kd,
				size_t len)
{
	struct relay_hostmem *hm = vm->hostmem;
	struct kd_manipulate_state64 m;
	const uint8_t *data;
	size_t data_len;
	int is_read;

	if (!hm || type != KD_PACKET_TYPE_STATE_MANIPULATE)
		return 0;
	check_epoch(vm, hm);
	if (kd_api_parse_request(kd, len, &m, &data, &data_len)) {
		hm->cr = CR_UNKNOWN; /* the guest answers the malformed ones */
		hm->outstanding++;
		return 0;
	}
	is_read = m.api_number == KD_API_READ_VIRTUAL_MEMORY ||
		  m.api_number == KD_API_READ_PHYSICAL_MEMORY;
	if (hm->held) {
		/* Another request before our CR3 came back: send the held one first. */
		hm->held = 0;
		to_guest(vm, hm, hm->held_pkt, hm->held_len);
	} else if (is_read && try_read(vm, hm, &m, kd, len)) {
		return 1;
	}
	if (is_read)
		hm->st.guest_reads++;
	if (!keeps_cr3(m.api_number)) {
		hm->cr_dirty = hm->cr == CR_FETCHING;
		if (hm->cr != CR_FETCHING)
			hm->cr = CR_UNKNOWN;
	}
	if (resumes(m.api_number))
		forget_stop(hm);
	else if (kd_api_has_reply(m.api_number))
		hm->outstanding++;
	return 0;
}

int relay_hostmem_from_guest(struct relay_vm *vm, uint16_t type, const uint8_t *kd,
			     size_t len)
{
	struct relay_hostmem *hm = vm->hostmem;
	struct kd_manipulate_state64 m;
	const uint8_t *data;
	size_t data_len;

	if (!hm)
		return 0;
	check_epoch(vm, hm);
	if (type == KD_PACKET_TYPE_STATE_CHANGE64) {
		int held = hm->held;

		/* Stopped (again: a RESYNC repeats it). Earlier requests may not be answered,
		 * but a debugger read held for our CR3 never reached the guest, and its sender
		 * waits for it (the link ACKed it): the guest, in its manipulate loop again,
		 * answers it. Our own request, if the guest still answers it, is known by its
		 * mark below. */
		forget_stop(hm);
		hm->own_pending = 0;
		hm->stopped = 1;
		if (len >= offsetof(struct kd_wait_state_change64, number_processors))
			memcpy(&hm->processor,
			       kd + offsetof(struct kd_wait_state_change64, processor),
			       sizeof(hm->processor));
		if (held) {
			hm->st.guest_reads++;
			hm->st.held_resent++;
			to_guest(vm, hm, hm->held_pkt, hm->held_len);
		}
		return 0;
	}
	if (type != KD_PACKET_TYPE_STATE_MANIPULATE)
		return 0;
	if (!hm->own_pending && len >= MANIP_SIZE &&
	    kd_get_le32(kd + offsetof(struct kd_manipulate_state64, api_number)) ==
		    KD_API_READ_CONTROL_SPACE &&
	    kd_get_le32(kd + offsetof(struct kd_manipulate_state64, pad)) == HOSTMEM_OWN_MARK) {
		hm->st.own_late++; /* ours, from before a re-reported stop: never the debugger's */
		return 1;
	}
	if (hm->own_pending) {
		/* The guest answers in order and ours went out with nothing pending: it is
		 * this reply. The stop may have ended meanwhile (the debugger left). */
		hm->own_pending = 0;
		if (hm->cr != CR_FETCHING)
			return 1;
		take_cr(vm, hm, kd, len);
		if (hm->held) {
			hm->held = 0;
			if (kd_api_parse_manipulate(hm->held_pkt, hm->held_len, &m, &data,
						    &data_len) ||
			    hm->cr != CR_KNOWN || !answer_read(vm, hm, &m)) {
				hm->st.guest_reads++;
				to_guest(vm, hm, hm->held_pkt, hm->held_len);
			}
		}
		return 1;
	}
	if (hm->outstanding)
		hm->outstanding--;
	return 0;
}

const struct relay_hostmem_stats *relay_hostmem_stats(const struct relay_vm *vm)
{
	return vm->hostmem ? &vm->hostmem->st : NULL;
}

void relay_hostmem_format_stats(const struct relay_vm *vm, char *buf, size_t cap)
{
	const struct relay_hostmem *hm = vm->hostmem;
	const struct relay_hostmem_stats *s;

	if (!cap)
		return;
	buf[0] = '\0';
	if (!hm)
		return;
	s = &hm->st;
	snprintf(buf, cap,
		 " | host RAM %s: host path %llu reads %llu B, guest path %llu reads "
		 "(running %llu, busy %llu, no RAM %llu, outside RAM %llu, page walk %llu, "
		 "no CR3 %llu), CR3 fetches %llu (late %llu, held reads resent %llu)",
		 hm->mapped ? "mapped" : "unmapped", (unsigned long long)s->host_reads,
		 (unsigned long long)s->host_bytes, (unsigned long long)s->guest_reads,
		 (unsigned long long)s->why_running, (unsigned long long)s->why_busy,
		 (unsigned long long)s->why_no_ram, (unsigned long long)s->why_outside_ram,
		 (unsigned long long)s->why_unknown_pt, (unsigned long long)s->why_no_cr3,
		 (unsigned long long)s->cr_fetches, (unsigned long long)s->own_late,
		 (unsigned long long)s->held_resent);
}
