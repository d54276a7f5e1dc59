#include "outcome.h"

#include <string.h>

#include "db.h"
#include "doc.h"
#include "record.h"
#include "store.h"
#include "text.h"

/* The schema, the tables and their migration: one string, sent in one
 * round trip (each statement a DO block that does nothing when its object
 * is there; the claim runs them at every run's start, and makes them in a
 * fresh database: docs/PERFORMANCE.md, issue 8 (b), session 57). */
static const char ddl[] =
	DP_DB_CREATE_SCHEMA ";"
	/* The documents whose last outcome is a failure; a success removes the
	 * row (a stored document's last run and time are in documents). */
	DP_DB_CREATE_MISSING("docpipe.failures",
		"CREATE TABLE IF NOT EXISTS docpipe.failures ("
	" path text PRIMARY KEY,"
	" root text,"
	" run text,"
	" stage text NOT NULL,"   /* the stage that failed */
	" error text NOT NULL,"   /* its reason */
	" failed_since timestamptz NOT NULL DEFAULT now()," /* first failure in a row */
	" updated_at timestamptz NOT NULL DEFAULT now())") ";"
	DP_DB_CREATE_MISSING("docpipe.runs",
		"CREATE TABLE IF NOT EXISTS docpipe.runs ("
	" id text PRIMARY KEY,"
	" started_at timestamptz,"  /* NULL: planned (docpipe plan --run), not started */
	" ended_at timestamptz,"
	" complete boolean,"
	" documents bigint, added bigint, updated bigint, unchanged bigint,"
	" deleted bigint, failed bigint, resent bigint,"
	" requests bigint, tokens bigint, retries bigint,"
	" seconds float8,"
	" planned jsonb)") ";" /* docpipe plan --run ID: its prediction (JSON report) */
	/* The runs that claimed their roots (docpipe run's recorder,
	 * src/status/live.h): live while a session holds the lock keyed by
	 * the id; a row no session holds is removed by the next claim. */
	DP_DB_CREATE_MISSING("docpipe.live_runs",
		"CREATE TABLE IF NOT EXISTS docpipe.live_runs ("
	" id serial PRIMARY KEY,"
	" run text NOT NULL,"
	" pid int NOT NULL," /* the supervisor's */
	" host text NOT NULL,"
	" started_at timestamptz NOT NULL DEFAULT now(),"
	" roots text[] NOT NULL)") ";"
	/* Only when missing: CREATE INDEX takes a SHARE lock on the table
	 * before it looks whether the index exists (schema.c's migrations). */
	DP_DB_CREATE_MISSING("docpipe.runs_started",
			     "CREATE INDEX IF NOT EXISTS runs_started ON docpipe.runs (started_at)") ";"
	/* docpipe.runs as made before 49863bc: no column planned, and started_at
	 * NOT NULL DEFAULT now(), which gave a planned run (docpipe plan --run,
	 * no started_at) a start and kept its real one from being set
	 * (record_sql sets it only while NULL).  Only when planned is missing:
	 * ALTER TABLE takes an exclusive lock even when there is nothing to do
	 * (see schema.c's migrations). */
	"DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'docpipe.runs'::regclass"
	" AND attname = 'planned' AND NOT attisdropped) THEN"
	" ALTER TABLE docpipe.runs ADD COLUMN IF NOT EXISTS planned jsonb,"
	" ALTER COLUMN started_at DROP NOT NULL, ALTER COLUMN started_at DROP DEFAULT; END IF; END$$";

/* The failures of docpipe.outcomes (5f9ece0 to 4b7e7d9: one row per
 * document, whatever its outcome) into a docpipe.failures made in this
 * transaction.  A stage or reason the old table left NULL (a hub failure
 * without one) gets a word: failures requires both. */
static const char outcomes_carry_sql[] =
	"INSERT INTO docpipe.failures (path, root, run, stage, error, failed_since, updated_at)"
	" SELECT path, root, run, COALESCE(stage, 'unknown'), COALESCE(error, 'no reason recorded'),"
	" COALESCE(failed_since, updated_at), updated_at FROM docpipe.outcomes WHERE status = 'failed'";

