#include "sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "docrec.h"
#include "prompts.h"
#include "record.h"
#include "stats.h"
#include "versions.h"

enum phase { SECTIONS, CHUNKS };

/* A request of a round (sdoc.state): to take (in the queue), taken (its
 * worker asks), waiting on another request of the same key (dp_flights:
 * a copy of a text in flight, no place of its own), done (answered,
 * failed or dropped). */
enum req { REQ_TODO, REQ_TAKEN, REQ_WAITING, REQ_DONE };

/* One held document and its round in progress.  Only the thread that
 * finished its last request (or the reader, at first) touches the round's
 * arrays outside mu; workers read prompts[i] and write answers[i] of the
 * requests they took.  Its jv values (rec, summary, answers) are its own:
 * no other document holds a reference to them (deliver's unshared: jq's
 * reference counts are not atomic). */
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
	unsigned char *state; /* under mu: enum req of each request */
	int setup;       /* under mu: round_begin claims and looks up its keys */
	size_t next;     /* under mu: no request before it is REQ_TODO */
	size_t pending;  /* under mu: answers still to come (+1 during setup) */
	int failed;      /* under mu: a request failed ... */
	char error[DP_ERR_MAX]; /* ... for this reason */
	unsigned long order; /* admission: earlier documents go first */
	size_t untaken;  /* under mu: requests of this round not taken yet
			  * (above 0: in the queue) */
	int taken;       /* under mu: requests taken and not settled */
	struct sdoc *queue_next;
	struct sdoc *ready_next; /* in run.ready */
	char *version;   /* dp_record_version, in run.versions while held */
};

struct run {
	summarize_ctx *c;
	dp_stage_io io;
	pthread_mutex_t mu;
	pthread_cond_t work; /* workers: a request to make, or the end */
	pthread_cond_t room; /* the reader: the hold has room again */
	/* Under mu: */
	struct sdoc *head; /* documents with requests not taken, in admission order */
	struct sdoc *big; /* in it: pick's first, until its requests are all taken */
	size_t untaken;    /* their requests not taken */
	size_t untaken_chunks; /* those of chunk summaries */
	size_t claims;     /* workers waiting for a place to take one of them */
	unsigned long admitted;
	size_t held_docs, held_bytes;
	dp_versions versions; /* of the documents held */
	dp_flights *flights;  /* keys claimed by requests held (reuse.h) */
	struct sdoc *ready;   /* documents whose round ended, to step (drain) */
	unsigned long copies; /* copies of a held version dropped */
	int input_ended;
	int idle; /* workers waiting on work */
};

static void round_free(struct sdoc *d)
{
	for (size_t i = 0; i < d->np && d->answers != NULL; i++)
		jv_free(d->answers[i]);
	summarize_prompts_free(d->prompts, d->np);
	free(d->keys);
	free(d->answers);
	free(d->state);
	d->prompts = NULL;
	d->keys = NULL;
	d->answers = NULL;
	d->state = NULL;
	d->np = 0;
}

static void sdoc_free(struct sdoc *d)
{
	round_free(d);
	free(d->version);
	jv_free(d->rec);
	jv_free(d->summary);
	free(d);
}

/* Under mu: k more requests of d are to take; d joins the queue of
 * documents with requests to take at its admission place, unless it is in
 * it.  One worker woken per request, not all of them: a stage runs 4
 * workers per place in flight. */
static void queue_add(struct run *r, struct sdoc *d, size_t k)
{
	if (d->untaken == 0) {
		struct sdoc **p = &r->head;
		while (*p != NULL && (*p)->order < d->order)
			p = &(*p)->queue_next;
		d->queue_next = *p;
		*p = d;
	}
	d->untaken += k;
	r->untaken += k;
	if (d->phase == CHUNKS)
		r->untaken_chunks += k;
	for (size_t j = 0; j < k && j < (size_t)r->idle; j++)
		pthread_cond_signal(&r->work);
}

/* Under mu: one request of d is taken. */
static void queue_take(struct run *r, struct sdoc *d)
{
	d->taken++;
	d->untaken--;
	r->untaken--;
	if (d->phase == CHUNKS)
		r->untaken_chunks--;
}

/* Under mu: d leaves the queue; its requests not taken are dropped. */
static void queue_remove(struct run *r, struct sdoc *d)
{
	struct sdoc **p = &r->head;

	while (*p != NULL && *p != d)
		p = &(*p)->queue_next;
	if (*p != NULL)
		*p = d->queue_next;
	if (r->big == d)
		r->big = NULL;
	r->untaken -= d->untaken;
	if (d->phase == CHUNKS)
		r->untaken_chunks -= d->untaken;
	d->untaken = 0;
}

