/* The full-text side of docpipe-query: the chunks whose tsvector (heading
 * path weight A, chunk summary weight B, text; built by docpipe-store)
 * shares a term with the question, ranked by BM25 (default) or by
 * PostgreSQL's ts_rank_cd. */
#ifndef QUERY_TEXTRANK_H
#define QUERY_TEXTRANK_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "err.h"
#include "filter.h"
#include "search.h"

enum query_text_rank {
	QUERY_RANK_BM25, /* BM25 (k1 1.2, b 0.75) over the corpus's term statistics */
	QUERY_RANK_CD,   /* ts_rank_cd, length-normalized (normalization 1) */
};

/* SQL: the question's terms TERMS (an SQL expression of type text[], see
 * query_text_terms) as a tsquery that matches a chunk holding ANY of them
 * (plainto_tsquery would ask for all); NULL when there are none. */
/* The tsquery of exactly one lexeme (SQL text X), quoted for tsquery's input
 * (quotes and backslashes doubled).  Not plainto_tsquery: it parses the
 * lexeme again, and a hyphenated one ("state-of-the-art") became an AND of
 * its unstemmed parts and stop words, which no stored tsvector has. */
#define QUERY_LEXEME_TSQUERY(X)                                                           \
	"('''' || replace(replace(" X ", E'\\\\', E'\\\\\\\\'), '''', '''''') || '''')::tsquery"

#define QUERY_OR_TSQUERY(TERMS)                                                          \
	"(SELECT string_agg(" QUERY_LEXEME_TSQUERY("u.lexeme") "::text, ' | ')::tsquery"   \
	" FROM unnest(" TERMS "::text[]) u(lexeme))"

/* The longest text[] literal of a question's terms. */
#define QUERY_TERMS_MAX (1 << 20)
/* The most distinct terms a question may have: each costs the server a
 * count and a branch of one OR search (12,000 took 7-11 s on 883 chunks;
 * a long paragraph has about 200). */
#define QUERY_TERMS_CAP 256

/* The question's search terms, tokenized as the corpus's tsvectors were
 * (c->text_lexer: docpipe's lexer in this process, else the server's
 * to_tsvector with c->text_config), distinct.  Returns their count (0: the
 * text side has nothing to look for), or -1 with err; when terms is not
 * NULL, *terms gets them as a malloc'd text[] literal (NULL when none;
 * the caller frees). */
int query_text_terms(PGconn *db, const query_corpus *c, const char *question, char **terms,
		     dp_err *err);

/* BM25 scores a question's QUERY_TERM_SLOTS rarest terms (the longest
 * question of the benchmarks has 22); more common ones still select
 * candidates but add nothing to the score. */
#define QUERY_TERM_SLOTS 32

/* The question's term statistics over the whole corpus, as the BM25
 * chunk ranking computes them (each term's idf from its chunk count, the
 * chunk count, the mean chunk length), kept as the server's text for the
 * document ranking's parameters: computed once a question (a quarter
 * of the document ranking's server time when it computed them again,
 * docs/PERFORMANCE.md).  All NULL: not computed yet. */
typedef struct query_term_stats {
	char *lexemes; /* text[]: the question's terms */
	char *idfs;    /* float8[]: their idf, in lexemes' order */
	char *n;       /* the corpus's chunk count */
	char *avgdl;   /* its mean chunk length in bytes */
} query_term_stats;

/* Frees s's strings and sets them NULL. */
void query_term_stats_free(query_term_stats *s);

/* The n best chunks for the question's terms (query_text_terms' literal
 * and count, > 0), restricted to the documents of ids (NULL: all).  On
 * success *out (malloc'd, best first, caller frees; possibly empty) and
 * *nout, and with rank QUERY_RANK_BM25 the term statistics into *stats
 * (NULL: not wanted; else all NULL before; the caller frees them with
 * query_term_stats_free, also after an error); -1 with err. */
int query_text_search(PGconn *db, const char *terms, int nterms, enum query_text_rank rank, size_t n, const query_ids *ids, query_hit **out,
		      size_t *nout, query_term_stats *stats, dp_err *err);

/* Re-scores hits[0..n) (the text side's, BM25) with their term proximity
 * (proximity.h) times weight, from the question terms' positions in
 * their stored tsvectors and the term statistics in *stats (from
 * query_text_search), then orders them again (best first; equal scores
 * by document id and seq, as the text side).  weight <= 0 changes
 * nothing.  Returns 0, or -1 with err (the hits then unordered). */
int query_text_proximity(PGconn *db, const query_term_stats *stats, query_hit *hits, size_t n,
			 double weight, dp_err *err);

/* The document-level BM25 of each of the n documents docs for the
 * question's terms (query_text_terms' literal, at least one): a
 * document's chunks taken as one text (fuse.h's file ranking), with the
 * term statistics in *stats (computed here first when query_text_search
 * did not: its rank was not BM25).  Into scores[i] (0: none of the
 * terms); returns 0, or -1 with err. */
int query_doc_scores(PGconn *db, const char *terms, query_term_stats *stats, const int64_t *docs,
		     size_t n, double *scores, dp_err *err);

#endif
