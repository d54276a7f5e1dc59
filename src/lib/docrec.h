/* Reading the chunks of a `document` record (docs/protocol.md), shared by
 * the stages that enrich documents (summarize, embed). */
#ifndef DP_DOCREC_H
#define DP_DOCREC_H

#include <jv.h>

#include "err.h"

/* Checks that rec (borrowed) has a "chunks" array of objects, each with a
 * string "text" without NUL characters (the store refuses those).  Returns the number of chunks, or -1 with err naming the
 * first bad field (e.g. "chunks[3].text is not a string"). */
int dp_doc_check_chunks(jv rec, dp_err *err);

/* Whether a string anywhere in j (borrowed), an object's keys included,
 * holds U+0000: PostgreSQL's text and jsonb store no such character (and
 * their errors name no field).  Recursive: jq's parser nests no deeper
 * than 256. */
int dp_doc_holds_nul(jv j);

/* The text of chunk i of a record that passed dp_doc_check_chunks.  The
 * string points into rec (borrowed) and lives as long as rec is unchanged. */
const char *dp_doc_chunk_text(jv rec, int i, int *len);

/* Sets field key of chunk i to val (consumed); returns the updated record
 * (rec consumed). */
jv dp_doc_chunk_set(jv rec, int i, const char *key, jv val);

#endif