/* Under mu: the answers d still needs: those of its round, and with
 * --chunk-summaries, while its summary is made, one per chunk to come. */
static size_t requests_left(const struct run *r, const struct sdoc *d)
{
	return d->pending + (d->phase == SECTIONS && r->c->chunk_summaries ? (size_t)d->n : 0);
}

/* Under mu: the document whose request goes next, NULL when none is
 * waiting.
 *
 * First a big one: the earliest admitted whose requests left are more than
 * the places in flight (`level`: it needs more than one round trip of
 * them), while it has fewer than three quarters of the places; it stays
 * first until its round's requests are all taken (its last ones, fewer
 * than the places, would otherwise wait behind the documents admitted
 * before it).  It is a run's critical path: served among the others as
 * they are, it runs on alone at the end, its record, its next stages' work
 * and the store's write of its hundreds of chunks after its last answer
 * (the run's tail); served first, it ends before the small documents, and
 * its record goes through the next stages while their last requests are
 * answered (the longest first, as in LPT scheduling; the earliest of
 * several big ones, so that they finish in the order they came).  The
 * quarter left is fairness: the documents behind it are not held back
 * beyond it (at --threads 4, one place).
 *
 * Then the earliest admitted that has fewer than half the places taken; if
 * every one has as many, the earliest (no place is left idle).  First
 * come, first finished: a document's record leaves (the next stages start
 * on it, its memory is freed) as soon as it can, and a run climbs on short
 * chunk requests, not on a batch of whole documents' summaries first
 * (--threads auto grows its level per round of answers).  The half is
 * fairness: a big document does not hold the ones behind it back, nor
 * they it.  But while the chunk requests waiting are fewer than the
 * places, a summary request goes first (it makes its document's chunk
 * requests), of a document summarized by sections first: its sections,
 * their combination, then its chunks are a long path too. */
static struct sdoc *pick(struct run *r, int level)
{
	int share = level / 2 > 1 ? level / 2 : 1;
	int quarter = level / 4 > 1 ? level / 4 : 1;
	int big_share = level > quarter ? level - quarter : 1;
	int unlock = r->untaken_chunks < (size_t)level;
	struct sdoc *first = NULL, *summary = NULL;

	for (struct sdoc *d = r->head; d != NULL && r->big == NULL; d = d->queue_next)
		if (requests_left(r, d) > (size_t)(level > 1 ? level : 1))
			r->big = d;
	if (r->big != NULL && r->big->taken < big_share)
		return r->big;
	for (struct sdoc *d = r->head; d != NULL; d = d->queue_next) {
		if (d->taken >= share)
			continue;
		if (first == NULL)
			first = d;
		if (!unlock || d->phase != SECTIONS)
			continue;
		if (d->np > 1 || d->rounds > 1)
			return d;
		if (summary == NULL)
			summary = d;
	}
	return summary != NULL ? summary : first != NULL ? first : r->head;
}

/* Under mu: moves d->next to its first request to take; 1 when there is
 * one. */
static int has_untaken(struct sdoc *d)
{
	while (d->next < d->np && d->state[d->next] != REQ_TODO)
		d->next++;
	return d->next < d->np;
}

static void settle(struct run *r, struct sdoc *d, size_t i, int rc, jv answer, const char *why);

/* answer's text as a string of its own (owned), not a reference to
 * answer (borrowed, a string no other thread touches meanwhile).
 *
 * Why not jv_copy: jq's reference counts are not atomic (jv_copy and
 * jv_free are a plain increment and decrement), and a document's values
 * are copied and freed outside mu by whichever thread steps, finishes or
 * writes it (step, round_free, finish, the sink).  A string shared by two
 * documents had its count changed by two threads at once, and an update
 * lost leaked it (api_copies' "41 bytes in 1 object": 3 runs in 500 of 40
 * copies under ASan, 20 in 200 of 200 copies) or freed it while a copy
 * still held it (a use after free in the sink, 1 in those 200).  So a
 * value never crosses from one document to another by reference: each
 * holds its own strings, touched only by the thread that holds the
 * document. */
static jv unshared(jv answer)
{
	return jv_string_sized(jv_string_value(answer), jv_string_length_bytes(jv_copy(answer)));
}

/* Under mu: d's request i, the owner of its key, has answer (borrowed,
 * d's alone): the requests that waited on it take copies of their own
 * (unshared: they may be other documents). */
