/* SPDX-License-Identifier: MIT */
/* The RSP command table: one handler per packet, over the KD session. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmkd/kd_bytes.h"

#include "../client/commands.h"
#include "../sym/sym.h"
#include "gdb_server.h"

#define E_BADARGS 0x01
#define E_NOMEM 0x0e     /* 14: gdb's EFAULT-ish "cannot access memory" */
#define E_TARGET 0x05    /* KD request failed */
#define E_NOSPC 0x1c     /* all four debug registers in use */
#define MEM_MAX ((GDB_PACKET_SIZE - 32) / 2)
#define XFER_MAX (GDB_PACKET_SIZE - 32)
#define LIBRARIES_MAX 65536
#define PE_HEADER_READ 0x400u

/* ---- hex ---------------------------------------------------------------------------- */

int gdb_parse_hex(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int n = 0;

	while (s < end && kd_hex_digit(*s) >= 0) {
		if (n++ >= 16)
			return -1;
		v = (v << 4) | (uint64_t)kd_hex_digit(*s++);
	}
	if (!n)
		return -1;
	*p = s;
	*out = v;
	return 0;
}

size_t gdb_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t cap)
{
	size_t n = 0;

	if (hexlen % 2)
		return (size_t)-1;
	for (size_t i = 0; i < hexlen && n < cap; i += 2) {
		int hi = kd_hex_digit(hex[i]), lo = kd_hex_digit(hex[i + 1]);

		if (hi < 0 || lo < 0)
			return (size_t)-1;
		out[n++] = (uint8_t)(hi << 4 | lo);
	}
	return n;
}

/* "ADDR,LEN" then the expected separator (or end). */
static int parse_addr_len(const char **p, const char *end, uint64_t *addr, uint64_t *len)
{
	if (gdb_parse_hex(p, end, addr) || *p >= end || **p != ',')
		return -1;
	(*p)++;
	return gdb_parse_hex(p, end, len);
}

static int stopped(struct gdb_server *g)
{
	if (session_state(g->s) == SESSION_TARGET_STOPPED && !g->running)
		return 1;
	gdb_reply_error(g, E_TARGET);
	return 0;
}

/* ---- handlers --------------------------------------------------------------------------- */

typedef void (*handler_fn)(struct gdb_server *g, const char *a, const char *end);

/* gdb's features are "name+", "name-" or "name=value", separated by ';'. */
static int has_feature(const char *a, const char *end, const char *want)
{
	size_t n = strlen(want);

	while (a < end) {
		const char *semi = memchr(a, ';', (size_t)(end - a));
		const char *e = semi ? semi : end;

		if ((size_t)(e - a) == n && !memcmp(a, want, n))
			return 1;
		a = e + (semi != NULL);
	}
	return 0;
}

static void h_qsupported(struct gdb_server *g, const char *a, const char *end)
{
	if (a < end && *a == ':')
		a++;
	g->gdb_swbreak = has_feature(a, end, "swbreak+");
	g->gdb_hwbreak = has_feature(a, end, "hwbreak+");
	gdb_reply(g, "PacketSize=%x;qXfer:features:read+;qXfer:libraries:read+;"
		     "QStartNoAckMode+;swbreak+;hwbreak+;vContSupported+", GDB_PACKET_SIZE);
}

static void h_noack(struct gdb_server *g, const char *a, const char *end)
{
	(void)a, (void)end;
	gdb_reply(g, "OK");
	g->noack = 1; /* after this reply, which gdb still acks */
}

/* "annex:OFFSET,LENGTH" out of a document: m<part> or l<last part>. */
static void xfer(struct gdb_server *g, const char *doc, size_t doclen, const char *a,
		 const char *end)
{
	uint64_t off, len;

	if (parse_addr_len(&a, end, &off, &len)) {
		gdb_reply_error(g, E_BADARGS);
		return;
	}
	if (len > XFER_MAX)
		len = XFER_MAX;
	if (off >= doclen) {
		gdb_reply(g, "l");
		return;
	}
	if (len > doclen - off)
		len = doclen - off;
	gdb_reply(g, "%c", off + len < doclen ? 'm' : 'l');
	gdb_reply_bin(g, doc + off, (size_t)len);
}

