/* SPDX-License-Identifier: MIT */
/* The shared-memory rings of the ivshmem channel (vmkd_shmring.h): layout checks, wrap,
 * full rings, peers that lie about their indices, frames across the ring, two threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmkd/vmkd_frame_parser.h"
#include "vmkd/vmkd_shmring.h"

#define MEM_SIZE (64u * 1024u)

static uint8_t *new_mem(size_t size, struct vmkd_shm_layout *l)
{
	uint8_t *m = calloc(1, size);

	assert_non_null(m);
	assert_int_equal(vmkd_shm_format(m, size, 0, 0, 7, l), VMKD_SHM_OK);
	return m;
}

/* host end (h2g producer, g2h consumer) and guest end (the opposite) over one memory */
struct ends {
	struct vmkd_shmring h2g_tx, h2g_rx, g2h_tx, g2h_rx;
};

static void attach_all(struct ends *e, uint8_t *m, const struct vmkd_shm_layout *l)
{
	vmkd_shmring_attach(&e->h2g_tx, m, l, 1, 1);
	vmkd_shmring_attach(&e->h2g_rx, m, l, 1, 0);
	vmkd_shmring_attach(&e->g2h_tx, m, l, 0, 1);
	vmkd_shmring_attach(&e->g2h_rx, m, l, 0, 0);
}

static void test_format_and_check(void **state)
{
	struct vmkd_shm_layout l, g;
	uint8_t *m = new_mem(MEM_SIZE, &l);

	(void)state;
	assert_int_equal(l.total_size, MEM_SIZE);
	/* (64 KiB - 4 KiB) / 2 = 30 KiB: the largest power of two below is 16 KiB */
	assert_int_equal(l.ring_size, 16384);
	assert_int_equal(l.g2h_data, VMKD_SHM_DATA_OFFSET);
	assert_int_equal(l.h2g_data, VMKD_SHM_DATA_OFFSET + 16384);
	assert_int_equal(l.generation, 7);
	assert_int_equal(vmkd_shm_check(m, MEM_SIZE, &g), VMKD_SHM_OK);
	assert_memory_equal(&l, &g, sizeof(l));
	/* the default BAR size gives two 64 KiB rings... minus nothing: 4 KiB header page */
	free(m);
	m = new_mem(VMKD_SHM_SIZE_DEFAULT, &l);
	assert_int_equal(l.ring_size, 64u * 1024u);
	assert_true(l.ring_size >= VMKD_FRAME_MAX_BYTES);
	free(m);
}

static void test_format_too_small(void **state)
{
	uint8_t m[VMKD_SHM_DATA_OFFSET + 2 * VMKD_SHM_RING_MIN - 1];

	(void)state;
	assert_int_equal(vmkd_shm_format(m, sizeof(m), 0, 0, 1, NULL), VMKD_SHM_TOO_SMALL);
	assert_int_equal(vmkd_shm_check(m, sizeof(m), NULL), VMKD_SHM_TOO_SMALL);
}

