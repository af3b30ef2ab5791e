/* SPDX-License-Identifier: MIT */
/* The RSP server's connection side: framing, acks, stop replies, registers on demand and
 * run control over the KD session. The packet handlers live in rsp_cmds.c. */
#include "gdb_server.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmkd/kd_api.h"

#include "../client/commands.h"

#define WRITE_TIMEOUT_MS 5000
#define SIGTRAP_NUM 5
#define DR6_HIT_MASK 0xfull

void gdb_server_init(struct gdb_server *g, struct session *s, FILE *log)
{
	memset(g, 0, sizeof(*g));
	g->s = s;
	g->log = log;
	g->fd = -1;
	rsp_parser_init(&g->parser, g->rx, sizeof(g->rx));
}

void gdb_server_cleanup(struct gdb_server *g)
{
	if (g->fd >= 0)
		gdb_server_drop(g, "server closing");
	if (g->cmd) {
		cmd_cleanup(g->cmd);
		free(g->cmd);
		g->cmd = NULL;
	}
}

__attribute__((format(printf, 2, 3))) static void glog(struct gdb_server *g, const char *fmt, ...)
{
	va_list ap;

	if (!g->log)
		return;
	va_start(ap, fmt);
	fputs("vmkd gdb: ", g->log);
	vfprintf(g->log, fmt, ap);
	fputc('\n', g->log);
	va_end(ap);
	fflush(g->log);
}

void gdb_server_attach(struct gdb_server *g, int fd)
{
	if (g->fd >= 0)
		gdb_server_drop(g, "replaced by a new connection");
	g->fd = fd;
	g->noack = 0;
	g->gdb_swbreak = g->gdb_hwbreak = 0;
	g->close_after_reply = 0;
	g->tx_len = 0;
	g->threads_listed = 0;
	g->thread_g = 0;
	rsp_parser_reset(&g->parser);
	glog(g, "debugger connected");
}

void gdb_server_drop(struct gdb_server *g, const char *why)
{
	if (g->fd < 0)
		return;
	close(g->fd);
	g->fd = -1;
	/* A stop that arrives now is kept by the session for the next debugger. */
	g->running = g->stepping = 0;
	glog(g, "debugger disconnected (%s)", why);
}

/* Writes all of buf to the debugger; a debugger that stops reading for WRITE_TIMEOUT_MS
 * is dropped rather than allowed to stall the KD side forever. */
static int write_all(struct gdb_server *g, const uint8_t *buf, size_t len)
{
	while (len && g->fd >= 0) {
		ssize_t n = write(g->fd, buf, len);

		if (n > 0) {
			buf += n, len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { .fd = g->fd, .events = POLLOUT };

			if (poll(&p, 1, WRITE_TIMEOUT_MS) > 0)
				continue;
		}
		gdb_server_drop(g, "write failed");
		return -1;
	}
	return g->fd >= 0 ? 0 : -1;
}

int gdb_send(struct gdb_server *g, const void *payload, size_t len)
{
	size_t n = rsp_encode(payload, len, g->tx, sizeof(g->tx));

	if (!n || g->fd < 0)
		return -1;
	g->tx_len = n;
	g->stats.packets_out++;
	if (g->verbose)
		glog(g, "<- %.*s", (int)(len > 200 ? 200 : len), (const char *)payload);
	return write_all(g, g->tx, n);
}

void gdb_send_console(struct gdb_server *g, const char *text, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char buf[1 + 2 * 1024];

	while (len) {
		size_t n = len > 1024 ? 1024 : len, o = 0;

		buf[o++] = 'O';
		for (size_t i = 0; i < n; i++) {
			buf[o++] = hex[(uint8_t)text[i] >> 4];
			buf[o++] = hex[(uint8_t)text[i] & 0xf];
		}
		gdb_send(g, buf, o);
		text += n, len -= n;
	}
}

/* ---- replies ------------------------------------------------------------------------- */

void gdb_reply(struct gdb_server *g, const char *fmt, ...)
{
	size_t cap = sizeof(g->reply) - g->reply_len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(g->reply + g->reply_len, cap, fmt, ap);
	va_end(ap);
	if (n > 0)
		g->reply_len += (size_t)n < cap ? (size_t)n : cap - 1;
}

void gdb_reply_hex(struct gdb_server *g, const void *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *in = data;

	for (size_t i = 0; i < len && g->reply_len + 2 < sizeof(g->reply); i++) {
		g->reply[g->reply_len++] = hex[in[i] >> 4];
		g->reply[g->reply_len++] = hex[in[i] & 0xf];
	}
}

