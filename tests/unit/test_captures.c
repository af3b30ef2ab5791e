/* SPDX-License-Identifier: MIT */
/* Replays the real KD captures through the parser, the API parsers, the trace decoder, and a
 * debugger-role link that must write exactly what the capture's debugger wrote. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "capture.h"

#include "vmkd/kd_api.h"
#include "vmkd/kd_link.h"
#include "vmkd/kd_packet.h"
#include "vmkd/kd_parser.h"
#include "vmkd/kd_trace.h"

/* What each capture holds, counted packet by packet (README.md beside the captures). */
struct expect {
	const char *file;
	/* RX: kernel -> debugger */
	size_t rx_data, rx_acks, rx_resets;
	size_t rx_prints, rx_load_symbols, rx_exceptions;
	size_t rx_version, rx_get_context, rx_set_context;
	/* TX: debugger -> kernel */
	size_t tx_data, tx_breakins, tx_resets, tx_acks;
	size_t tx_version, tx_get_context, tx_set_context, tx_continue;
	/* Distinct data packets a debugger keeps: all RX data but the SYNC-flagged first one,
	 * which is answered with RESET and comes again renumbered. */
	size_t delivered;
	uint64_t break_pc; /* pc of the break-in exception */
	uint64_t kern_base;
};

static const struct expect boot_attach = {
	.file = CAPTURE_BOOT_ATTACH,
	.rx_data = 168, .rx_acks = 37, .rx_resets = 1,
	.rx_prints = 131, .rx_load_symbols = 32, .rx_exceptions = 1,
	.rx_version = 1, .rx_get_context = 2, .rx_set_context = 1,
	.tx_data = 37, .tx_breakins = 2, .tx_resets = 2, .tx_acks = 167,
	.tx_version = 1, .tx_get_context = 2, .tx_set_context = 1, .tx_continue = 33,
	.delivered = 167,
	.break_pc = 0xfffff80000587d12ull,
	.kern_base = 0xfffff80000400000ull,
};

static const struct expect late_breakin = {
	.file = CAPTURE_LATE_BREAKIN,
	.rx_data = 5, .rx_acks = 4, .rx_resets = 1,
	.rx_prints = 0, .rx_load_symbols = 0, .rx_exceptions = 2,
	.rx_version = 1, .rx_get_context = 1, .rx_set_context = 1,
	.tx_data = 4, .tx_breakins = 1, .tx_resets = 1, .tx_acks = 4,
	.tx_version = 1, .tx_get_context = 1, .tx_set_context = 1, .tx_continue = 1,
	.delivered = 4,
	.break_pc = 0xfffff80000587d12ull,
	.kern_base = 0xfffff80000400000ull,
};

static struct capture *load_or_skip(const char *name)
{
	struct capture *c = capture_load(name);

	if (!c) {
		print_message("%s (looked in %s/captures)\n", CAPTURE_MISSING_MSG,
			      capture_shared_dir());
		skip();
	}
	assert_true(c->n > 0);
	return c;
}

static void load_events(const struct expect *x, struct capture **c, struct capture_events *evs)
{
	*c = load_or_skip(x->file);
	capture_events(*c, evs);
}

static void assert_clean_stream(const struct kd_parser_stats *st)
{
	assert_int_equal(st->garbage_bytes, 0);
	assert_int_equal(st->bad_checksum, 0);
	assert_int_equal(st->bad_trailer, 0);
	assert_int_equal(st->bad_length, 0);
}

/* ---- RX: every packet decodes, counted exactly ------------------------------------------ */

