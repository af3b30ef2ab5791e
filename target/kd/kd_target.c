/* SPDX-License-Identifier: MIT */
/* The kernel side of KD: state changes, the manipulate-state loop, DbgPrint, break-in. */
#include "kd_target.h"

#include "vmkd/kd_bytes.h"
#include "vmkd/kd_api.h"

static struct kd_string64 kd_string(const void *buf, size_t len, size_t cap)
{
	struct kd_string64 s = {
		.length = (uint16_t)len,
		.maximum_length = (uint16_t)cap,
		.buffer = (uint64_t)(uintptr_t)buf,
	};
	return s;
}

void kd_target_init(struct kd_target *t, const struct kd_platform_ops *plat, void *plat_ctx,
		    const struct kd_transport_ops *tr, void *tr_ctx,
		    volatile uint8_t *debugger_not_present, const struct kd_target_info *info)
{
	kd_memset(t, 0, sizeof(*t));
	t->plat = plat;
	t->plat_ctx = plat_ctx;
	t->tr = tr;
	t->tr_ctx = tr_ctx;
	t->debugger_not_present = debugger_not_present;
	t->info = *info;
	t->kd_ctx.retry_count = 20; /* "Debugger Retries" default */
}

static int debugger_absent(const struct kd_target *t)
{
	return t->debugger_not_present && *t->debugger_not_present;
}

static void send_msg(struct kd_target *t, const struct kd_api_msg *msg)
{
	struct kd_string64 hdr = kd_string(&msg->u, msg->hdr_len, msg->hdr_len);
	struct kd_string64 data = kd_string(msg->data, msg->data_len, msg->data_len);

	t->tr->send_packet(t->tr_ctx, msg->type, &hdr, msg->data_len ? &data : NULL, &t->kd_ctx);
}

/* ---- breakpoints ------------------------------------------------------------------- */

int kd_target_is_breakpoint(const struct kd_target *t, uint64_t addr)
{
	for (unsigned i = 0; i < KD_TARGET_MAX_BREAKPOINTS; i++)
		if (t->bps[i].in_use && t->bps[i].address == addr)
			return 1;
	return 0;
}

/* Bytes at addr as the code really is: the debugger's 0xCC replaced by what they hide. */
static size_t read_code(struct kd_target *t, uint64_t addr, uint8_t *buf, size_t len)
{
	size_t got = t->plat->read_virtual(t->plat_ctx, addr, buf, len);

	for (unsigned i = 0; i < KD_TARGET_MAX_BREAKPOINTS; i++) {
		const struct kd_breakpoint *bp = &t->bps[i];

		if (bp->in_use && bp->address >= addr && bp->address - addr < got)
			buf[bp->address - addr] = bp->saved;
	}
	return got;
}

static uint32_t write_breakpoint(struct kd_target *t, uint64_t addr)
{
	static const uint8_t int3 = 0xCC;
	struct kd_breakpoint *bp = NULL;
	uint8_t saved;

	for (unsigned i = 0; i < KD_TARGET_MAX_BREAKPOINTS; i++) {
		if (t->bps[i].in_use && t->bps[i].address == addr)
			return 0; /* Windows refuses a second breakpoint on one byte too */
		if (!t->bps[i].in_use && !bp)
			bp = &t->bps[i];
	}
	if (!bp)
		return 0;
	if (t->plat->read_virtual(t->plat_ctx, addr, &saved, 1) != 1)
		return 0;
	if (t->plat->write_virtual(t->plat_ctx, addr, &int3, 1) != 1)
		return 0;
	bp->address = addr;
	bp->saved = saved;
	bp->in_use = 1;
	return (uint32_t)(bp - t->bps) + 1; /* handles are 1-based: 0 means failure */
}

static int restore_breakpoint(struct kd_target *t, uint32_t handle)
{
	struct kd_breakpoint *bp;

	if (handle == 0 || handle > KD_TARGET_MAX_BREAKPOINTS)
		return -1;
	bp = &t->bps[handle - 1];
	if (!bp->in_use)
		return -1;
	bp->in_use = 0;
	return t->plat->write_virtual(t->plat_ctx, bp->address, &bp->saved, 1) == 1 ? 0 : -1;
}

/* ---- state changes ----------------------------------------------------------------- */