/* A header the guest must refuse: each field broken on its own. */
static void test_check_rejects(void **state)
{
	struct vmkd_shm_layout l;
	uint8_t *m = new_mem(MEM_SIZE, &l), *copy = malloc(MEM_SIZE);
	struct vmkd_shm_header *h = (struct vmkd_shm_header *)copy;
	static const struct {
		size_t off;
		uint32_t value;
		enum vmkd_shm_status want;
	} cases[] = {
		{ offsetof(struct vmkd_shm_header, magic), 0x12345678u, VMKD_SHM_BAD_MAGIC },
		{ offsetof(struct vmkd_shm_header, total_size), MEM_SIZE * 2, VMKD_SHM_BAD_GEOMETRY },
		{ offsetof(struct vmkd_shm_header, ring_size), 12288, VMKD_SHM_BAD_GEOMETRY },
		{ offsetof(struct vmkd_shm_header, ring_size), 2048, VMKD_SHM_BAD_GEOMETRY },
		{ offsetof(struct vmkd_shm_header, ring_size), 32768, VMKD_SHM_BAD_GEOMETRY },
		{ offsetof(struct vmkd_shm_header, ring_size), 0, VMKD_SHM_BAD_GEOMETRY },
		{ offsetof(struct vmkd_shm_header, g2h_ctl), 0, VMKD_SHM_BAD_GEOMETRY },
		{ offsetof(struct vmkd_shm_header, g2h_ctl), 65, VMKD_SHM_BAD_GEOMETRY },
		{ offsetof(struct vmkd_shm_header, h2g_ctl), VMKD_SHM_G2H_CTL, VMKD_SHM_BAD_GEOMETRY },
		{ offsetof(struct vmkd_shm_header, h2g_ctl), MEM_SIZE - 64, VMKD_SHM_BAD_GEOMETRY },
		{ offsetof(struct vmkd_shm_header, h2g_ctl), 0xffffffc0u, VMKD_SHM_BAD_GEOMETRY },
		{ offsetof(struct vmkd_shm_header, g2h_data), VMKD_SHM_DATA_OFFSET + 8,
		  VMKD_SHM_BAD_GEOMETRY },
		{ offsetof(struct vmkd_shm_header, h2g_data), MEM_SIZE - 8, VMKD_SHM_BAD_GEOMETRY },
		{ offsetof(struct vmkd_shm_header, h2g_data), 0xfffffff8u, VMKD_SHM_BAD_GEOMETRY },
		{ offsetof(struct vmkd_shm_header, g2h_data), 64, VMKD_SHM_BAD_GEOMETRY },
	};

	(void)state;
	assert_non_null(copy);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(copy, m, MEM_SIZE);
		memcpy(copy + cases[i].off, &cases[i].value, 4);
		assert_int_equal(vmkd_shm_check(copy, MEM_SIZE, NULL), cases[i].want);
	}
	memcpy(copy, m, MEM_SIZE);
	h->version = 2;
	assert_int_equal(vmkd_shm_check(copy, MEM_SIZE, NULL), VMKD_SHM_BAD_VERSION);
	/* the BAR is smaller than what the header claims */
	assert_int_equal(vmkd_shm_check(m, MEM_SIZE / 2, NULL), VMKD_SHM_BAD_GEOMETRY);
	assert_string_equal(vmkd_shm_status_name(VMKD_SHM_BAD_MAGIC), "no vmkd header (bad magic)");
	free(copy);
	free(m);
}

static void test_write_read_wrap(void **state)
{
	struct vmkd_shm_layout l;
	uint8_t *m = new_mem(MEM_SIZE, &l);
	uint8_t in[5000], out[5000];
	struct ends e;
	uint32_t total = 0;

	(void)state;
	attach_all(&e, m, &l);
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 3);
	/* 10 rounds of 5000 bytes through a 16 KiB ring: wraps three times */
	for (int round = 0; round < 10; round++) {
		assert_int_equal(vmkd_shmring_write(&e.g2h_tx, in, sizeof(in)), sizeof(in));
		assert_int_equal(vmkd_shmring_readable(&e.g2h_rx), sizeof(in));
		memset(out, 0, sizeof(out));
		assert_int_equal(vmkd_shmring_read(&e.g2h_rx, out, 1234), 1234);
		assert_int_equal(vmkd_shmring_read(&e.g2h_rx, out + 1234, sizeof(out)),
				 sizeof(out) - 1234);
		assert_memory_equal(in, out, sizeof(in));
		total += sizeof(in);
	}
	assert_int_equal(vmkd_shmring_read(&e.g2h_rx, out, sizeof(out)), 0);
	assert_int_equal(e.g2h_tx.stats.bytes, total);
	assert_int_equal(e.g2h_rx.stats.bytes, total);
	/* the shared indices are what each end published */
	assert_int_equal(((struct vmkd_shm_ring_ctl *)(m + l.g2h_ctl))->head, total);
	assert_int_equal(((struct vmkd_shm_ring_ctl *)(m + l.g2h_ctl))->tail, total);
	/* the other direction is untouched */
	assert_int_equal(vmkd_shmring_readable(&e.h2g_rx), 0);
	free(m);
}