static void h_xfer_features(struct gdb_server *g, const char *a, const char *end)
{
	static const char annex[] = "target.xml:";
	char *xml;
	size_t n;

	if ((size_t)(end - a) < sizeof(annex) - 1 || memcmp(a, annex, sizeof(annex) - 1)) {
		gdb_reply_error(g, 0);
		return;
	}
	xml = malloc(GDB_TARGET_XML_MAX);
	if (!xml) {
		gdb_reply_error(g, E_BADARGS);
		return;
	}
	n = gdb_target_xml(xml, GDB_TARGET_XML_MAX);
	xfer(g, xml, n, a + sizeof(annex) - 1, end);
	free(xml);
}

/* The first section's address of a PE image in target memory: gdb's Windows library list
 * wants where .text is, not the image base. 0x1000 past the base when the headers cannot
 * be read (what linkers put first). */
static uint64_t first_section(struct gdb_server *g, uint64_t base)
{
	uint8_t h[PE_HEADER_READ];
	size_t got = 0;
	uint32_t lfanew, sect;
	uint16_t opt_size;

	if (session_read_virtual(g->s, base, h, sizeof(h), &got) || got < 0x40 ||
	    h[0] != 'M' || h[1] != 'Z')
		return base + 0x1000;
	lfanew = kd_get_le32(h + 0x3c);
	if (lfanew > got - 24 || memcmp(h + lfanew, "PE\0\0", 4))
		return base + 0x1000;
	opt_size = kd_get_le16(h + lfanew + 20);
	sect = lfanew + 24 + opt_size;
	if (sect > got - 40 || kd_get_le16(h + lfanew + 6) == 0)
		return base + 0x1000;
	return base + kd_get_le32(h + sect + 12); /* VirtualAddress of section 0 */
}

static void xml_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static struct cmd_ctx *command_context(struct gdb_server *g);

struct module_ref {
	uint64_t base;
	uint32_t size;
	const char *path;
};

/* The i-th loaded module, from the symbol layer `vmkd attach` uses too: the kernel's
 * PsLoadedModuleList merged with what LoadSymbols reported to this session. */
static int module_at(struct gdb_server *g, size_t i, struct module_ref *out)
{
	struct cmd_ctx *c = command_context(g);
	struct sym_table *t = c ? cmd_symbol_table(c) : NULL;
	const struct sym_module *m;

	if (!t || i >= sym_module_count(t))
		return 0;
	m = sym_module_at(t, i);
	*out = (struct module_ref){ m->base, m->size, m->path[0] ? m->path : m->file };
	return 1;
}

static void h_xfer_libraries(struct gdb_server *g, const char *a, const char *end)
{
	struct module_ref m;
	char *doc = NULL;
	size_t len = 0;
	FILE *f;

	/* "qXfer:libraries:read::OFFSET,LENGTH": the annex is empty. */
	if (end - a < 2 || a[0] != ':' || a[1] != ':') {
		gdb_reply_error(g, 0);
		return;
	}
	if (!stopped(g))
		return;
	f = open_memstream(&doc, &len);
	if (!f) {
		gdb_reply_error(g, E_BADARGS);
		return;
	}
	fputs("<library-list>", f);
	for (size_t i = 0; module_at(g, i, &m) && ftell(f) < LIBRARIES_MAX; i++) {
		fputs("<library name=\"", f);
		xml_escaped(f, m.path);
		fprintf(f, "\"><segment address=\"0x%llx\"/></library>",
			(unsigned long long)first_section(g, m.base));
	}
	fputs("</library-list>", f);
	fclose(f);
	xfer(g, doc, len, a + 2, end);
	free(doc);
}