static void rx_decodes(const struct expect *x)
{
	struct capture_events evs;
	struct capture *c;

	load_events(x, &c, &evs);
	assert_clean_stream(&evs.stats[CAPTURE_RX]);
	assert_int_equal(evs.stats[CAPTURE_RX].breakins, 0);
	for (size_t i = 0; i < evs.n; i++) {
		const struct capture_event *e = &evs.ev[i];

		if (e->dir != CAPTURE_RX)
			continue;
		assert_true(e->kind == KD_EV_DATA || e->kind == KD_EV_CONTROL);
		if (e->kind == KD_EV_DATA) {
			assert_int_equal(e->hdr.leader, KD_PACKET_LEADER);
			assert_int_equal(e->hdr.byte_count, e->len);
			assert_int_equal(kd_checksum(e->payload, e->len), e->hdr.checksum);
		} else {
			assert_int_equal(e->hdr.byte_count, 0);
			assert_int_equal(e->hdr.checksum, 0);
		}
	}
	assert_int_equal(capture_count(&evs, CAPTURE_RX, KD_EV_DATA, -1), x->rx_data);
	assert_int_equal(evs.stats[CAPTURE_RX].data_packets, x->rx_data);
	assert_int_equal(capture_count(&evs, CAPTURE_RX, KD_EV_CONTROL, KD_PACKET_TYPE_ACKNOWLEDGE),
			 x->rx_acks);
	assert_int_equal(capture_count(&evs, CAPTURE_RX, KD_EV_CONTROL, KD_PACKET_TYPE_RESET),
			 x->rx_resets);
	assert_int_equal(capture_count(&evs, CAPTURE_RX, KD_EV_CONTROL, -1),
			 x->rx_acks + x->rx_resets);
	assert_int_equal(capture_count_api(&evs, CAPTURE_RX, KD_PACKET_TYPE_DEBUG_IO,
					   KD_API_PRINT_STRING),
			 x->rx_prints);
	assert_int_equal(capture_count(&evs, CAPTURE_RX, KD_EV_DATA, KD_PACKET_TYPE_DEBUG_IO),
			 x->rx_prints);
	assert_int_equal(capture_count_api(&evs, CAPTURE_RX, KD_PACKET_TYPE_STATE_CHANGE64,
					   KD_STATE_LOAD_SYMBOLS),
			 x->rx_load_symbols);
	assert_int_equal(capture_count_api(&evs, CAPTURE_RX, KD_PACKET_TYPE_STATE_CHANGE64,
					   KD_STATE_EXCEPTION),
			 x->rx_exceptions);
	assert_int_equal(capture_count(&evs, CAPTURE_RX, KD_EV_DATA, KD_PACKET_TYPE_STATE_CHANGE64),
			 x->rx_load_symbols + x->rx_exceptions);
	assert_int_equal(capture_count_api(&evs, CAPTURE_RX, KD_PACKET_TYPE_STATE_MANIPULATE,
					   KD_API_GET_VERSION),
			 x->rx_version);
	assert_int_equal(capture_count_api(&evs, CAPTURE_RX, KD_PACKET_TYPE_STATE_MANIPULATE,
					   KD_API_GET_CONTEXT),
			 x->rx_get_context);
	assert_int_equal(capture_count_api(&evs, CAPTURE_RX, KD_PACKET_TYPE_STATE_MANIPULATE,
					   KD_API_SET_CONTEXT),
			 x->rx_set_context);
	assert_int_equal(capture_count(&evs, CAPTURE_RX, KD_EV_DATA,
				       KD_PACKET_TYPE_STATE_MANIPULATE),
			 x->rx_version + x->rx_get_context + x->rx_set_context);
	capture_events_free(&evs);
	capture_free(c);
}

/* ---- TX: the debugger's packets parse as requests ---------------------------------------- */

