/* docpipe-embed's own options that docpipe-plan reads too (a plan takes
 * the run's embed command line as embed does): a main puts
 * EMBED_LONGOPTS into its getopt_long table (short options "j:"),
 * numbers its own options from EMBED_OPT_NEXT and hands every option to
 * embed_option first. */
#ifndef EMBED_OPTIONS_H
#define EMBED_OPTIONS_H

#include <getopt.h>

#include "apicli.h"
#include "embedder.h"
#include "err.h"

enum {
	EMBED_OPT_THREADS = 'j',
	EMBED_OPT_DIM = 0x2000,
	EMBED_OPT_BATCH_INPUTS,
	EMBED_OPT_NEXT /* the first number free for a main's own options */
};

#define EMBED_LONGOPTS                                                     \
	{"threads", required_argument, NULL, EMBED_OPT_THREADS},           \
	{"dim", required_argument, NULL, EMBED_OPT_DIM},                   \
	{"batch-inputs", required_argument, NULL, EMBED_OPT_BATCH_INPUTS}

/* Takes option opt (as getopt_long returned it) with its argument into
 * eopts (--dim, --batch-inputs) and api (--threads).  Returns 1 when it
 * is one of these, 0 when it is not, -1 with err set for a bad value (a
 * usage error). */
int embed_option(dp_embedder_opts *eopts, dp_api_cli *api, int opt, const char *arg,
		 dp_err *err);

#endif
