#include "reuse.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "db.h"

/* A lost connection is made again at most this often (a database that
 * stays down costs one attempt per interval, not one per batch). */
#define REUSE_RECONNECT_MS 1000.0

/* A cache with nothing to look up or write for this long gives its
 * connection back, and its next use makes one again: a run's stages live
 * until its end, and their idle cache sessions held slots the stores
 * needed (max_connections 5, two replicas of each stage: nothing stored in
 * 300 s, fault sweep 12).  Longer than the store's park: a model's answer
 * takes seconds, and a cache used about that often keeps its session. */
#define REUSE_PARK_IDLE_MS 5000.0

/* The backlog held while the database is away (an outage, a restart):
 * written when it is back.  Past this many bytes (keys, values and
 * bookkeeping: some 100,000 summaries or 7,000 1536-dimension vectors)
 * new results are dropped, said once, and a later run asks for them
 * again: memory stays bounded however long the outage. */
#define REUSE_BACKLOG_BYTES ((size_t)64 << 20)

/* One INSERT of the write-behind takes at most this many rows or bytes of
 * values: a backlog that grew while the database was away (or while its
 * sessions were cut) goes in several statements, each one's rows done
 * with once it commits.  In one statement the backlog's INSERT grew with
 * every failure (2,368 vectors, ~5 MB) and took longer than the time
 * between two cuts, so it never got in: fault sweep 19, every vector of a
 * run paid again by the next. */
#define REUSE_INSERT_ROWS 256
#define REUSE_INSERT_BYTES ((size_t)1 << 20)

/* Rows an INSERT could not write for a lock (lock_timeout: a VACUUM FULL,
 * a DBA's ALTER or LOCK TABLE on the cache) wait in the backlog and are
 * tried again this much later, as while the database is away.  Dropped,
 * every answer of the lock's time was paid again by the next run (a 15 s
 * lock: 247 of 1,065 chat requests; fault sweep 19).  Not sooner: a lookup
 * writes the rows put before it first, and would wait a lock_timeout. */
#define REUSE_LOCKED_RETRY_MS 5000.0

/* A result waiting to be written: identity, then value, each ending in
 * a NUL, in data. */
struct pending {
	struct pending *next;
	enum dp_reuse_table t;
	int overwrite;
	char key[DP_HASH_HEX];
	size_t value_len;
	char data[];
};

struct dp_reuse {
	PGconn *db;          /* under lock; NULL while parked */
	char app[64];        /* its application_name, to connect again */
	pthread_mutex_t lock;
	double reconnect_ms; /* under lock: the last attempt */
	double used_ms;      /* under lock: the last use of db */
	atomic_long failed;  /* lookups and saves failed since the last success */
	/* The write-behind.  Lock order: flush_lock, lock, queue_lock. */
	pthread_mutex_t flush_lock; /* one flush at a time: a lookup after a
				     * put sees its rows */
	pthread_mutex_t queue_lock;
	pthread_cond_t queue_cond;  /* the flusher: rows to write, or the end */
	pthread_t flusher;
	/* Under queue_lock: */
	struct pending *head, **tail;
	size_t rows, bytes;
	double retry_ms;    /* no flush before: the database is away */
	unsigned long dropped; /* rows dropped past the cap */
	int full_said;      /* the cap was said since the backlog last emptied */
	int closing;
};

static size_t flush(dp_reuse *r);
static void *flusher(void *arg);

static const char schema[] =
	DP_DB_CREATE_SCHEMA ";"
	DP_DB_CREATE_MISSING("docpipe.embedding_cache",
			     "CREATE TABLE IF NOT EXISTS docpipe.embedding_cache ("
			     " key text PRIMARY KEY, identity text NOT NULL, value text NOT NULL,"
			     " created_at timestamptz NOT NULL DEFAULT now())") ";"
	DP_DB_CREATE_MISSING("docpipe.summary_cache",
			     "CREATE TABLE IF NOT EXISTS docpipe.summary_cache ("
			     " key text PRIMARY KEY, identity text NOT NULL, value text NOT NULL,"
			     " created_at timestamptz NOT NULL DEFAULT now())") ";";

/* A role that may not read or add to the caches (a GRANT on the tables
 * that existed before the caches were made) failed every lookup, said once,
 * and paid the model API again on every run: refused at the opening, as a
 * missing CREATE privilege is (42501).  Asked of the catalog: no lock is
 * taken on a table (a VACUUM FULL of a cache holds no start up). */
