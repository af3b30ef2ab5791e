/* SPDX-License-Identifier: MIT */
/* Boot options from the loader block (known x64 layouts only) and their parser. */
#include "kdvm_options.h"

#include "vmkd/kd_bytes.h"

#define KERNEL_HALF 0xFFFF800000000000ull

const struct kdvm_lpb_layout kdvm_lpb_layouts[] = {
	{ "win7", 6, 1, 0xF0, 0x98 },
	{ "win8", 6, 2, 0x118, 0xB8 },
	{ "win81", 6, 3, 0x128, 0xB8 },
	{ "win10", 10, 0, 0x148, 0xD8 },
	{ "win10-1803", 10, 0, 0x160, 0xD8 },
};

const size_t kdvm_lpb_layout_count = sizeof(kdvm_lpb_layouts) / sizeof(kdvm_lpb_layouts[0]);

const char *kdvm_loader_options(const void *loader_block, const struct kdvm_lpb_layout **layout)
{
	const uint8_t *b = loader_block;
	uint32_t major, minor, size;

	if (layout)
		*layout = NULL;
	if (!b)
		return NULL;
	/* The first 12 bytes exist in every block since 6.1; a pre-6.1 block starts with a
	 * LIST_ENTRY (a kernel pointer), which matches no row below. */
	major = kd_get_le32(b + KDVM_LPB_MAJOR_OFF);
	minor = kd_get_le32(b + KDVM_LPB_MINOR_OFF);
	size = kd_get_le32(b + KDVM_LPB_SIZE_OFF);
	for (size_t i = 0; i < kdvm_lpb_layout_count; i++) {
		const struct kdvm_lpb_layout *l = &kdvm_lpb_layouts[i];
		uint64_t p;

		if (l->major != major || l->minor != minor || l->size != size)
			continue;
		p = kd_get_le64(b + l->load_options);
		if (p < KERNEL_HALF)
			return NULL;
		if (layout)
			*layout = l;
		return (const char *)(uintptr_t)p;
	}
	return NULL;
}

static char upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static int is_sep(char c)
{
	return c == ' ' || c == '\t' || c == '/' || c == ',';
}

/* The length of key (upper case, ending in "=") if the word at w (length n) starts with it,
 * else 0. */
static size_t key_len(const char *w, size_t n, const char *key)
{
	size_t i;

	for (i = 0; key[i]; i++)
		if (i >= n || upper(w[i]) != key[i])
			return 0;
	return i;
}

static void set_debugport(struct kdvm_options *o, const char *v, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < sizeof(o->debugport) - 1; i++)
		o->debugport[i] = upper(v[i]);
	o->debugport[i] = 0;
	o->have_debugport = 1;
}

/* VMKDPORT=<n>, n a decimal 0..99: the port "org.vmkd.<n>". Anything else is ignored. */
static void set_port(struct kdvm_options *o, const char *v, size_t n)
{
	static const char prefix[] = "org.vmkd.";
	size_t k = sizeof(prefix) - 1;

	if (n < 1 || n > 2)
		return;
	for (size_t i = 0; i < n; i++)
		if (v[i] < '0' || v[i] > '9')
			return;
	kd_memcpy(o->port_name, prefix, k);
	for (size_t i = 0; i < n; i++)
		o->port_name[k + i] = v[i];
	o->port_name[k + n] = 0;
	o->have_port = 1;
}

/* VMKDDEV=IVSHMEM | VIRTIO | AUTO (the loader upper-cases). Anything else is ignored. */
static void set_device(struct kdvm_options *o, const char *v, size_t n)
{
	static const struct {
		const char *word;
		uint8_t dev;
	} words[] = {
		{ "AUTO", KDVM_OPT_DEV_AUTO },
		{ "VIRTIO", KDVM_OPT_DEV_VIRTIO },
		{ "IVSHMEM", KDVM_OPT_DEV_IVSHMEM },
	};

	for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
		size_t i = 0;

		while (i < n && words[w].word[i] && upper(v[i]) == words[w].word[i])
			i++;
		if (i == n && !words[w].word[i]) {
			o->device = words[w].dev;
			return;
		}
	}
}

void kdvm_options_parse(const char *opts, struct kdvm_options *o)
{
	size_t i = 0;

	kd_memset(o, 0, sizeof(*o));
	if (!opts)
		return;
	while (i < KDVM_OPTIONS_MAX && opts[i]) {
		size_t start, n, kl;

		while (i < KDVM_OPTIONS_MAX && opts[i] && is_sep(opts[i]))
			i++;
		start = i;
		while (i < KDVM_OPTIONS_MAX && opts[i] && !is_sep(opts[i]))
			i++;
		n = i - start;
		if ((kl = key_len(opts + start, n, "DEBUGPORT=")))
			set_debugport(o, opts + start + kl, n - kl);
		else if ((kl = key_len(opts + start, n, "VMKDPORT=")))
			set_port(o, opts + start + kl, n - kl);
		else if ((kl = key_len(opts + start, n, "VMKDDEV=")))
			set_device(o, opts + start + kl, n - kl);
	}
}
