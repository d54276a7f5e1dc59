/* docpipe-discover's tree walk: finds the files to ingest under a root and
 * hands one record per file (or per file it cannot take) to a callback, as
 * it goes.
 *
 * Safety rules, whatever the tree holds:
 *  - symbolic links are never followed (below the root argument itself):
 *    every entry is examined with fstatat(AT_SYMLINK_NOFOLLOW) and opened
 *    relative to its directory's descriptor with O_NOFOLLOW, so the walk
 *    cannot leave the root or loop;
 *  - FIFOs, sockets and devices are skipped (opening a FIFO could block);
 *    with skip_records, one whose name is wanted (and a wanted symlink)
 *    becomes a skip record, so it gets a receipt ("skipped") like every
 *    other name;
 *  - an unreadable directory is reported and skipped; an unreadable
 *    matching file becomes an error record so the store reports it;
 *  - entries are visited in strcmp order of their names, so the output is
 *    the same on every run over the same tree. */
#ifndef DP_DISCOVER_WALK_H
#define DP_DISCOVER_WALK_H

#include <stddef.h>
#include <sys/types.h>

#include <jv.h>

#include "err.h"

#define DISCOVER_MAX_SIZE_DEFAULT (16ull << 20)
/* Directories nested deeper are reported and skipped: each level holds one
 * descriptor open. */
#define DISCOVER_MAX_DEPTH 128
#define DISCOVER_MAX_PATTERNS 256

typedef struct discover_opts {
	const char *globs[DISCOVER_MAX_PATTERNS]; /* none: the default globs */
	size_t n_globs;
	const char *excludes[DISCOVER_MAX_PATTERNS];
	size_t n_excludes;
	int hidden;                   /* visit names starting with '.' */
	int skip_records;             /* wanted names that are no regular file
	                               * become skip records (else a diagnostic) */
	unsigned long long max_size;  /* larger files become error records */
	int end_record;               /* --end-record: the main ends its output (discover)
	                               * or first pass (watch) with the end record;
	                               * the walk does not read it */
	/* Every root of the run, absolute (as records carry them): an entry
	 * that is itself another root is left to that root's walk, so roots
	 * that nest (docs and docs/api) give each file once.  NULL: none. */
	char *const *roots;
	size_t n_roots;
} discover_opts;

/* Receives each record (consumed).  Returns 0 to go on, -1 to stop the
 * walk (the output is gone). */
typedef int (*discover_emit_fn)(void *ctx, jv rec);

/* Glob matching as --glob and --exclude use it: a pattern without '/'
 * matches the base name, one with '/' the path relative to the root
 * (fnmatch with FNM_PATHNAME, so '*' stays within one directory). */
int discover_match(const char *pattern, const char *relpath);

/* Makes discover_match read patterns and paths as UTF-8: fnmatch's '?'
 * and [...] take one character, not one byte, only under a multibyte
 * LC_CTYPE ("caf?.md" missed café.md).  A process-wide setting: for a
 * main to call first.  Without C.UTF-8, bytes as before. */
void discover_match_utf8(void);

/* Whether relpath (relative to the root) is a file to ingest: it matches
 * a glob (the defaults *.md, *.markdown, *.txt when none were given) and
 * no exclude pattern. */
int discover_wanted(const discover_opts *opts, const char *relpath);

/* Whether relpath (relative to the root; a file or a directory) matches an
 * --exclude pattern. */
int discover_excluded(const discover_opts *opts, const char *relpath);

/* Copies s into out (size outsz) with bytes that are not printable UTF-8
 * written as \xNN, for error records about undecodable names. */
void discover_printable(const char *s, char *out, size_t outsz);

typedef struct discover_stats {
	unsigned long files;  /* file records emitted */
	unsigned long errors; /* error records emitted */
	unsigned long skips;  /* skip records emitted (wanted names that are no
	                       * regular file: FIFO, socket, device, symlink) */
	unsigned long skipped;/* entries skipped (with a diagnostic or a skip record) */
	unsigned long unwalked;/* directories (or parts) not read: the walk is
	                        * not complete, files there went unseen */
	/* When not NULL, an array: the path of each directory (or entry) not
	 * read, the first DP_END_UNREAD_MAX of them, that a sweep keeps
	 * what is stored under (the end record's "unread"). */
	jv *unread;
} discover_stats;



/* Counts path (a directory, or part of one) as not read in st: the walk
 * is not complete; listed in *st->unread (when not NULL) up to
 * DP_END_UNREAD_MAX, for a sweep to keep what is stored under it. */
void discover_unwalked(discover_stats *st, const char *path);

/* The skip record of path under root (both absolute, as records carry
 * them; path shown as discover_printable does) for reason, said by stage
 * ("discover", "watch").  Returns it (owned). */
jv discover_skip_record(const char *path, const char *root, const char *stage, const char *reason);

/* Why a wanted name of this mode (lstat's) is no file to take: a symbolic
 * link, FIFO, socket or device; the reason its skip record gives. */
const char *discover_not_regular(mode_t mode);

/* The end record a walk writes last, after every other record, so that its
 * arrival proves the reader saw the whole walk (docs/protocol.md): records
 * is how many the walk wrote before it, status the exit status the writer
 * is about to return (or 0/1 for one that goes on: a watcher), complete
 * says every directory was read (st->unwalked: none unread, or each one
 * listed in *st->unread).  stage names the writer.  Returns it (owned). */
jv discover_end_record(const char *stage, unsigned long records, const discover_stats *st,
		       char *const *roots, size_t nroots, int status);

/* Walks `root` (as given on the command line), emitting records through
 * emit.  Diagnostics for skipped entries go to stderr (dp_diag).  Returns
 * 0 when the walk finished, 1 when the root itself could not be walked
 * (err says why; nothing emitted), -1 when emit asked to stop or the walk
 * ran out of memory or of file descriptors (err says why). */
int discover_walk(const char *root, const discover_opts *opts, discover_emit_fn emit, void *ctx,
		  discover_stats *stats, dp_err *err);

/* Emits the record of one file: path (absolute, without symbolic links
 * below root) under root (absolute, as records carry it): its file record,
 * or an error record when it cannot be read as one (a symbolic link as the
 * last component is not followed).  For a watcher that learns of files one
 * by one.  Returns 0, -1 when emit asked to stop, -2 when path is too long
 * or memory ran out (nothing emitted). */
int discover_file(const char *root, const char *path, const discover_opts *opts,
		  discover_emit_fn emit, void *ctx, discover_stats *stats);

#endif
