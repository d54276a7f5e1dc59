#include "batch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "record.h"
#include "stats.h"
#include "versions.h"

/* Documents looked up in one cache round trip at most. */
#define LOOKUP_DOCS_MAX 256

struct bdoc {
	embed_doc d;
	size_t bytes;     /* embed_doc_held_bytes, for the hold's limit */
	int unresolved;   /* under mu: chunks to ask or waiting on another's
			   * request (dp_flights), with neither a vector nor a
			   * failure yet (+1 while claim and lookup run) */
	int nowned;       /* d.todo[0..nowned): the chunks whose keys it owns */
	int listed;       /* under mu: in a list (lookup, pending) */
	int nsent;        /* d.todo[0..nsent) are taken into requests */
	char *error;      /* the first failure (owned), or NULL */
	long queued_us;   /* when it joined the pending queue */
	long held;        /* dp_stats_hold's token */
	char *version;    /* dp_record_version, in run.versions while held */
	struct bdoc *next; /* in a list, or in a chain of documents done */
};

struct item {
	struct bdoc *doc;
	int chunk;
};

struct list {
	struct bdoc *head, *tail;
};

struct run {
	embed_ctx *c;
	dp_stage_io io;
	size_t batch_inputs;
	size_t dim;
	pthread_mutex_t mu;
	/* Held by the one worker that writes a document (embed_doc_put): on
	 * a ZeroMQ sink its text is built whole (1.1 MB at 3,072 dimensions),
	 * not in the hold's count, and behind a slow reader every worker held
	 * one (8 workers: 12 MB more, 61 MB in all); the others wait with
	 * theirs still counted (on stdout it goes a chunk at a time). */
	pthread_mutex_t out;
	pthread_cond_t work; /* workers: something to look up or send, or the end */
	pthread_cond_t room; /* the reader: the hold has room again */
	/* Under mu: */
	struct list lookup;  /* read, not looked up yet */
	size_t nlookup;
	struct list pending; /* with chunks not yet taken into a request */
	size_t pending_chunks, pending_tokens;
	size_t held_docs, held_bytes;
	dp_versions versions; /* of the documents held */
	dp_flights *flights;  /* keys claimed by chunks held (reuse.h) */
	unsigned long copies; /* copies of a held version dropped */
	int input_ended;
	int stop;            /* I/O failed: give up */
	int reader_waiting;  /* the reader is in dp_source_next ... */
	long reader_wait_since; /* ... since then */
	atomic_int no_input_said; /* split_failed's verdict was said (once) */
	/* Under mu: the most inputs a new request takes (batch_inputs, or
	 * less after a request of more was not answered within --timeout),
	 * and the requests answered in a row since it was last changed. */
	size_t cap;
	int cap_answered;
};

/* Requests answered in a row at the cap before it grows by a quarter. */
#define CAP_GROW_AFTER 16

/* Per-worker buffers for one request of at most batch_inputs chunks: its
 * vectors are read where they are kept (dp_embedder_embed_each), made
 * for each request and handed to their chunks. */
struct scratch {
	struct item *items;
	const char **texts;
	const char **keys;
	size_t *lens;
	float **vecs;
};

static void list_push(struct list *l, struct bdoc *d)
{
	d->next = NULL;
	if (l->tail != NULL)
		l->tail->next = d;
	else
		l->head = d;
	l->tail = d;
	d->listed = 1;
}

static struct bdoc *list_pop(struct list *l)
{
	struct bdoc *d = l->head;

	if (d != NULL) {
		l->head = d->next;
		if (l->head == NULL)
			l->tail = NULL;
		d->next = NULL;
		d->listed = 0;
	}
	return d;
}

static void bdoc_free(struct bdoc *d)
{
	free(d->version);
	embed_doc_free(&d->d);
	free(d->error);
	free(d);
}

/* Stops everything (after an I/O failure, latched in r->io).  Called
 * without mu. */
static void stop(struct run *r)
{
	pthread_mutex_lock(&r->mu);
	r->stop = 1;
	pthread_cond_broadcast(&r->work);
	pthread_cond_broadcast(&r->room);
	pthread_mutex_unlock(&r->mu);
}

/* Records the first I/O failure and stops everything.  Called without mu. */
static void fail(struct run *r, const dp_err *e)
{
	dp_stage_io_fail(&r->io, e);
	stop(r);
}

