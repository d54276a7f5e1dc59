/* Fusion of the vector and text rankings into one.
 *
 * QUERY_FUSE_ZSCORE (the default): over the chunks of both lists, each
 * side's scores become standard scores (z = (score - mean) / standard
 * deviation; 0 for a side whose scores are all equal), and a chunk's fused
 * score is its vector z plus text_weight times its text z.  A chunk a side
 * did not rank takes that side's lowest score, or 0 when the side ranked
 * fewer chunks than the pool asked for (so it ranked every chunk it
 * could: a rare term's few matches stand far above the rest).  Unlike
 * rank fusion it keeps how far a side's best hits stand above the others,
 * so one side's confident hit is not pushed out by the other's flat list.
 * QUERY_FUSE_RRF: weighted reciprocal rank fusion (Cormack et al., SIGIR
 * 2009): the sum over the rankings that hold a chunk of weight / (rrf_k +
 * rank), rank from 1, weight 1 for the vector ranking and text_weight for
 * the text ranking.
 * Then at most per_doc chunks of one document come first (0: no limit);
 * the others follow in fused order.
 * The defaults were measured (docs/PERFORMANCE.md, issue 11, bench/search). */
#ifndef QUERY_FUSE_H
#define QUERY_FUSE_H

#include <stddef.h>
#include <stdint.h>

#include "search.h"

enum query_fusion_rule { QUERY_FUSE_ZSCORE, QUERY_FUSE_RRF };

#define QUERY_RRF_K_DEFAULT 10
#define QUERY_TEXT_WEIGHT_DEFAULT 2.0
/* --per-document's default: no limit.  1 finds more files in the top 5
 * (docs/PERFORMANCE.md) but drops a document's second-best chunk below
 * weak hits of others (the demo's "how do I rotate the keys" lost its
 * procedure to a glossary): the caller who wants files asks for it. */
#define QUERY_PER_DOC_DEFAULT 0

typedef struct query_fusion {
	enum query_fusion_rule rule;
	double rrf_k;       /* QUERY_FUSE_RRF only */
	double text_weight; /* the text side's weight, the vector side's being 1 */
	int per_doc;        /* chunks of one document before the others; 0: no limit */
} query_fusion;

typedef struct query_fused {
	int64_t doc_id;
	int32_t seq;
	double score;         /* the fused score */
	double vscore, tscore; /* each side's own score (cosine, text rank); NaN: not ranked */
	int vrank, trank;      /* each side's rank from 1; 0: not ranked by that side */
	int doc_rank;          /* with per_doc: its place among its document's chunks, from 1; else 0 */
} query_fused;

/* Fuses rankings v (nv hits) and t (nt hits), each best first and each
 * asked for pool hits, into out, which must hold nv + nt entries.  Returns the number of distinct chunks,
 * sorted by fused score (ties: the better single rank, then document id
 * and seq, so the order is reproducible), chunks past f->per_doc of their
 * document moved after the others.  With one list empty the order is that
 * of the other (up to the per-document limit). */
size_t query_fuse(const query_hit *v, size_t nv, const query_hit *t, size_t nt, size_t pool,
		  const query_fusion *f, query_fused *out);

#endif
