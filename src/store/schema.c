#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocker.h"
#include "db.h"
#include "fulltext.h"
#include "outcome.h"
#include "store.h"

/* The schema and its tables, each made only when missing: one string,
 * sent in one round trip (every store's start; the first in a fresh
 * database makes them all: docs/PERFORMANCE.md, issue 8 (b), session
 * 57). */
static const char tables[] =
	DP_DB_CREATE_SCHEMA ";"
	DP_DB_CREATE_MISSING("docpipe.settings",
		"CREATE TABLE IF NOT EXISTS docpipe.settings (key text PRIMARY KEY, value text NOT NULL)") ";"
	DP_DB_CREATE_MISSING("docpipe.documents",
		"CREATE TABLE IF NOT EXISTS docpipe.documents ("
	" id bigserial PRIMARY KEY,"
	" path text UNIQUE NOT NULL,"
	" root text,"
	" content_hash text,"
	" fingerprint text,"
	" summary text,"
	" summarizer text,"
	" chunker text,"
	" embedder text,"
	" dim int,"
	" chunk_count int,"
	" size bigint,"
	" mtime timestamptz,"
	" metadata jsonb,"
	" last_run text,"
	" last_stream text,"
	" last_seq bigint,"
	" last_seen timestamptz,"
	" created_at timestamptz NOT NULL DEFAULT now(),"
	" updated_at timestamptz NOT NULL DEFAULT now())") ";"
	/* Only when missing: CREATE INDEX takes a SHARE lock on the table
	 * before it looks whether the index exists (see migrations). */
	DP_DB_CREATE_MISSING("docpipe.documents_root",
			     "CREATE INDEX IF NOT EXISTS documents_root ON docpipe.documents (root)") ";"
	/* The deletes of a stream, which refuse that stream's older versions
	 * of the path still on their way (write.c, upsert_sql); a sweep drops
	 * those of other runs. */
	DP_DB_CREATE_MISSING("docpipe.tombstones",
		"CREATE TABLE IF NOT EXISTS docpipe.tombstones (path text PRIMARY KEY, run text,"
	" stream text NOT NULL, seq bigint NOT NULL)") ";"
	/* When each run's first write began (write.c, register_runs): its
	 * sweep keeps the documents another writer saw since (sweep.c). */
	DP_DB_CREATE_MISSING("docpipe.run_starts",
		"CREATE TABLE IF NOT EXISTS docpipe.run_starts (run text PRIMARY KEY,"
	" started_at timestamptz NOT NULL)");

/* Columns added or changed after a database may already have been made:
 * each is changed in place (ADD COLUMN IF NOT EXISTS is cheap: no table
 * rewrite for a nullable column without a default).
 *
 * Each runs only when the catalog says it is needed, checked in the same
 * statement under the schema lock (schema_ensure): ALTER TABLE takes an
 * ACCESS EXCLUSIVE lock even when there is nothing to do.  Taken at every
 * start, it waited behind any open read of the table (a docpipe-query, a
 * long report) and every later query queued behind it: each run's start
 * stalled a busy database's searches.  And a store starting beside one
 * that writes (which reads documents, then waits for the schema lock
 * this runs under, to claim the corpus's embedder) deadlocked with it.
 * On a current schema a store start takes no lock stronger than its
 * writes' (tests/integration/store_schema_locks.sh).  One string, sent in
 * one round trip, as the tables. */
