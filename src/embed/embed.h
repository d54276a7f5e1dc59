/* docpipe-embed's work on one document record. */
#ifndef EMBED_EMBED_H
#define EMBED_EMBED_H

#include <stdatomic.h>

#include <jv.h>

#include "embedder.h"
#include "reuse.h"

typedef struct embed_ctx {
	dp_embedder *embedder;
	dp_reuse *reuse;     /* NULL: no reuse of earlier results */
	int refresh;         /* with reuse: do not read, overwrite */
	atomic_int refused;  /* set when the API refused the run for good */
	atomic_ulong reused; /* vectors taken from the cache */
	atomic_ulong computed; /* vectors computed or requested */
} embed_ctx;

/* dp_stage_ops.process: rec (consumed) is a document record; returns it
 * with chunks[].vec, embedder and dim set, or an error record naming the
 * bad field or the backend's reason.  What is embedded is each chunk's
 * "text" alone: a chunk summary, when present, is stored beside it but not
 * mixed into the vector, so a vector depends only on its chunk's text.
 * With an API backend, a text over DP_EMBED_INPUT_TOKENS_MAX (estimated)
 * is cut to that many and the cut is reported on stderr and recorded as
 * chunks[i].vec_truncated (the bytes embedded). */
jv embed_process(void *ctx, jv rec);

/* Length of the longest prefix of text[0..len) (on a UTF-8 boundary) whose
 * token estimate is at most max_tokens. */
size_t embed_cut(const char *text, size_t len, size_t max_tokens);

#endif
