/* Globs as fnmatch(3) reads them, checked and turned into regular
 * expressions: docpipe-query's --path (matched by PostgreSQL), and
 * docpipe-discover's and docpipe-watch's --glob and --exclude (matched by
 * fnmatch itself), which use it to refuse a pattern that can match nothing
 * as written instead of matching nothing silently. */
#ifndef DP_GLOB_H
#define DP_GLOB_H

#include <stddef.h>

#include <jv.h>

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

#endif
