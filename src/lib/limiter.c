#include "limiter.h"

#include <math.h>
#include <string.h>

/* How fast a class's no-load time follows slower answers: a server that
 * became slower for good is accepted after ~100 requests, a queue is
 * caught within a round. */
#define BASE_DRIFT 0.01
/* Limited slow start (RFC 3742): above this level, slow start grows by
 * half of it per round, not by doubling, so that a rate wall hidden behind
 * a bucket is not met with a doubled window in flight; but by one per
 * success, doubling, while no loss was seen nor a queue (grow_on_success). */
#define SLOW_START_MAX 8
#define HYSTART_SAMPLES 8  /* RFC 9406's N_RTT_SAMPLE: answers a round's quickest is taken of */
#define HYSTART_ETA 0.125  /* ... and its rise over the last round's that is a queue (1/8) */
#define PACE_HOLD 0.95    /* the held pace under the rate of the last 429s */
#define PACE_DECREASE 0.5 /* a round with 429s: the pace x this */
#define FIRST_WALL 0.25   /* a wall met in slow start: the first pace x this
			   * of the rate it came at (that counts the burst) */
#define PACE_STEP 0.05    /* the first probe up: w_max x (1 + this) */
#define PACE_STEP_MAX 1.0 /* the most a probe's step grows to */
#define PACE_LIMITED 0.9  /* a rate this x the pace or more: the pace limits */
#define PACE_CEILING 2.0  /* a probe raises w_max to this x that rate at most */
#define QUIET_MIN_MS 2000 /* quiet period before the first probe */
#define QUIET_MAX_MS 32000
#define QUIET_WEATHER_MS 1000 /* between probes under weather */
#define QUIET_EXACT_MS 8000 /* before probing a wall's rate measured: a 5% probe
			     * stays under it, the next drains a bucket slowly */
#define QUIET_LOW_MS 1000 /* before probing a rate measured low (ep_low) ... */
#define PACE_STEP_LOW 0.1 /* ... by this step */
#define RATE_MIN_OK 8     /* successes a rate is measured on, at least */
#define EPISODE_MIN_MS 200 /* 429 rounds this far apart measure the rate */
#define BIN_MS 100.0      /* successes are counted per bin of this */
/* Weather (limiter.h). */
#define LOSS_BETA 0.5     /* a decrease on losses: the level x this (a test
			   * compares loads at least this far apart) */
#define TEST_LLR 2.2      /* log-likelihood ratio that decides (9:1) */
/* The most a wall is expected to let a second test succeed (wall_llr).  A
 * first test that met a big bucket's last tokens measures the wall's rate
 * high, so the second test's success fraction is predicted near 1, and at
 * 0.98 each of its few losses weighed ln(0.02 / (1 - weather)), about -3:
 * behind a bucket of 8 s at 200/s, a first test at 528/s had 10 of 16
 * succeed (the last tokens), the second at a pace of 229/s 13 of 16 (the
 * wall's 87%), and that said weather, under which the wall's 429s then
 * hid (simulated: 15-22% of answers 429; 0.7-0.8% at 0.9, the storm's
 * figures the same; session 57). */
#define WALL_SUCCESS_MAX 0.9
#define TEST_ALPHA 0.02   /* a first test's few losses: weather's chance at least this (weather_alike) */
#define WEATHER_LOAD 0.75 /* the second test's answer rate at most this x the
			   * first's: loads far enough apart to compare */
#define WEATHER_SIGMAS 2.5 /* binomial standard deviations over the weather ... */
#define WEATHER_MARGIN_MIN 0.1 /* ... at least this: congestion */
#define WEATHER_AVG 256.0 /* answers the slow average spans */
#define WEATHER_GONE 0.01 /* a weather under this: none */
#define WEATHER_MAX 0.75  /* the most a verdict takes for weather */
#define WEATHER_CLEARING 0.5 /* the weather follows the slow average under this
			      * x it (a storm that eases), not its noise (an
			      * estimate biased low would take weather for
			      * congestion) */
#define LOSS_FLOOR 4      /* the level losses lower to, at least (no wall known) */
#define WALL_DOUBTS 2     /* a wall's tests within the weather that revoke it */
#define START_FIRST 5     /* the weather from the first 2^5, 2^6... answers */
#define START_BEFORE 32   /* ... and at least this many before them */
#define START_RECENT 8    /* answers slow start compares with those before */
#define START_ALPHA 0.0062 /* ... their losses' chance at the baseline under
			    * which they are congestion: a normal's beyond
			    * WEATHER_SIGMAS standard deviations */
#define DEADLINE_SHARE 0.5 /* an answer over this x the deadline is late (limiter.h) ... */
#define LATE_TOLERANCE 1.25 /* ... and over this x its class's quickest: near the
			     * deadline, a wait of a quarter more is one too many (one slot:
			     * two in flight double it, three give up at a third of it) */
#define LATE_HOLD 4.0     /* the level a late answer came at: held under for this x its time ... */
#define LATE_HOLD_MAX 64.0 /* ... doubled at each late answer up to this x */
#define UNQUEUED_WINDOW_MS 10000.0 /* two unqueued answers this far apart at most: the server's time (server_time) */

void dp_limiter_init(dp_limiter *l, int autotune, int max)
{
	memset(l, 0, sizeof *l);
	l->autotune = autotune;
	l->max = max > 0 ? max : 1;
	l->level = 1;
	l->slow_start = 1;
	l->highest = 1;
	l->probe_step = PACE_STEP;
}

void dp_limiter_deadline(dp_limiter *l, double ms)
{
	l->deadline_ms = ms > 0 ? ms : 0;
}

int dp_limiter_level(const dp_limiter *l)
{
	int v = (int)l->level + (l->opened ? 0 : l->overdue);

	return v < 1 ? 1 : v > l->max ? l->max : v;
}

void dp_limiter_overdue(dp_limiter *l, int delta)
{
	l->overdue += delta;
}

unsigned long dp_limiter_sent(dp_limiter *l, int in_flight)
{
	if (in_flight > l->peak)
		l->peak = in_flight;
	if (in_flight <= 1)
		l->alone_seq = l->sent + 1;
	l->flight[(l->sent + 1) % DP_LIMITER_FLIGHTS] = (unsigned short)(in_flight < 65535 ? in_flight : 65535);
	return ++l->sent;
}

void dp_limiter_idle(dp_limiter *l, double now_ms)
{
	l->idle_ms = now_ms;
	l->was_idle = 1;
	l->round_idle = 1;
}

static int size_class(double tokens)
{
	int c = tokens >= 1 ? (int)log2(tokens) : 0;

	return c < DP_LIMITER_CLASSES ? c : DP_LIMITER_CLASSES - 1;
}

/* A per-class time of the table (base_ms or quickest_ms) for a request
 * of tokens: its class's, else the nearest known one's (dp_limiter_class_ms
 * says how); 0 when none is known. */
static double nearest_class_ms(const double *table, double tokens)
{
	int c = size_class(tokens), d;

	for (d = 0; d < DP_LIMITER_CLASSES; d++) {
		if (c - d >= 0 && table[c - d] > 0)
			return table[c - d] * pow(M_SQRT2, d);
		if (c + d < DP_LIMITER_CLASSES && table[c + d] > 0)
			return table[c + d];
	}
	return 0;
}

