/* SPDX-License-Identifier: MIT */
/*
 * fuzz_record.c - libFuzzer harness for recordings (host/record): whatever a file holds,
 * the reader never reads past it, every record it returns lies inside it, formatting each
 * record as a trace line stays in its buffer, the pcapng export and the replay script
 * builder finish, and playing the script to a silent debugger does too. A file that starts
 * without the magic gets it prepended, so the fuzzer spends its time on the records.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../host/record/pcapng.h"
#include "../../host/record/record.h"
#include "../../host/record/record_text.h"
#include "../../host/record/replay.h"

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static void sink(void *opaque, const uint8_t *buf, size_t len)
{
	(void)opaque;
	(void)buf;
	(void)len;
}

static void read_all(const uint8_t *data, size_t size)
{
	struct record_reader r;
	struct record rec;
	char line[2048];
	int rc;

	if (record_reader_init(&r, data, size))
		return;
	while ((rc = record_next(&r, &rec)) == 1) {
		check(rec.offset + RECORD_HEADER + rec.len <= size);
		check(rec.len <= RECORD_MAX_BODY);
		record_format(&r, &rec, line, sizeof(line));
		check(strlen(line) < sizeof(line));
	}
	check(rc == 0 || r.err[0]);
}

static void export_pcapng(const uint8_t *data, size_t size)
{
	struct record_reader r;
	FILE *out = fopen("/dev/null", "wb");
	char err[256];

	if (!out)
		return;
	if (!record_reader_init(&r, data, size))
		pcapng_export(&r, out, err, sizeof(err));
	fclose(out);
}

static void replay(const uint8_t *data, size_t size)
{
	struct replay_script s;
	struct record_reader r;
	struct replay *rp;
	static const uint8_t reset[16] = { 0x69, 0x69, 0x69, 0x69, 6, 0 };
	char err[256];

	if (record_reader_init(&r, data, size) || replay_script_build(&s, &r, err, sizeof(err)))
		return;
	for (size_t i = 0; i < s.count; i++)
		check(s.steps[i].kind == REPLAY_TRIGGER ||
		      (s.steps[i].data >= data && s.steps[i].data + s.steps[i].len <= data + size));
	rp = malloc(sizeof(*rp));
	if (rp) {
		replay_start(rp, &s, NULL, sink, NULL, 0);
		replay_input(rp, reset, sizeof(reset), 1);
		replay_input(rp, (const uint8_t *)"b", 1, 2);
		for (uint64_t t = 0; t < 30; t++)
			replay_poll(rp, 3 + t * 1000000u);
		replay_debugger_gone(rp);
		check(rp->status != REPLAY_RUNNING);
		free(rp);
	}
	replay_script_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	size_t n = size;

	/* an exact-size copy: ASan sees any read past the end */
	if (size >= RECORD_MAGIC_LEN && !memcmp(data, RECORD_MAGIC, RECORD_MAGIC_LEN)) {
		copy = malloc(size ? size : 1);
		if (!copy)
			return 0;
		memcpy(copy, data, size);
	} else {
		n = RECORD_FILE_HEADER + size;
		copy = malloc(n);
		if (!copy)
			return 0;
		memset(copy, 0, RECORD_FILE_HEADER);
		memcpy(copy, RECORD_MAGIC, RECORD_MAGIC_LEN);
		copy[8] = RECORD_VERSION;
		copy[10] = RECORD_FILE_HEADER;
		memcpy(copy + RECORD_FILE_HEADER, data, size);
	}
	read_all(copy, n);
	export_pcapng(copy, n);
	replay(copy, n);
	free(copy);
	return 0;
}
