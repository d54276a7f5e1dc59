/* Filters of docpipe-query: --path GLOB (repeatable, any may match),
 * --where KEY=VALUE (repeatable, all must hold, on documents.metadata),
 * --since DATE (file modified at or after DATE).  They select documents;
 * both sides of the search then rank only chunks of those documents. */
#ifndef QUERY_FILTER_H
#define QUERY_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>
#include <libpq-fe.h>

#include "err.h"
#include "../store/doc.h"

/* Bounds on --path (query_filter_add_path refuses more).  Patterns: the
 * compiled regular expressions a PostgreSQL session caches; with 33, each
 * was compiled again for every document (10x slower: 2.9 s for 5,000).
 * Bracket expressions in one glob: 256 negated ones took the server
 * 0.26 s to compile, 680 took 9 s, 2,000 110 s.  Characters: the items
 * that match one each (a literal, '?', [...]): docpipe-store keeps paths
 * of at most STORE_MAX_PATH bytes. */
#define QUERY_PATHS_MAX 32
#define QUERY_GLOB_CLASSES_MAX 64
#define QUERY_GLOB_CHARS_MAX STORE_MAX_PATH

typedef struct query_filter {
	jv paths;          /* array of regular expressions made from the globs */
	jv where;          /* array of [KEY, VALUE] (texts), each to hold */
	const char *since; /* NULL, or a date/time PostgreSQL parses (borrowed) */
} query_filter;

/* The selected documents: sorted ids. */
typedef struct query_ids {
	int64_t *ids;
	size_t n;
} query_ids;

void query_filter_init(query_filter *f);
void query_filter_free(query_filter *f);
/* 1 when any filter is set. */
int query_filter_active(const query_filter *f);

/* Adds --path glob, as fnmatch(3) without flags reads it (dp_glob_regex,
 * src/lib/glob.h: '*' matches any run of characters, '/' included).  The glob must
 * match the whole stored path.  0, or -1 with err naming the glob and why
 * it can match nothing as written (see query_glob_regex), or when it
 * would be the QUERY_PATHS_MAX + 1st. */
int query_filter_add_path(query_filter *f, const char *glob, dp_err *err);
/* Adds --where KEY=VALUE.  0, or -1 with err: not valid UTF-8, no '=', an
 * empty key.  One KEY may be given twice: a list holds both values. */
int query_filter_add_where(query_filter *f, const char *arg, dp_err *err);

/* The regular expression (PostgreSQL's ARE) for glob, an owned jv string;
 * or invalid with the reason that the glob can match no stored path: one
 * dp_glob_regex refuses, one starting with a character other than '/'
 * (stored paths are absolute), one needing more characters than a stored
 * path has; or one too costly to compile (more than
 * QUERY_GLOB_CLASSES_MAX bracket expressions).
 * glob: valid UTF-8.  Exposed for the unit tests. */
jv query_glob_regex(const char *glob);

/* Checks that the server reads --since as a time (the SQLSTATE class 22 of
 * a bad one is the user's error, not the database's).  Returns 0, 1 with
 * err when it is no time, or -1 with err when the query failed. */
int query_filter_check(PGconn *db, const query_filter *f, dp_err *err);

/* The documents that pass f into ids.  0, or -1 with err (a bad date
 * included). */
int query_filter_ids(PGconn *db, const query_filter *f, query_ids *ids, dp_err *err);
void query_ids_free(query_ids *ids);
/* 1 when id is in ids. */
int query_ids_has(const query_ids *ids, int64_t id);

/* "{a,b,...}": an integer array literal of n values (from numbers, not
 * text), or NULL out of memory.  Caller frees. */
char *query_int_array(const int64_t *v, size_t n);

#endif
