/* The store's record loop: batches from the feed, one write per batch,
 * one receipt per record. */
#ifndef STORE_RUN_H
#define STORE_RUN_H

#include "crash.h"
#include "store.h"
#include "transport.h"

/* Limits of one batch (one transaction). */
#define STORE_BATCH_DOCS 256
#define STORE_BATCH_CHUNKS 20000
#define STORE_QUEUE_RECORDS 512

typedef struct store_counts {
	unsigned long stored, unchanged, deleted, failed, skipped, passed;
} store_counts;

/* Runs until the input ends; with crash (NULL: none; --crash-dir), the
 * documents of each batch are journaled as they are written, those the
 * journal lists fail unread and its suspects are written alone (crash.h).  Returns DP_EXIT_OK, DP_EXIT_FAILED when a
 * receipt says failed, or with err set (said by the caller, not here):
 * DP_EXIT_SYSTEM when the database, the input or the output failed,
 * DP_EXIT_REFUSED when the database refuses every write, DP_EXIT_USAGE
 * when the full-text configuration moved under the store. */
int store_run(store *s, dp_source *src, dp_sink *sink, dp_crash *crash, store_counts *counts,
	      dp_err *err);

#endif
