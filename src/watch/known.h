/* docpipe-watch's table of known files: each file a record was written
 * for, with its root index and its stat signature when taken, and an
 * index of the files taken with one link by inode (dev, ino): a link made
 * to one later finds its first name there (watch.c link_name).
 *
 * Compact (session 52): a path is held once, as its parent directory's
 * node and its last name: a directory's path is held once for all the
 * files known under it, as its own parent's node and name, up to "/".
 * Nodes (files and directories, 56 bytes each) are in one array, names
 * in one arena that is compacted in place once half of it is free; two
 * open-addressing indexes of 4-byte node numbers (table.h) find a node
 * by its path's XXH3-64 (its upper 32 bits kept in the node) and a file
 * by its inode.  About 90 bytes a file known in a tree of 500 files a
 * directory (the jq objects before: ~400).  A hash says only where to
 * look: a node is the path's only when every name up to "/" is the
 * path's, so two paths of one hash are two nodes, and neither change nor
 * delete is lost to a collision (tests/unit/test_watch_tables.c: two
 * hashes for every path).
 *
 * Every maximum is fixed: KNOWN_MAX_FILES files (WATCH_MAX_PATHS), as
 * many directory nodes, KNOWN_MAX_NAME_BYTES of names.  A file past one
 * of them is not known (known_set fails): it is sent, but not deleted
 * when it goes and sent again at every rescan, as before. */
#ifndef WATCH_KNOWN_H
#define WATCH_KNOWN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define KNOWN_NONE UINT32_MAX /* TABLE_NONE (table.h) */
#define KNOWN_MAX_FILES 10000000u
#define KNOWN_MAX_DIRS 10000000u
#define KNOWN_MAX_NAME_BYTES (1u << 30) /* with each name's node number and NUL */

typedef struct known_files known_files;

/* An empty table, or NULL (out of memory).  hash_bits is 0 but in tests:
 * only that many bits of each hash kept, so that paths collide. */
known_files *known_new(unsigned hash_bits);
void known_free(known_files **k);

/* Files known. */
size_t known_count(const known_files *k);

/* The file path's node, or KNOWN_NONE. */
uint32_t known_find(const known_files *k, const char *path);

/* Whether file node id is path's. */
int known_is(const known_files *k, uint32_t id, const char *path);

/* Takes path (absolute) as the file st under root r: its node, made if
 * new, or KNOWN_NONE (a maximum reached, out of memory, not absolute).
 * Its inode is indexed when st has one link, and the one it was taken as
 * before no longer for this file. */
uint32_t known_set(known_files *k, const char *path, size_t r, const struct stat *st);

/* Forgets file node id (and its inode's index entry if it is its). */
void known_drop(known_files *k, uint32_t id);

size_t known_root(const known_files *k, uint32_t id);

/* Whether file node id was taken as st is now (device, inode, size,
 * modification and change times). */
int known_same(const known_files *k, uint32_t id, const struct stat *st);

/* The inode file node id was taken as. */
void known_inode(const known_files *k, uint32_t id, dev_t *dev, ino_t *ino);

/* The file known by one link as (dev, ino), or KNOWN_NONE; and that
 * entry dropped when it is id's. */
uint32_t known_single(const known_files *k, dev_t dev, ino_t ino);
void known_unsingle(known_files *k, uint32_t id, dev_t dev, ino_t ino);

/* File node id's path, in a buffer of k's valid until the next call;
 * NULL when out of memory. */
const char *known_path(known_files *k, uint32_t id);

/* Calls fn with each known file's node, path and root: under dir only
 * (a directory's path) unless dir is NULL.  fn must not change k.
 * Returns -1 when out of memory for a path (the rest not called), else 0. */
int known_each(const known_files *k, const char *dir,
	       void (*fn)(void *ctx, uint32_t id, const char *path, size_t r), void *ctx);

#endif