double dp_limiter_class_ms(const dp_limiter *l, double tokens)
{
	return nearest_class_ms(l->base_ms, tokens);
}

int dp_limiter_size_answered(const dp_limiter *l, double tokens)
{
	for (int c = size_class(tokens); c < DP_LIMITER_CLASSES; c++)
		if (l->quickest_ms[c] > 0)
			return 1;
	return 0;
}

/* The request's time over its class's no-load time as it stood when the
 * round began (0 for the first of a class: nothing to judge it by),
 * updating that time.  Not the drifted time: a round of 64 answers at 3x
 * drifts it 1.9x up, and its last answers would look unqueued. */
static double delay_ratio(dp_limiter *l, double ms, double tokens)
{
	int c = size_class(tokens);
	double *base = &l->base_ms[c], ref;

	if (ms <= 0)
		ms = 0.001;
	if (*base <= 0) {
		*base = ms;
		return 0;
	}
	if (ms < *base) {
		*base = ms;
		return 1;
	}
	ref = l->round_base_ms[c] > 0 && l->round_base_ms[c] < *base ? l->round_base_ms[c] : *base;
	*base += (ms - *base) * BASE_DRIFT;
	return ms / ref;
}

static void set_level(dp_limiter *l, double v)
{
	l->level = v < 1 ? 1 : v > l->max ? l->max : v;
	if (dp_limiter_level(l) > l->highest)
		l->highest = dp_limiter_level(l);
}

double dp_limiter_interval_ms(const dp_limiter *l)
{
	return l->pace_rps > 0 ? 1000.0 / l->pace_rps : 0;
}

/* Under the bins: empties those between the last counted one and bin b. */
static void advance_bins(dp_limiter *l, long b)
{
	if (b - l->bin_last >= DP_LIMITER_BINS)
		memset(l->bins, 0, sizeof l->bins);
	else
		for (long k = l->bin_last + 1; k <= b; k++)
			l->bins[k % DP_LIMITER_BINS] = 0;
	if (b > l->bin_last)
		l->bin_last = b;
}

/* Successes per second over about the last second (since the first
 * success, if later). */
static double delivered_rps(dp_limiter *l, double now_ms)
{
	long b = (long)(now_ms / BIN_MS);
	double window = (DP_LIMITER_BINS - 1) * BIN_MS + fmod(now_ms, BIN_MS), n = 0;

	advance_bins(l, b);
	for (int i = 0; i < DP_LIMITER_BINS; i++)
		n += l->bins[i];
	if (now_ms - l->first_ok_ms < window) {
		if (n < RATE_MIN_OK)
			return 0; /* too little time and too few to measure a rate by */
		window = now_ms - l->first_ok_ms;
	}
	return window > 0 ? n * 1000 / window : 0;
}

/* Auto: the rate a wall grants, measured between two rounds with 429s
 * (0: not measurable).  A token bucket is empty at both, so what it let
 * through in between, the successes of the requests sent in between, is
 * its rate times the time (exact, however big the bucket: the rate over
 * the last second is not, it counts the bucket's burst).  Only when the
 * stage asked for all its level meanwhile (else it measures the demand)
 * and over enough time and successes. */
static double episode_rps(const dp_limiter *l)
{
	double span = l->ep_last_ms - l->ep_ms;

	if (l->ep_ms <= 0 || span < EPISODE_MIN_MS || l->ep_ok < RATE_MIN_OK ||
	    (l->was_idle && l->idle_ms > l->ep_ms))
		return 0;
	return l->ep_ok * 1000 / span;
}

/* Auto: the pace after a round with 429s.  With the wall's rate measured
 * (episode_rps): PACE_HOLD x it, and the next probe up only after
 * QUIET_MAX_MS (a wall rarely moves; probing past a token bucket is blind
 * until its burst is spent, then costs 429s).  Else x PACE_DECREASE from
 * the rate the 429s came at (w_max: the pace, or what successes came back
 * at over the last second if less; a round that ends at its first 429 is
 * too short to measure), and a 429 that follows a probe up doubles the
 * quiet period before the next. */
static void pace_throttled(dp_limiter *l, double now_ms)
{
	/* Sends that weather refuses are no part of the rate. */
	double measured = episode_rps(l) / (1 - l->weather);
	double exact = l->wall ? measured : 0;
	double granted = exact > 0 ? exact : delivered_rps(l, now_ms) / (1 - l->weather);

	int low = l->ep_low; /* the episode began with a drain: measured low */

	l->ep_rps = measured;
	l->ep_rps_ok = measured > 0 ? l->ep_ok : 0;
	l->ep_ms = l->ep_last_ms = now_ms;
	l->ep_ok = 0;
	l->ep_low = 0;
	/* Under weather known, a first decrease lowers the level alone:
	 * its test then runs at half the load, not at half of a rate
	 * measured through the weather (seconds for a test at a low pace);
	 * a wall it finds gets its pace from the next 429s (exact). */
	if (l->pace_rps <= 0 && l->weather > 0 && exact <= 0)
		return;
	/* A wall met in slow start, as its test begins (limiter.h: BBR's
	 * Drain): the rate of the last second counts the bucket's burst,
	 * so the first pace is FIRST_WALL of it, and the climb aims at the
	 * whole (the next 429s measure the wall).  (Not in an app-limited
	 * round, whose rate is the stage's demand: drained there, then
	 * halved at the wall, it put w_max under the wall: simulated, 15%
	 * slower behind a bucket of 0.5 s.) */
	int drain = l->pace_rps <= 0 && exact <= 0 && l->slow_start && l->testing;
	if (l->pace_rps <= 0 || exact > 0)
		l->pace_rps = granted;
	if (l->pace_rps <= 0)
		return; /* no success yet to measure a rate by: the level alone */
	l->ep_low = drain;
	l->w_max_rps = l->pace_rps;
	if (exact > 0) {
		l->pace_rps *= PACE_HOLD;
		l->quiet_ms = l->weather > 0 ? QUIET_MIN_MS : low ? QUIET_LOW_MS : QUIET_EXACT_MS;
	} else {
		double f = drain ? FIRST_WALL : PACE_DECREASE;
		l->pace_rps = l->pace_rps * f > 0.1 ? l->pace_rps * f : 0.1;
		l->quiet_ms = !l->probing ? QUIET_MIN_MS
			      : l->quiet_ms * 2 < QUIET_MAX_MS ? l->quiet_ms * 2 : QUIET_MAX_MS;
	}
	l->probing = 0;
	l->probe_step = exact > 0 && low ? PACE_STEP_LOW : PACE_STEP;
	l->probe_at_ms = now_ms + l->quiet_ms;
}

/* Auto: the pace after a round without 429s, elapsed_ms long: back up to
 * PACE_HOLD x w_max within about a second (CUBIC's concave region), held
 * there, and w_max probed higher after each quiet period, but only while
 * the pace is what limits the sends (what was granted over the last
 * second, weather's refusals counted, is near it): a stage that asks for
 * less would raise it without end (BBR's app-limited samples), and never
 * past PACE_CEILING x that rate. */
