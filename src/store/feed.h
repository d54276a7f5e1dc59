/* Reads records on a thread of its own into a bounded queue, so the writer
 * can take "everything that has arrived" as one batch without ever waiting
 * for more input: under load batches grow (fast), when the input is idle
 * each record is written at once (prompt receipts). */
#ifndef STORE_FEED_H
#define STORE_FEED_H

#include <stddef.h>

#include <jv.h>

#include "doc.h"
#include "err.h"
#include "transport.h"

typedef struct store_feed store_feed;

/* Starts reading src (borrowed; it must outlive the feed) with at most
 * capacity records queued; with text_config (NULL: none) the reader also
 * lexes each document's chunks (store_fulltext_lex) with a lexer of its
 * own.  Returns NULL with err set. */
store_feed *store_feed_start(dp_source *src, size_t capacity, const char *text_config, dp_err *err);

/* Waits until at least one record is queued, then takes queued records,
 * already made into items (store_item_init), into out[] (the caller
 * clears them) without waiting for more: at most max_records, and no more
 * once their chunks would pass max_chunks.  Returns
 * the count, 0 when the input has ended, -1 with err when reading failed. */
long store_feed_take(store_feed *f, store_item *out, size_t max_records, size_t max_chunks, dp_err *err);

/* Tells the feed what the writer's last batch found: documents written
 * (stored) and unchanged ones.  The reader lexes the next
 * documents ahead while written ones are at least as many, else leaves
 * the lexing to the writer, for the documents it writes. */
void store_feed_written(store_feed *f, long written, long unchanged);

/* After the input ended: discover's end record (owned) with "received",
 * the count of other records read, added; jv_invalid() when none came. */
jv store_feed_end(store_feed *f);

/* 1 when no record is waiting now. */
int store_feed_idle(store_feed *f);

/* Waits up to ms milliseconds for a record.  1 when none came (the input
 * paused), 0 as soon as one is queued, the input ends or a stop was
 * requested (the reader ends then, and wakes the wait). */
int store_feed_quiet(store_feed *f, int ms);

/* 1 once the input has ended (records may still be queued). */
int store_feed_ended(store_feed *f);

/* Stops the reader (even one blocked in read), frees queued records. */
void store_feed_stop(store_feed **f);

#endif
