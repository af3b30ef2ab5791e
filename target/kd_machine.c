/* SPDX-License-Identifier: MIT */
/* The KD platform of the test kernel: memory, registers, and Windows-shaped debugger data. */
#include "kd_machine.h"

#include <string.h>

#include "cpu.h"
#include "layout.h"
#include "paging.h"

#define MSR_STAR            0xc0000081u
#define MSR_LSTAR           0xc0000082u
#define MSR_CSTAR           0xc0000083u
#define MSR_SYSCALL_MASK    0xc0000084u
#define KERNEL_SPACE_START  0xffff800000000000ull
#define HIGHEST_USER_ADDR   0x00007ffffffeffffull

/* RFLAGS bits a debugger may change: the arithmetic flags, TF, DF, AC and ID. IF stays
 * off (the kernel polls), IOPL/NT/VM/RF are not the debugger's to set. */
#define RFLAGS_DEBUGGER_MASK 0x00240dd5ull

/* ---- memory ------------------------------------------------------------------------ */

static size_t m_read_virtual(void *p, uint64_t va, void *buf, size_t len)
{
	(void)p;
	return vm_read(va, buf, len);
}

static size_t m_write_virtual(void *p, uint64_t va, const void *buf, size_t len)
{
	(void)p;
	return vm_write(va, buf, len);
}

static size_t m_read_physical(void *p, uint64_t pa, void *buf, size_t len)
{
	(void)p;
	return phys_read(pa, buf, len);
}

static size_t m_write_physical(void *p, uint64_t pa, const void *buf, size_t len)
{
	(void)p;
	return phys_write(pa, buf, len);
}

static uint32_t m_query_memory(void *p, uint64_t va, uint32_t *space)
{
	uint64_t pa, entry;
	uint32_t flags = KD_QUERY_FLAG_READ;

	(void)p;
	if (paging_translate(va, &pa, &entry) != PAGING_OK)
		return 0;
	if (entry & PTE_W)
		flags |= KD_QUERY_FLAG_WRITE;
	if (!(entry & PTE_NX))
		flags |= KD_QUERY_FLAG_EXECUTE;
	*space = va >= KERNEL_SPACE_START ? KD_QUERY_SPACE_KERNEL : KD_QUERY_SPACE_PROCESS;
	return flags;
}

/* ---- registers --------------------------------------------------------------------- */

static uint64_t msr_or_zero(uint32_t msr)
{
	uint64_t v = 0;

	if (rdmsr_safe(msr, &v) != 0)
		v = 0;
	return v;
}

/* ---- debug registers: held while the debugger has the CPU ----------------------------- */

void kd_machine_hold_debug_regs(struct kd_machine_debug_regs *d)
{
	for (unsigned i = 0; i < 4; i++)
		d->dr[i] = read_dr(i);
	d->dr6 = read_dr(6);
	d->dr7 = read_dr(7);
	write_dr(7, 0);
	d->held = 1;
}

/* Dr7 last: the addresses are in place before anything is armed. */
void kd_machine_release_debug_regs(struct kd_machine_debug_regs *d)
{
	if (!d->held)
		return;
	d->held = 0;
	for (unsigned i = 0; i < 4; i++)
		write_dr(i, d->dr[i]);
	write_dr(6, d->dr6);
	write_dr(7, d->dr7);
}

static uint64_t get_dr(const struct kd_machine_debug_regs *d, unsigned n)
{
	if (!d || !d->held)
		return read_dr(n);
	return n < 4 ? d->dr[n] : n == 6 ? d->dr6 : d->dr7;
}

static void set_dr(struct kd_machine_debug_regs *d, unsigned n, uint64_t v)
{
	if (!d || !d->held)
		write_dr(n, v);
	else if (n < 4)
		d->dr[n] = v;
	else if (n == 6)
		d->dr6 = v;
	else
		d->dr7 = v;
}

static void m_read_special(void *p, struct kd_special_registers_amd64 *sr)
{
	const struct kd_machine_debug_regs *d = p;
	struct desc_ptr gdt = sgdt(), idt = sidt();

	memset(sr, 0, sizeof(*sr));
	sr->cr0 = read_cr0();
	sr->cr2 = read_cr2();
	sr->cr3 = read_cr3();
	sr->cr4 = read_cr4();
	sr->cr8 = read_cr8();
	sr->kernel_dr0 = get_dr(d, 0);
	sr->kernel_dr1 = get_dr(d, 1);
	sr->kernel_dr2 = get_dr(d, 2);
	sr->kernel_dr3 = get_dr(d, 3);
	sr->kernel_dr6 = get_dr(d, 6);
	sr->kernel_dr7 = get_dr(d, 7);
	sr->gdtr.limit = gdt.limit;
	sr->gdtr.base = gdt.base;
	sr->idtr.limit = idt.limit;
	sr->idtr.base = idt.base;
	sr->tr = read_tr();
	sr->ldtr = read_ldtr();
	sr->msr_gs_base = msr_or_zero(MSR_GS_BASE);
	sr->msr_gs_swap = msr_or_zero(MSR_KERNEL_GS_BASE);
	sr->msr_star = msr_or_zero(MSR_STAR);
	sr->msr_lstar = msr_or_zero(MSR_LSTAR);
	sr->msr_cstar = msr_or_zero(MSR_CSTAR);
	sr->msr_syscall_mask = msr_or_zero(MSR_SYSCALL_MASK);
}

