/* Term proximity for the text side's BM25: BM25TP (Büttcher, Clarke and
 * Lushman, SIGIR 2006), at the paper's weight 1.
 *
 * A chunk's occurrences of the question's terms in position order: each
 * two neighbours of different terms in one field (heading path A, summary
 * B, text D: the positions run on from one field to the next, so a pair
 * across fields is no pair) at distance d add idf(other) / d^2 to each
 * term's accumulator acc(t); the chunk's score gains
 *   sum over t of min(1, idf(t)) * acc(t) * (k1 + 1) / (acc(t) + K),
 * K its BM25 length normaliser, times the weight.  Why: a chunk where the
 * question's words stand together ("sort ... vector ... struct ...
 * field") answers it more often than one where they are scattered; on
 * the real-docs questions the text side found 309 of 360 files instead of
 * 299, hybrid 324 instead of 319, losing none (docs/PERFORMANCE.md, issue
 * 11, session 59). */
#ifndef QUERY_PROXIMITY_H
#define QUERY_PROXIMITY_H

#include <stddef.h>

#define QUERY_PROXIMITY_DEFAULT 1.0

/* One occurrence of a question term in a chunk. */
typedef struct query_occ {
	int pos;            /* its position (1-16383, as a tsvector keeps it) */
	char weight;        /* its field: 'A', 'B', 'C' or 'D' */
	int term;           /* the term's index among the chunk's terms */
	const char *lexeme; /* the term's lexeme (borrowed): orders equal positions */
	double idf;         /* the term's idf */
} query_occ;

/* The proximity score (before the weight) of a chunk whose question-term
 * occurrences are occ[0..n) in any order (sorted here, in place, by
 * position, field and lexeme), with BM25 length normaliser k (> 0).
 * acc: the caller's scratch space, one zero per term index occ uses;
 * left all zeros again.  Returns a score >= 0. */
double query_proximity_score(query_occ *occ, size_t n, double *acc, double k);

#endif
