#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "lines.h"
#include "live.h"
#include "../store/outcome.h"
#include "../store/store.h"
#include "record.h"

/* A report is one line; its failures list is bounded by the hub. */
#define REPORT_MAX (64u << 20)

#define OID_BOOL 16
#define OID_INT2 21
#define OID_FLOAT8 701
#define OID_NUMERIC 1700

static jv cell(const PGresult *res, int row, int col)
{
	const char *v = PQgetvalue(res, row, col);

	if (PQgetisnull(res, row, col))
		return jv_null();
	switch (PQftype(res, col)) {
	case OID_BOOL:
		return jv_bool(v[0] == 't');
	case OID_INT2:
	case DP_OID_INT4:
	case DP_OID_INT8:
	case DP_OID_FLOAT4:
	case OID_FLOAT8:
	case OID_NUMERIC:
		return jv_number(strtod(v, NULL));
	default:
		return jv_string_sized(v, PQgetlength(res, row, col));
	}
}

jv status_rows(const PGresult *res)
{
	jv rows = jv_array();

	for (int r = 0; r < PQntuples(res); r++) {
		jv row = jv_object();
		for (int c = 0; c < PQnfields(res); c++)
			row = jv_object_set(row, jv_string(PQfname(res, c)), cell(res, r, c));
		rows = jv_array_append(rows, row);
	}
	return rows;
}

#define UTC(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const char roots_sql[] =
	"SELECT root, count(*) AS documents, COALESCE(sum(chunk_count), 0) AS chunks,"
	" " UTC("max(updated_at)") " AS last_update"
	" FROM docpipe.documents GROUP BY root ORDER BY root";
static const char failures_sql[] =
	"SELECT path, root, stage, error, " UTC("failed_since") " AS since, run"
	" FROM docpipe.failures ORDER BY failed_since, path LIMIT $1::int";
static const char failures_total_sql[] = "SELECT count(*) AS total FROM docpipe.failures";
static const char runs_sql[] =
	"SELECT id, " UTC("started_at") " AS started_at, " UTC("ended_at") " AS ended_at,"
	" complete, added, updated, unchanged, deleted, failed, resent, requests, tokens,"
	" seconds, (planned->>'requests')::float8 AS planned_requests,"
	" (planned->>'requests_max')::float8 AS planned_requests_max,"
	" (planned->>'tokens')::float8 AS planned_tokens, (planned->>'usd')::float8 AS planned_usd"
	" FROM docpipe.runs ORDER BY started_at DESC NULLS FIRST, id DESC LIMIT $1::int";
static const char settings_sql[] = "SELECT key, value FROM docpipe.settings ORDER BY key";
/* Every index of the schema, with a build in progress when there is one
 * (CREATE INDEX reports its phase and progress). */
static const char indexes_sql[] =
	"SELECT c.relname AS name, am.amname AS method, i.indisvalid AS valid,"
	" pg_relation_size(c.oid) AS bytes,"
	" (SELECT p.phase || CASE WHEN p.blocks_total > 0 THEN ' ' ||"
	"   round(100.0 * p.blocks_done / p.blocks_total) || '%' ELSE '' END"
	"  FROM pg_stat_progress_create_index p WHERE p.index_relid = c.oid) AS building"
	" FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
	" JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am am ON am.oid = c.relam"
	" WHERE n.nspname = 'docpipe' ORDER BY 1";

/* Runs sql (with one int parameter when limit >= 0) into rows.  Returns
 * the rows or an invalid jv with err. */
static jv rows_of(PGconn *db, const char *sql, int limit, dp_err *err)
{
	char lim[16];
	const char *params[] = {lim};

	snprintf(lim, sizeof lim, "%d", limit);
	PGresult *res = dp_db_query(db, sql, limit >= 0 ? 1 : 0, limit >= 0 ? params : NULL, err);
	if (res == NULL)
		return jv_invalid();
	jv rows = status_rows(res);
	PQclear(res);
	return rows;
}

/* Which tables exist: bit 0 documents, 1 failures, 2 runs, 3 settings,
 * 4 live_runs. */
static int tables_present(PGconn *db, dp_err *err)
{
	PGresult *res = dp_db_query(db,
		"SELECT to_regclass('docpipe.documents') IS NOT NULL, to_regclass('docpipe.failures')"
		" IS NOT NULL, to_regclass('docpipe.runs') IS NOT NULL,"
		" to_regclass('docpipe.settings') IS NOT NULL, to_regclass('docpipe.live_runs') IS NOT NULL",
		0, NULL, err);
	int bits = 0;

	if (res == NULL)
		return -1;
	for (int c = 0; c < 5; c++)
		bits |= (PQgetvalue(res, 0, c)[0] == 't') << c;
	PQclear(res);
	return bits;
}

