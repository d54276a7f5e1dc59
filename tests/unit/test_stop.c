/* The stop request wakes every thread blocked on a ZeroMQ source at once
 * (src/lib/stop.c's pipe, not a timeout), and an interrupt wakes its
 * source's reader.  A process of its own: the stop is process-wide. */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "stop.h"
#include "t.h"
#include "transport.h"

static char dir[] = "/tmp/dp-test-stop.XXXXXX";

static dp_source *bound_source(const char *name)
{
	char ep[300];
	dp_err err;

	snprintf(ep, sizeof ep, "@ipc://%s/%s", dir, name);
	return dp_source_open(ep, NULL, &err);
}

static void *read_one(void *arg)
{
	jv rec;
	dp_err err;
	int rc = dp_source_next(arg, &rec, &err);

	if (rc == DP_SOURCE_RECORD)
		jv_free(rec);
	return (void *)(long)rc;
}

/* Joins t within 5 s (a liveness bound, not a timing); its return, or -1. */
static long join_within(pthread_t t)
{
	struct timespec until;
	void *ret;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	return pthread_timedjoin_np(t, &ret, &until) == 0 ? (long)ret : -1;
}

static int readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, 0) == 1;
}

int main(void)
{
	pthread_t t[3];
	sigset_t term;

	if (mkdtemp(dir) == NULL)
		return 1;
	int fd = dp_stop_fd();
	T_OK(fd >= 0 && !readable(fd), "the stop pipe exists and is quiet before a stop");

	dp_source *a = bound_source("a"), *b = bound_source("b"), *c = bound_source("c");
	T_OK(a != NULL && b != NULL && c != NULL, "three ZeroMQ sources bound");
	if (a == NULL || b == NULL || c == NULL)
		return t_done();

	/* The readers block SIGTERM: the signal goes to this thread only. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, NULL);
	pthread_create(&t[0], NULL, read_one, a);
	pthread_create(&t[1], NULL, read_one, b);
	pthread_create(&t[2], NULL, read_one, c);
	pthread_sigmask(SIG_UNBLOCK, &term, NULL);

	dp_source_interrupt(c);
	T_EQ_INT(join_within(t[2]), DP_SOURCE_END, "an interrupt wakes its source's blocked reader");

	dp_cli_handle_signals();
	kill(getpid(), SIGTERM);
	T_EQ_INT(join_within(t[0]), DP_SOURCE_END, "SIGTERM to another thread ends reader 1");
	T_EQ_INT(join_within(t[1]), DP_SOURCE_END, "... and reader 2");
	T_OK(dp_stop_requested() && readable(fd) && readable(fd),
	     "after the stop the pipe is readable and stays so");

	dp_source_free(&a);
	dp_source_free(&b);
	dp_source_free(&c);
	char path[300];
	for (const char *n = "abc"; *n != '\0'; n++) {
		snprintf(path, sizeof path, "%s/%c", dir, *n);
		unlink(path);
	}
	rmdir(dir);
	return t_done();
}
