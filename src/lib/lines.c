#include "lines.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"

#define READ_CHUNK 65536

/* The window is a dp_buf: bytes [start, buf.len) are read and unconsumed.
 * Its maximum, max_line + READ_CHUNK, is never reached: a line over
 * max_line is dropped before the next read, so only malloc can fail. */
struct dp_lines {
	int fd;
	int wake_fd; /* -1: none */
	int timeout_ms; /* -1: none */
	size_t max_line;
	dp_buf buf;
	size_t start;  /* first unconsumed byte */
	unsigned long lineno;
	int eof;
	int skipping; /* in a line over max_line: its bytes are dropped */
};

dp_lines *dp_lines_new(int fd, size_t max_line)
{
	dp_lines *l = calloc(1, sizeof *l);

	if (l == NULL)
		return NULL;
	l->fd = fd;
	l->wake_fd = -1;
	l->timeout_ms = -1;
	l->max_line = max_line;
	dp_buf_init(&l->buf, max_line + READ_CHUNK);
	if (dp_buf_reserve(&l->buf, READ_CHUNK) < 0) {
		dp_buf_free(&l->buf);
		free(l);
		return NULL;
	}
	return l;
}

void dp_lines_free(dp_lines **lines)
{
	if (*lines == NULL)
		return;
	dp_buf_free(&(*lines)->buf);
	free(*lines);
	*lines = NULL;
}

void dp_lines_set_wake_fd(dp_lines *lines, int wake_fd)
{
	lines->wake_fd = wake_fd;
}

void dp_lines_set_timeout(dp_lines *lines, int timeout_ms)
{
	lines->timeout_ms = timeout_ms;
}

/* Waits until the input is readable or the wake descriptor is, up to the
 * timeout; returns 1 when woken, 0 when the input can be read, 2 when the
 * timeout passed, -1 on error. */
static int wait_input(dp_lines *l, dp_err *err)
{
	struct pollfd p[2] = {{.fd = l->fd, .events = POLLIN}, {.fd = l->wake_fd, .events = POLLIN}};
	int n;

	for (;;) {
		if ((n = poll(p, 2, l->timeout_ms)) >= 0)
			return n == 0 ? 2 : p[1].revents != 0 ? 1 : 0;
		if (errno != EINTR) {
			dp_err_set(err, "poll: %s", strerror(errno));
			return -1;
		}
	}
}

/* Moves the unconsumed bytes to the front, then gives back what a past big
 * line grew the buffer to: a big record is done with, do not hold its size
 * for the rest of the run (measured: 8 MB kept by docpipe-embed after one
 * 5 MB document). */
static void compact(dp_lines *l)
{
	if (l->start > 0) {
		memmove(l->buf.data, l->buf.data + l->start, l->buf.len - l->start);
		l->buf.len -= l->start;
		l->start = 0;
	}
	dp_buf_trim(&l->buf, 4 * READ_CHUNK);
}

void dp_lines_release(dp_lines *l)
{
	if (l->buf.cap > 8 * READ_CHUNK)
		compact(l);
}

/* Makes room for at least READ_CHUNK more bytes, first by compacting, then
 * by growing the buffer.  -1: out of memory. */
static int make_room(dp_lines *l)
{
	compact(l);
	return dp_buf_reserve(&l->buf, READ_CHUNK);
}

/* Reads more input; returns bytes read, 0 at EOF, -1 on error, -2 when
 * the timeout passed with nothing to read. */
static ssize_t fill(dp_lines *l, dp_err *err)
{
	if (make_room(l) < 0) {
		dp_err_set(err, "out of memory reading input");
		return -1;
	}
	if (l->wake_fd >= 0 || l->timeout_ms >= 0) {
		int woken = wait_input(l, err);
		if (woken != 0)
			return woken == 1 ? 0 : woken == 2 ? -2 : -1;
	}
	for (;;) {
		/* All the room there is, less the byte for a final line's NUL. */
		ssize_t n = read(l->fd, l->buf.data + l->buf.len, l->buf.cap - l->buf.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			dp_err_set(err, "read: %s", strerror(errno));
			return -1;
		}
		l->buf.len += (size_t)n;
		return n;
	}
}

int dp_lines_next(dp_lines *l, const char **line, size_t *len,
		  unsigned long *lineno, dp_err *err)
{
	size_t scanned = 0; /* bytes from start already known to hold no '\n' */

	for (;;) {
		char *base = l->buf.data + l->start;
		size_t avail = l->buf.len - l->start;
		char *nl = memchr(base + scanned, '\n', avail - scanned);

		if (nl != NULL) {
			size_t n = (size_t)(nl - base);
			l->start += n + 1;
			*lineno = ++l->lineno;
			if (l->skipping || n > l->max_line) {
				l->skipping = 0;
				dp_err_set(err, "line %lu is longer than the maximum of %zu bytes; skipped",
					   l->lineno, l->max_line);
				return DP_LINES_TOO_LONG;
			}
			*nl = '\0';
			*line = base;
			*len = n;
			return DP_LINES_OK;
		}
		scanned = avail;
		if (avail > l->max_line) {
			/* Drop what we hold of the over-long line and keep scanning
			 * for its end, so memory stays bounded. */
			l->skipping = 1;
			l->start = l->buf.len;
			scanned = 0;
		}
		if (l->eof) {
			if (avail == 0 || l->skipping) {
				if (!l->skipping)
					return DP_LINES_EOF;
				l->skipping = 0;
				*lineno = ++l->lineno;
				l->start = l->buf.len;
				dp_err_set(err, "line %lu is longer than the maximum of %zu bytes; skipped",
					   l->lineno, l->max_line);
				return DP_LINES_TOO_LONG;
			}
			/* Final line without a newline. */
			l->buf.data[l->buf.len] = '\0';
			*line = base;
			*len = avail;
			l->start = l->buf.len;
			*lineno = ++l->lineno;
			return DP_LINES_OK;
		}
		ssize_t n = fill(l, err);
		if (n == -2)
			return DP_LINES_AGAIN;
		if (n < 0)
			return DP_LINES_ERROR;
		if (n == 0)
			l->eof = 1;
	}
}
