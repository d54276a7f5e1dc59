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
#define STORM_SEEDS 30

struct server {
	int slots;          /* 0: as many as asked */
	double service_ms;  /* per request, in a slot */
	double wall_rps;    /* token bucket refilled at this rate (0: none) */
	double rate_429, rate_5xx;
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

struct req {
	double sent_ms, answer_ms;
	unsigned long seq;
	enum dp_limiter_outcome o;
};

/* Runs auto (max) for ms against s with endless work; returns what came back. */
static struct result simulate(const struct server *s, int max, double ms, uint64_t seed)
{
	static struct req fl[SIM_MAX_FLIGHT];
	double slot_free[256] = {0}, bucket = s->wall_rps > 1 ? s->wall_rps : 1, next_send = 0;
	double cap = bucket;
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
		bucket = fmin(cap, bucket + s->wall_rps / 1000);
		while (n < dp_limiter_level(&l) && n < SIM_MAX_FLIGHT) {
			struct req *q = &fl[n++];
			double iv = dp_limiter_interval_ms(&l);
			q->seq = dp_limiter_sent(&l, n);
			/* The pace: a request holds its place while it waits to go. */
			q->sent_ms = now;
			if (iv > 0) {
				q->sent_ms = next_send > now ? next_send : now;
				next_send = q->sent_ms + iv;
			}
			if (n > r.most_in_flight)
				r.most_in_flight = n;
			/* The bucket is read when the request is sent (approximately:
			 * its refill up to now). */
			if (s->wall_rps > 0 && bucket < 1) {
				q->o = DP_LIMITER_THROTTLED;
				q->answer_ms = q->sent_ms + 1;
				r.wall_429++;
				continue;
			}
			if (s->wall_rps > 0)
				bucket -= 1;
			double w = rnd();
			if (w < s->rate_429 || w < s->rate_429 + s->rate_5xx) {
				q->o = w < s->rate_429 ? DP_LIMITER_THROTTLED : DP_LIMITER_ERROR;
				q->answer_ms = q->sent_ms + 1;
				continue;
			}
			q->o = DP_LIMITER_OK;
			double start = q->sent_ms;
			if (s->slots > 0) {
				int k = 0;
				for (int j = 1; j < s->slots; j++)
					if (slot_free[j] < slot_free[k])
						k = j;
				if (slot_free[k] > start)
					start = slot_free[k];
				slot_free[k] = start + s->service_ms;
			}
			q->answer_ms = start + s->service_ms;
		}
		if (now >= ms / 2 && dp_limiter_level(&l) < r.level_min_late)
			r.level_min_late = dp_limiter_level(&l);
	}
	r.level_end = dp_limiter_level(&l);
	return r;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

static void say(const char *what, const struct result *r)
{
	printf("# %s: %ld ok, %ld x 429 (%ld from the wall), %ld x 5xx; level %d at the end, "
	       "%d at least in the second half, %d in flight at most\n",
	       what, r->ok, r->throttled, r->wall_429, r->errors, r->level_end, r->level_min_late,
	       r->most_in_flight);
}

int main(void)
{
	const struct server clean = {.slots = 16, .service_ms = 25};
	const struct server storm = {.slots = 16, .service_ms = 25, .rate_429 = 0.3, .rate_5xx = 0.05};
	const struct server wall = {.service_ms = 20, .wall_rps = 50};
	const struct server wall_storm = {.service_ms = 20, .wall_rps = 50, .rate_429 = 0.3};
	struct result c, s, w, ws;
	long least_ok = 1L << 40, oks[STORM_SEEDS];

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
	T_OK(oks[STORM_SEEDS / 5] > 0.25 * c.ok, "and four seeds in five over a quarter");
	T_OK(least_ok > 50, "and every seed goes on (over 50 answers in 20 s)");

	/* A rate wall: 50 requests a second, a bucket of one second. */
	w = simulate(&wall, 64, 30000, 1);
	say("a wall of 50 requests/s", &w);
	T_OK(w.ok > 0.85 * 50 * 30, "a wall: over 85% of its rate");
	T_OK(w.throttled < 0.08 * (w.ok + w.throttled), "a wall: under 8% of answers 429");
	T_OK(w.most_in_flight <= 64, "never above --max-threads");

	/* Both: the wall's 429s stand out of the weather's. */
	ws = simulate(&wall_storm, 64, 30000, 2);
	say("a wall of 50 requests/s and 30% 429 at random", &ws);
	T_OK(ws.ok > 0.3 * 0.7 * 50 * 30, "wall + storm: over 30% of what the wall lets through");
	T_OK(ws.wall_429 < 0.3 * (ws.ok + ws.throttled), "wall + storm: under 30% of answers 429 from the wall");
	return t_done();
}
