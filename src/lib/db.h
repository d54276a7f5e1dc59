/* PostgreSQL connections and helpers shared by the stages that use the
 * database (store, query, and any stage that keeps state there).
 *
 * Connection settings come from the environment only, never from argv
 * (a URL may hold a password and argv is visible to every user). */
#ifndef DP_DB_H
#define DP_DB_H

#include <libpq-fe.h>

#include "err.h"

#define DP_DB_ENV_DEFAULT "DATABASE_URL"

/* Type oids of the built-in types we send and receive in binary. */
#define DP_OID_INT4 23
#define DP_OID_INT8 20
#define DP_OID_TEXT 25
#define DP_OID_FLOAT4 700
#define DP_OID_INT8_ARRAY 1016
#define DP_OID_TEXT_ARRAY 1009

/* Connects with the connection string or URL held by environment variable
 * env_name (NULL: DATABASE_URL); when DATABASE_URL is unset or empty,
 * libpq's own PG* variables decide.  A variable the caller named
 * (--db-env) that is unset or empty is a configuration error
 * (dp_db_misconfigured): falling back to the PG* variables would write
 * into, or search, whatever database they name.  app names the connection in
 * pg_stat_activity.  A connection not made in DP_DB_CONNECT_TIMEOUT seconds
 * fails, unless the URL's connect_timeout or PGCONNECT_TIMEOUT says
 * otherwise.  Over TCP, a server that the network no longer reaches (a
 * partition, a failover that left no one to send a reset) is found out:
 * data unacknowledged for DP_DB_TCP_USER_TIMEOUT ms, or an idle connection
 * whose keepalive probes (after DP_DB_KEEPALIVES_IDLE s, every
 * DP_DB_KEEPALIVES_INTERVAL s) go unanswered DP_DB_KEEPALIVES_COUNT
 * times, fails it (without them the kernel retransmits for ~15 minutes
 * and an idle wait for a reply never ends); the URL may set libpq's
 * tcp_user_timeout and keepalives_* otherwise.  Returns the connection, or
 * NULL with err set to libpq's reason on one line, as libpq words it at
 * its default verbosity, and this thread's last SQLSTATE
 * (dp_db_last_sqlstate) set to the server's refusal ("" for none: no
 * server answered, or libpq itself gave up), whatever the server's
 * language (lc_messages): dp_db_unreachable reads it.
 * connect_timeout is counted from each socket libpq opens (each host,
 * each of a host name's addresses), as libpq's own PQconnectdb counts it;
 * when it passes, the attempt fails ("timeout expired"), except when the
 * connection names several hosts (host=a,b): it is then made once more
 * by PQconnectdbParams itself, which goes on to the next host after
 * connect_timeout (its failure then says no SQLSTATE: classified by its
 * words, English only). */
#define DP_DB_CONNECT_TIMEOUT "10"
#define DP_DB_TCP_USER_TIMEOUT "60000"
#define DP_DB_KEEPALIVES_IDLE "30"
#define DP_DB_KEEPALIVES_INTERVAL "10"
#define DP_DB_KEEPALIVES_COUNT "3"
/* The server ends a session of ours idle in a transaction this long
 * (idle_in_transaction_session_timeout, when nothing set one): a frozen or
 * cut-off store's locks do not hold the other stores up for ever. */
#define DP_DB_IDLE_TX_TIMEOUT "60s"
/* A shorter limit set for our sessions is raised to this: between the
 * statements of a transaction the client computes (for longer on a loaded
 * machine), and a limit of 1 ms cut the store on most batches.  A limit
 * from here up is the user's and kept. */
#define DP_DB_IDLE_TX_FLOOR "5s"
/* Behind a proxy the session gets nothing and the process is pooled from
 * then on (DP_DB_POOLED_ENV): the callers read dp_db_pooled(). */
