/* SPDX-License-Identifier: MIT */
/*
 * msf.h - the Multi-Stream File container under a PDB (MSF 7.00, "big MSF"): a superblock,
 * fixed-size blocks, a block map locating the stream directory, and streams that are lists
 * of blocks. This module only finds and copies streams out; pdb.c reads what is inside.
 *
 * The file is untrusted: every block index, stream size and directory count is checked
 * against the bytes there are before it is used; a damaged file gives an error, never a
 * read outside the buffer.
 */
#ifndef VMKD_HOST_MSF_H
#define VMKD_HOST_MSF_H

#include <stddef.h>
#include <stdint.h>

#define MSF_NIL_STREAM 0xffffffffu /* a stream size that means "no stream" */

struct msf {
	const uint8_t *data; /* the whole file (not owned) */
	size_t size;
	uint32_t block_size;
	uint32_t *dir;        /* the stream directory, copied out of its blocks */
	uint32_t dir_words;
	uint32_t num_streams;
	const uint32_t *sizes; /* num_streams sizes (points into dir) */
	uint32_t *first_block; /* per stream: index into dir of its first block number */
};

/* Parses the superblock and the stream directory; 0 or -1 with a reason in err. */
int msf_open(struct msf *m, const void *data, size_t size, char *err, size_t errlen);
void msf_close(struct msf *m);

/* Size of stream idx in bytes (0 for a nil or absent stream). */
uint32_t msf_stream_size(const struct msf *m, uint32_t idx);

/*
 * Copies stream idx into a new buffer (*out, caller frees; *len bytes; a nil stream gives
 * an empty buffer). 0, or -1 with a reason when the index is out of range or a block lies
 * outside the file.
 */
int msf_stream_read(const struct msf *m, uint32_t idx, uint8_t **out, uint32_t *len, char *err,
		    size_t errlen);

#endif
