#include "db.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"

/* The SQLSTATE of this thread's last failure (dp_db_last_sqlstate). */
static _Thread_local char last_sqlstate[6];

/* Copies msg into out on one line: libpq messages span several lines
 * ("connection to server ... failed: ...\n\tIs the server running...?"). */
static void one_line(char *out, size_t size, const char *msg)
{
	size_t o = 0;
	int space = 0;

	for (const char *p = msg; *p != '\0' && o + 1 < size; p++) {
		if (*p == '\n' || *p == '\t' || *p == '\r' || *p == ' ') {
			space = o > 0;
			continue;
		}
		if (space && o + 2 < size)
			out[o++] = ' ';
		space = 0;
		out[o++] = *p;
	}
	out[o] = '\0';
}

/* Server notices: NOTICEs ("relation already exists, skipping") are noise
 * for a pipeline; warnings are worth a diagnostic line. */
static void on_notice(void *arg, const PGresult *res)
{
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	(void)arg;
	if (severity != NULL && msg != NULL && strcmp(severity, "WARNING") == 0)
		dp_diag("database warning: %s", msg);
}

/* Set when a connection of this process was found transaction-pooled
 * (dp_db_pooled_found): every connection after it is made pooled. */
static atomic_int pooled_found;

/* DP_DB_POOLED_ENV's value: 1 pooled, 0 direct (said so: no check), 2
 * unset or empty (session_setup checks), -1 anything else. */
static int pooled_env(void)
{
	const char *v = getenv(DP_DB_POOLED_ENV);

	if (v == NULL || v[0] == '\0')
		return 2;
	return strcmp(v, "1") == 0 ? 1 : strcmp(v, "0") == 0 ? 0 : -1;
}

int dp_db_pooled(void)
{
	return pooled_env() == 1 || atomic_load(&pooled_found);
}

int dp_db_pooled_found(void)
{
	return !atomic_exchange(&pooled_found, 1) && pooled_env() != 1;
}

/* dp_db_connect's settings, the one list of them: given to each direct
 * session (session_setup), to each transaction when pooled (dp_db_begin)
 * and taken back by dp_db_session_reset.  READ COMMITTED whatever
 * default_transaction_isolation the server, database or role sets: the
 * store's writes are ordered by its own row and advisory locks, designed
 * for it; under SERIALIZABLE, replicas writing side by side failed a
 * fifth of the documents with 40001.  A session that stops answering
 * inside its transaction (its process frozen, its machine cut off: the
 * server keeps the session until its TCP keepalives give up, two hours by
 * default) holds its locks, and every other store waits on them with it;
 * the server ends such a session after DP_DB_IDLE_TX_TIMEOUT unless the
 * server, the database, the role or the URL's options already set a
 * limit (unset: only when it is 0); one shorter than DP_DB_IDLE_TX_FLOOR
 * is raised to it.  No docpipe session idles in a transaction by design:
 * it sends its statements at once; but between them it computes (a
 * document's rows, its tsvectors), for longer on a loaded machine, and a
 * tiny limit cut it there: at 1 ms on the database a 3,972-file run lost
 * its store's session on most batches ("lost 3 times in a row on the same
 * work ... a crash, the OOM killer?"), stored 7 and stopped, status 3,
 * 140 s.  Every docpipe session idles outside
 * one by design, and none may be cut for it, whatever idle_session_timeout
 * (PostgreSQL 14) the server, database, role or URL sets: the run's
 * recorder holds its claim on the roots (a session lock) for the whole
 * run, the store waits between documents (its second connection, which
 * merges the full-text index, was lost for the run), docpipe-query waits
 * while the model API embeds its question (the search then failed).  Each
 * session is a live process's own and ends with it.  Not per transaction
 * when pooled (session: a pooler's own clients are not cut by the
 * server); nothing on a server without it (min_version, PQserverVersion:
 * no round trip).  extra_float_digits 3 whatever the server, database
 * or role says: a float's text is then exact (PostgreSQL 12 and later:
 * its shortest exact form); at -15 docpipe-query's text scores were read
 * as one digit ("score": 6), which tied and reordered the hybrid ranking.
 * session_replication_role origin where a superuser's ALTER ROLE or
 * DATABASE set replica (a replication or restore habit): foreign keys
 * are triggers, which replica does not fire, and every document the
 * sweep deleted left its chunks behind (99 of 883 after 11 deletions),
 * for good.  Only a superuser may set it back: the store refuses another
 * role under it (dp_db_unwritable).
 * search_path: the database's or role's, with pg_catalog before it when
 * it names a schema before pg_catalog (otherwise pg_catalog is searched
 * first already, and a CREATE EXTENSION, which goes to the path's first
 * schema, must not land in pg_catalog), and pgvector's schema after it
 * when it leaves that out.  docpipe names the system's
 * functions and pgvector's types, operators and operator classes
 * unqualified: under a search_path that put a schema of its own before
 * pg_catalog ("evil, pg_catalog, public"), its now() stamped every
 * document's updated_at; under one without pgvector's schema the store's
 * CREATE TABLE failed ('type "vector" does not exist': exit 3, restarted
 * until the run stopped) and docpipe-query every vector search.  value is
 * an SQL expression; when, a condition for setting it beside the
 * caller's guard; superuser, one only a superuser may set or RESET. */
#define VECTOR_SCHEMA "(SELECT n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n" \
	" ON n.oid = e.extnamespace WHERE e.extname = 'vector')"
static const struct connect_setting {
	const char *name, *value, *when;
	int session, min_version, superuser;
} connect_settings[] = {
	{"default_transaction_isolation", "'read committed'", NULL, 0, 0},
	{"idle_in_transaction_session_timeout",
	 "CASE current_setting('idle_in_transaction_session_timeout') WHEN '0' THEN '" DP_DB_IDLE_TX_TIMEOUT
	 "' ELSE '" DP_DB_IDLE_TX_FLOOR "' END",
	 "current_setting('idle_in_transaction_session_timeout')::interval < interval '" DP_DB_IDLE_TX_FLOOR "'",
	 0, 0},
	{"idle_session_timeout", "'0'", NULL, 1, 140000},
	{"extra_float_digits", "'3'", NULL, 0, 0},
	/* No JIT: docpipe's statements run for milliseconds, and the server
	 * compiles one whose estimated cost passes jit_above_cost: the
	 * query's text side and document scores passed it for 13 of 361
	 * questions at 100k chunks, 6-58 ms of compiling for statements of
	 * 5-40 ms (docs/PERFORMANCE.md, issue 11, session 56). */
	{"jit", "'off'", NULL, 0, 110000},
	{"session_replication_role", "'origin'", "current_setting('session_replication_role') <> 'origin'", 0, 0, 1},
	{"search_path", "concat_ws(', ', CASE WHEN (current_schemas(true))[1] <> 'pg_catalog' THEN 'pg_catalog' END,"
	 " nullif(current_setting('search_path'), ''), CASE WHEN "
	 VECTOR_SCHEMA " <> ALL (current_schemas(false)) THEN quote_ident(" VECTOR_SCHEMA ") END)", NULL, 0, 0},
};

/* Whether db's server knows setting c and its session may set it (a
 * server without it, or a role that may not set it, refuses set_config
 * and RESET of it: the whole RESET of dp_db_session_reset failed). */
static int setting_known(PGconn *db, const struct connect_setting *c)
{
	const char *su = PQparameterStatus(db, "is_superuser");

	return PQserverVersion(db) >= c->min_version && (!c->superuser || (su != NULL && strcmp(su, "on") == 0));
}
#define CONNECT_SETTINGS ((int)(sizeof connect_settings / sizeof connect_settings[0]))

