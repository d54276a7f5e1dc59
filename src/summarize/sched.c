#include "sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "docrec.h"
#include "prompts.h"
#include "record.h"
#include "stats.h"

enum phase { SECTIONS, CHUNKS };

/* One held document and its round in progress.  Only the thread that
 * finished its last request (or the reader, at first) touches the round's
 * arrays outside mu; workers read prompts[i] and write answers[i] of the
 * requests they took. */
struct sdoc {
	jv rec;
	int n;           /* chunks */
	size_t bytes;    /* chunk text, for the hold's limit */
	long start_us;
	long held;       /* dp_stats_hold's token */
	enum phase phase;
	int rounds;      /* rounds begun */
	jv summary;      /* the document's, once known */
	char **prompts;  /* this round's */
	size_t np;
	char (*keys)[DP_HASH_HEX];
	jv *answers;     /* strings once known, else null */
	jv *fresh;       /* copies of the answers that came from requests */
	size_t next;     /* under mu: prompts[next..np) are not taken yet */
	size_t pending;  /* under mu: answers still to come */
	int failed;      /* under mu: a request failed ... */
	char error[DP_ERR_MAX]; /* ... for this reason */
	int queued;      /* under mu: in the ring */
	struct sdoc *ring_next;
};

struct run {
	summarize_ctx *c;
	dp_stage_io io;
	pthread_mutex_t mu;
	pthread_cond_t work; /* workers: a request to make, or the end */
	pthread_cond_t room; /* the reader: the hold has room again */
	/* Under mu: */
	struct sdoc *head, *tail; /* documents with requests not taken yet */
	size_t held_docs, held_bytes;
	int input_ended;
	int idle; /* workers waiting on work */
};

static void round_free(struct sdoc *d)
{
	for (size_t i = 0; i < d->np; i++) {
		if (d->answers != NULL)
			jv_free(d->answers[i]);
		if (d->fresh != NULL)
			jv_free(d->fresh[i]);
	}
	summarize_prompts_free(d->prompts, d->np);
	free(d->keys);
	free(d->answers);
	free(d->fresh);
	d->prompts = NULL;
	d->keys = NULL;
	d->answers = d->fresh = NULL;
	d->np = 0;
}

static void sdoc_free(struct sdoc *d)
{
	round_free(d);
	jv_free(d->rec);
	jv_free(d->summary);
	free(d);
}

/* Under mu: the ring of documents with requests to take (round-robin). */
static void ring_push(struct run *r, struct sdoc *d)
{
	d->ring_next = NULL;
	d->queued = 1;
	if (r->tail != NULL)
		r->tail->ring_next = d;
	else
		r->head = d;
	r->tail = d;
}

static struct sdoc *ring_pop(struct run *r)
{
	struct sdoc *d = r->head;

	r->head = d->ring_next;
	if (r->head == NULL)
		r->tail = NULL;
	d->queued = 0;
	return d;
}

static void ring_remove(struct run *r, struct sdoc *d)
{
	struct sdoc **p = &r->head, *prev = NULL;

	for (; *p != NULL && *p != d; p = &(*p)->ring_next)
		prev = *p;
	if (*p == NULL)
		return;
	*p = d->ring_next;
	if (r->tail == d)
		r->tail = prev;
	d->queued = 0;
}

/* Under mu: moves d->next past prompts answered from the cache; 1 when a
 * request is left to take. */
static int has_untaken(struct sdoc *d)
{
	while (d->next < d->np && jv_get_kind(d->answers[d->next]) == JV_KIND_STRING)
		d->next++;
	return d->next < d->np;
}

/* Replaces d's round by prompts[0..np) (owned), looked up in the cache.
 * Returns 0, or -1 when out of memory (prompts freed). */
static int round_begin(struct run *r, struct sdoc *d, char **prompts, size_t np)
{
	round_free(d);
	d->rounds++;
	d->prompts = prompts;
	d->np = np;
	d->keys = malloc((np + 1) * sizeof *d->keys);
	d->answers = malloc((np + 1) * sizeof *d->answers);
	d->fresh = malloc((np + 1) * sizeof *d->fresh);
	if (d->keys == NULL || d->answers == NULL || d->fresh == NULL) {
		free(d->answers);
		free(d->fresh);
		d->answers = d->fresh = NULL;
		round_free(d);
		return -1;
	}
	summarize_lookup(r->c, prompts, np, d->keys, d->answers);
	d->next = 0;
	d->pending = 0;
	for (size_t i = 0; i < np; i++) {
		d->fresh[i] = jv_null();
		d->pending += jv_get_kind(d->answers[i]) != JV_KIND_STRING;
	}
	return 0;
}

