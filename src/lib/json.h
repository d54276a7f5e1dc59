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

/* dp_buf_free. */
void dp_json_buf_free(dp_json_buf *b);

#endif