/* Appends to sql (size bytes, holding a string) ", CASE WHEN guard THEN
 * set_config(name, value, local) END" for each of connect_settings that
 * db's server knows (a setting with a when, only when it holds; with
 * local, not a session's alone).  Returns 0, or -1 when it does not fit. */
static int append_connect_settings(PGconn *db, char *sql, size_t size, const char *guard, int local)
{
	size_t len = strlen(sql);

	for (int i = 0; i < CONNECT_SETTINGS; i++) {
		const struct connect_setting *c = &connect_settings[i];
		if (!setting_known(db, c) || (local && c->session))
			continue;
		int w = snprintf(sql + len, size - len, ", CASE WHEN %s%s%s THEN set_config('%s', %s, %s) END",
				 guard, c->when != NULL ? " AND " : "", c->when != NULL ? c->when : "", c->name,
				 c->value, local ? "true" : "false");
		if (w < 0 || (size_t)w >= size - len)
			return -1;
		len += (size_t)w;
	}
	return 0;
}

/* Appends to sql (size bytes, holding a string) "; SET [LOCAL] piece" for
 * each piece of settings ("name = value; name = value"), without the
 * leading "; " when sql is empty.  Returns 0, or -1 when it does not fit. */
static int append_settings(char *sql, size_t size, const char *settings, int local)
{
	size_t len = strlen(sql);

	for (const char *p = settings; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, ";");
		int w = snprintf(sql + len, size - len, "%sSET %s%.*s", len > 0 ? "; " : "",
				 local ? "LOCAL " : "", (int)n, p);
		if (w < 0 || (size_t)w >= size - len)
			return -1;
		len += (size_t)w;
		p += n;
		p += strspn(p, "; ");
	}
	return 0;
}

int dp_db_session_set(PGconn *db, const char *settings, dp_err *err)
{
	char sql[512] = "";

	if (dp_db_pooled() || settings == NULL)
		return 0;
	if (append_settings(sql, sizeof sql, settings, 0) < 0) {
		dp_err_set(err, "session settings too long");
		return -1;
	}
	return dp_db_exec(db, sql, err);
}

int dp_db_session_reset(PGconn *db, const char *settings, dp_err *err)
{
	char sql[512] = "";
	size_t len = 0;

	for (int i = 0; i < CONNECT_SETTINGS; i++)
		if (setting_known(db, &connect_settings[i]))
			len += (size_t)snprintf(sql + len, sizeof sql - len, "%sRESET %s", len > 0 ? "; " : "",
						connect_settings[i].name);
	for (const char *p = settings; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, "=;"), name = n;
		while (name > 0 && p[name - 1] == ' ')
			name--;
		int w = snprintf(sql + len, sizeof sql - len, "; RESET %.*s", (int)name, p);
		if (w < 0 || (size_t)w >= sizeof sql - len) {
			dp_err_set(err, "session settings too long");
			return -1;
		}
		len += (size_t)w;
		p += strcspn(p, ";");
		p += strspn(p, "; ");
	}
	return dp_db_exec(db, sql, err);
}

/* sql (size bytes) = the statements that begin a transaction as
 * dp_db_begin does, then local, then more (each NULL for none).  0, or -1
 * with err. */
static int begin_sql(PGconn *db, const char *settings, const char *local, const char *more, char *sql,
		     size_t size, dp_err *err)
{
	/* Pooled, connect_settings for this transaction: BEGIN's isolation
	 * level is their default_transaction_isolation's, which set_config
	 * only gives the transactions after it. */
	int pooled = dp_db_pooled();

	snprintf(sql, size, "%s", pooled ? "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT NULL" : "BEGIN");
	if (pooled && (append_connect_settings(db, sql, size, "true", 1) < 0 ||
		       append_settings(sql, size, settings, 1) < 0)) {
		dp_err_set(err, "transaction settings too long");
		return -1;
	}
	const char *tail[] = {local, more};
	for (size_t i = 0; i < sizeof tail / sizeof tail[0]; i++) {
		if (tail[i] == NULL)
			continue;
		if (strlen(sql) + strlen(tail[i]) + 3 > size) {
			dp_err_set(err, "transaction settings too long");
			return -1;
		}
		strcat(sql, "; ");
		strcat(sql, tail[i]);
	}
	return 0;
}

int dp_db_begin(PGconn *db, const char *settings, const char *local, dp_err *err)
{
	char sql[2048];

	return begin_sql(db, settings, local, NULL, sql, sizeof sql, err) < 0 ? -1 : dp_db_exec(db, sql, err);
}

int dp_db_end(PGconn *db, int rc, dp_err *err)
{
	if (rc == 0 && dp_db_exec(db, "COMMIT", err) == 0)
		return 0;
	dp_db_rollback(db);
	return rc != 0 ? rc : -1;
}

int dp_db_backend_pid(PGconn *db)
{
	return dp_db_pooled() ? 0 : PQbackendPID(db);
}

/* Behind a pooler, whether it lets db run a transaction: one in statement
 * pooling (PgBouncer's pool_mode = statement) ends the connection at the
 * first BEGIN ("transaction blocks not allowed in statement pooling
 * mode"), which read as the database going away: docpipe run's claim and
 * the store waited --db-retry (300 s), then status 3, the pooler's words
 * never said.  Found at the connection, it is a configuration error
 * (DP_DB_NO_TRANSACTIONS, dp_db_misconfigured).  Another failure of the
 * probe is the connection's, worth waiting for.  Returns 0, or -1 with
 * err. */
static int pool_takes_transactions(PGconn *db, dp_err *err)
{
	char line[DP_ERR_MAX];
	/* Two round trips: a pool lets one statement that ends its own
	 * transaction through ("BEGIN; COMMIT"), not a transaction left open
	 * at the statement's end. */
	PGresult *res = PQexec(db, "BEGIN");
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	PQclear(res);
	if (ok) {
		res = PQexec(db, "COMMIT");
		ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		PQclear(res);
	}
	if (ok)
		return 0;
	const char *msg = PQerrorMessage(db);
	one_line(line, sizeof line, msg);
	if (strstr(line, "statement pooling mode") != NULL)
		/* Its first line: libpq's words on the close after it say nothing more. */
		dp_err_set(err, "cannot use the database: the connection pooler " DP_DB_NO_TRANSACTIONS
			   " (%.*s): set its pool_mode to transaction or session, or connect to the"
			   " server directly", (int)strcspn(msg, "\n") < 200 ? (int)strcspn(msg, "\n") : 200,
			   msg);
	else
		dp_err_set(err, "cannot set up the database session: %s", line);
	return -1;
}

/* Gives db's session connect_settings, at connect and again after a reset
 * (PQreset makes a new session without them), in the round trip that
 * tells a proxy: a pooler (PgBouncer, in transaction or session pooling)
 * answers the connection with a process id and cancel key of its own,
 * never the server process's, which pg_backend_pid() tells.  Behind one
 * the settings are not made (the CASE's guard, on the server: they would
 * stay on a session the pool lends its other clients) and the process
 * is pooled from then on (dp_db_pooled_found): every statement the
 * programs send after it keeps nothing in a session.  Pooled already,
 * nothing is set; pooled, the pool is asked for a transaction
 * (pool_takes_transactions); with $DP_DB_POOLED_ENV 0, the settings are
 * made without the question.  Returns 0, or -1 with err. */
