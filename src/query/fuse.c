#include "fuse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int best_single(const query_fused *f)
{
	int v = f->vrank > 0 ? f->vrank : INT32_MAX, t = f->trank > 0 ? f->trank : INT32_MAX;

	return v < t ? v : t;
}

static int fused_order(const void *a, const void *b)
{
	const query_fused *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (best_single(x) != best_single(y))
		return best_single(x) < best_single(y) ? -1 : 1;
	if (x->doc_id != y->doc_id)
		return x->doc_id < y->doc_id ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* file_rank's key: a document the file ranking did not rank after all. */
static int file_key(const query_fused *f)
{
	return f->file_rank > 0 ? f->file_rank : INT32_MAX;
}

/* The per-document limit's key: within it first, by file rank (all 0
 * without file ranking), then fused order; past it fused order. */
static int capped_order(const void *a, const void *b, void *cap)
{
	const query_fused *x = a, *y = b;
	int c = *(const int *)cap, ox = x->doc_rank > c, oy = y->doc_rank > c;

	if (ox != oy)
		return ox - oy;
	if (!ox && file_key(x) != file_key(y))
		return file_key(x) < file_key(y) ? -1 : 1;
	return fused_order(a, b);
}

/* A side's score of out[j]: its own, or what a chunk it did not rank
 * takes (missing). */
static double side_score(const query_fused *h, int vector_side, double missing)
{
	double x = vector_side ? h->vscore : h->tscore;

	return (vector_side ? h->vrank : h->trank) > 0 ? x : missing;
}

/* Adds weight times each chunk's standard score on one side to its fused
 * score, over the n chunks of out.  A chunk the side did not rank takes
 * the side's lowest score (its list stopped at the pool: the others rank
 * below), or 0 when the side ranked fewer than pool chunks (every chunk
 * it could score: no term matched the others, or they have no vector). */
static void add_zscores(query_fused *out, size_t n, size_t nside, size_t pool, int vector_side,
			double weight)
{
	double missing = INFINITY, mean = 0, var = 0;

	for (size_t j = 0; j < n; j++)
		if ((vector_side ? out[j].vrank : out[j].trank) > 0)
			missing = fmin(missing, vector_side ? out[j].vscore : out[j].tscore);
	if (nside < pool || missing == INFINITY)
		missing = 0;
	for (size_t j = 0; j < n; j++)
		mean += side_score(&out[j], vector_side, missing);
	mean /= (double)n;
	for (size_t j = 0; j < n; j++) {
		double d = side_score(&out[j], vector_side, missing) - mean;
		var += d * d;
	}
	double sd = sqrt(var / (double)n);
	if (sd > 0)
		for (size_t j = 0; j < n; j++)
			out[j].score += weight * (side_score(&out[j], vector_side, missing) - mean) / sd;
}

/* With a limit, sets doc_rank (out is in fused order) and moves chunks
 * past it after the others. */
static void limit_per_doc(query_fused *out, size_t n, int per_doc)
{
	if (per_doc <= 0)
		return;
	/* Pools are at most 2 * QUERY_K_MAX chunks: counting back is fine. */
	for (size_t i = 0; i < n; i++) {
		out[i].doc_rank = 1;
		for (size_t j = 0; j < i; j++)
			out[i].doc_rank += out[j].doc_id == out[i].doc_id;
	}
	qsort_r(out, n, sizeof *out, capped_order, &per_doc);
}

size_t query_fused_docs(const query_fused *out, size_t n, int64_t *docs)
{
	size_t nd = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j = 0;
		while (j < nd && docs[j] != out[i].doc_id)
			j++;
		if (j == nd)
			docs[nd++] = out[i].doc_id;
	}
	return nd;
}

/* One document of the file ranking. */
typedef struct file_doc {
	int64_t id;
	double score; /* document-level score, then the fused document score */
	size_t place; /* its best chunk's place in the fused order, from 1 */
} file_doc;

/* Best score first, ties to the better place. */
static int file_doc_order(const void *a, const void *b)
{
	const file_doc *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return (x->place > y->place) - (x->place < y->place);
}

/* 1 when a chunk of doc is among the n chunks of f. */
static int doc_among(const query_fused *f, size_t n, int64_t doc)
{
	for (size_t i = 0; i < n; i++)
		if (f[i].doc_id == doc)
			return 1;
	return 0;
}

