/* SPDX-License-Identifier: MIT */
/* The module set and its export symbols, read lazily from the target. */
#include "sym.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../pdb/pdb_load.h"
#include "sym_pe.h"
#include "vmkd/kd_wire.h"

struct sym_table {
	struct sym_reader r;
	struct sym_module *mods;
	size_t n;
	char *sympath;
	int offline;             /* the target cannot be read now: load nothing */
};

struct sym_table *sym_table_new(const struct sym_reader *r)
{
	struct sym_table *t = calloc(1, sizeof(*t));

	if (t)
		t->r = *r;
	return t;
}

const struct sym_reader *sym_table_reader(const struct sym_table *t)
{
	return &t->r;
}

static void module_drop_syms(struct sym_module *m)
{
	for (size_t i = 0; i < m->nsyms; i++)
		free(m->syms[i].name);
	free(m->syms);
	m->syms = NULL;
	m->nsyms = 0;
	m->state = SYM_EXPORTS_UNREAD;
}

void sym_table_free(struct sym_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		module_drop_syms(&t->mods[i]);
	free(t->mods);
	free(t->sympath);
	free(t);
}

void sym_table_set_readable(struct sym_table *t, int readable)
{
	t->offline = !readable;
}

void sym_table_reload(struct sym_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		module_drop_syms(&t->mods[i]);
		t->mods[i].pdb[0] = '\0';
	}
}

int sym_table_set_symbol_path(struct sym_table *t, const char *path)
{
	char *dup = path && *path ? strdup(path) : NULL;

	if (path && *path && !dup)
		return -1;
	free(t->sympath);
	t->sympath = dup;
	sym_table_reload(t);
	return 0;
}

const char *sym_table_symbol_path(const struct sym_table *t)
{
	return t->sympath ? t->sympath : "";
}

/* The symbols a PDB adds to a module whose exports are already in m->syms (sorted). */
struct pdb_add {
	struct sym_module *m;
	size_t nexp;   /* the exports: m->syms[0, nexp), sorted by address */
	size_t cap;
	int oom;
};

/* 1 if an export at addr already has this name. */
static int is_export(const struct sym_module *m, size_t nexp, uint64_t addr, const char *name)
{
	size_t lo = 0, hi = nexp;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->syms[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < nexp && m->syms[lo].addr == addr; lo++)
		if (!strcmp(m->syms[lo].name, name))
			return 1;
	return 0;
}

static int add_pdb_symbol(void *opaque, const struct pdb_symbol *ps)
{
	struct pdb_add *c = opaque;
	struct sym_module *m = c->m;
	uint64_t addr;

	if (!ps->has_rva || ps->rva >= m->size || !ps->name[0])
		return 0;
	addr = m->base + ps->rva;
	if (is_export(m, c->nexp, addr, ps->name))
		return 0;
	if (m->nsyms == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct sym_symbol *grown = realloc(m->syms, cap * sizeof(*m->syms));

		if (!grown) {
			c->oom = 1;
			return 1;
		}
		m->syms = grown;
		c->cap = cap;
	}
	m->syms[m->nsyms].name = strdup(ps->name);
	if (!m->syms[m->nsyms].name) {
		c->oom = 1;
		return 1;
	}
	m->syms[m->nsyms++].addr = addr;
	return 0;
}

static int pdb_reader_read(void *opaque, uint64_t va, void *buf, size_t len, size_t *got)
{
	const struct sym_reader *r = opaque;

	return r->read(r->opaque, va, buf, len, got);
}

/* Adds the public and global symbols of the module's PDB (host/pdb: found along the symbol
 * path by the image's CodeView record, downloaded only from a server the path names) to
 * its exports; an export's own name at its address is not repeated. */
