/* Unit tests for docpipe-store's feed and the crash journal (crash.h): a
 * record the journal lists refused by the reader without being parsed,
 * and the two marks (the reader's record, the writer's batch) kept apart
 * for a suspect (store_feed_mark). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/store/feed.h"
#include "clock.h"
#include "crash.h"
#include "record.h"
#include "t.h"
#include "transport.h"

static char dir[] = "/tmp/dp-feed.XXXXXX";

/* A record of a path and a text of n bytes ("x"): over
 * STORE_READ_MARK_BYTES for the reader to look at it. */
static jv big_record(const char *path, size_t n, long seq)
{
	char *text = malloc(n + 1);
	if (text == NULL)
		abort();
	memset(text, 'x', n);
	text[n] = '\0';
	jv chunk = jv_object_set(jv_object(), jv_string("seq"), jv_number(0));
	chunk = jv_object_set(chunk, jv_string("text"), jv_string(text));
	free(text);
	jv r = jv_object_set(jv_object(), jv_string("v"), jv_number(1));
	r = jv_object_set(r, jv_string("kind"), jv_string("document"));
	r = jv_object_set(r, jv_string("path"), jv_string(path));
	r = jv_object_set(r, jv_string("run"), jv_string("r1"));
	r = jv_object_set(r, jv_string("seq"), jv_number((double)seq));
	return jv_object_set(r, jv_string("chunks"), jv_array_append(jv_array(), chunk));
}

static void test_refused_unparsed(void)
{
	char endpoint[128], bind[130], crashed[64], why[DP_ERR_MAX];
	dp_err err = {{0}};
	store_item items[2];

	snprintf(endpoint, sizeof endpoint, "ipc://%s/in", dir);
	snprintf(bind, sizeof bind, "@%s", endpoint);
	snprintf(crashed, sizeof crashed, "%s/crashed", dir);
	FILE *f = fopen(crashed, "w");
	if (f == NULL)
		abort();
	fputs("SIGKILL-2:read \"/d/huge.md\"\n", f);
	fclose(f);
	dp_crash *crash = dp_crash_open(dir, &err);
	dp_source *src = dp_source_open(bind, NULL, &err);
	dp_sink *sink = dp_sink_open(endpoint, NULL, &err);
	T_OK(crash != NULL && src != NULL && sink != NULL, "journal, source and sink open");
	if (crash == NULL || src == NULL || sink == NULL)
		return;
	store_feed *feed = store_feed_start(src, 8, NULL, crash, &err);
	T_OK(feed != NULL, "feed started with a crash journal");
	dp_sink_put(sink, big_record("/d/huge.md", STORE_READ_MARK_BYTES, 7), &err);
	dp_sink_put(sink, big_record("/d/fine.md", STORE_READ_MARK_BYTES, 8), &err);
	dp_sink_flush(sink, &err);
	long n = 0;
	while (n < 2) {
		long got = store_feed_take(feed, items + n, (size_t)(2 - n), 1000000, &err);
		if (got <= 0)
			break;
		n += got;
	}
	T_EQ_INT(n, 2, "both records came through");
	dp_crash_listed(crash, "/d/huge.md", why, sizeof why);
	T_OK(n == 2 && items[0].kind == STORE_ITEM_FAILED && strcmp(items[0].reason, why) == 0,
	     "the listed record: a failed item whose reason names the crash");
	T_OK(n == 2 && !jv_object_has(jv_copy(items[0].rec), jv_string("chunks")),
	     "its chunks never parsed (the record is its head, made an error record)");
	jv receipt = n == 2 ? store_item_receipt(&items[0]) : jv_null();
	T_EQ_STR(n == 2 ? dp_record_str(receipt, "path") : "", "/d/huge.md", "its receipt names the path");
	double seq = 0;
	T_OK(dp_record_num(receipt, "seq", &seq) == 0 && seq == 7, "and answers the hub's seq");
	jv_free(receipt);
	T_OK(n == 2 && items[1].kind == STORE_ITEM_DOCUMENT && items[1].doc.nchunks == 1,
	     "a record not listed: parsed as usual");
	char reading[64];
	snprintf(reading, sizeof reading, "%s/reading.%ld", dir, (long)getpid());
	struct stat st;
	T_OK(stat(reading, &st) == 0, "the large record was marked (reading file made)");
	T_OK(st.st_size == 0, "and unmarked once its item was made");
	for (long i = 0; i < n; i++)
		store_item_clear(&items[i]);
	store_feed_stop(&feed);
	dp_sink_close(&sink, &err);
	dp_source_free(&src);
	dp_crash_close(&crash);
	unlink(crashed);
}

