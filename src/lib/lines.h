/* A bounded line reader for NDJSON input.
 *
 * Reads from a file descriptor with one buffer that grows up to a maximum
 * line length and never beyond: an over-long line is reported and skipped,
 * so one bad record cannot exhaust memory or stop the stream. */
#ifndef DP_LINES_H
#define DP_LINES_H

#include <stddef.h>

#include "err.h"

typedef struct dp_lines dp_lines;

enum dp_lines_status {
	DP_LINES_ERROR = -1, /* read error; err says why */
	DP_LINES_EOF = 0,
	DP_LINES_OK = 1,      /* *line holds one line */
	DP_LINES_TOO_LONG = 2, /* a line over the maximum was skipped; err says so */
	DP_LINES_AGAIN = 3     /* dp_lines_set_timeout's time passed without a whole line */
};

/* Returns NULL on allocation failure. max_line counts bytes without '\n'. */
dp_lines *dp_lines_new(int fd, size_t max_line);
void dp_lines_free(dp_lines **lines);

/* Also watches wake_fd (-1: none): once it is readable, the reader stops
 * as at the end of input, even while it waits for input.  Another thread
 * writes a byte to wake a blocked reader. */
void dp_lines_set_wake_fd(dp_lines *lines, int wake_fd);

/* Waits at most timeout_ms (-1: no limit, the default) for input each
 * time dp_lines_next needs more: when none came, it returns DP_LINES_AGAIN,
 * what it read of a line kept for the next call.  For a reader that has
 * something else to do now and then (the hub shows its progress while its
 * sweep runs). */
void dp_lines_set_timeout(dp_lines *lines, int timeout_ms);

/* Next line, without its '\n', NUL-terminated.  *line stays valid until the
 * next call.  A final line without '\n' is returned as a line.  Blank lines
 * are returned too (the caller decides).  *lineno is the 1-based number of
 * the line returned or skipped. */
int dp_lines_next(dp_lines *lines, const char **line, size_t *len,
		  unsigned long *lineno, dp_err *err);

/* The line dp_lines_next returned is done with (it is no longer valid):
 * the memory a big one took is given back now, not at the next read (a
 * stage parses a record, then works on it for a while: embed held a 37 MB
 * line beside its parse and its output). */
void dp_lines_release(dp_lines *lines);

#endif