static void load_pdb(struct sym_table *t, struct sym_module *m)
{
	const struct pdb_mem_reader rd = { pdb_reader_read, (void *)(uintptr_t)&t->r };
	const struct sympath_find_opts opts = { .log = stderr, .offline = false };
	struct pdb_add add = { .m = m, .nexp = m->nsyms, .cap = m->nsyms };
	struct pdb_codeview_info cv;
	struct sympath sp;
	struct pdb *pdb;
	char path[sizeof(m->pdb)], err[256];
	int not_found = 0;

	if (!t->sympath)
		return;
	if (sympath_parse(&sp, t->sympath, NULL, err, sizeof(err))) {
		sympath_free(&sp);
		return;
	}
	pdb = pdb_load_for_image(&rd, m->base, PDB_IMAGE_MAPPED, &sp, &opts, &cv, path,
				 sizeof(path), &not_found, err, sizeof(err));
	sympath_free(&sp);
	if (!pdb)
		return;
	pdb_publics(pdb, add_pdb_symbol, &add);
	pdb_close(pdb);
	if (m->nsyms > add.nexp)
		snprintf(m->pdb, sizeof(m->pdb), "%s", path);
}

/* After sorting: a name a PDB gives twice at one address (a public and a global) once. */
static void drop_duplicate_symbols(struct sym_module *m)
{
	size_t k = 0;

	for (size_t i = 0; i < m->nsyms; i++) {
		if (k && m->syms[k - 1].addr == m->syms[i].addr &&
		    !strcmp(m->syms[k - 1].name, m->syms[i].name)) {
			free(m->syms[i].name);
			continue;
		}
		m->syms[k++] = m->syms[i];
	}
	m->nsyms = k;
}

void sym_module_names(const char *path, char *name, size_t ncap, char *file, size_t fcap)
{
	const char *base = path, *p;
	size_t n;

	for (p = path; *p; p++)
		if (*p == '\\' || *p == '/')
			base = p + 1;
	snprintf(file, fcap, "%s", base);
	n = strcspn(base, ".");
	if (n >= ncap)
		n = ncap - 1;
	for (size_t i = 0; i < n; i++)
		name[i] = (char)tolower((unsigned char)base[i]);
	name[n] = '\0';
	/* WinDbg calls the kernel "nt" whatever its file name. */
	if (!strcmp(name, "ntoskrnl") || !strcmp(name, "ntkrnlmp") || !strcmp(name, "ntkrnlpa") ||
	    !strcmp(name, "ntkrpamp"))
		snprintf(name, ncap, "nt");
}

