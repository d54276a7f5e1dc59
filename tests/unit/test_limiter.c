/* --threads auto (src/lib/limiter.c) against simulated servers: a
 * millisecond-stepped replay of dp_http's use of the limiter (a place in
 * the level, then the pace, then the answer) against a server with slots,
 * a token-bucket rate wall as tests/fakeapi.py --rpm, and 429/5xx weather
 * at random as fakeapi --rate-429/--rate-5xx.  Deterministic (its own
 * random numbers).  The limiter's rules for single rounds are in
 * test_http.c. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limiter.h"
#include "t.h"

#define SIM_MAX_FLIGHT 512
#define STORM_SEEDS 300

struct server {
	int slots;          /* 0: as many as asked */
	double service_ms;  /* per request, in a slot */
	double wall_rps;    /* token bucket refilled at this rate (0: none) */
	double rate_429, rate_5xx;
	double wall_until_ms; /* the wall goes at this time (0: never) */
	double burst_s;     /* the bucket holds this many seconds of wall_rps (0: 1, as fakeapi) */
	double spread;      /* a service time is service_ms x (1 +- this), at random (0: always service_ms) */
	double sigma;       /* or lognormal, of mean service_ms, with this sigma (a model's
			     * answer time follows its output's length: a heavy tail) */
	double give_up_ms;  /* the callers' --timeout: a later answer is an error at
			     * that time, its slot still busy (as fakeapi serves a
			     * request its client left); run_job tells the limiter */
	double slow_at_ms;  /* requests sent from this time on (0: none) ... */
	double slow_ms;     /* ... take this long, for good (a slower card, a bigger model) */
};

struct result {
	long ok, throttled, errors, wall_429; /* answers; wall_429: from the bucket */
	int level_end, level_min_late;        /* level at the end, lowest in the last half */
	int most_in_flight;
};

static uint64_t rng_state;

