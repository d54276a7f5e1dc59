/* store_patiently: the one wait for a database that is away, the store's
 * and docpipe-status's (the run's claim, its report).  A file of its own
 * so that docpipe-status links it without the store's write path. */
#include <stdatomic.h>
#include <stdio.h>

#include "clock.h"
#include "db.h"
#include "stop.h"
#include "store.h"

/* When this process's waits for the database began (dp_clock_ms, in
 * seconds), 0 once a wait ended with the database back: a patience is one
 * outage's, whichever work meets it.  Each piece of work waited a whole
 * --db-retry of its own: the batch's write, then the work after it, so a
 * store gave up after twice its --db-retry (fault sweep 18). */
static _Atomic double away_since;

int store_patiently(int (*attempt)(void *ctx, dp_err *err), void *ctx, double patience,
		    dp_err *err)
{
	double start = 0, delay = 0.25;
	int said = 0;

	for (;;) {
		dp_db_forget_sqlstate(); /* a failure that is not the database's says none */
		int tried = attempt(ctx, err);
		if (tried == 0) {
			if (said)
				dp_diag("the database is back after %.1f s", dp_clock_ms() / 1e3 - start);
			atomic_store(&away_since, 0);
			return 0;
		}
		if (tried < -1 || !dp_db_unreachable(dp_db_last_sqlstate(), err->msg))
			return -1; /* refused for good: waiting would not help */
		double now = dp_clock_ms() / 1e3, first = 0;
		if (start == 0) {
			atomic_compare_exchange_strong(&away_since, &first, now);
			start = atomic_load(&away_since);
			start = start > 0 && start < now ? start : now;
		}
		double waited = now - start;
		if (patience <= 0)
			return -1;
		if (waited >= patience || dp_stop_requested()) {
			char why[DP_ERR_MAX];
			snprintf(why, sizeof why, "%s", err->msg);
			/* A stop is no patience spent: "gave up after 0 s;
			 * --db-retry 300" misled (fault sweep 17). */
			if (waited < patience)
				dp_err_set(err, "%s (stopped while waiting for the database, after %.1f s)", why,
					   waited);
			else
				dp_err_set(err, "%s (gave up after %.0f s; --db-retry %.0f)", why, waited,
					   patience);
			return -1;
		}
		if (!said)
			dp_diag("%s; waiting up to %.0f s for the database (--db-retry)", err->msg,
				patience - waited);
		said = 1;
		double nap = delay < patience - waited ? delay : patience - waited;
		dp_stop_nap_ms(nap * 1e3);
		delay = delay * 2 < 5 ? delay * 2 : 5;
	}
}
