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

int main(void)
{
	test_zscore_hand_built();
	test_zscore_rare_term();
	test_zscore_one_side();
	test_per_document();
	return t_done();
}
