#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <jv.h>

#include "output.h"
#include "record.h"
#include "stop.h"

#ifndef DOCPIPE_VERSION
#define DOCPIPE_VERSION "0.1.0"
#endif

/* A standard descriptor closed at the start (`<&-`, a daemon's spawn) is
 * taken by the process's next open: the stop pipe became standard input and
 * every stage read it for ever.  Each closed one is held by /dev/null opened
 * the other way (standard input write-only, output and errors read-only), so
 * using it fails with EBADF as a closed one does, and that is reported. */
static void hold_closed_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) == -1 && errno == EBADF)
			(void)open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY); /* the lowest free: fd */
}

/* The soft limit on open files raised to the hard one (at most
 * CLI_NOFILE_MAX), as Go's runtime does: the usual soft 1024 (or a
 * container's lower one) is less than a stage with hundreds of requests in
 * flight, each a socket, may need, and the hard limit is what the system
 * grants.  Past the limit libcurl can only say "couldn't connect" (http.c
 * names the cause), and libzmq aborts the process (the hub with 28
 * replicas at a soft limit of 64: SIGABRT, the run stopped).  A failure
 * leaves the limit as it was. */
#define CLI_NOFILE_MAX 65536
static void raise_open_files(void)
{
	struct rlimit l;

	if (getrlimit(RLIMIT_NOFILE, &l) != 0)
		return;
	rlim_t want = l.rlim_max == RLIM_INFINITY || l.rlim_max > CLI_NOFILE_MAX ? CLI_NOFILE_MAX : l.rlim_max;
	if (l.rlim_cur != RLIM_INFINITY && l.rlim_cur < want) {
		l.rlim_cur = want;
		setrlimit(RLIMIT_NOFILE, &l);
	}
}

/* DOCPIPE_SUPERVISOR=PID: this process is a replica docpipe run's shell
 * (PID) started (scripts/docpipe, spawn).  It takes a session of its own:
 * the supervisor stops it and whatever it started as one group, and a
 * terminal's ^C reaches the supervisor alone, which stops the run in order
 * (until then it is ignored: bash starts its background commands so).  And
 * SIGTERM as its parent-death signal, so that a supervisor killed with -9
 * leaves no orphans; that signal comes only if the parent is alive when it
 * is asked for, so one already gone (a kill -9 in the run's first moments)
 * is found by its pid, and the signal it would have sent is raised now.
 * Done here, not by setsid, setpriv and a bash wrapper: three execs a
 * replica, ~50 ms of a one-file run's ~0.6 s on 2 cores.
 *
 * DOCPIPE_STDOUT=FILE (with DOCPIPE_SUPERVISOR): the standard output is
 * FILE, opened here once the signal is taken: the FIFO into the hub
 * (discover's, or watch's), whose open waits for a reader.  Opened by the
 * supervisor's fork instead, that fork had no parent-death signal while
 * it waited; until the open returns this process has no handler, so a
 * SIGTERM ends it.  A FILE that cannot be opened is said and the
 * descriptor left closed (hold_closed_std_fds): writing then fails, and
 * never reaches the supervisor's own output.
 *
 * DOCPIPE_GATE=FIFO (with DOCPIPE_SUPERVISOR): a replica started while the
 * run's claim on its roots is made (chunk, summarize, embed: loaded and
 * ready when it answers, docs/graph.md) waits here, before it reads its
 * arguments, connects anywhere (its edges, summarize's result cache,
 * embed's --check-corpus) or says anything, until the supervisor opens
 * FIFO (once the claim holds; it keeps it open for the run: a later open
 * returns at once).  A run refused, or stopped before the claim holds,
 * kills it there, with no handler yet: nothing of it shows; and a run that
 * waits (--wait, a database away) holds no connection of it.  A FIFO that cannot be opened
 * (the run's directory gone) is said, and the process ends as its
 * supervisor's death ends it (SIGTERM).
 *
 * The variables are not passed on (the hub's sweep is the hub's child). */