static void h_thread_first(struct gdb_server *g, const char *a, const char *end)
{
	uint32_t n = session_last_stop(g->s)->number_processors;

	(void)a, (void)end;
	if (!n || n > 1024)
		n = 1;
	gdb_reply(g, "m");
	for (uint32_t i = 0; i < n; i++)
		gdb_reply(g, "%s%x", i ? "," : "", i + 1);
}

static void h_thread_next(struct gdb_server *g, const char *a, const char *end)
{
	(void)a, (void)end;
	gdb_reply(g, "l");
}

static void h_qc(struct gdb_server *g, const char *a, const char *end)
{
	(void)a, (void)end;
	gdb_reply(g, "QC%x", session_last_stop(g->s)->processor + 1u);
}

static void h_attached(struct gdb_server *g, const char *a, const char *end)
{
	(void)a, (void)end;
	gdb_reply(g, "1"); /* detach, not kill, when gdb quits */
}

static void h_thread_extra(struct gdb_server *g, const char *a, const char *end)
{
	char text[32];
	uint64_t t;

	if (*a == ',')
		a++;
	if (gdb_parse_hex(&a, end, &t)) {
		gdb_reply_error(g, E_BADARGS);
		return;
	}
	snprintf(text, sizeof(text), "processor %llu", (unsigned long long)(t ? t - 1 : 0));
	gdb_reply_hex(g, text, strlen(text));
}

/* H g|c THREAD: thread N is processor N-1; 0 and -1 mean "any". Switching to another
 * processor is KD's SwitchProcessor, after which that processor reports a stop. */
static void h_set_thread(struct gdb_server *g, const char *a, const char *end)
{
	const struct session_stop *st = session_last_stop(g->s);
	uint64_t t;
	char op;

	if (a >= end) {
		gdb_reply_error(g, E_BADARGS);
		return;
	}
	op = *a++;
	if (a < end && *a == '-') {
		gdb_reply(g, "OK");
		return;
	}
	if (gdb_parse_hex(&a, end, &t) || (op != 'g' && op != 'c')) {
		gdb_reply_error(g, E_BADARGS);
		return;
	}
	if (t == 0 || t == st->processor + 1u) {
		gdb_reply(g, "OK");
		return;
	}
	if (!stopped(g))
		return;
	if (t > st->number_processors) {
		gdb_reply_error(g, E_BADARGS);
		return;
	}
	if (op == 'g') {
		struct kd_manipulate_state64 rep;
		struct kd_manipulate_state64 req;
		struct session_stop nst;

		memset(&req, 0, sizeof(req));
		req.api_number = KD_API_SWITCH_PROCESSOR;
		req.processor = (uint16_t)(t - 1);
		req.processor_level = st->processor_level;
		if (session_request(g->s, &req, NULL, 0, &rep, NULL, 0, NULL, 0) ||
		    session_wait_stop(g->s, SESSION_DEFAULT_TIMEOUT_US, &nst)) {
			gdb_reply_error(g, E_TARGET);
			return;
		}
		gdb_invalidate(g);
	}
	gdb_reply(g, "OK");
}

static void h_thread_alive(struct gdb_server *g, const char *a, const char *end)
{
	uint32_t n = session_last_stop(g->s)->number_processors;
	uint64_t t;

	if (gdb_parse_hex(&a, end, &t) || t == 0 || t > (n ? n : 1))
		gdb_reply_error(g, E_BADARGS);
	else
		gdb_reply(g, "OK");
}

static void h_status(struct gdb_server *g, const char *a, const char *end)
{
	(void)a, (void)end;
	if (session_state(g->s) == SESSION_TARGET_STOPPED) {
		gdb_reply_stop(g);
		return;
	}
	/* A debugger attaching to a running target stops it, as gdb expects. */
	g->running = 1;
	g->reply_none = 1;
	gdb_interrupt(g);
}