static void tx_parses_as_requests(const struct expect *x)
{
	struct capture_events evs;
	struct capture *c;
	size_t acked = 0;

	load_events(x, &c, &evs);
	assert_clean_stream(&evs.stats[CAPTURE_TX]);
	assert_int_equal(evs.stats[CAPTURE_TX].breakins, x->tx_breakins);
	assert_int_equal(capture_count(&evs, CAPTURE_TX, KD_EV_BREAKIN, -1), x->tx_breakins);
	assert_int_equal(capture_count(&evs, CAPTURE_TX, KD_EV_DATA, -1), x->tx_data);
	assert_int_equal(capture_count(&evs, CAPTURE_TX, KD_EV_DATA,
				       KD_PACKET_TYPE_STATE_MANIPULATE),
			 x->tx_data);
	assert_int_equal(capture_count(&evs, CAPTURE_TX, KD_EV_CONTROL, KD_PACKET_TYPE_RESET),
			 x->tx_resets);
	assert_int_equal(capture_count(&evs, CAPTURE_TX, KD_EV_CONTROL, KD_PACKET_TYPE_ACKNOWLEDGE),
			 x->tx_acks);
	assert_int_equal(capture_count_api(&evs, CAPTURE_TX, KD_PACKET_TYPE_STATE_MANIPULATE,
					   KD_API_GET_VERSION),
			 x->tx_version);
	assert_int_equal(capture_count_api(&evs, CAPTURE_TX, KD_PACKET_TYPE_STATE_MANIPULATE,
					   KD_API_GET_CONTEXT),
			 x->tx_get_context);
	assert_int_equal(capture_count_api(&evs, CAPTURE_TX, KD_PACKET_TYPE_STATE_MANIPULATE,
					   KD_API_SET_CONTEXT),
			 x->tx_set_context);
	assert_int_equal(capture_count_api(&evs, CAPTURE_TX, KD_PACKET_TYPE_STATE_MANIPULATE,
					   KD_API_CONTINUE),
			 x->tx_continue);

	for (size_t i = 0; i < evs.n; i++) {
		const struct capture_event *e = &evs.ev[i];
		struct kd_manipulate_state64 m;
		const uint8_t *data;
		size_t len;

		if (e->dir != CAPTURE_TX || e->kind != KD_EV_DATA)
			continue;
		assert_int_equal(kd_api_parse_request(e->payload, e->len, &m, &data, &len),
				 KD_API_OK);
		assert_non_null(kd_api_name(m.api_number));
		assert_int_equal(m.return_status, 0);
		if (m.api_number == KD_API_CONTINUE)
			assert_int_equal(m.u.continue1.continue_status, KD_DBG_CONTINUE);
		if (m.api_number == KD_API_SET_CONTEXT)
			assert_int_equal(len, sizeof(struct kd_context_amd64));
		else
			assert_int_equal(len, 0);
	}
	/* The kernel ACKed every request, in order, with its id. */
	for (size_t i = 0; i < evs.n; i++) {
		const struct capture_event *e = &evs.ev[i];

		if (e->dir == CAPTURE_RX && e->kind == KD_EV_CONTROL &&
		    e->hdr.type == KD_PACKET_TYPE_ACKNOWLEDGE) {
			size_t seen = 0;

			for (size_t j = 0; j < evs.n; j++) {
				const struct capture_event *t = &evs.ev[j];

				if (t->dir != CAPTURE_TX || t->kind != KD_EV_DATA)
					continue;
				if (seen++ == acked) {
					assert_int_equal(e->hdr.id, t->hdr.id);
					break;
				}
			}
			acked++;
		}
	}
	assert_int_equal(acked, x->tx_data);
	capture_events_free(&evs);
	capture_free(c);
}

/* ---- RX payloads through the kd_api parsers --------------------------------------------- */

static int has_image_suffix(const char *path, size_t len)
{
	static const char *const suffixes[] = { ".exe", ".dll", ".sys" };

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (len > 4 && !strncasecmp(path + len - 4, suffixes[i], 4))
			return 1;
	return 0;
}

static void check_state_change(const struct expect *x, const struct capture_event *e,
			       struct kd_wait_state_change64 *sc, size_t *load_symbols)
{
	const uint8_t *data;
	const char *path;
	size_t len, path_len;

