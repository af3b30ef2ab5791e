/* SPDX-License-Identifier: MIT */
/* Machine-level commands: !pte and !vtop (page walk from CR3 through physical reads),
 * ~N (switch processor), .reboot. */
#include <errno.h>
#include <string.h>

#include "../sym/sym_pagewalk.h"
#include "commands_int.h"
#include "expr.h"

static int phys_read(void *opaque, uint64_t pa, void *buf, size_t len, size_t *got)
{
	return session_read_physical(opaque, pa, buf, len, got);
}

static int read_cr3(struct cmd_ctx *c, uint64_t *cr3)
{
	struct kd_special_registers_amd64 sr;
	const struct session_stop *st = session_last_stop(c->s);
	size_t got = 0;

	if (session_read_control_space(c->s, st->processor, KD_CONTROL_SPACE_KSPECIAL, &sr,
				       sizeof(sr), &got) || got < offsetof(struct kd_special_registers_amd64, cr4))
		return cmd_fail(c, "cannot read CR3 (control space): %s", session_error(c->s));
	*cr3 = sr.cr3;
	return 0;
}

static const char *walk_error(enum sym_walk_result r)
{
	switch (r) {
	case SYM_WALK_NONCANONICAL:
		return "not a canonical address";
	case SYM_WALK_READ_ERROR:
		return "a page table could not be read";
	case SYM_WALK_NOT_PRESENT:
		return "not present";
	default:
		return "ok";
	}
}

/* !pte VA: each level's entry, where it is, what it holds. */
int cmdh_pte(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	static const char *const names[4] = { "PXE", "PPE", "PDE", "PTE" };
	const struct sym_reader phys = { phys_read, c->s };
	enum sym_walk_result r;
	struct sym_walk w;
	uint64_t va, cr3;
	char a[18], b[18], flags[12];

	if (argc != 2)
		return cmd_fail(c, "usage: %s", cmd->usage);
	if (cmd_eval(c, argv[1], &va) || read_cr3(c, &cr3))
		return -1;
	r = sym_pagewalk(&phys, cr3, va, &w);
	fprintf(c->out, "VA %016llx (CR3 %016llx)\n", (unsigned long long)va,
		(unsigned long long)cr3);
	for (unsigned i = 0; i < w.levels; i++) {
		uint64_t e = w.entry[i];
		int large = (i == 1 || i == 2) && (e & SYM_PTE_PS) && (e & SYM_PTE_P);

		sym_pte_flags(e, large, flags);
		fprintf(c->out, "%s at %s  contains %s  pfn %-8llx %s%s\n", names[i],
			cmd_addr(a, w.entry_pa[i]), cmd_addr(b, e),
			(unsigned long long)((e & SYM_PTE_ADDR) >> 12), flags,
			large ? (i == 1 ? "  (1 GiB page)" : "  (2 MiB page)") : "");
	}
	if (r != SYM_WALK_OK)
		return cmd_fail(c, "%s: %s", cmd_addr(a, va), walk_error(r));
	fprintf(c->out, "pa %s\n", cmd_addr(a, w.pa));
	return 0;
}

/* !vtop [DIRBASE] VA: the translation, WinDbg's way of printing it. DIRBASE 0 (or none)
 * means the current CR3. */
int cmdh_vtop(struct cmd_ctx *c, const struct cmd *cmd, int argc, char **argv)
{
	static const char *const names[4] = { "PML4E", "PDPE", "PDE", "PTE" };
	const struct sym_reader phys = { phys_read, c->s };
	enum sym_walk_result r;
	struct sym_walk w;
	uint64_t va, dir = 0;

	if (argc != 2 && argc != 3)
		return cmd_fail(c, "usage: %s", cmd->usage);
	if (argc == 3 && cmd_eval(c, argv[1], &dir))
		return -1;
	if (cmd_eval(c, argv[argc - 1], &va))
		return -1;
	if (!dir && read_cr3(c, &dir))
		return -1;
	r = sym_pagewalk(&phys, dir, va, &w);
	fprintf(c->out, "Amd64VtoP: Virt %016llx, pagedir %016llx\n", (unsigned long long)va,
		(unsigned long long)(dir & SYM_PTE_ADDR));
	for (unsigned i = 0; i < w.levels; i++)
		fprintf(c->out, "Amd64VtoP: %s %016llx\n", names[i], (unsigned long long)w.entry_pa[i]);
	if (r != SYM_WALK_OK) {
		fprintf(c->out, "Amd64VtoP: %s\n", walk_error(r));
		return cmd_fail(c, "Virtual address %llx translation fails.", (unsigned long long)va);
	}
	if (w.page_size != 0x1000)
		fprintf(c->out, "Amd64VtoP: Large page mapped phys %016llx\n", (unsigned long long)w.pa);
	else
		fprintf(c->out, "Amd64VtoP: Mapped phys %016llx\n", (unsigned long long)w.pa);
	fprintf(c->out, "Virtual address %llx translates to physical address %llx.\n",
		(unsigned long long)va, (unsigned long long)w.pa);
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
