/* Outcomes in the database (issue 13): the documents whose last outcome is
 * a failure (docpipe.failures: stage, reason, since when, run) and one row
 * per run (docpipe.runs), so that what a run did outlives its terminal.
 * A stored or unchanged document's last run and time are its documents
 * row's last_run and updated_at.
 *
 * Who writes what:
 *  - docpipe-store records the outcome of every receipt it prints (after
 *    the batch's transaction committed): a failure is kept, any other
 *    outcome removes the path's failure; it creates the run's row the
 *    first time it sees the run id (started_at);
 *  - the supervisor hands the run's report to `docpipe-status --record-run
 *    FILE`, which fills the run's figures (added ... failed, requests,
 *    tokens, seconds) and ended_at: requests and tokens are known only to
 *    the hub, which totals the stages' counters; and the failures only the
 *    hub knows (documents without a receipt);
 *  - `docpipe plan --run ID` records its prediction in the run's row;
 *  - a sweep deletes the failures of paths under its roots that its run did
 *    not see (the file is gone: its failure is no longer news).
 * A document's failure stays until a later outcome for its path replaces
 * it; failed_since keeps the time of the first failure in a row. */
#ifndef STORE_OUTCOME_H
#define STORE_OUTCOME_H

#include <stddef.h>

#include <jv.h>
#include <libpq-fe.h>

#include "doc.h"
#include "err.h"
#include "pgbin.h"

/* Checks, before anything is created or changed, that what schema
 * docpipe holds is what docpipe's writers rely on: each of its tables
 * present has the columns every docpipe version made it with, and the
 * unique key its ON CONFLICT clauses (or the chunks' numbering) need,
 * usable by ON CONFLICT.  Another application's schema docpipe, or
 * docpipe's with a key dropped (a DBA's index clean-up, a data-only
 * restore into tables made by hand), failed every document one by one,
 * or the store at each restart, its tables made inside the other
 * schema.  One catalog query.  Returns 0; 1 with err naming each fault
 * and its mend (a configuration error: no restart mends it); -1 with err
 * on a database error. */
int store_schema_check(PGconn *db, dp_err *err);

/* Creates schema docpipe, docpipe.failures, docpipe.runs and
 * docpipe.live_runs if missing, and brings older versions' outcome tables
 * up to date in place: docpipe.runs gets column
 * planned (started_at then NULL until the run starts), and the failures
 * of docpipe.outcomes move to docpipe.failures, the old table dropped.
 * Idempotent.  Runs in the caller's transaction, which holds the schema
 * lock (STORE_LOCK_KEY: two writers starting together take turns).
 * Returns 0 or -1 with err. */
int store_outcome_schema(PGconn *db, dp_err *err);

/* The same in a transaction of its own, under the schema lock, creating
 * schema docpipe if needed, after store_schema_check (under the lock: a
 * store making the tables meanwhile is waited for): for tools other than
 * the store.  Returns 0; 1 with err when the check found schema docpipe
 * not as docpipe made it (a configuration error, nothing made); -1 with
 * err. */
int store_outcome_ensure_checked(PGconn *db, dp_err *err);
/* store_outcome_ensure_checked, its 1 as -1. */
int store_outcome_ensure(PGconn *db, dp_err *err);

/* Records the outcomes of items[0..n) (those with a path and a status),
 * the last one winning for a path given twice, in one statement.  Returns
 * 0 or -1 with err. */
int store_outcome_record(PGconn *db, const store_item *items, size_t n, dp_err *err);

/* Records a run's report (borrowed: the supervisor's JSON report, see
 * docs/graph.md) into docpipe.runs, and its failures of stage "hub" (no
 * receipt: the store never saw them) into docpipe.failures, in a
 * transaction of its own without statement_timeout.  Returns 0,
 * -1 with err (the database's failure), or -2 with err for a report
 * without a run id (refused: no retry mends it). */
int store_outcome_run_report(PGconn *db, jv report, dp_err *err);

/* Records the prediction of `docpipe plan --run ID` (plan borrowed: its
 * JSON report) in run's row, so status shows planned and spent side by
 * side once the run has run.  The caller ensured the tables
 * (store_outcome_schema).  Returns 0 or -1 with err. */
int store_outcome_plan(PGconn *db, const char *run, jv plan, dp_err *err);

#endif
