/* SPDX-License-Identifier: MIT */
/* Relay configuration: VMs from flags or a config file, checked before anything opens. */
#include "relay_config.h"

#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/endpoint.h"

#define LINE_MAX_LEN 1024u
#define MAX_FIELDS   10u /* NAME GUEST LISTEN and up to six options, one more to refuse */

void relay_config_init(struct relay_config *c)
{
	c->vms = NULL;
	c->count = 0;
	c->cap = 0;
}

void relay_config_free(struct relay_config *c)
{
	free(c->vms);
	relay_config_init(c);
}

static int valid_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= RELAY_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != '-')
			return 0;
	return 1;
}

static int bad_name(const char *name, char *err, size_t errlen)
{
	snprintf(err, errlen, "bad VM name '%s': 1-%u characters of A-Z a-z 0-9 . _ -", name,
		 RELAY_NAME_MAX - 1);
	return -1;
}

/* Parses spec and writes its canonical spelling to out. */
static int canonical(const char *what, const char *spec, char *out, size_t cap, char *err,
		     size_t errlen)
{
	struct endpoint ep;
	char msg[300];

	if (endpoint_parse(spec, &ep, msg, sizeof(msg))) {
		snprintf(err, errlen, "%s endpoint '%s': %s", what, spec, msg);
		return -1;
	}
	endpoint_format(&ep, out, cap);
	return 0;
}

int relay_vm_config_set(struct relay_vm_config *vm, const char *name, const char *guest,
			const char *listen, char *err, size_t errlen)
{
	size_t plen = strlen(RELAY_GUEST_LISTEN_PREFIX);

	memset(vm, 0, sizeof(*vm));
	if (!valid_name(name))
		return bad_name(name, err, errlen);
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	if (!strncmp(guest, RELAY_GUEST_IVSHMEM_PREFIX, strlen(RELAY_GUEST_IVSHMEM_PREFIX))) {
		vm->guest_ivshmem = 1;
		guest += strlen(RELAY_GUEST_IVSHMEM_PREFIX);
	} else if (!strncmp(guest, RELAY_GUEST_LISTEN_PREFIX, plen)) {
		vm->guest_listen = 1;
		guest += plen;
	} else if (!strncmp(guest, "connect:", 8)) {
		guest += 8;
	}
	if (canonical("guest", guest, vm->guest, sizeof(vm->guest), err, errlen) ||
	    canonical("listen", listen, vm->listen, sizeof(vm->listen), err, errlen))
		return -1;
	if (vm->guest_ivshmem && strncmp(vm->guest, "unix:", 5)) {
		snprintf(err, errlen, "%s: ivshmem needs a unix socket path (ivshmem:PATH)", name);
		return -1;
	}
	if (!strcmp(vm->guest, vm->listen)) {
		snprintf(err, errlen, "%s: the guest and the debugger need different endpoints",
			 name);
		return -1;
	}
	return 0;
}

int relay_config_add(struct relay_config *c, const struct relay_vm_config *vm, char *err,
		     size_t errlen)
{
	for (size_t i = 0; i < c->count; i++) {
		const struct relay_vm_config *o = &c->vms[i];

		if (!strcmp(o->name, vm->name)) {
			snprintf(err, errlen, "VM name '%s' used twice", vm->name);
			return -1;
		}
		if (!strcmp(o->guest, vm->guest) || !strcmp(o->guest, vm->listen) ||
		    !strcmp(o->listen, vm->listen) || !strcmp(o->listen, vm->guest)) {
			snprintf(err, errlen, "%s: an endpoint of '%s' is also used by '%s'",
				 vm->name, vm->name, o->name);
			return -1;
		}
	}
	if (c->count >= RELAY_MAX_VMS) {
		snprintf(err, errlen, "too many VMs (at most %u)", RELAY_MAX_VMS);
		return -1;
	}
	if (c->count == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 4;
		struct relay_vm_config *p = realloc(c->vms, cap * sizeof(*p));

		if (!p) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		c->vms = p;
		c->cap = cap;
	}
	c->vms[c->count++] = *vm;
	return 0;
}

int relay_config_single(struct relay_config *c, const char *name, const char *guest,
			const char *listen, char *err, size_t errlen)
{
	struct relay_vm_config vm;
	char def[RELAY_SPEC_MAX];

	if (!name)
		name = RELAY_DEFAULT_NAME;
	if (!valid_name(name)) /* checked before it becomes part of a path */
		return bad_name(name, err, errlen);
	if (!listen) {
		if (endpoint_default_debugger(name, 0, def, sizeof(def), err, errlen))
			return -1;
		listen = def;
	}
	if (relay_vm_config_set(&vm, name, guest, listen, err, errlen))
		return -1;
	return relay_config_add(c, &vm, err, errlen);
}

/* Splits s (modified) at blanks into at most max fields; returns the count, or max + 1
 * when there are more. A '#' ends the line. */
