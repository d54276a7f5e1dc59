#include "feed.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "clock.h"
#include "doc.h"
#include "fulltext.h"
#include "jscan.h"
#include "record.h"
#include "stop.h"

struct store_feed {
	dp_source *src;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	store_item *queue; /* ring of cap items */
	size_t cap, head, count;
	size_t bytes;      /* store_item_held_bytes of the queued items */
	int ended, failed, stopping;
	dp_err err;
	/* Discover's end record, held back until the input ends (it may
	 * overtake documents in a threaded stage), and the records read
	 * besides it. */
	jv end;
	unsigned long received;
	dp_lexer *lexer; /* NULL: the store does not lex */
	int lex_ahead; /* store_feed_written's guess: the next documents will be written */
	/* The crash journal (NULL: none) and its marks (store_feed_mark):
	 * each side's, and the side working alone (-1: none), under lock;
	 * reading: the reader's record is marked (the reader's own). */
	dp_crash *crash;
	int marked[2], alone;
	int reading;
	double kill_size; /* test hook: see peek */
	/* The vectors of the record peek parsed (store_doc_parse_text), for
	 * the reader's item of it; empty: none. */
	store_vecs vecs;
};

void store_feed_mark(store_feed *f, enum store_feed_side side, int alone)
{
	pthread_mutex_lock(&f->lock);
	while (f->alone >= 0 && f->alone != (int)side && !f->stopping)
		pthread_cond_wait(&f->changed, &f->lock);
	if (alone) {
		f->alone = (int)side;
		while (f->marked[!side] && !f->stopping)
			pthread_cond_wait(&f->changed, &f->lock);
	}
	f->marked[side] = 1;
	pthread_mutex_unlock(&f->lock);
}

void store_feed_unmark(store_feed *f, enum store_feed_side side)
{
	pthread_mutex_lock(&f->lock);
	f->marked[side] = 0;
	if (f->alone == (int)side)
		f->alone = -1;
	pthread_cond_broadcast(&f->changed);
	pthread_mutex_unlock(&f->lock);
}

/* The record's path as its text has it (an owned string), found without
 * parsing the record; jv_invalid() when it has none. */
static jv raw_path(const char *text, size_t len)
{
	dp_jspan val;

	if (dp_jscan_get((dp_jspan){text, len}, dp_jspan_of("\"path\""), &val) != 1)
		return jv_invalid();
	jv path = dp_jscan_parse(val.p, val.n);
	if (jv_get_kind(path) == JV_KIND_STRING)
		return path;
	jv_free(path);
	return jv_invalid();
}

/* The failed record the store makes of a record the crash journal lists
 * (path: its path, consumed), its chunks never parsed: an error record of
 * this stage's with why, carrying the record's path, run and seq
 * (dp_record_error), so its receipt answers the hub's copy and the
 * failure is recorded by name (store_item_init). */
static jv refused(const char *text, size_t len, jv path, const char *why)
{
	dp_err e;
	size_t end = 0;
	/* dp_record_head parses whole what the scan refuses (jq's extras,
	 * which no stage writes): such a record keeps its path alone. */
	jv head = dp_jscan_value(text, len, &end) == 0 ? dp_record_head(text, len, &e) : jv_invalid();

	if (jv_get_kind(head) != JV_KIND_OBJECT) {
		jv_free(head);
		head = jv_object();
	}
	return dp_record_error(jv_object_set(head, jv_string("path"), path), dp_stage(), why);
}

/* The crash journal's look at a record's text before its parse (peek).
 * A record of STORE_READ_MARK_BYTES or more: failed unparsed when the
 * journal lists its path (parsing it killed a replica), else marked as
 * read until read_done (alone when it is a suspect).  Smaller records
 * pass at the cost of a comparison: the writer fails those the journal
 * lists (run.c, next_part).  Test hook
 * (tests/integration/graph_store_read_poison.sh):
 * DOCPIPE_TEST_STORE_READ_KILL_SIZE=N ends the store with SIGKILL, as the
 * OOM killer would, as it is about to parse a marked record of over N
 * bytes.  Returns the failed record, else jv_invalid(). */
