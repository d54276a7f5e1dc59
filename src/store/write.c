/* Batched, transactional writes of documents, deletes and run marks. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blocker.h"
#include "cli.h"
#include "clock.h"
#include "db.h"
#include "fulltext.h"
#include "record.h"
#include "stop.h"
#include "transport.h"
#include "store.h"

/* The COPY stream is sent whenever this much is buffered. */
#define COPY_FLUSH_BYTES (1u << 20)
/* Pipelined INSERTs between two syncs: bounded so that neither side's
 * socket buffer fills while the other waits. */
#define INSERT_PIPELINE_DEPTH 256

enum tx_result { TX_OK = 0, TX_FAILED = 1, TX_LOST = -1, TX_UNKNOWN = -2 };

static int by_path(const void *a, const void *b)
{
	const store_item *x = *(store_item *const *)a, *y = *(store_item *const *)b;
	int c = strcmp(dp_record_str(x->rec, "path"), dp_record_str(y->rec, "path"));

	/* Stable for equal paths: the later record is written last and wins. */
	return c != 0 ? c : (x < y ? -1 : x > y);
}

/* Runs sql with binary array parameters held in s->buf (and s->buf2,
 * s->buf3, s->buf4). */
static PGresult *exec_arrays(store *s, const char *sql, int nparams, const Oid *types,
			     dp_err *err)
{
	store_buf *bufs[] = {&s->buf, &s->buf2, &s->buf3, &s->buf4};
	const char *values[4];
	int lengths[4], formats[4] = {1, 1, 1, 1};

	for (int i = 0; i < nparams; i++) {
		if (bufs[i]->overflow || bufs[i]->len > INT32_MAX) {
			dp_err_set(err, "parameter too large or out of memory");
			return NULL;
		}
		values[i] = (const char *)bufs[i]->data;
		lengths[i] = (int)bufs[i]->len;
	}
	PGresult *res = PQexecParams(s->db, sql, nparams, types, values, lengths, formats, 0);
	if (res == NULL || (PQresultStatus(res) != PGRES_TUPLES_OK &&
			    PQresultStatus(res) != PGRES_COMMAND_OK)) {
		dp_db_err(err, s->db, res, "query failed");
		PQclear(res);
		return NULL;
	}
	return res;
}

/* exec_arrays with one parameter, the text array strings[0..n). */
static PGresult *exec_text_array(store *s, const char *sql, const char *const *strings, size_t n,
				 dp_err *err)
{
	static const Oid types[] = {DP_OID_TEXT_ARRAY};

	store_buf_reset(&s->buf);
	store_value_text_array(&s->buf, strings, n);
	return exec_arrays(s, sql, 1, types, err);
}

/* The record's seq (a hub's whole number, dp_record_seq_valid) in *out.
 * Returns 1, or 0 when it has none. */
static int record_seq(jv rec, long long *out)
{
	double seq;

	if (dp_record_num(rec, "seq", &seq) < 0 || !dp_record_seq_valid(seq))
		return 0;
	*out = (long long)seq;
	return 1;
}

/* How row r of res (store_find_unchanged's: a stored version or a
 * tombstone, with its stream and seq) compares with item's stream and
 * seq: 1 when it is of that stream with a higher seq, 0 with the same seq,
 * -1 otherwise (another stream, a lower seq, or no stream or seq). */
static int in_stream(const store_item *item, const PGresult *res, int r)
{
	const char *stream = dp_record_str(item->rec, "stream");
	long long seq;

	if (stream == NULL || PQgetisnull(res, r, 5) || PQgetisnull(res, r, 6) ||
	    !record_seq(item->rec, &seq) || strcmp(stream, PQgetvalue(res, r, 5)) != 0)
		return -1;
	long long stored = atoll(PQgetvalue(res, r, 6));
	return stored > seq ? 1 : stored == seq ? 0 : -1;
}

int store_find_unchanged(store *s, store_item **items, size_t n, dp_err *err)
{
	const char **paths = malloc((n > 0 ? n : 1) * sizeof *paths);
	size_t np = 0;

	if (paths == NULL) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (items[i]->kind == STORE_ITEM_DOCUMENT && items[i]->doc.hash != NULL)
			paths[np++] = items[i]->doc.path;
	if (np == 0) {
		free(paths);
		return 0;
	}
	PGresult *res = exec_text_array(s,
		"SELECT path, id, content_hash, fingerprint, chunk_count, last_stream, last_seq,"
		" COALESCE(updated_at = last_seen, false), created_at = updated_at"
		" FROM docpipe.documents WHERE path = ANY($1)"
		" UNION ALL SELECT path, NULL, NULL, NULL, NULL, stream, seq, false, false"
		" FROM docpipe.tombstones WHERE path = ANY($1)", paths, np, err);
	free(paths);
	if (res == NULL)
		return -1;
	for (int r = 0; r < PQntuples(res); r++) {
		const char *path = PQgetvalue(res, r, 0);
		for (size_t i = 0; i < n; i++) {
			store_doc *d = &items[i]->doc;
			if (items[i]->kind != STORE_ITEM_DOCUMENT || d->hash == NULL ||
			    items[i]->status != NULL || strcmp(d->path, path) != 0)
				continue;
			int order = in_stream(items[i], res, r);
			if (order > 0) {
				store_item_supersede(items[i]);
				continue;
			}
			if (PQgetisnull(res, r, 2) || PQgetisnull(res, r, 3) ||
			    strcmp(d->hash, PQgetvalue(res, r, 2)) != 0 ||
			    strcmp(d->fingerprint, PQgetvalue(res, r, 3)) != 0)
				continue;
			/* A copy of the record whose upsert wrote the row (its
			 * stream and seq; updated_at is last_seen after an upsert
			 * alone: mark_run sets last_seen only): a store replica
			 * that wrote it died before its receipt left, and the hub
			 * re-sent the record.  Its outcome is that write's, not
			 * "unchanged": a first run over an empty database said
			 * "2996 added, 4 unchanged" (fault sweep 26). */
			int written = order == 0 && PQgetvalue(res, r, 7)[0] == 't';
			items[i]->status = written ? "stored" : "unchanged";
			items[i]->created = written && PQgetvalue(res, r, 8)[0] == 't';
			items[i]->id = atoll(PQgetvalue(res, r, 1));
			items[i]->chunks = PQgetisnull(res, r, 4) ? 0 : atoll(PQgetvalue(res, r, 4));
		}
	}
	PQclear(res);
	return 0;
}

/* Fails documents embedded differently from the corpus (claiming the
 * corpus identity first if it has none).  Returns 0 or -1 with err. */
static int check_embedders(store *s, store_item **items, size_t n, dp_err *err)
{
	for (size_t i = 0; i < n; i++) {
		store_doc *d = &items[i]->doc;
		if (items[i]->kind != STORE_ITEM_DOCUMENT || items[i]->status != NULL || d->dim == 0)
			continue;
		if (s->embedder[0] == '\0' && store_claim_settings(s, d->embedder, d->dim, err) < 0)
			return -1;
		if (strcmp(d->embedder, s->embedder) != 0 || d->dim != s->dim) {
			char why[DP_ERR_MAX];
			snprintf(why, sizeof why,
				 "embedded with %s (dim %d) but the corpus uses %s (dim %d); "
				 "re-embed the whole corpus (see docpipe-store(1))",
				 d->embedder, d->dim, s->embedder, s->dim);
			store_item_fail(items[i], why);
		}
	}
	return 0;
}