static void describe_cpu(struct kd_target *t, struct kd_api_cpu *cpu, uint8_t *stream)
{
	const struct kd_context_amd64 *c = t->ctx;
	struct kd_special_registers_amd64 sr;

	t->plat->read_special(t->plat_ctx, &sr);
	cpu->processor_level = t->info.processor_level;
	cpu->processor = 0;
	cpu->number_processors = t->info.number_processors;
	cpu->thread = t->info.kthread;
	cpu->pc = c->rip;
	cpu->dr6 = sr.kernel_dr6;
	cpu->dr7 = sr.kernel_dr7;
	cpu->eflags = c->eflags;
	cpu->seg_cs = c->seg_cs;
	cpu->seg_ds = c->seg_ds;
	cpu->seg_es = c->seg_es;
	cpu->seg_fs = c->seg_fs;
	cpu->stream = stream;
	cpu->stream_len = read_code(t, c->rip, stream, KD_MAXSTREAM);
}

/* Keeps a copy of the state change: it is sent again after RESET or a break-in byte. */
static void save_state_change(struct kd_target *t, const struct kd_api_msg *msg)
{
	kd_memcpy(t->sc_buf, &msg->u, msg->hdr_len);
	kd_memcpy(t->sc_buf + msg->hdr_len, msg->data, msg->data_len);
	t->sc_len = (uint16_t)(msg->hdr_len + msg->data_len);
}

static void send_state_change(struct kd_target *t)
{
	size_t hdr_len = sizeof(struct kd_wait_state_change64);
	struct kd_string64 hdr = kd_string(t->sc_buf, hdr_len, hdr_len);
	struct kd_string64 data = kd_string(t->sc_buf + hdr_len, t->sc_len - hdr_len,
					    t->sc_len - hdr_len);

	t->stats.state_changes++;
	t->tr->send_packet(t->tr_ctx, KD_PACKET_TYPE_STATE_CHANGE64, &hdr,
			   t->sc_len > hdr_len ? &data : NULL, &t->kd_ctx);
}

/* ---- manipulate-state requests ------------------------------------------------------ */

enum dispatch_result {
	DISPATCH_STAY,            /* served (replied or silently ignored); wait for more */
	DISPATCH_RESUME_HANDLED,
	DISPATCH_RESUME_UNHANDLED,
	DISPATCH_RESEND,          /* send the state change again */
};

typedef enum dispatch_result (*api_handler)(struct kd_target *t,
					    const struct kd_manipulate_state64 *req,
					    const uint8_t *data, size_t data_len,
					    struct kd_api_msg *reply);

typedef size_t (*mem_read_fn)(void *p, uint64_t addr, void *buf, size_t len);
typedef size_t (*mem_write_fn)(void *p, uint64_t addr, const void *buf, size_t len);

/* Read and write requests look the same for virtual and physical memory; only the
 * platform call differs. */
static enum dispatch_result serve_read(struct kd_target *t,
				       const struct kd_manipulate_state64 *req, mem_read_fn read,
				       struct kd_api_msg *reply)
{
	uint32_t want = kd_api_read_len(req);
	size_t got = read(t->plat_ctx, req->u.read_memory.target_base_address, t->tx_data, want);

	kd_api_reply_read(reply, req, t->tx_data, (uint32_t)got);
	return DISPATCH_STAY;
}

static enum dispatch_result serve_write(struct kd_target *t,
					const struct kd_manipulate_state64 *req,
					mem_write_fn write, const uint8_t *data, size_t data_len,
					struct kd_api_msg *reply)
{
	size_t put = write(t->plat_ctx, req->u.write_memory.target_base_address, data, data_len);

	kd_api_reply_write(reply, req, (uint32_t)put);
	return DISPATCH_STAY;
}

static enum dispatch_result api_read_virtual(struct kd_target *t,
					     const struct kd_manipulate_state64 *req,
					     const uint8_t *data, size_t data_len,
					     struct kd_api_msg *reply)
{
	(void)data, (void)data_len;
	return serve_read(t, req, t->plat->read_virtual, reply);
}

static enum dispatch_result api_write_virtual(struct kd_target *t,
					      const struct kd_manipulate_state64 *req,
					      const uint8_t *data, size_t data_len,
					      struct kd_api_msg *reply)
{
	return serve_write(t, req, t->plat->write_virtual, data, data_len, reply);
}