static double rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* A standard normal deviate (Box-Muller). */
static double gauss(void)
{
	double u = 1 - rnd(), v = rnd();

	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

struct req {
	double sent_ms, answer_ms;
	unsigned long seq;
	enum dp_limiter_outcome o;
	int waiting; /* run_job: held back by the pace, not sent yet */
};

/* A token bucket refilled at a wall's rate, read when a request reaches
 * the server (as fakeapi.py's take_token). */
struct bucket {
	double tokens, at_ms; /* tokens held at at_ms */
	double cap;
};

/* The tokens b holds at t, refilled at rps since at_ms. */
static double tokens_at(const struct bucket *b, double rps, double t)
{
	return t > b->at_ms ? fmin(b->cap, b->tokens + (t - b->at_ms) * rps / 1000) : b->tokens;
}

/* The pace: q goes at now or, with iv ms between sends, at *next_send
 * (a request holds its place while it waits to go). */
static void pace_send(struct req *q, double now, double iv, double *next_send)
{
	q->sent_ms = now;
	if (iv > 0) {
		q->sent_ms = *next_send > now ? *next_send : now;
		*next_send = q->sent_ms + iv;
	}
}

/* The server's answer to q: its wall first (b, refilled at wall_rps,
 * read at q's send time), then 429/5xx weather at random, then the first
 * free of s->slots.  Returns 1 when the wall refused q. */
static int serve(struct req *q, const struct server *s, double wall_rps, struct bucket *b,
		 double *slot_free)
{
	if (wall_rps > 0) {
		double tok = tokens_at(b, wall_rps, q->sent_ms);
		if (q->sent_ms > b->at_ms)
			b->at_ms = q->sent_ms;
		b->tokens = tok >= 1 ? tok - 1 : tok;
		if (tok < 1) {
			q->o = DP_LIMITER_THROTTLED;
			q->answer_ms = q->sent_ms + 1;
			return 1;
		}
	}
	double x = rnd();
	if (x < s->rate_429 + s->rate_5xx) {
		q->o = x < s->rate_429 ? DP_LIMITER_THROTTLED : DP_LIMITER_ERROR;
		q->answer_ms = q->sent_ms + 1;
		return 0;
	}
	q->o = DP_LIMITER_OK;
	double start = q->sent_ms;
	double service = s->slow_at_ms > 0 && q->sent_ms >= s->slow_at_ms ? s->slow_ms : s->service_ms;
	if (s->spread > 0)
		service = round(service * (1 + s->spread * (2 * rnd() - 1)));
	else if (s->sigma > 0)
		service = fmax(1, round(service * exp(s->sigma * gauss() - s->sigma * s->sigma / 2)));
	if (s->slots > 0) {
		int k = 0;
		for (int i = 1; i < s->slots; i++)
			if (slot_free[i] < slot_free[k])
				k = i;
		if (slot_free[k] > start)
			start = slot_free[k];
		slot_free[k] = start + service;
	}
	q->answer_ms = start + service;
	if (s->give_up_ms > 0 && q->answer_ms - q->sent_ms > s->give_up_ms) {
		q->o = DP_LIMITER_ERROR;
		q->answer_ms = q->sent_ms + s->give_up_ms;
	}
	return 0;
}

/* Runs auto (max) for ms against s with endless work; returns what came back. */
static struct result simulate(const struct server *s, int max, double ms, uint64_t seed)
{
	static struct req fl[SIM_MAX_FLIGHT];
	double slot_free[256] = {0}, next_send = 0, cap = s->wall_rps > 1 ? s->wall_rps : 1;
	struct bucket bucket = {.tokens = cap, .cap = cap};
	struct result r = {.level_min_late = 1 << 30};
	int n = 0;
	dp_limiter l;

	rng_state = seed;
	dp_limiter_init(&l, 1, max);
	for (double now = 0; now < ms; now += 1) {
		for (int i = 0; i < n;) {
			if (fl[i].answer_ms > now) {
				i++;
				continue;
			}
			dp_limiter_done(&l, fl[i].seq, fl[i].o, fl[i].answer_ms - fl[i].sent_ms, 100, now);
			r.ok += fl[i].o == DP_LIMITER_OK;
			r.throttled += fl[i].o == DP_LIMITER_THROTTLED;
			r.errors += fl[i].o == DP_LIMITER_ERROR;
			fl[i] = fl[--n];
		}
		while (n < dp_limiter_level(&l) && n < SIM_MAX_FLIGHT) {
			struct req *q = &fl[n++];
			double iv = dp_limiter_interval_ms(&l);
			q->seq = dp_limiter_sent(&l, n);
			pace_send(q, now, iv, &next_send);
			if (n > r.most_in_flight)
				r.most_in_flight = n;
			r.wall_429 += serve(q, s, s->wall_rps, &bucket, slot_free);
		}
		if (now >= ms / 2 && dp_limiter_level(&l) < r.level_min_late)
			r.level_min_late = dp_limiter_level(&l);
	}
	r.level_end = dp_limiter_level(&l);
	return r;
}

/* A stage's work as dp_http sees it: `workers` callers (its threads),
 * each wanting a place for its next request; only `start_workers` of them
 * have work for the first start_ms (a stage that asks for little at first:
 * a document's few section requests).  A refused request's caller sleeps
 * before it asks again, as dp_http_post_json: a 429's Retry-After (the
 * weather's retry_ms; the wall's: until its next token), a 5xx's backoff
 * (500 ms, jittered).  When a place is free and no caller waits for one
 * or sleeps before a retry, the limiter is told (dp_limiter_idle), as
 * dp_http's release does. */
struct job {
	long requests; /* successes to get */
	int workers;
	double start_ms;
	int start_workers;
	double retry_ms;
	double end_ms;   /* from this time on (0: never) ... */
	int end_workers; /* ... only this many have work */
	double until_ms; /* the job stops here at the latest (0: 600 s) */
	int fixed;       /* a fixed level (--threads N), not auto */
	int no_deadline; /* the limiter is not told the server's give_up_ms */
};

/* A stage's job: 1,300 requests from 64 callers, 3 of them for the first
 * 300 ms (the first documents' summaries come before their chunks'). */
static const struct job stage_job = {.requests = 1300, .workers = 64, .start_ms = 300,
				     .start_workers = 3, .retry_ms = 200};

struct job_result {
	double ms; /* time to get them */
	long answers, throttled, errors, wall_429;
	int highest;
	double pace_rps, pace_most; /* the pace at the end, the highest */
	double ok_ms;    /* the successes' mean time, sending to answer */
	double late_flight; /* requests at the server, on average, over the run's second
			     * half (api_storm's measure, from fakeapi's log) */
	double start_weather; /* the weather when slow start first ended (-1: it did not) */
};

/* --trace, --trace-wall: run_job prints the limiter's decisions (tracing: 1). */
static int tracing;
static struct {
	int level, wall, testing, slow_start;
	double pace_rps, weather;
} traced;

/* After dp_limiter_done at now (outcome o): when tracing, a line for a
 * loss or a change of the level, pace, test, wall, slow start or weather. */
static void trace_done(const dp_limiter *l, double now, enum dp_limiter_outcome o)
{
	if (!tracing)
		return;
	if (o != DP_LIMITER_OK || traced.level != dp_limiter_level(l) || traced.wall != l->wall ||
	    traced.testing != l->testing || traced.slow_start != l->slow_start ||
	    traced.pace_rps != l->pace_rps || traced.weather != l->weather)
		printf("%6.0f ms %-4s level %2d pace %6.1f/s w_max %6.1f/s%s%s%s weather %.3f; window %d/%d, "
		       "test %d/%d; lowered %lu, undone %lu\n",
		       now, o == DP_LIMITER_OK ? "ok" : o == DP_LIMITER_THROTTLED ? "429" : "5xx",
		       dp_limiter_level(l), l->pace_rps, l->w_max_rps, l->slow_start ? " slow-start" : "",
		       l->testing ? " testing" : "", l->wall ? " wall" : "", l->weather, l->win_loss, l->win_n,
		       l->test.loss, l->test.n, l->decreases, l->undone);
	traced.level = dp_limiter_level(l);
	traced.wall = l->wall;
	traced.testing = l->testing;
	traced.slow_start = l->slow_start;
	traced.pace_rps = l->pace_rps;
	traced.weather = l->weather;
}

/* run_job's requests held back by the pace: they go (reach the server)
 * at their send time; the last went at *last_sent.  Returns how many the
 * wall refused. */
static long send_due(struct req *fl, int n, double now, const struct server *s, double wall_rps,
		     struct bucket *b, double *slot_free, double *last_sent)
{
	long refused = 0;

	for (int i = 0; i < n; i++)
		if (fl[i].waiting && fl[i].sent_ms <= now) {
			fl[i].waiting = 0;
			if (fl[i].sent_ms > *last_sent)
				*last_sent = fl[i].sent_ms;
			refused += serve(&fl[i], s, wall_rps, b, slot_free);
		}
	return refused;
}

/* The pace slowed to iv ms: the requests still held back take the new
 * spacing from the last send, in their order, as dp_http's acquire
 * re-spaces its callers that wait for the pace. */
static void respace(struct req *fl, int n, double now, double iv, double last_sent, double *next_send)
{
	int order[SIM_MAX_FLIGHT], k = 0;

	for (int i = 0; i < n; i++) {
		if (!fl[i].waiting)
			continue;
		int at = k++;
		for (; at > 0 && fl[order[at - 1]].sent_ms > fl[i].sent_ms; at--)
			order[at] = order[at - 1];
		order[at] = i;
	}
	*next_send = last_sent + iv > now ? last_sent + iv : now;
	for (int i = 0; i < k; i++) {
		struct req *q = &fl[order[i]];
		if (q->sent_ms < *next_send)
			q->sent_ms = *next_send;
		*next_send = q->sent_ms + iv;
	}
}

/* Runs a job with auto (max: the job's workers) against s. */
static struct job_result run_job(const struct server *s, const struct job *j, uint64_t seed)
{
	static struct req fl[SIM_MAX_FLIGHT];
	static int who[SIM_MAX_FLIGHT];
	static unsigned short at_server[600000]; /* requests sent, not answered, per ms */
	double ready[SIM_MAX_FLIGHT], slot_free[256] = {0}, next_send = 0, last_sent = -1, iv_was = 0;
	double cap = fmax(1, s->wall_rps * (s->burst_s > 0 ? s->burst_s : 1));
	struct bucket bucket = {.tokens = cap, .cap = cap};
	struct job_result r = {.start_weather = -1};
	int n = 0, busy[SIM_MAX_FLIGHT] = {0};
	long ok = 0;
	dp_limiter l;
	double now;

	rng_state = seed;
	dp_limiter_init(&l, !j->fixed, j->workers);
	if (!j->no_deadline)
		dp_limiter_deadline(&l, s->give_up_ms);
	for (int w = 0; w < j->workers; w++)
		ready[w] = 0;
	for (now = 0; ok < j->requests && now < (j->until_ms > 0 ? j->until_ms : 600000); now += 1) {
		double wall_rps = s->wall_until_ms > 0 && now >= s->wall_until_ms ? 0 : s->wall_rps;
		r.wall_429 += send_due(fl, n, now, s, wall_rps, &bucket, slot_free, &last_sent);
		for (int i = 0; i < n;) {
			if (fl[i].waiting || fl[i].answer_ms > now) {
				i++;
				continue;
			}
			dp_limiter_done(&l, fl[i].seq, fl[i].o, fl[i].answer_ms - fl[i].sent_ms, 100, now);
			trace_done(&l, now, fl[i].o);
			if (r.start_weather < 0 && !l.slow_start)
				r.start_weather = l.weather;
			r.answers++;
			int w = who[i];
			busy[w] = 0;
			if (fl[i].o == DP_LIMITER_OK) {
				ok++;
				r.ok_ms += fl[i].answer_ms - fl[i].sent_ms;
				ready[w] = now;
			} else if (fl[i].o == DP_LIMITER_THROTTLED) {
				r.throttled++;
				double tok = tokens_at(&bucket, wall_rps, now);
				ready[w] = now + (wall_rps > 0 && tok < 1 ? ceil((1 - tok) * 1000 / wall_rps)
									       : j->retry_ms);
			} else {
				r.errors++;
				ready[w] = now + 500 * (0.5 + 0.5 * rnd());
			}
			fl[i] = fl[--n];
			who[i] = who[n];
		}
		if (dp_limiter_interval_ms(&l) > iv_was)
			respace(fl, n, now, dp_limiter_interval_ms(&l), last_sent, &next_send);
		iv_was = dp_limiter_interval_ms(&l);
		int demand = now < j->start_ms ? j->start_workers
			     : j->end_ms > 0 && now >= j->end_ms ? j->end_workers : j->workers;
		int w = 0, retrying = 0;
		for (int k = 0; k < demand; k++)
			retrying |= !busy[k] && ready[k] > now;
		for (;;) {
			while (w < demand && (busy[w] || ready[w] > now))
				w++;
			if (w == demand || n >= dp_limiter_level(&l))
				break;
			struct req *q = &fl[n];
			double iv = dp_limiter_interval_ms(&l);
			busy[w] = 1;
			who[n++] = w;
			q->seq = dp_limiter_sent(&l, n);
			pace_send(q, now, iv, &next_send);
			q->waiting = 1;
			r.wall_429 += send_due(q, 1, now, s, wall_rps, &bucket, slot_free, &last_sent);
		}
		if (n < dp_limiter_level(&l) && w == demand && !retrying)
			dp_limiter_idle(&l, now);
		if (l.pace_rps > r.pace_most)
			r.pace_most = l.pace_rps;
		int out = 0;
		for (int i = 0; i < n; i++)
			out += !fl[i].waiting;
		at_server[(long)now] = (unsigned short)out;
	}
	r.ms = now;
	for (long t = (long)now / 2; t < (long)now; t++)
		r.late_flight += at_server[t];
	r.late_flight /= fmax(1, (long)now - (long)now / 2);
	r.ok_ms = ok > 0 ? r.ok_ms / ok : 0;
	r.highest = l.highest;
	r.pace_rps = l.pace_rps;
	return r;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void say(const char *what, const struct result *r)
{
	printf("# %s: %ld ok, %ld x 429 (%ld from the wall), %ld x 5xx; level %d at the end, "
	       "%d at least in the second half, %d in flight at most\n",
	       what, r->ok, r->throttled, r->wall_429, r->errors, r->level_end, r->level_min_late,
	       r->most_in_flight);
}

/* Jobs as a stage runs them (run_job): the storm's wall time against a
 * clean run's, per seed; a wall without headers: the share of 429s; both
 * at once.  (Before the app-limited start, the slow-start weather and
 * the wall's exact rate, docs/PERFORMANCE.md: storm median 3.74x clean,
 * worst 17.3x, 11 seeds of 30 over 3x; wall 31 x 429 of 1,331 answers.) */
static void job_tests(void)
{
	const struct server clean = {.slots = 16, .service_ms = 25};
	const struct server storm = {.slots = 16, .service_ms = 25, .rate_429 = 0.3, .rate_5xx = 0.05};
	const struct server wall = {.slots = 64, .service_ms = 20, .wall_rps = 50};
	const struct server wall_storm = {.slots = 64, .service_ms = 20, .wall_rps = 50, .rate_429 = 0.3};
	const struct job job = stage_job;
	struct job_result c = run_job(&clean, &job, 1), w, ws;
	double ratios[STORM_SEEDS], taken[STORM_SEEDS];
	int over3 = 0;

	printf("# job of %ld requests, 16 slots, clean: %.0f ms, level %d at most\n", job.requests,
	       c.ms, c.highest);
	for (uint64_t seed = 1; seed <= STORM_SEEDS; seed++) {
		struct job_result s = run_job(&storm, &job, seed);
		ratios[seed - 1] = s.ms / c.ms;
		taken[seed - 1] = s.start_weather;
		over3 += s.ms > 3 * c.ms;
	}
	qsort(ratios, STORM_SEEDS, sizeof ratios[0], cmp_double);
	qsort(taken, STORM_SEEDS, sizeof taken[0], cmp_double);
	printf("# storm / clean per seed: best %.2f, median %.2f, worst %.2f; %d of %d over 3x\n",
	       ratios[0], ratios[STORM_SEEDS / 2], ratios[STORM_SEEDS - 1], over3, STORM_SEEDS);
	/* Slow start ends when its last answers are lossier than those
	 * before; those alone gave a tenth of the seeds under 0.29 for the
	 * storm's 0.35 (session 54), and a weather taken low makes its next
	 * losses a wall's.  Counted, the share errs high (median 0.43): a
	 * wall behind weather meets a few more 429s. */
	printf("# the weather taken as slow start ends (0.35 at random): median %.3f, tenth %.3f\n",
	       taken[STORM_SEEDS / 2], taken[STORM_SEEDS / 10]);
	T_OK(taken[STORM_SEEDS / 10] >= 0.31 && taken[STORM_SEEDS / 2] <= 0.5,
	     "the storm's weather taken as slow start ends: a tenth of the seeds at most a little low");
	T_OK(ratios[STORM_SEEDS / 2] <= 2, "a job in a random storm, app-limited at first: median within 2x clean");
	/* Before a test judged the requests sent after its decrease, in
	 * their order: 2 seeds of these 300 over 3x, the worst 5.09x (a
	 * first test's answers, the losses of the requests sent after the
	 * successes it waited for, taken for a wall; session 56). */
	T_OK(over3 == 0 && ratios[STORM_SEEDS - 1] <= 3,
	     "and no seed over 3x (before: a false wall revoked, 258x; a test's first answers, 5.09x)");

	w = run_job(&wall, &job, 1);
	printf("# job against a wall of 50/s: %.0f ms (%.0f at the wall's rate), %ld x 429 of %ld answers, "
	       "level %d at most\n",
	       w.ms, (job.requests - wall.wall_rps) * 1000 / wall.wall_rps, w.throttled, w.answers, w.highest);
	T_OK(w.throttled < 0.02 * w.answers, "a job against a wall: under 2% of answers 429 (target 1%)");
	T_OK(w.ms < 1.1 * (job.requests - wall.wall_rps) * 1000 / wall.wall_rps,
	     "and within 10% of the wall's rate");

	/* Both: the wall's 429s stand out of the weather's. */
	double at_rate = job.requests * 1000 / (0.7 * wall.wall_rps), worst = 0;
	int slow = 0;
	ws = run_job(&wall_storm, &job, 2);
	printf("# job against a wall of 50/s and 30%% 429 at random: %.0f ms (%.0f at the wall's rate), "
	       "%ld x 429 (%ld from the wall) of %ld answers\n",
	       ws.ms, at_rate, ws.throttled, ws.wall_429, ws.answers);
	T_OK(ws.ms < 1.25 * at_rate, "wall + storm: within 25% of the wall's rate");
	/* Across seeds: a wall that weather's chance found, or behind which
	 * weather taken too low lowers the pace at each loss, is revoked
	 * (before: 16 seeds of 100 over 1.25x, one never ended). */
	double shares[100];
	for (uint64_t seed = 1; seed <= 100; seed++) {
		ws = run_job(&wall_storm, &job, seed);
		slow += ws.ms > 1.25 * at_rate;
		worst = ws.ms > worst ? ws.ms : worst;
		shares[seed - 1] = (double)ws.wall_429 / ws.answers;
	}
	qsort(shares, 100, sizeof shares[0], cmp_double);
	printf("# wall + storm, 100 seeds: %d over 1.25x the wall's rate, the worst %.2fx; answers 429 from the "
	       "wall: median %.1f%%\n",
	       slow, worst / at_rate, 100 * shares[50]);
	T_OK(slow <= 5 && worst < 1.5 * at_rate, "wall + storm, any seed: within 1.5x the wall's rate");
	/* Over seeds, not one's: seed 2 gave 20.8% before session 56, 36%
	 * after; the median seed 41.4% before, 40.9% after. */
	T_OK(shares[50] < 0.45, "wall + storm: the median seed under 45% of answers 429 from the wall");
}

/* Issue 8 (d): a small bucket (a quarter of a second of tokens) at a
 * high rate: its burst hardly inflates the rate the first wall comes at,
 * so a drain that takes that rate at half aims the climb under the wall,
 * no 429 comes to measure it, and 5% probes creep up (session 6's first
 * FIRST_WALL: 11% slower than the rate at 100/s, 25% at 200/s; aimed at
 * the whole rate, the drained bucket's lost refill made the climb's
 * measure low, held 8 s: 9% at 200/s).  Now 1.8% and 2.5%. */
static void small_bucket_tests(void)
{
	const double rates[] = {100, 200};
	int in_time = 0, under = 0;

	for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
		const struct server w = {.slots = 64, .service_ms = 20, .wall_rps = rates[i], .burst_s = 0.25};
		const struct job j = {.requests = (long)(26 * rates[i]), .workers = 64, .start_ms = 300,
				      .start_workers = 3, .retry_ms = 200};
		struct job_result r = run_job(&w, &j, 1);
		double ideal = (j.requests - 0.25 * rates[i]) * 1000 / rates[i];
		printf("# a bucket of 0.25 s at %.0f/s without headers: %ld x 429 of %ld answers (%.2f%%), %.0f ms (%.0f at its rate)\n",
		       rates[i], r.throttled, r.answers, 100.0 * r.throttled / r.answers, r.ms, ideal);
		in_time += r.ms < 1.05 * ideal;
		under += r.throttled < 0.01 * r.answers;
	}
	T_EQ_INT(in_time, 2, "a bucket of 0.25 s at 100 and 200/s: within 5% of its rate");
	T_EQ_INT(under, 2, "and under 1% of answers 429");
}

/* Issue 8 (d): the first wall.  A token bucket without x-ratelimit
 * headers (fakeapi.py --rpm N --no-ratelimit-headers: a bucket of one
 * second, Retry-After until the next token), a stage's 64 callers, ~26 s
 * of work at the wall's rate, as bench/api-throughput.sh drpm (3,000 rpm:
 * 50/s) and three other rates.  Before the first wall's burst-counting
 * rate was taken at half and dp_http re-spaced the requests waiting for
 * a slower pace (session 6): 19 x 429 of 1,319 answers at 50/s (1.4%),
 * 2.6% at 30/s; with the re-spacing alone 0.9% and 2.1%. */
static void first_wall_tests(void)
{
	const double rates[] = {30, 50, 100, 200};
	int under = 0, in_time = 0;

	for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
		const struct server w = {.slots = 64, .service_ms = 20, .wall_rps = rates[i]};
		const struct job j = {.requests = (long)(26 * rates[i]), .workers = 64, .start_ms = 300,
				      .start_workers = 3, .retry_ms = 200};
		struct job_result r = run_job(&w, &j, 1);
		double ideal = (j.requests - rates[i]) * 1000 / rates[i];
		printf("# a bucket of %.0f/s without headers: %ld x 429 of %ld answers (%.2f%%), %.0f ms (%.0f at its rate)\n",
		       rates[i], r.throttled, r.answers, 100.0 * r.throttled / r.answers, r.ms, ideal);
		under += r.throttled < 0.01 * r.answers;
		in_time += r.ms < 1.1 * ideal;
	}
	T_EQ_INT(under, 4, "a token bucket without headers, 30 to 200/s: under 1% of answers 429 at each");
	T_EQ_INT(in_time, 4, "and each within 10% of its rate");
	small_bucket_tests();
}

