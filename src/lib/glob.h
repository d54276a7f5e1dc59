/* Globs as fnmatch(3) reads them, checked and turned into regular
 * expressions: docpipe-query's --path (matched by PostgreSQL), and
 * docpipe-discover's and docpipe-watch's --glob and --exclude (matched by
 * fnmatch itself; docpipe-plan passes them on), which use it to refuse a
 * pattern that can match nothing as written instead of matching nothing
 * silently. */
#ifndef DP_GLOB_H
#define DP_GLOB_H

#include <stddef.h>

#include <jv.h>

#include "err.h"

/* What a glob needs of the text it matches. */
typedef struct dp_glob_cost {
	size_t chars;   /* items that match one character each (a literal, '?',
	                 * [...]): a shorter text matches none */
	size_t classes; /* bracket expressions ([...]) among them */
} dp_glob_cost;

/* The regular expression (PostgreSQL's ARE, anchored at both ends) that
 * matches what glob matches as fnmatch(3) without flags reads it: '*'
 * any run of characters, '?' one character, [...] a class ([!...] or
 * [^...] negated; ranges; [:alpha:] and the other POSIX classes; a ']'
 * first belongs to the class), '\' makes the next character match itself;
 * everything else matches itself.  Returns an owned jv string and fills
 * *cost; or invalid with the reason the glob can match nothing as
 * written: it is empty, a '[' is never closed, it ends in a lone '\', a
 * range runs backwards, a [:name:] is no class, a collating element ([.
 * or [=).  Bytes that are not valid UTF-8 are taken one by one. */
jv dp_glob_regex(const char *glob, dp_glob_cost *cost);

/* Checks pattern, the value of --NAME (name: "glob" or "exclude") of
 * docpipe-discover and docpipe-watch (and of the tools that pass it to
 * them: docpipe-plan), as they match it: fnmatch(3) against the base name,
 * or with FNM_PATHNAME against the path relative to the root when it holds
 * a '/'.  Returns 0, or -1 with err naming the option, the pattern and why
 * it can match nothing as written: what dp_glob_regex refuses, or a
 * pattern with a '/' that starts or ends with one (that path never does). */
int dp_glob_check_walk(const char *name, const char *pattern, dp_err *err);

#endif
