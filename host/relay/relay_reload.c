/* SPDX-License-Identifier: MIT */
/* Reloading the config file: keep what did not change, close what went, open what came. */
#include "relay_reload.h"

#include <string.h>

#include "relay_config.h"
#include "relay_hints.h"

/* Field by field: a new field of struct relay_vm_config that changes how a VM is served
 * belongs here too. */
static int same_vm(const struct relay_vm_config *a, const struct relay_vm_config *b)
{
	return !strcmp(a->name, b->name) && !strcmp(a->guest, b->guest) &&
	       a->guest_listen == b->guest_listen && a->guest_ivshmem == b->guest_ivshmem &&
	       !strcmp(a->listen, b->listen) &&
	       a->trace == b->trace && a->takeover == b->takeover &&
	       !strcmp(a->host_ram, b->host_ram) && !strcmp(a->qmp, b->qmp) &&
	       !strcmp(a->ram_id, b->ram_id) && a->no_host_ram == b->no_host_ram &&
	       a->no_dbglog == b->no_dbglog;
}

static const struct relay_vm_config *find(const struct relay_config *c,
					  const struct relay_vm_config *vm)
{
	for (size_t i = 0; i < c->count; i++)
		if (same_vm(&c->vms[i], vm))
			return &c->vms[i];
	return NULL;
}

static int running(struct relay *r, const struct relay_vm_config *vm)
{
	for (size_t i = 0; i < relay_vm_count(r); i++)
		if (same_vm(relay_get_config(r, i), vm))
			return 1;
	return 0;
}

int relay_reload(struct relay *r, const char *path, FILE *log, FILE *hints,
		 struct relay_reload_result *res, char *err, size_t errlen)
{
	struct relay_config cfg;
	char msg[512];

	memset(res, 0, sizeof(*res));
	relay_config_init(&cfg);
	if (relay_config_load(&cfg, path, err, errlen)) {
		relay_config_free(&cfg);
		return -1;
	}
	/* Close first what went or changed, so that a changed VM can take over the endpoints
	 * its old line held. Backwards: removal moves the later VMs down. */
	for (size_t i = relay_vm_count(r); i-- > 0;) {
		const struct relay_vm_config *old = relay_get_config(r, i);

		if (find(&cfg, old)) {
			res->kept++;
			continue;
		}
		if (log)
			fprintf(log, "vmkd relay: %s: no longer in %s as it was: closed\n", old->name,
				path);
		relay_remove_vm(r, i);
		res->removed++;
	}
	for (size_t i = 0; i < cfg.count; i++) {
		if (running(r, &cfg.vms[i]))
			continue;
		if (relay_add_vm(r, &cfg.vms[i], msg, sizeof(msg))) {
			if (log)
				fprintf(log, "vmkd relay: %s: %s\n", cfg.vms[i].name, msg);
			res->failed++;
			continue;
		}
		if (log)
			fprintf(log, "vmkd relay: %s: opened from %s\n", cfg.vms[i].name, path);
		if (hints)
			relay_print_hints(hints, &cfg.vms[i],
					  relay_debugger_port(r, relay_vm_count(r) - 1));
		res->added++;
	}
	if (log)
		fprintf(log, "vmkd relay: reloaded %s: %zu kept, %zu opened, %zu closed, %zu failed\n",
			path, res->kept, res->added, res->removed, res->failed);
	relay_config_free(&cfg);
	return 0;
}
