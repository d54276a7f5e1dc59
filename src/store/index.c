/* The corpus's vector index: which one it gets (by method, vector type
 * and dimension), and bulk loads that drop it and build it once at the end.
 *
 * State in docpipe.settings (the contract with docpipe-query, see
 * docpipe-store(1)): vector_index says what the index is, index_state is
 * "building" while a bulk load has it dropped (queries then scan exactly,
 * which they do anyway without the index).  The store that dropped it
 * holds the session advisory lock STORE_BULK_KEY; if it dies, the lock
 * goes with its session and the next store rebuilds the index at start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "store.h"

/* pgvector 0.8's HNSW and IVFFlat index vector up to 2,000 dimensions,
 * halfvec up to 4,000. */
#define HNSW_MAX_VECTOR 2000
#define HNSW_MAX_HALFVEC 4000

/* Both index names: a bulk load or a change of method drops either. */
#define DROP_INDEXES "DROP INDEX IF EXISTS docpipe.chunks_embedding_hnsw, docpipe.chunks_embedding_ivfflat"

/* IVFFlat lists for a table of rows rows: pgvector's advice, rows / 1000
 * up to a million rows and sqrt(rows) beyond, at least 1 (one list: every
 * query scans all rows, exactly) and at most pgvector's 32,768. */
static int ivfflat_lists(long long rows)
{
	long long l = rows / 1000;

	if (rows > 1000000)
		for (l = 1000; (l + 1) * (l + 1) <= rows; l++)
			;
	return l < 1 ? 1 : l > 32768 ? 32768 : (int)l;
}

/* The probes docpipe-query sets for lists lists (settings ivfflat_probes):
 * three times sqrt(lists) rounded up, at most lists.  On real text with
 * near-duplicates at 100k chunks (101 lists), recall@10 varies with the
 * k-means sample of the build: pgvector's advice, sqrt(lists) (11
 * probes), gave 92%; twice that 94.0-98%; 30 probes 96.4-97.1% in 32-47
 * ms a query (docs/PERFORMANCE.md, "pgvector (issue 10)").  docpipe-query
 * raises work_mem for IVFFlat so these candidates sort in memory. */
static int ivfflat_probes(int lists)
{
	int p = 1;

	while (p * p < lists)
		p++;
	return 3 * p < lists ? 3 * p : lists;
}

/* The bulk rule: a run drops the index once the chunks it writes reach
 * BULK_RATIO_PCT % of the table's size at the start, and at least
 * BULK_MIN_CHUNKS.  HNSW: inserting 1,000 chunks into an indexed table of
 * 100k took 2.9 CPU-s (3-3.6 s), rebuilding it ~40 CPU-s (~20 s on 2
 * cores): the crossover lies between 6% (wall) and 14% (CPU), measured
 * earlier at 5-13% under load (docs/PERFORMANCE.md, "pgvector (issue
 * 10)"); 10% also keeps the index (queries fast) through loads that gain
 * little by dropping it.  IVFFlat inserts cost ~0.1 ms a row and its
 * build seconds: dropping it costs little and buys lists sized for the
 * new table.  Below BULK_MIN_CHUNKS either way takes seconds at most. */
#define BULK_RATIO_PCT 10
#define BULK_MIN_CHUNKS 1000

static const char *index_kind(const store *s)
{
	if (s->vtype == STORE_VT_REAL || s->dim > HNSW_MAX_HALFVEC)
		return "none";
	int half = s->vtype == STORE_VT_VECTOR && s->dim > HNSW_MAX_VECTOR;
	if (s->imethod == STORE_IX_IVFFLAT)
		return half ? "ivfflat-halfvec" : "ivfflat";
	return half ? "hnsw-halfvec" : "hnsw";
}

int store_settings_set(store *s, const char *key, const char *value, dp_err *err)
{
	const char *params[] = {key, value};
	PGresult *res = dp_db_query(s->db,
		"INSERT INTO docpipe.settings (key, value) VALUES ($1, $2)"
		" ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", 2, params, err);

	PQclear(res);
	return res == NULL ? -1 : 0;
}

/* 1 when this session got the bulk lock (it may already hold it: session
 * advisory locks nest; store_index_settle releases them all), 0 when
 * another session holds it, -1 with err. */
static int try_bulk_lock(store *s, dp_err *err)
{
	char key[32];
	const char *params[] = {key};

	snprintf(key, sizeof key, "%lld", STORE_BULK_KEY);
	PGresult *res = dp_db_query(s->db, "SELECT pg_try_advisory_lock($1::bigint)", 1, params, err);
	if (res == NULL)
		return -1;
	int got = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return got;
}

