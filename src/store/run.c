#include "run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"
#include "db.h"
#include "err.h"
#include "feed.h"
#include "fulltext.h"
#include "outcome.h"
#include "record.h"
#include "stats.h"
#include "transport.h"

static void count(store_counts *c, const store_item *item)
{
	const char *st = item->status;

	if (item->kind == STORE_ITEM_PASS)
		c->passed++;
	else if (st != NULL && strcmp(st, "stored") == 0)
		c->stored++;
	else if (st != NULL && strcmp(st, "unchanged") == 0)
		c->unchanged++;
	else if (st != NULL && strcmp(st, "deleted") == 0)
		c->deleted++;
	else if (st != NULL && strcmp(st, "skipped") == 0)
		c->skipped++;
	else
		c->failed++;
}

/* How long the input of a bulk load may pause before the index is built. */
#define BULK_IDLE_MS 2000

/* Runs settle (the vector index's build or the full-text pending list's
 * merge) again when it failed on a lost connection that store_reconnect
 * made again: an outage is waited out there as in the writes. */
static int settle(store *s, int (*settle_step)(store *, dp_err *), dp_err *err)
{
	int rc, lost = 0;

	if (store_unpark(s, err) < 0)
		return -1;
	while ((rc = settle_step(s, err)) < 0 && store_reconnect(s, &lost, err))
		;
	return rc;
}

/* The batch's outcome rows, in a transaction of their own (store.h). */
static int record_outcomes(store *s, store_item *items, size_t n, dp_err *err)
{
	if (store_untimed_begin(s, err) < 0)
		return -1;
	return store_untimed_end(s, store_outcome_record(s->db, items, n, err), err);
}

/* The index plan, the batch's writes and its outcome rows; the plan and the
 * outcome rows are tried again after a lost connection, like the writes.
 * journaled: the batch is marked in progress in crash, done once its
 * writes committed.  Returns store_write's result, -1 when the plan or
 * the outcome rows failed, STORE_WRITE_REFUSED when the database refuses
 * the outcome rows. */
static int write_batch(store *s, store_item *items, size_t n, dp_crash *crash, int journaled, dp_err *err)
{
	int rc, lost = 0;

	if (store_unpark(s, err) < 0)
		return -1;
	while ((rc = store_index_plan(s, items, n, err)) < 0 && store_reconnect(s, &lost, err))
		;
	if (rc < 0 || (rc = store_write(s, items, n, err)) < 0)
		return rc;
	/* Committed: a death from here on is no document's (the window
	 * before this mark remains: a crash in it is put down to the batch). */
	if (journaled)
		dp_crash_done(crash);
	if (s->text_moved[0] != '\0') {
		dp_err_set(err, "%s", s->text_moved);
		return STORE_WRITE_CONFIG;
	}
	lost = 0;
	while ((rc = record_outcomes(s, items, n, err)) < 0 && store_reconnect(s, &lost, err))
		;
	if (rc < 0) {
		/* A database that refuses the outcome rows (read-only, disk
		 * full, privilege) refuses every write: stop as the write
		 * ladder does, not as for a lost connection.  A limit of its
		 * settings (temp_file_limit: the statement spills) is named,
		 * a configuration error. */
		char state[6], why[DP_ERR_MAX];
		snprintf(state, sizeof state, "%s", dp_db_last_sqlstate());
		if (dp_db_environmental(state)) {
			snprintf(why, sizeof why, "%s", err->msg);
			dp_err_set(err, "recording the outcomes failed (SQLSTATE %s): %s", state, why);
			if (dp_db_limit_refused(state, err))
				return STORE_WRITE_CONFIG;
			snprintf(why, sizeof why, "%s", err->msg);
			dp_err_set(err, "%s; the database refuses every write, stopping", why);
			return STORE_WRITE_REFUSED;
		}
	}
	return rc;
}

/* After a batch, outside any transaction: starts a merge of the full-text
 * index's pending list beside the writes (when due), hands the receipts on
 * when nothing more is waiting; when the input pauses, starts that merge
 * whatever the list holds, and when it pauses longer (a long-running
 * store) builds a vector index a bulk load dropped and merges the pending
 * list here if no second connection could.  0, or -1 with err. */