/* UTF-16LE to ASCII: what fits a terminal; anything else becomes '?'. */
static void utf16_to_ascii(const uint8_t *src, size_t bytes, char *dst, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i + 1 < bytes && n + 1 < cap; i += 2) {
		unsigned ch = src[i] | (unsigned)src[i + 1] << 8;

		if (!ch)
			break;
		dst[n++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	dst[n] = '\0';
}

int sym_walk_module_list(const struct sym_reader *r, uint64_t head, struct sym_module_desc *out,
			 size_t max, char *err, size_t errlen)
{
	struct kd_list_entry64 h;
	uint64_t link, prev = head;
	size_t n = 0;

	if (sym_read_exact(r, head, &h, sizeof(h))) {
		if (err && errlen)
			snprintf(err, errlen, "cannot read PsLoadedModuleList at %016llx",
				 (unsigned long long)head);
		return -1;
	}
	for (link = h.flink; link && link != head && link != prev && n < max;) {
		struct kd_ldr_data_table_entry64 e;
		const struct kd_unicode_string64 *us;
		uint8_t name16[520];
		size_t len, got = 0;

		if (sym_read_exact(r, link, &e, sizeof(e)))
			break;
		/* The full name tells the folder; the base name is the fallback. */
		us = e.full_dll_name.length ? &e.full_dll_name : &e.base_dll_name;
		len = us->length < sizeof(name16) ? us->length : sizeof(name16);
		out[n].path[0] = '\0';
		if (len && r->read(r->opaque, us->buffer, name16, len, &got) == 0)
			utf16_to_ascii(name16, got, out[n].path, sizeof(out[n].path));
		if (!out[n].path[0])
			snprintf(out[n].path, sizeof(out[n].path), "<unknown>");
		out[n].base = e.dll_base;
		out[n].size = e.size_of_image;
		n++;
		prev = link;
		link = e.in_load_order_links.flink;
	}
	return (int)n;
}

static int same_module(const struct sym_module *m, const struct sym_module_desc *d)
{
	return m->base == d->base && m->size == d->size && !strcmp(m->path, d->path);
}

int sym_table_set_modules(struct sym_table *t, const struct sym_module_desc *list, size_t n)
{
	struct sym_module *mods;
	size_t k = 0;
	int changed = 0;

	if (n > SYM_MAX_MODULES)
		n = SYM_MAX_MODULES;
	mods = calloc(n ? n : 1, sizeof(*mods));
	if (!mods)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct sym_module_desc *d = &list[i];
		struct sym_module *m = &mods[k];
		int dup = 0;

		if (!d->size)
			continue;
		for (size_t j = 0; j < k && !dup; j++)
			dup = mods[j].base == d->base;
		if (dup)
			continue;
		/* Keep the cached exports of a module that did not change. */
		for (size_t j = 0; j < t->n; j++) {
			if (t->mods[j].base && same_module(&t->mods[j], d)) {
				*m = t->mods[j];
				t->mods[j].syms = NULL;
				t->mods[j].nsyms = 0;
				t->mods[j].base = 0; /* moved */
				break;
			}
		}
		if (!m->base) {
			m->base = d->base;
			m->size = d->size;
			snprintf(m->path, sizeof(m->path), "%s", d->path);
			sym_module_names(d->path, m->name, sizeof(m->name), m->file, sizeof(m->file));
			m->state = SYM_EXPORTS_UNREAD;
			changed = 1;
		}
		k++;
	}
	for (size_t j = 0; j < t->n; j++) {
		if (t->mods[j].base)
			changed = 1; /* a module went away */
		module_drop_syms(&t->mods[j]);
	}
	if (k != t->n)
		changed = 1;
	free(t->mods);
	t->mods = mods;
	t->n = k;
	return changed;
}

size_t sym_module_count(const struct sym_table *t)
{
	return t->n;
}

const struct sym_module *sym_module_at(const struct sym_table *t, size_t i)
{
	return i < t->n ? &t->mods[i] : NULL;
}

const struct sym_module *sym_module_by_name(const struct sym_table *t, const char *name,
					    size_t len)
{
	for (size_t i = 0; i < t->n; i++)
		if (strlen(t->mods[i].name) == len && !strncasecmp(t->mods[i].name, name, len))
			return &t->mods[i];
	/* The file name works too ("ntoskrnl.exe", "kdcom.dll"). */
	for (size_t i = 0; i < t->n; i++)
		if (strlen(t->mods[i].file) == len && !strncasecmp(t->mods[i].file, name, len))
			return &t->mods[i];
	return NULL;
}

const struct sym_module *sym_module_by_addr(const struct sym_table *t, uint64_t addr)
{
	for (size_t i = 0; i < t->n; i++)
		if (addr >= t->mods[i].base && addr - t->mods[i].base < t->mods[i].size)
			return &t->mods[i];
	return NULL;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct sym_symbol *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return strcmp(x->name, y->name);
}

