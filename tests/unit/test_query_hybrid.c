/* Unit tests for docpipe-query's hybrid parts: rank fusion, path globs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/query/filter.h"
#include "../../src/query/fuse.h"
#include "t.h"

static query_hit hit(int64_t doc, double score)
{
	return (query_hit){.doc_id = doc, .seq = 0, .score = score};
}

/* Vector ranks A B C D, text ranks D E A.  With k = 1 and text weight 1:
 * A 1/2 + 1/4 = .75, D 1/5 + 1/2 = .7, B 1/3 and E 1/3 (a tie, and
 * both best single ranks are 2: document id order), C 1/4. */
static void test_fuse_hand_built(void)
{
	enum { A = 1, B, C, D, E };
	query_hit v[] = {hit(A, .9), hit(B, .8), hit(C, .7), hit(D, .6)};
	query_hit t[] = {hit(D, 7), hit(E, 5), hit(A, 1)};
	query_fused out[7];

	query_fusion rrf = {.rule = QUERY_FUSE_RRF, .rrf_k = 1, .text_weight = 1};
	size_t n = query_fuse(v, 4, t, 3, 50, &rrf, out);
	T_EQ_INT(n, 5, "five distinct chunks");
	int64_t want[] = {A, D, B, E, C};
	int order = 1;
	for (size_t i = 0; i < 5; i++)
		order &= out[i].doc_id == want[i];
	T_OK(order, "fused order A D B E C");
	T_OK(fabs(out[0].score - 0.75) < 1e-12, "A's fused score 1/2 + 1/4");
	T_OK(out[0].vrank == 1 && out[0].trank == 3 && out[0].tscore == 1, "A keeps both ranks and scores");
	T_OK(out[3].vrank == 0 && isnan(out[3].vscore) && out[3].trank == 2, "E: text only");
	/* A heavier text ranking lets D (text 1st, vector 4th) overtake A. */
	rrf.text_weight = 3;
	n = query_fuse(v, 4, t, 3, 50, &rrf, out);
	T_OK(n == 5 && out[0].doc_id == D, "text weight 3: D first (1/5 + 3/2 > 1/2 + 3/4)");
	/* One side alone keeps its order. */
	rrf = (query_fusion){.rule = QUERY_FUSE_RRF, .rrf_k = 60, .text_weight = 2};
	n = query_fuse(NULL, 0, t, 3, 50, &rrf, out);
	T_OK(n == 3 && out[0].doc_id == D && out[1].doc_id == E && out[2].doc_id == A, "text alone: its order");
	n = query_fuse(v, 4, NULL, 0, 50, &rrf, out);
	T_OK(n == 4 && out[0].doc_id == A && out[3].doc_id == D, "vector alone: its order");
}

static void test_glob(void)
{
	struct { const char *glob, *re; } cases[] = {
		{"*/guide/*.md", "^.*/guide/.*\\.md$"},
		{"/docs/a?.md", "^/docs/a.\\.md$"},
		{"/x/[!ab]*", "^/x/[^ab].*$"},
		{"/x/[a-c].txt", "^/x/[a-c]\\.txt$"},
		{"/odd(1)+$^{|}", "^/odd\\(1\\)\\+\\$\\^\\{\\|\\}$"},
		{"/open[bracket", "^/open\\[bracket$"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		jv re = query_glob_regex(cases[i].glob);
		T_EQ_STR(jv_string_value(re), cases[i].re, cases[i].glob);
		jv_free(re);
	}
}

static void test_ids(void)
{
	int64_t v[] = {2, 5, 9};
	query_ids ids = {.ids = v, .n = 3};

	T_OK(query_ids_has(&ids, 5) && query_ids_has(&ids, 2) && query_ids_has(&ids, 9), "ids found");
	T_OK(!query_ids_has(&ids, 1) && !query_ids_has(&ids, 6) && !query_ids_has(&ids, 10), "others not");
	char *s = query_int_array(v, 3);
	T_EQ_STR(s, "{2,5,9}", "array literal");
	free(s);
	s = query_int_array(v, 0);
	T_EQ_STR(s, "{}", "empty array literal");
	free(s);
}

int main(void)
{
	test_fuse_hand_built();
	test_glob();
	test_ids();
	return t_done();
}