/* Only the debug registers are taken back: that is how a debugger sets hardware
 * breakpoints. Control registers and descriptor tables are the kernel's own business. */
static void m_write_special(void *p, const struct kd_special_registers_amd64 *sr)
{
	struct kd_machine_debug_regs *d = p;

	set_dr(d, 0, sr->kernel_dr0);
	set_dr(d, 1, sr->kernel_dr1);
	set_dr(d, 2, sr->kernel_dr2);
	set_dr(d, 3, sr->kernel_dr3);
	set_dr(d, 6, sr->kernel_dr6);
	set_dr(d, 7, sr->kernel_dr7);
}

static int m_read_msr(void *p, uint32_t msr, uint64_t *value)
{
	(void)p;
	return rdmsr_safe(msr, value) == 0 ? 0 : -1;
}

static int m_write_msr(void *p, uint32_t msr, uint64_t value)
{
	(void)p;
	return wrmsr_safe(msr, value) == 0 ? 0 : -1;
}

/* The 8042 reset line; QEMU runs with -no-reboot, so this ends the VM. */
static void m_reboot(void *p)
{
	(void)p;
	outb(0x64, 0xfe);
	for (;;)
		halt();
}

const struct kd_platform_ops kd_machine_ops = {
	.read_virtual = m_read_virtual,
	.write_virtual = m_write_virtual,
	.read_physical = m_read_physical,
	.write_physical = m_write_physical,
	.read_special = m_read_special,
	.write_special = m_write_special,
	.read_msr = m_read_msr,
	.write_msr = m_write_msr,
	.query_memory = m_query_memory,
	.reboot = m_reboot,
};

void kd_machine_frame_to_context(const struct trap_frame *tf, struct kd_context_amd64 *ctx,
				 const struct kd_machine_debug_regs *d)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->context_flags = KD_CONTEXT_ALL;
	ctx->mx_csr = tf->fx.mxcsr;
	ctx->seg_cs = (uint16_t)tf->cs;
	ctx->seg_ss = (uint16_t)tf->ss;
	ctx->seg_ds = (uint16_t)tf->ds;
	ctx->seg_es = (uint16_t)tf->es;
	ctx->seg_fs = (uint16_t)tf->fs;
	ctx->seg_gs = (uint16_t)tf->gs;
	ctx->eflags = (uint32_t)tf->rflags;
	ctx->dr0 = get_dr(d, 0);
	ctx->dr1 = get_dr(d, 1);
	ctx->dr2 = get_dr(d, 2);
	ctx->dr3 = get_dr(d, 3);
	ctx->dr6 = get_dr(d, 6);
	ctx->dr7 = get_dr(d, 7);
	ctx->rax = tf->rax, ctx->rcx = tf->rcx, ctx->rdx = tf->rdx, ctx->rbx = tf->rbx;
	ctx->rsp = tf->rsp, ctx->rbp = tf->rbp, ctx->rsi = tf->rsi, ctx->rdi = tf->rdi;
	ctx->r8 = tf->r8, ctx->r9 = tf->r9, ctx->r10 = tf->r10, ctx->r11 = tf->r11;
	ctx->r12 = tf->r12, ctx->r13 = tf->r13, ctx->r14 = tf->r14, ctx->r15 = tf->r15;
	ctx->rip = tf->rip;
	_Static_assert(sizeof(ctx->flt_save) == sizeof(tf->fx), "FXSAVE image is FltSave");
	memcpy(&ctx->flt_save, &tf->fx, sizeof(tf->fx));
}

void kd_machine_context_to_frame(const struct kd_context_amd64 *ctx, struct trap_frame *tf,
				 struct kd_machine_debug_regs *d)
{
	uint32_t mxcsr_mask = tf->fx.mxcsr_mask ? tf->fx.mxcsr_mask : 0xffbfu;

