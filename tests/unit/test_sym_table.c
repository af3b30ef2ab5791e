/* SPDX-License-Identifier: MIT */
/* host/sym/sym: the module list walk, the module set and its export symbols, name
 * resolution, address formatting, nearest symbols, glob patterns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../host/sym/sym.h"
#include "sym_fake.h"
#include "vmkd/kd_wire.h"

#define NT 0xfffff80000200000ull
#define HAL 0xfffff80000400000ull
#define LIST 0xfffff80000900000ull /* list head, entries and names */

static const struct fake_export nt_exports[] = {
	{ "KeBugCheckEx", 0x2000 },
	{ "KeStallExecutionProcessor", 0x2100 },
	{ "KiSystemStartup", 0x3000 },
};

/* An entry at LIST + 0x100 * (i + 1), names at LIST + 0x800 + 0x80 * i. */
static void put_entry(uint8_t *list, size_t i, uint64_t base, uint32_t size, const char *name,
		      uint64_t next)
{
	uint8_t *e = list + 0x100 * (i + 1), *s = list + 0x800 + 0x80 * i;
	size_t n = strlen(name);

	put64(e + 0, next);
	put64(e + offsetof(struct kd_ldr_data_table_entry64, dll_base), base);
	put32(e + offsetof(struct kd_ldr_data_table_entry64, size_of_image), size);
	put16(e + offsetof(struct kd_ldr_data_table_entry64, base_dll_name), (uint16_t)(2 * n));
	put64(e + offsetof(struct kd_ldr_data_table_entry64, base_dll_name) + 8,
	      LIST + 0x800 + 0x80 * i);
	for (size_t k = 0; k < n; k++)
		s[2 * k] = (uint8_t)name[k];
}

struct fixture {
	struct fake_mem m;
	struct sym_reader r;
	struct sym_table *t;
	uint8_t *list;
};

static int setup(void **state)
{
	static struct fixture f;
	struct sym_module_desc mods[8];
	int n;

	memset(&f, 0, sizeof(f));
	fake_pe(fake_region(&f.m, NT, 0x4000), 0x4000, "ntoskrnl.exe", nt_exports, 3, 0, 0);
	fake_region(&f.m, HAL, 0x2000);   /* no PE header: module without symbols */
	f.list = fake_region(&f.m, LIST, 0x1000);
	put64(f.list, LIST + 0x100);
	put_entry(f.list, 0, NT, 0x4000, "ntoskrnl.exe", LIST + 0x200);
	put_entry(f.list, 1, HAL, 0x2000, "hal.dll", LIST);
	f.r = fake_reader(&f.m);
	n = sym_walk_module_list(&f.r, LIST, mods, 8, NULL, 0);
	assert_int_equal(n, 2);
	f.t = sym_table_new(&f.r);
	assert_int_equal(sym_table_set_modules(f.t, mods, (size_t)n), 1);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sym_table_free(f->t);
	fake_free(&f->m);
	return 0;
}

static void module_list(void **state)
{
	struct fixture *f = *state;
	const struct sym_module *m;

	assert_int_equal(sym_module_count(f->t), 2);
	m = sym_module_at(f->t, 0);
	assert_string_equal(m->name, "nt");
	assert_string_equal(m->file, "ntoskrnl.exe");
	assert_int_equal(m->base, NT);
	assert_string_equal(sym_module_at(f->t, 1)->name, "hal");
	assert_ptr_equal(sym_module_by_name(f->t, "HAL", 3), sym_module_at(f->t, 1));
	assert_ptr_equal(sym_module_by_name(f->t, "ntoskrnl.exe", 12), m);
	assert_ptr_equal(sym_module_by_addr(f->t, NT + 0x3fff), m);
	assert_null(sym_module_by_addr(f->t, NT + 0x4000));
}

static void list_walk_is_bounded(void **state)
{
	struct fixture *f = *state;
	struct sym_module_desc mods[8];

	/* A list that loops back to its second entry stops at the bound. */
	put64(f->list + 0x200, LIST + 0x100);
	assert_int_equal(sym_walk_module_list(&f->r, LIST, mods, 8, NULL, 0), 8);
	/* A self-loop stops at once; an unreadable link ends the walk. */
	put64(f->list + 0x200, LIST + 0x200);
	assert_int_equal(sym_walk_module_list(&f->r, LIST, mods, 8, NULL, 0), 2);
	put64(f->list + 0x200, 0x1234);
	assert_int_equal(sym_walk_module_list(&f->r, LIST, mods, 8, NULL, 0), 2);
	assert_int_equal(sym_walk_module_list(&f->r, 0x10, mods, 8, NULL, 0), -1);
	put64(f->list + 0x200, LIST);
}

static void resolve_names(void **state)
{
	struct fixture *f = *state;
	uint64_t v = 0;

	assert_int_equal(sym_resolve(f->t, "nt", 2, &v), 0);
	assert_int_equal(v, NT);
	assert_int_equal(sym_resolve(f->t, "nt!KeBugCheckEx", 15, &v), 0);
	assert_int_equal(v, NT + 0x2000);
	assert_int_equal(sym_resolve(f->t, "NT!kebugcheckex", 15, &v), 0);
	assert_int_equal(v, NT + 0x2000);
	assert_int_equal(sym_resolve(f->t, "nt!KeBugCheck", 13, &v), -1);
	assert_int_equal(sym_resolve(f->t, "hal!Anything", 12, &v), -1);
	assert_int_equal(sym_resolve(f->t, "nope", 4, &v), -1);
	assert_int_equal(sym_module_at(f->t, 1)->state, SYM_EXPORTS_FAILED);
}