/* Sets "failures" and "failures_total" of st.  Returns st, or an invalid
 * jv with err. */
static jv add_failures(jv st, PGconn *db, int present, int max_failures, dp_err *err)
{
	jv failures = present ? rows_of(db, failures_sql, max_failures, err) : jv_array();
	jv total = present ? rows_of(db, failures_total_sql, -1, err) : jv_array();

	if (!jv_is_valid(failures) || !jv_is_valid(total)) {
		jv_free(failures);
		jv_free(total);
		jv_free(st);
		return jv_invalid();
	}
	st = jv_object_set(st, jv_string("failures"), failures);
	jv n = jv_array_length(jv_copy(total)) > 0
		? jv_object_get(jv_array_get(total, 0), jv_string("total"))
		: (jv_free(total), jv_number(0));
	return jv_object_set(st, jv_string("failures_total"), n);
}

jv status_collect(PGconn *db, int max_runs, int max_failures, dp_err *err)
{
	int bits = tables_present(db, err);
	jv st = jv_object();

	if (bits < 0) {
		jv_free(st);
		return jv_invalid();
	}
	st = jv_object_set(st, jv_string("schema"), jv_bool(bits & 1));
	jv roots = bits & 1 ? rows_of(db, roots_sql, -1, err) : jv_array();
	jv runs = bits & 4 ? rows_of(db, runs_sql, max_runs, err) : jv_array();
	jv settings = bits & 8 ? rows_of(db, settings_sql, -1, err) : jv_array();
	jv indexes = rows_of(db, indexes_sql, -1, err);
	jv live = bits & 16 ? status_live_list(db, err) : jv_array();
	if (!jv_is_valid(roots) || !jv_is_valid(runs) || !jv_is_valid(settings) ||
	    !jv_is_valid(indexes) || !jv_is_valid(live)) {
		jv_free(roots), jv_free(runs), jv_free(settings), jv_free(indexes), jv_free(live);
		jv_free(st);
		return jv_invalid();
	}
	jv set = jv_object();
	jv_array_foreach(settings, i, row) {
		set = jv_object_set(set, jv_object_get(jv_copy(row), jv_string("key")),
				    jv_object_get(row, jv_string("value")));
		(void)i;
	}
	jv_free(settings);
	dp_err why;
	int lost = bits & 1 ? dp_db_settings_lost(db, &why) : 0;
	if (lost < 0) {
		*err = why;
		jv_free(roots), jv_free(runs), jv_free(set), jv_free(indexes), jv_free(live);
		jv_free(st);
		return jv_invalid();
	}
	st = jv_object_set(st, jv_string("settings_lost"), lost ? jv_string(why.msg) : jv_null());
	st = jv_object_set(st, jv_string("roots"), roots);
	st = jv_object_set(st, jv_string("runs"), runs);
	st = jv_object_set(st, jv_string("live_runs"), live);
	st = jv_object_set(st, jv_string("settings"), set);
	st = jv_object_set(st, jv_string("indexes"), indexes);
	return add_failures(st, db, bits & 2, max_failures, err);
}

/* Borrowed string field of obj, or dflt. */
static const char *str(jv obj, const char *key, const char *dflt)
{
	const char *s = dp_record_str(obj, key);

	return s != NULL ? s : dflt;
}

static double num(jv obj, const char *key)
{
	double v;

	return dp_record_num(obj, key, &v) == 0 ? v : 0;
}

static void print_roots(FILE *out, jv roots)
{
	double docs = 0, chunks = 0;

	fprintf(out, "Documents by root:\n");
	jv_array_foreach(roots, i, r) {
		fprintf(out, "  %-50s %8.0f documents %10.0f chunks  last update %s\n",
			str(r, "root", "(no root)"), num(r, "documents"), num(r, "chunks"),
			str(r, "last_update", "-"));
		docs += num(r, "documents");
		chunks += num(r, "chunks");
		jv_free(r);
		(void)i;
	}
	jv_free(roots);
	fprintf(out, "  %-50s %8.0f documents %10.0f chunks\n", "total", docs, chunks);
}

static void print_failures(FILE *out, jv failures, double total)
{
	int shown = jv_array_length(jv_copy(failures));

	fprintf(out, "\nFailures: %.0f%s\n", total, total > shown ? " (oldest shown)" : "");
	jv_array_foreach(failures, i, f) {
		fprintf(out, "  %s\n    %s: %s (since %s, run %s)\n", str(f, "path", "?"),
			str(f, "stage", "?"), str(f, "error", "?"), str(f, "since", "?"),
			str(f, "run", "-"));
		jv_free(f);
		(void)i;
	}
	jv_free(failures);
}

