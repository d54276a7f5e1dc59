/* Documents that crash a stage (a parser's bug, a converter's segfault):
 * failed alone, not sent round again.
 *
 * Without this, a document that kills the replica processing it is
 * re-sent by the hub when the replica dies, kills the restarted replica,
 * and so on until the supervisor stops the whole run (5 restarts in 60 s).
 *
 * The protocol, between a stage and docpipe(1)'s supervisor, in a
 * directory DIR of the run's (--crash-dir):
 *   - the replica writes the document it is processing to the first line
 *     of DIR/doing.PID as "DONE JSON-PATH", from taking the record to
 *     writing its output, and "DONE" alone after, where DONE is the count
 *     of documents this process has finished (processed to an output,
 *     an error record included; not one failed unread for being listed),
 *     so that the supervisor can tell a stage that still finishes
 *     documents from one that dies on every document; an empty file is a
 *     replica that has finished none;
 *   - when a replica dies of a crash signal (SIGSEGV, SIGBUS, SIGILL,
 *     SIGFPE, SIGABRT), the supervisor appends "SIGNAL JSON-PATH" from its
 *     doing file to DIR/crashed before it restarts the replica;
 *   - SIGKILL alone blames nothing (an operator's kill -9, the hub's
 *     --kill-silent); when the same document is in progress at a second
 *     SIGKILL death in the run (the OOM killer ends the replica reading
 *     it each time), the supervisor appends "SIGKILL-2 JSON-PATH";
 *   - every replica turns a document listed in DIR/crashed into an error
 *     record naming the crash, without processing it (re-read when the
 *     file grows); the store fails it with a receipt of its own.
 * A stage that processes documents together (the store: a batch in one
 * transaction, marked from before its write to its commit) marks them
 * all: "DONE #N" on the first line, then one line "JSON-PATH" per
 * document (the count says where the list ends; DONE counts each).  A
 * crash death (SIGKILL included) with several documents in progress
 * blames none of them: the supervisor appends "SUSPECT SIGNAL JSON-PATH"
 * for each to DIR/crashed (and counts a SIGKILL as the first for each),
 * and the stage processes each suspect alone, so that a death on it names
 * exactly one document, listed as above.  Those deaths are not counted
 * toward the restart limit either (docpipe(1)).
 * A stage whose input is read and parsed by a thread of its own (the
 * store's reader, beside its writer) marks the record being read too,
 * when it is large enough for the parse to matter (a huge record parsed
 * into jq values at several times its size is what the OOM killer ends;
 * the store: 1 MiB of line, feed.h), in a second file, DIR/reading.PID:
 * "JSON-PATH" as its one line from before the parse to after the record
 * is made an item, empty otherwise (absent before the first mark).  Each
 * thread writes its own file, so the two marks need no lock between them;
 * the crashed list's lookups, from both threads, take one.  At a death
 * the supervisor reads both: the record being read is one more document
 * in progress, under the rules above (a crash signal blames it at once,
 * SIGKILL at its second death), blamed as "SIGNAL:read JSON-PATH" or
 * "SIGKILL-2:read JSON-PATH" (the reason then says the replica died
 * reading it); with a batch being written too, all of them are SUSPECTs.
 * A suspect is then processed with nothing else in progress in the
 * process: the reader parses a suspect record while no batch is marked,
 * the writer writes a suspect while no record is marked, and neither
 * starts a mark while the other works alone (store_feed_mark), so that a
 * death on it names it.  The reader refuses a listed record unparsed
 * (the parse is what kills): it finds the path in the raw text (jscan.h)
 * and turns the record into an error record naming the crash, with the
 * record's path, run and seq, whose failure the store records by name.
 * A record held but not marked (smaller, or parsed and queued for the
 * writer) is in no journal: a death then blames nothing.
 * A machine's crash loses nothing here: the files are the run's, and a
 * document that crashed a replica in one run is tried again by the next
 * (a fixed build may read it). */
#ifndef DP_CRASH_H
#define DP_CRASH_H

#include <stddef.h>

#include "err.h"

typedef struct dp_crash dp_crash;

/* Opens the journal of this process in dir (created if missing).  Returns
 * the journal, or NULL with err set. */
dp_crash *dp_crash_open(const char *dir, dp_err *err);

/* Removes this process's doing and reading files and frees c (NULL is
 * fine). */
void dp_crash_close(dp_crash **c);

/* Whether path crashed a replica of the stage: 1 with the signal's name
 * in why (a message for the document's error record; "SIGNAL:read" says
 * the replica died reading the record), else 0. */
int dp_crash_listed(dp_crash *c, const char *path, char *why, size_t size);

/* Whether DIR/crashed lists any document (crashed or suspect; read again
 * when it grew): a caller with many documents to look up skips them all
 * when none is (one stat). */
int dp_crash_any(dp_crash *c);

/* Whether path was in progress, among others, at a crash death of a
 * replica of the stage: 1 when DIR/crashed lists it as a SUSPECT (the
 * caller processes it alone, marked alone), else 0. */
int dp_crash_suspected(dp_crash *c, const char *path);

/* Marks path as the document in progress, until dp_crash_done, which
 * counts it as finished.  A failure to write is ignored: the journal only
 * ever spares a run.  These marks (dp_crash_doing, _doing_all, _done)
 * come from one thread, the one that processes documents. */
void dp_crash_doing(dp_crash *c, const char *path);
/* Marks paths[0..n) (n >= 1, borrowed) as the documents in progress,
 * processed together, until dp_crash_done, which counts them all as
 * finished.  n == 1 is dp_crash_doing.  The watchdog (dp_crash_watch)
 * times single documents only. */
void dp_crash_doing_all(dp_crash *c, const char *const *paths, size_t n);
void dp_crash_done(dp_crash *c);

/* Marks path as the record being read (parsed) by the stage's reader, a
 * thread beside the one that marks documents with dp_crash_doing*, until
 * dp_crash_read: DIR/reading.PID (made at the first mark) holds
 * "JSON-PATH" as its one line, and is empty after.  The caller marks only
 * records large enough for the parse to matter: each mark is a write and
 * dp_crash_read a truncation.  Called by one thread only (the reader);
 * a failure to write is ignored, as for dp_crash_doing.  The lookups
 * (dp_crash_listed, _any, _suspected) may come from both threads. */
void dp_crash_reading(dp_crash *c, const char *path);
void dp_crash_read(dp_crash *c);

/* A watchdog for documents that never end (a parser or converter looping
 * on a hostile file: a 31 KB PDF whose content stream inflates to 10 MiB
 * of text operators kept poppler busy for hours, and every document behind
 * it failed "no receipt"): once one document has been in progress for
 * limit_s seconds, it is listed in DIR/crashed as "TIMEOUT-<limit_s>"
 * (dp_crash_listed then fails it by name in every replica), said on
 * stderr, and the process ends itself with SIGKILL, which the supervisor
 * restarts without blaming another document.  Returns 0, or -1 with err
 * (no thread).  Stopped by dp_crash_close. */
int dp_crash_watch(dp_crash *c, int limit_s, dp_err *err);

#endif