PGconn *dp_db_connect(const char *env_name, const char *app, dp_err *err);
/* Makes db's connection again (PQresetStart) with the session settings
 * dp_db_connect gives, its SQLSTATE and connect_timeout as there.
 * Returns 0, or -1 with err (still lost). */
int dp_db_reset(PGconn *db, dp_err *err);

/* Transaction pooling (PgBouncer's pool_mode = transaction, the "pooler"
 * URL of hosted PostgreSQL): each transaction, or each statement outside
 * one, may run on another server session, which serves other clients in
 * between.  Nothing docpipe relies on may live in a session there: no
 * named prepared statement (docpipe-store prepares its row statements on a
 * direct connection only), no session SET (it would reach the pool's other
 * clients), no session advisory lock, no pid of "our" server process.  A
 * connection is pooled when $DP_DB_POOLED_ENV is 1, or once this process
 * met a proxy (dp_db_pooled_found): unset or empty, dp_db_connect and
 * dp_db_reset ask each new session, before they set anything, whether it
 * is the server process that answered the connection (a pooler answers
 * with a process id and cancel key of its own; the question rides in the
 * round trip that gives a direct session its settings, whose making it
 * guards on the server).  0: direct, not asked (a session pooler, where
 * session state lasts as long as the connection).  Another value is a
 * configuration error at connect. */
#define DP_DB_POOLED_ENV "DOCPIPE_DB_POOLED"
/* 1 when this process's connections are pooled: the answer of the
 * connections made so far (dp_db_connect), for their callers. */
int dp_db_pooled(void);
/* Makes this process's connections pooled from now on (a connection
 * answered by a proxy; the store met a prepared statement missing,
 * SQLSTATE 26000, or already there, 42P05, on the connection that
 * prepared or never prepared it).  Returns 1 the first time when
 * $DP_DB_POOLED_ENV did not say so already (the caller says so once),
 * else 0.  Session settings already sent (a pool that
 * $DP_DB_POOLED_ENV=0 said was direct) stay on the server sessions they
 * reached until dp_db_session_reset. */
int dp_db_pooled_found(void);
/* Sets settings ("name = value; name = value", constants) for db's
 * session, on a direct connection; pooled, nothing (dp_db_begin sets them
 * in each transaction).  Returns 0, or -1 with err. */
int dp_db_session_set(PGconn *db, const char *settings, dp_err *err);
/* Takes back, on the server session that runs this statement, what the
 * connection's session got before the process found a pooler out
 * (dp_db_pooled_found): dp_db_connect's settings (its one list) and
 * settings (the caller's, as it gave them to dp_db_session_set; NULL:
 * none) are RESET to the server's, database's or role's, and nothing
 * else: not DISCARD ALL, whose RESET ALL, DEALLOCATE ALL and
 * pg_advisory_unlock_all would take from the pool's other clients what
 * they keep there (PgBouncer runs its server_reset_query, DISCARD ALL by
 * default, only in session pooling).  Behind a pooler that statement runs
 * on the server session the pool lends it, the one that served the
 * connection last when the pool is quiet (PgBouncer reuses its server
 * sessions last in, first out) but not surely the one that got the
 * settings.  Returns 0, or -1 with err. */
int dp_db_session_reset(PGconn *db, const char *settings, dp_err *err);
/* Begins a transaction.  Pooled, it gets what a direct session has from
 * dp_db_connect (READ COMMITTED, idle_in_transaction_session_timeout) and
 * settings (dp_db_session_set's form) as SET LOCAL; then local (SQL
 * statements, e.g. "SET LOCAL work_mem = '64MB'"; NULL: none) in either
 * mode.  One round trip.  Returns 0, or -1 with err (the caller rolls
 * back). */
int dp_db_begin(PGconn *db, const char *settings, const char *local, dp_err *err);
/* Ends the transaction dp_db_begin (or dp_db_begin_locked) opened: COMMIT
 * when rc (the work's result, dp_db_begin's own failure included) is 0,
 * else ROLLBACK.  Returns 0, rc when it is not 0, or -1 with err when the
 * COMMIT failed (a ROLLBACK follows it all the same). */