/* A path's versions can reach the store out of order: a hub's replicas,
 * a stage's threads or a re-sent copy can finish an older version after a
 * newer one, and a delete passes a document a slow stage still holds.
 * A hub (and docpipe-watch) numbers the records as they come (seq) within
 * its stream, a name of its own that no other process shares (a run label
 * may be given again, and its seq start again at 0): a row or tombstone of
 * the same stream with a higher seq supersedes the record.  store_find_unchanged finds both for
 * the whole batch in its one statement (a subquery per upsert cost the
 * server ~20 us per document); the upsert's WHERE still refuses a row a
 * concurrent store wrote meanwhile (it then writes and returns nothing).
 * Across streams (or without stream and seq, as in a plain pipeline) the
 * last record to arrive wins, as before. */
static const char upsert_sql[] =
	"INSERT INTO docpipe.documents AS d (path, root, content_hash, fingerprint, summary,"
	" summarizer, chunker, embedder, dim, chunk_count, size, mtime, metadata, last_run,"
	" last_stream, last_seq, last_seen)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::int, $10::int, $11::bigint,"
	" to_timestamp($12::float8), $13::jsonb, $14, $15, $16::bigint, now())"
	" ON CONFLICT (path) DO UPDATE SET root = EXCLUDED.root,"
	" content_hash = EXCLUDED.content_hash, fingerprint = EXCLUDED.fingerprint,"
	" summary = EXCLUDED.summary, summarizer = EXCLUDED.summarizer,"
	" chunker = EXCLUDED.chunker, embedder = EXCLUDED.embedder, dim = EXCLUDED.dim,"
	" chunk_count = EXCLUDED.chunk_count, size = EXCLUDED.size, mtime = EXCLUDED.mtime,"
	" metadata = EXCLUDED.metadata, last_run = COALESCE(EXCLUDED.last_run, d.last_run),"
	" last_stream = EXCLUDED.last_stream, last_seq = EXCLUDED.last_seq, last_seen = now(),"
	" updated_at = now()"
	" WHERE EXCLUDED.last_stream IS NULL OR d.last_stream IS DISTINCT FROM EXCLUDED.last_stream"
	" OR d.last_seq IS NULL OR EXCLUDED.last_seq IS NULL OR d.last_seq <= EXCLUDED.last_seq"
	/* xmax is 0 on a row this statement inserted, set on one it updated. */
	" RETURNING id, xmax = 0";

/* Deletes the path's row unless a newer version of the same stream is
 * stored, and leaves a tombstone (run, stream, seq) that refuses that
 * stream's older versions still on their way.  Returns one row: the id
 * deleted (or NULL), and whether a newer version was kept (the delete is
 * superseded).  Every sub-statement sees the table as it was before the
 * delete. */
static const char delete_path_sql[] =
	"WITH del AS (DELETE FROM docpipe.documents WHERE path = $1 AND ($3::text IS NULL"
	"  OR $4::bigint IS NULL OR last_stream IS DISTINCT FROM $3 OR last_seq IS NULL"
	"  OR last_seq < $4::bigint) RETURNING id),"
	" tomb AS (INSERT INTO docpipe.tombstones AS t (path, run, stream, seq)"
	"  SELECT $1, $2, $3, $4::bigint WHERE $3::text IS NOT NULL AND $4::bigint IS NOT NULL"
	"  ON CONFLICT (path) DO UPDATE SET run = EXCLUDED.run, stream = EXCLUDED.stream,"
	"  seq = EXCLUDED.seq WHERE t.stream IS DISTINCT FROM EXCLUDED.stream OR t.seq < EXCLUDED.seq)"
	" SELECT (SELECT id FROM del),"
	" EXISTS (SELECT 1 FROM docpipe.documents WHERE path = $1) AND NOT EXISTS (SELECT 1 FROM del)";

/* The per-document statements: sent once per document, so with COPY they
 * are parsed and planned once per connection (a named, protocol-level
 * prepared statement) instead of once per document. */
enum row_statement { ROW_UPSERT, ROW_DELETE };
static const struct {
	const char *name, *sql;
	int nparams;
} row_statements[] = {
	[ROW_UPSERT] = {"docpipe_upsert", upsert_sql, 16},
	[ROW_DELETE] = {"docpipe_delete_path", delete_path_sql, 4},
};

#define ROW_STATEMENTS ((int)(sizeof row_statements / sizeof row_statements[0]))

/* Prepares the row statements this connection lacks: s->prepared counts
 * those done (cleared by reset_connection), so a failure part-way resumes
 * where it stopped instead of preparing a name twice.  A prepared
 * statement outlives a rolled-back transaction.  Outside pipeline mode.
 * --write-method insert (for PGlite) keeps unnamed statements: nothing to
 * prepare; so does a pooled connection (dp_db_pooled), whose next
 * transaction may run on a server session that never saw them.  Returns 0
 * or -1 with err. */
static int prepare_row_statements(store *s, dp_err *err)
{
	if (s->opt.method != STORE_WRITE_COPY || dp_db_pooled())
		return 0;
	for (int i = s->prepared; i < ROW_STATEMENTS; i++) {
		PGresult *res = PQprepare(s->db, row_statements[i].name, row_statements[i].sql,
					  row_statements[i].nparams, NULL);
		if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
			dp_db_err(err, s->db, res, "preparing a statement");
			PQclear(res);
			return -1;
		}
		PQclear(res);
		s->prepared = i + 1;
	}
	return 0;
}

/* Sends statement st with text params (in pipeline mode): prepared when
 * prepare_row_statements prepared it, else unnamed.  The send's result. */
static int send_row_statement(store *s, enum row_statement st, const char *const *params)
{
	if (s->prepared == ROW_STATEMENTS)
		return PQsendQueryPrepared(s->db, row_statements[st].name, row_statements[st].nparams,
					   params, NULL, NULL, 0);
	return PQsendQueryParams(s->db, row_statements[st].sql, row_statements[st].nparams, NULL,
				 params, NULL, NULL, 0);
}

/* Sends (in pipeline mode) the upsert of a document's row or the delete
 * of a path.  The upsert also locks the row, so two stores writing one
 * path take turns.  Returns 0 or -1 with err. */
