/* docpipe-hub: binds the edges of a docpipe graph, feeds it the file
 * records read on stdin and tracks each document to its receipt. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_io.h"
#include "curve.h"
#include "err.h"
#include "evict.h"
#include "hub.h"
#include "relay.h"

enum {
	OPT_LISTEN = 0x100,
	OPT_LOCAL,
	OPT_ENDPOINTS,
	OPT_INPUT,
	OPT_RUN,
	OPT_WINDOW,
	OPT_WINDOW_BYTES,
	OPT_TIMEOUT,
	OPT_ATTEMPTS,
	OPT_CURVE_SECRET,
	OPT_ALLOW,
	OPT_SWEEP_STORE,
	OPT_SWEEP_ARG,
	OPT_ROOT,
	OPT_PROGRESS,
	OPT_PROGRESS_EVERY,
	OPT_METRICS,
	OPT_WATCH,
	OPT_NO_OVERLAP,
	OPT_KILL_SILENT,
	OPT_REPLICAS,
	OPT_KEYGEN,
	OPT_LAYOUT,
	OPT_CHECK_KEYS,
	OPT_MESSAGES,
	OPT_RELAY,
	OPT_RELAY_END,
	OPT_HELP,
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: docpipe-hub --run ID [OPTIONS] < file-records\n"
		"       docpipe-hub --keygen BASE\n"
		"       docpipe-hub --layout --listen tcp://HOST:PORT\n"
		"       docpipe-hub --check-keys KEY-OPTIONS...\n"
		"       docpipe-hub --relay FILE | --relay-end FILE\n"
		"Binds every edge of a docpipe graph; stage replicas connect to it. Reads\n"
		"file records (docpipe-discover) on stdin, stamps each with the run ID and a\n"
		"sequence number, feeds them to the chunk stage with at most --window in\n"
		"flight, re-sends those whose store receipt does not come within --timeout,\n"
		"and prints a JSON report on stdout when every document has its outcome.\n"
		"\n"
		"Options:\n"
		"  --run ID             the run id stamped on every record (required)\n"
		"  --listen ENDPOINT    tcp://HOST:PORT binds ports PORT..PORT+8 (PORT 0: any\n"
		"                       free ports), ipc://DIR binds sockets in DIR\n"
		"                       (default tcp://127.0.0.1:0)\n"
		"  --local ipc://DIR    also bind every edge as socket files in DIR, for\n"
		"                       this machine's replicas: --endpoints lists those\n"
		"  --endpoints FILE     write the bound endpoints as VAR=ENDPOINT lines\n"
		"  --input FILE         read the file records from FILE (a FIFO), not stdin,\n"
		"                       opened once the edges are bound and --endpoints\n"
		"                       written: replicas may start while its writer has not\n"
		"  --window N           documents in flight at most (default 64)\n"
		"  --window-bytes BYTES what they hold in the hub at most: each its file's size,\n"
		"                       or its first output waiting for its twin, up to a\n"
		"                       quarter of it; 0: no bound (default 16 MiB)\n"
		"  --timeout SECONDS    re-send a document without receipt after this (default 300),\n"
		"                       or after SRTT + 4 RTTVAR of the documents' send-to-receipt\n"
		"                       times when that is longer (RFC 6298)\n"
		"  --attempts N         sends before a document counts as failed (default 4)\n"
		"  --curve-secret FILE  encrypt every edge with CurveZMQ, this key pair\n"
		"  --allow FILE         public keys of the clients allowed (with --curve-secret)\n"
		"  --insecure           allow plaintext on an address off loopback\n"
		"  --hwm N              high-water mark of every edge (default 16)\n"
		"  --max-record BYTES   largest record accepted (default 64 MiB)\n"
		"  --sweep-store PATH   when complete, run PATH --sweep RUN ROOT... and count\n"
		"                       its deleted receipts\n"
		"  --sweep-arg ARG      an argument for that command (repeatable)\n"
		"  --root ROOT          a root of the run, for the sweep (repeatable)\n"
		"  --progress MODE      tty, plain or none (default: tty if stderr is one)\n"
		"  --progress-every S   seconds between plain progress lines (default 10)\n"
		"  --messages FILE      with --progress tty: the run's messages, appended to FILE\n"
		"                       by its other processes; the hub sends its own stderr\n"
		"                       there too and shows each line above the progress, and\n"
		"                       how many bytes it showed in FILE.shown (docpipe run)\n"
		"  --metrics HOST:PORT  serve Prometheus metrics at http://HOST:PORT/metrics\n"
		"  --watch              after the first pass (up to discover's end record, then\n"
		"                       swept), go on with the records that follow until SIGTERM\n"
		"  --no-overlap         run summarize and embed one after the other; by default\n"
		"                       each document goes to both at once and their outputs\n"
		"                       are joined for the store\n"
		"  --kill-silent        kill (SIGKILL) a replica of this machine that falls\n"
		"                       silent while its stage has other live replicas, before\n"
		"                       re-sending what it held, so that the copies do not queue\n"
		"                       behind it; a stage's only replica after 30 s of silence\n"
		"                       (docpipe run gives it: its supervisor restarts them);\n"
		"                       with --replicas, also one stopped before it was ever\n"
		"                       heard from, once its stage has had no live replica 30 s\n"
		"  --replicas FILE      the replicas started on this machine, a \"NAME PID\" line\n"
		"                       each (NAME STAGE-N, appended at each start): when\n"
		"                       documents have waited 10 s on a stage with no live\n"
		"                       replica, the hub names them with their states\n"
		"  --keygen BASE        write a CurveZMQ key pair to BASE.key and BASE.pub\n"
		"  --layout             print the endpoints replicas connect to for --listen,\n"
		"                       \"STAGE IN OUT\" lines and \"stats ENDPOINT\", and exit\n"
		"                       (what docpipe worker uses)\n"
		"  --check-keys         read the key files that --curve-secret, --allow,\n"
		"                       --curve-server and --curve-key name and exit: 0, or 2\n"
		"                       naming the file and what is wrong (what docpipe run and\n"
		"                       docpipe worker do before they start anything)\n"
		"  --relay FILE         show on stderr the complete lines of FILE after the\n"
		"                       bytes FILE.shown counts, count them there and exit (what\n"
		"                       docpipe run shows once the hub is gone)\n"
		"  --relay-end FILE     the same, the last line without its newline too\n"
		"  --version            print the version and exit\n"
		"  --help               print this help and exit\n"
		"The stage options (--in, --out, --stats, --jq, --curve-server, --curve-key)\n"
		"are refused: the hub binds every edge, and the stages connect to it.  Every\n"
		"key file is read as the options are: one missing, unreadable or malformed is\n"
		"a usage error (2).\n"
		"\n%s",
		dp_exit_codes_help);
}

/* Appends arg to a list that grows by one per option given: bounded by
 * the command line. */