static enum dispatch_result api_read_physical(struct kd_target *t,
					      const struct kd_manipulate_state64 *req,
					      const uint8_t *data, size_t data_len,
					      struct kd_api_msg *reply)
{
	(void)data, (void)data_len;
	return serve_read(t, req, t->plat->read_physical, reply);
}

static enum dispatch_result api_write_physical(struct kd_target *t,
					       const struct kd_manipulate_state64 *req,
					       const uint8_t *data, size_t data_len,
					       struct kd_api_msg *reply)
{
	return serve_write(t, req, t->plat->write_physical, data, data_len, reply);
}

static int bad_processor(const struct kd_target *t, const struct kd_manipulate_state64 *req)
{
	return req->processor >= t->info.number_processors;
}

static enum dispatch_result api_get_context(struct kd_target *t,
					    const struct kd_manipulate_state64 *req,
					    const uint8_t *data, size_t data_len,
					    struct kd_api_msg *reply)
{
	(void)data, (void)data_len;
	if (bad_processor(t, req)) {
		kd_api_reply_init(reply, req, KD_STATUS_UNSUCCESSFUL);
		return DISPATCH_STAY;
	}
	kd_api_reply_get_context(reply, req, t->ctx);
	t->context_fetched = 1;
	return DISPATCH_STAY;
}

/* The parts of a CONTEXT the stopped CPU takes back: everything the trap frame holds. */
static void apply_context(struct kd_context_amd64 *dst, const struct kd_context_amd64 *src)
{
	uint32_t flags = dst->context_flags;

	kd_memcpy(dst, src, sizeof(*dst));
	dst->context_flags = flags;
}

static enum dispatch_result api_set_context(struct kd_target *t,
					    const struct kd_manipulate_state64 *req,
					    const uint8_t *data, size_t data_len,
					    struct kd_api_msg *reply)
{
	struct kd_context_amd64 ctx;

	(void)data_len; /* kd_api_check_request guaranteed a full CONTEXT */
	/* ReactOS refuses a SetContext that no GetContext preceded in this stop: the debugger
	 * would be overwriting registers it never saw. */
	if (bad_processor(t, req) || !t->context_fetched) {
		kd_api_reply_init(reply, req, KD_STATUS_UNSUCCESSFUL);
		return DISPATCH_STAY;
	}
	kd_memcpy(&ctx, data, sizeof(ctx));
	apply_context(t->ctx, &ctx);
	kd_api_reply_init(reply, req, KD_STATUS_SUCCESS);
	return DISPATCH_STAY;
}

static enum dispatch_result api_get_context_ex(struct kd_target *t,
					       const struct kd_manipulate_state64 *req,
					       const uint8_t *data, size_t data_len,
					       struct kd_api_msg *reply)
{
	(void)data, (void)data_len;
	if (bad_processor(t, req)) {
		kd_api_reply_init(reply, req, KD_STATUS_UNSUCCESSFUL);
		return DISPATCH_STAY;
	}
	kd_api_reply_get_context_ex(reply, req, t->ctx);
	t->context_fetched = 1;
	return DISPATCH_STAY;
}

static enum dispatch_result api_set_context_ex(struct kd_target *t,
					       const struct kd_manipulate_state64 *req,
					       const uint8_t *data, size_t data_len,
					       struct kd_api_msg *reply)
{
	struct kd_context_amd64 ctx;
	uint32_t off = req->u.context_ex.offset;

	if (bad_processor(t, req) || !t->context_fetched) {
		kd_api_reply_init(reply, req, KD_STATUS_UNSUCCESSFUL);
		return DISPATCH_STAY;
	}
	/* kd_api_check_request put [off, off + data_len) inside the CONTEXT. */
	kd_memcpy(&ctx, t->ctx, sizeof(ctx));
	kd_memcpy((uint8_t *)&ctx + off, data, data_len);
	apply_context(t->ctx, &ctx);
	kd_api_reply_init(reply, req, KD_STATUS_SUCCESS);
	reply->u.m.u.context_ex.bytes_copied = (uint32_t)data_len;
	return DISPATCH_STAY;
}

/* Control space on AMD64: selectors for KPCR / KPRCB / KTHREAD pointers and the
 * KSPECIAL_REGISTERS block. */
