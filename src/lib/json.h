/* Fast compact JSON serialization of jv values.
 *
 * jq 1.6's jv_dump_string walks strings one code point at a time through
 * a growing jv string and is the largest cost of a stage that writes big
 * records (measured: ~94 MB/s of output, versus ~240 MB/s for parsing and
 * chunking the Markdown the output came from).  dp_json_append writes the
 * same bytes (jq 1.6's compact format: insertion key order, jq's string
 * escapes, jq's number text) into a plain reusable buffer, copying runs of
 * characters that need no escape in one go. */
#ifndef DP_JSON_H
#define DP_JSON_H

#include <stddef.h>

#include <jv.h>

#include "buf.h"
#include "err.h"

/* The library's bounded buffer (buf.h); a max of 0 means 64 MiB.  Each
 * failure is reported through err at once, so dp_json_append leaves the
 * overflow flag clear: a caller reuses the buffer by setting len = 0. */
typedef dp_buf dp_json_buf;

/* Appends the text of v (borrowed) to b: byte for byte what
 * jv_dump_string(v, 0) gives.  Returns 0, or -1 with err set when the text
 * would exceed b->max or memory runs out (b->len is then unspecified). */
int dp_json_append(dp_json_buf *b, jv v, dp_err *err);

/* The pieces of a record a hot path writes itself (chunk's document
 * records), byte for byte as dp_json_append would write the same value.
 * Each returns 0, or -1 with err set as dp_json_append does. */
/* n bytes of JSON text as they are. */
int dp_json_put(dp_json_buf *b, const char *s, size_t n, dp_err *err);
/* Again the n bytes of b's own text from offset at (a value written
 * before; b may move as it grows). */
int dp_json_put_again(dp_json_buf *b, size_t at, size_t n, dp_err *err);
/* The JSON string of s[0..n): jv_string_sized(s, n) dumped, so a byte that
 * is not valid UTF-8 becomes U+FFFD as jq makes it. */
int dp_json_put_string(dp_json_buf *b, const char *s, size_t n, dp_err *err);
/* A number, as jq prints it. */
int dp_json_put_number(dp_json_buf *b, double d, dp_err *err);

/* dp_buf_free. */
void dp_json_buf_free(dp_json_buf *b);

#endif