#define WEATHER_SEEDS 50

/* The weather / clean time ratios of WEATHER_SEEDS seeds of stage_job
 * against 16 slots whose answers are 429 (or 5xx) at random at rate, in
 * ratios[], sorted. */
static void weather_ratios(double rate, int server_errors, double ratios[WEATHER_SEEDS])
{
	const struct server clean = {.slots = 16, .service_ms = 25};
	const struct server s = {.slots = 16, .service_ms = 25, .rate_429 = server_errors ? 0 : rate,
				 .rate_5xx = server_errors ? rate : 0};
	double c = run_job(&clean, &stage_job, 1).ms;

	for (int seed = 0; seed < WEATHER_SEEDS; seed++)
		ratios[seed] = run_job(&s, &stage_job, (uint64_t)seed + 1).ms / c;
	qsort(ratios, WEATHER_SEEDS, sizeof ratios[0], cmp_double);
}

/* Light weather: a few % of 429s at random, too few for a test of 16
 * answers to see, was taken for a wall whose losses each lowered the
 * pace for good (before: median 13.2x the clean run at 3%, 8.9x at 5%,
 * the worst seeds 40x and 67x; then, revoked with its pace kept, 7.55x;
 * then, with the weather under 5% never taken from slow start, medians
 * 1.39-1.65x, the worst 2.56-4.10x; session 54: 1.00-1.01x, 1.08-3.64x). */
static void light_weather_tests(void)
{
	const double rates[] = {0.03, 0.05, 0.08};
	double r[WEATHER_SEEDS], worst = 0, median_most = 0;

	for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
		weather_ratios(rates[i], 0, r);
		printf("# %.0f%% of 429s at random, %d seeds: median %.2fx the clean run, worst %.2fx\n",
		       100 * rates[i], WEATHER_SEEDS, r[WEATHER_SEEDS / 2], r[WEATHER_SEEDS - 1]);
		median_most = r[WEATHER_SEEDS / 2] > median_most ? r[WEATHER_SEEDS / 2] : median_most;
		worst = r[WEATHER_SEEDS - 1] > worst ? r[WEATHER_SEEDS - 1] : worst;
	}
	T_OK(median_most <= 1.25, "light weather (3-8% of 429s at random): the median seed within 1.25x clean");
	T_OK(worst <= 4.5, "and none over 4.5x (before a wall's pace went with it: 7.55x)");
	/* 1%: slow start's end on two losses, the weather before them too
	 * light to take, and the test's 16 answers without a loss said a
	 * wall (the worst seed 3.36x before session 56: test_weather). */
	weather_ratios(0.01, 0, r);
	printf("# 1%% of 429s at random, %d seeds: median %.2fx the clean run, worst %.2fx\n", WEATHER_SEEDS,
	       r[WEATHER_SEEDS / 2], r[WEATHER_SEEDS - 1]);
	T_OK(r[WEATHER_SEEDS / 2] <= 1.1 && r[WEATHER_SEEDS - 1] <= 2.5,
	     "1% of 429s at random: the median seed within 1.1x clean, none over 2.5x");
}

/* api_storm's light-weather block: summarize --threads auto, 100
 * documents (1,100 requests), against 16 slots of 20 ms answering 3% of
 * requests 429 at random; the check compares the requests in flight over
 * the run's second half with a clean run's.  all_callers: the stage's
 * callers all have work from the start (else stage_job's slow first
 * 300 ms). */
static struct job_result storm_block(double rate_429, int all_callers, uint64_t seed)
{
	const struct server s = {.slots = 16, .service_ms = 20, .rate_429 = rate_429};
	struct job j = stage_job;

	j.requests = 1100;
	if (all_callers)
		j.start_ms = 0;
	return run_job(&s, &j, seed);
}

#define STORM_BLOCK_SEEDS 100

/* Light weather is no wall (session 51): api_storm failed once with 2.8 in
 * flight over the second half (clean: 60.2).  A chance pair of 429s ended
 * slow start for a wall; its test's one loss said wall and lowered the
 * level and the pace again when the round that held it ended; the revoke
 * that came later gave back the last decrease only.  Simulated, 100 seeds:
 * seeds under a quarter of the clean run's in flight over the second half
 * (before: 33; 18 with all callers at work from the start; then 13 and 9,
 * one seed in 10 of 1,000 under a tenth, as api_storm failed in session
 * 53's CI: 2.9 of 58.6; session 54, a first test's losses judged against
 * the weather known, weather_alike: 0 and 0). */
static void storm_block_tests(void)
{
	double clean = storm_block(0, 0, 1).late_flight;
	int quarter[2] = {0}, tenth[2] = {0};

	for (int all = 0; all <= 1; all++)
		for (uint64_t seed = 1; seed <= STORM_BLOCK_SEEDS; seed++) {
			double x = storm_block(0.03, all, seed).late_flight;
			quarter[all] += x < clean / 4;
			tenth[all] += x < clean / 10;
		}
	printf("# api_storm's light block, %d seeds: clean %.1f in flight over the second half; under a "
	       "quarter of it %d (all callers from the start: %d), under a tenth %d (%d)\n",
	       STORM_BLOCK_SEEDS, clean, quarter[0], quarter[1], tenth[0], tenth[1]);
	T_OK(quarter[0] <= 3 && quarter[1] <= 3,
	     "api_storm's light weather: at most 3 seeds in 100 under a quarter of the clean run's in flight");
	/* 1% of 429s: before session 56 (test_weather) 14 seeds of 100
	 * under a quarter. */
	int light = 0;
	for (uint64_t seed = 1; seed <= STORM_BLOCK_SEEDS; seed++)
		light += storm_block(0.01, 0, seed).late_flight < clean / 4;
	printf("# the same at 1%% of 429s: under a quarter %d\n", light);
	T_OK(light <= 8, "1% of 429s: at most 8 seeds in 100 under a quarter of the clean run's in flight");
}