void gdb_reply_bin(struct gdb_server *g, const void *data, size_t len)
{
	size_t cap = sizeof(g->reply) - g->reply_len;

	if (len > cap)
		len = cap;
	memcpy(g->reply + g->reply_len, data, len);
	g->reply_len += len;
}

void gdb_reply_error(struct gdb_server *g, int code)
{
	g->reply_len = 0;
	gdb_reply(g, "E%02x", code & 0xff);
}

static int signal_of(const struct session_stop *st)
{
	if (st->kind != SESSION_STOP_EXCEPTION)
		return SIGTRAP_NUM;
	switch (st->code) {
	case KD_STATUS_ACCESS_VIOLATION:
		return 11; /* SIGSEGV */
	case 0xC000001Du: /* illegal instruction */
		return 4;  /* SIGILL */
	case 0xC0000094u: /* integer divide by zero */
		return 8;  /* SIGFPE */
	default:
		return SIGTRAP_NUM;
	}
}

/* Why a single-step exception came: one of our debug registers (Dr6 B0-B3, or the only
 * enabled slot when the target does not report Dr6), or a real step. */
static void stop_reason(struct gdb_server *g, const struct session_stop *st)
{
	static const char *const watch[] = { "", "watch", "rwatch", "awatch" };
	uint64_t hit = st->report.dr6 & DR6_HIT_MASK;
	int slot = -1, used = 0, last = -1;

	if (st->kind != SESSION_STOP_EXCEPTION)
		return;
	if (st->code == KD_STATUS_BREAKPOINT) {
		if (g->gdb_swbreak && session_bp_find(g->s, st->pc))
			gdb_reply(g, "swbreak:;");
		return;
	}
	if (st->code != KD_STATUS_SINGLE_STEP)
		return;
	for (int i = 0; i < GDB_HW_SLOTS; i++) {
		if (!g->hw[i].used)
			continue;
		used++, last = i;
		if ((hit & (1ull << i)) && slot < 0)
			slot = i;
	}
	if (slot < 0 && !hit && !g->stepping && used == 1)
		slot = last;
	if (slot < 0)
		return;
	if (g->hw[slot].type == GDB_HW_EXEC) {
		if (g->gdb_hwbreak)
			gdb_reply(g, "hwbreak:;");
		return;
	}
	gdb_reply(g, "%s:%llx;", watch[g->hw[slot].type], (unsigned long long)g->hw[slot].addr);
}

void gdb_reply_stop(struct gdb_server *g)
{
	const struct session_stop *st = session_last_stop(g->s);

	g->reply_len = 0;
	gdb_reply(g, "T%02xthread:%x;", signal_of(st), st->processor + 1u);
	stop_reason(g, st);
}

/* ---- registers ------------------------------------------------------------------------ */

void gdb_invalidate(struct gdb_server *g)
{
	g->ctx_valid = g->sr_valid = g->fs_valid = g->gs_valid = 0;
}

/* Drops the cache when the target has stopped again since it was filled. */
static void check_seq(struct gdb_server *g)
{
	uint64_t seq = session_last_stop(g->s)->seq;

	if (seq != g->regs_seq) {
		gdb_invalidate(g);
		g->regs_seq = seq;
	}
}

int gdb_need_context(struct gdb_server *g)
{
	int rc;

	check_seq(g);
	if (g->ctx_valid)
		return 0;
	rc = session_get_context(g->s, &g->regs.ctx);
	if (!rc)
		g->ctx_valid = 1;
	return rc;
}

int gdb_need_reg(struct gdb_server *g, unsigned regno)
{
	const struct session_stop *st = session_last_stop(g->s);
	size_t got = 0;
	int rc = 0;

	check_seq(g);
	switch (gdb_reg_source(regno)) {
	case GDB_SRC_CONTEXT:
		return gdb_need_context(g);
	case GDB_SRC_SPECIAL:
		if (g->sr_valid)
			return 0;
		memset(&g->regs.sr, 0, sizeof(g->regs.sr));
		rc = session_read_control_space(g->s, st->processor, KD_CONTROL_SPACE_KSPECIAL,
						&g->regs.sr, sizeof(g->regs.sr), &got);
		if (!rc)
			g->sr_valid = 1;
		return rc;
	case GDB_SRC_MSR: {
		int *valid = regno == GDB_REG_FS_BASE ? &g->fs_valid : &g->gs_valid;
		uint64_t *v = regno == GDB_REG_FS_BASE ? &g->regs.fs_base : &g->regs.gs_base;

		if (*valid)
			return 0;
		rc = session_read_msr(g->s, gdb_reg_msr(regno), v);
		if (!rc)
			*valid = 1;
		return rc;
	}
	}
	return -EINVAL;
}