/* Writes rec (consumed); stops everything when the output failed. */
static void put(struct run *r, jv rec)
{
	if (dp_stage_io_put(&r->io, rec) < 0)
		stop(r);
}

/* Writes a document whose chunks are all resolved, and frees its room in
 * the hold.  Called without mu. */
static void emit(struct run *r, struct bdoc *d)
{
	pthread_mutex_lock(&r->out);
	if (embed_doc_put(r->c, &d->d, d->error, &r->io) < 0)
		stop(r);
	pthread_mutex_unlock(&r->out);
	dp_stats_add(DP_STAT_IN_FLIGHT, -1);
	dp_stats_release(d->held);
	pthread_mutex_lock(&r->mu);
	dp_versions_remove(&r->versions, d->version);
	r->held_docs--;
	r->held_bytes -= d->bytes;
	pthread_cond_signal(&r->room);
	pthread_mutex_unlock(&r->mu);
	bdoc_free(d);
}

/* Writes the documents of the chain done (next).  Called without mu. */
static void emit_chain(struct run *r, struct bdoc *done)
{
	while (done != NULL) {
		struct bdoc *d = done;
		done = d->next;
		emit(r, d);
	}
}

/* Under mu: one thing less for d to wait for; d joins the chain *done
 * when it was the last.  (A document whose count drops to 0 is in no
 * list: a listed one has chunks not sent, a claiming one its +1.) */
static void count_down(struct bdoc *d, struct bdoc **done)
{
	if (--d->unresolved == 0) {
		d->next = *done;
		*done = d;
	}
}

/* Under mu: d's chunk i has its vector (vec owned; NULL when it could not
 * be kept: out of memory) or failed with reason (vec unused).  d's error is its first
 * failure, or a failure of its own after "not sent" (dp_http_is_not_sent:
 * the chunk refused with the run's reason, not the one queued behind it). */
static void settle(struct bdoc *d, int i, float *vec, const char *reason, struct bdoc **done)
{
	if (reason == NULL) {
		free(d->d.vecs[i]);
		d->d.vecs[i] = vec;
	} else if (d->error == NULL || (dp_http_is_not_sent(d->error) && !dp_http_is_not_sent(reason))) {
		free(d->error);
		d->error = strdup(reason);
		if (d->error == NULL)
			d->error = strdup("out of memory");
	}
	count_down(d, done);
}

/* Under mu: d's chunk i, the owner of its key, has vec (borrowed; NULL:
 * out of memory): the chunks that waited on it take copies. */
static void deliver(struct run *r, struct bdoc *d, int i, const float *vec, struct bdoc **done)
{
	dp_flight_waiter *w;
	size_t n = dp_flights_settle(r->flights, d->d.keys[i], d, (size_t)i, &w);

	for (size_t k = 0; k < n; k++) {
		float *copy = vec != NULL ? malloc(r->dim * sizeof *copy) : NULL;
		if (copy != NULL)
			memcpy(copy, vec, r->dim * sizeof *copy);
		settle(w[k].who, (int)w[k].i, copy, NULL, done);
	}
	free(w);
	if (n > 0)
		atomic_fetch_add(&r->c->reused, (unsigned long)n);
}

/* Under mu: claims the keys of d's chunks (dp_flights) before the cache is
 * asked, so a copy of a text held or arriving meanwhile waits for this
 * one's vector instead of paying for its own: d.todo keeps the chunks it
 * owns (nowned), the others wait.  d->unresolved counts them, +1 until
 * queue_owned. */
static void claim_chunks(struct run *r, struct bdoc *d)
{
	int owned = 0;

	d->unresolved = 1;
	for (int t = 0; t < d->d.ntodo; t++) {
		int i = d->d.todo[t];
		if (dp_flights_claim(r->flights, d->d.keys[i], d, (size_t)i) == 0)
			d->unresolved++;
		else
			d->d.todo[owned++] = i;
	}
	d->d.ntodo = d->nowned = owned;
}

/* Under mu: d's owned chunks were looked up (embed_docs_lookup): those
 * found answer their waiters, those missing are queued for requests; d
 * joins *done when nothing is left to come. */