/* One round trip: n requests sent at once at *t, answered 20 ms later, a
 * millisecond apart, the one at loss_at (-1: none) 429. */
static void round_trip(dp_limiter *l, double *t, int n, int loss_at)
{
	unsigned long seq[SIM_MAX_FLIGHT];

	for (int i = 0; i < n; i++)
		seq[i] = dp_limiter_sent(l, i + 1);
	*t += 20;
	for (int i = 0; i < n; i++, *t += 1)
		dp_limiter_done(l, seq[i], i == loss_at ? DP_LIMITER_THROTTLED : DP_LIMITER_OK, 20, 100, *t);
}

/* Answers in order, as pattern says ('x' a 429, else a success): the
 * level's worth sent at once at *t, answered 20 ms later a millisecond
 * apart. */
static void replay(dp_limiter *l, double *t, const char *pattern)
{
	unsigned long seq[SIM_MAX_FLIGHT];
	size_t at = 0, len = strlen(pattern);

	while (at < len) {
		size_t n = (size_t)dp_limiter_level(l) < len - at ? (size_t)dp_limiter_level(l) : len - at;
		for (size_t i = 0; i < n; i++)
			seq[i] = dp_limiter_sent(l, (int)i + 1);
		*t += 20;
		for (size_t i = 0; i < n; i++, *t += 1)
			dp_limiter_done(l, seq[i], pattern[at++] == 'x' ? DP_LIMITER_THROTTLED : DP_LIMITER_OK, 20,
					100, *t);
	}
}

/* The mechanism of storm_block_tests, replayed: slow start to 64 ends at a
 * 429 (a wall?); the test's 32 requests meet one 429, the 5th: under two
 * losses, a wall, the decrease stands, and the round that held that loss
 * ends without a second decrease (before: lowered twice, level 16).  A
 * later 429 lowers it again; that test's one loss says light weather: the
 * wall is revoked, and slow start comes back to climb to the level the
 * wall took (before: one a round). */
static void verdict_losses_test(void)
{
	dp_limiter l;
	double t = 0;

	dp_limiter_init(&l, 1, 64);
	while (dp_limiter_level(&l) < 64)
		round_trip(&l, &t, dp_limiter_level(&l), -1);
	replay(&l, &t, "xx..............................................................");
	T_OK(l.decreases == 1 && dp_limiter_level(&l) == 32 && l.testing, "two 429s end slow start: 32, tested");
	round_trip(&l, &t, 32, 4);
	printf("# after the test's verdict: level %d, lowered %lu times, wall %d\n", dp_limiter_level(&l),
	       l.decreases, l.wall);
	T_OK(l.wall && l.decreases == 1 && dp_limiter_level(&l) >= 32,
	     "a wall's test with one loss: the decrease stands, the loss lowers nothing more");
	round_trip(&l, &t, dp_limiter_level(&l), 0);
	round_trip(&l, &t, dp_limiter_level(&l), 3);
	printf("# after the next test: level %d, wall %d, weather %.3f, slow start %d\n", dp_limiter_level(&l),
	       l.wall, l.weather, l.slow_start);
	T_OK(!l.wall && l.weather > 0 && l.slow_start, "light weather revokes the wall: slow start comes back");
}

/* Slow start through 256 answers of which a share are losses, spread
 * evenly (share 1/k: one every k, the middle one of each k), then
 * `cluster` losses in a row: slow start ends on them, its decrease under
 * test. */
static void weather_then_cluster(dp_limiter *l, double *t, double share, int cluster)
{
	char pattern[320];
	int n = 0;

	dp_limiter_init(l, 1, 64);
	while (n < 256) {
		pattern[n] = floor((n + 1) * share + 0.5) > floor(n * share + 0.5) ? 'x' : '.';
		n++;
	}
	while (cluster-- > 0)
		pattern[n++] = 'x';
	pattern[n] = 0;
	replay(l, t, pattern);
}

/* A first test's few losses under the weather known (session 54): 3% of
 * 429s, two in a row end slow start (the last 8 answers' share over the
 * baseline's); the test's 16 answers meet none, or one: as light weather
 * would as often as not, so weather (the decrease undone, no wall; before:
 * "under two losses: a wall", its pace a quarter of the rate, each later
 * loss another decrease: api_storm's light block 1.85x the clean run's
 * time, simulated).  Behind 33% of losses, a test that meets none is the
 * decrease's doing: a wall. */
static void weather_alike_test(void)
{
	dp_limiter l;
	double t = 0;

	weather_then_cluster(&l, &t, 1.0 / 33, 3);
	T_OK(l.testing && l.decreases == 1 && l.weather > 0.02 && l.weather < 0.05,
	     "3% of 429s, three in a row: slow start ends, the weather taken, the decrease tested");
	int before = (int)l.restore.level;
	replay(&l, &t, "................");
	printf("# after a test of 16 answers, none lost: level %d (before the decrease %d), wall %d, undone %lu\n",
	       dp_limiter_level(&l), before, l.wall, l.undone);
	T_OK(!l.wall && l.undone == 1 && dp_limiter_level(&l) >= before, "none of 16 lost at 3%: weather, undone");
	t = 0;
	weather_then_cluster(&l, &t, 1.0 / 33, 3);
	replay(&l, &t, ".......x........");
	T_OK(!l.wall && l.undone == 1, "one of 16 lost at 3%: weather, undone");
	t = 0;
	weather_then_cluster(&l, &t, 1.0 / 3, 8);
	T_OK(l.testing && l.weather > 0.3, "33% of 429s, then 8 in a row: a decrease under test");
	replay(&l, &t, "................");
	T_OK(l.wall && l.undone == 0, "none of 16 lost after 33%: the decrease's doing, a wall");
}

/* A first test under heavy weather known (the storm's 35%, taken at 27%
 * as slow start ended) that meets one loss in 16: weather gives as few
 * 4% of the time.  Said a wall at under 5%
 * (TEST_ALPHA), its pace a fraction of the rate and the level climbing
 * back by one a round: the storm's seed 396 of 1,000 took 3.87x the clean
 * run's time; under 2%: weather, undone (session 58).  None in 16 (0.6%)
 * is still the decrease's doing. */
static void heavy_weather_one_loss_test(void)
{
	dp_limiter l;
	double t = 0;

	weather_then_cluster(&l, &t, 2.0 / 7, 8);
	printf("# weather taken %.3f\n", l.weather);
	T_OK(l.testing && l.weather > 0.27 && l.weather < 0.3,
	     "2 of 7 answers 429, then 8 in a row: the weather taken 0.27-0.3, a decrease under test");
	replay(&l, &t, ".......x........");
	printf("# one of 16 lost under that weather: wall %d, undone %lu\n", l.wall, l.undone);
	T_OK(!l.wall && l.undone == 1, "one of 16 lost under 0.27-0.3 known: weather, undone");
	t = 0;
	weather_then_cluster(&l, &t, 2.0 / 7, 8);
	replay(&l, &t, "................");
	T_OK(l.wall && l.undone == 0, "none of 16 lost under 0.27-0.3 known: a wall");
}

/* A test judges the requests sent after its decrease in their order
 * (session 56): 33% of losses known, a decrease under test; of the first
 * 16 requests sent after it, 5 are lost, answered at once, and the places
 * they free go out again and are lost too (11 more, at once) before the
 * first 16's successes come back a service time later.  Judged by its
 * first 16 answers (all lost) the test said a wall (the storm's seeds over
 * 3x clean); by the first 16 sent, 5 of 16 are the weather's: undone. */
static void send_order_test(void)
{
	dp_limiter l;
	double t = 0;
	unsigned long seq[27];

	weather_then_cluster(&l, &t, 1.0 / 3, 8);
	T_OK(l.testing && l.weather > 0.3, "33% of 429s, then 8 in a row: a decrease under test");
	for (int i = 0; i < 27; i++)
		seq[i] = dp_limiter_sent(&l, i + 1);
	t += 1;
	for (int i = 0; i < 27; i++)
		if (i >= 16 || i % 3 == 1)
			dp_limiter_done(&l, seq[i], DP_LIMITER_THROTTLED, 1, 100, t);
	T_OK(l.testing, "16 losses answered, the first 16 sent not all answered: no verdict yet");
	t += 20;
	for (int i = 0; i < 16; i++)
		if (i % 3 != 1)
			dp_limiter_done(&l, seq[i], DP_LIMITER_OK, 20, 100, t);
	printf("# the first 16 sent, 5 lost: wall %d, undone %lu, test %d/%d\n", l.wall, l.undone, l.test.loss,
	       l.test.n);
	T_OK(!l.testing && !l.wall && l.undone == 1, "5 of the first 16 sent lost at 33%: the weather's, undone");
}

/* Slow start through 150 answers, the last `last` lost, and the 50th
 * if early_loss. */
static void clean_then_loss(dp_limiter *l, double *t, int early_loss, int last)
{
	char pattern[151];

	dp_limiter_init(l, 1, 64);
	memset(pattern, '.', 150);
	memset(pattern + 150 - last, 'x', (size_t)last);
	if (early_loss)
		pattern[49] = 'x';
	pattern[150] = 0;
	replay(l, t, pattern);
}

/* Light weather's first losses (session 56).  The run's first 429 after
 * 142 answers without one does not end slow start: one loss in 8 at a
 * baseline of 1/144 is a 5.5% chance (the normal approximation called it
 * 2.5 standard deviations; live, under 1% of 429s, that first 429 ended
 * slow start with no share before it, and the test's 16 answers without
 * a loss said a wall: median 1.7x the clean run's time).  Two in a row
 * end it (0.1%).  One loss in the 142 answers before them (too light a
 * share to take for the weather, and the first 32 held none), and the
 * test's 16 answers meet none, as 1% of losses would 85% of the time:
 * judged against no weather, "under two losses: a wall", its pace a
 * quarter of the rate, every later loss another decrease; judged against
 * the share before the last 8: weather, undone.  With none before (a
 * wall met on a clean run): a wall, as before. */
