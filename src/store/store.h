/* The store's database side: schema, batched transactional writes, sweep.
 *
 * Writes are all-or-nothing per document: a document row and all its
 * chunks change in one transaction, so readers see the old version or the
 * new one, never a mix. */
#ifndef STORE_STORE_H
#define STORE_STORE_H

#include <stddef.h>

#include <libpq-fe.h>

#include "db.h"
#include "doc.h"
#include "err.h"
#include "lexer.h"
#include "pgbin.h"
#include "transport.h"

enum store_write_method {
	STORE_WRITE_COPY,   /* binary COPY FROM STDIN: fast */
	STORE_WRITE_INSERT, /* pipelined INSERTs: for servers without COPY FROM STDIN */
};

/* How chunks.embedding stores vectors (settings key vector_type). */
enum store_vector_type {
	STORE_VT_AUTO,    /* option only: vector when CREATE EXTENSION works, else real[] */
	STORE_VT_VECTOR,  /* pgvector's vector(dim): "vector" */
	STORE_VT_HALFVEC, /* pgvector's halfvec(dim), half precision: "halfvec" */
	STORE_VT_REAL,    /* real[] (exact scan only): "real[]" */
};

/* Whether a run may drop the HNSW index and build it once at the end. */
enum store_bulk_mode {
	STORE_BULK_AUTO,   /* when the run writes many chunks relative to the table */
	STORE_BULK_ALWAYS, /* whenever the run writes any chunk */
	STORE_BULK_NEVER,  /* always insert into the index */
};

/* Which vector index the corpus gets (settings key vector_index). */
enum store_index_method {
	STORE_IX_CORPUS,  /* option only: the corpus's, HNSW for a new one */
	STORE_IX_HNSW,    /* HNSW: best recall per query time, slow to build */
	STORE_IX_IVFFLAT, /* IVFFlat: builds in seconds; lists fixed at build */
};

typedef struct store_options {
	const char *db_env;     /* see dp_db_connect; NULL: DATABASE_URL */
	enum store_write_method method;
	enum store_vector_type vector_type;
	enum store_bulk_mode bulk;
	enum store_index_method index_method;
	/* HNSW ef_construction for index builds from now on (recorded in
	 * settings key hnsw_ef_construction); 0: the corpus's, else 64. */
	int ef_construction;
	int quiet;              /* only notices about new choices */
	/* Says why the store waits (blocker.h; borrowed, NULL: nothing
	 * does): told db's server process whenever a connection is made. */
	struct store_blocker *blocker;
} store_options;

/* pgvector's HNSW: m is 16; ef_construction must be at least 2 m. */
#define STORE_EF_CONSTRUCTION_MIN 32
#define STORE_EF_CONSTRUCTION_MAX 1000

/* Key of the advisory lock every schema or settings change holds. */
#define STORE_LOCK_KEY 0x646f637069706531LL /* "docpipe1" */
/* Session advisory lock held by the store that dropped the index for a
 * bulk load: when that store dies, the lock goes and the next store knows
 * the index needs repair (index.c). */
#define STORE_BULK_KEY 0x646f637069706532LL /* "docpipe2" */
/* Class (first key of the two-int4 form, a key space apart from the two
 * above) of the transaction lock a store takes on each path it writes
 * (write.c, lock_paths). */
#define STORE_PATH_LOCK_CLASS 1685086580 /* 0x64706174, "dpat"; decimal: SQL text */
/* Class of the transaction lock (key 0) that orders a rebuild of the
 * full-text column for another configuration (fulltext.c, build:
 * exclusive) after the chunk writes of running stores
 * (store_fulltext_check: shared, in each write transaction). */
#define STORE_TEXT_LOCK_CLASS 1685091448 /* 0x64707478, "dptx"; decimal: SQL text */

/* The longest run label a store remembers having registered (longer ones
 * are registered with every batch). */
#define STORE_RUN_MAX 256

