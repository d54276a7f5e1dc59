#include "watch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "known.h"
#include "path.h"
#include "pending.h"
#include "record.h"

/* IN_ATTRIB: a file made readable again (chmod) is taken then, not at its
 * next write.  A root is watched through a symbolic link (ROOT_MASK): as
 * discover, the watcher takes a root that is a link to a directory. */
#define ROOT_MASK (IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | \
		   IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | \
		   IN_EXCL_UNLINK)
#define DIR_MASK (ROOT_MASK | IN_DONT_FOLLOW)
#define DEPTH_MAX 128
#define COALESCE_MS 10 /* paths due this soon are taken with the ones due now */
#define ROOT_POLL_MS 100 /* how often every root is looked at (look_at_roots) */
/* A walk resolves what is due every this many files it finds: pending
 * holds no more than a walk finds in --settle ms.  Before, the first pass
 * held every file of the roots there at once (fault sweep 24). */
#define WALK_SETTLE_FILES 4096
#define STOP_LOOK_RECORDS 256 /* a settle looks for a stop signal this often (stop_asked) */

/* The directory a root's path led to when it was watched. */
struct root_id {
	dev_t dev;
	ino_t ino;
	int known;
};

struct watch {
	int fd; /* inotify */
	char *const *roots;
	size_t nroots;
	const discover_opts *opts;
	int settle_ms, writer_settle_ms, writer_max_ms, poll_s;
	/* Watch descriptor (decimal) -> its directory's names: an array of
	 * [path, root index], more than one when the directory is reached by
	 * several paths under the roots (a bind mount, a filesystem mounted
	 * twice: the kernel gives the same wd), every event applied to each;
	 * the last name added used to hide the others (sweep 8, finding 3).
	 * An object, not
	 * an array indexed by wd: the kernel gives a new wd to every watch
	 * added, never reusing one until INT_MAX, so an array grew with every
	 * directory ever watched (1 << 22 slots after as many directories
	 * made and removed, the limit there: later directories were not
	 * followed; sweep 8, finding 4). */
	jv dirs;
	size_t ndirs;   /* keys in dirs: at most max_dirs */
	size_t max_dirs; /* WATCH_MAX_DIRS, or less in tests */
	/* Each file a record was written for, with its root index and its
	 * signature when taken, and the files taken with one link by inode
	 * (known.h): a link made to one later finds its first name there
	 * (link_name; before, an edit through the new name reached the old
	 * one only from the old name's next change on). */
	known_files *known;
	/* Files with several links (st_nlink > 1) among the known: "dev:ino"
	 * -> [their stat signature when last taken, {path: root index}], and
	 * path -> its "dev:ino".  An edit gives an event under the name
	 * written through only: taking one name marks the others
	 * (resolve). */
	jv inodes, linked;
	/* Each path with a change not settled: its deadline (ms), root
	 * index and open writer's first event ms or -1 (pending.h). */
	pending *pending;
	int pending_said; /* a path could not be made pending: said once */
	unsigned long found; /* files the walks found (WALK_SETTLE_FILES) */
	/* watch_run's signalfd, looked at within long walks and settles
	 * (stop_asked): a stop signal read there ends them and the run, a
	 * SIGUSR1 is kept for the loop (rescan_asked). */
	int signal_fd;
	int stopping, rescan_asked;
	/* The wall clock less the boot clock (ms) at the start or when a
	 * found file's age was last judged, and that offset before the last
	 * step seen (LONG_MIN for none): written_ms_ago. */
	long wall_offset_ms, stepped_from_ms;
	jv unreadable; /* object: directory that could not be read (said once) -> true */
	/* /proc/self/mountinfo, polled (POLLPRI: a mount or unmount in this
	 * namespace), or -1; mounts: the mount IDs it listed last. */
	int mounts_fd;
	jv mounts;
	unsigned char *lost;  /* per root: lost (lose_root), looked for every ROOT_POLL_MS */
	size_t nlost;
	struct root_id *ids;  /* per root: what it is watched as */
	long next_look_ms;    /* the next look_at_roots */
	int limited;          /* a watch could not be added */
	/* Per root: a network or FUSE filesystem at it or below (remote_fs):
	 * looked through every poll_s seconds (look_through). */
	unsigned char *remote;
	size_t nremote;
	int polling;          /* in look_through: add_tree marks new and changed files only */
	int polling_remote;   /* look_through's remote_only */
	int full_said;        /* a file could not be known (resolve): said once */
	long next_poll_ms;    /* when limited or nremote: the next periodic rescan */
	dp_sink *sink;
	dp_err *err;
	int failed;           /* the output failed */
	/* What the walks took (discover_file counts), and for the first
	 * pass's end record (watch_run's end_record) the records written
	 * before it and the directories it could not read (stats.unread
	 * points at unread). */
	discover_stats stats;
	unsigned long written;
	jv unread;
	int first_pass;
	/* Every file and delete record gets this run (also its stream: no
	 * other process has it) and the next seq, as a hub numbers its input:
	 * the store then keeps a path's newest record of the stream whatever
	 * order the stages deliver them in (a delete passes a document a slow
	 * stage holds).  A hub renumbers them. */
	char run[64];
	long next_seq;
};

/* Whether path (under root r) is one to watch: not hidden (unless
 * --hidden), a directory not excluded, a file discover would take. */
static int visible(const watch *w, size_t r, const char *path, int is_dir)
{
	size_t rl = strcmp(w->roots[r], "/") == 0 ? 0 : strlen(w->roots[r]);
	const char *rel = path + rl + (path[rl] == '/');

	if (dp_path_file_name(path)[0] == '.' && !w->opts->hidden)
		return 0;
	return is_dir ? !discover_excluded(w->opts, rel) : discover_wanted(w->opts, rel);
}

/* An array of a and b (consumed), allocated to two items: JV_ARRAY and
 * jv_array allocate room for 16 (272 bytes).  dirs kept two such arrays
 * a directory, ~750 bytes with its key: in a tree of 2 files a
 * directory, 15 MB of the watcher's 25 over 40,000 files (session 52). */
static jv pair(jv a, jv b)
{
	return jv_array_append(jv_array_append(jv_array_sized(2), a), b);
}

/* Looks at path (under root r) at ms (the clock's), unless an event
 * re-arms it; since: when its open writer's first event came, or -1. */
static void arm(watch *w, const char *path, size_t r, long at, long since)
{
	if (pending_set(w->pending, w->known, path, r, at, since) < 0 && !w->pending_said) {
		w->pending_said = 1;
		dp_diag("%s: not looked at (out of memory, or %zu paths pending): a rescan (SIGUSR1)"
			" takes what it missed", path, pending_count(w->pending));
	}
}

