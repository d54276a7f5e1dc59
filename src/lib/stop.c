#include "stop.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag;
static pthread_once_t pipe_once = PTHREAD_ONCE_INIT;
static atomic_int pipe_read = -1, pipe_write = -1;

void dp_request_stop(void)
{
	int fd = atomic_load(&pipe_write);
	int saved = errno; /* a signal handler must leave errno as it was */

	stop_flag = 1;
	if (fd >= 0) {
		ssize_t w;
		do
			w = write(fd, "", 1);
		while (w < 0 && errno == EINTR);
	}
	errno = saved;
}

int dp_stop_requested(void) { return stop_flag != 0; }

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
