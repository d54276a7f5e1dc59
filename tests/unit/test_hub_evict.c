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

/* A child that waits (for at most 30 s), its command name name: returns
 * once the child has set it (it says so on a pipe; a fixed wait was not
 * always enough for a child to run on a loaded machine). */
static pid_t child(const char *name)
{
	int fds[2];
	char c;

	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_NAME, name, 0, 0, 0);
		alarm(30);
		if (write(fds[1], "", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	if (pid > 0 && read(fds[0], &c, 1) != 1)
		pid = -1;
	close(fds[0]);
	return pid;
}

/* Waits until the killed child pid has ended, without reaping it (a
 * zombie). */
static void ended(pid_t pid)
{
	siginfo_t info;

	waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT);
}

int main(void)
{
	const char *here = dp_stats_pid_space();
	dp_err err;

	T_OK(here[0] != '\0' && strstr(here, "/pid:[") != NULL, "this process's pid space: boot id and pid namespace");
	pid_t other = child("sleep");
	T_OK(other > 0, "a child named sleep");
	if (other <= 0)
		return t_done(); /* never kill(-1, ...) */
	T_OK(hub_evict(here, other, &err) < 0 && strstr(err.msg, "no docpipe process") != NULL,
	     "a process of another program (a pid used again) is not killed");
	T_OK(hub_evict_ended(other) == 0, "a running process has not ended");
	long ppid_other = 0;
	char state_other = hub_proc_state(other, &ppid_other);
	T_OK((state_other == 'S' || state_other == 'R') && !hub_proc_stopped(state_other),
	     "its state: sleeping (or running), not stopped");
	T_OK(hub_evict("another-boot-id/pid:[4026531836]", other, &err) < 0 &&
		     strstr(err.msg, "another machine or in another pid namespace") != NULL,
	     "a replica of another machine or pid namespace (a container named as this host) is not killed");
	T_OK(hub_evict("", other, &err) < 0, "nor one whose pid space is unknown");
	T_OK(hub_evict(here, getpid(), &err) < 0, "nor the hub itself");
	kill(other, SIGKILL);
	ended(other);
	T_OK(hub_evict_ended(other) == 1, "a zombie not yet reaped has ended (its sockets are closed)");
	waitpid(other, NULL, 0);
	T_OK(hub_evict_ended(other) == 1, "a reaped one too");

	/* A docpipe stage, stopped (SIGSTOP): what the hub kills. */
	pid_t replica = child("docpipe-summari");
	T_OK(replica > 0, "a child named docpipe-summari");
	if (replica <= 0)
		return t_done();
	kill(replica, SIGSTOP);
	long ppid = 0;
	char state;
	for (int i = 0; i < 1000 && (state = hub_proc_state(replica, &ppid)) != 'T'; i++)
		usleep(1000); /* the stop takes effect when the child is next scheduled */
	T_OK(state == 'T' && ppid == (long)getpid() && hub_proc_stopped(state),
	     "its state read: stopped, and its parent");
	T_OK(strcmp(hub_state_words(state), "stopped (SIGSTOP or SIGTSTP)") == 0, "... said in words");
	T_OK(hub_evict(here, replica, &err) == 0, "a stopped docpipe replica of this machine is killed");
	int status = 0;
	T_OK(waitpid(replica, &status, 0) == replica && WIFSIGNALED(status) &&
		     WTERMSIG(status) == SIGKILL,
	     "by SIGKILL, although stopped");
	return t_done();
}
