/* docpipe-summarize's loop for API backends: one request scheduler for
 * every document held.
 *
 * The request is the unit of concurrency.  The caller's thread reads
 * records and holds at most SUMMARIZE_HELD_DOCS_MAX documents and
 * SUMMARIZE_HELD_BYTES_MAX bytes of chunk text (a single bigger document is
 * held alone); while full it stops reading (back-pressure on the input).
 * Each held document is a small state machine of rounds:
 *   - its summary: the sections of its text (one request when it fits
 *     --context-tokens), then the summaries of those sections, and so on
 *     until one request gives the summary (map in parallel, reduce when
 *     the inputs are ready);
 *   - with --chunk-summaries, one request per chunk, all at once.
 * A round's prompts are claimed in the in-flight registry (dp_flights:
 * a prompt another request holds waits for its answer, in no queue and
 * holding no place), the ones it owns looked up in the result cache (one
 * round trip); the rest become requests.  `workers` threads take them, each
 * only once dp_http has a place in flight for it (late binding: dp_http
 * keeps the limiter's level in flight, --threads N or auto): a big
 * document (more requests left than places) first, up to three quarters
 * of the places, then the earliest admitted, unless it already has half
 * the places (sched.c's pick: a big document ends before the small ones,
 * not alone at a run's end; documents finish in about the order they
 * came, and a document of 2,000 chunks neither starves the others nor is
 * starved by them).  A document is written when its last round is
 * done (output order may differ from input order); a failed request fails
 * its document alone (its other requests are dropped), and after a refusal
 * every document fails without a request.  Records of other kinds pass
 * through at once. */
#ifndef SUMMARIZE_SCHED_H
#define SUMMARIZE_SCHED_H

#include "stage.h"
#include "summarize.h"
#include "transport.h"

#define SUMMARIZE_HELD_DOCS_MAX 256
#define SUMMARIZE_HELD_BYTES_MAX (16u << 20)

/* Returns DP_EXIT_OK, DP_EXIT_FAILED when a record failed here, or
 * DP_EXIT_SYSTEM with err set when input or output failed. */
int summarize_run_scheduled(summarize_ctx *c, dp_source *src, dp_sink *sink, int workers,
			    dp_stage_counts *counts, dp_err *err);

#endif