static void h_read_regs(struct gdb_server *g, const char *a, const char *end)
{
	uint8_t buf[1024];
	size_t n;

	(void)a, (void)end;
	if (!stopped(g))
		return;
	if (gdb_need_context(g)) {
		gdb_reply_error(g, E_TARGET);
		return;
	}
	n = gdb_regs_read_g(&g->regs, buf, sizeof(buf));
	gdb_reply_hex(g, buf, n);
}

static void h_write_regs(struct gdb_server *g, const char *a, const char *end)
{
	uint8_t buf[1024];
	size_t n;

	if (!stopped(g))
		return;
	n = gdb_hex_decode(a, (size_t)(end - a), buf, sizeof(buf));
	if (gdb_need_context(g) || n == (size_t)-1 || gdb_regs_write_g(&g->regs, buf, n)) {
		gdb_reply_error(g, E_BADARGS);
		return;
	}
	if (session_set_context(g->s, &g->regs.ctx)) {
		g->ctx_valid = 0;
		gdb_reply_error(g, E_TARGET);
		return;
	}
	gdb_reply(g, "OK");
}

static void h_read_reg(struct gdb_server *g, const char *a, const char *end)
{
	uint8_t buf[GDB_REG_MAX_BYTES];
	uint64_t r;
	size_t n;

	if (gdb_parse_hex(&a, end, &r) || !gdb_reg_size((unsigned)r) || r >= GDB_NUM_REGS) {
		gdb_reply_error(g, E_BADARGS);
		return;
	}
	if (!stopped(g))
		return;
	if (gdb_need_reg(g, (unsigned)r)) {
		/* Unavailable (an MSR the kernel refuses): gdb shows <unavailable>. */
		for (size_t i = 0; i < gdb_reg_size((unsigned)r); i++)
			gdb_reply(g, "xx");
		return;
	}
	n = gdb_reg_read(&g->regs, (unsigned)r, buf);
	gdb_reply_hex(g, buf, n);
}

static void h_write_reg(struct gdb_server *g, const char *a, const char *end)
{
	uint8_t buf[GDB_REG_MAX_BYTES];
	unsigned regno;
	uint64_t r;
	size_t n;
	int rc;

	if (gdb_parse_hex(&a, end, &r) || a >= end || *a != '=' || r >= GDB_NUM_REGS) {
		gdb_reply_error(g, E_BADARGS);
		return;
	}
	regno = (unsigned)r;
	a++;
	n = gdb_hex_decode(a, (size_t)(end - a), buf, sizeof(buf));
	if (n != gdb_reg_size(regno) || gdb_reg_source(regno) == GDB_SRC_SPECIAL) {
		gdb_reply_error(g, E_BADARGS);
		return;
	}
	if (!stopped(g))
		return;
	if (gdb_need_reg(g, regno) || gdb_reg_write(&g->regs, regno, buf)) {
		gdb_reply_error(g, E_TARGET);
		return;
	}
	if (gdb_reg_source(regno) == GDB_SRC_MSR)
		rc = session_write_msr(g->s, gdb_reg_msr(regno),
				       regno == GDB_REG_FS_BASE ? g->regs.fs_base : g->regs.gs_base);
	else
		rc = session_set_context(g->s, &g->regs.ctx);
	if (rc) {
		gdb_invalidate(g);
		gdb_reply_error(g, E_TARGET);
		return;
	}
	gdb_reply(g, "OK");
}

/* m ADDR,LEN: what could be read (a partial read returns its part), E0e for nothing. */
static void h_read_mem(struct gdb_server *g, const char *a, const char *end)
{
	uint8_t buf[MEM_MAX];
	uint64_t addr, len;
	size_t got = 0;

	if (parse_addr_len(&a, end, &addr, &len)) {
		gdb_reply_error(g, E_BADARGS);
		return;
	}
	if (!stopped(g))
		return;
	if (len > sizeof(buf))
		len = sizeof(buf);
	if (!len)
		return;
	if (session_read_virtual(g->s, addr, buf, (size_t)len, &got) || !got) {
		gdb_reply_error(g, E_NOMEM);
		return;
	}
	g->stats.mem_read_bytes += got;
	gdb_reply_hex(g, buf, got);
}