/* The next round of d's summary: its chunk texts at first, then the last
 * round's answers (prompts.h: the rounds docpipe-plan predicts).  Returns
 * 0, or -1 with err. */
static int sections_round(struct run *r, struct sdoc *d, dp_err *err)
{
	const char *path = dp_record_str(d->rec, "path");
	jv parts = jv_array();
	char **prompts;
	size_t np;

	if (d->rounds == 0) {
		for (int i = 0; i < d->n; i++) {
			int len;
			const char *t = dp_doc_chunk_text(d->rec, i, &len);
			parts = jv_array_append(parts, jv_string_sized(t, len));
		}
	} else {
		for (size_t i = 0; i < d->np; i++)
			parts = jv_array_append(parts, jv_copy(d->answers[i]));
	}
	prompts = summarize_round_prompts(r->c, path != NULL ? path : "", parts, &np, err);
	if (prompts == NULL)
		return -1;
	if (round_begin(r, d, prompts, np) < 0) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	return 0;
}

/* One request per chunk, its prompt holding the document's summary.
 * Returns 0, or -1 with err. */
static int chunks_round(struct run *r, struct sdoc *d, dp_err *err)
{
	char **prompts = calloc((size_t)d->n + 1, sizeof *prompts);
	const char *summary = jv_string_value(d->summary);

	d->phase = CHUNKS;
	for (int i = 0; prompts != NULL && i < d->n; i++) {
		if ((prompts[i] = summarize_make_chunk_prompt(r->c, d->rec, i, summary)) == NULL) {
			summarize_prompts_free(prompts, (size_t)i);
			prompts = NULL;
		}
	}
	if (prompts == NULL || round_begin(r, d, prompts, (size_t)d->n) < 0) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	return 0;
}

/* Writes d out (its record, or an error record) and frees its room. */
static void finish(struct run *r, struct sdoc *d)
{
	jv rec = d->rec;

	d->rec = jv_null();
	if (d->failed) {
		rec = dp_record_error(rec, "summarize", d->error);
	} else {
		for (int i = 0; d->phase == CHUNKS && i < d->n; i++)
			rec = dp_doc_chunk_set(rec, i, "summary", jv_copy(d->answers[i]));
		rec = jv_object_set(rec, jv_string("summary"), jv_copy(d->summary));
		rec = jv_object_set(rec, jv_string("summarizer"), jv_string(r->c->identity));
	}
	dp_stage_io_put(&r->io, rec);
	dp_stats_add(DP_STAT_IN_FLIGHT, -1);
	dp_stats_release(d->held);
	atomic_fetch_sub(&r->io.counts->in_flight, 1);
	dp_stats_add(DP_STAT_LATENCY_US, dp_clock_us() - d->start_us);
	dp_stats_add(DP_STAT_LATENCY_N, 1);
	pthread_mutex_lock(&r->mu);
	r->held_docs--;
	r->held_bytes -= d->bytes;
	pthread_cond_signal(&r->room);
	if (r->input_ended && r->held_docs == 0)
		pthread_cond_broadcast(&r->work);
	pthread_mutex_unlock(&r->mu);
	sdoc_free(d);
}

/* Moves d on once its round is complete (no request of it in flight, d
 * not in the ring): keeps the round's fresh answers, begins the next round
 * and queues its requests, or writes d out. */
static void step(struct run *r, struct sdoc *d)
{
	for (;;) {
		dp_err err;
		int rc;

		if (!d->failed && d->rounds > 0)
			summarize_keep(r->c, (const char(*)[DP_HASH_HEX])d->keys, d->fresh, d->np);
		if (d->failed || d->phase == CHUNKS) {
			finish(r, d);
			return;
		}
		if (d->rounds == 0 || d->np > 1) {
			rc = sections_round(r, d, &err);
		} else {
			d->summary = d->np == 1 ? jv_copy(d->answers[0]) : jv_string("");
			if (!r->c->chunk_summaries || d->n == 0) {
				finish(r, d);
				return;
			}
			rc = chunks_round(r, d, &err);
		}
		if (rc < 0) {
			d->failed = 1;
			snprintf(d->error, sizeof d->error, "%s", err.msg);
			finish(r, d);
			return;
		}
		if (d->pending > 0) {
			pthread_mutex_lock(&r->mu);
			has_untaken(d);
			ring_push(r, d);
			/* One worker per request, not all of them: a stage runs
			 * 4 workers per place in flight. */
			for (size_t k = d->next; k < d->np && k - d->next < (size_t)r->idle; k++)
				pthread_cond_signal(&r->work);
			pthread_mutex_unlock(&r->mu);
			return;
		}
	}
}

/* Under mu: records the answer to d's prompt i (rc 0: answer owned) or
 * the failure; 1 when that was d's last pending answer. */