/* Looks at path (under root r) once nothing happened to it for delay_ms. */
static void mark(watch *w, const char *path, size_t r, long delay_ms)
{
	arm(w, path, r, (dp_clock_us() / 1000) + delay_ms, -1);
}

/* An event (mask) on the file path (under root r).  A writer still
 * holding it open (IN_CREATE: an open(O_CREAT); IN_MODIFY; an IN_ATTRIB
 * while one writes) makes it wait writer_settle_ms (at least settle_ms),
 * but never past writer_max_ms after that writer's first event unless
 * settle_ms are not over by then (a log never closed: taken at its next
 * pause, once a writer_max_ms at most).  Its close (IN_CLOSE_WRITE), or
 * the name moved or deleted, ends the wait: settle_ms.  With settle_ms for
 * every event, a file written in 10 pieces 0.4 s apart was taken, and
 * paid for, 10 times (sweep 8, finding 6).  An IN_CREATE of a name whose
 * file has other links is a hard link made (`ln`), opened by no one:
 * settle_ms (it waited writer_settle_ms).  The state is the pending
 * entry's: none once the path is resolved. */
static void mark_file_event(watch *w, const char *path, size_t r, uint32_t mask)
{
	long now = dp_clock_us() / 1000, since = pending_since(w->pending, w->known, path);
	struct stat st;

	if (mask == IN_CREATE && lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink > 1)
		mask = 0;
	if (!((mask & (IN_CREATE | IN_MODIFY)) || ((mask & IN_ATTRIB) && since >= 0))) {
		mark(w, path, r, w->settle_ms);
		return;
	}
	if (since < 0)
		since = now;
	long wait = w->writer_settle_ms > w->settle_ms ? w->writer_settle_ms : w->settle_ms;
	long at = now + wait, cap = since + w->writer_max_ms;
	if (cap < now + w->settle_ms)
		cap = now + w->settle_ms;
	arm(w, path, r, at < cap ? at : cap, since);
}

/* A wall clock's step (NTP's, `date -s`, a VM resumed) of this many ms
 * or more is one; a slew's drift between two looks is far less. */
#define WALL_STEP_MS 1000

/* The wall clock less the boot clock, in ms; the boot clock's ms into
 * mono_ms.  The boot clock (CLOCK_BOOTTIME), not the monotonic one: it
 * counts a suspend as the wall clock does, so a resume is no step. */
static long wall_offset_ms(long *mono_ms)
{
	struct timespec wall, mono;

	clock_gettime(CLOCK_REALTIME, &wall);
	clock_gettime(CLOCK_BOOTTIME, &mono);
	*mono_ms = (long)mono.tv_sec * 1000 + mono.tv_nsec / 1000000;
	return (long)wall.tv_sec * 1000 + wall.tv_nsec / 1000000 - *mono_ms;
}

/* How long ago (ms) the file st was last written, on the boot clock: its
 * mtime, stamped by the wall clock, less the wall clock's offset from the
 * boot clock then.  That offset is the current one, unless the
 * wall clock stepped since the look before (or the start): then
 * a stamp in the future (stepped back since) took the offset before the
 * step, and so did one that the offset before makes recent (a write just
 * before a step forward; the lease then decides).  The wall clock alone
 * made a file its writer held open look written an hour ago after a
 * step of +1 h (taken at once, half-written, then again at its close),
 * and a file closed long before look just written after a step back
 * (each waited --writer-settle where no lease could be taken).  A step
 * before this process started, or one before the last, is not known: a
 * limit of every mtime tool. */
static long written_ms_ago(watch *w, const struct stat *st)
{
	long mono_ms, offset = wall_offset_ms(&mono_ms);

	if (labs(offset - w->wall_offset_ms) >= WALL_STEP_MS)
		w->stepped_from_ms = w->wall_offset_ms;
	w->wall_offset_ms = offset;
	long stamp_ms = (long)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
	long age_ms = mono_ms - (stamp_ms - offset);
	if (w->stepped_from_ms != LONG_MIN) {
		long before_step = mono_ms - (stamp_ms - w->stepped_from_ms);
		if (age_ms < 0 || (before_step >= 0 && before_step < w->writer_settle_ms))
			return before_step;
	}
	return age_ms;
}

/* Whether the file st at path, found by a walk (no event tells), may be
 * open for writing: written within writer_settle_ms, unless a read lease
 * (F_SETLEASE) can be taken on it, which the kernel refuses (EAGAIN)
 * while any process holds it open for writing.  A lease needs the file's
 * owner (or CAP_LEASE) and a filesystem that has them: else the age
 * alone says.  The lease is given back at once (its break signal, SIGIO,
 * is ignored: main.c). */
static int may_be_written(watch *w, const char *path, const struct stat *st)
{
	if (written_ms_ago(w, st) >= w->writer_settle_ms)
		return 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	int leased = fd >= 0 && fcntl(fd, F_SETLEASE, F_RDLCK) == 0;

	if (leased)
		fcntl(fd, F_SETLEASE, F_UNLCK);
	if (fd >= 0)
		close(fd);
	return !leased;
}

/* A file st found by a walk (the first pass, a directory new, a rescan)
 * at path (under root r): looked at in delay_ms, but one that may still
 * be open for writing waits as one whose writer holds it
 * (mark_file_event): its writer's close or its next pause takes it once.
 * Before, the first pass took a file being written half-written, and
 * again at its close. */
static void mark_found(watch *w, const char *path, size_t r, const struct stat *st, long delay_ms)
{
	if (may_be_written(w, path, st))
		mark_file_event(w, path, r, IN_MODIFY);
	else
		mark(w, path, r, delay_ms);
}

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", name);
	return p;
}

static int is_unreadable(const watch *w, const char *dir)
{
	jv was = jv_object_get(jv_copy(w->unreadable), jv_string(dir));
	int yes = jv_is_valid(was);

	jv_free(was);
	return yes;
}

/* Calls fn with each known file (under dir unless NULL): one that
 * cannot be listed (out of memory for its path) is said. */
static void each_known(watch *w, const char *dir,
		       void (*fn)(void *ctx, uint32_t id, const char *path, size_t r))
{
	if (known_each(w->known, dir, fn, w) < 0)
		dp_diag("%s: out of memory listing the files known there: not all looked at",
			dir != NULL ? dir : "every root");
}

static void mark_known(void *ctx, uint32_t id, const char *path, size_t r)
{
	watch *w = ctx;

	(void)id;
	mark(w, path, r, w->settle_ms);
}

/* Marks every known file under dir (dir itself is gone or moved, or
 * readable again: a file deleted meanwhile is deleted then). */
static void mark_under(watch *w, const char *dir)
{
	each_known(w, dir, mark_known);
}