#define REUSE_USABLE(privileges) \
	"DO $$ DECLARE t text; p text; BEGIN" \
	" FOREACH t IN ARRAY ARRAY['docpipe.embedding_cache', 'docpipe.summary_cache'] LOOP" \
	"  FOREACH p IN ARRAY ARRAY[" privileges "] LOOP" \
	"   IF NOT has_table_privilege(t, p) THEN" \
	"    RAISE insufficient_privilege USING MESSAGE = format('permission denied to %s on table %s', p, t);" \
	"   END IF;" \
	"  END LOOP;" \
	" END LOOP; END $$"
static const char usable_writes[] = REUSE_USABLE("'SELECT', 'INSERT'");
/* docpipe-plan's: a role that may only read the caches (an analyst's,
 * read-only) was refused for want of INSERT. */
static const char usable_reads[] = REUSE_USABLE("'SELECT'");

/* How long a lookup or save waits for a lock (LOCK TABLE, VACUUM FULL, an
 * ALTER on a cache table) and runs at most: the cache serves every request
 * of the stage under one lock, so a cache that cannot answer must count as
 * a miss (the request is made, and said once) rather than hold the stage
 * up for as long as the lock lasts. */
#define REUSE_SESSION_SETTINGS "lock_timeout = '2s'; statement_timeout = '60s'"

/* sql with REUSE_SESSION_SETTINGS: set for the session on a direct
 * connection; pooled (dp_db_pooled), in a transaction of its own, with
 * them as SET LOCAL (two round trips more: nothing beside a model's
 * answer).  Returns the result, or NULL with err. */
static PGresult *settled_query(dp_reuse *r, const char *sql, int nparams, const char *const *params,
			       dp_err *err)
{
	if (!dp_db_pooled())
		return dp_db_query(r->db, sql, nparams, params, err);
	if (dp_db_begin(r->db, REUSE_SESSION_SETTINGS, NULL, err) < 0) {
		dp_db_rollback(r->db);
		return NULL;
	}
	PGresult *res = dp_db_query(r->db, sql, nparams, params, err);
	if (dp_db_end(r->db, res != NULL ? 0 : -1, err) < 0) {
		PQclear(res);
		return NULL;
	}
	return res;
}

/* Under r->lock: the connection for a use now, made again when parked or
 * lost (at most every REUSE_RECONNECT_MS: a database away or with no slot
 * left costs one attempt per interval).  Returns 0, or -1 with err (a
 * lookup misses, rows wait). */
static int unpark(dp_reuse *r, dp_err *err)
{
	r->used_ms = dp_clock_ms();
	if (r->db != NULL)
		return 0;
	if (r->used_ms - r->reconnect_ms < REUSE_RECONNECT_MS) {
		dp_err_set(err, "the result cache has no connection (made again at most every %.0f s)",
			   REUSE_RECONNECT_MS / 1000);
		return -1;
	}
	r->reconnect_ms = r->used_ms;
	if ((r->db = dp_db_connect(NULL, r->app, err)) == NULL)
		return -1;
	if (dp_db_session_set(r->db, REUSE_SESSION_SETTINGS, err) < 0) {
		PQfinish(r->db);
		r->db = NULL;
		return -1;
	}
	return 0;
}

/* Gives the connection back when unused for REUSE_PARK_IDLE_MS. */
static void park_if_idle(dp_reuse *r)
{
	pthread_mutex_lock(&r->lock);
	if (r->db != NULL && dp_clock_ms() - r->used_ms >= REUSE_PARK_IDLE_MS) {
		PQfinish(r->db);
		r->db = NULL;
	}
	pthread_mutex_unlock(&r->lock);
}

/* Runs sql under the lock.  A connection found lost (a database restart)
 * is dropped and made again as a parked one, and sql tried once more:
 * otherwise every later lookup of a long run would miss (its requests paid
 * again) and no result would be kept.  Returns the result, or NULL with
 * err. */
static PGresult *reuse_query(dp_reuse *r, const char *sql, int nparams, const char *const *params,
			     dp_err *err)
{
	pthread_mutex_lock(&r->lock);
	PGresult *res = unpark(r, err) < 0 ? NULL : settled_query(r, sql, nparams, params, err);
	if (res == NULL && r->db != NULL && dp_db_lost(r->db)) {
		PQfinish(r->db);
		r->db = NULL;
		/* Not tried again so soon: err keeps the loss's cause. */
		if (dp_clock_ms() - r->reconnect_ms >= REUSE_RECONNECT_MS && unpark(r, err) == 0)
			res = settled_query(r, sql, nparams, params, err);
	}
	pthread_mutex_unlock(&r->lock);
	return res;
}