int dp_db_end(PGconn *db, int rc, dp_err *err);
/* db's server process (PQbackendPID), or 0 when pooled: PgBouncer's
 * answer is no server process, and the one db's transaction runs on
 * changes. */
int dp_db_backend_pid(PGconn *db);

/* A server session, as the server knows it: its process and start. */
typedef struct dp_db_session {
	int pid; /* 0: none */
	char start[40]; /* backend_start, seconds since the epoch, as text */
} dp_db_session;

/* Sets *out to db's session (pid 0 when pooled).  Returns 0, or -1 with
 * err set (out->pid 0). */
int dp_db_session_get(PGconn *db, dp_db_session *out, dp_err *err);

/* Ends `old`, a session of ours that the server may still hold after our
 * side of its connection was lost (the server learns of a partition only
 * when it next sends, or from its keepalives: hours by default), with its
 * open transaction and the locks that transaction holds, on which a retry
 * of that transaction would wait.  Its transaction can no longer commit:
 * ending it rolls it back.  Matched by pid and start, so another session
 * that reuses the pid is never touched.  Returns 1 when it was ended, 0
 * when the server no longer had it, -1 with err set when the server would
 * not end it (the same role or pg_signal_backend may) or the question
 * failed.  Pooled, 0 without a question: the server process may serve
 * another client by then. */
int dp_db_session_end(PGconn *db, const dp_db_session *old, dp_err *err);

/* Sets err to "what: <server or libpq message on one line>" for a failed
 * result (res may be NULL: the connection's message is used). */
void dp_db_err(dp_err *err, PGconn *db, const PGresult *res, const char *what);

/* Statements that wait long say why, from now on, in this process (call
 * it before any thread starts): while one has waited DP_DB_LOCK_SAY_MS for
 * its answer, and every DP_DB_LOCK_SAY_MS after until it is said, a
 * connection of its own (db_env as dp_db_connect's, application app) asks
 * the server which sessions hold the lock the statement's backend waits
 * for (dp_db_blockers); each is said on stderr, once, and the statement
 * goes on waiting (a lock_timeout or statement_timeout of the session
 * ends it).  For the commands a user waits on (docpipe-query,
 * docpipe-status): a lock held elsewhere (a store migrating an old
 * schema, an ALTER or a transaction left open in psql) otherwise stops
 * them without a word.  Covers dp_db_exec, dp_db_query and dp_db_result. */
#define DP_DB_LOCK_SAY_MS 2000
void dp_db_say_lock_waits(const char *db_env, const char *app);
/* Stops (on 0) or starts again (on 1) the saying of dp_db_say_lock_waits
 * for the statements that follow, and returns what it was: a wait its
 * caller says itself is not said twice (a --wait claim behind a live run,
 * said "waiting for it to end: run ..."). */
int dp_db_lock_waits_said(int on);
/* Also tells hook (called in the statement's thread, before any thread
 * starts as dp_db_say_lock_waits) each wait said, what being its words
 * ("a lock on docpipe.documents held by pid N (...)", or why that cannot
 * be known) and waited_s how long it has lasted, and, with what NULL, the
 * end of a statement whose wait was said: docpipe-store's sweep passes it
 * to the hub, whose progress shows it.  NULL: none. */
typedef void dp_db_wait_hook(void *ctx, const char *what, double waited_s);
void dp_db_on_lock_wait(dp_db_wait_hook *hook, void *ctx);

/* How long a question of dp_db_blockers waits for its answer: a server
 * that does not answer it is hung, which is said instead. */
#define DP_DB_BLOCKERS_ANSWER_MS 5000
/* The sessions (at most 3, the oldest transaction first) that hold the
 * lock backend pid waits for, asked on conn (not pid's own connection,
 * which waits), waiting at most answer_ms.  Returns rows (no rows: pid
 * waits for no lock) of dp_db_blocker_text's columns and, in column 5,
 * the relation waited for ("" when the lock is on none), or NULL with
 * err set. */