/* SET LOCAL for a build over rows rows: maintenance_work_mem large enough
 * for the whole build, at most a quarter of this machine's memory (the
 * store usually runs next to its server), and one parallel worker per core
 * besides the leader (which builds too).  HNSW builds several times faster
 * when the graph fits: a row takes its value and ~1 KB of neighbour lists,
 * each rounded up to a power of two by the allocator, counted as twice
 * the value plus 2 KB, plus a quarter (memory is only taken as the graph
 * grows).  IVFFlat's k-means holds a sample of 50 rows per list. */
static int size_build(store *s, long long rows, int lists, dp_err *err)
{
	long long elem = strcmp(index_kind(s), "hnsw") == 0 && s->vtype == STORE_VT_VECTOR ? 4 : 2;
	long long mb = s->imethod == STORE_IX_IVFFLAT
			       ? 64 + (long long)lists * 50 * (4 * (long long)s->dim + 64) * 2 / (1 << 20)
			       : rows * (2 * (long long)s->dim * elem + 2048) * 5 / 4 / (1 << 20) + 1;
	long long cap = (long long)sysconf(_SC_PHYS_PAGES) / 4 * sysconf(_SC_PAGESIZE) / (1 << 20);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	char sql[160];

	if (mb < 64)
		mb = 64;
	if (cap >= 64 && mb > cap)
		mb = cap;
	snprintf(sql, sizeof sql, "SET LOCAL maintenance_work_mem = '%lldMB'", mb);
	if (dp_db_exec(s->db, sql, err) < 0)
		return -1;
	snprintf(sql, sizeof sql, "SET LOCAL max_parallel_maintenance_workers = %ld",
		 cores > 1 ? (cores - 1 < 8 ? cores - 1 : 8) : 0);
	return dp_db_exec(s->db, sql, err);
}

/* The CREATE INDEX of kind (not "none") into sql; lists for IVFFlat.  dim
 * is an int we checked, the rest our own text: no input. */
static void create_sql(const store *s, const char *kind, int lists, char *sql, size_t size)
{
	int ivf = strncmp(kind, "ivfflat", 7) == 0;
	const char *method = ivf ? "ivfflat" : "hnsw";
	char col[64], with[48];

	if (strstr(kind, "-halfvec") != NULL)
		snprintf(col, sizeof col, "(embedding::halfvec(%d)) halfvec_cosine_ops", s->dim);
	else
		snprintf(col, sizeof col, "embedding %s_cosine_ops", store_vector_type_name(s->vtype));
	if (ivf)
		snprintf(with, sizeof with, "lists = %d", lists);
	else
		snprintf(with, sizeof with, "ef_construction = %d", s->ef_construction);
	snprintf(sql, size, "CREATE INDEX IF NOT EXISTS chunks_embedding_%s ON docpipe.chunks"
		 " USING %s (%s) WITH (%s)", method, method, col, with);
}

/* Records an IVFFlat index's lists and the probes queries use. */
static int record_lists(store *s, int lists, dp_err *err)
{
	char l[16], p[16];

	snprintf(l, sizeof l, "%d", lists);
	snprintf(p, sizeof p, "%d", ivfflat_probes(lists));
	if (store_settings_set(s, "ivfflat_lists", l, err) < 0 ||
	    store_settings_set(s, "ivfflat_probes", p, err) < 0)
		return -1;
	s->ivfflat_lists = lists;
	return 0;
}

/* Says once which index the corpus has (a new choice). */
static void announce(const store *s, const char *kind)
{
	const char *method = strncmp(kind, "ivfflat", 7) == 0 ? "IVFFlat" : "HNSW";

	if (strcmp(kind, "none") == 0 && s->vtype != STORE_VT_REAL)
		dp_diag("notice: no vector index for %d dimensions (pgvector indexes at most %d):"
			" queries compare every vector exactly", s->dim, HNSW_MAX_HALFVEC);
	else if (strstr(kind, "-halfvec") != NULL)
		dp_diag("index: %s on embedding::halfvec(%d) (pgvector indexes vector up to"
			" %d dimensions, halfvec up to %d)", method, s->dim, HNSW_MAX_VECTOR, HNSW_MAX_HALFVEC);
	else if (strcmp(kind, "none") != 0)
		dp_diag("index: %s on embedding (%s_cosine_ops)", method, store_vector_type_name(s->vtype));
}

