#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "endrec.h"
#include "lines.h"
#include "outcome.h"
#include "path.h"
#include "record.h"
#include "store.h"

static jv deleted_receipt(const char *path, long long id, const char *run)
{
	jv r = jv_object();

	r = jv_object_set(r, jv_string("v"), jv_number(DP_PROTOCOL_VERSION));
	r = jv_object_set(r, jv_string("kind"), jv_string(DP_KIND_RECEIPT));
	r = jv_object_set(r, jv_string("path"), jv_string(path));
	r = jv_object_set(r, jv_string("status"), jv_string("deleted"));
	r = jv_object_set(r, jv_string("id"), jv_number((double)id));
	r = jv_object_set(r, jv_string("run"), jv_string(run));
	return r;
}

/* The documents, tombstones and failures a sweep deletes.  Each step's
 * statement deletes at most $3 rows whose key is past $4 (in key order),
 * and returns the path and id of each document deleted, then a row with
 * no path: how many rows it picked and the last key picked.  $1 is the
 * run, $2 the roots (binary text[]).  The picked keys go to the DELETE as
 * an array (an index scan): joined with the CTE, the planner read the
 * whole table for each batch (30,000 of 50,000 documents: 5.3 s, against
 * 1.4-2.9 s in one statement; 2.3-3.4 s with the array).
 *
 * Root match is exact, or a path prefix ending at a '/' boundary
 * (starts_with, not LIKE: a root may hold '%' or '_').  A document
 * another writer saw since this run's first write began (a concurrent run
 * over the same root, a watcher storing an edit: last_run is theirs)
 * exists: it is kept.  The condition is read again by the DELETE on the
 * rows it picked: a row a writer changed meanwhile is waited for and
 * read as that writer left it (READ COMMITTED), as in one statement over
 * them all.  A document's chunks go in its statement (ON DELETE CASCADE):
 * a sweep stopped between two batches leaves whole documents only.  What
 * lies under a path discover could not read ($5, a JSON array) is kept:
 * its files went unseen, not away.  The
 * tombstones of other runs under the roots go too: only their own run's
 * records could be refused; and the failures of paths under the roots
 * that the run did not see fail. */
#define UNDER_ROOTS(root, path)                                                                     \
	" EXISTS (SELECT 1 FROM unnest($2::text[]) AS r(root)"                                     \
	"  WHERE " root " = r.root OR starts_with(" path ", rtrim(r.root, '/') || '/'))"          \
	" AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text($5::jsonb) AS k(p)"              \
	"  WHERE " path " = k.p OR starts_with(" path ", rtrim(k.p, '/') || '/'))"
#define DOC_SWEPT                                                                                   \
	" d.last_run IS DISTINCT FROM $1"                                                          \
	" AND NOT EXISTS (SELECT 1 FROM docpipe.run_starts s WHERE s.run = $1"                     \
	"  AND d.last_seen >= s.started_at) AND" UNDER_ROOTS("d.root", "d.path")
#define TOMB_SWEPT " t.run IS DISTINCT FROM $1 AND" UNDER_ROOTS("t.path", "t.path")
#define FAILURE_SWEPT " f.run IS DISTINCT FROM $1 AND" UNDER_ROOTS("f.root", "f.path")