static int settle(struct run *r, struct sdoc *d, size_t i, int rc, jv answer, const char *why)
{
	if (rc == 0) {
		d->answers[i] = answer;
		d->fresh[i] = jv_copy(answer);
	} else if (!d->failed) {
		d->failed = 1;
		snprintf(d->error, sizeof d->error, "%s", why);
		/* Its requests not taken yet are dropped. */
		for (size_t k = d->next; k < d->np; k++)
			d->pending -= jv_get_kind(d->answers[k]) != JV_KIND_STRING;
		d->next = d->np;
		if (d->queued)
			ring_remove(r, d);
	}
	return --d->pending == 0;
}

static void *worker(void *arg)
{
	struct run *r = arg;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		if (r->head == NULL) {
			if (r->input_ended && r->held_docs == 0)
				break;
			r->idle++;
			pthread_cond_wait(&r->work, &r->mu);
			r->idle--;
			continue;
		}
		struct sdoc *d = ring_pop(r);
		size_t i = d->next++;
		if (has_untaken(d))
			ring_push(r, d); /* round-robin: behind the others */
		const char *prompt = d->prompts[i];
		pthread_mutex_unlock(&r->mu);

		jv answer = jv_invalid();
		dp_err err;
		int rc;
		if (atomic_load(&r->c->refused)) {
			dp_err_set(&err, "not summarized: the API refused the run");
			rc = DP_HTTP_REFUSED;
		} else if (dp_stage_io_failed(&r->io)) {
			dp_err_set(&err, "not summarized: the output failed");
			rc = DP_HTTP_FAILED;
		} else {
			rc = summarize_chat(r->c, prompt, &answer, &err);
		}
		pthread_mutex_lock(&r->mu);
		if (settle(r, d, i, rc, answer, err.msg)) {
			pthread_mutex_unlock(&r->mu);
			step(r, d);
			pthread_mutex_lock(&r->mu);
		}
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Takes a document record (consumed) into the hold once there is room,
 * and begins it. */
static void admit(struct run *r, jv rec)
{
	dp_err err;
	int n = dp_doc_check_chunks(rec, &err);
	struct sdoc *d;

	if (n < 0) {
		dp_stage_io_put(&r->io, dp_record_error(rec, "summarize", err.msg));
		return;
	}
	if ((d = calloc(1, sizeof *d)) == NULL) {
		dp_stage_io_put(&r->io, dp_record_error(rec, "summarize", "out of memory"));
		return;
	}
	d->rec = rec;
	d->n = n;
	d->summary = jv_null();
	for (int i = 0; i < n; i++) {
		int len;
		dp_doc_chunk_text(rec, i, &len);
		d->bytes += (size_t)len;
	}
	pthread_mutex_lock(&r->mu);
	while (r->held_docs > 0 && (r->held_docs >= SUMMARIZE_HELD_DOCS_MAX ||
				    r->held_bytes + d->bytes > SUMMARIZE_HELD_BYTES_MAX))
		pthread_cond_wait(&r->room, &r->mu);
	r->held_docs++;
	r->held_bytes += d->bytes;
	pthread_mutex_unlock(&r->mu);
	d->start_us = dp_clock_us();
	d->held = dp_stats_hold(d->rec);
	dp_stats_add(DP_STAT_IN_FLIGHT, 1);
	atomic_fetch_add(&r->io.counts->in_flight, 1);
	step(r, d);
}

int summarize_run_scheduled(summarize_ctx *c, dp_source *src, dp_sink *sink, int workers,
			    dp_stage_counts *counts, dp_err *err)
{
	struct run r = {.c = c};
	dp_stage_pool pool;
	int rc;

	dp_stage_io_init(&r.io, sink, counts, DP_KIND_DOCUMENT);
	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.work, NULL);
	pthread_cond_init(&r.room, NULL);
	dp_source_flush_on_idle(src, sink);
	dp_stage_pool_start_io(&pool, workers, worker, &r, &r.io);
	while (pool.started > 0 && !dp_stage_io_failed(&r.io)) {
		jv rec;
		dp_err e;
		int src_rc = dp_source_next(src, &rec, &e);
		if (src_rc == DP_SOURCE_ERROR)
			dp_stage_io_fail(&r.io, &e);
		if (src_rc != DP_SOURCE_RECORD)
			break;
		if (dp_stage_io_take(&r.io, &rec))
			admit(&r, rec);
	}
	dp_stage_pool_end_input(&pool, &r.mu, &r.work, &r.input_ended);
	pthread_cond_destroy(&r.work);
	pthread_cond_destroy(&r.room);
	pthread_mutex_destroy(&r.mu);
	rc = dp_stage_io_finish(&r.io, err);
	dp_stage_io_destroy(&r.io);
	return rc;
}
