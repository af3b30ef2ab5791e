/* SPDX-License-Identifier: MIT */
/* The engine's requests (memory, registers, MSRs, breakpoints) and run control (go, step,
 * skipping hard-coded int3), on top of session_request(). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmkd/kd_api.h"

#include "session_int.h"

/* Sends a request built by kd_api for processor cpu and waits for its reply. */
static int request_msg(struct session *s, struct kd_api_msg *msg, uint16_t cpu,
		       struct kd_manipulate_state64 *rep, void *data, size_t cap, size_t *dlen)
{
	msg->u.m.processor = cpu;
	msg->u.m.processor_level = s->stop.processor_level;
	return session_request(s, &msg->u.m, msg->data, msg->data_len, rep, data, cap, dlen, 0);
}

int session_get_version(struct session *s, struct kd_get_version64 *ver)
{
	struct kd_manipulate_state64 rep;
	struct kd_api_msg msg;
	int rc;

	kd_api_req_get_version(&msg);
	rc = request_msg(s, &msg, s->stop.processor, &rep, NULL, 0, NULL);
	if (rc)
		return rc;
	if (!kd_nt_success(rep.return_status))
		return session_fail(s, -EIO, "GetVersion failed: status %08x", rep.return_status);
	*ver = rep.u.get_version;
	return 0;
}

enum mem_space { MEM_VIRTUAL, MEM_PHYSICAL, MEM_CONTROL };

/* Reads in chunks the target can answer in one packet; stops at the first short one. The
 * reply parser already checked ActualBytesRead against the data and the request. The ACK
 * of each reply but the last goes out with the next request (defer_ack). */
static int read_memory(struct session *s, enum mem_space space, uint16_t cpu, uint64_t addr,
		       void *buf, size_t len, size_t *got)
{
	struct kd_manipulate_state64 rep;
	struct kd_api_msg msg;
	uint8_t *dst = buf;
	size_t done = 0, dlen;
	uint32_t status = 0;
	int rc = 0;

	*got = 0;
	while (done < len) {
		uint32_t n = (uint32_t)(len - done < KD_MANIPULATE_MAX_DATA ? len - done :
									      KD_MANIPULATE_MAX_DATA);

		if (space == MEM_VIRTUAL)
			kd_api_req_read_virtual(&msg, addr + done, n);
		else if (space == MEM_PHYSICAL)
			kd_api_req_read_physical(&msg, addr + done, n, 0);
		else
			kd_api_req_read_control(&msg, cpu, addr + done, n);
		s->defer_ack = done + n < len;
		rc = request_msg(s, &msg, cpu, &rep, dst + done, n, &dlen);
		if (rc)
			break;
		status = rep.return_status;
		done += dlen;
		*got = done;
		if (dlen < n)
			break;
	}
	session_flush(s);
	if (rc)
		return rc;
	if (done == 0 && len)
		return session_fail(s, -EFAULT, "cannot read %smemory at %016llx (status %08x)",
			    space == MEM_PHYSICAL ? "physical " : space == MEM_CONTROL ? "control " : "",
			    (unsigned long long)addr, status);
	return 0;
}

static int write_memory(struct session *s, enum mem_space space, uint64_t addr, const void *buf,
			size_t len)
{
	struct kd_manipulate_state64 rep;
	struct kd_api_msg msg;
	const uint8_t *src = buf;
	size_t done = 0;
	int rc;

	while (done < len) {
		uint32_t n = (uint32_t)(len - done < KD_MANIPULATE_MAX_DATA ? len - done :
									      KD_MANIPULATE_MAX_DATA);
		uint32_t actual;

		if (space == MEM_PHYSICAL)
			kd_api_req_write_physical(&msg, addr + done, src + done, n, 0);
		else
			kd_api_req_write_virtual(&msg, addr + done, src + done, n);
		rc = request_msg(s, &msg, s->stop.processor, &rep, NULL, 0, NULL);
		if (rc)
			return rc;
		actual = rep.u.write_memory.actual_bytes_written;
		if (!kd_nt_success(rep.return_status) || actual < n)
			return session_fail(s, -EFAULT, "cannot write %smemory at %016llx (status %08x)",
				    space == MEM_PHYSICAL ? "physical " : "",
				    (unsigned long long)(addr + done + actual), rep.return_status);
		done += n;
	}
	return 0;
}

