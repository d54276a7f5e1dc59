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

/* $1: this run's roots (a JSON array).  Every row, oldest first: whether
 * no session holds its lock (a try of it, for this transaction,
 * succeeds: its run ended, was killed, or its session was lost with the
 * connection and is being made again), its supervisor's pid, host and
 * start (epoch seconds), and the first overlapping pair of roots, if any
 * (a root equal to or under another: the sweep's test, starts_with on a
 * '/' boundary). */
static const char probe_sql[] =
	"SELECT l.id, l.run, l.pid, l.host,"
	"  to_char(l.started_at, 'YYYY-MM-DD HH24:MI:SS TZ'), o.theirs, o.mine,"
	"  pg_try_advisory_xact_lock(" LIVE_CLASS ", l.id), extract(epoch FROM l.started_at)::float8::text"
	" FROM docpipe.live_runs l"
	" LEFT JOIN LATERAL (SELECT a.theirs, b.mine FROM unnest(l.roots) a(theirs),"
	"  jsonb_array_elements_text($1::jsonb) b(mine)"
	"  WHERE a.theirs = b.mine OR starts_with(b.mine, rtrim(a.theirs, '/') || '/')"
	"  OR starts_with(a.theirs, rtrim(b.mine, '/') || '/') LIMIT 1) o ON true"
	" ORDER BY l.id";

/* $1: the ids of the rows no run holds any more (an int[] literal). */
static const char gone_sql[] = "DELETE FROM docpipe.live_runs WHERE id = ANY($1::int[])";

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

/* Whether process pid runs docpipe's supervisor: its program or script
 * (argv[0] or argv[1], "bash /usr/bin/docpipe run ...") is named docpipe.
 * A host name is not unique (machines named alike, containers sharing
 * the host's name in their own pid namespaces): a pid of another process
 * there must not hold a dead run's roots. */
static int is_supervisor(pid_t pid)
{
	char path[64], args[512];
	snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	size_t n = fread(args, 1, sizeof args - 1, f);
	fclose(f);
	args[n] = '\0';
	for (size_t at = 0, k = 0; k < 2 && at < n; k++, at += strlen(args + at) + 1) {
		const char *slash = strrchr(args + at, '/');
		if (strcmp(slash != NULL ? slash + 1 : args + at, "docpipe") == 0)
			return 1;
	}
	return 0;
}

/* Whether the run of a row whose lock no session holds goes on all the
 * same: its supervisor (pid, is_supervisor) runs on this host, started
 * before the row (started, epoch seconds; 5 s of slack for the server's
 * clock).  Such a
 * run's recorder lost its session (a database restart, a connection cut)
 * and makes it again, its claim with it (status_live_hold, every second);
 * taking its roots meanwhile ran a waiting run beside it, paying the
 * model API again for whatever it had not finished (fault sweep 24); so
 * does a recorder killed while its run goes on.  A pid reused since by
 * another process started after the row.  A run on another host cannot
 * be looked at: its row goes as before. */
static int run_goes_on(const char *host, const char *pid_text, const char *started)
{
	char path[64], line[1024], here[256];
	pid_t pid = (pid_t)atol(pid_text);

	if (pid <= 0 || gethostname(here, sizeof here) < 0)
		return 0;
	here[sizeof here - 1] = '\0';
	if (strcmp(here, host) != 0 || !is_supervisor(pid))
		return 0;
	/* The process's start: field 22 of its stat (clock ticks since boot),
	 * after the command's parenthesis (which may hold spaces); the boot
	 * from /proc/stat's btime. */
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	char *got = fgets(line, sizeof line, f);
	fclose(f);
	char *after = got != NULL ? strrchr(line, ')') : NULL;
	unsigned long long ticks = 0, boot = 0;
	char state = 'X';
	/* A zombie is a supervisor killed whose parent has not reaped it
	 * yet (a script's Popen never waited): its run is over. */
	if (after == NULL || sscanf(after + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d"
					   " %*d %*d %*d %*d %llu", &state, &ticks) != 2 || state == 'Z' || state == 'X')
		return 0;
	if ((f = fopen("/proc/stat", "r")) == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL && sscanf(line, "btime %llu", &boot) != 1)
		;
	fclose(f);
	long hz = sysconf(_SC_CLK_TCK);
	if (boot == 0 || hz <= 0)
		return 0;
	return (double)boot + (double)ticks / (double)hz <= atof(started) + 5;
}