/* Counts how the cache fares after a lookup or save that returned rc, for
 * diagnostics said once per outage: -1 for a failure that is the first
 * since the cache last worked, N > 0 for the first success after N
 * failures, 0 otherwise. */
static long outcome(dp_reuse *r, int rc)
{
	if (rc < 0)
		return atomic_fetch_add(&r->failed, 1) == 0 ? -1 : 0;
	return atomic_exchange(&r->failed, 0);
}

void dp_reuse_note(dp_reuse *r, int rc, const char *what, const dp_err *err)
{
	long n = outcome(r, rc);

	if (n < 0)
		dp_diag("%s: %s (said once until the result cache works again)", what, err->msg);
	else if (n > 0)
		dp_diag("the result cache works again (%ld lookups or saves failed meanwhile)", n);
}

/* The statements, per table; table names are constants, never input. */
static const char *const select_sql[] = {
	"SELECT key, value FROM docpipe.embedding_cache WHERE key = ANY($1::text[])",
	"SELECT key, value FROM docpipe.summary_cache WHERE key = ANY($1::text[])",
};
static const char *const drop_sql[] = {
	"DELETE FROM docpipe.embedding_cache c USING unnest($1::text[], $2::text[]) AS u(k, v)"
	" WHERE c.key = u.k AND c.value = u.v",
	"DELETE FROM docpipe.summary_cache c USING unnest($1::text[], $2::text[]) AS u(k, v)"
	" WHERE c.key = u.k AND c.value = u.v",
};
/* Rows go in by key: replicas writing the same keys at once (the same
 * documents, a re-sent copy) then take their locks in one order.  In the
 * order results came, two such statements deadlocked and the one
 * PostgreSQL cancelled dropped its rows, its own keys among them
 * ("could not keep results for reuse: ... deadlock detected"). */
static const char *const insert_sql[2][2] = {
	{"INSERT INTO docpipe.embedding_cache (key, identity, value)"
	 " SELECT k, $3, v FROM unnest($1::text[], $2::text[]) AS u(k, v) ORDER BY k"
	 " ON CONFLICT (key) DO NOTHING",
	 "INSERT INTO docpipe.embedding_cache (key, identity, value)"
	 " SELECT k, $3, v FROM unnest($1::text[], $2::text[]) AS u(k, v) ORDER BY k"
	 " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, identity = EXCLUDED.identity,"
	 " created_at = now()"},
	{"INSERT INTO docpipe.summary_cache (key, identity, value)"
	 " SELECT k, $3, v FROM unnest($1::text[], $2::text[]) AS u(k, v) ORDER BY k"
	 " ON CONFLICT (key) DO NOTHING",
	 "INSERT INTO docpipe.summary_cache (key, identity, value)"
	 " SELECT k, $3, v FROM unnest($1::text[], $2::text[]) AS u(k, v) ORDER BY k"
	 " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, identity = EXCLUDED.identity,"
	 " created_at = now()"},
};

int dp_reuse_configured(void)
{
	static const char *const vars[] = {"DATABASE_URL", "PGDATABASE", "PGHOST", "PGSERVICE"};

	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
		const char *v = getenv(vars[i]);
		if (v != NULL && v[0] != '\0')
			return 1;
	}
	return 0;
}

