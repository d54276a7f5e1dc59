#include "run.h"

#include <stdlib.h>

#include "vec.h"

#include "fuse.h"

int query_sides(PGconn *db, const query_corpus *c, query_opts *o, dp_err *err)
{
	o->notice = NULL;
	if (o->q != NULL && dp_vec_zero(o->q, (size_t)c->dim)) {
		o->q = NULL;
		if (o->mode == QUERY_VECTOR) {
			dp_err_set(err, "the question embeds to a zero vector (no term the embedder"
				   " knows): nothing to compare; try --mode text");
			return DP_EXIT_USAGE;
		}
		o->notice = "the question embeds to a zero vector; text ranking only";
	}
	o->text_terms = 0;
	if (o->mode != QUERY_VECTOR && c->text_config[0] == '\0') {
		if (o->mode == QUERY_TEXT) {
			dp_err_set(err, "this database has no full-text index yet (run docpipe-store"
				   " once to add it)");
			return DP_EXIT_FAILED;
		}
		o->notice = "no full-text index yet (run docpipe-store once to add it);"
			    " vector ranking only";
	} else if (o->mode != QUERY_VECTOR) {
		if ((o->text_terms = query_text_terms(db, c, o->question, &o->terms, err)) < 0)
			return DP_EXIT_SYSTEM;
		if (o->text_terms > QUERY_TERMS_CAP) {
			dp_err_set(err, "the question has %d distinct search terms, more than %d:"
				   " ask a shorter one", o->text_terms, QUERY_TERMS_CAP);
			return DP_EXIT_USAGE;
		}
	}
	if (o->mode == QUERY_TEXT && o->text_terms == 0) {
		dp_err_set(err, "the question has no search terms for text search configuration %s",
			   c->text_config);
		return DP_EXIT_USAGE;
	}
	if (o->q == NULL && o->text_terms == 0) {
		dp_err_set(err, "the question has neither search terms nor a vector to compare");
		return DP_EXIT_USAGE;
	}
	return DP_EXIT_OK;
}

/* Rocchio's pseudo-relevance feedback: into q2 (dim floats) the unit
 * question vector plus o->prf_weight times the mean unit vector of the
 * text side's first o->prf hits t, normalized.  Returns 1 with q2 set, 0
 * when there is nothing to add (q2 unused), -1 with err. */
static int feedback_vector(PGconn *db, const query_corpus *c, const query_opts *o,
			   const query_hit *t, size_t nt, float *q2, dp_err *err)
{
	size_t dim = (size_t)c->dim;

	for (size_t i = 0; i < dim; i++)
		q2[i] = 0;
	int n = query_hits_centroid(db, c, t, nt < (size_t)o->prf ? nt : (size_t)o->prf, q2, err);
	if (n <= 0)
		return n;
	for (size_t i = 0; i < dim; i++)
		q2[i] = o->q[i] + (float)(o->prf_weight / n) * q2[i];
	dp_vec_normalize(q2, dim);
	return 1;
}

int query_prf_applies(const query_hit *t, size_t nt, double lead)
{
	if (nt == 0)
		return 0;
	return nt == 1 || !(t[1].score > 0) || t[0].score >= lead * t[1].score;
}

/* The vector side: all vectors, or (rerank) only the text candidates t. */
static int vector_side(PGconn *db, const query_corpus *c, const query_opts *o, const float *q,
		       size_t pool,
		       const query_ids *ids, const query_hit *t, size_t nt, int rerank,
		       query_hit **v, size_t *nv, dp_err *err)
{
	if (rerank && nt > 0)
		return query_vector_rerank(db, c, q, t, nt, pool, v, nv, err);
	return query_vector_search(db, c, q, pool, o->ef_search, ids, v, nv, err);
}

/* Why a search found nothing: no document passed the filters, or (the
 * text side alone: the vector side ranks every chunk with a vector) none
 * of the chunks it may rank holds a search term, or the corpus is empty. */
static const char *why_none(const query_opts *o, int filtered, const query_ids *ids)
{
	if (filtered && ids->n == 0)
		return "no stored document passes the filters (--path, --where, --since)";
	if (o->q == NULL)
		return filtered ? "no chunk of the documents the filters select holds the question's"
				  " search terms"
				: "no stored chunk holds the question's search terms";
	return filtered ? "the documents the filters select have no embedded chunks"
			: "the corpus holds no embedded chunks";
}