	assert_int_equal(kd_api_parse_state_change(e->payload, e->len, sc, &data, &len), KD_API_OK);
	assert_int_equal(sc->number_processors, 1);
	assert_int_equal(sc->control_report.seg_cs, KD_KGDT64_R0_CODE);
	assert_true(sc->control_report.instruction_count <= KD_MAXSTREAM);
	if (sc->new_state == KD_STATE_EXCEPTION) {
		static const uint8_t blob[] = { 0x01, 0x00, 0x00, 0x00 };

		assert_int_equal(sc->u.exception.record.exception_code, KD_STATUS_BREAKPOINT);
		assert_int_equal(sc->u.exception.first_chance, 1);
		assert_int_equal(sc->program_counter, x->break_pc);
		/* This kernel reports the int3's address + 1 (README quirk). */
		assert_int_equal(sc->u.exception.record.exception_address, x->break_pc + 1);
		assert_int_equal(len, sizeof(blob));
		assert_memory_equal(data, blob, sizeof(blob));
		assert_int_equal(kd_api_state_path(sc, data, len, &path, &path_len),
				 KD_API_ERR_ARG);
		return;
	}
	assert_int_equal(sc->new_state, KD_STATE_LOAD_SYMBOLS);
	assert_int_equal(kd_api_state_path(sc, data, len, &path, &path_len), KD_API_OK);
	assert_int_equal(sc->u.load_symbols.path_name_length, len); /* the path is all the data */
	assert_int_equal(path_len + 1, len);                        /* ... with its NUL */
	assert_true(has_image_suffix(path, path_len));
	assert_int_equal(sc->u.load_symbols.unload_symbols, 0);
	assert_true(sc->u.load_symbols.base_of_dll >= 0xfffff80000000000ull);
	assert_true(sc->u.load_symbols.size_of_image > 0);
	if ((*load_symbols)++ == 0) { /* the kernel comes first */
		assert_int_equal(sc->u.load_symbols.base_of_dll, x->kern_base);
		assert_true(path_len >= 12);
		assert_memory_equal(path + path_len - 12, "ntoskrnl.exe", 12);
	}
}