/* dir (or what lies under it) was not read: in the first pass, the walk
 * is then not complete, and its end record lists dir (a sweep keeps
 * what is stored under it), as discover's does. */
static void unwalked(watch *w, const char *dir)
{
	if (w->first_pass)
		discover_unwalked(&w->stats, dir);
}

/* dir could not be watched or read for err (EACCES, ...): not
 * gone, so what was stored under it stays (resolve deletes only on ENOENT
 * or ENOTDIR); it is said once, and taken again (add_tree) on an
 * IN_ATTRIB of it (chmod) or at the next rescan. */
static void unreadable(watch *w, const char *dir, int err)
{
	if (!is_unreadable(w, dir)) {
		dp_diag("%s: cannot watch: %s: what is stored under it is kept;"
			" taken again once it is readable", dir, strerror(err));
		w->unreadable = jv_object_set(w->unreadable, jv_string(dir), jv_true());
		unwalked(w, dir);
	}
}

/* dirs' key for watch descriptor wd. */
static jv wd_key(int wd)
{
	char k[16];

	snprintf(k, sizeof k, "%d", wd);
	return jv_string(k);
}

/* A directory could not be watched for a limit (which names it): said
 * once; every root is rescanned every poll_s seconds from then on, since
 * changes in unwatched directories give no event. */
static void limit_reached(watch *w, const char *dir, const char *which)
{
	if (w->limited)
		return;
	dp_diag("%s: cannot watch: %s is reached: rescanning every %d s instead", dir, which, w->poll_s);
	w->limited = 1;
	w->next_poll_ms = (dp_clock_us() / 1000) + w->poll_s * 1000L;
}

/* Whether the directories above a and b are one (a and b then are names
 * of one directory because their parents are). */
static int same_parent(const char *a, const char *b)
{
	char *pa = strndup(a, (size_t)(dp_path_file_name(a) - a)),
	     *pb = strndup(b, (size_t)(dp_path_file_name(b) - b));
	struct stat sa, sb;
	int same = pa != NULL && pb != NULL && stat(pa, &sa) == 0 && stat(pb, &sb) == 0 &&
		   sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;

	free(pa);
	free(pb);
	return same;
}

/* A file's stat signature: what a write or a chmod through any of its
 * names changes, and what another file put in its place (a rename over
 * it: an editor's save) has another of.  Timestamps are the kernel's
 * coarse clock (a few ms): two writes of one size within one tick, the
 * second's event lost, look the same (a limit of every mtime tool). */
