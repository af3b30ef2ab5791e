/* SPDX-License-Identifier: MIT */
/* Guest-virtual reads over the mapped RAM, page by page. */
#include "guest_vmem.h"

#include <string.h>

size_t guest_vmem_read_phys(void *ctx, uint64_t pa, void *buf, size_t len)
{
	return guest_ram_read(ctx, pa, buf, len);
}

enum guest_vmem_result guest_vmem_read(const struct guest_ram *ram, const struct pw_mode *m,
				       uint64_t va, void *buf, size_t len, size_t *got,
				       const char **why)
{
	uint64_t cur = va;
	size_t done = 0;

	*why = NULL;
	while (done < len) {
		struct pw_translation t;
		enum pw_result r;
		const uint8_t *src;
		uint64_t left;
		size_t chunk;

		if (done && cur == 0) /* wrapped past the top of the address space */
			break;
		r = pw_translate(m, cur, guest_vmem_read_phys, (void *)(uintptr_t)ram, &t);
		if (r == PW_NOT_PRESENT || r == PW_NON_CANONICAL)
			break;
		if (r != PW_OK) {
			*why = pw_result_name(r);
			return GUEST_VMEM_UNKNOWN;
		}
		left = t.page_size - (cur & (t.page_size - 1));
		chunk = len - done < left ? len - done : (size_t)left;
		src = guest_ram_ptr(ram, t.pa, chunk);
		if (!src) {
			*why = "page outside RAM";
			return GUEST_VMEM_UNKNOWN;
		}
		memcpy((uint8_t *)buf + done, src, chunk);
		done += chunk;
		cur += chunk;
	}
	*got = done;
	return GUEST_VMEM_OK;
}
