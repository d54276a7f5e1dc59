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
	case SUMMARIZE_OPT_CHUNK_PROMPT_FILE: {
		int doc = opt == SUMMARIZE_OPT_PROMPT_FILE;
		char **text = doc ? &t->doc : &t->chunk;
		free(*text);
		if ((*text = summarize_read_template(arg, err)) == NULL)
			return -1;
		*(doc ? &ctx->doc_prompt : &ctx->chunk_prompt) = *text;
		return 1;
	}
	case SUMMARIZE_OPT_CONTEXT_TOKENS:
		if (dp_cli_parse_long("context-tokens", arg, 256, 10000000, &n, err) < 0)
			return -1;
		ctx->context_tokens = (size_t)n;
		return 1;
	default:
		return 0;
	}
}