static int send_row_change(store *s, const store_item *item, dp_err *err)
{
	const store_doc *d = &item->doc;
	const char *run = dp_record_str(item->rec, "run"), *stream = dp_record_str(item->rec, "stream");
	char seq[24];
	long long n;
	/* A seq orders only within a stream. */
	int sent, has_seq = stream != NULL && record_seq(item->rec, &n);

	snprintf(seq, sizeof seq, "%lld", has_seq ? n : 0LL);

	if (item->kind == STORE_ITEM_DELETE) {
		const char *params[] = {dp_record_str(item->rec, "path"), run, stream, has_seq ? seq : NULL};
		sent = send_row_statement(s, ROW_DELETE, params);
	} else {
		char dim[16], count[24], size[32], mtime[48];
		jv meta = jv_get_kind(d->meta) == JV_KIND_OBJECT ? dp_record_dump(jv_copy(d->meta)) : jv_null();
		const char *params[] = {
			d->path, d->root, d->hash, d->fingerprint, d->summary, d->summarizer, d->chunker,
			d->embedder, d->dim > 0 ? dim : NULL, count, d->has_size ? size : NULL,
			d->has_mtime ? mtime : NULL,
			jv_get_kind(meta) == JV_KIND_STRING ? jv_string_value(meta) : NULL,
			run, stream, has_seq ? seq : NULL,
		};
		snprintf(dim, sizeof dim, "%d", d->dim);
		snprintf(count, sizeof count, "%zu", d->nchunks);
		snprintf(size, sizeof size, "%.0f", d->size);
		snprintf(mtime, sizeof mtime, "%.6f", d->mtime);
		sent = send_row_statement(s, ROW_UPSERT, params);
		jv_free(meta);
	}
	if (!sent)
		dp_db_err(err, s->db, NULL, "sending a document");
	return sent ? 0 : -1;
}

/* Takes the result of send_row_change: no row from an upsert, or a delete
 * that kept a newer row, is a record superseded (upsert_sql). */
static void took_row_change(store_item *item, const PGresult *res)
{
	int rows = PQntuples(res) > 0 && PQnfields(res) > 1;

	item->id = rows ? atoll(PQgetvalue(res, 0, 0)) : 0;
	if (item->kind == STORE_ITEM_DELETE) {
		if (rows && PQgetvalue(res, 0, 1)[0] == 't')
			store_item_supersede(item);
		else
			item->status = "deleted";
	} else if (!rows) {
		store_item_supersede(item);
	} else {
		item->created = PQgetvalue(res, 0, 1)[0] == 't';
	}
}

static int delete_old_chunks(store *s, const int64_t *ids, size_t n, dp_err *err)
{
	if (n == 0)
		return 0;
	store_buf_reset(&s->buf);
	store_value_i64_array(&s->buf, ids, n);
	Oid types[] = {DP_OID_INT8_ARRAY};
	PGresult *res = exec_arrays(s, "DELETE FROM docpipe.chunks WHERE document_id = ANY($1)", 1,
				    types, err);
	PQclear(res);
	return res == NULL ? -1 : 0;
}

static int copy_send(store *s, dp_err *err)
{
	if (s->buf.len == 0)
		return 0;
	if (PQputCopyData(s->db, (const char *)s->buf.data, (int)s->buf.len) != 1) {
		dp_db_err(err, s->db, NULL, "COPY");
		return -1;
	}
	store_buf_reset(&s->buf);
	return 0;
}

/* Ends the COPY (abort_reason non-NULL: cancels it) and reads its result.
 * abort_reason may be err->msg: it is copied before err is written. */
static int copy_finish(store *s, const char *abort_reason, dp_err *err)
{
	char reason[DP_ERR_MAX];
	int rc = 0;

	if (abort_reason != NULL) {
		snprintf(reason, sizeof reason, "%s", abort_reason);
		abort_reason = reason;
	}
	if (PQputCopyEnd(s->db, abort_reason) != 1) {
		dp_db_err(err, s->db, NULL, "COPY");
		rc = -1;
	}
	PGresult *res;
	while ((res = PQgetResult(s->db)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0) {
			dp_db_err(err, s->db, res, "COPY");
			rc = -1;
		}
		PQclear(res);
	}
	if (abort_reason != NULL && rc == 0) {
		dp_err_set(err, "%s", abort_reason);
		rc = -1;
	}
	return rc;
}

int store_copy_begin(store *s, const char *sql, dp_err *err)
{
	PGresult *res = PQexec(s->db, sql);

	if (res == NULL || PQresultStatus(res) != PGRES_COPY_IN) {
		dp_db_err(err, s->db, res, "COPY");
		PQclear(res);
		return -1;
	}
	PQclear(res);
	store_buf_reset(&s->buf);
	store_copy_header(&s->buf);
	return 0;
}

int store_copy_row_done(store *s, dp_err *err)
{
	if (s->buf.overflow)
		return store_copy_abort(s, "a chunk does not fit in the COPY buffer", err);
	if (s->buf.len >= COPY_FLUSH_BYTES && copy_send(s, err) < 0)
		return store_copy_abort(s, err->msg, err);
	return 0;
}

int store_copy_abort(store *s, const char *why, dp_err *err)
{
	copy_finish(s, why, err);
	return -1;
}

int store_copy_end(store *s, dp_err *err)
{
	store_copy_trailer(&s->buf);
	if (copy_send(s, err) < 0)
		return copy_finish(s, err->msg, err);
	return copy_finish(s, NULL, err);
}

/* A chunk's columns after embedding, in the order of chunk_columns. */
#define PROVENANCE_COLUMNS 6

/* One row; the tsvector (when the store computes it) from d->tsv. */
static void copy_chunk_row(store *s, int64_t id, const store_doc *d, const store_chunk *c)
{
	const int lines[] = {c->line_start, c->line_end, c->page_start, c->page_end};

	store_copy_row(&s->buf, 7 + PROVENANCE_COLUMNS + (s->lexer != NULL));
	store_field_i64(&s->buf, id);
	store_field_i32(&s->buf, c->seq);
	store_field_text(&s->buf, c->text, c->text_len);
	store_field_text_array(&s->buf, c->heading);
	if (c->tokens >= 0)
		store_field_i32(&s->buf, c->tokens);
	else
		store_field_null(&s->buf);
	if (c->summary != NULL)
		store_field_text(&s->buf, c->summary, c->summary_len);
	else
		store_field_null(&s->buf);
	if (c->vec == NULL)
		store_field_null(&s->buf);
	else if (s->vtype == STORE_VT_VECTOR)
		store_field_vector(&s->buf, c->vec, (size_t)d->dim);
	else if (s->vtype == STORE_VT_HALFVEC)
		store_field_halfvec(&s->buf, c->vec, (size_t)d->dim);
	else
		store_field_float4_array(&s->buf, c->vec, (size_t)d->dim);
	if (c->byte_start >= 0)
		store_field_i64(&s->buf, c->byte_start);
	else
		store_field_null(&s->buf);
	if (c->byte_end >= 0)
		store_field_i64(&s->buf, c->byte_end);
	else
		store_field_null(&s->buf);
	for (size_t k = 0; k < sizeof lines / sizeof lines[0]; k++) {
		if (lines[k] >= 0)
			store_field_i32(&s->buf, lines[k]);
		else
			store_field_null(&s->buf);
	}
	if (s->lexer != NULL)
		store_field_text(&s->buf, d->tsv.data + c->tsv_at, c->tsv_len);
}

/* The COPY of chunk rows, by whether the store sends the tsvector. */
#define COPY_CHUNKS(TSV) \
	"COPY docpipe.chunks (document_id, seq, content, heading, tokens, summary, embedding," \
	" byte_start, byte_end, line_start, line_end, page_start, page_end" TSV ")" \
	" FROM STDIN (FORMAT binary)"

