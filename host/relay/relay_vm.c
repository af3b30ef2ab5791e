/* SPDX-License-Identifier: MIT */
/* The per-VM core's lifetime: allocation, defaults, release. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay_hostmem.h"
#include "relay_vm_int.h"

struct relay_vm *relay_vm_new(const char *name, const struct kd_link_config *link_cfg,
			      const struct relay_log *log)
{
	struct relay_vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return NULL;
	if (relay_queue_init(&vm->queue, RELAY_QUEUE_MAX + RELAY_NOTICE_SLOTS)) {
		free(vm);
		return NULL;
	}
	snprintf(vm->name, sizeof(vm->name), "%s", name ? name : "vm");
	vm->log = log;
	if (link_cfg)
		vm->link_cfg = *link_cfg;
	else
		kd_link_default_config(&vm->link_cfg);
	vm->dbg = RELAY_DBG_NONE;
	vm->guest_max_payload = VMKD_FRAME_MAX_PAYLOAD;
	vmkd_frame_parser_init(&vm->parser);
	relay_buf_init(&vm->to_guest);
	relay_buf_init(&vm->to_debugger);
	relay_debugger_init(vm);
	return vm;
}

void relay_vm_free(struct relay_vm *vm)
{
	if (!vm)
		return;
	relay_hostmem_free(vm);
	relay_queue_free(&vm->queue);
	relay_buf_free(&vm->to_guest);
	relay_buf_free(&vm->to_debugger);
	free(vm);
}