/* File ranking (fuse.h): the documents of the fused list's first pool
 * chunks scored as wholes, the list ordered again.  Returns 0, or -1 with
 * err. */
static int file_rank(PGconn *db, const char *terms, query_term_stats *stats, query_fused *fused,
		     size_t n, size_t pool, const query_fusion *f, dp_err *err)
{
	size_t m = n < pool ? n : pool;
	int64_t *docs = malloc(m * sizeof *docs);
	double *scores = malloc(m * sizeof *scores);
	int rc = -1;

	if (docs == NULL || scores == NULL) {
		dp_err_set(err, "out of memory");
		goto done;
	}
	size_t nd = query_fused_docs(fused, m, docs);
	if (query_doc_scores(db, terms, stats, docs, nd, scores, err) < 0)
		goto done;
	if (query_fuse_files(fused, n, docs, scores, nd, f) < 0) {
		dp_err_set(err, "out of memory");
		goto done;
	}
	rc = 0;
done:
	free(docs);
	free(scores);
	return rc;
}

jv query_run(PGconn *db, const query_corpus *c, const query_opts *o, const char **why,
	     dp_err *err)
{
	/* The per-document limit needs other documents to bring forward. */
	size_t pool = (o->mode == QUERY_HYBRID || o->fusion.per_doc > 0) && o->k < QUERY_POOL_MIN
			      ? QUERY_POOL_MIN : o->k;
	query_hit *v = NULL, *t = NULL;
	size_t nv = 0, nt = 0;
	query_ids ids = {0};
	query_fused *fused = NULL;
	query_term_stats stats = {0};
	float *q2 = NULL;
	const float *q = o->q;
	const char *terms = o->text_terms > 0 ? o->terms : NULL;
	jv out = jv_invalid();
	int filtered = query_filter_active(&o->filter);
	int rerank = o->q != NULL && o->text_terms > 0 && o->mode == QUERY_HYBRID &&
		     !query_is_pgvector(c) && query_chunk_estimate(db) > QUERY_SCAN_MAX;

	if (filtered && query_filter_ids(db, &o->filter, &ids, err) < 0)
		goto done;
	/* Proximity re-orders the BM25 ranking's first QUERY_POOL_MIN hits at
	 * least, whatever k: the order it was measured with. */
	int near = o->proximity > 0 && o->text_rank == QUERY_RANK_BM25;
	size_t text_pool = near && pool < QUERY_POOL_MIN ? QUERY_POOL_MIN : pool;
	if (terms != NULL &&
	    (query_text_search(db, terms, o->text_terms, o->text_rank,
			       rerank && text_pool < QUERY_RERANK_POOL ? QUERY_RERANK_POOL : text_pool,
			       filtered ? &ids : NULL, &t, &nt, &stats, err) < 0 ||
	     (near && stats.lexemes != NULL &&
	      query_text_proximity(db, &stats, t, nt < text_pool ? nt : text_pool, o->proximity, err) < 0)))
		goto done;
	if (q != NULL && o->prf > 0 && query_prf_applies(t, nt, o->prf_lead)) {
		int fb;
		if ((q2 = malloc((size_t)c->dim * sizeof *q2)) == NULL) {
			dp_err_set(err, "out of memory");
			goto done;
		}
		if ((fb = feedback_vector(db, c, o, t, nt, q2, err)) < 0)
			goto done;
		if (fb > 0)
			q = q2;
	}
	if (q != NULL && vector_side(db, c, o, q, pool, filtered ? &ids : NULL, t, nt, rerank,
				     &v, &nv, err) < 0)
		goto done;
	if (nt > pool)
		nt = pool;
	if ((fused = malloc((nv + nt > 0 ? nv + nt : 1) * sizeof *fused)) == NULL) {
		dp_err_set(err, "out of memory");
		goto done;
	}
	size_t n = query_fuse(v, nv, t, nt, pool, &o->fusion, fused);
	if (o->mode == QUERY_HYBRID && o->fusion.file_weight > 0 && terms != NULL && n > 0 &&
	    file_rank(db, terms, &stats, fused, n, pool, &o->fusion, err) < 0)
		goto done;
	out = query_results(db, fused, n < o->k ? n : o->k, o->mode, c->text_config, terms, err);
	*why = n == 0 ? why_none(o, filtered, &ids) : NULL;
done:
	free(v);
	free(t);
	free(fused);
	free(q2);
	query_term_stats_free(&stats);
	query_ids_free(&ids);
	return out;
}
