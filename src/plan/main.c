/* docpipe-plan: what `docpipe run ROOT...` would send to model APIs and
 * cost, without sending anything. */
#include <stdio.h>

#include "cli.h"
#include "err.h"
#include "plan.h"

#define BATCH_DOCS 256 /* documents per database round trip */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: docpipe-plan ROOT... [OPTIONS]     (also: docpipe plan ...)\n"
		"Predicts what `docpipe run ROOT...` with the same options would do and\n"
		"send, without sending any request to a model API: discover and chunk\n"
		"run here, the store's documents table tells new, changed, unchanged and\n"
		"gone documents apart, the reuse cache tells which summaries and vectors\n"
		"are already paid for.  Prints per stage the requests, inputs and tokens\n"
		"the run would send and, with prices, the cost.  The database comes from\n"
		"$DATABASE_URL, or libpq's PG* variables.\n"
		"\n"
		"Options (docpipe run's, which the plan reads as the run would):\n"
		"  --glob PATTERN, --exclude PATTERN   files to take (docpipe-discover)\n"
		"  --delete-excluded    count stored documents those leave out as gone, as\n"
		"                       docpipe run --delete-excluded deletes them\n"
		"  --opt STAGE=ARG      an option of discover, chunk, summarize or embed\n"
		"                       (hub and store options change nothing here)\n"
		"  --config FILE        lines \"STAGE ARG...\"; \"plan ARG\" lines hold the\n"
		"                       options below, e.g. \"plan --price=gpt-4o-mini=0.15\"\n"
		"  docpipe run's other options (--replicas, --threads, --listen ...) are\n"
		"  accepted and ignored\n"
		"Plan options:\n"
		"  --price MODEL=USD    price per million tokens of MODEL (repeatable)\n"
		"  --summary-tokens N   length assumed for a summary not made yet, which\n"
		"                       later prompts hold (default %d)\n"
		"  --json               one JSON object instead of text\n"
		"  --run ID             record the prediction for run ID (docpipe run --run ID):\n"
		"                       docpipe status then shows planned beside spent\n"
		"  --version            print the version and exit\n"
		"  --help               print this help and exit\n"
		"\n"
		"Exit status:\n"
		"  0  planned\n"
		"  2  usage error (also a bad stage option)\n"
		"  3  system error: discover or chunk could not run, the database failed\n",
		PLAN_SUMMARY_TOKENS_DEFAULT);
}

int main(int argc, char **argv)
{
	plan_opts o;
	plan p;
	dp_err err;
	int rc;

	dp_cli_init("plan");
	rc = plan_parse(&o, argc, argv, &err);
	if (rc != 0) {
		if (rc == 1)
			usage(stdout);
		else if (rc < 0)
			dp_diag("%s", err.msg);
		plan_opts_free(&o);
		return rc < 0 ? DP_EXIT_USAGE : DP_EXIT_OK;
	}
	rc = plan_setup(&p, &o, &err);
	if (rc == 0 && (plan_read_documents(&o, plan_take, &p, BATCH_DOCS, &err) < 0 ||
			plan_finish(&p, &o, &err) < 0))
		rc = DP_EXIT_SYSTEM;
	if (rc == 0) {
		jv rep = plan_report(&p, &o);
		if (o.run != NULL && plan_record(&p, &o, rep, &err) < 0)
			rc = DP_EXIT_SYSTEM;
		if (rc != 0)
			jv_free(rep);
		else if (dp_cli_report(rep, o.json, plan_print, &err) < 0)
			rc = DP_EXIT_SYSTEM;
	}
	if (rc != 0)
		dp_diag("%s", err.msg);
	plan_free(&p);
	plan_opts_free(&o);
	return rc;
}
