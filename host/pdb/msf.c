/* SPDX-License-Identifier: MIT */
/* msf.c - MSF 7.00 superblock, stream directory and stream copies, bounded. */
#include "msf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../common/errbuf.h"
#include "vmkd/kd_bytes.h"

/* The superblock's magic: "Microsoft C/C++ MSF 7.00\r\n\x1a" "DS" then three NULs. */
static const char msf_magic[32] = "Microsoft C/C++ MSF 7.00\r\n\x1a" "DS\0\0";

enum {
	SB_BLOCK_SIZE = 32,
	SB_NUM_BLOCKS = 40,
	SB_DIR_BYTES = 44,
	SB_BLOCK_MAP = 52,
	SB_SIZE = 56,
};

/* Bytes [block * bs + off, + len) lie inside the file. */
static int block_ok(const struct msf *m, uint32_t block, uint32_t len)
{
	uint64_t start = (uint64_t)block * m->block_size;

	return len <= m->block_size && start <= m->size && len <= m->size - start;
}

static uint32_t div_up(uint32_t n, uint32_t d)
{
	return n / d + (n % d != 0);
}

int msf_open(struct msf *m, const void *data, size_t size, char *err, size_t errlen)
{
	const uint8_t *p = data;
	uint32_t bs, dir_bytes, map_block, dir_blocks, words, i, at;

	memset(m, 0, sizeof(*m));
	m->data = p;
	m->size = size;
	if (size < SB_SIZE || memcmp(p, msf_magic, sizeof(msf_magic))) {
		errbuf_set(err, errlen, "not an MSF 7.00 file (bad superblock magic)");
		return -1;
	}
	bs = kd_get_le32(p + SB_BLOCK_SIZE);
	if (bs != 512 && bs != 1024 && bs != 2048 && bs != 4096) {
		errbuf_set(err, errlen, "MSF block size %u is not 512/1024/2048/4096", bs);
		return -1;
	}
	m->block_size = bs;
	dir_bytes = kd_get_le32(p + SB_DIR_BYTES);
	map_block = kd_get_le32(p + SB_BLOCK_MAP);
	if (dir_bytes < 4 || dir_bytes % 4 || dir_bytes > size) {
		errbuf_set(err, errlen, "MSF stream directory size %u is invalid", dir_bytes);
		return -1;
	}
	/* The block map is one block of directory block numbers. */
	dir_blocks = div_up(dir_bytes, bs);
	if ((uint64_t)dir_blocks * 4 > bs || !block_ok(m, map_block, dir_blocks * 4)) {
		errbuf_set(err, errlen, "MSF block map (block %u, %u entries) is outside the file",
		       map_block, dir_blocks);
		return -1;
	}
	words = dir_bytes / 4;
	m->dir = malloc((size_t)dir_blocks * bs);
	if (!m->dir) {
		errbuf_set(err, errlen, "out of memory for the stream directory");
		return -1;
	}
	for (i = 0; i < dir_blocks; i++) {
		uint32_t b = kd_get_le32(p + (uint64_t)map_block * bs + 4 * i);
		uint32_t chunk = i + 1 < dir_blocks ? bs : dir_bytes - i * bs;

		if (!block_ok(m, b, chunk)) {
			errbuf_set(err, errlen, "MSF directory block %u is outside the file", b);
			goto fail;
		}
		memcpy((uint8_t *)m->dir + (size_t)i * bs, p + (uint64_t)b * bs, chunk);
	}
	/* The directory is little-endian words; convert in place once. */
	for (i = 0; i < words; i++)
		m->dir[i] = kd_get_le32((const uint8_t *)&m->dir[i]);
	m->dir_words = words;
	m->num_streams = m->dir[0];
	if (m->num_streams > words - 1) {
		errbuf_set(err, errlen, "MSF directory claims %u streams in %u bytes", m->num_streams,
		       dir_bytes);
		goto fail;
	}
	m->sizes = m->dir + 1;
	m->first_block = calloc(m->num_streams ? m->num_streams : 1, sizeof(uint32_t));
	if (!m->first_block) {
		errbuf_set(err, errlen, "out of memory for %u streams", m->num_streams);
		goto fail;
	}
	at = 1 + m->num_streams;
	for (i = 0; i < m->num_streams; i++) {
		uint32_t sz = m->sizes[i] == MSF_NIL_STREAM ? 0 : m->sizes[i];
		uint32_t n = div_up(sz, bs);

		if (n > words - at) {
			errbuf_set(err, errlen, "MSF stream %u (%u bytes) overruns the directory", i, sz);
			goto fail;
		}
		m->first_block[i] = at;
		at += n;
	}
	/* Each block belongs to one stream at most, so the streams together cannot have more
	 * blocks than the file: this bounds the work of reading every stream once. */
	if ((uint64_t)(at - 1 - m->num_streams) * bs > (uint64_t)size + bs) {
		errbuf_set(err, errlen, "MSF streams claim %u blocks, the file has %zu",
		       at - 1 - m->num_streams, size / bs);
		goto fail;
	}
	return 0;
fail:
	msf_close(m);
	return -1;
}

void msf_close(struct msf *m)
{
	free(m->dir);
	free(m->first_block);
	memset(m, 0, sizeof(*m));
}

uint32_t msf_stream_size(const struct msf *m, uint32_t idx)
{
	if (idx >= m->num_streams || m->sizes[idx] == MSF_NIL_STREAM)
		return 0;
	return m->sizes[idx];
}

int msf_stream_read(const struct msf *m, uint32_t idx, uint8_t **out, uint32_t *len, char *err,
		    size_t errlen)
{
	uint32_t size, bs = m->block_size, off, i;
	uint8_t *buf;

	*out = NULL;
	*len = 0;
	if (idx >= m->num_streams) {
		errbuf_set(err, errlen, "stream %u does not exist (%u streams)", idx, m->num_streams);
		return -1;
	}
	size = msf_stream_size(m, idx);
	/* A stream cannot hold more bytes than the file has (checked before allocating). */
	if (size > m->size) {
		errbuf_set(err, errlen, "stream %u claims %u bytes, the file has %zu", idx, size,
		       m->size);
		return -1;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		errbuf_set(err, errlen, "out of memory for stream %u (%u bytes)", idx, size);
		return -1;
	}
	for (i = 0, off = 0; off < size; i++, off += bs) {
		uint32_t b = m->dir[m->first_block[idx] + i];
		uint32_t chunk = size - off < bs ? size - off : bs;

		if (!block_ok(m, b, chunk)) {
			errbuf_set(err, errlen, "stream %u: block %u is outside the file", idx, b);
			free(buf);
			return -1;
		}
		memcpy(buf + off, m->data + (uint64_t)b * bs, chunk);
	}
	*out = buf;
	*len = size;
	return 0;
}
