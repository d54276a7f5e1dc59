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

/* Runs the program on rec (consumed) and returns an array (owned) of the
 * records to emit in its place: none (the program dropped it), one, or
 * several.  An output that is not an object, or a runtime error, becomes
 * an error record (dp_record_error) for the input record in that place:
 * a broken filter never loses a document silently and never crashes. */
jv dp_jq_apply(dp_jq *jq, jv rec);

#endif