static const char migrations[] =
	/* The stream and seq of the version stored (write.c, upsert_sql), for
	 * a database made before them. */
	"DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'docpipe.documents'::regclass"
	" AND attname = 'last_stream' AND NOT attisdropped) THEN"
	" ALTER TABLE docpipe.documents ADD COLUMN IF NOT EXISTS last_stream text,"
	" ADD COLUMN IF NOT EXISTS last_seq bigint; END IF; END$$" ";"
	/* docpipe.tombstones as made before streams (612a486 to 6502013): run
	 * NOT NULL and no stream.  A tombstone then refused its run's older
	 * versions, so its run is its stream: the same refusal.  Only when
	 * missing, likewise. */
	"DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'docpipe.tombstones'::regclass"
	" AND attname = 'stream' AND NOT attisdropped) THEN"
	" ALTER TABLE docpipe.tombstones ADD COLUMN IF NOT EXISTS stream text,"
	" ALTER COLUMN run DROP NOT NULL;"
	" UPDATE docpipe.tombstones SET stream = run WHERE stream IS NULL;"
	" ALTER TABLE docpipe.tombstones ALTER COLUMN stream SET NOT NULL; END IF; END$$" ";"
	/* When a writer last saw the document (sweep.c), likewise. */
	"DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'docpipe.documents'::regclass"
	" AND attname = 'last_seen' AND NOT attisdropped) THEN"
	" ALTER TABLE docpipe.documents ADD COLUMN IF NOT EXISTS last_seen timestamptz; END IF; END$$" ";"
	/* Chunk provenance: the chunk's byte range [byte_start, byte_end)
	 * and first/last line in the source file, first/last page for paged
	 * formats (docs/protocol.md). */
	"DO $$BEGIN IF (SELECT count(*) FROM pg_attribute WHERE attrelid = 'docpipe.chunks'::regclass"
	" AND attname IN ('byte_start', 'byte_end', 'line_start', 'line_end', 'page_start', 'page_end')"
	" AND NOT attisdropped) < 6 THEN"
	" ALTER TABLE docpipe.chunks ADD COLUMN IF NOT EXISTS byte_start bigint,"
	" ADD COLUMN IF NOT EXISTS byte_end bigint,"
	" ADD COLUMN IF NOT EXISTS line_start int, ADD COLUMN IF NOT EXISTS line_end int,"
	" ADD COLUMN IF NOT EXISTS page_start int, ADD COLUMN IF NOT EXISTS page_end int; END IF; END$$" ";"
	/* A real[] vector is stored like pgvector's types (STORAGE external):
	 * floats do not compress, and a row long enough for TOAST (text,
	 * vector and tsvector) had the server try pglz on every vector in
	 * vain: ~0.3 CPU-s per 20,000 chunks of 384 dimensions
	 * (docs/PERFORMANCE.md, issue 11).  Only new rows change. */
	"DO $$BEGIN IF (SELECT attstorage FROM pg_attribute WHERE attrelid = 'docpipe.chunks'::regclass"
	" AND attname = 'embedding') = 'x' THEN"
	" ALTER TABLE docpipe.chunks ALTER COLUMN embedding SET STORAGE EXTERNAL; END IF; END$$" ";"
	/* The text compressed with lz4 rather than pglz, which cost the
	 * server as much CPU as the rest of the insertion.  A server built
	 * without lz4 (default_toast_compression does not offer it) keeps
	 * pglz without trying the ALTER at each start; one older than
	 * PostgreSQL 14 (no attcompression) fails the check, which is
	 * ignored. */
	"DO $$BEGIN IF (SELECT attcompression FROM pg_attribute WHERE attrelid = 'docpipe.chunks'::regclass"
	" AND attname = 'content') <> 'l' AND (SELECT 'lz4' = ANY(enumvals) FROM pg_settings"
	" WHERE name = 'default_toast_compression') THEN"
	" ALTER TABLE docpipe.chunks ALTER COLUMN content SET COMPRESSION lz4; END IF;"
	" EXCEPTION WHEN OTHERS THEN NULL; END$$";

/* The embedding column is created without a dimension: the corpus's
 * dimension is known only when its first embedded document arrives
 * (store_claim_settings then fixes it and builds the HNSW index).  %s is
 * one of our type names, never input. */
static const char chunks_table[] =
	"CREATE TABLE IF NOT EXISTS docpipe.chunks ("
	" document_id bigint NOT NULL REFERENCES docpipe.documents(id) ON DELETE CASCADE,"
	" seq int NOT NULL, content text NOT NULL, heading text[], tokens int, summary text,"
	" embedding %s, PRIMARY KEY (document_id, seq))";

const char *store_vector_type_name(enum store_vector_type t)
{
	return t == STORE_VT_VECTOR ? "vector" : t == STORE_VT_HALFVEC ? "halfvec" : "real[]";
}

static enum store_vector_type vector_type_of(const char *name)
{
	return strcmp(name, "vector") == 0 ? STORE_VT_VECTOR
	       : strcmp(name, "halfvec") == 0 ? STORE_VT_HALFVEC : STORE_VT_REAL;
}

