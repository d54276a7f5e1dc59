/* docpipe-watch: keeps a stored corpus in step with its folders (issue 13).
 *
 * Watches every directory under the roots with inotify (directories that
 * appear are added as they appear) and writes a `file` record for a file
 * that was created, written or moved in, and a `delete` record for one that
 * was deleted or moved out, once it has settled: every event on a path
 * (re)arms its deadline, and only when settle_ms pass without one is the
 * path looked at (so a file being written is ingested once, after it is
 * written).  A file a writer still holds open (its last event IN_CREATE or
 * IN_MODIFY, no IN_CLOSE_WRITE since) waits writer_settle_ms instead, for
 * at most writer_max_ms after that writer's first event (then the
 * settle_ms rule again): a file written in pieces with pauses is taken
 * once, after its close, and a log never closed is still taken.  The first
 * pass takes every file, but one that may be open for writing (written
 * within writer_settle_ms, no read lease to be had) waits as one whose
 * writer was seen.
 *
 * Missing an event is never silent: an inotify queue overflow, a watch
 * that cannot be added (the fs.inotify.max_user_watches limit) or SIGUSR1
 * make a rescan (said on stderr): every known path and every file looked
 * at, those new, changed (size, times, inode: the signature kept for each
 * known file) or gone since they were taken sent; after a watch-limit
 * error the rescans repeat every poll_s seconds since changes in
 * unwatched directories are not seen.  A root on a network or FUSE
 * filesystem (NFS, SMB, sshfs ...), where inotify tells only this
 * machine's changes, is said once and looked through so every poll_s
 * seconds; so is one mounted below a root while watching (no inotify
 * event: /proc/self/mountinfo is polled). */
#ifndef WATCH_WATCH_H
#define WATCH_WATCH_H

#include <jv.h>

#include "../discover/walk.h"
#include "err.h"
#include "transport.h"

#define WATCH_SETTLE_MS_DEFAULT 200
/* A writer pausing longer than this with the file open (a generator, an
 * LLM agent writing section by section, a download stalled) makes a
 * partial version, summarized and embedded at a price: 5 s covers the
 * pauses of such writers (sweep 8 saw 0.4 s) and is a small delay beside
 * the pipeline's own seconds per document. */
#define WATCH_WRITER_SETTLE_MS_DEFAULT 5000
/* A file held open longer than this (a log, an editor's swap) is taken at
 * its next --settle pause all the same: one version a minute at most. */
#define WATCH_WRITER_MAX_MS_DEFAULT 60000
#define WATCH_POLL_S_DEFAULT 30
/* Directories watched at once at most (their number, not their watch
 * descriptors' values: those grow for as long as the watcher runs); past
 * it, the rescans every --poll seconds as at the kernel's limit. */
#define WATCH_MAX_DIRS (1 << 22)
/* The known files' maximums are known.h's (KNOWN_MAX_FILES: 10,000,000
 * files, about 90 bytes of memory each, ~1 GB at the bound; a file past
 * it is sent but not known: no delete record when it goes, and sent again
 * at every rescan), the pending paths' pending.h's. */

typedef struct watch watch;

/* The watcher's times (the defaults above; --settle, --writer-settle,
 * --writer-max, --poll), and two test hooks, 0 but in tests
 * (DOCPIPE_WATCH_TEST_SKIP_WDS, DOCPIPE_WATCH_TEST_MAX_DIRS): watch
 * descriptors used up before the first pass, as that many directories
 * made and removed would (watch.c skip_wds), and a smaller
 * WATCH_MAX_DIRS, so that tests reach both in a second
 * (tests/integration/ops_watch_wds.sh). */
typedef struct {
	int settle_ms, writer_settle_ms, writer_max_ms, poll_s;
	long test_skip_wds, test_max_dirs;
} watch_times;

/* Prepares watching roots (absolute paths of directories; borrowed,
 * like opts, for the watch's life); watch_run makes the first pass.
 * Returns NULL with err. */
watch *watch_new(char *const *roots, size_t nroots, const discover_opts *opts,
		 const watch_times *times, dp_err *err);
void watch_free(watch **w);

/* Makes the first pass (every directory under the roots watched, every
 * file taken), then runs until SIGTERM or SIGINT (blocked by the caller
 * and handed in through a signalfd, with SIGUSR1) or an output failure:
 * records go to sink.  With end_record, the first pass ends with an end
 * record (discover_end_record, stage "watch"): each directory was watched
 * before it was listed, so a file the pass did not see, if still stored,
 * is gone or unread (listed), and a sweep after it is safe; a file that
 * may still be open for writing comes after it, once settled.  Returns 0
 * after a stop signal, -1 with err when the output or inotify failed. */
int watch_run(watch *w, int signal_fd, dp_sink *sink, int end_record, dp_err *err);

#endif