void sym_load_exports(struct sym_table *t, const struct sym_module *cm)
{
	struct sym_module *m;
	struct sym_pe_export *e = NULL;
	struct sym_pe_info info;
	size_t n = 0, k = 0;
	char err[128];

	if (cm < t->mods || cm >= t->mods + t->n)
		return; /* not one of this table's modules */
	m = &t->mods[cm - t->mods];
	if (m->state != SYM_EXPORTS_UNREAD || t->offline)
		return;
	m->state = SYM_EXPORTS_FAILED;
	if (sym_pe_headers(&t->r, m->base, m->size, &info, err, sizeof(err)))
		return;
	m->pe = info;
	m->pe_valid = 1;
	if (sym_pe_exports(&t->r, m->base, &info, &e, &n, err, sizeof(err)))
		return;
	m->syms = calloc(n ? n : 1, sizeof(*m->syms));
	if (!m->syms)
		goto out;
	for (size_t i = 0; i < n; i++) {
		char ord[16];

		if (e[i].forwarder)
			continue; /* not code in this image */
		if (e[i].name) {
			m->syms[k].name = e[i].name;
			e[i].name = NULL;
		} else {
			snprintf(ord, sizeof(ord), "#%u", e[i].ordinal);
			m->syms[k].name = strdup(ord);
			if (!m->syms[k].name)
				continue;
		}
		m->syms[k].addr = m->base + e[i].rva;
		k++;
	}
	m->nsyms = k;
	qsort(m->syms, m->nsyms, sizeof(*m->syms), cmp_sym);
	load_pdb(t, m);
	qsort(m->syms, m->nsyms, sizeof(*m->syms), cmp_sym);
	drop_duplicate_symbols(m);
	m->state = SYM_EXPORTS_READ;
out:
	sym_pe_exports_free(e, n);
}

int sym_resolve(struct sym_table *t, const char *text, size_t len, uint64_t *out)
{
	const char *bang = memchr(text, '!', len);
	const struct sym_module *m;
	size_t mlen = bang ? (size_t)(bang - text) : len, nlen;

	m = sym_module_by_name(t, text, mlen);
	if (!m)
		return -1;
	if (!bang) {
		*out = m->base;
		return 0;
	}
	nlen = len - mlen - 1;
	sym_load_exports(t, m);
	/* Exact case first, then WinDbg's case-insensitive match. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < m->nsyms; i++) {
			const char *s = m->syms[i].name;

			if (strlen(s) != nlen)
				continue;
			if (pass == 0 ? !strncmp(s, bang + 1, nlen) : !strncasecmp(s, bang + 1, nlen)) {
				*out = m->syms[i].addr;
				return 0;
			}
		}
	}
	return -1;
}

const struct sym_module *sym_nearest(struct sym_table *t, uint64_t addr,
				     const struct sym_symbol **before,
				     const struct sym_symbol **after)
{
	const struct sym_module *m = sym_module_by_addr(t, addr);
	size_t lo = 0, hi;

	*before = *after = NULL;
	if (!m)
		return NULL;
	sym_load_exports(t, m);
	/* First symbol above addr, by binary search; the one before it is at or below. */
	hi = m->nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0)
		*before = &m->syms[lo - 1];
	if (lo < m->nsyms)
		*after = &m->syms[lo];
	return m;
}

int sym_format(struct sym_table *t, uint64_t addr, char *buf, size_t cap)
{
	const struct sym_symbol *b, *a;
	const struct sym_module *m = sym_nearest(t, addr, &b, &a);

	if (!m)
		return 0;
	if (!b)
		snprintf(buf, cap, "%s+0x%llx", m->name, (unsigned long long)(addr - m->base));
	else if (addr == b->addr)
		snprintf(buf, cap, "%s!%s", m->name, b->name);
	else
		snprintf(buf, cap, "%s!%s+0x%llx", m->name, b->name,
			 (unsigned long long)(addr - b->addr));
	return 1;
}

int sym_glob(const char *p, const char *s)
{
	const char *star = NULL, *resume = NULL;

	/* Iterative matcher with one backtrack point: linear in practice, never recursive. */
	while (*s) {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p == '?' || (*p && tolower((unsigned char)*p) == tolower((unsigned char)*s))) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++resume;
		} else {
			return 0;
		}
	}
	while (*p == '*')
		p++;
	return !*p;
}