static const struct sweep_step {
	const char *what; /* one of its rows, in messages */
	const char *first_key;
	const char *sql;
	/* NULL: sql picks and deletes.  Else sql only picks (key, path), the
	 * rows whose files are gone are chosen here (file_still_there), and
	 * this deletes those of $6 (their keys) that still qualify. */
	const char *delete_sql;
} steps[] = {
	{"failure", "",
	 "WITH pick AS (SELECT f.path AS k FROM docpipe.failures f WHERE" FAILURE_SWEPT
	 "  AND f.path > $4 ORDER BY f.path LIMIT $3::int),"
	 " gone AS (DELETE FROM docpipe.failures f WHERE f.path = ANY (ARRAY(SELECT k FROM pick)) AND"
	 FAILURE_SWEPT ")"
	 " SELECT NULL::text, count(*)::text, max(k) FROM pick"},
	{"tombstone", "",
	 "WITH pick AS (SELECT t.path AS k FROM docpipe.tombstones t WHERE" TOMB_SWEPT
	 "  AND t.path > $4 ORDER BY t.path LIMIT $3::int),"
	 " gone AS (DELETE FROM docpipe.tombstones t WHERE t.path = ANY (ARRAY(SELECT k FROM pick)) AND"
	 TOMB_SWEPT ")"
	 " SELECT NULL::text, count(*)::text, max(k) FROM pick"},
	/* A document the run did not see whose file is still there (a run
	 * with a narrower --glob, an --exclude or no --hidden where an earlier
	 * run took it) is kept: its file is not gone.  Before, `docpipe run
	 * notes --glob '*.txt'` deleted every stored Markdown document of
	 * notes (fault sweep 19). */
	{"document", "0",
	 "SELECT d.id::text, d.path FROM docpipe.documents d WHERE" DOC_SWEPT
	 "  AND d.id > $4::bigint ORDER BY d.id LIMIT $3::int",
	 /* $3 and $4 (the pick's) are given to every statement of a step:
	  * named here so that the server knows their types. */
	 "DELETE FROM docpipe.documents d WHERE d.id = ANY ($6::bigint[]) AND" DOC_SWEPT
	 " AND $3::text IS NOT NULL AND $4::text IS NOT NULL"
	 " RETURNING d.path, d.id::text"},
};

/* Sets err for a batch of one row that still ran over the session's
 * statement_timeout (res: its failure), naming the setting. */
static void timeout_err(store *s, const struct sweep_step *step, const PGresult *res, dp_err *err)
{
	dp_err why, ignored;
	PGresult *set = dp_db_query(s->db, "SELECT current_setting('statement_timeout')", 0, NULL, &ignored);

	dp_db_err(&why, s->db, res, "sweep");
	dp_err_set(err, "%s; deleting even one %s at a time runs over the statement_timeout of %s"
		   " that the database or role sets: what is left stays (raise it for docpipe's role:"
		   " ALTER ROLE ... SET statement_timeout = ...)", why.msg, step->what,
		   set != NULL ? PQgetvalue(set, 0, 0) : "?");
	PQclear(set);
}

/* Runs step in batches of *batch rows (halved on a statement timeout, down
 * to one row: each batch is a statement and a transaction of its own, so
 * the sweep goes on under a database's or role's statement_timeout), a
 * receipt on sink for each document deleted, flushed after each batch.
 * Returns 0 or -1 with err. */
/* Commits a sweep batch's transaction (begun with dp_db_begin_xid, its
 * id xid).  Returns 1 once it committed, also when the COMMIT's answer was
 * lost and the server says it did (store_settle_commit): its deleted
 * rows' receipts are then given; before, the batch was picked again and
 * found nothing, and the documents it deleted had no receipt ("swept 0",
 * the run's report "deleted 0" for 11 documents gone: fault sweep 27).  0:
 * rolled back, the connection made again: the caller does the batch
 * again; -1: failed (err set). */
static int sweep_commit(store *s, long long xid, int *lost, dp_err *err)
{
	if (dp_db_end(s->db, 0, err) == 0)
		return 1;
	if (xid <= 0 || !dp_db_lost(s->db))
		return -1;
	return store_settle_commit(s, xid, lost, err);
}

