/* The start of every program and its command line: dp_cli_init, the
 * getopt_long loop of a main (dp_cli_getopt: --help, --version, the
 * program's own options), whole numbers, stop signals.
 *
 * The options of a program that reads or writes records (--in, --out,
 * --jq, the ZeroMQ ones) and opening its input and output are cli_io.h's:
 * a program without them (docpipe-status) links no transport and no
 * libzmq. */
#ifndef DP_CLI_H
#define DP_CLI_H

#include <getopt.h>
#include <stdio.h>

#include <jv.h>

#include "err.h"

/* Option code of --version, every program's (outside the range of short
 * options; cli_io.h's shared options follow it). */
enum { DP_OPT_VERSION = 0x1000 };

/* Prints "docpipe-<stage> VERSION (protocol N)" on stdout: --version. */
void dp_cli_version(void);

/* A main's own options, for dp_cli_getopt (and cli_io.h's dp_cli_parse). */
typedef struct dp_cli_spec {
	const char *shortopts;         /* getopt_long's ("h": -h is --help) */
	const struct option *longopts; /* ending in a zero entry; --version's code DP_OPT_VERSION */
	int help;                      /* what --help returns in getopt_long */
	void (*usage)(FILE *f);        /* prints the --help text */
	/* Takes option opt (its argument: arg) into ctx.  Returns 1 when it
	 * is one of the main's own, 0 when it is not (it goes on to
	 * other), -1 with err set for a bad value. */
	int (*take)(void *ctx, int opt, char *arg, dp_err *err);
} dp_cli_spec;

/* For an option getopt_long returned as unknown ('?': it has named it on
 * stderr): says "try --help"; returns DP_EXIT_USAGE. */
int dp_cli_unknown_option(void);

/* The getopt_long loop of a main: --help prints spec->usage to stdout,
 * --version prints dp_cli_version, each other option goes to spec->take,
 * then, when take does not know it, to other(other_ctx, opt, arg), which
 * returns -1 when it took the option, else the exit status (saying why on
 * stderr); other NULL: such an option is a usage error (getopt_long named
 * it).  Returns -1 to go on (optind is the first operand), else the exit
 * status main returns: DP_EXIT_OK after --help or --version, DP_EXIT_USAGE
 * after a usage error, said on stderr. */
int dp_cli_getopt(const dp_cli_spec *spec, int argc, char **argv, void *ctx,
		  int (*other)(void *other_ctx, int opt, const char *arg), void *other_ctx);

/* Parses a whole number in [min, max]; returns 0 or -1 with err naming
 * the option.  Nothing before or after it, whitespace included. */
int dp_cli_parse_long(const char *opt_name, const char *arg, long min, long max,
		      long *out, dp_err *err);

/* Reads arg, an option's value, as one number (strtod's forms) into *out:
 * 0, or -1 when arg is empty, holds anything before or after the number
 * (whitespace included) or one out of a double's range.  strtod and
 * strtol skip leading whitespace, where the check of their end refused a
 * trailing one: "-k ' 5'" was taken, "-k '5 '" refused. */
int dp_cli_read_double(const char *arg, double *out);

/* Common start of every main: holds a closed standard descriptor (its use
 * fails as a closed one's, never reaching a file or pipe opened later),
 * raises the soft limit on open files to the hard one (at most 65536), names
 * the stage for diagnostics and ignores SIGPIPE so a closed output is an
 * error we report, not a silent death.  A replica that docpipe run started
 * (DOCPIPE_SUPERVISOR in its environment: the supervisor's pid) goes to a
 * session of its own with SIGTERM as its parent-death signal (cli.c,
 * supervised); one started during the run's claim (DOCPIPE_GATE) then
 * waits at its gate until the claim holds (supervised_gate).  Sets
 * dp_cli_nomem_said for the calling thread. */
void dp_cli_init(const char *stage);

/* Makes jq's out-of-memory abort (its allocator's, per thread: a low
 * ulimit -v, a container's limit) say first "docpipe-<stage>: out of
 * memory ..." (jq's own words name no program: "error: cannot allocate
 * memory").  For the calling thread: dp_cli_init calls it for the main
 * thread, dp_stage_pool's threads call it, and so does any other thread
 * that builds jq values (the store's reader). */
void dp_cli_nomem_said(void);

/* A test hook, not for use: the value of environment variable name when it
 * is a positive number, else otherwise.  Why: a test shortens a wait or a
 * limit that is not its subject (docpipe's defaults stay in the code). */
double dp_cli_test_hook(const char *name, double otherwise);

/* Writes a main's report (consumed) on stdout: with json (--json) as one
 * line of JSON, else as print_text writes it for people (report borrowed
 * by it); then flushes (dp_stdout_flush, output.h).  Returns 0, or -1
 * with err set (a full disk, a closed standard output).  docpipe-status's
 * and docpipe-plan's. */
int dp_cli_report(jv report, int json, void (*print_text)(FILE *out, jv report), dp_err *err);

/* SIGTERM and SIGINT call dp_request_stop (stop.h) instead of
 * killing the process; a second signal kills it as usual. */
void dp_cli_handle_signals(void);

#endif
