#include "feed.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "clock.h"
#include "doc.h"
#include "fulltext.h"
#include "record.h"
#include "stop.h"

struct store_feed {
	dp_source *src;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	store_item *queue; /* ring of cap items */
	size_t cap, head, count;
	int ended, failed, stopping;
	dp_err err;
	/* Discover's end record, held back until the input ends (it may
	 * overtake documents in a threaded stage), and the records read
	 * besides it. */
	jv end;
	unsigned long received;
	dp_lexer *lexer; /* NULL: the store does not lex */
	int lex_ahead; /* store_feed_written's guess: the next documents will be written */
};

/* Whether the reader lexes item (a document, the store lexing): while the
 * last batch wrote at least half of its documents.  The writer lexes on its own
 * thread only the documents it writes (write.c, ensure_tsv), so in a
 * re-run, where the documents are found unchanged, the reader leaves
 * them unlexed and none is lexed for nothing; in a new load the reader
 * lexes beside the writer, which waits on the server. */
static int lex_here(store_feed *f, const store_item *item)
{
	if (f->lexer == NULL || item->kind != STORE_ITEM_DOCUMENT)
		return 0;
	pthread_mutex_lock(&f->lock);
	int ahead = f->lex_ahead;
	pthread_mutex_unlock(&f->lock);
	return ahead;
}

static void *reader(void *arg)
{
	store_feed *f = arg;

	dp_cli_nomem_said();

	for (;;) {
		jv rec;
		dp_err e;

		int rc = dp_source_next(f->src, &rec, &e);
		/* Validating and decoding vectors here, off the writer's thread,
		 * overlaps it with the database's work. */
		store_item item;
		const char *kind = rc == DP_SOURCE_RECORD ? dp_record_kind(rec) : NULL;
		if (kind != NULL && strcmp(kind, DP_KIND_END) == 0) {
			pthread_mutex_lock(&f->lock);
			jv_free(f->end);
			f->end = rec;
			pthread_mutex_unlock(&f->lock);
			continue;
		}
		if (rc == DP_SOURCE_RECORD)
			store_item_init(&item, rec);
		if (rc == DP_SOURCE_RECORD && lex_here(f, &item) && store_fulltext_lex(f->lexer, &item.doc, &e) < 0) {
			item.kind = STORE_ITEM_FAILED;
			store_item_fail(&item, e.msg);
		}

		pthread_mutex_lock(&f->lock);
		while (rc == DP_SOURCE_RECORD && f->count == f->cap && !f->stopping)
			pthread_cond_wait(&f->changed, &f->lock);
		if (rc == DP_SOURCE_RECORD && !f->stopping) {
			f->queue[(f->head + f->count) % f->cap] = item;
			f->count++;
			f->received++;
		} else if (rc == DP_SOURCE_RECORD) {
			store_item_clear(&item);
		} else {
			f->ended = 1;
			if (rc == DP_SOURCE_ERROR) {
				f->failed = 1;
				f->err = e;
			}
		}
		int done = f->ended || f->stopping;
		pthread_cond_broadcast(&f->changed);
		pthread_mutex_unlock(&f->lock);
		if (done)
			return NULL;
	}
}

store_feed *store_feed_start(dp_source *src, size_t capacity, const char *text_config, dp_err *err)
{
	store_feed *f = calloc(1, sizeof *f);

	if (f == NULL || (f->queue = calloc(capacity, sizeof *f->queue)) == NULL) {
		free(f);
		dp_err_set(err, "out of memory");
		return NULL;
	}
	if (text_config != NULL && (f->lexer = dp_lexer_new(text_config, err)) == NULL) {
		free(f->queue);
		free(f);
		return NULL;
	}
	f->src = src;
	f->cap = capacity;
	f->lex_ahead = 1;
	f->end = jv_invalid();
	pthread_mutex_init(&f->lock, NULL);
	dp_cond_init(&f->changed); /* store_feed_quiet's waits: dp_deadline_ms */
	if (pthread_create(&f->thread, NULL, reader, f) != 0) {
		pthread_mutex_destroy(&f->lock);
		pthread_cond_destroy(&f->changed);
		dp_lexer_free(f->lexer);
		free(f->queue);
		free(f);
		dp_err_set(err, "cannot start the input thread");
		return NULL;
	}
	return f;
}

long store_feed_take(store_feed *f, store_item *out, size_t max_records, size_t max_chunks, dp_err *err)
{
	size_t n = 0, chunks = 0;

	pthread_mutex_lock(&f->lock);
	while (f->count == 0 && !f->ended)
		pthread_cond_wait(&f->changed, &f->lock);
	while (f->count > 0 && n < max_records && (n == 0 || chunks < max_chunks)) {
		store_item *item = &f->queue[f->head];
		size_t c = item->kind == STORE_ITEM_DOCUMENT ? item->doc.nchunks : 0;
		if (n > 0 && chunks + c > max_chunks)
			break;
		out[n++] = *item;
		chunks += c;
		f->head = (f->head + 1) % f->cap;
		f->count--;
	}
	long rc = (long)n;
	if (n == 0 && f->failed) {
		*err = f->err;
		rc = -1;
	}
	pthread_cond_broadcast(&f->changed);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

void store_feed_written(store_feed *f, long written, long unchanged)
{
	pthread_mutex_lock(&f->lock);
	if (written + unchanged > 0)
		f->lex_ahead = written >= unchanged;
	pthread_mutex_unlock(&f->lock);
}

jv store_feed_end(store_feed *f)
{
	pthread_mutex_lock(&f->lock);
	jv end = jv_copy(f->end);
	unsigned long received = f->received;
	pthread_mutex_unlock(&f->lock);
	if (!jv_is_valid(end))
		return end;
	return jv_object_set(end, jv_string("received"), jv_number((double)received));
}

int store_feed_idle(store_feed *f)
{
	pthread_mutex_lock(&f->lock);
	int idle = f->count == 0;
	pthread_mutex_unlock(&f->lock);
	return idle;
}

int store_feed_quiet(store_feed *f, int ms)
{
	struct timespec until = dp_deadline_ms(ms);

	pthread_mutex_lock(&f->lock);
	int rc = 0;
	while (f->count == 0 && !f->ended && !dp_stop_requested() && rc == 0)
		rc = pthread_cond_timedwait(&f->changed, &f->lock, &until);
	int quiet = f->count == 0 && !f->ended && !dp_stop_requested();
	pthread_mutex_unlock(&f->lock);
	return quiet;
}

int store_feed_ended(store_feed *f)
{
	pthread_mutex_lock(&f->lock);
	int ended = f->ended;
	pthread_mutex_unlock(&f->lock);
	return ended;
}

void store_feed_stop(store_feed **fp)
{
	store_feed *f = *fp;

	if (f == NULL)
		return;
	pthread_mutex_lock(&f->lock);
	f->stopping = 1;
	int ended = f->ended;
	pthread_cond_broadcast(&f->changed);
	pthread_mutex_unlock(&f->lock);
	/* Stopping early (the database failed): the reader may be waiting for
	 * input that is not coming.  The interrupt wakes it; no cancellation,
	 * so a ZeroMQ socket is never left inside libzmq half-used. */
	if (!ended)
		dp_source_interrupt(f->src);
	pthread_join(f->thread, NULL);
	for (; f->count > 0; f->count--, f->head = (f->head + 1) % f->cap)
		store_item_clear(&f->queue[f->head]);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->changed);
	jv_free(f->end);
	dp_lexer_free(f->lexer);
	free(f->queue);
	free(f);
	*fp = NULL;
}
