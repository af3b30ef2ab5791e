/* SPDX-License-Identifier: MIT */
/* symsrv.c - a symbol server download with libcurl: progress line, HTTP errors, size cap. */
#include "symsrv.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "../common/errbuf.h"

struct dl {
	FILE *out;
	FILE *progress;
	const char *name;
	uint64_t max_bytes, written;
	int too_big, write_failed;
	struct timespec last;
	int drew; /* a progress line is on screen */
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *opaque)
{
	struct dl *d = opaque;
	size_t n = size * nmemb;

	if (n > d->max_bytes - d->written) {
		d->too_big = 1;
		return 0; /* makes curl fail with CURLE_WRITE_ERROR */
	}
	if (fwrite(ptr, 1, n, d->out) != n) {
		d->write_failed = 1;
		return 0;
	}
	d->written += n;
	return n;
}

static void draw(struct dl *d, curl_off_t total)
{
	double mib = (double)d->written / (1024.0 * 1024.0);

	if (total > 0)
		fprintf(d->progress, "\rsymsrv: %s %.1f / %.1f MiB (%d%%)", d->name, mib,
			(double)total / (1024.0 * 1024.0), (int)(d->written * 100 / (uint64_t)total));
	else
		fprintf(d->progress, "\rsymsrv: %s %.1f MiB", d->name, mib);
	fflush(d->progress);
	d->drew = 1;
}

/* At most four redraws a second; only on a terminal (a log gets the summary line only). */
static int on_progress(void *opaque, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct dl *d = opaque;
	struct timespec now;

	(void)dlnow, (void)ultotal, (void)ulnow;
	if (!d->progress || !isatty(fileno(d->progress)))
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - d->last.tv_sec) * 1000 + (now.tv_nsec - d->last.tv_nsec) / 1000000 < 250)
		return 0;
	d->last = now;
	draw(d, dltotal);
	return 0;
}

enum symsrv_result symsrv_download(const char *url_base, const char *name, const char *key,
				   const char *dest, const struct symsrv_opts *opts, char *err,
				   size_t errlen)
{
	struct dl d = { .name = name };
	enum symsrv_result rc = SYMSRV_ERROR;
	size_t blen = strlen(url_base);
	char *url = NULL;
	CURL *c = NULL;
	CURLcode cc;
	long status = 0;

	d.progress = opts ? opts->progress : NULL;
	d.max_bytes = opts && opts->max_bytes ? opts->max_bytes : (uint64_t)2 << 30;
	while (blen && url_base[blen - 1] == '/')
		blen--;
	size_t ulen = blen + 2 * strlen(name) + strlen(key) + 4;

	url = malloc(ulen);
	if (!url || snprintf(url, ulen, "%.*s/%s/%s/%s", (int)blen, url_base, name, key, name) < 0) {
		free(url);
		errbuf_set(err, errlen, "out of memory");
		return SYMSRV_ERROR;
	}
	d.out = fopen(dest, "wbx");
	if (!d.out) {
		errbuf_set(err, errlen, "%s: %s", dest, strerror(errno));
		free(url);
		return SYMSRV_ERROR;
	}
	/* Paired with the cleanup below; libcurl counts the calls. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		errbuf_set(err, errlen, "libcurl initialisation failed");
		fclose(d.out);
		unlink(dest);
		free(url);
		return SYMSRV_ERROR;
	}
	c = curl_easy_init();
	if (!c) {
		errbuf_set(err, errlen, "libcurl initialisation failed");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "vmkd-symsrv/1");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
			 opts && opts->connect_timeout_s ? opts->connect_timeout_s : 15L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
			 opts && opts->stall_timeout_s ? opts->stall_timeout_s : 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &d);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &d);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	/* Error statuses are told apart below instead of downloading an error page. */
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	if (d.progress)
		fprintf(d.progress, "symsrv: GET %s\n", url);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (d.drew)
		fputc('\n', d.progress);
	if (cc == CURLE_OK) {
		if (fflush(d.out) || ferror(d.out)) {
			errbuf_set(err, errlen, "%s: write failed", dest);
			goto out;
		}
		rc = SYMSRV_OK;
		if (d.progress)
			fprintf(d.progress, "symsrv: %s: %llu bytes\n", name,
				(unsigned long long)d.written);
	} else if (cc == CURLE_HTTP_RETURNED_ERROR && (status == 404 || status == 410)) {
		rc = SYMSRV_NOT_FOUND;
		errbuf_set(err, errlen, "%s: not found on the server (HTTP %ld)", name, status);
	} else if (cc == CURLE_HTTP_RETURNED_ERROR) {
		errbuf_set(err, errlen, "%s: HTTP %ld", url, status);
	} else if (d.too_big) {
		errbuf_set(err, errlen, "%s: larger than %llu bytes, abandoned", url,
		       (unsigned long long)d.max_bytes);
	} else if (d.write_failed) {
		errbuf_set(err, errlen, "%s: write failed: %s", dest, strerror(errno));
	} else {
		errbuf_set(err, errlen, "%s: %s", url, curl_easy_strerror(cc));
	}
out:
	if (c)
		curl_easy_cleanup(c);
	curl_global_cleanup();
	if (fclose(d.out) && rc == SYMSRV_OK) {
		errbuf_set(err, errlen, "%s: %s", dest, strerror(errno));
		rc = SYMSRV_ERROR;
	}
	if (rc != SYMSRV_OK)
		unlink(dest);
	free(url);
	return rc;
}
