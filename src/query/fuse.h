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
 * File ranking (query_fuse_files, hybrid mode, file_weight > 0): the
 * documents of the fused list's first chunks are ranked again by
 * reciprocal rank fusion (constant QUERY_FILE_RRF_K) of their best chunk's
 * place in the fused list (weight 1) and their rank by a document-level
 * BM25 (weight file_weight: the document's chunks as one text,
 * query_doc_scores); each document's best chunks (per_doc, at least 1)
 * come first in that order, each other chunk before those that score
 * QUERY_FILE_MARGIN less.  A page about the question's topic then
 * outranks one whose single chunk shares its common words.
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

/* --file-weight's default and the file ranking's fusion constant: measured
 * on the real-docs questions (docs/PERFORMANCE.md, issue 11, session 54):
 * weights 0.5-1.5 and constants 5-60 gave 318-320 of 360 files in the top
 * 5, against 312 without and 317 with --per-document 1 alone. */
#define QUERY_FILE_WEIGHT_DEFAULT 1.0
#define QUERY_FILE_RRF_K 10
/* A document's chunk past the first keeps its place ahead of other
 * documents' best chunks that score this much less (fused score: standard
 * deviations under QUERY_FUSE_ZSCORE; never under RRF's small scores): a
 * page's second strong chunk is not pushed below weak hits of others (the
 * demo's "how do I rotate the keys" keeps its procedure second).  Margins
 * 2-6 gave 319 of 360, 1 317, 0 312 (docs/PERFORMANCE.md). */
#define QUERY_FILE_MARGIN 3.0

typedef struct query_fusion {
	enum query_fusion_rule rule;
	double rrf_k;       /* QUERY_FUSE_RRF only */
	double text_weight; /* the text side's weight, the vector side's being 1 */
	int per_doc;        /* chunks of one document before the others; 0: no limit */
	double file_weight; /* hybrid: the document-level ranking's weight; 0: off */
} query_fusion;

typedef struct query_fused {
	int64_t doc_id;
	int32_t seq;
	double score;         /* the fused score */
	double vscore, tscore; /* each side's own score (cosine, text rank); NaN: not ranked */
	int vrank, trank;      /* each side's rank from 1; 0: not ranked by that side */
	int doc_rank;          /* with per_doc or file ranking: its place among its document's
				  chunks, from 1; else 0 */
	int file_rank;         /* file ranking: its document's rank, from 1; 0: not ranked */
} query_fused;

/* Fuses rankings v (nv hits) and t (nt hits), each best first and each
 * asked for pool hits, into out, which must hold nv + nt entries.  Returns the number of distinct chunks,
 * sorted by fused score (ties: the better single rank, then document id
 * and seq, so the order is reproducible), chunks past f->per_doc of their
 * document moved after the others.  With one list empty the order is that
 * of the other (up to the per-document limit). */
size_t query_fuse(const query_hit *v, size_t nv, const query_hit *t, size_t nt, size_t pool,
		  const query_fusion *f, query_fused *out);

/* The distinct documents of out's first n chunks, in the order of their
 * best chunk, into docs (room for n).  Returns their count. */
size_t query_fused_docs(const query_fused *out, size_t n, int64_t *docs);

/* File ranking: out (n chunks from query_fuse) ordered again.  docs (ndocs,
 * from query_fused_docs over out's first chunks) have the document-level
 * scores scores (0: none of the question's terms); a document ranks by
 * 1 / (QUERY_FILE_RRF_K + its best chunk's place) plus f->file_weight /
 * (QUERY_FILE_RRF_K + its rank by score) when its score is above 0, places
 * and ranks from 1, ties to the better place.  The chunks within the first
 * max(f->per_doc, 1) of their document come first, by their document's
 * rank, then their fused order; each of the others (and those of
 * documents not in docs), in fused order, before the first of them that
 * scores more than QUERY_FILE_MARGIN below it, else after them all.
 * doc_rank is set as with per_doc.
 * Returns 0, or -1 when out of memory (out unchanged). */
int query_fuse_files(query_fused *out, size_t n, const int64_t *docs, const double *scores,
		     size_t ndocs, const query_fusion *f);

#endif