static void pace_quiet(dp_limiter *l, double now_ms, double elapsed_ms)
{
	double target = PACE_HOLD * l->w_max_rps, f = elapsed_ms / 500;
	double sent_rps = delivered_rps(l, now_ms) / (1 - l->weather);

	/* Weather learned since the pace was set: probed at its pace. */
	if (l->weather > 0 && l->probe_at_ms > now_ms + QUIET_WEATHER_MS)
		l->probe_at_ms = now_ms + QUIET_WEATHER_MS;
	if (l->pace_rps < target) {
		l->pace_rps += (target - l->pace_rps) * (f < 1 ? f : 1);
		if (l->pace_rps > 0.99 * target)
			l->pace_rps = target;
	} else if (now_ms >= l->probe_at_ms && sent_rps >= PACE_LIMITED * l->pace_rps) {
		/* Under weather, a probe that met no 429 beyond it doubles the
		 * next one's step: a pace taken from a low rate (weather taken
		 * for a wall, or a stage that asked little then) comes back in
		 * a few quiet periods, not hundreds.  Without weather a wall
		 * is probed 5% at a time (each probe past it costs 429s). */
		if (l->probing && l->weather > 0)
			l->probe_step = l->probe_step * 2 < PACE_STEP_MAX ? l->probe_step * 2
									  : PACE_STEP_MAX;
		l->w_max_rps *= 1 + l->probe_step;
		if (l->w_max_rps > PACE_CEILING * sent_rps)
			l->w_max_rps = PACE_CEILING * sent_rps;
		l->pace_rps = PACE_HOLD * l->w_max_rps;
		l->probing = 1;
		l->probe_at_ms = now_ms + (l->weather > 0 ? QUIET_WEATHER_MS : l->quiet_ms);
	}
}

double dp_limiter_weather(const dp_limiter *l)
{
	return l->weather;
}

/* Auto: 1 when a loss fraction f over n answers is no more than the
 * weather known, give or take chance (binomial standard deviations). */
static int within_weather(double w, double f, int n)
{
	double margin;

	if (w <= 0 || n <= 0)
		return 0;
	margin = WEATHER_SIGMAS * sqrt(w * (1 - w) / n);
	if (margin < WEATHER_MARGIN_MIN)
		margin = WEATHER_MARGIN_MIN;
	return f <= w + margin;
}

/* Auto: 1 when the window's loss fraction is congestion. */
static int excess_loss(const dp_limiter *l)
{
	return !within_weather(l->weather, (double)l->win_loss / l->win_n, l->win_n);
}

/* The least of share and the loss fractions of the first 2^k answers (k
 * from START_FIRST, 2^k at most n). */
static double first_least(const dp_limiter *l, double share, double n)
{
	for (int j = START_FIRST; j < DP_LIMITER_START_SNAPS && (1UL << j) <= n; j++)
		if ((double)l->start_loss[j] / (1UL << j) < share)
			share = (double)l->start_loss[j] / (1UL << j);
	return share;
}

/* The answers before the last START_RECENT. */
static double answers_before(const dp_limiter *l)
{
	return l->all_n > START_RECENT ? (double)(l->all_n - START_RECENT) : 0;
}

/* The losses among the last START_RECENT answers. */
static int recent_losses(const dp_limiter *l)
{
	int k = 0;

	for (int i = 1; i <= START_RECENT; i++)
		k += l->win[(l->win_next - i + DP_LIMITER_WINDOW) % DP_LIMITER_WINDOW];
	return k;
}

/* The loss fraction of the answers before the last START_RECENT (0 when
 * there are none). */
static double share_before(const dp_limiter *l)
{
	double n = answers_before(l);

	return n > 0 ? (l->all_loss - recent_losses(l)) / n : 0;
}

/* Auto, slow start: the loss fraction of the last START_RECENT answers
 * (the window's newest), and the baseline: the least of the fractions of
 * all the answers before them and of the first 2^k of them (k from
 * START_FIRST), so that a wall met meanwhile does not raise it; n_before:
 * the answers before the last. */
static void start_shares(const dp_limiter *l, double *recent, double *before, double *n_before)
{
	*recent = (double)recent_losses(l) / START_RECENT;
	*n_before = answers_before(l);
	*before = first_least(l, share_before(l), *n_before);
}

/* The chance of k or more losses among n answers, each lost at p. */
static double binomial_tail(int n, int k, double p)
{
	double term = pow(1 - p, n), below = 0;

	for (int i = 0; i < k && i <= n; i++) {
		below += term;
		term *= (double)(n - i) / (i + 1) * p / (1 - p);
	}
	return fmax(0, 1 - below);
}

/* Auto, slow start, no weather known: 1 when the losses of the last
 * answers are as unlikely at the baseline's share as a normal's beyond
 * WEATHER_SIGMAS standard deviations, by the exact binomial tail, or
 * above any weather taken (WEATHER_MAX).  (The normal approximation
 * called one loss of 8 after none in 100-150 answers 2.5 standard
 * deviations, a 5% chance: live, the run's first 429 under 1% of 429s
 * ended slow start with no share before it, and its test's 16 answers
 * without a loss said a wall; session 56.)  Slow start
 * doubles the load per round, so this compares loads apart for free:
 * losses that stay the share they were at lower loads are weather (the
 * level goes on growing), a wall's jump up.  Over the first answers,
 * nothing is congestion. */
static int excess_start(const dp_limiter *l)
{
	double recent, before, n, p;

	if (l->all_n < START_RECENT + START_BEFORE)
		return 0;
	start_shares(l, &recent, &before, &n);
	p = (before * n + 1) / (n + 2); /* Laplace: a few answers say little */
	return recent > WEATHER_MAX ||
	       binomial_tail(START_RECENT, (int)lround(recent * START_RECENT), p) < START_ALPHA;
}

/* Auto: one more answer (loss: 1 for a 429 or 5xx) in the window.
 * Returns 1 when it is a loss beyond the weather.  The weather follows the
 * loss fraction's slow average down when a storm eases or clears, never
 * up: only a test's verdict raises it (a wall's losses must not). */
static int count_loss(dp_limiter *l, int loss)
{
	int excess;

	if (l->win_n == DP_LIMITER_WINDOW)
		l->win_loss -= l->win[l->win_next];
	else
		l->win_n++;
	l->win[l->win_next] = (unsigned char)loss;
	l->win_loss += loss;
	l->win_next = (l->win_next + 1) % DP_LIMITER_WINDOW;
	l->all_n++;
	l->all_loss += loss;
	for (int k = START_FIRST; k < DP_LIMITER_START_SNAPS; k++)
		if (l->all_n == 1UL << k)
			l->start_loss[k] = l->all_loss;
	excess = l->slow_start && l->weather <= 0 ? excess_start(l) : excess_loss(l);
	l->loss_avg += (loss - l->loss_avg) / WEATHER_AVG;
	if (l->weather > 0 && l->loss_avg < WEATHER_CLEARING * l->weather)
		l->weather = l->loss_avg >= WEATHER_GONE ? l->loss_avg : 0;
	return loss && excess;
}

/* Auto: a decrease on losses begins (before it changes anything): it is
 * tested, and the state is kept to be restored unless an undecided test
 * kept an earlier one. */
