/* Reads records on a thread of its own into a bounded queue, so the writer
 * can take "everything that has arrived" as one batch without ever waiting
 * for more input: under load batches grow (fast), when the input is idle
 * each record is written at once (prompt receipts). */
#ifndef STORE_FEED_H
#define STORE_FEED_H

#include <stddef.h>

#include <jv.h>

#include "crash.h"
#include "doc.h"
#include "err.h"
#include "transport.h"

typedef struct store_feed store_feed;

/* A record's line this long or longer is marked in the crash journal
 * while the reader parses it (crash.h, dp_crash_reading).  Why 1 MiB: the
 * parse takes memory at several times the text's size (jscan.h), so it is
 * the records of megabytes (a book's chunks and vectors) whose parse the
 * OOM killer ends; a mark is a write and a truncation, some microseconds
 * against the milliseconds such a parse takes, while the small records the
 * store takes by the thousand per second pay nothing (one comparison). */
#define STORE_READ_MARK_BYTES (1u << 20)

/* The queue's bytes at most (store_item_held_bytes), one record whatever
 * its size: its records were bounded in number only (512), and with
 * vectors of 3,072 numbers (~1.9 MB a record of 62 chunks) a store whose
 * table was locked for 10 s held 212 MB (session 52).  A batch is taken
 * from what is queued, so it is bounded by it too. */
#define STORE_QUEUE_BYTES (16u << 20)

/* Starts reading src (borrowed; it must outlive the feed) with at most
 * capacity records and STORE_QUEUE_BYTES queued; with text_config (NULL: none) the reader also
 * lexes each document's chunks (store_fulltext_lex) with a lexer of its
 * own.  With crash (borrowed; NULL: none) the reader marks each record of
 * STORE_READ_MARK_BYTES or more while it parses it (and makes its item),
 * turns one whose path the journal lists into a failed item without
 * parsing it (its receipt names the crash), and parses a suspect alone
 * (store_feed_mark).  Returns NULL with err set. */
store_feed *store_feed_start(dp_source *src, size_t capacity, const char *text_config, dp_crash *crash,
			     dp_err *err);

/* The crash journal's two marks in one process (crash.h): the writer's
 * batch (doing.PID) and the reader's record (reading.PID), each side's
 * work from its mark to store_feed_unmark.  Both go on together, except
 * for a suspect (in progress among others at a death), which is processed
 * alone: with alone set, the caller waits until the other side has
 * nothing marked, and the other side's next mark waits until this one
 * ends, so that a death on it names it.  The writer marks each batch
 * (part) it journals, the reader each record it marks. */
enum store_feed_side { STORE_FEED_READER, STORE_FEED_WRITER };
void store_feed_mark(store_feed *f, enum store_feed_side side, int alone);
void store_feed_unmark(store_feed *f, enum store_feed_side side);

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
