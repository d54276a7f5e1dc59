#include "stage.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "record.h"
#include "stats.h"

struct run {
	dp_source *src;
	dp_sink *sink;
	const dp_stage_ops *ops;
	dp_stage_counts *counts;
	pthread_mutex_t read_lock;
	int stop;          /* under read_lock: input ended or I/O failed */
	int system_error;  /* under read_lock */
	dp_err err;        /* the first I/O error */
};

static void fail(struct run *r, const dp_err *e)
{
	pthread_mutex_lock(&r->read_lock);
	if (!r->system_error) {
		r->system_error = 1;
		r->err = *e;
	}
	r->stop = 1;
	pthread_mutex_unlock(&r->read_lock);
}

static int is_own_error(jv rec)
{
	const char *stage = dp_record_str(rec, "stage");

	return stage != NULL && strcmp(stage, dp_stage()) == 0;
}

static long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

static void *worker(void *arg)
{
	struct run *r = arg;

	for (;;) {
		jv rec;
		dp_err e;
		int rc;

		pthread_mutex_lock(&r->read_lock);
		rc = r->stop ? DP_SOURCE_END : dp_source_next(r->src, &rec, &e);
		if (rc == DP_SOURCE_END)
			r->stop = 1;
		pthread_mutex_unlock(&r->read_lock);
		if (rc == DP_SOURCE_ERROR)
			fail(r, &e);
		if (rc != DP_SOURCE_RECORD)
			return NULL;

		atomic_fetch_add(&r->counts->in, 1);
		const char *kind = dp_record_kind(rec);
		if (kind != NULL && strcmp(kind, r->ops->accepts) == 0) {
			long start = now_us();
			atomic_fetch_add(&r->counts->in_flight, 1);
			dp_stats_add(DP_STAT_IN_FLIGHT, 1);
			rec = r->ops->process(r->ops->ctx, rec);
			dp_stats_add(DP_STAT_IN_FLIGHT, -1);
			atomic_fetch_sub(&r->counts->in_flight, 1);
			dp_stats_add(DP_STAT_LATENCY_US, now_us() - start);
			dp_stats_add(DP_STAT_LATENCY_N, 1);
			kind = dp_record_kind(rec);
			if (kind != NULL && strcmp(kind, DP_KIND_ERROR) == 0)
				atomic_fetch_add(&r->counts->failed, 1);
		} else if (kind != NULL && strcmp(kind, DP_KIND_ERROR) == 0 &&
			   is_own_error(rec)) {
			/* Our own source's report of malformed input. */
			atomic_fetch_add(&r->counts->failed, 1);
		} else {
			atomic_fetch_add(&r->counts->passed, 1);
		}
		if (dp_sink_put(r->sink, rec, &e) < 0) {
			fail(r, &e);
			return NULL;
		}
		atomic_fetch_add(&r->counts->out, 1);
	}
}

int dp_stage_run(dp_source *src, dp_sink *sink, const dp_stage_ops *ops,
		 int threads, dp_stage_counts *counts, dp_err *err)
{
	struct run r = {.src = src, .sink = sink, .ops = ops, .counts = counts};
	pthread_t *tids;
	int started = 0;

	if (threads < 1)
		threads = 1;
	tids = calloc((size_t)threads, sizeof *tids);
	if (tids == NULL) {
		dp_err_set(err, "out of memory");
		return DP_EXIT_SYSTEM;
	}
	pthread_mutex_init(&r.read_lock, NULL);
	dp_source_flush_on_idle(src, sink);
	if (threads == 1) {
		worker(&r);
	} else {
		for (; started < threads; started++)
			if (pthread_create(&tids[started], NULL, worker, &r) != 0)
				break;
		if (started == 0)
			worker(&r);
		for (int i = 0; i < started; i++)
			pthread_join(tids[i], NULL);
	}
	free(tids);
	pthread_mutex_destroy(&r.read_lock);
	if (r.system_error) {
		*err = r.err;
		return DP_EXIT_SYSTEM;
	}
	if (dp_sink_flush(sink, err) < 0)
		return DP_EXIT_SYSTEM;
	return atomic_load(&counts->failed) > 0 ? DP_EXIT_FAILED : DP_EXIT_OK;
}
