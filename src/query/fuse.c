#include "fuse.h"

#include <math.h>
#include <stdlib.h>

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

size_t query_fuse(const query_hit *v, size_t nv, const query_hit *t, size_t nt, double rrf_k,
		  double text_weight, query_fused *out)
{
	size_t n = 0;

	for (size_t i = 0; i < nv; i++)
		out[n++] = (query_fused){.doc_id = v[i].doc_id, .seq = v[i].seq,
					 .score = 1.0 / (rrf_k + (double)(i + 1)), .vscore = v[i].score,
					 .tscore = NAN, .vrank = (int)i + 1};
	/* The lists hold at most QUERY_K_MAX-sized pools: a linear match is fine. */
	for (size_t i = 0; i < nt; i++) {
		size_t j = 0;
		while (j < nv && !(out[j].doc_id == t[i].doc_id && out[j].seq == t[i].seq))
			j++;
		if (j == nv)
			out[j = n++] = (query_fused){.doc_id = t[i].doc_id, .seq = t[i].seq,
						     .vscore = NAN};
		out[j].score += text_weight / (rrf_k + (double)(i + 1));
		out[j].tscore = t[i].score;
		out[j].trank = (int)i + 1;
	}
	qsort(out, n, sizeof *out, fused_order);
	return n;
}
