/* docpipe's own full-text lexer (issue 11): text -> the lexemes and
 * positions of a PostgreSQL tsvector, computed in the client so the store's
 * server only stores the value and updates its GIN index, and so the query
 * tokenizes a question with the very same code (store and query agree by
 * construction).
 *
 * It mirrors what to_tsvector(config, part) does part by part, and what
 * setweight and || do when the parts are concatenated:
 * - words: maximal runs of letters and digits (Unicode classes and lower
 *   case of the C.UTF-8 locale, as the server's parser with a UTF-8
 *   database); everything else separates words (apostrophes, underscores,
 *   dots, slashes: a URL, an e-mail address or a file path becomes its
 *   words).  HTML/XML tags ("<span class=...>", "</b>") and comments
 *   ("<!-- ... -->") are skipped, taking no position, as PostgreSQL's
 *   parser skips them.  A hyphenated word whose parts each hold a letter
 *   ("state-of-the-art", "ch20-advanced") yields the whole word first,
 *   then each part, as PostgreSQL's hword tokens do; a number right after
 *   a hyphen keeps it as a sign ("utf-8": "utf", "-8");
 * - english: a word without digits is looked up (lower-cased) in
 *   PostgreSQL's english stop list (a stop word still takes a position)
 *   and stemmed by Snowball's english stemmer (libstemmer, the Snowball
 *   version PostgreSQL 15 uses); words of more than 1000 bytes are not
 *   stemmed.  A word with digits is only lower-cased;
 *   simple: every word lower-cased, no stop words, no stemming;
 * - positions count words from 1 within a part; a later part's positions
 *   are shifted by the highest position kept so far; positions are capped
 *   at 16383, a lexeme keeps at most 255 positions per part and 256 in all;
 *   a word of 2047 bytes or more is skipped (no position), as PostgreSQL
 *   skips it; lexemes beyond 1 MB in total are dropped (PostgreSQL refuses
 *   such a text).
 * Known differences from PostgreSQL's default parser: docs/PERFORMANCE.md
 * (issue 11, "docpipe's lexer"). */
#ifndef DP_LEXER_H
#define DP_LEXER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The lexer's name and version, recorded in docpipe.settings (text_lexer)
 * by the store; a change of its output, or of what the store gives it for
 * a chunk (src/store/fulltext.c, lex_chunk), must change the version: a
 * stored corpus is then lexed again.  v2: a document's description in its
 * first chunk; v3: the words of its path there too. */
#define DP_LEXER_NAME "docpipe-v3"

/* PostgreSQL's limits (tsearch/ts_type.h). */
#define DP_LEXER_MAXPOS 16383  /* the highest position */
#define DP_LEXER_MAXLEN 2047   /* bytes of a lexeme (and of a word) */

typedef struct dp_lexer dp_lexer;

/* 1 when config (a PostgreSQL text search configuration name) is one the
 * lexer implements (english, simple), else 0. */
int dp_lexer_handles(const char *config);

/* 1 when a corpus whose tsvectors text_lexer (docpipe.settings) made is
 * searched with this lexer's question terms: DP_LEXER_NAME and the
 * versions before it that differ only in what the store lexes for a chunk
 * (docpipe-v1: no description; docpipe-v2: no path words), not in how
 * words become lexemes. */
int dp_lexer_reads(const char *text_lexer);

/* The text_lexer of a corpus whose tsvectors the server computed. */
#define DP_LEXER_SERVER "postgresql"
/* 1 when this docpipe knows how the corpus's tsvectors were made:
 * dp_lexer_reads, DP_LEXER_SERVER, or "" (a corpus from before
 * text_lexer: the server's).  0: another lexer (a newer docpipe's), whose
 * lexemes the server's parser, the fallback, may not match. */
int dp_lexer_known(const char *text_lexer);

/* A lexer for config (see dp_lexer_handles).  Returns NULL with err when
 * config is not handled, out of memory, or the C.UTF-8 locale is missing. */
dp_lexer *dp_lexer_new(const char *config, dp_err *err);
void dp_lexer_free(dp_lexer *lx);

/* Starts a new tsvector (keeps the memory). */
void dp_lexer_reset(dp_lexer *lx);

/* Starts the next part (one to_tsvector of the concatenation), its
 * positions weighted weight ('A', 'B', 'C' or 'D'). */
void dp_lexer_part(dp_lexer *lx, char weight);

/* Adds text (len bytes, any bytes: invalid UTF-8 separates words) to the
 * current part, as if after a space (pieces of a heading path).  Returns
 * 0, or -1 with err (out of memory). */
int dp_lexer_text(dp_lexer *lx, const char *text, size_t len, dp_err *err);

/* Sorts the lexemes (byte order, as a tsvector holds them) and returns
 * how many there are.  Call after the last dp_lexer_text. */
size_t dp_lexer_finish(dp_lexer *lx);
/* dp_lexer_finish's count again. */
size_t dp_lexer_count(const dp_lexer *lx);

/* Lexeme i (< dp_lexer_finish's count) and its length (not NUL-terminated
 * in general: use len); valid until the next reset, add or free. */
const char *dp_lexer_lexeme(const dp_lexer *lx, size_t i, size_t *len);

/* Lexeme i's positions, ascending, each the 14-bit position with the
 * weight in the top two bits (A 3, B 2, C 1, D 0), as tsvector keeps
 * them; *n of them (1..256). */
const uint16_t *dp_lexer_positions(const dp_lexer *lx, size_t i, size_t *n);

#endif