static jv journal(store_feed *f, const char *text, size_t len)
{
	char why[DP_ERR_MAX];

	if (f->crash == NULL || len < STORE_READ_MARK_BYTES)
		return jv_invalid();
	jv path = raw_path(text, len);
	if (!jv_is_valid(path))
		return path; /* no path to name: parsed unmarked, failed by the store's checks */
	int any = dp_crash_any(f->crash);
	if (any && dp_crash_listed(f->crash, jv_string_value(path), why, sizeof why))
		return refused(text, len, path, why);
	store_feed_mark(f, STORE_FEED_READER, any && dp_crash_suspected(f->crash, jv_string_value(path)));
	dp_crash_reading(f->crash, jv_string_value(path));
	f->reading = 1;
	jv_free(path);
	if (f->kill_size > 0 && (double)len > f->kill_size)
		raise(SIGKILL);
	return jv_invalid();
}

/* dp_source's look at a record's text before its parse (transport.h), on
 * the reader's thread: the crash journal's (journal), then a document
 * with vectors is parsed here, its vectors decoded from the text into
 * f->vecs (store_doc_parse_text: the text is the source's, dropped after
 * this; its pages are given back as they are read). */
static jv peek(void *arg, const char *text, size_t len)
{
	store_feed *f = arg;
	jv rec = journal(f, text, len);

	if (jv_is_valid(rec))
		return rec;
	jv_free(rec);
	return store_doc_parse_text((char *)text, len, &f->vecs);
}

/* After the reader made its item of a marked record: the mark ends. */
static void read_done(store_feed *f)
{
	if (!f->reading)
		return;
	f->reading = 0;
	dp_crash_read(f->crash);
	store_feed_unmark(f, STORE_FEED_READER);
}

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
			read_done(f);
			pthread_mutex_lock(&f->lock);
			jv_free(f->end);
			f->end = rec;
			pthread_mutex_unlock(&f->lock);
			continue;
		}
		if (rc == DP_SOURCE_RECORD)
			store_item_init_vecs(&item, rec, f->vecs.v != NULL ? &f->vecs : NULL);
		store_vecs_clear(&f->vecs);
		if (rc == DP_SOURCE_RECORD && lex_here(f, &item) && store_fulltext_lex(f->lexer, &item.doc, &e) < 0) {
			item.kind = STORE_ITEM_FAILED;
			store_item_fail(&item, e.msg);
		}
		/* The parse and the item made (vectors decoded, chunks lexed):
		 * the record is the writer's to mark from here. */
		read_done(f);

		pthread_mutex_lock(&f->lock);
		size_t bytes = rc == DP_SOURCE_RECORD ? store_item_held_bytes(&item) : 0;
		while (rc == DP_SOURCE_RECORD && !f->stopping &&
		       (f->count == f->cap || (f->count > 0 && f->bytes + bytes > STORE_QUEUE_BYTES)))
			pthread_cond_wait(&f->changed, &f->lock);
		if (rc == DP_SOURCE_RECORD && !f->stopping) {
			f->queue[(f->head + f->count) % f->cap] = item;
			f->count++;
			f->bytes += bytes;
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

store_feed *store_feed_start(dp_source *src, size_t capacity, const char *text_config, dp_crash *crash,
			     dp_err *err)
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
	f->crash = crash;
	f->alone = -1;
	pthread_mutex_init(&f->lock, NULL);
	dp_cond_init(&f->changed); /* store_feed_quiet's waits: dp_deadline_ms */
	if (crash != NULL)
		f->kill_size = dp_cli_test_hook("DOCPIPE_TEST_STORE_READ_KILL_SIZE", 0);
	dp_source_peek(src, peek, f);
	if (pthread_create(&f->thread, NULL, reader, f) != 0) {
		dp_source_peek(src, NULL, NULL);
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
		f->bytes -= store_item_held_bytes(item);
		f->head = (f->head + 1) % f->cap;
		f->count--;
	}
	if (f->count == 0)
		f->bytes = 0; /* an item counted otherwise on its way out holds no byte back */
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
	dp_source_peek(f->src, NULL, NULL); /* the source outlives the feed */
	for (; f->count > 0; f->count--, f->head = (f->head + 1) % f->cap)
		store_item_clear(&f->queue[f->head]);
	store_vecs_clear(&f->vecs);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->changed);
	jv_free(f->end);
	dp_lexer_free(f->lexer);
	free(f->queue);
	free(f);
	*fp = NULL;
}
