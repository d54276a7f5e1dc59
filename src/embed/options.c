#include "options.h"

int embed_option(dp_embedder_opts *eopts, dp_api_cli *api, int opt, const char *arg,
		 dp_err *err)
{
	long n;

	switch (opt) {
	case EMBED_OPT_THREADS:
		return dp_api_parse_threads(api, arg, err) == DP_CLI_TAKEN ? 1 : -1;
	case EMBED_OPT_DIM:
		if (dp_cli_parse_long("dim", arg, 1, DP_EMBED_DIM_MAX, &n, err) < 0)
			return -1;
		eopts->dim = (int)n;
		return 1;
	case EMBED_OPT_BATCH_INPUTS:
		if (dp_cli_parse_long("batch-inputs", arg, 1, DP_EMBED_BATCH_MAX, &n, err) < 0)
			return -1;
		eopts->batch_inputs = (int)n;
		return 1;
	default:
		return 0;
	}
}