PGresult *dp_db_blockers(PGconn *conn, int pid, int answer_ms, dp_err *err);
/* Row row of dp_db_blockers's answer as "pid N (application, state,
 * transaction open S s: statement)" into out; a holder idle outside a
 * transaction (a session's advisory lock: a run's claim) as "pid N
 * (application, idle, a lock of its session, no transaction open; its
 * last statement: statement)". */
void dp_db_blocker_text(const PGresult *res, int row, char *out, size_t size);
/* What ends the wait for row's holder, to follow its text: "it goes on
 * when that session ends its transaction", or, for a session's lock,
 * "... lets its lock go or ends".  A static string. */
const char *dp_db_blocker_until(const PGresult *res, int row);

/* Runs sql (one or more statements, no parameters) as PQexec does, and
 * returns its result whatever its status (the caller PQclear()s it), or
 * NULL when it could not be sent (PQerrorMessage says why).  Says a long
 * wait as dp_db_say_lock_waits has it. */
PGresult *dp_db_result(PGconn *db, const char *sql);

/* Runs sql with parameters as PQexecParams does (types, lengths and
 * formats as it takes them), and returns its result whatever its status,
 * or NULL when it could not be sent.  Says a long wait as
 * dp_db_say_lock_waits has it. */
PGresult *dp_db_result_params(PGconn *db, const char *sql, int nparams, const Oid *types,
			      const char *const *values, const int *lengths, const int *formats);

/* A CREATE of a docpipe object (rel: "docpipe.name", a string literal;
 * ddl: a CREATE ... IF NOT EXISTS statement, likewise), run only when the
 * object is missing.  PostgreSQL checks the CREATE privilege before it
 * looks whether the object exists: a role given only the use of a schema
 * its owner made (USAGE, SELECT, INSERT ...) was refused at every start by
 * the IF NOT EXISTS alone (tests/integration/fault_db_dml_role.sh). */
#define DP_DB_CREATE_MISSING(rel, ddl) \
	"DO $$BEGIN IF to_regclass('" rel "') IS NULL THEN " ddl "; END IF; END$$"

/* The schema docpipe, created likewise only when missing. */
#define DP_DB_CREATE_SCHEMA \
	"DO $$BEGIN IF to_regnamespace('docpipe') IS NULL THEN" \
	" CREATE SCHEMA IF NOT EXISTS docpipe; END IF; END$$"

/* Runs sql (no parameters) and expects a command or rows.  Returns 0, or
 * -1 with err set. */
int dp_db_exec(PGconn *db, const char *sql, dp_err *err);

/* Runs sql with text parameters (NULL entries are SQL NULL).  Returns the
 * result when it is a command or rows (the caller PQclear()s it), or NULL
 * with err set. */
PGresult *dp_db_query(PGconn *db, const char *sql, int nparams, const char *const *params,
		      dp_err *err);

/* dp_db_query with dp_db_connect's settings whatever the server session
 * has: behind a transaction pooler a statement outside a transaction runs
 * with the settings the pool's server session has (another client's SET
 * extra_float_digits = -15 read docpipe-query's text scores as one digit),
 * so there, outside a transaction, it runs in one of its own (dp_db_begin's
 * SET LOCAL: two more round trips).  For reads whose text depends on the
 * settings (floats). */
PGresult *dp_db_query_set(PGconn *db, const char *sql, int nparams, const char *const *params,
			  dp_err *err);

/* Starts a transaction (dp_db_begin with settings and local) that holds
 * pg_advisory_xact_lock(lock_key) until it ends, so processes that create
 * or change the schema at the same moment take turns (local comes before
 * the lock's wait: DP_DB_UNTIMED covers it).  Returns 0, or -1 with err
 * set (the transaction rolled back). */
int dp_db_begin_locked(PGconn *db, const char *settings, const char *local, long long lock_key,
		       dp_err *err);
