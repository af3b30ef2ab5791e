/* SPDX-License-Identifier: MIT */
/* The unit tests' fake machine: kd_platform_ops over a byte array (see fake_platform.h). */
#include "fake_platform.h"

#include <string.h>

void fake_platform_init(struct fake_platform *fp, void *mem, size_t size, size_t mapped,
			uint64_t va, uint64_t pa)
{
	memset(fp, 0, sizeof(*fp));
	fp->mem = mem;
	fp->size = size;
	fp->mapped = mapped < size ? mapped : size;
	fp->va = va;
	fp->pa = pa;
	fp->msr = FAKE_MSR_EFER;
	fp->msr_value = 0xd01;
	fp->watch = UINT64_MAX;
}

/* Bytes of [va, va + len) that are accessible from va on. */
static size_t span(const struct fake_platform *fp, uint64_t va, size_t len)
{
	if (va < fp->va || va - fp->va >= fp->mapped)
		return 0;
	return len < fp->mapped - (va - fp->va) ? len : (size_t)(fp->mapped - (va - fp->va));
}

static int touches(const struct fake_platform *fp, uint64_t va, size_t len)
{
	return fp->watch >= va && fp->watch - va < len;
}

static size_t fp_read_virtual(void *p, uint64_t va, void *buf, size_t len)
{
	struct fake_platform *fp = p;
	size_t n = span(fp, va, len);

	if (touches(fp, va, len))
		atomic_fetch_add(&fp->watch_reads, 1);
	if (n)
		memcpy(buf, fp->mem + (va - fp->va), n);
	return n;
}

static size_t fp_write_virtual(void *p, uint64_t va, const void *buf, size_t len)
{
	struct fake_platform *fp = p;
	size_t n = fp->read_only ? 0 : span(fp, va, len);

	if (touches(fp, va, len))
		atomic_fetch_add(&fp->watch_writes, 1);
	if (n)
		memcpy(fp->mem + (va - fp->va), buf, n);
	return n;
}

/* Physical addresses below pa would wrap to a huge virtual one: span() refuses those. */
static size_t fp_read_physical(void *p, uint64_t pa, void *buf, size_t len)
{
	struct fake_platform *fp = p;

	return fp_read_virtual(p, pa - fp->pa + fp->va, buf, len);
}

static size_t fp_write_physical(void *p, uint64_t pa, const void *buf, size_t len)
{
	struct fake_platform *fp = p;

	return fp_write_virtual(p, pa - fp->pa + fp->va, buf, len);
}

static void fp_read_special(void *p, struct kd_special_registers_amd64 *sr)
{
	*sr = ((struct fake_platform *)p)->sr;
}

static void fp_write_special(void *p, const struct kd_special_registers_amd64 *sr)
{
	((struct fake_platform *)p)->sr = *sr;
}

static int fp_read_msr(void *p, uint32_t msr, uint64_t *value)
{
	struct fake_platform *fp = p;

	atomic_fetch_add(&fp->msr_reads, 1);
	if (!fp->msr || msr != fp->msr)
		return -1;
	*value = fp->msr_value;
	return 0;
}

static int fp_write_msr(void *p, uint32_t msr, uint64_t value)
{
	struct fake_platform *fp = p;

	atomic_fetch_add(&fp->msr_writes, 1);
	if (!fp->msr || msr != fp->msr)
		return -1;
	fp->msr_value = value;
	return 0;
}

static uint32_t fp_query(void *p, uint64_t va, uint32_t *space)
{
	*space = KD_QUERY_SPACE_KERNEL;
	return span(p, va, 1) ? KD_QUERY_FLAG_READ | KD_QUERY_FLAG_WRITE : 0;
}

const struct kd_platform_ops fake_platform_ops = {
	.read_virtual = fp_read_virtual,
	.write_virtual = fp_write_virtual,
	.read_physical = fp_read_physical,
	.write_physical = fp_write_physical,
	.read_special = fp_read_special,
	.write_special = fp_write_special,
	.read_msr = fp_read_msr,
	.write_msr = fp_write_msr,
	.query_memory = fp_query,
};
