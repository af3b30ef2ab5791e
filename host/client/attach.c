/* SPDX-License-Identifier: MIT */
/* `vmkd attach`: options, the REPL (libedit) or scripted input, Ctrl-C as break-in. */
#include "attach.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>

#include "vmkd/kd_trace.h"

#include "../common/cli.h"
#include "../sym/sym.h"
#include "commands.h"
#include "disasm.h"
#include "session.h"

#define BREAK_RETRY_US 2000000ull /* --break: repeat 'b' while no stop came (boot races) */
#define MAX_SECONDS 1e6          /* --timeout, --connect-timeout, --wait: at most ~11 days */
#define RECONNECT_SLICE_MS 500   /* how often Ctrl-C is looked at while reconnecting */

struct attach {
	struct session *s;
	struct cmd_ctx cmd;
	int interactive;        /* a terminal: REPL with line editing */
	int at_line_start;      /* DbgPrint output ended with a newline */
	double reconnect_s;     /* after a lost connection, dial again this long (0: never) */
	const char *endpoint;
	char history[512];
};

/* The only process-wide state: a signal handler cannot reach a context, and neither can
 * readline's completion callbacks (their signatures carry no context pointer). */
static volatile sig_atomic_t sigint_flag;
static struct attach *completing;

/* Candidates gathered for one completion, handed out by complete_next. */
struct candidates {
	char **v;
	size_t n, cap, next;
};

static struct candidates cands;

static void add_candidate(void *opaque, const char *word)
{
	struct candidates *c = opaque;
	char *dup;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		char **v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return;
		c->v = v;
		c->cap = cap;
	}
	dup = strdup(word);
	if (dup)
		c->v[c->n++] = dup;
}

static char *complete_next(const char *text, int state)
{
	(void)text;
	if (!state)
		cands.next = 0;
	return cands.next < cands.n ? strdup(cands.v[cands.next++]) : NULL;
}

/* Tab: command names in the first word of a command, module and module!export names
 * after it. */
static char **complete(const char *text, int start, int end)
{
	int first = 1;

	(void)end;
	for (int i = start - 1; i >= 0; i--) {
		if (rl_line_buffer[i] == ';')
			break;
		if (rl_line_buffer[i] != ' ' && rl_line_buffer[i] != '\t') {
			first = 0;
			break;
		}
	}
	for (size_t i = 0; i < cands.n; i++)
		free(cands.v[i]);
	cands.n = 0;
	rl_attempted_completion_over = 1; /* no file names */
	if (!completing || !cmd_complete(&completing->cmd, text, first ? 0 : 1, add_candidate, &cands))
		return NULL;
	return rl_completion_matches(text, complete_next);
}

