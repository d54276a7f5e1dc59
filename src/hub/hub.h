/* The hub: the stable part of a docpipe graph.
 *
 * It binds every edge of the graph (stage replicas anywhere connect to it),
 * forwards records between stages with back-pressure, and tracks every
 * document of the run until the store's receipt for it arrives, re-sending
 * those whose receipt does not come in time.  See docs/graph.md. */
#ifndef DP_HUB_H
#define DP_HUB_H

#include <stddef.h>
#include <stdio.h>

#include <jv.h>

#include "clock.h" /* dp_clock_s: the clock of hub_stats_update and hub_stats_silent */
#include "err.h"
#include "join.h"
#include "stats.h"
#include "zmqsock.h"

/* The stages of the graph, in order.  Edge endpoints are numbered:
 * 2*i = stage i's input (hub PUSH), 2*i + 1 = its output (hub PULL), and
 * HUB_EP_STATS the counters of every stage. */
#define HUB_STAGES 4
#define HUB_EP_STATS (2 * HUB_STAGES)
#define HUB_EP_COUNT (HUB_EP_STATS + 1)

extern const char *const hub_stage_names[HUB_STAGES];

/* The endpoint to bind for number `ep` given --listen (tcp://HOST:PORT
 * with PORT the first of HUB_EP_COUNT consecutive ports, or PORT 0 for
 * ports the system picks; or ipc://DIR).  Writes "@..." into buf. */
int hub_bind_endpoint(const char *listen, int ep, char *buf, size_t size, dp_err *err);

/* The variable name of endpoint `ep` in the --endpoints file
 * (DP_CHUNK_IN, DP_CHUNK_OUT, ..., DP_STATS). */
void hub_endpoint_var(int ep, char *buf, size_t size);

/* Documents in flight: at most `size` at once, found by seq. */
typedef struct hub_slot {
	int used;
	int sent;        /* 0: (re)send it when the first edge takes it */
	long seq;
	int attempts;    /* sends so far */
	int free_send;   /* the next send re-sends what a dead replica held:
	                  * it does not count as an attempt */
	double sent_at;  /* monotonic seconds of the last send */
	double first_sent_at; /* ... and of its first one (0: not sent yet) */
	double claimed_at; /* ... and of a replica's last word that it still
			    * works on it (stats.h, "holding"), 0: none since */
	int sends;       /* sends so far, free ones included (hub_delay: one only) */
	int stalled;     /* it waited on a stage stalled HUB_STALL_SAMPLE_S or
			  * more (hub_stats_stalled): its send-to-receipt time
			  * tells nothing of the pipeline's pace, so it is no
			  * hub_delay sample */
	int held_by;     /* 1 + the stage whose replica last listed it as held
			  * (stats.h "holding"), 0: none has */
	double held_at;  /* monotonic seconds of that replica's message */
	jv rec;          /* the stamped record, as sent */
	double file_bytes; /* its file's size, as discover gave it (0: none) */
	double bytes;    /* what it counts in the window (hub_window_recount) */
	int counted_twin; /* its twin taught the window's ratio */
	hub_join join;   /* overlap mode: its summarize and embed outputs (join.h) */
} hub_slot;

/* A document whose twin has not come yet counts as its file times the
 * twins' ratio to their files so far: in the run's first burst the window
 * fills before any twin is back, and counting files alone let 166 files
 * of 100 KB in, whose twins of 1,536-number vectors then held the hub at
 * 112 MB.  The prior (8x, worth 1 MiB of files) is that run's ~11x
 * learnt within its first documents and a narrow embedder's ~3x. */
#define HUB_TWIN_RATIO_PRIOR 8.0
#define HUB_TWIN_PRIOR_BYTES (1024.0 * 1024)
#define HUB_TWIN_RATIO_STEP 1.1 /* a ratio moved this much recounts every document */