static void deliver(struct run *r, struct sdoc *d, size_t i, jv answer)
{
	dp_flight_waiter *w;
	size_t n = dp_flights_settle(r->flights, d->keys[i], d, i, &w);

	for (size_t k = 0; k < n; k++)
		settle(r, w[k].who, w[k].i, 0, unshared(answer), NULL);
	free(w);
	if (n > 0)
		atomic_fetch_add(&r->c->reused, (unsigned long)n);
}

/* Under mu: d's request i, the owner of its key, failed with why (asked:
 * after a request; its state then REQ_WAITING) or is dropped unasked (its
 * document failed).  When the key has waiters and was asked fewer than
 * DP_FLIGHT_TRIES times, the first waiter of a document not failed asks
 * in its place (requeued) and an asked one of a document not failed
 * waits on it in turn: copies fare alike, all answered or all failed.  A
 * waiter of a failed document is dropped and the claim goes on; when no
 * one may ask, the waiters fail with why.  Returns 1 when d's request i
 * waits again (its fate is the heir's), 0 when it is the caller's. */
static int release(struct run *r, struct sdoc *d, size_t i, int asked, const char *why)
{
	const char *key = d->keys[i];
	struct sdoc *owner = d;
	size_t oi = i;
	dp_flight_waiter h, *w;
	int waits = 0;

	while (dp_flights_hand_over(r->flights, key, owner, oi, asked, &h)) {
		if (asked && !d->failed)
			waits = dp_flights_claim(r->flights, key, d, i) == 0;
		owner = h.who;
		oi = h.i;
		asked = 0;
		if (!owner->failed) {
			owner->state[oi] = REQ_TODO;
			if (owner->setup)
				return waits; /* round_begin queues it */
			if (oi < owner->next)
				owner->next = oi;
			queue_add(r, owner, 1);
			return waits;
		}
		settle(r, owner, oi, DP_HTTP_FAILED, jv_invalid(), why);
	}
	size_t n = dp_flights_settle(r->flights, key, owner, oi, &w);
	for (size_t k = 0; k < n; k++)
		settle(r, w[k].who, w[k].i, DP_HTTP_FAILED, jv_invalid(), why);
	free(w);
	return waits;
}

/* Under mu: d fails with why; its requests not taken yet are dropped
 * (their claims released). */
static void fail_doc(struct run *r, struct sdoc *d, const char *why)
{
	d->failed = 1;
	snprintf(d->error, sizeof d->error, "%s", why);
	if (d->untaken > 0)
		queue_remove(r, d);
	for (size_t i = 0; i < d->np; i++) {
		if (d->state[i] != REQ_TODO)
			continue;
		d->state[i] = REQ_DONE;
		d->pending--;
		release(r, d, i, 0, why);
	}
}

/* Under mu: d's request i (taken, waiting, or found in the cache) has
 * its answer (rc 0: answer owned) or failed with why; d joins r->ready
 * when that was the last answer of its round.  d's error is its first
 * failure, or a failure of its own after "not sent" (dp_http_is_not_sent:
 * the request refused with the run's reason, not the one queued behind
 * it). */
static void settle(struct run *r, struct sdoc *d, size_t i, int rc, jv answer, const char *why)
{
	if (d->state[i] == REQ_TAKEN)
		d->taken--;
	d->state[i] = REQ_DONE;
	if (rc == 0) {
		jv_free(d->answers[i]);
		d->answers[i] = answer;
	} else if (!d->failed) {
		fail_doc(r, d, why);
	} else if (dp_http_is_not_sent(d->error) && !dp_http_is_not_sent(why)) {
		snprintf(d->error, sizeof d->error, "%s", why);
	}
	if (--d->pending == 0) {
		d->ready_next = r->ready;
		r->ready = d;
	}
}

/* Steps the documents whose rounds ended (r->ready), one after another
 * (not recursively: an answer found for one can end the rounds of many).
 * Called without mu. */
static void step(struct run *r, struct sdoc *d);
static void drain(struct run *r)
{
	for (;;) {
		pthread_mutex_lock(&r->mu);
		struct sdoc *d = r->ready;
		if (d != NULL)
			r->ready = d->ready_next;
		pthread_mutex_unlock(&r->mu);
		if (d == NULL)
			return;
		step(r, d);
	}
}

/* Replaces d's round by prompts[0..np) (owned).  Each prompt's key is
 * claimed (dp_flights) before the cache is asked, so a copy of it held or
 * arriving meanwhile waits for this one's answer rather than paying for
 * its own; the keys this round owns are looked up in the cache, the rest
 * join the queue.  Returns 1 when the round is complete already (every
 * answer found), 0 when answers are to come, -1 when out of memory
 * (prompts freed). */
