/* Why the store waits on its database, said on stderr while it waits.
 *
 * A lock another session holds (a migration, a transaction left open in
 * psql, VACUUM FULL) or a hung server stops the store's writes with no
 * error to report: the run only stands still.  While a write has waited
 * STORE_BLOCKER_FIRST_S (dp_stats_waiting_s), and every
 * STORE_BLOCKER_AGAIN_S while it lasts, a thread of the store asks the
 * server, on a connection of its own, which sessions hold what the
 * store's backend waits for (pg_blocking_pids) and names them: pid,
 * application, state, how long their transaction has been open and its
 * statement.  When the wait ends after that, it says so. */
#ifndef STORE_BLOCKER_H
#define STORE_BLOCKER_H

#include "err.h"

#define STORE_BLOCKER_FIRST_S 10
#define STORE_BLOCKER_AGAIN_S 60

typedef struct store_blocker store_blocker;

/* Starts the watch thread; it connects (db_env as dp_db_connect's) only
 * when a wait is long.  Returns NULL with err set when the thread cannot
 * start. */
store_blocker *store_blocker_start(const char *db_env, dp_err *err);
/* The server process of the store's connection (PQbackendPID): the one
 * whose waits are explained, from now on; 0: none (no connection, or one
 * being made again: the store reports that wait itself). */
void store_blocker_backend(store_blocker *b, int pid);
/* Stops the thread (within DP_DB_BLOCKERS_ANSWER_MS plus a connection's
 * timeout when it is asking), closes its connection, frees *b and sets it
 * NULL.  NULL does nothing. */
void store_blocker_stop(store_blocker **b);

#endif