static void queue_owned(struct run *r, struct bdoc *d, struct bdoc **done)
{
	for (int t = d->d.ntodo; t < d->nowned; t++)
		deliver(r, d, d->d.todo[t], d->d.vecs[d->d.todo[t]], done);
	d->unresolved += d->d.ntodo;
	if (d->d.ntodo > 0) {
		d->queued_us = dp_clock_us();
		list_push(&r->pending, d);
		r->pending_chunks += (size_t)d->d.ntodo;
		for (int k = 0; k < d->d.ntodo; k++)
			r->pending_tokens += d->d.tokens[d->d.todo[k]];
		pthread_cond_broadcast(&r->work);
	}
	count_down(d, done); /* the +1 of claim_chunks */
}

/* Gives items[0..n) their vectors (vecs, consumed), and the chunks that
 * waited on them copies, and writes the documents this completes.  Called
 * without mu. */
static void resolve(struct run *r, struct item *items, size_t n, float **vecs)
{
	struct bdoc *done = NULL;

	pthread_mutex_lock(&r->mu);
	for (size_t k = 0; k < n; k++) {
		deliver(r, items[k].doc, items[k].chunk, vecs[k], &done);
		settle(items[k].doc, items[k].chunk, vecs[k], NULL, &done);
	}
	pthread_mutex_unlock(&r->mu);
	emit_chain(r, done);
}

static int one_document(const struct item *items, size_t n)
{
	for (size_t k = 1; k < n; k++)
		if (items[k].doc != items[0].doc)
			return 0;
	return 1;
}

static void send_items(struct run *r, struct scratch *s, struct item *items, size_t n);

/* items[0..n) failed for good with reason.  An item whose key has
 * waiters, asked fewer than DP_FLIGHT_TRIES times, is asked again by its
 * first waiter, alone, and waits on it in turn (dp_flights_hand_over):
 * copies fare alike, all answered or all failed; otherwise the item and
 * its waiters fail with reason. */
static void fail_items(struct run *r, struct scratch *s, struct item *items, size_t n, const char *reason)
{
	struct item *heirs = malloc((n + 1) * sizeof *heirs);
	struct bdoc *done = NULL;
	size_t nheirs = 0;

	pthread_mutex_lock(&r->mu);
	for (size_t k = 0; k < n; k++) {
		struct bdoc *d = items[k].doc;
		int i = items[k].chunk;
		dp_flight_waiter h, *w;
		if (heirs != NULL && dp_flights_hand_over(r->flights, d->d.keys[i], d, (size_t)i, 1, &h)) {
			heirs[nheirs++] = (struct item){h.who, (int)h.i};
			if (dp_flights_claim(r->flights, d->d.keys[i], d, (size_t)i) != 0)
				settle(d, i, NULL, "out of memory", &done);
			continue;
		}
		size_t nw = dp_flights_settle(r->flights, d->d.keys[i], d, (size_t)i, &w);
		for (size_t j = 0; j < nw; j++)
			settle(w[j].who, (int)w[j].i, NULL, reason, &done);
		free(w);
		settle(d, i, NULL, reason, &done);
	}
	pthread_mutex_unlock(&r->mu);
	emit_chain(r, done);
	for (size_t k = 0; k < nheirs; k++)
		send_items(r, s, &heirs[k], 1);
	free(heirs);
}

/* Sends items[0..n) in one request.  Returns 0 when they got their vectors
 * (resolved), else the dp_http code with err set (nothing resolved). */
