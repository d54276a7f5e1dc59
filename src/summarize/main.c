/* docpipe-summarize: adds a summary to every document record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apicli.h"
#include "cli_io.h"
#include "options.h"
#include "sched.h"
#include "stage.h"
#include "prompts.h"
#include "summarize.h"

enum { OPT_HELP = SUMMARIZE_OPT_NEXT };

static const char usage[] =
	"Usage: docpipe-summarize [OPTIONS] < documents > documents\n"
	"Adds \"summary\" and \"summarizer\" to every document record.  The local\n"
	"backend (default) is extractive: offline and deterministic.\n"
	"\n"
	"Options:\n"
	"  -j, --threads N|auto    API backends: requests in flight, from all the\n"
	"                          documents held; auto finds the level the server\n"
	"                          sustains (up to --max-threads); local backend:\n"
	"                          documents at once (default 1, max 256)\n"
	"  --chunk-summaries       also give each chunk a \"summary\" situating it in\n"
	"                          its document\n"
	"  --prompt-file FILE      document prompt template ({text}, {path})\n"
	"  --chunk-prompt-file FILE  chunk prompt template ({summary}, {heading},\n"
	"                          {chunk}, {path})\n"
	"  --context-tokens N      document text per request; longer documents are\n"
	"                          summarized by section, then combined (default 6000)\n";

/* Parses the command line.  Returns -1 to go on; otherwise the exit
 * status (DP_EXIT_USAGE for a bad command line, said on stderr, or that of
 * an option that ends the run, like --help). */
static int parse_args(int argc, char **argv, summarize_ctx *ctx, summarize_templates *t,
		      dp_api_cli *api, dp_cli *cli)
{
	static const struct option longopts[] = {
		SUMMARIZE_LONGOPTS,
		{"help", no_argument, NULL, OPT_HELP},
		DP_API_LONGOPTS,
		DP_CLI_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	dp_err err;
	int opt, own, rc = -1, said = 0;

	while (rc == -1 && (opt = getopt_long(argc, argv, "j:", longopts, NULL)) != -1) {
		if (opt == OPT_HELP) {
			printf("%s\n%s\n%s\n%s", usage, dp_api_help, dp_cli_help, dp_exit_codes_help);
			rc = DP_EXIT_OK;
		} else if ((own = summarize_option(ctx, t, api, opt, optarg, &err)) != 0) {
			rc = own > 0 ? -1 : DP_EXIT_USAGE;
		} else {
			rc = dp_api_other_option(api, cli, opt, optarg, &err, &said);
		}
	}
	if (rc == -1 && optind < argc) {
		dp_err_set(&err, "unexpected argument '%s'", argv[optind]);
		rc = DP_EXIT_USAGE;
	}
	if (rc == DP_EXIT_USAGE && !said)
		dp_diag("%s", err.msg);
	return rc;
}

/* With an API backend: the client, the identity and the cache in ctx.
 * Returns -1 to go on, or the exit status (said on stderr). */
static int open_remote(summarize_ctx *ctx, dp_api_cli *api)
{
	dp_err err;

	ctx->ollama = strcmp(api->backend, "ollama") == 0;
	ctx->model = api->model != NULL ? api->model : summarize_default_model(ctx->ollama);
	dp_http_resolve_server(&api->http, api->base_url, api->api_key, ctx->ollama);
	if ((ctx->http = dp_http_new(&api->http, &err)) == NULL) {
		dp_diag("%s", err.msg);
		return DP_EXIT_USAGE;
	}
	summarize_set_identity(ctx, api->backend);
	ctx->refresh = api->refresh;
	int rc = dp_api_open_reuse(api, "docpipe-summarize", &ctx->reuse, &err);
	if (rc != 0) {
		dp_diag("%s", err.msg);
		return rc;
	}
	return -1;
}

/* Runs the stage over the command line's input and output; returns the
 * exit status. */
static int run(summarize_ctx *ctx, dp_cli *cli, int workers)
{
	dp_stage_counts counts = {0};
	dp_source *src = NULL;
	dp_sink *sink = NULL;
	dp_err err;
	int rc;

	if ((rc = dp_cli_open(cli, 1, &src, &sink, &err)) != 0) {
		dp_diag("%s", err.msg);
		return rc;
	}
	if (ctx->http != NULL) {
		rc = summarize_run_scheduled(ctx, src, sink, workers, &counts, &err);
	} else {
		dp_stage_ops ops = {.accepts = "document", .process = summarize_process, .ctx = ctx};
		rc = dp_stage_run(src, sink, &ops, workers, &counts, &err);
	}
	if (rc == DP_EXIT_SYSTEM)
		dp_diag("%s", err.msg);
	rc = dp_cli_close_sink(&sink, rc);
	dp_source_free(&src);
	return dp_api_finish(ctx->http, "summaries", atomic_load(&ctx->reused),
			     atomic_load(&ctx->requested), rc);
}

int main(int argc, char **argv)
{
	summarize_ctx ctx = {.doc_prompt = summarize_doc_prompt,
			     .chunk_prompt = summarize_chunk_prompt,
			     .context_tokens = SUMMARIZE_CONTEXT_DEFAULT};
	summarize_templates t = {0};
	dp_api_cli api = {.threads = DP_THREADS_DEFAULT};
	dp_cli cli = {0};
	int rc, workers = 0;

	dp_cli_init("summarize");
	rc = parse_args(argc, argv, &ctx, &t, &api, &cli);
	if (rc == -1) {
		workers = dp_api_workers(&api, 4);
		if (dp_api_is_remote(&api))
			rc = open_remote(&ctx, &api);
	}
	dp_api_cli_free(&api);
	if (rc == -1)
		rc = run(&ctx, &cli, workers);
	dp_reuse_close(&ctx.reuse);
	dp_http_free(&ctx.http);
	free(t.doc);
	free(t.chunk);
	return dp_cli_exit_status(rc);
}
