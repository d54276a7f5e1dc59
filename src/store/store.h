/* The store's database side: schema, batched transactional writes, sweep.
 *
 * Writes are all-or-nothing per document: a document row and all its
 * chunks change in one transaction, so readers see the old version or the
 * new one, never a mix. */
#ifndef STORE_STORE_H
#define STORE_STORE_H

#include <stddef.h>

#include <libpq-fe.h>

#include "doc.h"
#include "err.h"
#include "pgbin.h"
#include "transport.h"

enum store_write_method {
	STORE_WRITE_COPY,   /* binary COPY FROM STDIN: fast */
	STORE_WRITE_INSERT, /* pipelined INSERTs: for servers without COPY FROM STDIN */
};

/* Key of the advisory lock every schema or settings change holds. */
#define STORE_LOCK_KEY 0x646f637069706531LL /* "docpipe1" */

typedef struct store {
	PGconn *db;
	enum store_write_method method;
	int pgvector;           /* chunks.embedding is pgvector's vector, else real[] */
	/* The corpus identity from docpipe.settings: "" / 0 until the first
	 * embedded document is stored.  claimed: set by the open transaction,
	 * forgotten if it rolls back. */
	char embedder[256];
	int dim;
	int claimed;
	store_buf buf;          /* COPY stream and binary parameters */
	store_buf buf2;         /* a second binary parameter */
	/* The write ladder (write.c): how long to wait for a lost database
	 * (--db-retry, seconds), and the run of documents failing alone with
	 * the same environmental SQLSTATE (read-only, disk full, privilege). */
	double db_retry;
	char same_state[6];
	int same_count;
} store;

/* --db-retry default: seconds the store waits for a database that went
 * away (restart, failover, outage) before it gives up. */
#define STORE_DB_RETRY_DEFAULT 300
/* Documents failing alone in a row with one environmental SQLSTATE before
 * the store stops (store_write returns STORE_WRITE_REFUSED). */
#define STORE_SAME_FAILURES 3

/* Tries attempt(ctx, err) until it returns 0, waiting 0.25 s, 0.5 s ...
 * (at most 5 s) between tries, for up to `patience` seconds, while the
 * failure says the database is unreachable (dp_db_unreachable) and no stop
 * was requested.  Says once on stderr that it waits, and when the database
 * is back.  Returns 0, or -1 with err set (the last failure, and why it
 * stopped trying). */
int store_patiently(int (*attempt)(void *ctx, dp_err *err), void *ctx, double patience,
		    dp_err *err);

/* Connects (env_name: see dp_db_connect) and creates the schema if needed.
 * Returns NULL with err set. */
store *store_open(const char *env_name, enum store_write_method method, dp_err *err);
void store_close(store **s);

/* Creates schema docpipe and its tables if missing, under the advisory
 * lock, and reads the corpus settings.  Returns 0 or -1 with err. */
int store_schema_ensure(store *s, dp_err *err);

/* Makes (embedder, dim) the corpus identity if it has none yet.  Runs in
 * the caller's transaction and takes the advisory lock, so two stores
 * storing their first documents at once agree on one identity.  Returns 0
 * (s->embedder/dim now hold the corpus's identity, which may be another
 * one) or -1 with err. */
int store_claim_settings(store *s, const char *embedder, int dim, dp_err *err);

/* Writes items (document, delete, error and pass items), several per
 * transaction; sets each item's outcome.  A batch that fails is redone one
 * item per transaction, so a bad document fails alone with its own reason.
 * A lost connection is re-made (store_patiently, s->db_retry) and the
 * transaction redone.  Returns 0; STORE_WRITE_LOST with err set when the
 * database stayed away (nothing of the failed transaction was written);
 * STORE_WRITE_REFUSED with err set when STORE_SAME_FAILURES documents in a
 * row failed alone with one environmental SQLSTATE: the database refuses
 * every write, and failing the rest one by one would only hide that. */
#define STORE_WRITE_LOST (-1)
#define STORE_WRITE_REFUSED (-2)
int store_write(store *s, store_item *items, size_t n, dp_err *err);

/* Deletes, in one transaction, the documents under one of roots (root
 * equal, or path below it) whose last_run is not run, and puts a "deleted"
 * receipt for each on sink.  *deleted gets the count.  Returns 0 or -1
 * with err (nothing deleted). */
int store_sweep(store *s, const char *run, char *const *roots, size_t nroots, dp_sink *sink,
		size_t *deleted, dp_err *err);

/* Whether the store output in file `receipts` proves a sweep safe: it holds
 * discover's end record (as the store puts it out last, with "received")
 * and dp_end_proves accepts it.  Returns 1, or 0 with the reason in why. */
int store_sweep_proven(const char *receipts, char *why, size_t size);

#endif