static void rx_payloads_parse(const struct expect *x)
{
	struct kd_context_amd64 last_ctx;
	struct kd_wait_state_change64 sc;
	struct capture_events evs;
	struct capture *c;
	uint32_t asked = 0; /* api of the debugger's last request */
	size_t load_symbols = 0, versions = 0, contexts = 0, set_contexts = 0, prints = 0;

	memset(&last_ctx, 0, sizeof(last_ctx));
	memset(&sc, 0, sizeof(sc));
	load_events(x, &c, &evs);
	for (size_t i = 0; i < evs.n; i++) {
		const struct capture_event *e = &evs.ev[i];
		struct kd_manipulate_state64 m;
		const uint8_t *data;
		size_t len;

		if (e->kind != KD_EV_DATA)
			continue;
		if (e->dir == CAPTURE_TX) {
			assert_int_equal(kd_api_parse_request(e->payload, e->len, &m, &data, &len),
					 KD_API_OK);
			asked = m.api_number;
			if (asked == KD_API_SET_CONTEXT) {
				struct kd_context_amd64 ctx;

				/* The capture's debugger stepped over the int3: Rip + 1, the rest
				 * exactly as read. */
				memcpy(&ctx, data, sizeof(ctx));
				assert_int_equal(ctx.rip, last_ctx.rip + 1);
				ctx.rip--;
				assert_memory_equal(&ctx, &last_ctx, sizeof(ctx));
				set_contexts++;
			}
			continue;
		}
		switch (e->hdr.type) {
		case KD_PACKET_TYPE_DEBUG_IO: {
			struct kd_debug_io io;

			assert_int_equal(kd_api_parse_debug_io(e->payload, e->len, &io, &data, &len),
					 KD_API_OK);
			assert_int_equal(io.api_number, KD_API_PRINT_STRING);
			assert_int_equal(len, e->len - sizeof(io));
			assert_true(len > 0);
			prints++;
			break;
		}
		case KD_PACKET_TYPE_STATE_CHANGE64:
			check_state_change(x, e, &sc, &load_symbols);
			break;
		case KD_PACKET_TYPE_STATE_MANIPULATE:
			assert_int_equal(kd_api_parse_reply(e->payload, e->len, asked, &m, &data, &len),
					 KD_API_OK);
			assert_int_equal(m.return_status, KD_STATUS_SUCCESS);
			if (asked == KD_API_GET_VERSION) {
				struct kd_get_version64 v;

				assert_int_equal(kd_api_parse_version(e->payload, e->len, &v),
						 KD_API_OK);
				assert_int_equal(v.machine_type, KD_MACHINE_AMD64);
				assert_int_equal(v.kd_secondary_version, 2);
				assert_int_equal(v.flags, KD_VERSION_FLAG_DATA | KD_VERSION_FLAG_PTR64);
				assert_int_equal(v.protocol_version, KD_PROTOCOL_VERSION_64BIT2);
				assert_int_equal(v.major_version, KD_MAJOR_VERSION_CHECKED);
				assert_int_equal(v.minor_version, 3790);
				assert_int_equal(v.max_packet_type, KD_PACKET_TYPE_MAX);
				assert_int_equal(v.max_state_change, 3);
				assert_int_equal(v.max_manipulate, 0x31);
				assert_int_equal(v.kern_base, x->kern_base);
				assert_int_not_equal(v.debugger_data_list, 0);
				versions++;
			} else if (asked == KD_API_GET_CONTEXT) {
				assert_int_equal(e->len, 0x508); /* 0x38 + 0x4D0 */
				assert_int_equal(kd_api_parse_context(e->payload, e->len, &last_ctx),
						 KD_API_OK);
				assert_int_equal(last_ctx.rip, sc.program_counter);
				assert_int_equal(last_ctx.context_flags, KD_CONTEXT_ALL);
				contexts++;
			} else {
				assert_int_equal(asked, KD_API_SET_CONTEXT);
				assert_int_equal(len, 0);
			}
			break;
		default:
			fail_msg("unexpected packet type %u", e->hdr.type);
		}
	}
	assert_int_equal(prints, x->rx_prints);
	assert_int_equal(load_symbols, x->rx_load_symbols);
	assert_int_equal(versions, x->rx_version);
	assert_int_equal(contexts, x->rx_get_context);
	assert_int_equal(set_contexts, x->tx_set_context);
	capture_events_free(&evs);
	capture_free(c);
}

/* ---- trace: every packet named ---------------------------------------------------------- */

static const char *trace_event(const struct capture_event *e, char *line, size_t cap)
{
	enum kd_trace_dir dir = e->dir == CAPTURE_TX ? KD_TRACE_TO_TARGET : KD_TRACE_FROM_TARGET;

	kd_trace_format(line, cap, dir, e->kind == KD_EV_BREAKIN ? NULL : &e->hdr, e->payload,
			e->len);
	return line;
}

/* Peer text is quoted; only what the decoder itself says counts. */
static void assert_decoded(const char *line)
{
	char head[KD_TRACE_LINE_MAX];
	const char *quote = strchr(line, '"');
	size_t n = quote ? (size_t)(quote - line) : strlen(line);

	memcpy(head, line, n);
	head[n] = '\0';
	if (strstr(head, "unknown") || strstr(head, "malformed") || strstr(head, "bad checksum"))
		fail_msg("not fully decoded: %s", line);
}

static void trace_names_everything(const struct expect *x)
{
	char line[KD_TRACE_LINE_MAX];
	struct capture_events evs;
	struct capture *c;
	size_t lines = 0;

	load_events(x, &c, &evs);
	for (size_t i = 0; i < evs.n; i++) {
		const struct capture_event *e = &evs.ev[i];
		const char *want = NULL;

		trace_event(e, line, sizeof(line));
		assert_decoded(line);
		assert_int_equal(strncmp(line, e->dir == CAPTURE_TX ? "-> " : "<- ", 3), 0);
		lines++;
		if (e->kind != KD_EV_DATA)
			continue;
		switch (e->hdr.type) {
		case KD_PACKET_TYPE_STATE_MANIPULATE:
			want = kd_api_name(capture_api(e));
			break;
		case KD_PACKET_TYPE_STATE_CHANGE64:
			want = kd_api_state_name(capture_api(e));
			break;
		case KD_PACKET_TYPE_DEBUG_IO:
			want = kd_api_debug_io_name(capture_api(e));
			break;
		default:
			break;
		}
		assert_non_null(want);
		if (!strstr(line, want))
			fail_msg("'%s' missing from: %s", want, line);
	}
	assert_int_equal(lines, evs.n);
	capture_events_free(&evs);
	capture_free(c);
}

