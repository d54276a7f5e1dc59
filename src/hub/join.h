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
#include "jscan.h"

/* The two branches of the fork.  Every record chunk writes goes down both;
 * for one that is no document (error, skip, delete ...) the join passes the
 * first copy to the store and drops its twin (docs/graph.md, "Overlap"). */
enum hub_branch { HUB_BRANCH_SUMMARIZE = 1, HUB_BRANCH_EMBED = 2 };

/* hub_join_merge's failures. */
enum { HUB_JOIN_DISAGREE = -1, HUB_JOIN_NOMEM = -2 };

/* Merges the texts of the two branch outputs of one document (both JSON
 * objects whose syntax was checked: dp_record_head): the summarize
 * branch's record `base` plus the top-level members and the per-chunk
 * members (chunk i with chunk i) of the embed branch's `other` whose keys
 * base lacks.  Each branch only adds fields (stages keep the fields they
 * do not own), so that is both branches' work; a field both set keeps
 * base's value.  The text is written, not built as jv: base's members as
 * they are, then other's it adds, `chunks` last, each chunk likewise;
 * a parsed document takes several times the memory of its text, and the
 * text is what the store gets.  Returns 0 with *text (malloc'd, exactly
 * *len bytes, no NUL: the size is counted first, so no buffer grows past
 * it); HUB_JOIN_DISAGREE with err when the two are not outputs of the same
 * document (`hash`, `chunker`, the number of chunks or a chunk's `seq`
 * differ: the file changed between two sends of it) or the text would
 * exceed max bytes; HUB_JOIN_NOMEM with err when memory runs out.
 * With owned, the two texts are memory the caller owns alone and does not
 * read again after a successful merge (received messages it then closes):
 * the pages the merge has read are given back to the system as it writes
 * (MADV_DONTNEED; their contents are then zeros), so the merged record
 * does not add to both texts at the peak. */
int hub_join_merge(dp_jspan base, dp_jspan other, int owned, size_t max, char **text, size_t *len,
		   dp_err *err);

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
 * message it came in (consumed: held, moved to *out or closed), and head,
 * its dp_record_head (consumed).  Returns 1 with *out (initialised here)
 * the message for the store: msg itself for a record that is no document
 * (an error record: the document's outcome, its twin dropped when it
 * comes), the merged document once both branches' documents are here
 * (hub_join_merge), or an error record when they do not merge or a record
 * would exceed max bytes (--max-record).  Returns 0 when there is nothing
 * to send now (msg is held, or dropped as the twin of what went already),
 * -1 with err when memory ran out (nothing goes: the document is sent
 * again after --timeout).  A document from the branch that already has
 * one held replaces it (a newer copy).  No document is parsed: only the
 * heads, which leave the chunks out. */
int hub_join_take(hub_join *j, int from, jv head, zmq_msg_t *msg, size_t max, zmq_msg_t *out,
		  dp_err *err);

/* The document is sent again: its outputs flow to the store again (a
 * held twin stays: it joins the other branch's output of either send). */
void hub_join_resent(hub_join *j);

/* Frees what j holds and empties it. */
void hub_join_clear(hub_join *j);

#endif