int store_outcome_schema(PGconn *db, dp_err *err)
{
	PGresult *res = dp_db_query(db, "SELECT to_regclass('docpipe.outcomes') IS NOT NULL,"
				    " to_regclass('docpipe.failures') IS NOT NULL", 0, NULL, err);

	if (res == NULL)
		return -1;
	int outcomes = PQgetvalue(res, 0, 0)[0] == 't', failures = PQgetvalue(res, 0, 1)[0] == 't';
	PQclear(res);
	if (dp_db_exec(db, ddl, err) < 0)
		return -1;
	if (!outcomes)
		return 0;
	/* docpipe.outcomes is replaced by docpipe.failures.  Its failures are
	 * carried over only into a failures table new in this transaction:
	 * one that was there already was kept by a version that no longer
	 * wrote outcomes, whose rows are then stale (a failure fixed since
	 * would come back).  It goes either way: no version reads it. */
	if ((!failures && dp_db_exec(db, outcomes_carry_sql, err) < 0) ||
	    dp_db_exec(db, "DROP TABLE docpipe.outcomes", err) < 0)
		return -1;
	return 0;
}

/* What the store relies on in tables it finds (the columns every
 * docpipe version made them with, and the unique key its ON CONFLICT
 * clauses or its chunk numbering need), per table: one row per table of
 * docpipe's present in schema docpipe, with its relkind, the columns it
 * lacks, and whether a unique key on exactly those columns is there as
 * ON CONFLICT can use it (valid, not deferrable, not partial, on plain
 * columns).  A table not there yet is made by tables[]; columns added
 * since are the migrations'. */
static const char check_sql[] =
	"WITH want(tbl, cols, key) AS (VALUES"
	" ('documents', '{id,path,root,content_hash,fingerprint,summary,summarizer,chunker,embedder,"
	"dim,chunk_count,size,mtime,metadata,last_run,created_at,updated_at}'::name[], '{path}'::name[]),"
	" ('chunks', '{document_id,seq,content,heading,tokens,summary,embedding}', '{document_id,seq}'),"
	" ('settings', '{key,value}', '{key}'),"
	" ('tombstones', '{path,run,seq}', '{path}'),"
	" ('run_starts', '{run,started_at}', '{run}'),"
	" ('failures', '{path,root,run,stage,error,failed_since,updated_at}', '{path}'),"
	" ('runs', '{id,started_at,ended_at,complete,documents,added,updated,unchanged,deleted,failed,"
	"resent,requests,tokens,retries,seconds}', '{id}'))"
	" SELECT w.tbl, c.relkind IN ('r', 'p'),"
	"  array_to_string(ARRAY(SELECT x FROM unnest(w.cols) x WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a"
	"   WHERE a.attrelid = c.oid AND a.attname = x AND a.attnum > 0 AND NOT a.attisdropped)), ', '),"
	"  EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid"
	"   AND i.indimmediate AND i.indpred IS NULL AND i.indexprs IS NULL"
	"   AND i.indnatts = cardinality(w.key) AND (SELECT count(*) FROM pg_attribute a"
	"    WHERE a.attrelid = c.oid AND a.attnum = ANY(i.indkey) AND a.attname = ANY(w.key)) = cardinality(w.key)),"
	"  array_to_string(w.key, ', '), to_regclass('docpipe.chunks') IS NULL,"
	"  to_regclass('docpipe.documents') IS NULL, EXISTS (SELECT 1 FROM pg_constraint f"
	"   WHERE f.conrelid = c.oid AND f.contype = 'f' AND f.confdeltype = 'c'"
	"   AND f.confrelid = to_regclass('docpipe.documents'))"
	" FROM want w JOIN pg_class c ON c.relname = w.tbl"
	" JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'docpipe'";

