/* Errors, diagnostics and the one table of exit codes shared by every
 * docpipe executable.
 *
 * Library code never prints and never exits: it fills a dp_err and returns
 * a failure value.  Only a stage's main() turns that into a diagnostic
 * (dp_diag) and an exit code. */
#ifndef DP_ERR_H
#define DP_ERR_H

#include <stdio.h>

#include <stddef.h>

#include "utf8.h"

/* Exit codes.  Documented in every --help (dp_exit_codes_help) and man page. */
enum dp_exit {
	DP_EXIT_OK = 0,      /* every record processed */
	DP_EXIT_FAILED = 1,  /* ran to the end, but at least one record failed */
	DP_EXIT_USAGE = 2,   /* bad arguments or configuration: nothing was done */
	DP_EXIT_SYSTEM = 3,  /* I/O, database, socket or memory error: stopped early */
	DP_EXIT_REFUSED = 4, /* the model API refused us for good (quota, auth) */
	DP_EXIT_INTERRUPTED = 5, /* stopped by SIGTERM/SIGINT before the end */
};

/* The exit-code table as --help prints it. */
extern const char dp_exit_codes_help[];

#define DP_ERR_MAX 512

/* What a failure was, where a caller's next step depends on it: decided
 * by this field, never by the message's words. */
enum dp_err_kind {
	DP_ERR_PLAIN = 0,
	DP_ERR_SPENT, /* dp_http: a call given up after its attempts or its retry
		       * budget on failures that were weather (5xx, 429s, no
		       * answer), not on an answer that came wrong */
};

/* An error message buffer.  Functions that can fail take a dp_err * and, on
 * failure, leave a one-line human-readable reason in msg (no trailing
 * newline, no stage prefix) and its kind. */
typedef struct dp_err {
	char msg[DP_ERR_MAX];
	enum dp_err_kind kind;
} dp_err;

/* Sets msg; kind is DP_ERR_PLAIN (the setter of another kind sets it after). */
void dp_err_set(dp_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Sets the stage name used as the "docpipe-<stage>: " prefix of
 * diagnostics.  Call once at the start of main. */
void dp_set_stage(const char *stage);
const char *dp_stage(void);

/* Prints "docpipe-<stage>: <message>\n" to stderr, its control
 * characters shown as dp_shown_char (utf8.h) shows them (a message quotes
 * file names and records). Thread-safe (one fprintf per line). */
void dp_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes s to out as dp_shown_char shows it; a newline is kept when
 * keep_lines (a report of many lines) and shown otherwise. */
void dp_put_shown(FILE *out, const char *s, int keep_lines);

#endif
