#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_io.h"
#include "glob.h"
#include "path.h"
#include "plan.h"

#define ARGS_MAX 4096
#define CONFIG_LINE_MAX 4096

/* Appends a copy of arg to a NULL-terminated vector.  Returns 0 or -1. */
static int push(char ***v, size_t *n, const char *arg)
{
	if (*n + 2 > ARGS_MAX)
		return -1;
	char **nv = realloc(*v, (*n + 2) * sizeof *nv);
	if (nv == NULL)
		return -1;
	*v = nv;
	if ((nv[*n] = strdup(arg)) == NULL)
		return -1;
	nv[++*n] = NULL;
	return 0;
}

static void free_vec(char **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

void plan_opts_free(plan_opts *o)
{
	free_vec(o->discover_argv, o->ndiscover);
	free_vec(o->chunk_argv, o->nchunk);
	free_vec(o->sum_argv, o->nsum);
	free_vec(o->emb_argv, o->nemb);
	free_vec(o->roots, o->nroots);
	free(o->run);
	memset(o, 0, sizeof *o);
}

/* Gives ARG to STAGE: discover, chunk, summarize and embed take it; hub
 * and store options change nothing a plan sees; plan's own go to
 * plan_args.  Returns 0 or -1 with err. */
static int stage_arg(plan_opts *o, char ***plan_args, size_t *nplan, const char *stage,
		     const char *arg, dp_err *err)
{
	int rc = 0;

	if (strcmp(stage, "discover") == 0)
		rc = push(&o->discover_argv, &o->ndiscover, arg);
	else if (strcmp(stage, "chunk") == 0)
		rc = push(&o->chunk_argv, &o->nchunk, arg);
	else if (strcmp(stage, "summarize") == 0)
		rc = push(&o->sum_argv, &o->nsum, arg);
	else if (strcmp(stage, "embed") == 0)
		rc = push(&o->emb_argv, &o->nemb, arg);
	else if (strcmp(stage, "plan") == 0 && plan_args != NULL)
		rc = push(plan_args, nplan, arg);
	else if (strcmp(stage, "plan") == 0) {
		dp_err_set(err, "--opt plan=...: give plan options directly");
		return -1;
	}
	else if (strcmp(stage, "hub") != 0 && strcmp(stage, "store") != 0) {
		dp_err_set(err, "unknown stage '%s'", stage);
		return -1;
	}
	if (rc < 0)
		dp_err_set(err, "too many arguments or out of memory");
	return rc;
}

/* Reads a config file of lines "STAGE ARG..." ('#' starts a comment),
 * the format docpipe run reads.  Returns 0 or -1 with err. */
static int read_config(plan_opts *o, char ***plan_args, size_t *nplan, const char *path,
		       dp_err *err)
{
	FILE *f = fopen(path, "r");
	char line[CONFIG_LINE_MAX];
	int rc = 0;

	if (f == NULL) {
		dp_err_set(err, "cannot read config file %s", path);
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
		char *hash = strchr(line, '#'), *save = NULL;
		if (hash != NULL)
			*hash = '\0';
		char *stage = strtok_r(line, " \t\r\n", &save);
		for (char *w; rc == 0 && stage != NULL && (w = strtok_r(NULL, " \t\r\n", &save)) != NULL;)
			rc = stage_arg(o, plan_args, nplan, stage, w, err);
	}
	fclose(f);
	return rc;
}

static int parse_price(plan_opts *o, const char *arg, dp_err *err)
{
	const char *eq = strrchr(arg, '=');
	double v = -1;

	if (eq == NULL || eq == arg || dp_cli_read_double(eq + 1, &v) < 0 || !(v >= 0) ||
	    (size_t)(eq - arg) >= sizeof o->prices[0].model) {
		dp_err_set(err, "--price expects MODEL=USD_PER_MILLION_TOKENS, got '%s'", arg);
		return -1;
	}
	if (o->nprices == PLAN_PRICES_MAX) {
		dp_err_set(err, "at most %d --price options", PLAN_PRICES_MAX);
		return -1;
	}
	snprintf(o->prices[o->nprices].model, sizeof o->prices[0].model, "%.*s", (int)(eq - arg), arg);
	o->prices[o->nprices++].usd_per_mtok = v;
	return 0;
}

enum {
	OPT_GLOB = 0x3000, OPT_EXCLUDE, OPT_OPT, OPT_CONFIG, OPT_PRICE, OPT_SUMMARY_TOKENS,
	OPT_JSON, OPT_HELP, OPT_RUN, OPT_IGNORED_ARG, OPT_IGNORED_FLAG, OPT_DELETE_EXCLUDED,
};

static const struct option longopts[] = {
	{"glob", required_argument, NULL, OPT_GLOB},
	{"exclude", required_argument, NULL, OPT_EXCLUDE},
	{"delete-excluded", no_argument, NULL, OPT_DELETE_EXCLUDED},
	{"opt", required_argument, NULL, OPT_OPT},
	{"config", required_argument, NULL, OPT_CONFIG},
	{"price", required_argument, NULL, OPT_PRICE},
	{"summary-tokens", required_argument, NULL, OPT_SUMMARY_TOKENS},
	{"json", no_argument, NULL, OPT_JSON},
	{"help", no_argument, NULL, OPT_HELP},
	{"version", no_argument, NULL, DP_OPT_VERSION},
	/* docpipe run's options that change nothing a plan predicts. */
	{"replicas", required_argument, NULL, OPT_IGNORED_ARG},
	{"threads", required_argument, NULL, OPT_IGNORED_ARG},
	{"run", required_argument, NULL, OPT_RUN},
	{"listen", required_argument, NULL, OPT_IGNORED_ARG},
	{"curve-secret", required_argument, NULL, OPT_IGNORED_ARG},
	{"allow", required_argument, NULL, OPT_IGNORED_ARG},
	{"window", required_argument, NULL, OPT_IGNORED_ARG},
	{"timeout", required_argument, NULL, OPT_IGNORED_ARG},
	{"attempts", required_argument, NULL, OPT_IGNORED_ARG},
	{"progress", required_argument, NULL, OPT_IGNORED_ARG},
	{"insecure", no_argument, NULL, OPT_IGNORED_FLAG},
	{"quiet", no_argument, NULL, OPT_IGNORED_FLAG},
	{NULL, 0, NULL, 0},
};

/* Handles one option of the combined command line.  Returns 0, 1 for
 * --help, 2 for --version (printed), or -1 with err. */
static int one_option(plan_opts *o, int opt, const char *arg, dp_err *err)
{
	long n;

	switch (opt) {
	case OPT_GLOB:
	case OPT_EXCLUDE:
		if (dp_glob_check_walk(opt == OPT_GLOB ? "glob" : "exclude", arg, err) < 0)
			return -1;
		if (push(&o->discover_argv, &o->ndiscover, opt == OPT_GLOB ? "--glob" : "--exclude") < 0 ||
		    push(&o->discover_argv, &o->ndiscover, arg) < 0) {
			dp_err_set(err, "too many arguments or out of memory");
			return -1;
		}
		return 0;
	case OPT_OPT: {
		const char *eq = strchr(arg, '=');
		char stage[32];
		if (eq == NULL || (size_t)(eq - arg) >= sizeof stage) {
			dp_err_set(err, "--opt expects STAGE=ARG");
			return -1;
		}
		snprintf(stage, sizeof stage, "%.*s", (int)(eq - arg), arg);
		return stage_arg(o, NULL, NULL, stage, eq + 1, err);
	}
	case OPT_CONFIG:
		return 0; /* read before the other options */
	case OPT_PRICE:
		return parse_price(o, arg, err);
	case OPT_SUMMARY_TOKENS:
		if (dp_cli_parse_long("summary-tokens", arg, 1, 100000, &n, err) < 0)
			return -1;
		o->summary_tokens = (size_t)n;
		return 0;
	case OPT_JSON:
		o->json = 1;
		return 0;
	case OPT_DELETE_EXCLUDED:
		o->delete_excluded = 1;
		return 0;
	case OPT_RUN:
		free(o->run);
		if ((o->run = strdup(arg)) == NULL) {
			dp_err_set(err, "out of memory");
			return -1;
		}
		return 0;
	case OPT_IGNORED_ARG:
	case OPT_IGNORED_FLAG:
		return 0;
	case OPT_HELP:
		return 1;
	default: {
		dp_cli cli = {0};
		int rc = dp_cli_option(&cli, opt, arg, err);
		if (rc == DP_CLI_EXIT)
			return 2;
		if (rc != DP_CLI_BAD)
			dp_err_set(err, "try --help");
		return -1;
	}
	}
}

int plan_parse(plan_opts *o, int argc, char **argv, dp_err *err)
{
	char **args = NULL;
	size_t nargs = 0;
	int rc = push(&args, &nargs, argv[0]);

	memset(o, 0, sizeof *o);
	o->summary_tokens = PLAN_SUMMARY_TOKENS_DEFAULT;
	/* Config files first, so that the command line comes after them. */
	for (int i = 1; rc == 0 && i < argc; i++)
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			rc = read_config(o, &args, &nargs, argv[++i], err);
		else if (strncmp(argv[i], "--config=", 9) == 0)
			rc = read_config(o, &args, &nargs, argv[i] + 9, err);
	for (int i = 1; rc == 0 && i < argc; i++)
		if (push(&args, &nargs, argv[i]) < 0) {
			dp_err_set(err, "too many arguments or out of memory");
			rc = -1;
		}
	optind = 0;
	opterr = 1;
	int opt;
	while (rc == 0 && (opt = getopt_long((int)nargs, args, "", longopts, NULL)) != -1)
		rc = opt == '?' ? (dp_err_set(err, "try --help"), -1)
				: one_option(o, opt, optarg, err);
	for (int i = optind; rc == 0 && i < (int)nargs; i++) {
		char *abs = dp_path_absolute(args[i], err);
		if (abs == NULL || push(&o->roots, &o->nroots, abs) < 0) {
			if (abs != NULL)
				dp_err_set(err, "too many arguments or out of memory");
			rc = -1;
		}
		free(abs);
	}
	free_vec(args, nargs);
	if (rc == 0 && o->nroots == 0) {
		dp_err_set(err, "give at least one ROOT");
		rc = -1;
	}
	return rc == 1 || rc == 2 ? rc : rc < 0 ? -1 : 0;
}
