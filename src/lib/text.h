/* Text facts every stage agrees on: UTF-8 validity and the token estimate.
 *
 * The token estimator is deliberately simple, fast and conservative (it
 * over- rather than under-counts, since APIs reject inputs over a limit):
 *   tokens = ceil(ASCII bytes / 4) + (non-ASCII code points)
 * English prose runs ~4 characters per token in OpenAI's tokenizers; CJK
 * runs about one token per character. */
#ifndef DP_TEXT_H
#define DP_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "utf8.h"

/* Returns the offset of the first byte that does not start a valid UTF-8
 * sequence (overlongs, surrogates and > U+10FFFF are invalid), or len if
 * all of s is valid. */
size_t dp_utf8_invalid_at(const char *s, size_t len);

/* Largest n <= len such that s[0..n) ends on a code point boundary of
 * valid UTF-8 s: never splits a sequence. */
size_t dp_utf8_floor(const char *s, size_t len);

/* Checks that s, the value of what ("--path", "the question"), is valid
 * UTF-8.  Returns 0, or -1 with err naming what, the byte offset of the
 * first bad byte, and the bytes before it. */
int dp_utf8_check(const char *what, const char *s, dp_err *err);
/* Copies s (len bytes) into out (size bytes) to be quoted in a message:
 * cut on a character boundary after about 120 bytes, or where out is full
 * ("..." then), each character as dp_shown_char shows it (control
 * characters and bytes that are not valid UTF-8 as \xNN, C1 and invisible
 * format characters as \uNNNN). */
void dp_utf8_shown(const char *s, size_t len, char *out, size_t size);



/* Removes from s (len bytes) in place every dp_invisible_format character
 * (bytes that are not UTF-8 are kept).  Returns the new length. */
size_t dp_utf8_drop_invisible(char *s, size_t len);

size_t dp_tokens_estimate(const char *s, size_t len);

/* What the estimate counts: ASCII bytes and other code points (the bytes
 * that start one).  The counts of adjacent texts add up where their
 * estimates do not: the chunker keeps a growing chunk's. */
typedef struct dp_tokens_counts {
	size_t ascii, other;
} dp_tokens_counts;
dp_tokens_counts dp_tokens_count(const char *s, size_t len);

/* The estimate of a text of counts c. */
static inline size_t dp_tokens_of(dp_tokens_counts c)
{
	return (c.ascii + 3) / 4 + c.other;
}

/* Rewrites in place, in the JSON text s (len bytes), each \uXXXX escape of
 * a lone UTF-16 surrogate (a high one, D800-DBFF, not followed by a low
 * one's escape; a low one, DC00-DFFF, not preceded by a high one's) as
 * \uFFFD: the same six bytes.  Returns how many it rewrote.  jq 1.6's
 * parser refuses a high surrogate without its pair (a server that cut an
 * emoji's pair sends "\ud800"), where most JSON parsers read U+FFFD; a
 * caller whose parse failed parses the rewritten text.  One pass, no
 * allocation; a backslash is only ever read as an escape's start (outside
 * strings, JSON has none), so "\\ud800" is left alone. */
size_t dp_json_lone_surrogates(char *s, size_t len);

/* 1 when the word w (len bytes, not NUL-terminated) is one of the n words
 * (sorted by strcmp, as for bsearch), else 0; a word of 16 bytes or more
 * never is (the stop lists that use this have none). */
int dp_word_in_sorted(const char *w, size_t len, const char *const *words, size_t n);

/* Sixteen bytes at a time, through GCC's vector extension (SSE2 on
 * x86-64, NEON on arm64, plain words elsewhere): the byte scans of the
 * chunker's hot path (the JSON escaper's, the token estimate, the UTF-8
 * check) test a block with a few instructions where a loop tests each
 * byte. */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "dp_v16_first assumes a little-endian machine"
#endif
typedef unsigned char dp_v16 __attribute__((vector_size(16)));
typedef signed char dp_v16s __attribute__((vector_size(16)));
typedef uint64_t dp_v16w __attribute__((vector_size(16)));

/* The 16 bytes of u[i..n) from i (i < n); when fewer remain, those
 * followed by copies of pad, a byte the caller's test ignores. */
static inline dp_v16 dp_v16_load(const unsigned char *u, size_t i, size_t n, unsigned char pad)
{
	dp_v16 v;

	if (n - i >= 16) {
		memcpy(&v, u + i, 16);
	} else {
		unsigned char t[16];
		memset(t, pad, sizeof t);
		memcpy(t, u + i, n - i);
		memcpy(&v, t, sizeof t);
	}
	return v;
}

/* The index (0..15) of the first byte set in m, a comparison's result
 * (each byte all ones or zero), or 16 when none is. */
static inline size_t dp_v16_first(dp_v16s m)
{
	dp_v16w w = (dp_v16w)m;

	if (w[0] != 0)
		return (size_t)__builtin_ctzll(w[0]) / 8;
	if (w[1] != 0)
		return 8 + (size_t)__builtin_ctzll(w[1]) / 8;
	return 16;
}

#endif