static jv signature(const struct stat *st)
{
	char sig[128];

	snprintf(sig, sizeof sig, "%llu:%llu:%lld:%lld.%09ld:%lld.%09ld", (unsigned long long)st->st_dev,
		 (unsigned long long)st->st_ino, (long long)st->st_size,
		 (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec,
		 st->st_ctim.tv_nsec);
	return jv_string(sig);
}

/* A number from a /proc/sys file, or -1. */
static long sysctl_value(const char *file)
{
	FILE *f = fopen(file, "re");
	long v = -1;

	if (f != NULL) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* Names into buf (n bytes) the inotify watch limit an ENOSPC reached:
 * in a user namespace (a container) its own limit,
 * /proc/sys/user/max_inotify_watches, when it is the lower (the ancestor
 * namespaces' count too; fs.inotify.max_user_watches is the initial
 * namespace's), else fs.inotify.max_user_watches.  Both were named the
 * latter (sweep 8). */
static const char *kernel_limit(char *buf, size_t n)
{
	long fs = sysctl_value("/proc/sys/fs/inotify/max_user_watches"),
	     user = sysctl_value("/proc/sys/user/max_inotify_watches");

	if (user >= 0 && (fs < 0 || user < fs))
		snprintf(buf, n, "the inotify watch limit of this user namespace"
			 " (user.max_inotify_watches = %ld)", user);
	else if (fs >= 0)
		snprintf(buf, n, "the inotify watch limit (fs.inotify.max_user_watches = %ld)", fs);
	else
		snprintf(buf, n, "the inotify watch limit (fs.inotify.max_user_watches)");
	return buf;
}

/* The kind of filesystem dir is on when its files can change without
 * this kernel knowing (another machine's writes: inotify tells only the
 * changes made through this one), by statfs(2)'s f_type; else NULL. */
static const char *remote_fs(const char *dir)
{
	struct statfs sf;

	if (statfs(dir, &sf) != 0)
		return NULL;
	switch ((unsigned long)sf.f_type) {
	case 0x6969: return "NFS";
	case 0x517b: case 0xff534d42: case 0xfe534d42: return "SMB/CIFS";
	case 0x65735546: return "FUSE (sshfs, rclone, virtiofs ...)";
	case 0x01021997: return "9p";
	case 0x00c36400: return "Ceph";
	case 0x5346414f: case 0x6b414653: return "AFS";
	case 0x73757245: return "Coda";
	case 0x01161970: return "GFS2";
	case 0x7461636f: return "OCFS2";
	case 0x0bd00bd0: return "Lustre";
	case 0x786f4256: return "VirtualBox shared folder";
	default: return NULL;
	}
}

/* dir (root r: the root or a mount point below it) on a remote_fs: said
 * once per root, and the root looked through every poll_s seconds
 * (look_through) for the changes no event tells. */
static void check_remote(watch *w, const char *dir, size_t r)
{
	const char *kind = w->remote[r] ? NULL : remote_fs(dir);

	if (kind == NULL)
		return;
	dp_diag("%s: on a %s filesystem: inotify tells only the changes made through this"
		" machine: looking through %s every %d s for the others", dir, kind, w->roots[r], w->poll_s);
	w->remote[r] = 1;
	if (w->nremote++ == 0 && !w->limited)
		w->next_poll_ms = (dp_clock_us() / 1000) + w->poll_s * 1000L;
}

/* Whether path is known and as it was when taken (its signature). */
static int unchanged(watch *w, const char *path, const struct stat *st)
{
	uint32_t id = known_find(w->known, path);

	return id != KNOWN_NONE && known_same(w->known, id, st);
}

/* Records dir (root r) as a name of watch wd's directory: a path it has
 * already takes root r; another one is added, said once where it starts
 * (not for each directory below, whose parents are one too).  A new wd
 * past max_dirs directories watched is removed again.  Returns 0, or -1
 * then. */
static int watched(watch *w, int wd, const char *dir, size_t r)
{
	jv names = jv_object_get(jv_copy(w->dirs), wd_key(wd));
	int known = jv_is_valid(names), at = -1;

	if (!known && w->ndirs >= w->max_dirs) {
		jv_free(names);
		inotify_rm_watch(w->fd, wd);
		return -1;
	}
	if (!known) {
		jv_free(names);
		names = jv_array_sized(1);
		w->ndirs++;
	}
	jv_array_foreach(names, i, name) {
		jv pv = jv_array_get(name, 0);
		if (strcmp(jv_string_value(pv), dir) == 0)
			at = i;
		jv_free(pv);
	}
	if (at < 0 && known) {
		jv first = jv_array_get(jv_array_get(jv_copy(names), 0), 0);
		if (!same_parent(jv_string_value(first), dir))
			dp_diag("%s and %s are the same directory (a bind mount?): a change is"
				" taken under both names", jv_string_value(first), dir);
		jv_free(first);
	}
	names = jv_array_set(names, at >= 0 ? at : jv_array_length(jv_copy(names)),
			     pair(jv_string(dir), jv_number((double)r)));
	w->dirs = jv_object_set(w->dirs, wd_key(wd), names);
	return 0;
}

/* Drops wd from dirs (its watch is gone or removed). */
static void unwatched(watch *w, jv key)
{
	jv was = jv_object_get(jv_copy(w->dirs), jv_copy(key));

	if (jv_is_valid(was)) {
		w->dirs = jv_object_delete(w->dirs, key);
		w->ndirs--;
	} else {
		jv_free(key);
	}
	jv_free(was);
}

static long settle(watch *w);

/* Whether SIGTERM or SIGINT came: looked at every WALK_SETTLE_FILES
 * files a walk finds and every STOP_LOOK_RECORDS paths a settle resolves.
 * Before, only the loop read the signals: a first pass over 400,000
 * files behind `docpipe run --watch`'s pipeline wrote its records for
 * minutes, and a SIGTERM meanwhile waited for the supervisor's kill 15 s
 * later (the run "INTERRUPTED", status 5; fault sweep 24). */
static int stop_asked(watch *w)
{
	struct pollfd p = {.fd = w->signal_fd, .events = POLLIN};
	struct signalfd_siginfo si;

	while (!w->stopping && w->signal_fd >= 0 && poll(&p, 1, 0) == 1 &&
	       read(w->signal_fd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGUSR1)
			w->rescan_asked = 1;
		else
			w->stopping = 1;
	}
	return w->stopping;
}

/* Whether dir, under root r, is another of the roots: walked as its own
 * (its files under the innermost root, as discover gives them). */
static int another_root(const watch *w, size_t r, const char *dir)
{
	for (size_t i = 0; i < w->nroots; i++)
		if (i != r && strcmp(w->roots[i], dir) == 0)
			return 1;
	return 0;
}

static int emit(void *ctx, jv rec);

/* Watches dir and the directories below it (root r); marks the files
 * found there (so none created before its watch existed is missed). */
static void add_tree(watch *w, const char *dir, size_t r, long delay_ms, int depth)
{
	if (w->stopping)
		return;
	if (depth > DEPTH_MAX) {
		dp_diag("%s: directories nested too deep; not watched", dir);
		unwalked(w, dir);
		return;
	}
	/* A root's directory, known before its watch: if the path leads
	 * elsewhere between the two, look_at_roots finds the two differ and
	 * takes it again (after, it would record the new one as watched). */
	struct stat rs;
	if (depth == 0 && strcmp(dir, w->roots[r]) == 0)
		w->ids[r] = stat(dir, &rs) == 0 ? (struct root_id){rs.st_dev, rs.st_ino, 1}
						 : (struct root_id){0};
	int wd = inotify_add_watch(w->fd, dir, strcmp(dir, w->roots[r]) == 0 ? ROOT_MASK : DIR_MASK);
	if (depth == 0 && strcmp(dir, w->roots[r]) == 0)
		check_remote(w, dir, r);
	if (wd < 0 && errno == ENOSPC) {
		char which[128];
		limit_reached(w, dir, kernel_limit(which, sizeof which));
	} else if (wd < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			unreadable(w, dir, errno);
		return;
	} else if (watched(w, wd, dir, r) < 0) {
		char which[64];
		snprintf(which, sizeof which, "the watcher's limit of %zu directories", w->max_dirs);
		limit_reached(w, dir, which);
	}
	DIR *d = opendir(dir);
	struct dirent *e;
	if (d == NULL) {
		if (errno != ENOENT && errno != ENOTDIR)
			unreadable(w, dir, errno);
		return;
	}
	if (is_unreadable(w, dir)) {
		dp_diag("%s: readable again: taking what it holds", dir);
		w->unreadable = jv_object_delete(w->unreadable, jv_string(dir));
		mark_under(w, dir);
	}
	/* The directories below are walked once this one is closed: a
	 * walk holds one descriptor, not one per level.  Before, a tree
	 * deeper than the limit on open files left every directory below
	 * that depth unwatched ("Too many open files", taken for
	 * unreadable; 55 levels under `ulimit -n 64`; fault sweep 24). */
	jv below = jv_array();
	struct stat here;
	int have_dev = fstat(dirfd(d), &here) == 0;
	while (!w->stopping && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *path = join(dir, e->d_name);
		struct stat st;
		if (path != NULL && fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISDIR(st.st_mode) && visible(w, r, path, 1) && !another_root(w, r, path)) {
				if (have_dev && st.st_dev != here.st_dev) /* a mount point */
					check_remote(w, path, r);
				below = jv_array_append(below, jv_string(path));
			} else if (S_ISREG(st.st_mode) && visible(w, r, path, 0) &&
				   !(w->polling && unchanged(w, path, &st))) {
				mark_found(w, path, r, &st, delay_ms);
				if (++w->found % WALK_SETTLE_FILES == 0 && !stop_asked(w))
					settle(w);
			} else if (w->first_pass && w->opts->skip_records && !S_ISDIR(st.st_mode) &&
				   !S_ISREG(st.st_mode) && visible(w, r, path, 0)) {
				w->stats.skips++;
				emit(w, discover_skip_record(path, w->roots[r], "watch",
							     discover_not_regular(st.st_mode)));
			}
		}
		free(path);
	}
	closedir(d);
	jv_array_foreach(below, i, sub) {
		add_tree(w, jv_string_value(sub), r, delay_ms, depth + 1);
		jv_free(sub);
		(void)i;
	}
	jv_free(below);
}

/* Stops watching dir and the directories below it (gone, or moved: a
 * directory moved within the roots is watched again under its new name):
 * their names there are dropped, and a watch left with none removed.
 * Looks through the directories watched now, not every wd ever given. */
static void forget_dirs(watch *w, const char *dir)
{
	size_t n = strlen(dir);
	jv changed = jv_array();

	jv_object_foreach(w->dirs, k, names) {
		jv kept = jv_array_sized(1);
		int dropped = 0;
		jv_array_foreach(names, i, name) {
			jv pv = jv_array_get(jv_copy(name), 0);
			const char *p = jv_string_value(pv);
			if (strncmp(p, dir, n) == 0 && (p[n] == '/' || p[n] == '\0'))
				dropped = 1;
			else
				kept = jv_array_append(kept, jv_copy(name));
			jv_free(pv);
			jv_free(name);
		}
		if (dropped)
			changed = jv_array_append(changed, pair(jv_copy(k), jv_copy(kept)));
		jv_free(kept);
		jv_free(names);
		jv_free(k);
	}
	jv_array_foreach(changed, i, c) {
		jv k = jv_array_get(jv_copy(c), 0), kept = jv_array_get(c, 1);
		if (jv_array_length(jv_copy(kept)) == 0) {
			inotify_rm_watch(w->fd, atoi(jv_string_value(k)));
			unwatched(w, k);
			jv_free(kept);
		} else {
			w->dirs = jv_object_set(w->dirs, k, kept);
		}
		(void)i;
	}
	jv_free(changed);
}

/* Looks through the roots (every one, or those on a network or FUSE
 * filesystem only: check_remote) for what no event told: their known
 * files that are gone or changed (signature) and the files new or
 * changed since they were taken are marked, as their events would have
 * been; a directory new is watched.  One lstat per known file and one
 * walk; no record for a file unchanged (a rescan sent every file again:
 * a chunk pass each, and each a model request without the reuse cache).
 * A file past KNOWN_MAX_FILES is not known: sent at every look. */
static void look_at_known(void *ctx, uint32_t id, const char *path, size_t r)
{
	watch *w = ctx;
	struct stat st;

	if ((!w->polling_remote || w->remote[r]) && !w->lost[r]) {
		if (lstat(path, &st) != 0)
			mark(w, path, r, 0);
		else if (!known_same(w->known, id, &st))
			mark_found(w, path, r, &st, 0);
	}
}

static void look_through(watch *w, int remote_only)
{
	w->polling_remote = remote_only;
	each_known(w, NULL, look_at_known);
	w->polling = 1;
	for (size_t r = 0; r < w->nroots; r++)
		if ((!remote_only || w->remote[r]) && !w->lost[r])
			add_tree(w, w->roots[r], r, 0, 0);
	w->polling = 0;
	if (remote_only || w->limited)
		w->next_poll_ms = (dp_clock_us() / 1000) + w->poll_s * 1000L;
}

/* An inotify queue overflow, the watch limit's poll or SIGUSR1 (why):
 * every root looked through (a root lost is taken back by
 * look_at_roots, whole). */
static void rescan(watch *w, const char *why)
{
	dp_diag("%s: rescanning every root", why);
	look_through(w, 0);
}

/* A root's path no longer leads to the directory watched: deleted or
 * moved away (its own event, or gone at look_at_roots), unmounted, or
 * another directory now (look_at_roots: a symbolic link switched, a
 * parent renamed, a filesystem mounted on it); why says which.  As
 * `rm -rf public && hugo` or a directory swap make it: what was known
 * under it is deleted once it settles, the watches that followed it are
 * dropped, and the root is looked for every ROOT_POLL_MS (look_at_roots):
 * before, it was never watched again and the files of the new one were
 * never stored, without a word.  Any other directory's parent tells
 * (IN_DELETE, IN_MOVED_FROM in handle_event). */
static void lose_root(watch *w, const char *dir, const char *why)
{
	for (size_t r = 0; r < w->nroots; r++) {
		if (w->lost[r] || strcmp(w->roots[r], dir) != 0)
			continue;
		dp_diag("%s: the root %s: its files count as deleted;"
			" watching for it to come back", dir, why);
		w->lost[r] = 1;
		w->nlost++;
		forget_dirs(w, dir);
		mark_under(w, dir);
	}
}

/* Every ROOT_POLL_MS: a root whose path no longer leads to the directory
 * watched (gone: ENOENT, ENOTDIR, not a directory; or another (st_dev,
 * st_ino)) is lost (lose_root), since no event of a watched directory
 * says so when its parent is renamed, a root that is a symbolic link is
 * pointed elsewhere, or a filesystem is mounted on it (sweep 8, finding
 * 2: stale and missing documents for good, silently); a root lost that
 * is a directory again is watched and taken again.  A path that cannot
 * be looked at (EACCES) is not gone.  One stat per root.  Returns ms
 * until the next look. */
static long look_at_roots(watch *w)
{
	long now = dp_clock_us() / 1000;

	if (now < w->next_look_ms)
		return w->next_look_ms - now;
	w->next_look_ms = now + ROOT_POLL_MS;
	for (size_t r = 0; r < w->nroots; r++) {
		struct stat st;
		int found = stat(w->roots[r], &st) == 0;
		int dir = found && S_ISDIR(st.st_mode);
		if (!found && errno != ENOENT && errno != ENOTDIR)
			continue;
		if (!w->lost[r] && !dir)
			lose_root(w, w->roots[r], "was deleted or moved away");
		else if (!w->lost[r] && w->ids[r].known &&
			 (st.st_dev != w->ids[r].dev || st.st_ino != w->ids[r].ino))
			lose_root(w, w->roots[r], "is another directory now (a link switched, a"
				  " parent renamed, a filesystem mounted)");
		if (w->lost[r] && dir) {
			dp_diag("%s: the root is back: taking what it holds", w->roots[r]);
			w->lost[r] = 0;
			w->nlost--;
			add_tree(w, w->roots[r], r, w->settle_ms, 0);
		}
	}
	return ROOT_POLL_MS;
}

/* dir (under root r), its filesystem unmounted (IN_UNMOUNT; its watch
 * goes, IN_IGNORED): a root is lost (look_at_roots takes what its path
 * leads to then); any other directory's files count as deleted and what
 * its path leads to now (the directory the mount covered) is watched and
 * taken.  Before, the watch was dropped without a word and the documents
 * stayed stored.  Said for the mount point only (each directory of the
 * filesystem gets the event; below it, nothing is left). */
static void unmounted(watch *w, const char *dir, size_t r)
{
	struct stat st;

	if (strcmp(dir, w->roots[r]) == 0) {
		lose_root(w, dir, "was unmounted");
		return;
	}
	if (stat(dir, &st) == 0)
		dp_diag("%s: unmounted: its files count as deleted; taking what is there now", dir);
	forget_dirs(w, dir);
	mark_under(w, dir);
	if (!w->lost[r]) /* its root unmounted too: taken back whole */
		add_tree(w, dir, r, w->settle_ms, 0);
}

/* Whether dir, below root r, is one the walk takes: every directory from
 * the root down to it visible. */
static int walked(const watch *w, size_t r, char *dir)
{
	size_t rl = strlen(w->roots[r]);

	for (char *p = strchr(dir + rl + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		int yes = visible(w, r, dir, 1);
		*p = '/';
		if (!yes)
			return 0;
	}
	return visible(w, r, dir, 1);
}

/* A filesystem mounted at point (the kernel's path, links resolved): at
 * a directory below a root, what it covers counts as deleted and what it
 * holds is watched and taken, a network or FUSE one looked through every
 * poll_s seconds (check_remote), as for one there at the first pass.
 * inotify tells no mount: before, such a directory's watch kept watching
 * the covered one, the mount's files never taken.  A mount on a root
 * itself is look_at_roots's. */
static void mounted(watch *w, const char *point)
{
	for (size_t r = 0; r < w->nroots; r++) {
		char *real = w->lost[r] ? NULL : realpath(w->roots[r], NULL);
		size_t n = real != NULL && strcmp(real, "/") != 0 ? strlen(real) : 0;
		char *dir = real != NULL && strncmp(point, real, n) == 0 && point[n] == '/'
				    ? join(w->roots[r], point + n + 1) : NULL;
		struct stat st;
		if (dir != NULL && walked(w, r, dir) && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
			dp_diag("%s: a filesystem mounted on it: the files it covers count as deleted;"
				" taking what it holds", dir);
			forget_dirs(w, dir);
			mark_under(w, dir);
			add_tree(w, dir, r, w->settle_ms, 0);
			check_remote(w, dir, r);
		}
		free(dir);
		free(real);
	}
}

/* Reads /proc/self/mountinfo: the mounts whose IDs are new since the last
 * read are taken (mounted) when take, else only remembered (the first
 * pass walks them). */
static void read_mounts(watch *w, int take)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	jv now = jv_object();

	while (f != NULL && getline(&line, &cap, f) > 0) {
		char id[32], point[PATH_MAX];
		if (sscanf(line, "%31s %*s %*s %*s %4095s", id, point) != 2)
			continue;
		/* Unescape \ooo (space, tab, newline, backslash). */
		char *o = point;
		for (const char *i = point; *i != '\0'; o++) {
			if (i[0] == '\\' && i[1] >= '0' && i[1] <= '3' && i[2] >= '0' && i[2] <= '7' &&
			    i[3] >= '0' && i[3] <= '7') {
				*o = (char)((i[1] - '0') * 64 + (i[2] - '0') * 8 + (i[3] - '0'));
				i += 4;
			} else {
				*o = *i++;
			}
		}
		*o = '\0';
		jv was = jv_object_get(jv_copy(w->mounts), jv_string(id));
		if (take && !jv_is_valid(was))
			mounted(w, point);
		jv_free(was);
		now = jv_object_set(now, jv_string(id), jv_true());
	}
	free(line);
	if (f != NULL)
		fclose(f);
	jv_free(w->mounts);
	w->mounts = now;
}

/* The event ev of the directory dir (under root r), one of its names. */
static void handle_name_event(watch *w, const struct inotify_event *ev, const char *dir, size_t r)
{
	char *path = ev->len > 0 ? join(dir, ev->name) : NULL;

	if (ev->len == 0) {
		if (ev->mask & IN_UNMOUNT)
			unmounted(w, dir, r);
		else if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF))
			lose_root(w, dir, "was deleted or moved away");
		else if ((ev->mask & IN_ATTRIB) && is_unreadable(w, dir))
			add_tree(w, dir, r, w->settle_ms, 0); /* a root: no parent tells */
	} else if (path != NULL && (ev->mask & IN_ISDIR)) {
		if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) && visible(w, r, path, 1))
			add_tree(w, path, r, w->settle_ms, 0);
		else if ((ev->mask & IN_ATTRIB) && is_unreadable(w, path))
			add_tree(w, path, r, w->settle_ms, 0);
		else if (ev->mask & IN_MOVED_FROM) {
			forget_dirs(w, path);
			mark_under(w, path);
		}
		/* A deleted directory was empty: each file and directory
		 * below it had its own event, and its watch goes with it
		 * (IN_IGNORED).  Looking through every watch and known path
		 * for each one made `rm -rf` of 10,000 directories take 22 s
		 * of CPU (quadratic). */
	} else if (path != NULL && visible(w, r, path, 0)) {
		mark_file_event(w, path, r, ev->mask);
	}
	free(path);
}

