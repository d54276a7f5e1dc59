#include "live.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jv.h>

#include "db.h"
#include "path.h"
#include "record.h"
#include "status.h"

/* Claims take turns on this transaction lock (bigint key: "docpipeL"), so
 * that two runs starting together do not both find the other absent. */
#define LIVE_TURN_KEY 0x646f63706970654cLL
/* A live run's session holds the lock (LIVE_CLASS, its row's id): the
 * two-key form, apart from every bigint key.  "dplr". */
#define LIVE_CLASS "1685089394"

/* $1: this run's roots (a JSON array).  The rows no session holds go
 * (their run ended or was killed: a try of their lock, for this
 * transaction, succeeds); of the others, the first whose roots overlap,
 * with the overlapping pair (a root equal to or under another: the
 * sweep's test, starts_with on a '/' boundary). */
static const char probe_sql[] =
	"WITH probe AS (SELECT l.id, pg_try_advisory_xact_lock(" LIVE_CLASS ", l.id) AS dead"
	"  FROM docpipe.live_runs l),"
	" gone AS (DELETE FROM docpipe.live_runs l USING probe p WHERE l.id = p.id AND p.dead)"
	" SELECT l.id, l.run, l.pid, l.host,"
	"  to_char(l.started_at, 'YYYY-MM-DD HH24:MI:SS TZ'), o.theirs, o.mine"
	" FROM docpipe.live_runs l JOIN probe p ON p.id = l.id AND NOT p.dead"
	" CROSS JOIN LATERAL (SELECT a.theirs, b.mine FROM unnest(l.roots) a(theirs),"
	"  jsonb_array_elements_text($1::jsonb) b(mine)"
	"  WHERE a.theirs = b.mine OR starts_with(b.mine, rtrim(a.theirs, '/') || '/')"
	"  OR starts_with(a.theirs, rtrim(b.mine, '/') || '/') LIMIT 1) o"
	" ORDER BY l.id LIMIT 1";

/* Every row, live when a session holds its lock (pg_locks: the two-key
 * form is classid, objid, objsubid 2; advisory locks are per database),
 * its roots as a JSON array (status_live_list parses it). */
static const char list_sql[] =
	"SELECT l.id, l.run, l.pid, l.host,"
	" to_char(l.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS started_at,"
	" array_to_json(l.roots)::text AS roots,"
	" EXISTS (SELECT FROM pg_locks k WHERE k.locktype = 'advisory' AND k.granted"
	"  AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
	"  AND k.classid = " LIVE_CLASS "::oid AND k.objid = l.id::oid AND k.objsubid = 2) AS live"
	" FROM docpipe.live_runs l ORDER BY l.started_at, l.id";

/* The claim: its row and its session lock (granted at once: a new id). */
static const char claim_sql[] =
	"INSERT INTO docpipe.live_runs (run, pid, host, roots)"
	" SELECT $1, $2::int, $3, ARRAY(SELECT jsonb_array_elements_text($4::jsonb))"
	" RETURNING id, pg_advisory_lock(" LIVE_CLASS ", id)::text";

/* live->roots: roots in the form records carry them, as a JSON array.
 * 0, or -1 with err. */
static int roots_json(status_live *live, char *const *roots, size_t nroots, dp_err *err)
{
	jv a = jv_array();

	for (size_t i = 0; i < nroots; i++) {
		char *abs = dp_path_absolute(roots[i], err);
		if (abs == NULL) {
			jv_free(a);
			return -1;
		}
		a = jv_array_append(a, jv_string(abs));
		free(abs);
	}
	jv text = jv_dump_string(a, 0);
	live->roots = strdup(jv_string_value(text));
	jv_free(text);
	if (live->roots == NULL) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	return 0;
}

/* One turn: removes the dead runs' rows; with a live run overlapping and
 * !beside, sets other (its id) and err (it named) and claims nothing;
 * else claims.  0, or -1 with err (the transaction rolled back). */
static int claim_turn(PGconn *db, status_live *live, int beside, int *other, dp_err *err)
{
	char pid[24], host[256];
	const char *probe_params[] = {live->roots};

	*other = 0;
	snprintf(pid, sizeof pid, "%d", (int)getppid()); /* the supervisor */
	if (gethostname(host, sizeof host) < 0)
		snprintf(host, sizeof host, "unknown");
	host[sizeof host - 1] = '\0';
	/* A claim's few rows, no maintenance: the role's statement_timeout holds. */
	if (dp_db_begin_locked(db, NULL, NULL, LIVE_TURN_KEY, err) < 0)
		goto fail;
	PGresult *res = dp_db_query(db, probe_sql, 1, probe_params, err);
	if (res == NULL)
		goto fail;
	if (PQntuples(res) > 0 && !beside) {
		*other = atoi(PQgetvalue(res, 0, 0));
		dp_err_set(err, "run %s (pid %s on %s, started %s) is storing under %s, which %s %s of this run",
			   PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3),
			   PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 5),
			   strcmp(PQgetvalue(res, 0, 5), PQgetvalue(res, 0, 6)) == 0 ? "is the root" : "overlaps",
			   PQgetvalue(res, 0, 6));
		PQclear(res);
		/* The dead runs' rows go all the same. */
		dp_err ignored;
		dp_db_end(db, 0, &ignored);
		return 0;
	}
	PQclear(res);
	const char *params[] = {live->run, pid, host, live->roots};
	if ((res = dp_db_query(db, claim_sql, 4, params, err)) == NULL)
		goto fail;
	live->id = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (dp_db_end(db, 0, err) < 0) {
		live->id = 0; /* the lock stays with the session: harmless */
		return -1;
	}
	return 0;