static int try_items(struct run *r, struct scratch *s, struct item *items, size_t n, dp_err *err)
{
	embed_ctx *c = r->c;
	int rc;

	/* Checked before the request is built (dp_http checks again once a
	 * place is taken: a refusal meanwhile). */
	if (dp_http_not_sent(dp_embedder_http(c->embedder), err))
		return DP_HTTP_REFUSED;
	for (size_t k = 0; k < n; k++) {
		const embed_doc *d = &items[k].doc->d;
		s->texts[k] = d->texts[items[k].chunk];
		s->lens[k] = d->lens[items[k].chunk];
		s->keys[k] = d->keys[items[k].chunk];
	}
	if (embed_vectors_new(c, s->vecs, n) < 0) {
		dp_err_set(err, "out of memory");
		return DP_HTTP_FAILED;
	}
	rc = dp_embedder_embed_each(c->embedder, s->texts, s->lens, n, s->vecs, err);
	/* A request of n not answered within --timeout: later ones take at
	 * most n / 2 (every full batch timed out again, then went in parts:
	 * 2x the wall and the inputs paid); answered ones at the cap let it
	 * grow back slowly (a stall that passed). */
	if (rc == DP_HTTP_TIMED_OUT || (rc == 0 && n > 1)) {
		pthread_mutex_lock(&r->mu);
		if (rc != 0 && n / 2 < r->cap) {
			r->cap = n / 2 > 0 ? n / 2 : 1;
			r->cap_answered = 0;
		} else if (rc == 0 && n >= r->cap && r->cap < r->batch_inputs &&
			   ++r->cap_answered >= CAP_GROW_AFTER) {
			r->cap += (r->cap + 3) / 4;
			if (r->cap > r->batch_inputs)
				r->cap = r->batch_inputs;
			r->cap_answered = 0;
		}
		pthread_mutex_unlock(&r->mu);
	}
	if (rc == 0) {
		embed_keep_vectors(c, s->vecs, n, s->keys);
		resolve(r, items, n, s->vecs);
	} else {
		embed_vectors_free(s->vecs, n);
	}
	return rc;
}

/* A failure that answers for the content (rejected, or given up on with
 * answers from the server: malformed, 5xx until the retries were spent)
 * of chunks of several documents: halving finds the culprit.  Without an
 * answer (connection, TLS, redirects) other content would fare no better. */
static int splittable(int rc, const struct item *items, size_t n)
{
	return (rc == DP_HTTP_REJECTED || rc == DP_HTTP_FAILED) && n > 1 && !one_document(items, n);
}

/* Whether a failure is a call given up after its retries on weather (5xx,
 * a storm, no answer: DP_ERR_SPENT), not on an answer (a rejection, a
 * wrong answer, a body that is not JSON however often it came).  Its
 * kind, not its words: "gave up after" was matched in the message. */
static int gave_up(const dp_err *why) { return why->kind == DP_ERR_SPENT; }

/* Whether failures a and b (its reason) may be one failure that is no
 * input's: the same answer at once (a rejection, a wrong answer).  A call
 * given up after its retries is weather, which a half sent again may get
 * through: never such a verdict. */
static int same_reason(const dp_err *a, const char *b)
{
	return !gave_up(a) && strcmp(a->msg, b) == 0;
}

static void split_failed(struct run *r, struct scratch *s, struct item *items, size_t n, const char *reason);
static void send_halves(struct run *r, struct scratch *s, struct item *items, size_t n);

/* items[0..n) failed as a whole with rc and reason: sends them in halves
 * when they were too many to be answered within --timeout, finds the
 * culprit, or fails them. */
static void after_failure(struct run *r, struct scratch *s, struct item *items, size_t n, int rc,
			  const char *reason)
{
	if (rc == DP_HTTP_TIMED_OUT)
		send_halves(r, s, items, n);
	else if (splittable(rc, items, n))
		split_failed(r, s, items, n, reason);
	else
		fail_items(r, s, items, n, reason);
}

/* Sends items[0..n) in one request, dealt with as a request of its own
 * when it fails (after_failure). */
static void send_part(struct run *r, struct scratch *s, struct item *items, size_t n)
{
	dp_err err;
	int rc = try_items(r, s, items, n, &err);

	if (rc != 0)
		after_failure(r, s, items, n, rc, err.msg);
}

/* Sends items[0..n) (n > 1) in two requests (a half that times out is
 * halved again). */
static void send_halves(struct run *r, struct scratch *s, struct item *items, size_t n)
{
	send_part(r, s, items, n / 2);
	send_part(r, s, items + n / 2, n - n / 2);
}

/* items[0..n) (n > 1) were not answered within --timeout (DP_HTTP_TIMED_OUT):
 * their first input goes alone, then the rest in halves.  The lone input
 * tells a batch too big for --timeout (it is answered: the halves follow)
 * from a server that answers nothing (a hung one that takes connections:
 * the input waits out its retries, DP_HTTP_UNREACHABLE with no request
 * answered meanwhile, and the batch fails with its reason, as it did
 * whole), at the cost of one request, not of log2(n) halvings each waiting
 * out --timeout.  A lone input given up while others were answered (since
 * the request was sent: answered_before, dp_http_stats.answered then) is
 * too slow alone: its document fails, the rest goes on. */