typedef struct store {
	PGconn *db;
	store_options opt;
	enum store_vector_type vtype; /* the corpus's (never AUTO) */
	/* settings vector_index: "hnsw", "hnsw-halfvec", "ivfflat",
	 * "ivfflat-halfvec", "none"; "" until the dimension is known. */
	char vector_index[16];
	enum store_index_method imethod; /* of the next build (never CORPUS) */
	int ef_construction;    /* of the next index build */
	int ivfflat_lists;      /* of the IVFFlat index built last (settings); 0: none */
	/* The corpus identity from docpipe.settings: "" / 0 until the first
	 * embedded document is stored.  claimed: set by the open transaction,
	 * forgotten if it rolls back. */
	char embedder[256];
	int dim;
	int claimed;
	/* Bulk loading (index.c): bulk is set while this store has the index
	 * dropped; rows0 is the table's size when the run began (-1: not read
	 * yet), written the chunks this run stored since. */
	int bulk;
	/* The index kind this store's --vector-index switches from
	 * (store_index_switch; "": no switch of its own), said when it is
	 * built or left to a bulk-loading store. */
	char switch_from[16];
	long long rows0, written;
	dp_lexer *lexer;        /* the full-text lexer; NULL: the server lexes (fulltext.h) */
	char text_config[128];  /* the full-text configuration; "" until store_fulltext_ensure ran */
	char text_moved[DP_ERR_MAX]; /* "", or why the corpus's configuration is no longer
				      * this store's (store_fulltext_check): it stops */
	long long tsv_pending;  /* chunks written since the GIN pending list was merged */
	/* The pending list's merge on a connection of its own, beside the
	 * writes (store_fulltext_tend): NULL until needed; gin_busy while a
	 * merge runs, covering gin_sent chunks; gin_off once it failed. */
	PGconn *gin;
	int gin_busy, gin_off;
	long long gin_sent;
	int merge_refused; /* this role may not merge the pending list (merge_allowed) */
	int gin_left; /* the corpus was there at the start: an earlier store may have left
		       * pending entries (store_fulltext_merge_left) */
	store_buf buf;          /* COPY stream and binary parameters */
	store_buf buf2;         /* a second binary parameter */
	store_buf buf3, buf4;   /* a third and fourth (mark_run's streams, seqs) */
	/* The write ladder (write.c): how long to wait for a lost database
	 * (--db-retry, seconds), and the run of documents failing alone with
	 * the same environmental SQLSTATE (read-only, disk full, privilege). */
	double db_retry;
	char same_state[6];
	int same_count;
	/* The run whose start this store recorded (write.c, register_runs). */
	char run_registered[STORE_RUN_MAX];
	/* How many of the per-document statements are prepared on this
	 * connection (write.c); cleared when the connection is re-made. */
	int prepared;
	/* db's server session, ended when the connection is re-made in case
	 * the server still holds it (write.c's reset_connection). */
	dp_db_session session;
} store;

/* --db-retry default: seconds the store waits for a database that went
 * away (restart, failover, outage) before it gives up. */
#define STORE_DB_RETRY_DEFAULT 300
/* Documents failing alone in a row with one environmental SQLSTATE before
 * the store stops (store_write returns STORE_WRITE_REFUSED). */
#define STORE_SAME_FAILURES 3

/* Tries attempt(ctx, err) until it returns 0 (-1: failed, maybe for a
 * while; -2: failed for good, e.g. a usage error: no retry), waiting 0.25 s, 0.5 s ...
 * (at most 5 s) between tries, for up to `patience` seconds, while the
 * failure (its SQLSTATE, dp_db_last_sqlstate, or else its words) says the
 * database is unreachable (dp_db_unreachable) and no stop
 * was requested.  Says once on stderr that it waits, and when the database
 * is back.  Returns 0, or -1 with err set (the last failure, and why it
 * stopped trying: its patience spent, or a stop requested). */