static void offline_loads_nothing(void **state)
{
	struct fixture *f = *state;
	unsigned reads = f->m.reads;
	uint64_t v;

	/* A running target: no reads, nothing remembered as failed. */
	sym_table_set_readable(f->t, 0);
	assert_int_equal(sym_resolve(f->t, "nt!KeBugCheckEx", 15, &v), -1);
	assert_int_equal(f->m.reads, reads);
	assert_int_equal(sym_module_at(f->t, 0)->state, SYM_EXPORTS_UNREAD);
	sym_table_set_readable(f->t, 1);
	assert_int_equal(sym_resolve(f->t, "nt!KeBugCheckEx", 15, &v), 0);
	assert_int_equal(v, NT + 0x2000);
	/* Once read, symbols serve while offline too. */
	sym_table_set_readable(f->t, 0);
	assert_int_equal(sym_resolve(f->t, "nt!KiSystemStartup", 18, &v), 0);
}

static void format_and_nearest(void **state)
{
	struct fixture *f = *state;
	const struct sym_symbol *b, *a;
	char buf[128];

	assert_int_equal(sym_format(f->t, NT + 0x2000, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "nt!KeBugCheckEx");
	assert_int_equal(sym_format(f->t, NT + 0x2010, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "nt!KeBugCheckEx+0x10");
	assert_int_equal(sym_format(f->t, NT + 0x100, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "nt+0x100");
	assert_int_equal(sym_format(f->t, HAL + 0x10, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "hal+0x10");
	assert_int_equal(sym_format(f->t, 0x1000, buf, sizeof(buf)), 0);
	assert_non_null(sym_nearest(f->t, NT + 0x2180, &b, &a));
	assert_string_equal(b->name, "KeStallExecutionProcessor");
	assert_string_equal(a->name, "KiSystemStartup");
	assert_non_null(sym_nearest(f->t, NT + 0x3100, &b, &a));
	assert_string_equal(b->name, "KiSystemStartup");
	assert_null(a);
}

static void cache_survives_an_unchanged_list(void **state)
{
	struct fixture *f = *state;
	struct sym_module_desc mods[8];
	unsigned reads;
	uint64_t v;
	int n;

	assert_int_equal(sym_resolve(f->t, "nt!KiSystemStartup", 18, &v), 0);
	n = sym_walk_module_list(&f->r, LIST, mods, 8, NULL, 0);
	assert_int_equal(sym_table_set_modules(f->t, mods, (size_t)n), 0);
	reads = f->m.reads;
	assert_int_equal(sym_resolve(f->t, "nt!KiSystemStartup", 18, &v), 0);
	assert_int_equal(f->m.reads, reads);    /* served from the cache */
	/* A module that goes away changes the set; the remaining one keeps its symbols. */
	assert_int_equal(sym_table_set_modules(f->t, mods, 1), 1);
	assert_int_equal(sym_module_count(f->t), 1);
	assert_int_equal(sym_module_at(f->t, 0)->state, SYM_EXPORTS_READ);
	/* Duplicates (a LoadSymbols report of a listed module) are merged; size 0 dropped. */
	mods[2] = mods[0];
	mods[3] = mods[1];
	mods[3].size = 0;
	assert_int_equal(sym_table_set_modules(f->t, mods, 4), 1);
	assert_int_equal(sym_module_count(f->t), 2);
}

static int count_match(void *opaque, const struct sym_module *m, const struct sym_symbol *s)
{
	(void)m, (void)s;
	++*(int *)opaque;
	return 0;
}

static void glob_and_enum(void **state)
{
	struct fixture *f = *state;
	int seen = 0;

	assert_true(sym_glob("Ke*", "KeBugCheckEx"));
	assert_true(sym_glob("*check*", "KeBugCheckEx"));
	assert_true(sym_glob("K?Bug*Ex", "KeBugCheckEx"));
	assert_true(sym_glob("*", ""));
	assert_false(sym_glob("Ke*Z", "KeBugCheckEx"));
	assert_false(sym_glob("Ke", "KeBugCheckEx"));
	assert_true(sym_glob("a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaab"));
	assert_int_equal(sym_enum(f->t, "nt!Ke*", count_match, &seen), 2);
	assert_int_equal(seen, 2);
	assert_int_equal(sym_enum(f->t, "*!Ki*", count_match, &seen), 1);
	assert_int_equal(sym_enum(f->t, "hal!*", count_match, &seen), 0);
	assert_int_equal(sym_enum(f->t, "*Stall*", count_match, &seen), 1);
}

static void module_names(void **state)
{
	char name[64], file[64];

	(void)state;
	sym_module_names("\\SystemRoot\\system32\\ntkrnlmp.exe", name, sizeof(name), file,
			 sizeof(file));
	assert_string_equal(name, "nt");
	assert_string_equal(file, "ntkrnlmp.exe");
	sym_module_names("KDCOM.DLL", name, sizeof(name), file, sizeof(file));
	assert_string_equal(name, "kdcom");
	sym_module_names("a/b/noext", name, 4, file, sizeof(file));
	assert_string_equal(name, "noe");
	assert_string_equal(file, "noext");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(module_list, setup, teardown),
		cmocka_unit_test_setup_teardown(list_walk_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(resolve_names, setup, teardown),
		cmocka_unit_test_setup_teardown(offline_loads_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(format_and_nearest, setup, teardown),
		cmocka_unit_test_setup_teardown(cache_survives_an_unchanged_list, setup, teardown),
		cmocka_unit_test_setup_teardown(glob_and_enum, setup, teardown),
		cmocka_unit_test(module_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
