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

int hub_evict_ended(long pid)
{
	char stat[512];

	if (proc_line(pid, "stat", stat, sizeof stat) < 0)
		return 1;
	/* "PID (COMM) STATE ...": COMM may hold spaces and parentheses, so the
	 * state follows the last ')'. */
	const char *end = strrchr(stat, ')');
	return end != NULL && end[1] == ' ' && (end[2] == 'Z' || end[2] == 'X');
}

int hub_proc_exited(const char *pid_space, long pid)
{
	return pid > 1 && hub_pid_space_here(pid_space) && hub_evict_ended(pid);
}
