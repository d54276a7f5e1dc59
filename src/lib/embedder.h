/* Embedding backends behind one interface, shared by docpipe-embed (for
 * chunks) and docpipe-query (for the question), so a question is always
 * embedded exactly as the corpus was.
 *
 * Backends: "local" (built in, offline, deterministic: signed feature
 * hashing of words, word pairs and character trigrams, L2-normalized). */
#ifndef DP_EMBEDDER_H
#define DP_EMBEDDER_H

#include <stddef.h>

#include "err.h"

#define DP_EMBED_DIM_DEFAULT 384
#define DP_EMBED_DIM_MAX 16384

typedef struct dp_embedder_opts {
	const char *backend; /* NULL or "local" */
	const char *model;   /* backend's model; NULL for its default */
	int dim;             /* 0 for the backend's default */
} dp_embedder_opts;

typedef struct dp_embedder dp_embedder;

/* Returns NULL with err set on a bad option (unknown backend, bad dim). */
dp_embedder *dp_embedder_new(const dp_embedder_opts *opts, dp_err *err);
void dp_embedder_free(dp_embedder **e);

/* The identity recorded with every vector: backend, model and every
 * parameter that changes the numbers, e.g. "local/fh-v1". Borrowed. */
const char *dp_embedder_id(const dp_embedder *e);
int dp_embedder_dim(const dp_embedder *e);

/* Embeds texts[i] (lens[i] bytes, valid UTF-8) into out[i*dim ..
 * (i+1)*dim).  Returns 0, or -1 with err set. Thread-safe. */
int dp_embedder_embed(dp_embedder *e, const char *const *texts, const size_t *lens,
		      size_t n, float *out, dp_err *err);

/* The local backend on its own, for tests and the query tool's fallback. */
void dp_embed_local(const char *text, size_t len, float *out, size_t dim);

#endif
