#include "reuse.h"

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

struct dp_reuse {
	PGconn *db;
	pthread_mutex_t lock;
	double reconnect_ms; /* under lock: the last attempt */
	atomic_long failed;  /* lookups and saves failed since the last success */
};

static const char schema[] =
	"CREATE SCHEMA IF NOT EXISTS docpipe;"
	"CREATE TABLE IF NOT EXISTS docpipe.embedding_cache ("
	" key text PRIMARY KEY, identity text NOT NULL, value text NOT NULL,"
	" created_at timestamptz NOT NULL DEFAULT now());"
	"CREATE TABLE IF NOT EXISTS docpipe.summary_cache ("
	" key text PRIMARY KEY, identity text NOT NULL, value text NOT NULL,"
	" created_at timestamptz NOT NULL DEFAULT now());";

/* How long a lookup or save waits for a lock (LOCK TABLE, VACUUM FULL, an
 * ALTER on a cache table) and runs at most: the cache serves every request
 * of the stage under one lock, so a cache that cannot answer must count as
 * a miss (the request is made, and said once) rather than hold the stage
 * up for as long as the lock lasts. */
#define REUSE_SESSION_SETTINGS "SET lock_timeout = '2s'; SET statement_timeout = '60s'"

/* Runs sql under the lock.  On a connection found lost (a database
 * restart) it is made again and sql tried once more: otherwise every later
 * lookup of a long run would miss (its requests paid again) and no result
 * would be kept.  Returns the result, or NULL with err. */
static PGresult *reuse_query(dp_reuse *r, const char *sql, int nparams, const char *const *params,
			     dp_err *err)
{
	pthread_mutex_lock(&r->lock);
	PGresult *res = dp_db_query(r->db, sql, nparams, params, err);
	if (res == NULL && dp_db_lost(r->db) && dp_clock_ms() - r->reconnect_ms >= REUSE_RECONNECT_MS) {
		r->reconnect_ms = dp_clock_ms();
		if (dp_db_reset(r->db, err) == 0 && dp_db_exec(r->db, REUSE_SESSION_SETTINGS, err) == 0)
			res = dp_db_query(r->db, sql, nparams, params, err);
	}
	pthread_mutex_unlock(&r->lock);
	return res;
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
static const char *const insert_sql[2][2] = {
	{"INSERT INTO docpipe.embedding_cache (key, identity, value)"
	 " SELECT k, $3, v FROM unnest($1::text[], $2::text[]) AS u(k, v)"
	 " ON CONFLICT (key) DO NOTHING",
	 "INSERT INTO docpipe.embedding_cache (key, identity, value)"
	 " SELECT k, $3, v FROM unnest($1::text[], $2::text[]) AS u(k, v)"
	 " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, identity = EXCLUDED.identity,"
	 " created_at = now()"},
	{"INSERT INTO docpipe.summary_cache (key, identity, value)"
	 " SELECT k, $3, v FROM unnest($1::text[], $2::text[]) AS u(k, v)"
	 " ON CONFLICT (key) DO NOTHING",
	 "INSERT INTO docpipe.summary_cache (key, identity, value)"
	 " SELECT k, $3, v FROM unnest($1::text[], $2::text[]) AS u(k, v)"
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

dp_reuse *dp_reuse_open(const char *app, dp_err *err)
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
	if (dp_db_begin_locked(r->db, DP_REUSE_SCHEMA_LOCK, err) < 0 ||
	    dp_db_exec(r->db, schema, err) < 0 || dp_db_exec(r->db, "COMMIT", err) < 0 ||
	    dp_db_exec(r->db, REUSE_SESSION_SETTINGS, err) < 0) {
		dp_db_rollback(r->db);
		PQfinish(r->db);
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

int dp_reuse_corpus_embedder(dp_reuse *r, char *embedder, size_t len, int *dim, dp_err *err)
{
	int rc = -1;

	pthread_mutex_lock(&r->lock);
	/* Two statements: the second does not parse before the first store
	 * made the table. */
	PGresult *res = dp_db_query(r->db, "SELECT to_regclass('docpipe.settings') IS NOT NULL", 0, NULL, err);
	if (res != NULL) {
		rc = PQgetvalue(res, 0, 0)[0] == 't' ? 1 : 0;
		PQclear(res);
	}
	if (rc == 1) {
		res = dp_db_query(r->db,
				  "SELECT e.value, d.value FROM docpipe.settings e, docpipe.settings d"
				  " WHERE e.key = 'embedder' AND d.key = 'dim'", 0, NULL, err);
		rc = res == NULL ? -1 : PQntuples(res) == 1;
		if (rc == 1) {
			snprintf(embedder, len, "%s", PQgetvalue(res, 0, 0));
			*dim = atoi(PQgetvalue(res, 0, 1));
		}
		PQclear(res);
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

long dp_reuse_outcome(dp_reuse *r, int rc)
{
	if (rc < 0)
		return atomic_fetch_add(&r->failed, 1) == 0 ? -1 : 0;
	return atomic_exchange(&r->failed, 0);
}

void dp_reuse_close(dp_reuse **r)
{
	if (*r == NULL)
		return;
	PQfinish((*r)->db);
	pthread_mutex_destroy(&(*r)->lock);
	free(*r);
	*r = NULL;
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

/* dp_reuse_put and dp_reuse_drop: sql with the arrays of keys[i] and
 * values[i] (the string values without a NUL) and extra as $3 (NULL:
 * none).  Returns 0 (also when no value is left), or -1 with err. */
static int write_rows(dp_reuse *r, const char *sql, const char *extra,
		      const char (*keys)[DP_HASH_HEX], const jv *values, size_t n, dp_err *err)
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
		/* PostgreSQL text cannot hold a NUL (it would end the array
		 * literal and fail the whole batch): that one is skipped. */
		if (memchr(v[m], '\0', vl[m]) != NULL)
			continue;
		m++;
	}
	if (m == 0) {
		rc = 0;
		goto done;
	}
	char *ka = array_literal(k, kl, m), *va = array_literal(v, vl, m);
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
done:
	free(k);
	free(v);
	free(kl);
	free(vl);
	return rc;
}

int dp_reuse_put(dp_reuse *r, enum dp_reuse_table t, const char *identity,
		 const char (*keys)[DP_HASH_HEX], const jv *values, size_t n, int overwrite,
		 dp_err *err)
{
	return write_rows(r, insert_sql[t][overwrite != 0], identity, keys, values, n, err);
}

int dp_reuse_drop(dp_reuse *r, enum dp_reuse_table t, const char (*keys)[DP_HASH_HEX],
		  const jv *values, size_t n, dp_err *err)
{
	return write_rows(r, drop_sql[t], NULL, keys, values, n, err);
}