	tf->rax = ctx->rax, tf->rcx = ctx->rcx, tf->rdx = ctx->rdx, tf->rbx = ctx->rbx;
	tf->rsp = ctx->rsp, tf->rbp = ctx->rbp, tf->rsi = ctx->rsi, tf->rdi = ctx->rdi;
	tf->r8 = ctx->r8, tf->r9 = ctx->r9, tf->r10 = ctx->r10, tf->r11 = ctx->r11;
	tf->r12 = ctx->r12, tf->r13 = ctx->r13, tf->r14 = ctx->r14, tf->r15 = ctx->r15;
	tf->rip = ctx->rip;
	tf->rflags = (tf->rflags & ~RFLAGS_DEBUGGER_MASK) | (ctx->eflags & RFLAGS_DEBUGGER_MASK);
	/* FXRSTOR faults on reserved MXCSR bits: keep the x87/SSE image but mask MXCSR. */
	memcpy(&tf->fx, &ctx->flt_save, sizeof(tf->fx));
	tf->fx.mxcsr &= mxcsr_mask;
	set_dr(d, 0, ctx->dr0);
	set_dr(d, 1, ctx->dr1);
	set_dr(d, 2, ctx->dr2);
	set_dr(d, 3, ctx->dr3);
	set_dr(d, 7, ctx->dr7);
}

/* ---- what a debugger reads first ---------------------------------------------------- */

#define KPCR_SIZE 0x1000u

static struct {
	struct kd_list_entry64 debugger_data_list;  /* KdpDebuggerDataListHead */
	struct kd_debugger_data64 kdbg;
	struct kd_list_entry64 loaded_module_list;  /* PsLoadedModuleList */
	struct kd_ldr_data_table_entry64 kernel_module;
	struct kd_ldr_data_table_entry64 modules[KD_MACHINE_MAX_MODULES];
	uint16_t module_full_names[KD_MACHINE_MAX_MODULES][48];
	uint16_t module_base_names[KD_MACHINE_MAX_MODULES][16];
	unsigned nmodules;
	struct kd_list_entry64 active_process_head; /* empty: no processes */
	uint16_t kernel_full_name[40];
	uint16_t kernel_base_name[16];
	uint32_t csd_version;
	uint64_t highest_user_address;
	uint64_t system_range_start;
	uint64_t processor_block[1];
	char build_lab[64];
	uint8_t kpcr[KPCR_SIZE] __attribute__((aligned(16)));
	uint8_t kthread[0x800] __attribute__((aligned(16)));
} kd_data;