static size_t split(char *s, char **fields, size_t max)
{
	size_t n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			s++;
		if (!*s || *s == '#')
			return n;
		if (n == max)
			return max + 1;
		fields[n++] = s;
		while (*s && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n' && *s != '#')
			s++;
		if (*s == '#') {
			*s = '\0';
			return n;
		}
		if (*s)
			*s++ = '\0';
	}
}

/* The words that may follow LISTEN on a line, each at most once. */
static const struct {
	const char *word;
	size_t offset;
} line_options[] = {
	{ "trace", offsetof(struct relay_vm_config, trace) },
	{ "takeover", offsetof(struct relay_vm_config, takeover) },
	{ "no-host-ram", offsetof(struct relay_vm_config, no_host_ram) },
	{ "nodbglog", offsetof(struct relay_vm_config, no_dbglog) },
};

/* The host path's settings: KEY=VALUE into a field of cap bytes, at most once. */
static int set_value(char *dst, size_t cap, const char *key, const char *value, char *err,
		     size_t errlen)
{
	if (*dst) {
		snprintf(err, errlen, "option '%s=' given twice", key);
		return -1;
	}
	if (!*value || strlen(value) >= cap) {
		snprintf(err, errlen, "%s= wants a value of 1-%zu characters", key, cap - 1);
		return -1;
	}
	memcpy(dst, value, strlen(value) + 1);
	return 0;
}

int relay_vm_config_option(struct relay_vm_config *vm, const char *word, char *err,
			   size_t errlen)
{
	for (size_t i = 0; i < sizeof(line_options) / sizeof(line_options[0]); i++) {
		int *flag = (int *)(void *)((char *)vm + line_options[i].offset);

		if (strcmp(word, line_options[i].word))
			continue;
		if (*flag) {
			snprintf(err, errlen, "option '%s' given twice", word);
			return -1;
		}
		*flag = 1;
		return 0;
	}
	if (!strncmp(word, "ram=", 4))
		return set_value(vm->host_ram, sizeof(vm->host_ram), "ram", word + 4, err, errlen);
	if (!strncmp(word, "qmp=", 4))
		return set_value(vm->qmp, sizeof(vm->qmp), "qmp", word + 4, err, errlen);
	if (!strncmp(word, "ram-id=", 7))
		return set_value(vm->ram_id, sizeof(vm->ram_id), "ram-id", word + 7, err, errlen);
	snprintf(err, errlen, "unknown option '%s' (trace, takeover, no-host-ram, nodbglog, "
		 "ram=FILE, qmp=SOCKET, ram-id=ID)", word);
	return -1;
}

int relay_config_parse_line(const char *line, struct relay_vm_config *vm, char *err,
			    size_t errlen)
{
	char buf[LINE_MAX_LEN], *f[MAX_FIELDS];
	size_t n;

	if (strlen(line) >= sizeof(buf)) {
		snprintf(err, errlen, "line too long (at most %u characters)", LINE_MAX_LEN - 1);
		return -1;
	}
	memcpy(buf, line, strlen(line) + 1);
	n = split(buf, f, MAX_FIELDS - 1);
	if (n == 0)
		return 0;
	if (n < 3 || n > MAX_FIELDS - 1) {
		snprintf(err, errlen, "expected \"NAME GUEST LISTEN [OPTION...]\", got %s field%s",
			 n < 3 ? (n == 1 ? "one" : "two") : "too many", n == 1 ? "" : "s");
		return -1;
	}
	if (relay_vm_config_set(vm, f[0], f[1], f[2], err, errlen))
		return -1;
	for (size_t i = 3; i < n; i++)
		if (relay_vm_config_option(vm, f[i], err, errlen))
			return -1;
	return 1;
}

int relay_config_read(struct relay_config *c, FILE *f, const char *name, char *err,
		      size_t errlen)
{
	char line[LINE_MAX_LEN + 2], msg[512];
	unsigned int lineno = 0;

	while (fgets(line, sizeof(line), f)) {
		struct relay_vm_config vm;
		size_t len = strlen(line);
		int rc;

		lineno++;
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			snprintf(err, errlen, "%s:%u: line too long", name, lineno);
			return -1;
		}
		rc = relay_config_parse_line(line, &vm, msg, sizeof(msg));
		if (rc == 1)
			rc = relay_config_add(c, &vm, msg, sizeof(msg)) ? -1 : 1;
		if (rc < 0) {
			snprintf(err, errlen, "%s:%u: %s", name, lineno, msg);
			return -1;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return -1;
	}
	if (!c->count) {
		snprintf(err, errlen, "%s: no VM configured", name);
		return -1;
	}
	return 0;
}

int relay_config_load(struct relay_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	int rc;

	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	rc = relay_config_read(c, f, path, err, errlen);
	fclose(f);
	return rc;
}