static void on_sigint(int sig)
{
	(void)sig;
	sigint_flag = 1;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: poll() must return so the pump sees the flag */
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void on_print(void *opaque, const char *text, size_t len)
{
	struct attach *a = opaque;

	/* cmd.out: the terminal, and the log file while one is open. */
	fwrite(text, 1, len, a->cmd.out ? a->cmd.out : stdout);
	a->at_line_start = len && text[len - 1] == '\n';
	fflush(a->cmd.out ? a->cmd.out : stdout);
}

static int on_prompt(void *opaque, const char *prompt, size_t len, char *answer, size_t cap)
{
	struct attach *a = opaque;
	char *p, *line;
	size_t n;

	if (!a->interactive || !cap)
		return 0; /* scripted: an empty line, so the target never hangs on us */
	p = strndup(prompt, len);
	line = readline(p ? p : "");
	free(p);
	if (!line)
		return 0;
	n = strlen(line);
	if (n > cap)
		n = cap;
	memcpy(answer, line, n);
	free(line);
	return (int)n;
}

/* --trace: one line per packet, both directions, on stderr with the session time. */
static void on_trace(void *opaque, enum session_dir dir, const struct kd_event *ev, uint64_t now)
{
	char line[KD_TRACE_LINE_MAX];
	int damaged = ev->kind != KD_EV_DATA && ev->kind != KD_EV_CONTROL &&
		      ev->kind != KD_EV_BREAKIN;

	(void)opaque;
	kd_trace_format(line, sizeof(line), dir == SESSION_TX ? KD_TRACE_TO_TARGET : KD_TRACE_FROM_TARGET,
			ev->kind == KD_EV_BREAKIN ? NULL : &ev->hdr, ev->payload, ev->payload_len);
	fprintf(stderr, "[%5llu.%06llu] %s%s%s\n", (unsigned long long)(now / 1000000),
		(unsigned long long)(now % 1000000), damaged ? kd_event_kind_name(ev->kind) : "",
		damaged ? ": " : "", line);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmkd attach [OPTIONS] ENDPOINT\n\n"
		"A KD debugger on a KDCOM byte stream: QEMU's serial port as a unix socket or TCP\n"
		"(-serial unix:/tmp/kd.sock,server,nowait), or the vmkd relay.\n\n"
		"ENDPOINT   unix:PATH | tcp:HOST:PORT | HOST:PORT | PATH\n\n"
		"  -b, --break              break in at once (repeated until the target stops)\n"
		"  -c, --commands \"A; B\"    run these commands, then exit (unless -i)\n"
		"  -i, --interactive        stay interactive after -c\n"
		"  -t, --timeout SEC        request timeout (default 5)\n"
		"      --connect-timeout SEC  keep trying to connect this long (default 10)\n"
		"      --wait SEC           give up if the target does not stop within SEC\n"
		"      --reconnect SEC      when the connection is lost (the relay restarted), dial\n"
		"                           again for up to SEC, then wait for the target's stop\n"
		"                           (default: as long as it takes on a terminal, 0 = never\n"
		"                           in scripts)\n"
		"      --stop-on-load       stop on module loads instead of continuing\n"
		"      --trace              print every packet to stderr\n"
		"  -h, --help\n\n"
		"Without a terminal, commands are read from stdin, one a line; the exit status is\n"
		"nonzero if any failed, and the script stops when the target is gone. Ctrl-C while\n"
		"the target runs breaks in; a target that does not stop within the request timeout\n"
		"after it is reported as not answering, and one the relay reports disconnected as\n"
		"such. 'help' lists the commands.\n");
}

static const char *prompt_for(struct attach *a, char *buf, size_t cap)
{
	snprintf(buf, cap, "%u: kd> ", (unsigned)session_last_stop(a->s)->processor);
	return buf;
}

/* Before the first prompt: the target must be stopped for anything to work. */
static int wait_first_stop(struct attach *a, int break_in, double wait_s)
{
	uint64_t waited = 0, limit = wait_s > 0 ? (uint64_t)(wait_s * 1e6) : SESSION_WAIT_FOREVER;
	struct session_stop st;
	int rc;

	if (a->interactive && session_state(a->s) != SESSION_TARGET_STOPPED)
		fprintf(stderr, "Waiting for the target to stop%s...\n",
			break_in ? "" : " (Ctrl-C breaks in)");
	for (;;) {
		uint64_t slice = break_in ? BREAK_RETRY_US : SESSION_WAIT_FOREVER;

		if (limit != SESSION_WAIT_FOREVER && limit - waited < slice)
			slice = limit - waited;
		rc = session_wait_stop(a->s, slice, &st);
		if (rc == 0)
			break;
		if (rc != -ETIMEDOUT)
			goto fail;
		waited += slice;
		if (limit != SESSION_WAIT_FOREVER && waited >= limit)
			goto fail;
		/* A break-in byte sent before the kernel's debugger was up is lost. */
		if (break_in && session_state(a->s) != SESSION_TARGET_STOPPED)
			session_break_in(a->s);
	}
	if (!a->at_line_start)
		fputc('\n', stdout);
	cmd_report_stop(&a->cmd, &st, 0);
	return 0;
fail:
	fprintf(stderr, "vmkd attach: %s\n", session_error(a->s));
	return -1;
}

