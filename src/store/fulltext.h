/* The full-text side of the corpus (issue 11): a tsvector per chunk built
 * from its heading path (weight A), its chunk summary (weight B) and its
 * text (D), and a GIN index over it, written in the chunk's own
 * transaction.  Two lexers (settings key text_lexer):
 * - DP_LEXER_NAME (english, simple): the store computes the tsvector with
 *   docpipe's lexer (lexer.h) and sends it with the chunk (COPY or
 *   INSERT), so the server only stores it and updates the index;
 * - "postgresql" (any other configuration): a STORED generated column, the
 *   server's to_tsvector.
 * The configuration is recorded in docpipe.settings (text_config), so
 * docpipe-query tokenizes a question the same way. */
#ifndef STORE_FULLTEXT_H
#define STORE_FULLTEXT_H

#include "lexer.h"
#include "store.h"

#define STORE_TEXT_CONFIG_DEFAULT "english"
#define STORE_LEXER_SERVER DP_LEXER_SERVER

/* Asks for text search configuration name (borrowed, must outlive the
 * store; NULL: keep the recorded one, english for a new corpus) at the next
 * store_fulltext_ensure.  Set by main from --text-config. */
void store_fulltext_request(const char *name);

/* Inside the caller's transaction (which holds the schema lock, after
 * docpipe.chunks exists): sets s->lexer for the configuration (NULL for
 * the server's lexer); adds the tsvector column and its GIN index when
 * missing, rebuilds them when another configuration or lexer is due (an
 * existing table is migrated in place: with the store's lexer, every
 * stored chunk is lexed again by the store), keeps the column's values in
 * their rows (STORAGE MAIN, set on an existing column too: rows written
 * from then on), and records configuration and lexer.  Returns 0, or -1
 * with err (an unknown configuration included). */
int store_fulltext_ensure(store *s, dp_err *err);

/* Inside a write transaction, before its first chunk is written: takes
 * the full-text lock in shared mode (a rebuild for another configuration
 * by another store, which takes it exclusively, then waits for this
 * transaction, and this one for a rebuild under way), then reads the
 * corpus's configuration and lexer.  A store keeps the lexer and the COPY
 * columns of its start: one that wrote on after another rebuilt the
 * column wrote the old configuration's lexemes, no tsvector, or failed
 * every document (COPY into a generated column).  Returns 0; -1 with err
 * on a database error; -1 with err and s->text_moved set (the same words)
 * when the configuration is no longer this store's: nothing of the
 * transaction may be written, the store stops. */
int store_fulltext_check(store *s, dp_err *err);

/* The GIN index's fast-update pending list: the store's write
 * transactions SET LOCAL STORE_GIN_SETTINGS, so up to 16 MB of new entries
 * wait in the pending list and are merged into the index in one pass with
 * 64 MB of work_mem (a fraction of the cost of merging every 4 MB with
 * 4 MB; docs/PERFORMANCE.md, issue 11).  The store merges it on a second
 * connection while it writes (store_fulltext_tend), so the merge runs
 * beside the writes instead of inside them, and when its input pauses or
 * its run ends (store_fulltext_end), as queries read the pending list
 * until it is merged; a short tail is left at the end to the next store's
 * start (store_fulltext_merge_left). */
#define STORE_GIN_WORK_MEM "64MB"
#define STORE_GIN_SETTINGS \
	"SET LOCAL gin_pending_list_limit = '16MB'; SET LOCAL work_mem = '" STORE_GIN_WORK_MEM "'"

/* Merges the pending list when this store wrote chunks since the last
 * merge (s->tsv_pending), outside any transaction, after the merge
 * store_fulltext_tend started (if any) ended.  Not being allowed to
 * (another role owns the index) leaves it to autovacuum.  Returns 0, or -1
 * with err when the connection is lost. */
int store_fulltext_settle(store *s, dp_err *err);

/* Chunks written between two merges store_fulltext_tend starts: ~10 MB of
 * pending entries (~100 lexemes a chunk of ~1 KB), under the writes'
 * 16 MB limit, so they rarely reach it and merge in line; every 2,000
 * chunks cost the merges ~40% more CPU (more, smaller passes). */