int store_patiently(int (*attempt)(void *ctx, dp_err *err), void *ctx, double patience,
		    dp_err *err);

/* After a failed piece of database work (a write transaction, the index
 * plan, the outcome rows, a merge of the full-text pending list): when the
 * connection was lost, makes it again, waiting up to --db-retry, counts
 * the loss in *lost (0 before the work's first try) and returns 1: the
 * caller tries again.  Returns 0 when it was not lost (err as the failure
 * left it), could not be made again (err says why), or was lost
 * STORE_LOST_MAX times in a row on this work although the database came
 * back each time (*lost == STORE_LOST_MAX; err says so, the connection is
 * made again): the server fails on the work itself (a crash, the OOM
 * killer), and trying again would go on for ever. */
#define STORE_LOST_MAX 3
/* After the connection was lost between a COMMIT and its answer (the
 * transaction begun with dp_db_begin_xid, its id xid): the transaction
 * may have committed.  Makes the connection again (store_reconnect,
 * counting the loss in *lost) and asks the server what became of it,
 * waiting while the server still holds it open (a session end_old_session
 * is ending; at most --db-retry).  Returns 1: committed; 0: not, or the
 * server cannot tell (said on stderr): the caller does the work again; -1:
 * the connection could not be made again (err set). */
int store_settle_commit(store *s, long long xid, int *lost, dp_err *err);
/* The times a transaction that failed on a conflict with other sessions
 * (a deadlock, a serialization failure, a lock_timeout) is redone before
 * its documents fail (write.c, write_retrying): ~8 s of pauses. */
#define STORE_CONFLICT_MAX 8

/* The store's sessions wait on their locks for as long as they last
 * (whoever holds one is named: blocker.c), whatever lock_timeout the
 * database or role sets for its applications: its waits are its order
 * (the schema lock, a path's lock), and under a role's 20 ms each start
 * read as a database outage and documents failed.  Set at connect and
 * after each reset (schema.c, write.c) with dp_db_session_set; behind a
 * transaction pooler in each transaction instead (dp_db_begin). */
#define STORE_SESSION_SETTINGS "lock_timeout = 0"

/* A write transaction (write.c, write_tx) runs without the
 * statement_timeout the database or role may set (DP_DB_UNTIMED, this
 * transaction only), as the store's maintenance does (the schema and its
 * migrations, index builds and bulk loads' drops, the full-text merges):
 * its statements carry whole documents, whose chunks are replaced at
 * once, so a document whose write takes longer than the timeout cannot be
 * written in smaller steps and failed on every run ("canceling statement
 * due to statement timeout"), after its summary and vectors were paid for.
 * The sweep keeps the timeout: its batches can shrink (sweep.c). */
#define STORE_WRITE_SETTINGS DP_DB_UNTIMED
int store_reconnect(store *s, int *lost, dp_err *err);
/* A store whose input is quiet gives its connections back (store_park;
 * not while a bulk load's index or the full-text pending list waits): a
 * run's replicas live until its end, so a database with no slot beyond
 * theirs and the recorder's (a role's CONNECTION LIMIT, a max_connections
 * other clients nearly use) left the run's sweep waiting --db-retry for
 * one, then failing.  store_unpark connects again before the next work,
 * waiting for the database as a lost connection's reset does; 0, or -1
 * with err. */
#define STORE_PARK_IDLE_MS 1000
void store_park(store *s);
int store_unpark(store *s, dp_err *err);

/* Around the writes outside a batch's write transaction (its outcome
 * rows, a failed document's run mark): store_untimed_begin opens a
 * transaction with STORE_SESSION_SETTINGS (as SET LOCAL when pooled) and
 * without the database's or role's statement_timeout, as the batch's
 * writes; store_untimed_end ends it: COMMIT when rc is 0, else ROLLBACK.
 * In autocommit under a role's `statement_timeout = 20ms`, the outcome
 * rows of a batch of failures were cancelled and the store exited 3 each
 * time: 5 restarts in 39 s for 5,000 failed files, one short of the
 * crash-loop limit that stops the run (fault sweep 19).  Each returns 0
 * or -1 with err (store_untimed_end: rc when it is not 0). */