static int is_repeatable(const char *line)
{
	static const char *const repeat[] = { "t", "p", "u", "db", "dw", "dd", "dq" };
	char word[8];
	size_t n = strcspn(line, " \t");

	if (n >= sizeof(word))
		return 0;
	memcpy(word, line, n);
	word[n] = '\0';
	for (size_t i = 0; i < sizeof(repeat) / sizeof(repeat[0]); i++)
		if (!strcmp(word, repeat[i]))
			return 1;
	return 0;
}

/* The connection was lost (a relay restarted, say): dial again for up to --reconnect
 * seconds (Ctrl-C gives up), then wait for the target's stop as on attach: a stopped
 * target reports it again after the new RESET; a running one is broken into by a script
 * and by Ctrl-C at a terminal. 0 once the target is stopped on the new connection. */
static int recover(struct attach *a)
{
	uint64_t t0 = session_now(a->s), limit_us = (uint64_t)(a->reconnect_s * 1e6);

	if (a->reconnect_s <= 0)
		return -1;
	for (;;) {
		fprintf(stderr, "vmkd attach: %s; reconnecting to %s%s...\n", session_error(a->s),
			a->endpoint, a->interactive ? " (Ctrl-C gives up)" : "");
		sigint_flag = 0;
		while (session_reconnect(a->s, RECONNECT_SLICE_MS) != 0) {
			if (sigint_flag || session_now(a->s) - t0 >= limit_us) {
				fprintf(stderr, "vmkd attach: gave up reconnecting: %s\n",
					session_error(a->s));
				return -1;
			}
		}
		fprintf(stderr, "vmkd attach: reconnected to %s\n", a->endpoint);
		if (wait_first_stop(a, !a->interactive, a->interactive ? 0 : a->reconnect_s) == 0)
			return 0;
		if (session_connected(a->s))
			return -1; /* not a lost connection: wait_first_stop said why */
	}
}

/* Returns nonzero if the connection was lost. */
static int repl(struct attach *a)
{
	char prompt[32], *last = NULL;

	rl_readline_name = "vmkd";
	/* '!' and '+' end no word: "nt!Ke<Tab>" completes as one. */
	rl_completer_word_break_characters = (char *)(uintptr_t)" \t;()";
	rl_attempted_completion_function = complete;
	completing = a;
	if (a->history[0])
		read_history(a->history);
	while (!a->cmd.quit) {
		char *line;

		sigint_flag = 0;
		line = readline(prompt_for(a, prompt, sizeof(prompt)));
		if (!line) {
			if (sigint_flag) { /* Ctrl-C at the prompt: a fresh line */
				fputc('\n', stdout);
				continue;
			}
			fputc('\n', stdout);
			break;
		}
		if (*line) {
			add_history(line);
			free(last);
			last = strdup(line);
		} else if (last && is_repeatable(last)) {
			/* Enter alone repeats t / p / u / d*, as in WinDbg. */
			free(line);
			line = strdup(last);
			if (!line)
				break;
		}
		cmd_log_line(&a->cmd, prompt, line);
		cmd_execute_list(&a->cmd, line, NULL);
		free(line);
		if (!session_connected(a->s) && recover(a))
			break; /* the message was printed by the failing command */
	}
	free(last);
	completing = NULL;
	for (size_t i = 0; i < cands.n; i++)
		free(cands.v[i]);
	free(cands.v);
	memset(&cands, 0, sizeof(cands));
	if (a->history[0])
		write_history(a->history);
	return !session_connected(a->s);
}

/* A script cannot go on against a target that is gone: say so once, and fail. */
static int target_lost(struct attach *a)
{
	if (session_connected(a->s) && !session_target_gone(a->s))
		return 0;
	fprintf(stderr, "vmkd attach: %s; stopping\n",
		session_connected(a->s) ? "the relay reports its guest disconnected" :
					  "the connection to the target is lost");
	return 1;
}

