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
 * if needed and starts the writer thread (dp_reuse_put).  Returns NULL
 * with err set on failure. */
dp_reuse *dp_reuse_open(const char *app, dp_err *err);
/* Writes the rows still waiting (one try; those it cannot write are said
 * on stderr), stops the writer and frees *r; sets it NULL. */
void dp_reuse_close(dp_reuse **r);

/* The embedder the corpus in this database was stored with
 * (docpipe.settings, which the first store fixes: docpipe-store(1), "One
 * embedder per corpus") into embedder (len bytes) and *dim.  Returns 1
 * when there is one, 0 when the corpus has none yet, -1 with err. */
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
 * Written behind: a thread writes the rows put in one INSERT once 64 wait
 * or the oldest has waited 1 s, and before any later dp_reuse_get (which
 * so finds them), and dp_reuse_close writes the rest; a stop or kill
 * loses at most that batch.  While the database is away the rows wait (a
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

#endif