static int session_setup(PGconn *db, dp_err *err)
{
	char sql[2048] = "SELECT pg_backend_pid() = $1::int", pid[16], line[DP_ERR_MAX];
	const char *params[] = {pid};
	int check = pooled_env() != 0;

	if (dp_db_pooled())
		return pool_takes_transactions(db, err);
	if (!check)
		snprintf(sql, sizeof sql, "SELECT true");
	snprintf(pid, sizeof pid, "%d", PQbackendPID(db));
	if (append_connect_settings(db, sql, sizeof sql, check ? "pg_backend_pid() = $1::int" : "true", 0) < 0) {
		dp_err_set(err, "cannot set up the database session: settings too long");
		return -1;
	}
	PGresult *res = PQexecParams(db, sql, check, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		one_line(line, sizeof line, PQerrorMessage(db));
		dp_err_set(err, "cannot set up the database session: %s", line);
		PQclear(res);
		return -1;
	}
	int pooled = PQgetvalue(res, 0, 0)[0] != 't';
	PQclear(res);
	if (pooled) {
		dp_db_pooled_found();
		return pool_takes_transactions(db, err);
	}
	return 0;
}

/* A SQL_ASCII database stores the bytes it is sent, and another program
 * may have written a path or a text that is not UTF-8.  Read with the
 * client_encoding UTF8 dp_db_connect asks for, the server checks every
 * text on its way out, and one such row failed every statement that
 * reached it ("invalid byte sequence for encoding "UTF8": 0xff", exit 3,
 * no row named): a search, the sweep of a run (session 61).  Such a
 * database's texts are read as stored (client_encoding SQL_ASCII: no
 * conversion, no check), in such a database only (one round trip, at
 * connect and after a reset), and a program repairs them as it repairs
 * any text that is not UTF-8 (jv_string: each invalid byte U+FFFD);
 * what docpipe sends is UTF-8 already.  Returns 0, or -1 with err. */
static int texts_as_stored(PGconn *db, dp_err *err)
{
	const char *encoding = PQparameterStatus(db, "server_encoding");
	char line[DP_ERR_MAX];

	if (encoding == NULL || strcmp(encoding, "SQL_ASCII") != 0 || PQsetClientEncoding(db, "SQL_ASCII") == 0)
		return 0;
	one_line(line, sizeof line, PQerrorMessage(db));
	dp_err_set(err, "cannot set up the database session: client_encoding SQL_ASCII (a SQL_ASCII"
		   " database): %s", line);
	return -1;
}

/* The lines libpq adds to an error in verbose mode only (after the
 * message, in its own words: the stages never call setlocale, so they are
 * English); the SQLSTATE it puts after the severity is taken out apart. */
static const char *const verbose_lines[] = {
	"LOCATION:  ", "SCHEMA NAME:  ", "TABLE NAME:  ", "COLUMN NAME:  ", "DATATYPE NAME:  ",
	"CONSTRAINT NAME:  ",
};
/* libpq's labels of the lines after a message, whose text is no SQLSTATE. */
static const char *const detail_lines[] = {"DETAIL:  ", "HINT:  ", "QUERY:  ", "CONTEXT:  "};

static int starts_with_any(const char *p, const char *const *labels, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strncmp(p, labels[i], strlen(labels[i])) == 0)
			return 1;
	return 0;
}

/* 1 when p starts with a SQLSTATE (five digits or capitals) and ": ". */
static int sqlstate_at(const char *p)
{
	for (int i = 0; i < 5; i++)
		if (!isdigit((unsigned char)p[i]) && !(p[i] >= 'A' && p[i] <= 'Z'))
			return 0;
	return p[5] == ':' && p[6] == ' ';
}

void dp_db_login_message(const char *msg, char *line, size_t size, char sqlstate[6])
{
	static const char host_says[] = "connection to server ";
	char *text = malloc(strlen(msg) + 1), *o = text;

	sqlstate[0] = '\0';
	if (text == NULL) {
		one_line(line, size, msg);
		return;
	}
	for (const char *p = msg, *end; *p != '\0'; p = end) {
		end = strchr(p, '\n');
		end = end != NULL ? end + 1 : p + strlen(p);
		if (starts_with_any(p, verbose_lines, sizeof verbose_lines / sizeof verbose_lines[0]))
			continue;
		/* "connection to server ... failed: SEVERITY:  SQLSTATE: text":
		 * a host's failure starts a line; the one that counts is the
		 * last host's (libpq goes on to the next host only after a
		 * server "starting up" or shutting down, or no server). */
		const char *from = memmem(p, (size_t)(end - p), host_says, sizeof host_says - 1);
		if (from != NULL)
			sqlstate[0] = '\0';
		else
			from = p;
		const char *sev = starts_with_any(p, detail_lines, sizeof detail_lines / sizeof detail_lines[0])
					  ? NULL
					  : memmem(from, (size_t)(end - from), ":  ", 3);
		if (sev != NULL && sev + 3 + 7 <= end && sqlstate_at(sev + 3)) {
			memcpy(sqlstate, sev + 3, 5);
			sqlstate[5] = '\0';
			memcpy(o, p, (size_t)(sev + 3 - p));
			o += sev + 3 - p;
			p = sev + 3 + 7;
		}
		memcpy(o, p, (size_t)(end - p));
		o += end - p;
	}
	*o = '\0';
	one_line(line, size, text);
	free(text);
}

/* The connect_timeout db will use (PQconninfo: the URL's, else
 * PGCONNECT_TIMEOUT, else ours), as libpq reads it: 0 for none, at least 2
 * (libpq's rule: rounding must not fail a connection at once).  -1 with
 * line set to libpq's words when it is no integer (dp_db_misconfigured). */
static int connect_timeout_of(PGconn *db, char *line, size_t size)
{
	PQconninfoOption *opts = PQconninfo(db);
	long seconds = 0;

	for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "connect_timeout") != 0 || o->val == NULL)
			continue;
		char *end;
		errno = 0;
		seconds = strtol(o->val, &end, 10);
		while (isspace((unsigned char)*end))
			end++;
		if (end == o->val || *end != '\0' || errno != 0 || seconds != (int)seconds) {
			snprintf(line, size, "invalid integer value \"%.40s\" for connection option"
				 " \"connect_timeout\"", o->val);
			seconds = -1;
		}
		break;
	}
	PQconninfoFree(opts);
	return seconds < 0 ? (int)seconds : seconds == 0 ? 0 : seconds < 2 ? 2 : (int)seconds;
}

/* Whether db's connection names several hosts (host or hostaddr "a,b"). */
static int several_hosts(PGconn *db)
{
	PQconninfoOption *opts = PQconninfo(db);
	int several = 0;

	for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
		if ((strcmp(o->keyword, "host") == 0 || strcmp(o->keyword, "hostaddr") == 0) &&
		    o->val != NULL && strchr(o->val, ',') != NULL)
			several = 1;
	PQconninfoFree(opts);
	return several;
}

/* Makes db's connection, which PQconnectStartParams or PQresetStart began,
 * with poll_fn (PQconnectPoll or PQresetPoll), so that libpq's error says
 * the server's SQLSTATE: a server refusing us answers in its own language
 * (lc_messages), and only the SQLSTATE tells a refusal for good from a
 * server that is starting up (dp_db_unreachable).  The verbosity is the
 * default again afterwards.  libpq applies connect_timeout only inside
 * its blocking calls, so it is applied here: the clock starts again with
 * each socket libpq opens (each host, each of its addresses).  Returns 1
 * when the connection is made; 0 when it failed, with line set to libpq's
 * message on one line as the default verbosity shows it, and this
 * thread's last SQLSTATE (dp_db_last_sqlstate) to the last server's, ""
 * when that failure had none (no server, a client-side failure).  -1 when
 * connect_timeout passed on a host and the connection names several:
 * libpq's own blocking calls (PQconnectdbParams, PQreset) go on to the
 * next host then, which no call of its interface can do, so the caller
 * makes the connection again with them (such a failure says no SQLSTATE:
 * blocking_result). */