static uint64_t va_of(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static uint16_t to_utf16(uint16_t *out, size_t cap, const char *s)
{
	size_t n = 0;

	while (s[n] && n + 1 < cap) {
		out[n] = (uint8_t)s[n];
		n++;
	}
	out[n] = 0;
	return (uint16_t)(n * 2);
}

static void set_unicode(struct kd_unicode_string64 *us, uint16_t *buf, size_t cap,
			const char *s)
{
	us->length = to_utf16(buf, cap, s);
	us->maximum_length = (uint16_t)(us->length + 2);
	us->buffer = va_of(buf);
}

static void list_single(struct kd_list_entry64 *head, struct kd_list_entry64 *node)
{
	head->flink = head->blink = va_of(node);
	node->flink = node->blink = va_of(head);
}

static void list_insert_tail(struct kd_list_entry64 *head, struct kd_list_entry64 *node)
{
	struct kd_list_entry64 *last = (struct kd_list_entry64 *)(uintptr_t)head->blink;

	node->flink = va_of(head);
	node->blink = head->blink;
	last->flink = va_of(node);
	head->blink = va_of(node);
}

static void put_u64(uint8_t *base, uint32_t off, uint64_t v)
{
	memcpy(base + off, &v, sizeof(v));
}

static void format_build_lab(char *buf, size_t cap, uint16_t build)
{
	static const char tail[] = ".1.amd64fre.vmkd_target";
	char digits[8];
	size_t n = 0, d = 0;

	do {
		digits[d++] = (char)('0' + build % 10);
		build /= 10;
	} while (build && d < sizeof(digits));
	while (d && n + 1 < cap)
		buf[n++] = digits[--d];
	for (size_t i = 0; tail[i] && n + 1 < cap; i++)
		buf[n++] = tail[i];
	buf[n] = 0;
}

void kd_machine_init(struct kd_target_info *info, uint16_t build, uint64_t breakpoint_routine)
{
	extern uint8_t __image_start[], __image_end[];
	struct kd_debugger_data64 *d = &kd_data.kdbg;
	struct kd_ldr_data_table_entry64 *m = &kd_data.kernel_module;
	uint8_t *raw = (uint8_t *)d;
	uint64_t kprcb = va_of(kd_data.kpcr) + KD_KPCR_PRCB_OFFSET;

	memset(&kd_data, 0, sizeof(kd_data));

	/* The loaded-module list: this kernel, named like ntoskrnl. */
	m->dll_base = va_of(__image_start);
	m->size_of_image = (uint32_t)(__image_end - __image_start);
	set_unicode(&m->full_dll_name, kd_data.kernel_full_name, 40,
		    "\\SystemRoot\\system32\\ntoskrnl.exe");
	set_unicode(&m->base_dll_name, kd_data.kernel_base_name, 16, "ntoskrnl.exe");
	m->load_count = 1;
	list_single(&kd_data.loaded_module_list, &m->in_load_order_links);
	kd_data.active_process_head.flink = va_of(&kd_data.active_process_head);
	kd_data.active_process_head.blink = va_of(&kd_data.active_process_head);

	/* KPCR.Self, KPCR.CurrentPrcb, KPRCB.CurrentThread: what !pcr and !thread follow. */
	put_u64(kd_data.kpcr, KD_KPCR_SELF_OFFSET, va_of(kd_data.kpcr));
	put_u64(kd_data.kpcr, KD_KPCR_CURRENT_PRCB_OFFSET, kprcb);
	put_u64(kd_data.kpcr, KD_KPCR_PRCB_OFFSET + KD_KPRCB_CURRENT_THREAD_OFFSET,
		va_of(kd_data.kthread));
	kd_data.processor_block[0] = kprcb;
	wrmsr(MSR_GS_BASE, va_of(kd_data.kpcr));

	/* KDDEBUGGER_DATA64, reached from GetVersion's DebuggerDataList. */
	list_single(&kd_data.debugger_data_list, &d->header.list);
	d->header.owner_tag = KD_DEBUGGER_DATA_TAG;
	d->header.size = sizeof(*d);
	d->kern_base = va_of(__image_start);
	d->breakpoint_with_status = breakpoint_routine;
	d->pae_enabled = 1;
	d->ps_loaded_module_list = va_of(&kd_data.loaded_module_list);
	d->ps_active_process_head = va_of(&kd_data.active_process_head);
	d->cm_nt_csd_version = va_of(&kd_data.csd_version);
	kd_data.highest_user_address = HIGHEST_USER_ADDR;
	kd_data.system_range_start = KERNEL_SPACE_START;
	format_build_lab(kd_data.build_lab, sizeof(kd_data.build_lab), build);
	put_u64(raw, KD_DEBUGGER_DATA_MM_HIGHEST_USER_ADDRESS, va_of(&kd_data.highest_user_address));
	put_u64(raw, KD_DEBUGGER_DATA_MM_SYSTEM_RANGE_START, va_of(&kd_data.system_range_start));
	put_u64(raw, KD_DEBUGGER_DATA_NT_BUILD_LAB, va_of(kd_data.build_lab));
	put_u64(raw, KD_DEBUGGER_DATA_KI_PROCESSOR_BLOCK, va_of(kd_data.processor_block));

	memset(info, 0, sizeof(*info));
	info->version.major_version = KD_MAJOR_VERSION_FREE;
	info->version.minor_version = build;
	info->version.protocol_version = KD_PROTOCOL_VERSION_64BIT2;
	info->version.kd_secondary_version = KD_SECONDARY_VERSION_AMD64_CONTEXT;
	info->version.flags = KD_VERSION_FLAG_DATA | KD_VERSION_FLAG_PTR64;
	info->version.machine_type = KD_MACHINE_AMD64;
	info->version.max_packet_type = KD_PACKET_TYPE_MAX;
	info->version.max_state_change = KD_STATE_MAXIMUM - KD_STATE_EXCEPTION;
	info->version.max_manipulate = KD_API_MAXIMUM - KD_API_READ_VIRTUAL_MEMORY;
	info->version.kern_base = va_of(__image_start);
	info->version.ps_loaded_module_list = va_of(&kd_data.loaded_module_list);
	info->version.debugger_data_list = va_of(&kd_data.debugger_data_list);
	info->processor_level = (uint16_t)((cpuid(1, 0).eax >> 8) & 0xf);
	info->number_processors = 1;
	info->kpcr = va_of(kd_data.kpcr);
	info->kprcb = kprcb;
	info->kthread = va_of(kd_data.kthread);
}

int kd_machine_add_module(const char *full_name, const char *base_name, uint64_t base,
			  uint32_t size, uint64_t entry_point)
{
	struct kd_ldr_data_table_entry64 *m;
	unsigned i = kd_data.nmodules;

	if (i >= KD_MACHINE_MAX_MODULES)
		return -1;
	m = &kd_data.modules[i];
	memset(m, 0, sizeof(*m));
	m->dll_base = base;
	m->entry_point = entry_point;
	m->size_of_image = size;
	set_unicode(&m->full_dll_name, kd_data.module_full_names[i], 48, full_name);
	set_unicode(&m->base_dll_name, kd_data.module_base_names[i], 16, base_name);
	m->load_count = 1;
	list_insert_tail(&kd_data.loaded_module_list, &m->in_load_order_links);
	kd_data.nmodules++;
	return 0;
}
