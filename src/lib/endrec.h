/* Discover's end record (docs/protocol.md, "End of discovery"): the proof
 * that a walk finished, which every sweep requires.
 *
 * A sweep deletes the documents under a root that a run did not see.  It
 * is safe only when the run saw every file the walk found: the walk
 * finished (discover wrote its end record last, with status 0 or 1 and
 * every directory read or listed as unread), and every record discover
 * wrote arrived. */
#ifndef DP_ENDREC_H
#define DP_ENDREC_H

#include <stddef.h>

#include <jv.h>

/* Whether end (borrowed: an end record, or an invalid/null value when none
 * arrived) proves that a reader which received `seen` records before it
 * saw the whole walk.  Returns 1, or 0 with a one-line reason in why. */
int dp_end_proves(jv end, double seen, char *why, size_t size);

/* The most paths an end record lists as not read ("unread"; past them the
 * walk proves nothing), and the longest line that tells a run's sweep to
 * go with them (docpipe-store --sweep-on-go: "go" and a JSON array of
 * paths of at most discover's 16 KiB, each character escaped: 6.3 MB). */
#define DP_END_UNREAD_MAX 64
#define DP_END_GO_LINE_MAX (DP_END_UNREAD_MAX * 16384 * 6 + 64)

/* The paths end (borrowed) lists as not read (a directory this user may
 * not read, a lost+found): a sweep after it keeps what is stored under
 * each (docpipe-store's --sweep).  An array of strings, empty when none. */
jv dp_end_unread(jv end);

#endif