static void test_begin(dp_limiter *l)
{
	if (!l->undecided) {
		l->restore.level = l->level;
		l->restore.pace_rps = l->pace_rps;
		l->restore.w_max_rps = l->w_max_rps;
		l->restore.quiet_ms = l->quiet_ms;
		l->restore.probe_at_ms = l->probe_at_ms;
		l->restore.slow_start = l->slow_start;
		l->restore.probing = l->probing;
		l->restore.probe_step = l->probe_step;
		l->restore.decreases = l->decreases;
		l->test_gradient = 0;
		l->have_ref = 0;
	}
	l->undecided = 0;
	l->testing = 1;
	l->test = (struct dp_limiter_test){
		.from = l->sent,
		/* Held under a wall's measured rate, no probe since: a real
		 * wall that stayed where it was refuses nothing here.  Only
		 * a rate measured on enough successes to be within the
		 * hold's margin: a bucket's count is exact to a token, 1 in
		 * ep_rps_ok, and PACE_HOLD is 5% under it.  (A wall of 30/s
		 * measured on 8 successes in 242 ms at 33.1/s: the held
		 * pace, 31.4/s, was over it, its next 429 came "held", the
		 * test at the lower pace met none, and the wall was taken
		 * for light weather, its own 429s' share for the weather:
		 * slow start into the bucket again, 15 of 16 lost; 4 s
		 * buckets at 25-30/s, +-50%: up to 8.6-12.2% of answers 429,
		 * now 2.5-3.1%; session 58.) */
		.held = l->ep_rps > 0 && l->ep_rps_ok * (1 - PACE_HOLD) >= 1 && !l->probing &&
			l->pace_rps > 0 && l->pace_rps <= PACE_HOLD * l->ep_rps * (1 + 1e-9),
		/* The run's first test: no wall's losses among them (a
		 * decrease of the delay gradient may have come before: no
		 * loss's). */
		.base = !l->tested ? share_before(l) : 0,
		.before_sent_ms = l->newest_sent_ms,
	};
	l->tested = 1;
}

/* The decreases under test were weather: back to the state before them
 * (the level only if the delay gradient did not lower it meanwhile). */
static void undo(dp_limiter *l)
{
	if (!l->test_gradient) {
		if (l->restore.level > l->level)
			l->level = l->restore.level;
		l->slow_start = l->restore.slow_start;
	}
	/* Behind a wall found, a pace the test held within the weather is
	 * the wall's: the one before it let the wall's 429s through. */
	if (!l->wall || l->pace_rps <= 0) {
		l->pace_rps = l->restore.pace_rps;
		l->w_max_rps = l->restore.w_max_rps;
		l->quiet_ms = l->restore.quiet_ms;
		l->probe_at_ms = l->restore.probe_at_ms;
		l->probing = l->restore.probing;
		l->probe_step = l->restore.probe_step;
	}
	l->undone += l->decreases - l->restore.decreases;
	l->decreases = l->restore.decreases;
	l->undecided = 0;
	/* The round's losses so far were weather too. */
	l->throttled = l->errors = 0;
}

/* A wall found was weather (limiter.h): the wall goes, the decreases
 * under test are undone and so is the pace: it came from the false wall,
 * whose rate each of weather's losses re-measured PACE_HOLD lower, for
 * good (undone, it climbed back by probes: 8 s at 8% of 429s).  The
 * false wall's earlier decreases stood (each halved the level): slow start
 * as it was before them climbs back to the level they took, doubling per
 * round (before: one a round, the second half of a 3 s run at 2-3 in
 * flight of 60; session 51).  Not the level itself at once: a real wall
 * taken for weather would meet it all (simulated: more 429s behind
 * buckets of 8 s). */
static void revoke_wall(dp_limiter *l)
{
	l->wall = 0;
	undo(l);
	if (l->level < l->wall_level)
		l->slow_start = l->wall_slow_start;
	l->pace_rps = l->w_max_rps = 0;
	l->probing = 0;
}

/* A wall known and no weather, and a test that says light weather
 * (limiter.h): the window's loss fraction is the weather, or the run's if
 * more (64 answers hold two losses of 3% weather or none: taken for 1.6%,
 * a chance 9 of 64 then cleared its margin and found a wall again whose
 * pace the false wall's slow second set; session 51). */
static void revoke_for_light_weather(dp_limiter *l)
{
	double w = fmax((double)l->win_loss / l->win_n, (double)l->all_loss / l->all_n);

	l->weather = l->loss_avg = w > WEATHER_GONE ? w : WEATHER_GONE;
	revoke_wall(l);
}

/* The log-likelihood ratio of a wall against weather, given the second
 * test's n answers, loss of them lost: behind a wall the success fraction
 * grows as the answer rate falls (the same successes per second), under
 * weather it stays the first test's.  Wald's sequential probability ratio
 * test decides on it. */
static double wall_llr(const dp_limiter *l, int n, int loss, double rps)
{
	double weather = l->ref_success > 1.0 / 32 ? l->ref_success : 1.0 / 32;
	double wall = weather * l->ref_rps / rps;
	double ok = n - loss;

	if (wall > WALL_SUCCESS_MAX)
		wall = WALL_SUCCESS_MAX;
	if (weather > 0.98)
		weather = 0.98;
	return ok * log(wall / weather) + loss * log((1 - wall) / (1 - weather));
}

/* 1 when a second test's success fraction (after) is the first's, give
 * or take chance (two binomial standard errors): with loads that the
 * decrease could not set apart (a level of 1, demand below the level),
 * losses that stay as they were are weather's, not ours. */
static int same_share(const dp_limiter *l, int n, double after)
{
	double p = (after * n + l->ref_success * l->ref_n) / (n + l->ref_n);

	return 1 - p <= WEATHER_MAX &&
	       fabs(after - l->ref_success) <= 2 * sqrt(p * (1 - p) * (1.0 / n + 1.0 / l->ref_n));
}

/* The weather a test is judged against: the one known; with none known
 * and no wall found, for the run's first test (slow start's share too
 * light to take, or slow start ended by the delay gradient), the loss
 * share of the answers before the last START_RECENT, which hold the
 * decrease's trigger (test_begin; limiter.h). */
static double test_weather(const dp_limiter *l)
{
	return l->weather > 0 ? l->weather : l->wall ? 0 : l->test.base;
}

/* 1 when a first test (no wall found, no series' measure) met under two
 * losses but the weather known gives as few at least TEST_ALPHA of the
 * time: its 16 answers cannot tell a decrease that cleared a wall from
 * light weather's chance (3% of 429s: none in 16 answers for 61% of
 * tests, one for 30%), so "under two losses: a wall" took light weather
 * for walls: median 1.58x the clean run's time at 3% (session 54).  Such
 * a test goes to the weather's verdict (undone).  Heavier weather that
 * the decrease brought far under (33% before, none in 16 after: 0.2%) is
 * a wall.  At TEST_ALPHA 0.05 (session 54 to 57) the storm's weather
 * taken at 0.28 (its 35% taken low as slow start ended) and one loss in
 * 16, a 3.7% chance there, said a wall: a fraction of the rate for pace,
 * the level back by one a round, 3.87x the clean run's time (seed 396 of
 * the sweep's 1,000); at 0.02, no bucket of the sweep nor wall behind
 * weather met more 429s (session 58).  (Judging so only the tests of
 * decreases that ended slow start spared some walls behind weather a few
 * 429s, simulated, but a decrease of the delay gradient under latency
 * noise ends slow start first, and live runs at 3% fell back to "a
 * wall": docs/PERFORMANCE.md.) */
static int weather_alike(const dp_limiter *l, int n, int loss)
{
	double w = test_weather(l), none = pow(1 - w, n);

	if (w <= 0 || l->wall || l->have_ref)
		return 0;
	return none + (loss > 0 ? n * w * none / (1 - w) : 0) >= TEST_ALPHA;
}