/* Lexes d's chunks on this thread when the store lexes and the feed did
 * not: in a re-run the feed leaves them to the writer, which lexes only
 * those it writes (feed.c, lex_here); items made without a feed (the unit
 * tests). */
static int ensure_tsv(store *s, store_doc *d, dp_err *err)
{
	if (s->lexer == NULL || d->nchunks == 0 || d->tsv.data != NULL)
		return 0;
	return store_fulltext_lex(s->lexer, d, err);
}

static int copy_chunks(store *s, store_item **written, size_t n, dp_err *err)
{
	if (store_copy_begin(s, s->lexer != NULL ? COPY_CHUNKS(", tsv") : COPY_CHUNKS(""), err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		store_doc *d = &written[i]->doc;
		if (ensure_tsv(s, d, err) < 0)
			return store_copy_abort(s, err->msg, err);
		for (size_t k = 0; k < d->nchunks; k++) {
			copy_chunk_row(s, written[i]->id, d, &d->chunks[k]);
			if (store_copy_row_done(s, err) < 0)
				return -1;
		}
	}
	return store_copy_end(s, err);
}

/* Text form of a vector for the INSERT path: "[a,b]" for pgvector, "{a,b}"
 * for real[].  %.9g keeps every float32 exact. */
static char *vector_text(const float *v, int dim, enum store_vector_type t)
{
	size_t cap = (size_t)dim * 17 + 3, o = 0;
	char *text = malloc(cap);

	if (text == NULL)
		return NULL;
	text[o++] = t == STORE_VT_REAL ? '{' : '[';
	for (int i = 0; i < dim; i++)
		o += (size_t)snprintf(text + o, cap - o, "%s%.9g", i > 0 ? "," : "", (double)v[i]);
	text[o++] = t == STORE_VT_REAL ? '}' : ']';
	text[o] = '\0';
	return text;
}

/* Reads results up to the pipeline's sync; keeps the first error.  Each
 * successful result of query i (counted from *next) goes to took(items[i]). */
static int pipeline_drain(store *s, int *failed, store_item **items, size_t *next,
			  void (*took)(store_item *, const PGresult *), dp_err *err)
{
	for (;;) {
		PGresult *res = PQgetResult(s->db);
		if (res == NULL) {
			/* NULL ends each query's results, and comes for ever
			 * once libpq marked the connection bad (a failure
			 * before that comes as an error result: below). */
			if (PQstatus(s->db) == CONNECTION_BAD) {
				dp_db_err(err, s->db, NULL, "INSERT");
				return -1;
			}
			continue; /* end of one query's results */
		}
		ExecStatusType st = PQresultStatus(res);
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			return 0;
		}
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && !*failed) {
			dp_db_err(err, s->db, res, took != NULL ? "document" : "INSERT");
			*failed = 1;
		}
		if (took != NULL && !*failed)
			took(items[*next], res);
		if (next != NULL)
			++*next;
		PQclear(res);
		if (st == PGRES_FATAL_ERROR && dp_db_lost(s->db))
			return -1;
	}
}

/* The INSERT of one chunk, by vector type (the cast of $7 differs) and
 * whether the store sends the tsvector ($14, binary). */
#define INSERT_CHUNK(type, TCOL, TVAL) \
	"INSERT INTO docpipe.chunks (document_id, seq, content, heading, tokens, summary, embedding," \
	" byte_start, byte_end, line_start, line_end, page_start, page_end" TCOL ")" \
	" VALUES ($1::bigint, $2::int, $3, ARRAY(SELECT jsonb_array_elements_text($4::jsonb))," \
	" $5::int, $6, $7::" type ", $8::bigint, $9::bigint, $10::int, $11::int, $12::int, $13::int" TVAL ")"
#define INSERT_CHUNK_BY_TSV(type) \
	{INSERT_CHUNK(type, "", ""), INSERT_CHUNK(type, ", tsv", ", $14::tsvector")}
static const char *const insert_sql[][2] = {
	[STORE_VT_VECTOR] = INSERT_CHUNK_BY_TSV("vector"),
	[STORE_VT_HALFVEC] = INSERT_CHUNK_BY_TSV("halfvec"),
	[STORE_VT_REAL] = INSERT_CHUNK_BY_TSV("real[]"),
};

/* Text of an optional integer (NULL when negative: absent) in buf. */
static const char *opt_int(char *buf, size_t size, long long v)
{
	if (v < 0)
		return NULL;
	snprintf(buf, size, "%lld", v);
	return buf;
}

/* Sends the INSERT of chunk c of d: its 13 text parameters and, when the
 * store computes the tsvector, d's binary value as $14.  0, or -1 with
 * err. */
static int send_insert(store *s, const char *const *params, const store_doc *d,
		       const store_chunk *c, dp_err *err)
{
	const char *values[14];
	int lengths[14] = {0}, formats[14] = {0}, np = 13;

	memcpy(values, params, 13 * sizeof *values);
	if (s->lexer != NULL) {
		if (c->tsv_len > INT32_MAX) {
			dp_err_set(err, "a chunk's tsvector is too large");
			return -1;
		}
		values[13] = d->tsv.data + c->tsv_at;
		lengths[13] = (int)c->tsv_len;
		formats[13] = 1;
		np = 14;
	}
	if (!PQsendQueryParams(s->db, insert_sql[s->vtype][s->lexer != NULL], np, NULL, values, lengths,
			       formats, 0)) {
		dp_db_err(err, s->db, NULL, "INSERT");
		return -1;
	}
	return 0;
}

static int insert_chunk(store *s, int64_t id, const store_doc *d, const store_chunk *c, dp_err *err)
{
	char ids[24], seq[16], tokens[16], prov[PROVENANCE_COLUMNS][24];
	jv heading = jv_get_kind(c->heading) == JV_KIND_ARRAY ? dp_record_dump(jv_copy(c->heading)) : jv_null();
	char *text = c->text_len > 0 ? strndup(c->text, c->text_len) : strdup("");
	char *summary = c->summary != NULL ? strndup(c->summary, c->summary_len) : NULL;
	char *vec = c->vec != NULL ? vector_text(c->vec, d->dim, s->vtype) : NULL;
	const char *params[] = {ids, seq, text, jv_get_kind(heading) == JV_KIND_STRING ? jv_string_value(heading) : NULL,
				c->tokens >= 0 ? tokens : NULL, summary, vec,
				opt_int(prov[0], sizeof prov[0], c->byte_start),
				opt_int(prov[1], sizeof prov[1], c->byte_end),
				opt_int(prov[2], sizeof prov[2], c->line_start),
				opt_int(prov[3], sizeof prov[3], c->line_end),
				opt_int(prov[4], sizeof prov[4], c->page_start),
				opt_int(prov[5], sizeof prov[5], c->page_end)};
	int rc = 0;

	snprintf(ids, sizeof ids, "%lld", (long long)id);
	snprintf(seq, sizeof seq, "%d", c->seq);
	snprintf(tokens, sizeof tokens, "%d", c->tokens);
	if (text == NULL || (c->summary != NULL && summary == NULL) || (c->vec != NULL && vec == NULL)) {
		dp_err_set(err, "out of memory");
		rc = -1;
	} else if (send_insert(s, params, d, c, err) < 0) {
		rc = -1;
	}
	jv_free(heading);
	free(text);
	free(summary);
	free(vec);
	return rc;
}

