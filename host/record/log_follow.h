/* SPDX-License-Identifier: MIT */
/*
 * log_follow.h - following a log file that is rotated under us (`vmkd log -f`, like
 * tail -F): new bytes as they come; when the path names another file (renamed away and
 * recreated) or the file shrank, the rest of the old one and then the new one from its
 * start. No sleeping here: the caller calls log_follow_step as often as it likes.
 */
#ifndef VMKD_LOG_FOLLOW_H
#define VMKD_LOG_FOLLOW_H

#include <stdio.h>
#include <sys/stat.h>

struct log_follower {
	const char *path;
	FILE *f;                /* the file being read (the caller's, taken over) */
	struct stat cur;        /* its identity */
	unsigned long reopens;  /* rotations followed */
};

/* Takes over f (open on path, positioned where reading goes on). Returns 0 or -1. */
int log_follow_init(struct log_follower *fw, const char *path, FILE *f);
/* Copies what is new to out, following a rotation. Returns the bytes copied. */
size_t log_follow_step(struct log_follower *fw, FILE *out);
void log_follow_close(struct log_follower *fw);

#endif
