/* A run's claim on its roots (docpipe run's recorder, sweep 7 finding 15):
 * two runs over the same roots at once paid the model API twice for
 * whatever the first had not finished.  A run is live while the session
 * that claimed it holds its advisory lock: a run killed with -9, or whose
 * machine died, is over as soon as its session is, whatever row it left
 * in docpipe.live_runs. */
#ifndef STATUS_LIVE_H
#define STATUS_LIVE_H

#include <stddef.h>

#include <jv.h>
#include <libpq-fe.h>

#include "err.h"

/* What a claim does when a live run's roots overlap its own (one root
 * equal to or under another, in dp_path_absolute's form). */
enum status_overlap {
	STATUS_OVERLAP_REFUSE, /* refuse: status_live_claim returns 1 */
	STATUS_OVERLAP_ALLOW,  /* claim beside it */
	STATUS_OVERLAP_WAIT,   /* wait (saying so) until every such run is over */
};

typedef struct status_live {
	int id; /* the row of docpipe.live_runs and the lock's key; 0: none */
	char *run, *roots; /* the run id, its roots (a JSON array, absolute) */
} status_live;

/* Claims roots (nroots, as given) for run in db, in docpipe.live_runs, its
 * session holding the claim's lock until it ends; first removes the rows
 * of runs no session holds.  Connected through a transaction pooler
 * (dp_db_pooled), where no session lock can be held, claims nothing and
 * says so.  Returns 0 (claimed, or beside a live run with
 * STATUS_OVERLAP_ALLOW), 1 when a live run overlaps and overlap is
 * STATUS_OVERLAP_REFUSE (err names it: run, pid, host, start and roots),
 * -1 with err on a database error.  Wants the tables made
 * (store_outcome_ensure). */
int status_live_claim(PGconn *db, status_live *live, const char *run, char *const *roots, size_t nroots,
		      enum status_overlap overlap, dp_err *err);

/* Waits until fd can be read (the run's report on stdin), keeping the
 * claim: a connection lost meanwhile (a database restart) is made again,
 * every second until it is, and the claim made anew (beside any run that
 * started meanwhile: this one runs already).  Returns 0 when fd is
 * readable, -1 with err when polling failed. */
int status_live_hold(PGconn *db, status_live *live, int fd, dp_err *err);

/* Removes the claim's row (its lock goes with the session) and frees
 * live.  A failure is left: the next claim removes a row no session
 * holds. */
void status_live_end(PGconn *db, status_live *live);

/* The rows of docpipe.live_runs (owned), oldest first: [{id, run, pid (its
 * supervisor's), host, started_at (UTC), roots (array), live}], live true
 * while a session holds the claim's lock; false: stale (its run ended or
 * was killed, the row left for the next claim to remove).  Read from
 * pg_locks, taking no lock.  Wants the table.  An invalid jv with err on
 * a database error. */
jv status_live_list(PGconn *db, dp_err *err);

#endif
