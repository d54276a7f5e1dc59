/* How many model API requests a stage keeps in flight: a fixed level
 * (--threads N) or one found at run time (--threads auto), the way TCP
 * finds its window.
 *
 * What it follows:
 *   - AIMD (Chiu & Jain 1989; TCP Reno's congestion avoidance, RFC 5681):
 *     additive increase by one per round without congestion, multiplicative
 *     decrease (x0.7, CUBIC's beta, RFC 8312; x0.5 on losses, below) on
 *     congestion, at most once per
 *     round ("one reduction per window"), so a round's many 429s count
 *     once; slow start (doubling per round) until the first
 *     congestion;
 *   - a delay gradient as in TCP Vegas and Netflix's concurrency-limits
 *     (GradientLimit: current RTT against the no-load RTT, with a tolerance):
 *     a round whose requests all took over DP_LIMITER_TOLERANCE x their
 *     no-load time counts as congestion (the server is queueing).  Request
 *     sizes differ (a combine prompt is 100x a chunk prompt), so the no-load
 *     time is kept per size class (powers of two of the token estimate;
 *     a class's first answer is not judged).  The round's quickest answer
 *     is judged, not its mean, as Vegas takes the least RTT of the last
 *     round and Copa its "standing" RTT (the least over a recent window):
 *     a queue delays every answer, while a model's answer time also
 *     varies with its output's length, and the no-load time is its
 *     class's quickest.  With answer times +-50% at random, the mean was
 *     ~2x the quickest, read as a queue: 1.66x -j64's time at 64 slots,
 *     19.8x with lognormal times (docs/PERFORMANCE.md, session 36).  And
 *     the least of a few answers still varies: the rule needs the last
 *     DP_LIMITER_STANDING answers over the tolerance too (Linux's Vegas
 *     likewise judges no round of under 3 samples), so a round of fewer
 *     in slow start is judged together with the ones before it.
 * A round is `level` finished requests: about one round trip of them (in
 * auto, a 429 ends it at once).
 * Growth happens only in rounds that used the level (an idle stage does not
 * inflate it).
 *
 * Auto: starts at 1 in flight (a refused key costs one request), grows up
 * to max; congestion is a 429 or 5xx in a round beyond the weather (below),
 * or the delay gradient.
 * A limit on in-flight requests does not bound their rate when 429s come
 * back at once, so the sends are also paced (dp_limiter_interval_ms):
 *   - a round with 429s sets the pace to 0.5x the rate they came at
 *     (w_max: the pace, or what successes came back at over the last
 *     second, if there is no pace yet; over the first second, only from
 *     8 successes on); a wall met in slow start, no weather known,
 *     comes at a rate that counts the bucket's burst (3x the wall's rate
 *     and more at bench/api-throughput.sh drpm's first wall): the first
 *     pace is a quarter of it (FIRST_WALL; half of it was still above
 *     the wall: its test met 8-10 429s), while under the wall costs
 *     little: the bucket keeps what the pace leaves for the climb back,
 *     which aims at the whole rate (w_max; aimed at half, it stayed under
 *     a small bucket's wall, whose burst hardly inflates the rate, and no
 *     429 came to measure it: 11-25% slower, simulated) and whose 429
 *     measures the wall's rate (below).  That first measure is low
 *     (ep_low: the bucket, refilled under the drained pace, lost what it
 *     could not hold; 8% at a bucket of 0.25 s), so the pace is probed
 *     10% higher after 1 s, not 5% after 8 s.
 *     This is BBR's Drain, which paces at 1/2.89 of the bandwidth
 *     estimated in Startup to empty the queue Startup's burst built
 *     (Cardwell et al., "BBR", ACM Queue 2016); without 429s the pace
 *     comes back to 0.95x w_max
 *     within about a second and holds there; only after a quiet period
 *     without 429s is w_max probed 5% higher, and each 429 that follows a
 *     probe doubles the period (2 s, up to 32 s).  A probe needs the pace
 *     to be what limits the sends (the rate granted over the last second,
 *     weather's refusals counted, at least 0.9x the pace: a stage that
 *     asks for less would raise it without end) and raises w_max to no
 *     more than 2x that rate.  This is CUBIC's plateau
 *     at the rate where loss was last seen (RFC 8312 sec. 4.2-4.4) with
 *     BBR's ProbeBW (probe up by a gain, then hold), slowed down: probing
 *     past a rate wall costs 429s, and a wall rarely moves;
 *   - once a test (below) found a wall, its rate is measured exactly, as
 *     BBR estimates a bottleneck's bandwidth: between two rounds with 429s
 *     a token bucket is empty at both, so the successes of the requests
 *     sent in between, over the time they were sent in, are its rate
 *     (however big its burst; the rate over the last second counts the
 *     burst).  The pace is then 0.95x that rate (also when a test's
 *     verdict lowers w_max to it), so the level stops
 *     mattering, and the next probe waits 8 s (a 5% probe stays under
 *     the rate, the next drains a bucket slowly: a wall is probed rarely
 *     and by small steps);
 *   - slow start doubles the level per round up to 8, then adds 4 per
 *     round (Limited Slow-Start, RFC 3742): behind a bucket, a rate wall
 *     is met late, with the whole window in flight.  Until the run's
 *     first loss or a queue (the quickest answer of a round up by an
 *     eighth: HyStart++, RFC 9406), from 64 answers on, it grows by one
 *     per success above 8 instead, doubling per round with the new
 *     requests sent as answers come, at most 4 a millisecond (RFC 5681's
 *     per-acknowledgment slow start): 64 is reached in 2-3 rounds from
 *     16, not 12, and a bucket's wall is met with the few requests sent
 *     after its last token (limiter.c: grow_on_success; session 57).
 *     (Pacing slow start
 *     at 2x its delivery rate, as BBR's startup, was tried: it slowed the
 *     climb on a 64-slot server by 0.3-0.5 s and doubled the 429s at the
 *     first wall, bench/api-throughput.sh drpm.)
 *   dp_http re-spaces the requests that wait for their turn in the pace
 *   when a round with 429s slows it: they go at the new pace from the
 *   last request that left, not at the turns the old one gave them
 *   (those turns are above the wall: each would be a 429).
 * App-limited (BBR's app-limited samples, RFC 7661): dp_http tells the
 * limiter when a place is left free with no caller queued for it nor
 * sleeping before a retry (dp_limiter_idle): the stage asks for less
 * than the level.  A round with losses in which that happened neither
 * lowers the level nor starts a test (the load it would lower was the
 * stage's, not the level), but lowers the pace as any (RFC 7661 still
 * reduces on losses); a round that did not use the level does not
 * raise it, and a wall's rate is not measured across such a time.
 * Weather (auto): 429s and 5xx that come whatever our load (a shared
 * server's random refusals) must not be taken for a wall: cutting on each
 * of them drove the level to 1 and the pace towards 0 (measured: 141
 * requests in 10 minutes under 30% 429 + 5% 503 at random).  So the
 * limiter reacts to the loss rate, not to each loss:
 *   - in slow start, the load doubles per round, which compares loads
 *     for free: a loss is congestion only when the last 8 answers hold a
 *     share of losses above the baseline (as unlikely at its share, a
 *     Laplace prior, as 2.5 standard deviations of a normal, by the
 *     exact binomial tail: the normal approximation called one loss of 8
 *     after none in 100-150 answers that, a 5% chance, and live the run's
 *     first 429 under 1% of 429s ended slow start for a wall; session 56)
 *     or above WEATHER_MAX, after at least 32 answers.  The baseline is the least of the loss shares of all
 *     the answers before the last 8 and of the first 32, 64, ... of them,
 *     so that a wall met meanwhile does not raise it.  Weather's share
 *     stays as the load grows, a wall's jumps.  When slow start ends on
 *     losses, the baseline is taken for the weather (from 1%: taken from
 *     5% only, light weather stayed unknown, below);
 *   - after slow start, the fraction of losses among the last
 *     DP_LIMITER_WINDOW answers is compared with `weather` (0: every
 *     loss is congestion); only a fraction above it by 2.5 binomial
 *     standard deviations (at least 0.1) is congestion;
 *   - a decrease on losses halves the level (to no less than 4 until a
 *     wall is found: a test at 1 or 2 in flight cannot lower the load
 *     and lasts seconds) and the pace (with weather known and no pace
 *     yet, the level alone: a rate measured through weather would set a
 *     test seconds long; at level 1 a 5xx halves the pace too), and is
 *     tested: the first DP_LIMITER_TEST requests sent after it, in the
 *     order they were sent, once all are answered (a wall as soon as
 *     every outcome of those still out would say one), with the level
 *     and the pace held (later losses wait: one decrease per test).  Not
 *     the first answers to come: a 429 or 5xx comes back at once, a
 *     success a service time later, and a place a loss frees goes out
 *     again at once, so the first 16 answers were mostly losses of
 *     requests sent after successes still out (the storm's 35%: 12-16 of
 *     16, taken for a wall, in each of the 10 seeds of 1,000 over 3x the
 *     clean run's time; session 56).  Under two losses, or more than
 *     WEATHER_MAX of them, it was our load: a wall, the decrease stands (with no pace yet, the
 *     pace is 0.95x what was granted); under two, the test's losses were
 *     judged and lower nothing more (more: the load is still over the
 *     wall, and they lower it again at once).  Losses within the weather known:
 *     undone (behind a wall found, the test's pace is kept: the one before
 *     let the wall's 429s through; and the weather is not raised by them).
 *     A wall found whose next two tests are within the weather is revoked
 *     (the second is undone whole and raises the weather): the verdict
 *     was weather's chance (a first test of 16 answers at 75% loss under
 *     35%) or a weather taken too low, whose losses, taken for the wall's,
 *     would lower its pace at each of them, for good (simulated: 258x the
 *     clean run's time; behind a wall and weather, one seed in 100 never
 *     ended).
 *     Light weather (a few % of answers) is too light for a test of
 *     DP_LIMITER_TEST answers to see: most of its tests meet no loss, and
 *     "under two losses" says wall.  With no weather known, every one of
 *     its losses was then the wall's: each lowered the level and
 *     re-measured the wall's rate PACE_HOLD lower, for good (measured: 3%
 *     of 429s at random, 12.7x the clean run's time; 5%, 29x; simulated,
 *     median 13x).  So, no weather known, a wall's test under two losses
 *     revokes it when its lowered load met one loss (behind a real wall
 *     it meets none, or many if the wall came down) or when its decrease
 *     came while the pace was held under the wall's measured rate with
 *     no probe since (a real wall that stayed refuses nothing there; a
 *     rate measured on 20 successes at least, one token in 20 being the
 *     hold's 5%: session 58).  The
 *     window's loss fraction (or the run's, if more) is then the weather,
 *     and the pace, all of it
 *     the false wall's, goes (as when a series' test finds weather behind
 *     a wall found: the undone state's pace was the false wall's too, and
 *     probes took 8 s to climb back from it); a revoked wall also gives
 *     back the slow start it ended, to climb back to the level its
 *     decreases took (one a round took the second half of a 3 s run).
 *     With the weather known, a first test (no wall found) under two
 *     losses says a wall only when the weather would give as few under
 *     2% of the time (33% before, none in 16 after; at 5%, the storm's
 *     35% taken at 28% and one loss in 16 said a wall; session 58); else
 *     its losses are within the weather: undone.  Taken for a wall, light weather's
 *     first test set a quarter of the rate for pace, and each later loss
 *     another decrease (simulated, 3% of 429s at random: median 1.58x
 *     the clean run's time, api_storm's light block 1.85x and one seed in
 *     33 under a tenth of the clean run's in flight; now 1.00x, 1.02x and
 *     one in 1,000; session 54).  The run's first test with no weather
 *     taken (slow start's share under 1%, or none in its first 32
 *     answers, or slow start ended by the delay gradient) is judged so
 *     too, against the loss share of the answers before its last 8:
 *     none there (a wall met on a clean run), a wall as before; one in
 *     142, then two, and none in 16 (as 1% of 429s gives 85% of the
 *     time): weather, undone, that share the weather (before: a wall,
 *     its pace a quarter of the rate, every later loss another decrease,
 *     revoked only by a test meeting exactly one loss: 1% of 429s at
 *     random, 3.36x the clean run's time at worst, simulated; one live
 *     run in five over 2x; session 56).
 *     Otherwise the first test of a series measures the success fraction
 *     and the rate its requests were sent at (from the last send before
 *     them: the tokens a bucket stored while the decrease held the sends
 *     back are theirs; not the rate their answers came at, which answer
 *     times that vary bunch; session 58), and the next decrease's test
 *     tells a wall from weather: behind a wall (a rate limit) the
 *     answers that succeed come at its rate whatever we send, so sending
 *     half as much doubles the fraction that succeeds; under weather
 *     that fraction stays.  Wald's
 *     sequential probability ratio test between the two (9:1, at most
 *     DP_LIMITER_TEST_MAX answers; at the most, loads the decrease could
 *     not set apart with the fractions alike are weather) says which: a
 *     wall, the decreases stand; weather, `weather` learns the loss
 *     fraction and the decreases of the series are undone (the state
 *     before them restored, as TCP undoes a window reduction that a
 *     spurious retransmission caused: Eifel, RFC 3522; F-RTO, RFC 5682);
 *   - `weather` follows a slow average of the loss fraction down when it
 *     falls under half of it (a storm that clears), never up: only a
 *     verdict raises it (a wall's losses must not);
 *   - under weather, a probe of the pace that met no 429 beyond it doubles
 *     the next one's step (5% up to 100%) and the next comes after 1 s:
 *     a pace taken from a low rate comes back in a few seconds.
 *   This is the question Netflix's concurrency-limits gradient asks of
 *   latency (is it above what no load gives?), asked of the loss rate,
 *   answered by an experiment (the decrease) instead of a baseline.
 * Late answers (auto): an answer (or a give-up: a timeout, a 504) that took
 *   over half of the callers' deadline (dp_limiter_deadline) means a queue
 *   eats the time a request has: a server of few slots (a local model:
 *   Ollama, llama.cpp) serves one request at a time, and every request more
 *   in flight waits one answer's time more.  The delay gradient is too slow
 *   for it (DP_LIMITER_STANDING answers, each seconds long at a local
 *   model's pace, and a no-load time that drifts up with a standing queue),
 *   so requests timed out and were sent again, and the give-ups were
 *   taken for weather: 1 slot, answers in a third of --timeout, 30
 *   documents: 161 requests sent again, 6.5x the time of --threads 1.  A
 *   late answer ends the round at once with a decrease to the level that
 *   brings the answers back under half the deadline (a queue's wait grows
 *   with the level, and Netflix's gradient limit scales its limit
 *   likewise: below), x0.7 at least;
 *   it is neither a loss for the weather nor a no-load time.  An answer
 *   slow by its own size is not late: one within 1.25x the quickest of
 *   its size class (near the deadline a quarter more is already a wait) (before: every answer over half the
 *   deadline lowered the level, 2.3x -j4's time with 4 slots answering in
 *   two thirds of it, fault sweep 17), and the decrease counts only the
 *   wait beyond that quickest (level x (half - quickest) / (time -
 *   quickest); 0.7x when the quickest is over half).  The level it came
 *   at is then held under for a while (4x the late answer's time, doubled
 *   at each late answer, at most 64x): one slot answering in two thirds
 *   of the deadline climbed back to two every round and gave one request
 *   up each time (1.8x -j1's time).  The answers
 *   to requests sent before it are not judged again (as after any
 *   decrease), but one late that the load it was sent at asks a lower
 *   level of lowers it so far, and neither they nor those that may have
 *   waited behind a request given up (the server goes on serving it) are
 *   losses: at level 1 (where none is late) the give-ups of a server
 *   that became slower started tests taken for a wall.
 *   The quickest is the server's time now: the least of the last two
 *   answers that no request of ours can have queued (sent with none
 *   other out, no give-up just before) and of every answer between them,
 *   when over it, raises every class's quickest and no-load time by as
 *   much, and over the tolerance ends the hold (BBR's min_rtt filter:
 *   limiter.c, server_time).  Kept
 *   as the run's least, a server 10x slower mid-run past half the
 *   deadline made every later answer late: level 1-2 for good, 3.8x
 *   -j4's time (fault sweep 24).
 * Fixed: the level is `max` after the first success (the first request goes
 * alone, for the same reason, unless it is overdue: dp_limiter_overdue),
 * and only a round in which over half the
 * requests were answered 429 lowers it (a rate wall, not weather); it grows
 * back by one per round.
 *
 * Not thread-safe: dp_http calls it under its lock.  No clock inside: the
 * caller passes times, so the unit tests replay any history. */
