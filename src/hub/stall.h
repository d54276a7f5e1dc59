/* A stage stalled: documents wait on it and none of its replicas is live.
 *
 * The hub takes a replica for dead on its silence (hub_stats_silent), but
 * only one it heard from: a replica stopped before its first stats (a
 * debugger, a freezer, SIGSTOP at its gate while `docpipe run --wait`
 * waits) is unknown to it, and its stage's documents waited for it
 * without a word, for ever: nothing was sent, so nothing timed out
 * (fault sweep 24).  The supervisor knows its replicas' pids; the hub
 * knows what waits.  So docpipe run lists its replicas in a file
 * (docpipe-hub --replicas: a "NAME PID" line appended at each start, the
 * last pid of a name its replica now), which the hub reads only when a
 * stage has stalled HUB_STALL_SAY_S: it names them, their pids and states
 * (/proc/PID/stat), once, and shows the stall in the progress; a stopped
 * one it never heard from is entered as a silent replica (since the
 * stall began), so --kill-silent's rule for a stage with no live replica
 * (evict.h, HUB_EVICT_LONE_S) kills it as any silent one, and the
 * supervisor starts it again.  A replica never heard from that runs (a
 * slow start, a store waiting for its database) is named, not killed. */
#ifndef DP_HUB_STALL_H
#define DP_HUB_STALL_H

#include <stddef.h>

#include "hub.h"

/* Documents in flight and no live replica of a stage this long: said. */
#define HUB_STALL_SAY_S 10.0
/* Replicas of a stage named, at most (the rest counted). */
#define HUB_STALL_NAMED 4
/* Replicas of a stage read from --replicas, at most. */
#define HUB_ROSTER_MAX 64

typedef struct hub_replica {
	char name[32]; /* the supervisor's: "chunk-1" */
	long pid;
} hub_replica;

/* The replicas of stage in the file at path ("NAME PID" lines, NAME
 * "STAGE-N"; a name's last line wins) into out, max at most.  Returns how
 * many; 0 when the file cannot be read. */
int hub_roster_read(const char *path, int stage, hub_replica *out, int max);

/* Looks at stage's replicas, stalled since `since`: those of roster
 * (--replicas, or NULL) and those the hub heard from.  Enters each listed
 * one that is stopped and was never heard from (hub_stats_unheard).
 * Writes into text what they are ("chunk-1 (pid 4242) stopped (SIGSTOP or
 * SIGTSTP), never heard from; ...") and into note a short form for the
 * progress ("chunk-1 stopped").  Returns how many are stopped processes
 * of the hub's pid space. */
int hub_stall_look(hub_stats *s, const char *roster, int stage, double since, double now, char *text,
		   size_t text_size, char *note, size_t note_size);

#endif
