#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "outcome.h"
#include "store.h"

static const char *const tables[] = {
	"CREATE SCHEMA IF NOT EXISTS docpipe",
	"CREATE TABLE IF NOT EXISTS docpipe.settings (key text PRIMARY KEY, value text NOT NULL)",
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
	" created_at timestamptz NOT NULL DEFAULT now(),"
	" updated_at timestamptz NOT NULL DEFAULT now())",
	"CREATE INDEX IF NOT EXISTS documents_root ON docpipe.documents (root)",
};

/* Columns added after a database may already have been created: each is
 * added in place (ADD COLUMN IF NOT EXISTS is cheap: no table rewrite for
 * a nullable column without a default).  Chunk provenance: the chunk's
 * byte range [byte_start, byte_end) and first/last line in the source
 * file, first/last page for paged formats (docs/protocol.md). */
static const char *const migrations[] = {
	"ALTER TABLE docpipe.chunks ADD COLUMN IF NOT EXISTS byte_start bigint,"
	" ADD COLUMN IF NOT EXISTS byte_end bigint,"
	" ADD COLUMN IF NOT EXISTS line_start int, ADD COLUMN IF NOT EXISTS line_end int,"
	" ADD COLUMN IF NOT EXISTS page_start int, ADD COLUMN IF NOT EXISTS page_end int",
};

/* The embedding column is created without a dimension: the corpus's
 * dimension is known only when its first embedded document arrives
 * (store_claim_settings then fixes it and builds the HNSW index). */
static const char chunks_vector[] =
	"CREATE TABLE IF NOT EXISTS docpipe.chunks ("
	" document_id bigint NOT NULL REFERENCES docpipe.documents(id) ON DELETE CASCADE,"
	" seq int NOT NULL, content text NOT NULL, heading text[], tokens int, summary text,"
	" embedding vector, PRIMARY KEY (document_id, seq))";
static const char chunks_real[] =
	"CREATE TABLE IF NOT EXISTS docpipe.chunks ("
	" document_id bigint NOT NULL REFERENCES docpipe.documents(id) ON DELETE CASCADE,"
	" seq int NOT NULL, content text NOT NULL, heading text[], tokens int, summary text,"
	" embedding real[], PRIMARY KEY (document_id, seq))";

/* Reads the settings rows into s.  Returns 0 or -1 with err. */
static int load_settings(store *s, char *vector_type, size_t vt_size, dp_err *err)
{
	PGresult *res = dp_db_query(s->db, "SELECT key, value FROM docpipe.settings", 0, NULL, err);

	if (res == NULL)
		return -1;
	dp_db_settings set;
	dp_db_settings_read(res, &set);
	PQclear(res);
	snprintf(s->embedder, sizeof s->embedder, "%s", set.embedder);
	s->dim = set.dim;
	if (vector_type != NULL)
		snprintf(vector_type, vt_size, "%s", set.vector_type);
	return 0;
}

int store_schema_ensure(store *s, dp_err *err)
{
	char vector_type[32];

	if (dp_db_begin_locked(s->db, STORE_LOCK_KEY, err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
		if (dp_db_exec(s->db, tables[i], err) < 0)
			goto fail;
	if (store_outcome_schema(s->db, err) < 0)
		goto fail;
	if (load_settings(s, vector_type, sizeof vector_type, err) < 0)
		goto fail;
	if (vector_type[0] == '\0') {
		/* pgvector when the server has it (and lets us create it); real[]
		 * otherwise.  The choice is recorded: it is the corpus's for good. */
		dp_err why;
		int rc = dp_db_try(s->db, "CREATE EXTENSION IF NOT EXISTS vector", &why);
		if (rc < 0) {
			*err = why;
			goto fail;
		}
		snprintf(vector_type, sizeof vector_type, "%s", rc == 1 ? "vector" : "real[]");
		if (dp_db_exec(s->db, rc == 1 ? chunks_vector : chunks_real, err) < 0)
			goto fail;
		const char *params[] = {vector_type};
		PGresult *res = dp_db_query(s->db,
			"INSERT INTO docpipe.settings (key, value) VALUES ('vector_type', $1)",
			1, params, err);
		if (res == NULL)
			goto fail;
		PQclear(res);
	}
	for (size_t i = 0; i < sizeof migrations / sizeof migrations[0]; i++)
		if (dp_db_exec(s->db, migrations[i], err) < 0)
			goto fail;
	if (dp_db_exec(s->db, "COMMIT", err) < 0)
		goto fail;
	s->pgvector = strcmp(vector_type, "vector") == 0;
	return 0;
fail:
	dp_db_rollback(s->db);
	return -1;
}

int store_claim_settings(store *s, const char *embedder, int dim, dp_err *err)
{
	char key[32], dims[16], sql[256];
	const char *lock_params[] = {key};
	PGresult *res;

	snprintf(key, sizeof key, "%lld", STORE_LOCK_KEY);
	res = dp_db_query(s->db, "SELECT pg_advisory_xact_lock($1::bigint)", 1, lock_params, err);
	if (res == NULL)
		return -1;
	PQclear(res);
	if (load_settings(s, NULL, 0, err) < 0)
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
	if (s->pgvector) {
		/* A type modifier cannot be a parameter; dim is an int we checked
		 * (1..DP_EMBED_DIM_MAX), not text from the input. */
		snprintf(sql, sizeof sql,
			 "ALTER TABLE docpipe.chunks ALTER COLUMN embedding TYPE vector(%d)", dim);
		if (dp_db_exec(s->db, sql, err) < 0)
			return -1;
		if (dp_db_exec(s->db, "CREATE INDEX IF NOT EXISTS chunks_embedding_hnsw ON docpipe.chunks"
				      " USING hnsw (embedding vector_cosine_ops)", err) < 0)
			return -1;
	}
	snprintf(s->embedder, sizeof s->embedder, "%s", embedder);
	s->dim = dim;
	s->claimed = 1;
	return 0;
}

store *store_open(const char *env_name, enum store_write_method method, dp_err *err)
{
	store *s = calloc(1, sizeof *s);

	if (s == NULL) {
		dp_err_set(err, "out of memory");
		return NULL;
	}
	s->method = method;
	store_buf_init(&s->buf, (size_t)256 << 20);
	store_buf_init(&s->buf2, (size_t)256 << 20);
	s->db = dp_db_connect(env_name, "docpipe-store", err);
	if (s->db == NULL || store_schema_ensure(s, err) < 0) {
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
	store_buf_free(&(*s)->buf);
	store_buf_free(&(*s)->buf2);
	free(*s);
	*s = NULL;
}
