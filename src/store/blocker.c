#include "blocker.h"

#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "db.h"
#include "stats.h"

#define BLOCKER_APP "docpipe-store-watch"

struct store_blocker {
	const char *db_env;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping;
	int pid;      /* the store's backend; 0: not known */
	PGconn *conn; /* the watch's own connection; NULL until a long wait */
};

/* The sessions that hold what backend pid waits for, the oldest
 * transaction first. */
static const char blockers_sql[] =
	"SELECT b.pid::text, coalesce(nullif(b.application_name, ''), 'no application name'),"
	" coalesce(b.state, 'state unknown'),"
	" coalesce(round(extract(epoch FROM now() - b.xact_start))::text, '?'),"
	" coalesce(left(regexp_replace(b.query, '\\s+', ' ', 'g'), 160), '')"
	" FROM unnest(pg_blocking_pids($1::int)) AS w(pid) JOIN pg_stat_activity b USING (pid)"
	" ORDER BY b.xact_start NULLS LAST LIMIT 3";

/* The answer to blockers_sql for pid on b->conn, waiting at most
 * STORE_BLOCKER_ANSWER_MS: a hung server must not hang the watch.  NULL
 * with err set when there is none in time or it is an error. */
static PGresult *ask(store_blocker *b, int pid, dp_err *err)
{
	char pid_text[16];
	const char *params[1] = {pid_text};
	PGresult *res = NULL, *next;
	double start;

	snprintf(pid_text, sizeof pid_text, "%d", pid);
	if (!PQsendQueryParams(b->conn, blockers_sql, 1, NULL, params, NULL, NULL, 0)) {
		dp_db_err(err, b->conn, NULL, "asking the database what the store waits for");
		return NULL;
	}
	start = dp_clock_ms();
	for (;;) {
		if (!PQconsumeInput(b->conn)) {
			dp_db_err(err, b->conn, NULL, "asking the database what the store waits for");
			break;
		}
		if (!PQisBusy(b->conn)) {
			while ((next = PQgetResult(b->conn)) != NULL)
				if (res == NULL)
					res = next;
				else
					PQclear(next);
			if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
				dp_db_err(err, b->conn, res, "asking the database what the store waits for");
				PQclear(res);
				res = NULL;
			}
			return res;
		}
		long left = STORE_BLOCKER_ANSWER_MS - (long)(dp_clock_ms() - start);
		struct pollfd fd = {.fd = PQsocket(b->conn), .events = POLLIN};
		if (left <= 0 || poll(&fd, 1, (int)left) == 0) {
			dp_err_set(err, "a question on a new connection got no answer in %d s either: the"
					" server is hung or overloaded", STORE_BLOCKER_ANSWER_MS / 1000);
			break;
		}
	}
	return NULL;
}

/* Says what the store's backend pid has waited waited_s for. */
static void explain(store_blocker *b, int pid, double waited_s)
{
	dp_err err;

	if (b->conn == NULL && (b->conn = dp_db_connect(b->db_env, BLOCKER_APP, &err)) == NULL) {
		dp_diag("waiting %.0f s for the database, which takes no new connection"
			" either: %s", waited_s, err.msg);
		return;
	}
	PGresult *res = ask(b, pid, &err);
	if (res == NULL) {
		dp_diag("waiting %.0f s for the database: %s", waited_s, err.msg);
		PQfinish(b->conn); /* in an unknown state: the next question gets a new one */
		b->conn = NULL;
		return;
	}
	if (PQntuples(res) == 0)
		dp_diag("waiting %.0f s for the database; no session holds a lock the store needs"
			" (a large write, or a slow server)", waited_s);
	for (int i = 0; i < PQntuples(res); i++)
		dp_diag("waiting %.0f s for a lock held by pid %s (%s, %s, transaction open"
			" %s s: %s); it goes on when that session ends its transaction", waited_s,
			PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
			PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
	PQclear(res);
}

/* Wakes every second to look at the store's wait (dp_stats_waiting_s);
 * explains a long one at STORE_BLOCKER_FIRST_S and every
 * STORE_BLOCKER_AGAIN_S after, and says when an explained wait ended. */
static void *watch(void *arg)
{
	store_blocker *b = arg;
	double next_s = STORE_BLOCKER_FIRST_S, last_s = 0;
	int explained = 0;

	pthread_mutex_lock(&b->lock);
	while (!b->stopping) {
		struct timespec until = dp_deadline_ms(1000);
		pthread_cond_timedwait(&b->wake, &b->lock, &until);
		double waited_s = dp_stats_waiting_s();
		if (waited_s < last_s || waited_s == 0) { /* the wait ended (and another may have begun) */
			if (explained)
				dp_diag("the database answered after %.0f s", last_s);
			explained = 0;
			next_s = STORE_BLOCKER_FIRST_S;
		}
		last_s = waited_s;
		if (b->stopping || waited_s < next_s || b->pid == 0)
			continue;
		int pid = b->pid;
		pthread_mutex_unlock(&b->lock);
		explain(b, pid, waited_s);
		pthread_mutex_lock(&b->lock);
		explained = 1;
		next_s = waited_s + STORE_BLOCKER_AGAIN_S;
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

store_blocker *store_blocker_start(const char *db_env, dp_err *err)
{
	store_blocker *b = calloc(1, sizeof *b);

	if (b == NULL) {
		dp_err_set(err, "out of memory");
		return NULL;
	}
	b->db_env = db_env;
	pthread_mutex_init(&b->lock, NULL);
	dp_cond_init(&b->wake);
	if (pthread_create(&b->thread, NULL, watch, b) != 0) {
		pthread_cond_destroy(&b->wake);
		pthread_mutex_destroy(&b->lock);
		free(b);
		dp_err_set(err, "cannot start the database watch thread");
		return NULL;
	}
	return b;
}

void store_blocker_backend(store_blocker *b, int pid)
{
	if (b == NULL)
		return;
	pthread_mutex_lock(&b->lock);
	b->pid = pid;
	pthread_mutex_unlock(&b->lock);
}

void store_blocker_stop(store_blocker **bp)
{
	store_blocker *b = *bp;

	if (b == NULL)
		return;
	pthread_mutex_lock(&b->lock);
	b->stopping = 1;
	pthread_cond_signal(&b->wake);
	pthread_mutex_unlock(&b->lock);
	pthread_join(b->thread, NULL);
	PQfinish(b->conn);
	pthread_cond_destroy(&b->wake);
	pthread_mutex_destroy(&b->lock);
	free(b);
	*bp = NULL;
}