int store_index_create(store *s, long long rows, dp_err *err)
{
	const char *kind = index_kind(s);
	int lists = ivfflat_lists(rows);
	char sql[256];

	if (strcmp(kind, "none") != 0) {
		create_sql(s, kind, lists, sql, sizeof sql);
		if ((rows > 0 && size_build(s, rows, lists, err) < 0) || dp_db_exec(s->db, sql, err) < 0)
			return -1;
		if (s->imethod == STORE_IX_IVFFLAT && record_lists(s, lists, err) < 0)
			return -1;
	}
	if (store_settings_set(s, "vector_index", kind, err) < 0)
		return -1;
	if (strcmp(s->vector_index, kind) != 0) {
		announce(s, kind);
		snprintf(s->vector_index, sizeof s->vector_index, "%s", kind);
	}
	return 0;
}

/* The settings spelling of a method (index_method). */
static const char *method_name(enum store_index_method m)
{
	return m == STORE_IX_IVFFLAT ? "ivfflat" : "hnsw";
}

int store_index_switch(store *s, dp_err *err)
{
	char ef[16];

	snprintf(ef, sizeof ef, "%d", s->opt.ef_construction);
	if (s->opt.ef_construction > 0) {
		if (store_settings_set(s, "hnsw_ef_construction", ef, err) < 0)
			return -1;
		s->ef_construction = s->opt.ef_construction;
	}
	if (s->opt.index_method != STORE_IX_CORPUS) {
		if (store_settings_set(s, "index_method", method_name(s->opt.index_method), err) < 0)
			return -1;
		s->imethod = s->opt.index_method;
	}
	const char *kind = index_kind(s);
	if (s->vector_index[0] == '\0' || s->dim <= 0 || strcmp(s->vector_index, kind) == 0 ||
	    strcmp(kind, "none") == 0)
		return 0;
	/* Said when it is built or left to a loading store (store_index_settle). */
	if (dp_db_exec(s->db, DROP_INDEXES, err) < 0 || store_settings_set(s, "index_state", "building", err) < 0)
		return -1;
	if (s->opt.index_method != STORE_IX_CORPUS)
		snprintf(s->switch_from, sizeof s->switch_from, "%s", s->vector_index);
	return 0;
}

/* The table's rows: counted when the planner's estimate (the density of
 * the last VACUUM, ANALYZE or CREATE INDEX times today's pages; reltuples
 * alone lags behind runs too small to trigger autovacuum) is below
 * EXACT_COUNT_ROWS or there is none.  The estimate runs high when
 * writers contending for the relation's extension left empty pages
 * (1,200 rows taken for 1,400+, so a 1,800-row table got 2 IVFFlat
 * lists); the count of 20,000 rows costs ~17 ms once a run (100k rows,
 * 195 MB: 85 ms), where the decisions it makes (BULK_MIN_CHUNKS, lists
 * 1..20) turn on a few hundred rows. */
#define EXACT_COUNT_ROWS 20000
static long long table_rows(store *s, dp_err *err)
{
	char exact_below[24];
	const char *params[] = {exact_below};

	snprintf(exact_below, sizeof exact_below, "%d", EXACT_COUNT_ROWS);
	PGresult *res = dp_db_query(s->db,
		"SELECT CASE WHEN estimate >= $1::bigint THEN estimate"
		" ELSE (SELECT count(*) FROM docpipe.chunks) END"
		" FROM (SELECT CASE WHEN reltuples >= 0 AND relpages > 0 THEN (reltuples / relpages"
		" * (pg_relation_size(oid) / current_setting('block_size')::int))::bigint ELSE -1 END AS estimate"
		" FROM pg_class WHERE oid = 'docpipe.chunks'::regclass) t", 1, params, err);

	if (res == NULL)
		return -1;
	long long n = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n;
}

/* Chunks of the batch's documents that are not unchanged. */
static long long changed_chunks(store *s, store_item *items, size_t n, dp_err *err)
{
	store_item **all = malloc((n > 0 ? n : 1) * sizeof *all);
	long long changed = 0;

	if (all == NULL) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		all[i] = &items[i];
	int rc = store_find_unchanged(s, all, n, err);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && items[i].kind == STORE_ITEM_DOCUMENT && items[i].status == NULL)
			changed += (long long)items[i].doc.nchunks;
		store_item_reset(&items[i]);
	}
	free(all);
	return rc < 0 ? -1 : changed;
}