int store_untimed_begin(store *s, dp_err *err);
int store_untimed_end(store *s, int rc, dp_err *err);

/* Connects and creates the schema if needed, choosing and announcing the
 * vector type (stderr, once).  Returns NULL with err set and *exit_code
 * DP_EXIT_USAGE (a vector type that cannot be had, a privilege the role
 * lacks, a login refused for good: dp_db_connect_status) or
 * DP_EXIT_SYSTEM. */
store *store_open(const store_options *opt, int *exit_code, dp_err *err);
void store_close(store **s);

/* The settings spelling of a vector type ("vector", "halfvec", "real[]"). */
const char *store_vector_type_name(enum store_vector_type t);

/* Reads docpipe.settings into set (may be NULL) and the corpus identity
 * and vector_index into s.  Returns 0 or -1 with err. */
int store_settings_load(store *s, dp_db_settings *set, dp_err *err);

/* Sets a docpipe.settings key (inserted or replaced).  Returns 0 or -1
 * with err. */
int store_settings_set(store *s, const char *key, const char *value, dp_err *err);

/* Makes (embedder, dim) the corpus identity if it has none yet.  Runs in
 * the caller's transaction and takes the advisory lock, so two stores
 * storing their first documents at once agree on one identity.  Returns 0
 * (s->embedder/dim now hold the corpus's identity, which may be another
 * one) or -1 with err. */
int store_claim_settings(store *s, const char *embedder, int dim, dp_err *err);

/* Marks the document items whose stored hash and fingerprint equal
 * theirs as unchanged (as stored, created or not, when the row is the
 * write of a copy of the same record: its stream and seq, a re-sent
 * copy), and those that a stored version or a tombstone of their run with
 * a higher seq supersedes as skipped (write.c, upsert_sql), outside or
 * inside a transaction.  Returns 0 or -1 with err. */
int store_find_unchanged(store *s, store_item **items, size_t n, dp_err *err);

/* The vector index (index.c). */
/* Creates the corpus's vector index if it has one (s->dim known), in the
 * caller's transaction, with memory and workers sized for rows rows, and
 * sets s->vector_index and the settings key.  Returns 0 or -1 with err. */
int store_index_create(store *s, long long rows, dp_err *err);
/* Before writing a batch: drops the index for a bulk load when the run
 * writes many chunks relative to the table, or an IVFFlat index's table
 * grew to twice its lists' size (see the rules in index.c).
 * Returns 0 (bulk or not), or -1 with err when the database is gone. */
int store_index_plan(store *s, store_item *items, size_t n, dp_err *err);
/* At open, in the schema transaction (under STORE_LOCK_KEY), after the
 * settings are loaded: records --vector-index and --hnsw-ef-construction
 * as the corpus's wishes (settings index_method, hnsw_ef_construction),
 * which every later build reads again under the same lock; when the
 * recorded method is not the corpus's index, drops it and marks the index
 * for building (store_index_settle builds it, or a bulk-loading store at
 * its end).  Returns 0 or -1 with err. */
int store_index_switch(store *s, dp_err *err);
/* After a batch: counts the chunks it stored. */
void store_index_count(store *s, const store_item *items, size_t n);
/* Builds the index when settings say a bulk load (or a switch) dropped
 * it and no live store is loading (its lock is free): at the end of a
 * bulk load, at start-up to repair one that was interrupted or build a
 * switch, and again when a switch came in while this store built.  The
 * method and ef_construction are the ones recorded when the build
 * starts.  Returns 0 or -1 with err (the marker stays: the next run
 * repairs). */
int store_index_settle(store *s, dp_err *err);