/* The kind of obj's key (borrowed obj; null when absent). */
static jv_kind kind_of(jv obj, const char *key)
{
	jv v = jv_object_get(jv_copy(obj), jv_string(key));
	jv_kind k = jv_is_valid(v) ? jv_get_kind(v) : JV_KIND_NULL;

	jv_free(v);
	return k;
}

/* "planned: N requests, T tokens, $X" of a run planned with docpipe plan
 * --run, or nothing. */
static void print_planned(FILE *out, jv r)
{
	if (kind_of(r, "planned_requests") == JV_KIND_NULL)
		return;
	fprintf(out, "    planned: %.0f", num(r, "planned_requests"));
	if (num(r, "planned_requests_max") > num(r, "planned_requests"))
		fprintf(out, "-%.0f", num(r, "planned_requests_max"));
	fprintf(out, " requests, %.0f tokens", num(r, "planned_tokens"));
	if (kind_of(r, "planned_usd") == JV_KIND_NUMBER)
		fprintf(out, ", $%.4f", num(r, "planned_usd"));
	fprintf(out, "\n");
}

static void print_runs(FILE *out, jv runs)
{
	fprintf(out, "\nLast runs:\n");
	if (jv_array_length(jv_copy(runs)) == 0)
		fprintf(out, "  none recorded\n");
	jv_array_foreach(runs, i, r) {
		fprintf(out, "  %s  %s", str(r, "id", "?"), str(r, "started_at", "not started"));
		if (kind_of(r, "ended_at") == JV_KIND_NULL)
			fprintf(out, "  (no report: planned, running, or stopped without one)\n");
		else
			fprintf(out, "  %.1f s%s\n    added %.0f, updated %.0f, unchanged %.0f, "
				"deleted %.0f, failed %.0f; %.0f requests, %.0f tokens\n",
				num(r, "seconds"),
				kind_of(r, "complete") == JV_KIND_FALSE ? " (incomplete)" : "",
				num(r, "added"), num(r, "updated"), num(r, "unchanged"),
				num(r, "deleted"), num(r, "failed"), num(r, "requests"), num(r, "tokens"));
		print_planned(out, r);
		jv_free(r);
		(void)i;
	}
	jv_free(runs);
}

/* The runs claiming roots (status_live_list): live ones, and stale rows
 * said as such, never as live. */
static void print_live(FILE *out, jv live)
{
	fprintf(out, "\nLive runs:\n");
	if (jv_array_length(jv_copy(live)) == 0)
		fprintf(out, "  none\n");
	jv_array_foreach(live, i, r) {
		int held = kind_of(r, "live") == JV_KIND_TRUE;
		fprintf(out, "  %s  pid %.0f on %s, started %s%s\n", str(r, "run", "?"), num(r, "pid"),
			str(r, "host", "?"), str(r, "started_at", "?"),
			held ? "" : "  STALE: no session holds its claim (the run ended or was killed);"
				    " the next run's claim removes it");
		jv roots = jv_object_get(r, jv_string("roots"));
		jv_array_foreach(roots, j, root) {
			fprintf(out, "    %s\n", jv_get_kind(root) == JV_KIND_STRING ? jv_string_value(root) : "?");
			jv_free(root);
			(void)j;
		}
		jv_free(roots);
		(void)i;
	}
	jv_free(live);
}

/* lost: the corpus's settings are lost (dp_db_settings_lost's why), or NULL. */
static void print_config(FILE *out, jv settings, const char *lost, jv indexes)
{
	fprintf(out, "\nSettings:\n");
	if (lost != NULL)
		fprintf(out, "  LOST: %s\n", lost);
	else if (jv_object_length(jv_copy(settings)) == 0)
		fprintf(out, "  none yet (nothing embedded stored)\n");
	jv_object_foreach(settings, k, v) {
		fprintf(out, "  %-20s %s\n", jv_string_value(k),
			jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : "?");
		jv_free(k);
		jv_free(v);
	}
	jv_free(settings);
	fprintf(out, "\nIndexes:\n");
	jv_array_foreach(indexes, i, x) {
		fprintf(out, "  %-32s %-6s %10.0f bytes  %s\n", str(x, "name", "?"),
			str(x, "method", "?"), num(x, "bytes"),
			kind_of(x, "valid") == JV_KIND_TRUE ? "valid" : "INVALID (rebuild it)");
		if (str(x, "building", NULL) != NULL)
			fprintf(out, "    being built: %s\n", str(x, "building", ""));
		jv_free(x);
		(void)i;
	}
	jv_free(indexes);
}