static void write_mem(struct gdb_server *g, uint64_t addr, const uint8_t *data, size_t len)
{
	if (len && session_write_virtual(g->s, addr, data, len)) {
		gdb_reply_error(g, E_NOMEM);
		return;
	}
	g->stats.mem_write_bytes += len;
	gdb_reply(g, "OK");
}

static void h_write_mem(struct gdb_server *g, const char *a, const char *end)
{
	uint8_t buf[MEM_MAX];
	uint64_t addr, len;
	size_t n;

	if (parse_addr_len(&a, end, &addr, &len) || a >= end || *a != ':' || len > sizeof(buf)) {
		gdb_reply_error(g, E_BADARGS);
		return;
	}
	a++;
	n = gdb_hex_decode(a, (size_t)(end - a), buf, sizeof(buf));
	if (n != len) {
		gdb_reply_error(g, E_BADARGS);
		return;
	}
	if (stopped(g))
		write_mem(g, addr, buf, n);
}

/* X ADDR,LEN:BINARY; the parser already undid the escapes. */
static void h_write_bin(struct gdb_server *g, const char *a, const char *end)
{
	uint64_t addr, len;

	if (parse_addr_len(&a, end, &addr, &len) || a >= end || *a != ':' ||
	    len != (uint64_t)(end - a - 1)) {
		gdb_reply_error(g, E_BADARGS);
		return;
	}
	if (stopped(g))
		write_mem(g, addr, (const uint8_t *)a + 1, (size_t)len);
}

static int hw_find(struct gdb_server *g, enum gdb_hw_type type, uint64_t addr, unsigned len)
{
	for (int i = 0; i < GDB_HW_SLOTS; i++)
		if (g->hw[i].used && g->hw[i].type == type && g->hw[i].addr == addr &&
		    g->hw[i].len == len)
			return i;
	return -1;
}

/* Z/z TYPE,ADDR,KIND: 0 software (KD breakpoints), 1 hardware, 2-4 watchpoints (debug
 * registers, applied when the target resumes). */
static void breakpoint(struct gdb_server *g, const char *a, const char *end, int insert)
{
	uint64_t type, addr, kind;
	int slot, id;

	if (gdb_parse_hex(&a, end, &type) || a >= end || *a++ != ',' ||
	    parse_addr_len(&a, end, &addr, &kind) || type > 4) {
		gdb_reply_error(g, E_BADARGS);
		return;
	}
	if (!stopped(g))
		return;
	if (type == 0) {
		const struct session_bp *bp = session_bp_find(g->s, addr);

		if (insert && !bp && session_bp_add(g->s, addr, 0, &id)) {
			gdb_reply_error(g, E_NOMEM);
			return;
		}
		if (!insert && bp && session_bp_remove(g->s, bp->id)) {
			gdb_reply_error(g, E_TARGET);
			return;
		}
		gdb_reply(g, "OK");
		return;
	}
	if (type == 1)
		kind = 1;
	/* A debug register covers 1, 2, 4 or 8 aligned bytes. */
	if ((kind != 1 && kind != 2 && kind != 4 && kind != 8) || (addr & (kind - 1))) {
		gdb_reply_error(g, E_BADARGS);
		return;
	}
	slot = hw_find(g, (enum gdb_hw_type)(type - 1), addr, (unsigned)kind);
	if (!insert) {
		if (slot >= 0) {
			g->hw[slot].used = 0;
			g->hw_dirty = 1;
		}
		gdb_reply(g, "OK");
		return;
	}
	if (slot < 0) {
		for (slot = 0; slot < GDB_HW_SLOTS && g->hw[slot].used; slot++)
			;
		if (slot == GDB_HW_SLOTS) {
			gdb_reply_error(g, E_NOSPC);
			return;
		}
		g->hw[slot] = (struct gdb_hw_slot){ 1, (enum gdb_hw_type)(type - 1), addr,
						    (unsigned)kind };
		g->hw_dirty = 1;
	}
	gdb_reply(g, "OK");
}