/* Writes items (document, delete, error and pass items), several per
 * transaction; sets each item's outcome.  A batch that fails is redone one
 * item per transaction, so a bad document fails alone with its own reason.
 * A lost connection is re-made (store_patiently, s->db_retry) and the
 * transaction redone.  Returns 0; STORE_WRITE_LOST with err set when the
 * database stayed away (nothing of the failed transaction was written);
 * STORE_WRITE_REFUSED with err set when STORE_SAME_FAILURES documents in a
 * row failed alone with one environmental SQLSTATE: the database refuses
 * every write, and failing the rest one by one would only hide that;
 * STORE_WRITE_CONFIG when that SQLSTATE is a limit of the database's
 * settings (53400, dp_db_limit_refused: named in err). */
#define STORE_WRITE_LOST (-1)
#define STORE_WRITE_REFUSED (-2)
/* Also what run.c's write_batch returns when the corpus's text search
 * configuration changed under the store (s->text_moved), or the outcome
 * rows went over a limit of the database's settings: a configuration the
 * store was not started for, exit 2. */
#define STORE_WRITE_CONFIG (-3)
int store_write(store *s, store_item *items, size_t n, dp_err *err);

/* A binary COPY FROM STDIN through s->buf: store_copy_begin runs sql and
 * writes the header; after each row, store_copy_row_done sends the buffer
 * when it is large (on failure the COPY is already cancelled);
 * store_copy_abort cancels it with reason why (may be err->msg) and
 * returns -1; store_copy_end sends the rest and reads the result.  Each
 * returns 0 or -1 with err. */
int store_copy_begin(store *s, const char *sql, dp_err *err);
int store_copy_row_done(store *s, dp_err *err);
int store_copy_abort(store *s, const char *why, dp_err *err);
int store_copy_end(store *s, dp_err *err);

/* Deletes the documents under one of roots (root equal, or path below
 * it) and under none of the paths kept (a JSON array of the paths discover
 * could not read: dp_end_unread; "[]" for none) whose last_run is not run,
 * unless another writer saw them since the
 * run's first write began, and the other runs' failures and tombstones
 * there; puts a "deleted" receipt for each document on sink (flushed after
 * each batch).  In batches of STORE_SWEEP_BATCH rows, each a statement
 * (and transaction) of its own, a document always with its chunks: a
 * statement_timeout of the database or role cancels a batch, not the
 * sweep; the batch is halved and tried again, down to one row, before the
 * sweep fails naming the setting.  The count is added to *deleted (what
 * was deleted stays deleted when a later batch fails).  Returns 0 or -1 with
 * err.  A document whose file is still there (a regular file: the run did
 * not take it, by its --glob, --exclude or --hidden: dp_path_still_there)
 * is not deleted, unless scope is STORE_SWEEP_EXCLUDED_TOO
 * (--delete-excluded); *spared is set to how many were kept (each call:
 * one after a reconnection picks them all again). */
#define STORE_SWEEP_BATCH 1000
enum store_sweep_scope { STORE_SWEEP_GONE, STORE_SWEEP_EXCLUDED_TOO };
int store_sweep(store *s, const char *run, char *const *roots, size_t nroots, const char *kept,
		enum store_sweep_scope scope, dp_sink *sink, size_t *deleted, size_t *spared,
		dp_err *err);

/* Whether the store output in file `receipts` proves a sweep of run `run`
 * safe: it holds discover's end record (as the store puts it out last, with
 * "received"), dp_end_proves accepts it, and it carries run `run` (the
 * records were stamped with it, so the store marked what it saw with it:
 * unstamped, every document under the roots would be swept).  Returns 1
 * with *unread the paths the end record lists as not read (dp_end_unread;
 * the caller frees it), or 0 with the reason in why. */
int store_sweep_proven(const char *receipts, const char *run, jv *unread, char *why, size_t size);

#endif