struct marker {
	store_feed *feed;
	enum store_feed_side side;
	int alone;
	atomic_int marked;
};

static void *mark(void *arg)
{
	struct marker *m = arg;

	store_feed_mark(m->feed, m->side, m->alone);
	atomic_store(&m->marked, 1);
	return NULL;
}

/* Whether m marked within ms milliseconds. */
static int marked_within(struct marker *m, int ms)
{
	for (int i = 0; i < ms / 10 && !atomic_load(&m->marked); i++)
		dp_sleep_ms(10);
	return atomic_load(&m->marked);
}

static void test_marks(void)
{
	char endpoint[130];
	dp_err err = {{0}};
	pthread_t t;

	snprintf(endpoint, sizeof endpoint, "@ipc://%s/marks", dir);
	dp_source *src = dp_source_open(endpoint, NULL, &err);
	store_feed *feed = src != NULL ? store_feed_start(src, 8, NULL, NULL, &err) : NULL;
	T_OK(feed != NULL, "feed started");
	if (feed == NULL)
		return;
	/* Both sides at once: the usual case. */
	store_feed_mark(feed, STORE_FEED_READER, 0);
	struct marker w = {feed, STORE_FEED_WRITER, 0, 0};
	pthread_create(&t, NULL, mark, &w);
	T_OK(marked_within(&w, 10000), "a batch is marked beside a record being read");
	pthread_join(t, NULL);
	store_feed_unmark(feed, STORE_FEED_WRITER);
	/* A suspect written alone waits for the record being read... */
	struct marker alone = {feed, STORE_FEED_WRITER, 1, 0};
	pthread_create(&t, NULL, mark, &alone);
	T_OK(!marked_within(&alone, 100), "a suspect's batch waits while a record is being read");
	store_feed_unmark(feed, STORE_FEED_READER);
	T_OK(marked_within(&alone, 10000), "and is marked once the record was read");
	pthread_join(t, NULL);
	/* ... and the next record waits for the suspect's write. */
	struct marker r = {feed, STORE_FEED_READER, 0, 0};
	pthread_create(&t, NULL, mark, &r);
	T_OK(!marked_within(&r, 100), "a record is not read beside a suspect being written");
	store_feed_unmark(feed, STORE_FEED_WRITER);
	T_OK(marked_within(&r, 10000), "and is read once the suspect was written");
	pthread_join(t, NULL);
	/* A suspect record read alone: the writer's next batch waits. */
	store_feed_unmark(feed, STORE_FEED_READER);
	store_feed_mark(feed, STORE_FEED_READER, 1);
	struct marker next = {feed, STORE_FEED_WRITER, 0, 0};
	pthread_create(&t, NULL, mark, &next);
	T_OK(!marked_within(&next, 100), "no batch is written beside a suspect record being read");
	store_feed_unmark(feed, STORE_FEED_READER);
	T_OK(marked_within(&next, 10000), "the batch goes once it was read");
	pthread_join(t, NULL);
	store_feed_unmark(feed, STORE_FEED_WRITER);
	store_feed_stop(&feed);
	dp_source_free(&src);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	dp_set_stage("test");
	test_refused_unparsed();
	test_marks();
	rmdir(dir);
	return t_done();
}