static int await_connection(PGconn *db, PostgresPollingStatusType (*poll_fn)(PGconn *),
			    char *line, size_t size)
{
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	int timeout = connect_timeout_of(db, line, size), fd = -1, started = 0, n = 1;
	ino_t ino = 0;
	double deadline = 0;

	last_sqlstate[0] = '\0';
	if (timeout < 0)
		return 0;
	PQsetErrorVerbosity(db, PQERRORS_VERBOSE);
	if (PQstatus(db) == CONNECTION_BAD)
		st = PGRES_POLLING_FAILED;
	while (st == PGRES_POLLING_READING || st == PGRES_POLLING_WRITING) {
		struct pollfd p = {.fd = PQsocket(db),
				   .events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT};
		struct stat sb;
		int fresh = !started || p.fd != fd;
		if (fstat(p.fd, &sb) == 0) {
			fresh |= sb.st_ino != ino; /* a new socket under the old number */
			ino = sb.st_ino;
		}
		if (fresh) {
			started = 1;
			fd = p.fd;
			deadline = dp_clock_ms() + timeout * 1000.0;
		}
		double left = deadline - dp_clock_ms();
		n = poll(&p, 1, timeout == 0 ? -1 : left <= 0 ? 0 : left > 60000 ? 60000 : (int)left + 1);
		if ((n < 0 && errno == EINTR) || (n == 0 && deadline > dp_clock_ms()))
			continue; /* as libpq's own wait; a long timeout is waited in steps */
		if (n <= 0)
			break; /* poll failed, or connect_timeout passed */
		st = poll_fn(db);
	}
	int poll_errno = errno;
	PQsetErrorVerbosity(db, PQERRORS_DEFAULT);
	if (st == PGRES_POLLING_OK)
		return 1;
	if (n == 0 && several_hosts(db))
		return -1;
	/* line: DP_ERR_MAX; room for our words after libpq's */
	dp_db_login_message(PQerrorMessage(db), line, size - 64, last_sqlstate);
	size_t len = strlen(line);
	if (n == 0) /* libpq's words for its own timeout, after its "connection to server ... failed: " */
		snprintf(line + len, size - len, "%stimeout expired", len > 0 ? " " : "");
	else if (n < 0)
		snprintf(line + len, size - len, "%spoll() failed: %s", len > 0 ? " " : "", strerror(poll_errno));
	return 0;
}

/* The outcome of a blocking PQconnectdbParams or PQreset, as
 * await_connection's (its error at the default verbosity: no SQLSTATE). */
static int blocking_result(PGconn *db, char *line, size_t size)
{
	last_sqlstate[0] = '\0';
	if (db == NULL || PQstatus(db) == CONNECTION_OK)
		return db != NULL;
	one_line(line, size, PQerrorMessage(db));
	return 0;
}

PGconn *dp_db_connect(const char *env_name, const char *app, dp_err *err)
{
	const char *var = env_name != NULL ? env_name : DP_DB_ENV_DEFAULT;
	const char *url = getenv(var);
	/* connect_timeout: a server that takes the TCP connection and never
	 * answers (hung, stopped) must not hang a reconnection for ever; the
	 * URL or PGCONNECT_TIMEOUT may say otherwise.  The TCP settings (db.h)
	 * before dbname: the URL's own win.  client_encoding after it: docpipe
	 * sends and reads UTF-8 whatever the URL, PGCLIENTENCODING, the role,
	 * the database or the server say (sent at connect, it wins over all of
	 * them); under LATIN1 every non-ASCII character was stored
	 * double-encoded, without a word. */
	const char *keys[] = {"connect_timeout", "tcp_user_timeout", "keepalives_idle",
			      "keepalives_interval", "keepalives_count", "dbname",
			      "client_encoding", "fallback_application_name", NULL};
	const char *values[] = {getenv("PGCONNECT_TIMEOUT") == NULL ? DP_DB_CONNECT_TIMEOUT : NULL,
				DP_DB_TCP_USER_TIMEOUT, DP_DB_KEEPALIVES_IDLE,
				DP_DB_KEEPALIVES_INTERVAL, DP_DB_KEEPALIVES_COUNT,
				url != NULL && *url != '\0' ? url : NULL, "UTF8", app, NULL};
	const int url_at = 5;
	char line[DP_ERR_MAX];

	if (pooled_env() < 0) {
		dp_err_set(err, "cannot connect to the database: $" DP_DB_POOLED_ENV " is not 0 or 1");
		return NULL;
	}
	if (env_name != NULL && values[url_at] == NULL) {
		dp_err_set(err, "cannot connect to the database: --db-env %.100s: $%.100s is %s, so it"
			   " names no connection string (without --db-env, $" DP_DB_ENV_DEFAULT
			   " or libpq's PG* variables name the database)", var, var,
			   url == NULL ? "not set" : "empty");
		return NULL;
	}

	/* A string libpq cannot parse: its message quotes the part it could
	 * not read (a password holding a bare '%', a URI cut short: the whole
	 * string), so only its words before the first quote are said. */
	if (values[url_at] != NULL) {
		char *why = NULL;
		PQconninfoOption *opts = PQconninfoParse(values[url_at], &why);
		if (opts == NULL) {
			char reason[DP_ERR_MAX] = "out of memory";
			if (why != NULL) {
				one_line(reason, sizeof reason, why);
				reason[strcspn(reason, "\"")] = '\0';
				size_t n = strlen(reason);
				while (n > 0 && (reason[n - 1] == ' ' || reason[n - 1] == ':'))
					reason[--n] = '\0';
				PQfreemem(why);
			}
			dp_err_set(err, "cannot connect to the database: $%s is not a valid connection"
				   " string (%s; the string is not shown: it may hold a password)", var, reason);
			return NULL;
		}
		PQconninfoFree(opts);
	}
	/* expand_dbname = 1: dbname may be a whole URL or key=value string,
	 * whose settings override the keys before it; a NULL dbname leaves
	 * every setting to the PG* variables. */
	PGconn *db = PQconnectStartParams(keys, values, 1);
	int made = db != NULL ? await_connection(db, PQconnectPoll, line, sizeof line) : 0;
	if (made < 0) { /* see await_connection */
		PQfinish(db);
		db = PQconnectdbParams(keys, values, 1);
		made = blocking_result(db, line, sizeof line);
	}
	if (db == NULL) {
		dp_err_set(err, "cannot connect to the database: out of memory");
		return NULL;
	}
	if (!made) {
		dp_err_set(err, "cannot connect to the database (%s%s): %s",
			   values[url_at] != NULL ? "$" : "PG* variables",
			   values[url_at] != NULL ? var : "", line);
		PQfinish(db);
		return NULL;
	}
	/* A database whose encoding is not UTF-8 (LATIN1, WIN1252, EUC_JP ...)
	 * cannot hold every text docpipe stores: the server refused each
	 * write holding a character it lacks (22P05), a document's and then
	 * its failure row's (a file name holding one), so the store exited 3
	 * and was restarted until the run stopped, no file named.  Refused
	 * here, for every program alike, as a configuration error
	 * (dp_db_misconfigured's words).  SQL_ASCII stores the bytes as sent.
	 * NULL: a proxy that did not pass the parameter on; the writes then
	 * say it. */
	const char *encoding = PQparameterStatus(db, "server_encoding");
	if (encoding != NULL && strcmp(encoding, "UTF8") != 0 && strcmp(encoding, "SQL_ASCII") != 0) {
		dp_err_set(err, "cannot use the database: its encoding is %.40s, " DP_DB_NOT_UTF8
			   " (UTF-8): give docpipe a database created with ENCODING 'UTF8'"
			   " (createdb -E UTF8 -T template0 NAME)", encoding);
		PQfinish(db);
		return NULL;
	}
	PQsetNoticeReceiver(db, on_notice, NULL);
	if (session_setup(db, err) < 0 || texts_as_stored(db, err) < 0) {
		PQfinish(db);
		return NULL;
	}
	return db;
}