/* Starts a transaction as dp_db_begin does and sets *xid to its
 * transaction id (txid_current(), asked in BEGIN's round trip: no round
 * trip more), which dp_db_xid_status asks about on another connection once
 * this one is lost after its COMMIT was sent (0 on a standby, which has
 * none to give).  Returns 0, or -1 with err set (the transaction rolled
 * back). */
int dp_db_begin_xid(PGconn *db, const char *settings, const char *local, long long *xid, dp_err *err);
/* What became of transaction xid (dp_db_begin_xid's), as the server says
 * (txid_status): DP_DB_XID_COMMITTED, _ABORTED, _RUNNING (still open: a
 * session the server still holds), or _UNKNOWN (too old to tell, or of
 * another server); -1 with err when the question failed. */
enum { DP_DB_XID_COMMITTED, DP_DB_XID_ABORTED, DP_DB_XID_RUNNING, DP_DB_XID_UNKNOWN };
int dp_db_xid_status(PGconn *db, long long xid, dp_err *err);

/* docpipe's own maintenance -- the schema and its migrations, vector
 * index builds, the full-text pending list's merge, the caches' and the
 * recorder's tables -- runs without the statement_timeout a database or
 * role may set for its applications (hosted PostgreSQL often sets 5 s or
 * less), as pg_dump and pg_restore run theirs: SET LOCAL in its
 * transaction (dp_db_begin's or dp_db_begin_locked's local; also behind a
 * transaction pooler), so no other statement of the session goes without
 * it.  Such work lasts as long as the table is large, or waits for
 * another store's migration under the schema lock: cancelled, it failed
 * the same way on every start (the store and the result caches stopped,
 * an index was never built, the merge was left to the writes).  The
 * lock_timeout each caller sets is kept. */
#define DP_DB_UNTIMED "SET LOCAL statement_timeout = 0"

/* Runs sql inside the current transaction under a savepoint: a failure is
 * rolled back to the savepoint and the transaction goes on.  Returns 1 when
 * sql succeeded, 0 when it failed and was undone (err says why), -1 when
 * the transaction itself is lost (err set). */
int dp_db_try(PGconn *db, const char *sql, dp_err *err);

/* Rolls back the current transaction, ignoring errors (used on failure
 * paths, where the first error is the one worth reporting). */
void dp_db_rollback(PGconn *db);

/* 1 when the connection is gone (the server died or the network broke):
 * retrying on it is pointless.  Reads input the server sent, if any (a
 * failed statement does not always mark the connection bad). */
int dp_db_lost(PGconn *db);

/* The corpus identity held in docpipe.settings (written by docpipe-store). */
typedef struct dp_db_settings {
	char embedder[256]; /* "" until the first embedded document is stored */
	int dim;            /* 0 likewise */
	char vector_type[32]; /* "vector", "halfvec" (pgvector) or "real[]"; "" before the schema exists */
	/* "hnsw": HNSW on embedding (its type's cosine opclass); "hnsw-halfvec":
	 * HNSW on embedding::halfvec(dim); "ivfflat", "ivfflat-halfvec" the
	 * same with IVFFlat; "none": exact scan; "" before the dimension is
	 * known (docpipe-store(1)). */
	char vector_index[16];
	/* The method the next build makes, "hnsw" or "ivfflat", recorded by
	 * the last store given --vector-index; "" when none was (the method
	 * of vector_index, HNSW for a new corpus). */
	char index_method[16];
	/* "building" while a bulk load has the index dropped (search exactly);
	 * "ready" or "" otherwise. */
	char index_state[16];
	int hnsw_ef_construction; /* of the store's index builds; 0: not set (64) */
	int ivfflat_lists;        /* of the IVFFlat index; 0: none */
} dp_db_settings;

/* Fills out from res (borrowed): the rows of
 * SELECT key, value FROM docpipe.settings.  Unknown keys are ignored. */
void dp_db_settings_read(const PGresult *res, dp_db_settings *out);

