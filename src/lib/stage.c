#include "stage.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "record.h"
#include "stats.h"

void dp_stage_io_init(dp_stage_io *io, dp_sink *sink, dp_stage_counts *counts,
		      const char *accepts)
{
	memset(io, 0, sizeof *io);
	io->sink = sink;
	io->counts = counts;
	io->accepts = accepts;
	pthread_mutex_init(&io->lock, NULL);
}

void dp_stage_io_destroy(dp_stage_io *io) { pthread_mutex_destroy(&io->lock); }

void dp_stage_io_fail(dp_stage_io *io, const dp_err *e)
{
	pthread_mutex_lock(&io->lock);
	if (!io->system_error) {
		io->system_error = 1;
		io->err = *e;
	}
	pthread_mutex_unlock(&io->lock);
}

int dp_stage_io_failed(dp_stage_io *io)
{
	pthread_mutex_lock(&io->lock);
	int f = io->system_error;
	pthread_mutex_unlock(&io->lock);
	return f;
}

static int is_error(jv rec)
{
	const char *kind = dp_record_kind(rec);

	return kind != NULL && strcmp(kind, DP_KIND_ERROR) == 0;
}

/* After a write that returned rc: latches its error e, or counts the
 * record out.  Returns 0 or -1. */
static int written(dp_stage_io *io, int rc, const dp_err *e)
{
	if (rc < 0) {
		dp_stage_io_fail(io, e);
		return -1;
	}
	atomic_fetch_add(&io->counts->out, 1);
	return 0;
}

/* Writes rec (consumed); failure: count it as this stage's failure, as
 * is an output that went out as its error record (over --max-record:
 * the exit status says a record failed, as chunk's text path does). */
static int put(dp_stage_io *io, jv rec, int failure)
{
	dp_err e;
	int rc = dp_sink_put(io->sink, rec, &e);

	if (failure || rc > 0)
		atomic_fetch_add(&io->counts->failed, 1);
	return written(io, rc, &e);
}

int dp_stage_io_take(dp_stage_io *io, jv *rec)
{
	const char *kind = dp_record_kind(*rec);

	atomic_fetch_add(&io->counts->in, 1);
	if (kind != NULL && strcmp(kind, io->accepts) == 0)
		return 1;
	const char *stage = dp_record_str(*rec, "stage");
	/* An error record from our own source reports malformed input. */
	int own = is_error(*rec) && stage != NULL && strcmp(stage, dp_stage()) == 0;
	if (!own)
		atomic_fetch_add(&io->counts->passed, 1);
	put(io, *rec, own);
	*rec = jv_invalid();
	return 0;
}

int dp_stage_io_put(dp_stage_io *io, jv rec)
{
	int failure = is_error(rec);

	return put(io, rec, failure);
}

int dp_stage_io_put_text(dp_stage_io *io, const dp_json_buf *b)
{
	dp_err e;

	return written(io, dp_sink_put_text(io->sink, b, &e), &e);
}

int dp_stage_io_put_pieces(dp_stage_io *io, size_t len, dp_piece_fn piece, void *arg)
{
	dp_err e;

	return written(io, dp_sink_put_pieces(io->sink, len, piece, arg, &e), &e);
}

int dp_stage_io_finish(dp_stage_io *io, dp_err *err)
{
	if (dp_stage_io_failed(io)) {
		pthread_mutex_lock(&io->lock);
		*err = io->err;
		pthread_mutex_unlock(&io->lock);
		return DP_EXIT_SYSTEM;
	}
	if (dp_sink_flush(io->sink, err) < 0)
		return DP_EXIT_SYSTEM;
	return atomic_load(&io->counts->failed) > 0 ? DP_EXIT_FAILED : DP_EXIT_OK;
}

/* glibc gives threads their own malloc arenas (up to 8 per core), and
 * memory freed in an arena stays there: an API stage with 16-256 threads
 * that each touch a big record keeps several copies' worth resident.
 * Measured (docpipe-embed, one 5 MB document of 4,524 chunks, 16 threads):
 * peak RSS 76 MB with glibc's default, 63 MB with 2 arenas, same wall time
 * (the threads mostly wait on HTTP, so arena contention costs nothing). */
#define POOL_ARENAS 2

/* A pool thread: jq's out-of-memory abort names the stage there too. */
static void *pool_thread(void *arg)
{
	dp_stage_pool *p = arg;

	dp_cli_nomem_said();
	return p->fn(p->arg);
}

int dp_stage_pool_start(dp_stage_pool *p, int n, void *(*fn)(void *), void *arg)
{
#ifdef M_ARENA_MAX
	if (n > POOL_ARENAS)
		mallopt(M_ARENA_MAX, POOL_ARENAS);
#endif
	p->started = 0;
	p->fn = fn;
	p->arg = arg;
	p->tids = calloc((size_t)(n > 0 ? n : 1), sizeof *p->tids);
	if (p->tids != NULL)
		for (; p->started < n; p->started++)
			if (pthread_create(&p->tids[p->started], NULL, pool_thread, p) != 0)
				break;
	return p->started;
}

void dp_stage_pool_join(dp_stage_pool *p)
{
	for (int i = 0; i < p->started; i++)
		pthread_join(p->tids[i], NULL);
	free(p->tids);
	p->tids = NULL;
	p->started = 0;
}

