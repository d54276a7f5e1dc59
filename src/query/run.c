#include "run.h"

#include <stdlib.h>

#include "fuse.h"

static int zero_vector(const float *q, size_t dim)
{
	for (size_t i = 0; i < dim; i++)
		if (q[i] != 0)
			return 0;
	return 1;
}

int query_sides(PGconn *db, const query_corpus *c, query_opts *o, dp_err *err)
{
	o->notice = NULL;
	if (o->q != NULL && zero_vector(o->q, (size_t)c->dim)) {
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

/* The vector side: all vectors, or (rerank) only the text candidates t. */
static int vector_side(PGconn *db, const query_corpus *c, const query_opts *o, size_t pool,
		       const query_ids *ids, const query_hit *t, size_t nt, int rerank,
		       query_hit **v, size_t *nv, dp_err *err)
{
	if (rerank && nt > 0)
		return query_vector_rerank(db, c, o->q, t, nt, pool, v, nv, err);
	return query_vector_search(db, c, o->q, pool, o->ef_search, ids, v, nv, err);
}

jv query_run(PGconn *db, const query_corpus *c, const query_opts *o, dp_err *err)
{
	/* The per-document limit needs other documents to bring forward. */
	size_t pool = (o->mode == QUERY_HYBRID || o->fusion.per_doc > 0) && o->k < QUERY_POOL_MIN
			      ? QUERY_POOL_MIN : o->k;
	query_hit *v = NULL, *t = NULL;
	size_t nv = 0, nt = 0;
	query_ids ids = {0};
	query_fused *fused = NULL;
	const char *terms = o->text_terms > 0 ? o->terms : NULL;
	jv out = jv_invalid();
	int filtered = query_filter_active(&o->filter);
	int rerank = o->q != NULL && o->text_terms > 0 && o->mode == QUERY_HYBRID &&
		     !query_is_pgvector(c) && query_chunk_estimate(db) > QUERY_SCAN_MAX;

	if (filtered && query_filter_ids(db, &o->filter, &ids, err) < 0)
		goto done;
	if (terms != NULL &&
	    query_text_search(db, terms, o->text_terms, o->text_rank,
			      rerank && pool < QUERY_RERANK_POOL ? QUERY_RERANK_POOL : pool,
			      filtered ? &ids : NULL, &t, &nt, err) < 0)
		goto done;
	if (o->q != NULL && vector_side(db, c, o, pool, filtered ? &ids : NULL, t, nt, rerank,
					&v, &nv, err) < 0)
		goto done;
	if (nt > pool)
		nt = pool;
	if ((fused = malloc((nv + nt > 0 ? nv + nt : 1) * sizeof *fused)) == NULL) {
		dp_err_set(err, "out of memory");
		goto done;
	}
	size_t n = query_fuse(v, nv, t, nt, pool, &o->fusion, fused);
	out = query_results(db, fused, n < o->k ? n : o->k, o->mode, c->text_config, terms, err);
done:
	free(v);
	free(t);
	free(fused);
	query_ids_free(&ids);
	return out;
}
