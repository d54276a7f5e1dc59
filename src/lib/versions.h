/* The document versions a stage holds, so that a copy of one it holds is
 * dropped.  docpipe-hub sends the documents in flight again when it takes
 * a replica for dead; a replica that was only held up (stopped, starved)
 * wakes with the original and the copy of each in its queue, and the copy
 * would pay the model API again.  The original answers for it: the hub
 * takes the first outcome.
 *
 * A version is "path\x1fstream\x1fseq": records without a stream and seq
 * (a plain pipeline's) have none and are never taken for copies.  The set
 * is a plain value without a lock of its own (the stage's lock covers it);
 * it holds as many versions as the stage holds documents (a few hundred),
 * so a scan is its index. */
#ifndef DP_VERSIONS_H
#define DP_VERSIONS_H

#include <stddef.h>

#include <jv.h>

typedef struct dp_versions {
	char **v;
	size_t n, cap;
} dp_versions;

/* The version rec (borrowed) holds, malloc'd, or NULL (none, or out of
 * memory: then the record is never taken for a copy). */
char *dp_record_version(jv rec);

/* Adds version (copied; NULL: nothing to add).  Returns 1 when added (or
 * NULL, or out of memory: the record goes on as an original), 0 when the
 * set holds it already: the record is a copy. */
int dp_versions_add(dp_versions *s, const char *version);
/* Removes one entry equal to version (NULL: nothing). */
void dp_versions_remove(dp_versions *s, const char *version);
void dp_versions_free(dp_versions *s);

#endif
