/* docpipe-summarize: adds a summary to every document record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apicli.h"
#include "cli.h"
#include "stage.h"
#include "prompts.h"
#include "summarize.h"

enum {
	OPT_THREADS = 'j',
	OPT_CHUNK_SUMMARIES = 0x2000,
	OPT_PROMPT_FILE,
	OPT_CHUNK_PROMPT_FILE,
	OPT_CONTEXT_TOKENS,
	OPT_HELP
};

static const char usage[] =
	"Usage: docpipe-summarize [OPTIONS] < documents > documents\n"
	"Adds \"summary\" and \"summarizer\" to every document record.  The local\n"
	"backend (default) is extractive: offline and deterministic.\n"
	"\n"
	"Options:\n"
	"  -j, --threads N         documents (so requests) in flight (default 1, max 256)\n"
	"  --chunk-summaries       also give each chunk a \"summary\" situating it in\n"
	"                          its document\n"
	"  --prompt-file FILE      document prompt template ({text}, {path})\n"
	"  --chunk-prompt-file FILE  chunk prompt template ({summary}, {heading},\n"
	"                          {chunk}, {path})\n"
	"  --context-tokens N      document text per request; longer documents are\n"
	"                          summarized by section, then combined (default 6000)\n";

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"threads", required_argument, NULL, OPT_THREADS},
		{"chunk-summaries", no_argument, NULL, OPT_CHUNK_SUMMARIES},
		{"prompt-file", required_argument, NULL, OPT_PROMPT_FILE},
		{"chunk-prompt-file", required_argument, NULL, OPT_CHUNK_PROMPT_FILE},
		{"context-tokens", required_argument, NULL, OPT_CONTEXT_TOKENS},
		{"help", no_argument, NULL, OPT_HELP},
		DP_API_LONGOPTS,
		DP_CLI_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	summarize_ctx ctx = {.doc_prompt = summarize_doc_prompt,
			     .chunk_prompt = summarize_chunk_prompt,
			     .context_tokens = SUMMARIZE_CONTEXT_DEFAULT};
	char *doc_tmpl = NULL, *chunk_tmpl = NULL;
	dp_api_cli api = {0};
	dp_cli cli = {0};
	dp_source *src = NULL;
	dp_sink *sink = NULL;
	dp_stage_counts counts = {0};
	dp_err err;
	long threads = 1, n;
	int opt, rc = DP_EXIT_USAGE;

	dp_cli_init("summarize");
	while ((opt = getopt_long(argc, argv, "j:", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_THREADS:
			if (dp_cli_parse_long("threads", optarg, 1, 256, &threads, &err) < 0)
				goto usage_error;
			break;
		case OPT_CHUNK_SUMMARIES:
			ctx.chunk_summaries = 1;
			break;
		case OPT_PROMPT_FILE:
			free(doc_tmpl);
			if ((doc_tmpl = summarize_read_template(optarg, &err)) == NULL)
				goto usage_error;
			ctx.doc_prompt = doc_tmpl;
			break;
		case OPT_CHUNK_PROMPT_FILE:
			free(chunk_tmpl);
			if ((chunk_tmpl = summarize_read_template(optarg, &err)) == NULL)
				goto usage_error;
			ctx.chunk_prompt = chunk_tmpl;
			break;
		case OPT_CONTEXT_TOKENS:
			if (dp_cli_parse_long("context-tokens", optarg, 256, 10000000, &n, &err) < 0)
				goto usage_error;
			ctx.context_tokens = (size_t)n;
			break;
		case OPT_HELP:
			printf("%s\n%s\n%s\n%s", usage, dp_api_help, dp_cli_help, dp_exit_codes_help);
			rc = DP_EXIT_OK;
			goto done;
		default:
			if ((rc = dp_api_option(&api, opt, optarg, &err)) == DP_CLI_TAKEN)
				break;
			if (rc == DP_CLI_BAD)
				goto usage_error;
			if ((rc = dp_cli_other_option(&cli, opt, optarg)) >= 0)
				goto done;
		}
	}
	if (optind < argc) {
		dp_err_set(&err, "unexpected argument '%s'", argv[optind]);
		goto usage_error;
	}
	if (dp_api_is_remote(&api)) {
		ctx.ollama = strcmp(api.backend, "ollama") == 0;
		ctx.model = api.model != NULL ? api.model : summarize_default_model(ctx.ollama);
		dp_http_resolve_server(&api.http, api.base_url, api.api_key, ctx.ollama);
		api.http.max_in_flight = (int)threads;
		ctx.http = dp_http_new(&api.http, &err);
		if (ctx.http == NULL)
			goto usage_error;
		summarize_set_identity(&ctx, api.backend);
		ctx.refresh = api.refresh;
		if (dp_api_open_reuse(&api, "docpipe-summarize", &ctx.reuse, &err) < 0) {
			dp_diag("%s", err.msg);
			rc = DP_EXIT_SYSTEM;
			goto done;
		}
	}
	dp_api_cli_free(&api);
	if (dp_cli_open(&cli, 1, &src, &sink, &err) < 0) {
		dp_diag("%s", err.msg);
		rc = DP_EXIT_SYSTEM;
		goto done;
	}
	dp_stage_ops ops = {.accepts = "document", .process = summarize_process, .ctx = &ctx};
	rc = dp_stage_run(src, sink, &ops, (int)threads, &counts, &err);
	if (rc == DP_EXIT_SYSTEM)
		dp_diag("%s", err.msg);
	if (dp_sink_close(&sink, &err) < 0 && rc != DP_EXIT_SYSTEM) {
		dp_diag("%s", err.msg);
		rc = DP_EXIT_SYSTEM;
	}
	rc = dp_api_finish(ctx.http, "summaries", atomic_load(&ctx.reused),
			   atomic_load(&ctx.requested), atomic_load(&ctx.refused), rc);
	goto done;
usage_error:
	dp_diag("%s", err.msg);
	rc = DP_EXIT_USAGE;
done:
	dp_source_free(&src);
	dp_reuse_close(&ctx.reuse);
	dp_http_free(&ctx.http);
	dp_api_cli_free(&api);
	free(doc_tmpl);
	free(chunk_tmpl);
	return dp_cli_exit_status(rc);
}