static int sweep_step(store *s, const struct sweep_step *step, const char *run, const char *kept,
		      char *const *roots, size_t nroots, enum store_sweep_scope scope, long *batch,
		      dp_sink *sink, size_t *deleted, size_t *spared, dp_err *err)
{
	char limit[24], *key = strdup(step->first_key);
	const char *values[] = {run, (const char *)s->buf.data, limit, key, kept, NULL};
	int lengths[] = {0, (int)s->buf.len, 0, 0, 0, 0}, formats[] = {0, 1, 0, 0, 0, 0};
	Oid types[] = {DP_OID_TEXT, DP_OID_TEXT_ARRAY, 0, DP_OID_TEXT, DP_OID_TEXT, DP_OID_TEXT};
	int rc = 0, lost = 0;

	for (long picked = *batch; key != NULL && rc == 0 && picked >= *batch;) {
		char *next_key = NULL;
		long picked_now = 0;
		size_t spared_now = 0;
		long long xid = 0;
		snprintf(limit, sizeof limit, "%ld", *batch);
		values[3] = key;
		/* The batch's statement in a transaction of its own (pooled,
		 * with the store's settings), committed before its receipts
		 * go out.  Autocommitted, a DELETE waiting on a lock when its
		 * store was stopped went through once the lock went, after
		 * the run had ended and reported no deletion (fault sweep
		 * 18); uncommitted, it is rolled back with the connection. */
		if (dp_db_begin_xid(s->db, STORE_SESSION_SETTINGS, NULL, &xid, err) < 0) {
			rc = -1;
			continue;
		}
		PGresult *res = dp_db_result_params(s->db, step->sql, 5, types, values, lengths, formats);
		int ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK;
		if (ok && step->delete_sql != NULL) {
			/* The picked rows: the batch's count and last key, and
			 * the keys of those whose files are gone, as an array
			 * literal for the DELETE. */
			int n = PQntuples(res);
			size_t size = 3, used = 0, still_there = 0;
			for (int i = 0; i < n; i++)
				size += (size_t)PQgetlength(res, i, 0) + 1;
			char *ids = malloc(size);
			if (ids == NULL) {
				dp_err_set(err, "out of memory");
				dp_db_rollback(s->db);
				PQclear(res);
				rc = -1;
				continue;
			}
			ids[used++] = '{';
			for (int i = 0; i < n; i++) {
				if (scope == STORE_SWEEP_GONE &&
				    dp_path_still_there(PQgetvalue(res, i, 1), roots, nroots)) {
					still_there++;
					continue;
				}
				used += (size_t)sprintf(ids + used, "%s%s", used > 1 ? "," : "",
							PQgetvalue(res, i, 0));
			}
			ids[used++] = '}';
			ids[used] = '\0';
			/* The next batch's key; the DELETE still reads this one's. */
			char *next = n > 0 ? strdup(PQgetvalue(res, n - 1, 0)) : strdup(key);
			PQclear(res);
			values[5] = ids;
			res = dp_db_result_params(s->db, step->delete_sql, 6, types, values, lengths, formats);
			free(ids);
			ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK;
			if (next == NULL) {
				dp_db_rollback(s->db);
				PQclear(res);
				free(key);
				key = NULL; /* out of memory, said below */
				continue;
			}
			/* Taken once the batch committed: a batch timed out, or
			 * rolled back, is picked again from the same key. */
			if (ok) {
				picked_now = n;
				spared_now = still_there;
				next_key = next;
			} else {
				free(next);
			}
		}
		if (ok) {
			int ended = sweep_commit(s, xid, &lost, err);
			if (ended <= 0) {
				free(next_key);
				PQclear(res);
				rc = ended < 0 ? -1 : 0; /* 0: rolled back, done again */
				continue;
			}
			if (next_key != NULL) {
				picked = picked_now;
				*spared += spared_now;
				free(key);
				key = next_key;
				values[3] = key;
			}
		}
		if (!ok) {
			int timeout = strcmp(dp_db_sqlstate(res), "57014") == 0 && !dp_db_lost(s->db);
			if (!timeout)
				dp_db_err(err, s->db, res, "sweep"), rc = -1;
			dp_db_rollback(s->db);
			if (timeout && *batch > 1)
				*batch /= 2; /* and again from the same key */
			else if (timeout)
				timeout_err(s, step, res, err), rc = -1;
			PQclear(res);
			continue;
		}
		for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
			if (step->delete_sql != NULL || !PQgetisnull(res, i, 0)) {
				rc = dp_sink_put(sink, deleted_receipt(PQgetvalue(res, i, 0),
								       atoll(PQgetvalue(res, i, 1)), run), err) < 0 ? -1 : 0;
				*deleted += rc == 0;
			} else if ((picked = atol(PQgetvalue(res, i, 1))) > 0) {
				free(key);
				key = strdup(PQgetvalue(res, i, 2));
			}
		}
		PQclear(res);
		if (rc == 0 && dp_sink_flush(sink, err) < 0)
			rc = -1;
	}
	if (key == NULL && rc == 0) {
		dp_err_set(err, "out of memory");
		rc = -1;
	}
	free(key);
	return rc;
}