int dp_db_reset(PGconn *db, dp_err *err)
{
	char line[DP_ERR_MAX];
	/* PQresetStart fails (0) only when it cannot start: db then says why,
	 * and await_connection finds it bad. */
	(void)PQresetStart(db);
	int made = await_connection(db, PQresetPoll, line, sizeof line);

	if (made < 0) { /* see await_connection */
		PQreset(db);
		made = blocking_result(db, line, sizeof line);
	}
	if (!made) {
		dp_err_set(err, "lost the database connection and could not reconnect: %s", line);
		return -1;
	}
	return session_setup(db, err) < 0 ? -1 : texts_as_stored(db, err);
}

int dp_db_session_get(PGconn *db, dp_db_session *out, dp_err *err)
{
	out->pid = 0;
	if (dp_db_pooled()) /* a server process the pool lends to anyone */
		return 0;
	PGresult *res = dp_db_query(db, "SELECT pid, extract(epoch FROM backend_start)::text "
					"FROM pg_stat_activity WHERE pid = pg_backend_pid()",
				    0, NULL, err);

	if (res == NULL)
		return -1;
	if (PQntuples(res) == 1) {
		out->pid = atoi(PQgetvalue(res, 0, 0));
		snprintf(out->start, sizeof out->start, "%s", PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	return 0;
}

int dp_db_session_end(PGconn *db, const dp_db_session *old, dp_err *err)
{
	char pid[16];
	const char *params[] = {pid, old->start};
	PGresult *res;
	int rc;

	/* Behind a pooler that process serves other clients now. */
	if (old->pid <= 0 || dp_db_pooled())
		return 0;
	snprintf(pid, sizeof pid, "%d", old->pid);
	res = dp_db_query(db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
			      "WHERE pid = $1::int AND extract(epoch FROM backend_start) = $2::numeric",
			  2, params, err);
	if (res == NULL)
		return -1;
	/* false: it ended meanwhile (a permission refusal is an error). */
	rc = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return rc;
}

const char *dp_db_last_sqlstate(void)
{
	return last_sqlstate;
}

void dp_db_forget_sqlstate(void)
{
	last_sqlstate[0] = '\0';
}

int dp_db_environmental(const char *st)
{
	return strcmp(st, "25006") == 0 || strcmp(st, "42501") == 0 || strcmp(st, "42P10") == 0 ||
	       strcmp(st, "42703") == 0 || strcmp(st, "42P01") == 0 || strncmp(st, "53", 2) == 0 ||
	       strncmp(st, "58", 2) == 0;
}

/* What to do about a database that takes no writes (25006). */
#define READ_ONLY_HINT "give docpipe a database that takes writes"

int dp_db_unwritable(PGconn *db, dp_err *err)
{
	PGresult *res = dp_db_query(db, "SELECT current_setting('transaction_read_only') = 'on',"
				    " pg_is_in_recovery(), current_setting('session_replication_role') <> 'origin'",
				    0, NULL, err);

	if (res == NULL)
		return -1;
	int ro = PQgetvalue(res, 0, 0)[0] == 't', standby = PQgetvalue(res, 0, 1)[0] == 't',
	    replica = PQgetvalue(res, 0, 2)[0] == 't';
	PQclear(res);
	if (replica && !ro && !standby) {
		dp_err_set(err, "session_replication_role is not origin for this role or database"
			   " (SHOW session_replication_role): foreign keys do not fire under it, and a"
			   " deleted document's chunks would stay for good; a superuser runs ALTER ROLE ..."
			   " RESET session_replication_role (or ALTER DATABASE ...)");
		return 1;
	}
	if (standby)
		dp_err_set(err, "the database takes no writes: the server is a standby (pg_is_in_recovery());"
			   " " READ_ONLY_HINT " (the primary's URL, or target_session_attrs=read-write);"
			   " restarting does not help");
	else if (ro)
		dp_err_set(err, "the database takes no writes: default_transaction_read_only is on for the"
			   " server, database or role (SHOW default_transaction_read_only); " READ_ONLY_HINT
			   "; restarting does not help");
	return ro || standby;
}

/* The setting a 53400 failure's words name: PostgreSQL keeps its name in
 * every language ("temporary file size exceeds temp_file_limit (0kB)"),
 * and a setting's name is the message's one word of lower-case letters,
 * digits and underscores that holds an underscore.  "" when none. */
static void limit_setting(const char *msg, char *out, size_t size)
{
	out[0] = '\0';
	for (const char *p = msg; *p != '\0';) {
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
		int word_start = p == msg || !isalnum((unsigned char)p[-1]);
		if (n > 0 && word_start && !isalnum((unsigned char)p[n]) && memchr(p, '_', n) != NULL &&
		    p[0] != '_' && n < size) {
			memcpy(out, p, n);
			out[n] = '\0';
			return;
		}
		p += n > 0 ? n : 1;
	}
}

int dp_db_limit_refused(const char *sqlstate, dp_err *err)
{
	char setting[64], why[DP_ERR_MAX];

	if (strcmp(sqlstate, "53400") != 0)
		return 0;
	limit_setting(err->msg, setting, sizeof setting);
	snprintf(why, sizeof why, "%s", err->msg);
	if (setting[0] != '\0')
		dp_err_set(err, "%s (a limit the server's, database's or role's settings put on a"
			   " session: %s; a superuser raises it, e.g. ALTER ROLE <role> SET %s = ...,"
			   " or ALTER DATABASE <db> SET ... (SHOW %s); restarting does not help)",
			   why, setting, setting, setting);
	else
		dp_err_set(err, "%s (a limit the server's, database's or role's settings put on a"
			   " session: raise the setting named; restarting does not help)", why);
	return 1;
}

int dp_db_open_refused(dp_err *err)
{
	const char *hint;

	if (dp_db_limit_refused(last_sqlstate, err))
		return 1;
	if (strcmp(last_sqlstate, "42501") == 0)
		hint = "a privilege the role lacks: have the database's owner grant it, e.g. GRANT"
		       " CREATE ON DATABASE, or run docpipe-store once as the owner to create"
		       " docpipe's schema and tables";
	else if (strcmp(last_sqlstate, "25006") == 0)
		hint = "the database takes no writes: default_transaction_read_only is on for the"
		       " server, database or role (SHOW default_transaction_read_only), or this is"
		       " a standby; " READ_ONLY_HINT;
	else
		return 0;
	char why[DP_ERR_MAX];
	snprintf(why, sizeof why, "%s", err->msg);
	dp_err_set(err, "%s (%s; restarting does not help)", why, hint);
	return 1;
}

int dp_db_refused_for_good(const char *st)
{
	return strncmp(st, "28", 2) == 0 || strcmp(st, "3D000") == 0 || strcmp(st, "3F000") == 0 ||
	       strncmp(st, "42", 2) == 0 || strcmp(st, "25006") == 0;
}

int dp_db_unreachable(const char *sqlstate, const char *msg)
{
	/* libpq's own words (no server said them, so no SQLSTATE) for a
	 * failure that a later attempt would meet again: no password given
	 * ("fe_sendauth: no password supplied"), a certificate it cannot
	 * read or verify, an authentication method or channel binding it
	 * will not do, an encryption the URL requires that the server does
	 * not offer (sslmode=require against a server without SSL,
	 * gssencmode=require), a peer that is not requirepeer's. */
	static const char *const permanent[] = {
		"password", "certificate", "authentication", "channel binding",
		"but SSL was required", "GSSAPI encryption required", "requirepeer specifies",
	};

	if (dp_db_misconfigured(msg))
		return 0;
	if (sqlstate != NULL && sqlstate[0] != '\0')
		return !dp_db_refused_for_good(sqlstate);
	for (size_t i = 0; i < sizeof permanent / sizeof permanent[0]; i++)
		if (strstr(msg, permanent[i]) != NULL)
			return 0;
	return 1;
}

int dp_db_connect_status(const char *msg)
{
	return dp_db_unreachable(dp_db_last_sqlstate(), msg) ? DP_EXIT_SYSTEM : DP_EXIT_USAGE;
}

int dp_db_misconfigured(const char *msg)
{
	/* libpq's words for a string or a value it cannot take (a bad
	 * sslmode, port or timeout), and ours for a string it cannot parse. */
	static const char *const words[] = {
		"not a valid connection string", "invalid connection option", "invalid URI",
		"missing \"=\"", "invalid sslmode", "invalid port", "invalid integer value",
		"invalid value for", "invalid target_session_attrs", "invalid channel_binding",
		"invalid gssencmode", "names no connection string", "is not 0 or 1",
		DP_DB_NOT_UTF8, DP_DB_NO_TRANSACTIONS,
	};

	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strstr(msg, words[i]) != NULL)
			return 1;
	return 0;
}

void dp_db_err(dp_err *err, PGconn *db, const PGresult *res, const char *what)
{
	const char *msg = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char line[DP_ERR_MAX];

	snprintf(last_sqlstate, sizeof last_sqlstate, "%s", dp_db_sqlstate(res));
	if (msg == NULL)
		msg = res != NULL && *PQresultErrorMessage(res) != '\0' ? PQresultErrorMessage(res)
									: PQerrorMessage(db);
	one_line(line, sizeof line, msg);
	dp_err_set(err, "%s: %s", what, line[0] != '\0' ? line : "unknown database error");
}

static int is_success(const PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* The sessions that hold what backend $1 waits for, the oldest
 * transaction first, and the relation it waits for ("" for a lock on no
 * relation: an advisory lock, a row's transaction).  No backslash in a
 * literal: under standard_conforming_strings off (a
 * database's or role's setting) '\\s+' was read as 's+', the holder's
 * statement shown with its s's taken out and a "nonstandard use of
 * escape" warning before it. */
static const char blockers_sql[] =
	"SELECT b.pid::text, coalesce(nullif(b.application_name, ''), 'no application name'),"
	" coalesce(b.state, 'state unknown'),"
	" coalesce(round(extract(epoch FROM now() - b.xact_start))::text, '?'),"
	" coalesce(left(regexp_replace(b.query, '[[:space:]]+', ' ', 'g'), 160), ''),"
	" coalesce((SELECT l.relation::regclass::text FROM pg_locks l WHERE l.pid = $1::int"
	"  AND NOT l.granted LIMIT 1), '')"
	" FROM unnest(pg_blocking_pids($1::int)) AS w(pid) JOIN pg_stat_activity b USING (pid)"
	" ORDER BY b.xact_start NULLS LAST LIMIT 3";

PGresult *dp_db_blockers(PGconn *conn, int pid, int answer_ms, dp_err *err)
{
	char pid_text[16];
	const char *params[1] = {pid_text};
	PGresult *res = NULL, *next;
	double start;

	snprintf(pid_text, sizeof pid_text, "%d", pid);
	if (!PQsendQueryParams(conn, blockers_sql, 1, NULL, params, NULL, NULL, 0)) {
		dp_db_err(err, conn, NULL, "asking the database what holds the wait up");
		return NULL;
	}
	start = dp_clock_ms();
	for (;;) {
		if (!PQconsumeInput(conn)) {
			dp_db_err(err, conn, NULL, "asking the database what holds the wait up");
			break;
		}
		if (!PQisBusy(conn)) {
			while ((next = PQgetResult(conn)) != NULL)
				if (res == NULL)
					res = next;
				else
					PQclear(next);
			if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
				dp_db_err(err, conn, res, "asking the database what holds the wait up");
				PQclear(res);
				res = NULL;
			}
			return res;
		}
		long left = answer_ms - (long)(dp_clock_ms() - start);
		struct pollfd fd = {.fd = PQsocket(conn), .events = POLLIN};
		if (left <= 0 || poll(&fd, 1, (int)left) == 0) {
			dp_err_set(err, "a question on a new connection got no answer in %d s either: the"
				   " server is hung or overloaded", answer_ms / 1000);
			break;
		}
	}
	return NULL;
}

/* Whether row's holder is idle outside a transaction: its lock is then
 * its session's (an advisory lock: a run's claim), not a transaction's. */
static int holds_session_lock(const PGresult *res, int row)
{
	return strcmp(PQgetvalue(res, row, 2), "idle") == 0;
}

void dp_db_blocker_text(const PGresult *res, int row, char *out, size_t size)
{
	if (holds_session_lock(res, row))
		snprintf(out, size, "pid %s (%s, idle, a lock of its session, no transaction open; its last"
			 " statement: %s)", PQgetvalue(res, row, 0), PQgetvalue(res, row, 1),
			 PQgetvalue(res, row, 4));
	else
		snprintf(out, size, "pid %s (%s, %s, transaction open %s s: %s)", PQgetvalue(res, row, 0),
			 PQgetvalue(res, row, 1), PQgetvalue(res, row, 2), PQgetvalue(res, row, 3),
			 PQgetvalue(res, row, 4));
}

const char *dp_db_blocker_until(const PGresult *res, int row)
{
	return holds_session_lock(res, row) ? "it goes on when that session lets its lock go or ends"
					    : "it goes on when that session ends its transaction";
}

/* Set by dp_db_say_lock_waits before any thread starts, read only after:
 * whether statements say their long waits, and the watch connection's
 * URL variable and application name; the caller's hook, if any. */
static int say_on;
static const char *say_env, *say_app;
static dp_db_wait_hook *say_hook;
static void *say_hook_ctx;

void dp_db_say_lock_waits(const char *db_env, const char *app)
{
	say_on = 1;
	say_env = db_env;
	say_app = app;
}

int dp_db_lock_waits_said(int on)
{
	int was = say_on;

	say_on = on && say_app != NULL;
	return was;
}

void dp_db_on_lock_wait(dp_db_wait_hook *hook, void *ctx)
{
	say_hook = hook;
	say_hook_ctx = ctx;
}

/* A statement's wait, as dp_db_say_lock_waits has it said. */
typedef struct wait_state {
	double start, next;  /* when it was sent; when to ask next (ms) */
	int said;            /* said once: no more questions */
	PGconn *watch;       /* the questions' connection; NULL until one */
} wait_state;

/* Says what the statement waits for (what: "a lock on R held by ...", or
 * why that cannot be known; the time with the latter) on stderr and to the
 * hook. */
static void say_wait(double waited_s, const char *what, const char *then)
{
	if (then[0] != '\0')
		dp_diag("waiting for %s%s", what, then);
	else
		dp_diag("waiting %.0f s for %s", waited_s, what);
	if (say_hook != NULL)
		say_hook(say_hook_ctx, what, waited_s);
}

/* Asks on w's connection (made now if need be) who holds what db's
 * backend waits for, and says so: one line each.  A wait that no session
 * holds up (a long statement, a slow server) is not said: the next
 * question may find one. */
static void say_blockers(PGconn *db, wait_state *w)
{
	double waited_s = (dp_clock_ms() - w->start) / 1000;
	char who[DP_ERR_MAX], what[DP_ERR_MAX + 300], then[80];
	dp_err err;

	if (w->watch == NULL && (w->watch = dp_db_connect(say_env, say_app, &err)) == NULL) {
		snprintf(what, sizeof what, "the database, which takes no new connection either: %s", err.msg);
		say_wait(waited_s, what, "");
		w->said = 1;
		return;
	}
	PGresult *res = dp_db_blockers(w->watch, dp_db_backend_pid(db), DP_DB_BLOCKERS_ANSWER_MS, &err);
	if (res == NULL) {
		snprintf(what, sizeof what, "the database: %s", err.msg);
		say_wait(waited_s, what, "");
		w->said = 1;
		return;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		const char *rel = PQgetvalue(res, i, 5);
		dp_db_blocker_text(res, i, who, sizeof who);
		snprintf(what, sizeof what, "a lock%s%s held by %s", *rel != '\0' ? " on " : "", rel, who);
		snprintf(then, sizeof then, "; %s", dp_db_blocker_until(res, i));
		say_wait(waited_s, what, then);
	}
	w->said = PQntuples(res) > 0;
	PQclear(res);
}

/* Waits until db's next result can be read without blocking (or the
 * connection fails: PQgetResult then says so), asking who holds the wait
 * up every DP_DB_LOCK_SAY_MS until that is said. */
static void wait_ready(PGconn *db, wait_state *w)
{
	while (PQisBusy(db)) {
		double left = w->next - dp_clock_ms();
		struct pollfd fd = {.fd = PQsocket(db), .events = POLLIN};
		int n = poll(&fd, 1, w->said ? -1 : left > 0 ? (int)left + 1 : 0);
		if (n < 0 && errno != EINTR)
			return;
		if (n > 0 && !PQconsumeInput(db))
			return;
		if (n == 0) {
			say_blockers(db, w);
			w->next = dp_clock_ms() + DP_DB_LOCK_SAY_MS;
		}
	}
}

/* A statement's text and parameters, as PQexecParams takes them
 * (nparams < 0: one or more statements, no parameters, as PQexec). */
typedef struct statement {
	const char *sql;
	int nparams;
	const Oid *types;
	const char *const *values;
	const int *lengths, *formats;
} statement;

/* st as PQexec or PQexecParams runs it, and its result as they return it:
 * the last, or the first that starts a COPY.  With dp_db_say_lock_waits, a
 * long wait for it is said (and the hook told when a said wait ends). */
static PGresult *run(PGconn *db, const statement *st)
{
	if (!say_on)
		return st->nparams < 0 ? PQexec(db, st->sql)
				       : PQexecParams(db, st->sql, st->nparams, st->types, st->values,
						      st->lengths, st->formats, 0);
	if (!(st->nparams < 0 ? PQsendQuery(db, st->sql)
			      : PQsendQueryParams(db, st->sql, st->nparams, st->types, st->values, st->lengths,
						  st->formats, 0)))
		return NULL;
	/* Behind a pooler the backend is unknown: nothing to ask. */
	wait_state w = {.start = dp_clock_ms(), .said = dp_db_pooled()};
	PGresult *last = NULL, *res;
	w.next = w.start + DP_DB_LOCK_SAY_MS;
	for (;;) {
		wait_ready(db, &w);
		if ((res = PQgetResult(db)) == NULL)
			break;
		PQclear(last);
		last = res;
		ExecStatusType status = PQresultStatus(res);
		if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH ||
		    PQstatus(db) == CONNECTION_BAD)
			break;
	}
	if (w.said && say_hook != NULL)
		say_hook(say_hook_ctx, NULL, (dp_clock_ms() - w.start) / 1000);
	PQfinish(w.watch);
	return last;
}

PGresult *dp_db_result_params(PGconn *db, const char *sql, int nparams, const Oid *types,
			      const char *const *values, const int *lengths, const int *formats)
{
	statement st = {sql, nparams, types, values, lengths, formats};

	return run(db, &st);
}

PGresult *dp_db_result(PGconn *db, const char *sql)
{
	return run(db, &(statement){.sql = sql, .nparams = -1});
}

int dp_db_exec(PGconn *db, const char *sql, dp_err *err)
{
	PGresult *res = run(db, &(statement){.sql = sql, .nparams = -1});
	int rc = 0;

	if (res == NULL || !is_success(res)) {
		/* Named by its first statement's start: a schema's whole
		 * script quoted before its error hid the error. */
		char what[72];
		size_t n = strcspn(sql, ";\n");
		snprintf(what, sizeof what, "%.*s%s", (int)(n < 60 ? n : 60), sql, n < 60 ? "" : " ...");
		dp_db_err(err, db, res, what);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

PGresult *dp_db_query(PGconn *db, const char *sql, int nparams, const char *const *params,
		      dp_err *err)
{
	PGresult *res = run(db, &(statement){.sql = sql, .nparams = nparams, .values = params});

	if (res == NULL || !is_success(res)) {
		dp_db_err(err, db, res, "query failed");
		PQclear(res);
		return NULL;
	}
	return res;
}

PGresult *dp_db_query_set(PGconn *db, const char *sql, int nparams, const char *const *params,
			  dp_err *err)
{
	if (!dp_db_pooled() || PQtransactionStatus(db) != PQTRANS_IDLE)
		return dp_db_query(db, sql, nparams, params, err);
	if (dp_db_begin(db, NULL, NULL, err) < 0) {
		dp_db_rollback(db);
		return NULL;
	}
	PGresult *res = dp_db_query(db, sql, nparams, params, err);
	if (dp_db_end(db, res != NULL ? 0 : -1, err) < 0) {
		PQclear(res);
		return NULL;
	}
	return res;
}

/* Begins a transaction as dp_db_begin does, with the statement more (no
 * input in it) sent in the same round trip.  Returns more's result, or
 * NULL with err set (the transaction rolled back). */
static PGresult *begin_with(PGconn *db, const char *settings, const char *local, const char *more,
			    dp_err *err)
{
	char sql[2048];

	if (begin_sql(db, settings, local, more, sql, sizeof sql, err) < 0)
		return NULL;
	PGresult *res = dp_db_result(db, sql);
	if (res == NULL || !is_success(res)) {
		dp_db_err(err, db, res, "query failed");
		PQclear(res);
		/* BEGIN ran: the transaction, if any, is left aborted. */
		if (PQtransactionStatus(db) != PQTRANS_IDLE)
			dp_db_rollback(db);
		return NULL;
	}
	return res;
}

int dp_db_begin_locked(PGconn *db, const char *settings, const char *local, long long lock_key,
		       dp_err *err)
{
	char lock[64];

	/* One round trip: the lock's statement sent with BEGIN's (its key a
	 * number of the caller's, no input).  Every schema check and claim
	 * begins so: a round trip is a wake-up of the client and of the
	 * backend, a millisecond or more each on a loaded machine (the claim
	 * is on every run's start: docs/PERFORMANCE.md, issue 8 (b), session
	 * 57). */
	snprintf(lock, sizeof lock, "SELECT pg_advisory_xact_lock(%lld)", lock_key);
	PGresult *res = begin_with(db, settings, local, lock, err);
	PQclear(res);
	return res == NULL ? -1 : 0;
}

int dp_db_begin_xid(PGconn *db, const char *settings, const char *local, long long *xid, dp_err *err)
{
	/* A standby cannot assign an id ("cannot assign TransactionIds during
	 * recovery", SQLSTATE XX000): none is asked there, and the write
	 * fails as read-only (25006), which callers know. */
	PGresult *res = begin_with(db, settings, local,
				   "SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE txid_current() END", err);

	if (res == NULL)
		return -1;
	*xid = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) ? atoll(PQgetvalue(res, 0, 0)) : 0;
	PQclear(res);
	return 0;
}

int dp_db_xid_status(PGconn *db, long long xid, dp_err *err)
{
	char id[24];
	const char *params[] = {id};

	snprintf(id, sizeof id, "%lld", xid);
	PGresult *res = dp_db_query(db, "SELECT txid_status($1::bigint)", 1, params, err);
	if (res == NULL)
		return -1;
	const char *st = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : "";
	int status = strcmp(st, "committed") == 0     ? DP_DB_XID_COMMITTED
		     : strcmp(st, "aborted") == 0     ? DP_DB_XID_ABORTED
		     : strcmp(st, "in progress") == 0 ? DP_DB_XID_RUNNING
						      : DP_DB_XID_UNKNOWN;
	PQclear(res);
	return status;
}

int dp_db_try(PGconn *db, const char *sql, dp_err *err)
{
	if (dp_db_exec(db, "SAVEPOINT dp_try", err) < 0)
		return -1;
	if (dp_db_exec(db, sql, err) == 0)
		return dp_db_exec(db, "RELEASE SAVEPOINT dp_try", err) < 0 ? -1 : 1;
	dp_err undo;
	if (dp_db_exec(db, "ROLLBACK TO SAVEPOINT dp_try", &undo) < 0) {
		*err = undo;
		return -1;
	}
	return 0;
}

void dp_db_rollback(PGconn *db)
{
	PQclear(PQexec(db, "ROLLBACK"));
}

int dp_db_lost(PGconn *db)
{
	/* A statement can fail on a connection whose server went away (seen
	 * with pg_ctl restart -m immediate: "server closed the connection
	 * unexpectedly") while libpq still calls it OK; reading what the
	 * server sent (PQconsumeInput never blocks) finds the close. */
	if (PQstatus(db) == CONNECTION_OK)
		PQconsumeInput(db);
	return PQstatus(db) != CONNECTION_OK;
}

const char *dp_db_sqlstate(const PGresult *res)
{
	const char *s = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return s != NULL ? s : "";
}

int dp_db_settings_lost(PGconn *db, dp_err *why)
{
	PGresult *res = dp_db_query(db, "SELECT to_regclass('docpipe.settings') IS NOT NULL,"
				    " to_regclass('docpipe.chunks') IS NOT NULL", 0, NULL, why);
	dp_db_settings set = {.dim = 0};

	if (res == NULL)
		return -1;
	int have_settings = PQgetvalue(res, 0, 0)[0] == 't', have_chunks = PQgetvalue(res, 0, 1)[0] == 't';
	PQclear(res);
	if (!have_chunks)
		return 0;
	if (have_settings) {
		if ((res = dp_db_query(db, "SELECT key, value FROM docpipe.settings", 0, NULL, why)) == NULL)
			return -1;
		dp_db_settings_read(res, &set);
		PQclear(res);
		if (set.embedder[0] != '\0' && set.dim > 0)
			return 0;
	}
	res = dp_db_query(db, "SELECT EXISTS (SELECT 1 FROM docpipe.chunks WHERE embedding IS NOT NULL)",
			  0, NULL, why);
	if (res == NULL)
		return -1;
	int embedded = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!embedded)
		return 0;
	dp_err_set(why, "the corpus's settings are lost (%s) but docpipe.chunks holds embedded"
		   " chunks: which embedder, dimension and text search configuration they were"
		   " stored with is unknown, so they cannot be searched; restore docpipe.settings"
		   " from a backup, or store the corpus again into an empty database",
		   have_settings ? "docpipe.settings has no embedder or dim" : "table docpipe.settings is gone");
	return 1;
}

/* One row: per DP_DB_NEEDS_* mark, whether the database shows it.  A
 * missing table has no missing column (to_regclass gives NULL, the
 * attribute probe no row, and IS NOT NULL AND ... false). */
static const char schema_old_sql[] =
	"SELECT to_regclass('docpipe.outcomes') IS NOT NULL,"
	" to_regclass('docpipe.runs') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_attribute"
	"  WHERE attrelid = to_regclass('docpipe.runs') AND attname = 'planned' AND NOT attisdropped),"
	" to_regclass('docpipe.chunks') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_attribute"
	"  WHERE attrelid = to_regclass('docpipe.chunks') AND attname = 'byte_start'"
	"  AND NOT attisdropped)";

int dp_db_schema_old(PGconn *db, unsigned needs, dp_err *why)
{
	static const struct {
		unsigned need;
		const char *what;
	} marks[] = {
		{DP_DB_NEEDS_OUTCOMES, "its failures are in docpipe.outcomes, not docpipe.failures"},
		{DP_DB_NEEDS_OUTCOMES, "docpipe.runs has no column planned"},
		{DP_DB_NEEDS_CHUNKS, "docpipe.chunks lacks the provenance columns byte_start to page_end"},
	};
	PGresult *res = dp_db_query(db, schema_old_sql, 0, NULL, why);
	char what[DP_ERR_MAX] = "";
	size_t len = 0;

	if (res == NULL)
		return -1;
	for (int i = 0; i < (int)(sizeof marks / sizeof marks[0]); i++)
		if ((marks[i].need & needs) && PQgetvalue(res, 0, i)[0] == 't' && len < sizeof what)
			len += (size_t)snprintf(what + len, sizeof what - len, "%s%s", len > 0 ? "; " : "",
						marks[i].what);
	PQclear(res);
	if (len == 0)
		return 0;
	dp_err_set(why, "the database was made by an older docpipe (%s); run docpipe-store"
		   " (or docpipe run) once to bring it up to date", what);
	return 1;
}

void dp_db_settings_read(const PGresult *res, dp_db_settings *out)
{
	memset(out, 0, sizeof *out);
	for (int i = 0; i < PQntuples(res); i++) {
		const char *key = PQgetvalue(res, i, 0), *value = PQgetvalue(res, i, 1);
		if (strcmp(key, "embedder") == 0)
			snprintf(out->embedder, sizeof out->embedder, "%s", value);
		else if (strcmp(key, "dim") == 0)
			out->dim = atoi(value);
		else if (strcmp(key, "vector_type") == 0)
			snprintf(out->vector_type, sizeof out->vector_type, "%s", value);
		else if (strcmp(key, "vector_index") == 0)
			snprintf(out->vector_index, sizeof out->vector_index, "%s", value);
		else if (strcmp(key, "index_method") == 0)
			snprintf(out->index_method, sizeof out->index_method, "%s", value);
		else if (strcmp(key, "index_state") == 0)
			snprintf(out->index_state, sizeof out->index_state, "%s", value);
		else if (strcmp(key, "hnsw_ef_construction") == 0)
			out->hnsw_ef_construction = atoi(value);
		else if (strcmp(key, "ivfflat_lists") == 0)
			out->ivfflat_lists = atoi(value);
	}
}

int dp_db_corpus_embedder(PGconn *db, char *embedder, size_t len, int *dim, dp_err *err)
{
	int rc = -1;
	/* Two statements: the second does not parse before the first store
	 * made the table. */
	PGresult *res = dp_db_query(db, "SELECT to_regclass('docpipe.settings') IS NOT NULL", 0, NULL, err);

	if (res != NULL) {
		rc = PQgetvalue(res, 0, 0)[0] == 't' ? 1 : 0;
		PQclear(res);
	}
	if (rc == 1) {
		res = dp_db_query(db,
				  "SELECT e.value, d.value FROM docpipe.settings e, docpipe.settings d"
				  " WHERE e.key = 'embedder' AND d.key = 'dim'", 0, NULL, err);
		rc = res == NULL ? -1 : PQntuples(res) == 1;
		if (rc == 1) {
			snprintf(embedder, len, "%s", PQgetvalue(res, 0, 0));
			*dim = atoi(PQgetvalue(res, 0, 1));
		}
		PQclear(res);
	}
	return rc;
}