/* A test's verdicts (limiter.h), test_verdict's: */
enum verdict {
	V_LIGHT,     /* a wall found is light weather's: revoked */
	V_WALL,      /* our load: the decreases stand, a wall */
	V_WITHIN,    /* losses within the weather known: undone */
	V_REF,       /* a series' first test: measured, the next compares */
	V_WEATHER,   /* the series' second test says weather */
	V_UNDECIDED, /* the second test goes on */
};

/* The verdict of a test whose n answers held loss losses, its answers
 * coming at rps (no side effect: test_count asks it of answers not all
 * in yet). */
static enum verdict test_verdict(const dp_limiter *l, int n, int loss, double rps)
{
	double after = 1 - (double)loss / n;
	int apart = l->have_ref && rps > 0 && rps <= WEATHER_LOAD * l->ref_rps;
	double llr = apart ? wall_llr(l, n, loss, rps) : 0;

	/* Losses beyond any weather taken (WEATHER_MAX) are ours too. */
	if ((loss < 2 && !weather_alike(l, n, loss)) || llr >= TEST_LLR || 1 - after > WEATHER_MAX)
		/* Under two losses: light weather, if the lowered load met
		 * one or the decrease came while held under the wall. */
		return l->wall && l->weather <= 0 && llr < TEST_LLR && (loss == 1 || l->test.held) ? V_LIGHT
											: V_WALL;
	if (within_weather(test_weather(l), 1 - after, n))
		return V_WITHIN;
	if (!l->have_ref)
		return V_REF;
	if (llr <= -TEST_LLR ||
	    (l->test.next >= DP_LIMITER_TEST_MAX && (apart ? llr < 0 : same_share(l, n, after))))
		return V_WEATHER;
	return V_UNDECIDED;
}

/* The rate the test's requests answered so far were sent at (0: not
 * measurable): the load the decrease set, which a wall's successes per
 * second divide (wall_llr).  Counted from the last send before them (a
 * request of the old load's answered: before_sent_ms): a token bucket
 * refills while the decrease holds the sends back, and those tokens are
 * the test's successes, so the time they came in is the test's too.  By
 * their send times, not their answers': a 429 comes back at once and a
 * success a service time later, so the answers bunch.  Before (session
 * 57), the answer rate: behind a bucket of 8 s at 100/s, a first test's
 * 16 answers came at 353-359/s for sends at 310-319/s from its first
 * send, 255-288/s from the last before it; with 6-7 of 16 successes the
 * wall's predicted fraction at half the load was 0.88-0.99, and the
 * second test's 9 of 16 (the wall's 59%) said weather, under which the
 * wall's 429s hid: 44-52% of the run's answers 429 in 7 of 24 runs
 * (12 service times, +-50%); the largest now 2.2% (session 58).  BBR's
 * delivery rate sample likewise divides by the longer of the send and
 * the acknowledgment intervals, so that acknowledgments that bunch do
 * not inflate it (draft-cheng-iccrg-delivery-rate-estimation). */
static double test_rps(const dp_limiter *l)
{
	double span = l->test.last_sent_ms - l->test.first_sent_ms;

	if (l->test.before_sent_ms > 0 && l->test.before_sent_ms < l->test.first_sent_ms)
		return l->test.answers * 1000.0 / (l->test.last_sent_ms - l->test.before_sent_ms);
	return l->test.answers >= 2 && span > 0 ? (l->test.answers - 1) * 1000.0 / span : 0;
}

/* The verdict of a test (limiter.h) on its test.n answers, test.loss of
 * them lost, the last at now_ms.  Returns 1 when the verdict spent the
 * round's losses so far (a wall on under two losses: below), the loss of
 * the answer that ended the test included. */
static int judge(dp_limiter *l, double now_ms)
{
	double after = 1 - (double)l->test.loss / l->test.n, rps = test_rps(l);
	enum verdict v = test_verdict(l, l->test.n, l->test.loss, rps);

	l->testing = 0;
	if (v == V_LIGHT) {
		revoke_for_light_weather(l);
		return 0;
	}
	if (v == V_WALL) {
		/* Our load: the decreases stand, a wall.  What it let through
		 * while 429s came (episode_rps) is its rate.  Under two
		 * losses the decrease was enough, and the round's losses are
		 * the test's, judged here: they lower nothing more (before,
		 * the round that held the test's one loss ended after the
		 * verdict with a second decrease on it: light weather's one
		 * 429 said wall, then halved the level and the pace again;
		 * session 51).  More losses: the test's load is still over
		 * the wall, and the round's losses lower it at once. */
		int spent = l->test.loss < 2;
		if (spent)
			l->throttled = l->errors = 0;
		if (!l->wall) {
			l->wall_level = l->restore.level;
			l->wall_slow_start = l->restore.slow_start;
		}
		l->wall = 1;
		l->doubts = 0;
		if (l->pace_rps <= 0) {
			/* The level alone was lowered (pace_throttled): the
			 * wall's pace from what it let through. */
			double g = delivered_rps(l, now_ms) / (1 - l->weather);
			if (g > 0) {
				l->w_max_rps = g;
				l->pace_rps = PACE_HOLD * g;
			}
		}
		if (l->ep_rps > 0 && l->ep_rps < l->w_max_rps) {
			l->w_max_rps = l->ep_rps;
			if (l->pace_rps > PACE_HOLD * l->ep_rps)
				l->pace_rps = PACE_HOLD * l->ep_rps;
			l->quiet_ms = l->weather > 0 ? QUIET_MIN_MS : QUIET_EXACT_MS;
			l->probe_at_ms = now_ms + l->quiet_ms;
		}
		return spent;
	}
	if (v == V_WITHIN) {
		/* The weather known: the losses were no more than it.  The
		 * test's fraction, measured at a lower load, refines it (up
		 * by a test's weight against the window's; not while a wall
		 * stands: its losses would be taken).  A wall whose tests
		 * find the weather WALL_DOUBTS times is revoked (limiter.h):
		 * behind it, each loss of a weather taken too low would lower
		 * the pace for good. */
		double w = (test_weather(l) * DP_LIMITER_WINDOW + l->test.loss) /
			   (DP_LIMITER_WINDOW + l->test.n);
		if (l->wall && ++l->doubts >= WALL_DOUBTS)
			l->wall = 0;
		if (w > l->weather && !l->wall) {
			/* None known before (test_weather's share): the slow
			 * average starts there, as slow start's weather. */
			if (l->weather <= 0)
				l->loss_avg = w;
			l->weather = w;
		}
		undo(l);
		return 0;
	}
	if (v == V_REF) {
		/* The first test measures; the next decrease's compares. */
		l->have_ref = 1;
		l->ref_success = after;
		l->ref_n = l->test.n;
		l->ref_rps = rps;
		l->undecided = 1;
		return 0;
	}
	if (v == V_WEATHER) {
		l->weather = 1 - (after * l->test.n + l->ref_success * l->ref_n) /
				     (l->test.n + l->ref_n);
		if (l->weather > WEATHER_MAX)
			l->weather = WEATHER_MAX;
		l->loss_avg = l->weather;
		/* A wall found before was weather too: so was its pace,
		 * which the undone state still holds. */
		if (l->wall)
			revoke_wall(l);
		else
			undo(l);
		return 0;
	}
	/* Undecided: the second test goes on at the same load (not a third
	 * decrease) until it says; at its end, the decreases stand. */
	if (l->test.next < DP_LIMITER_TEST_MAX)
		l->testing = 1;
	return 0;
}