static int between_batches(store *s, store_feed *feed, dp_sink *sink, dp_err *err)
{
	int rc = 0;

	/* A database that hangs holds these up as it does a batch (the
	 * merge's connection is opened here): the hub must see the wait. */
	dp_stats_wait_begin("database");
	store_fulltext_tend(s, STORE_GIN_TEND_CHUNKS);
	dp_stats_wait_end();
	if (store_feed_idle(feed) && dp_sink_flush(sink, err) < 0)
		return -1;
	dp_stats_wait_begin("database");
	if (s->tsv_pending > 0 && store_feed_quiet(feed, s->tsv_pending >= STORE_GIN_LEAVE_CHUNKS
								 ? STORE_GIN_IDLE_MS : STORE_GIN_PAUSE_MS))
		store_fulltext_tend(s, 1);
	if ((s->bulk && store_feed_quiet(feed, BULK_IDLE_MS) && settle(s, store_index_settle, err) < 0) ||
	    (s->tsv_pending > 0 && store_feed_quiet(feed, BULK_IDLE_MS) &&
	     settle(s, store_fulltext_settle, err) < 0))
		rc = -1;
	dp_stats_wait_end();
	if (rc == 0 && store_feed_quiet(feed, STORE_PARK_IDLE_MS))
		store_park(s);
	return rc;
}

/* The crash journal's side of a batch (crash.h): its documents that a
 * crash of a store replica was put down to fail unread, and the length
 * of the part of items[0..n) to write next: a suspect alone (in
 * progress among others at a crash death: alone, a death on it names
 * it; *alone set), else the documents up to the next suspect.  Input
 * order is kept: two versions of a path are written in the order they
 * came.  Without a journal, or with nothing listed, the whole batch. */
static size_t next_part(dp_crash *crash, store_item *items, size_t n, int *alone)
{
	char why[DP_ERR_MAX];
	size_t part = 0;

	*alone = 0;
	if (crash == NULL || !dp_crash_any(crash))
		return n;
	for (; part < n; part++) {
		store_item *it = &items[part];
		const char *path = it->kind == STORE_ITEM_DOCUMENT || it->kind == STORE_ITEM_DELETE
					   ? dp_record_str(it->rec, "path") : NULL;
		if (path != NULL && dp_crash_listed(crash, path, why, sizeof why))
			store_item_refuse(it, why);
		else if (path != NULL && dp_crash_suspected(crash, path))
			return part > 0 ? part : (*alone = 1);
	}
	return n;
}

/* Marks the documents and deletes of items[0..n) (n <= STORE_BATCH_DOCS,
 * a batch or part of one) in progress in the crash journal: one write per
 * batch, after the feed lets the writer mark (store_feed_mark: alone, a
 * suspect, with no record being read beside it).  1 when it marked any
 * (dp_crash_done follows their write, store_feed_unmark the batch's
 * end), else 0. */
static int journal_doing(dp_crash *crash, store_feed *feed, const store_item *items, size_t n, int alone)
{
	const char *paths[STORE_BATCH_DOCS];
	size_t m = 0;

	if (crash == NULL)
		return 0;
	for (size_t i = 0; i < n && m < STORE_BATCH_DOCS; i++)
		if (items[i].kind == STORE_ITEM_DOCUMENT || items[i].kind == STORE_ITEM_DELETE)
			paths[m++] = dp_record_str(items[i].rec, "path");
	if (m == 0)
		return 0;
	store_feed_mark(feed, STORE_FEED_WRITER, alone);
	dp_crash_doing_all(crash, paths, m);
	return 1;
}

/* Writes items[0..n) as one batch (alone: a suspect, next_part), counts
 * them and puts their receipts.  Returns DP_EXIT_OK or the exit status
 * the failure means (err set). */
