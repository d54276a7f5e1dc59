/* An LD_PRELOAD for tests: the wall clock stepped while a process runs (an
 * NTP step, an administrator's `date -s`, a VM resumed), the monotonic
 * clocks untouched.
 *
 * clock_gettime(CLOCK_REALTIME and its _COARSE), gettimeofday() and time()
 * answer the real time plus an offset in seconds (may be negative, with a
 * fraction), read from the file CLOCKSTEP_FILE (missing or empty: 0) at
 * most every 50 ms of the monotonic clock.  Every process of a run that
 * inherits LD_PRELOAD and CLOCKSTEP_FILE sees the same step at the same
 * moment.  Not for a sanitizer's build (its runtime must come first).
 * Build: cc -shared -fPIC -o clockstep.so clockstep.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static int (*real_clock_gettime)(clockid_t, struct timespec *);
static _Atomic long long offset_ns, read_at_ns = -1;

static long long ns(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static long long offset(void)
{
	struct timespec mono;

	if (real_clock_gettime == NULL)
		real_clock_gettime = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
	real_clock_gettime(CLOCK_MONOTONIC, &mono);
	long long last = atomic_load(&read_at_ns);
	if (last >= 0 && ns(&mono) - last < 50000000LL)
		return atomic_load(&offset_ns);
	atomic_store(&read_at_ns, ns(&mono));
	const char *path = getenv("CLOCKSTEP_FILE");
	FILE *f = path != NULL ? fopen(path, "re") : NULL;
	double seconds = 0;
	if (f != NULL) {
		if (fscanf(f, "%lf", &seconds) != 1)
			seconds = 0;
		fclose(f);
	}
	atomic_store(&offset_ns, (long long)(seconds * 1e9));
	return atomic_load(&offset_ns);
}

int clock_gettime(clockid_t id, struct timespec *t)
{
	long long off = offset();
	int rc = real_clock_gettime(id, t);

	if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) {
		long long v = ns(t) + off;
		t->tv_sec = v / 1000000000LL;
		t->tv_nsec = v % 1000000000LL;
	}
	return rc;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec t;

	(void)tz;
	if (clock_gettime(CLOCK_REALTIME, &t) != 0)
		return -1;
	{
		tv->tv_sec = t.tv_sec;
		tv->tv_usec = t.tv_nsec / 1000;
	}
	return 0;
}

time_t time(time_t *out)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	if (out != NULL)
		*out = t.tv_sec;
	return t.tv_sec;
}