/* Auto: an answer (loss 1: 429 or 5xx) to request seq at now_ms, for the
 * test in progress.  A test judges the answers to the requests sent after
 * its decrease in the order they were sent, the first DP_LIMITER_TEST of
 * them once all are in (and one more at a time while undecided), not
 * the first answers to come: a 429 or 5xx comes back at once and a
 * success a service time later, so the first answers are the losses of
 * requests sent after successes still in flight (a place a loss frees
 * goes out again at once).  Counted as they came, the storm's 35% made
 * 12-16 losses of a test's 16 answers, taken for a wall, in each of the
 * 10 seeds of 1,000 over 3x the clean run's time (session 56).  A
 * request not answered when DP_LIMITER_TEST_MAX later ones were (its
 * call gave it up unsent, at a stop) is passed over.  A wall is said
 * before the last answers are in when every outcome they could have says
 * it (curtailed sampling: the verdict is the whole sample's): behind a
 * wall, the places its 429s free go out again at once into it while the
 * test waits for its successes (simulated, a wall of 200/s behind 1% of
 * 429s: the median run's share of 429s 5.4% without, 3.7% with; 2.1%
 * when the first answers were judged).  Returns 1 when it ended the test
 * with a verdict that spent the round's losses (judge): its own loss is
 * spent too. */
static int test_count(dp_limiter *l, unsigned long seq, int loss, double ms, double now_ms)
{
	int spent = 0, lost = 0, open = 0;

	if (seq <= l->test.from) {
		l->test.before_sent_ms = fmax(l->test.before_sent_ms, now_ms - ms);
		return 0;
	}
	if (seq - l->test.from > DP_LIMITER_TEST_MAX) {
		if (l->test.later < DP_LIMITER_TEST_MAX)
			l->test.later++;
	} else {
		double sent = now_ms - ms;
		if (l->test.answers++ == 0) {
			l->test.first_sent_ms = l->test.last_sent_ms = sent;
		} else {
			l->test.first_sent_ms = fmin(l->test.first_sent_ms, sent);
			l->test.last_sent_ms = fmax(l->test.last_sent_ms, sent);
		}
		l->test.seen[seq - l->test.from - 1] = (unsigned char)(1 + loss);
	}
	while (l->testing && l->test.next < DP_LIMITER_TEST_MAX &&
	       (l->test.seen[l->test.next] || l->test.later >= DP_LIMITER_TEST_MAX)) {
		int seen = l->test.seen[l->test.next++];
		if (seen == 0)
			continue;
		l->test.n++;
		l->test.loss += seen == 2;
		if (l->test.n >= DP_LIMITER_TEST)
			spent = judge(l, now_ms);
	}
	if (!l->testing || l->test.next >= DP_LIMITER_TEST || l->sent - l->test.from < DP_LIMITER_TEST)
		return spent;
	for (int i = 0; i < DP_LIMITER_TEST; i++) {
		lost += l->test.seen[i] == 2;
		open += l->test.seen[i] == 0;
	}
	/* At least two losses: the verdict spends none (judge). */
	if (lost < 2)
		return spent;
	for (int k = lost; k <= lost + open; k++)
		if (test_verdict(l, DP_LIMITER_TEST, k, test_rps(l)) != V_WALL)
			return spent;
	/* Judged as the completion with no loss more (a wall, as any). */
	l->test.next = l->test.n = DP_LIMITER_TEST;
	l->test.loss = lost;
	return judge(l, now_ms);
}

/* Auto: the pace after a round (limiter.h).  5xx lower the level alone,
 * unless it is at 1 already: a tested decrease must lower the load. */
static void pace(dp_limiter *l, double now_ms)
{
	if (l->throttled > 0 || (l->errors > 0 && l->testing && l->level < 2))
		pace_throttled(l, now_ms);
	else if (l->pace_rps > 0 && l->errors == 0)
		pace_quiet(l, now_ms, now_ms - l->round_start_ms);
}

/* Auto: slow start ends on losses; their share over all the answers so
 * far, or the first 2^k answers' if less (a wall met since them does not
 * raise it: first_least), is taken for the weather, once enough.  The
 * last answers are counted, though slow start ends when they are
 * lossier than the ones before (by chance or by a wall), so the share
 * errs high: a weather taken low makes its next losses a wall's (seconds
 * at a fraction of the rate), one taken high lets a wall behind the
 * weather refuse a few more requests.  Before session 55 the ones before
 * alone: the 30% + 5% storm taken under 0.29 in a tenth of the seeds
 * (now 0.33; the median 0.38 -> 0.43), 15 of 1,000 over 3x clean (now
 * 10); 1% of 429s taken for none (under WEATHER_GONE), each loss a
 * wall's: median 1.24 -> 1.05x clean.  Any weather (before session 54, from 5% only: light
 * weather stayed unknown, each of its losses was congestion and each test
 * under two losses a wall); a wall's first losses the share may hold are
 * judged by the test that follows (weather_alike: a decrease that cleared
 * them). */
static void start_weather(dp_limiter *l)
{
	double n = answers_before(l), share = first_least(l, (double)l->all_loss / l->all_n, n);

	if (n >= 1UL << START_FIRST && share >= WEATHER_GONE)
		l->weather = l->loss_avg = share < WEATHER_MAX ? share : WEATHER_MAX;
}

/* The level after a decrease (on losses: lossy).  Auto's losses lower
 * it to no less than LOSS_FLOOR (unless it was lower) until a wall is
 * known: the pace bounds a wall's rate, and a test at a level of 1 or 2
 * cannot lower the load further and lasts seconds at a real model's
 * latency. */
static double lowered(const dp_limiter *l, int lossy)
{
	double v = floor(l->level * (lossy ? LOSS_BETA : DP_LIMITER_BETA));
	double least = lossy && !l->wall ? LOSS_FLOOR : 1;

	return v >= least ? v : l->level < least ? l->level : least;
}

/* Whether an answer or give-up of ms for tokens took the time a queue
 * makes (limiter.h, "Late answers"), its class's quickest in *quickest. */
static int late_time(const dp_limiter *l, double ms, double tokens, double *quickest)
{
	if (l->deadline_ms <= 0 || ms <= DEADLINE_SHARE * l->deadline_ms)
		return 0;
	*quickest = nearest_class_ms(l->quickest_ms, tokens);
	return ms > LATE_TOLERANCE * *quickest;
}

/* Whether it is late: so, and the level above 1 (at 1, the answers are as
 * slow as the server is). */
static int late_answer(const dp_limiter *l, double ms, double tokens, double *quickest)
{
	return l->level > 1 && late_time(l, ms, tokens, quickest);
}

/* The level that brings a late answer of ms, sent with `level` in
 * flight, back under half the deadline (limiter.h, "Late answers"). */
static double late_cut(const dp_limiter *l, double level, double ms, double quickest)
{
	double half = DEADLINE_SHARE * l->deadline_ms;

	return fmax(1, quickest < half ? floor(level * (half - quickest) / (ms - quickest))
				       : floor(level * DP_LIMITER_BETA));
}

