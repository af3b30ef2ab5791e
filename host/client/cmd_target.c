/* SPDX-License-Identifier: MIT */
/* Machine-level commands: !pte and !vtop (page walk from CR3 through physical reads),
 * ~N (switch processor), .reboot. */
#include <errno.h>
#include <string.h>

#include "../common/pagewalk.h"
#include "commands_int.h"
#include "expr.h"

static size_t phys_read(void *session, uint64_t pa, void *buf, size_t len)
{
	size_t got = 0;

	if (session_read_physical(session, pa, buf, len, &got))
		return 0;
	return got;
}

/* The paging mode of the current processor: CR3 (unless dirbase is given) and CR4.LA57
 * from its KSPECIAL_REGISTERS. A short answer without CR4 means 4-level paging. */
static int read_mode(struct cmd_ctx *c, uint64_t dirbase, struct pw_mode *mode)
{
	struct kd_special_registers_amd64 sr;
	const struct session_stop *st = session_last_stop(c->s);
	size_t got = 0;

	memset(&sr, 0, sizeof(sr));
	if (session_read_control_space(c->s, st->processor, KD_CONTROL_SPACE_KSPECIAL, &sr,
				       sizeof(sr), &got) || got < offsetof(struct kd_special_registers_amd64, cr4))
		return cmd_fail(c, "cannot read CR3 (control space): %s", session_error(c->s));
	if (got < offsetof(struct kd_special_registers_amd64, cr4) + sizeof(sr.cr4))
		sr.cr4 = 0;
	/* MAXPHYADDR is not known here: no check of high frame bits (0). */
	pw_mode_from_cr(mode, dirbase ? dirbase : sr.cr3, sr.cr4, 0);
	return 0;
}

static const char *walk_error(enum pw_result r)
{
	switch (r) {
	case PW_NON_CANONICAL:
		return "not a canonical address";
	case PW_NO_TABLE:
		return "a page table could not be read";
	default:
		return pw_result_name(r);
	}
}

/* !pte VA: each level's entry, where it is, what it holds. */
int cmdh_pte(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	/* By table level (1 = PT .. 5 = PML5): WinDbg's names for the four 4-level ones. */
	static const char *const names[6] = { "", "PTE", "PDE", "PPE", "PXE", "PML5E" };
	struct pw_translation t;
	struct pw_trace w;
	struct pw_mode mode;
	enum pw_result r;
	uint64_t va;
	char a[18], b[18], flags[12];

	if (argc != 2)
		return cmd_fail(c, "usage: %s", cmd->usage);
	if (cmd_eval(c, argv[1], &va) || read_mode(c, 0, &mode))
		return -1;
	r = pw_translate_trace(&mode, va, phys_read, c->s, &t, &w);
	fprintf(c->out, "VA %016llx (CR3 %016llx)\n", (unsigned long long)va,
		(unsigned long long)mode.cr3);
	for (unsigned i = 0; i < w.depth; i++) {
		unsigned level = w.top - i;
		uint64_t e = w.entry[i];
		int large = pw_entry_large(e, level);

		pw_entry_flags(e, large, flags);
		fprintf(c->out, "%s at %s  contains %s  pfn %-8llx %s%s\n", names[level],
			cmd_addr(a, w.entry_pa[i]), cmd_addr(b, e),
			(unsigned long long)((e & PW_PTE_FRAME) >> 12), flags,
			large ? (level == 3 ? "  (1 GiB page)" : "  (2 MiB page)") : "");
	}
	if (r != PW_OK)
		return cmd_fail(c, "%s: %s", cmd_addr(a, va), walk_error(r));
	fprintf(c->out, "pa %s\n", cmd_addr(a, t.pa));
	return 0;
}

/* !vtop [DIRBASE] VA: the translation, WinDbg's way of printing it. DIRBASE 0 (or none)
 * means the current CR3. */
int cmdh_vtop(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	static const char *const names[6] = { "", "PTE", "PDE", "PDPE", "PML4E", "PML5E" };
	struct pw_translation t;
	struct pw_trace w;
	struct pw_mode mode;
	enum pw_result r;
	uint64_t va, dir = 0;

	if (argc != 2 && argc != 3)
		return cmd_fail(c, "usage: %s", cmd->usage);
	if (argc == 3 && cmd_eval(c, argv[1], &dir))
		return -1;
	if (cmd_eval(c, argv[argc - 1], &va) || read_mode(c, dir, &mode))
		return -1;
	r = pw_translate_trace(&mode, va, phys_read, c->s, &t, &w);
	fprintf(c->out, "Amd64VtoP: Virt %016llx, pagedir %016llx\n", (unsigned long long)va,
		(unsigned long long)(mode.cr3 & PW_PTE_FRAME));
	for (unsigned i = 0; i < w.depth; i++)
		fprintf(c->out, "Amd64VtoP: %s %016llx\n", names[w.top - i],
			(unsigned long long)w.entry_pa[i]);
	if (r != PW_OK) {
		fprintf(c->out, "Amd64VtoP: %s\n", walk_error(r));
		return cmd_fail(c, "Virtual address %llx translation fails.", (unsigned long long)va);
	}
	if (t.page_size != PW_PAGE_4K)
		fprintf(c->out, "Amd64VtoP: Large page mapped phys %016llx\n", (unsigned long long)t.pa);
	else
		fprintf(c->out, "Amd64VtoP: Mapped phys %016llx\n", (unsigned long long)t.pa);
	fprintf(c->out, "Virtual address %llx translates to physical address %llx.\n",
		(unsigned long long)va, (unsigned long long)t.pa);
	return 0;
}

/* ~N: makes processor N the current one (DbgKdSwitchProcessor; the target then reports its
 * state from that processor). The prompt shows the number. */
int cmdh_processor(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	const struct session_stop *st = session_last_stop(c->s);
	struct kd_manipulate_state64 req, rep;
	struct session_stop now;
	uint64_t n;

	if (argc == 1) {
		fprintf(c->out, "processor %u of %u\n", st->processor, st->number_processors);
		return 0;
	}
	if (argc != 2 || expr_number(argv[1], &n))
		return cmd_fail(c, "usage: %s", cmd->usage);
	if (n >= st->number_processors)
		return cmd_fail(c, "no processor %llu (the target has %u)", (unsigned long long)n,
				st->number_processors);
	if (n == st->processor)
		return 0;
	memset(&req, 0, sizeof(req));
	req.api_number = KD_API_SWITCH_PROCESSOR;
	req.processor = (uint16_t)n;
	if (session_request(c->s, &req, NULL, 0, &rep, NULL, 0, NULL, 0))
		return cmd_session_fail(c);
	if (session_wait_stop(c->s, SESSION_DEFAULT_TIMEOUT_US, &now))
		return cmd_session_fail(c);
	cmd_forget_stop(c);
	cmd_report(c, &now, 0, 0);
	return 0;
}

/* .reboot: the target restarts (DbgKdReboot); the session sees it go. */
int cmdh_reboot(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	struct kd_manipulate_state64 req, rep;

	(void)argv;
	if (argc != 1)
		return cmd_fail(c, "usage: %s", cmd->usage);
	memset(&req, 0, sizeof(req));
	req.api_number = KD_API_REBOOT;
	req.processor = session_last_stop(c->s)->processor;
	fprintf(c->out, "Shutting down and rebooting the target\n");
	fflush(c->out);
	if (session_request(c->s, &req, NULL, 0, &rep, NULL, 0, NULL, 0))
		return cmd_session_fail(c);
	cmd_forget_stop(c);
	c->sym_valid = 0; /* a new boot: modules are read anew */
	return 0;
}
