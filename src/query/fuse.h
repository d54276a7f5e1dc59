/* Weighted reciprocal rank fusion of the vector and text rankings (Cormack
 * et al., SIGIR 2009): a chunk's fused score is the sum over the rankings
 * that hold it of weight / (rrf_k + rank), rank counted from 1, weight 1
 * for the vector ranking and text_weight for the text ranking.  The
 * defaults were measured (docs/PERFORMANCE.md, bench/search): with the
 * local embedder plain RRF (k 60, equal weights) lost to text alone. */
#ifndef QUERY_FUSE_H
#define QUERY_FUSE_H

#include <stddef.h>
#include <stdint.h>

#include "search.h"

#define QUERY_RRF_K_DEFAULT 10
#define QUERY_TEXT_WEIGHT_DEFAULT 2.0

typedef struct query_fused {
	int64_t doc_id;
	int32_t seq;
	double score;         /* the fused score */
	double vscore, tscore; /* each side's own score (cosine, text rank); NaN: not ranked */
	int vrank, trank;      /* each side's rank from 1; 0: not ranked by that side */
} query_fused;

/* Fuses rankings v (nv hits) and t (nt hits), each best first, into out,
 * which must hold nv + nt entries.  Returns the number of distinct chunks,
 * sorted by fused score (ties: the better single rank, then document id
 * and seq, so the order is reproducible).  With one list empty the order
 * is that of the other. */
size_t query_fuse(const query_hit *v, size_t nv, const query_hit *t, size_t nt, double rrf_k,
		  double text_weight, query_fused *out);

#endif
