/* The loop every record-at-a-time stage runs: read a record, process it,
 * write what comes out, count.  Records of other kinds (error records above
 * all) pass through untouched, so nothing vanishes between stages. */
#ifndef DP_STAGE_H
#define DP_STAGE_H

#include <stdatomic.h>

#include <jv.h>

#include "err.h"
#include "transport.h"

typedef struct dp_stage_ops {
	const char *accepts; /* the record kind this stage processes */
	/* Processes rec (consumed) and returns the record to emit: the result,
	 * or an error record (dp_record_error) naming why.  Must be safe to
	 * call from several threads at once when the loop runs threads. */
	jv (*process)(void *ctx, jv rec);
	void *ctx;
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

#endif
