/* Command-line options every stage shares, and opening its input and
 * output from them.
 *
 * A stage's main() puts DP_CLI_LONGOPTS into its getopt_long table, hands
 * every option it does not know to dp_cli_option(), prints dp_cli_help in
 * its --help, and opens its source and sink with dp_cli_open(). */
#ifndef DP_CLI_H
#define DP_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "err.h"
#include "transport.h"

/* Option codes of the shared options (outside the range of short options). */
enum {
	DP_OPT_IN = 0x1000,
	DP_OPT_OUT,
	DP_OPT_MAX_RECORD,
	DP_OPT_VERSION,
	DP_OPT_JQ,
	DP_OPT_STATS,
	DP_OPT_HWM,
	DP_OPT_CURVE_SERVER,
	DP_OPT_CURVE_KEY,
	DP_OPT_INSECURE,
};

#define DP_CLI_LONGOPTS                                                        \
	{"in", required_argument, NULL, DP_OPT_IN},                            \
	{"out", required_argument, NULL, DP_OPT_OUT},                          \
	{"max-record", required_argument, NULL, DP_OPT_MAX_RECORD},            \
	{"version", no_argument, NULL, DP_OPT_VERSION},                        \
	{"jq", required_argument, NULL, DP_OPT_JQ},                            \
	{"stats", required_argument, NULL, DP_OPT_STATS},                      \
	{"hwm", required_argument, NULL, DP_OPT_HWM},                          \
	{"curve-server", required_argument, NULL, DP_OPT_CURVE_SERVER},        \
	{"curve-key", required_argument, NULL, DP_OPT_CURVE_KEY},              \
	{"insecure", no_argument, NULL, DP_OPT_INSECURE}

typedef struct dp_cli {
	const char *in;  /* NULL: stdin */
	const char *out; /* NULL: stdout */
	const char *stats; /* --stats: where counters go (stats.h); NULL: nowhere */
	dp_io_opts io;
} dp_cli;

/* The shared options as --help prints them; _no_input without --in, for a
 * program that reads no records (discover, watch, query refuse --in). */
extern const char dp_cli_help[];
extern const char dp_cli_help_no_input[];

enum dp_cli_result {
	DP_CLI_UNKNOWN = 0, /* not a shared option: the stage's own or a usage error */
	DP_CLI_TAKEN = 1,   /* handled */
	DP_CLI_EXIT = 2,    /* handled and printed (--version): exit 0 */
	DP_CLI_BAD = -1     /* bad value: err says why; exit DP_EXIT_USAGE */
};

/* Handles one option returned by getopt_long. */
int dp_cli_option(dp_cli *cli, int opt, const char *arg, dp_err *err);

/* For the `default:` case of a main's getopt_long loop: handles an option
 * the stage itself does not know.  Returns -1 when the option was taken
 * and parsing goes on; otherwise the exit status main returns (after its
 * own cleanup): DP_EXIT_OK after --version, DP_EXIT_USAGE after saying
 * why on stderr. */
int dp_cli_other_option(dp_cli *cli, int opt, const char *arg);

/* A main's own options, for dp_cli_parse. */
typedef struct dp_cli_spec {
	const char *shortopts;         /* getopt_long's ("h": -h is --help) */
	const struct option *longopts; /* ending in the shared ones and a zero entry */
	int help;                      /* what --help returns in getopt_long */
	void (*usage)(FILE *f);        /* prints the --help text */
	/* Takes option opt (its argument: arg) into ctx.  Returns 1 when it
	 * is one of the main's own, 0 when it is not (it goes on to
	 * dp_cli_other_option), -1 with err set for a bad value. */
	int (*take)(void *ctx, int opt, char *arg, dp_err *err);
} dp_cli_spec;

/* The getopt_long loop of a main: --help prints spec->usage to stdout,
 * each option goes to spec->take, then to dp_cli_other_option (into cli).
 * Returns -1 to go on (optind is the first operand), else the exit status
 * main returns: DP_EXIT_OK after --help or --version, DP_EXIT_USAGE after a
 * usage error, said on stderr. */
int dp_cli_parse(const dp_cli_spec *spec, int argc, char **argv, void *ctx, dp_cli *cli);

/* The CurveZMQ client options need each other: 0 when both or neither of
 * --curve-server and --curve-key are given, else -1 with err saying which
 * one is missing (a usage error). */
int dp_cli_curve_pair(const dp_io_opts *io, dp_err *err);

/* Opens the stage's source (if want_source) and sink. Returns 0, or the
 * exit status with err set (nothing left open): DP_EXIT_USAGE for CurveZMQ
 * options that do not go together (--curve-key without --curve-server or
 * the reverse), DP_EXIT_SYSTEM when opening failed.  With a ZeroMQ source it also installs
 * the SIGTERM/SIGINT handler (dp_cli_handle_signals: the source then ends
 * and the stage finishes what it holds); with --stats it starts reporting
 * counters first, before the source connects (dp_stats_start), until
 * dp_sink_close.  A peer refusing the handshake stops the
 * stage (dp_zmq_refusal_stops, zmqmon.h; dp_cli_exit_status says why).
 * It first raises the soft limit on open files to the hard one (at most
 * 65536): requests in flight each hold a socket. */
int dp_cli_open(const dp_cli *cli, int want_source, dp_source **src, dp_sink **sink,
		dp_err *err);

/* Parses a whole number in [min, max]; returns 0 or -1 with err naming
 * the option. */
int dp_cli_parse_long(const char *opt_name, const char *arg, long min, long max,
		      long *out, dp_err *err);

/* Common start of every main: holds a closed standard descriptor (its use
 * fails as a closed one's, never reaching a file or pipe opened later),
 * raises the soft limit on open files to the hard one (at most 65536), names
 * the stage for diagnostics and ignores SIGPIPE so a closed output is an
 * error we report, not a silent death.  A replica that docpipe run started
 * (DOCPIPE_SUPERVISOR in its environment: the supervisor's pid) goes to a
 * session of its own with SIGTERM as its parent-death signal (cli.c,
 * supervised); one started during the run's claim (DOCPIPE_GATE) then
 * waits at its gate until the claim holds (supervised_gate).  Sets
 * dp_cli_nomem_said for the calling thread. */
void dp_cli_init(const char *stage);

/* Makes jq's out-of-memory abort (its allocator's, per thread: a low
 * ulimit -v, a container's limit) say first "docpipe-<stage>: out of
 * memory ..." (jq's own words name no program: "error: cannot allocate
 * memory").  For the calling thread: dp_cli_init calls it for the main
 * thread, dp_stage_pool's threads call it, and so does any other thread
 * that builds jq values (the store's reader). */
void dp_cli_nomem_said(void);

/* A test hook, not for use: the value of environment variable name when it
 * is a positive number, else otherwise.  Why: a test shortens a wait or a
 * limit that is not its subject (docpipe's defaults stay in the code). */
double dp_cli_test_hook(const char *name, double otherwise);

/* SIGTERM and SIGINT call dp_request_stop (stop.h) instead of
 * killing the process; a second signal kills it as usual. */
void dp_cli_handle_signals(void);

/* The exit status of a stage whose run ended with rc: DP_EXIT_USAGE, after
 * saying why on stderr, when a peer refused its handshake (zmqmon.h: the
 * refusal is what stopped it); DP_EXIT_INTERRUPTED when a stop signal
 * ended its input early and nothing worse happened. */
int dp_cli_exit_status(int rc);

#endif