/* Whether the corpus's settings are lost: docpipe.chunks holds embedded
 * chunks, but docpipe.settings is gone or has no embedder or dim (a
 * DELETE, a DROP, a restore that left the table out).  The chunks are
 * there, but which embedder, dimension and text search configuration they
 * were stored with is unknown, so nothing can search them.  Returns 1 with
 * why set to the one wording docpipe-query and docpipe-status give, 0
 * when they are not lost (the settings are whole, or no chunk has a
 * vector: nothing was embedded yet), -1 with why set on a database error. */
int dp_db_settings_lost(PGconn *db, dp_err *why);

/* The embedder the corpus in db was stored with (docpipe.settings, which
 * the first store fixes: docpipe-store(1), "One embedder per corpus") into
 * embedder (len bytes) and *dim.  Returns 1 when there is one, 0 when the
 * corpus has none yet, -1 with err. */
int dp_db_corpus_embedder(PGconn *db, char *embedder, size_t len, int *dim, dp_err *err);

/* What a reader needs of the schema beyond what the first docpipe made:
 * each bit names tables that older versions made in another shape, which
 * docpipe-store brings up to date in place (docpipe-store(1), "Older
 * databases") and readers cannot read as they are. */
enum {
	/* docpipe.runs with column planned (49863bc), and the failures in
	 * docpipe.failures rather than docpipe.outcomes (4b7e7d9). */
	DP_DB_NEEDS_OUTCOMES = 1,
	/* docpipe.chunks with its provenance columns byte_start ... page_end
	 * (70b8239). */
	DP_DB_NEEDS_CHUNKS = 2,
};

/* Whether the tables that needs (DP_DB_NEEDS_* bits) names are in an
 * older docpipe's shape, not yet brought up to date.  A table that does
 * not exist is not old: the reader says what it says of a database
 * without it.  Returns 1 with why set to the one wording the readers give
 * (what is old, and that a docpipe-store or docpipe run brings it up to
 * date), 0 when they are current, -1 with why set on a database error. */
int dp_db_schema_old(PGconn *db, unsigned needs, dp_err *why);

/* The SQLSTATE of a failed result, or "" when there is none. */
const char *dp_db_sqlstate(const PGresult *res);

/* The SQLSTATE of the last failure dp_db_err reported on this thread ("" when
 * it had none: a lost connection, a client-side failure).  Lets a caller
 * tell a database that refuses every write (read-only, disk full, no
 * privilege) from one document that fails. */
const char *dp_db_last_sqlstate(void);
/* Forgets it: call before an attempt whose failure may not come from
 * dp_db_err. */
void dp_db_forget_sqlstate(void);

/* 1 when sqlstate is a failure of the database itself, which every write
 * meets alike: read-only (25006), insufficient resources such as a full
 * disk (class 53), no privilege (42501), system or I/O errors (class 58),
 * a schema changed under the writer (a unique key ON CONFLICT needs
 * dropped, 42P10; a column or table gone, 42703, 42P01). */
int dp_db_environmental(const char *sqlstate);

/* When the last failure (dp_db_last_sqlstate) of an opening (the schema,
 * the cache's tables, a run's claim) is one no retry or restart mends --
 * a privilege the role lacks (42501: no CREATE on the database to make
 * docpipe's schema, no right on its tables), a database that takes no
 * writes (25006: default_transaction_read_only, a standby) or a limit of
 * its settings (53400: dp_db_limit_refused) -- appends
 * what to do to err and returns 1 (a configuration error); else 0, err
 * untouched. */
int dp_db_open_refused(dp_err *err);
/* When sqlstate (a failure's, err its words) is 53400, a limit of the
 * server's, database's or role's settings that a statement of docpipe's
 * went over (temp_file_limit, with work_mem as small as the minimum: the
 * statement that records a batch's outcomes spills), appends to err the
 * setting PostgreSQL's words name and how to raise it and returns 1 (a
 * configuration error: the same statement meets it again after any wait
 * or restart); else 0, err untouched.  dp_db_open_refused calls it. */