/* Drops the index and sets the marker, holding the bulk lock.  Returns 0
 * (s->bulk tells whether it happened) or -1 with err when the database is
 * gone. */
static int begin_bulk(store *s, long long chunks, dp_err *err)
{
	int got = try_bulk_lock(s, err);

	if (got <= 0) /* another store is bulk loading: the index is its to build */
		return got < 0 && dp_db_lost(s->db) ? -1 : 0;
	int rc = dp_db_begin(s->db, STORE_SESSION_SETTINGS, DP_DB_UNTIMED, err) < 0 ||
		 dp_db_exec(s->db, DROP_INDEXES, err) < 0 ||
		 store_settings_set(s, "index_state", "building", err) < 0 ? -1 : 0;
	if (dp_db_end(s->db, rc, err) < 0) {
		if (dp_db_lost(s->db))
			return -1;
		dp_diag("bulk load not started, writing into the index: %s", err->msg);
		PQclear(PQexec(s->db, "SELECT pg_advisory_unlock_all()"));
		return 0;
	}
	s->bulk = 1;
	if (!s->opt.quiet)
		dp_diag("bulk load: %lld changed chunks so far into a table of %lld; the vector index"
			" is dropped and built once at the end", chunks, s->rows0);
	return 0;
}

int store_index_plan(store *s, store_item *items, size_t n, dp_err *err)
{
	long long pending = 0;

	/* Pooled (dp_db_pooled), no bulk load: its lock, the mark of a live
	 * loader, is a session's, which a pool's server session would keep
	 * after the store ended (the index never built again). */
	if (s->bulk || s->opt.bulk == STORE_BULK_NEVER || s->vtype == STORE_VT_REAL ||
	    s->dim > HNSW_MAX_HALFVEC || dp_db_pooled())
		return 0;
	for (size_t i = 0; i < n; i++)
		if (items[i].kind == STORE_ITEM_DOCUMENT)
			pending += (long long)items[i].doc.nchunks;
	if (pending == 0)
		return 0;
	if (s->rows0 < 0 && (s->rows0 = table_rows(s, err)) < 0)
		return dp_db_lost(s->db) ? -1 : 0;
	long long threshold = s->rows0 * BULK_RATIO_PCT / 100;
	if (threshold < BULK_MIN_CHUNKS)
		threshold = BULK_MIN_CHUNKS;
	/* An IVFFlat index whose table doubled since its lists were chosen is
	 * rebuilt (seconds) with lists for the new size. */
	if (s->opt.bulk == STORE_BULK_ALWAYS ||
	    (s->imethod == STORE_IX_IVFFLAT &&
	     ivfflat_lists(s->rows0 + s->written + pending) >= 2 * (s->ivfflat_lists > 0 ? s->ivfflat_lists : 1)))
		threshold = 1;
	if (s->written + pending < threshold)
		return 0;
	long long changed = changed_chunks(s, items, n, err);
	if (changed < 0)
		return dp_db_lost(s->db) ? -1 : 0;
	if (s->written + changed < threshold)
		return 0;
	return begin_bulk(s, s->written + changed, err);
}

void store_index_count(store *s, const store_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (items[i].status != NULL && strcmp(items[i].status, "stored") == 0 && items[i].chunks > 0)
			s->written += items[i].chunks;
}

/* Builds the index and clears the marker in one transaction: a build cut
 * short leaves the marker for the next run.  The transaction first takes
 * STORE_LOCK_KEY and reads the settings again: the method and
 * ef_construction built are the ones recorded last (a store's
 * --vector-index recorded while another one bulk-loads is built by that
 * one at its end), and a switch recorded after this read waits for the
 * build's end, then finds the index there to replace.  Pooled, the
 * transaction holds the bulk lock instead of the session (a loader's
 * session lock keeps it from being taken); when another session holds
 * it, nothing is built (its holder builds).  A bulk load of this store's
 * own, begun before the pooler was found out (dp_db_pooled_found), holds
 * it on a server session of the pool, which keeps it: that load is built
 * without it.  Returns 1 when it built, 0 when there was nothing to build
 * or it is another store's, -1 with err. */
