/* An LD_PRELOAD for tests: says when two threads change the reference
 * count of one jq string at the same time.
 *
 * jq's reference counts are not atomic (libjq 1.6: jv_copy is an `addl`
 * without lock, jv_free a plain decrement), so a jv value may be copied or
 * freed by one thread at a time only; two at once lose an update, and the
 * string leaks (a count one too high) or is freed while still held.  That
 * race is a few instructions wide: a test could wait hundreds of runs for
 * it (api_copies' "41 bytes in 1 object").  This library makes it wide
 * and visible: each jv_copy and jv_free of a string whose text begins with
 * $JVRACE_PREFIX (the test server's answers: "SUMMARY-") marks the string
 * busy for JVRACE_US microseconds (default 300), then does the real work;
 * a second thread arriving while it is busy is the race: one line
 * "jvrace: ..." on stderr, with the string, for the test to count (and at
 * exit "jvrace watched N", the changes seen: no line, the library was
 * not loaded; 0, it watched nothing).  Code
 * that takes turns under a lock never overlaps (the pause is under its
 * lock too).  The mark ends before the real work: a string freed there
 * and another allocated at its address are not taken for one.  Calls
 * inside libjq go through its PLT, so they are seen too.
 *
 * Built by the test that uses it (cc -shared -fPIC ... -ldl); in an ASan
 * build, preloaded after libasan or with verify_asan_link_order=0.  The
 * environment is read once, at the first call. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jv.h>

#define BUSY_MAX 256

static jv (*real_copy)(jv);
static void (*real_free)(jv);
static const char *prefix;
static size_t prefix_len;
static long pause_us = 300;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const void *busy[BUSY_MAX]; /* under lock: the strings being changed */
static long changes; /* under lock: watched */

static void init(void)
{
	const char *us = getenv("JVRACE_US");

	real_copy = (jv(*)(jv))dlsym(RTLD_NEXT, "jv_copy");
	real_free = (void (*)(jv))dlsym(RTLD_NEXT, "jv_free");
	prefix = getenv("JVRACE_PREFIX");
	prefix_len = prefix != NULL ? strlen(prefix) : 0;
	if (us != NULL && atol(us) > 0)
		pause_us = atol(us);
}

/* Whether j is a string this library watches. */
static int watched(jv j)
{
	return prefix_len > 0 && jv_get_kind(j) == JV_KIND_STRING &&
	       strncmp(jv_string_value(j), prefix, prefix_len) == 0;
}

/* Marks j's string busy for pause_us, saying so when another thread has it
 * busy; returns its slot (-1: none free, not watched). */
static int enter(jv j)
{
	const void *p = j.u.ptr;
	int slot = -1, raced = 0;

	pthread_mutex_lock(&lock);
	for (int k = 0; k < BUSY_MAX; k++) {
		if (busy[k] == p)
			raced = 1;
		else if (busy[k] == NULL && slot < 0)
			slot = k;
	}
	if (slot >= 0)
		busy[slot] = p;
	changes++;
	pthread_mutex_unlock(&lock);
	if (raced)
		fprintf(stderr, "jvrace: two threads changed the reference count of \"%.60s\" at once\n",
			jv_string_value(j));
	struct timespec t = {pause_us / 1000000, pause_us % 1000000 * 1000};
	nanosleep(&t, NULL);
	return slot;
}

static void leave(int slot)
{
	if (slot < 0)
		return;
	pthread_mutex_lock(&lock);
	busy[slot] = NULL;
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
	fprintf(stderr, "jvrace watched %ld\n", changes);
	pthread_mutex_unlock(&lock);
}
