/* docpipe-store: writes document records into PostgreSQL, one receipt per
 * record; or, with --sweep, removes documents a run no longer saw. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "run.h"
#include "store.h"
#include "zmqsock.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: docpipe-store [OPTIONS] < documents.ndjson > receipts.ndjson\n"
		"       docpipe-store [OPTIONS] --sweep RUN ROOT...\n"
		"Stores document records (chunks, summaries, vectors) in PostgreSQL schema\n"
		"docpipe and writes one receipt per record.  The database comes from\n"
		"$DATABASE_URL, or libpq's PG* variables when it is unset.\n"
		"\n"
		"Options:\n"
		"  --db-env NAME           read the connection URL from $NAME instead of\n"
		"                          $DATABASE_URL\n"
		"  --write-method METHOD   copy (binary COPY, default) or insert (pipelined\n"
		"                          INSERTs, for servers without COPY FROM STDIN)\n"
		"  --db-retry SECONDS      wait this long for a database that went away\n"
		"                          (restart, outage), holding the batch, before\n"
		"                          giving up with status 3 (default 300; 0: no wait);\n"
		"                          at start only with --in ENDPOINT or when given\n"
		"  --sweep RUN ROOT...     delete the documents under the ROOTs whose last run\n"
		"                          is not RUN; print a deleted receipt for each\n"
		"  --require-end RECEIPTS  with --sweep: sweep only if RECEIPTS (this run's\n"
		"                          store output) ends with discover's end record\n"
		"                          (--end-record) proving the walk finished and every\n"
		"                          record arrived; else exit 5, nothing deleted\n"
		"  -q, --quiet             no summary line on stderr\n"
		"\n%s\n%s",
		dp_cli_help, dp_exit_codes_help);
}

enum { OPT_DB_ENV = 0x2000, OPT_WRITE_METHOD, OPT_SWEEP, OPT_DB_RETRY, OPT_REQUIRE_END, OPT_HELP };

struct opening {
	const char *db_env;
	enum store_write_method method;
	double db_retry;
	store *s; /* the store, once open */
};

static int try_open(void *ctx, dp_err *err)
{
	struct opening *o = ctx;

	if ((o->s = store_open(o->db_env, o->method, err)) == NULL)
		return -1;
	o->s->db_retry = o->db_retry;
	return 0;
}

/* Sweeps, after --require-end's proof when given.  Returns an exit code. */
static int sweep(store *s, const char *run, char **roots, size_t nroots, const char *require_end,
		 dp_sink *sink, int quiet, dp_err *err)
{
	size_t deleted;
	char why[DP_ERR_MAX];

	if (require_end != NULL && store_sweep_proven(require_end, why, sizeof why) == 0) {
		dp_diag("sweep refused: %s (%s); nothing deleted", why, require_end);
		return DP_EXIT_INTERRUPTED;
	}
	if (store_sweep(s, run, roots, nroots, sink, &deleted, err) < 0)
		return DP_EXIT_SYSTEM;
	if (!quiet)
		dp_diag("swept %zu document(s)", deleted);
	return DP_EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db-env", required_argument, NULL, OPT_DB_ENV},
		{"write-method", required_argument, NULL, OPT_WRITE_METHOD},
		{"sweep", required_argument, NULL, OPT_SWEEP},
		{"db-retry", required_argument, NULL, OPT_DB_RETRY},
		{"require-end", required_argument, NULL, OPT_REQUIRE_END},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, OPT_HELP},
		DP_CLI_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	dp_cli cli = {0};
	const char *db_env = NULL, *sweep_run = NULL, *require_end = NULL;
	enum store_write_method method = STORE_WRITE_COPY;
	int quiet = 0, opt, rc;
	long db_retry = STORE_DB_RETRY_DEFAULT;
	int db_retry_given = 0;
	dp_err err;

	dp_cli_init("store");
	while ((opt = getopt_long(argc, argv, "q", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_DB_ENV:
			db_env = optarg;
			break;
		case OPT_WRITE_METHOD:
			if (strcmp(optarg, "copy") == 0)
				method = STORE_WRITE_COPY;
			else if (strcmp(optarg, "insert") == 0)
				method = STORE_WRITE_INSERT;
			else {
				dp_diag("--write-method: '%s' is not copy or insert", optarg);
				return DP_EXIT_USAGE;
			}
			break;
		case OPT_SWEEP:
			sweep_run = optarg;
			break;
		case OPT_DB_RETRY:
			if (dp_cli_parse_long("db-retry", optarg, 0, 86400, &db_retry, &err) < 0) {
				dp_diag("%s", err.msg);
				return DP_EXIT_USAGE;
			}
			db_retry_given = 1;
			break;
		case OPT_REQUIRE_END:
			require_end = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case OPT_HELP:
			usage(stdout);
			return DP_EXIT_OK;
		default:
			if ((rc = dp_cli_other_option(&cli, opt, optarg)) >= 0)
				return rc;
		}
	}
	char **roots = argv + optind;
	size_t nroots = (size_t)(argc - optind);
	if (sweep_run != NULL && nroots == 0) {
		dp_diag("--sweep needs at least one ROOT");
		return DP_EXIT_USAGE;
	}
	if (require_end != NULL && sweep_run == NULL) {
		dp_diag("--require-end goes with --sweep");
		return DP_EXIT_USAGE;
	}
	if (sweep_run == NULL && nroots > 0) {
		dp_diag("unexpected argument '%s' (records come from the input)", roots[0]);
		return DP_EXIT_USAGE;
	}
	for (size_t i = 0; i < nroots; i++)
		if (roots[i][0] == '\0') {
			dp_diag("--sweep: a ROOT must not be empty");
			return DP_EXIT_USAGE;
		}

	dp_source *src = NULL;
	dp_sink *sink = NULL;
	if (dp_cli_open(&cli, sweep_run == NULL, &src, &sink, &err) < 0) {
		dp_diag("%s", err.msg);
		return DP_EXIT_SYSTEM;
	}
	/* A database that is down at start is waited for like one lost later:
	 * a restarted replica waits instead of failing (and counting as a
	 * crash) again.  In a shell pipeline (stdin, no --db-retry given) it is
	 * an error at once: nothing was read yet, nothing is lost. */
	struct opening o = {.db_env = db_env, .method = method, .db_retry = (double)db_retry};
	double patience = dp_zmq_is_endpoint(cli.in) || db_retry_given ? (double)db_retry : 0;
	if (store_patiently(try_open, &o, patience, &err) < 0) {
		rc = DP_EXIT_SYSTEM;
	} else if (sweep_run != NULL) {
		rc = sweep(o.s, sweep_run, roots, nroots, require_end, sink, quiet, &err);
	} else {
		store_counts c;
		rc = store_run(o.s, src, sink, &c, &err);
		if (!quiet)
			dp_diag("%lu stored, %lu unchanged, %lu deleted, %lu skipped, %lu failed",
				c.stored, c.unchanged, c.deleted, c.skipped, c.failed);
	}
	if (rc == DP_EXIT_SYSTEM || rc == DP_EXIT_REFUSED)
		dp_diag("%s", err.msg);
	dp_err close_err;
	if (dp_sink_close(&sink, &close_err) < 0 && rc != DP_EXIT_SYSTEM) {
		dp_diag("%s", close_err.msg);
		rc = DP_EXIT_SYSTEM;
	}
	store_close(&o.s);
	dp_source_free(&src);
	return dp_cli_exit_status(rc);
}