/* Auto: the level a late answer of ms asks for, or 0 when it is not late. */
static double late_level(const dp_limiter *l, double ms, double tokens)
{
	double quickest;

	if (!l->autotune || !late_answer(l, ms, tokens, &quickest))
		return 0;
	return late_cut(l, l->level, ms, quickest);
}

/* Auto, a success in slow start above SLOW_START_MAX: the level grows by
 * one, as TCP's slow start grows its window by one segment per
 * acknowledgment (RFC 5681 sec. 3.1; RFC 3742's limited slow start, whose
 * increase the round's +SLOW_START_MAX / 2 is, counts per acknowledgment
 * too), so it doubles in a round and the new requests leave as the answers
 * come (the ACK clock), not together at the round's end.  A bucket's first
 * wall is then met with the few requests sent after its last token before
 * its first 429 came back, not a round's whole increase (doubling at the
 * round's end: 1.2% of 429s at 100/s, session 21; doubling paced at 2x the
 * level a round, as BBR's startup and Linux pace slow start: the requests
 * waiting for their turn held their places and went into the wall at the
 * drained pace, 4 s buckets at 30/s 3.6 -> 11.5% of 429s; session 57).
 * Only
 *   - while no answer of the run was a loss;
 *   - while no round's quickest answer rose (a queue builds, as against 4
 *     or 16 slots: HyStart++, RFC 9406, likewise ends its fast growth on
 *     a delay increase; end_round);
 *   - from a full window of answers on (DP_LIMITER_WINDOW): a bucket
 *     drained within them, as bench/api-throughput.sh drpm's 3,000 rpm, is
 *     met by limited slow start's +4 a round (from 40 answers, when slow
 *     start can first judge a loss, its first wall came with the level
 *     growing: over 1% of ~1,310 answers 429 in 5 runs of 35, 15 to 256;
 *     main 5-10 in 11);
 *   - at most SLOW_START_MAX / 2 a millisecond: answers that come together
 *     (a batch, or a simulation's service times all alike) release no
 *     more at once than limited slow start's round did;
 *   - in a round that used the level it began with, and not past a late
 *     answer's hold ("Late answers" in limiter.h). */
static void grow_on_success(dp_limiter *l, double now_ms)
{
	if (!l->autotune || !l->slow_start || l->all_loss > 0 || l->delay_rose ||
	    l->level <= SLOW_START_MAX || l->all_n < DP_LIMITER_WINDOW ||
	    l->peak < dp_limiter_level(l) - l->grown ||
	    (l->late_from > 0 && l->level + 1 >= l->late_from && now_ms < l->late_probe_ms))
		return;
	if ((long)now_ms != l->grow_ms) {
		l->grow_ms = (long)now_ms;
		l->grow_burst = 0;
	}
	if (l->grow_burst >= SLOW_START_MAX / 2)
		return;
	int before = dp_limiter_level(l);
	set_level(l, l->level + 1);
	l->grown += dp_limiter_level(l) - before;
	l->grow_burst += dp_limiter_level(l) - before;
}

static void end_round(dp_limiter *l, double now_ms)
{
	int level = dp_limiter_level(l);
	int congested, lossy = l->throttled > 0 || l->errors > 0, waits = 0;

	if (l->autotune && l->testing) {
		/* A test measures at the load its decrease set: neither the
		 * pace nor the level moves until its verdict (but for the
		 * delay gradient's decreases), and its losses wait for it
		 * (one decrease per test). */
		l->throttled = l->errors = 0;
		lossy = 0;
		waits = 1;
	} else if (l->autotune && lossy && l->round_idle) {
		/* The stage asked for less than the level: the losses came
		 * at its demand, not at a level that a decrease would
		 * lower.  Nothing to test (nor to grow: below); the pace
		 * still answers them (RFC 7661 reduces on losses too). */
		lossy = 0;
	} else if (l->autotune && lossy) {
		test_begin(l);
	}
	if (l->autotune && lossy && l->slow_start && l->weather <= 0)
		start_weather(l);
	if (l->autotune && !waits)
		pace(l, now_ms);
	if (l->autotune) {
		/* Every judged answer of the round over the tolerance, and at
		 * least the last DP_LIMITER_STANDING (limiter.h). */
		int slow = l->late > 0 ||
			   (l->ok_timed > 0 && l->over >= l->ok_timed && l->over >= DP_LIMITER_STANDING);
		if (slow && !lossy && (l->testing || l->undecided))
			l->test_gradient = 1;
		congested = lossy || slow;
	} else {
		congested = 2 * l->throttled > l->n;
	}
	if (congested) {
		l->over = 0; /* the next delay decrease on answers at the new load */
		double v = lowered(l, l->autotune && lossy);
		set_level(l, l->late > 0 && l->late < v ? l->late : v);
		l->slow_start = 0;
		l->decreases++;
		l->recover = l->sent;
	} else if (l->peak >= level && !waits && !l->grown) {
		double v = !l->slow_start ? l->level + 1
			   : l->level <= SLOW_START_MAX ? l->level * 2
			   : l->level + SLOW_START_MAX / 2;
		if (l->late_from > 0 && v >= l->late_from && now_ms < l->late_probe_ms)
			v = fmax(l->level, l->late_from - 1);
		set_level(l, v);
	}
	/* HyStart++'s delay increase (RFC 9406 sec. 4.2): a round's quickest
	 * answer later than the last round's by over an eighth of it, each
	 * of HYSTART_SAMPLES answers at least, is a queue that builds: slow
	 * start no longer grows per success (grow_on_success). */
	if (l->ok_timed >= HYSTART_SAMPLES) {
		if (l->last_least > 0 && l->round_least > l->last_least * (1 + HYSTART_ETA))
			l->delay_rose = 1;
		l->last_least = l->round_least;
	}
	l->round_least = 0;
	l->n = l->throttled = l->errors = l->ok_timed = l->grown = 0;
	l->late = 0;
	l->round_idle = 0;
	memcpy(l->round_base_ms, l->base_ms, sizeof l->round_base_ms);
	l->peak = 0;
	l->round_start_ms = now_ms;
}

/* Whether an answer of ms at now_ms may have waited behind a request of
 * ours that its caller gave up but the server still served: one was
 * given up within one answer's time before it was sent (server_time). */
static int behind_given_up(const dp_limiter *l, double ms, double now_ms)
{
	return l->gave_up_ms > 0 && l->gave_up_ms >= now_ms - 2 * ms;
}

/* Auto, a success of ms at now_ms to request seq: when no request of
 * ours could have queued it, the server's time now, which may raise the
 * quickest answers (limiter.h, "Late answers").  Unqueued: sent with
 * none other of ours out (alone_seq: later ones wait behind it, not it
 * behind them) and no give-up of ours for one answer's time before it
 * was sent (a server, fakeapi, Ollama or llama.cpp, goes on serving a
 * request its client left, and the next waits behind it: one slot of
 * 1.3 s under a 2 s --timeout, the answer after a give-up took 1.9 s).
 * The least of the last two of a size class, within UNQUEUED_WINDOW_MS
 * of each other (one long answer is its output's, not the server's
 * time), and of every answer of the class between them (queued or not,
 * each took the server's time at least; BBR's filter takes every
 * sample too), is the server's time now, as BBR's min_rtt filter takes the
 * least RTT of the last 10 s so that a path that became slower is taken
 * as it is (Cardwell et al., ACM Queue 2016; a windowed minimum, as
 * Nichols' in the Linux kernel's lib/win_minmax.c); by count, not time:
 * the run's first request, alone, kept its time for 10 s after the jump
 * (simulated).  Over the quickest, the server became slower (a slower
 * card, a bigger model behind the same name): every class's quickest and
 * no-load time go up by as much.  With the run's least kept, every answer
 * after the jump was late: the level fell to 1 and stayed at 1-2 (fault
 * sweep 24: 3.8x --threads 4's time).  Over LATE_TOLERANCE x it, the late
 * answers' hold goes too: they were the server's slowness, judged by a
 * time it no longer has.  The answers between count: a request sent with
 * none other out is not always served first (the next one, sent a moment
 * later, can reach a one-slot server before it: it then waits a whole
 * answer).  Had the first request been slowed out of the server's sight
 * (1.15 s for 0.7 s of service: its connection, a loaded client), the
 * least of the two was 1.15 s though a 0.7 s answer came between them,
 * and the second one's 1.4 s, queued, was within 1.25x of it: not late,
 * and the level doubled on one slot (tests/unit/test_limiter.c,
 * reorder_test; session 60). */
