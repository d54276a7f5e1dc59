#include "blocker.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
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

/* The store's backend waits with no session holding a lock it needs: says
 * what the server says it waits on.  A COMMIT held by synchronous
 * replication to a standby that is not there (synchronous_standby_names
 * set, the standby down) was "a large write, or a slow server" (fault
 * sweep 19): the operator looked at the wrong thing. */
static void explain_unlocked(store_blocker *b, int pid, double waited_s)
{
	char pid_text[16];
	const char *params[1] = {pid_text};
	dp_err err;

	snprintf(pid_text, sizeof pid_text, "%d", pid);
	PGresult *res = dp_db_query(b->conn,
				    "SELECT coalesce(wait_event_type, ''), coalesce(wait_event, ''),"
				    " current_setting('synchronous_standby_names')"
				    " FROM pg_stat_activity WHERE pid = $1::int",
				    1, params, &err);
	const char *type = res != NULL && PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "";
	const char *event = res != NULL && PQntuples(res) == 1 ? PQgetvalue(res, 0, 1) : "";
	if (strcmp(event, "SyncRep") == 0)
		dp_diag("waiting %.0f s for the database: its COMMIT waits for a synchronous standby"
			" (synchronous_standby_names = '%s'), which has not confirmed it: is the"
			" standby down? it goes on when one confirms or the setting is emptied",
			waited_s, PQgetvalue(res, 0, 2));
	else if (type[0] != '\0')
		dp_diag("waiting %.0f s for the database; no session holds a lock the store needs"
			" (the server says it waits on %s/%s)", waited_s, type, event);
	else
		dp_diag("waiting %.0f s for the database; no session holds a lock the store needs"
			" (a large write, or a slow server)", waited_s);
	PQclear(res);
}

/* Says what the store's backend pid has waited waited_s for. */
static void explain(store_blocker *b, int pid, double waited_s)
{
	char who[DP_ERR_MAX];
	dp_err err;

	if (b->conn == NULL && (b->conn = dp_db_connect(b->db_env, BLOCKER_APP, &err)) == NULL) {
		dp_diag("waiting %.0f s for the database, which takes no new connection"
			" either: %s", waited_s, err.msg);
		return;
	}
	PGresult *res = dp_db_blockers(b->conn, pid, DP_DB_BLOCKERS_ANSWER_MS, &err);
	if (res == NULL) {
		dp_diag("waiting %.0f s for the database: %s", waited_s, err.msg);
		PQfinish(b->conn); /* in an unknown state: the next question gets a new one */
		b->conn = NULL;
		return;
	}
	if (PQntuples(res) == 0)
		explain_unlocked(b, pid, waited_s);
	for (int i = 0; i < PQntuples(res); i++) {
		dp_db_blocker_text(res, i, who, sizeof who);
		dp_diag("waiting %.0f s for a lock held by %s; %s", waited_s, who, dp_db_blocker_until(res, i));
	}
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