static int insert_chunks(store *s, store_item **written, size_t n, dp_err *err)
{
	int failed = 0, rc = 0, pending = 0;

	if (!PQenterPipelineMode(s->db)) {
		dp_db_err(err, s->db, NULL, "pipeline mode");
		return -1;
	}
	for (size_t i = 0; i < n && rc == 0 && !failed; i++) {
		store_doc *d = &written[i]->doc;
		if (ensure_tsv(s, d, err) < 0) {
			failed = 1;
			break;
		}
		for (size_t k = 0; k < d->nchunks && rc == 0 && !failed; k++) {
			if (insert_chunk(s, written[i]->id, d, &d->chunks[k], err) < 0) {
				failed = 1;
				break;
			}
			if (++pending == INSERT_PIPELINE_DEPTH) {
				pending = 0;
				if (!PQpipelineSync(s->db) || pipeline_drain(s, &failed, NULL, NULL, NULL, err) < 0)
					rc = -1;
			}
		}
	}
	if (rc == 0 && (!PQpipelineSync(s->db) || pipeline_drain(s, &failed, NULL, NULL, NULL, err) < 0))
		rc = -1;
	if (rc == 0 && !PQexitPipelineMode(s->db)) {
		dp_db_err(err, s->db, NULL, "pipeline mode");
		rc = -1;
	}
	return rc < 0 || failed ? -1 : 0;
}

/* Sets last_run (and last_seen) on the documents of unchanged and failed
 * items, so a sweep keeps files that still exist, and last_stream and
 * last_seq, so that an older version of the same stream still on its way
 * is superseded (upsert_sql): a version found unchanged is as new as one
 * written. */
static int mark_run(store *s, store_item **items, size_t n, dp_err *err)
{
	const char **paths = malloc((n > 0 ? n : 1) * sizeof *paths);
	const char **runs = malloc((n > 0 ? n : 1) * sizeof *runs);
	const char **streams = malloc((n > 0 ? n : 1) * sizeof *streams);
	int64_t *seqs = malloc((n > 0 ? n : 1) * sizeof *seqs);
	size_t m = 0;
	int rc = 0;

	if (paths == NULL || runs == NULL || streams == NULL || seqs == NULL) {
		dp_err_set(err, "out of memory");
		rc = -1;
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		const store_item *it = items[i];
		/* Failed covers error records and documents refused here: the
		 * file exists, it only failed this time. */
		int is_unchanged = it->status != NULL && strcmp(it->status, "unchanged") == 0;
		int is_failed = it->status != NULL && strcmp(it->status, "failed") == 0;
		const char *path = dp_record_str(it->rec, "path");
		const char *run = dp_record_str(it->rec, "run");
		const char *stream = dp_record_str(it->rec, "stream");
		long long seq;
		if ((is_unchanged || is_failed) && path != NULL && run != NULL) {
			paths[m] = path;
			runs[m] = run;
			streams[m] = stream != NULL ? stream : ""; /* NULLIF below */
			seqs[m++] = stream != NULL && record_seq(it->rec, &seq) ? (int64_t)seq : -1;
		}
	}
	if (m > 0) {
		store_buf_reset(&s->buf);
		store_buf_reset(&s->buf2);
		store_buf_reset(&s->buf3);
		store_buf_reset(&s->buf4);
		store_value_text_array(&s->buf, paths, m);
		store_value_text_array(&s->buf2, runs, m);
		store_value_text_array(&s->buf3, streams, m);
		store_value_i64_array(&s->buf4, seqs, m);
		Oid types[] = {DP_OID_TEXT_ARRAY, DP_OID_TEXT_ARRAY, DP_OID_TEXT_ARRAY, DP_OID_INT8_ARRAY};
		PGresult *res = exec_arrays(s,
			"UPDATE docpipe.documents d SET last_run = u.run,"
			" last_stream = NULLIF(u.stream, ''), last_seq = NULLIF(u.seq, -1), last_seen = now()"
			" FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[]) AS u(path, run, stream, seq)"
			" WHERE d.path = u.path AND (d.last_run IS DISTINCT FROM u.run"
			"  OR d.last_stream IS DISTINCT FROM NULLIF(u.stream, '')"
			"  OR d.last_seq IS NULL OR d.last_seq < u.seq)", 4, types, err);
		rc = res == NULL ? -1 : 0;
		PQclear(res);
	}
done:
	free(paths);
	free(runs);
	free(streams);
	free(seqs);
	return rc;
}

/* Records, in the batch's transaction, when the first write of each run
 * of the batch began (docpipe.run_starts; the earliest of every store's),
 * unless this store did already for that run (s->run_registered): the
 * sweep of a run keeps the documents another writer (a concurrent run, a
 * watcher) saw since then, although their last_run is not its own
 * (sweep.c).  The run registered, if one, goes to *registered, to be kept
 * once the transaction commits. */
static int register_runs(store *s, store_item **items, size_t n, char registered[STORE_RUN_MAX],
			 dp_err *err)
{
	const char **runs = malloc((n > 0 ? n : 1) * sizeof *runs);
	size_t m = 0;

	registered[0] = '\0';
	if (runs == NULL) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const char *run = dp_record_str(items[i]->rec, "run");
		if (run != NULL && strcmp(run, s->run_registered) != 0 &&
		    (m == 0 || strcmp(run, runs[m - 1]) != 0))
			runs[m++] = run;
	}
	int rc = 0;
	if (m > 0) {
		PGresult *res = exec_text_array(s,
			"INSERT INTO docpipe.run_starts AS r (run, started_at)"
			" SELECT DISTINCT u, now() FROM unnest($1::text[]) AS u"
			" ON CONFLICT (run) DO UPDATE SET started_at = EXCLUDED.started_at"
			" WHERE r.started_at > EXCLUDED.started_at", runs, m, err);
		rc = res == NULL ? -1 : 0;
		PQclear(res);
		if (rc == 0 && m == 1 && strlen(runs[0]) < STORE_RUN_MAX)
			strcpy(registered, runs[0]);
	}
	free(runs);
	return rc;
}

/* Sends every row change of the batch in one pipeline (one round trip,
 * not one per document) and takes their results. */
static int write_row_changes(store *s, store_item **order, size_t n, dp_err *err)
{
	int failed = 0, rc = 0;
	size_t next = 0;

	if (prepare_row_statements(s, err) < 0)
		return -1;
	if (!PQenterPipelineMode(s->db)) {
		dp_db_err(err, s->db, NULL, "pipeline mode");
		return -1;
	}
	for (size_t i = 0; i < n && !failed; i++) {
		if (send_row_change(s, order[i], err) < 0)
			failed = 1;
		/* Bounded depth, so neither side's socket buffer fills up. */
		if ((i + 1) % INSERT_PIPELINE_DEPTH == 0 && !failed &&
		    (!PQpipelineSync(s->db) || pipeline_drain(s, &failed, order, &next, took_row_change, err) < 0))
			return -1;
	}
	if (!PQpipelineSync(s->db) || pipeline_drain(s, &failed, order, &next, took_row_change, err) < 0)
		return -1;
	if (!PQexitPipelineMode(s->db)) {
		dp_db_err(err, s->db, NULL, "pipeline mode");
		rc = -1;
	}
	return rc < 0 || failed ? -1 : 0;
}