static void after_timeout(struct run *r, struct scratch *s, struct item *items, size_t n,
			  unsigned long answered_before)
{
	dp_err err;
	dp_http_stats after;
	int rc = try_items(r, s, items, 1, &err);

	dp_http_get_stats(dp_embedder_http(r->c->embedder), &after);
	if (rc == DP_HTTP_UNREACHABLE && after.answered == answered_before) {
		fail_items(r, s, items, n, err.msg);
		return;
	}
	if (rc != 0)
		after_failure(r, s, items, 1, rc, err.msg);
	if (n == 2)
		send_part(r, s, items + 1, 1);
	else
		send_halves(r, s, items + 1, n - 1);
}

/* The part of a half that failed alike with its twin, after its first
 * item was sent alone (probe_rc: 0, answered; else it failed with probe):
 * the rest is sent again, or halved when the probe was answered (the
 * half's failure is then the rest's). */
static void after_probe(struct run *r, struct scratch *s, struct item *half, size_t n, int probe_rc,
			const char *probe, const char *reason)
{
	if (probe_rc != 0)
		fail_items(r, s, half, 1, probe);
	if (n == 1)
		return;
	if (probe_rc == 0) {
		after_failure(r, s, half + 1, n - 1, DP_HTTP_REJECTED, reason);
	} else {
		dp_err err;
		int rc = try_items(r, s, half + 1, n - 1, &err);
		if (rc != 0)
			after_failure(r, s, half + 1, n - 1, rc, err.msg);
	}
}

/* items[0..n) (n > 1) failed with reason: halves them until the failing
 * input is alone, so only its document fails.  A failure that is no
 * input's (a wrong model name, a server that ignores "dimensions", a
 * parameter the model refuses) fails every half alike (same_reason): halving down to
 * single inputs paid 598 requests for 112 documents whose clean run takes
 * 14 (helper's fault sweep 5).  So when both halves fail with their
 * parent's reason, the first input of each goes alone; when both of those
 * fail alike too, the reason is taken for the request's, not an input's,
 * and the rest fail with it unsent: 5 requests for a batch, not 2n - 1.
 * Poison inputs are rare, so a probe is mostly answered and the halving
 * goes on (two culprits each first in a half: both fail, and their halves
 * with them, a cost accepted). */
static void split_failed(struct run *r, struct scratch *s, struct item *items, size_t n, const char *reason)
{
	size_t h = n / 2;
	struct item *a = items, *b = items + h;
	dp_err ea, eb, pa, pb;
	int rca = try_items(r, s, a, h, &ea), rcb = try_items(r, s, b, n - h, &eb);

	if (rca == 0 || rcb == 0 || !same_reason(&ea, reason) || !same_reason(&eb, reason) || n < 4) {
		if (rca != 0)
			after_failure(r, s, a, h, rca, ea.msg);
		if (rcb != 0)
			after_failure(r, s, b, n - h, rcb, eb.msg);
		return;
	}
	int rpa = try_items(r, s, a, 1, &pa), rpb = try_items(r, s, b, 1, &pb);
	if (rpa != 0 && rpb != 0 && same_reason(&pa, reason) && same_reason(&pb, reason)) {
		if (!atomic_exchange(&r->no_input_said, 1))
			dp_diag("a batch of %zu inputs failed whole, its halves and an input of each alike:"
				" not split further (the reason is no input's; said once): %s", n, reason);
		fail_items(r, s, items, n, pa.msg);
		return;
	}
	after_probe(r, s, a, h, rpa, pa.msg, ea.msg);
	after_probe(r, s, b, n - h, rpb, pb.msg, eb.msg);
}

/* Sends items[0..n) (s->items is the whole request) in one request; when
 * it fails for its content and holds chunks of several documents, finds
 * the culprit (split_failed), so only its document fails.  A request of
 * one document answered wrongly (an answer that came but does not fit:
 * malformed, an error object, a wrong count, a value not finite; never
 * retried by dp_http, whatever --retries) is sent once more, as the split
 * sends again the documents of a request of several: a document's fate
 * does not hang on which documents shared its request.  One request more
 * for the lone document, as for a half; a call given up after its
 * attempts on weather is not (--retries was spent on it: gave_up), one
 * whose attempts met bodies that are not JSON is (dp_http retries those
 * as 5xx, within --retries: with --retries 1 a lone document failed on
 * one where a shared request's halves were sent again).  A request not answered
 * within --timeout is sent in smaller parts (after_timeout). */
