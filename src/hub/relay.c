/* The messages of the run's other processes above the tty display
 * (relay.h). */
#include "relay.h"

#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* FILE.shown's text: a fixed width, so that a shorter number written over
 * a longer one leaves no digits of it behind. */
#define SHOWN_WIDTH 20

/* Shown bytes are given back to the file system (a hole punched, the
 * file's size kept for the O_APPEND writers and the offsets) in steps of
 * this: the file lives as long as the run, days for a --watch run. */
#define FREE_STEP (4 << 20)

/* What hub_relay_cut may append for HUB_RELAY_READ_MAX bytes of input. */
#define OUT_MAX                                                                              \
	(HUB_RELAY_READ_MAX + 1 + (HUB_RELAY_READ_MAX / HUB_RELAY_LINE_MAX + 1) *              \
					  (sizeof HUB_RELAY_MARK))

int hub_relay_open(hub_relay *r, const char *path, dp_err *err)
{
	char name[4096], text[SHOWN_WIDTH + 2];

	memset(r, 0, sizeof *r);
	r->fd = r->shown_fd = -1;
	if ((size_t)snprintf(name, sizeof name, "%s.shown", path) >= sizeof name) {
		dp_err_set(err, "%s: path too long", path);
		return -1;
	}
	if ((r->fd = open(path, O_RDWR | O_CLOEXEC)) < 0 ||
	    (r->shown_fd = open(name, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		dp_err_set(err, "%s: %s", r->fd < 0 ? path : name, strerror(errno));
		hub_relay_close(r);
		return -1;
	}
	ssize_t n = pread(r->shown_fd, text, sizeof text - 1, 0);
	text[n > 0 ? n : 0] = '\0';
	r->shown = (off_t)strtoll(text, NULL, 10);
	if (r->shown < 0)
		r->shown = 0;
	dp_buf_init(&r->out, OUT_MAX);
	if ((r->in = malloc(HUB_RELAY_READ_MAX)) == NULL || dp_buf_reserve(&r->out, OUT_MAX) < 0) {
		dp_err_set(err, "out of memory");
		hub_relay_close(r);
		return -1;
	}
	return 0;
}

void hub_relay_close(hub_relay *r)
{
	if (r->fd >= 0)
		close(r->fd);
	if (r->shown_fd >= 0)
		close(r->shown_fd);
	free(r->in);
	dp_buf_free(&r->out);
	r->fd = r->shown_fd = -1;
	r->in = NULL;
}

size_t hub_relay_cut(const char *in, size_t n, int final, dp_buf *out)
{
	size_t at = 0;

	while (at < n) {
		/* A line of HUB_RELAY_LINE_MAX bytes and its newline is whole. */
		size_t left = n - at, look = left <= HUB_RELAY_LINE_MAX ? left : HUB_RELAY_LINE_MAX + 1;
		const char *nl = memchr(in + at, '\n', look);
		if (nl != NULL) {
			size_t line = (size_t)(nl - (in + at)) + 1;
			dp_buf_append(out, in + at, line);
			at += line;
		} else if (left > HUB_RELAY_LINE_MAX) {
			/* The piece ends before a UTF-8 sequence, not in one. */
			size_t piece = dp_utf8_floor(in + at, HUB_RELAY_LINE_MAX);
			dp_buf_append(out, in + at, piece);
			dp_buf_append(out, HUB_RELAY_MARK "\n", sizeof HUB_RELAY_MARK);
			at += piece;
		} else if (final) {
			dp_buf_append(out, in + at, left);
			dp_buf_append(out, "\n", 1);
			at = n;
		} else {
			break; /* unfinished: its writer may be writing the rest */
		}
	}
	return at;
}

int hub_relay_show(hub_relay *r, FILE *display, const char *before, int final, dp_err *err)
{
	int shown = 0;
	struct stat st;
	/* final shows the file as it is now, not what live writers add while
	 * a slow terminal takes it: that could hold the hub's end for ever. */
	off_t end = final && fstat(r->fd, &st) == 0 ? st.st_size : -1;

	do {
		size_t want = HUB_RELAY_READ_MAX;
		if (end >= 0 && end - r->shown < (off_t)want)
			want = end > r->shown ? (size_t)(end - r->shown) : 0;
		if (want == 0)
			break;
		ssize_t n = pread(r->fd, r->in, want, r->shown);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			dp_err_set(err, "reading the run's messages: %s", strerror(errno));
			return -1;
		}
		dp_buf_reset(&r->out);
		/* The read met the end (the file's as final found it, or short of
		 * a full read the file's): what is left is final's unfinished
		 * line. */
		int at_end = end >= 0 ? r->shown + n >= end : (size_t)n < want;
		size_t used = hub_relay_cut(r->in, (size_t)n, final && at_end, &r->out);
		if (used == 0)
			break;
		if (!shown)
			fputs(before, display);
		fwrite(r->out.data, 1, r->out.len, display);
		fflush(display);
		r->shown += (off_t)used, shown = 1;
		char text[SHOWN_WIDTH + 2];
		snprintf(text, sizeof text, "%0*" PRIdMAX "\n", SHOWN_WIDTH, (intmax_t)r->shown);
		/* Not recorded (a full disk), the supervisor shows these lines
		 * again after the hub: no reason to stop showing. */
		ssize_t w = pwrite(r->shown_fd, text, SHOWN_WIDTH + 1, 0);
		/* Only what FILE.shown says was shown: a reader after the hub
		 * starts there.  A file system without holes keeps it all. */
		if (w == SHOWN_WIDTH + 1 && r->shown - r->freed >= FREE_STEP) {
			off_t upto = r->shown & ~(off_t)4095;
			if (fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, upto) == 0)
				r->freed = upto;
			else
				r->freed = r->shown; /* tried again FREE_STEP later */
		}
	} while (final);
	return shown;
}