static void handle_event(watch *w, const struct inotify_event *ev)
{
	if (ev->mask & IN_Q_OVERFLOW) {
		rescan(w, "the inotify queue overflowed (events were lost)");
		return;
	}
	jv names = jv_object_get(jv_copy(w->dirs), wd_key(ev->wd));
	if (!jv_is_valid(names)) {
		jv_free(names);
		return;
	}
	if (ev->mask & IN_IGNORED) {
		unwatched(w, wd_key(ev->wd));
		jv_free(names);
		return;
	}
	/* names is this event's copy: handling one name may drop others
	 * from w->dirs (forget_dirs). */
	jv_array_foreach(names, i, name) {
		jv dirv = jv_array_get(jv_copy(name), 0);
		handle_name_event(w, ev, jv_string_value(dirv),
				  (size_t)jv_number_value(jv_array_get(name, 1)));
		jv_free(dirv);
		(void)i;
	}
	jv_free(names);
}

static int emit(void *ctx, jv rec)
{
	watch *w = ctx;
	const char *kind = dp_record_kind(rec);

	if (w->failed) {
		jv_free(rec);
		return -1;
	}
	if (kind != NULL && (strcmp(kind, DP_KIND_FILE) == 0 || strcmp(kind, DP_KIND_DELETE) == 0)) {
		rec = jv_object_set(rec, jv_string("run"), jv_string(w->run));
		rec = jv_object_set(rec, jv_string("stream"), jv_string(w->run));
		rec = jv_object_set(rec, jv_string("seq"), jv_number((double)w->next_seq++));
	}
	if (dp_sink_put(w->sink, rec, w->err) < 0) {
		w->failed = 1;
		return -1;
	}
	w->written++;
	return 0;
}

