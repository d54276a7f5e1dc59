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

#endif
