/* Overlap of summarize and embed on one document (issue 8).
 *
 * docpipe-embed reads only chunks[].text, never the summaries, so the two
 * stages need not run one after the other: the hub sends each document
 * record that chunk writes to both, and joins the two results by (run,
 * seq) before the store (docs/graph.md, "Overlap").  This file is the
 * join: the merge of two branch outputs and the state of one document
 * between them.  The sockets stay in loop.c. */
#ifndef DP_HUB_JOIN_H
#define DP_HUB_JOIN_H

#include <jv.h>
#include <zmq.h>

#include "err.h"
#include "json.h"

/* The two branches of the fork.  Every record chunk writes goes down both;
 * for one that is no document (error, skip, delete ...) the join passes the
 * first copy to the store and drops its twin (docs/graph.md, "Overlap"). */
enum hub_branch { HUB_BRANCH_SUMMARIZE = 1, HUB_BRANCH_EMBED = 2 };

/* Merges the two branch outputs of one document, both consumed: the
 * summarize branch's record `base` plus the top-level keys and the
 * per-chunk keys (chunk i with chunk i) of the embed branch's `other`
 * that base lacks.  Each branch only adds fields (stages keep the fields
 * they do not own), so that is both branches' work; a field both set
 * keeps base's value.  Returns the merged record, or an invalid jv with
 * err when the two are not outputs of the same document: `hash`,
 * `chunker`, the number of chunks or a chunk's `seq` differ (the file
 * changed between two sends of it). */
jv hub_join_merge(jv base, jv other, dp_err *err);

/* The join state of one document in flight (kept in its hub_slot; all
 * zero is the empty state). */
typedef struct hub_join {
	/* The first branch output to arrive, as the message it came in (its
	 * JSON text, not parsed: a parsed record takes several times the
	 * memory, and it may wait seconds for its twin), when held. */
	zmq_msg_t twin;
	int holding;
	int twin_from; /* its hub_branch */
	int done;      /* the current send's outcome went to the store: later outputs
	                * (the twin of an error record, copies from a re-send) are dropped */
} hub_join;

/* Takes the output of branch `from` for the document of j: msg, the
 * message it came in, and rec, its parse (both consumed: msg is held or
 * closed).  Returns the record to send to the store (owned): the merged
 * document once both branches' documents are here (the held twin parsed
 * only then, each message freed as soon as it is parsed), or the first
 * record that is no document (an error record: the document's outcome,
 * its twin dropped when it comes), or an error record when the two do not
 * merge.  Returns an invalid jv when there is nothing to send now (msg is
 * held, or dropped as the twin of what went already).  A document from the
 * branch that already has one held replaces it (a newer copy). */
jv hub_join_take(hub_join *j, int from, jv rec, zmq_msg_t *msg);

/* Appends the JSON text of rec (consumed, an object) to b: its keys, then
 * its `chunks` last, each chunk freed as soon as it is written (when
 * nothing else holds it), so a big joined document is not held whole both
 * parsed and as text.  b->max must be set (not 0).  Returns 0, or -1 with
 * err set when the text would exceed b->max or memory runs out (b's
 * contents are then unspecified, its overflow flag maybe set). */
int hub_join_write(jv rec, dp_json_buf *b, dp_err *err);

/* The document is sent again: its outputs flow to the store again (a
 * held twin stays: it joins the other branch's output of either send). */
void hub_join_resent(hub_join *j);

/* Frees what j holds and empties it. */
void hub_join_clear(hub_join *j);

#endif