static int push_arg(char ***list, size_t *n, char *arg, dp_err *err)
{
	char **grown = realloc(*list, (*n + 1) * sizeof **list);

	if (grown == NULL) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	*list = grown;
	(*list)[(*n)++] = arg;
	return 0;
}

/* What the command line asks for: a run (cfg), or --keygen or --layout. */
struct args {
	hub_config cfg;
	dp_cli cli;
	const char *keygen;
	const char *messages; /* --messages */
	const char *relay;    /* --relay or --relay-end */
	int layout, check_keys, relay_end;
};

/* Takes option opt into a.  Returns 1 when it is one of the hub's own, 0
 * when it is not (a stage option, or getopt's '?'), -1 with err set for a
 * bad value (a usage error). */
static int hub_option(void *ctx, int opt, char *arg, dp_err *err)
{
	struct args *a = ctx;
	long n;
	int rc = 0;

	switch (opt) {
	case OPT_LISTEN: a->cfg.listen = arg; break;
	case OPT_LOCAL: a->cfg.local = arg; break;
	case OPT_ENDPOINTS: a->cfg.endpoints_file = arg; break;
	case OPT_INPUT: a->cfg.input = arg; break;
	case OPT_RUN: a->cfg.run = arg; break;
	case OPT_METRICS: a->cfg.metrics = arg; break;
	case OPT_WATCH: a->cfg.watch = 1; break;
	case OPT_NO_OVERLAP: a->cfg.overlap = 0; break;
	case OPT_KILL_SILENT: a->cfg.kill_silent = 1; break;
	case OPT_REPLICAS: a->cfg.replicas = arg; break;
	case OPT_WINDOW:
		rc = dp_cli_parse_long("window", arg, 1, 1 << 20, &n, err);
		a->cfg.window = (size_t)n;
		break;
	case OPT_WINDOW_BYTES:
		rc = dp_cli_parse_long("window-bytes", arg, 0, 1L << 50, &n, err);
		a->cfg.window_bytes = (double)n;
		break;
	case OPT_TIMEOUT:
		rc = dp_cli_parse_long("timeout", arg, 1, 86400, &n, err);
		a->cfg.timeout = (double)n;
		break;
	case OPT_ATTEMPTS:
		rc = dp_cli_parse_long("attempts", arg, 1, 100, &n, err);
		a->cfg.attempts = (int)n;
		break;
	case OPT_PROGRESS_EVERY:
		rc = dp_cli_parse_long("progress-every", arg, 1, 3600, &n, err);
		a->cfg.progress_every = (double)n;
		break;
	case OPT_CURVE_SECRET:
		rc = dp_curve_check("--curve-secret", arg, DP_CURVE_PAIR, err);
		a->cfg.zmq.curve_secret = arg;
		break;
	case OPT_ALLOW:
		rc = dp_curve_check("--allow", arg, DP_CURVE_ALLOW, err);
		a->cfg.allow = arg;
		break;
	case OPT_SWEEP_STORE: a->cfg.sweep_store = arg; break;
	case OPT_SWEEP_ARG: rc = push_arg(&a->cfg.sweep_args, &a->cfg.nsweep_args, arg, err); break;
	case OPT_ROOT: rc = push_arg(&a->cfg.roots, &a->cfg.nroots, arg, err); break;
	case OPT_PROGRESS:
		if (strcmp(arg, "tty") == 0)
			a->cfg.progress = HUB_PROGRESS_TTY;
		else if (strcmp(arg, "plain") == 0)
			a->cfg.progress = HUB_PROGRESS_PLAIN;
		else if (strcmp(arg, "none") == 0)
			a->cfg.progress = HUB_PROGRESS_NONE;
		else
			rc = -1, dp_err_set(err, "--progress: tty, plain or none");
		break;
	case OPT_KEYGEN:
		/* "--keygen --version" wrote --version.key and --version.pub. */
		if (arg[0] == '-')
			rc = -1, dp_err_set(err, "--keygen: BASE '%s' looks like an option (./%s for such a file)",
					    arg, arg);
		a->keygen = arg;
		break;
	case OPT_LAYOUT: a->layout = 1; break;
	case OPT_CHECK_KEYS: a->check_keys = 1; break;
	case OPT_MESSAGES: a->messages = arg; break;
	case OPT_RELAY: a->relay = arg, a->relay_end = 0; break;
	case OPT_RELAY_END: a->relay = arg, a->relay_end = 1; break;
	/* A stage's key files: read by --check-keys only; a run refuses them
	 * as stage options (check_run), which says more than their reading. */
	case DP_OPT_CURVE_SERVER: a->cli.io.curve_server = arg; break;
	case DP_OPT_CURVE_KEY: a->cli.io.curve_key = arg; break;
	default: return 0;
	}
	return rc < 0 ? -1 : 1;
}

