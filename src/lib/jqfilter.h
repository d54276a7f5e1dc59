/* A jq program (libjq) applied to records: the `--jq PROGRAM` of every
 * stage, run on each record the stage emits.
 *
 * A jq_state is not thread-safe; a dp_jq serializes its users with its own
 * lock, so one dp_jq may be shared by the threads of a stage. */
#ifndef DP_JQFILTER_H
#define DP_JQFILTER_H

#include <jv.h>

#include "err.h"

typedef struct dp_jq dp_jq;

/* Compiles `program`.  Returns NULL with err holding jq's compile
 * messages when it does not compile (a usage error for the caller). */
dp_jq *dp_jq_new(const char *program, dp_err *err);
void dp_jq_free(dp_jq **jq);

/* Called with each record to emit (out, consumed); returns < 0 to stop. */
typedef int (*dp_jq_put_fn)(void *arg, jv out);

/* Runs the program on rec (consumed) and gives put the records to emit in
 * its place, in order: none (the program dropped it), one, or several.  An
 * output that is not an object, or a runtime error, becomes an error
 * record (dp_record_error) for the input record in that place: a broken
 * filter never loses a document silently and never crashes.  Returns the
 * first negative return of put (the outputs after it are dropped), else
 * 1 when an error record took an output's place or a put returned more
 * than 0 (the record failed: dp_stage_io counts it), else 0.
 *
 * All of it -- the puts, and freeing rec -- runs under the dp_jq's lock,
 * so put must use its record there (serialize it, write it) and keep no
 * reference to it: an output shares values with the program (`.tag =
 * "x"` puts the program's own string "x" into every output) and with rec,
 * which the jq_state holds until its next run, another thread's.  jq's
 * reference counts are not atomic (docs/HACKING.md rule 3): outside the
 * lock one thread freeing an output as another runs the program loses an
 * update of the constant's count (session 54: 1,566 meetings of two
 * threads on "x" in one run of summarize -j 8 under tests/lib/jvrace.c). */
int dp_jq_each(dp_jq *jq, jv rec, dp_jq_put_fn put, void *arg);

#endif
