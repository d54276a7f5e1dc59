/* docpipe-status: what the database says about the corpus and its runs
 * (issue 13).  Read-only, except status_record_run. */
#ifndef STATUS_STATUS_H
#define STATUS_STATUS_H

#include <stdio.h>

#include <jv.h>
#include <libpq-fe.h>

#include "err.h"

/* Rows of a result as an array of objects (owned), one key per column:
 * numbers for integer and float columns, booleans, strings, null. */
jv status_rows(const PGresult *res);

/* Everything status prints, as one object (owned):
 * {"schema": bool, "roots": [{root, documents, chunks, last_update}],
 *  "failures": [{path, root, stage, error, since, run}], "failures_total",
 *  "runs": [{id, started_at, ended_at, complete, added, updated, unchanged,
 *            deleted, failed, resent, requests, tokens, seconds}],
 *  "live_runs": [{id, run, pid, host, started_at, roots, live}]
 *  (status_live_list: live false is a stale row),
 *  "settings": {key: value}, "indexes": [{name, method, valid, bytes,
 *  building}]}.
 * At most max_runs runs (newest first) and max_failures failures (oldest
 * first).  A database without the docpipe schema gives "schema": false
 * and empty lists.  Returns an invalid jv with err on a database error. */
jv status_collect(PGconn *db, int max_runs, int max_failures, dp_err *err);

/* Prints the object of status_collect (borrowed) for people. */
void status_print(FILE *out, jv st);

/* Reads the supervisor's JSON report from path ("-": stdin) and records
 * it in docpipe.runs (creating the tables if needed).  *db is the
 * connection (NULL: made here, before the report is read, from db_env as
 * dp_db_connect reads it); it stays the caller's, to PQfinish, made again
 * when lost.  The tables are made before the report is read, so a
 * recorder started ahead of the run's end only inserts once the report
 * comes; with ready (*db made them: the claim's connection, at the run's
 * start) not again, unless the report's statement fails on that
 * connection (a table dropped since: made again, once).  A database away (a
 * restart at the run's end, still in recovery) is waited for up to
 * patience seconds, as the store waits (store_patiently: said on stderr):
 * the report was lost when one reconnection failed.  Recording twice
 * is harmless (the run's row is updated).  Returns 0, -2 with err when
 * the report is empty (nothing written: its writer gone), -3 with err
 * when the login is refused for good (dp_db_connect_status), or -1 with
 * err. */
int status_record_run(PGconn **db, const char *db_env, const char *path, double patience, int ready,
		       dp_err *err);

#endif