static enum dispatch_result api_read_control(struct kd_target *t,
					     const struct kd_manipulate_state64 *req,
					     const uint8_t *data, size_t data_len,
					     struct kd_api_msg *reply)
{
	struct kd_special_registers_amd64 sr;
	uint64_t selector = req->u.read_memory.target_base_address;
	uint32_t want = kd_api_read_len(req);
	const void *src = NULL;
	size_t have = 0;

	(void)data, (void)data_len;
	if (bad_processor(t, req)) {
		kd_api_reply_init(reply, req, KD_STATUS_UNSUCCESSFUL);
		return DISPATCH_STAY;
	}
	switch (selector) {
	case KD_CONTROL_SPACE_KPCR:
		src = &t->info.kpcr, have = 8;
		break;
	case KD_CONTROL_SPACE_KPRCB:
		src = &t->info.kprcb, have = 8;
		break;
	case KD_CONTROL_SPACE_KSPECIAL:
		t->plat->read_special(t->plat_ctx, &sr);
		src = &sr, have = sizeof(sr);
		break;
	case KD_CONTROL_SPACE_KTHREAD:
		src = &t->info.kthread, have = 8;
		break;
	default:
		kd_api_reply_init(reply, req, KD_STATUS_UNSUCCESSFUL);
		return DISPATCH_STAY;
	}
	if (want > have)
		want = (uint32_t)have;
	kd_memcpy(t->tx_data, src, want);
	kd_api_reply_read(reply, req, t->tx_data, want);
	return DISPATCH_STAY;
}

static enum dispatch_result api_write_control(struct kd_target *t,
					      const struct kd_manipulate_state64 *req,
					      const uint8_t *data, size_t data_len,
					      struct kd_api_msg *reply)
{
	struct kd_special_registers_amd64 sr;
	size_t n = data_len;

	if (bad_processor(t, req) ||
	    req->u.write_memory.target_base_address != KD_CONTROL_SPACE_KSPECIAL) {
		kd_api_reply_init(reply, req, KD_STATUS_UNSUCCESSFUL);
		return DISPATCH_STAY;
	}
	t->plat->read_special(t->plat_ctx, &sr);
	if (n > sizeof(sr))
		n = sizeof(sr);
	kd_memcpy(&sr, data, n);
	t->plat->write_special(t->plat_ctx, &sr);
	kd_api_reply_write(reply, req, (uint32_t)n);
	return DISPATCH_STAY;
}

static enum dispatch_result api_write_breakpoint(struct kd_target *t,
						 const struct kd_manipulate_state64 *req,
						 const uint8_t *data, size_t data_len,
						 struct kd_api_msg *reply)
{
	(void)data, (void)data_len;
	kd_api_reply_breakpoint(reply, req,
				write_breakpoint(t, req->u.write_breakpoint.breakpoint_address));
	return DISPATCH_STAY;
}

static enum dispatch_result api_restore_breakpoint(struct kd_target *t,
						   const struct kd_manipulate_state64 *req,
						   const uint8_t *data, size_t data_len,
						   struct kd_api_msg *reply)
{
	int rc = restore_breakpoint(t, req->u.restore_breakpoint.breakpoint_handle);

	(void)data, (void)data_len;
	kd_api_reply_init(reply, req, rc == 0 ? KD_STATUS_SUCCESS : KD_STATUS_UNSUCCESSFUL);
	return DISPATCH_STAY;
}

static enum dispatch_result api_continue(struct kd_target *t,
					 const struct kd_manipulate_state64 *req,
					 const uint8_t *data, size_t data_len,
					 struct kd_api_msg *reply)
{
	(void)t, (void)data, (void)data_len, (void)reply;
	return kd_nt_success(req->u.continue1.continue_status) ? DISPATCH_RESUME_HANDLED
							       : DISPATCH_RESUME_UNHANDLED;
}

static enum dispatch_result api_continue2(struct kd_target *t,
					  const struct kd_manipulate_state64 *req,
					  const uint8_t *data, size_t data_len,
					  struct kd_api_msg *reply)
{
	const struct kd_continue2 *c = &req->u.continue2;
	struct kd_special_registers_amd64 sr;

