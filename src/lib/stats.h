/* Counters every stage process reports to the hub (--stats ENDPOINT), so
 * the supervisor can show progress and total up the run.
 *
 * The counters are process-wide and lock-free.  The transport counts
 * records in and out (and this stage's own error records); dp_stage_run
 * adds in-flight and latency; a stage with its own loop or an API backend
 * adds retries, requests and tokens with dp_stats_add. */
#ifndef DP_STATS_H
#define DP_STATS_H

#include <jv.h>

#include "err.h"
#include "zmqsock.h"

enum dp_stat {
	DP_STAT_IN,         /* records read */
	DP_STAT_OUT,        /* records written */
	DP_STAT_FAILED,     /* error records this stage made */
	DP_STAT_IN_FLIGHT,  /* records being processed now (add 1, then -1) */
	DP_STAT_RETRIES,    /* retried requests or records */
	DP_STAT_REQUESTS,   /* model API requests */
	DP_STAT_TOKENS,     /* model API tokens */
	DP_STAT_THROTTLED,  /* model API requests answered 429 */
	DP_STAT_LATENCY_US, /* summed processing time of records ... */
	DP_STAT_LATENCY_N,  /* ... and how many were timed */
	DP_STAT_CONCURRENCY, /* model API requests allowed in flight now (the
			      * limiter's level; 0 without an API backend) */
	DP_STAT_COUNT
};

/* Upper bounds (ms) of the latency histogram's buckets; a last bucket
 * holds what is above the last bound.  Every DP_STAT_LATENCY_US added is
 * also counted in its bucket. */
#define DP_STATS_LATENCY_BOUNDS_MS 1, 5, 10, 50, 100, 500, 1000, 5000, 10000, 60000
#define DP_STATS_LATENCY_BUCKETS 11

void dp_stats_add(enum dp_stat stat, long n);
long dp_stats_get(enum dp_stat stat);

/* This process's pid space: the machine's boot id and its pid namespace
 * ("BOOT-ID/pid:[INODE]"), so that another process with the same one
 * knows a pid means the same process to both (a hostname does not: a
 * container on the host's network may have the host's name); "" when
 * /proc does not tell.  Borrowed, static. */
const char *dp_stats_pid_space(void);

/* The current counters as a `stats` message (owned): {"v":1,"kind":"stats",
 * "stage","host","pid","pid_space","in","out","failed","in_flight","retries",
 * "requests","tokens","throttled","latency_ms","latency_sum_ms","latency_buckets",
 * "concurrency","final"[, "holding"][, "waiting"]}: latency_ms is the mean, latency_buckets the count
 * of records per bucket of DP_STATS_LATENCY_BOUNDS_MS (not cumulative), holding the
 * seqs held long (dp_stats_hold), when there are any, waiting a long wait
 * (dp_stats_wait_begin). */
jv dp_stats_message(int final);

/* The hub's sequence numbers ("seq") of the records this process holds
 * (taken, output not yet written): each stats message lists those held
 * DP_STATS_HOLDING_MS or longer as "holding", so that the hub does not
 * take a document that is slow to process (a big one, a slow model API)
 * for lost: a re-send would pay its requests again and, after --attempts,
 * fail it.  Up to DP_STATS_HELD_MAX are tracked (more go unlisted: the
 * hub's --timeout applies to them).  dp_stats_hold reads rec (borrowed)
 * and returns the token dp_stats_release takes (-1: none tracked). */
#define DP_STATS_HOLDING_MS 1000
#define DP_STATS_HELD_MAX 128
long dp_stats_hold(jv rec);
void dp_stats_release(long token);

/* Marks this process as waiting on what every replica of its stage shares
 * (the store: its database, behind a lock another session holds, a server
 * that hangs or is away), from dp_stats_wait_begin until dp_stats_wait_end.
 * Once the wait has lasted DP_STATS_WAITING_MS, stats messages carry
 * "waiting": {"on": on, "seconds": s}: the hub then keeps the documents the
 * process holds ("holding") from being re-sent even without progress (a
 * copy would wait on the same thing, and fail after --attempts) and shows
 * the wait.  on: a static string.  One wait at a time per process. */
#define DP_STATS_WAITING_MS 200
void dp_stats_wait_begin(const char *on);
void dp_stats_wait_end(void);
/* Seconds the current wait has lasted; 0 when none. */
double dp_stats_waiting_s(void);

/* Sends a first message to endpoint once the connection is made, waiting
 * for it up to 2 s (or the stop): call it before the stage's input is
 * connected, so that the hub knows the process before any record reaches
 * it and takes its silence for its death, even when it dies at once (a
 * replica killed before its first message was never missed: what it held
 * waited for --timeout).  Then starts a thread sending dp_stats_message every
 * 500 ms, and when the stage has been idle for 5 ms (nothing in flight and every
 * record read written, out >= in), so the hub's report need not wait for
 * a tick to have the last counters.  Past the start it never blocks the
 * stage: a message the hub cannot take is dropped; the next one carries
 * the totals anyway.  Returns 0 or -1 with err set. */
int dp_stats_start(const char *endpoint, const dp_zmq_opts *opts, dp_err *err);

/* Sends a final message and stops the thread.  Does nothing when none
 * runs. */
void dp_stats_stop(void);

#endif
