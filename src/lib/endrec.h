/* Discover's end record (docs/protocol.md, "End of discovery"): the proof
 * that a walk finished, which every sweep requires.
 *
 * A sweep deletes the documents under a root that a run did not see.  It
 * is safe only when the run saw every file the walk found: the walk
 * finished (discover wrote its end record last, with status 0 or 1 and
 * every directory read), and every record discover wrote arrived. */
#ifndef DP_ENDREC_H
#define DP_ENDREC_H

#include <stddef.h>

#include <jv.h>

/* Whether end (borrowed: an end record, or an invalid/null value when none
 * arrived) proves that a reader which received `seen` records before it
 * saw the whole walk.  Returns 1, or 0 with a one-line reason in why. */
int dp_end_proves(jv end, double seen, char *why, size_t size);

#endif