#ifndef DP_LIMITER_H
#define DP_LIMITER_H

#define DP_LIMITER_TOLERANCE 2.0
#define DP_LIMITER_STANDING 16 /* answers over the tolerance in a row that a delay decrease needs */
#define DP_LIMITER_BETA 0.7
#define DP_LIMITER_CLASSES 24
#define DP_LIMITER_BINS 10
#define DP_LIMITER_WINDOW 64 /* answers whose loss fraction is compared */
#define DP_LIMITER_TEST 16   /* answers after a decrease that judge it */
#define DP_LIMITER_START_SNAPS 24 /* slow start's loss counts kept: the first 2^k answers */
#define DP_LIMITER_FLIGHTS 1024 /* requests whose load at sending is kept */
#define DP_LIMITER_TEST_MAX 64 /* answers an undecided second test goes on for */

enum dp_limiter_outcome {
	DP_LIMITER_OK,        /* an answer (2xx, or a 4xx about this request) */
	DP_LIMITER_THROTTLED, /* 429 */
	DP_LIMITER_ERROR,     /* 5xx, 408, 409, timeout, connection failure */
};

/* Auto: the sample of the test of one decrease on losses ("Weather"
 * above), reset whole by each decrease's test_begin and read only
 * while `testing`: the answers to the first DP_LIMITER_TEST_MAX requests
 * sent after the decrease, judged in the order they were sent (not in
 * the order they come: a loss comes back at once, a success a service
 * time later).  What the verdict weighs besides the sample (the weather,
 * the wall, the series' first test) stays in dp_limiter. */