	(void)data, (void)data_len, (void)reply;
	if (!kd_nt_success(c->continue_status))
		return DISPATCH_RESUME_UNHANDLED;
	if (c->trace_flag)
		t->ctx->eflags |= KD_EFLAGS_TF;
	else
		t->ctx->eflags &= ~KD_EFLAGS_TF;
	/* The control set's Dr7 goes to every processor's KernelDr7; Dr6 is cleared. */
	t->plat->read_special(t->plat_ctx, &sr);
	sr.kernel_dr7 = c->dr7;
	sr.kernel_dr6 = 0;
	t->plat->write_special(t->plat_ctx, &sr);
	return DISPATCH_RESUME_HANDLED;
}

static enum dispatch_result api_get_version(struct kd_target *t,
					    const struct kd_manipulate_state64 *req,
					    const uint8_t *data, size_t data_len,
					    struct kd_api_msg *reply)
{
	(void)data, (void)data_len;
	kd_api_reply_version(reply, req, &t->info.version);
	return DISPATCH_STAY;
}

static enum dispatch_result api_query_memory(struct kd_target *t,
					     const struct kd_manipulate_state64 *req,
					     const uint8_t *data, size_t data_len,
					     struct kd_api_msg *reply)
{
	uint32_t space = KD_QUERY_SPACE_KERNEL, flags;

	(void)data, (void)data_len;
	if (req->u.query_memory.address_space != 0) {
		kd_api_reply_init(reply, req, KD_STATUS_INVALID_PARAMETER);
		return DISPATCH_STAY;
	}
	flags = t->plat->query_memory(t->plat_ctx, req->u.query_memory.address, &space);
	if (!flags) {
		kd_api_reply_init(reply, req, KD_STATUS_UNSUCCESSFUL);
		return DISPATCH_STAY;
	}
	kd_api_reply_query_memory(reply, req, space, flags);
	return DISPATCH_STAY;
}

static enum dispatch_result api_read_msr(struct kd_target *t,
					 const struct kd_manipulate_state64 *req,
					 const uint8_t *data, size_t data_len,
					 struct kd_api_msg *reply)
{
	uint64_t value = 0;
	int rc = t->plat->read_msr(t->plat_ctx, req->u.read_write_msr.msr, &value);

	(void)data, (void)data_len;
	kd_api_reply_msr(reply, req, value, rc == 0 ? KD_STATUS_SUCCESS : KD_STATUS_NO_SUCH_DEVICE);
	return DISPATCH_STAY;
}

static enum dispatch_result api_write_msr(struct kd_target *t,
					  const struct kd_manipulate_state64 *req,
					  const uint8_t *data, size_t data_len,
					  struct kd_api_msg *reply)
{
	const struct kd_read_write_msr *m = &req->u.read_write_msr;
	uint64_t value = ((uint64_t)m->data_value_high << 32) | m->data_value_low;
	int rc = t->plat->write_msr(t->plat_ctx, m->msr, value);

	(void)data, (void)data_len;
	kd_api_reply_init(reply, req, rc == 0 ? KD_STATUS_SUCCESS : KD_STATUS_NO_SUCH_DEVICE);
	return DISPATCH_STAY;
}

/* APIs Windows answers with nothing: the debugger must not wait for a reply. */
static enum dispatch_result api_silent(struct kd_target *t,
				       const struct kd_manipulate_state64 *req,
				       const uint8_t *data, size_t data_len,
				       struct kd_api_msg *reply)
{
	(void)t, (void)req, (void)data, (void)data_len, (void)reply;
	return DISPATCH_STAY;
}

/* One processor: switching to processor 0 means reporting the same stop again. */
static enum dispatch_result api_switch_processor(struct kd_target *t,
						 const struct kd_manipulate_state64 *req,
						 const uint8_t *data, size_t data_len,
						 struct kd_api_msg *reply)
{
	(void)t, (void)req, (void)data, (void)data_len, (void)reply;
	return DISPATCH_RESEND;
}

static enum dispatch_result api_reboot(struct kd_target *t,
				       const struct kd_manipulate_state64 *req,
				       const uint8_t *data, size_t data_len,
				       struct kd_api_msg *reply)
{
	(void)req, (void)data, (void)data_len, (void)reply;
	if (t->plat->reboot)
		t->plat->reboot(t->plat_ctx);
	return DISPATCH_STAY;
}

struct api_entry {
	uint32_t api;
	api_handler handler;
};

