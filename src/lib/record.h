/* The docpipe message protocol (docs/protocol.md): one JSON object per
 * record, built and read through libjq's jv API.
 *
 * Ownership follows jq: functions consume their jv arguments and return
 * owned values, except where a parameter is marked "borrowed". */
#ifndef DP_RECORD_H
#define DP_RECORD_H

#include <stddef.h>

#include <jv.h>

#include "err.h"

#define DP_PROTOCOL_VERSION 1

/* Default and hard limits on one serialized record (one line or frame). */
#define DP_RECORD_MAX_DEFAULT (64u << 20)

/* What a document's chunk costs a stage that holds the parsed record,
 * besides its texts and vector: its jq object of a few members and the
 * stage's own arrays, for embed's holds counted in bytes
 * (embed_doc_held_bytes; the store measured its own:
 * STORE_CHUNK_HELD_BYTES).  Measured in
 * docpipe-embed: 200 records of 62 chunks of 1.6 KB, 22 MB as NDJSON, all
 * held, took 37 MB beyond the stage's start (1.3 KB a chunk beyond the
 * text, its 8-float vector included: 1,280 bytes besides the vector, which
 * embed counts apart). */
#define DP_CHUNK_HELD_BYTES 1280

/* Parses one serialized record.  Returns the object, or an invalid jv with
 * err set when the text is not a JSON object of a version we read. */
jv dp_record_parse(const char *text, size_t len, dp_err *err);

/* dp_record_parse's checks of a text before its parse (no raw NUL, valid
 * UTF-8, at most INT_MAX bytes): 0, or -1 with err (its error). */
int dp_record_text_ok(const char *text, size_t len, dp_err *err);

/* Checks the text as dp_record_parse does (the whole of it, chunks
 * included, for its syntax: jscan.h) but parses only its top level
 * without `chunks`: the record's head, for a process that routes a
 * record by its fields (kind, run, seq) and passes its text on, or makes
 * an error record of it (dp_record_error takes no chunks).  A document's
 * parsed chunks take several times the memory of their text. */
jv dp_record_head(const char *text, size_t len, dp_err *err);

/* Builds an error record for a record a stage could not process.  `from`
 * (consumed; may be jv_null()) is the record that failed: its path, root,
 * hash and meta fields travel on so the store can name the document.  An
 * error record is passed on unchanged by every later stage. */
jv dp_record_error(jv from, const char *stage, const char *reason);
/* The error record (stage: this process's, dp_stage) for rec (consumed),
 * whose text would be over max_record bytes (why: the JSON writer's error),
 * naming what lets it through. */
jv dp_record_too_big(jv rec, const dp_err *why, size_t max_record);
/* Its reason, into reason. */
void dp_record_too_big_reason(dp_err *reason, const dp_err *why, size_t max_record);

/* Serializes rec (consumed) to a compact JSON string with no newline.
 * Returns an owned jv string. */
jv dp_record_dump(jv rec);

/* Borrowed accessors: rec is not consumed.  Strings returned point into
 * rec and stay valid while rec is alive and unmodified. */
const char *dp_record_kind(jv rec);
const char *dp_record_str(jv rec, const char *key);      /* NULL if absent or not a string */
int dp_record_num(jv rec, const char *key, double *out);  /* 0 if a number, -1 otherwise */

/* 1 when v, from a peer, is a sequence number ("seq") a hub could have
 * sent: a whole number in [0, 2^53), which a cast to long keeps (a cast of
 * anything else is undefined). */
int dp_record_seq_valid(double v);

/* Typed field access, for validating records.  obj is borrowed; each
 * returns 1 when the field is there and valid (outputs set), 0 when it is
 * absent or null (outputs untouched), -1 with err ("\"key\" must be ...")
 * when it has the wrong type or is out of range. */

/* A string of at most max_len bytes without NUL characters (NUL cannot
 * travel in C strings or PostgreSQL text).  *out is borrowed from obj;
 * len may be NULL. */
int dp_record_get_str(jv obj, const char *key, size_t max_len, const char **out, size_t *len,
		      dp_err *err);
/* A whole number in [min, max] (JSON numbers are doubles: exact up to 2^53). */
int dp_record_get_int(jv obj, const char *key, long long min, long long max, long long *out,
		      dp_err *err);

/* The record kinds. */
#define DP_KIND_FILE "file"
#define DP_KIND_DOCUMENT "document"
#define DP_KIND_ERROR "error"
#define DP_KIND_RECEIPT "receipt"
#define DP_KIND_DELETE "delete"
#define DP_KIND_SKIP "skip" /* a name discover does not take: receipt "skipped" */
#define DP_KIND_END "end"   /* discover's last record (docs/protocol.md) */
#define DP_KIND_WAIT "wait" /* a run's sweep to its hub: what it waits for (docs/graph.md) */

#endif