int store_settings_load(store *s, dp_db_settings *set, dp_err *err)
{
	PGresult *res = dp_db_query(s->db, "SELECT key, value FROM docpipe.settings", 0, NULL, err);
	dp_db_settings mine;

	if (res == NULL)
		return -1;
	if (set == NULL)
		set = &mine;
	dp_db_settings_read(res, set);
	PQclear(res);
	snprintf(s->embedder, sizeof s->embedder, "%s", set->embedder);
	s->dim = set->dim;
	snprintf(s->vector_index, sizeof s->vector_index, "%s", set->vector_index);
	/* The recorded wishes before this store's options: a store records its
	 * options at open (store_index_switch), so a later store's are the
	 * newer wish, which a build reads again when it starts (index.c). */
	s->ef_construction = set->hnsw_ef_construction > 0 ? set->hnsw_ef_construction
			     : s->opt.ef_construction > 0 ? s->opt.ef_construction : 64;
	const char *method = set->index_method[0] != '\0' ? set->index_method : set->vector_index;
	s->imethod = strncmp(method, "ivfflat", 7) == 0 ? STORE_IX_IVFFLAT
		     : method[0] != '\0' || s->opt.index_method == STORE_IX_CORPUS ? STORE_IX_HNSW
		     : s->opt.index_method;
	s->ivfflat_lists = set->ivfflat_lists;
	return 0;
}

/* The schema pgvector's extension is made in: where a CREATE EXTENSION
 * under the user's own search_path would make it, the path's first schema
 * that exists and that the role may create in (pg_catalog and pg_temp
 * left out); no row when there is none (then where PostgreSQL puts it: its
 * refusal keeps the corpus on real[], as before).  Not the session's
 * first schema: docpipe's sessions put pg_catalog first when the user's
 * path names a schema before it (connect_settings, src/lib/db.c), and the
 * extension landed in pg_catalog ("shadow, pg_catalog, public": fault
 * sweep 21b).  Not public when the path has no such schema: the session's
 * search_path, fixed at its connection, would not find the type. */
static const char vector_home[] =
	"SELECT p.s FROM unnest(current_schemas(false)) WITH ORDINALITY AS p(s, i)"
	" WHERE p.s <> 'pg_catalog' AND left(p.s, 7) <> 'pg_temp'"
	" AND has_schema_privilege(p.s, 'CREATE') ORDER BY p.i LIMIT 1";

/* CREATE EXTENSION IF NOT EXISTS vector, in vector_home's schema, under a
 * savepoint (dp_db_try's result). */