static void h_z_insert(struct gdb_server *g, const char *a, const char *end)
{
	breakpoint(g, a, end, 1);
}

static void h_z_remove(struct gdb_server *g, const char *a, const char *end)
{
	breakpoint(g, a, end, 0);
}

static void resume(struct gdb_server *g, int step)
{
	int rc;

	if (!stopped(g))
		return;
	rc = gdb_resume(g, step);
	if (rc < 0)
		gdb_reply_error(g, E_TARGET);
	else if (rc == 0)
		g->reply_none = 1; /* the stop reply comes when the target stops */
}

/* c [ADDR], s [ADDR], C SIG[;ADDR], S SIG[;ADDR]: a resume address moves rip first. */
static void resume_at(struct gdb_server *g, const char *a, const char *end, int step, int sig)
{
	uint64_t addr, ignored;

	if (sig && gdb_parse_hex(&a, end, &ignored) == 0 && a < end && *a == ';')
		a++;
	if (a < end) {
		if (gdb_parse_hex(&a, end, &addr) || !stopped(g) || gdb_need_context(g)) {
			if (!g->reply_len)
				gdb_reply_error(g, E_BADARGS);
			return;
		}
		g->regs.ctx.rip = addr;
		if (session_set_context(g->s, &g->regs.ctx)) {
			gdb_reply_error(g, E_TARGET);
			return;
		}
	}
	resume(g, step);
}

static void h_continue(struct gdb_server *g, const char *a, const char *end)
{
	resume_at(g, a, end, 0, 0);
}

static void h_step(struct gdb_server *g, const char *a, const char *end)
{
	resume_at(g, a, end, 1, 0);
}

static void h_continue_sig(struct gdb_server *g, const char *a, const char *end)
{
	resume_at(g, a, end, 0, 1);
}

static void h_step_sig(struct gdb_server *g, const char *a, const char *end)
{
	resume_at(g, a, end, 1, 1);
}

static void h_vcont_query(struct gdb_server *g, const char *a, const char *end)
{
	(void)a, (void)end;
	gdb_reply(g, "vCont;c;C;s;S");
}

/* vCont;ACTION[:THREAD]...: all-stop, so the whole system runs; a step for any thread
 * steps the current processor (KD steps the processor that reported the stop). */
static void h_vcont(struct gdb_server *g, const char *a, const char *end)
{
	int step = 0, any = 0;

	while (a < end) {
		if (*a == ';')
			a++;
		if (a >= end)
			break;
		switch (*a) {
		case 's':
		case 'S':
			step = 1;
			/* fall through */
		case 'c':
		case 'C':
			any = 1;
			break;
		case 't':
			gdb_reply(g, "OK"); /* non-stop only; nothing runs on its own here */
			return;
		default:
			gdb_reply_error(g, E_BADARGS);
			return;
		}
		while (a < end && *a != ';')
			a++;
	}
	if (!any) {
		gdb_reply_error(g, E_BADARGS);
		return;
	}
	resume(g, step);
}

static void h_detach(struct gdb_server *g, const char *a, const char *end)
{
	(void)a, (void)end;
	if (gdb_detach_target(g))
		gdb_reply_error(g, E_TARGET);
	else
		gdb_reply(g, "OK");
	g->close_after_reply = 1;
}

/* k: the session ends but the target keeps running; nothing reboots a kernel behind the
 * user's back (`monitor kd .reboot` does, when asked). */
