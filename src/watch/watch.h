/* docpipe-watch: keeps a stored corpus in step with its folders (issue 13).
 *
 * Watches every directory under the roots with inotify (directories that
 * appear are added as they appear) and writes a `file` record for a file
 * that was created, written or moved in, and a `delete` record for one that
 * was deleted or moved out, once it has settled: every event on a path
 * (re)arms its deadline, and only when settle_ms pass without one is the
 * path looked at (so a file being written is ingested once, after it is
 * written).  The first pass treats every file as changed.
 *
 * Missing an event is never silent: an inotify queue overflow, a watch
 * that cannot be added (the fs.inotify.max_user_watches limit) or SIGUSR1
 * make a full rescan (every known path and every file looked at again,
 * said on stderr); after a watch-limit error the rescans repeat every
 * poll_s seconds since changes in unwatched directories are not seen. */
#ifndef WATCH_WATCH_H
#define WATCH_WATCH_H

#include <jv.h>

#include "../discover/walk.h"
#include "err.h"
#include "transport.h"

#define WATCH_SETTLE_MS_DEFAULT 200
#define WATCH_POLL_S_DEFAULT 30
#define WATCH_MAX_DIRS (1 << 22)  /* watches (directories) tracked at most */
#define WATCH_MAX_PATHS 10000000  /* known files at most */

typedef struct watch watch;

/* Sets up watches under roots (absolute paths of directories; borrowed,
 * like opts, for the watch's life).  Returns NULL with err. */
watch *watch_new(char *const *roots, size_t nroots, const discover_opts *opts, int settle_ms,
		 int poll_s, dp_err *err);
void watch_free(watch **w);

/* Runs until SIGTERM or SIGINT (blocked by the caller and handed in
 * through a signalfd, with SIGUSR1) or an output failure: records go to
 * sink.  Returns 0 after a stop signal, -1 with err when the output or
 * inotify failed. */
int watch_run(watch *w, int signal_fd, dp_sink *sink, dp_err *err);

#endif