/* Some exact lines, to pin the format on real bytes. */
static void trace_exact_lines(void **state)
{
	(void)state;
	static const char *const late[] = {
		"-> BREAKIN",
		"-> RESET",
		"<- STATE_CHANGE id=80800800 Exception code=80000003 pc=fffff80000587d12 first-chance",
		"<- RESET",
		"<- STATE_CHANGE id=80800000 Exception code=80000003 pc=fffff80000587d12 first-chance",
		"-> ACK id=80800000",
		"-> MANIPULATE id=80800000 GetVersion",
		"<- ACK id=80800000",
		"<- MANIPULATE id=80800001 GetVersion status=00000000 build=3790 major=c proto=6.2 "
		"machine=8664 flags=0006 kernbase=fffff80000400000 modules=fffff8000062cc80 "
		"kddata=fffff8000061ab30",
		"-> ACK id=80800001",
		"-> MANIPULATE id=80800001 GetContext cpu=0",
		"<- ACK id=80800001",
		"<- MANIPULATE id=80800000 GetContext status=00000000 rip=fffff80000587d12",
		"-> ACK id=80800000",
		"-> MANIPULATE id=80800000 SetContext cpu=0 flags=00000000 rip=fffff80000587d13",
		"<- ACK id=80800000",
		"<- MANIPULATE id=80800001 SetContext status=00000000",
		"-> ACK id=80800001",
		"-> MANIPULATE id=80800001 Continue continue=00010002",
		"<- ACK id=80800001",
	};
	char line[KD_TRACE_LINE_MAX];
	struct capture_events evs;
	struct capture *c;
	size_t loads = 0;

	c = load_or_skip(CAPTURE_LATE_BREAKIN);
	capture_events(c, &evs);
	assert_int_equal(evs.n, sizeof(late) / sizeof(late[0]));
	for (size_t i = 0; i < evs.n; i++)
		assert_string_equal(trace_event(&evs.ev[i], line, sizeof(line)), late[i]);
	capture_events_free(&evs);
	capture_free(c);

	c = load_or_skip(CAPTURE_BOOT_ATTACH);
	capture_events(c, &evs);
	assert_string_equal(trace_event(&evs.ev[2], line, sizeof(line)),
			    "<- DEBUG_IO id=80800800 PrintString \"(/ntoskrnl/kd64/kdinit.c:94) "
			    "-----------------------------------------------------\\n\"");
	for (size_t i = 0; i < evs.n; i++) {
		const struct capture_event *e = &evs.ev[i];

		if (e->dir != CAPTURE_RX || e->hdr.type != KD_PACKET_TYPE_STATE_CHANGE64 ||
		    capture_api(e) != KD_STATE_LOAD_SYMBOLS)
			continue;
		trace_event(e, line, sizeof(line));
		if (loads == 0)
			assert_string_equal(line, "<- STATE_CHANGE id=80800001 LoadSymbols "
						  "base=fffff80000400000 size=0xaff000 "
						  "multi(0)disk(0)cdrom(96)\\reactos\\system32\\ntoskrnl.exe");
		if (loads == 1)
			assert_string_equal(line, "<- STATE_CHANGE id=80800000 LoadSymbols "
						  "base=fffff80003000000 size=0x20f000 "
						  "multi(0)disk(0)cdrom(96)\\reactos\\system32\\hal.dll");
		loads++;
	}
	assert_int_equal(loads, 32);
	capture_events_free(&evs);
	capture_free(c);
}