static void h_kill(struct gdb_server *g, const char *a, const char *end)
{
	(void)a, (void)end;
	gdb_detach_target(g);
	g->reply_none = 1;
	gdb_server_drop(g, "killed (the target was detached and resumed)");
}

static void h_vkill(struct gdb_server *g, const char *a, const char *end)
{
	(void)a, (void)end;
	gdb_detach_target(g);
	gdb_reply(g, "OK");
	g->close_after_reply = 1;
}

static void h_empty(struct gdb_server *g, const char *a, const char *end)
{
	(void)g, (void)a, (void)end;
}

/* ---- monitor (qRcmd) -------------------------------------------------------------------- */

/* The command layer, made on first use: `monitor kd` and the module list share it. */
static struct cmd_ctx *command_context(struct gdb_server *g)
{
	if (!g->cmd) {
		g->cmd = calloc(1, sizeof(*g->cmd));
		if (!g->cmd)
			return NULL;
		cmd_init(g->cmd, g->s, NULL, stdout, stderr);
	}
	return g->cmd;
}

static int monitor_kd_to(struct gdb_server *g, const char *line, FILE *out, FILE *err)
{
	int rc;

	if (!command_context(g))
		return -1;
	g->cmd->out = out;
	g->cmd->err = err;
	rc = cmd_execute(g->cmd, line);
	g->cmd->out = stdout; /* out and err are the caller's, closed after this */
	g->cmd->err = stderr;
	/* The command may have changed registers or memory behind our cache. */
	gdb_invalidate(g);
	return rc;
}

/* Any `vmkd attach` command but run control, which is gdb's: its output goes to gdb's
 * console as O packets. */
static int monitor_kd(struct gdb_server *g, const char *line)
{
	static const char *const refused[] = { "g", "gu", "p", "t", "q", "qd", "pa", "ta", NULL };
	char word[16];
	char *out = NULL, *err = NULL;
	size_t outlen = 0, errlen = 0;
	FILE *fo, *fe;
	int rc = -1;

	if (sscanf(line, "%15s", word) == 1)
		for (int i = 0; refused[i]; i++)
			if (!strcmp(word, refused[i])) {
				const char *msg = "monitor kd: run control belongs to gdb "
						  "(continue, stepi, detach)\n";
				gdb_send_console(g, msg, strlen(msg));
				return -1;
			}
	fo = open_memstream(&out, &outlen);
	fe = open_memstream(&err, &errlen);
	if (fo && fe)
		rc = monitor_kd_to(g, line, fo, fe);
	if (fo)
		fclose(fo);
	if (fe)
		fclose(fe);
	gdb_send_console(g, out, outlen);
	gdb_send_console(g, err, errlen);
	free(out), free(err);
	return rc;
}

