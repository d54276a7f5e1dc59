/* File paths as records carry them. */
#ifndef DP_PATH_H
#define DP_PATH_H

#include "err.h"

/* Makes `path` absolute against the working directory without resolving
 * symbolic links, removing "." components, repeated and trailing slashes;
 * ".." components go as the kernel reads them (the part through the last
 * one resolved: removing them lexically could change the meaning), so
 * "../notes" from /t/proj and "notes" from /t name one root.  This is
 * the form of a record's "root": discover makes roots so, and the store's
 * sweep compares its ROOT arguments in the same form.  Returns a malloc'ed
 * string, or NULL with err set. */
char *dp_path_absolute(const char *path, dp_err *err);

/* The last component of path: what follows its last '/' (path itself when
 * it has none).  Borrowed from path. */
const char *dp_path_file_name(const char *path);

/* The extension of path's file name: a pointer to its last '.', or NULL
 * when the file name has none.  Borrowed from path. */
const char *dp_path_extension(const char *path);

/* The sweep's two rules of what a run proved gone (the store's sweep and
 * docpipe-plan's "gone" apply both).  dp_path_still_there: whether a
 * stored document's path (under roots[0..nroots), absolute) still holds a
 * file a run could have taken: a regular file, or a root that leads to one
 * (a root may be a link); a path that cannot be looked at for another
 * reason than its absence (EACCES, EIO) is not proven gone either.  A run
 * that did not take such a file (its --glob, --exclude, no --hidden) keeps
 * its document (fault sweep 19: `docpipe run notes --glob '*.txt'`
 * deleted every stored Markdown document of notes). */
int dp_path_still_there(const char *path, char *const *roots, size_t nroots);

/* Whether path is a directory with no entry: a root found so (a share or
 * disk not mounted leaves its mount point empty) proved nothing gone, and
 * what is stored under it is kept. */
int dp_path_empty_directory(const char *path);

#endif
