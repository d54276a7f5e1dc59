/* Reuse of model results across runs and replicas (docs/reuse.md): a
 * content-keyed cache in PostgreSQL, so that an unchanged text never costs
 * a second API request.
 *
 * A key is XXH3-128 over (kind, identity, parameters, text): the same text
 * sent to the same model with the same parameters (dimension, prompt) has
 * the same key, whoever computed it.  Values are text: a vector as its
 * protocol base64, a summary as itself.  Tables docpipe.embedding_cache and
 * docpipe.summary_cache are created on first use.
 *
 * One connection per dp_reuse, used under a lock: lookups and stores are
 * one round trip per batch, never one per text (stores are batched behind
 * the callers' backs: dp_reuse_put). */
#ifndef DP_REUSE_H
#define DP_REUSE_H

#include <stddef.h>

#include <jv.h>

#include "err.h"
#include "hash.h"

/* Same key as the store's schema lock ("docpipe1"): every change to the
 * docpipe schema takes turns with every other. */
#define DP_REUSE_SCHEMA_LOCK 0x646f637069706531LL

enum dp_reuse_table { DP_REUSE_EMBEDDING = 0, DP_REUSE_SUMMARY = 1 };

typedef struct dp_reuse dp_reuse;

/* 1 when the environment names a database (DATABASE_URL, PGDATABASE,
 * PGHOST or PGSERVICE set and not empty). */
int dp_reuse_configured(void);

/* Connects (dp_db_connect: DATABASE_URL, else PG*), creates the tables
 * if needed and starts the writer thread (dp_reuse_put).  The role must
 * be able to read the tables, and with writes (a stage keeps what it
 * paid for) to add to them; without (docpipe-plan only looks) SELECT is
 * enough.  The connection is given back after REUSE_PARK_IDLE_MS unused
 * and made again by the next use.  Returns NULL with err set on failure. */
dp_reuse *dp_reuse_open(const char *app, int writes, dp_err *err);
/* Writes the rows still waiting (one try; those it cannot write are said
 * on stderr), stops the writer and frees *r; sets it NULL. */
void dp_reuse_close(dp_reuse **r);

/* dp_db_corpus_embedder on the cache's connection. */
int dp_reuse_corpus_embedder(dp_reuse *r, char *embedder, size_t len, int *dim, dp_err *err);

/* The key of a result: kind (e.g. "embedding"), identity (e.g.
 * "openai/text-embedding-3-small"), params (e.g. "dim=256" or the prompt's
 * hash) and the text. */
void dp_reuse_key(const char *kind, const char *identity, const char *params,
		  const char *text, size_t len, char out[DP_HASH_HEX]);

/* Looks up keys[0..n): values[i] (owned) becomes the stored string or
 * jv_null().  Returns the number found, or -1 with err set (values all
 * null).  Thread-safe. */
int dp_reuse_get(dp_reuse *r, enum dp_reuse_table t, const char (*keys)[DP_HASH_HEX],
		 size_t n, jv *values, dp_err *err);

/* Says on stderr how the cache fares after a lookup or save that returned
 * rc (< 0: failed with err): a failure ("what: err") once per outage (a
 * database away for a minute fails every batch meanwhile), and that it
 * works again.  Thread-safe. */
void dp_reuse_note(dp_reuse *r, int rc, const char *what, const dp_err *err);

/* Keeps the string values[i] (borrowed, copied; entries that are not
 * strings, or hold a NUL, which PostgreSQL text cannot, are skipped) under
 * keys[i], with identity for inspection.  Callers keep only good answers:
 * a bad one would be reused on every later run.  overwrite replaces
 * existing rows (--refresh); otherwise the first writer wins.
 *
 * Written behind: a thread writes each row as it is put, the rows put
 * while its INSERT ran in its next one (a group commit), and before any
 * later dp_reuse_get (which so finds them), and dp_reuse_close writes the
 * rest; a stop or kill loses at most the rows of the INSERT under way and
 * those put meanwhile.  While the database is away the rows wait (a
 * backlog of at most 64 MiB; past it new ones are dropped, said once) and
 * are written when it is back; what dp_reuse_close cannot write is said.
 * Failures are said by dp_reuse_note.  Thread-safe. */
