/* The full-text side of docpipe-query: the chunks whose tsvector (heading
 * path weight A, chunk summary weight B, text; built by docpipe-store)
 * shares a term with the question, ranked by BM25 (default) or by
 * PostgreSQL's ts_rank_cd. */
#ifndef QUERY_TEXTRANK_H
#define QUERY_TEXTRANK_H

#include <stddef.h>

#include <libpq-fe.h>

#include "err.h"
#include "filter.h"
#include "search.h"

enum query_text_rank {
	QUERY_RANK_BM25, /* BM25 (k1 1.2, b 0.75) over the corpus's term statistics */
	QUERY_RANK_CD,   /* ts_rank_cd, length-normalized (normalization 1) */
};

/* SQL: the question CFG/Q (SQL expressions) as a tsquery that matches a
 * chunk holding ANY of its terms (plainto_tsquery would ask for all);
 * NULL when the question has no terms. */
#define QUERY_OR_TSQUERY(CFG, Q)                                                         \
	"(SELECT string_agg(plainto_tsquery('simple', u.lexeme)::text, ' | ')::tsquery"  \
	" FROM unnest(to_tsvector(" CFG "::regconfig, " Q ")) u"                         \
	" WHERE numnode(plainto_tsquery('simple', u.lexeme)) > 0)"

/* The number of distinct search terms of question under configuration cfg
 * (0: the text side has nothing to look for), or -1 with err. */
int query_text_terms(PGconn *db, const char *cfg, const char *question, dp_err *err);

/* BM25 scores a question's QUERY_TERM_SLOTS rarest terms (the longest
 * question of the benchmarks has 22); more common ones still select
 * candidates but add nothing to the score. */
#define QUERY_TERM_SLOTS 32

/* The n best chunks for question under configuration cfg, restricted to
 * the documents of ids (NULL: all); terms: query_text_terms' count for
 * them (> 0).  On success *out (malloc'd, best first, caller frees;
 * possibly empty) and *nout; -1 with err. */
int query_text_search(PGconn *db, const char *cfg, const char *question, int terms,
		      enum query_text_rank rank, size_t n, const query_ids *ids, query_hit **out,
		      size_t *nout, dp_err *err);

#endif
