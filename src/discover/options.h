/* The options docpipe-discover and docpipe-watch share: which files they
 * take (--glob, --exclude, --hidden, --max-size) and what they write
 * besides file records (--end-record, --skip-records).  Each main puts
 * DISCOVER_LONGOPTS into its getopt_long table, numbers its own options
 * from DISCOVER_OPT_NEXT, hands every option to discover_option first
 * and ends its parse with discover_roots_given. */
#ifndef DISCOVER_OPTIONS_H
#define DISCOVER_OPTIONS_H

#include "cli_io.h"
#include "err.h"
#include "walk.h"

enum {
	DISCOVER_OPT_GLOB = 0x2000,
	DISCOVER_OPT_EXCLUDE,
	DISCOVER_OPT_HIDDEN,
	DISCOVER_OPT_MAX_SIZE,
	DISCOVER_OPT_END_RECORD,
	DISCOVER_OPT_SKIP_RECORDS,
	DISCOVER_OPT_NEXT /* the first number free for a main's own options */
};

#define DISCOVER_LONGOPTS                                                   \
	{"glob", required_argument, NULL, DISCOVER_OPT_GLOB},               \
	{"exclude", required_argument, NULL, DISCOVER_OPT_EXCLUDE},         \
	{"hidden", no_argument, NULL, DISCOVER_OPT_HIDDEN},                 \
	{"max-size", required_argument, NULL, DISCOVER_OPT_MAX_SIZE},       \
	{"end-record", no_argument, NULL, DISCOVER_OPT_END_RECORD},         \
	{"skip-records", no_argument, NULL, DISCOVER_OPT_SKIP_RECORDS}

/* Takes option opt (as getopt_long returned it) with its argument into o.
 * Returns 1 when it was one of the shared options, 0 when it is not (the
 * main's own, or getopt's '?'), -1 with err set for a bad value (a usage
 * error). */
int discover_option(discover_opts *o, int opt, const char *arg, dp_err *err);

/* The end of a main's parse, after dp_cli_parse returned rc: rc when it is
 * an exit status; else -1 (go on) when ROOTs follow (argv[optind] on) and
 * --in was not given; else DP_EXIT_USAGE, said on stderr: no ROOT to
 * verb ("walk", "watch"), or --in (the program reads no records). */
int discover_roots_given(int rc, int argc, const dp_cli *cli, const char *verb);

#endif