/* --window-bytes by default.  A document in flight holds about 3x its
 * file in the hub while its twin waits (the embed output: each chunk's
 * text again and its vector, join.h), up to 6x at its join (30 MB for a
 * 5 MB file); 8 files of 5 MB in flight held 108 MB, 4 of them 74 MB.
 * (When the join parsed both outputs, bench/api-graph.sh bigdocs' 40
 * files held 612 MB, 4 of them 183 MB.)  With wide vectors the twin is
 * far more than 3x its file (1,536 numbers a chunk as JSON text: ~1 MB
 * for a 100 KB file), so the window counts the held twin's own bytes
 * beside the file's size: counting files only, 200 such files held the
 * hub at 112 MB (docs/RELIABILITY.md, session 52).  A document counts for
 * at most 1/HUB_WINDOW_BYTES_SHARE of it, so that many documents are in
 * flight whatever their sizes (a PDF's file is much larger than its text,
 * and --max-record bounds a record). */
#define HUB_WINDOW_BYTES_DEFAULT (16.0 * 1024 * 1024)
#define HUB_WINDOW_BYTES_SHARE 4

/* The slots are an open-addressed table of twice the window, keyed by
 * seq (linear probing from seq's home slot): a document still out holds
 * its slot only, never the seqs after it.  (Before, a ring of the window's
 * size by seq: the hub reads its input in order, so one slow document held
 * every document after the next --window ones back.) */
typedef struct hub_window {
	hub_slot *slots;
	size_t size;      /* slots: twice limit */
	size_t limit;     /* documents in flight at most (--window) */
	size_t probe;     /* the farthest any record was placed from its home slot */
	size_t used;
	double bytes;     /* what the documents in flight count (hub_window_recount) */
	double max_bytes; /* admit no more while bytes reaches this (0: no bound) */
	int joins;        /* overlap mode: each document's first output waits for its twin */
	/* The twins' bytes against their files' (every twin held so far,
	 * beside HUB_TWIN_PRIOR_BYTES of a prior HUB_TWIN_RATIO_PRIOR times
	 * its file), and the ratio the window counts by now. */
	double twin_bytes, twin_file_bytes, ratio;
	long low;         /* every seq below it has left (hub_window_oldest) */
	long next;        /* one past the last seq added */
} hub_window;

/* How long documents take from their send to their receipt, estimated as
 * TCP estimates its round trip (RFC 6298: SRTT and RTTVAR, gains 1/8 and
 * 1/4), from documents sent once only (Karn: a re-sent one's receipt may
 * answer either send).  A document is re-sent when it has been out for
 * hub_delay_timeout: --timeout, or SRTT + 4 RTTVAR when that is longer, so
 * an overloaded pipeline, whose documents wait longer than --timeout in
 * its queues, is not handed copies of what it already holds (each copy
 * more work, more waiting, more copies).  A replica that dies is noticed
 * on its silence (hub_stats_silent), not by this timeout. */
typedef struct hub_delay {
	int samples;
	double srtt, rttvar; /* seconds */
	double said;         /* the timeout last told on stderr (0: none) */
} hub_delay;

void hub_delay_sample(hub_delay *d, double seconds);
/* The re-send timeout in seconds: at least floor (--timeout). */
double hub_delay_timeout(const hub_delay *d, double floor);
/* How long (seconds since its first send) a document may be in flight
 * before that is notably longer than this run's documents take, so that
 * the progress names it: SRTT + 4 RTTVAR (the timeout without --timeout's
 * floor), at least twice SRTT and HUB_OLDEST_MIN_S; HUB_OLDEST_FIRST_S
 * while no document has come back to measure (the first one may be the
 * one every other waits behind). */
#define HUB_OLDEST_MIN_S 5.0
/* A stall this long or longer makes the documents in flight no hub_delay
 * samples.  A shorter one (a store waiting a few hundred ms on a busy
 * database: it reports waits from DP_STATS_WAITING_MS, 200 ms) is the
 * pipeline's pace; dropping every sample then left the hub with none and
 * its oldest-document line waited for HUB_OLDEST_FIRST_S. */
#define HUB_STALL_SAMPLE_S 1.0
#define HUB_OLDEST_FIRST_S 30.0
double hub_delay_unusual(const hub_delay *d);

/* limit: documents in flight at most; max_bytes: the sizes of their files
 * at most (0: no bound).  Returns 0, or -1 when memory runs out. */