int store_schema_check(PGconn *db, dp_err *err)
{
	PGresult *res = dp_db_query(db, check_sql, 0, NULL, err);
	char what[DP_ERR_MAX] = "";
	size_t len = 0;

	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res) && len < sizeof what; i++) {
		const char *tbl = PQgetvalue(res, i, 0), *missing = PQgetvalue(res, i, 2),
			   *key = PQgetvalue(res, i, 4);
		const char *sep = len > 0 ? "; " : "";
		/* The two are made in one transaction: one without the other
		 * lost it (a DROP, DROP TABLE ... CASCADE, a partial restore).
		 * Without chunks, the store's migrations failed at each restart
		 * (exit 3) until the run stopped, and a table made anew would
		 * leave every stored document unchanged and without its chunks
		 * for good; without documents, a deleted document's chunks stayed
		 * for good, unseen by queries (fault sweep 20).  Columns 5 and 6:
		 * chunks, documents missing. */
		int pair = strcmp(tbl, "documents") == 0 ? 5 : strcmp(tbl, "chunks") == 0 ? 6 : 0;
		const char *other = pair == 5 ? "chunks" : "documents";
		int lost = pair != 0 && missing[0] == '\0' && PQgetvalue(res, i, pair)[0] == 't';
		if (lost)
			len += (size_t)snprintf(what + len, sizeof what - len,
						"%sdocpipe.%s is missing beside docpipe.%s (dropped? a"
						" partial restore?): restore it from a backup, or store the corpus"
						" anew with DROP TABLE docpipe.%s, docpipe.settings CASCADE (the"
						" result cache is kept: nothing is paid again)", sep, other, tbl, tbl);
		else if (pair == 6 && missing[0] == '\0' && PQgetvalue(res, i, 7)[0] != 't')
			len += (size_t)snprintf(what + len, sizeof what - len,
						"%sdocpipe.chunks has no foreign key to docpipe.documents ON DELETE"
						" CASCADE (dropped with DROP TABLE ... CASCADE?): a deleted document's"
						" chunks would stay; restore it with DELETE FROM docpipe.chunks c WHERE"
						" NOT EXISTS (SELECT FROM docpipe.documents d WHERE d.id ="
						" c.document_id); ALTER TABLE docpipe.chunks ADD FOREIGN KEY"
						" (document_id) REFERENCES docpipe.documents (id) ON DELETE CASCADE",
						sep);
		if (PQgetvalue(res, i, 1)[0] != 't')
			len += (size_t)snprintf(what + len, sizeof what - len,
						"%sdocpipe.%s is not a table (a view? another application's?)",
						sep, tbl);
		else if (missing[0] != '\0')
			len += (size_t)snprintf(what + len, sizeof what - len,
						"%sschema docpipe holds a table %s without column%s %s: another"
						" application's (store into another database), or columns dropped"
						" since (restore them from a backup)",
						sep, tbl, strchr(missing, ',') != NULL ? "s" : "", missing);
		else if (PQgetvalue(res, i, 3)[0] != 't')
			len += (size_t)snprintf(what + len, sizeof what - len,
						"%sdocpipe.%s has no unique constraint on (%s) (dropped?): restore it"
						" with ALTER TABLE docpipe.%s ADD %s (%s) (after removing duplicates),"
						" or store into a new database",
						sep, tbl, key, tbl,
						strcmp(tbl, "chunks") == 0 ? "PRIMARY KEY" : "UNIQUE", key);
	}
	PQclear(res);
	if (len == 0)
		return 0;
	dp_err_set(err, "the database's schema docpipe is not as docpipe made it: %s", what);
	return 1;
}

int store_outcome_ensure_checked(PGconn *db, dp_err *err)
{
	if (dp_db_begin_locked(db, NULL, DP_DB_UNTIMED, STORE_LOCK_KEY, err) < 0)
		return -1;
	int bad = store_schema_check(db, err);
	int rc = bad != 0 || store_outcome_schema(db, err) < 0 ? -1 : 0;
	if (dp_db_end(db, rc, err) < 0)
		return bad > 0 ? 1 : -1;
	return 0;
}