void dp_reuse_put(dp_reuse *r, enum dp_reuse_table t, const char *identity,
		  const char (*keys)[DP_HASH_HEX], const jv *values, size_t n, int overwrite);

/* Deletes the rows of keys[i] that still hold the string values[i]
 * (borrowed; skipped as by dp_reuse_put): values the caller
 * found unusable (a bad answer kept by an earlier version), so that a
 * fresh result takes their place.  A row rewritten meanwhile is left.
 * Returns 0, or -1 with err set.  Thread-safe. */
int dp_reuse_drop(dp_reuse *r, enum dp_reuse_table t, const char (*keys)[DP_HASH_HEX],
		  const jv *values, size_t n, dp_err *err);

/* In flight (docs/reuse.md, "Copies in one run"): the requests of one
 * process by key, so that a text asked again while its first request is
 * on its way (copies of a file, the same chunk twice) waits for that
 * answer instead of paying for its own.  The cache cannot do it: it holds
 * a result only once the answer came.
 *
 * A key is claimed before it is looked up in the cache: the first claim
 * owns it (it looks up, then asks), later ones wait on it.  The owner
 * ends the claim with dp_flights_settle (answered: its value goes to the
 * waiters) or dp_flights_hand_over (failed or never asked: the first
 * waiter owns it now and asks itself).  A waiter holds no request place:
 * it is a (who, i) pair in this table, nothing more.
 *
 * Not thread-safe: the caller's lock guards it (the stage's scheduler
 * lock, under which its requests are taken anyway).  Memory: one entry
 * per key claimed and not ended, one pair per waiter: bounded by the
 * texts of the documents a stage holds. */
typedef struct dp_flights dp_flights;

typedef struct dp_flight_waiter {
	void *who; /* the caller's (a document) */
	size_t i;  /* the caller's (its request or chunk) */
} dp_flight_waiter;

/* A text is asked at most this many times for one claim: its owner, then
 * one waiter after a failure (a 5xx spell, a timeout: weather that a
 * second request gets through); when that fails too, the waiters fail
 * with its reason (a text the server refuses is refused again: asking
 * once per copy would pay for the same refusal 40 times). */
#define DP_FLIGHT_TRIES 2

/* Returns an empty table, or NULL when out of memory. */
dp_flights *dp_flights_new(void);
/* Frees *f and sets it NULL; returns in *left (malloc'd, caller frees;
 * NULL when none) the waiters still attached (a stage stopped before
 * their owners answered), their count returned. */
size_t dp_flights_free(dp_flights **f, dp_flight_waiter **left);

/* Claims key for (who, i).  Returns 1 when the caller owns it (it looks
 * up, asks and ends the claim), 0 when (who, i) waits on its owner, -1
 * when out of memory (the caller asks as before, unclaimed). */
int dp_flights_claim(dp_flights *f, const char key[DP_HASH_HEX], void *who, size_t i);

/* The claim of key by (who, i) ends (answered, or failed for good): the
 * entry goes; *waiters (malloc'd, caller frees; NULL when none) are the
 * requests that waited, their count returned, for the caller to answer
 * (with the owner's value, or with its failure).  A key not claimed by
 * (who, i) returns 0. */
size_t dp_flights_settle(dp_flights *f, const char key[DP_HASH_HEX], const void *who, size_t i,
			 dp_flight_waiter **waiters);

/* The owner (who, i) of key failed (asked: 1, after a request) or gives
 * its claim up unasked (asked: 0, its document failed otherwise).  While
 * the key was asked fewer than DP_FLIGHT_TRIES times and has waiters, the
 * first waiter becomes its owner: returns 1 with *heir, which the caller
 * must now ask for (and end the claim of); a failed owner that still
 * wants the answer claims the key again, to wait on the heir.  Otherwise
 * returns 0: end it with dp_flights_settle (its waiters fail with the
 * reason). */
int dp_flights_hand_over(dp_flights *f, const char key[DP_HASH_HEX], const void *who, size_t i,
			 int asked, dp_flight_waiter *heir);

#endif
