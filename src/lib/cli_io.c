#include "cli_io.h"

#include <signal.h>
#include <stdio.h>

#include "curve.h"
#include "jqfilter.h"
#include "stats.h"
#include "zmqmon.h"
#include "zmqsock.h"

/* The options after --in, shared by both help texts below. */
#define CLI_HELP_AFTER_IN \
	"  --out ENDPOINT      write records to ENDPOINT instead of stdout\n" \
	"  --max-record BYTES  refuse records larger than BYTES (default 64 MiB)\n" \
	"  --jq PROGRAM        run the jq PROGRAM on every record written: its outputs\n" \
	"                      are written instead (none drops the record; a runtime\n" \
	"                      error makes it an error record: exit 1)\n" \
	"ZeroMQ (ENDPOINT is tcp://HOST:PORT, ipc://PATH; a leading @ binds):\n" \
	"  --stats ENDPOINT    send counters there every 500 ms (the hub's stats edge)\n" \
	"  --hwm N             high-water mark of the sockets (default 16 records)\n" \
	"  --curve-server FILE encrypt with CurveZMQ: the server's public key file\n" \
	"  --curve-key FILE    this side's key pair file (docpipe keygen); a key file\n" \
	"                      missing, unreadable or malformed is a usage error\n" \
	"  --insecure          allow plaintext to endpoints off loopback\n" \
	"  --version           print the version and exit\n" \
	"  --help              print this help and exit\n"

const char dp_cli_help[] =
	"Input and output:\n"
	"  --in ENDPOINT       read records from ENDPOINT instead of stdin\n"
	CLI_HELP_AFTER_IN;

const char dp_cli_help_no_input[] = "Output:\n" CLI_HELP_AFTER_IN;

int dp_cli_option(dp_cli *cli, int opt, const char *arg, dp_err *err)
{
	long n;

	switch (opt) {
	case DP_OPT_IN:
		cli->in = arg;
		return DP_CLI_TAKEN;
	case DP_OPT_OUT:
		cli->out = arg;
		return DP_CLI_TAKEN;
	case DP_OPT_MAX_RECORD:
		if (dp_cli_parse_long("max-record", arg, 1024, 1L << 30, &n, err) < 0)
			return DP_CLI_BAD;
		cli->io.max_record = (size_t)n;
		return DP_CLI_TAKEN;
	case DP_OPT_JQ: {
		/* Compiled now so that a broken program is a usage error at start. */
		dp_jq *jq = dp_jq_new(arg, err);
		if (jq == NULL)
			return DP_CLI_BAD;
		dp_jq_free(&jq);
		cli->io.jq = arg;
		return DP_CLI_TAKEN;
	}
	case DP_OPT_STATS:
		cli->stats = arg;
		return DP_CLI_TAKEN;
	case DP_OPT_HWM:
		if (dp_cli_parse_long("hwm", arg, 1, 100000, &n, err) < 0)
			return DP_CLI_BAD;
		cli->io.hwm = (int)n;
		return DP_CLI_TAKEN;
	case DP_OPT_CURVE_SERVER:
		/* Key files are read now: one missing, unreadable or malformed
		 * is a usage error, never a replica restarted to fail again. */
		if (dp_curve_check("--curve-server", arg, DP_CURVE_PUBLIC, err) < 0)
			return DP_CLI_BAD;
		cli->io.curve_server = arg;
		return DP_CLI_TAKEN;
	case DP_OPT_CURVE_KEY:
		if (dp_curve_check("--curve-key", arg, DP_CURVE_PAIR, err) < 0)
			return DP_CLI_BAD;
		cli->io.curve_key = arg;
		return DP_CLI_TAKEN;
	case DP_OPT_INSECURE:
		cli->io.insecure = 1;
		return DP_CLI_TAKEN;
	case DP_OPT_VERSION: /* for a main's own getopt_long loop (store, query, plan) */
		dp_cli_version();
		return DP_CLI_EXIT;
	default:
		return DP_CLI_UNKNOWN;
	}
}

int dp_cli_other_option(dp_cli *cli, int opt, const char *arg)
{
	dp_err err;

	switch (dp_cli_option(cli, opt, arg, &err)) {
	case DP_CLI_TAKEN:
		return -1;
	case DP_CLI_EXIT:
		return DP_EXIT_OK;
	case DP_CLI_BAD:
		dp_diag("%s", err.msg);
		return DP_EXIT_USAGE;
	default:
		return dp_cli_unknown_option();
	}
}

static int other_option(void *cli, int opt, const char *arg)
{
	return dp_cli_other_option(cli, opt, arg);
}

int dp_cli_parse(const dp_cli_spec *spec, int argc, char **argv, void *ctx, dp_cli *cli)
{
	return dp_cli_getopt(spec, argc, argv, ctx, other_option, cli);
}

int dp_cli_curve_pair(const dp_io_opts *io, dp_err *err)
{
	if (io->curve_key != NULL && io->curve_server == NULL)
		dp_err_set(err, "--curve-key needs --curve-server (the server's public key)");
	else if (io->curve_server != NULL && io->curve_key == NULL)
		dp_err_set(err, "--curve-server needs --curve-key (this side's key pair)");
	else
		return 0;
	return -1;
}

int dp_cli_open(const dp_cli *cli, int want_source, dp_source **src, dp_sink **sink,
		dp_err *err)
{
	*src = NULL;
	*sink = NULL;
	if (dp_cli_curve_pair(&cli->io, err) < 0)
		return DP_EXIT_USAGE;
	if (want_source && dp_zmq_is_endpoint(cli->in))
		dp_cli_handle_signals();
	dp_zmq_refusal_stops(1);
	/* The stats first: the hub must know this process before a record
	 * can reach it (dp_stats_start). */
	if (cli->stats != NULL) {
		dp_zmq_opts z = {.hwm = cli->io.hwm, .curve_server = cli->io.curve_server,
				 .curve_key = cli->io.curve_key, .insecure = cli->io.insecure};
		if (dp_stats_start(cli->stats, &z, err) < 0)
			return DP_EXIT_SYSTEM;
	}
	if (want_source && (*src = dp_source_open(cli->in, &cli->io, err)) == NULL) {
		dp_stats_stop();
		return DP_EXIT_SYSTEM;
	}
	*sink = dp_sink_open(cli->out, &cli->io, err);
	if (*sink == NULL) {
		dp_source_free(src);
		dp_stats_stop();
		return DP_EXIT_SYSTEM;
	}
	return 0;
}

int dp_cli_close_sink(dp_sink **sink, int rc)
{
	dp_err err;

	if (dp_sink_close(sink, &err) < 0 && rc != DP_EXIT_SYSTEM) {
		dp_diag("%s", err.msg);
		rc = DP_EXIT_SYSTEM;
	}
	return rc;
}

int dp_cli_exit_status(int rc)
{
	char why[DP_ERR_MAX];

	if (dp_zmq_refused(why, sizeof why)) {
		dp_diag("%s", why);
		return DP_EXIT_USAGE;
	}
	return rc == DP_EXIT_OK && dp_stop_requested() ? DP_EXIT_INTERRUPTED : rc;
}
