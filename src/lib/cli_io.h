/* Options a program that reads or writes records shares (--in, --out,
 * --max-record, --jq, the ZeroMQ and CurveZMQ ones; --version is cli.h's),
 * and opening its input and output from them.
 *
 * A stage's main() puts DP_CLI_LONGOPTS into its getopt_long table, hands
 * every option it does not know to dp_cli_option() (or parses with
 * dp_cli_parse), prints dp_cli_help in its --help, and opens its source
 * and sink with dp_cli_open().  Apart from cli.c so that a program with
 * none of them (docpipe-status) links no transport and no libzmq. */
#ifndef DP_CLI_IO_H
#define DP_CLI_IO_H

#include "cli.h"
#include "transport.h"

/* Option codes of the shared options (after DP_OPT_VERSION, cli.h). */
enum {
	DP_OPT_IN = DP_OPT_VERSION + 1,
	DP_OPT_OUT,
	DP_OPT_MAX_RECORD,
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

/* dp_cli_getopt (cli.h) with the shared options: each option the main's
 * spec->take does not know goes to dp_cli_other_option (into cli). */
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
 * stage (dp_zmq_refusal_stops, zmqmon.h; dp_cli_exit_status says why). */
int dp_cli_open(const dp_cli *cli, int want_source, dp_source **src, dp_sink **sink,
		dp_err *err);

/* Closes the stage's sink (dp_sink_close, flushing its last records): a
 * failure is said on stderr and makes rc DP_EXIT_SYSTEM, unless rc is
 * that already (its failure, said, stands).  Returns rc so changed. */
int dp_cli_close_sink(dp_sink **sink, int rc);

/* The exit status of a stage whose run ended with rc: DP_EXIT_USAGE, after
 * saying why on stderr, when a peer refused its handshake (zmqmon.h: the
 * refusal is what stopped it); DP_EXIT_INTERRUPTED when a stop signal
 * ended its input early and nothing worse happened. */
int dp_cli_exit_status(int rc);

#endif
