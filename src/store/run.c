#include "run.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "feed.h"
#include "outcome.h"

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
	else
		c->failed++;
}

int store_run(store *s, dp_source *src, dp_sink *sink, store_counts *counts, dp_err *err)
{
	store_item *items = malloc(STORE_BATCH_DOCS * sizeof *items);
	store_feed *feed = items != NULL ? store_feed_start(src, STORE_QUEUE_RECORDS, err) : NULL;
	int rc = DP_EXIT_OK;
	long n;

	if (feed == NULL) {
		if (items == NULL)
			dp_err_set(err, "out of memory");
		free(items);
		return DP_EXIT_SYSTEM;
	}
	memset(counts, 0, sizeof *counts);
	while ((n = store_feed_take(feed, items, STORE_BATCH_DOCS, STORE_BATCH_CHUNKS, err)) > 0) {
		int failed = store_write(s, items, (size_t)n, err) < 0 ||
			     store_outcome_record(s->db, items, (size_t)n, err) < 0;
		for (long i = 0; i < n; i++) {
			if (!failed && rc != DP_EXIT_SYSTEM) {
				count(counts, &items[i]);
				if (dp_sink_put(sink, store_item_receipt(&items[i]), err) < 0)
					rc = DP_EXIT_SYSTEM;
			}
			store_item_clear(&items[i]);
		}
		if (failed)
			rc = DP_EXIT_SYSTEM;
		if (rc == DP_EXIT_SYSTEM)
			break;
		/* Nothing more is waiting: hand the receipts on now. */
		if (store_feed_idle(feed) && dp_sink_flush(sink, err) < 0) {
			rc = DP_EXIT_SYSTEM;
			break;
		}
	}
	if (n < 0)
		rc = DP_EXIT_SYSTEM;
	store_feed_stop(&feed);
	free(items);
	if (rc == DP_EXIT_OK && counts->failed > 0)
		rc = DP_EXIT_FAILED;
	return rc;
}
