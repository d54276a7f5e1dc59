#include "options.h"

#include <stdlib.h>

#include "prompts.h"

int summarize_option(summarize_ctx *ctx, summarize_templates *t, dp_api_cli *api, int opt,
		     const char *arg, dp_err *err)
{
	long n;

	switch (opt) {
	case SUMMARIZE_OPT_THREADS:
		return dp_api_parse_threads(api, arg, err) == DP_CLI_TAKEN ? 1 : -1;
	case SUMMARIZE_OPT_CHUNK_SUMMARIES:
		ctx->chunk_summaries = 1;
		return 1;
	case SUMMARIZE_OPT_PROMPT_FILE:
		free(t->doc);
		if ((t->doc = summarize_read_template(arg, err)) == NULL)
			return -1;
		ctx->doc_prompt = t->doc;
		return 1;
	case SUMMARIZE_OPT_CHUNK_PROMPT_FILE:
		free(t->chunk);
		if ((t->chunk = summarize_read_template(arg, err)) == NULL)
			return -1;
		ctx->chunk_prompt = t->chunk;
		return 1;
	case SUMMARIZE_OPT_CONTEXT_TOKENS:
		if (dp_cli_parse_long("context-tokens", arg, 256, 10000000, &n, err) < 0)
			return -1;
		ctx->context_tokens = (size_t)n;
		return 1;
	default:
		return 0;
	}
}