/* Takes a transaction lock on each path of order (the batch's documents
 * and deletes), in one order for every store.  The superseded check reads
 * the path's stored run and seq before the upsert or delete writes it;
 * without the lock, a store replica's delete committed in between (its
 * tombstone unseen, its row gone) let an older version in after it, since
 * READ COMMITTED reads a new snapshot at each statement: with it, the
 * check waits for the other store's transaction and then sees what it
 * wrote.  Returns 0 or -1 with err. */
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define PATH_LOCK_CLASS STRINGIFY(STORE_PATH_LOCK_CLASS)

static int lock_paths(store *s, store_item **order, size_t n, dp_err *err)
{
	const char **paths = malloc((n > 0 ? n : 1) * sizeof *paths);

	if (paths == NULL) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		paths[i] = dp_record_str(order[i]->rec, "path");
	PGresult *res = exec_text_array(s,
		"SELECT pg_advisory_xact_lock(" PATH_LOCK_CLASS ", h) FROM"
		" (SELECT DISTINCT hashtext(p) AS h FROM unnest($1::text[]) AS p ORDER BY 1) x",
		paths, n, err);
	free(paths);
	PQclear(res);
	return res == NULL ? -1 : 0;
}

/* Test hooks (tests/integration/graph_store_poison.sh): the store dies of
 * SIGSEGV (DOCPIPE_TEST_STORE_SEGV_SIZE=N) or SIGKILL, as the OOM killer
 * ends it (DOCPIPE_TEST_STORE_KILL_SIZE=N), inside the transaction, as it
 * is about to write a document whose record says it is N bytes: a
 * document that kills the store every time it is written. */
static void crash_test(store_item **order, size_t n)
{
	static double segv = -1, kill9;

	if (segv < 0) {
		segv = dp_cli_test_hook("DOCPIPE_TEST_STORE_SEGV_SIZE", 0);
		kill9 = dp_cli_test_hook("DOCPIPE_TEST_STORE_KILL_SIZE", 0);
	}
	for (size_t i = 0; i < n && (segv > 0 || kill9 > 0); i++) {
		const store_doc *d = &order[i]->doc;
		if (order[i]->kind != STORE_ITEM_DOCUMENT || !d->has_size || (d->size != segv && d->size != kill9))
			continue;
		if (d->size == segv)
			signal(SIGSEGV, SIG_DFL); /* the kernel's death, not ASan's report */
		raise(d->size == segv ? SIGSEGV : SIGKILL);
	}
}

/* The body of one transaction; the caller begins and ends it. */
static int write_body(store *s, store_item **items, size_t n, store_item **order, int64_t *ids,
		      char registered[STORE_RUN_MAX], dp_err *err)
{
	size_t nw = 0, nd = 0;

	for (size_t i = 0; i < n; i++)
		if (items[i]->kind == STORE_ITEM_DOCUMENT || items[i]->kind == STORE_ITEM_DELETE)
			order[nw++] = items[i];
	/* One lock order for every store: two stores writing the same paths
	 * wait for each other instead of deadlocking. */
	qsort(order, nw, sizeof *order, by_path);
	/* Two records of one path cannot share a transaction: the later one
	 * would be compared with the row as it was before the earlier one,
	 * and their chunks would mix.  Failing here makes store_write redo
	 * the batch one record per transaction, in input order. */
	for (size_t i = 1; i < nw; i++)
		if (strcmp(dp_record_str(order[i - 1]->rec, "path"), dp_record_str(order[i]->rec, "path")) == 0) {
			dp_err_set(err, "two records for one path in a batch");
			return -1;
		}
	if (nw > 0 && lock_paths(s, order, nw, err) < 0)
		return -1;
	if (store_find_unchanged(s, items, n, err) < 0 || check_embedders(s, items, n, err) < 0)
		return -1;
	size_t keep = 0;
	for (size_t i = 0; i < nw; i++)
		if (order[i]->status == NULL)
			order[keep++] = order[i];
	nw = keep;
	crash_test(order, nw);
	if (nw > 0 && write_row_changes(s, order, nw, err) < 0)
		return -1;
	size_t nold = 0;
	for (size_t i = 0; i < nw; i++) {
		if (order[i]->kind != STORE_ITEM_DOCUMENT || order[i]->status != NULL)
			continue;
		/* A row the upsert inserted has a new id (bigserial) that no
		 * chunk references (the foreign key): nothing to delete.  A bulk
		 * load's DELETE found nothing, yet the planner, its statistics
		 * stale while the table grew, scanned the whole table for it in
		 * every batch: quadratic in the load's size (1.2 server CPU-s
		 * of a 100k load; docs/PERFORMANCE.md, session 59). */
		if (!order[i]->created)
			ids[nold++] = order[i]->id;
		order[nd++] = order[i];
	}
	/* Before any chunk is touched: the full-text lock's order after the
	 * schema lock a claim above took (fulltext.h). */
	if (nd > 0 && store_fulltext_check(s, err) < 0)
		return -1;
	if (delete_old_chunks(s, ids, nold, err) < 0)
		return -1;
	size_t nchunks = 0;
	for (size_t i = 0; i < nd; i++)
		nchunks += order[i]->doc.nchunks;
	if (nchunks > 0 && (s->opt.method == STORE_WRITE_COPY ? copy_chunks(s, order, nd, err)
							  : insert_chunks(s, order, nd, err)) < 0)
		return -1;
	s->tsv_pending += (long long)nchunks;
	if (register_runs(s, items, n, registered, err) < 0 || mark_run(s, items, n, err) < 0)
		return -1;
	for (size_t i = 0; i < nd; i++) {
		order[i]->status = "stored";
		order[i]->chunks = (long long)order[i]->doc.nchunks;
	}
	return 0;
}

/* What a write transaction leaves for after its end: its id, to ask what
 * became of it when the answer to its COMMIT was lost, and the run it
 * registered (register_runs), kept once it committed. */
typedef struct tx_state {
	long long xid;
	char registered[STORE_RUN_MAX];
} tx_state;

/* The transaction committed: what it registered is kept. */
static void tx_kept(store *s, const tx_state *tx)
{
	if (tx->registered[0] != '\0')
		strcpy(s->run_registered, tx->registered);
}

/* The transaction rolled back: the corpus identity it claimed is
 * forgotten, and so are the items' outcomes it set. */
static void tx_undone(store *s, store_item **items, size_t n)
{
	if (s->claimed) {
		s->embedder[0] = '\0';
		s->dim = 0;
	}
	for (size_t i = 0; i < n; i++)
		store_item_reset(items[i]);
}

/* One write transaction.  TX_UNKNOWN: the connection was lost after COMMIT
 * was sent, before its answer came; the items keep the outcomes the
 * transaction set, for settle_lost_commit to keep or undo. */
