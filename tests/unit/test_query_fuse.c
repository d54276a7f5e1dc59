/* Unit tests for docpipe-query's default fusion (standard scores over both
 * candidate lists) and the per-document limit (src/query/fuse.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/query/fuse.h"
#include "t.h"

enum { A = 1, B, C, D, E };

static query_hit hit(int64_t doc, int32_t seq, double score)
{
	return (query_hit){.doc_id = doc, .seq = seq, .score = score};
}

/* 1 when out[0..n) holds the documents of want (0-terminated) in order. */
static int order_is(const query_fused *out, size_t n, const int64_t *want)
{
	size_t i = 0;

	for (; want[i] != 0; i++)
		if (i >= n || out[i].doc_id != want[i])
			return 0;
	return i == n;
}

/* Vector ranks A .9, B .8, C .7, D .6; text ranks D 7, E 5, A 1.  Over the
 * five chunks, vector scores (E, unranked, takes the lowest: .6) have mean
 * .72 and standard deviation .1166; with a pool of 4 the text list (3
 * hits) is complete, so B and C score 0 there: mean 2.6, sd 2.8705.
 * Weight 1: A 1.5435 - .5574 = .986, D -1.029 + 1.5328 = .504,
 * E -1.029 + .8361 = -.193, B .686 - .9058 = -.220, C -1.077. */
static void test_zscore_hand_built(void)
{
	query_hit v[] = {hit(A, 0, .9), hit(B, 0, .8), hit(C, 0, .7), hit(D, 0, .6)};
	query_hit t[] = {hit(D, 0, 7), hit(E, 0, 5), hit(A, 0, 1)};
	query_fusion f = {.rule = QUERY_FUSE_ZSCORE, .text_weight = 1};
	query_fused out[7];

	size_t n = query_fuse(v, 4, t, 3, 4, &f, out);
	T_EQ_INT(n, 5, "five distinct chunks");
	T_OK(order_is(out, n, (int64_t[]){A, D, E, B, C, 0}), "weight 1: A D E B C");
	T_OK(fabs(out[0].score - 0.9861) < 1e-4, "A: vector z 1.5435 + text z -0.5574");
	T_OK(out[0].vrank == 1 && out[0].trank == 3 && out[0].tscore == 1 && out[0].vscore == .9,
	     "A keeps both ranks and scores");
	T_OK(out[2].doc_id == E && out[2].vrank == 0 && isnan(out[2].vscore), "E: text only");
	/* Text weight 2: D (text's best) first, E over A. */
	f.text_weight = 2;
	n = query_fuse(v, 4, t, 3, 4, &f, out);
	T_OK(order_is(out, n, (int64_t[]){D, E, A, B, C, 0}), "weight 2: D E A B C");
	/* Pool 3: the text list is full, so B and C take its lowest score (1),
	 * not 0, and no longer fall below E. */
	f.text_weight = 1;
	n = query_fuse(v, 4, t, 3, 3, &f, out);
	T_OK(order_is(out, n, (int64_t[]){A, D, B, E, C, 0}), "pool 3 (text list cut): A D B E C");
}

/* A rare term: text's only hit is one the vector side ranks low, the
 * vector side is sure of another chunk.  The complete text list (1 hit of
 * a pool of 4: the others match no term) puts it first; were the list cut
 * at the pool (pool 1), the others would take its score and text would
 * say nothing. */
static void test_zscore_rare_term(void)
{
	query_hit v[] = {hit(A, 0, 1), hit(B, 0, .1), hit(C, 0, 0), hit(D, 0, 0)};
	query_hit t[] = {hit(C, 0, 3.5)};
	query_fusion f = {.rule = QUERY_FUSE_ZSCORE, .text_weight = 2};
	query_fused out[5];

	size_t n = query_fuse(v, 4, t, 1, 4, &f, out);
	T_OK(n == 4 && out[0].doc_id == C, "z-score: the single text hit first");
	T_OK(fabs(out[0].score - 2.8102) < 1e-4, "its fused score");
	n = query_fuse(v, 4, t, 1, 1, &f, out);
	T_OK(n == 4 && out[0].doc_id == A, "a cut text list of equal scores: vector's order");
}

static void test_zscore_one_side(void)
{
	query_hit t[] = {hit(D, 0, 7), hit(E, 0, 5), hit(A, 0, 1)};
	query_hit same[] = {hit(B, 0, .5), hit(C, 0, .5)};
	query_fusion f = {.rule = QUERY_FUSE_ZSCORE, .text_weight = 2};
	query_fused out[5];

	size_t n = query_fuse(NULL, 0, t, 3, 50, &f, out);
	T_OK(order_is(out, n, (int64_t[]){D, E, A, 0}), "text alone: its order");
	T_OK(out[0].score > out[1].score && out[1].score > out[2].score, "text alone: scores fall");
	n = query_fuse(same, 2, NULL, 0, 50, &f, out);
	T_OK(n == 2 && out[0].score == 0 && out[1].score == 0 && !isnan(out[0].score),
	     "equal scores: z 0, not NaN");
}

/* Document A's three chunks first by score; with a limit of 2 its third
 * goes after B's, and doc_rank says which of its document's it is. */
