/* SPDX-License-Identifier: MIT */
/* The relay as ivshmem server: memfd, eventfds, the set-up messages, the rings. */
#define _GNU_SOURCE /* memfd_create */
#include "relay_ivshmem.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/endpoint.h"

struct relay_ivshmem {
	char path[sizeof(((struct endpoint *)0)->path)];
	int listen_fd;
	int client_fd;          /* QEMU, or -1 */
	int mem_fd;             /* the memfd QEMU maps as BAR2 */
	int bell_fd;            /* the relay's own vector: QEMU writes it on a guest Doorbell */
	int qemu_vec_fd;        /* QEMU's own vector 0 (kept for the protocol; never signalled) */
	uint8_t *mem;
	size_t size;
	uint32_t generation;
	struct vmkd_shm_layout layout;
	struct vmkd_shmring g2h;  /* we consume */
	struct vmkd_shmring h2g;  /* we produce */
	struct relay_ivshmem_stats st;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

struct relay_ivshmem *relay_ivshmem_open(const char *path, size_t size, char *err,
					 size_t errlen)
{
	struct relay_ivshmem *ivs = calloc(1, sizeof(*ivs));
	char spec[sizeof(ivs->path) + 8];

	if (!ivs) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ivs->listen_fd = ivs->client_fd = ivs->mem_fd = ivs->bell_fd = ivs->qemu_vec_fd = -1;
	ivs->mem = MAP_FAILED;
	ivs->size = size ? size : VMKD_SHM_SIZE_DEFAULT;
	if (strlen(path) >= sizeof(ivs->path)) {
		snprintf(err, errlen, "ivshmem socket path too long: %s", path);
		goto fail;
	}
	if (ivs->size & (ivs->size - 1) || ivs->size < VMKD_SHM_DATA_OFFSET + 2u * VMKD_SHM_RING_MIN) {
		snprintf(err, errlen, "ivshmem size %zu: QEMU needs a power of two (>= %u)",
			 ivs->size, VMKD_SHM_DATA_OFFSET + 2u * VMKD_SHM_RING_MIN);
		goto fail;
	}
	ivs->mem_fd = memfd_create("vmkd-ivshmem", MFD_CLOEXEC);
	if (ivs->mem_fd < 0 || ftruncate(ivs->mem_fd, (off_t)ivs->size) < 0) {
		snprintf(err, errlen, "ivshmem memory: %s", strerror(errno));
		goto fail;
	}
	ivs->mem = mmap(NULL, ivs->size, PROT_READ | PROT_WRITE, MAP_SHARED, ivs->mem_fd, 0);
	if (ivs->mem == MAP_FAILED) {
		snprintf(err, errlen, "ivshmem mmap: %s", strerror(errno));
		goto fail;
	}
	ivs->bell_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ivs->bell_fd < 0) {
		snprintf(err, errlen, "ivshmem eventfd: %s", strerror(errno));
		goto fail;
	}
	snprintf(ivs->path, sizeof(ivs->path), "%s", path);
	snprintf(spec, sizeof(spec), "unix:%s", path);
	ivs->listen_fd = endpoint_listen(spec, err, errlen);
	if (ivs->listen_fd < 0) {
		ivs->path[0] = '\0'; /* not ours to remove */
		goto fail;
	}
	return ivs;
fail:
	relay_ivshmem_close(ivs);
	return NULL;
}

void relay_ivshmem_close(struct relay_ivshmem *ivs)
{
	if (!ivs)
		return;
	close_fd(&ivs->client_fd);
	close_fd(&ivs->listen_fd);
	close_fd(&ivs->qemu_vec_fd);
	close_fd(&ivs->bell_fd);
	close_fd(&ivs->mem_fd);
	if (ivs->mem != MAP_FAILED)
		munmap(ivs->mem, ivs->size);
	if (ivs->path[0])
		unlink(ivs->path);
	free(ivs);
}

int relay_ivshmem_listen_fd(const struct relay_ivshmem *ivs)
{
	return ivs->listen_fd;
}

int relay_ivshmem_client_fd(const struct relay_ivshmem *ivs)
{
	return ivs->client_fd;
}

int relay_ivshmem_doorbell_fd(const struct relay_ivshmem *ivs)
{
	return ivs->bell_fd;
}

/* One protocol message: an int64 little-endian, with fd attached unless fd < 0. */
static int send_msg(int sock, int64_t value, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	uint64_t le = htole64((uint64_t)value);
	struct iovec iov = { .iov_base = &le, .iov_len = sizeof(le) };
	struct msghdr msg;
	ssize_t n;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(le) ? 0 : -1;
}