fail:
	dp_db_rollback(db);
	return -1;
}

int status_live_claim(PGconn *db, status_live *live, const char *run, char *const *roots, size_t nroots,
		      enum status_overlap overlap, dp_err *err)
{
	int other = 0;

	memset(live, 0, sizeof *live);
	if (dp_db_pooled()) {
		dp_diag("connected through a transaction pooler (found at connect, or DOCPIPE_DB_POOLED=1): another run over"
			" these roots cannot be found (a session lock is needed), none is looked for");
		return 0;
	}
	if ((live->run = strdup(run)) == NULL) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	if (roots_json(live, roots, nroots, err) < 0)
		return -1;
	for (;;) {
		if (claim_turn(db, live, overlap == STATUS_OVERLAP_ALLOW, &other, err) < 0)
			return -1;
		if (other == 0)
			return 0;
		if (overlap == STATUS_OVERLAP_REFUSE)
			return 1;
		/* --wait: that run's lock, taken when its session ends, and let
		 * go; then a turn again (a third run may have come). */
		char key[16];
		snprintf(key, sizeof key, "%d", other);
		const char *params[] = {key};
		dp_diag("waiting for it to end: %s", err->msg);
		PGresult *res = dp_db_query(db, "SELECT pg_advisory_lock(" LIVE_CLASS ", $1::int)::text,"
					    " pg_advisory_unlock(" LIVE_CLASS ", $1::int)", 1, params, err);
		if (res == NULL)
			return -1;
		PQclear(res);
	}
}

int status_live_hold(PGconn *db, status_live *live, int fd, dp_err *err)
{
	int lost = 0;

	for (;;) {
		/* Nothing claimed: the connection only records (and is made
		 * again then if need be). */
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = PQsocket(db), .events = POLLIN}};
		int watched = live->id != 0 && !lost && p[1].fd >= 0;
		int n = poll(p, watched ? 2 : 1, lost ? 1000 : -1);
		if (n < 0 && errno != EINTR) {
			dp_err_set(err, "poll: %s", strerror(errno));
			return -1;
		}
		if (n > 0 && p[0].revents != 0)
			return 0;
		/* Readable: a notice, or the connection's end. */
		if (!lost && (n <= 0 || !dp_db_lost(db)))
			continue;
		/* Lost: made again, the claim with it (beside whatever run
		 * started meanwhile: this one runs). */
		dp_err why;
		if (!lost)
			dp_diag("the database connection was lost while the run went on: its claim on its"
				" roots is gone until the connection is made again");
		lost = 1;
		int other;
		if (dp_db_reset(db, &why) < 0 || claim_turn(db, live, 1, &other, &why) < 0)
			continue;
		dp_diag("the connection is made again: this run's claim on its roots is renewed");
		lost = 0;
	}
}

void status_live_end(PGconn *db, status_live *live)
{
	if (live->id != 0 && db != NULL) {
		char key[16];
		snprintf(key, sizeof key, "%d", live->id);
		const char *params[] = {key};
		dp_err ignored;
		PGresult *res = dp_db_query(db, "DELETE FROM docpipe.live_runs WHERE id = $1::int", 1, params,
					    &ignored);
		PQclear(res);
	}
	free(live->run);
	free(live->roots);
	memset(live, 0, sizeof *live);
}

jv status_live_list(PGconn *db, dp_err *err)
{
	PGresult *res = dp_db_query(db, list_sql, 0, NULL, err);

	if (res == NULL)
		return jv_invalid();
	jv rows = status_rows(res), out = jv_array();
	PQclear(res);
	jv_array_foreach(rows, i, row) {
		const char *text = dp_record_str(row, "roots");
		jv roots = text != NULL ? jv_parse(text) : jv_invalid();
		if (!jv_is_valid(roots)) {
			jv_free(roots);
			roots = jv_array();
		}
		row = jv_object_set(row, jv_string("roots"), roots);
		out = jv_array_append(out, row);
		(void)i;
	}
	jv_free(rows);
	return out;
}