int dp_stage_pool_start_io(dp_stage_pool *p, int n, void *(*fn)(void *), void *arg,
			   dp_stage_io *io)
{
	int started = dp_stage_pool_start(p, n, fn, arg);

	if (started == 0) {
		dp_err e;
		dp_err_set(&e, "cannot start a thread");
		dp_stage_io_fail(io, &e);
	}
	return started;
}

void dp_stage_pool_end_input(dp_stage_pool *p, pthread_mutex_t *mu, pthread_cond_t *work,
			     int *ended)
{
	pthread_mutex_lock(mu);
	*ended = 1;
	pthread_cond_broadcast(work);
	pthread_mutex_unlock(mu);
	dp_stage_pool_join(p);
}

void dp_stage_threads(int n, void *(*fn)(void *), void *arg)
{
	dp_stage_pool p = {0};

	if (n <= 1 || dp_stage_pool_start(&p, n, fn, arg) == 0)
		fn(arg);
	dp_stage_pool_join(&p);
}

struct run {
	dp_source *src;
	dp_stage_io io;
	const dp_stage_ops *ops;
	int text; /* ops->process_text is used: the sink takes text */
	pthread_mutex_t read_lock;
	int stop; /* under read_lock: input ended or I/O failed */
};

static void *stop_reading(struct run *r)
{
	pthread_mutex_lock(&r->read_lock);
	r->stop = 1;
	pthread_mutex_unlock(&r->read_lock);
	return NULL;
}

/* What a worker's text buffer keeps between records: a big document's
 * text is not held after it is written. */
#define TEXT_KEEP ((size_t)1 << 20)

/* Processes rec (consumed), counting its time from start (the processing
 * only: writing can wait on the receivers), and writes what comes out: by
 * process_text into text (the worker's buffer: empty between records, its
 * max the sink's record size) when r->text.  Returns dp_stage_io_put's. */
static int process_and_put(struct run *r, jv rec, long start, dp_json_buf *text)
{
	rec = r->text ? r->ops->process_text(r->ops->ctx, rec, text) : r->ops->process(r->ops->ctx, rec);
	dp_stats_add(DP_STAT_LATENCY_US, dp_clock_us() - start);
	dp_stats_add(DP_STAT_LATENCY_N, 1);
	/* process always returns a record; process_text none when it wrote. */
	int put = jv_is_valid(rec) ? dp_stage_io_put(&r->io, rec) : dp_stage_io_put_text(&r->io, text);
	if (r->text) {
		dp_buf_reset(text);
		dp_buf_trim(text, TEXT_KEEP);
	}
	return put;
}

static void *worker_loop(struct run *r, dp_json_buf *text)
{
	for (;;) {
		jv rec;
		dp_err e;
		int rc;

		pthread_mutex_lock(&r->read_lock);
		rc = r->stop ? DP_SOURCE_END : dp_source_next(r->src, &rec, &e);
		if (rc != DP_SOURCE_RECORD)
			r->stop = 1;
		pthread_mutex_unlock(&r->read_lock);
		if (rc == DP_SOURCE_ERROR)
			dp_stage_io_fail(&r->io, &e);
		if (rc != DP_SOURCE_RECORD)
			return NULL;
		if (!dp_stage_io_take(&r->io, &rec))
			continue;
		int journaled = 0;
		if (r->ops->crash != NULL) {
			/* A document that crashed a replica of the stage fails
			 * without being processed; any other is marked in
			 * progress until its output is written. */
			const char *path = dp_record_str(rec, "path");
			char why[DP_ERR_MAX];
			if (path != NULL && dp_crash_listed(r->ops->crash, path, why, sizeof why)) {
				if (dp_stage_io_put(&r->io, dp_record_error(rec, r->ops->name, why)) < 0)
					return stop_reading(r);
				continue;
			}
			if (path != NULL) {
				dp_crash_doing(r->ops->crash, path);
				journaled = 1;
			}
		}
		long start = dp_clock_us(), held = dp_stats_hold(rec);
		atomic_fetch_add(&r->io.counts->in_flight, 1);
		dp_stats_add(DP_STAT_IN_FLIGHT, 1);
		/* In flight until written (--jq runs there): the hub re-sends
		 * what a replica that dies held, by this count. */
		int put = process_and_put(r, rec, start, text);
		dp_stats_add(DP_STAT_IN_FLIGHT, -1);
		dp_stats_release(held);
		atomic_fetch_sub(&r->io.counts->in_flight, 1);
		if (journaled)
			dp_crash_done(r->ops->crash);
		if (put < 0)
			return stop_reading(r);
	}
}

static void *worker(void *arg)
{
	struct run *r = arg;
	dp_json_buf text;

	dp_buf_init(&text, dp_sink_max_record(r->io.sink));
	void *stopped = worker_loop(r, &text);

	dp_json_buf_free(&text);
	return stopped;
}

int dp_stage_run(dp_source *src, dp_sink *sink, const dp_stage_ops *ops,
		 int threads, dp_stage_counts *counts, dp_err *err)
{
	struct run r = {.src = src, .ops = ops};
	int rc;

	dp_stage_io_init(&r.io, sink, counts, ops->accepts);
	r.text = ops->process_text != NULL && dp_sink_takes_text(sink);
	pthread_mutex_init(&r.read_lock, NULL);
	dp_source_flush_on_idle(src, sink);
	dp_stage_threads(threads, worker, &r);
	pthread_mutex_destroy(&r.read_lock);
	rc = dp_stage_io_finish(&r.io, err);
	dp_stage_io_destroy(&r.io);
	return rc;
}