static int round_begin(struct run *r, struct sdoc *d, char **prompts, size_t np)
{
	round_free(d);
	d->rounds++;
	d->prompts = prompts;
	d->np = np;
	d->keys = malloc((np + 1) * sizeof *d->keys);
	d->answers = malloc((np + 1) * sizeof *d->answers);
	d->state = malloc(np + 1);
	size_t *own = malloc((np + 1) * sizeof *own), nown = 0, todo = 0;
	char(*own_keys)[DP_HASH_HEX] = malloc((np + 1) * sizeof *own_keys);
	jv *found = malloc((np + 1) * sizeof *found);
	if (d->keys == NULL || d->answers == NULL || d->state == NULL || own == NULL ||
	    own_keys == NULL || found == NULL) {
		free(d->answers);
		d->answers = NULL;
		round_free(d);
		free(own);
		free(own_keys);
		free(found);
		return -1;
	}
	summarize_keys(r->c, prompts, np, d->keys);
	pthread_mutex_lock(&r->mu);
	d->setup = 1;
	d->next = 0;
	d->pending = np + 1;
	for (size_t i = 0; i < np; i++) {
		d->answers[i] = jv_null();
		d->state[i] = REQ_TODO;
		if (dp_flights_claim(r->flights, d->keys[i], d, i) == 0) {
			d->state[i] = REQ_WAITING;
			continue;
		}
		memcpy(own_keys[nown], d->keys[i], DP_HASH_HEX);
		own[nown++] = i;
	}
	pthread_mutex_unlock(&r->mu);
	summarize_lookup(r->c, (const char(*)[DP_HASH_HEX])own_keys, nown, found);
	pthread_mutex_lock(&r->mu);
	for (size_t k = 0; k < nown; k++) {
		/* Not when its document failed meanwhile (a waiting request's
		 * failure dropped it). */
		if (jv_get_kind(found[k]) == JV_KIND_STRING && d->state[own[k]] == REQ_TODO) {
			deliver(r, d, own[k], found[k]);
			settle(r, d, own[k], 0, found[k], NULL);
		} else {
			jv_free(found[k]);
		}
	}
	d->setup = 0;
	for (size_t i = 0; i < np; i++)
		todo += d->state[i] == REQ_TODO;
	if (todo > 0)
		queue_add(r, d, todo);
	int complete = --d->pending == 0;
	pthread_mutex_unlock(&r->mu);
	free(own);
	free(own_keys);
	free(found);
	return complete;
}

/* The next round of d's summary: its chunk texts at first, then the last
 * round's answers (prompts.h: the rounds docpipe-plan predicts).  Returns
 * as round_begin, with err on -1. */
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
	int rc = round_begin(r, d, prompts, np);
	if (rc < 0)
		dp_err_set(err, "out of memory");
	return rc;
}

/* One request per chunk, its prompt holding the document's summary.
 * Returns as round_begin, with err on -1. */
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
	int rc = prompts != NULL ? round_begin(r, d, prompts, (size_t)d->n) : -1;
	if (rc < 0)
		dp_err_set(err, "out of memory");
	return rc;
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
	dp_versions_remove(&r->versions, d->version);
	r->held_docs--;
	r->held_bytes -= d->bytes;
	pthread_cond_signal(&r->room);
	if (r->input_ended && r->held_docs == 0)
		pthread_cond_broadcast(&r->work);
	pthread_mutex_unlock(&r->mu);
	sdoc_free(d);
}

/* Moves d on once its round is complete (no request of it in flight or
 * waiting, d not in the queue): begins the next round (round_begin queues
 * its requests), or writes d out.  (Its answers were kept as they came:
 * worker.) */
static void step(struct run *r, struct sdoc *d)
{
	for (;;) {
		dp_err err;
		int rc;

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
		if (rc == 0)
			return;
	}
}

/* Under mu: d's request i, taken, has its answer (rc 0: answer owned) or
 * failed with why: the requests waiting on its key take the answer, or
 * one of them asks again (release). */
static void answered(struct run *r, struct sdoc *d, size_t i, int rc, jv answer, const char *why)
{
	if (rc == 0) {
		deliver(r, d, i, answer);
		settle(r, d, i, rc, answer, why);
		return;
	}
	d->taken--;
	d->state[i] = REQ_WAITING;
	if (!release(r, d, i, 1, why))
		settle(r, d, i, rc, answer, why);
}