static void send_items(struct run *r, struct scratch *s, struct item *items, size_t n)
{
	dp_err err;

	/* Taken before a request timed out and lowered the cap (a worker
	 * takes its next request while a place is awaited): sent in parts
	 * of the cap, not whole to time out again. */
	pthread_mutex_lock(&r->mu);
	size_t cap = r->cap;
	pthread_mutex_unlock(&r->mu);
	if (n > cap) {
		for (size_t k = 0; k < n; k += cap)
			send_items(r, s, items + k, n - k < cap ? n - k : cap);
		return;
	}
	/* Answers counted from the request's sending: one answered while it
	 * waited shows the server alive (after_timeout). */
	dp_http *http = dp_embedder_http(r->c->embedder);
	dp_http_stats before = {0};
	if (http != NULL)
		dp_http_get_stats(http, &before);
	int rc = try_items(r, s, items, n, &err);

	if (rc == DP_HTTP_FAILED && one_document(items, n) && !gave_up(&err))
		rc = try_items(r, s, items, n, &err);
	if (rc == DP_HTTP_TIMED_OUT)
		after_timeout(r, s, items, n, before.answered);
	else if (rc != 0)
		after_failure(r, s, items, n, rc, err.msg);
}

/* Under mu: 1 when the reader has waited for input idle_ms (or it ended). */
static int idle_for(struct run *r, long now, long idle_ms)
{
	return r->input_ended || (r->reader_waiting && now - r->reader_wait_since >= idle_ms * 1000L);
}

/* Under mu: 1 when a request should go now. */
static int ready_to_send(struct run *r, long now)
{
	if (r->pending_chunks == 0)
		return 0;
	return r->pending_chunks >= r->batch_inputs ||
	       r->pending_tokens >= DP_EMBED_REQUEST_TOKENS_MAX || idle_for(r, now, EMBED_IDLE_MS) ||
	       r->held_docs >= EMBED_HELD_DOCS_MAX || r->held_bytes >= EMBED_HELD_BYTES_MAX ||
	       now - r->pending.head->queued_us >= EMBED_LINGER_MS * 1000L;
}

/* Under mu: the most chunks the next request takes.  Full batches while
 * input flows; when it ended or has paused for EMBED_LINGER_MS, what is
 * pending is shared out among the requests allowed in flight (level), so
 * that one huge document's chunks go out in many parallel requests rather
 * than a few long ones. */
static size_t batch_size(struct run *r, long now)
{
	size_t level = (size_t)dp_http_level(dp_embedder_http(r->c->embedder));
	size_t share;

	if (!idle_for(r, now, EMBED_LINGER_MS) || level <= 1)
		return r->cap;
	share = (r->pending_chunks + level - 1) / level;
	return share < 1 ? 1 : share < r->cap ? share : r->cap;
}

/* Under mu: takes the next request's chunks (at most max), oldest first. */
static size_t take_batch(struct run *r, struct item *items, size_t max)
{
	size_t n = 0, tokens = 0;

	while (r->pending.head != NULL && n < max) {
		struct bdoc *d = r->pending.head;
		int i = d->d.todo[d->nsent];
		size_t t = d->d.tokens[i];
		if (n > 0 && tokens + t > DP_EMBED_REQUEST_TOKENS_MAX)
			break;
		items[n].doc = d;
		items[n++].chunk = i;
		tokens += t;
		r->pending_chunks--;
		r->pending_tokens -= t;
		if (++d->nsent == d->d.ntodo)
			list_pop(&r->pending);
	}
	return n;
}

/* Under mu: waits for work, at most until a partial request is due. */
static void wait_for_work(struct run *r)
{
	long deadline = -1;

	if (r->pending.head != NULL) {
		deadline = r->pending.head->queued_us + EMBED_LINGER_MS * 1000L;
		if (r->reader_waiting && r->reader_wait_since + EMBED_IDLE_MS * 1000L < deadline)
			deadline = r->reader_wait_since + EMBED_IDLE_MS * 1000L;
	}
	if (deadline < 0) {
		pthread_cond_wait(&r->work, &r->mu);
		return;
	}
	struct timespec until = dp_deadline_ms((double)(deadline - dp_clock_us()) / 1000);
	pthread_cond_timedwait(&r->work, &r->mu, &until);
}