/* Parses the command line into a.  Returns -1 to go on, else the exit
 * status (after --help, --version or a usage error, said on stderr). */
static int parse(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{"listen", required_argument, NULL, OPT_LISTEN},
		{"local", required_argument, NULL, OPT_LOCAL},
		{"endpoints", required_argument, NULL, OPT_ENDPOINTS},
		{"input", required_argument, NULL, OPT_INPUT},
		{"run", required_argument, NULL, OPT_RUN},
		{"window", required_argument, NULL, OPT_WINDOW},
		{"window-bytes", required_argument, NULL, OPT_WINDOW_BYTES},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"attempts", required_argument, NULL, OPT_ATTEMPTS},
		{"curve-secret", required_argument, NULL, OPT_CURVE_SECRET},
		{"allow", required_argument, NULL, OPT_ALLOW},
		{"sweep-store", required_argument, NULL, OPT_SWEEP_STORE},
		{"sweep-arg", required_argument, NULL, OPT_SWEEP_ARG},
		{"root", required_argument, NULL, OPT_ROOT},
		{"progress", required_argument, NULL, OPT_PROGRESS},
		{"progress-every", required_argument, NULL, OPT_PROGRESS_EVERY},
		{"metrics", required_argument, NULL, OPT_METRICS},
		{"watch", no_argument, NULL, OPT_WATCH},
		{"no-overlap", no_argument, NULL, OPT_NO_OVERLAP},
		{"kill-silent", no_argument, NULL, OPT_KILL_SILENT},
		{"replicas", required_argument, NULL, OPT_REPLICAS},
		{"keygen", required_argument, NULL, OPT_KEYGEN},
		{"layout", no_argument, NULL, OPT_LAYOUT},
		{"check-keys", no_argument, NULL, OPT_CHECK_KEYS},
		{"messages", required_argument, NULL, OPT_MESSAGES},
		{"relay", required_argument, NULL, OPT_RELAY},
		{"relay-end", required_argument, NULL, OPT_RELAY_END},
		{"help", no_argument, NULL, OPT_HELP},
		DP_CLI_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	static const dp_cli_spec spec = {"", longopts, OPT_HELP, usage, hub_option};

	return dp_cli_parse(&spec, argc, argv, a, &a->cli);
}