int store_outcome_ensure(PGconn *db, dp_err *err)
{
	return store_outcome_ensure_checked(db, err) != 0 ? -1 : 0;
}

/* One statement: the last outcome per path wins (DISTINCT ON over the
 * input position); any other outcome than a failure removes the path's
 * failure (an index probe when there is none: successes cost no write); a
 * repeated failure keeps its first time; a run id seen for the first time
 * gets its row. */
static const char record_sql[] =
	"WITH u AS (SELECT DISTINCT ON (path) * FROM jsonb_to_recordset($1::jsonb)"
	"  AS x(i int, path text, root text, run text, status text, stage text, error text)"
	"  ORDER BY path, i DESC),"
	" new_runs AS (INSERT INTO docpipe.runs AS r (id, started_at) SELECT DISTINCT run, now()"
	"  FROM u WHERE run IS NOT NULL ON CONFLICT (id) DO UPDATE SET started_at = now()"
	"  WHERE r.started_at IS NULL),"
	" cleared AS (DELETE FROM docpipe.failures f USING u"
	"  WHERE f.path = u.path AND u.status <> 'failed')"
	" INSERT INTO docpipe.failures AS f (path, root, run, stage, error)"
	" SELECT path, root, run, stage, error FROM u WHERE status = 'failed'"
	" ON CONFLICT (path) DO UPDATE SET root = COALESCE(EXCLUDED.root, f.root),"
	"  run = EXCLUDED.run, stage = EXCLUDED.stage, error = EXCLUDED.error, updated_at = now()";

/* A failure's key: its path cut (between two characters) to what an index
 * entry holds, so that a path the store refuses as too long (doc.h) still
 * has its failure kept. */
static jv failure_key(const char *path)
{
	size_t len = strlen(path);

	return len <= STORE_MAX_PATH ? jv_string(path)
				     : jv_string_sized(path, (int)dp_utf8_floor(path, STORE_MAX_PATH));
}

static jv outcome_row(const store_item *it, size_t i)
{
	jv row = jv_object();
	const char *root = dp_record_str(it->rec, "root"), *run = dp_record_str(it->rec, "run");

	row = jv_object_set(row, jv_string("i"), jv_number((double)i));
	row = jv_object_set(row, jv_string("path"), failure_key(dp_record_str(it->rec, "path")));
	if (root != NULL)
		row = jv_object_set(row, jv_string("root"), jv_string(root));
	if (run != NULL)
		row = jv_object_set(row, jv_string("run"), jv_string(run));
	row = jv_object_set(row, jv_string("status"), jv_string(it->status));
	if (strcmp(it->status, "failed") == 0) {
		row = jv_object_set(row, jv_string("stage"),
				    jv_string(it->fail_stage != NULL ? it->fail_stage : "store"));
		row = jv_object_set(row, jv_string("error"), jv_string(it->reason));
	}
	return row;
}