static void monitor_lm(struct gdb_server *g)
{
	struct module_ref m;
	char line[400];
	int n;

	n = snprintf(line, sizeof(line), "%-18s %-18s %s\n", "start", "end", "module");
	gdb_send_console(g, line, (size_t)n);
	for (size_t i = 0; module_at(g, i, &m); i++) {
		n = snprintf(line, sizeof(line), "0x%016llx 0x%016llx %s\n",
			     (unsigned long long)m.base, (unsigned long long)(m.base + m.size),
			     m.path);
		gdb_send_console(g, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	}
}

static void h_rcmd(struct gdb_server *g, const char *a, const char *end)
{
	static const char help[] =
		"vmkd gdb monitor commands:\n"
		"  monitor version          vmkd and the target's KD version\n"
		"  monitor lm               loaded modules (from KD LoadSymbols)\n"
		"  monitor phys ADDR LEN    hex dump of physical memory\n"
		"  monitor kd COMMAND       any `vmkd attach` command (r, db, !db, lm, k, ...)\n";
	char line[1024], kd[1100];
	size_t n = gdb_hex_decode(a, (size_t)(end - a), (uint8_t *)line, sizeof(line) - 1);
	int rc = 0;

	if (n == (size_t)-1) {
		gdb_reply_error(g, E_BADARGS);
		return;
	}
	line[n] = 0;
	if (!strcmp(line, "help") || !n) {
		gdb_send_console(g, help, sizeof(help) - 1);
	} else if (!stopped(g)) {
		return;
	} else if (!strcmp(line, "version")) {
		static const char v[] = "vmkd gdb server over KD\n";

		gdb_send_console(g, v, sizeof(v) - 1);
		rc = monitor_kd(g, "version");
	} else if (!strcmp(line, "lm")) {
		monitor_lm(g);
	} else if (!strncmp(line, "phys ", 5)) {
		char addr[64], len[64];

		if (sscanf(line + 5, "%63s %63s", addr, len) != 2) {
			gdb_reply_error(g, E_BADARGS);
			return;
		}
		snprintf(kd, sizeof(kd), "!db %s L %s", addr, len);
		rc = monitor_kd(g, kd);
	} else if (!strncmp(line, "kd ", 3)) {
		rc = monitor_kd(g, line + 3);
	} else {
		static const char unknown[] = "unknown monitor command; try `monitor help`\n";

		gdb_send_console(g, unknown, sizeof(unknown) - 1);
		rc = -1;
	}
	/* A failed command said why on the console already; an E reply would only add gdb's
	 * misleading "Protocol error with Rcmd". */
	(void)rc;
	gdb_reply(g, "OK");
}

/* ---- the table ------------------------------------------------------------------------ */

struct rsp_cmd {
	const char *name;  /* a one-letter name takes its arguments right after it; longer names
			      end at ':', ',', ';' or the end of the packet */
	handler_fn fn;
};

static const struct rsp_cmd cmds[] = {
	{ "qSupported", h_qsupported },
	{ "QStartNoAckMode", h_noack },
	{ "qXfer:features:read:", h_xfer_features },
	{ "qXfer:libraries:read", h_xfer_libraries },
	{ "qfThreadInfo", h_thread_first },
	{ "qsThreadInfo", h_thread_next },
	{ "qThreadExtraInfo", h_thread_extra },
	{ "qC", h_qc },
	{ "qAttached", h_attached },
	{ "qRcmd,", h_rcmd },
	{ "vCont?", h_vcont_query },
	{ "vCont", h_vcont },
	{ "vKill", h_vkill },
	{ "vMustReplyEmpty", h_empty },
	{ "?", h_status },
	{ "g", h_read_regs },
	{ "G", h_write_regs },
	{ "p", h_read_reg },
	{ "P", h_write_reg },
	{ "m", h_read_mem },
	{ "M", h_write_mem },
	{ "X", h_write_bin },
	{ "Z", h_z_insert },
	{ "z", h_z_remove },
	{ "c", h_continue },
	{ "s", h_step },
	{ "C", h_continue_sig },
	{ "S", h_step_sig },
	{ "D", h_detach },
	{ "k", h_kill },
	{ "H", h_set_thread },
	{ "T", h_thread_alive },
};

static int matches(const char *name, const char *pkt, size_t len)
{
	size_t n = strlen(name);
	char last = name[n - 1];

	if (len < n || memcmp(pkt, name, n))
		return 0;
	if (n == 1 || last == ':' || last == ',' || last == '?' || len == n)
		return 1;
	return pkt[n] == ':' || pkt[n] == ',' || pkt[n] == ';';
}

void gdb_dispatch(struct gdb_server *g, const char *pkt, size_t len)
{
	if (!len)
		return;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (matches(cmds[i].name, pkt, len)) {
			size_t n = strlen(cmds[i].name);

			cmds[i].fn(g, pkt + n, pkt + len);
			return;
		}
	}
	/* Unknown packets get the empty reply: "not supported". */
}