static int bp_in_range(const struct session_bp *bp, uint64_t addr, size_t len)
{
	return bp->addr >= addr && bp->addr - addr < len;
}

int session_read_virtual(struct session *s, uint64_t addr, void *buf, size_t len, size_t *got)
{
	uint8_t *p = buf;
	int rc = read_memory(s, MEM_VIRTUAL, s->stop.processor, addr, buf, len, got);

	/* Our int3s are an implementation detail: show the code as it is. */
	for (size_t i = 0; i < s->nbps; i++)
		if (s->bps[i].original_known && bp_in_range(&s->bps[i], addr, *got))
			p[s->bps[i].addr - addr] = s->bps[i].original;
	return rc;
}

/* Inserts bp at its address, learning the byte it covers first. */
static int bp_insert(struct session *s, struct session_bp *bp)
{
	size_t got = 0;

	bp->original_known = read_memory(s, MEM_VIRTUAL, s->stop.processor, bp->addr,
					 &bp->original, 1, &got) == 0 && got == 1;
	return session_write_breakpoint(s, bp->addr, &bp->handle);
}

int session_write_virtual(struct session *s, uint64_t addr, const void *buf, size_t len)
{
	int lifted[SESSION_MAX_BPS] = { 0 }, rc, rc2;

	/* The target restores its own saved byte when a breakpoint goes: lift ours first, or
	 * that would undo this write. */
	for (size_t i = 0; i < s->nbps; i++) {
		if (!bp_in_range(&s->bps[i], addr, len))
			continue;
		rc = session_restore_breakpoint(s, s->bps[i].handle);
		if (rc)
			return rc;
		lifted[i] = 1;
	}
	rc = write_memory(s, MEM_VIRTUAL, addr, buf, len);
	for (size_t i = 0; i < s->nbps; i++) {
		if (!lifted[i])
			continue;
		rc2 = bp_insert(s, &s->bps[i]);
		if (!rc)
			rc = rc2;
	}
	return rc;
}

int session_read_physical(struct session *s, uint64_t addr, void *buf, size_t len, size_t *got)
{
	return read_memory(s, MEM_PHYSICAL, s->stop.processor, addr, buf, len, got);
}

int session_write_physical(struct session *s, uint64_t addr, const void *buf, size_t len)
{
	return write_memory(s, MEM_PHYSICAL, addr, buf, len);
}

int session_read_control_space(struct session *s, uint16_t processor, uint64_t selector,
			       void *buf, size_t len, size_t *got)
{
	return read_memory(s, MEM_CONTROL, processor, selector, buf, len, got);
}

int session_get_context(struct session *s, struct kd_context_amd64 *ctx)
{
	struct kd_manipulate_state64 rep;
	struct kd_api_msg msg;
	size_t dlen;
	int rc;

	kd_api_req_get_context(&msg, s->stop.processor);
	rc = request_msg(s, &msg, s->stop.processor, &rep, s->scratch, sizeof(s->scratch), &dlen);
	if (rc)
		return rc;
	if (!kd_nt_success(rep.return_status))
		return session_fail(s, -EIO, "GetContext failed: status %08x", rep.return_status);
	/* The reply parser insists on a full AMD64 CONTEXT for a successful reply. */
	memcpy(ctx, s->scratch, sizeof(*ctx));
	return 0;
}

int session_set_context(struct session *s, const struct kd_context_amd64 *ctx)
{
	struct kd_manipulate_state64 rep;
	struct kd_api_msg msg;
	int rc;

	kd_api_req_set_context(&msg, s->stop.processor, ctx);
	rc = request_msg(s, &msg, s->stop.processor, &rep, NULL, 0, NULL);
	if (rc)
		return rc;
	if (!kd_nt_success(rep.return_status))
		return session_fail(s, -EIO, "SetContext failed: status %08x", rep.return_status);
	return 0;
}

int session_read_msr(struct session *s, uint32_t msr, uint64_t *value)
{
	struct kd_manipulate_state64 rep;
	struct kd_api_msg msg;
	int rc;

	kd_api_req_read_msr(&msg, msr);
	rc = request_msg(s, &msg, s->stop.processor, &rep, NULL, 0, NULL);
	if (rc)
		return rc;
	if (!kd_nt_success(rep.return_status))
		return session_fail(s, -EIO, "cannot read MSR %08x (status %08x)", msr, rep.return_status);
	*value = (uint64_t)rep.u.read_write_msr.data_value_high << 32 |
		 rep.u.read_write_msr.data_value_low;
	return 0;
}

