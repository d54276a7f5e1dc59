/* One docpipe-query search: which sides run, the filters, both rankings,
 * their fusion, the result objects. */
#ifndef QUERY_RUN_H
#define QUERY_RUN_H

#include <stddef.h>

#include <jv.h>
#include <libpq-fe.h>

#include "err.h"
#include "filter.h"
#include "fuse.h"
#include "proximity.h"
#include "result.h"
#include "search.h"
#include "textrank.h"

/* Each side ranks at least this many chunks for the fusion (and for the
 * per-document limit in every mode), so a chunk ranked well by one side
 * and fairly by the other can still win. */
#define QUERY_POOL_MIN 50

/* Above this many chunks (the planner's estimate), hybrid search over
 * real[] vectors does not stream them all (about 2 s per 100k chunks, the
 * server's array output dominating) but ranks the QUERY_RERANK_POOL best
 * text candidates exactly by vector: a chunk that only the vector side
 * would find is then missed.  pgvector, --mode vector and questions
 * without text matches scan as before. */
#define QUERY_SCAN_MAX 20000
#define QUERY_RERANK_POOL 1000
/* Pseudo-relevance feedback defaults (--prf, --prf-weight, --prf-lead). */
#define QUERY_PRF_DEFAULT 1
#define QUERY_PRF_WEIGHT_DEFAULT 1.0
#define QUERY_PRF_LEAD_DEFAULT 1.25

typedef struct query_opts {
	enum query_mode mode;
	size_t k;
	int ef_search;
	query_fusion fusion;
	enum query_text_rank text_rank;
	query_filter filter;
	const char *question;
	const float *q;      /* the unit question vector; NULL: no vector side */
	int prf;             /* hybrid: the text side's first prf hits' vectors join q (0: off) */
	double prf_weight;   /* their mean's weight against q's 1 */
	double prf_lead;     /* only when the text side's first hit scores this many times its
				second (query_prf_applies; <= 1: always) */
	double proximity;    /* BM25's term proximity weight (proximity.h; 0: off) */
	int text_terms;      /* set by query_sides: the question's search terms, 0: no text side */
	char *terms;         /* set by query_sides: those terms as a text[] literal, or NULL;
				owned: the caller frees it (free) after query_run */
	const char *notice;  /* set by query_sides: a static string for stderr, or NULL */
} query_opts;

/* Decides the sides to run from the mode, the corpus and the question:
 * vector when o->q is set and not zero, text when the corpus has a
 * full-text index and the question has terms.  In hybrid mode a missing
 * side sets o->notice (the other one answers alone); in vector or
 * text mode, and when neither side can run, it is an error.  Clears o->q
 * when the vector side does not run.  Returns DP_EXIT_OK, or an exit code
 * with err. */
int query_sides(PGconn *db, const query_corpus *c, query_opts *o, dp_err *err);

/* Whether the feedback is given: the text side's ranking t (nt hits, best
 * first) has a first hit that leads its second by a factor of at least
 * lead (lead <= 1: whenever there is a hit; a single hit, or a second
 * that scores nothing, leads).  A first hit barely ahead of the next is as
 * often a wrong page that shares the question's words: its vector would
 * pull the vector side toward it, and the text side's mistake would
 * become both sides' (docs/PERFORMANCE.md, issue 11, session 35). */
int query_prf_applies(const query_hit *t, size_t nt, double lead);

/* Runs the search decided by query_sides.  Returns the result array (see
 * query_results), or an invalid jv with err.  When the array is empty,
 * *why_none says why in a static string (for a notice: a search that
 * finds nothing still exits 0, as a filter may rightly select nothing). */
jv query_run(PGconn *db, const query_corpus *c, const query_opts *o, const char **why_none,
	     dp_err *err);

#endif