dp_reuse *dp_reuse_open(const char *app, int writes, dp_err *err)
{
	dp_reuse *r = calloc(1, sizeof *r);

	if (r == NULL) {
		dp_err_set(err, "out of memory");
		return NULL;
	}
	r->db = dp_db_connect(NULL, app, err);
	if (r->db == NULL) {
		free(r);
		return NULL;
	}
	/* Behind a proxy dp_db_connect made the process pooled before
	 * setting anything: each lookup is then a transaction of its own
	 * (settled_query), two round trips more, under session pooling too. */
	int unusable = 0;
	int rc = dp_db_begin_locked(r->db, NULL, DP_DB_UNTIMED, DP_REUSE_SCHEMA_LOCK, err) < 0 ||
		 dp_db_exec(r->db, schema, err) < 0 ||
		 (unusable = dp_db_exec(r->db, writes ? usable_writes : usable_reads, err) < 0) ? -1 : 0;
	if (dp_db_end(r->db, rc, err) < 0 || dp_db_session_set(r->db, REUSE_SESSION_SETTINGS, err) < 0) {
		if (unusable) {
			char why[DP_ERR_MAX];
			snprintf(why, sizeof why, "%s", err->msg);
			dp_err_set(err, "the result cache cannot be used, so every run would pay the model API"
				   " again (GRANT %s ON docpipe.embedding_cache, docpipe.summary_cache to"
				   " the role, or --no-reuse): %s",
				   writes ? "SELECT, INSERT, UPDATE, DELETE" : "SELECT", why);
		}
		PQfinish(r->db);
		free(r);
		return NULL;
	}
	snprintf(r->app, sizeof r->app, "%s", app);
	r->used_ms = dp_clock_ms();
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->flush_lock, NULL);
	pthread_mutex_init(&r->queue_lock, NULL);
	dp_cond_init(&r->queue_cond);
	r->tail = &r->head;
	if (pthread_create(&r->flusher, NULL, flusher, r) != 0) {
		dp_err_set(err, "cannot start the result cache's writer thread");
		pthread_cond_destroy(&r->queue_cond);
		pthread_mutex_destroy(&r->queue_lock);
		pthread_mutex_destroy(&r->flush_lock);
		pthread_mutex_destroy(&r->lock);
		PQfinish(r->db);
		free(r);
		return NULL;
	}
	return r;
}

void dp_reuse_close(dp_reuse **rp)
{
	dp_reuse *r = *rp;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->queue_lock);
	r->closing = 1;
	pthread_cond_signal(&r->queue_cond);
	pthread_mutex_unlock(&r->queue_lock);
	pthread_join(r->flusher, NULL);
	/* The last rows: one more try, a reconnection allowed, and more
	 * while each try writes some (a connection cut once more at the end
	 * does not cost the whole backlog; a database away costs one try). */
	do
		r->reconnect_ms = r->retry_ms = 0;
	while (r->rows > 0 && flush(r) > 0);
	if (r->rows > 0 || r->dropped > 0)
		dp_diag("%zu result(s) not kept for reuse (the database is away)%s: a later run asks"
			" for them again", r->rows + r->dropped,
			r->dropped > 0 ? ", some dropped past the backlog's cap" : "");
	while (r->head != NULL) {
		struct pending *p = r->head;
		r->head = p->next;
		free(p);
	}
	PQfinish(r->db);
	pthread_cond_destroy(&r->queue_cond);
	pthread_mutex_destroy(&r->queue_lock);
	pthread_mutex_destroy(&r->flush_lock);
	pthread_mutex_destroy(&r->lock);
	free(r);
	*rp = NULL;
}

int dp_reuse_corpus_embedder(dp_reuse *r, char *embedder, size_t len, int *dim, dp_err *err)
{
	pthread_mutex_lock(&r->lock);
	int rc = unpark(r, err) < 0 ? -1 : dp_db_corpus_embedder(r->db, embedder, len, dim, err);
	pthread_mutex_unlock(&r->lock);
	return rc;
}


void dp_reuse_key(const char *kind, const char *identity, const char *params,
		  const char *text, size_t len, char out[DP_HASH_HEX])
{
	dp_hasher h;

	dp_hasher_init(&h);
	dp_hasher_add(&h, kind, strlen(kind));
	dp_hasher_add(&h, identity, strlen(identity));
	dp_hasher_add(&h, params, strlen(params));
	dp_hasher_add(&h, text, len);
	dp_hasher_hex(&h, out);
}

/* A PostgreSQL array literal of strings, each quoted with " and \
 * escaped.  Sent as a parameter, never spliced into SQL.  Returns a
 * malloc'd string or NULL. */
static char *array_literal(const char *const *items, const size_t *lens, size_t n)
{
	size_t cap = 3;
	for (size_t i = 0; i < n; i++)
		cap += 2 * lens[i] + 3;
	char *s = malloc(cap), *o = s;
	if (s == NULL)
		return NULL;
	*o++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			*o++ = ',';
		*o++ = '"';
		for (size_t k = 0; k < lens[i]; k++) {
			if (items[i][k] == '"' || items[i][k] == '\\')
				*o++ = '\\';
			*o++ = items[i][k];
		}
		*o++ = '"';
	}
	*o++ = '}';
	*o = '\0';
	return s;
}

static int compare_keys(const void *a, const void *b, void *keys)
{
	const char (*k)[DP_HASH_HEX] = keys;

	return strcmp(k[*(const size_t *)a], k[*(const size_t *)b]);
}