static void light_first_test(void)
{
	dp_limiter l;
	double t = 0;

	clean_then_loss(&l, &t, 0, 1);
	T_OK(l.slow_start && !l.testing && l.decreases == 0,
	     "one 429 after 142 answers without one: slow start goes on");
	t = 0;
	clean_then_loss(&l, &t, 1, 2);
	T_OK(l.testing && l.weather <= 0 && l.decreases == 1,
	     "a loss in 142 answers, then two: slow start ends, no weather taken, the decrease tested");
	replay(&l, &t, "................");
	printf("# 1 loss before, none of 16 lost: wall %d, undone %lu, weather %.4f\n", l.wall, l.undone,
	       l.weather);
	T_OK(!l.wall && l.undone == 1 && l.weather > 0, "none of 16 lost after 1 of 142: weather, undone");
	t = 0;
	clean_then_loss(&l, &t, 0, 2);
	replay(&l, &t, "................");
	T_OK(l.wall && l.undone == 0, "none of 16 lost after none of 142: a wall");
}

#define SWEEP_PHASES 12
#define SWEEP_STORM_SEEDS 1000

/* A bucket without headers (rate/s, burst s) against the sweep's job,
 * the service time 17 + k/2 ms (k < SWEEP_PHASES) or, with spread, 20 ms
 * +- spread with seed k + 1: its share of 429s, the time over the rate's. */
static double bucket_run(double rate, double burst, double spread, int k, double *time)
{
	const struct server w = {.slots = 64, .service_ms = spread > 0 ? 20 : 17 + 0.5 * k,
				 .wall_rps = rate, .burst_s = burst, .spread = spread};
	const struct job j = {.requests = (long)(26 * rate), .workers = 64, .start_ms = 300,
			      .start_workers = 3, .retry_ms = 200};
	struct job_result x = run_job(&w, &j, spread > 0 ? (uint64_t)k + 1 : 1);

	*time = x.ms / ((j.requests - burst * rate) * 1000 / rate);
	return 100.0 * x.throttled / x.answers;
}

#define WALL_JOB_S 26 /* wall_in_weather's job: this many seconds of the wall's rate */

/* A bucket of one second at rate/s behind weather (429s at random) and
 * 64 slots of 20 ms: a stage's job of WALL_JOB_S seconds of its rate. */
static struct job_result wall_in_weather(double rate, double weather, uint64_t seed)
{
	const struct server w = {.slots = 64, .service_ms = 20, .wall_rps = rate, .rate_429 = weather};
	const struct job j = {.requests = (long)(WALL_JOB_S * rate), .workers = 64, .start_ms = 300,
			      .start_workers = 3, .retry_ms = 200};

	return run_job(&w, &j, seed);
}

/* The sweep's walls behind light weather: a bucket of one second at 25,
 * 50 and 200/s and 1-5% of 429s at random, WEATHER_SEEDS seeds: the time
 * over the rate's (the weather's refusals counted) and the share of
 * answers the wall refused. */
static void sweep_walls_in_weather(const double rates[7], const double weather[3])
{
	double r[WEATHER_SEEDS], shares[WEATHER_SEEDS];

	printf("\nwall/s\tweather\ttime: median\tworst\twall's 429%%: median\tworst (%d seeds)\n", WEATHER_SEEDS);
	for (size_t i = 2; i < 7; i += 2)
		for (size_t k = 0; k < 3; k++) {
			for (int seed = 0; seed < WEATHER_SEEDS; seed++) {
				struct job_result x = wall_in_weather(rates[i], weather[k], (uint64_t)seed + 1);
				r[seed] = x.ms * rates[i] * (1 - weather[k]) / ((WALL_JOB_S * rates[i] - rates[i]) * 1000);
				shares[seed] = 100.0 * x.wall_429 / x.answers;
			}
			qsort(r, WEATHER_SEEDS, sizeof r[0], cmp_double);
			qsort(shares, WEATHER_SEEDS, sizeof shares[0], cmp_double);
			printf("%.0f\t%.2f\t%.3f\t%.3f\t%.2f\t%.2f\n", rates[i], weather[k], r[WEATHER_SEEDS / 2],
			       r[WEATHER_SEEDS - 1], shares[WEATHER_SEEDS / 2], shares[WEATHER_SEEDS - 1]);
		}
}

/* The storm and light weather (1-5% of 429s) with answer times spread
 * as a loaded machine's (lognormal, sigma 0.5 and 1): the time over the
 * mean of WEATHER_SEEDS clean runs with the same spread.  A test waits
 * for its slowest answer, and the delay gradient may end slow start
 * before a loss does (live runs, session 56: no weather taken then). */
static void sweep_spread_weather(void)
{
	static double r[SWEEP_STORM_SEEDS];
	const double sigmas[] = {0.5, 1.0}, shares[] = {0.01, 0.03, 0.05};

	printf("\nanswer times lognormal\tweather\tseeds\tx clean: median\tp99\tworst\tover 3x\n");
	for (size_t v = 0; v < sizeof sigmas / sizeof sigmas[0]; v++) {
		const struct server clean = {.slots = 16, .service_ms = 25, .sigma = sigmas[v]};
		double c = 0;
		for (int k = 1; k <= WEATHER_SEEDS; k++)
			c += run_job(&clean, &stage_job, (uint64_t)k).ms / WEATHER_SEEDS;
		for (size_t w = 0; w <= sizeof shares / sizeof shares[0]; w++) {
			const struct server s = {.slots = 16, .service_ms = 25, .sigma = sigmas[v],
						 .rate_429 = w < 3 ? shares[w] : 0.3, .rate_5xx = w < 3 ? 0 : 0.05};
			int n = w < 3 ? WEATHER_SEEDS : SWEEP_STORM_SEEDS, over3 = 0;
			for (int k = 0; k < n; k++) {
				r[k] = run_job(&s, &stage_job, (uint64_t)k + 1).ms / c;
				over3 += r[k] > 3;
			}
			qsort(r, (size_t)n, sizeof r[0], cmp_double);
			printf("sigma %.1f\t%s\t%d\t%.2f\t%.2f\t%.2f\t%d\n", sigmas[v],
			       w < 3 ? (w == 0 ? "1% 429" : w == 1 ? "3% 429" : "5% 429") : "30% 429 + 5% 5xx", n,
			       r[n / 2], r[n * 99 / 100], r[n - 1], over3);
		}
	}
}

/* bench/limiter-sweep.sh: what the tests' cases sample, swept: token
 * buckets without headers by rate and burst, the climb, and light weather
 * of 429s and of 5xx.  A bucket's 429s at the first wall depend on where
 * its last token falls in a round (all of a round's requests go at once
 * when service times are equal), so each is also run at SWEEP_PHASES
 * service times and with +-20% of spread: mean and worst.  Printed, not
 * asserted (docs/PERFORMANCE.md). */
