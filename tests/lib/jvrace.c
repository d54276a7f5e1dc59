/* An LD_PRELOAD for tests: says when two threads change the reference
 * count of one jq value at the same time.
 *
 * jq's reference counts are not atomic (libjq 1.6: jv_copy is an `addl`
 * without lock, jv_free a plain decrement), so a jv value may be copied or
 * freed by one thread at a time only; two at once lose an update, and the
 * value leaks (a count one too high) or is freed while still held.  That
 * race is a few instructions wide: a test could wait hundreds of runs for
 * it (api_copies' "41 bytes in 1 object").  This library makes it wide
 * and visible: each jv_copy and jv_free of a watched value marks it busy
 * for JVRACE_US microseconds (default 300), then does the real work; a
 * second thread arriving while it is busy is the race: one line
 * "jvrace: ..." for the test to count (and at exit "jvrace watched N",
 * the changes seen: no line, the library was not loaded; 0, it watched
 * nothing).  Code that takes turns under a lock never overlaps (the pause
 * is under its lock too).  The mark ends before the real work: a value
 * freed there and another allocated at its address are not taken for
 * one.  Calls inside libjq go through its PLT, so they are seen too.
 *
 * The environment (read once, at the first call):
 *   JVRACE_PREFIX=P  watches the strings whose text begins with P (the test
 *                    server's answers: "SUMMARY-");
 *   JVRACE_ALL=1     watches every value with a count: strings, arrays,
 *                    objects, invalid values with a message (an audit:
 *                    with JVRACE_US of 20-50, or a run takes minutes);
 *   JVRACE_FRAMES=N  adds, under each "jvrace:" line, N return addresses of
 *                    each thread ("jvrace-at: first|second MODULE+0xOFFSET",
 *                    for addr2line -e MODULE);
 *   JVRACE_LOG=FILE  appends the lines to FILE instead of stderr (a stage
 *                    whose stderr a test or the supervisor keeps elsewhere).
 *
 * Built by the test that uses it (cc -shared -fPIC ... -ldl); in an ASan
 * build, preloaded after libasan or with verify_asan_link_order=0. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jv.h>

#define BUSY_MAX 256
#define FRAMES_MAX 16

static jv (*real_copy)(jv);
static void (*real_free)(jv);
static const char *prefix;
static size_t prefix_len;
static int all;
static int frames;
static int out = 2; /* stderr, or JVRACE_LOG */
static long pause_us = 300;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* Under lock: the values being changed, and where each was changed from
 * (JVRACE_FRAMES). */
static struct {
	const void *p;
	int n;
	void *at[FRAMES_MAX];
} busy[BUSY_MAX];
static long changes; /* under lock: watched */

static void init(void)
{
	const char *us = getenv("JVRACE_US"), *log = getenv("JVRACE_LOG"), *n = getenv("JVRACE_FRAMES");

	real_copy = (jv(*)(jv))dlsym(RTLD_NEXT, "jv_copy");
	real_free = (void (*)(jv))dlsym(RTLD_NEXT, "jv_free");
	prefix = getenv("JVRACE_PREFIX");
	prefix_len = prefix != NULL ? strlen(prefix) : 0;
	all = getenv("JVRACE_ALL") != NULL && atoi(getenv("JVRACE_ALL")) > 0;
	if (us != NULL && atol(us) > 0)
		pause_us = atol(us);
	if (n != NULL && atoi(n) > 0)
		frames = atoi(n) < FRAMES_MAX ? atoi(n) : FRAMES_MAX;
	if (log != NULL && *log != '\0') {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0)
			out = fd;
	}
}

/* Whether j is a value this library watches: one with a count (a pointer),
 * of the kinds asked. */
static int watched(jv j)
{
	switch (jv_get_kind(j)) {
	case JV_KIND_STRING:
		return all || (prefix_len > 0 && strncmp(jv_string_value(j), prefix, prefix_len) == 0);
	case JV_KIND_ARRAY:
	case JV_KIND_OBJECT:
	case JV_KIND_INVALID:
		return all && j.u.ptr != NULL;
	default:
		return 0;
	}
}

/* One line per frame: MODULE+0xOFFSET (dladdr), the form addr2line reads. */
static void say_frames(const char *who, void *const *at, int n)
{
	for (int k = 0; k < n; k++) {
		Dl_info info;
		if (dladdr(at[k], &info) != 0 && info.dli_fname != NULL)
			dprintf(out, "jvrace-at: %s %s+0x%lx %s\n", who, info.dli_fname,
				(unsigned long)((const char *)at[k] - (const char *)info.dli_fbase),
				info.dli_sname != NULL ? info.dli_sname : "");
		else
			dprintf(out, "jvrace-at: %s %p\n", who, at[k]);
	}
}

/* Marks j busy for pause_us, saying so when another thread has it busy;
 * returns its slot (-1: none free). */
__attribute__((noinline)) static int enter(jv j)
{
	const void *p = j.u.ptr;
	int slot = -1, raced = -1, n = 0;
	void *at[FRAMES_MAX + 2], *first[FRAMES_MAX];
	int first_n = 0;

	/* The frames above jv_copy/jv_free: 2 of this library's. */
	if (frames > 0)
		n = backtrace(at, frames + 2);
	pthread_mutex_lock(&lock);
	for (int k = 0; k < BUSY_MAX; k++) {
		if (busy[k].p == p)
			raced = k;
		else if (busy[k].p == NULL && slot < 0)
			slot = k;
	}
	if (raced >= 0) {
		first_n = busy[raced].n;
		memcpy(first, busy[raced].at, sizeof(void *) * (size_t)first_n);
	}
	if (slot >= 0) {
		busy[slot].p = p;
		busy[slot].n = n > 2 ? n - 2 : 0;
		memcpy(busy[slot].at, at + 2, sizeof(void *) * (size_t)busy[slot].n);
	}
	changes++;
	pthread_mutex_unlock(&lock);
	if (raced >= 0) {
		jv_kind kind = jv_get_kind(j);
		dprintf(out, "jvrace: two threads changed the reference count of %s \"%.60s\" at once\n",
			jv_kind_name(kind), kind == JV_KIND_STRING ? jv_string_value(j) : "");
		say_frames("first", first, first_n);
		say_frames("second", at + 2, n > 2 ? n - 2 : 0);
	}
	struct timespec t = {pause_us / 1000000, pause_us % 1000000 * 1000};
	nanosleep(&t, NULL);
	return slot;
}

static void leave(int slot)
{
	if (slot < 0)
		return;
	pthread_mutex_lock(&lock);
	busy[slot].p = NULL;
	pthread_mutex_unlock(&lock);
}

jv jv_copy(jv j)
{
	pthread_once(&once, init);
	if (!watched(j))
		return real_copy(j);
	leave(enter(j));
	return real_copy(j);
}

void jv_free(jv j)
{
	pthread_once(&once, init);
	if (!watched(j)) {
		real_free(j);
		return;
	}
	leave(enter(j));
	real_free(j);
}

__attribute__((destructor)) static void said(void)
{
	pthread_mutex_lock(&lock);
	dprintf(out, "jvrace watched %ld\n", changes);
	pthread_mutex_unlock(&lock);
}
