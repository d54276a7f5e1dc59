#include "options.h"

#include <getopt.h>

#include "glob.h"

int discover_option(discover_opts *o, int opt, const char *arg, dp_err *err)
{
	long n;

	switch (opt) {
	case DISCOVER_OPT_GLOB:
	case DISCOVER_OPT_EXCLUDE:
		if ((opt == DISCOVER_OPT_GLOB ? o->n_globs : o->n_excludes) == DISCOVER_MAX_PATTERNS) {
			dp_err_set(err, "at most %d --glob and %d --exclude patterns",
				   DISCOVER_MAX_PATTERNS, DISCOVER_MAX_PATTERNS);
			return -1;
		}
		if (dp_glob_check_walk(opt == DISCOVER_OPT_GLOB ? "glob" : "exclude", arg, err) < 0)
			return -1;
		if (opt == DISCOVER_OPT_GLOB)
			o->globs[o->n_globs++] = arg;
		else
			o->excludes[o->n_excludes++] = arg;
		return 1;
	case DISCOVER_OPT_HIDDEN:
		o->hidden = 1;
		return 1;
	case DISCOVER_OPT_MAX_SIZE:
		if (dp_cli_parse_long("max-size", arg, 0, 1L << 40, &n, err) < 0)
			return -1;
		o->max_size = (unsigned long long)n;
		return 1;
	case DISCOVER_OPT_END_RECORD:
		o->end_record = 1;
		return 1;
	case DISCOVER_OPT_SKIP_RECORDS:
		o->skip_records = 1;
		return 1;
	default:
		return 0;
	}
}

int discover_roots_given(int rc, int argc, const dp_cli *cli, const char *verb)
{
	if (rc >= 0 || (optind < argc && cli->in == NULL))
		return rc;
	if (optind == argc)
		dp_diag("no ROOT to %s (see --help)", verb);
	else
		dp_diag("--in: %s reads no records", dp_stage());
	return DP_EXIT_USAGE;
}