int sym_enum(struct sym_table *t, const char *pattern,
	     int (*fn)(void *opaque, const struct sym_module *m, const struct sym_symbol *s),
	     void *opaque)
{
	const char *bang = strchr(pattern, '!');
	char mpat[SYM_NAME_MAX * 2];
	const char *spat = bang ? bang + 1 : pattern;
	int count = 0;

	if (bang)
		snprintf(mpat, sizeof(mpat), "%.*s", (int)(bang - pattern), pattern);
	else
		snprintf(mpat, sizeof(mpat), "*");
	for (size_t i = 0; i < t->n; i++) {
		const struct sym_module *m = &t->mods[i];

		if (!sym_glob(mpat, m->name))
			continue;
		sym_load_exports(t, m);
		for (size_t j = 0; j < m->nsyms; j++) {
			if (!sym_glob(spat, m->syms[j].name))
				continue;
			count++;
			if (fn(opaque, m, &m->syms[j]))
				return count;
		}
	}
	return count;
}

const struct sym_pe_info *sym_module_pe(struct sym_table *t, const struct sym_module *m)
{
	sym_load_exports(t, m);
	return m->pe_valid ? &m->pe : NULL;
}

/* One step of the walk: the caller's registers from this frame's. */
static int unwind_one(struct sym_table *t, struct sym_regs *regs, int first,
		      enum sym_frame_how *how)
{
	const struct sym_module *m = sym_module_by_addr(t, regs->rip);
	const struct sym_pe_info *pe = m ? sym_module_pe(t, m) : NULL;
	const struct sym_symbol *b, *a;
	struct sym_runtime_function rf;
	int machframe = 0, rc;

	if (pe && pe->dir[SYM_PE_DIR_EXCEPTION].rva) {
		rc = sym_pdata_lookup(&t->r, m->base, pe->dir[SYM_PE_DIR_EXCEPTION].rva,
				      pe->dir[SYM_PE_DIR_EXCEPTION].size,
				      (uint32_t)(regs->rip - m->base), &rf);
		if (rc == 0) {
			if (sym_unwind_frame(&t->r, m->base, &rf, regs, &machframe, NULL, 0))
				return -1;
			*how = machframe ? SYM_FRAME_MACHFRAME : SYM_FRAME_PDATA;
			return 0;
		}
		if (rc == 1) {
			*how = SYM_FRAME_LEAF;
			return sym_unwind_leaf(&t->r, regs);
		}
	}
	/* No unwind data: frame pointers, knowing a function's first byte from its symbol. */
	*how = SYM_FRAME_FP;
	sym_nearest(t, regs->rip, &b, &a);
	return sym_unwind_fp(&t->r, regs, first && b && b->addr == regs->rip);
}

size_t sym_stack_walk(struct sym_table *t, const struct sym_regs *start, struct sym_frame *out,
		      size_t max)
{
	struct sym_regs regs = *start;
	size_t n = 0;

	if (max > SYM_MAX_FRAMES)
		max = SYM_MAX_FRAMES;
	while (n < max) {
		struct sym_frame *f = &out[n];
		uint64_t sp = regs.r[SYM_RSP];
		uint8_t home[32];

		memset(f, 0, sizeof(*f));
		f->rip = regs.rip;
		f->sp = sp;
		n++;
		if (unwind_one(t, &regs, n == 1, &f->how))
			break;
		f->ret = regs.rip;
		if (sym_read_exact(&t->r, regs.r[SYM_RSP], home, sizeof(home)) == 0)
			for (unsigned i = 0; i < 4; i++)
				memcpy(&f->args[i], home + 8 * i, 8);
		/* A frame's caller lives higher on the stack, unless a trap switched stacks. */
		if (!regs.rip || (f->how != SYM_FRAME_MACHFRAME && regs.r[SYM_RSP] <= sp))
			break;
	}
	return n;
}