/* joins: overlap mode (twins are held, HUB_TWIN_RATIO_PRIOR). */
int hub_window_init(hub_window *w, size_t limit, double max_bytes, int joins);
void hub_window_free(hub_window *w);
/* 1 when a record can enter now: fewer than limit are in flight and the
 * documents in flight are under max_bytes, each counted (up to max_bytes /
 * HUB_WINDOW_BYTES_SHARE) as its file and the twin its join holds, or,
 * its twin still to come, its file times the twins' ratio to theirs.
 * A document's records in the hub (its twin, join.h) grow with its file
 * and its vectors, so the bytes bound the hub's memory where the count
 * does not. */
int hub_window_has_room(const hub_window *w);
/* 1 when the documents in flight reach max_bytes: the byte bound holds more back. */
int hub_window_bytes_full(const hub_window *w);
/* Adds rec (consumed) under seq, its file's size from its "size" field;
 * the caller checked has_room. */
void hub_window_add(hub_window *w, long seq, jv rec);
/* Counts slot anew after its join took or let go of a message (a twin
 * taken also teaches the ratio; a ratio moved by HUB_TWIN_RATIO_STEP
 * recounts every document in flight). */
void hub_window_recount(hub_window *w, hub_slot *slot);
/* The slot of seq when it is still outstanding, or NULL (a duplicate or
 * stale receipt): O(probe). */
hub_slot *hub_window_find(hub_window *w, long seq);
/* Frees the slot: its record and what its join holds. */
void hub_window_release(hub_window *w, hub_slot *slot);
/* The document in flight the longest: the slot of the lowest seq still in
 * the window, or NULL when it is empty.  The hub takes a document in only
 * once every one before it has been sent, so first sends go in seq order.
 * Amortized O(1): w->low only moves up, past each seq once, so the
 * progress line costs no scan of the window however large it is. */
hub_slot *hub_window_oldest(hub_window *w);

/* The oldest document as the progress and the final report name it, into
 * buf (size bytes at most, always terminated): "PATH, 95 s (sent 2
 * times)", then ", at STAGE" when a replica of stage (0.. HUB_STAGES - 1;
 * -1: none) listed it as held less than HUB_HELD_NOW_S ago (held_ago),
 * else ", last at STAGE 40 s ago".  PATH is at most HUB_NAME_MAX bytes of
 * the path: its end, after "..." when cut (at a UTF-8 character's start),
 * control characters as '?' (a file name must not move the terminal's
 * cursor). */
#define HUB_NAME_MAX 48
#define HUB_HELD_NOW_S 2.0
void hub_oldest_text(char *buf, size_t size, const char *path, double age, int sends, int stage,
		     double held_ago);

/* The outcome tally of a run, and the report built from it. */
#define HUB_MAX_FAILURES 100

typedef struct hub_tally {
	long documents;  /* records that entered the window */
	long added, updated, unchanged, deleted, failed, skipped;
	long swept;      /* of deleted: the sweep's, not the window's documents */
	long resent, stale_receipts;
	/* Failed without any receipt: the store never saw them, so their
	 * stored versions do not carry this run (see the sweep in loop.c). */
	long lost;
	jv failures;     /* array of {path, stage, error}, at most HUB_MAX_FAILURES */
	/* The sweep: "done", "skipped" or "failed" (a failed sweep is no failed
	 * document), and why not done. */
	const char *sweep;
	char sweep_why[512];
} hub_tally;

/* Counts a receipt (borrowed) as a final outcome. */
void hub_tally_receipt(hub_tally *t, jv receipt);
/* Counts a document that got no receipt after its last attempt. */
void hub_tally_lost(hub_tally *t, jv rec, int attempts);

/* Per-process counters from `stats` messages, summed per stage. */
#define HUB_MAX_PROCS 512