/* One turn: removes the rows of the runs that are over; with a live run
 * overlapping and !beside, sets other (its id), away (1 when that run's
 * session is being made again: run_goes_on) and err (it named) and
 * claims nothing; else claims.  0, or -1 with err (the transaction
 * rolled back). */
static int claim_turn(PGconn *db, status_live *live, int beside, int *other, int *away, dp_err *err)
{
	char pid[24], host[256], gone[1024];
	const char *probe_params[] = {live->roots};
	size_t used = 0;

	*other = 0;
	*away = 0;
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
	gone[used++] = '{';
	for (int i = 0; i < PQntuples(res); i++) {
		int free_lock = strcmp(PQgetvalue(res, i, 7), "t") == 0;
		int goes_on = free_lock && run_goes_on(PQgetvalue(res, i, 3), PQgetvalue(res, i, 2),
						      PQgetvalue(res, i, 8));
		if (free_lock && !goes_on) {
			/* Over: its row goes (a list that would overflow
			 * leaves the rest to the next turn). */
			int n = snprintf(gone + used, sizeof gone - used, "%s%s", used > 1 ? "," : "",
					 PQgetvalue(res, i, 0));
			if (n > 0 && (size_t)n < sizeof gone - used - 1)
				used += (size_t)n;
			continue;
		}
		if (*other != 0 || PQgetisnull(res, i, 5) || beside)
			continue;
		*other = atoi(PQgetvalue(res, i, 0));
		*away = goes_on;
		dp_err_set(err, "run %s (pid %s on %s, started %s) is storing under %s, which %s %s of this run%s",
			   PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
			   PQgetvalue(res, i, 5),
			   strcmp(PQgetvalue(res, i, 5), PQgetvalue(res, i, 6)) == 0 ? "is the root" : "overlaps",
			   PQgetvalue(res, i, 6), goes_on ? " (its session with the database lost, the run still going)" : "");
	}
	PQclear(res);
	gone[used++] = '}';
	gone[used] = '\0';
	const char *gone_params[] = {gone};
	if (used > 2 && (res = dp_db_query(db, gone_sql, 1, gone_params, err)) == NULL)
		goto fail;
	if (used > 2)
		PQclear(res);
	if (*other != 0) {
		dp_err ignored;
		dp_db_end(db, 0, &ignored);
		return 0;
	}
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
	int said = 0, away = 0;
	for (;;) {
		if (claim_turn(db, live, overlap == STATUS_OVERLAP_ALLOW, &other, &away, err) < 0)
			return -1;
		if (other == 0)
			return 0;
		if (overlap == STATUS_OVERLAP_REFUSE)
			return 1;
		if (other != said)
			dp_diag("waiting for it to end: %s", err->msg);
		said = other;
		/* --wait: that run's lock, taken when its session ends, and let
		 * go; then a turn again (a third run may have come).  A run whose
		 * session is being made again holds no lock to wait on: a turn
		 * again in a second. */
		char key[16];
		snprintf(key, sizeof key, "%d", other);
		const char *params[] = {key};
		int said_waits = dp_db_lock_waits_said(0); /* said above, by run */
		PGresult *res = dp_db_query(db, away ? "SELECT pg_sleep(1)::text WHERE $1::int > 0"
						     : "SELECT pg_advisory_lock(" LIVE_CLASS ", $1::int)::text,"
						       " pg_advisory_unlock(" LIVE_CLASS ", $1::int)",
					    1, params, err);
		dp_db_lock_waits_said(said_waits);
		if (res == NULL)
			return -1;
		PQclear(res);
	}
}

/* After a lost connection is made again: the claim's own row locked again
 * (others spared it meanwhile: run_goes_on), or a new row when it went
 * (beside whatever run started meanwhile: this one runs).  0, or -1 with
 * err. */
static int renew(PGconn *db, status_live *live, dp_err *err)
{
	char key[16];
	snprintf(key, sizeof key, "%d", live->id);
	const char *params[] = {key};
	PGresult *res = dp_db_query(db, "SELECT pg_try_advisory_lock(" LIVE_CLASS ", id)::text"
				    " FROM docpipe.live_runs WHERE id = $1::int", 1, params, err);
	if (res == NULL)
		return -1;
	int again = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "true") == 0;
	PQclear(res);
	int other, away;
	return again ? 0 : claim_turn(db, live, 1, &other, &away, err);
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
		/* Lost: made again, the claim with it (renew). */
		dp_err why;
		if (!lost)
			dp_diag("the database connection was lost while the run went on: its claim on its"
				" roots is gone until the connection is made again");
		lost = 1;
		if (dp_db_reset(db, &why) < 0 || renew(db, live, &why) < 0)
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