/* ---- link: a debugger-role kd_link writes what the capture's debugger wrote -------------- */

struct recorder {
	uint8_t *buf; /* every byte the link wrote, in order */
	size_t len, cap;
	size_t delivered;
	size_t delivered_by_type[KD_PACKET_TYPE_MAX];
};

static void rec_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct recorder *r = opaque;

	if (r->len + len > r->cap) {
		r->cap = (r->len + len) * 2;
		r->buf = realloc(r->buf, r->cap);
		assert_non_null(r->buf);
	}
	memcpy(r->buf + r->len, buf, len);
	r->len += len;
}

static void rec_deliver(void *opaque, uint16_t type, uint32_t id, const uint8_t *payload,
			size_t len)
{
	struct recorder *r = opaque;

	(void)payload;
	(void)len;
	assert_int_equal(id & KD_SYNC_PACKET_ID, 0);
	assert_true(type < KD_PACKET_TYPE_MAX);
	r->delivered++;
	r->delivered_by_type[type]++;
}

static const struct kd_link_ops rec_ops = {
	.write = rec_write,
	.deliver = rec_deliver,
};

/* ACK ids of one side of a stream, through a fresh parser. */
static size_t ack_ids(const uint8_t *buf, size_t len, uint32_t *ids, size_t max)
{
	struct kd_parser *p = malloc(sizeof(*p));
	size_t n = 0;

	assert_non_null(p);
	kd_parser_init(p);
	while (len) {
		struct kd_event ev;
		size_t used = kd_parser_feed(p, buf, len, &ev);

		buf += used;
		len -= used;
		if (ev.kind == KD_EV_CONTROL && ev.hdr.type == KD_PACKET_TYPE_ACKNOWLEDGE) {
			assert_true(n < max);
			ids[n++] = ev.hdr.id;
		}
	}
	free(p);
	return n;
}

/*
 * Replays the capture against a debugger-role link: RX lines go to kd_link_input at their
 * capture time; the debugger's own actions in the TX lines are re-enacted (break-in bytes,
 * the connect RESET, each request via kd_link_send when the capture sent it); the ACKs and
 * the RESET answering the SYNC packet must come from the link itself. Timers are not run:
 * the capture's client never hit one, and kd_link_poll would repeat RESET while the kernel
 * was still booting, which the capture's client did not do.
 */