typedef struct hub_proc {
	char key[300]; /* host/pid */
	long pid;
	char pid_space[128]; /* its stats' "pid_space" (stats.h), "" when none */
	int stage;     /* index into hub_stage_names, or -1 */
	double seen;   /* monotonic seconds of its last message */
	int ended;     /* its last message said goodbye ("final"): it exited */
	int gone;      /* counted as ended or dead by hub_stats_silent */
	int exited;    /* its process was seen gone (hub_proc_exited): it is
			* dead whatever of its messages comes later */
	double silent_at; /* when hub_stats_silent took it for dead on its
			   * silence (not a goodbye); 0 otherwise */
	int evicted;      /* the hub tried to kill it (evict.h) */
	int awaited;      /* ended: a re-send waits for its exit (await_goodbyes) */
	/* Entered by hub_stats_unheard: never heard from (until its first
	 * stats); its name as its supervisor calls it ("chunk-1"), "" when
	 * none was given. */
	int unheard;
	char name[32];
	double in, out, failed, in_flight, retries, requests, tokens, latency_ms;
	double latency_sum_ms, latency_buckets[DP_STATS_LATENCY_BUCKETS];
	/* Fields not every stage's stats carry: -1 when absent. */
	double concurrency, throttled;
	double progress_at; /* monotonic seconds: its counters last moved */
	/* Its wait on what its stage's replicas share (stats.h "waiting"):
	 * seconds, 0 when none, and on what. */
	double waiting_s;
	char waiting_on[32];
} hub_proc;

typedef struct hub_stats {
	hub_proc procs[HUB_MAX_PROCS];
	size_t nprocs;
} hub_stats;

/* Takes a stats message (borrowed), arrived now.  Returns its process's
 * entry, or NULL when the table is full. */
hub_proc *hub_stats_update(hub_stats *s, jv msg);
/* A replica the hub never heard from (its supervisor's, --replicas:
 * stopped before its first stats), entered as one taken for silent since
 * `since`, so that what the hub does with a silent replica is done with
 * it (--kill-silent, evict.h); pid is of the hub's pid space, name the
 * supervisor's for it.  Its first stats, if it runs again, find the entry
 * (its key is HOST/PID as theirs).  Returns the entry (one there already
 * as it is), or NULL when the table is full. */
hub_proc *hub_stats_unheard(hub_stats *s, long pid, int stage, const char *name, double since);
/* The entry of process pid of the hub's own pid space, or NULL. */
hub_proc *hub_stats_local(hub_stats *s, long pid);
/* A replica reports every 500 ms from a thread of its own: one silent for
 * HUB_SILENT_S has died (kill -9, a crash, a lost machine) or is stopped;
 * one that said goodbye has exited, maybe on an error (a store that gave
 * up on its database) without finishing what it held; one marked exited
 * was seen gone by the hub itself.  Marks such
 * processes gone and returns how many newly are (the silent ones with
 * silent_at = t); a process heard from again comes back. */
#define HUB_SILENT_S 3.0
int hub_stats_silent(hub_stats *s, double t);
/* The hub itself did not run for a while (SIGSTOP, a stopped VM, swap):
 * the replicas' messages of that time are still on their way, so their
 * silence says nothing.  Every live process counts as heard from at t;
 * one that really died is found HUB_SILENT_S later. */
#define HUB_HELD_UP_S 1.5
void hub_stats_forgive(hub_stats *s, double t);
/* Sum of field `offsetof(hub_proc, field)` over the processes of stage
 * (-1: all stages). */
double hub_stats_sum(const hub_stats *s, int stage, size_t field);
int hub_stats_procs(const hub_stats *s, int stage);
/* How many of them are live (not gone). */
int hub_stats_live(const hub_stats *s, int stage);
/* The longest wait (seconds, 0: none) of stage's live processes, with on
 * what in *on (borrowed from s). */
double hub_stats_waiting(const hub_stats *s, int stage, const char **on);
/* Some stage has live processes and every one of them waits on what they
 * share (stats.h "waiting"): no document can get through.  Returns for how
 * long, in seconds, as far as the reports say (the shortest of that
 * stage's waits; the longest such stall of all stages), 0: no stall. */
double hub_stats_stalled(const hub_stats *s);
/* 1 when the counters are final for a run whose every document has its
 * outcome, given sent[i], the records the hub sent to stage i: for every
 * stage the replicas read that many (in), wrote all they read (out >= in)
 * and hold none (in_flight 0).  A replica counts requests and tokens
 * before it writes the record they were for, so its message that says so
 * carries them.  A replica that died with records, or records lost in a
 * queue, keep it 0: the caller then waits for its deadline. */