struct dp_limiter_test {
	unsigned long from;      /* the requests sent after it judge it: sequence
				  * numbers from + 1 ... from + DP_LIMITER_TEST_MAX */
	unsigned char seen[DP_LIMITER_TEST_MAX]; /* each: 0 not answered yet,
						  * 1 a success, 2 a loss */
	int next;                /* the first of them not yet judged */
	int n, loss;             /* the answers judged: those of the requests
				  * before next (one not answered when
				  * DP_LIMITER_TEST_MAX later ones were is
				  * passed over), and their losses */
	int answers;             /* answers to them so far, in any order */
	double first_sent_ms, last_sent_ms; /* when the first and the last of
					     * those answered were sent
					     * (test_rps) */
	double before_sent_ms;   /* and the last request before them (the
				  * latest send among the answers to
				  * requests up to from) */
	int later;               /* answers to requests sent after them (at
				  * most DP_LIMITER_TEST_MAX) */
	int held;                /* the decrease came with the pace held under a
				  * wall's rate, no probe since */
	double base;             /* the run's first test: the loss share before
				  * its trigger (test_weather; 0 for later ones) */
};

typedef struct dp_limiter {
	int autotune;
	int max;
	double deadline_ms; /* the callers give a request up after this (0: never) */
	double level;
	int slow_start;   /* no congestion seen yet */
	int opened;       /* a first success was seen */
	int overdue;      /* requests out without an answer for long, before
			   * the first success (dp_limiter_overdue) */
	/* The round in progress. */
	int n, throttled, errors, ok_timed;
	int grown;        /* auto: what successes added to the level this round
			   * (grow_on_success); the round is the level before */
	double round_least, last_least; /* this round's and the last's quickest
					 * answer over its class's no-load time */
	int delay_rose;   /* slow start: a round's quickest rose (a queue) */
	long grow_ms;     /* the millisecond of the last such growth ... */
	int grow_burst;   /* ... and what it added within it */
	double late;      /* auto: the level a late answer asks for (0: none came) */
	/* The level the last late answer came at (0: none), held under until
	 * late_probe_ms; the hold doubles with each late answer (late_quiet_ms). */
	int late_from;
	double late_quiet_ms, late_probe_ms;
	int over;         /* judged answers in a row, the last included, over
			   * DP_LIMITER_TOLERANCE x their class's no-load time
			   * (since the last decrease) */
	int peak;         /* most in flight at any send this round */
	double round_start_ms;
	double pace_rps;  /* auto, after 429s: requests per second at most (0: none) */
	double w_max_rps; /* the rate the last 429s came at */
	int probing;      /* w_max was raised since the last 429s */
	double probe_step; /* the next probe raises w_max by this fraction */
	double quiet_ms;  /* the quiet period before the next probe up */
	double probe_at_ms; /* when the held pace may step up */
	/* Successes per 100 ms over the last second, for the granted rate. */
	int bins[DP_LIMITER_BINS];
	long bin_last;
	double first_ok_ms;
	unsigned long sent;    /* requests sent so far (their sequence numbers) */
	/* Since the last round with 429s that set the pace (ep_ms):
	 * successes of requests sent after it, the last of them sent at. */
	double ep_ms, ep_ok, ep_last_ms;
	double ep_rps;    /* the rate measured between the last two (0: none) */
	double ep_rps_ok; /* ... on this many successes */
	int ep_low;       /* the episode began with a first wall's drain: the
			   * bucket, refilled under the drained pace, lost what
			   * it could not hold, so the episode measures low */
	int wall;         /* a test found a wall (our load) */
	int doubts;       /* tests within the weather since that verdict */
	double wall_level; /* the level before the decreases that found the
			    * wall, and slow start then (revoke_wall) */
	int wall_slow_start;
	int round_idle;   /* dp_limiter_idle was called this round */
	int was_idle;     /* dp_limiter_idle was called, last at: */
	double idle_ms;
	unsigned long recover; /* answers to requests sent up to here belong to
				* the window before the last decrease: ignored */
	/* No-load time per size class, ms (0: none yet). */
	double base_ms[DP_LIMITER_CLASSES];
	/* The quickest answer per size class, ms, never drifting (0: none
	 * yet): a late answer is one that a queue, not its size, made slow.
	 * Raised only by answers no request of ours could have queued
	 * (server_time). */
	double quickest_ms[DP_LIMITER_CLASSES];
	/* Per size class, when the last unqueued answer came and the least
	 * time of the answers since, that one included (server_time; 0: none
	 * yet). */
	struct {
		double ms, at_ms;
	} unqueued[DP_LIMITER_CLASSES];
	unsigned short flight[DP_LIMITER_FLIGHTS]; /* in flight when request seq was sent, at seq % this */
	unsigned long alone_seq; /* the last request sent with none other of ours out */
	double newest_sent_ms;   /* the latest send of an answered request */
	double gave_up_ms;       /* when the last late loss (a give-up) came (0: none) */
	double round_base_ms[DP_LIMITER_CLASSES]; /* as they were when the round began */
	/* Auto, losses: the last DP_LIMITER_WINDOW answers (1: a loss). */
	unsigned char win[DP_LIMITER_WINDOW];
	int win_n, win_next, win_loss;
	unsigned long all_n, all_loss; /* answers and losses so far */
	unsigned long start_loss[DP_LIMITER_START_SNAPS]; /* losses in the first 2^k answers */
	double weather;   /* loss fraction whatever the load (0: none known) */
	double loss_avg;  /* slow average of the loss fraction */
	/* A decrease on losses under test. */
	int testing;
	int undecided;           /* an earlier test was undecided: restore point kept */
	struct dp_limiter_test test; /* its sample */
	int tested;              /* a decrease on losses was tested before */
	/* A series of tests (an undecided one and the next decrease's): */
	int have_ref;            /* the series' first test measured: */
	double ref_success, ref_rps; /* its success fraction and answer rate */
	int ref_n;               /* and its answers */
	int test_gradient;       /* the delay gradient lowered the level meanwhile */
	struct {
		double level, pace_rps, w_max_rps, quiet_ms, probe_at_ms, probe_step;
		int slow_start, probing;
		unsigned long decreases;
	} restore;               /* the state before the decreases under test */
	/* Totals for the report. */
	int highest;
	unsigned long decreases;
	unsigned long undone;  /* decreases undone as weather */
	unsigned long late_fixed; /* late answers at a fixed level above 1 */
} dp_limiter;