int session_write_msr(struct session *s, uint32_t msr, uint64_t value)
{
	struct kd_manipulate_state64 rep;
	struct kd_api_msg msg;
	int rc;

	kd_api_req_write_msr(&msg, msr, value);
	rc = request_msg(s, &msg, s->stop.processor, &rep, NULL, 0, NULL);
	if (rc)
		return rc;
	if (!kd_nt_success(rep.return_status))
		return session_fail(s, -EIO, "cannot write MSR %08x (status %08x)", msr, rep.return_status);
	return 0;
}

int session_write_breakpoint(struct session *s, uint64_t addr, uint32_t *handle)
{
	struct kd_manipulate_state64 rep;
	struct kd_api_msg msg;
	int rc;

	kd_api_req_write_breakpoint(&msg, addr);
	rc = request_msg(s, &msg, s->stop.processor, &rep, NULL, 0, NULL);
	if (rc)
		return rc;
	if (!kd_nt_success(rep.return_status))
		return session_fail(s, -EIO, "cannot set a breakpoint at %016llx (status %08x)",
			    (unsigned long long)addr, rep.return_status);
	*handle = rep.u.write_breakpoint.breakpoint_handle;
	return 0;
}

int session_restore_breakpoint(struct session *s, uint32_t handle)
{
	struct kd_manipulate_state64 rep;
	struct kd_api_msg msg;
	int rc;

	kd_api_req_restore_breakpoint(&msg, handle);
	rc = request_msg(s, &msg, s->stop.processor, &rep, NULL, 0, NULL);
	if (rc)
		return rc;
	if (!kd_nt_success(rep.return_status))
		return session_fail(s, -EIO, "cannot remove breakpoint handle %u (status %08x)", handle,
			    rep.return_status);
	return 0;
}

/* ---- run control ------------------------------------------------------------------ */

int session_continue2(struct session *s, uint32_t status, int trace, uint64_t dr7)
{
	struct kd_api_msg msg;

	kd_api_req_continue2(&msg, status, trace, dr7);
	return request_msg(s, &msg, s->stop.processor, NULL, NULL, 0, NULL);
}

const struct session_bp *session_bp_find(const struct session *s, uint64_t addr)
{
	for (size_t i = 0; i < s->nbps; i++)
		if (s->bps[i].addr == addr)
			return &s->bps[i];
	return NULL;
}

int session_skip_int3(struct session *s)
{
	struct kd_context_amd64 ctx;
	struct session_stop *st = &s->stop;
	uint8_t byte;
	size_t got;
	int rc;

	if (s->state != SESSION_TARGET_STOPPED || st->kind != SESSION_STOP_EXCEPTION ||
	    st->code != KD_STATUS_BREAKPOINT || s->int3_skipped_seq == st->seq ||
	    session_bp_find(s, st->pc))
		return 0;
	/* The report's instruction stream has our breakpoints removed, so an 0xCC there is
	 * written in the code itself (DbgBreakPointWithStatus and friends). */
	if (st->report.instruction_count) {
		byte = st->report.instruction_stream[0];
	} else {
		rc = session_read_virtual(s, st->pc, &byte, 1, &got);
		if (rc)
			return rc == -EFAULT ? 0 : rc;
	}
	if (byte != 0xCC)
		return 0;
	rc = session_get_context(s, &ctx);
	if (rc)
		return rc;
	if (ctx.rip != st->pc)
		return 0; /* already moved (by the kernel, or by the user with `r rip=`) */
	ctx.rip++;
	rc = session_set_context(s, &ctx);
	if (rc)
		return rc;
	st->pc = ctx.rip;
	s->int3_skipped_seq = st->seq;
	return 1;
}

static struct session_bp *bp_at(struct session *s, uint64_t addr)
{
	for (size_t i = 0; i < s->nbps; i++)
		if (s->bps[i].addr == addr)
			return &s->bps[i];
	return NULL;
}

/* Runs one instruction with our breakpoint at the PC lifted (if any) and waits for the
 * step to report. The breakpoint goes back in whatever the step reported. */
