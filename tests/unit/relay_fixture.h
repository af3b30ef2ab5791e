/* SPDX-License-Identifier: MIT */
/*
 * relay_fixture.h - the relay unit tests' one fixture: a per-VM relay core (relay_vm) driven
 * in-process with an injected clock, a fake guest that writes frames into it and reads the
 * frames it sends back (test_relay_fakes.h's guest view), and a fake debugger, a real
 * debugger-role kd_link. test_relay_vm, test_relay_faults and test_relay_hostmem use it;
 * a test that needs a smarter guest or debugger sets the hooks.
 * VMKD_TEST_TRACE=1 prints each test's relay log (with --trace lines) on stderr.
 */
#ifndef VMKD_TEST_RELAY_FIXTURE_H
#define VMKD_TEST_RELAY_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "vmkd/kd_api.h"
#include "vmkd/kd_link.h"
#include "vmkd/kd_parser.h"

#include "../../host/relay/relay_vm.h"
#include "test_relay_fakes.h"

struct relay_fixture;

/* The fake guest's turn in rfx_exchange(): returns 1 if it wrote anything to the relay. */
typedef int rfx_guest_fn(struct relay_fixture *fx);
/* Called for every packet the fake debugger's link delivers, after the fixture's counts. */
typedef void rfx_deliver_fn(struct relay_fixture *fx, uint16_t type, uint32_t id,
			    const uint8_t *payload, size_t len);

struct relay_fixture {
	struct relay_vm *vm;
	struct relay_log log;      /* into logbuf */
	char *logbuf;
	size_t logsize;
	uint64_t now;              /* the injected clock, us */
	uint32_t gseq;             /* the fake guest's next frame counter */
	struct tr_guest_view gv;   /* frames the relay sent to the guest */

	/* the fake debugger */
	struct kd_link dbg;
	struct relay_buf dbg_out;  /* its bytes not yet taken by the relay */
	size_t dbg_chunk;          /* relay bytes the debugger reads per step; 0 = all */
	size_t delivered;
	uint16_t last_type;
	uint32_t last_id;
	uint8_t last_payload[KD_MAX_PAYLOAD];
	size_t last_len;
	int next_print;            /* the "line NNNN" the debugger expects next */
	int prints_in_order;
	size_t lines;              /* "line NNNN" lines delivered (several per joined packet) */
	struct kd_parser raw;      /* raw mode: the relay's KDCOM bytes, parsed by the test */

	/* hooks (NULL: the default) */
	rfx_guest_fn *guest;       /* default: rfx_guest_take(), the guest never answers */
	rfx_deliver_fn *on_deliver;
};

/* Sets fx up at time now: a relay core for "vm0" with tracing on, logging into memory; no
 * guest and no debugger connected yet. rfx_fini() undoes it (not the struct itself). */
void rfx_init(struct relay_fixture *fx, uint64_t now);
void rfx_fini(struct relay_fixture *fx);

/* cmocka setup/teardown: a calloc'd fixture at 5 s in *state; RFX_TEST(fn) names a test
 * that uses them. */
int rfx_setup(void **state);
int rfx_teardown(void **state);
#define RFX_TEST(fn) cmocka_unit_test_setup_teardown(fn, rfx_setup, rfx_teardown)

/* The relay's log so far. */
const char *rfx_log_text(struct relay_fixture *fx);

/* What the relay wrote for the guest goes to the guest view (fx->gv). */
void rfx_guest_take(struct relay_fixture *fx);

/* Moves bytes between the relay, the fake debugger and the fake guest until nothing moves. */
void rfx_exchange(struct relay_fixture *fx);

/* The fake guest: raw bytes (all must be taken), a frame, a KD packet frame, and the
 * packets the tests send most. */
void rfx_guest_input(struct relay_fixture *fx, const uint8_t *buf, size_t len);
void rfx_guest_frame(struct relay_fixture *fx, uint8_t type, const void *payload, size_t len);
void rfx_guest_kd(struct relay_fixture *fx, uint16_t kd_type, const uint8_t *kd, size_t len);
void rfx_guest_state_change(struct relay_fixture *fx, uint64_t pc);
void rfx_guest_print(struct relay_fixture *fx, const char *text);
void rfx_guest_hello(struct relay_fixture *fx);
/* QEMU's chardev connects; what the relay says goes to the guest view. */
void rfx_guest_connect(struct relay_fixture *fx);

/* A debugger connects; with reset it starts the RESET handshake as WinDbg does. */
void rfx_dbg_connect(struct relay_fixture *fx, int reset);
/* The fake debugger sends a request, and the bytes move. */
void rfx_dbg_send(struct relay_fixture *fx, const struct kd_api_msg *m);

/* The clock moves on by us; the relay's timers run. */
void rfx_advance(struct relay_fixture *fx, uint64_t us);

/* The guest view holds exactly one frame, of this type: returns it. */
const struct tr_frame_rec *rfx_only_frame(struct relay_fixture *fx, uint8_t type);

#endif