static void *worker(void *arg)
{
	struct run *r = arg;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		if (r->untaken <= r->claims) {
			if (r->input_ended && r->held_docs == 0)
				break;
			r->idle++;
			pthread_cond_wait(&r->work, &r->mu);
			r->idle--;
			continue;
		}
		/* Late binding: the request is chosen once it can leave (a
		 * place in flight is ours), so the order of pick() is the order
		 * of the sends. */
		r->claims++;
		pthread_mutex_unlock(&r->mu);
		dp_http_take_place(r->c->http);
		pthread_mutex_lock(&r->mu);
		r->claims--;
		struct sdoc *d = pick(r, dp_http_level(r->c->http));
		if (d == NULL) {
			/* A failed document dropped the request meant. */
			pthread_mutex_unlock(&r->mu);
			dp_http_give_back_place(r->c->http);
			pthread_mutex_lock(&r->mu);
			continue;
		}
		has_untaken(d);
		size_t i = d->next++;
		d->state[i] = REQ_TAKEN;
		queue_take(r, d);
		if (d->untaken == 0)
			queue_remove(r, d);
		const char *prompt = d->prompts[i];
		pthread_mutex_unlock(&r->mu);

		jv answer = jv_invalid();
		dp_err err;
		int rc;
		/* dp_http's refusal: decided before the refused request's
		 * place was given back (a judge's too), so it is there when
		 * this thread takes the place. */
		if (dp_http_not_sent(r->c->http, &err)) {
			rc = DP_HTTP_REFUSED;
		} else if (dp_stage_io_failed(&r->io)) {
			dp_err_set(&err, "not summarized: the output failed");
			rc = DP_HTTP_FAILED;
		} else {
			rc = summarize_chat(r->c, prompt, &answer, &err);
		}
		/* Kept as it comes, not when its round is complete (a
		 * --chunk-summaries round lasts minutes: a stop or kill lost it
		 * all), and even when another answer of the round fails the
		 * document: it was paid for, and the next run asks only for
		 * what failed. */
		if (rc == 0)
			summarize_keep(r->c, d->keys[i], answer);
		dp_http_give_back_place(r->c->http); /* not used: no request made */
		pthread_mutex_lock(&r->mu);
		answered(r, d, i, rc, answer, err.msg);
		if (r->ready != NULL) {
			pthread_mutex_unlock(&r->mu);
			drain(r);
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
	d->version = dp_record_version(rec);
	for (int i = 0; i < n; i++) {
		int len;
		dp_doc_chunk_text(rec, i, &len);
		d->bytes += (size_t)len;
	}
	pthread_mutex_lock(&r->mu);
	if (!dp_versions_add(&r->versions, d->version)) {
		r->copies++;
		pthread_mutex_unlock(&r->mu);
		sdoc_free(d);
		return;
	}
	while (r->held_docs > 0 && (r->held_docs >= SUMMARIZE_HELD_DOCS_MAX ||
				    r->held_bytes + d->bytes > SUMMARIZE_HELD_BYTES_MAX))
		pthread_cond_wait(&r->room, &r->mu);
	d->order = r->admitted++;
	r->held_docs++;
	r->held_bytes += d->bytes;
	pthread_mutex_unlock(&r->mu);
	d->start_us = dp_clock_us();
	d->held = dp_stats_hold(d->rec);
	dp_stats_add(DP_STAT_IN_FLIGHT, 1);
	atomic_fetch_add(&r->io.counts->in_flight, 1);
	step(r, d);
	drain(r);
}

int summarize_run_scheduled(summarize_ctx *c, dp_source *src, dp_sink *sink, int workers,
			    dp_stage_counts *counts, dp_err *err)
{
	struct run r = {.c = c};
	dp_stage_pool pool;
	int rc;

	if ((r.flights = dp_flights_new()) == NULL) {
		dp_err_set(err, "out of memory");
		return DP_EXIT_SYSTEM;
	}
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
	if (r.copies > 0)
		dp_diag("%lu document(s) came again while held (a hub's re-send): the copies were"
			" dropped, the originals answer for them", r.copies);
	dp_versions_free(&r.versions);
	dp_flight_waiter *left; /* none: every document held was finished */
	dp_flights_free(&r.flights, &left);
	free(left);
	pthread_cond_destroy(&r.work);
	pthread_cond_destroy(&r.room);
	pthread_mutex_destroy(&r.mu);
	rc = dp_stage_io_finish(&r.io, err);
	dp_stage_io_destroy(&r.io);
	return rc;
}