#define STORE_GIN_TEND_CHUNKS 4000
/* The application_name of that second connection. */
#define STORE_GIN_APP "docpipe-store-gin"

/* After a batch committed, outside any transaction: when at least
 * `chunks` were written since the last merge and none runs, starts one on
 * the second connection (made at the first need) without waiting for it
 * (the server merges on its own backend, on a core the writes leave idle).
 * The writes pass STORE_GIN_TEND_CHUNKS; an input that pauses passes 1:
 * after STORE_GIN_IDLE_MS when the list holds STORE_GIN_LEAVE_CHUNKS or
 * more (the server has time now, and a run's end, which would merge them,
 * then finds them merged or merging), else after STORE_GIN_PAUSE_MS (a
 * pause, not a run's end: the supervisor's stop comes 10-30 ms after the
 * last batch, and the end leaves a short tail unmerged instead of waiting
 * for its merge).  Never fails the run: when that connection cannot be
 * had or the merge fails (not allowed, connection lost), it says so once
 * and leaves the merges to the writes and store_fulltext_settle. */
#define STORE_GIN_IDLE_MS 10
#define STORE_GIN_PAUSE_MS 100
void store_fulltext_tend(store *s, long long chunks);
/* At the start of a store's run into a corpus that was there (s->gin_left),
 * before its first batch: merges what earlier stores left in the pending
 * list (store_fulltext_end's tail, or a store killed before its merge)
 * on the main connection (an empty list costs the server a look at the
 * index's metapage; a tail, under STORE_GIN_LEAVE_CHUNKS chunks a
 * store, is merged while a run's first documents are on their way).
 * Returns as store_fulltext_settle. */
int store_fulltext_merge_left(store *s, dp_err *err);
/* At the end of a store's run (its input ended or a stop): waits for the
 * merge store_fulltext_tend started (if any); then merges what this store
 * wrote since (store_fulltext_settle) unless that is fewer than
 * STORE_GIN_LEAVE_CHUNKS chunks and the second connection works: those
 * are left in the pending list for the next store's start
 * (store_fulltext_merge_left), or the next merge, autovacuum's included.
 * Queries read them from the list meanwhile, the same answers: a GIN scan
 * reads every pending page, ~0.16 ms more per scan for 265 chunks, ~0.43
 * ms for 700 (docs/PERFORMANCE.md, session 51, helper h51c), where the
 * merge would hold up a run's end by 20-30 ms (issue 8 (b): a 265-chunk
 * document written last).  Returns as store_fulltext_settle. */
#define STORE_GIN_LEAVE_CHUNKS 1000
int store_fulltext_end(store *s, dp_err *err);
/* Waits for the merge store_fulltext_tend started (if any) and closes its
 * connection (store_park); the next tend opens one again. */
void store_fulltext_park(store *s);
/* When the process found a pooler out (write.c, found_pooled): waits for
 * a running merge, then takes back the session settings of the merge's
 * connection (dp_db_session_reset); on failure that connection is given
 * up, the writes merge. */
void store_fulltext_pooled(store *s);

/* The most bytes of tsvectors one document may have. */
#define STORE_TSV_DOC_MAX (256 << 20)

/* Lexes every chunk of d with lx (heading A, summary B, text D; the first
 * chunk's B also the document's description and its path's words) into
 * d->tsv and the chunks' tsv_at/tsv_len: the feed's thread does it, so
 * the writer's thread and the server work meanwhile, unless the last batch
 * found most documents unchanged (then the writer, for those it writes:
 * feed.h, store_feed_written).  0, or -1 with err (out of memory, too
 * large) and d->tsv empty. */
int store_fulltext_lex(dp_lexer *lx, store_doc *d, dp_err *err);

/* The words of a document's path below its root that its first chunk's
 * tsvector holds (fulltext.c): directories and the file name without its
 * extension, an identifier-like component followed by its pieces
 * ("PrevInSection Prev In Section").  At most size - 1 bytes and a NUL
 * into out (size > 0); returns the length. */
size_t store_path_words(const char *path, const char *root, char *out, size_t size);

#endif