static void link_acks_match(const struct expect *x)
{
	struct capture_events evs;
	struct kd_link_config cfg;
	struct recorder rec;
	struct kd_parser *txp;
	struct kd_link *l;
	struct capture *c;
	uint8_t *tx_all;
	uint32_t *want, *got;
	size_t tx_len = 0, n_want, n_got;
	int rx_seen = 0;

	load_events(x, &c, &evs);
	memset(&rec, 0, sizeof(rec));
	l = calloc(1, sizeof(*l));
	txp = malloc(sizeof(*txp));
	assert_non_null(l);
	assert_non_null(txp);
	kd_link_default_config(&cfg);
	kd_link_init(l, KD_ROLE_DEBUGGER, &cfg, &rec_ops, &rec);
	kd_parser_init(txp);

	for (size_t i = 0; i < c->n; i++) {
		const struct capture_line *cl = &c->lines[i];
		const uint8_t *buf = cl->bytes;
		size_t len = cl->len;

		if (cl->dir == CAPTURE_RX) {
			kd_link_input(l, cl->bytes, cl->len, cl->t_us);
			rx_seen = 1;
			continue;
		}
		tx_len += cl->len;
		while (len) {
			struct kd_event ev;
			size_t used = kd_parser_feed(txp, buf, len, &ev);

			buf += used;
			len -= used;
			switch (ev.kind) {
			case KD_EV_BREAKIN:
				kd_link_send_breakin(l);
				break;
			case KD_EV_CONTROL:
				/* Connecting is the debugger's act; later control packets are
				 * the link's answers, compared below. */
				if (ev.hdr.type == KD_PACKET_TYPE_RESET && !rx_seen)
					kd_link_start_reset(l, cl->t_us);
				break;
			case KD_EV_DATA:
				assert_int_equal(kd_link_send(l, ev.hdr.type, ev.payload,
							      ev.payload_len, NULL, 0, cl->t_us),
						 0);
				break;
			default:
				break;
			}
		}
	}

	/* The ACKs: exactly the capture's, same ids, same order. */
	tx_all = malloc(tx_len);
	assert_non_null(tx_all);
	tx_len = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (c->lines[i].dir != CAPTURE_TX)
			continue;
		memcpy(tx_all + tx_len, c->lines[i].bytes, c->lines[i].len);
		tx_len += c->lines[i].len;
	}
	want = calloc(x->tx_acks + 1, sizeof(*want));
	got = calloc(x->tx_acks + 64, sizeof(*got));
	assert_non_null(want);
	assert_non_null(got);
	n_want = ack_ids(tx_all, tx_len, want, x->tx_acks + 1);
	n_got = ack_ids(rec.buf, rec.len, got, x->tx_acks + 64);
	assert_int_equal(n_want, x->tx_acks);
	assert_int_equal(n_got, n_want);
	for (size_t i = 0; i < n_want; i++)
		if (got[i] != want[i])
			fail_msg("ACK #%zu: link wrote %08x, capture has %08x", i, got[i], want[i]);

	/* And everything else too: break-ins, RESETs, requests with the same ids, byte for
	 * byte. */
	assert_int_equal(rec.len, tx_len);
	assert_memory_equal(rec.buf, tx_all, tx_len);

	assert_int_equal(rec.delivered, x->delivered);
	assert_int_equal(rec.delivered, n_want); /* one ACK per delivered packet */
	assert_int_equal(rec.delivered_by_type[KD_PACKET_TYPE_STATE_MANIPULATE],
			 x->rx_version + x->rx_get_context + x->rx_set_context);
	assert_int_equal(l->stats.bad_packets, 0);
	assert_int_equal(l->stats.duplicates, 0);
	assert_int_equal(l->stats.resets_received, x->rx_resets);
	assert_int_equal(kd_link_busy(l), 0); /* the last Continue was ACKed */

	free(want);
	free(got);
	free(tx_all);
	free(rec.buf);
	free(txp);
	free(l);
	capture_events_free(&evs);
	capture_free(c);
}

/* ---- one set of tests per capture -------------------------------------------------------- */

#define CAPTURE_TESTS(prefix, x)                                                       \
	static void prefix##_rx_decodes(void **s) { (void)s; rx_decodes(&(x)); }       \
	static void prefix##_tx_parses_as_requests(void **s)                           \
	{                                                                              \
		(void)s;                                                               \
		tx_parses_as_requests(&(x));                                           \
	}                                                                              \
	static void prefix##_rx_payloads_parse(void **s) { (void)s; rx_payloads_parse(&(x)); } \
	static void prefix##_trace_names_everything(void **s)                          \
	{                                                                              \
		(void)s;                                                               \
		trace_names_everything(&(x));                                          \
	}                                                                              \
	static void prefix##_link_acks_match(void **s) { (void)s; link_acks_match(&(x)); }

CAPTURE_TESTS(boot, boot_attach)
CAPTURE_TESTS(late, late_breakin)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(boot_rx_decodes),
		cmocka_unit_test(boot_tx_parses_as_requests),
		cmocka_unit_test(boot_rx_payloads_parse),
		cmocka_unit_test(boot_trace_names_everything),
		cmocka_unit_test(boot_link_acks_match),
		cmocka_unit_test(late_rx_decodes),
		cmocka_unit_test(late_tx_parses_as_requests),
		cmocka_unit_test(late_rx_payloads_parse),
		cmocka_unit_test(late_trace_names_everything),
		cmocka_unit_test(late_link_acks_match),
		cmocka_unit_test(trace_exact_lines),
	};

	return cmocka_run_group_tests_name("kd_captures", tests, NULL, NULL);
}
