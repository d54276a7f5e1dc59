/* Output of docpipe-query: the fused hits with what a caller needs to cite
 * them (path, heading path, byte/line/page range, each side's score and
 * rank, a highlighted snippet). */
#ifndef QUERY_RESULT_H
#define QUERY_RESULT_H

#include <stddef.h>
#include <stdio.h>

#include <jv.h>
#include <libpq-fe.h>

#include "err.h"
#include "fuse.h"

enum query_mode { QUERY_HYBRID, QUERY_VECTOR, QUERY_TEXT };

/* Marks around the question's terms in snippets. */
#define QUERY_MARK_START "**"
#define QUERY_MARK_STOP "**"

/* The result objects for hits (n, best first) as a jv array:
 * {rank, score, path, seq, heading, byte_start, byte_end, line_start,
 *  line_end, page_start, page_end, vector_rank, vector_score, text_rank,
 *  text_score, snippet, content, summary, chunk_summary}; score is the
 * mode's own score (fused for hybrid, cosine for vector, text rank for
 * text); unknown values are null.  cfg: the text search configuration
 * for the snippet's highlights ("" : none), terms: the question's terms
 * (query_text_terms' text[] literal; NULL: no highlights).  A chunk deleted since it was
 * ranked is left out.  Invalid jv with err on a database error. */
jv query_results(PGconn *db, const query_fused *hits, size_t n, enum query_mode mode,
		 const char *cfg, const char *terms, dp_err *err);

/* Prints results (consumed) as text: rank, score, path[:lines], heading
 * path, snippet. */
void query_print_text(FILE *out, jv results);

/* At most max bytes of s on one line (whitespace runs become one space),
 * cut on a UTF-8 boundary, "..." appended when cut; from a third of max
 * before the first QUERY_MARK_START ("..." before) when that lies past two
 * thirds of max.  Owned jv string. */
jv query_snippet(const char *s, size_t max);

#endif
