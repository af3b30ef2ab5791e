/* SPDX-License-Identifier: MIT */
/*
 * relay_journal.h - DbgPrint lines to the systemd journal, without libsystemd: journald's
 * native protocol (systemd.io/JOURNAL_NATIVE_PROTOCOL), one AF_UNIX datagram per entry to
 * /run/systemd/journal/socket. An entry is a list of fields, each either
 *
 *     KEY=VALUE\n                                    (a value without a newline)
 *     KEY\n <length, 64-bit little endian> VALUE\n   (any bytes: the binary-safe form)
 *
 * KEY is 1..64 of A-Z, 0-9 and '_', not starting with '_' (those are journald's own).
 *
 * Bounded and non-blocking, as everything on the DbgPrint path: a datagram that cannot be
 * sent at once (no journald, its queue full, an entry too big) is dropped and counted,
 * never waited for; the guest is never stalled by the journal. The socket is not connected,
 * so a journald that starts (or restarts) later is found by the next line.
 */
#ifndef VMKD_RELAY_JOURNAL_H
#define VMKD_RELAY_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#define JOURNAL_SOCKET_DEFAULT "/run/systemd/journal/socket"
#define JOURNAL_KEY_MAX        64u
#define JOURNAL_ENTRY_MAX      8192u   /* bytes of one datagram: a line plus its fields */
#define JOURNAL_IDENTIFIER     "vmkd"

struct journal_field {
	const char *key;
	const void *value;
	size_t len;
};

/*
 * Encodes fields[0..n) as one native-protocol entry into out. Returns the bytes written,
 * or 0 when a key is not valid or the entry does not fit cap (nothing usable is written
 * then). Pure: no I/O, no allocation.
 */
size_t journal_encode(uint8_t *out, size_t cap, const struct journal_field *fields, size_t n);

/* Whether key may be sent (see above). */
int journal_key_valid(const char *key);

struct journal_stats {
	uint64_t sent;     /* entries handed to the socket */
	uint64_t dropped;  /* entries not sent: no socket, queue full, too big, other errors */
};

struct journal {
	int fd;                   /* SOCK_DGRAM, non-blocking; -1 if it could not be made */
	char path[108];           /* sun_path */
	char vm[64];              /* VMKD_VM */
	struct journal_stats st;
	int last_errno;           /* of the last failed send; 0 after a success */
	int error_logged;         /* last_errno was reported */
	uint8_t buf[JOURNAL_ENTRY_MAX];
};

/* A journal for VM vm sending to path (NULL: JOURNAL_SOCKET_DEFAULT). Returns NULL with
 * err when path is too long or memory runs out; a journald that is not there is not an
 * error (lines are counted as dropped until it is). */
struct journal *journal_open(const char *path, const char *vm, char *err, size_t errlen);
void journal_close(struct journal *j);

/* One DbgPrint line (without its newline) of processor cpu: MESSAGE, PRIORITY (6, info),
 * SYSLOG_IDENTIFIER=vmkd, VMKD_VM, VMKD_CPU. Returns 0 if sent, -1 if dropped. */
int journal_send_line(struct journal *j, unsigned cpu, const char *text, size_t len);

/* The last send error not yet reported ("" if none); each distinct one once. */
const char *journal_take_error(struct journal *j, char *buf, size_t cap);

#endif