static int write_part(store *s, dp_crash *crash, store_feed *feed, store_item *items, size_t n, int alone,
		      dp_sink *sink, store_counts *counts, dp_err *err)
{
	int journaled = journal_doing(crash, feed, items, n, alone);
	/* The batch's documents stay the store's while it waits on the
	 * database, whatever for (stats.h). */
	dp_stats_wait_begin("database");
	int wrote = write_batch(s, items, n, crash, journaled, err);
	dp_stats_wait_end();
	if (journaled)
		store_feed_unmark(feed, STORE_FEED_WRITER);
	if (wrote < 0)
		return wrote == STORE_WRITE_REFUSED ? DP_EXIT_REFUSED
		       : wrote == STORE_WRITE_CONFIG ? DP_EXIT_USAGE : DP_EXIT_SYSTEM;
	store_index_count(s, items, n);
	for (size_t i = 0; i < n; i++) {
		count(counts, &items[i]);
		if (dp_sink_put(sink, store_item_receipt(&items[i]), err) < 0)
			return DP_EXIT_SYSTEM;
	}
	return DP_EXIT_OK;
}

int store_run(store *s, dp_source *src, dp_sink *sink, dp_crash *crash, store_counts *counts,
	      dp_err *err)
{
	store_item *items = malloc(STORE_BATCH_DOCS * sizeof *items);
	store_feed *feed = items != NULL ? store_feed_start(src, STORE_QUEUE_RECORDS,
							     s->lexer != NULL ? s->text_config : NULL, crash, err) : NULL;
	int rc = DP_EXIT_OK;
	long n;

	if (feed == NULL) {
		if (items == NULL)
			dp_err_set(err, "out of memory");
		free(items);
		return DP_EXIT_SYSTEM;
	}
	memset(counts, 0, sizeof *counts);
	/* A failure here (the connection lost for good) is the writes' to meet. */
	dp_err left;
	settle(s, store_fulltext_merge_left, &left);
	while ((n = store_feed_take(feed, items, STORE_BATCH_DOCS, STORE_BATCH_CHUNKS, err)) > 0) {
		unsigned long stored = counts->stored, unchanged = counts->unchanged;
		for (size_t at = 0, part; at < (size_t)n && rc == DP_EXIT_OK; at += part) {
			int alone;
			part = next_part(crash, items + at, (size_t)n - at, &alone);
			/* A suspect may kill the store: the receipts of what was
			 * stored go first, or the hub re-sends those documents
			 * (found unchanged, but no longer counted as added). */
			if (alone && dp_sink_flush(sink, err) < 0)
				rc = DP_EXIT_SYSTEM;
			else
				rc = write_part(s, crash, feed, items + at, part, alone, sink, counts, err);
		}
		for (long i = 0; i < n; i++)
			store_item_clear(&items[i]);
		store_feed_written(feed, (long)(counts->stored - stored), (long)(counts->unchanged - unchanged));
		if (rc != DP_EXIT_OK)
			break;
		if (between_batches(s, feed, sink, err) < 0) {
			rc = DP_EXIT_SYSTEM;
			break;
		}
	}
	if (n < 0)
		rc = DP_EXIT_SYSTEM;
	/* Discover's end record goes out last, with what arrived: the proof a
	 * later --sweep --require-end asks for. */
	jv end = n == 0 && rc == DP_EXIT_OK ? store_feed_end(feed) : jv_invalid();
	if (jv_is_valid(end) && dp_sink_put(sink, end, err) < 0)
		rc = DP_EXIT_SYSTEM;
	else if (!jv_is_valid(end))
		jv_free(end);
	store_feed_stop(&feed);
	free(items);
	/* Whatever ended the run (even SIGTERM), the index is built before the
	 * store exits, the pending list merged but for a short tail
	 * (store_fulltext_end); the first error is the one reported. */
	dp_err why;
	if ((settle(s, store_index_settle, &why) < 0 || settle(s, store_fulltext_end, &why) < 0) &&
	    rc != DP_EXIT_SYSTEM) {
		*err = why;
		rc = DP_EXIT_SYSTEM;
	}
	if (rc == DP_EXIT_OK && counts->failed > 0)
		rc = DP_EXIT_FAILED;
	return rc;
}
