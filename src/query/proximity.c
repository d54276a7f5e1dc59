#include "proximity.h"

#include <stdlib.h>
#include <string.h>

/* Position, then field, then lexeme: the order the measurement used
 * (bench/search/proximity.py), so that equal positions pair alike. */
static int occ_order(const void *a, const void *b)
{
	const query_occ *x = a, *y = b;

	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	if (x->weight != y->weight)
		return x->weight < y->weight ? -1 : 1;
	return strcmp(x->lexeme, y->lexeme);
}

double query_proximity_score(query_occ *occ, size_t n, double *acc, double k)
{
	double score = 0;

	if (n < 2)
		return 0;
	qsort(occ, n, sizeof *occ, occ_order);
	for (size_t i = 1; i < n; i++) {
		const query_occ *a = &occ[i - 1], *b = &occ[i];
		if (a->term == b->term || a->weight != b->weight || b->pos <= a->pos)
			continue;
		double d = b->pos - a->pos;
		acc[a->term] += b->idf / (d * d);
		acc[b->term] += a->idf / (d * d);
	}
	/* Each term's idf, from any of its occurrences; its sum back to 0. */
	for (size_t i = 0; i < n; i++) {
		double *a = &acc[occ[i].term];
		if (*a > 0) {
			double idf = occ[i].idf < 1 ? occ[i].idf : 1;
			score += idf * *a * 2.2 / (*a + k);
			*a = 0;
		}
	}
	return score;
}
