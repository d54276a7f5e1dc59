/* Unit tests for when docpipe-query gives pseudo-relevance feedback
 * (query_prf_applies, src/query/run.c): only when the text side's first
 * hit leads its second by --prf-lead (issue 11, session 35). */
#include "../../src/query/run.h"
#include "t.h"

static query_hit hit(double score)
{
	return (query_hit){.doc_id = 1, .seq = 0, .score = score};
}

int main(void)
{
	query_hit lead[] = {hit(12.5), hit(10), hit(3)}, close[] = {hit(12.4), hit(10), hit(3)};
	query_hit one[] = {hit(0.2)}, zero[] = {hit(4), hit(0)};

	T_OK(query_prf_applies(lead, 3, QUERY_PRF_LEAD_DEFAULT),
	     "a first hit at 1.25 times the second: feedback");
	T_OK(!query_prf_applies(close, 3, QUERY_PRF_LEAD_DEFAULT),
	     "a first hit at 1.24 times the second: no feedback");
	T_OK(query_prf_applies(close, 3, 1), "--prf-lead 1: feedback whatever the lead");
	T_OK(query_prf_applies(close, 3, 0), "--prf-lead 0: feedback whatever the lead");
	T_OK(query_prf_applies(one, 1, QUERY_PRF_LEAD_DEFAULT), "a single text hit leads");
	T_OK(query_prf_applies(zero, 2, QUERY_PRF_LEAD_DEFAULT), "a second hit that scores 0: the first leads");
	T_OK(!query_prf_applies(lead, 0, 1), "no text hit: nothing to feed back");
	T_OK(!query_prf_applies(lead, 0, QUERY_PRF_LEAD_DEFAULT), "no text hit, default lead: none either");
	return t_done();
}