/* The CurveZMQ options that need one another, said on stderr: -1 when one
 * is given without its partner, else 0. */
static int curve_pairs(const struct args *a)
{
	dp_err err;

	if (a->cfg.zmq.curve_secret != NULL && a->cfg.allow == NULL)
		dp_diag("--curve-secret needs --allow FILE (the clients' public keys)");
	else if (a->cfg.allow != NULL && a->cfg.zmq.curve_secret == NULL)
		dp_diag("--allow needs --curve-secret FILE (without it no client is checked)");
	else if (dp_cli_curve_pair(&a->cli.io, &err) < 0)
		dp_diag("%s", err.msg);
	else
		return 0;
	return -1;
}

/* --check-keys: the hub's own key files were read with their options; a
 * stage's are read here.  Returns the exit status, having said what is
 * wrong. */
static int check_keys(const struct args *a)
{
	const dp_io_opts *io = &a->cli.io;
	dp_err err;

	if ((io->curve_server != NULL &&
	     dp_curve_check("--curve-server", io->curve_server, DP_CURVE_PUBLIC, &err) < 0) ||
	    (io->curve_key != NULL && dp_curve_check("--curve-key", io->curve_key, DP_CURVE_PAIR, &err) < 0)) {
		dp_diag("%s", err.msg);
		return DP_EXIT_USAGE;
	}
	return curve_pairs(a) < 0 ? DP_EXIT_USAGE : DP_EXIT_OK;
}

/* The usage errors of a run's command line; 0 when there is none. */
static int check_run(int argc, char **argv, const struct args *a)
{
	const dp_cli *cli = &a->cli;

	if (optind < argc)
		dp_diag("unexpected argument '%s'", argv[optind]);
	else if (a->cfg.run == NULL)
		dp_diag("--run ID is required");
	else if (a->cfg.local != NULL && strncmp(a->cfg.local, "ipc://", 6) != 0)
		dp_diag("--local %s: expected ipc://DIR", a->cfg.local);
	else if (a->messages != NULL && a->cfg.progress != HUB_PROGRESS_TTY)
		dp_diag("--messages: only with --progress tty (else messages go to stderr as written)");
	else if (cli->in != NULL || cli->out != NULL || cli->stats != NULL || cli->io.jq != NULL ||
		 cli->io.curve_server != NULL || cli->io.curve_key != NULL)
		dp_diag("--in, --out, --stats, --jq, --curve-server and --curve-key are stage"
			" options, not the hub's (its own CurveZMQ key pair: --curve-secret)");
	else
		return curve_pairs(a);
	return -1;
}

/* --messages: the progress goes to the terminal that stderr was, through
 * a stream of its own (its redraws are one write each), and stderr, the
 * hub's diagnostics and its sweep's, goes to the end of the messages file,
 * which cfg->relay shows above the progress.  Returns 0, or -1 having
 * said why (on stderr as it was). */