int dp_reuse_get(dp_reuse *r, enum dp_reuse_table t, const char (*keys)[DP_HASH_HEX],
		 size_t n, jv *values, dp_err *err)
{
	const char **items = malloc((n + 1) * sizeof *items);
	size_t *lens = malloc((n + 1) * sizeof *lens);
	char *arr = NULL;
	int found = -1;

	for (size_t i = 0; i < n; i++)
		values[i] = jv_null();
	if (n == 0) {
		free(items);
		free(lens);
		return 0;
	}
	if (items == NULL || lens == NULL)
		goto oom;
	/* The rows put before are written first: a text asked again soon
	 * after (the same chunk in two documents) is not paid twice. */
	pthread_mutex_lock(&r->flush_lock);
	flush(r);
	pthread_mutex_unlock(&r->flush_lock);
	for (size_t i = 0; i < n; i++) {
		items[i] = keys[i];
		lens[i] = DP_HASH_HEX - 1;
	}
	arr = array_literal(items, lens, n);
	if (arr == NULL)
		goto oom;
	const char *params[] = {arr};
	PGresult *res = reuse_query(r, select_sql[t], 1, params, err);
	if (res != NULL) {
		found = 0;
		/* A batch holds the chunks of many documents: sort the request
		 * positions by key once, then find each row's by binary search
		 * (a key may stand at several positions: the same text twice). */
		size_t *order = lens; /* reused: lens is no longer needed */
		for (size_t i = 0; i < n; i++)
			order[i] = i;
		qsort_r(order, n, sizeof *order, compare_keys, (void *)keys);
		for (int row = 0; row < PQntuples(res); row++) {
			const char *k = PQgetvalue(res, row, 0);
			size_t lo = 0, hi = n;
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				if (strcmp(keys[order[mid]], k) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			for (; lo < n && strcmp(keys[order[lo]], k) == 0; lo++) {
				if (jv_get_kind(values[order[lo]]) != JV_KIND_NULL)
					continue;
				values[order[lo]] = jv_string_sized(PQgetvalue(res, row, 1),
								    PQgetlength(res, row, 1));
				found++;
			}
		}
		PQclear(res);
	}
	free(arr);
	free(items);
	free(lens);
	return found;
oom:
	free(items);
	free(lens);
	dp_err_set(err, "out of memory");
	return -1;
}

/* sql with the arrays of k[0..m) and v[0..m) (lengths kl, vl; m > 0)
 * and extra as $3 (NULL: none).  Returns 0, or -1 with err. */
static int send_rows(dp_reuse *r, const char *sql, const char *extra, const char **k,
		     const size_t *kl, const char **v, const size_t *vl, size_t m, dp_err *err)
{
	char *ka = array_literal(k, kl, m), *va = array_literal(v, vl, m);
	int rc = -1;

	if (ka == NULL || va == NULL) {
		dp_err_set(err, "out of memory");
	} else {
		const char *params[] = {ka, va, extra};
		PGresult *res = reuse_query(r, sql, extra != NULL ? 3 : 2, params, err);
		if (res != NULL) {
			PQclear(res);
			rc = 0;
		}
	}
	free(ka);
	free(va);
	return rc;
}

/* Under flush_lock: writes the rows waiting, one INSERT per run of rows
 * of the same table, mode and identity, unless the database was found
 * away (or a table locked) less than REUSE_RECONNECT_MS
 * (REUSE_LOCKED_RETRY_MS) ago; each INSERT takes at most REUSE_INSERT_ROWS
 * rows or REUSE_INSERT_BYTES of values.  Rows the database could not take
 * because it is away or the table locked go back to the front of the
 * queue, for the next flush (the backlog); rows a statement refused
 * otherwise are dropped: retried, they could hold every later row back.
 * Failures are said by dp_reuse_note.  Returns the rows written. */
static size_t flush(dp_reuse *r)
{
	pthread_mutex_lock(&r->queue_lock);
	struct pending *list = dp_clock_ms() >= r->retry_ms ? r->head : NULL;
	size_t rows = 0, bytes = 0, written = 0;
	if (list != NULL) {
		rows = r->rows;
		bytes = r->bytes;
		r->head = NULL;
		r->tail = &r->head;
		r->rows = r->bytes = 0;
	}
	pthread_mutex_unlock(&r->queue_lock);
	while (list != NULL) {
		struct pending *end = list;
		size_t m = 0, mb = 0;
		for (; end != NULL && end->t == list->t && end->overwrite == list->overwrite &&
		       strcmp(end->data, list->data) == 0 &&
		       (m == 0 || (m < REUSE_INSERT_ROWS && mb < REUSE_INSERT_BYTES));
		     end = end->next) {
			m++;
			mb += end->value_len;
		}
		const char **k = malloc(m * sizeof *k), **v = malloc(m * sizeof *v);
		size_t *kl = malloc(m * sizeof *kl), *vl = malloc(m * sizeof *vl);
		dp_err err;
		int rc = -1;
		if (k == NULL || v == NULL || kl == NULL || vl == NULL) {
			dp_err_set(&err, "out of memory");
		} else {
			size_t i = 0;
			for (struct pending *p = list; p != end; p = p->next, i++) {
				k[i] = p->key;
				kl[i] = DP_HASH_HEX - 1;
				v[i] = p->data + strlen(p->data) + 1;
				vl[i] = p->value_len;
			}
			dp_db_forget_sqlstate();
			rc = send_rows(r, insert_sql[list->t][list->overwrite], list->data, k, kl, v, vl,
				       m, &err);
		}
		free(k);
		free(v);
		free(kl);
		free(vl);
		pthread_mutex_lock(&r->lock);
		int locked = rc < 0 && strcmp(dp_db_last_sqlstate(), "55P03") == 0;
		int away = rc < 0 && (PQstatus(r->db) != CONNECTION_OK || locked);
		pthread_mutex_unlock(&r->lock);
		dp_reuse_note(r, rc, "could not keep results for reuse", &err);
		if (away) {
			/* Back to the front, before the rows put meanwhile. */
			struct pending **last = &list;
			while (*last != NULL)
				last = &(*last)->next;
			pthread_mutex_lock(&r->queue_lock);
			*last = r->head;
			if (r->head == NULL)
				r->tail = last;
			r->head = list;
			r->rows += rows;
			r->bytes += bytes;
			r->retry_ms = dp_clock_ms() + (locked ? REUSE_LOCKED_RETRY_MS : REUSE_RECONNECT_MS);
			pthread_mutex_unlock(&r->queue_lock);
			return written;
		}
		if (rc == 0)
			written += m;
		while (list != end) {
			struct pending *p = list;
			list = p->next;
			rows--;
			bytes -= sizeof *p + strlen(p->data) + 1 + p->value_len + 1;
			free(p);
		}
	}
	if (rows == 0) {
		pthread_mutex_lock(&r->queue_lock);
		if (r->head == NULL)
			r->full_said = 0;
		pthread_mutex_unlock(&r->queue_lock);
	}
	return written;
}

/* The write-behind's thread, until dp_reuse_close: a group commit.  It
 * writes a row as soon as it is put, and the rows put while that INSERT
 * ran with the next one: no wait at a low rate, batches as large as the
 * rate times one INSERT's round trip at a high one, and a stop or a kill
 * -9 loses at most the rows of the INSERT under way and those put
 * meanwhile.  While the database is away it tries every
 * REUSE_RECONNECT_MS. */
static void *flusher(void *arg)
{
	dp_reuse *r = arg;

	pthread_mutex_lock(&r->queue_lock);
	while (!r->closing) {
		double now = dp_clock_ms();
		if (r->rows == 0) {
			/* Idle: woken by a row, or to park the connection. */
			struct timespec until = dp_deadline_ms(REUSE_PARK_IDLE_MS);
			if (pthread_cond_timedwait(&r->queue_cond, &r->queue_lock, &until) == ETIMEDOUT &&
			    r->rows == 0 && !r->closing) {
				pthread_mutex_unlock(&r->queue_lock);
				park_if_idle(r);
				pthread_mutex_lock(&r->queue_lock);
			}
		} else if (now < r->retry_ms) {
			struct timespec until = dp_deadline_ms(r->retry_ms - now);
			pthread_cond_timedwait(&r->queue_cond, &r->queue_lock, &until);
		} else {
			pthread_mutex_unlock(&r->queue_lock);
			pthread_mutex_lock(&r->flush_lock);
			flush(r);
			pthread_mutex_unlock(&r->flush_lock);
			pthread_mutex_lock(&r->queue_lock);
		}
	}
	pthread_mutex_unlock(&r->queue_lock);
	return NULL;
}

void dp_reuse_put(dp_reuse *r, enum dp_reuse_table t, const char *identity,
		  const char (*keys)[DP_HASH_HEX], const jv *values, size_t n, int overwrite)
{
	size_t il = strlen(identity);

	for (size_t i = 0; i < n; i++) {
		if (jv_get_kind(values[i]) != JV_KIND_STRING)
			continue;
		const char *v = jv_string_value(values[i]);
		size_t vl = (size_t)jv_string_length_bytes(jv_copy(values[i]));
		/* PostgreSQL text cannot hold a NUL (it would end the array
		 * literal and fail the whole batch): that one is skipped. */
		if (memchr(v, '\0', vl) != NULL)
			continue;
		size_t size = sizeof(struct pending) + il + 1 + vl + 1;
		struct pending *p = malloc(size);
		if (p == NULL) {
			dp_err err;
			dp_err_set(&err, "out of memory");
			dp_reuse_note(r, -1, "could not keep results for reuse", &err);
			continue;
		}
		p->next = NULL;
		p->t = t;
		p->overwrite = overwrite != 0;
		memcpy(p->key, keys[i], DP_HASH_HEX);
		p->value_len = vl;
		memcpy(p->data, identity, il + 1);
		memcpy(p->data + il + 1, v, vl);
		p->data[il + 1 + vl] = '\0';
		pthread_mutex_lock(&r->queue_lock);
		int full = r->bytes + size > REUSE_BACKLOG_BYTES, say = full && !r->full_said;
		if (full) {
			r->dropped++;
			r->full_said = 1;
		} else {
			*r->tail = p;
			r->tail = &p->next;
			r->bytes += size;
			/* The first row wakes the flusher; later ones wait
			 * for its next INSERT. */
			if (r->rows++ == 0)
				pthread_cond_signal(&r->queue_cond);
		}
		pthread_mutex_unlock(&r->queue_lock);
		if (full)
			free(p);
		if (say)
			dp_diag("results waiting for the database fill the backlog (%zu MiB): later"
				" ones are not kept for reuse until it is back, a later run asks for"
				" them again", REUSE_BACKLOG_BYTES >> 20);
	}
}

int dp_reuse_drop(dp_reuse *r, enum dp_reuse_table t, const char (*keys)[DP_HASH_HEX],
		  const jv *values, size_t n, dp_err *err)
{
	const char **k = malloc((n + 1) * sizeof *k), **v = malloc((n + 1) * sizeof *v);
	size_t *kl = malloc((n + 1) * sizeof *kl), *vl = malloc((n + 1) * sizeof *vl);
	size_t m = 0;
	int rc = -1;

	if (k == NULL || v == NULL || kl == NULL || vl == NULL) {
		dp_err_set(err, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		if (jv_get_kind(values[i]) != JV_KIND_STRING)
			continue;
		k[m] = keys[i];
		kl[m] = DP_HASH_HEX - 1;
		v[m] = jv_string_value(values[i]);
		vl[m] = (size_t)jv_string_length_bytes(jv_copy(values[i]));
		/* As in dp_reuse_put: a value holding a NUL was never kept. */
		if (memchr(v[m], '\0', vl[m]) != NULL)
			continue;
		m++;
	}
	rc = m == 0 ? 0 : send_rows(r, drop_sql[t], NULL, k, kl, v, vl, m, err);
done:
	free(k);
	free(v);
	free(kl);
	free(vl);
	return rc;
}

/* The in-flight table (dp_flights): chained buckets, doubled to keep at
 * most one entry per bucket on average. */
struct flight {
	struct flight *next;
	char key[DP_HASH_HEX];
	dp_flight_waiter owner;
	int tries;                 /* requests for it that failed */
	dp_flight_waiter *waiters; /* in the order they came */
	size_t nwait, capwait;
};

struct dp_flights {
	struct flight **buckets;
	size_t nbuckets, count;
};

#define FLIGHTS_BUCKETS_MIN 64

dp_flights *dp_flights_new(void)
{
	dp_flights *f = calloc(1, sizeof *f);

	if (f == NULL)
		return NULL;
	f->nbuckets = FLIGHTS_BUCKETS_MIN;
	if ((f->buckets = calloc(f->nbuckets, sizeof *f->buckets)) == NULL) {
		free(f);
		return NULL;
	}
	return f;
}

size_t dp_flights_free(dp_flights **fp, dp_flight_waiter **left)
{
	dp_flights *f = *fp;
	size_t n = 0;

	*left = NULL;
	if (f == NULL)
		return 0;
	for (size_t b = 0; b < f->nbuckets; b++) {
		while (f->buckets[b] != NULL) {
			struct flight *e = f->buckets[b];
			f->buckets[b] = e->next;
			dp_flight_waiter *w = e->nwait == 0 ? NULL : realloc(*left, (n + e->nwait) * sizeof *w);
			if (w != NULL) {
				*left = w;
				memcpy(w + n, e->waiters, e->nwait * sizeof *w);
				n += e->nwait;
			}
			free(e->waiters);
			free(e);
		}
	}
	free(f->buckets);
	free(f);
	*fp = NULL;
	return n;
}

/* The bucket of key: its first 16 hex digits, already uniform. */
static size_t bucket_of(size_t nbuckets, const char key[DP_HASH_HEX])
{
	unsigned long long h = 0;

	for (int k = 0; k < 16 && key[k] != '\0'; k++)
		h = h << 4 | (unsigned long long)(key[k] <= '9' ? key[k] - '0' : (key[k] | 0x20) - 'a' + 10);
	return (size_t)(h % nbuckets);
}

/* The slot holding key's entry (*slot NULL when it has none). */
static struct flight **find(dp_flights *f, const char key[DP_HASH_HEX])
{
	struct flight **p = &f->buckets[bucket_of(f->nbuckets, key)];

	while (*p != NULL && memcmp((*p)->key, key, DP_HASH_HEX) != 0)
		p = &(*p)->next;
	return p;
}

/* Doubles the buckets once entries outnumber them (kept as they are when
 * out of memory: chains only grow longer). */
static void grow(dp_flights *f)
{
	size_t nb = 2 * f->nbuckets;
	struct flight **b = calloc(nb, sizeof *b);

	if (b == NULL)
		return;
	for (size_t k = 0; k < f->nbuckets; k++) {
		while (f->buckets[k] != NULL) {
			struct flight *e = f->buckets[k];
			f->buckets[k] = e->next;
			size_t at = bucket_of(nb, e->key);
			e->next = b[at];
			b[at] = e;
		}
	}
	free(f->buckets);
	f->buckets = b;
	f->nbuckets = nb;
}

int dp_flights_claim(dp_flights *f, const char key[DP_HASH_HEX], void *who, size_t i)
{
	struct flight **slot = find(f, key), *e = *slot;

	if (e != NULL) {
		if (e->nwait == e->capwait) {
			size_t cap = e->capwait > 0 ? 2 * e->capwait : 4;
			dp_flight_waiter *w = realloc(e->waiters, cap * sizeof *w);
			if (w == NULL)
				return -1;
			e->waiters = w;
			e->capwait = cap;
		}
		e->waiters[e->nwait++] = (dp_flight_waiter){who, i};
		return 0;
	}
	if ((e = calloc(1, sizeof *e)) == NULL)
		return -1;
	memcpy(e->key, key, DP_HASH_HEX);
	e->owner = (dp_flight_waiter){who, i};
	*slot = e;
	if (++f->count > f->nbuckets)
		grow(f);
	return 1;
}

/* key's entry when (who, i) owns it, else NULL (and *slot unset). */
static struct flight *owned(dp_flights *f, const char key[DP_HASH_HEX], const void *who, size_t i,
			    struct flight ***slot)
{
	struct flight **p = find(f, key);

	if (*p == NULL || (*p)->owner.who != who || (*p)->owner.i != i)
		return NULL;
	*slot = p;
	return *p;
}

size_t dp_flights_settle(dp_flights *f, const char key[DP_HASH_HEX], const void *who, size_t i,
			 dp_flight_waiter **waiters)
{
	struct flight **slot, *e = owned(f, key, who, i, &slot);
	size_t n;

	*waiters = NULL;
	if (e == NULL)
		return 0;
	*slot = e->next;
	f->count--;
	*waiters = e->waiters;
	n = e->nwait;
	free(e);
	return n;
}

int dp_flights_hand_over(dp_flights *f, const char key[DP_HASH_HEX], const void *who, size_t i,
			 int asked, dp_flight_waiter *heir)
{
	struct flight **slot, *e = owned(f, key, who, i, &slot);

	if (e == NULL || e->nwait == 0 || (e->tries += asked != 0) >= DP_FLIGHT_TRIES)
		return 0;
	*heir = e->owner = e->waiters[0];
	memmove(e->waiters, e->waiters + 1, --e->nwait * sizeof *e->waiters);
	return 1;
}
