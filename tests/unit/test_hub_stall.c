/* A stalled stage's replicas (src/hub/stall.h): the supervisor's list of
 * them (docpipe-hub --replicas), and one never heard from entered as
 * silent, which its first stats find again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/hub/stall.h"
#include "record.h"
#include "stats.h"
#include "t.h"

static hub_stats stats; /* large: static */

/* A stats message from pid of this machine, as a replica of stage sends it. */
static hub_proc *report(const char *stage, long pid)
{
	char host[256] = "", json[1024];
	dp_err err;

	gethostname(host, sizeof host - 1);
	snprintf(json, sizeof json,
		 "{\"v\":1,\"kind\":\"stats\",\"stage\":\"%s\",\"host\":\"%s\",\"pid\":%ld,\"pid_space\":\"%s\","
		 "\"in\":0,\"out\":0,\"in_flight\":0}",
		 stage, host, pid, dp_stats_pid_space());
	jv r = dp_record_parse(json, strlen(json), &err);
	hub_proc *p = hub_stats_update(&stats, r);
	jv_free(r);
	return p;
}

int main(void)
{
	char path[] = "/tmp/test_hub_stall.XXXXXX";
	hub_replica r[HUB_ROSTER_MAX];
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	T_OK(f != NULL, "a roster file");
	if (f == NULL)
		return t_done();
	fputs("chunk-1 100\nstore-1 101\nchunk-1 102\nchunky-1 9\nchunk-2 103\nbroken\n", f);
	fclose(f);
	int n = hub_roster_read(path, 0, r, HUB_ROSTER_MAX);
	T_OK(n == 2 && strcmp(r[0].name, "chunk-1") == 0 && r[0].pid == 102 && strcmp(r[1].name, "chunk-2") == 0 &&
		     r[1].pid == 103,
	     "a stage's replicas, each name's last pid (restarted), no other stage's");
	T_OK(hub_roster_read(path, 0, r, 1) == 1 && r[0].pid == 102, "at most max");
	T_OK(hub_roster_read(path, 3, r, HUB_ROSTER_MAX) == 1 && r[0].pid == 101, "the store's");
	unlink(path);
	T_OK(hub_roster_read(path, 0, r, HUB_ROSTER_MAX) == 0, "no file: none");
	T_OK(hub_roster_read(NULL, 0, r, HUB_ROSTER_MAX) == 0, "no roster: none");

	hub_proc *p = hub_stats_unheard(&stats, 4242, 0, "chunk-1", 5.0);
	T_OK(p != NULL && p->unheard && p->gone && p->silent_at == 5.0 && p->stage == 0 &&
		     strcmp(p->name, "chunk-1") == 0,
	     "a replica never heard from, entered as silent since the stall began");
	T_OK(hub_stats_live(&stats, 0) == 0 && hub_stats_silent(&stats, 100.0) == 0,
	     "not live, and no death for the silence rule to count again");
	T_OK(hub_stats_unheard(&stats, 4242, 0, "chunk-1", 9.0) == p && p->silent_at == 5.0,
	     "entered once: the next look finds it as it is");
	T_OK(hub_stats_local(&stats, 4242) == p && hub_stats_local(&stats, 4243) == NULL, "found by its pid");
	T_OK(report("chunk", 4242) == p && !p->unheard && !p->gone && p->silent_at == 0 &&
		     hub_stats_live(&stats, 0) == 1 && stats.nprocs == 1,
	     "its first stats (SIGCONT) find the same entry: live, heard from");
	return t_done();
}