static void server_time(dp_limiter *l, unsigned long seq, double ms, double tokens, double now_ms)
{
	int c = size_class(tokens);

	if (!l->autotune || seq != l->alone_seq || behind_given_up(l, ms, now_ms))
		return;
	double before = l->unqueued[c].ms, before_at = l->unqueued[c].at_ms, q = l->quickest_ms[c];
	l->unqueued[c].ms = ms;
	l->unqueued[c].at_ms = now_ms;
	if (before_at <= 0 || now_ms - before_at > UNQUEUED_WINDOW_MS || q <= 0)
		return;
	double r = fmin(before, ms) / q;
	if (r <= 1)
		return;
	for (int k = 0; k < DP_LIMITER_CLASSES; k++) {
		l->quickest_ms[k] *= r;
		l->base_ms[k] = fmax(l->base_ms[k], l->quickest_ms[k]);
		l->round_base_ms[k] = fmax(l->round_base_ms[k], l->quickest_ms[k]);
	}
	if (r > LATE_TOLERANCE) {
		l->late_from = 0;
		l->late_quiet_ms = l->late_probe_ms = 0;
		l->over = 0;
	}
}

void dp_limiter_done(dp_limiter *l, unsigned long seq, enum dp_limiter_outcome o, double ms,
		     double tokens, double now_ms)
{
	int loss = o != DP_LIMITER_OK; /* a loss the round counts */

	l->newest_sent_ms = fmax(l->newest_sent_ms, now_ms - ms);

	if (!l->opened && o == DP_LIMITER_OK) {
		/* The key works: a fixed level opens at once. */
		l->opened = 1;
		if (!l->autotune)
			set_level(l, l->max);
	}
	if (o == DP_LIMITER_OK)
		server_time(l, seq, ms, tokens, now_ms);
	double late = late_level(l, ms, tokens), quickest = 0;
	if (!l->autotune && late_answer(l, ms, tokens, &quickest))
		l->late_fixed++;
	if (o == DP_LIMITER_OK) {
		int c = size_class(tokens);
		double *q = &l->quickest_ms[c];
		if (*q <= 0 || ms < *q)
			*q = ms > 0 ? ms : 0.001;
		if (l->unqueued[c].at_ms > 0 && ms < l->unqueued[c].ms)
			l->unqueued[c].ms = ms;
	}
	/* A late answer or give-up (at any level) of a request sent before
	 * the last decrease (its wait was the old level's, judged by it), or
	 * that may have waited behind a give-up of ours (behind_given_up).
	 * Counted as losses at level 1 (where none is late), the give-ups of
	 * the requests out when a server became 10x slower, and of the next
	 * ones sent behind them, started a test of 16 requests at level 1,
	 * which took them for a wall (fault sweep 24). */
	int old_wait = l->autotune && (seq <= l->recover || behind_given_up(l, ms, now_ms)) &&
		       late_time(l, ms, tokens, &quickest);
	/* A late error: a give-up (a timeout, a 504) the server may still serve. */
	if (o == DP_LIMITER_ERROR && l->deadline_ms > 0 && ms > DEADLINE_SHARE * l->deadline_ms)
		l->gave_up_ms = now_ms;
	if (late > 0 || old_wait) {
		/* Neither a loss the weather counts nor a no-load time; it
		 * ends the round with its decrease (limiter.h). */
		if (late > 0 && seq > l->recover) {
			l->late = late;
			l->late_from = dp_limiter_level(l);
			l->late_quiet_ms = fmin(l->late_quiet_ms > 0 ? 2 * l->late_quiet_ms : LATE_HOLD * ms,
						LATE_HOLD_MAX * ms);
			l->late_probe_ms = now_ms + l->late_quiet_ms;
			end_round(l, now_ms);
		} else if (old_wait && seq <= l->recover && l->sent - seq < DP_LIMITER_FLIGHTS) {
			/* One sent before the last decrease asks for less than
			 * it set, by the load it was sent at (flight): the
			 * decrease deepens, as Netflix's gradient limit sets
			 * its limit from each answer.  The first late answers
			 * after a jump are the least late of their window (the
			 * requests served first), its give-ups the rest: 16 in
			 * flight on 4 slots came down 16, 11, 5, 2 in 1.2 s
			 * steps, each sending requests that the given-up ones
			 * still served made give up in turn (simulated). */
			double v = late_cut(l, l->flight[seq % DP_LIMITER_FLIGHTS], ms, quickest);
			if (v < l->level) {
				set_level(l, v);
				l->recover = l->sent;
			}
		}
		return;
	}
	if (l->autotune) {
		int spent = l->testing && test_count(l, seq, loss, ms, now_ms);
		/* Within the weather, a loss is an answer like another. */
		loss = count_loss(l, loss) && !spent;
	}
	if (o == DP_LIMITER_OK && l->ep_ms > 0 && now_ms - ms >= l->ep_ms) {
		l->ep_ok++;
		if (now_ms - ms > l->ep_last_ms)
			l->ep_last_ms = now_ms - ms;
	}
	if (seq <= l->recover) {
		if (o == DP_LIMITER_OK)
			delay_ratio(l, ms, tokens);
		return;
	}
	if (o == DP_LIMITER_OK) {
		long b = (long)(now_ms / BIN_MS);
		if (l->first_ok_ms <= 0)
			l->first_ok_ms = now_ms;
		advance_bins(l, b);
		l->bins[b % DP_LIMITER_BINS]++;
	}
	l->n++;
	if (loss && o == DP_LIMITER_THROTTLED) {
		l->throttled++;
	} else if (loss) {
		l->errors++;
	} else if (o == DP_LIMITER_OK) {
		double r = delay_ratio(l, ms, tokens);
		if (r > 0) {
			l->ok_timed++;
			l->over = r > DP_LIMITER_TOLERANCE ? l->over + 1 : 0;
			if (l->round_least <= 0 || r < l->round_least)
				l->round_least = r;
		}
		grow_on_success(l, now_ms);
	}
	/* Auto ends the round at its first 429 (beyond the weather, and
	 * unless a test is waiting for its verdict): waiting for a full round
	 * of them would let a whole window of requests hit the wall again. */
	if (l->n >= dp_limiter_level(l) - l->grown ||
	    (l->autotune && loss && o == DP_LIMITER_THROTTLED && !l->testing))
		end_round(l, now_ms);
}
