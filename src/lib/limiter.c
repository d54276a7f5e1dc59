#include "limiter.h"

#include <math.h>
#include <string.h>

/* How fast a class's no-load time follows slower answers: a server that
 * became slower for good is accepted after ~100 requests, a queue is
 * caught within a round. */
#define BASE_DRIFT 0.01
/* Limited slow start (RFC 3742): above this level, slow start grows by
 * half of it per round, not by doubling, so that a rate wall hidden behind
 * a bucket is not met with a doubled window in flight. */
#define SLOW_START_MAX 8
#define PACE_HOLD 0.95    /* the held pace under the rate of the last 429s */
#define PACE_DECREASE 0.7 /* a round with 429s: the pace x this */
#define PACE_STEP 1.05    /* one probe up */
#define QUIET_MIN_MS 2000 /* quiet period before the first probe */
#define QUIET_MAX_MS 32000
#define BIN_MS 100.0      /* successes are counted per bin of this */

void dp_limiter_init(dp_limiter *l, int autotune, int max)
{
	memset(l, 0, sizeof *l);
	l->autotune = autotune;
	l->max = max > 0 ? max : 1;
	l->level = 1;
	l->slow_start = 1;
	l->highest = 1;
}

int dp_limiter_level(const dp_limiter *l)
{
	int v = (int)l->level;

	return v < 1 ? 1 : v > l->max ? l->max : v;
}

unsigned long dp_limiter_sent(dp_limiter *l, int in_flight)
{
	if (in_flight > l->peak)
		l->peak = in_flight;
	return ++l->sent;
}

static int size_class(double tokens)
{
	int c = tokens >= 1 ? (int)log2(tokens) : 0;

	return c < DP_LIMITER_CLASSES ? c : DP_LIMITER_CLASSES - 1;
}

/* The request's time over its class's no-load time (1 for the first of a
 * class), updating that time. */
static double delay_ratio(dp_limiter *l, double ms, double tokens)
{
	double *base = &l->base_ms[size_class(tokens)];
	double r;

	if (ms <= 0)
		ms = 0.001;
	if (*base <= 0 || ms < *base) {
		*base = ms;
		return 1;
	}
	r = ms / *base;
	*base += (ms - *base) * BASE_DRIFT;
	return r;
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
	if (now_ms - l->first_ok_ms < window)
		window = now_ms - l->first_ok_ms;
	return window > 0 ? n * 1000 / window : 0;
}

/* Auto: the pace after a round with 429s: x PACE_DECREASE from the rate
 * they came at (w_max: the pace, or what successes came back at over the
 * last second if less, i.e. what the server granted; a round that ends at
 * its first 429 is too short to measure), and a 429 that follows a probe
 * up doubles the quiet period before the next. */
static void pace_throttled(dp_limiter *l, double now_ms)
{
	double granted = delivered_rps(l, now_ms);

	if (l->pace_rps <= 0 || (granted > 0 && granted < l->pace_rps))
		l->pace_rps = granted;
	l->w_max_rps = l->pace_rps;
	l->pace_rps = l->pace_rps * PACE_DECREASE > 0.1 ? l->pace_rps * PACE_DECREASE : 0.1;
	l->quiet_ms = !l->probing ? QUIET_MIN_MS
		      : l->quiet_ms * 2 < QUIET_MAX_MS ? l->quiet_ms * 2 : QUIET_MAX_MS;
	l->probing = 0;
	l->probe_at_ms = now_ms + l->quiet_ms;
}

/* Auto: the pace after a round without 429s, elapsed_ms long: back up to
 * PACE_HOLD x w_max within about a second (CUBIC's concave region), held
 * there, and w_max probed PACE_STEP higher after each quiet period. */
static void pace_quiet(dp_limiter *l, double now_ms, double elapsed_ms)
{
	double target = PACE_HOLD * l->w_max_rps, f = elapsed_ms / 500;

	if (l->pace_rps < target) {
		l->pace_rps += (target - l->pace_rps) * (f < 1 ? f : 1);
		if (l->pace_rps > 0.99 * target)
			l->pace_rps = target;
	} else if (now_ms >= l->probe_at_ms) {
		l->w_max_rps *= PACE_STEP;
		l->pace_rps = PACE_HOLD * l->w_max_rps;
		l->probing = 1;
		l->probe_at_ms = now_ms + l->quiet_ms;
	}
}

/* Auto: the pace after a round (limiter.h). */
static void pace(dp_limiter *l, double now_ms)
{
	if (l->throttled > 0)
		pace_throttled(l, now_ms);
	else if (l->pace_rps > 0)
		pace_quiet(l, now_ms, now_ms - l->round_start_ms);
}

static void end_round(dp_limiter *l, double now_ms)
{
	int level = dp_limiter_level(l);
	int congested;

	if (l->autotune)
		pace(l, now_ms);
	if (l->autotune)
		congested = l->throttled > 0 || l->errors > 0 ||
			    (l->ok_timed > 0 && l->ratio_sum / l->ok_timed > DP_LIMITER_TOLERANCE);
	else
		congested = 2 * l->throttled > l->n;
	if (congested) {
		set_level(l, floor(l->level * DP_LIMITER_BETA));
		l->slow_start = 0;
		l->decreases++;
		l->recover = l->sent;
	} else if (l->peak >= level) {
		set_level(l, !l->slow_start ? l->level + 1
			     : l->level <= SLOW_START_MAX ? l->level * 2
			     : l->level + SLOW_START_MAX / 2);
	}
	l->n = l->throttled = l->errors = l->ok_timed = 0;
	l->ratio_sum = 0;
	l->peak = 0;
	l->round_start_ms = now_ms;
}

void dp_limiter_done(dp_limiter *l, unsigned long seq, enum dp_limiter_outcome o, double ms,
		     double tokens, double now_ms)
{
	if (!l->opened && o == DP_LIMITER_OK) {
		/* The key works: a fixed level opens at once. */
		l->opened = 1;
		if (!l->autotune)
			set_level(l, l->max);
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
	if (o == DP_LIMITER_THROTTLED) {
		l->throttled++;
	} else if (o == DP_LIMITER_ERROR) {
		l->errors++;
	} else {
		l->ratio_sum += delay_ratio(l, ms, tokens);
		l->ok_timed++;
	}
	/* Auto ends the round at its first 429: waiting for a full round of
	 * them would let a whole window of requests hit the wall again. */
	if (l->n >= dp_limiter_level(l) || (l->autotune && o == DP_LIMITER_THROTTLED))
		end_round(l, now_ms);
}
