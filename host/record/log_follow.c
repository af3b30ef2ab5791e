/* SPDX-License-Identifier: MIT */
/* Following a rotated log file: the rest of the old file, then the new one. */
#include "log_follow.h"

static size_t copy_new(FILE *f, FILE *out)
{
	char buf[65536];
	size_t got, total = 0;

	clearerr(f);
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
		fwrite(buf, 1, got, out);
		total += got;
	}
	fflush(out);
	return total;
}

int log_follow_init(struct log_follower *fw, const char *path, FILE *f)
{
	fw->path = path;
	fw->f = f;
	fw->reopens = 0;
	return fstat(fileno(f), &fw->cur) ? -1 : 0;
}

size_t log_follow_step(struct log_follower *fw, FILE *out)
{
	size_t n = copy_new(fw->f, out);
	struct stat now;
	FILE *nf;

	if (stat(fw->path, &now))
		return n; /* between the rename and the new file */
	if (now.st_ino == fw->cur.st_ino && now.st_dev == fw->cur.st_dev &&
	    now.st_size >= ftell(fw->f))
		return n;
	nf = fopen(fw->path, "re");
	if (!nf)
		return n;
	/* what the old file got after our last read, then the new one from its start */
	n += copy_new(fw->f, out);
	fclose(fw->f);
	fw->f = nf;
	fw->reopens++;
	if (fstat(fileno(nf), &fw->cur))
		fw->cur = now;
	return n + copy_new(fw->f, out);
}

void log_follow_close(struct log_follower *fw)
{
	if (fw->f)
		fclose(fw->f);
	fw->f = NULL;
}