static enum tx_result write_tx(store *s, store_item **items, size_t n, tx_state *tx, dp_err *err)
{
	store_item **order = malloc(n * sizeof *order);
	int64_t *ids = malloc(n * sizeof *ids);
	int rc = -1, committing = 0;

	for (size_t i = 0; i < n; i++)
		store_item_reset(items[i]);
	s->claimed = 0;
	dp_db_forget_sqlstate();
	if (order == NULL || ids == NULL)
		dp_err_set(err, "out of memory");
	else if (dp_db_begin_xid(s->db, STORE_SESSION_SETTINGS, STORE_GIN_SETTINGS "; " STORE_WRITE_SETTINGS,
				 &tx->xid, err) == 0) {
		rc = write_body(s, items, n, order, ids, tx->registered, err);
		committing = rc == 0;
		if (rc == 0)
			rc = dp_db_exec(s->db, "COMMIT", err);
		else
			dp_db_rollback(s->db);
	}
	free(order);
	free(ids);
	if (rc == 0) {
		tx_kept(s, tx);
		return TX_OK;
	}
	if (committing && tx->xid > 0 && dp_db_lost(s->db))
		return TX_UNKNOWN;
	tx_undone(s, items, n);
	return dp_db_lost(s->db) ? TX_LOST : TX_FAILED;
}

/* After the connection was re-made: a partition (no reset came) leaves
 * the server holding the old session, in its transaction, with that
 * transaction's locks (the documents it wrote, the bulk-load lock), on
 * which the retried transaction would wait until the server drops it
 * (its keepalives: two hours by default).  Ends it, then notes the new
 * one.  A failure is said and left: the write that follows waits or
 * fails as it would have. */
static void end_old_session(store *s)
{
	dp_db_session old = s->session;
	dp_err why;
	int ended = dp_db_session_end(s->db, &old, &why);

	if (ended > 0)
		dp_diag("the server still held the store's session from before the connection was "
			"lost (pid %d), with its transaction open: ended it (that transaction is "
			"rolled back and written again)", old.pid);
	else if (ended < 0 && !dp_db_lost(s->db))
		dp_diag("the server may still hold the store's session from before the connection "
			"was lost (pid %d); its locks hold writes up until the server drops it: %s",
			old.pid, why.msg);
	if (dp_db_lost(s->db) || dp_db_session_get(s->db, &s->session, &why) < 0)
		s->session = old; /* lost again: the next reset tries again */
}

static int reset_connection(void *ctx, dp_err *err)
{
	store *s = ctx;

	s->prepared = 0; /* a new session has none */
	/* An outage says itself (store_patiently): nothing to explain. */
	store_blocker_backend(s->opt.blocker, 0);
	if (dp_db_reset(s->db, err) < 0 || dp_db_session_set(s->db, STORE_SESSION_SETTINGS, err) < 0)
		return -1;
	store_blocker_backend(s->opt.blocker, dp_db_backend_pid(s->db));
	end_old_session(s);
	return 0;
}

static int unpark_attempt(void *ctx, dp_err *err)
{
	store *s = ctx;
	dp_err ignored;

	if ((s->db = dp_db_connect(s->opt.db_env, "docpipe-store", err)) == NULL) {
		char why[DP_ERR_MAX];
		snprintf(why, sizeof why, "%s", err->msg);
		dp_err_set(err, "its connection closed while idle, could not reconnect: %s", why);
		return -1;
	}
	if (dp_db_session_set(s->db, STORE_SESSION_SETTINGS, err) < 0) {
		PQfinish(s->db);
		s->db = NULL;
		return -1;
	}
	store_blocker_backend(s->opt.blocker, dp_db_backend_pid(s->db));
	dp_db_session_get(s->db, &s->session, &ignored);
	return 0;
}

void store_park(store *s)
{
	if (s->db == NULL || s->bulk || s->tsv_pending > 0)
		return;
	store_fulltext_park(s);
	store_blocker_backend(s->opt.blocker, 0);
	PQfinish(s->db);
	s->db = NULL;
	s->prepared = 0; /* a new session has none */
}

int store_unpark(store *s, dp_err *err)
{
	if (s->db != NULL)
		return 0;
	return store_patiently(unpark_attempt, s, s->db_retry, err);
}

int store_reconnect(store *s, int *lost, dp_err *err)
{
	if (!dp_db_lost(s->db) || store_patiently(reset_connection, s, s->db_retry, err) < 0)
		return 0;
	if (++*lost < STORE_LOST_MAX)
		return 1;
	dp_err_set(err, "the database connection was lost %d times in a row on the same work, the"
			" database back each time: the server fails on it (a crash, the OOM killer?)",
		   *lost);
	return 0;
}

int store_untimed_begin(store *s, dp_err *err)
{
	if (dp_db_begin(s->db, STORE_SESSION_SETTINGS, DP_DB_UNTIMED, err) == 0)
		return 0;
	dp_db_rollback(s->db);
	return -1;
}

int store_untimed_end(store *s, int rc, dp_err *err)
{
	return dp_db_end(s->db, rc, err);
}

/* Whether a transaction failed on another session's doing, which
 * PostgreSQL says to retry: a deadlock (40P01), a serialization failure
 * (40001: a SERIALIZABLE session of the role's, or a server's, despite
 * session_setup) or a lock not granted within the database's or role's
 * lock_timeout (55P03). */
static int conflict_state(const char *st)
{
	return strcmp(st, "40P01") == 0 || strcmp(st, "40001") == 0 || strcmp(st, "55P03") == 0;
}

/* Whether a transaction failed on a named prepared statement that its
 * server session lacks (26000) or already had (42P05): the connection is
 * transaction-pooled (PgBouncer), its transactions run on whichever server
 * session the pool lends.  Then every connection of the store is made
 * pooled (dp_db_pooled_found: unnamed statements, settings per
 * transaction, no old session ended), the session settings sent before
 * are RESET on the server session the pool lends now (dp_db_session_reset:
 * the pool's other clients would get them), said once, and the caller
 * redoes the transaction: no document fails for it. */
static int found_pooled(store *s)
{
	const char *st = dp_db_last_sqlstate();
	char state[6];
	dp_err why;

	if (dp_db_pooled() || (strcmp(st, "26000") != 0 && strcmp(st, "42P05") != 0))
		return 0;
	snprintf(state, sizeof state, "%s", st);
	int first = dp_db_pooled_found();
	/* A lost connection is made again by the redone transaction, pooled:
	 * its new session gets nothing to take back. */
	if (dp_db_session_reset(s->db, STORE_SESSION_SETTINGS, &why) < 0 && !dp_db_lost(s->db))
		dp_diag("the session settings sent before the pooler was found could not be taken"
			" back: %s", why.msg);
	store_fulltext_pooled(s);
	if (first)
		dp_diag("the database connection looks transaction-pooled (PgBouncer?): a prepared"
			" statement is missing from the server session (SQLSTATE %s); writing with"
			" unnamed statements and per-transaction settings from now on, and the"
			" session settings sent before (lock_timeout, idle_in_transaction_session_timeout,"
			" default_transaction_isolation) reset on the server session the pool lent"
			" now. The connection did not look pooled at connect (" DP_DB_POOLED_ENV "=0, or"
			" a pooler that passes the server's process id on): set " DP_DB_POOLED_ENV "=1"
			" for such a URL; other server sessions the pool lent before may keep them, for its other clients (docpipe-store(1), CONNECTION POOLERS)", state);
	s->prepared = 0;
	s->session.pid = 0;
	store_blocker_backend(s->opt.blocker, 0);
	return 1;
}

