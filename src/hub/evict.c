#include "evict.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "stats.h"

/* Reads the first line of /proc/PID/NAME into buf (without its newline).
 * Returns 0, or -1 when the process (or the file) is not there. */
static int proc_line(long pid, const char *name, char *buf, size_t size)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/%s", pid, name);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	char *line = fgets(buf, (int)size, f);
	fclose(f);
	if (line == NULL)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int hub_pid_space_here(const char *pid_space)
{
	const char *here = dp_stats_pid_space();

	return here[0] != '\0' && pid_space != NULL && strcmp(pid_space, here) == 0;
}

int hub_evict(const char *pid_space, long pid, dp_err *err)
{
	char comm[64];

	if (!hub_pid_space_here(pid_space)) {
		dp_err_set(err, "it runs on another machine or in another pid namespace");
		return -1;
	}
	if (pid <= 1 || pid == (long)getpid() || proc_line(pid, "comm", comm, sizeof comm) < 0 ||
	    strncmp(comm, "docpipe-", 8) != 0) {
		dp_err_set(err, "pid %ld is no docpipe process of this machine", pid);
		return -1;
	}
	if (kill((pid_t)pid, SIGKILL) != 0) {
		dp_err_set(err, "kill %ld: %s", pid, strerror(errno));
		return -1;
	}
	return 0;
}

char hub_proc_state(long pid, long *ppid)
{
	char stat[512];
	char state;

	if (pid <= 0 || proc_line(pid, "stat", stat, sizeof stat) < 0)
		return 0;
	/* "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses,
	 * so the state follows the last ')'. */
	const char *end = strrchr(stat, ')');
	if (end == NULL || sscanf(end + 1, " %c %ld", &state, ppid) != 2)
		return 0;
	return state;
}

const char *hub_state_words(char state)
{
	switch (state) {
	case 'T': return "stopped (SIGSTOP or SIGTSTP)";
	case 't': return "stopped by a debugger (tracing stop)";
	case 'R': return "running";
	case 'S': case 'I': return "sleeping";
	case 'D': return "in uninterruptible sleep (disk, swap or a frozen cgroup)";
	case 'Z': case 'X': case 0: return "exited";
	default: return "in an unusual state";
	}
}

int hub_proc_stopped(char state) { return state == 'T' || state == 't'; }

int hub_evict_ended(long pid)
{
	long ppid;
	char state = hub_proc_state(pid, &ppid);

	return state == 0 || state == 'Z' || state == 'X';
}

int hub_proc_exited(const char *pid_space, long pid)
{
	return pid > 1 && hub_pid_space_here(pid_space) && hub_evict_ended(pid);
}
