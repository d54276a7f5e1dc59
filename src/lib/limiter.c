#include "limiter.h"

#include <math.h>
#include <string.h>

/* How fast a class's no-load time follows slower answers: a server that
 * became slower for good is accepted after ~100 requests, a queue is
 * caught within a round. */
#define BASE_DRIFT 0.01
#define PACE_GROWTH 0.1 /* per second without 429s */

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

/* Auto: the pace after a round of elapsed ms. */
static void pace(dp_limiter *l, double elapsed_ms)
{
	double rate = elapsed_ms > 0 ? l->ok * 1000.0 / elapsed_ms : 0;

	if (l->throttled > 0) {
		/* A round is short and its rate noisy: one round lowers the pace
		 * to 0.7x at most. */
		if (l->pace_rps <= 0)
			l->pace_rps = rate;
		else if (rate < l->pace_rps)
			l->pace_rps = rate > l->pace_rps * 0.7 ? rate : l->pace_rps * 0.7;
		if (l->pace_rps > 0)
			l->pace_rps = l->pace_rps * 0.9 > 0.1 ? l->pace_rps * 0.9 : 0.1;
	} else if (l->pace_rps > 0) {
		l->pace_rps *= 1 + PACE_GROWTH * elapsed_ms / 1000;
	}
}

static void end_round(dp_limiter *l, double now_ms)
{
	int level = dp_limiter_level(l);
	int congested;

	if (l->autotune)
		pace(l, now_ms - l->round_start_ms);
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
		set_level(l, l->slow_start ? l->level * 2 : l->level + 1);
	}
	l->n = l->throttled = l->errors = l->ok_timed = l->ok = 0;
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
	l->n++;
	if (o == DP_LIMITER_THROTTLED) {
		l->throttled++;
	} else if (o == DP_LIMITER_ERROR) {
		l->errors++;
	} else {
		l->ratio_sum += delay_ratio(l, ms, tokens);
		l->ok_timed++;
		l->ok++;
	}
	/* Auto ends the round at its first 429: waiting for a full round of
	 * them would let a whole window of requests hit the wall again. */
	if (l->n >= dp_limiter_level(l) || (l->autotune && o == DP_LIMITER_THROTTLED))
		end_round(l, now_ms);
}
