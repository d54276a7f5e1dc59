/* The one monotonic clock and sleep every stage and library file uses
 * (CLOCK_MONOTONIC: immune to wall-clock changes). */
#ifndef DP_CLOCK_H
#define DP_CLOCK_H

#include <pthread.h>
#include <time.h>

/* Microseconds / milliseconds / seconds since an arbitrary fixed point. */
long dp_clock_us(void);
double dp_clock_ms(void);
double dp_clock_s(void);

/* Sleeps ms milliseconds (nothing when ms <= 0), resuming after signals. */
void dp_sleep_ms(double ms);

/* Sleeps up to ms milliseconds (nothing when ms <= 0); a signal (a stop
 * request) cuts it short, so callers re-check their condition after it. */
void dp_nap_ms(double ms);

/* A condition variable whose timed waits run on the monotonic clock
 * (pthread_cond_init's default is the realtime one, which a clock
 * setting moves).  Returns pthread_cond_init's result. */
int dp_cond_init(pthread_cond_t *cond);

/* The monotonic time ms milliseconds from now, as pthread_cond_timedwait
 * takes it for a condition made by dp_cond_init. */
struct timespec dp_deadline_ms(double ms);

#endif