static int take_stderr(struct args *a, hub_relay *relay)
{
	dp_err err;
	int tty = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3), fd = -1;
	FILE *display = tty >= 0 ? fdopen(tty, "w") : NULL;

	if (display == NULL || setvbuf(display, NULL, _IOFBF, BUFSIZ) != 0) {
		dp_diag("--messages: the terminal: %s", strerror(errno));
	} else if (hub_relay_open(relay, a->messages, &err) < 0) {
		dp_diag("--messages: %s", err.msg);
	} else if ((fd = open(a->messages, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0 ||
		   dup2(fd, STDERR_FILENO) < 0) {
		dp_diag("--messages: %s: %s", a->messages, strerror(errno));
		hub_relay_close(relay);
	} else {
		close(fd);
		a->cfg.display = display, a->cfg.relay = relay;
		return 0;
	}
	if (fd >= 0)
		close(fd);
	if (display != NULL)
		fclose(display);
	else if (tty >= 0)
		close(tty);
	return -1;
}

/* --relay, --relay-end: what the hub did not show of FILE, on stderr. */
static int relay_rest(const struct args *a)
{
	hub_relay relay;
	dp_err err;

	if (hub_relay_open(&relay, a->relay, &err) < 0 ||
	    hub_relay_show(&relay, stderr, "", a->relay_end, &err) < 0) {
		dp_diag("--relay: %s", err.msg);
		hub_relay_close(&relay);
		return DP_EXIT_SYSTEM;
	}
	hub_relay_close(&relay);
	return DP_EXIT_OK;
}

/* SIGUSR1: docpipe run's supervisor says that the run is stopping. */
static void on_stopping(int sig)
{
	(void)sig;
	hub_note_stopping();
}

/* --keygen, --check-keys, --layout or the run; returns the exit status. */
static int act(int argc, char **argv, struct args *a)
{
	dp_err err;
	int rc;

	if (a->keygen != NULL) {
		rc = dp_curve_keygen(a->keygen, &err) < 0 ? DP_EXIT_SYSTEM : DP_EXIT_OK;
		if (rc != DP_EXIT_OK)
			dp_diag("%s", err.msg);
		return rc;
	}
	if (a->check_keys)
		return check_keys(a);
	if (a->relay != NULL)
		return relay_rest(a);
	if (a->layout) {
		if (hub_print_layout(a->cfg.listen, stdout, &err) < 0) {
			dp_diag("%s", err.msg);
			return DP_EXIT_USAGE;
		}
		return fflush(stdout) == 0 ? DP_EXIT_OK : DP_EXIT_SYSTEM;
	}
	if (check_run(argc, argv, a) < 0)
		return DP_EXIT_USAGE;
	hub_relay relay;
	if (a->messages != NULL && take_stderr(a, &relay) < 0)
		return DP_EXIT_SYSTEM;
	a->cfg.zmq.hwm = a->cli.io.hwm;
	a->cfg.zmq.insecure = a->cli.io.insecure;
	a->cfg.zmq.max_record = a->cli.io.max_record;
	/* Test hook, not for use: a shorter lone replica's silence than
	 * HUB_EVICT_LONE_S, which a test would wait out (graph_replica_frozen). */
	a->cfg.evict_lone_s = dp_cli_test_hook("DOCPIPE_HUB_TEST_EVICT_LONE_S", HUB_EVICT_LONE_S);
	dp_cli_handle_signals();
	/* Taken by the loop's thread only (hub_run). */
	struct sigaction sa = {.sa_handler = on_stopping, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	rc = hub_run(&a->cfg, &err);
	if (err.msg[0] != '\0')
		dp_diag("%s", err.msg);
	if (a->cfg.relay != NULL) {
		/* The summary and the lines above, below the final progress;
		 * what comes after, docpipe run shows (--relay). */
		if (hub_relay_show(a->cfg.relay, a->cfg.display, "", 1, &err) < 0)
			dp_diag("%s", err.msg);
		hub_relay_close(a->cfg.relay);
		fclose(a->cfg.display);
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct args a = {.cfg = {.listen = "tcp://127.0.0.1:0", .window = 64,
				 .window_bytes = HUB_WINDOW_BYTES_DEFAULT, .timeout = 300,
				 .attempts = 4, .progress_every = 10, .overlap = 1}};
	int rc;

	dp_cli_init("hub");
	a.cfg.display = stderr;
	a.cfg.progress = isatty(STDERR_FILENO) ? HUB_PROGRESS_TTY : HUB_PROGRESS_PLAIN;
	if ((rc = parse(argc, argv, &a)) < 0)
		rc = act(argc, argv, &a);
	free(a.cfg.sweep_args);
	free(a.cfg.roots);
	return rc;
}