static jv delete_record(const char *path, const char *root)
{
	jv r = jv_object();

	r = jv_object_set(r, jv_string("v"), jv_number(DP_PROTOCOL_VERSION));
	r = jv_object_set(r, jv_string("kind"), jv_string(DP_KIND_DELETE));
	r = jv_object_set(r, jv_string("path"), jv_string(path));
	return jv_object_set(r, jv_string("root"), jv_string(root));
}

/* path is no longer a name of the linked inode it was (deleted, another
 * file now, or its inode's only name). */
static void unlink_name(watch *w, const char *path)
{
	jv key = jv_object_get(jv_copy(w->linked), jv_string(path));

	if (!jv_is_valid(key)) {
		jv_free(key);
		return;
	}
	w->linked = jv_object_delete(w->linked, jv_string(path));
	jv e = jv_object_get(jv_copy(w->inodes), jv_copy(key));
	jv paths = jv_object_delete(jv_array_get(jv_copy(e), 1), jv_string(path));
	if (jv_object_length(jv_copy(paths)) == 0) {
		jv_free(paths);
		jv_free(e);
		w->inodes = jv_object_delete(w->inodes, key);
	} else {
		w->inodes = jv_object_set(w->inodes, key, jv_array_set(e, 1, paths));
	}
}

/* The key of st's inode in inodes. */
static jv inode_key(const struct stat *st)
{
	char k[64];

	snprintf(k, sizeof k, "%llu:%llu", (unsigned long long)st->st_dev, (unsigned long long)st->st_ino);
	return jv_string(k);
}