/* stdin is not a terminal: one command a line, echoed after the prompt. */
static int scripted(struct attach *a)
{
	char prompt[32], *line = NULL;
	size_t cap = 0;
	int failed = 0;

	while (!a->cmd.quit && getline(&line, &cap, stdin) >= 0) {
		line[strcspn(line, "\r\n")] = '\0';
		failed += cmd_execute_list(&a->cmd, line, prompt_for(a, prompt, sizeof(prompt)));
		if (!session_connected(a->s) && recover(a) == 0)
			continue;
		if (target_lost(a)) {
			failed++;
			break;
		}
	}
	free(line);
	return failed;
}

int attach_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "break", no_argument, NULL, 'b' },
		{ "commands", required_argument, NULL, 'c' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 't' },
		{ "connect-timeout", required_argument, NULL, 'C' },
		{ "wait", required_argument, NULL, 'w' },
		{ "reconnect", required_argument, NULL, 'R' },
		{ "stop-on-load", no_argument, NULL, 'L' },
		{ "trace", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct session_options opt;
	struct attach a;
	struct disasm *dis;
	const char *commands = NULL, *home;
	double timeout_s = 5, connect_s = 10, wait_s = 0, reconnect_s = -1;
	int stay = 0, failed = 0, o;
	char err[512], prompt[32];

	memset(&a, 0, sizeof(a));
	session_default_options(&opt);
	optind = 1;
	while ((o = getopt_long(argc, argv, "bc:it:h", longopts, NULL)) != -1) {
		switch (o) {
		case 'b':
			opt.break_in = 1;
			break;
		case 'c':
			commands = optarg;
			break;
		case 'i':
			stay = 1;
			break;
		case 't':
		case 'C':
		case 'w':
		case 'R':
			if (cli_seconds(optarg, MAX_SECONDS,
					o == 't' ? &timeout_s : o == 'C' ? &connect_s :
					o == 'w' ? &wait_s : &reconnect_s)) {
				fprintf(stderr, "vmkd attach: bad number of seconds '%s'\n", optarg);
				return 2;
			}
			break;
		case 'L':
			opt.stop_on_load_symbols = 1;
			break;
		case 'T':
			opt.trace = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (timeout_s <= 0) {
		fprintf(stderr, "vmkd attach: the timeout must be positive\n");
		return 2;
	}

	a.interactive = isatty(STDIN_FILENO) && (!commands || stay);
	a.reconnect_s = reconnect_s >= 0 ? reconnect_s : a.interactive ? MAX_SECONDS : 0;
	a.endpoint = argv[optind];
	a.at_line_start = 1;
	opt.request_timeout_us = (uint64_t)(timeout_s * 1e6);
	opt.connect_timeout_ms = (int)(connect_s * 1000);
	opt.interrupt = &sigint_flag;
	opt.cb.print = on_print;
	opt.cb.prompt = on_prompt;
	opt.cb.trace = on_trace;
	opt.cb.opaque = &a;
	install_signals();

	a.s = session_open(argv[optind], &opt, err, sizeof(err));
	if (!a.s) {
		fprintf(stderr, "vmkd attach: %s\n", err);
		return 1;
	}
	dis = disasm_open();
	if (!dis)
		fprintf(stderr, "vmkd attach: capstone unavailable; no disassembly\n");
	cmd_init(&a.cmd, a.s, dis, stdout, stderr);
	if (getenv("_NT_SYMBOL_PATH") && a.cmd.sym)
		sym_table_set_symbol_path(a.cmd.sym, getenv("_NT_SYMBOL_PATH"));
	home = getenv("HOME");
	if (a.interactive && home)
		snprintf(a.history, sizeof(a.history), "%s/.vmkd_history", home);

	if (wait_first_stop(&a, opt.break_in, wait_s)) {
		failed = 1;
		goto out;
	}
	if (commands) {
		failed += cmd_execute_list(&a.cmd, commands, prompt_for(&a, prompt, sizeof(prompt)));
		if (!stay)
			goto out;
	}
	if (a.interactive)
		failed += repl(&a);
	else if (!commands)
		failed += scripted(&a);
out:
	cmd_cleanup(&a.cmd);
	disasm_close(dis);
	session_close(a.s);
	return failed ? 1 : 0;
}
