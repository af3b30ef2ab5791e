/* SPDX-License-Identifier: MIT */
/* Guest RAM: the flat-view parser, the mapping of the backend file and bounded reads. */
#include "guest_ram.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "vmkd/kd_bytes.h"

#define LINE_MAX_LEN 1024u
#define MEMORY_AS    "AS \"memory\","

/* ---- the flat view ------------------------------------------------------------------ */

/* Exactly 16 hex digits (QEMU prints addresses as %016" PRIx64). */
static int hex16(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	if (n < 16)
		return -1;
	for (size_t i = 0; i < 16; i++) {
		int d = kd_hex_digit(s[i]);

		if (d < 0)
			return -1;
		x = x << 4 | (unsigned)d;
	}
	*v = x;
	return 0;
}

static const char *skip_spaces(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static int starts_with(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(end - p) >= n && !memcmp(p, word, n);
}

enum range_line {
	RANGE_NONE,  /* not a range line */
	RANGE_OTHER, /* a range of another region or type */
	RANGE_OURS,  /* the backend's RAM: *r filled */
	RANGE_BAD,   /* looks like a range line, but malformed */
};

/* "START-END (prio N, TYPE): NAME[ @OFFSET][ more]" after the indentation. */
static enum range_line parse_range(const char *p, const char *end, const char *id,
				   struct guest_ram_range *r)
{
	uint64_t start, last, off = 0;
	const char *q, *type, *name;
	size_t type_len, name_len, id_len = strlen(id);

	if (hex16(p, (size_t)(end - p), &start))
		return RANGE_NONE;
	p += 16;
	if (p >= end || *p != '-' || hex16(p + 1, (size_t)(end - p - 1), &last))
		return RANGE_BAD;
	p += 17;
	if (!starts_with(p, end, " (prio "))
		return RANGE_BAD;
	q = memchr(p, ',', (size_t)(end - p));
	if (!q)
		return RANGE_BAD;
	type = skip_spaces(q + 1, end);
	q = memchr(type, ')', (size_t)(end - type));
	if (!q)
		return RANGE_BAD;
	type_len = (size_t)(q - type);
	if (!starts_with(q, end, "): "))
		return RANGE_BAD;
	name = q + 3;
	for (q = name; q < end && *q != ' '; q++)
		;
	name_len = (size_t)(q - name);
	if (type_len != 3 || memcmp(type, "ram", 3) || name_len != id_len ||
	    memcmp(name, id, id_len))
		return RANGE_OTHER;
	q = skip_spaces(q, end);
	if (q < end && *q == '@') {
		if (hex16(q + 1, (size_t)(end - q - 1), &off))
			return RANGE_BAD;
	}
	if (last < start)
		return RANGE_BAD;
	r->gpa = start;
	r->size = last - start + 1; /* 0 only for the whole 2^64 space: refused below */
	r->offset = off;
	return RANGE_OURS;
}

static int add_range(struct guest_ram_layout *l, const struct guest_ram_range *r, char *err,
		     size_t errlen)
{
	size_t i;

	if (r->size == 0 || r->offset + r->size < r->offset)
		return errbuf_fail(err, errlen, "range at %#llx wraps", (unsigned long long)r->gpa);
	if (l->count == GUEST_RAM_MAX_RANGES)
		return errbuf_fail(err, errlen, "more than %u RAM ranges", GUEST_RAM_MAX_RANGES);
	/* Insert sorted; neighbours must not overlap (in gpa or in the file). */
	for (i = l->count; i > 0 && l->r[i - 1].gpa > r->gpa; i--)
		;
	if (i > 0 && l->r[i - 1].gpa + l->r[i - 1].size > r->gpa)
		return errbuf_fail(err, errlen, "RAM ranges overlap at %#llx", (unsigned long long)r->gpa);
	if (i < l->count && r->gpa + r->size > l->r[i].gpa)
		return errbuf_fail(err, errlen, "RAM ranges overlap at %#llx",
				   (unsigned long long)l->r[i].gpa);
	for (size_t j = 0; j < l->count; j++)
		if (r->offset < l->r[j].offset + l->r[j].size &&
		    l->r[j].offset < r->offset + r->size)
			return errbuf_fail(err, errlen, "two RAM ranges share file offset %#llx",
					   (unsigned long long)r->offset);
	memmove(&l->r[i + 1], &l->r[i], (l->count - i) * sizeof(l->r[0]));
	l->r[i] = *r;
	l->count++;
	return 0;
}

int guest_ram_parse_mtree(const char *text, size_t len, const char *backend_id,
			  struct guest_ram_layout *out, char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	int in_view = 0, is_memory = 0, views_seen = 0, done = 0;

	memset(out, 0, sizeof(*out));
	if (!backend_id || !*backend_id || strlen(backend_id) >= GUEST_RAM_ID_MAX)
		return errbuf_fail(err, errlen, "no memory backend id");
	while (p < end && !done) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *s;
		struct guest_ram_range r;

		/* HMP output through QMP ends its lines with \r\n. */
		while (le > p && (le[-1] == '\r' || le[-1] == ' '))
			le--;
		s = skip_spaces(p, le);

		if ((size_t)(le - p) > LINE_MAX_LEN && is_memory)
			return errbuf_fail(err, errlen, "overlong line in the memory flat view");
		if (starts_with(s, le, "FlatView #")) {
			/* The view after ours ends it: QEMU lists each view once. */
			done = is_memory;
			in_view = 1;
			is_memory = 0;
			views_seen++;
		} else if (in_view && starts_with(s, le, MEMORY_AS)) {
			is_memory = 1;
		} else if (is_memory) {
			switch (parse_range(s, le, backend_id, &r)) {
			case RANGE_OURS:
				if (add_range(out, &r, err, errlen))
					return -1;
				break;
			case RANGE_BAD:
				return errbuf_fail(err, errlen, "malformed range line: %.*s",
						   (int)(le - s > 120 ? 120 : le - s), s);
			case RANGE_NONE:
			case RANGE_OTHER:
				break;
			}
		}
		p = nl ? nl + 1 : end;
	}
	if (!views_seen)
		return errbuf_fail(err, errlen, "not an `info mtree -f` answer (no FlatView)");
	if (!out->count)
		return errbuf_fail(err, errlen, "no RAM of backend '%s' in the \"memory\" flat view "
				   "(is it -machine memory-backend=%s?)", backend_id, backend_id);
	return 0;
}