static int create_vector(store *s, dp_err *err)
{
	char sql[256] = "CREATE EXTENSION IF NOT EXISTS vector";
	PGresult *res = dp_db_query(s->db, vector_home, 0, NULL, err);

	if (res == NULL)
		return -1;
	if (PQntuples(res) == 1) {
		char *id = PQescapeIdentifier(s->db, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
		if (id == NULL || strlen(id) > sizeof sql - 64) {
			dp_err_set(err, "pgvector's schema: %s", id == NULL ? "out of memory" : "name too long");
			PQfreemem(id);
			PQclear(res);
			return -1;
		}
		snprintf(sql + strlen(sql), sizeof sql - strlen(sql), " SCHEMA %s", id);
		PQfreemem(id);
	}
	PQclear(res);
	return dp_db_try(s->db, sql, err);
}

/* Picks the vector type of a new corpus (in the schema transaction) and
 * says why in why.  Returns the type, or -1 with err and *usage set when
 * the type asked for cannot be had. */
static int choose_type(store *s, char *why, size_t why_size, int *usage, int *loud, dp_err *err)
{
	enum store_vector_type want = s->opt.vector_type;
	dp_err no;

	if (want == STORE_VT_REAL) {
		snprintf(why, why_size, "--vector-type real");
		return STORE_VT_REAL;
	}
	int rc = create_vector(s, &no);
	if (rc < 0) {
		*err = no;
		return -1;
	}
	if (rc == 1) {
		snprintf(why, why_size, want == STORE_VT_AUTO ? "pgvector is available" : "--vector-type %s",
			 store_vector_type_name(want));
		return want == STORE_VT_AUTO ? STORE_VT_VECTOR : (int)want;
	}
	if (want != STORE_VT_AUTO) {
		dp_err_set(err, "--vector-type %s: cannot use pgvector (%s); a superuser must run"
			   " CREATE EXTENSION vector in this database (pgvector installed on the server),"
			   " or use --vector-type real", store_vector_type_name(want), no.msg);
		*usage = 1;
		return -1;
	}
	/* pgvector on the server but not for us (no right to create it): a
	 * downgrade the user must hear of even with --quiet.  Not installed at
	 * all (0A000 "not available"; 58P01 before PostgreSQL 15) is the plain
	 * real[] case. */
	const char *state = dp_db_last_sqlstate();
	*loud = strcmp(state, "0A000") != 0 && strcmp(state, "58P01") != 0;
	snprintf(why, why_size, "pgvector cannot be used here (%.300s); for pgvector a superuser runs"
		 " CREATE EXTENSION vector in this database before the first store", no.msg);
	return STORE_VT_REAL;
}

/* Creates the chunks table and records the vector type of a new corpus.
 * *loud: the choice must be announced even with --quiet. */
static int create_chunks(store *s, char *why, size_t why_size, int *usage, int *loud, dp_err *err)
{
	char sql[sizeof chunks_table + 16];
	int t = choose_type(s, why, why_size, usage, loud, err);

	if (t < 0)
		return -1;
	s->vtype = (enum store_vector_type)t;
	snprintf(sql, sizeof sql, chunks_table, store_vector_type_name(s->vtype));
	if (dp_db_exec(s->db, sql, err) < 0)
		return -1;
	const char *params[] = {store_vector_type_name(s->vtype)};
	PGresult *res = dp_db_query(s->db,
		"INSERT INTO docpipe.settings (key, value) VALUES ('vector_type', $1)", 1, params, err);
	PQclear(res);
	return res == NULL ? -1 : 0;
}

/* Creates schema docpipe and its tables if missing, under the advisory
 * lock, and reads the corpus settings.  Announces the vector type unless
 * quiet, and always when pgvector is on the server but cannot be used.  Returns 0, or -1 with err
 * (*usage set when the options ask for what cannot be, when the database
 * takes no writes, or when the corpus's settings are lost under its
 * chunks: dp_db_settings_lost). */
static int schema_ensure(store *s, int *usage, dp_err *err)
{
	dp_db_settings set;
	char why[DP_ERR_MAX];
	int loud = 0, rc = -1;

	if (dp_db_begin_locked(s->db, STORE_SESSION_SETTINGS, DP_DB_UNTIMED, STORE_LOCK_KEY, err) < 0)
		return -1;
	int bad = dp_db_unwritable(s->db, err);
	if (bad == 0)
		bad = store_schema_check(s->db, err);
	if (bad != 0) {
		*usage = bad > 0;
		goto end;
	}
	if (dp_db_exec(s->db, tables, err) < 0)
		goto end;
	if (store_outcome_schema(s->db, err) < 0)
		goto end;
	if (store_settings_load(s, &set, err) < 0)
		goto end;
	/* No embedder claimed: a new corpus, or settings lost under embedded
	 * chunks (a DELETE, a DROP, a restore without them), where claiming
	 * the corpus for the next record's embedder and this store's vector
	 * type would mix vectors of two spaces in one column.  Refused as a
	 * database that cannot be used as it is: no restart mends it. */
	if (set.embedder[0] == '\0' || set.dim <= 0) {
		int lost = dp_db_settings_lost(s->db, err);
		if (lost != 0) {
			*usage = lost > 0;
			goto end;
		}
	}
	if (set.vector_type[0] == '\0') {
		if (create_chunks(s, why, sizeof why, usage, &loud, err) < 0)
			goto end;
	} else {
		s->gin_left = 1;
		s->vtype = vector_type_of(set.vector_type);
		if (s->opt.vector_type != STORE_VT_AUTO && s->opt.vector_type != s->vtype) {
			dp_err_set(err, "--vector-type %s: the corpus stores its vectors as %s (chosen when"
				   " it was created); store into a new database to change it",
				   store_vector_type_name(s->opt.vector_type), set.vector_type);
			*usage = 1;
			goto end;
		}
		snprintf(why, sizeof why, "the corpus's type since it was created");
	}
	if (dp_db_exec(s->db, migrations, err) < 0)
		goto end;
	if (store_fulltext_ensure(s, err) < 0)
		goto end;
	if (store_index_switch(s, err) < 0)
		goto end;
	rc = 0;
end:
	if (dp_db_end(s->db, rc, err) < 0) {
		/* A refusal already explained (pgvector's extension) keeps its words. */
		if (!*usage && dp_db_open_refused(err))
			*usage = 1;
		return -1;
	}
	if (loud || !s->opt.quiet)
		dp_diag("vectors stored as %s (%s)%s%s", store_vector_type_name(s->vtype), why,
			s->vector_index[0] != '\0' ? "; index: " : "", s->vector_index);
	return 0;
}

int store_claim_settings(store *s, const char *embedder, int dim, dp_err *err)
{
	char key[32], dims[16], sql[256];
	const char *lock_params[] = {key};
	dp_db_settings set;
	PGresult *res;

	snprintf(key, sizeof key, "%lld", STORE_LOCK_KEY);
	res = dp_db_query(s->db, "SELECT pg_advisory_xact_lock($1::bigint)", 1, lock_params, err);
	if (res == NULL)
		return -1;
	PQclear(res);
	if (store_settings_load(s, &set, err) < 0)
		return -1;
	if (s->embedder[0] != '\0')
		return 0;
	snprintf(dims, sizeof dims, "%d", dim);
	const char *params[] = {embedder, dims};
	res = dp_db_query(s->db,
		"INSERT INTO docpipe.settings (key, value) VALUES ('embedder', $1), ('dim', $2)",
		2, params, err);
	if (res == NULL)
		return -1;
	PQclear(res);
	if (s->vtype != STORE_VT_REAL) {
		/* A type modifier cannot be a parameter; dim is an int we checked
		 * (1..DP_EMBED_DIM_MAX), not text from the input. */
		snprintf(sql, sizeof sql, "ALTER TABLE docpipe.chunks ALTER COLUMN embedding TYPE %s(%d)",
			 store_vector_type_name(s->vtype), dim);
		if (dp_db_exec(s->db, sql, err) < 0)
			return -1;
	}
	snprintf(s->embedder, sizeof s->embedder, "%s", embedder);
	s->dim = dim;
	s->claimed = 1;
	/* During a bulk load the index is built when the load ends. */
	if (strcmp(set.index_state, "building") != 0 && store_index_create(s, 0, err) < 0)
		return -1;
	return 0;
}

store *store_open(const store_options *opt, int *exit_code, dp_err *err)
{
	store *s = calloc(1, sizeof *s);
	int usage = 0;

	*exit_code = DP_EXIT_SYSTEM;
	if (s == NULL) {
		dp_err_set(err, "out of memory");
		return NULL;
	}
	s->opt = *opt;
	s->rows0 = -1;
	store_buf_init(&s->buf, (size_t)256 << 20);
	store_buf_init(&s->buf2, (size_t)256 << 20);
	store_buf_init(&s->buf3, (size_t)64 << 20);
	store_buf_init(&s->buf4, (size_t)64 << 20);
	s->db = dp_db_connect(opt->db_env, "docpipe-store", err);
	/* A login refused for good is a configuration error: exit 2, which
	 * no wait (store_patiently) and no supervisor's restart repeats. */
	if (s->db == NULL)
		*exit_code = dp_db_connect_status(err->msg);
	else {
		dp_err ignored; /* without it, no old session is ended: the
				 * writes fail or wait as before */
		store_blocker_backend(opt->blocker, dp_db_backend_pid(s->db));
		dp_db_session_get(s->db, &s->session, &ignored);
	}
	if (s->db == NULL || dp_db_session_set(s->db, STORE_SESSION_SETTINGS, err) < 0 ||
	    schema_ensure(s, &usage, err) < 0 || store_index_settle(s, err) < 0) {
		if (usage)
			*exit_code = DP_EXIT_USAGE;
		store_close(&s);
		return NULL;
	}
	return s;
}
void store_close(store **s)
{
	if (*s == NULL)
		return;
	if ((*s)->db != NULL)
		PQfinish((*s)->db);
	if ((*s)->gin != NULL)
		PQfinish((*s)->gin);
	dp_lexer_free((*s)->lexer);
	store_buf_free(&(*s)->buf);
	store_buf_free(&(*s)->buf2);
	store_buf_free(&(*s)->buf3);
	store_buf_free(&(*s)->buf4);
	free(*s);
	*s = NULL;
}
