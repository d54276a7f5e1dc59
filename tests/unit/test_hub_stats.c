/* When the hub's drain may end (hub_stats_final, src/hub/hub.c): the
 * replicas' counters account for every record the hub sent to each stage,
 * all of it written, nothing in flight; summed over the replicas of a
 * stage, dead ones included. */
#include <stdio.h>
#include <string.h>

#include "../../src/hub/hub.h"
#include "clock.h"
#include "record.h"
#include "stats.h"
#include "t.h"

static hub_stats stats; /* large: static */
static hub_proc *last;  /* the entry the last report updated */

/* A stats message of stage from pid with counters in, out, in_flight. */
static void report(const char *stage, int pid, int in, int out, int in_flight)
{
	char json[512];
	dp_err err;

	snprintf(json, sizeof json,
		 "{\"v\":1,\"kind\":\"stats\",\"stage\":\"%s\",\"host\":\"h\",\"pid\":%d,\"in\":%d,"
		 "\"out\":%d,\"in_flight\":%d,\"requests\":%d}",
		 stage, pid, in, out, in_flight, in);
	jv r = dp_record_parse(json, strlen(json), &err);
	last = hub_stats_update(&stats, r);
	jv_free(r);
}

/* A stats message of a store replica pid, waiting `seconds` on the
 * database (0: not waiting). */
static void report_waiting(int pid, double seconds)
{
	char wait[128] = "", json[512];
	dp_err err;

	if (seconds > 0)
		snprintf(wait, sizeof wait, ",\"waiting\":{\"on\":\"database\",\"seconds\":%g}", seconds);
	snprintf(json, sizeof json,
		 "{\"v\":1,\"kind\":\"stats\",\"stage\":\"store\",\"host\":\"h\",\"pid\":%d,"
		 "\"in\":3,\"out\":3,\"in_flight\":0%s}", pid, wait);
	jv r = dp_record_parse(json, strlen(json), &err);
	last = hub_stats_update(&stats, r);
	jv_free(r);
}

/* The wait a replica reports (stats.c) and the hub's reading of it: a
 * stage stalls when every live replica of it waits. */
static void test_waiting(void)
{
	/* Judged only when the message was made within DP_STATS_WAITING_MS of
	 * the wait's start, timed around both calls: a thread the machine
	 * held for that long between them (ASan at load 15 on 2 cores) made
	 * a wait that was long, and reported, by then; such a try is made
	 * again (each try a few microseconds: one that reports at once fails
	 * at the first quick one). */
	jv m = jv_invalid();
	int quick = 0;
	for (int try = 0; try < 20 && !quick; try++) {
		jv_free(m);
		dp_stats_wait_end();
		double t0 = dp_clock_ms();
		dp_stats_wait_begin("database");
		m = dp_stats_message(0);
		quick = dp_clock_ms() - t0 < DP_STATS_WAITING_MS;
	}
	T_OK(quick && !jv_object_has(jv_copy(m), jv_string("waiting")), "a wait just begun is not reported");
	jv_free(m);
	dp_sleep_ms(DP_STATS_WAITING_MS + 20);
	m = dp_stats_message(0);
	jv w = jv_object_get(jv_copy(m), jv_string("waiting"));
	double secs;
	T_OK(jv_get_kind(w) == JV_KIND_OBJECT && dp_record_str(w, "on") != NULL &&
		     strcmp(dp_record_str(w, "on"), "database") == 0 &&
		     dp_record_num(w, "seconds", &secs) == 0 && secs >= DP_STATS_WAITING_MS / 1000.0,
	     "a longer wait is reported, on what and for how long");
	T_OK(dp_stats_waiting_s() >= DP_STATS_WAITING_MS / 1000.0, "and read by the process itself");
	jv_free(w);
	jv_free(m);
	dp_stats_wait_end();
	m = dp_stats_message(0);
	T_OK(!jv_object_has(jv_copy(m), jv_string("waiting")) && dp_stats_waiting_s() == 0,
	     "an ended wait is not");
	jv_free(m);

	const char *on = NULL;
	report_waiting(5, 12);
	report_waiting(8, 0);
	T_OK(!hub_stats_stalled(&stats), "one store replica of two waits: not stalled");
	T_OK(hub_stats_waiting(&stats, 3, &on) == 12 && on != NULL && strcmp(on, "database") == 0,
	     "the stage's longest wait, and on what");
	report_waiting(8, 3);
	T_OK(hub_stats_stalled(&stats) == 3, "every live store replica waits: stalled, as long as the shortest wait");
	report_waiting(8, 0);
	report_waiting(5, 0);
	T_OK(!hub_stats_stalled(&stats) && hub_stats_waiting(&stats, 3, &on) == 0, "the waits ended");
}

int main(void)
{
	long none[HUB_STAGES] = {0, 0, 0, 0}, sent[HUB_STAGES] = {3, 3, 3, 3};

	T_OK(hub_stats_final(&stats, none), "nothing sent, nobody heard: final");
	T_OK(!hub_stats_final(&stats, sent), "sent but no counters yet: not final");
	report("chunk", 1, 3, 3, 0);
	report("summarize", 2, 2, 2, 0);
	report("summarize", 3, 1, 1, 0);
	report("embed", 4, 3, 3, 0);
	report("store", 5, 3, 2, 1);
	T_OK(!hub_stats_final(&stats, sent), "a store record in flight: not final");
	report("store", 5, 3, 2, 0);
	T_OK(!hub_stats_final(&stats, sent), "read but not written: not final");
	report("store", 5, 3, 3, 0);
	T_OK(hub_stats_final(&stats, sent), "every stage read and wrote what it was sent: final");
	T_OK(hub_stats_sum(&stats, -1, offsetof(hub_proc, requests)) == 12,
	     "the counters it ends on are the totals");
	sent[1] = 4; /* a re-send to summarize: the copy is not read yet */
	T_OK(!hub_stats_final(&stats, sent), "a record sent that no replica counted: not final");
	report("summarize", 3, 2, 2, 0);
	T_OK(hub_stats_final(&stats, sent), "the two replicas' sum accounts for it: final");
	report("summarize", 3, 3, 3, 0);
	T_OK(!hub_stats_final(&stats, sent), "more read than sent (another run's): not final");
	report("embed", 6, 0, 0, 0);
	report("summarize", 3, 2, 2, 0);
	T_OK(hub_stats_final(&stats, sent), "an idle replica with nothing read changes nothing");

	/* Progress (for the documents a replica says it holds, loop.c):
	 * its counters moving, not its messages coming. */
	report("summarize", 7, 1, 0, 1);
	double first = last->progress_at;
	T_OK(first > 0, "a replica's first message counts as progress");
	dp_sleep_ms(20);
	report("summarize", 7, 1, 0, 1);
	T_OK(last->progress_at == first, "the same counters again: no progress");
	report("summarize", 7, 2, 0, 1);
	T_OK(last->progress_at > first, "a counter moved: progress");
	T_OK(dp_record_seq_valid(3) && !dp_record_seq_valid(-1) && !dp_record_seq_valid(2.5) &&
		     !dp_record_seq_valid(1e300),
	     "a seq from a peer: whole numbers in range only");
	test_waiting();
	return t_done();
}