/* The entry of inodes for the inode k (borrowed; st's), taken as sig
 * now under path (consumed): its entry; one made for the name known
 * by that inode with one link (known_single), a file taken with one link
 * that path is a link made to since (taken as the file is now: a link
 * changes no content, so it is not marked); or a new one. */
static jv inode_entry(watch *w, jv k, const char *path, const struct stat *st, jv sig)
{
	jv e = jv_object_get(jv_copy(w->inodes), jv_copy(k));
	if (jv_is_valid(e)) {
		jv_free(sig);
		return e;
	}
	jv_free(e);
	uint32_t one = known_single(w->known, st->st_dev, st->st_ino);
	const char *name = one != KNOWN_NONE ? known_path(w->known, one) : NULL;
	if (name == NULL || strcmp(name, path) == 0) {
		if (one != KNOWN_NONE)
			known_unsingle(w->known, one, st->st_dev, st->st_ino);
		jv_free(sig);
		return pair(jv_null(), jv_object());
	}
	jv first = jv_string(name);
	size_t r = known_root(w->known, one);
	known_unsingle(w->known, one, st->st_dev, st->st_ino);
	w->linked = jv_object_set(w->linked, jv_copy(first), jv_copy(k));
	return pair(sig, JV_OBJECT(first, jv_number((double)r)));
}

/* path (root r), a known file just taken as st.  With several links
 * (hard links), it is one of its inode's names: when the inode changed
 * since one of them was last taken, the others known are marked, since a
 * write gives an event under the name written through only (the other
 * names stayed stale, silently: sweep 8, finding 3).  Taking those finds
 * the inode as it was last taken: no marks back.  A name outside the
 * roots written through gives no event at all (man page). */
static void link_name(watch *w, const char *path, size_t r, const struct stat *st)
{
	jv k = inode_key(st);
	jv was = jv_object_get(jv_copy(w->linked), jv_string(path));
	int other = jv_is_valid(was) && (!jv_equal(jv_copy(was), jv_copy(k)) || st->st_nlink < 2);

	jv_free(was);
	if (other)
		unlink_name(w, path);
	if (st->st_nlink < 2) {
		jv_free(k);
		return;
	}
	jv e = inode_entry(w, k, path, st, signature(st));
	jv sig = signature(st), old = jv_array_get(jv_copy(e), 0);
	int changed = jv_get_kind(old) == JV_KIND_STRING && !jv_equal(old, jv_copy(sig));
	jv paths = jv_array_get(e, 1);
	if (changed) {
		jv_object_foreach(paths, p, v) {
			if (strcmp(jv_string_value(p), path) != 0)
				mark(w, jv_string_value(p), (size_t)jv_number_value(v), w->settle_ms);
			jv_free(p);
			jv_free(v);
		}
	}
	paths = jv_object_set(paths, jv_string(path), jv_number((double)r));
	w->inodes = jv_object_set(w->inodes, jv_copy(k), pair(sig, paths));
	w->linked = jv_object_set(w->linked, jv_string(path), k);
}

/* A settled path: a file record when it is a file to take, a delete
 * record when it was one and is no more.  Only ENOENT and ENOTDIR say it
 * is no more: a path that cannot be looked at (EACCES: a directory above
 * it made unreadable) keeps its document, and is looked at again when
 * that directory is taken again (unreadable). */
static void resolve(watch *w, const char *path, size_t r)
{
	struct stat st;
	int found = lstat(path, &st) == 0;
	if (!found && errno != ENOENT && errno != ENOTDIR)
		return;
	int is_file = found && S_ISREG(st.st_mode) && visible(w, r, path, 0);
	uint32_t id = known_find(w->known, path);

	if (is_file) {
		int rc = discover_file(w->roots[r], path, w->opts, emit, w, &w->stats);
		if (rc == -2)
			dp_diag("%s: path too long or out of memory: skipped", path);
		else if (known_set(w->known, path, r, &st) != KNOWN_NONE)
			link_name(w, path, r, &st);
		else if (!w->full_said) {
			w->full_said = 1;
			dp_diag("%s: not kept among the known files (%zu known: the limit is %u,"
				" or out of memory): files past it are not deleted when they go"
				" and are sent again at every rescan", path, known_count(w->known),
				KNOWN_MAX_FILES);
		}
	} else if (id != KNOWN_NONE) {
		emit(w, delete_record(path, w->roots[r]));
		known_drop(w->known, id);
		unlink_name(w, path);
	}
}

/* Resolves the paths due by now; returns ms until the next one is due
 * (-1: none pending).  A path armed again while this runs (link_name
 * marks the other names of a file) waits for its new deadline. */
static long settle(watch *w)
{
	long now = (dp_clock_us() / 1000), next = -1;
	size_t done = 0;

	for (uint32_t i = 0; i < pending_end(w->pending) && !w->failed && !w->stopping; i++) {
		if (!pending_live(w->pending, i))
			continue;
		long at = pending_at(w->pending, i);
		if (at > now + COALESCE_MS) {
			if (next < 0 || at - now < next)
				next = at - now;
			continue;
		}
		/* A copy: resolve may ask the known files for another path. */
		const char *was = pending_path(w->pending, w->known, i);
		char *path = was != NULL ? strdup(was) : NULL;
		if (path == NULL) {
			dp_diag("out of memory: a pending path waits");
			continue;
		}
		size_t r = pending_root(w->pending, i);
		pending_drop(w->pending, i);
		if (++done % STOP_LOOK_RECORDS == 0)
			stop_asked(w);
		if (!w->stopping)
			resolve(w, path, r);
		free(path);
	}
	/* Emptied, its memory is given back: after every known file was
	 * pending (a root moved away: 400,000 files), a jq object's stayed
	 * resident, 115 MB beside the known files' 43 (session 52). */
	if (pending_count(w->pending) == 0)
		pending_clear(w->pending);
	return next;
}

