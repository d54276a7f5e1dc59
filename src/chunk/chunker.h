/* Splitting one document's text into chunks that follow its sections.
 *
 * The chunker works on byte ranges of the caller's buffer and never copies
 * text: a chunk is a contiguous range of the original source (Markdown is
 * not rendered), so its text is exactly what the author wrote.  Building
 * records from the result is the caller's business (chunk_record.c).
 *
 * Rules (docs: man/docpipe-chunk.1):
 *  - A Markdown document is parsed with md4c; every top-level heading starts
 *    a section and sets the heading path (outermost first; a heading of
 *    level k replaces level k and forgets every deeper level).  Heading
 *    texts are cleaned (clean_heading in chunker.c).  A title given by the
 *    caller (front matter) heads the paths when the document has no H1.
 *    Plain text is one section without headings whose blocks are
 *    paragraphs (runs of non-blank lines).
 *  - A chunk spans two sections only when merging: a section whose whole
 *    text is below min_tokens, or that is a heading alone, takes in the
 *    next section if that is its sibling or child (a heading alone takes
 *    in any next section); the merged chunk's path is what both share.
 *    Otherwise consecutive blocks of a section are packed into one chunk up
 *    to max_tokens (dp_tokens_estimate).  No chunk is a heading alone
 *    (unless the document ends with one that fits nowhere).
 *  - A block larger than max_tokens (a long paragraph, fenced code, a
 *    table) is split at line boundaries, else at a space, else at a code
 *    point boundary; a cut avoids falling inside a nested fenced block.
 *    The pieces of a top-level fenced block repeat its opening fence
 *    (prefix) and closing fence (suffix), those of a table its header row
 *    and delimiter row (prefix).  Smaller blocks stay whole.
 *  - When a section needs several chunks, each chunk after its first
 *    starts with the whole blocks (paragraphs, lists, ...) that end the
 *    previous one and fit in about `overlap` tokens; none when its last
 *    block alone is larger.  Only a chunk that is a piece of a block larger
 *    than the cap gives an overlap from a word start inside that block; a
 *    start inside a code block, table or HTML block moves to the end of
 *    that block (no overlap if nothing is left).  The overlap is dropped
 *    when it would push a whole block over the cap.
 *  - Chunk boundaries never split a UTF-8 sequence; chunk bodies have
 *    trailing white space and leading blank lines trimmed; empty chunks are
 *    dropped. */
#ifndef DP_CHUNK_CHUNKER_H
#define DP_CHUNK_CHUNKER_H

#include <stddef.h>

#include "err.h"

enum chunk_format { CHUNK_TEXT = 0, CHUNK_MARKDOWN = 1 };

/* Heading levels of Markdown: 1..6. */
#define CHUNK_MAX_DEPTH 6
/* A heading's text is cut (at a code point boundary) beyond this size. */
#define CHUNK_HEADING_MAX 512
/* Smallest allowed cap: small enough for tests, large enough that a split
 * always makes progress after the overlap (see chunk_opts_check). */
#define CHUNK_MIN_TOKENS 8
/* Defaults of docpipe-chunk, chosen with bench/chunk-quality (docs/PERFORMANCE.md). */
#define CHUNK_DEFAULT_MAX 512
#define CHUNK_DEFAULT_OVERLAP 0
#define CHUNK_DEFAULT_MIN 64

typedef struct chunk_opts {
	size_t max_tokens; /* >= CHUNK_MIN_TOKENS */
	size_t overlap;    /* <= max_tokens / 2 */
	size_t min_tokens; /* <= max_tokens; smaller sections merge (see above) */
} chunk_opts;

/* Returns 0, or -1 with err saying which setting is out of range. */
int chunk_opts_check(const chunk_opts *opts, dp_err *err);

/* A heading text: bytes [off, off+len) of chunk_doc.names. */
typedef struct chunk_name {
	size_t off, len;
} chunk_name;

typedef struct chunk_section {
	int depth;                        /* entries used in path */
	chunk_name path[CHUNK_MAX_DEPTH]; /* outermost first */
} chunk_section;

/* One chunk: bytes [off, off+len) of the source text (its body), after
 * the prefix line(s) [pre_off, pre_off+pre_len) and a '\n' when pre_len > 0,
 * followed by a '\n' and the suffix line [suf_off, suf_off+suf_len) when
 * suf_len > 0 (repeated fence or table header: only on pieces of a split
 * code block or table).  chunk_text assembles it. */
typedef struct chunk_span {
	size_t off, len;
	size_t pre_off, pre_len;
	size_t suf_off, suf_len;
	size_t tokens;  /* dp_tokens_estimate of exactly the assembled text */
	size_t section; /* index into chunk_doc.sections */
} chunk_span;

/* A code block, table or HTML block: bytes [start, end) of the source. */
typedef struct chunk_vrange {
	size_t start, end;
} chunk_vrange;

typedef struct chunk_doc {
	chunk_span *chunks;
	size_t n_chunks, cap_chunks;
	chunk_section *sections;
	size_t n_sections, cap_sections;
	char *names; /* heading texts, not NUL-terminated */
	size_t n_names, cap_names;
	unsigned char *blocks; /* the top-level blocks, encoded (put_block in chunker.c) */
	size_t n_blocks, len_blocks, cap_blocks;
	size_t *starts; /* start of the blocks packed since the last chunk's start, ascending */
	size_t n_starts, cap_starts;
	chunk_vrange *verbatim; /* sorted, disjoint */
	size_t n_verbatim, cap_verbatim;
	char *scratch; /* assembled text of a chunk with a prefix or suffix: at
			* most one chunk's text, so bounded by the input */
	size_t cap_scratch;
} chunk_doc;

/* An empty result; chunk_doc_free releases it.  A doc may be reused for
 * several chunk_split calls (its buffers are kept). */
void chunk_doc_init(chunk_doc *doc);
void chunk_doc_free(chunk_doc *doc);

/* Splits text[0..len) (valid UTF-8 without NUL bytes: the caller checks;
 * other input does not crash but may give odd chunks).  title (title_len
 * bytes, may be NULL) heads the heading paths of a Markdown document
 * without an H1.  The result replaces doc's previous content and points
 * into text, which must outlive it.  Returns 0, or -1 with err set (out of
 * memory, too many blocks). */
int chunk_split(chunk_doc *doc, const char *text, size_t len, enum chunk_format format,
		const chunk_opts *opts, const char *title, size_t title_len, dp_err *err);

/* The index of the first of a[0..n) (ascending) at or after `at` (n when
 * none is). */
size_t chunk_first_at(const size_t *a, size_t n, size_t at);

/* The text of chunk c of doc split from text: a pointer into text when the
 * chunk has no prefix or suffix, else into doc's scratch buffer (valid until
 * the next call).  *len gets its length; NULL when out of memory. */
const char *chunk_text(chunk_doc *doc, const chunk_span *c, const char *text, size_t *len);

#endif