/* autotune: --threads auto (max: --max-threads); else a fixed level max. */
void dp_limiter_init(dp_limiter *l, int autotune, int max);

/* The callers give a request up after ms (their --timeout; 0: never):
 * auto keeps the answers under half of it (see "Late answers" above). */
void dp_limiter_deadline(dp_limiter *l, double ms);

/* Requests allowed in flight now (>= 1). */
int dp_limiter_level(const dp_limiter *l);

/* Before the first success (the level is 1 then, fixed or auto), a request
 * that has had no byte of an answer for long is no refusal (a server
 * refuses a key or a quota at once): it may be lost, and it must not hold
 * the stage at nothing in flight for its whole --timeout.  Each such
 * request (delta +1 when it is found overdue, -1 when it ends) lets one
 * more go until the first success, after which the count is moot. */
void dp_limiter_overdue(dp_limiter *l, int delta);

/* A request is sent with in_flight requests in flight (itself included).
 * Returns its sequence number, for dp_limiter_done. */
unsigned long dp_limiter_sent(dp_limiter *l, int in_flight);

/* A place in flight is free and no caller waits for it: the answers to
 * the requests sent so far measure the stage's demand, not the server
 * (app-limited). */
void dp_limiter_idle(dp_limiter *l, double now_ms);

/* Request seq finished at now_ms: its outcome, its time in ms (from
 * sending to the answer) and its token estimate (for its size class). */
void dp_limiter_done(dp_limiter *l, unsigned long seq, enum dp_limiter_outcome o, double ms,
		     double tokens, double now_ms);

/* Auto: the loss fraction known to come whatever the load (0: none). */
double dp_limiter_weather(const dp_limiter *l);

/* The no-load time, ms, of a request of this token estimate's size class
 * (the quickest answers of the class, drifting slowly up).  When none of
 * the class has answered yet, the nearest class's that has: as is from a
 * larger class, x sqrt(2) for each class from a smaller one (a prompt
 * twice as long: an answer's time is mostly its output's, the prompt's
 * part grows with it; so a big document's combine prompt is judged by
 * its chunk prompts' times).  0: no request answered yet. */
double dp_limiter_class_ms(const dp_limiter *l, double tokens);

/* 1 when a request of this token estimate's size class, or of a larger
 * one, has been answered; else 0. */
int dp_limiter_size_answered(const dp_limiter *l, double tokens);

/* The least time between two sends, in ms (0: no pace). */
double dp_limiter_interval_ms(const dp_limiter *l);

#endif
