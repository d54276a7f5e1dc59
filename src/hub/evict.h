/* Ending a replica that fell silent while its stage has others (--kill-silent).
 *
 * A replica held up (SIGSTOP, a frozen container, a swap storm) keeps its
 * connections open: its kernel answers for it.  When the hub re-sends what
 * was in flight, its PUSH edge spreads the copies over every connection of
 * the stage, so some queue behind the frozen replica again; they wait for
 * --timeout, and after --attempts fail "no receipt" while the stage's other
 * replicas idle.  ZeroMQ cannot drop one peer of a bound socket, and its
 * heartbeats are off (docs/graph.md, "Liveness").  Ending the process closes
 * its connections: libzmq drops the queue to it, and the copies, sent once
 * it is gone, go to the replicas that remain.
 *
 * The hub does it only when told (docpipe run, which owns its replicas and
 * restarts the ones that die), only to a process whose pid means the same
 * to the hub (its stats' pid space, the boot id and pid namespace, is the
 * hub's: not a remote worker, nor one in another container, whose
 * hostname may be this one's) and that runs a docpipe program (its command
 * name starts with "docpipe-": not a pid used again), and only while
 * another replica of its stage is live (the copies have somewhere to go),
 * or when it is its stage's only replica and stays silent HUB_EVICT_LONE_S:
 * a short hold-up of a lone replica is waited for (woken, it drops the
 * copies of what it holds, versions.h, and no answer is paid twice); one
 * that lasts would stall the run for --timeout x --attempts and then fail
 * every document it held. */
#ifndef DP_HUB_EVICT_H
#define DP_HUB_EVICT_H

#include "err.h"

/* How long the re-send waits, at most, for the killed processes to end:
 * past it, the copies go anyway (a queue that outlived its process costs a
 * --timeout, not a document). */
#define HUB_EVICT_WAIT_S 2.0
/* After the last one ended: time for libzmq's I/O thread to see the
 * connections close and drop their queues before copies are sent. */
#define HUB_EVICT_GRACE_S 0.2
/* Silence after which a stage's only replica is killed (its answers in
 * flight are lost with it and asked for again).  A test shortens it with
 * DOCPIPE_HUB_TEST_EVICT_LONE_S (seconds; a test hook, not for use). */
#define HUB_EVICT_LONE_S 30.0
/* Replicas killed at once, at most (more fell silent: left to --timeout). */
#define HUB_EVICT_MAX 16

/* Sends SIGKILL to process pid of pid_space (stats.h) when that is the
 * hub's and the process a docpipe program.  Returns 0 when sent, -1 with
 * err saying why not. */
int hub_evict(const char *pid_space, long pid, dp_err *err);

/* The state of process pid of this machine as /proc/PID/stat says it (R
 * running, S sleeping, D uninterruptible, T stopped, t a tracing stop, Z
 * a zombie ...), and its parent's pid in *ppid; 0 when it is not there. */
char hub_proc_state(long pid, long *ppid);
/* That state in words for a message ("stopped (SIGSTOP or SIGTSTP)"). */
const char *hub_state_words(char state);
/* 1 for a stopped state (a stop signal, a debugger): the process does
 * nothing until SIGCONT, which nobody may send. */
int hub_proc_stopped(char state);

/* 1 when process pid no longer runs (ended, or a zombie its parent has
 * not reaped yet: its sockets are closed), 0 while it does. */
int hub_evict_ended(long pid);

/* 1 when pids of pid_space (a replica's stats, stats.h) mean the same
 * to the hub as to that replica. */
int hub_pid_space_here(const char *pid_space);

/* 1 when process pid of pid_space (a replica's stats) is known to have
 * exited: its pid space is the hub's and the pid no longer runs
 * (hub_evict_ended).  0 while it runs, and for a process the hub cannot
 * see (a remote worker, another container): its silence tells instead.
 * A pid used again by a new process reads as running: silence tells then
 * too. */
int hub_proc_exited(const char *pid_space, long pid);

#endif
