/* SPDX-License-Identifier: MIT */
/* Trace decoder: one readable line per KD packet. Host only (see kd_trace.h). */
#if __STDC_HOSTED__

#include "vmkd/kd_trace.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "vmkd/kd_api.h"
#include "vmkd/kd_packet.h"

#include "vmkd/kd_bytes.h"

#define TEXT_SHOWN 96u  /* peer text bytes shown before "..." */
#define PATH_SHOWN 160u

/* ---- line buffer: appends that stop quietly at the end of the caller's buffer ---------- */

struct line {
	char *buf;
	size_t cap; /* > 0 */
	size_t len; /* < cap; buf[len] is always NUL */
};

static void put(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct line *l, const char *fmt, ...)
{
	size_t room = l->cap - l->len;
	va_list ap;
	int n;

	if (room <= 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	l->len += (size_t)n < room ? (size_t)n : room - 1;
}

static void put_char(struct line *l, char c)
{
	if (l->len + 1 >= l->cap)
		return;
	l->buf[l->len++] = c;
	l->buf[l->len] = '\0';
}

/* One byte of peer text. Quoted text escapes '"' and '\\' too; bare text (paths) keeps them
 * so a Windows path reads as itself. */
static void put_escaped(struct line *l, uint8_t c, int quoted)
{
	switch (c) {
	case '\n':
		put(l, "\\n");
		break;
	case '\r':
		put(l, "\\r");
		break;
	case '\t':
		put(l, "\\t");
		break;
	case '"':
	case '\\':
		if (quoted)
			put_char(l, '\\');
		put_char(l, (char)c);
		break;
	default:
		if (c >= 0x20 && c < 0x7f)
			put_char(l, (char)c);
		else
			put(l, "\\x%02x", c);
	}
}

/* Peer text, escaped, at most max bytes of it; "..." after the closing quote marks a cut. */
static void put_text(struct line *l, const uint8_t *s, size_t n, size_t max, int quoted)
{
	size_t shown = n > max ? max : n;

	if (quoted)
		put_char(l, '"');
	for (size_t i = 0; i < shown; i++)
		put_escaped(l, s[i], quoted);
	if (quoted)
		put_char(l, '"');
	if (shown < n)
		put(l, "...");
}

static void put_quoted(struct line *l, const uint8_t *s, size_t n)
{
	put_text(l, s, n, TEXT_SHOWN, 1);
}

static void put_malformed(struct line *l, enum kd_api_error err)
{
	put(l, " (malformed: %s)", kd_api_error_name(err));
}

static void put_short(struct line *l, size_t len, size_t need)
{
	put(l, " (malformed: %zu bytes, header needs %zu)", len, need);
}

/* ---- MANIPULATE ------------------------------------------------------------------------ */

struct manip {
	const struct kd_manipulate_state64 *m;
	const uint8_t *data;
	size_t data_len;
};

typedef void (*manip_fmt)(struct line *l, const struct manip *p);

static void req_memory(struct line *l, const struct manip *p)
{
	const struct kd_read_memory64 *r = &p->m->u.read_memory;

	put(l, " addr=%016" PRIx64 " len=%" PRIu32, r->target_base_address, r->transfer_count);
}

/* Physical accesses carry the caching mode in the count the reply overwrites. */
static void req_physical(struct line *l, const struct manip *p)
{
	req_memory(l, p);
	if (p->m->u.read_memory.actual_bytes_read)
		put(l, " cache=%" PRIu32, p->m->u.read_memory.actual_bytes_read);
}

static void rep_read(struct line *l, const struct manip *p)
{
	put(l, " read=%" PRIu32, p->m->u.read_memory.actual_bytes_read);
}

static void rep_write(struct line *l, const struct manip *p)
{
	put(l, " written=%" PRIu32, p->m->u.write_memory.actual_bytes_written);
}

static void put_selector(struct line *l, uint64_t sel)
{
	const char *name = kd_api_control_space_name(sel);

	if (name)
		put(l, " sel=%s", name);
	else
		put(l, " sel=0x%" PRIx64, sel);
}

static void req_control(struct line *l, const struct manip *p)
{
	put(l, " cpu=%u", p->m->processor);
	put_selector(l, p->m->u.read_memory.target_base_address);
	put(l, " len=%" PRIu32, p->m->u.read_memory.transfer_count);
}

static void req_cpu(struct line *l, const struct manip *p)
{
	put(l, " cpu=%u", p->m->processor);
}

/* Rip of a CONTEXT in the data, when the data holds that far. */
static void put_rip(struct line *l, const struct manip *p)
{
	size_t off = offsetof(struct kd_context_amd64, rip);

	if (p->data_len >= off + 8)
		put(l, " rip=%016" PRIx64, kd_get_le64(p->data + off));
}

static void rep_get_context(struct line *l, const struct manip *p)
{
	put_rip(l, p);
}

static void req_set_context(struct line *l, const struct manip *p)
{
	put(l, " cpu=%u flags=%08" PRIx32, p->m->processor, p->m->u.set_context.context_flags);
	put_rip(l, p);
}

static void req_context_ex(struct line *l, const struct manip *p)
{
	const struct kd_context_ex *c = &p->m->u.context_ex;

	put(l, " cpu=%u offset=0x%" PRIx32 " count=%" PRIu32, p->m->processor, c->offset,
	    c->byte_count);
}

static void rep_context_ex(struct line *l, const struct manip *p)
{
	put(l, " copied=%" PRIu32, p->m->u.context_ex.bytes_copied);
}

static void req_write_bp(struct line *l, const struct manip *p)
{
	put(l, " addr=%016" PRIx64, p->m->u.write_breakpoint.breakpoint_address);
}

static void rep_write_bp(struct line *l, const struct manip *p)
{
	put(l, " handle=%" PRIu32, p->m->u.write_breakpoint.breakpoint_handle);
}

static void req_restore_bp(struct line *l, const struct manip *p)
{
	put(l, " handle=%" PRIu32, p->m->u.restore_breakpoint.breakpoint_handle);
}

static void req_bp_ex(struct line *l, const struct manip *p)
{
	put(l, " count=%" PRIu32 " continue=%08" PRIx32, p->m->u.breakpoint_ex.breakpoint_count,
	    p->m->u.breakpoint_ex.continue_status);
}

static void req_continue(struct line *l, const struct manip *p)
{
	put(l, " continue=%08" PRIx32, p->m->u.continue1.continue_status);
}

static void req_continue2(struct line *l, const struct manip *p)
{
	const struct kd_continue2 *c = &p->m->u.continue2;

	put(l, " continue=%08" PRIx32 " trace=%" PRIu32 " dr7=%016" PRIx64, c->continue_status,
	    c->trace_flag, c->dr7);
	if (c->current_symbol_start != 1)
		put(l, " range=%016" PRIx64 "-%016" PRIx64, c->current_symbol_start,
		    c->current_symbol_end);
}

static void req_io(struct line *l, const struct manip *p)
{
	const struct kd_read_write_io64 *io = &p->m->u.read_write_io;

	put(l, " port=%" PRIx64 " size=%" PRIu32, io->io_address, io->data_size);
	if (p->m->api_number == KD_API_WRITE_IO_SPACE)
		put(l, " value=%08" PRIx32, io->data_value);
}

static void rep_read_io(struct line *l, const struct manip *p)
{
	put(l, " value=%08" PRIx32, p->m->u.read_write_io.data_value);
}

static void req_io_ext(struct line *l, const struct manip *p)
{
	const struct kd_read_write_io_extended64 *io = &p->m->u.read_write_io_extended;

	put(l, " port=%" PRIx64 " size=%" PRIu32 " bus=%" PRIu32 "/%" PRIu32 " space=%" PRIu32,
	    io->io_address, io->data_size, io->interface_type, io->bus_number, io->address_space);
	if (p->m->api_number == KD_API_WRITE_IO_SPACE_EXTENDED)
		put(l, " value=%08" PRIx32, io->data_value);
}

static void rep_read_io_ext(struct line *l, const struct manip *p)
{
	put(l, " value=%08" PRIx32, p->m->u.read_write_io_extended.data_value);
}

static void rep_version(struct line *l, const struct manip *p)
{
	const struct kd_get_version64 *v = &p->m->u.get_version;

	put(l, " build=%u major=%x proto=%u.%u machine=%04x flags=%04x kernbase=%016" PRIx64
	    " modules=%016" PRIx64 " kddata=%016" PRIx64,
	    v->minor_version, v->major_version, v->protocol_version, v->kd_secondary_version,
	    v->machine_type, v->flags, v->kern_base, v->ps_loaded_module_list,
	    v->debugger_data_list);
}

static void req_query(struct line *l, const struct manip *p)
{
	put(l, " addr=%016" PRIx64, p->m->u.query_memory.address);
	if (p->m->u.query_memory.address_space)
		put(l, " space=%" PRIu32, p->m->u.query_memory.address_space);
}

static void rep_query(struct line *l, const struct manip *p)
{
	static const char *const spaces[] = { "process", "session", "kernel" };
	const struct kd_query_memory *q = &p->m->u.query_memory;
	uint32_t f = q->flags;

	if (q->address_space < sizeof(spaces) / sizeof(spaces[0]))
		put(l, " space=%s", spaces[q->address_space]);
	else
		put(l, " space=%" PRIu32, q->address_space);
	put(l, " flags=%c%c%c%s", f & KD_QUERY_FLAG_READ ? 'r' : '-',
	    f & KD_QUERY_FLAG_WRITE ? 'w' : '-', f & KD_QUERY_FLAG_EXECUTE ? 'x' : '-',
	    f & KD_QUERY_FLAG_FIXED ? "+fixed" : "");
}

static uint64_t msr_value(const struct kd_read_write_msr *r)
{
	return ((uint64_t)r->data_value_high << 32) | r->data_value_low;
}

static void req_msr(struct line *l, const struct manip *p)
{
	put(l, " msr=%08" PRIx32, p->m->u.read_write_msr.msr);
	if (p->m->api_number == KD_API_WRITE_MSR)
		put(l, " value=%016" PRIx64, msr_value(&p->m->u.read_write_msr));
}

static void rep_read_msr(struct line *l, const struct manip *p)
{
	put(l, " msr=%08" PRIx32 " value=%016" PRIx64, p->m->u.read_write_msr.msr,
	    msr_value(&p->m->u.read_write_msr));
}

static void req_search(struct line *l, const struct manip *p)
{
	const struct kd_search_memory *s = &p->m->u.search_memory;

	put(l, " addr=%016" PRIx64 " len=%" PRIu64 " pattern=%" PRIu32, s->search_address,
	    s->search_length, s->pattern_length);
}

static void rep_search(struct line *l, const struct manip *p)
{
	if (kd_nt_success(p->m->return_status))
		put(l, " found=%016" PRIx64, p->m->u.search_memory.search_address);
}

static void req_fill(struct line *l, const struct manip *p)
{
	const struct kd_fill_memory *f = &p->m->u.fill_memory;

	put(l, " addr=%016" PRIx64 " len=%" PRIu32 " %s pattern=%u", f->address, f->length,
	    f->flags == KD_FILL_MEMORY_PHYSICAL ? "physical" : "virtual", f->pattern_length);
}

static void req_bus(struct line *l, const struct manip *p)
{
	const struct kd_get_set_bus_data *b = &p->m->u.bus_data;

	put(l, " type=%" PRIu32 " bus=%" PRIu32 " slot=%" PRIu32 " offset=0x%" PRIx32
	    " len=%" PRIu32, b->bus_data_type, b->bus_number, b->slot_number, b->offset, b->length);
}

static void rep_bus(struct line *l, const struct manip *p)
{
	put(l, " len=%" PRIu32, p->m->u.bus_data.length);
}

static void req_custom_bp(struct line *l, const struct manip *p)
{
	const struct kd_write_custom_breakpoint *c = &p->m->u.write_custom_breakpoint;

	put(l, " addr=%016" PRIx64 " size=%u", c->breakpoint_address,
	    c->breakpoint_instruction_size);
}

static void rep_custom_bp(struct line *l, const struct manip *p)
{
	put(l, " handle=%" PRIu32, p->m->u.write_custom_breakpoint.breakpoint_handle);
}

static void req_internal_bp(struct line *l, const struct manip *p)
{
	put(l, " addr=%016" PRIx64 " flags=%" PRIx32,
	    p->m->u.set_internal_breakpoint.breakpoint_address,
	    p->m->u.set_internal_breakpoint.flags);
}

static void req_partition(struct line *l, const struct manip *p)
{
	put(l, " partition=%" PRIu32, p->m->u.switch_partition.partition);
}

struct manip_trace {
	uint32_t api;
	manip_fmt request; /* fields after the name; NULL: none */
	manip_fmt reply;   /* fields after the status; NULL: none */
};

static const struct manip_trace manip_traces[] = {
	{ KD_API_READ_VIRTUAL_MEMORY, req_memory, rep_read },
	{ KD_API_WRITE_VIRTUAL_MEMORY, req_memory, rep_write },
	{ KD_API_GET_CONTEXT, req_cpu, rep_get_context },
	{ KD_API_SET_CONTEXT, req_set_context, NULL },
	{ KD_API_WRITE_BREAKPOINT, req_write_bp, rep_write_bp },
	{ KD_API_RESTORE_BREAKPOINT, req_restore_bp, NULL },
	{ KD_API_CONTINUE, req_continue, NULL },
	{ KD_API_READ_CONTROL_SPACE, req_control, rep_read },
	{ KD_API_WRITE_CONTROL_SPACE, req_control, rep_write },
	{ KD_API_READ_IO_SPACE, req_io, rep_read_io },
	{ KD_API_WRITE_IO_SPACE, req_io, NULL },
	{ KD_API_CONTINUE2, req_continue2, NULL },
	{ KD_API_READ_PHYSICAL_MEMORY, req_physical, rep_read },
	{ KD_API_WRITE_PHYSICAL_MEMORY, req_physical, rep_write },
	{ KD_API_SET_INTERNAL_BREAKPOINT, req_internal_bp, NULL },
	{ KD_API_GET_INTERNAL_BREAKPOINT, req_internal_bp, NULL },
	{ KD_API_READ_IO_SPACE_EXTENDED, req_io_ext, rep_read_io_ext },
	{ KD_API_WRITE_IO_SPACE_EXTENDED, req_io_ext, NULL },
	{ KD_API_GET_VERSION, NULL, rep_version },
	{ KD_API_WRITE_BREAKPOINT_EX, req_bp_ex, NULL },
	{ KD_API_RESTORE_BREAKPOINT_EX, req_bp_ex, NULL },
	{ KD_API_SWITCH_PROCESSOR, req_cpu, NULL },
	{ KD_API_READ_MSR, req_msr, rep_read_msr },
	{ KD_API_WRITE_MSR, req_msr, NULL },
	{ KD_API_SEARCH_MEMORY, req_search, rep_search },
	{ KD_API_GET_BUS_DATA, req_bus, rep_bus },
	{ KD_API_SET_BUS_DATA, req_bus, NULL },
	{ KD_API_FILL_MEMORY, req_fill, NULL },
	{ KD_API_QUERY_MEMORY, req_query, rep_query },
	{ KD_API_SWITCH_PARTITION, req_partition, NULL },
	{ KD_API_WRITE_CUSTOM_BREAKPOINT, req_custom_bp, rep_custom_bp },
	{ KD_API_GET_CONTEXT_EX, req_context_ex, rep_context_ex },
	{ KD_API_SET_CONTEXT_EX, req_context_ex, rep_context_ex },
};

static const struct manip_trace *manip_trace(uint32_t api)
{
	for (size_t i = 0; i < sizeof(manip_traces) / sizeof(manip_traces[0]); i++)
		if (manip_traces[i].api == api)
			return &manip_traces[i];
	return NULL;
}

static void trace_manipulate(struct line *l, enum kd_trace_dir dir, const uint8_t *payload,
			     size_t len)
{
	struct kd_manipulate_state64 m;
	const struct manip_trace *t;
	struct manip p = { .m = &m };
	enum kd_api_error err;
	const char *name;
	int request = dir == KD_TRACE_TO_TARGET;

	err = kd_api_parse_manipulate(payload, len, &m, &p.data, &p.data_len);
	if (err == KD_API_ERR_SHORT) {
		put_short(l, len, sizeof(m));
		return;
	}
	name = kd_api_name(m.api_number);
	if (name)
		put(l, " %s", name);
	else
		put(l, " api=0x%04" PRIx32 " (unknown)", m.api_number);
	if (!request)
		put(l, " status=%08" PRIx32, m.return_status);
	t = manip_trace(m.api_number);
	if (t && request && t->request)
		t->request(l, &p);
	else if (t && !request && t->reply)
		t->reply(l, &p);
	if (err) {
		put_malformed(l, err);
		return;
	}
	if (request)
		err = name ? kd_api_check_request(&m, p.data_len) : KD_API_OK;
	else if (name && !kd_api_has_reply(m.api_number))
		err = KD_API_ERR_NO_REPLY;
	else
		err = kd_api_check_reply(&m, p.data_len);
	if (err)
		put_malformed(l, err);
}

/* ---- STATE_CHANGE ---------------------------------------------------------------------- */

static void trace_exception(struct line *l, const struct kd_wait_state_change64 *sc)
{
	const struct kd_exception64 *ex = &sc->u.exception;

	put(l, " code=%08" PRIx32 " pc=%016" PRIx64 " %s", ex->record.exception_code,
	    sc->program_counter, ex->first_chance ? "first-chance" : "second-chance");
}

static void trace_load_symbols(struct line *l, const struct kd_wait_state_change64 *sc,
			       const uint8_t *data, size_t data_len)
{
	const struct kd_load_symbols64 *ls = &sc->u.load_symbols;
	const char *path;
	size_t path_len;

	put(l, "%s base=%016" PRIx64 " size=0x%" PRIx32, ls->unload_symbols ? " unload" : "",
	    ls->base_of_dll, ls->size_of_image);
	if (kd_api_state_path(sc, data, data_len, &path, &path_len) == KD_API_OK && path_len) {
		put_char(l, ' ');
		put_text(l, (const uint8_t *)path, path_len, PATH_SHOWN, 0);
	}
}

static void trace_state_change(struct line *l, const uint8_t *payload, size_t len)
{
	struct kd_wait_state_change64 sc;
	const uint8_t *data;
	size_t data_len;
	enum kd_api_error err;
	const char *name;

	err = kd_api_parse_state_change(payload, len, &sc, &data, &data_len);
	if (err == KD_API_ERR_SHORT) {
		put_short(l, len, sizeof(sc));
		return;
	}
	name = kd_api_state_name(sc.new_state);
	if (!name) {
		put(l, " state=0x%04" PRIx32 " (unknown) pc=%016" PRIx64, sc.new_state,
		    sc.program_counter);
		return;
	}
	put(l, " %s", name);
	switch (sc.new_state & ~KD_STATE_ALTERNATE_FLAG) {
	case KD_STATE_EXCEPTION:
		trace_exception(l, &sc);
		break;
	case KD_STATE_LOAD_SYMBOLS:
		trace_load_symbols(l, &sc, data, data_len);
		break;
	default: /* CommandString: "name\0command\0" */
		put_char(l, ' ');
		put_quoted(l, data, data_len);
		break;
	}
	if (sc.number_processors > 1)
		put(l, " cpu=%u/%" PRIu32, sc.processor, sc.number_processors);
	if (err && err != KD_API_ERR_UNKNOWN)
		put_malformed(l, err);
}

/* ---- DEBUG_IO, FILE_IO, TRACE_IO, CONTROL_REQUEST ---------------------------------------- */

static void trace_debug_io(struct line *l, enum kd_trace_dir dir, const uint8_t *payload,
			   size_t len)
{
	struct kd_debug_io io;
	const uint8_t *text;
	size_t text_len;
	enum kd_api_error err;

	err = kd_api_parse_debug_io(payload, len, &io, &text, &text_len);
	if (err == KD_API_ERR_SHORT) {
		put_short(l, len, sizeof(io));
		return;
	}
	switch (io.api_number) {
	case KD_API_PRINT_STRING:
		put(l, " PrintString ");
		break;
	case KD_API_GET_STRING:
		if (dir == KD_TRACE_FROM_TARGET)
			put(l, " GetString max=%" PRIu32 " ", io.length_of_string_read);
		else
			put(l, " GetString ");
		break;
	default:
		put(l, " api=0x%04" PRIx32 " (unknown)", io.api_number);
		return;
	}
	/* On DATA_LENGTH text still spans what did arrive. */
	put_quoted(l, text, text_len);
	if (err)
		put_malformed(l, err);
}

static void trace_file_io(struct line *l, enum kd_trace_dir dir, const uint8_t *payload,
			  size_t len)
{
	struct kd_file_io io;
	const uint8_t *data;
	size_t data_len;
	const char *name;

	if (kd_api_parse_file_io(payload, len, &io, &data, &data_len) == KD_API_ERR_SHORT) {
		put_short(l, len, sizeof(io));
		return;
	}
	name = kd_api_file_io_name(io.api_number);
	if (name)
		put(l, " %s", name);
	else
		put(l, " api=0x%04" PRIx32 " (unknown)", io.api_number);
	if (dir == KD_TRACE_TO_TARGET) {
		put(l, " status=%08" PRIx32, io.status);
		return;
	}
	switch (io.api_number) {
	case KD_API_CREATE_FILE: {
		/* The name is UTF-16LE; show its ASCII subset. */
		size_t i;

		put(l, " \"");
		for (i = 0; i + 1 < data_len && i < 2 * TEXT_SHOWN; i += 2) {
			if (!data[i] && !data[i + 1])
				break;
			put_escaped(l, data[i + 1] ? (uint8_t)'?' : data[i], 1);
		}
		put_char(l, '"');
		if (i == 2 * TEXT_SHOWN && i + 1 < data_len && (data[i] || data[i + 1]))
			put(l, "...");
		break;
	}
	case KD_API_READ_FILE:
	case KD_API_WRITE_FILE:
		put(l, " handle=%" PRIx64 " offset=0x%" PRIx64 " len=%" PRIu32,
		    io.reserve_space[0], io.reserve_space[1], (uint32_t)io.reserve_space[2]);
		break;
	case KD_API_CLOSE_FILE:
		put(l, " handle=%" PRIx64, io.reserve_space[0]);
		break;
	default:
		break;
	}
}

static void trace_trace_io(struct line *l, const uint8_t *payload, size_t len)
{
	struct kd_trace_io io;

	if (len < sizeof(io)) {
		put_short(l, len, sizeof(io));
		return;
	}
	kd_memcpy(&io, payload, sizeof(io));
	if (io.api_number == KD_API_PRINT_TRACE)
		put(l, " PrintTrace len=%" PRIu32, (uint32_t)io.reserve_space[0]);
	else
		put(l, " api=0x%04" PRIx32 " (unknown)", io.api_number);
}

static void trace_control_request(struct line *l, const uint8_t *payload, size_t len)
{
	struct kd_control_request cr;

	if (len < sizeof(cr)) {
		put_short(l, len, sizeof(cr));
		return;
	}
	kd_memcpy(&cr, payload, sizeof(cr));
	if (cr.api_number == KD_API_REQUEST_HARDWARE_BP)
		put(l, " RequestHardwareBp");
	else if (cr.api_number == KD_API_RELEASE_HARDWARE_BP)
		put(l, " ReleaseHardwareBp");
	else {
		put(l, " api=0x%04" PRIx32 " (unknown)", cr.api_number);
		return;
	}
	put(l, " bp=%" PRIu32 " available=%" PRIu32, cr.hardware_breakpoint_number, cr.available);
}

/* ---- packets --------------------------------------------------------------------------- */

static void trace_control(struct line *l, const struct kd_packet_header *hdr)
{
	switch (hdr->type) {
	case KD_PACKET_TYPE_ACKNOWLEDGE:
		put(l, "ACK id=%08" PRIx32, hdr->id);
		return;
	case KD_PACKET_TYPE_RESEND:
	case KD_PACKET_TYPE_RESET:
		put(l, "%s", kd_packet_type_name(hdr->type));
		if (hdr->id) /* usually 0; some peers put a marker here */
			put(l, " id=%08" PRIx32, hdr->id);
		return;
	default:
		put(l, "CONTROL type=%u (unknown) id=%08" PRIx32, hdr->type, hdr->id);
		return;
	}
}

static void trace_data(struct line *l, enum kd_trace_dir dir, const struct kd_packet_header *hdr,
		       const uint8_t *payload, size_t len)
{
	if (hdr->type < KD_PACKET_TYPE_MAX)
		put(l, "%s id=%08" PRIx32, kd_packet_type_name(hdr->type), hdr->id);
	else
		put(l, "type=%u (unknown) id=%08" PRIx32, hdr->type, hdr->id);
	switch (hdr->type) {
	case KD_PACKET_TYPE_STATE_MANIPULATE:
		trace_manipulate(l, dir, payload, len);
		break;
	case KD_PACKET_TYPE_STATE_CHANGE64:
		trace_state_change(l, payload, len);
		break;
	case KD_PACKET_TYPE_DEBUG_IO:
		trace_debug_io(l, dir, payload, len);
		break;
	case KD_PACKET_TYPE_FILE_IO:
		trace_file_io(l, dir, payload, len);
		break;
	case KD_PACKET_TYPE_TRACE_IO:
		trace_trace_io(l, payload, len);
		break;
	case KD_PACKET_TYPE_CONTROL_REQUEST:
		trace_control_request(l, payload, len);
		break;
	default:
		put(l, " len=%zu", len);
		break;
	}
	if (len != hdr->byte_count)
		put(l, " (malformed: %zu bytes, count says %u)", len, hdr->byte_count);
	else if (kd_checksum(payload, len) != hdr->checksum)
		put(l, " (bad checksum)");
}

size_t kd_trace_format(char *buf, size_t cap, enum kd_trace_dir dir,
		       const struct kd_packet_header *hdr, const uint8_t *payload, size_t len)
{
	struct line l = { .buf = buf, .cap = cap, .len = 0 };

	if (!buf || !cap)
		return 0;
	buf[0] = '\0';
	if (!payload)
		len = 0;
	put(&l, "%s ", dir == KD_TRACE_TO_TARGET ? "->" : "<-");
	if (!hdr)
		put(&l, "BREAKIN");
	else if (hdr->leader == KD_CONTROL_LEADER)
		trace_control(&l, hdr);
	else if (hdr->leader == KD_PACKET_LEADER)
		trace_data(&l, dir, hdr, payload, len);
	else
		put(&l, "leader=%08" PRIx32 " (unknown) type=%u id=%08" PRIx32, hdr->leader,
		    hdr->type, hdr->id);
	return l.len;
}

#else /* !__STDC_HOSTED__ */

/* The freestanding build has no snprintf: the trace decoder is host only. ISO C wants a
 * translation unit to declare something. */
typedef int kd_trace_host_only;

#endif