static void sweep(void)
{
	const double bursts[] = {0.25, 0.5, 1, 2, 4, 8}, rates[7] = {8.33, 12.5, 25, 30, 50, 100, 200};
	const double weather[] = {0.01, 0.03, 0.05, 0.08, 0.12};
	const struct server storm = {.slots = 16, .service_ms = 25, .rate_429 = 0.3, .rate_5xx = 0.05};
	const struct server clean = {.slots = 16, .service_ms = 25};
	static double r[SWEEP_STORM_SEEDS];
	double c, t;

	printf("burst_s\trate/s\t429%%\ttime\t%d service times: 429%% mean\tworst\ttime\t+-20%%: 429%% mean\tworst"
	       "\t+-50%%: 429%% mean\tworst\ttime\n",
	       SWEEP_PHASES);
	for (size_t b = 0; b < sizeof bursts / sizeof bursts[0]; b++)
		for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
			double one = bucket_run(rates[i], bursts[b], 0, 6, &t), one_t = t;
			double sum = 0, worst = 0, tsum = 0, jsum = 0, jworst = 0, hsum = 0, hworst = 0, htsum = 0;
			for (int k = 0; k < SWEEP_PHASES; k++) {
				double p = bucket_run(rates[i], bursts[b], 0, k, &t);
				sum += p;
				tsum += t;
				worst = fmax(worst, p);
				p = bucket_run(rates[i], bursts[b], 0.2, k, &t);
				jsum += p;
				jworst = fmax(jworst, p);
				p = bucket_run(rates[i], bursts[b], 0.5, k, &t);
				hsum += p;
				hworst = fmax(hworst, p);
				htsum += t;
			}
			printf("%.2f\t%.2f\t%.2f\t%.3f\t%.2f\t%.2f\t%.3f\t%.2f\t%.2f\t%.2f\t%.2f\t%.3f\n", bursts[b],
			       rates[i], one, one_t, sum / SWEEP_PHASES, worst, tsum / SWEEP_PHASES, jsum / SWEEP_PHASES,
			       jworst, hsum / SWEEP_PHASES, hworst, htsum / SWEEP_PHASES);
		}
	/* The climb: a stage's job against slots that take all it sends (no
	 * wall, no weather): auto against the fixed level of as many threads
	 * as slots (the job's callers: 64); also at SWEEP_PHASES service
	 * times (0.85-1.125x) and with spread in the service time (+-20%,
	 * +-50% and lognormal of sigma 0.5: SWEEP_PHASES seeds each): mean
	 * and worst.  And what the delay gradient is there for: auto's
	 * queueing, its successes' mean time over the mean service time
	 * (-j64 queues 64 / slots: 16x at 4 slots). */
	printf("\nslots\tservice ms\tauto ms\t-j%d ms\tratio\t%d service times: mean\tworst\t"
	       "+-20%%: mean\tworst\t+-50%%: mean\tworst\tlognormal 0.5: mean\tworst\t"
	       "auto's time / service: none\t+-50%%\tlognormal\n",
	       stage_job.workers, SWEEP_PHASES);
	for (int slots = 1; slots <= 64; slots *= 4)
		for (double service = 25; service <= 250; service *= 10) {
			const struct server free_slots = {.slots = slots, .service_ms = service};
			struct job fixed = stage_job;
			double psum = 0, pworst = 0;
			fixed.fixed = 1;
			struct job_result a = run_job(&free_slots, &stage_job, 1);
			struct job_result f = run_job(&free_slots, &fixed, 1);
			for (int k = 1; k <= SWEEP_PHASES; k++) {
				struct server phase = free_slots;
				phase.service_ms = service * (0.85 + 0.025 * (k - 1));
				double x = run_job(&phase, &stage_job, 1).ms / run_job(&phase, &fixed, 1).ms;
				psum += x;
				pworst = fmax(pworst, x);
			}
			printf("%d\t%.0f\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f", slots, service, a.ms, f.ms,
			       a.ms / f.ms, psum / SWEEP_PHASES, pworst);
			double queue[2];
			for (int v = 0; v < 3; v++) {
				struct server spread = free_slots;
				double sum = 0, worst = 0, qsum = 0;
				if (v < 2)
					spread.spread = v == 0 ? 0.2 : 0.5;
				else
					spread.sigma = 0.5;
				for (int k = 1; k <= SWEEP_PHASES; k++) {
					struct job_result x = run_job(&spread, &stage_job, k);
					double ratio = x.ms / run_job(&spread, &fixed, k).ms;
					sum += ratio;
					worst = fmax(worst, ratio);
					qsum += x.ok_ms / service;
				}
				if (v > 0)
					queue[v - 1] = qsum / SWEEP_PHASES;
				printf("\t%.2f\t%.2f", sum / SWEEP_PHASES, worst);
			}
			printf("\t%.2f\t%.2f\t%.2f\n", a.ok_ms / service, queue[0], queue[1]);
		}
	c = run_job(&clean, &stage_job, 1).ms;
	int over3 = 0;
	for (int seed = 0; seed < SWEEP_STORM_SEEDS; seed++) {
		r[seed] = run_job(&storm, &stage_job, (uint64_t)seed + 1).ms / c;
		over3 += r[seed] > 3;
	}
	qsort(r, SWEEP_STORM_SEEDS, sizeof r[0], cmp_double);
	printf("\nstorm (30%% 429 + 5%% 5xx), %d seeds, x clean: median %.2f, p99 %.2f, worst %.2f; %d over 3x\n",
	       SWEEP_STORM_SEEDS, r[SWEEP_STORM_SEEDS / 2], r[SWEEP_STORM_SEEDS * 99 / 100],
	       r[SWEEP_STORM_SEEDS - 1], over3);
	sweep_spread_weather();
	sweep_walls_in_weather(rates, weather);
	printf("\nweather\tkind\tmedian x clean\tworst (%d seeds)\n", WEATHER_SEEDS);
	for (int errors = 0; errors <= 1; errors++)
		for (size_t i = 0; i < sizeof weather / sizeof weather[0]; i++) {
			weather_ratios(weather[i], errors, r);
			printf("%.2f\t%s\t%.2f\t%.2f\n", weather[i], errors ? "5xx" : "429",
			       r[WEATHER_SEEDS / 2], r[WEATHER_SEEDS - 1]);
		}
	/* api_storm's light block (storm_block), SWEEP_STORM_SEEDS seeds:
	 * the seeds whose second half kept under 3 requests in flight and
	 * under a tenth of the clean run's (the check fails), under a tenth,
	 * under a quarter, and the mean time over the clean run's. */
	printf("\napi_storm's block (16 slots of 20 ms, 1,100 requests), %d seeds\n"
	       "429s\tcallers\tfails\t< 1/10\t< 1/4\ttime x clean\n", SWEEP_STORM_SEEDS);
	for (int all = 0; all <= 1; all++) {
		struct job_result cb = storm_block(0, all, 1);
		for (size_t i = 0; i < 3; i++) {
			int fails = 0, tenth = 0, quarter = 0;
			double time = 0;
			for (int seed = 1; seed <= SWEEP_STORM_SEEDS; seed++) {
				struct job_result x = storm_block(weather[i], all, (uint64_t)seed);
				fails += x.late_flight < 3 && x.late_flight < cb.late_flight / 10;
				tenth += x.late_flight < cb.late_flight / 10;
				quarter += x.late_flight < cb.late_flight / 4;
				time += x.ms / cb.ms;
			}
			printf("%.2f\t%s\t%d\t%d\t%d\t%.2f\n", weather[i], all ? "all" : "3 first", fails, tenth,
			       quarter, time / SWEEP_STORM_SEEDS);
		}
	}
}

/* The pace follows what the server grants, not what an idle stage could
 * send: a wall of 20/s and 30% 429 for 60 s, then 2 callers and no wall
 * for 5 minutes (before: w_max doubled every second, 1.4e86 at 360 s and
 * inf at 1200 s; with a wall again, inf x 0.5 kept pacing off). */
/* One request answered at once (10 ms) at now. */
static void answer(dp_limiter *l, double now, enum dp_limiter_outcome o)
{
	dp_limiter_done(l, dp_limiter_sent(l, 1), o, 10, 100, now);
}

/* A wall's rate measured by a test's verdict (judge) lowers w_max, and the
 * pace with it at once, not at the next probe: 100/s, a 429 (a test),
 * answers at 20/s with a 429 in 5 (the first test undecided, the next
 * 429 a second decrease: 16/s between them), then 20/s (a wall). */
static void judge_pace_test(void)
{
	dp_limiter l;
	double t = 0;
	int k;

	dp_limiter_init(&l, 1, 64);
	for (; t < 2000; t += 10)
		answer(&l, t, DP_LIMITER_OK);
	answer(&l, t, DP_LIMITER_THROTTLED);
	answer(&l, t, DP_LIMITER_THROTTLED);
	for (k = 0; k < 16; k++, t += 50)
		answer(&l, t, k % 5 == 4 ? DP_LIMITER_THROTTLED : DP_LIMITER_OK);
	for (k = 0; k < 40; k++, t += 50)
		answer(&l, t, DP_LIMITER_OK);
	printf("# after the verdict: w_max %.3g/s, pace %.3g/s\n", l.w_max_rps, l.pace_rps);
	T_OK(l.wall && l.w_max_rps < 20 && l.pace_rps <= 0.95 * l.w_max_rps * (1 + 1e-9),
	     "a wall's rate measured: the pace is lowered with w_max at once");
}

static void pace_bound_tests(void)
{
	const struct server s = {.slots = 64, .service_ms = 25, .wall_rps = 20, .rate_429 = 0.3,
				 .wall_until_ms = 60000};
	const struct server calm = {.slots = 64, .service_ms = 25, .wall_until_ms = 60000, .wall_rps = 20};
	const struct job j = {.requests = 1L << 40, .workers = 64, .retry_ms = 200, .end_ms = 60000,
			      .end_workers = 2, .until_ms = 360000};
	/* A wall below the demand of a few callers, for the level idle:
	 * the pace still answers its 429s (RFC 7661 reduces on losses).
	 * (Session 6: with the bucket read when a request reaches the server,
	 * not when it is queued for the pace, this case is 31% 429 on
	 * session 5's limiter and dp_http, 38% now: slow start takes the
	 * wall's 429s, met at the 4 callers' demand before 40 answers, for 28%
	 * weather, and the pace is probed above the wall; docs/PERFORMANCE.md
	 * "Issue 8: the first wall".  The bound was 25%.) */
	const struct server wall = {.slots = 64, .service_ms = 20, .wall_rps = 20};
	const struct job few = {.requests = 1000, .workers = 64, .start_ms = 1e9, .start_workers = 4,
				.retry_ms = 200};
	struct job_result r = run_job(&s, &j, 3), c = run_job(&calm, &j, 3), f = run_job(&wall, &few, 1);

	/* 2 callers of 25 ms: 80/s at most. */
	printf("# wall + storm, then 2 callers: pace %.3g/s at the end, %.3g at most; clean: %.3g, %.3g\n",
	       r.pace_rps, r.pace_most, c.pace_rps, c.pace_most);
	T_OK(r.pace_most < 4 * 80 && c.pace_most < 4 * 80, "an app-limited stage does not raise its pace past its rate");
	T_OK(r.pace_rps >= 0.5 * 80 * 0.7 || r.pace_rps == 0, "and the pace does not hold 2 callers back");
	printf("# 4 callers against a wall of 20/s: %.0f ms (%.0f at its rate), %ld x 429 of %ld answers\n", f.ms,
	       (few.requests - wall.wall_rps) * 1000 / wall.wall_rps, f.throttled, f.answers);
	T_OK(f.throttled < 0.4 * f.answers, "a wall below an idle level's demand: under 40% of answers 429");
	T_OK(f.ms < 1.25 * (few.requests - wall.wall_rps) * 1000 / wall.wall_rps, "and within 25% of the wall's rate");
}

/* A size class with no answer yet is judged by the nearest one that has
 * (http.c's lost-request watch): a combine prompt by its chunk prompts'
 * time, x sqrt(2) per class above them; a short prompt by a longer one's. */
static void class_time_test(void)
{
	dp_limiter l;

	dp_limiter_init(&l, 1, 16);
	T_OK(dp_limiter_class_ms(&l, 100) == 0, "no answer yet: no class time");
	dp_limiter_done(&l, dp_limiter_sent(&l, 1), DP_LIMITER_OK, 40, 100, 0);
	T_OK(dp_limiter_class_ms(&l, 100) == 40, "a class's own time");
	T_OK(fabs(dp_limiter_class_ms(&l, 1000) - 40 * pow(2, 1.5)) < 1e-9,
	     "3 classes above the nearest known: its time x sqrt(2)^3");
	T_OK(dp_limiter_class_ms(&l, 10) == 40, "below the nearest known: its time as is");
	dp_limiter_done(&l, dp_limiter_sent(&l, 1), DP_LIMITER_OK, 500, 2000, 10);
	T_OK(dp_limiter_class_ms(&l, 1000) == 500, "the nearest known class, the larger one");
}

/* Before the first success the level is 1; an overdue request (no answer
 * for long: http.c's watch) lets one more go, and the first success
 * opens the level whatever is still overdue. */