int store_sweep(store *s, const char *run, char *const *roots, size_t nroots, const char *kept,
		enum store_sweep_scope scope, dp_sink *sink, size_t *deleted, size_t *spared,
		dp_err *err)
{
	*spared = 0;
	/* Roots in the form records carry them (absolute, no "." nor repeated
	 * slashes), so "docs" or "./docs/" sweeps what discover found there. */
	char **abs = calloc(nroots > 0 ? nroots : 1, sizeof *abs);
	if (abs == NULL) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	int bad = 0;
	for (size_t i = 0; i < nroots && !bad; i++)
		bad = (abs[i] = dp_path_absolute(roots[i], err)) == NULL;
	if (!bad) {
		store_buf_reset(&s->buf);
		store_value_text_array(&s->buf, (const char *const *)abs, nroots);
	}
	int rc = bad ? -1 : 0;
	if (!bad && s->buf.overflow) {
		dp_err_set(err, "out of memory");
		rc = -1;
	}
	long batch = STORE_SWEEP_BATCH;
	for (size_t i = 0; i < sizeof steps / sizeof steps[0] && rc == 0; i++)
		if (sweep_step(s, &steps[i], run, kept, abs, nroots, scope, &batch, sink, deleted, spared, err) < 0)
			rc = -1;
	for (size_t i = 0; i < nroots; i++)
		free(abs[i]);
	free(abs);
	return rc;
}

int store_sweep_proven(const char *receipts, const char *run, jv *unread, char *why, size_t size)
{
	int fd = open(receipts, O_RDONLY | O_CLOEXEC);
	jv end = jv_invalid();
	dp_err e;

	if (fd < 0) {
		snprintf(why, size, "cannot read %s: %s", receipts, strerror(errno));
		return 0;
	}
	dp_lines *lines = dp_lines_new(fd, DP_RECORD_MAX_DEFAULT);
	const char *line;
	size_t len;
	unsigned long lineno;
	int rc;
	/* The last end record counts: the store writes it after every receipt. */
	while (lines != NULL && (rc = dp_lines_next(lines, &line, &len, &lineno, &e)) != DP_LINES_EOF &&
	       rc != DP_LINES_ERROR) {
		jv rec = rc == DP_LINES_OK ? dp_record_parse(line, len, &e) : jv_invalid();
		const char *kind = jv_is_valid(rec) ? dp_record_kind(rec) : NULL;
		if (kind != NULL && strcmp(kind, DP_KIND_END) == 0) {
			jv_free(end);
			end = rec;
		} else {
			jv_free(rec);
		}
	}
	dp_lines_free(&lines);
	close(fd);
	double received = -1;
	if (jv_is_valid(end) && dp_record_num(end, "received", &received) < 0)
		received = -1;
	rc = dp_end_proves(end, received, why, size);
	const char *end_run = rc == 1 ? dp_record_str(end, "run") : NULL;
	if (rc == 1 && (end_run == NULL || strcmp(end_run, run) != 0)) {
		if (end_run == NULL)
			snprintf(why, size, "the run's records carry no run, so no document is marked"
				 " with run \"%s\" and every one under the roots would be swept (stamp"
				 " them: docpipe-chunk --jq '.run = \"%s\"')", run, run);
		else
			snprintf(why, size, "the end record is of run \"%.200s\", not \"%s\"", end_run, run);
		rc = 0;
	}
	if (rc == 1)
		*unread = dp_end_unread(end);
	jv_free(end);
	return rc;
}
