/* The one monotonic clock and sleep every stage and library file uses
 * (CLOCK_MONOTONIC: immune to wall-clock changes). */
#ifndef DP_CLOCK_H
#define DP_CLOCK_H

/* Microseconds / milliseconds / seconds since an arbitrary fixed point. */
long dp_clock_us(void);
double dp_clock_ms(void);
double dp_clock_s(void);

/* Sleeps ms milliseconds (nothing when ms <= 0), resuming after signals. */
void dp_sleep_ms(double ms);

/* Sleeps up to ms milliseconds (nothing when ms <= 0); a signal (a stop
 * request) cuts it short, so callers re-check their condition after it. */
void dp_nap_ms(double ms);

#endif