/* Under mu: claims and looks up (without mu) the documents read, up to
 * LOOKUP_DOCS_MAX of them, and queues their chunks. */
static void lookup_some(struct run *r, struct bdoc **docs)
{
	struct bdoc *done = NULL;
	size_t n = 0;

	while (n < LOOKUP_DOCS_MAX && r->lookup.head != NULL) {
		docs[n] = list_pop(&r->lookup);
		claim_chunks(r, docs[n++]);
		r->nlookup--;
	}
	pthread_mutex_unlock(&r->mu);
	embed_doc *ed[LOOKUP_DOCS_MAX];
	for (size_t k = 0; k < n; k++)
		ed[k] = &docs[k]->d;
	embed_docs_lookup(r->c, ed, n);
	pthread_mutex_lock(&r->mu);
	for (size_t k = 0; k < n; k++)
		queue_owned(r, docs[k], &done);
	pthread_mutex_unlock(&r->mu);
	emit_chain(r, done);
	pthread_mutex_lock(&r->mu);
}

static void *worker(void *arg)
{
	struct run *r = arg;
	size_t m = r->batch_inputs;
	struct scratch s = {
		.items = malloc(m * sizeof *s.items),
		.texts = malloc(m * sizeof *s.texts),
		.keys = malloc(m * sizeof *s.keys),
		.lens = malloc(m * sizeof *s.lens),
		.vecs = malloc(m * sizeof *s.vecs),
	};
	struct bdoc **docs = malloc(LOOKUP_DOCS_MAX * sizeof *docs);

	if (!s.items || !s.texts || !s.keys || !s.lens || !s.vecs || !docs) {
		dp_err e;
		dp_err_set(&e, "out of memory");
		fail(r, &e);
	}
	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		if (r->lookup.head != NULL) {
			lookup_some(r, docs);
		} else if (ready_to_send(r, dp_clock_us())) {
			size_t n = take_batch(r, s.items, batch_size(r, dp_clock_us()));
			pthread_mutex_unlock(&r->mu);
			send_items(r, &s, s.items, n);
			pthread_mutex_lock(&r->mu);
		} else if (r->input_ended && r->pending.head == NULL) {
			break;
		} else {
			wait_for_work(r);
		}
	}
	pthread_mutex_unlock(&r->mu);
	free(s.items);
	free(s.texts);
	free(s.keys);
	free(s.lens);
	free(s.vecs);
	free(docs);
	return NULL;
}

/* Takes a document record (consumed) into the hold. */
static void take(struct run *r, jv rec)
{
	struct bdoc *d;
	dp_err e;

	if ((d = calloc(1, sizeof *d)) == NULL) {
		put(r, dp_record_error(rec, "embed", "out of memory"));
		return;
	}
	if (embed_doc_prepare(r->c, rec, &d->d, &e) < 0) {
		put(r, dp_record_error(jv_copy(d->d.rec), "embed", e.msg));
		bdoc_free(d);
		return;
	}
	d->bytes = embed_doc_held_bytes(r->c, &d->d);
	d->version = dp_record_version(d->d.rec);
	pthread_mutex_lock(&r->mu);
	if (!dp_versions_add(&r->versions, d->version)) { /* a copy (versions.h) */
		r->copies++;
		pthread_mutex_unlock(&r->mu);
		bdoc_free(d);
		return;
	}
	pthread_mutex_unlock(&r->mu);
	d->held = dp_stats_hold(d->d.rec);
	dp_stats_add(DP_STAT_IN_FLIGHT, 1);
	pthread_mutex_lock(&r->mu);
	r->held_docs++;
	r->held_bytes += d->bytes;
	if (r->c->reuse != NULL && !r->c->refresh) {
		list_push(&r->lookup, d);
		r->nlookup++;
		pthread_cond_signal(&r->work);
		d = NULL;
	}
	pthread_mutex_unlock(&r->mu);
	if (d != NULL) { /* no cache to ask */
		struct bdoc *done = NULL;
		pthread_mutex_lock(&r->mu);
		claim_chunks(r, d);
		queue_owned(r, d, &done);
		pthread_mutex_unlock(&r->mu);
		emit_chain(r, done);
	}
}

