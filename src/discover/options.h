/* The options docpipe-discover and docpipe-watch share: which files they
 * take (--glob, --exclude, --hidden, --max-size).  Each main puts
 * DISCOVER_LONGOPTS into its getopt_long table, numbers its own options
 * from DISCOVER_OPT_NEXT and hands every option to discover_option first. */
#ifndef DISCOVER_OPTIONS_H
#define DISCOVER_OPTIONS_H

#include "err.h"
#include "walk.h"

enum {
	DISCOVER_OPT_GLOB = 0x2000,
	DISCOVER_OPT_EXCLUDE,
	DISCOVER_OPT_HIDDEN,
	DISCOVER_OPT_MAX_SIZE,
	DISCOVER_OPT_NEXT /* the first number free for a main's own options */
};

#define DISCOVER_LONGOPTS                                                   \
	{"glob", required_argument, NULL, DISCOVER_OPT_GLOB},               \
	{"exclude", required_argument, NULL, DISCOVER_OPT_EXCLUDE},         \
	{"hidden", no_argument, NULL, DISCOVER_OPT_HIDDEN},                 \
	{"max-size", required_argument, NULL, DISCOVER_OPT_MAX_SIZE}

/* Takes option opt (as getopt_long returned it) with its argument into o.
 * Returns 1 when it was one of the shared options, 0 when it is not (the
 * main's own, or getopt's '?'), -1 with err set for a bad value (a usage
 * error). */
int discover_option(discover_opts *o, int opt, const char *arg, dp_err *err);

#endif
