/* The messages of the run's other processes above the tty display
 * (relay.h). */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* FILE.shown's text: a fixed width, so that a shorter number written over
 * a longer one leaves no digits of it behind. */
#define SHOWN_WIDTH 20

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
	if ((r->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
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
		size_t left = n - at, look = left < HUB_RELAY_LINE_MAX ? left : HUB_RELAY_LINE_MAX;
		const char *nl = memchr(in + at, '\n', look);
		if (nl != NULL) {
			size_t line = (size_t)(nl - (in + at)) + 1;
			dp_buf_append(out, in + at, line);
			at += line;
		} else if (left >= HUB_RELAY_LINE_MAX) {
			/* Back over at most 3 continuation bytes: the piece ends
			 * before the sequence they belong to. */
			size_t piece = HUB_RELAY_LINE_MAX;
			for (int k = 0; k < 3 && ((unsigned char)in[at + piece] & 0xC0) == 0x80; k++)
				piece--;
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

	do {
		ssize_t n = pread(r->fd, r->in, HUB_RELAY_READ_MAX, r->shown);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			dp_err_set(err, "reading the run's messages: %s", strerror(errno));
			return -1;
		}
		dp_buf_reset(&r->out);
		/* Short of a full read the file's end was met: what is left of
		 * it is final's unfinished line. */
		size_t used = hub_relay_cut(r->in, (size_t)n, final && n < HUB_RELAY_READ_MAX, &r->out);
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
		(void)w;
	} while (final);
	return shown;
}