/* A document held and not written (the stage stopped): freed. */
static void discard(struct bdoc *d)
{
	dp_stats_add(DP_STAT_IN_FLIGHT, -1);
	dp_stats_release(d->held);
	bdoc_free(d);
}

static void free_list(struct list *l)
{
	struct bdoc *d;

	while ((d = list_pop(l)) != NULL)
		discard(d);
}

/* After a stop, the documents whose chunks still wait on requests never
 * sent: those in no list are freed once their last waiting chunk is
 * counted (all their other chunks were answered), those listed by
 * free_list. */
static void free_waiting(struct run *r)
{
	dp_flight_waiter *left;
	size_t n = dp_flights_free(&r->flights, &left);

	for (size_t k = 0; k < n; k++) {
		struct bdoc *d = left[k].who;
		if (!d->listed && --d->unresolved == 0)
			discard(d);
	}
	free(left);
}

/* Reads records into the hold while there is room (back-pressure), until
 * the input ends or the stage stops. */
static void read_input(struct run *r, dp_source *src)
{
	for (;;) {
		jv rec;
		dp_err e;
		int rc;

		pthread_mutex_lock(&r->mu);
		while (!r->stop && (r->held_docs >= EMBED_HELD_DOCS_MAX ||
				    r->held_bytes >= EMBED_HELD_BYTES_MAX))
			pthread_cond_wait(&r->room, &r->mu);
		if (r->stop) {
			pthread_mutex_unlock(&r->mu);
			return;
		}
		r->reader_waiting = 1;
		r->reader_wait_since = dp_clock_us();
		if (r->pending_chunks > 0)
			pthread_cond_broadcast(&r->work);
		pthread_mutex_unlock(&r->mu);
		rc = dp_source_next(src, &rec, &e);
		pthread_mutex_lock(&r->mu);
		r->reader_waiting = 0;
		pthread_mutex_unlock(&r->mu);
		if (rc == DP_SOURCE_ERROR)
			fail(r, &e);
		if (rc != DP_SOURCE_RECORD)
			return;
		if (dp_stage_io_take(&r->io, &rec))
			take(r, rec);
	}
}

int embed_run_batched(embed_ctx *c, dp_source *src, dp_sink *sink, int threads,
		      dp_stage_counts *counts, dp_err *err)
{
	struct run r = {
		.c = c,
		.batch_inputs = (size_t)dp_embedder_batch_inputs(c->embedder),
		.dim = (size_t)dp_embedder_dim(c->embedder),
	};
	r.cap = r.batch_inputs;
	dp_stage_pool pool;
	int rc;

	if ((r.flights = dp_flights_new()) == NULL) {
		dp_err_set(err, "out of memory");
		return DP_EXIT_SYSTEM;
	}
	dp_stage_io_init(&r.io, sink, counts, DP_KIND_DOCUMENT);
	pthread_mutex_init(&r.mu, NULL);
	pthread_mutex_init(&r.out, NULL);
	dp_cond_init(&r.work); /* wait_for_work's deadlines: dp_deadline_ms */
	pthread_cond_init(&r.room, NULL);
	dp_source_flush_on_idle(src, sink);
	if (dp_stage_pool_start_io(&pool, threads, worker, &r, &r.io) == 0)
		stop(&r);
	read_input(&r, src);
	dp_stage_pool_end_input(&pool, &r.mu, &r.work, &r.input_ended);
	/* Left only after an I/O failure stopped the workers. */
	free_waiting(&r);
	free_list(&r.lookup);
	free_list(&r.pending);
	if (r.copies > 0)
		dp_diag("%lu document(s) came again while held (a hub's re-send): the copies were"
			" dropped, the originals answer for them", r.copies);
	dp_versions_free(&r.versions);
	pthread_cond_destroy(&r.work);
	pthread_cond_destroy(&r.room);
	pthread_mutex_destroy(&r.mu);
	pthread_mutex_destroy(&r.out);
	rc = dp_stage_io_finish(&r.io, err);
	dp_stage_io_destroy(&r.io);
	return rc;
}
