#include "stop.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

/* A lock-free atomic, not a volatile sig_atomic_t: the handler sets it on
 * whichever thread the signal hit and every thread reads it, and
 * sig_atomic_t only orders a handler with the thread it interrupted (C11
 * 7.14.1.1, 5.1.2.4: between threads it is a data race).  A lock-free
 * atomic is both signal-safe and thread-safe. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the stop flag must be lock-free to be set in a signal handler");
static atomic_int stop_flag;
static pthread_once_t pipe_once = PTHREAD_ONCE_INIT;
static atomic_int pipe_read = -1, pipe_write = -1;

void dp_request_stop(void)
{
	int fd = atomic_load(&pipe_write);
	int saved = errno; /* a signal handler must leave errno as it was */

	atomic_store(&stop_flag, 1);
	if (fd >= 0) {
		ssize_t w;
		do
			w = write(fd, "", 1);
		while (w < 0 && errno == EINTR);
	}
	errno = saved;
}

int dp_stop_requested(void) { return atomic_load(&stop_flag) != 0; }

static atomic_int abandon_flag;

void dp_request_abandon(void) { atomic_store(&abandon_flag, 1); }

int dp_abandon_requested(void) { return atomic_load(&abandon_flag) != 0; }

static void make_pipe(void)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return;
	atomic_store(&pipe_read, p[0]);
	atomic_store(&pipe_write, p[1]);
}

int dp_stop_fd(void)
{
	pthread_once(&pipe_once, make_pipe);
	return atomic_load(&pipe_read);
}

void dp_stop_nap_ms(double ms)
{
	int fd = dp_stop_fd();

	if (ms <= 0 || dp_stop_requested())
		return;
	/* Without the pipe, a plain sleep (poll of no descriptor) that a
	 * signal cuts short.  EINTR: the caller looks at the flag. */
	struct pollfd p = {.fd = fd, .events = POLLIN};
	(void)poll(&p, fd >= 0 ? 1 : 0, ms >= INT_MAX ? INT_MAX : (int)(ms + 0.999));
}