static void test_full(void **state)
{
	struct vmkd_shm_layout l;
	uint8_t *m = new_mem(MEM_SIZE, &l);
	static uint8_t buf[20000];
	struct ends e;

	(void)state;
	attach_all(&e, m, &l);
	assert_int_equal(vmkd_shmring_writable(&e.h2g_tx), l.ring_size);
	assert_int_equal(vmkd_shmring_write(&e.h2g_tx, buf, sizeof(buf)), l.ring_size);
	assert_int_equal(e.h2g_tx.stats.full, 1);
	assert_int_equal(vmkd_shmring_writable(&e.h2g_tx), 0);
	assert_int_equal(vmkd_shmring_write(&e.h2g_tx, buf, 1), 0);
	assert_int_equal(vmkd_shmring_read(&e.h2g_rx, buf, 100), 100);
	assert_int_equal(vmkd_shmring_write_all(&e.h2g_tx, buf, 101), -1);
	assert_int_equal(vmkd_shmring_write_all(&e.h2g_tx, buf, 100), 0);
	assert_int_equal(vmkd_shmring_writable(&e.h2g_tx), 0);
	assert_int_equal(e.h2g_tx.stats.corrupt, 0);
	free(m);
}

/* The peer's index is garbage: the reader resynchronises and never reads outside. */
static void test_peer_lies(void **state)
{
	struct vmkd_shm_layout l;
	uint8_t *m = new_mem(MEM_SIZE, &l), out[64];
	struct vmkd_shm_ring_ctl *g2h = (struct vmkd_shm_ring_ctl *)(m + l.g2h_ctl);
	struct vmkd_shm_ring_ctl *h2g = (struct vmkd_shm_ring_ctl *)(m + l.h2g_ctl);
	struct ends e;

	(void)state;
	attach_all(&e, m, &l);
	/* a guest head far beyond anything written */
	g2h->head = 0x80000000u;
	assert_int_equal(vmkd_shmring_readable(&e.g2h_rx), 0);
	assert_int_equal(e.g2h_rx.stats.corrupt, 1);
	assert_int_equal(g2h->tail, 0x80000000u); /* dropped, consumer follows */
	/* a head behind the tail (it went backwards) */
	g2h->head = 0x7fffff00u;
	assert_int_equal(vmkd_shmring_read(&e.g2h_rx, out, sizeof(out)), 0);
	assert_int_equal(e.g2h_rx.stats.corrupt, 2);
	/* the stream recovers from the new position */
	g2h->head = 0x7fffff00u + 10u;
	assert_int_equal(vmkd_shmring_read(&e.g2h_rx, out, sizeof(out)), 10);
	/* a guest tail beyond what the host wrote: the producer restarts there */
	assert_int_equal(vmkd_shmring_write(&e.h2g_tx, "abc", 3), 3);
	h2g->tail = 1000;
	assert_int_equal(vmkd_shmring_writable(&e.h2g_tx), l.ring_size);
	assert_int_equal(e.h2g_tx.stats.corrupt, 1);
	assert_int_equal(h2g->head, 1000);
	/* scribbling on our own shared index does not move our private one */
	h2g->head = 5;
	assert_int_equal(vmkd_shmring_write(&e.h2g_tx, "de", 2), 2);
	assert_int_equal(h2g->head, 1002);
	free(m);
}