/* Fresh rings for a new QEMU: whatever the last guest left is gone with it. */
static int format(struct relay_ivshmem *ivs, char *err, size_t errlen)
{
	enum vmkd_shm_status s = vmkd_shm_format(ivs->mem, ivs->size, VMKD_SHM_HOST_PEER, 0,
						 ++ivs->generation, &ivs->layout);

	if (s != VMKD_SHM_OK) {
		snprintf(err, errlen, "ivshmem format: %s", vmkd_shm_status_name(s));
		return -1;
	}
	/* the counters carry on across QEMUs */
	ivs->st.g2h_bytes += ivs->g2h.stats.bytes;
	ivs->st.h2g_bytes += ivs->h2g.stats.bytes;
	ivs->st.g2h_corrupt += ivs->g2h.stats.corrupt;
	ivs->st.h2g_corrupt += ivs->h2g.stats.corrupt;
	ivs->st.h2g_full += ivs->h2g.stats.full;
	vmkd_shmring_attach(&ivs->g2h, ivs->mem, &ivs->layout, 0, 0);
	vmkd_shmring_attach(&ivs->h2g, ivs->mem, &ivs->layout, 1, 1);
	return 0;
}

static int handshake(struct relay_ivshmem *ivs, int sock)
{
	return send_msg(sock, RELAY_IVSHMEM_PROTOCOL, -1) ||
	       send_msg(sock, RELAY_IVSHMEM_QEMU_ID, -1) ||
	       send_msg(sock, -1, ivs->mem_fd) ||
	       send_msg(sock, VMKD_SHM_HOST_PEER, ivs->bell_fd) ||
	       send_msg(sock, RELAY_IVSHMEM_QEMU_ID, ivs->qemu_vec_fd) ? -1 : 0;
}

int relay_ivshmem_accept(struct relay_ivshmem *ivs, int *replaced, char *err, size_t errlen)
{
	int fd;

	*replaced = 0;
	do
		fd = endpoint_accept(ivs->listen_fd);
	while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
	if (fd < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		snprintf(err, errlen, "ivshmem accept: %s", strerror(errno));
		return -1;
	}
	if (ivs->client_fd >= 0) {
		relay_ivshmem_drop_client(ivs);
		*replaced = 1;
	}
	ivs->qemu_vec_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ivs->qemu_vec_fd < 0) {
		snprintf(err, errlen, "ivshmem eventfd: %s", strerror(errno));
		goto fail;
	}
	if (format(ivs, err, errlen))
		goto fail;
	relay_ivshmem_doorbell(ivs); /* rings of the last QEMU */
	if (handshake(ivs, fd)) {
		snprintf(err, errlen, "ivshmem set-up messages to QEMU: %s", strerror(errno));
		goto fail;
	}
	ivs->client_fd = fd;
	ivs->st.connects++;
	return 1;
fail:
	close(fd);
	close_fd(&ivs->qemu_vec_fd);
	return -1;
}

int relay_ivshmem_client_alive(struct relay_ivshmem *ivs)
{
	uint8_t sink[64];
	ssize_t n;

	if (ivs->client_fd < 0)
		return 0;
	/* QEMU sends nothing; bytes would be a confused peer, drained and ignored. */
	while ((n = recv(ivs->client_fd, sink, sizeof(sink), MSG_DONTWAIT)) > 0)
		;
	if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		relay_ivshmem_drop_client(ivs);
		return 0;
	}
	return 1;
}

void relay_ivshmem_drop_client(struct relay_ivshmem *ivs)
{
	close_fd(&ivs->client_fd);
	close_fd(&ivs->qemu_vec_fd);
}

uint64_t relay_ivshmem_doorbell(struct relay_ivshmem *ivs)
{
	uint64_t v, total = 0;

	while (read(ivs->bell_fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		total += v;
	ivs->st.doorbells += total;
	return total;
}

size_t relay_ivshmem_read(struct relay_ivshmem *ivs, void *dst, size_t cap)
{
	return ivs->client_fd < 0 ? 0 : vmkd_shmring_read(&ivs->g2h, dst, cap);
}

size_t relay_ivshmem_write(struct relay_ivshmem *ivs, const void *src, size_t len)
{
	return ivs->client_fd < 0 ? 0 : vmkd_shmring_write(&ivs->h2g, src, len);
}

void relay_ivshmem_get_stats(const struct relay_ivshmem *ivs, struct relay_ivshmem_stats *st)
{
	*st = ivs->st;
	st->g2h_bytes += ivs->g2h.stats.bytes;
	st->h2g_bytes += ivs->h2g.stats.bytes;
	st->g2h_corrupt += ivs->g2h.stats.corrupt;
	st->h2g_corrupt += ivs->h2g.stats.corrupt;
	st->h2g_full += ivs->h2g.stats.full;
}

const struct vmkd_shm_layout *relay_ivshmem_layout(const struct relay_ivshmem *ivs)
{
	return &ivs->layout;
}

size_t relay_ivshmem_size(const struct relay_ivshmem *ivs)
{
	return ivs->size;
}
