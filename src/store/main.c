/* docpipe-store: writes document records into PostgreSQL, one receipt per
 * record; or, with --sweep, removes documents a run no longer saw. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "fulltext.h"
#include "run.h"
#include "store.h"

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
		"  --sweep RUN ROOT...     delete the documents under the ROOTs whose last run\n"
		"                          is not RUN; print a deleted receipt for each\n"
		"  --text-config NAME      text search configuration of the full-text index\n"
		"                          (default: the corpus's, english for a new one;\n"
		"                          simple for mixed languages); a change re-indexes\n"
		"  -q, --quiet             no summary line on stderr\n"
		"\n%s\n%s",
		dp_cli_help, dp_exit_codes_help);
}

enum { OPT_DB_ENV = 0x2000, OPT_WRITE_METHOD, OPT_SWEEP, OPT_TEXT_CONFIG, OPT_HELP };

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db-env", required_argument, NULL, OPT_DB_ENV},
		{"write-method", required_argument, NULL, OPT_WRITE_METHOD},
		{"sweep", required_argument, NULL, OPT_SWEEP},
		{"text-config", required_argument, NULL, OPT_TEXT_CONFIG},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, OPT_HELP},
		DP_CLI_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	dp_cli cli = {0};
	const char *db_env = NULL, *sweep_run = NULL;
	enum store_write_method method = STORE_WRITE_COPY;
	int quiet = 0, opt, rc;
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
		case OPT_TEXT_CONFIG:
			store_fulltext_request(optarg);
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
	store *s = store_open(db_env, method, &err);
	if (s == NULL) {
		rc = DP_EXIT_SYSTEM;
	} else if (sweep_run != NULL) {
		size_t deleted;
		rc = store_sweep(s, sweep_run, roots, nroots, sink, &deleted, &err) < 0
			? DP_EXIT_SYSTEM : DP_EXIT_OK;
		if (rc == DP_EXIT_OK && !quiet)
			dp_diag("swept %zu document(s)", deleted);
	} else {
		store_counts c;
		rc = store_run(s, src, sink, &c, &err);
		if (!quiet)
			dp_diag("%lu stored, %lu unchanged, %lu deleted, %lu failed", c.stored,
				c.unchanged, c.deleted, c.failed);
	}
	if (rc == DP_EXIT_SYSTEM)
		dp_diag("%s", err.msg);
	dp_err close_err;
	if (dp_sink_close(&sink, &close_err) < 0 && rc != DP_EXIT_SYSTEM) {
		dp_diag("%s", close_err.msg);
		rc = DP_EXIT_SYSTEM;
	}
	store_close(&s);
	dp_source_free(&src);
	return dp_cli_exit_status(rc);
}
