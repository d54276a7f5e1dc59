/* Nearest-chunk search over the stored corpus: pgvector's <=> when the
 * corpus uses it, else an exact cosine scan in C over a binary COPY
 * stream with a bounded top-k heap. */
#ifndef QUERY_SEARCH_H
#define QUERY_SEARCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jv.h>
#include <libpq-fe.h>

#include "err.h"

#define QUERY_K_MAX 1000

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

/* Cosine similarity of unit vector q and v (any length; 0 for a zero v). */
double query_cosine(const float *q, const float *v, size_t dim);

/* Parses one binary COPY row (document_id int8, seq int4, embedding
 * float4[dim]) into hit and vec.  Returns 1 for a row, 0 for the trailer,
 * -1 with err for anything else. */
int query_copy_row(const unsigned char *p, size_t len, query_hit *hit, float *vec, size_t dim,
		   dp_err *err);

/* The corpus identity from docpipe.settings. */
typedef struct query_corpus {
	char embedder[256];
	int dim;
	int pgvector;
} query_corpus;

/* Returns 0, 1 when there is no corpus to search (err says why), -1 with
 * err on a database error. */
int query_corpus_load(PGconn *db, query_corpus *c, dp_err *err);

/* Searches with unit vector q; returns a jv array of result objects
 * {rank, score, path, seq, heading, content, summary}, best first, or an
 * invalid jv with err set. */
jv query_search(PGconn *db, const query_corpus *c, const float *q, size_t k, dp_err *err);

/* Prints results (consumed) as text: rank, score, path, heading path,
 * snippet. */
void query_print_text(FILE *out, jv results);

/* At most max bytes of s on one line (whitespace runs become one space),
 * cut on a UTF-8 boundary, "..." appended when cut.  Owned jv string. */
jv query_snippet(const char *s, size_t max);

#endif