int dp_db_limit_refused(const char *sqlstate, dp_err *err);

/* Whether db's transactions take writes as docpipe makes them: 0 when
 * they do; 1 when the server is a standby or default_transaction_read_only
 * is on for the server, database or role, or session_replication_role is
 * not origin (a superuser set it for a role that may not set it back:
 * foreign keys do not fire, a deleted document's chunks would stay), err
 * saying which and what to do (as dp_db_open_refused); -1 with err on a
 * failure.  For an opening that may write nothing: a store on an
 * up-to-date database met a read-only one only at its first outcome, exit
 * 4, no cause named. */
int dp_db_unwritable(PGconn *db, dp_err *err);

/* 1 when a failure to connect or to open (dp_db_connect's error, or one
 * dp_db_err set) says the server is unreachable or not ready now —
 * refused, reset, timed out, starting up or shutting down (57P03), too
 * many connections (53300), a database not accepting connections
 * (55000), any SQLSTATE but dp_db_refused_for_good's: worth waiting for.
 * 0 when the server refused us for good (dp_db_refused_for_good), when
 * libpq itself gave up for good (no password supplied, a certificate,
 * an authentication method, sslmode=require against a server without
 * SSL: its words, as it says no SQLSTATE) or msg is
 * a configuration error (dp_db_misconfigured): waiting would not help.
 * sqlstate: the failure's (dp_db_last_sqlstate; "" or NULL for none),
 * which decides alone when there is one: a server's words are in its
 * language (lc_messages). */
int dp_db_unreachable(const char *sqlstate, const char *msg);
/* 1 when SQLSTATE st refuses a login or the store's opening for good,
 * whatever the moment: class 28 (no pg_hba.conf entry or a reject line,
 * NOLOGIN, no such role: 28000; a wrong password: 28P01), no such
 * database (3D000) or schema (3F000), class 42 (no privilege, e.g.
 * CONNECT on the database or CREATE on it: 42501; an object missing), a
 * database that takes no writes (25006: the schema cannot be made). */
int dp_db_refused_for_good(const char *st);
/* msg, an error libpq made at PQERRORS_VERBOSE (a failed connection's
 * PQerrorMessage), into line on one line as the default verbosity shows
 * it (no "SQLSTATE: " after the severity, no LOCATION line ...), and
 * sqlstate (6 bytes) to the last host's SQLSTATE ("" when its failure has
 * none).  For tests; dp_db_connect uses it. */
void dp_db_login_message(const char *msg, char *line, size_t size, char sqlstate[6]);
/* 1 when msg (a dp_db_connect error) says the connection string or one
 * of its values cannot be used (a bare '%' in a password, a bad sslmode
 * or port), the database it names cannot hold docpipe's text (its
 * encoding neither UTF8 nor SQL_ASCII: DP_DB_NOT_UTF8) or the pooler in
 * front of it runs no transaction (DP_DB_NO_TRANSACTIONS): a configuration
 * error, exit 2, not a database to wait for. */
#define DP_DB_NOT_UTF8 "which cannot hold every text docpipe stores"
/* ... or a pooler that runs no transaction (statement pooling). */
#define DP_DB_NO_TRANSACTIONS "runs no transaction, which docpipe needs"
int dp_db_misconfigured(const char *msg);
/* The exit status of a failure to connect (msg: dp_db_connect's error,
 * with dp_db_last_sqlstate as it left it): DP_EXIT_USAGE when no wait or
 * restart would mend it, a connection string that cannot be used or a
 * login the server refuses for good (not dp_db_unreachable: a wrong
 * password, no such database or role, NOLOGIN, pg_hba.conf, no CONNECT
 * privilege), so that a supervisor does not restart the process; else
 * DP_EXIT_SYSTEM (an outage, worth waiting for and restarting). */
int dp_db_connect_status(const char *msg);

#endif