uint64_t guest_ram_layout_file_size(const struct guest_ram_layout *l)
{
	uint64_t top = 0;

	for (size_t i = 0; i < l->count; i++)
		if (l->r[i].offset + l->r[i].size > top)
			top = l->r[i].offset + l->r[i].size;
	return top;
}

uint64_t guest_ram_total(const struct guest_ram_layout *l)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < l->count; i++)
		sum += l->r[i].size;
	return sum;
}

/* ---- the mapping ---------------------------------------------------------------------- */

int guest_ram_use_buffer(struct guest_ram *g, uint8_t *buf, size_t len,
			 const struct guest_ram_layout *l, int writable)
{
	memset(g, 0, sizeof(*g));
	if (guest_ram_layout_file_size(l) > len)
		return -1;
	g->layout = *l;
	g->base = buf;
	g->map_len = len;
	g->writable = writable;
	return 0;
}

int guest_ram_map(struct guest_ram *g, const char *path, const struct guest_ram_layout *l,
		  int writable, char *err, size_t errlen)
{
	uint64_t need = guest_ram_layout_file_size(l);
	struct stat st;
	void *base;
	int fd;

	memset(g, 0, sizeof(*g));
	fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return errbuf_fail(err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return errbuf_fail(err, errlen, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size < need || need == 0) {
		close(fd);
		return errbuf_fail(err, errlen, "%s: %llu bytes, the layout needs %llu", path,
				   (unsigned long long)st.st_size, (unsigned long long)need);
	}
	base = mmap(NULL, (size_t)need, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED,
		    fd, 0);
	close(fd);
	if (base == MAP_FAILED)
		return errbuf_fail(err, errlen, "%s: mmap: %s", path, strerror(errno));
	g->layout = *l;
	g->base = base;
	g->map_len = (size_t)need;
	g->writable = writable;
	g->owns_mapping = 1;
	return 0;
}

void guest_ram_unmap(struct guest_ram *g)
{
	if (g->owns_mapping && g->base)
		munmap(g->base, g->map_len);
	memset(g, 0, sizeof(*g));
}

/* The range holding gpa, or NULL. */
static const struct guest_ram_range *find(const struct guest_ram *g, uint64_t gpa)
{
	size_t lo = 0, hi = g->layout.count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct guest_ram_range *r = &g->layout.r[mid];

		if (gpa < r->gpa)
			hi = mid;
		else if (gpa - r->gpa >= r->size)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

const uint8_t *guest_ram_ptr(const struct guest_ram *g, uint64_t gpa, uint64_t len)
{
	const struct guest_ram_range *r;

	if (!g->base || !(r = find(g, gpa)))
		return NULL;
	if (len > r->size - (gpa - r->gpa))
		return NULL;
	return g->base + r->offset + (gpa - r->gpa);
}

size_t guest_ram_read(const struct guest_ram *g, uint64_t gpa, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		const struct guest_ram_range *r = g->base ? find(g, gpa) : NULL;
		uint64_t avail;
		size_t n;

		if (!r)
			break;
		avail = r->size - (gpa - r->gpa);
		n = len - done < avail ? len - done : (size_t)avail;
		memcpy((uint8_t *)buf + done, g->base + r->offset + (gpa - r->gpa), n);
		done += n;
		gpa += n;
		if (!gpa) /* wrapped past 2^64 */
			break;
	}
	return done;
}