/* A test hook (watch_times.test_skip_wds): uses up n watch descriptors,
 * as n directories made and removed under the roots would, by adding and
 * removing a watch on the first root n times (the kernel never gives a
 * wd twice until INT_MAX; about 40 us a time here, so that tests take
 * max_dirs down too).  The IN_IGNORED events are read as they come, or
 * they would overflow the queue. */
static void skip_wds(watch *w, long n)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (long i = 0; i < n && w->nroots > 0; i++) {
		int wd = inotify_add_watch(w->fd, w->roots[0], IN_ONLYDIR);
		if (wd < 0)
			return;
		inotify_rm_watch(w->fd, wd);
		if (i % 1024 == 1023)
			while (read(w->fd, buf, sizeof buf) > 0)
				;
	}
	while (read(w->fd, buf, sizeof buf) > 0)
		;
}

watch *watch_new(char *const *roots, size_t nroots, const discover_opts *opts,
		 const watch_times *times, dp_err *err)
{
	watch *w = calloc(1, sizeof *w);

	if (w == NULL) {
		dp_err_set(err, "out of memory");
		return NULL;
	}
	*w = (watch){.roots = roots, .nroots = nroots, .opts = opts, .settle_ms = times->settle_ms,
		     .writer_settle_ms = times->writer_settle_ms, .writer_max_ms = times->writer_max_ms,
		     .poll_s = times->poll_s, .dirs = jv_object(), .known = known_new(0),
		     .inodes = jv_object(), .linked = jv_object(),
		     .remote = calloc(nroots > 0 ? nroots : 1, 1), .unreadable = jv_object(),
		     .pending = pending_new(0), .lost = calloc(nroots > 0 ? nroots : 1, 1),
		     .mounts = jv_object(), .unread = jv_array(), .mounts_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC),
		     .signal_fd = -1,
		     .ids = calloc(nroots > 0 ? nroots : 1, sizeof *w->ids),
		     .max_dirs = times->test_max_dirs > 0 ? (size_t)times->test_max_dirs : WATCH_MAX_DIRS};
	w->stats.unread = &w->unread;
	long mono_ms;
	w->wall_offset_ms = wall_offset_ms(&mono_ms);
	w->stepped_from_ms = LONG_MIN;
	if (w->lost == NULL || w->ids == NULL || w->remote == NULL || w->known == NULL || w->pending == NULL) {
		dp_err_set(err, "out of memory");
		watch_free(&w);
		return NULL;
	}
	time_t now = time(NULL);
	struct tm utc;
	char stamp[32] = "unknown";
	if (gmtime_r(&now, &utc) != NULL)
		strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
	snprintf(w->run, sizeof w->run, "watch-%s-%ld", stamp, (long)getpid());
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		dp_err_set(err, "inotify: %s", strerror(errno));
		watch_free(&w);
		return NULL;
	}
	skip_wds(w, times->test_skip_wds);
	read_mounts(w, 0);
	return w;
}

void watch_free(watch **w)
{
	if (*w == NULL)
		return;
	if ((*w)->fd >= 0)
		close((*w)->fd);
	if ((*w)->mounts_fd >= 0)
		close((*w)->mounts_fd);
	jv_free((*w)->mounts);
	jv_free((*w)->dirs);
	known_free(&(*w)->known);
	jv_free((*w)->inodes);
	jv_free((*w)->linked);
	free((*w)->remote);
	jv_free((*w)->unreadable);
	pending_free(&(*w)->pending);
	jv_free((*w)->unread);
	free((*w)->lost);
	free((*w)->ids);
	free(*w);
	*w = NULL;
}

/* Reads every queued inotify event.  Returns 0 or -1 with err. */
static int read_events(watch *w, dp_err *err)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof buf);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0) {
			dp_err_set(err, "reading inotify events: %s", n < 0 ? strerror(errno) : "end");
			return -1;
		}
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			handle_event(w, ev);
			p += sizeof *ev + ev->len;
		}
	}
}

/* Takes one signal from the signalfd: 1 to stop, 0 otherwise. */
static int take_signal(watch *w, int signal_fd)
{
	struct signalfd_siginfo si;

	if (read(signal_fd, &si, sizeof si) != (ssize_t)sizeof si)
		return 0;
	if (si.ssi_signo == SIGUSR1) {
		rescan(w, "SIGUSR1");
		return 0;
	}
	return 1;
}

int watch_run(watch *w, int signal_fd, dp_sink *sink, int end_record, dp_err *err)
{
	w->sink = sink;
	w->err = err;
	w->signal_fd = signal_fd;
	/* The first pass: every file now, every directory watched first;
	 * here, where the records it resolves as it walks have their sink. */
	w->first_pass = 1;
	for (size_t r = 0; r < w->nroots; r++)
		add_tree(w, w->roots[r], r, 0, 0);
	settle(w);
	w->first_pass = 0;
	if (end_record && !w->stopping && !w->failed &&
	    dp_sink_put(sink, discover_end_record("watch", w->written, &w->stats, w->roots, w->nroots,
						  w->stats.errors > 0 ? DP_EXIT_FAILED : DP_EXIT_OK),
			err) < 0)
		return -1;
	for (;;) {
		if (w->stopping)
			return 0;
		if (w->rescan_asked) {
			w->rescan_asked = 0;
			rescan(w, "SIGUSR1");
		}
		/* The roots first: the files of one back are due in
		 * --settle ms, which settle's answer must count, or poll
		 * waited for an event that might never come. */
		long look = look_at_roots(w), next = settle(w);
		if (w->failed || dp_sink_flush(sink, err) < 0)
			return -1;
		if (look >= 0 && (next < 0 || look < next))
			next = look;
		if (w->limited || w->nremote > 0) {
			long until = w->next_poll_ms - (dp_clock_us() / 1000);
			if (until <= 0 && w->limited) {
				rescan(w, "watch limit reached: periodic rescan");
				continue;
			} else if (until <= 0) {
				look_through(w, 1);
				continue;
			}
			next = next < 0 || until < next ? until : next;
		}
		struct pollfd fds[3] = {{.fd = w->fd, .events = POLLIN},
					{.fd = signal_fd, .events = POLLIN},
					{.fd = w->mounts_fd, .events = POLLPRI}};
		int timeout = next < 0 ? -1 : next > INT_MAX ? INT_MAX : (int)next;
		if (poll(fds, w->mounts_fd >= 0 ? 3 : 2, timeout) < 0 && errno != EINTR) {
			dp_err_set(err, "poll: %s", strerror(errno));
			return -1;
		}
		if ((fds[1].revents & POLLIN) && take_signal(w, signal_fd))
			return 0;
		if ((fds[0].revents & POLLIN) && read_events(w, err) < 0)
			return -1;
		if (fds[2].revents & (POLLPRI | POLLERR))
			read_mounts(w, 1);
	}
}
