/* The messages of a run's other processes, shown above the hub's tty
 * display (docpipe run --progress tty).
 *
 * The display is a block of lines the hub moves the cursor up over and
 * draws again every 0.5 s: a message another process wrote to the same
 * terminal in between was drawn over by the next redraw, half or whole.
 * So in tty mode docpipe run sends the stderr of every process of the run
 * (its own `say` lines, the replicas', discover's, the hub's own and its
 * sweep's) to one file, opened with O_APPEND, and the hub, which alone
 * writes to the terminal, shows what was appended: it erases its block,
 * prints the new complete lines, draws the block again below them.
 *
 * A file, not a pipe: a writer's message (one write(2) of an O_APPEND
 * file on a local file system) goes in whole and in the order written,
 * and never blocks or gets SIGPIPE, whether the hub reads it or died.
 * FILE.shown holds how many bytes of FILE were shown (a decimal number
 * written after they were printed, so that a hub killed in between shows
 * a line twice rather than never): whoever shows what is left, the
 * supervisor once the hub is gone (docpipe-hub --relay), starts there. */
#ifndef DP_HUB_RELAY_H
#define DP_HUB_RELAY_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "buf.h"
#include "err.h"

/* Bytes read from the file per call of hub_relay_show (but final): a flood
 * of messages cannot hold the hub's loop up; the rest comes next turn. */
#define HUB_RELAY_READ_MAX 65536
/* A line longer than this is shown in pieces of at most as many bytes,
 * each but the last ending with HUB_RELAY_MARK: the hub holds no more of
 * an unfinished line than this, and a terminal shows no more usefully. */
#define HUB_RELAY_LINE_MAX 4096
#define HUB_RELAY_MARK " [line cut: it goes on below]"

typedef struct hub_relay {
	int fd;       /* the messages file, read with pread */
	int shown_fd; /* FILE.shown */
	off_t shown;  /* bytes of the file shown */
	off_t freed;  /* of them, given back to the file system (a hole) */
	char *in;     /* HUB_RELAY_READ_MAX bytes */
	dp_buf out;   /* what one turn shows */
} hub_relay;

/* Opens the messages file path (which must exist) and path.shown (made
 * when missing; what it says is where showing starts, 0 when empty).
 * Returns 0, or -1 with err (r then holds nothing to close). */
int hub_relay_open(hub_relay *r, const char *path, dp_err *err);
void hub_relay_close(hub_relay *r);

/* Appends to out what of in[0..n) is ready to show and returns how many
 * bytes of in that is: its complete lines, a line of more than
 * HUB_RELAY_LINE_MAX bytes in pieces (cut before a UTF-8 sequence, not in
 * one), and with final the unfinished line at the end too (with a newline
 * added).  An unfinished line is otherwise left for later: its writer may
 * be writing the rest.  out must have room for n bytes, one newline and
 * one HUB_RELAY_MARK per HUB_RELAY_LINE_MAX bytes (hub_relay_open sizes
 * r->out so). */
size_t hub_relay_cut(const char *in, size_t n, int final, dp_buf *out);

/* Shows on display what the file holds past what was shown: up to
 * HUB_RELAY_READ_MAX bytes of it, or with final all of it, the last line
 * without its newline too (no other writer is left, or none whose rest
 * will be waited for).  When there is something to show, writes before
 * first (the hub's sequence that erases its display; "" for none), then
 * flushes display and records the new offset in FILE.shown.  Returns 1
 * when it showed something, 0 when not, -1 with err when the file could
 * not be read (what display got is kept). */
int hub_relay_show(hub_relay *r, FILE *display, const char *before, int final, dp_err *err);

#endif
