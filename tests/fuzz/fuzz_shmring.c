/* SPDX-License-Identifier: MIT */
/*
 * fuzz_shmring.c - libFuzzer harness for the ivshmem shared-memory rings (vmkd_shmring.h):
 * the peer controls the header (as the guest sees it) and every shared index. Whatever it
 * writes, a header the check accepts lies inside the memory, the rings never touch memory
 * outside their data area (the memory is exactly its size, so ASan sees any overrun), a
 * read never returns more than asked or more than the ring size, and the bytes a consumer
 * gets while the peer plays fair are the bytes the producer wrote.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmkd/vmkd_shmring.h"

#define MEM_SIZE (VMKD_SHM_DATA_OFFSET + 2u * VMKD_SHM_RING_MIN)

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static uint32_t take32(const uint8_t **p, size_t *n)
{
	uint32_t v = 0;

	for (int i = 0; i < 4 && *n; i++, (*p)++, (*n)--)
		v |= (uint32_t)**p << (8 * i);
	return v;
}

/* The guest's view of a header the peer wrote. */
static void fuzz_header(const uint8_t *data, size_t size)
{
	uint8_t *mem = malloc(MEM_SIZE);
	struct vmkd_shm_layout l;
	size_t n = size < sizeof(struct vmkd_shm_header) ? size : sizeof(struct vmkd_shm_header);

	check(vmkd_shm_format(mem, MEM_SIZE, 0, 0, 1, NULL) == VMKD_SHM_OK);
	memcpy(mem, data, n);
	if (vmkd_shm_check(mem, MEM_SIZE, &l) == VMKD_SHM_OK) {
		struct vmkd_shmring a, b;
		uint8_t x = 0x5a, y;

		check(l.total_size <= MEM_SIZE);
		check(l.g2h_data + (uint64_t)l.ring_size <= l.total_size);
		check(l.h2g_data + (uint64_t)l.ring_size <= l.total_size);
		check(l.g2h_ctl + (uint64_t)sizeof(struct vmkd_shm_ring_ctl) <= l.total_size);
		check(l.h2g_ctl + (uint64_t)sizeof(struct vmkd_shm_ring_ctl) <= l.total_size);
		/* the accepted geometry works */
		vmkd_shmring_attach(&a, mem, &l, 1, 1);
		vmkd_shmring_attach(&b, mem, &l, 1, 0);
		vmkd_shmring_write(&a, &x, 1);
		check(vmkd_shmring_read(&b, &y, 1) <= 1);
	}
	free(mem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *mem, buf[3 * VMKD_SHM_RING_MIN];
	struct vmkd_shm_layout l;
	struct vmkd_shmring tx, rx;
	volatile struct vmkd_shm_ring_ctl *ctl;
	uint32_t expect = 0, fair = 1; /* next byte value the consumer must see, if fair */
	uint8_t next = 0;

	if (!size)
		return 0;
	if (data[0] & 1) {
		fuzz_header(data + 1, size - 1);
		return 0;
	}
	data++, size--;
	mem = malloc(MEM_SIZE);
	check(vmkd_shm_format(mem, MEM_SIZE, 0, 0, 1, &l) == VMKD_SHM_OK);
	vmkd_shmring_attach(&tx, mem, &l, 0, 1);
	vmkd_shmring_attach(&rx, mem, &l, 0, 0);
	ctl = (volatile struct vmkd_shm_ring_ctl *)(mem + l.g2h_ctl);
	/* one op a byte: write n, read n, or the peer scribbles an index */
	while (size) {
		uint8_t op = *data++;
		uint32_t len = (uint32_t)(op >> 2) * 97u % sizeof(buf);
		size_t got;

		size--;
		switch (op & 3) {
		case 0:
			for (uint32_t i = 0; i < len; i++)
				buf[i] = next++;
			got = vmkd_shmring_write(&tx, buf, len);
			check(got <= len && got <= l.ring_size);
			next = (uint8_t)(next - (len - got)); /* what did not fit is not sent */
			break;
		case 1:
			got = vmkd_shmring_read(&rx, buf, len);
			check(got <= len && got <= l.ring_size);
			for (size_t i = 0; fair && i < got; i++)
				check(buf[i] == (uint8_t)expect++);
			break;
		case 2:
			ctl->head = take32(&data, &size);
			fair = 0;
			break;
		default:
			ctl->tail = take32(&data, &size);
			fair = 0;
			break;
		}
		check(vmkd_shmring_readable(&rx) <= l.ring_size);
		check(vmkd_shmring_writable(&tx) <= l.ring_size);
	}
	free(mem);
	return 0;
}