static const struct api_entry api_table[] = {
	{ KD_API_READ_VIRTUAL_MEMORY, api_read_virtual },
	{ KD_API_WRITE_VIRTUAL_MEMORY, api_write_virtual },
	{ KD_API_GET_CONTEXT, api_get_context },
	{ KD_API_SET_CONTEXT, api_set_context },
	{ KD_API_WRITE_BREAKPOINT, api_write_breakpoint },
	{ KD_API_RESTORE_BREAKPOINT, api_restore_breakpoint },
	{ KD_API_CONTINUE, api_continue },
	{ KD_API_READ_CONTROL_SPACE, api_read_control },
	{ KD_API_WRITE_CONTROL_SPACE, api_write_control },
	{ KD_API_REBOOT, api_reboot },
	{ KD_API_CONTINUE2, api_continue2 },
	{ KD_API_READ_PHYSICAL_MEMORY, api_read_physical },
	{ KD_API_WRITE_PHYSICAL_MEMORY, api_write_physical },
	{ KD_API_GET_VERSION, api_get_version },
	{ KD_API_SWITCH_PROCESSOR, api_switch_processor },
	{ KD_API_READ_MSR, api_read_msr },
	{ KD_API_WRITE_MSR, api_write_msr },
	{ KD_API_CLEAR_ALL_INTERNAL_BREAKPOINTS, api_silent },
	{ KD_API_CAUSE_BUGCHECK, api_silent },
	{ KD_API_QUERY_MEMORY, api_query_memory },
	{ KD_API_GET_CONTEXT_EX, api_get_context_ex },
	{ KD_API_SET_CONTEXT_EX, api_set_context_ex },
};

static api_handler find_handler(uint32_t api)
{
	for (size_t i = 0; i < sizeof(api_table) / sizeof(api_table[0]); i++)
		if (api_table[i].api == api)
			return api_table[i].handler;
	return NULL;
}

static enum dispatch_result dispatch(struct kd_target *t, size_t len)
{
	struct kd_manipulate_state64 req;
	struct kd_api_msg reply;
	const uint8_t *data;
	size_t data_len;
	enum kd_api_error err;
	enum dispatch_result res;
	api_handler handler;

	/* KdReceivePacket put the header and the data back to back in rx_buf. */
	err = kd_api_parse_request(t->rx_buf, len, &req, &data, &data_len);
	t->stats.requests++;
	if (err == KD_API_ERR_SHORT || err == KD_API_ERR_OVERSIZE) {
		t->stats.bad_requests++;
		return DISPATCH_STAY;
	}
	handler = err == KD_API_OK ? find_handler(req.api_number) : NULL;
	if (!handler) {
		/* Unknown or malformed: fail it cleanly, never hang the debugger. */
		if (err == KD_API_OK || err == KD_API_ERR_UNKNOWN)
			t->stats.unknown_requests++;
		else
			t->stats.bad_requests++;
		if (!kd_api_has_reply(req.api_number))
			return DISPATCH_STAY;
		kd_api_reply_init(&reply, &req, KD_STATUS_UNSUCCESSFUL);
		send_msg(t, &reply);
		return DISPATCH_STAY;
	}
	reply.type = 0;
	res = handler(t, &req, data, data_len, &reply);
	if (reply.type)
		send_msg(t, &reply);
	return res;
}

/* KdpSendWaitContinue: report the saved state change, then serve requests until one of
 * them resumes the CPU. */
static enum kd_resume send_wait_continue(struct kd_target *t)
{
	int first_send = 1;