static void overdue_test(void)
{
	dp_limiter fixed, autol;

	dp_limiter_init(&fixed, 0, 16);
	dp_limiter_init(&autol, 1, 16);
	T_OK(dp_limiter_level(&fixed) == 1 && dp_limiter_level(&autol) == 1, "the first request goes alone");
	dp_limiter_sent(&fixed, 1);
	dp_limiter_sent(&autol, 1);
	dp_limiter_overdue(&fixed, 1);
	dp_limiter_overdue(&autol, 1);
	T_OK(dp_limiter_level(&fixed) == 2 && dp_limiter_level(&autol) == 2, "overdue: one more may go");
	dp_limiter_done(&fixed, dp_limiter_sent(&fixed, 2), DP_LIMITER_OK, 40, 100, 5100);
	dp_limiter_done(&autol, dp_limiter_sent(&autol, 2), DP_LIMITER_OK, 40, 100, 5100);
	T_OK(dp_limiter_level(&fixed) == 16, "fixed: the first success opens the level");
	T_OK(dp_limiter_level(&autol) == 2, "auto: slow start from the first success's round");
	dp_limiter_overdue(&fixed, -1);
	T_OK(dp_limiter_level(&fixed) == 16, "the overdue request's end changes nothing after it");
}

/* The delay gradient under spread in the service time (a model's answer
 * time follows its output's length): a stage's job against 64 free slots
 * of 25 ms +-50% and lognormal (sigma 0.5), SWEEP_PHASES seeds each, auto
 * against -j64.  A round's mean time over its class's quickest answer took
 * the spread for a queue (before: +-50% 1.66x -j64, worst seed 2.24x;
 * lognormal 19.8x).  And the gradient still sees a queue: against 4 slots
 * auto's successes wait under 10x the service time (the gradient off:
 * 13.3x; -j64 16x). */
static void spread_tests(void)
{
	const struct server uniform = {.slots = 64, .service_ms = 25, .spread = 0.5};
	const struct server heavy = {.slots = 64, .service_ms = 25, .sigma = 0.5};
	const struct server four = {.slots = 4, .service_ms = 25};
	struct job fixed = stage_job;
	double sum[2] = {0}, worst[2] = {0};

	fixed.fixed = 1;
	for (int v = 0; v < 2; v++)
		for (int k = 1; k <= SWEEP_PHASES; k++) {
			const struct server *s = v ? &heavy : &uniform;
			double x = run_job(s, &stage_job, k).ms / run_job(s, &fixed, k).ms;
			sum[v] += x;
			worst[v] = fmax(worst[v], x);
		}
	printf("# 64 slots of 25 ms, auto / -j64 over %d seeds: +-50%% mean %.2f, worst %.2f; "
	       "lognormal mean %.2f, worst %.2f\n",
	       SWEEP_PHASES, sum[0] / SWEEP_PHASES, worst[0], sum[1] / SWEEP_PHASES, worst[1]);
	T_OK(sum[0] / SWEEP_PHASES <= 1.3 && worst[0] <= 1.4,
	     "+-50% spread in the answer time is no queue: auto within 1.3x -j64 (mean), 1.4x (worst)");
	T_OK(sum[1] / SWEEP_PHASES <= 1.3 && worst[1] <= 1.4, "lognormal answer times (sigma 0.5): likewise");
	struct job_result q = run_job(&four, &stage_job, 1);
	printf("# 4 slots of 25 ms: auto's successes take %.1fx the service time\n", q.ok_ms / 25);
	T_OK(q.ok_ms < 10 * 25, "a queue is still one: 4 slots, auto waits under 10x the service time");
}

/* Issue 8 (d): the climb against 64 free slots whose answer times vary
 * (+-20% at random, as a model's do: answers come one by one), auto
 * against -j64 over SWEEP_PHASES seeds.  Limited slow start's +4 a round
 * above 16 took 12 rounds to 64: 1.22x at 25 ms, 1.37x at 250 ms
 * (session 56's code); one more a success, doubling, until a loss or a
 * queue: 1.11x and 1.25x.  Token buckets without headers still see few
 * 429s: the level grows as answers come, so the wall's first 429 comes
 * back after a few sends past its last token. */
static void climb_tests(void)
{
	const double services[] = {25, 250}, bounds[] = {1.15, 1.28}, rates[] = {50, 100, 200};
	struct job fixed = stage_job;
	int under = 0;

	fixed.fixed = 1;
	for (int v = 0; v < 2; v++) {
		const struct server s = {.slots = 64, .service_ms = services[v], .spread = 0.2};
		double sum = 0;
		for (int k = 1; k <= SWEEP_PHASES; k++)
			sum += run_job(&s, &stage_job, k).ms / run_job(&s, &fixed, k).ms;
		printf("# 64 slots of %.0f ms +-20%%, auto / -j64 over %d seeds: mean %.2f\n", services[v],
		       SWEEP_PHASES, sum / SWEEP_PHASES);
		T_OK(sum / SWEEP_PHASES <= bounds[v], "64 free slots, answers +-20%: auto's climb within 1.15x -j64 "
						      "at 25 ms, 1.28x at 250 ms (mean)");
	}
	for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
		double sum = 0, t;
		for (int k = 0; k < SWEEP_PHASES; k++)
			sum += bucket_run(rates[i], 1, 0.2, k, &t);
		printf("# a bucket of 1 s at %.0f/s, answers +-20%%: %.2f%% of answers 429 (mean of %d seeds)\n",
		       rates[i], sum / SWEEP_PHASES, SWEEP_PHASES);
		under += sum / SWEEP_PHASES < 1;
	}
	T_EQ_INT(under, 3, "and a bucket of 1 s at 50, 100, 200/s: under 1% of answers 429 (mean)");
}

/* Issue 8 (d): big bursts.  Behind a bucket of 8 s, the first test of a
 * series meets the tokens the bucket stored while the decrease held the
 * sends back, and measured its load by its answers' rate, which answer
 * times that vary bunch (a 429 comes back at once, a success a service
 * time later): the wall's rate came out high, the second test's losses
 * were more than that wall predicted, and the series said weather, under
 * which the wall's 429s hid (session 57's code: 8 s at 100/s, 12 service
 * times 5 runs in 12 at 44-48% of answers 429, +-50% 2 at 51-52%; 8 s at
 * 200/s, 12 service times 3 at 7-21%).  A test's load is now the rate its requests were
 * sent at, from the last send before them (limiter.c: test_rps). */
static void big_bucket_tests(void)
{
	const double rates[] = {100, 200}, spreads[] = {0, 0.5};
	double worst = 0, t;

	for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++)
		for (size_t v = 0; v < sizeof spreads / sizeof spreads[0]; v++)
			for (int k = 0; k < SWEEP_PHASES; k++)
				worst = fmax(worst, bucket_run(rates[i], 8, spreads[v], k, &t));
	printf("# buckets of 8 s at 100 and 200/s, %d service times and +-50%%: the worst run %.2f%% of answers 429\n",
	       SWEEP_PHASES, worst);
	T_OK(worst < 3, "a bucket of 8 s at 100 and 200/s, answer times alike or +-50%: every run under 3% of answers 429");
	/* A wall's rate measured on few successes (8 in 242 ms: 33.1/s for
	 * a wall of 30/s) held the pace over the wall, and a test that met
	 * no loss under the next decrease took the wall for light weather:
	 * slow start into the bucket again (limiter.c: test_begin's held;
	 * before, 4 s at 25/s and 30/s, +-50%: 12.16% and 8.56% at worst). */
	worst = 0;
	for (int r = 25; r <= 30; r += 5)
		for (int k = 0; k < SWEEP_PHASES; k++)
			worst = fmax(worst, bucket_run(r, 4, 0.5, k, &t));
	printf("# buckets of 4 s at 25 and 30/s, +-50%%: the worst run %.2f%% of answers 429\n", worst);
	T_OK(worst < 5, "a bucket of 4 s at 25 and 30/s, answers +-50%: every run under 5% of answers 429");
}

/* A server of one slot (a local model) whose answers take a third or a
 * tenth of the callers' --timeout: each request more in flight waits one
 * answer more, and auto's climb made the waits outlast the timeout (the
 * delay gradient needs 16 slow answers in a row; the give-ups were taken
 * for weather): with fakeapi, a third: 30 documents, 161 requests sent
 * again, 6.5x --threads 1's time.  Late answers (over half the deadline)
 * now lower the level at once. */
static void deadline_test(void)
{
	const struct server third = {.slots = 1, .service_ms = 700, .give_up_ms = 2000};
	const struct server tenth = {.slots = 1, .service_ms = 200, .give_up_ms = 2000};
	struct job job = stage_job, blind;

	job.requests = 100;
	blind = job;
	blind.no_deadline = 1;
	for (int v = 0; v < 2; v++) {
		const struct server *s = v ? &tenth : &third;
		double least = job.requests * s->service_ms;
		struct job_result r = run_job(s, &job, 1), b = run_job(s, &blind, 1);
		printf("# 1 slot of %.0f ms, --timeout 2 s, 100 requests: %.0f ms (%.2fx the slot's), "
		       "%ld timed out, level %d at most; without the deadline %.2fx, %ld timed out\n",
		       s->service_ms, r.ms, r.ms / least, r.errors, r.highest, b.ms / least, b.errors);
		T_OK(r.errors <= 2 && r.ms <= 1.1 * least,
		     v ? "answers in a tenth of the timeout, one slot: at most 2 requests timed out, within 1.1x"
		       : "answers in a third of the timeout, one slot: at most 2 requests timed out, within 1.1x");
	}
	/* One slot answering in two thirds of the timeout: two in flight give
	 * one up; the level they were late at is held under for a while, not
	 * tried again every round (before: 1.8x -j1, fault sweep 17). */
	const struct server slow = {.slots = 1, .service_ms = 1300, .give_up_ms = 2000};
	struct job_result s1 = run_job(&slow, &job, 1);
	printf("# 1 slot of 1300 ms, --timeout 2 s, 100 requests: %.2fx the slot's, %ld timed out\n",
	       s1.ms / (job.requests * slow.service_ms), s1.errors);
	T_OK(s1.errors <= 12 && s1.ms <= 1.15 * job.requests * slow.service_ms,
	     "answers in two thirds of the timeout, one slot: probes of two in flight at most ~1 in 10, within 1.15x");
	/* Four slots answering in two thirds of the timeout, no queue: slow
	 * by their size, not late (before: 2.3x -j4's time, at most 2 in
	 * flight; fault sweep 17). */
	const struct server big = {.slots = 4, .service_ms = 1300, .give_up_ms = 2000};
	struct job four = job;
	four.workers = 4;
	struct job fixed4 = four;
	fixed4.fixed = 1;
	struct job_result a4 = run_job(&big, &four, 1), f4 = run_job(&big, &fixed4, 1);
	printf("# 4 slots of 1300 ms, --timeout 2 s: auto %.0f ms, -j4 %.0f ms (%.2fx), %ld timed out\n", a4.ms,
	       f4.ms, a4.ms / f4.ms, a4.errors);
	T_OK(a4.ms <= 1.1 * f4.ms && a4.errors == 0,
	     "answers slow by their size (two thirds of the timeout, free slots): not late, within 1.1x -j4");
	/* The rule stays out of the way where the answers are far under it. */
	const struct server sixteen = {.slots = 16, .service_ms = 25, .give_up_ms = 60000};
	struct job_result d = run_job(&sixteen, &stage_job, 1);
	const struct server none = {.slots = 16, .service_ms = 25};
	T_OK(d.ms == run_job(&none, &stage_job, 1).ms, "16 slots, answers far under the deadline: as without one");
}