/* ---- run control ----------------------------------------------------------------------- */

static uint64_t dr7_of(const struct gdb_server *g)
{
	static const unsigned rw[] = { 0, 1, 3, 3 };
	uint64_t dr7 = 0;

	for (unsigned i = 0; i < GDB_HW_SLOTS; i++) {
		const struct gdb_hw_slot *h = &g->hw[i];
		unsigned len;

		if (!h->used)
			continue;
		/* LEN: 00 = 1 byte, 01 = 2, 11 = 4, 10 = 8; instruction breakpoints use 00. */
		len = h->type == GDB_HW_EXEC ? 0 : h->len == 2 ? 1 : h->len == 4 ? 3 : h->len == 8 ? 2 : 0;
		dr7 |= 1ull << (2 * i); /* L0..L3 */
		dr7 |= (uint64_t)(rw[h->type] | (len << 2)) << (16 + 4 * i);
	}
	return dr7;
}

/* Debug registers go to the target three ways, since kernels differ in which they take:
 * the CONTEXT (Dr0-3, Dr7: this target's core), KSPECIAL_REGISTERS in control space
 * (KernelDr0-7: what Windows reloads on resume) and Continue2's Dr7 (every processor). */
static int apply_hw(struct gdb_server *g)
{
	struct kd_special_registers_amd64 sr;
	struct kd_manipulate_state64 rep;
	struct kd_api_msg msg;
	uint64_t dr7 = dr7_of(g);
	uint16_t cpu = session_last_stop(g->s)->processor;
	size_t got = 0;
	int rc;

	if (!g->hw_dirty)
		return 0;
	rc = gdb_need_context(g);
	if (rc)
		return rc;
	g->regs.ctx.dr0 = g->hw[0].used ? g->hw[0].addr : 0;
	g->regs.ctx.dr1 = g->hw[1].used ? g->hw[1].addr : 0;
	g->regs.ctx.dr2 = g->hw[2].used ? g->hw[2].addr : 0;
	g->regs.ctx.dr3 = g->hw[3].used ? g->hw[3].addr : 0;
	g->regs.ctx.dr7 = dr7;
	rc = session_set_context(g->s, &g->regs.ctx);
	if (rc)
		return rc;
	memset(&sr, 0, sizeof(sr));
	if (session_read_control_space(g->s, cpu, KD_CONTROL_SPACE_KSPECIAL, &sr, sizeof(sr),
				       &got) == 0 && got == sizeof(sr)) {
		sr.kernel_dr0 = g->regs.ctx.dr0, sr.kernel_dr1 = g->regs.ctx.dr1;
		sr.kernel_dr2 = g->regs.ctx.dr2, sr.kernel_dr3 = g->regs.ctx.dr3;
		sr.kernel_dr7 = dr7;
		if (kd_api_req_write_control(&msg, cpu, KD_CONTROL_SPACE_KSPECIAL, &sr,
					     sizeof(sr)) == KD_API_OK) {
			msg.u.m.processor = cpu;
			session_request(g->s, &msg.u.m, msg.data, msg.data_len, &rep, NULL, 0,
					NULL, 0);
		}
	}
	g->hw_dirty = 0;
	g->sr_valid = 0;
	return 0;
}

int gdb_resume(struct gdb_server *g, int step)
{
	int rc;

	/* A hard-coded int3 (DbgBreakPoint) would stop the target again at once: step over
	 * it as WinDbg does. For a step that is the step. */
	rc = session_skip_int3(g->s);
	if (rc < 0)
		return rc;
	gdb_invalidate(g);
	if (rc > 0 && step) {
		g->stepping = 0;
		gdb_reply_stop(g);
		return 1;
	}
	/* Debug registers last, right before the target runs: a kernel that takes them
	 * at once must not trap on its own accesses while still in the debugger. */
	rc = apply_hw(g);
	if (rc)
		return rc;
	rc = session_continue2(g->s, KD_DBG_CONTINUE, step, dr7_of(g));
	if (rc)
		return rc;
	g->running = 1;
	g->stepping = step;
	g->breakin_sent = 0;
	return 0;
}

int gdb_detach_target(struct gdb_server *g)
{
	int rc;

	if (session_state(g->s) != SESSION_TARGET_STOPPED)
		return 0;
	session_bp_remove(g->s, -1);
	for (int i = 0; i < GDB_HW_SLOTS; i++) {
		if (g->hw[i].used)
			g->hw_dirty = 1;
		g->hw[i].used = 0;
	}
	rc = gdb_resume(g, 0);
	g->running = 0; /* nobody waits for this stop now */
	return rc < 0 ? rc : 0;
}