static void supervised_gate(void)
{
	const char *path = getenv("DOCPIPE_GATE");
	int f;

	if (path == NULL)
		return;
	while ((f = open(path, O_RDONLY | O_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (f < 0) {
		dp_diag("%s: %s", path, strerror(errno));
		raise(SIGTERM);
		return;
	}
	close(f);
	unsetenv("DOCPIPE_GATE");
}

static void supervised_stdout(void)
{
	const char *path = getenv("DOCPIPE_STDOUT");

	if (path == NULL)
		return;
	int f = open(path, O_WRONLY);
	if (f < 0 || (f != STDOUT_FILENO && dup2(f, STDOUT_FILENO) < 0)) {
		dp_diag("%s: %s", path, strerror(errno));
		close(STDOUT_FILENO);
	}
	if (f >= 0 && f != STDOUT_FILENO)
		close(f);
	unsetenv("DOCPIPE_STDOUT");
}

static void supervised(void)
{
	const char *v = getenv("DOCPIPE_SUPERVISOR");

	if (v == NULL)
		return;
	pid_t parent = (pid_t)strtol(v, NULL, 10);
	unsetenv("DOCPIPE_SUPERVISOR");
	(void)setsid();
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
		raise(SIGTERM);
	supervised_gate();
	supervised_stdout();
}

/* What jq's out-of-memory handler writes, made at dp_cli_init: the
 * handler may not allocate (the heap is exhausted) nor use stdio. */
static char nomem_words[200];
static size_t nomem_len;

static void nomem(void *data)
{
	(void)data;
	if (write(STDERR_FILENO, nomem_words, nomem_len) < 0)
		return; /* nothing more can be said */
}

void dp_cli_nomem_said(void)
{
	jv_nomem_handler(nomem, NULL);
}

double dp_cli_test_hook(const char *name, double otherwise)
{
	const char *s = getenv(name);
	double v = s != NULL ? atof(s) : 0;

	return v > 0 ? v : otherwise;
}

void dp_cli_init(const char *stage)
{
	dp_set_stage(stage); /* a name only: supervised may speak */
	supervised();
	hold_closed_std_fds();
	raise_open_files();
	int n = snprintf(nomem_words, sizeof nomem_words,
			 "docpipe-%s: out of memory: the records in progress need more memory than the"
			 " process may take (ulimit -v, a container's limit); stopping\n", stage);
	nomem_len = n > 0 && (size_t)n < sizeof nomem_words ? (size_t)n : 0;
	dp_cli_nomem_said();
	signal(SIGPIPE, SIG_IGN);
}

int dp_cli_parse_long(const char *opt_name, const char *arg, long min, long max,
		      long *out, dp_err *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || isspace((unsigned char)arg[0]) || v < min ||
	    v > max) {
		dp_err_set(err, "--%s: '%s' is not a whole number from %ld to %ld",
			   opt_name, arg, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int dp_cli_read_double(const char *arg, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(arg, &end);
	return errno != 0 || end == arg || *end != '\0' || isspace((unsigned char)arg[0]) ? -1 : 0;
}

int dp_cli_unknown_option(void)
{
	/* getopt_long has named the option already. */
	dp_diag("try --help");
	return DP_EXIT_USAGE;
}

void dp_cli_version(void)
{
	printf("docpipe-%s %s (protocol %d)\n", dp_stage(), DOCPIPE_VERSION, DP_PROTOCOL_VERSION);
}

int dp_cli_getopt(const dp_cli_spec *spec, int argc, char **argv, void *ctx,
		  int (*other)(void *other_ctx, int opt, const char *arg), void *other_ctx)
{
	dp_err err;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, spec->shortopts, spec->longopts, NULL)) != -1) {
		if (opt == spec->help) {
			spec->usage(stdout);
			return DP_EXIT_OK;
		}
		if (opt == DP_OPT_VERSION) {
			dp_cli_version();
			return DP_EXIT_OK;
		}
		if ((rc = spec->take(ctx, opt, optarg, &err)) < 0) {
			dp_diag("%s", err.msg);
			return DP_EXIT_USAGE;
		}
		if (rc > 0)
			continue;
		if (other == NULL)
			return dp_cli_unknown_option();
		if ((rc = other(other_ctx, opt, optarg)) >= 0)
			return rc;
	}
	return -1;
}

int dp_cli_report(jv report, int json, void (*print_text)(FILE *out, jv report), dp_err *err)
{
	if (json) {
		jv text = dp_record_dump(report);
		printf("%s\n", jv_string_value(text));
		jv_free(text);
	} else {
		print_text(stdout, report);
		jv_free(report);
	}
	return dp_stdout_flush(err);
}

static void on_stop_signal(int sig)
{
	(void)sig;
	dp_request_stop();
}

void dp_cli_handle_signals(void)
{
	struct sigaction sa = {.sa_handler = on_stop_signal, .sa_flags = SA_RESETHAND};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}