static void test_discard(void **state)
{
	struct vmkd_shm_layout l;
	uint8_t *m = new_mem(MEM_SIZE, &l), out[8];
	struct ends e;

	(void)state;
	attach_all(&e, m, &l);
	assert_int_equal(vmkd_shmring_write(&e.h2g_tx, "stale", 5), 5);
	/* a guest restarting its transport: a new consumer end starts at the shared tail */
	vmkd_shmring_attach(&e.h2g_rx, m, &l, 1, 0);
	vmkd_shmring_discard(&e.h2g_rx);
	assert_int_equal(vmkd_shmring_readable(&e.h2g_rx), 0);
	assert_int_equal(vmkd_shmring_writable(&e.h2g_tx), l.ring_size);
	assert_int_equal(vmkd_shmring_write(&e.h2g_tx, "new", 3), 3);
	assert_int_equal(vmkd_shmring_read(&e.h2g_rx, out, sizeof(out)), 3);
	assert_memory_equal(out, "new", 3);
	free(m);
}

/* Frames across the ring in odd chunks arrive whole, in order, through the frame parser. */
static void test_frames(void **state)
{
	struct vmkd_shm_layout l;
	uint8_t *m = new_mem(MEM_SIZE, &l);
	static uint8_t frame[VMKD_FRAME_MAX_BYTES], chunk[777], payload[3000];
	struct vmkd_frame_parser p;
	struct ends e;
	unsigned sent = 0, got = 0;

	(void)state;
	attach_all(&e, m, &l);
	vmkd_frame_parser_init(&p);
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)i;
	while (got < 200) {
		size_t n, off = 0;

		if (sent < 200) {
			size_t plen = (sent * 131u) % sizeof(payload);
			size_t fl = vmkd_frame_build_kd(frame, sizeof(frame), sent, 2, payload,
						      plen, NULL, 0);

			assert_true(fl > 0);
			if (!vmkd_shmring_write_all(&e.g2h_tx, frame, fl))
				sent++;
		}
		n = vmkd_shmring_read(&e.g2h_rx, chunk, sizeof(chunk));
		while (off < n) {
			struct vmkd_frame f;

			off += vmkd_frame_parser_feed(&p, chunk + off, n - off, &f);
			if (f.complete) {
				assert_int_equal(f.hdr.seq, got);
				assert_int_equal(f.payload_len, 8 + (got * 131u) % sizeof(payload));
				got++;
			}
		}
	}
	assert_int_equal(p.stats.skipped_bytes + p.stats.bad_length, 0);
	free(m);
}

/* Two threads, one each end: every byte arrives once, in order. */
#define STRESS_BYTES (4u * 1024u * 1024u)

static void *stress_producer(void *arg)
{
	struct vmkd_shmring *r = arg;
	uint8_t buf[1000];
	uint32_t done = 0;

	while (done < STRESS_BYTES) {
		size_t want = sizeof(buf) - (done % 97u), n;

		if (want > STRESS_BYTES - done)
			want = STRESS_BYTES - done;
		for (size_t i = 0; i < want; i++)
			buf[i] = (uint8_t)((done + i) * 2654435761u >> 24);
		n = vmkd_shmring_write(r, buf, want);
		done += (uint32_t)n;
	}
	return NULL;
}

static void test_two_threads(void **state)
{
	struct vmkd_shm_layout l;
	uint8_t *m = new_mem(MEM_SIZE, &l), buf[3000];
	struct ends e;
	pthread_t t;
	uint32_t got = 0, bad = 0;

	(void)state;
	attach_all(&e, m, &l);
	assert_int_equal(pthread_create(&t, NULL, stress_producer, &e.g2h_tx), 0);
	while (got < STRESS_BYTES) {
		size_t n = vmkd_shmring_read(&e.g2h_rx, buf, sizeof(buf));

		for (size_t i = 0; i < n; i++)
			bad += buf[i] != (uint8_t)((got + i) * 2654435761u >> 24);
		got += (uint32_t)n;
	}
	pthread_join(t, NULL);
	assert_int_equal(bad, 0);
	assert_int_equal(e.g2h_rx.stats.corrupt + e.g2h_tx.stats.corrupt, 0);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_and_check),
		cmocka_unit_test(test_format_too_small),
		cmocka_unit_test(test_check_rejects),
		cmocka_unit_test(test_write_read_wrap),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_peer_lies),
		cmocka_unit_test(test_discard),
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_two_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
