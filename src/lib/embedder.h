/* Embedding backends behind one interface, shared by docpipe-embed (for
 * chunks) and docpipe-query (for the question), so a question is always
 * embedded exactly as the corpus was.
 *
 * Backends: "local" (built in, offline, deterministic: signed feature
 * hashing, L2-normalized; models fh-v1, the default, and fh-v2: see
 * embed_local.c);
 * "openai" (any OpenAI-compatible server: POST {base}/embeddings) and
 * "ollama" (Ollama's native POST {base}/api/embed), through dp_http with
 * its retries and budgets.  API vectors are kept exactly as the server sent
 * them (converted to float32). */
#ifndef DP_EMBEDDER_H
#define DP_EMBEDDER_H

#include <stddef.h>

#include "err.h"
#include "http.h"

#define DP_EMBED_DIM_DEFAULT 384
#define DP_EMBED_DIM_MAX 16384
#define DP_EMBED_BATCH_DEFAULT 64
#define DP_EMBED_BATCH_MAX 2048              /* inputs per request (OpenAI's limit) */
#define DP_EMBED_REQUEST_TOKENS_MAX 300000   /* per request (OpenAI's limit) */
#define DP_EMBED_INPUT_TOKENS_MAX 8192       /* per input (OpenAI's limit) */
#define DP_EMBED_HINT_MAX 384                /* dp_embedder_opts.dim_hint's room */

/* Defaults of the API backends. */
#define DP_OPENAI_EMBED_MODEL_DEFAULT "text-embedding-3-small"
#define DP_OLLAMA_EMBED_MODEL_DEFAULT "nomic-embed-text"

typedef struct dp_embedder_opts {
	const char *backend; /* NULL or "local", "openai", "ollama" */
	const char *model;   /* backend's model; NULL for its default */
	int dim;             /* 0 for the default (384); sent as "dimensions" */
	/* API backends only (the local backend ignores them): */
	const char *base_url;     /* NULL: $OPENAI_BASE_URL, else the backend's default */
	const char *api_key;      /* NULL: $OPENAI_API_KEY (may be unset) */
	const dp_http_opts *http; /* NULL: dp_http's defaults; base_url and
				   * api_key in it are ignored */
	int batch_inputs;         /* inputs per request; 0: 64 */
	/* What to fix when the server's vectors have another size than dim,
	 * said in parentheses after that error (copied, at most
	 * DP_EMBED_HINT_MAX - 1 bytes); NULL: "see --dim", docpipe-embed's
	 * option.  A caller whose dim is not an option of its own
	 * (docpipe-query: the corpus's) names where it comes from. */
	const char *dim_hint;
} dp_embedder_opts;

typedef struct dp_embedder dp_embedder;

/* Returns NULL with err set on a bad option (unknown backend, bad dim). */
dp_embedder *dp_embedder_new(const dp_embedder_opts *opts, dp_err *err);
void dp_embedder_free(dp_embedder **e);

/* The identity recorded with every vector: backend, model and every
 * parameter that changes the numbers, e.g. "local/fh-v1". Borrowed. */
const char *dp_embedder_id(const dp_embedder *e);
int dp_embedder_dim(const dp_embedder *e);

/* Inputs per request (--batch-inputs). */
int dp_embedder_batch_inputs(const dp_embedder *e);

/* 1 for the built-in backend (no requests, nothing worth caching). */
int dp_embedder_is_local(const dp_embedder *e);

/* The API client of an API backend (for its counters), NULL for local. */
dp_http *dp_embedder_http(dp_embedder *e);

/* Embeds texts[i] (lens[i] bytes, valid UTF-8) into out[i*dim ..
 * (i+1)*dim), in as few requests as the batch limits allow.  Returns 0,
 * or a dp_http_status with err set: DP_HTTP_REJECTED when the server
 * rejected the input (e.g. too long), DP_HTTP_REFUSED when the stage must
 * stop (quota, credentials), DP_HTTP_TIMED_OUT when a request of several
 * inputs was not answered within --timeout (smaller ones may be: not
 * retried), DP_HTTP_FAILED otherwise (including a
 * response with the wrong number of vectors, bad indexes, another
 * dimension or a value that is not a finite float32 number).  An input over DP_EMBED_INPUT_TOKENS_MAX (estimated) is
 * rejected without a request: callers cut it first, and say so.
 * Thread-safe. */
int dp_embedder_embed(dp_embedder *e, const char *const *texts, const size_t *lens,
		      size_t n, float *out, dp_err *err);
/* The same, input i's vector into outs[i][0..dim): each where its caller
 * keeps it, so a stage that holds many (docpipe-embed) needs no buffer of
 * a request's vectors beside them (16 workers' buffers of 64 vectors at
 * 1,536 dimensions: 12.5 MB, kept).  After a failure outs hold whatever
 * was read. */
int dp_embedder_embed_each(dp_embedder *e, const char *const *texts, const size_t *lens,
			   size_t n, float *const *outs, dp_err *err);

/* The local backend's models (embed_local.c): "fh-v1" and "fh-v2". */
enum dp_local_model { DP_LOCAL_FH_V1 = 1, DP_LOCAL_FH_V2 = 2 };
#define DP_LOCAL_MODEL_DEFAULT "fh-v1"

/* The local backend on its own: text (len bytes) into out[0..dim), unit
 * length (or all zero when the text has no features). */
void dp_embed_local_model(enum dp_local_model model, const char *text, size_t len, float *out,
			  size_t dim);

/* The same with the default model, for tests. */
void dp_embed_local(const char *text, size_t len, float *out, size_t dim);

#endif
