#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "record.h"

#ifndef DOCPIPE_VERSION
#define DOCPIPE_VERSION "0.1.0"
#endif

const char dp_cli_help[] =
	"Input and output:\n"
	"  --in ENDPOINT       read records from ENDPOINT instead of stdin\n"
	"  --out ENDPOINT      write records to ENDPOINT instead of stdout\n"
	"  --max-record BYTES  refuse records larger than BYTES (default 64 MiB)\n"
	"  --version           print the version and exit\n"
	"  --help              print this help and exit\n";

void dp_cli_init(const char *stage)
{
	dp_set_stage(stage);
	signal(SIGPIPE, SIG_IGN);
}

int dp_cli_parse_long(const char *opt_name, const char *arg, long min, long max,
		      long *out, dp_err *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < min || v > max) {
		dp_err_set(err, "--%s: '%s' is not a whole number from %ld to %ld",
			   opt_name, arg, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

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
	case DP_OPT_VERSION:
		printf("docpipe-%s %s (protocol %d)\n", dp_stage(), DOCPIPE_VERSION,
		       DP_PROTOCOL_VERSION);
		return DP_CLI_EXIT;
	default:
		return DP_CLI_UNKNOWN;
	}
}

int dp_cli_open(const dp_cli *cli, int want_source, dp_source **src, dp_sink **sink,
		dp_err *err)
{
	*src = NULL;
	if (want_source) {
		*src = dp_source_open(cli->in, &cli->io, err);
		if (*src == NULL)
			return -1;
	}
	*sink = dp_sink_open(cli->out, &cli->io, err);
	if (*sink == NULL) {
		dp_source_free(src);
		return -1;
	}
	return 0;
}
