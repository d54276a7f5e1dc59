/* docpipe-summarize's own options, which docpipe-plan reads too (a plan
 * takes the run's summarize command line as summarize does): a main puts
 * SUMMARIZE_LONGOPTS into its getopt_long table (short options "j:"),
 * numbers its own options from SUMMARIZE_OPT_NEXT and hands every option
 * to summarize_option first. */
#ifndef SUMMARIZE_OPTIONS_H
#define SUMMARIZE_OPTIONS_H

#include <getopt.h>

#include "apicli.h"
#include "err.h"
#include "summarize.h"

enum {
	SUMMARIZE_OPT_THREADS = 'j',
	SUMMARIZE_OPT_CHUNK_SUMMARIES = 0x2000,
	SUMMARIZE_OPT_PROMPT_FILE,
	SUMMARIZE_OPT_CHUNK_PROMPT_FILE,
	SUMMARIZE_OPT_CONTEXT_TOKENS,
	SUMMARIZE_OPT_NEXT /* the first number free for a main's own options */
};

#define SUMMARIZE_LONGOPTS                                                         \
	{"threads", required_argument, NULL, SUMMARIZE_OPT_THREADS},               \
	{"chunk-summaries", no_argument, NULL, SUMMARIZE_OPT_CHUNK_SUMMARIES},     \
	{"prompt-file", required_argument, NULL, SUMMARIZE_OPT_PROMPT_FILE},       \
	{"chunk-prompt-file", required_argument, NULL, SUMMARIZE_OPT_CHUNK_PROMPT_FILE}, \
	{"context-tokens", required_argument, NULL, SUMMARIZE_OPT_CONTEXT_TOKENS}

/* The templates read from --prompt-file and --chunk-prompt-file (owned by
 * whoever holds this: free both). */
typedef struct summarize_templates {
	char *doc, *chunk;
} summarize_templates;

/* Takes option opt (as getopt_long returned it) with its argument into
 * ctx (--chunk-summaries, --context-tokens, the prompts: their texts read
 * into t) and api (--threads).  Returns 1 when it is one of summarize's
 * own, 0 when it is not, -1 with err set for a bad value (a usage error). */
int summarize_option(summarize_ctx *ctx, summarize_templates *t, dp_api_cli *api, int opt,
		     const char *arg, dp_err *err);

#endif
