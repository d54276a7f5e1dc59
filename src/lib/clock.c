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

int dp_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	int rc = pthread_condattr_init(&attr);

	if (rc != 0)
		return rc;
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
	return rc;
}

struct timespec dp_deadline_ms(double ms)
{
	struct timespec t, d = span(ms > 0 ? ms : 0);

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += d.tv_sec;
	t.tv_nsec += d.tv_nsec;
	if (t.tv_nsec >= 1000000000L)
		t.tv_sec++, t.tv_nsec -= 1000000000L;
	return t;
}
