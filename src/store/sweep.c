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

int store_sweep(store *s, const char *run, char *const *roots, size_t nroots, dp_sink *sink,
		size_t *deleted, dp_err *err)
{
	*deleted = 0;
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
	for (size_t i = 0; i < nroots; i++)
		free(abs[i]);
	free(abs);
	if (bad)
		return -1;
	if (s->buf.overflow) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	/* Pooled, the two statements share a transaction, committed before
	 * the receipts go out. */
	if (store_pooled_begin(s, err) < 0)
		return -1;
	if (store_outcome_sweep(s->db, run, &s->buf, err) < 0)
		return store_pooled_end(s, -1, err);
	const char *values[] = {run, (const char *)s->buf.data};
	int lengths[] = {0, (int)s->buf.len}, formats[] = {0, 1};
	Oid types[] = {DP_OID_TEXT, DP_OID_TEXT_ARRAY};
	/* Root match is exact, or a path prefix ending at a '/' boundary
	 * (starts_with, not LIKE: a root may hold '%' or '_').  One statement,
	 * so the sweep is one transaction.  A document another writer saw
	 * since this run's first write began (a concurrent run over the same
	 * root, a watcher storing an edit: last_run is theirs) exists: it is
	 * kept.  The tombstones of other runs under the roots go too: only
	 * their own run's records could be refused. */
	PGresult *res = PQexecParams(s->db,
		"WITH tombs AS (DELETE FROM docpipe.tombstones t WHERE t.run IS DISTINCT FROM $1"
		"  AND EXISTS (SELECT 1 FROM unnest($2::text[]) AS r(root)"
		"   WHERE t.path = r.root OR starts_with(t.path, rtrim(r.root, '/') || '/')))"
		" DELETE FROM docpipe.documents d WHERE d.last_run IS DISTINCT FROM $1"
		" AND NOT EXISTS (SELECT 1 FROM docpipe.run_starts s WHERE s.run = $1"
		"  AND d.last_seen >= s.started_at)"
		" AND EXISTS (SELECT 1 FROM unnest($2::text[]) AS r(root)"
		"  WHERE d.root = r.root OR starts_with(d.path, rtrim(r.root, '/') || '/'))"
		" RETURNING d.path, d.id", 2, types, values, lengths, formats, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		dp_db_err(err, s->db, res, "sweep");
		PQclear(res);
		return store_pooled_end(s, -1, err);
	}
	if (store_pooled_end(s, 0, err) < 0) {
		PQclear(res);
		return -1;
	}
	int rc = 0;
	for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
		rc = dp_sink_put(sink, deleted_receipt(PQgetvalue(res, i, 0),
						       atoll(PQgetvalue(res, i, 1)), run), err);
		*deleted += rc == 0;
	}
	PQclear(res);
	return rc;
}

int store_sweep_proven(const char *receipts, const char *run, char *why, size_t size)
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
	jv_free(end);
	return rc;
}
