/* Which silent replicas the hub may kill (--kill-silent, src/hub/evict.h),
 * and when one it killed has ended. */
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/hub/evict.h"
#include "stats.h"
#include "t.h"

/* A child that waits (for at most 30 s), its command name name. */
static pid_t child(const char *name)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_NAME, name, 0, 0, 0);
		alarm(30);
		for (;;)
			pause();
	}
	return pid;
}

/* Time for a child to set its name, or for a killed one to end. */
static void settle(void)
{
	usleep(100 * 1000);
}

int main(void)
{
	const char *here = dp_stats_pid_space();
	dp_err err;

	T_OK(here[0] != '\0' && strstr(here, "/pid:[") != NULL, "this process's pid space: boot id and pid namespace");
	pid_t other = child("sleep");
	settle();
	T_OK(hub_evict(here, other, &err) < 0 && strstr(err.msg, "no docpipe process") != NULL,
	     "a process of another program (a pid used again) is not killed");
	T_OK(hub_evict_ended(other) == 0, "a running process has not ended");
	T_OK(hub_evict("another-boot-id/pid:[4026531836]", other, &err) < 0 &&
		     strstr(err.msg, "another machine or in another pid namespace") != NULL,
	     "a replica of another machine or pid namespace (a container named as this host) is not killed");
	T_OK(hub_evict("", other, &err) < 0, "nor one whose pid space is unknown");
	T_OK(hub_evict(here, getpid(), &err) < 0, "nor the hub itself");
	kill(other, SIGKILL);
	settle();
	T_OK(hub_evict_ended(other) == 1, "a zombie not yet reaped has ended (its sockets are closed)");
	waitpid(other, NULL, 0);
	T_OK(hub_evict_ended(other) == 1, "a reaped one too");

	/* A docpipe stage, stopped (SIGSTOP): what the hub kills. */
	pid_t replica = child("docpipe-summari");
	settle();
	kill(replica, SIGSTOP);
	T_OK(hub_evict(here, replica, &err) == 0, "a stopped docpipe replica of this machine is killed");
	int status = 0;
	T_OK(waitpid(replica, &status, 0) == replica && WIFSIGNALED(status) &&
		     WTERMSIG(status) == SIGKILL,
	     "by SIGKILL, although stopped");
	return t_done();
}