static void test_per_document(void)
{
	query_hit v[] = {hit(A, 0, .9), hit(A, 1, .8), hit(A, 2, .7), hit(B, 0, .6), hit(C, 0, .5)};
	query_fusion f = {.rule = QUERY_FUSE_ZSCORE, .text_weight = 2, .per_doc = 2};
	query_fused out[5];

	size_t n = query_fuse(v, 5, NULL, 0, 5, &f, out);
	T_OK(order_is(out, n, (int64_t[]){A, A, B, C, A, 0}), "limit 2: A A B C A");
	T_OK(out[4].seq == 2 && out[4].doc_rank == 3 && out[1].doc_rank == 2 && out[2].doc_rank == 1,
	     "the third chunk of A last, doc_rank 3");
	f.per_doc = 0;
	n = query_fuse(v, 5, NULL, 0, 5, &f, out);
	T_OK(order_is(out, n, (int64_t[]){A, A, A, B, C, 0}), "no limit: score order");
	f.per_doc = 1;
	n = query_fuse(v, 5, NULL, 0, 5, &f, out);
	T_OK(order_is(out, n, (int64_t[]){A, B, C, A, A, 0}) && out[3].seq == 1 && out[4].seq == 2,
	     "limit 1: A B C, then A's others in order");
}

/* File ranking.  Fused order A0 .9, A1 .8, B0 .7, C0 .6, A2 .5 (vector
 * only): places A 1, B 3, C 4.  Document scores A 0, B 1, C 2: by score C
 * 1st, B 2nd, A unranked.  Weight 1 (constant 10): A 1/11 = .0909, B 1/13
 * + 1/12 = .1603, C 1/14 + 1/11 = .1623: C B A.  Weight .1: A .0909, B
 * .0853, C .0805: A B C, as --per-document 1. */
static void test_file_rank(void)
{
	query_hit v[] = {hit(A, 0, .9), hit(A, 1, .8), hit(B, 0, .7), hit(C, 0, .6), hit(A, 2, .5)};
	query_fusion f = {.rule = QUERY_FUSE_ZSCORE, .text_weight = 2, .file_weight = 1};
	query_fused out[5];
	int64_t docs[5];
	double scores[] = {0, 1, 2};

	size_t n = query_fuse(v, 5, NULL, 0, 5, &f, out);
	T_EQ_INT(query_fused_docs(out, n, docs), 3, "three documents");
	T_OK(docs[0] == A && docs[1] == B && docs[2] == C, "in the order of their best chunk");
	T_EQ_INT(query_fuse_files(out, n, docs, scores, 3, &f), 0, "ranked");
	T_OK(order_is(out, n, (int64_t[]){C, B, A, A, A, 0}) && out[3].seq == 1 && out[4].seq == 2,
	     "weight 1: C B A by document, then A's others in fused order");
	T_OK(out[0].file_rank == 1 && out[1].file_rank == 2 && out[2].file_rank == 3 &&
	     out[4].doc_rank == 3, "file_rank and doc_rank set");
	f.file_weight = .1;
	T_EQ_INT(query_fuse_files(out, n, docs, scores, 3, &f), 0, "ranked");
	T_OK(order_is(out, n, (int64_t[]){A, B, C, A, A, 0}) && out[0].seq == 0,
	     "weight .1: the best chunks' order wins (as --per-document 1)");
	f.file_weight = 1;
	f.per_doc = 2;
	T_EQ_INT(query_fuse_files(out, n, docs, scores, 3, &f), 0, "ranked");
	T_OK(order_is(out, n, (int64_t[]){C, B, A, A, A, 0}) && out[2].seq == 0 && out[3].seq == 1 &&
	     out[4].seq == 2, "per_doc 2: A's first two chunks within the limit");
	/* C not among the documents scored: after the ranked ones. */
	f.per_doc = 0;
	T_EQ_INT(query_fuse_files(out, n, docs, scores, 2, &f), 0, "ranked");
	T_OK(order_is(out, n, (int64_t[]){B, A, C, A, A, 0}) && out[2].file_rank == 0,
	     "an unscored document after the scored ones");
}

/* File ranking's margin: A's two chunks score 1, eighteen other documents'
 * one chunk 0 each (vector only: standard scores A 3, the others -1/3).
 * The last document (place 20) alone has a document score: 1/30 + 1/11
 * puts it above A (1/11).  A's second chunk, 3.33 above the others, comes
 * right after A's first, not before it, and before the third document. */
static void test_file_margin(void)
{
	query_hit v[20];
	query_fusion f = {.rule = QUERY_FUSE_ZSCORE, .text_weight = 2, .file_weight = 1};
	query_fused out[20];
	int64_t docs[20];
	double scores[19] = {0};

	v[0] = hit(1, 0, 1);
	v[1] = hit(1, 1, 1);
	for (int i = 2; i < 20; i++)
		v[i] = hit(i, 0, 0);
	size_t n = query_fuse(v, 20, NULL, 0, 20, &f, out);
	T_EQ_INT(query_fused_docs(out, n, docs), 19, "nineteen documents");
	scores[18] = 5;
	T_EQ_INT(query_fuse_files(out, n, docs, scores, 19, &f), 0, "ranked");
	T_OK(out[0].doc_id == 19 && out[1].doc_id == 1 && out[1].seq == 0 && out[2].doc_id == 1 &&
	     out[2].seq == 1 && out[3].doc_id == 2, "19, A's best, A's second (margin), then 2");
	/* Chunks that score alike: A's second after every document's first. */
	v[1] = hit(1, 1, 0);
	n = query_fuse(v, 20, NULL, 0, 20, &f, out);
	T_EQ_INT(query_fuse_files(out, n, docs, scores, 19, &f), 0, "ranked");
	T_OK(out[0].doc_id == 19 && out[1].doc_id == 1 && out[19].doc_id == 1 && out[19].seq == 1,
	     "no margin: A's second last");
}

int main(void)
{
	test_zscore_hand_built();
	test_zscore_rare_term();
	test_zscore_one_side();
	test_per_document();
	test_file_rank();
	test_file_margin();
	return t_done();
}
