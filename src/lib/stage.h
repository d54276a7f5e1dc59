/* The loop every record-at-a-time stage runs: read a record, process it,
 * write what comes out, count.  Records of other kinds (error records above
 * all) pass through untouched, so nothing vanishes between stages. */
#ifndef DP_STAGE_H
#define DP_STAGE_H

#include <pthread.h>
#include <stdatomic.h>

#include <jv.h>

#include "crash.h"
#include "err.h"
#include "transport.h"

typedef struct dp_stage_ops {
	const char *accepts; /* the record kind this stage processes */
	/* Processes rec (consumed) and returns the record to emit: the result,
	 * or an error record (dp_record_error) naming why.  Must be safe to
	 * call from several threads at once when the loop runs threads. */
	jv (*process)(void *ctx, jv rec);
	/* Optional, used instead of process when the sink takes text
	 * (dp_sink_takes_text): processes rec (consumed) and either writes
	 * the record to emit as JSON text into out (emptied, its max the
	 * sink's record size) and returns jv_invalid(), or returns the record
	 * to emit as process does.  The same thread-safety. */
	jv (*process_text)(void *ctx, jv rec, dp_json_buf *out);
	void *ctx;
	/* With one thread: the journal of documents that crash the stage
	 * (crash.h), or NULL; name: the stage, for the error records of
	 * documents listed there. */
	dp_crash *crash;
	const char *name;
} dp_stage_ops;

typedef struct dp_stage_counts {
	atomic_ulong in;       /* records read */
	atomic_ulong out;      /* records written */
	atomic_ulong failed;   /* records this stage turned into error records */
	atomic_ulong passed;   /* records passed through unprocessed */
	atomic_int in_flight;  /* records being processed now */
} dp_stage_counts;

/* Runs until the source ends (for a ZeroMQ source: until a stop request,
 * see dp_stop_requested), with `threads` workers (>= 1); records already
 * read are finished and written before it returns.  Feeds the process
 * counters of stats.h (in flight, latency).  Returns
 * DP_EXIT_OK, DP_EXIT_FAILED when a record failed here, or DP_EXIT_SYSTEM
 * with err set when input or output failed. */
int dp_stage_run(dp_source *src, dp_sink *sink, const dp_stage_ops *ops,
		 int threads, dp_stage_counts *counts, dp_err *err);

/* The output side of the loop, for stages that hold records across
 * requests in a loop of their own (summarize's request scheduler, embed's
 * batches): counting, passing other kinds through, and the first I/O
 * error.  Functions are thread-safe. */
typedef struct dp_stage_io {
	dp_sink *sink;
	dp_stage_counts *counts;
	const char *accepts;
	pthread_mutex_t lock;
	int system_error; /* under lock */
	dp_err err;       /* under lock: the first I/O error */
} dp_stage_io;

void dp_stage_io_init(dp_stage_io *io, dp_sink *sink, dp_stage_counts *counts,
		      const char *accepts);
void dp_stage_io_destroy(dp_stage_io *io);

/* Counts a record read.  Returns 1 when it is of the accepted kind (the
 * caller keeps *rec to process); else writes it through (consumed) and
 * returns 0. */
int dp_stage_io_take(dp_stage_io *io, jv *rec);

/* Writes a processed record (consumed), counting an error record as this
 * stage's failure.  Returns 0, or -1 after an output error (latched). */
int dp_stage_io_put(dp_stage_io *io, jv rec);

/* Writes a processed record's JSON text (borrowed; process_text's).
 * Returns 0, or -1 after an output error (latched). */
int dp_stage_io_put_text(dp_stage_io *io, const dp_json_buf *b);

/* Writes a processed record's JSON text of len bytes in pieces
 * (dp_sink_put_pieces).  Returns 0, or -1 after an output error
 * (latched). */
int dp_stage_io_put_pieces(dp_stage_io *io, size_t len, dp_piece_fn piece, void *arg);

/* Latches an I/O error (the first one is kept); 1 once one was latched. */
void dp_stage_io_fail(dp_stage_io *io, const dp_err *e);
int dp_stage_io_failed(dp_stage_io *io);

/* The loop's exit status once done: DP_EXIT_SYSTEM with err set after an
 * I/O error (latched, or flushing now), DP_EXIT_FAILED when a record failed
 * here, else DP_EXIT_OK. */
int dp_stage_io_finish(dp_stage_io *io, dp_err *err);

/* Worker threads running beside the caller's (which reads the input). */
typedef struct dp_stage_pool {
	pthread_t *tids;
	int started;
	void *(*fn)(void *); /* what each thread runs, on arg */
	void *arg;
} dp_stage_pool;

/* Starts fn(arg) on up to n threads.  Returns how many started (0: none,
 * out of memory or threads).  Above 2 threads it also caps the process's
 * malloc arenas at 2 (glibc), which bounds the memory freed records leave
 * behind in per-thread arenas. */
int dp_stage_pool_start(dp_stage_pool *p, int n, void *(*fn)(void *), void *arg);
void dp_stage_pool_join(dp_stage_pool *p);

/* For a stage that holds records in a loop of its own (dp_stage_io):
 * dp_stage_pool_start, latching "cannot start a thread" in io when none
 * starts; returns how many started. */
int dp_stage_pool_start_io(dp_stage_pool *p, int n, void *(*fn)(void *), void *arg,
			   dp_stage_io *io);
/* ... and its end of input: sets *ended under mu, wakes the workers
 * waiting on work, and joins them. */
void dp_stage_pool_end_input(dp_stage_pool *p, pthread_mutex_t *mu, pthread_cond_t *work,
			     int *ended);

/* Runs fn(arg) on n threads (>= 1; on the caller's when none can start)
 * and joins them. */
void dp_stage_threads(int n, void *(*fn)(void *), void *arg);

#endif
