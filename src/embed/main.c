/* docpipe-embed: adds an embedding vector to every chunk of every document
 * record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apicli.h"
#include "batch.h"
#include "cli_io.h"
#include "embed.h"
#include "options.h"
#include "stage.h"

enum { OPT_CHECK_CORPUS = EMBED_OPT_NEXT, OPT_HELP };

static const char usage[] =
	"Usage: docpipe-embed [OPTIONS] < documents > documents\n"
	"Sets chunks[].vec, \"embedder\" and \"dim\" on every document record.\n"
	"The local backend (default) is feature hashing: offline, deterministic;\n"
	"its --model is fh-v1 (default) or fh-v2 (no stop words: better for\n"
	"vector-only search; a corpus keeps the model it was created with).\n"
	"\n"
	"Options:\n"
	"  -j, --threads N|auto  requests in flight (API backends; chunks of one or\n"
	"                        several documents share a request; auto finds the\n"
	"                        level the server sustains, up to --max-threads), or\n"
	"                        documents at once (local backend) (default 1, max 256)\n"
	"  --dim N               vector size (default 384; sent as \"dimensions\")\n"
	"  --batch-inputs N      chunks per API request, from one or several documents\n"
	"                        (default 64, max 2048)\n"
	"  --check-corpus        with a database (the result cache's, else\n"
	"                        $DATABASE_URL's), exit 2 before any request or\n"
	"                        vector when the corpus there was embedded otherwise\n"
	"                        (another backend, model or --dim): the store there\n"
	"                        would refuse every document (docpipe run gives it)\n";

/* Parses the command line into api, eopts and cli.  Returns -1 to go on;
 * otherwise the exit status (DP_EXIT_USAGE for a bad command line, said on
 * stderr, or that of an option that ends the run, like --help), api then
 * freed. */
static int parse_args(int argc, char **argv, dp_api_cli *api, dp_embedder_opts *eopts,
		      dp_cli *cli, int *check_corpus)
{
	static const struct option longopts[] = {
		EMBED_LONGOPTS,
		{"check-corpus", no_argument, NULL, OPT_CHECK_CORPUS},
		{"help", no_argument, NULL, OPT_HELP},
		DP_API_LONGOPTS,
		DP_CLI_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	dp_err e, *err = &e;
	int opt, own, rc = -1, said = 0;

	while (rc < 0 && (opt = getopt_long(argc, argv, "j:", longopts, NULL)) != -1) {
		if ((own = embed_option(eopts, api, opt, optarg, err)) != 0) {
			rc = own > 0 ? -1 : DP_EXIT_USAGE;
		} else if (opt == OPT_CHECK_CORPUS) {
			*check_corpus = 1;
		} else if (opt == OPT_HELP) {
			printf("%s\n%s\n%s\n%s", usage, dp_api_help, dp_cli_help, dp_exit_codes_help);
			rc = DP_EXIT_OK;
		} else {
			rc = dp_api_other_option(api, cli, opt, optarg, err, &said);
		}
	}
	if (rc < 0 && optind < argc) {
		dp_err_set(err, "unexpected argument '%s'", argv[optind]);
		rc = DP_EXIT_USAGE;
	}
	if (rc == DP_EXIT_USAGE && !said)
		dp_diag("%s", err->msg);
	if (rc >= 0)
		dp_api_cli_free(api);
	return rc;
}

/* Runs the stage over the command line's input and output; returns the
 * exit status. */
static int run(embed_ctx *ctx, dp_cli *cli, int workers)
{
	dp_stage_counts counts = {0};
	dp_source *src;
	dp_sink *sink;
	dp_err err;
	int rc;

	if ((rc = dp_cli_open(cli, 1, &src, &sink, &err)) != 0) {
		dp_diag("%s", err.msg);
		return rc;
	}
	ctx->max_record = dp_sink_max_record(sink);
	if (dp_embedder_is_local(ctx->embedder)) {
		dp_stage_ops ops = {.accepts = "document", .process = embed_process, .ctx = ctx};
		rc = dp_stage_run(src, sink, &ops, workers, &counts, &err);
	} else {
		rc = embed_run_batched(ctx, src, sink, workers, &counts, &err);
	}
	if (rc == DP_EXIT_SYSTEM)
		dp_diag("%s", err.msg);
	dp_source_free(&src);
	rc = dp_cli_close_sink(&sink, rc);
	return dp_api_finish(dp_embedder_http(ctx->embedder), "vectors", atomic_load(&ctx->reused),
			     atomic_load(&ctx->computed), rc);
}

int main(int argc, char **argv)
{
	dp_embedder_opts eopts = {0};
	dp_api_cli api = {.threads = DP_THREADS_DEFAULT};
	embed_ctx ctx = {0};
	dp_cli cli = {0};
	dp_err err;
	int rc, workers, check_corpus = 0;

	dp_cli_init("embed");
	if ((rc = parse_args(argc, argv, &api, &eopts, &cli, &check_corpus)) >= 0)
		return rc;
	eopts.backend = api.backend;
	eopts.model = api.model;
	eopts.base_url = api.base_url;
	eopts.api_key = api.api_key;
	workers = dp_api_workers(&api, 2);
	int remote = dp_api_is_remote(&api);
	eopts.http = &api.http;
	ctx.embedder = dp_embedder_new(&eopts, &err);
	dp_api_cli_free(&api);
	if (ctx.embedder == NULL) {
		dp_diag("%s", err.msg);
		return DP_EXIT_USAGE;
	}
	ctx.refresh = api.refresh;
	rc = dp_api_open_reuse(&api, "docpipe-embed", &ctx.reuse, &err);
	if (rc != 0) {
		dp_diag("%s", err.msg);
		dp_embedder_free(&ctx.embedder);
		return rc;
	}
	if (check_corpus && embed_check_corpus(&ctx, remote, &err) < 0) {
		dp_diag("%s", err.msg);
		dp_reuse_close(&ctx.reuse);
		dp_embedder_free(&ctx.embedder);
		return DP_EXIT_USAGE;
	}
	rc = run(&ctx, &cli, workers);
	dp_reuse_close(&ctx.reuse);
	dp_embedder_free(&ctx.embedder);
	return dp_cli_exit_status(rc);
}
