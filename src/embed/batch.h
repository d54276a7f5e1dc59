/* docpipe-embed's loop for API backends: chunks of several documents share
 * requests.
 *
 * The caller's thread reads records and holds at most EMBED_HELD_DOCS_MAX
 * documents / EMBED_HELD_BYTES_MAX bytes (embed_doc_held_bytes: texts and
 * the vectors to come; it stops reading while full: back-pressure on the
 * input, and a document over the limit alone is still taken).  `threads`
 * workers claim the chunks' keys in the in-flight registry (dp_flights: a text another chunk
 * holds waits for its vector, sent in no request), look up the cache for
 * the ones owned of all documents waiting (one round trip), then pack the missing
 * chunks of as many documents as fit into one request (at most
 * --batch-inputs inputs and DP_EMBED_REQUEST_TOKENS_MAX tokens), so that up
 * to `threads` requests are in flight.  A partial request is sent once the
 * input ends, the reader has waited EMBED_IDLE_MS for input, the hold is
 * full, or its oldest chunk has waited EMBED_LINGER_MS.
 *
 * A document is written as soon as all its chunks have vectors (so output
 * order may differ from input order, as with dp_stage_run's threads).  A
 * request that fails (rejected for its content, or given up on after its
 * retries) is split in halves until the culprit is alone: only its
 * document becomes an error record, with the reason.  After a refusal
 * every document fails without a request.  When the input stops (it
 * ended, or idles), the pending chunks are shared out among the requests
 * allowed in flight, so a single huge document fills parallel requests.
 * Records of other kinds pass through at once. */
#ifndef EMBED_BATCH_H
#define EMBED_BATCH_H

#include "embed.h"
#include "stage.h"
#include "transport.h"

#define EMBED_HELD_DOCS_MAX 4096
/* Under the 64 MB a stage may take with wide vectors (1,536 and 3,072
 * dimensions) behind a slow reader, and room for ~20 requests of 64 inputs
 * at 3,072 (docs/PERFORMANCE.md, session 52). */
#define EMBED_HELD_BYTES_MAX (24u << 20)
#define EMBED_LINGER_MS 30
#define EMBED_IDLE_MS 2

/* Returns DP_EXIT_OK, DP_EXIT_FAILED when a record failed here, or
 * DP_EXIT_SYSTEM with err set when input or output failed.  Counts go to
 * counts as in dp_stage_run. */
int embed_run_batched(embed_ctx *c, dp_source *src, dp_sink *sink, int threads,
		      dp_stage_counts *counts, dp_err *err);

#endif
