#include "clock.h"

#include <errno.h>
#include <time.h>

long dp_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

double dp_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double dp_clock_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ms (> 0) as a timespec. */
static struct timespec span(double ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)((ms - ts.tv_sec * 1000.0) * 1e6);
	return ts;
}

void dp_nap_ms(double ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = span(ms);
	nanosleep(&ts, NULL);
}

void dp_sleep_ms(double ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = span(ms);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}