/* One slot of 0.7 s, --timeout 2 s (api_auto_local's server), replayed
 * with the times of a failure: the run's first request slowed 0.45 s out
 * of the server's sight (1.15 s), then slow start's two requests, the one
 * sent alone reaching the slot second (the other, sent a moment later,
 * came first): 0.7 s, then 1.4 s for the one sent alone.  The least of
 * the two unqueued answers, 1.15 s, was taken for the server's time, over
 * the 0.7 s answer between them (limiter.c, server_time): 1.4 s was then
 * within 1.25x of the quickest, not late, and the level doubled to 4 on
 * one slot (session 60).  The answer between them bounds the server's
 * time: 1.4 s is late, and the level comes down to 1. */
static void reorder_test(void)
{
	dp_limiter l;

	dp_limiter_init(&l, 1, 64);
	dp_limiter_deadline(&l, 2000);
	dp_limiter_done(&l, dp_limiter_sent(&l, 1), DP_LIMITER_OK, 1150, 100, 1150);
	T_EQ_INT(dp_limiter_level(&l), 2, "slow start: 2 after the first answer");
	unsigned long alone = dp_limiter_sent(&l, 1), next = dp_limiter_sent(&l, 2);
	dp_limiter_done(&l, next, DP_LIMITER_OK, 700, 100, 1850);
	dp_limiter_done(&l, alone, DP_LIMITER_OK, 1400, 100, 2550);
	T_EQ_INT(dp_limiter_level(&l), 1,
		 "the request sent alone but served second: late (a 0.7 s answer came between), 1 in flight");
}

/* A server of 4 slots whose answers become 10x slower mid-run, for good,
 * past half of the callers' --timeout (fault sweep 24; live:
 * tests/integration/fault_sweep24_auto_slowdown.sh): the level must come
 * back to the slots.  Before: every answer after the jump was late by
 * the run's quickest from before it, the level fell to 1 and stayed at
 * 1-2 (3.80-4.01x -j4's time after it; now 1.07-1.14x).  The jump comes
 * with slow start at 8 to 20 in flight (the give-ups of the requests sent
 * then arrive at level 1, and those the server still serves delay the
 * next ones). */
static void slowdown_tests(void)
{
	const double jumps[] = {400, 700, 1000, 1500};
	struct job job = stage_job, fixed;
	double worst = 0;

	job.requests = 300;
	fixed = job;
	fixed.fixed = 1;
	fixed.workers = 4;
	for (size_t i = 0; i < sizeof jumps / sizeof jumps[0]; i++) {
		const struct server s = {.slots = 4, .service_ms = 60, .give_up_ms = 1200,
					 .slow_at_ms = jumps[i], .slow_ms = 700};
		struct job_result a = run_job(&s, &job, 1), f = run_job(&s, &fixed, 1);
		double x = (a.ms - jumps[i]) / (f.ms - jumps[i]);
		printf("# 4 slots, 60 ms then 700 ms from %.0f ms, --timeout 1.2 s: auto %.0f ms, -j4 %.0f ms "
		       "(after the jump %.2fx), %ld timed out\n", jumps[i], a.ms, f.ms, x, a.errors);
		worst = fmax(worst, x);
	}
	T_OK(worst <= 1.25, "4 slots 10x slower mid-run past half the deadline: within 1.25x -j4 after the jump");
}

/* --trace-storm, --trace-light: stage_job against s, seed traced (its
 * time over the clean run's: 16 slots of 25 ms), or, seed 0, the seeds of
 * the first n over `over` times the clean run's listed. */
static void trace_job(const struct server *s, uint64_t seed, int n, double over)
{
	const struct server clean = {.slots = 16, .service_ms = 25};
	double clean_ms = run_job(&clean, &stage_job, 1).ms;

	if (seed == 0) {
		for (seed = 1; seed <= (uint64_t)n; seed++) {
			double x = run_job(s, &stage_job, seed).ms / clean_ms;
			if (x > over)
				printf("%llu %.2f\n", (unsigned long long)seed, x);
		}
		return;
	}
	tracing = 1;
	printf("%.2f x clean\n", run_job(s, &stage_job, seed).ms / clean_ms);
}

int main(int argc, char **argv)
{
	const struct server clean = {.slots = 16, .service_ms = 25};
	const struct server storm = {.slots = 16, .service_ms = 25, .rate_429 = 0.3, .rate_5xx = 0.05};
	const struct server wall = {.service_ms = 20, .wall_rps = 50};
	struct result c, s, w;
	long least_ok = 1L << 40, oks[STORM_SEEDS];

	if (argc == 2 && strcmp(argv[1], "--sweep") == 0) {
		sweep();
		return 0;
	}
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "--trace") == 0) {
		/* The limiter's decisions in api_storm's light block, one seed
		 * (SEED [SHARE of 429s: 0.03]). */
		tracing = 1;
		struct job_result x = storm_block(argc == 4 ? atof(argv[3]) : 0.03, 0, strtoull(argv[2], NULL, 10));
		printf("%.0f ms, %.1f in flight over the second half\n", x.ms, x.late_flight);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "--trace-storm") == 0) {
		/* The limiter's decisions in issue 8's storm (30% 429 + 5%
		 * 5xx), one seed of the sweep's: SEED; 0 lists the seeds
		 * over 3x clean of the sweep's 1,000. */
		trace_job(&storm, strtoull(argv[2], NULL, 10), SWEEP_STORM_SEEDS, 3);
		return 0;
	}
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "--trace-light") == 0) {
		/* The same in the sweep's light weather (weather_ratios: 16
		 * slots of 25 ms, 429s at random): SEED [SHARE: 0.01]; 0 lists
		 * the seeds over 2x clean of the sweep's WEATHER_SEEDS. */
		const struct server light = {.slots = 16, .service_ms = 25,
					     .rate_429 = argc == 4 ? atof(argv[3]) : 0.01};
		trace_job(&light, strtoull(argv[2], NULL, 10), WEATHER_SEEDS, 2);
		return 0;
	}
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "--trace-bucket") == 0) {
		/* The same, for one bucket of the sweep's (bucket_run, no
		 * spread): RATE BURST [K: its service time 17 + K/2 ms, 6]. */
		double t;
		tracing = 1;
		double share = bucket_run(atof(argv[2]), atof(argv[3]), 0, argc == 5 ? atoi(argv[4]) : 6, &t);
		printf("%.2f%% of answers 429, %.3fx the time at its rate\n", share, t);
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "--trace-wall") == 0) {
		/* The same, for one seed of sweep_walls_in_weather: RATE WEATHER SEED. */
		tracing = 1;
		struct job_result x = wall_in_weather(atof(argv[2]), atof(argv[3]), strtoull(argv[4], NULL, 10));
		printf("%.0f ms, %.2f%% of answers 429 from the wall\n", x.ms, 100.0 * x.wall_429 / x.answers);
		return 0;
	}

	c = simulate(&clean, 64, 20000, 1);
	say("16 slots, clean", &c);
	T_OK(c.ok > 0.8 * 20 * 16 * 1000 / 25, "16 slots, clean: over 80% of the slots' rate");

	/* The storm of issue 8: 30% 429 and 5% 5xx at random, whatever the
	 * load.  Cutting does not lower that fraction: weather, not a wall.
	 * (Before the weather test: 0-2 answers in 20 s for every seed, the
	 * level at 1 and the pace at its floor.)  Some seeds still take a
	 * wrong verdict early and stay slow: docs/PERFORMANCE.md. */
	for (uint64_t seed = 1; seed <= STORM_SEEDS; seed++) {
		s = simulate(&storm, 64, 20000, seed);
		oks[seed - 1] = s.ok;
		if (s.ok < least_ok)
			least_ok = s.ok;
	}
	say("16 slots, 30% 429 + 5% 5xx at random, the last seed", &s);
	qsort(oks, STORM_SEEDS, sizeof oks[0], cmp_long);
	printf("# answers per seed: least %ld, median %ld, most %ld\n", oks[0], oks[STORM_SEEDS / 2],
	       oks[STORM_SEEDS - 1]);
	T_OK(oks[STORM_SEEDS / 2] > 0.5 * c.ok,
	     "a random storm: the median seed gets over half the clean run's answers");
	T_OK(least_ok > 0.25 * c.ok, "and every seed (before a false wall was revoked: 358 answers of 12,735)");

	/* A rate wall: 50 requests a second, a bucket of one second. */
	w = simulate(&wall, 64, 30000, 1);
	say("a wall of 50 requests/s", &w);
	T_OK(w.ok > 0.85 * 50 * 30, "a wall: over 85% of its rate");
	T_OK(w.throttled < 0.08 * (w.ok + w.throttled), "a wall: under 8% of answers 429");
	T_OK(w.most_in_flight <= 64, "never above --max-threads");

	job_tests();
	first_wall_tests();
	light_weather_tests();
	storm_block_tests();
	verdict_losses_test();
	weather_alike_test();
	heavy_weather_one_loss_test();
	send_order_test();
	light_first_test();
	pace_bound_tests();
	judge_pace_test();
	class_time_test();
	overdue_test();
	spread_tests();
	climb_tests();
	big_bucket_tests();
	deadline_test();
	reorder_test();
	slowdown_tests();
	return t_done();
}