static int step_raw(struct session *s, struct session_stop *out, uint64_t timeout_us)
{
	struct session_bp *bp = bp_at(s, s->stop.pc);
	int rc, rc2;

	if (bp) {
		rc = session_restore_breakpoint(s, bp->handle);
		if (rc)
			return rc;
	}
	rc = session_continue2(s, KD_DBG_CONTINUE, 1, 0);
	if (!rc)
		rc = session_wait_stop(s, timeout_us, out);
	if (bp && s->state == SESSION_TARGET_STOPPED) {
		rc2 = session_write_breakpoint(s, bp->addr, &bp->handle);
		if (!rc)
			rc = rc2;
	}
	return rc;
}

int session_go(struct session *s)
{
	struct session_stop st;
	int rc;

	if (s->state != SESSION_TARGET_STOPPED)
		return session_fail(s, -EBUSY, "the target is running");
	rc = session_skip_int3(s);
	if (rc < 0)
		return rc;
	if (rc == 0 && s->stop.kind == SESSION_STOP_EXCEPTION && bp_at(s, s->stop.pc)) {
		rc = step_raw(s, &st, s->timeout_us);
		if (rc)
			return rc;
		if (st.kind != SESSION_STOP_EXCEPTION || st.code != KD_STATUS_SINGLE_STEP) {
			/* Something else stopped the target first: report that instead. */
			s->stop_unreported = 1;
			return 0;
		}
	}
	return session_continue2(s, KD_DBG_CONTINUE, 0, 0);
}

int session_step(struct session *s, struct session_stop *out)
{
	int rc;

	if (s->state != SESSION_TARGET_STOPPED)
		return session_fail(s, -EBUSY, "the target is running");
	rc = session_skip_int3(s);
	if (rc) {
		if (rc > 0 && out)
			*out = s->stop;
		return rc;
	}
	return step_raw(s, out, SESSION_WAIT_FOREVER);
}

/* ---- breakpoint table ------------------------------------------------------------- */

/* Smallest number not in use, like WinDbg. */
static int lowest_free_bp_id(const struct session *s)
{
	for (int id = 0;; id++) {
		size_t i;

		for (i = 0; i < s->nbps && s->bps[i].id != id; i++)
			;
		if (i == s->nbps)
			return id;
	}
}

int session_bp_add(struct session *s, uint64_t addr, int temporary, int *id)
{
	struct session_bp *bp = bp_at(s, addr);
	int rc;

	if (bp) {
		bp->temporary = bp->temporary && temporary;
		if (id)
			*id = bp->id;
		return 0;
	}
	if (s->nbps == SESSION_MAX_BPS)
		return session_fail(s, -ENOSPC, "too many breakpoints (%d)", SESSION_MAX_BPS);
	bp = &s->bps[s->nbps];
	memset(bp, 0, sizeof(*bp));
	bp->addr = addr;
	bp->temporary = temporary;
	rc = bp_insert(s, bp);
	if (rc)
		return rc;
	bp->id = lowest_free_bp_id(s);
	s->nbps++;
	if (id)
		*id = bp->id;
	return 0;
}

int session_bp_remove(struct session *s, int id)
{
	int rc = 0, found = 0;

	for (size_t i = 0; i < s->nbps;) {
		if (id != -1 && s->bps[i].id != id) {
			i++;
			continue;
		}
		found = 1;
		rc = session_restore_breakpoint(s, s->bps[i].handle);
		if (rc)
			return rc;
		memmove(&s->bps[i], &s->bps[i + 1], (s->nbps - i - 1) * sizeof(s->bps[0]));
		s->nbps--;
	}
	if (!found && id != -1)
		return session_fail(s, -ENOENT, "no breakpoint %d", id);
	return rc;
}

const struct session_bp *session_bp_at(const struct session *s, size_t i)
{
	const struct session_bp *best = NULL;
	int floor = -1;

	/* Stored in creation order; hand them out by id. */
	for (size_t k = 0; k <= i; k++) {
		best = NULL;
		for (size_t j = 0; j < s->nbps; j++)
			if (s->bps[j].id > floor && (!best || s->bps[j].id < best->id))
				best = &s->bps[j];
		if (!best)
			return NULL;
		floor = best->id;
	}
	return best;
}