static int build(store *s, dp_err *err)
{
	long long rows = table_rows(s, err);
	char key[32];
	const char *params[] = {key};
	PGresult *res = NULL;
	dp_db_settings set;

	snprintf(key, sizeof key, "%lld", STORE_BULK_KEY);
	if (rows < 0 || dp_db_begin_locked(s->db, STORE_SESSION_SETTINGS, DP_DB_UNTIMED, STORE_LOCK_KEY, err) < 0)
		return -1;
	if (dp_db_pooled() && !s->bulk &&
	    ((res = dp_db_query(s->db, "SELECT pg_try_advisory_xact_lock($1::bigint)", 1, params, err)) == NULL ||
	     PQgetvalue(res, 0, 0)[0] != 't')) {
		dp_db_rollback(s->db);
		PQclear(res);
		return res == NULL ? -1 : 0;
	}
	PQclear(res);
	if (store_settings_load(s, &set, err) < 0) {
		dp_db_rollback(s->db);
		return -1;
	}
	if (strcmp(set.index_state, "building") != 0) { /* built since we looked */
		dp_db_rollback(s->db);
		return 0;
	}
	const char *kind = index_kind(s);
	if (s->dim > 0 && s->vector_index[0] != '\0' && strcmp(s->vector_index, kind) != 0)
		dp_diag("index: %s replaces %s; building it%s", kind, s->vector_index,
			s->switch_from[0] != '\0' ? "" : " (the method another store's --vector-index recorded)");
	else if (!s->bulk)
		dp_diag("repairing the vector index: a bulk load ended before building it");
	int rc = (s->dim > 0 && store_index_create(s, rows, err) < 0) ||
		 store_settings_set(s, "index_state", "ready", err) < 0 ? -1 : 0;
	if (dp_db_end(s->db, rc, err) < 0)
		return -1;
	s->switch_from[0] = '\0'; /* said above */
	return 1;
}

/* One look at the marker: builds when it says building and the bulk lock
 * is free (pooled: build's), then ANALYZE and the bulk lock released.
 * Returns build's result, 0 when another store holds the lock. */
static int settle_once(store *s, dp_err *err)
{
	dp_db_settings set;

	if (store_settings_load(s, &set, err) < 0)
		return -1;
	if (strcmp(set.index_state, "building") != 0) {
		s->bulk = 0;
		return 0;
	}
	int got = dp_db_pooled() ? 1 : try_bulk_lock(s, err); /* pooled: build's */
	if (got <= 0)
		return got;
	int rc = build(s, err);
	dp_err ignored;
	/* A bulk load leaves the planner's statistics behind the table until
	 * autovacuum comes round; docpipe-query's BM25 reads its document
	 * frequencies from them (pg_stats) and otherwise counts through the
	 * GIN index.  Measured at 101k real-text chunks: hybrid queries 143 ms
	 * median before, 72 ms after; ANALYZE took 0.4 s.  Statistics only
	 * change speed, so a failure is said and the run goes on. */
	if (rc > 0 &&
	    dp_db_begin(s->db, STORE_SESSION_SETTINGS, DP_DB_UNTIMED "; ANALYZE docpipe.chunks; COMMIT", &ignored) < 0) {
		dp_db_rollback(s->db);
		dp_diag("ANALYZE after the bulk load failed (queries may be slower until autovacuum runs): %s",
			ignored.msg);
	}
	if (!dp_db_pooled())
		PQclear(dp_db_query(s->db, "SELECT pg_advisory_unlock_all()", 0, NULL, &ignored));
	s->bulk = 0;
	return rc;
}

/* A switch recorded after a build read the settings finds the index
 * built, drops it again and, while this store still holds the bulk lock
 * (ANALYZE, the unlock), leaves its build to this store: so after a
 * build the marker is read again.  Bounded: stores switching back and
 * forth build the rest themselves. */
#define SETTLE_ROUNDS 3

int store_index_settle(store *s, dp_err *err)
{
	int rc = 1;

	for (int round = 0; rc > 0 && round < SETTLE_ROUNDS; round++)
		rc = settle_once(s, err);
	if (rc >= 0 && s->switch_from[0] != '\0') {
		/* This store's switch, not built by it: at open another store
		 * holds the bulk lock and builds the recorded method at its end
		 * (or has just built it). */
		const char *kind = index_kind(s);
		if (strcmp(s->vector_index, kind) == 0)
			dp_diag("index: %s replaces %s; another store built it", kind, s->switch_from);
		else
			dp_diag("index: %s replaces %s: recorded; another store is bulk-loading and builds"
				" %s at its end (queries scan exactly until then)", kind, s->switch_from, kind);
	}
	s->switch_from[0] = '\0';
	s->rows0 = -1;
	s->written = 0;
	return rc < 0 ? -1 : 0;
}