int query_fuse_files(query_fused *out, size_t n, const int64_t *docs, const double *scores,
		     size_t ndocs, const query_fusion *f)
{
	int cap = f->per_doc > 1 ? f->per_doc : 1;
	file_doc *d = malloc((ndocs > 0 ? ndocs : 1) * sizeof *d);
	query_fused *merged = malloc((n > 0 ? n : 1) * sizeof *merged);

	if (d == NULL || merged == NULL) {
		free(d);
		free(merged);
		return -1;
	}
	/* query_fuse's order before its per-document limit. */
	qsort(out, n, sizeof *out, fused_order);
	for (size_t i = 0; i < ndocs; i++) {
		d[i] = (file_doc){.id = docs[i], .score = scores[i], .place = n + 1};
		for (size_t j = 0; j < n && d[i].place > n; j++)
			if (out[j].doc_id == docs[i])
				d[i].place = j + 1;
	}
	/* Ranked by document score (those above 0), then fused with the place. */
	qsort(d, ndocs, sizeof *d, file_doc_order);
	for (size_t i = 0; i < ndocs; i++)
		d[i].score = 1.0 / (QUERY_FILE_RRF_K + (double)d[i].place) +
			     (d[i].score > 0 ? f->file_weight / (QUERY_FILE_RRF_K + (double)(i + 1)) : 0);
	qsort(d, ndocs, sizeof *d, file_doc_order);
	/* At most 2 * QUERY_K_MAX chunks and QUERY_K_MAX documents: a linear match is fine. */
	for (size_t j = 0; j < n; j++) {
		out[j].file_rank = 0;
		for (size_t i = 0; i < ndocs && out[j].file_rank == 0; i++)
			if (out[j].doc_id == d[i].id)
				out[j].file_rank = (int)i + 1;
	}
	free(d);
	limit_per_doc(out, n, cap);
	/* The chunks within the limit (the first nl), merged with the others
	 * (fused order): one of those comes before any within the limit that
	 * scores more than QUERY_FILE_MARGIN below it, once its own
	 * document's are out. */
	size_t nl = 0, a = 0, b, m = 0;
	while (nl < n && out[nl].doc_rank <= cap)
		nl++;
	for (b = nl; a < nl; merged[m++] = out[a++])
		while (b < n && out[b].score - QUERY_FILE_MARGIN > out[a].score &&
		       !doc_among(out + a, nl - a, out[b].doc_id))
			merged[m++] = out[b++];
	while (b < n)
		merged[m++] = out[b++];
	memcpy(out, merged, n * sizeof *out);
	free(merged);
	return 0;
}

size_t query_fuse(const query_hit *v, size_t nv, const query_hit *t, size_t nt, size_t pool,
		  const query_fusion *f, query_fused *out)
{
	int rrf = f->rule == QUERY_FUSE_RRF;
	size_t n = 0;

	for (size_t i = 0; i < nv; i++)
		out[n++] = (query_fused){.doc_id = v[i].doc_id, .seq = v[i].seq,
					 .score = rrf ? 1.0 / (f->rrf_k + (double)(i + 1)) : 0,
					 .vscore = v[i].score, .tscore = NAN, .vrank = (int)i + 1};
	/* The lists hold at most QUERY_K_MAX-sized pools: a linear match is fine. */
	for (size_t i = 0; i < nt; i++) {
		size_t j = 0;
		while (j < nv && !(out[j].doc_id == t[i].doc_id && out[j].seq == t[i].seq))
			j++;
		if (j == nv)
			out[j = n++] = (query_fused){.doc_id = t[i].doc_id, .seq = t[i].seq,
						     .vscore = NAN};
		if (rrf)
			out[j].score += f->text_weight / (f->rrf_k + (double)(i + 1));
		out[j].tscore = t[i].score;
		out[j].trank = (int)i + 1;
	}
	if (!rrf && n > 0) {
		add_zscores(out, n, nv, pool, 1, 1);
		add_zscores(out, n, nt, pool, 0, f->text_weight);
	}
	qsort(out, n, sizeof *out, fused_order);
	limit_per_doc(out, n, f->per_doc);
	return n;
}