int store_settle_commit(store *s, long long xid, int *lost, dp_err *err)
{
	double since = dp_clock_ms(), nap_ms = 50;

	for (;;) {
		if (dp_db_lost(s->db) && !store_reconnect(s, lost, err))
			return -1;
		dp_err why;
		int st = dp_db_xid_status(s->db, xid, &why);
		if (st < 0 && dp_db_lost(s->db))
			continue;
		if (st == DP_DB_XID_RUNNING && dp_clock_ms() - since < s->db_retry * 1e3 &&
		    !dp_stop_requested()) {
			dp_stop_nap_ms(nap_ms);
			nap_ms = nap_ms * 2 < 1000 ? nap_ms * 2 : 1000;
			continue;
		}
		if (st == DP_DB_XID_COMMITTED)
			return 1;
		if (st != DP_DB_XID_ABORTED)
			dp_diag("the connection was lost after a COMMIT was sent, and the server cannot tell"
				" whether transaction %lld committed (%s): its work is done again, and what"
				" it wrote may be reported as found", xid,
				st < 0 ? why.msg : st == DP_DB_XID_RUNNING ? "still in progress" : "unknown to it");
		return 0;
	}
}

/* A write transaction whose COMMIT's answer was lost (write_tx's
 * TX_UNKNOWN), settled (store_settle_commit): redone, it found its own
 * rows, and a plain pipeline's records (no stream and seq: nothing tells a
 * copy of the same record) were reported "unchanged" although this very
 * write stored or created them (session 60's leftover).  Returns 1: it
 * committed, the items keep its outcomes; 0: it did not, the items are
 * reset for the caller to redo it; -1: the connection could not be made
 * again (err set), the items reset. */
static int settle_lost_commit(store *s, store_item **items, size_t n, const tx_state *tx, int *lost,
			      dp_err *err)
{
	int settled = store_settle_commit(s, tx->xid, lost, err);

	if (settled > 0)
		tx_kept(s, tx);
	else
		tx_undone(s, items, n);
	return settled;
}

/* One transaction; when the connection is lost, it is re-made (waiting
 * up to --db-retry) and the transaction redone, the items held meanwhile.
 * One that fails on a conflict with other sessions (conflict_state) is
 * redone after a pause that doubles from 50 ms up to 2 s, STORE_CONFLICT_MAX
 * times: two store replicas under a lock_timeout of 20 ms failed
 * documents, and the transaction was the deadlock's victim. */
static enum tx_result write_retrying(store *s, store_item **items, size_t n, dp_err *err)
{
	enum tx_result r;
	int lost = 0, conflicts = 0;
	double pause_ms = 50;
	tx_state tx = {0};

	for (;;) {
		r = write_tx(s, items, n, &tx, err);
		if (r == TX_UNKNOWN) {
			int settled = settle_lost_commit(s, items, n, &tx, &lost, err);
			if (settled > 0)
				return TX_OK;
			if (settled < 0)
				return lost == STORE_LOST_MAX ? TX_FAILED : TX_LOST;
			continue;
		}
		if (r == TX_LOST) {
			if (!store_reconnect(s, &lost, err))
				return lost == STORE_LOST_MAX ? TX_FAILED : TX_LOST;
			continue;
		}
		if (r == TX_FAILED && found_pooled(s))
			continue;
		if (r != TX_FAILED || !conflict_state(dp_db_last_sqlstate()) ||
		    conflicts++ == STORE_CONFLICT_MAX || dp_stop_requested())
			return r;
		/* Spread by the pid: replicas that met one another do not
		 * meet again on the same beat. */
		unsigned spread = ((unsigned)getpid() * 2654435761u + (unsigned)conflicts * 40503u) % 1000;
		dp_stop_nap_ms(pause_ms * (0.5 + spread / 1000.0));
		pause_ms = pause_ms * 2 < 2000 ? pause_ms * 2 : 2000;
	}
}

/* Fails an item whose own transaction failed.  Its stored version (if
 * any) still gets the run mark, outside that transaction, so a sweep keeps
 * it; when even that fails the receipt still tells the failure, and the
 * worst outcome is that a sweep removes the old version.  Returns 1 when
 * this failure makes STORE_SAME_FAILURES in a row with one environmental
 * SQLSTATE (see store_write). */
static int fail_alone(store *s, store_item *item, const char *why)
{
	const char *state = dp_db_last_sqlstate();
	dp_err ignored;

	if (!dp_db_environmental(state) || strcmp(state, s->same_state) != 0)
		s->same_count = 0;
	snprintf(s->same_state, sizeof s->same_state, "%s", state);
	s->same_count += dp_db_environmental(state);
	store_item_fail(item, why);
	if (store_untimed_begin(s, &ignored) == 0)
		store_untimed_end(s, mark_run(s, &item, 1, &ignored), &ignored);
	return s->same_count >= STORE_SAME_FAILURES;
}

int store_write(store *s, store_item *items, size_t n, dp_err *err)
{
	store_item **all = malloc((n > 0 ? n : 1) * sizeof *all);
	int refused = 0;
	dp_err why;

	if (all == NULL) {
		dp_err_set(err, "out of memory");
		return STORE_WRITE_LOST;
	}
	for (size_t i = 0; i < n; i++)
		all[i] = &items[i];
	enum tx_result r = write_retrying(s, all, n, &why);
	/* Not when the corpus's text search configuration changed under the
	 * store (store_fulltext_check, s->text_moved): it stops before writing
	 * anything more (write_batch), and alone its deletes, unchanged
	 * documents and run marks would still be written, with no receipt. */
	for (size_t i = 0; r == TX_FAILED && n > 1 && i < n && !refused && s->text_moved[0] == '\0'; i++) {
		enum tx_result one = write_retrying(s, &all[i], 1, &why);
		if (one == TX_LOST) {
			r = TX_LOST;
			break;
		}
		if (one == TX_FAILED)
			refused = fail_alone(s, all[i], why.msg);
		else
			s->same_count = 0;
	}
	if (r == TX_FAILED && n == 1 && s->text_moved[0] == '\0')
		refused = fail_alone(s, all[0], why.msg);
	else if (r == TX_OK)
		s->same_count = 0;
	free(all);
	if (refused) {
		dp_err_set(err, "%d documents in a row failed the same way (SQLSTATE %s): %s",
			   s->same_count, s->same_state, why.msg);
		if (dp_db_limit_refused(s->same_state, err))
			return STORE_WRITE_CONFIG;
		snprintf(why.msg, sizeof why.msg, "%s", err->msg);
		dp_err_set(err, "%s; the database refuses every write, stopping", why.msg);
		return STORE_WRITE_REFUSED;
	}
	if (r == TX_LOST) {
		*err = why;
		return STORE_WRITE_LOST;
	}
	return 0;
}