void status_print(FILE *out, jv st)
{
	/* Written first, then shown: roots, paths, errors and run ids come
	 * from the files and the users (a file named with ESC ] 0 ; ... BEL
	 * set the terminal's title). */
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	FILE *to = mem != NULL ? mem : out;
	jv live = jv_object_get(jv_copy(st), jv_string("live_runs"));
	if (kind_of(st, "schema") != JV_KIND_TRUE) {
		/* A first run, under way, has claimed its roots already. */
		fprintf(to, "No docpipe schema in this database: nothing stored yet.\n");
		if (jv_array_length(jv_copy(live)) > 0)
			print_live(to, live);
		else
			jv_free(live);
	} else {
		print_roots(to, jv_object_get(jv_copy(st), jv_string("roots")));
		print_failures(to, jv_object_get(jv_copy(st), jv_string("failures")),
			       num(st, "failures_total"));
		print_live(to, live);
		print_runs(to, jv_object_get(jv_copy(st), jv_string("runs")));
		print_config(to, jv_object_get(jv_copy(st), jv_string("settings")),
			     str(st, "settings_lost", NULL),
			     jv_object_get(jv_copy(st), jv_string("indexes")));
	}
	if (mem != NULL && fclose(mem) == 0)
		dp_put_shown(out, text, 1);
	free(text);
}

/* Reads the first line of path as a JSON object into *rep.  Returns 0,
 * -2 with err when path is empty (nothing written to it), -1 with err. */
static int read_report(const char *path, jv *rep, dp_err *err)
{
	int from_stdin = strcmp(path, "-") == 0;
	int fd = from_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	const char *line;
	size_t len;
	unsigned long lineno;
	int rc = -1;

	*rep = jv_invalid();
	if (fd < 0) {
		dp_err_set(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	dp_lines *lines = dp_lines_new(fd, REPORT_MAX);
	int st = lines != NULL ? dp_lines_next(lines, &line, &len, &lineno, err) : DP_LINES_ERROR;
	if (lines == NULL) {
		dp_err_set(err, "out of memory");
	} else if (st == DP_LINES_EOF) {
		dp_err_set(err, "%s: empty", path);
		rc = -2;
	} else if (st == DP_LINES_OK) {
		*rep = dp_record_parse(line, len, err);
		rc = jv_is_valid(*rep) ? 0 : -1;
	}
	dp_lines_free(&lines);
	if (!from_stdin)
		close(fd);
	return rc;
}

struct recording {
	PGconn **db;
	const char *db_env;
	jv report;  /* borrowed */
	int ready;  /* the tables are made on this connection */
	int refused; /* the login was refused for good */
};

/* One try of status_record_run, for store_patiently (its returns):
 * connects (again, when lost), makes the tables, records. */
static int record_once(void *ctx, dp_err *err)
{
	struct recording *r = ctx;

	if (*r->db != NULL && dp_db_lost(*r->db)) {
		PQfinish(*r->db);
		*r->db = NULL;
	}
	if (*r->db == NULL) {
		r->ready = 0;
		if ((*r->db = dp_db_connect(r->db_env, "docpipe-status", err)) == NULL) {
			r->refused = dp_db_connect_status(err->msg) == DP_EXIT_USAGE;
			return r->refused ? -2 : -1;
		}
	}
	int made = !r->ready;
	if (made && store_outcome_ensure(*r->db, err) < 0)
		return -1;
	r->ready = 1;
	int rc = store_outcome_run_report(*r->db, r->report, err);
	/* Tables made before this try (the claim's, at the run's start) may
	 * have gone since (a DROP during the run): made again, once. */
	if (rc == -1 && !made && !dp_db_lost(*r->db)) {
		r->ready = 0;
		return record_once(ctx, err);
	}
	return rc;
}

int status_record_run(PGconn **db, const char *db_env, const char *path, double patience, int ready,
		      dp_err *err)
{
	struct recording r = {.db = db, .db_env = db_env, .ready = ready && *db != NULL};
	dp_err early;

	/* Connected and the tables made before the report is read, so that a
	 * recorder started ahead of the run's end only inserts; a failure
	 * now is waited out after the report. */
	if (*db == NULL)
		*db = dp_db_connect(db_env, "docpipe-status", &early);
	if (!r.ready)
		r.ready = *db != NULL && store_outcome_ensure(*db, &early) == 0;
	int got = read_report(path, &r.report, err);

	if (got < 0)
		return got;
	int rc = store_patiently(record_once, &r, patience, err);
	jv_free(r.report);
	return rc < 0 && r.refused ? -3 : rc;
}
