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

/* Marks around the question's terms in snippets (QUERY_MARK), and the
 * bytes ts_headline puts around them (QUERY_HL_START, QUERY_HL_STOP),
 * which the details query first removes from the chunk's text: in the
 * headline they are marks and nothing else, where "**" may be the
 * document's own bold. */
#define QUERY_MARK "**"
#define QUERY_HL_START "\x02"
#define QUERY_HL_STOP "\x03"

/* The result objects for hits (n, best first) as a jv array:
 * {rank, score, path, seq, heading, byte_start, byte_end, line_start,
 *  line_end, page_start, page_end, vector_rank, vector_score, text_rank,
 *  text_score, snippet, highlights, content, summary, chunk_summary}; score is the
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

/* The snippet of headline s (QUERY_HL_START and QUERY_HL_STOP around the
 * question's terms): at most max bytes on one line (whitespace runs become
 * one space), cut on a UTF-8 boundary, "..." appended when cut; from a
 * third of max before the first term ("..." before) when that lies past
 * two thirds of max.  Each term between QUERY_MARK, a mark never cut nor
 * left open (a term cut is closed; one with no room for a character is
 * left out).  *highlights (owned) is set to the terms' places: an array
 * of [start, end] byte offsets into the snippet's UTF-8, the term without
 * its marks, which tell a highlight from the document's own "**".  s must
 * be valid UTF-8.  Owned jv string. */
jv query_snippet(const char *s, size_t max, jv *highlights);

#endif
