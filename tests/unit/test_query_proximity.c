/* Unit tests for the text side's term proximity (query_proximity_score,
 * src/query/proximity.c: BM25TP, issue 11, session 59). */
#include <math.h>

#include "../../src/query/proximity.h"
#include "t.h"

#define NEAR(a, b) (fabs((a) - (b)) < 1e-12)

static query_occ occ(int pos, char weight, int term, const char *lexeme, double idf)
{
	return (query_occ){.pos = pos, .weight = weight, .term = term, .lexeme = lexeme, .idf = idf};
}

int main(void)
{
	double acc[4] = {0};
	const double k = 1.2;

	/* Two terms side by side: each gains the other's idf / 1. */
	query_occ pair[] = {occ(4, 'D', 1, "vector", 2.0), occ(3, 'D', 0, "sort", 0.5)};
	double want = 0.5 * 2.0 * 2.2 / (2.0 + k) + 1.0 * 0.5 * 2.2 / (0.5 + k);
	T_OK(NEAR(query_proximity_score(pair, 2, acc, k), want),
	     "adjacent terms: min(1, idf) * acc * 2.2 / (acc + K), acc the other's idf");
	T_OK(pair[0].pos == 3, "the occurrences are sorted by position");

	/* The same pair 4 apart: a sixteenth of the accumulators. */
	query_occ far[] = {occ(3, 'D', 0, "sort", 0.5), occ(7, 'D', 1, "vector", 2.0)};
	double want_far = 0.5 * (2.0 / 16) * 2.2 / (2.0 / 16 + k) + 1.0 * (0.5 / 16) * 2.2 / (0.5 / 16 + k);
	double got_far = query_proximity_score(far, 2, acc, k);
	T_OK(NEAR(got_far, want_far), "terms 4 apart: 1/d^2");
	T_OK(got_far < want, "nearer scores more");

	/* Only neighbours pair: sort ... sort ... vector pairs the second sort. */
	query_occ three[] = {occ(1, 'D', 0, "sort", 1.0), occ(2, 'D', 0, "sort", 1.0),
			     occ(3, 'D', 1, "vector", 1.0)};
	double one = 1.0 * 2.2 / (1.0 + k);
	T_OK(NEAR(query_proximity_score(three, 3, acc, k), 2 * one),
	     "a term's repeat is no pair; the repeat next to the other term is");

	/* A pair across fields (heading A, text D) is none. */
	query_occ fields[] = {occ(2, 'A', 0, "sort", 1.0), occ(3, 'D', 1, "vector", 1.0)};
	T_OK(query_proximity_score(fields, 2, acc, k) == 0, "no pair across fields");

	/* Equal positions (compound words' parts) pair with nothing. */
	query_occ same[] = {occ(5, 'D', 0, "a", 1.0), occ(5, 'D', 1, "b", 1.0)};
	T_OK(query_proximity_score(same, 2, acc, k) == 0, "equal positions: no distance, no pair");

	query_occ single[] = {occ(5, 'D', 0, "a", 3.0)};
	T_OK(query_proximity_score(single, 1, acc, k) == 0, "one occurrence: nothing");
	T_OK(query_proximity_score(single, 0, acc, k) == 0, "none: nothing");

	/* acc is left zeros: a second call does not see the first's sums. */
	query_occ again[] = {occ(3, 'D', 0, "sort", 0.5), occ(4, 'D', 1, "vector", 2.0)};
	T_OK(NEAR(query_proximity_score(again, 2, acc, k), want), "the same chunk scores the same again");
	return t_done();
}
