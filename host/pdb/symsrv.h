/* SPDX-License-Identifier: MIT */
/*
 * symsrv.h - one file from an HTTP(S) symbol server (the layout Microsoft's symbol server
 * and symstore use: URL/name/KEY/name), with libcurl. Only the plain file is fetched; the
 * CAB-compressed "name.pd_" form and "file.ptr" redirections are not supported.
 */
#ifndef VMKD_HOST_SYMSRV_H
#define VMKD_HOST_SYMSRV_H

#include <stdint.h>
#include <stdio.h>

enum symsrv_result {
	SYMSRV_ERROR = -1,    /* transport, HTTP or file error: err says which */
	SYMSRV_OK = 0,
	SYMSRV_NOT_FOUND = 1, /* HTTP 404 or 410 */
};

struct symsrv_opts {
	FILE *progress;         /* a progress line while downloading; NULL: silent */
	long connect_timeout_s; /* 0: 15 s */
	long stall_timeout_s;   /* abort when no byte came for this long; 0: 60 s */
	uint64_t max_bytes;     /* 0: 2 GiB */
};

/*
 * GETs url_base/name/key/name into the new file dest (truncated or created, mode 0644).
 * On anything but SYMSRV_OK dest is removed.
 */
enum symsrv_result symsrv_download(const char *url_base, const char *name, const char *key,
				   const char *dest, const struct symsrv_opts *opts, char *err,
				   size_t errlen);

#endif