int store_outcome_record(PGconn *db, const store_item *items, size_t n, dp_err *err)
{
	jv rows = jv_array();

	for (size_t i = 0; i < n; i++)
		if (items[i].kind != STORE_ITEM_PASS && items[i].status != NULL &&
		    dp_record_str(items[i].rec, "path") != NULL)
			rows = jv_array_append(rows, outcome_row(&items[i], i));
	if (jv_array_length(jv_copy(rows)) == 0) {
		jv_free(rows);
		return 0;
	}
	jv text = dp_record_dump(rows);
	const char *params[] = {jv_string_value(text)};
	PGresult *res = dp_db_query(db, record_sql, 1, params, err);
	jv_free(text);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

/* Figures are JSON numbers (doubles); bigint columns take them rounded.
 * The report's failures of stage "hub" (documents that never got a
 * receipt, so the store never saw their outcome) become failures too. */
static const char report_sql[] =
	"WITH hub_failures AS (INSERT INTO docpipe.failures AS o (path, run, stage, error)"
	"  SELECT DISTINCT ON (f.path) f.path, $1::jsonb->>'run', f.stage, f.error"
	"  FROM jsonb_to_recordset(COALESCE($1::jsonb->'failures', '[]'))"
	"   AS f(path text, stage text, error text)"
	"  WHERE f.stage = 'hub' AND f.path IS NOT NULL AND f.error IS NOT NULL"
	"  ON CONFLICT (path) DO UPDATE SET run = EXCLUDED.run, stage = EXCLUDED.stage,"
	"   error = EXCLUDED.error, updated_at = now())"
	" INSERT INTO docpipe.runs AS r (id, started_at, ended_at, complete, documents, added,"
	" updated, unchanged, deleted, failed, resent, requests, tokens, retries, seconds)"
	" SELECT x.run, now() - make_interval(secs => COALESCE(x.seconds, 0)), now(), x.complete,"
	"  round(x.documents), round(x.added), round(x.updated), round(x.unchanged),"
	"  round(x.deleted), round(x.failed), round(x.resent), round(x.requests),"
	"  round(x.tokens), round(x.retries), x.seconds"
	" FROM jsonb_to_record($1::jsonb) AS x(run text, complete boolean, documents float8,"
	"  added float8, updated float8, unchanged float8, deleted float8, failed float8,"
	"  resent float8, requests float8, tokens float8, retries float8, seconds float8)"
	" ON CONFLICT (id) DO UPDATE SET started_at = LEAST(r.started_at, EXCLUDED.started_at),"
	"  ended_at = EXCLUDED.ended_at, complete = EXCLUDED.complete,"
	"  documents = EXCLUDED.documents, added = EXCLUDED.added, updated = EXCLUDED.updated,"
	"  unchanged = EXCLUDED.unchanged, deleted = EXCLUDED.deleted, failed = EXCLUDED.failed,"
	"  resent = EXCLUDED.resent, requests = EXCLUDED.requests, tokens = EXCLUDED.tokens,"
	"  retries = EXCLUDED.retries, seconds = EXCLUDED.seconds";

int store_outcome_run_report(PGconn *db, jv report, dp_err *err)
{
	if (jv_get_kind(report) != JV_KIND_OBJECT || dp_record_str(report, "run") == NULL) {
		dp_err_set(err, "the report has no run id");
		return -2;
	}
	jv failures = jv_object_get(jv_copy(report), jv_string("failures")), keyed = jv_array();
	if (jv_get_kind(failures) == JV_KIND_ARRAY) {
		jv_array_foreach(failures, k, f) {
			const char *path = dp_record_str(f, "path");
			keyed = jv_array_append(keyed, path != NULL ? jv_object_set(f, jv_string("path"),
										  failure_key(path))
								    : f);
		}
	}
	jv_free(failures);
	jv text = dp_record_dump(jv_object_set(jv_copy(report), jv_string("failures"), keyed));
	const char *params[] = {jv_string_value(text)};
	/* Untimed, as the store's writes: a report of thousands of failures
	 * outlasted a role's statement_timeout of 20 ms, and the recorder
	 * waited it out as a database away (fault sweep 19). */
	if (dp_db_begin(db, NULL, DP_DB_UNTIMED, err) < 0) {
		jv_free(text);
		dp_db_rollback(db);
		return -1;
	}
	PGresult *res = dp_db_query(db, report_sql, 1, params, err);
	int rc = res != NULL ? 0 : -1;
	PQclear(res);
	jv_free(text);
	return dp_db_end(db, rc, err);
}

int store_outcome_plan(PGconn *db, const char *run, jv plan, dp_err *err)
{
	jv text = dp_record_dump(jv_copy(plan));
	const char *params[] = {run, jv_string_value(text)};
	PGresult *res = dp_db_query(db,
		"INSERT INTO docpipe.runs (id, planned) VALUES ($1, $2::jsonb)"
		" ON CONFLICT (id) DO UPDATE SET planned = EXCLUDED.planned", 2, params, err);

	jv_free(text);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}
