/* docpipe-embed's work on document records: one at a time (embed_process,
 * the local backend) or batched across documents (batch.h, API backends). */
#ifndef EMBED_EMBED_H
#define EMBED_EMBED_H

#include <stdatomic.h>
#include <stddef.h>

#include <jv.h>

#include "embedder.h"
#include "record.h"
#include "reuse.h"
#include "stage.h"

typedef struct embed_ctx {
	dp_embedder *embedder;
	dp_reuse *reuse;     /* NULL: no reuse of earlier results */
	int refresh;         /* with reuse: do not read, overwrite */
	atomic_ulong reused; /* vectors taken from the cache */
	atomic_ulong computed; /* vectors computed or requested */
	size_t max_record;   /* the output's --max-record (0: not checked before the work) */
} embed_ctx;

/* --check-corpus: with a result cache (its database the store's), or a
 * database configured without one (--no-reuse, the local backend: a
 * connection of its own, closed after the look), whether the corpus
 * stored there was embedded otherwise: the store would refuse every
 * document, with remote (an API backend) after each was paid for
 * (summaries included); a local model switched failed every document of
 * the run by name, where one exit 2 says it once.  Returns 0 when
 * it was not (or there is no database or no corpus yet, or the look failed:
 * the store still refuses), -1 with err naming both embedders. */
int embed_check_corpus(embed_ctx *c, int remote, dp_err *err);

/* One document on its way: its chunk texts (pointing into rec, which is
 * left unchanged until embed_doc_finish), what is sent for each (cut to
 * the per-input limit), cache keys, and the vectors found so far. */
typedef struct embed_doc {
	jv rec;
	int n;                   /* chunks */
	const char **texts;      /* borrowed from rec */
	size_t *lens;            /* bytes sent (<= the chunk's length) */
	size_t *tokens;          /* estimate of what is sent */
	char (*keys)[DP_HASH_HEX]; /* with reuse or an API backend */
	float **vecs;            /* per chunk its dim values (owned), or NULL
				  * while missing: float32, not their base64
				  * (6 KB, not 8, at 1,536 dimensions), and
				  * encoded only as each chunk is written */
	int *todo;               /* chunks still to request, in order */
	int ntodo;
	size_t text_bytes;       /* its chunks' texts as JSON (at least) */
} embed_doc;

/* Fills d from rec (consumed into d->rec): checks the chunks, cuts texts
 * over DP_EMBED_INPUT_TOKENS_MAX for API backends (reported on stderr),
 * computes cache keys (c->reuse or an API backend: the in-flight
 * registry's too, batch.c) and lists every chunk in todo.  A document
 * whose chunks' texts and vectors alone are over c->max_record fails here,
 * before its vectors are computed or paid for (they were, then its record
 * was refused: 37 MB of 109,000 small chunks took 566 MB).  Returns 0, or
 * -1 with err set (d is then still to be freed; d->rec holds the
 * record). */
int embed_doc_prepare(embed_ctx *c, jv rec, embed_doc *d, dp_err *err);

/* The bytes d (prepared) holds while docpipe-embed keeps it, for the
 * hold's limit (batch.h): its chunks' texts, DP_CHUNK_HELD_BYTES a chunk,
 * and the vectors it will hold, dim float32 values each, counted from its
 * admission (they come while it is held).  At 1,536 dimensions a vector (8 KB) outweighs a
 * 1.6 KB chunk's text five times: texts alone were counted, and a shell
 * pipeline's embed reached 72 MB (89 MB at 3,072) behind a slow reader. */
size_t embed_doc_held_bytes(const embed_ctx *c, const embed_doc *d);

/* Looks up the cached vectors of the chunks each doc's todo lists, for
 * docs[0..n) in one round trip (unless there is no cache or --refresh),
 * and sets those found.  Each todo is then reordered: the chunks still
 * missing first (ntodo, their count, in their order), those found after
 * them, up to the old ntodo. */
void embed_docs_lookup(embed_ctx *c, embed_doc *const *docs, size_t n);

/* Makes vecs[0..n) room for a vector each (dim float32 values, owned by
 * the caller), for dp_embedder_embed_each to read a request's answer into
 * where it is kept.  Returns 0, or -1 when out of memory (none made). */
int embed_vectors_new(const embed_ctx *c, float **vecs, size_t n);
/* Frees vecs[0..n) and sets them NULL. */
void embed_vectors_free(float **vecs, size_t n);

/* The n vectors vecs[0..n) (borrowed) were computed: counts them and,
 * with a cache, stores them (base64) under keys[k] (each DP_HASH_HEX
 * bytes) in one round trip. */
void embed_keep_vectors(embed_ctx *c, float *const *vecs, size_t n, const char *const *keys);

/* The record to emit (d->rec consumed, d freed): with every vector set,
 * chunks[].vec, vec_truncated where a text was cut, "embedder" and "dim";
 * with reason non-NULL (or a vector missing: out of memory), an error
 * record with it. */
jv embed_doc_finish(embed_ctx *c, embed_doc *d, const char *reason);

/* Writes embed_doc_finish's record for d (d->rec consumed, d freed) to
 * io, byte for byte the same text, but when the sink takes text and d's
 * vectors are all there, in pieces (dp_stage_io_put_pieces): a chunk's
 * vector is encoded as its chunk is written, then freed with the chunk.
 * Its text is measured first (a pass with a stand-in vector of the same
 * length), so a record over the sink's --max-record goes out as its error
 * record (dp_record_too_big), as the sink makes it.  Why: one 5 MB
 * document at 1,536 dimensions held its vectors as base64 (35 MB) and its
 * 41.6 MB line at once: 105-118 MB (docs/PERFORMANCE.md, session 53).
 * Returns dp_stage_io_put's. */
int embed_doc_put(embed_ctx *c, embed_doc *d, const char *reason, dp_stage_io *io);

void embed_doc_free(embed_doc *d);

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