int hub_stats_final(const hub_stats *s, const long sent[HUB_STAGES]);

/* The report (owned): {"v":1,"kind":"report","run",...}. */
jv hub_report(const hub_tally *t, const hub_stats *s, const char *run, double seconds,
	      int complete);

/* Prints the endpoints replicas connect to for --listen (tcp://HOST:PORT,
 * PORT not 0, or ipc://DIR) as "STAGE IN OUT" lines and "stats ENDPOINT":
 * what `docpipe worker` reads instead of recomputing the layout.  Returns
 * 0 or -1 with err. */
int hub_print_layout(const char *listen, FILE *out, dp_err *err);

/* How the hub runs (main.c fills it from the command line). */
enum hub_progress { HUB_PROGRESS_NONE, HUB_PROGRESS_PLAIN, HUB_PROGRESS_TTY };

typedef struct hub_config {
	const char *listen;         /* see hub_bind_endpoint */
	const char *local;          /* ipc://DIR bound too, for local replicas, or NULL */
	const char *endpoints_file; /* where to write the bound endpoints, or NULL */
	const char *input;          /* the file records' FIFO or file (--input), or NULL: stdin */
	const char *run;            /* the run id stamped on every record */
	size_t window;              /* documents in flight at most */
	double window_bytes;        /* the sizes of their files at most (0: no bound) */
	double timeout;             /* seconds before a document is re-sent */
	int attempts;               /* sends before a document counts as failed */
	dp_zmq_opts zmq;            /* curve_secret, insecure, hwm, max_record */
	const char *allow;          /* allow-list of client keys (with curve_secret) */
	const char *sweep_store;    /* docpipe-store to run --sweep with, or NULL */
	char **sweep_args;          /* extra arguments for it */
	size_t nsweep_args;
	char **roots;               /* the roots of the run, for the sweep */
	size_t nroots;
	enum hub_progress progress;
	double progress_every;      /* seconds between plain progress lines */
	FILE *display;              /* where the progress goes (stderr, or the terminal
				     * the hub's stderr was when relay took it, relay.h) */
	struct hub_relay *relay;    /* tty: the run's messages to show above it, or NULL */
	const char *metrics;        /* HOST:PORT serving Prometheus metrics, or NULL */
	/* Keep running after the first pass (the input up to discover's end
	 * record), which is then swept, until a stop or the input's end: the
	 * records after the end are changes (docpipe-watch). */
	int watch;
	/* Send chunk's records to summarize and embed at once and join their
	 * outputs for the store (join.h); 0: the stages in a line. */
	int overlap;
	/* Kill a replica of this machine that falls silent while its stage
	 * has other live replicas, before re-sending what it held (evict.h). */
	int kill_silent;
	/* With kill_silent: the silence after which a stage's only replica is
	 * killed, HUB_EVICT_LONE_S (evict.h) but in tests, which wait it out. */
	double evict_lone_s;
	/* The replicas docpipe run started on this machine ("NAME PID" lines,
	 * stall.h), or NULL. */
	const char *replicas;
} hub_config;

/* Runs the graph's hub: reads file records from stdin until it ends and
 * every one has its outcome, or until a stop request.  Prints the report
 * (JSON) on stdout and a summary on stderr (unless progress is NONE).
 * The caller blocks SIGUSR1 (so that the threads hub_run starts inherit
 * the block) with hub_note_stopping as its handler: hub_run unblocks it in
 * its loop's thread only, whose waits it may interrupt.  Returns an exit
 * code of err.h, with err set when the run could not start (endpoints,
 * memory); a failure at its end (the sweep's, the report's) it says
 * itself and leaves err empty. */
int hub_run(const hub_config *cfg, dp_err *err);

/* The run is stopping: docpipe run's supervisor says so (SIGUSR1) before
 * it stops discover and the replicas, and stops the hub (SIGTERM) once
 * they are gone.  Their exits are then on purpose: the hub re-sends
 * nothing (not for a replica's exit or silence, not after --timeout),
 * kills no silent replica, counts no document failed for want of a
 * receipt and takes no new document, while it still takes the receipts
 * and counters of what the replicas finish.  Async-signal-safe. */
void hub_note_stopping(void);

#endif