	t->context_fetched = 0;
resend:
	send_state_change(t);
	/* Nobody took the first report of this stop: there is no debugger, go on (kdcom's
	 * rule). Once a debugger has taken it, the kernel waits for it, or for the next one,
	 * to continue, as Windows does when a debugger vanishes mid-stop. */
	if (first_send && debugger_absent(t))
		return KD_RESUME_NOT_HANDLED;
	first_send = 0;
	for (;;) {
		struct kd_string64 hdr = kd_string(t->rx_buf, 0, KD_TARGET_RX_HDR);
		struct kd_string64 data = kd_string(t->rx_buf + KD_TARGET_RX_HDR, 0,
						    sizeof(t->rx_buf) - KD_TARGET_RX_HDR);
		uint32_t data_len = 0;
		uint32_t st;

		st = t->tr->receive_packet(t->tr_ctx, KD_PACKET_TYPE_STATE_MANIPULATE, &hdr, &data,
					   &data_len, &t->kd_ctx);
		if (st == KD_STATUS_TIMED_OUT)
			continue;
		if (st == KD_STATUS_NEEDS_RESEND) {
			t->stats.resends++;
			goto resend;
		}
		/* The transport is a separate module (a DLL for kdvm): check what it says. */
		if (hdr.length != KD_TARGET_RX_HDR ||
		    data.length > sizeof(t->rx_buf) - KD_TARGET_RX_HDR || data_len != data.length) {
			t->stats.bad_requests++;
			continue;
		}
		switch (dispatch(t, KD_TARGET_RX_HDR + data.length)) {
		case DISPATCH_STAY:
			break;
		case DISPATCH_RESEND:
			t->stats.resends++;
			goto resend;
		case DISPATCH_RESUME_HANDLED:
			return KD_RESUME_HANDLED;
		case DISPATCH_RESUME_UNHANDLED:
			return KD_RESUME_NOT_HANDLED;
		}
	}
}

static enum kd_resume report(struct kd_target *t, struct kd_context_amd64 *ctx,
			     const struct kd_api_msg *msg)
{
	enum kd_resume r;

	if (debugger_absent(t))
		return KD_RESUME_NOT_HANDLED;
	t->ctx = ctx;
	save_state_change(t, msg);
	r = send_wait_continue(t);
	/* A break-in byte seen while halted only asked for the state change again; it must
	 * not stop the CPU a second time right after it resumes. */
	t->kd_ctx.control_c_pending = 0;
	return r;
}

enum kd_resume kd_target_report_exception(struct kd_target *t, struct kd_context_amd64 *ctx,
					  uint32_t code, uint64_t address, int first_chance)
{
	uint8_t stream[KD_MAXSTREAM];
	struct kd_api_msg msg;
	struct kd_api_cpu cpu;

	t->ctx = ctx;
	/* A stop starts without the trace flag; Continue2 sets it again to step on. */
	ctx->eflags &= ~KD_EFLAGS_TF;
	describe_cpu(t, &cpu, stream);
	if (kd_api_build_exception(&msg, &cpu, code, address, first_chance, NULL, 0) != KD_API_OK)
		return KD_RESUME_NOT_HANDLED;
	return report(t, ctx, &msg);
}

enum kd_resume kd_target_load_symbols(struct kd_target *t, struct kd_context_amd64 *ctx,
				      const char *path, uint64_t base, uint32_t size,
				      uint32_t checksum)
{
	uint8_t stream[KD_MAXSTREAM];
	struct kd_api_msg msg;
	struct kd_api_cpu cpu;

	t->ctx = ctx;
	describe_cpu(t, &cpu, stream);
	if (kd_api_build_load_symbols(&msg, &cpu, path, base, size, checksum, 0) != KD_API_OK)
		return KD_RESUME_NOT_HANDLED;
	return report(t, ctx, &msg);
}

void kd_target_print(struct kd_target *t, const char *text, size_t len)
{
	struct kd_api_msg msg;

	/* KdpPrint skips the transport while KdDebuggerNotPresent is set; a transport whose
	 * host keeps DbgPrints (kdvm.dll with VMKD_CAP_HOST_LOG) keeps the flag clear
	 * (docs/windows.md, "DbgPrint with no debugger"). */
	if (debugger_absent(t))
		return;
	kd_api_build_print(&msg, 0, text, len);
	t->stats.prints++;
	send_msg(t, &msg);
}

int kd_target_poll_breakin(struct kd_target *t)
{
	uint32_t st;

	/* Asked even when KdDebuggerNotPresent is set, as KdPollBreakIn does: that is how a
	 * debugger that attaches later gets the kernel's attention. */
	if (t->kd_ctx.control_c_pending) {
		t->kd_ctx.control_c_pending = 0;
		t->stats.breakins++;
		return 1;
	}
	st = t->tr->receive_packet(t->tr_ctx, KD_PACKET_TYPE_POLL_BREAKIN, NULL, NULL, NULL,
				   &t->kd_ctx);
	if (st == KD_STATUS_PACKET_RECEIVED) {
		t->stats.breakins++;
		return 1;
	}
	return 0;
}
