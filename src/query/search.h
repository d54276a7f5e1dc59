/* The vector side of docpipe-query: pgvector's <=> (through its HNSW index
 * when there is one) when the corpus uses pgvector, else an exact cosine
 * scan in C over a binary COPY stream with a bounded top-k heap.  Both
 * return ranked hits (document id, seq, score); result.h turns hits into
 * output. */
#ifndef QUERY_SEARCH_H
#define QUERY_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "err.h"
#include "filter.h"

#define QUERY_K_MAX 1000
#define QUERY_EF_SEARCH_DEFAULT 1000 /* hnsw.ef_search (pgvector's maximum): docs/PERFORMANCE.md */

typedef struct query_hit {
	double score;
	int64_t doc_id;
	int32_t seq;
} query_hit;

/* The k best hits seen so far: a min-heap on score, so the worst of the
 * kept hits is dropped first.  Memory: k hits, whatever the corpus size. */
typedef struct query_topk {
	query_hit *hits;
	size_t n, k;
} query_topk;

int query_topk_init(query_topk *t, size_t k); /* 0, or -1 out of memory */
void query_topk_push(query_topk *t, query_hit hit);
/* Sorts the kept hits best first (the heap is gone afterwards). */
void query_topk_sort(query_topk *t);
void query_topk_free(query_topk *t);

/* Cosine similarity of unit vector q and v (any length); NaN for a zero v,
 * which callers leave unranked. */
double query_cosine(const float *q, const float *v, size_t dim);

/* Parses one binary COPY row (document_id int8, seq int4, embedding
 * float4[dim]) into hit and vec.  Returns 1 for a row, 0 for the trailer,
 * -1 with err for anything else: hit->doc_id and hit->seq then name the
 * chunk when the row's first two fields were read (a vector of another
 * shape: err says its length), else hit->doc_id is -1. */
int query_copy_row(const void *row, size_t len, query_hit *hit, float *vec, size_t dim,
		   dp_err *err);

/* The corpus identity and search settings from docpipe.settings.  Keys
 * absent from older databases leave "" (today's behaviour: real[] scan,
 * or pgvector's plain HNSW index on the vector column). */
typedef struct query_corpus {
	char embedder[256];
	int dim;
	char vector_type[32];  /* vector | halfvec | real[] */
	char vector_index[32]; /* hnsw | hnsw-halfvec | ivfflat | ivfflat-halfvec | none | "" */
	int ivfflat_probes;    /* the store's ivfflat.probes for its lists; 0: none */
	char index_state[32];  /* "building" while a bulk load has dropped the index */
	char text_config[64];  /* "" when the database has no full-text index yet */
	char text_lexer[32];   /* who made the tsvectors: DP_LEXER_NAME, or "postgresql" (also "") */
} query_corpus;

/* Returns 0 (c->dim 0 when no chunk was embedded: the corpus has text
 * only), 1 when there is no corpus to search or its chunks are in an
 * older docpipe's shape (dp_db_schema_old; err says why), 2 when
 * there is one but its settings are lost (dp_db_settings_lost: err says
 * so), -1 with err on a database error. */
int query_corpus_load(PGconn *db, query_corpus *c, dp_err *err);

/* The n best chunks by cosine similarity to unit vector q, restricted to
 * the documents of ids (NULL: all); chunks with zero vectors are never
 * ranked.  ef_search: pgvector's candidate list (raised to n).  On success
 * *out (malloc'd, best first, caller frees) and *nout; -1 with err. */
int query_vector_search(PGconn *db, const query_corpus *c, const float *q, size_t n,
			int ef_search, const query_ids *ids, query_hit **out, size_t *nout,
			dp_err *err);

/* 1 when the corpus's vectors are pgvector's (vector or halfvec). */
int query_is_pgvector(const query_corpus *c);

/* Exact cosine ranking of the ncands chunks cands (any order; their
 * scores are ignored) against unit vector q: the n best into *out
 * (malloc'd, best first) and *nout.  Reads only those chunks' vectors.
 * 0, or -1 with err. */
int query_vector_rerank(PGconn *db, const query_corpus *c, const float *q, const query_hit *cands,
			size_t ncands, size_t n, query_hit **out, size_t *nout, dp_err *err);

/* Pseudo-relevance feedback (docpipe-query --prf): at most this many
 * text hits lend their vectors to the question's. */
#define QUERY_PRF_MAX 50
/* Adds the unit vectors of the stored chunks hits (the first
 * QUERY_PRF_MAX of n; zero or non-finite vectors and chunks without one
 * are skipped) to sum (c->dim floats, the caller's).  Returns how many
 * were added, or -1 with err. */
int query_hits_centroid(PGconn *db, const query_corpus *c, const query_hit *hits, size_t n,
			float *sum, dp_err *err);
/* The planner's estimate of the number of chunks (-1 unknown: never
 * analyzed, or an error; the caller then assumes a small corpus). */
double query_chunk_estimate(PGconn *db);

#endif