void gdb_interrupt(struct gdb_server *g)
{
	g->stats.interrupts++;
	if (session_state(g->s) == SESSION_TARGET_STOPPED && !g->running)
		return;
	if (!g->breakin_sent || session_now(g->s) - g->breakin_at >= GDB_BREAKIN_RETRY_US) {
		session_break_in(g->s);
		g->breakin_sent = 1;
		g->breakin_at = session_now(g->s);
	}
}

/* ---- the KD side ----------------------------------------------------------------------- */

int gdb_server_waiting(const struct gdb_server *g)
{
	return g->running || session_state(g->s) != SESSION_TARGET_STOPPED;
}

int gdb_server_pump(struct gdb_server *g, uint64_t timeout_us)
{
	struct session_stop st;
	int rc = session_wait_stop(g->s, timeout_us, &st);

	if (rc == -ETIMEDOUT || rc == -EINTR) {
		if (g->breakin_sent && session_now(g->s) - g->breakin_at >= GDB_BREAKIN_RETRY_US)
			gdb_interrupt(g);
		return 0;
	}
	if (rc)
		return session_connected(g->s) ? 0 : rc;
	g->breakin_sent = 0;
	glog(g, "target stopped: processor %u, pc %#llx, %s %08x", st.processor,
	     (unsigned long long)st.pc,
	     st.kind == SESSION_STOP_EXCEPTION ? "exception" : "state change",
	     st.kind == SESSION_STOP_EXCEPTION ? st.code : st.new_state);
	if (g->running && g->fd >= 0) {
		gdb_reply_stop(g);
		gdb_send(g, g->reply, g->reply_len);
	}
	g->running = g->stepping = 0;
	return 0;
}

void gdb_server_print(struct gdb_server *g, const char *text, size_t len)
{
	/* gdb takes console output only while it waits for a stop reply. */
	if (g->fd >= 0 && g->running) {
		gdb_send_console(g, text, len);
		return;
	}
	if (g->log) {
		fwrite(text, 1, len, g->log);
		fflush(g->log);
	}
}

/* ---- the debugger side ----------------------------------------------------------------- */

static void handle_packet(struct gdb_server *g, const uint8_t *data, size_t len)
{
	g->stats.packets_in++;
	if (!g->noack && write_all(g, (const uint8_t *)"+", 1))
		return;
	if (g->verbose)
		glog(g, "-> %.*s", (int)(len > 200 ? 200 : len), (const char *)data);
	g->reply_len = 0;
	g->reply_none = 0;
	gdb_dispatch(g, (const char *)data, len);
	if (g->fd < 0 || g->reply_none)
		return;
	gdb_send(g, g->reply, g->reply_len);
	if (g->close_after_reply)
		gdb_server_drop(g, "detached");
}

void gdb_server_feed(struct gdb_server *g, const uint8_t *data, size_t len)
{
	struct rsp_event ev;

	while (len && g->fd >= 0) {
		size_t n = rsp_parser_feed(&g->parser, data, len, &ev);

		data += n, len -= n;
		switch (ev.kind) {
		case RSP_EV_NONE:
		case RSP_EV_ACK:
			break;
		case RSP_EV_PACKET:
			handle_packet(g, ev.data, ev.len);
			break;
		case RSP_EV_BAD_PACKET:
			if (!g->noack) {
				g->stats.naks_sent++;
				write_all(g, (const uint8_t *)"-", 1);
			}
			break;
		case RSP_EV_OVERSIZE:
			if (!g->noack)
				write_all(g, (const uint8_t *)"+", 1);
			gdb_send(g, "E01", 3);
			break;
		case RSP_EV_INTERRUPT:
			gdb_interrupt(g);
			break;
		case RSP_EV_NAK:
			if (g->tx_len && !g->noack) {
				g->stats.retransmits++;
				write_all(g, g->tx, g->tx_len);
			}
			break;
		}
	}
}

int gdb_server_read(struct gdb_server *g)
{
	uint8_t buf[4096];
	ssize_t n;

	if (g->fd < 0)
		return -1;
	n = read(g->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n <= 0) {
		gdb_server_drop(g, n == 0 ? "closed" : "read failed");
		return -1;
	}
	gdb_server_feed(g, buf, (size_t)n);
	return g->fd >= 0 ? 0 : -1;
}
