/* docpipe-watch's pending paths: each path with a change not yet settled,
 * its root index, when it is due and, when a writer holds it open, that
 * writer's first event (watch.c arm, mark_file_event, settle).
 *
 * Compact (session 52): an entry is 40 bytes in one array, found by an
 * open-addressing index of 4-byte entry numbers by its path's hash
 * (table.h); a known file's entry names its node in the known files
 * (known.h) instead of holding its path, any other a copy of it.  Every
 * known file pending at once (a root moved away, a rescan after most
 * files changed) then costs ~45 bytes a file, not the ~250 of a jq
 * object's entry.  A hash says only where to look: an entry is a path's
 * when its path is (known_is, or its copy), so no change is lost to a
 * collision.  At most PENDING_MAX entries (every known file, and as many
 * not known: ~900 MB); past it pending_set fails (the watcher says so
 * once: a rescan takes what was missed).
 *
 * An entry of a known file names its node: the node must stay while the
 * entry does.  The watcher drops a node only in resolve, which takes
 * the path's entry out first. */
#ifndef WATCH_PENDING_H
#define WATCH_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "known.h"

#define PENDING_MAX (2 * KNOWN_MAX_FILES)

typedef struct pending pending;

/* An empty set, or NULL (out of memory); hash_bits as known_new's. */
pending *pending_new(unsigned hash_bits);
void pending_free(pending **p);

size_t pending_count(const pending *p);

/* Path's entry (k: the known files) made or set to root r, due at at
 * (ms), its writer's first event since (or -1).  Returns 0, or -1 (out
 * of memory, PENDING_MAX reached). */
int pending_set(pending *p, const known_files *k, const char *path, size_t r, long at, long since);

/* Path's entry's since, or -1 (none, or no path pending). */
long pending_since(const pending *p, const known_files *k, const char *path);

/* Entries by number, 0 up to pending_end, live or not: */
size_t pending_end(const pending *p);
int pending_live(const pending *p, uint32_t i);
long pending_at(const pending *p, uint32_t i);
size_t pending_root(const pending *p, uint32_t i);
/* Live entry i's path: its copy, or k's (known_path: valid until k's
 * next known_path); NULL when out of memory. */
const char *pending_path(const pending *p, known_files *k, uint32_t i);
/* Takes live entry i out (its number may be given to the next new entry). */
void pending_drop(pending *p, uint32_t i);

/* Once none is pending: its memory given back. */
void pending_clear(pending *p);

#endif
