/* The hub's event loop: one thread polls every socket, so the window, the
 * tally and the counters need no locks.  A second thread only reads stdin
 * (discover's output) and hands records over an inproc socket, because
 * stdin cannot be polled together with buffered line reading. */
#include "hub.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "cli.h"
#include "zap.h"
#include "endrec.h"
#include "evict.h"
#include "stall.h"
#include "json.h"
#include "lines.h"
#include "metrics.h"
#include "record.h"
#include "relay.h"
#include "transport.h"

extern char **environ;

#define HUB_INPUT "inproc://hub-input"
#define HUB_TICK_MS 200

/* The stdin reader thread's own: its end of the input pair and its source,
 * both opened by hub_run before the thread starts (so that it reads
 * nothing of its caller's), and closed by hub_run after it joined it. */
struct input_reader {
	void *pair;
	dp_source *src;
	double pause_s; /* test hook: waits this long before its first read */
	pthread_t thread;
};

/* The stdin reader thread: forwards each record, then an empty message as
 * the end (always: hub_run waits for it, stop_reader).  Blocking sends:
 * the window's back-pressure reaches discover.  It parses records with jq,
 * whose out-of-memory abort is per thread: dp_cli_nomem_said names the hub
 * first. */
static void *read_input(void *arg)
{
	struct input_reader *r = arg;
	dp_err err;
	jv rec;
	int rc;

	dp_cli_nomem_said();
	dp_sleep_ms(r->pause_s * 1000);
	while ((rc = dp_source_next(r->src, &rec, &err)) == DP_SOURCE_RECORD) {
		jv text = dp_record_dump(rec);
		int sent = zmq_send(r->pair, jv_string_value(text),
				    (size_t)jv_string_length_bytes(jv_copy(text)), 0);
		jv_free(text);
		if (sent < 0)
			break;
	}
	if (rc == DP_SOURCE_ERROR)
		dp_diag("input: %s", err.msg);
	/* A signal taken by this thread (SIGTERM) must not lose the end. */
	while (zmq_send(r->pair, "", 0, 0) < 0 && zmq_errno() == EINTR)
		;
	return NULL;
}

/* The sweep: docpipe-store --sweep-on-go --sweep RUN ROOT..., started at
 * the first receipt, so that neither its start and connection are part of
 * a run's end, nor they compete with the replicas' start for the cores;
 * it sweeps on the line "go" on its stdin (in), deleted receipts on its
 * stdout (out).  pid 0: not running (spawn_failed says why, if spawned
 * and it failed). */
struct sweep_job {
	int spawned;
	pid_t pid;
	int in, out;
	char spawn_failed[DP_ERR_MAX];
	char go_failed[DP_ERR_MAX]; /* why it was not told to go; "": it was */
	double began;  /* when it was told to go; 0: it was not (yet) */
	long deleted;  /* its receipts so far */
	/* What its statement waits for, as it said ("wait" records); "": nothing
	 * said.  Since when. */
	char waiting[DP_ERR_MAX];
	double waiting_since;
};

struct hub {
	const hub_config *cfg;
	struct sweep_job sweep;
	void *ep[HUB_EP_COUNT];
	void *input;
	hub_window win;
	hub_tally tally;
	hub_stats stats;
	long next_seq;
	/* The stream its seqs number: the run and this hub process, since a
	 * run label may be given again and its seqs start again at 0 (the
	 * store orders a path's records by seq within a stream only). */
	char stream[160];
	/* `"run":"RUN"` as every record of this run carries it (json.c writes
	 * jq's escapes, no spaces): forward() drops records without it; ""
	 * when the run is too long to look for (it is not, --run is checked). */
	char run_key[320];
	long foreign;  /* records of another run dropped (said once) */
	size_t unsent;
	int input_done;
	/* Records read and dropped while stopping (drop_input): the run is
	 * then not complete. */
	long dropped;
	jv end;        /* discover's end record, or invalid until it comes */
	int after_end; /* records came after it: the input is not what it proves */
	long end_seq;  /* --watch: the seq after the first pass's last document */
	/* --watch: the outcomes of the watcher's own records (seq >= end_seq)
	 * that came before the first pass was over: not the first pass's,
	 * they are taken off its line (its "unchanged" counted the watcher's
	 * re-sent first pass). */
	hub_tally watched;
	int first_pass;      /* --watch: 0 until decided; 1 proven (and swept), -1 not */
	zmq_msg_t held[HUB_STAGES - 1]; /* a record read but not yet forwarded */
	int holding[HUB_STAGES - 1];
	/* Overlap mode (cfg->overlap, join.h): a record of chunk's not yet sent
	 * to summarize [0] or embed [1], and a joined record not yet sent to
	 * the store. */
	zmq_msg_t fork_held[2];
	int fork_holding[2];
	zmq_msg_t join_held;
	int join_holding;
	int join_next; /* the branch output read first next time: both get turns */
	long sent[HUB_STAGES]; /* records sent to each stage (hub_stats_final) */
	double started, last_progress, last_rate_at;
	double last_relay; /* relay_messages' last look */
	int relay_failed;  /* the messages file could not be read: not looked at again */
	double last_check; /* check_timeouts' last call: the hub's own liveness */
	double exits_checked; /* note_exits' last look at the replicas' pids */
	double last_out[HUB_STAGES], rate[HUB_STAGES];
	int tty_lines;
	hub_metrics *metrics; /* --metrics, or NULL */
	double last_metrics;
	hub_delay delay; /* send to receipt, for the re-send timeout */
	/* Deaths not yet answered by a re-send; it waits (until resend_by)
	 * for the replicas killed for their silence (evict.h) or that said
	 * goodbye (await_goodbyes) to end: their pids in evicting. */
	int resend_died;
	int resend_exited; /* of them, seen gone by their pid (note_exits) */
	double resend_by, evicted_at;
	long evicting[HUB_EVICT_MAX];
	int n_evicting;
	int stopping; /* the run is stopping (hub_note_stopping) */
	/* Each stage's input endpoint as bound (ZMQ_LAST_ENDPOINT), and 1
	 * while it waits to be bound again after cut_off. */
	char bound[HUB_STAGES][512];
	int rebind[HUB_STAGES];
	double unbound_at[HUB_STAGES]; /* when cut_off unbound it */
	/* Each stage's stall (stall.h): since when documents have waited
	 * with none of its replicas live (0: they do not), whether it was
	 * said, and its short form for the progress. */
	double stall_since[HUB_STAGES];
	int stall_said[HUB_STAGES];
	char stall_note[HUB_STAGES][64];
	double stalls_checked; /* watch_stalls' last look */
};

static volatile sig_atomic_t stopping_noted;

void hub_note_stopping(void) { stopping_noted = 1; }

/* Binds edge i also as a socket file in --local's DIR; its endpoint goes
 * to buf.  0, or -1 with err. */
static int bind_local(struct hub *h, int i, char *buf, size_t size, dp_err *err)
{
	char local[512];

	if (hub_bind_endpoint(h->cfg->local, i, local, sizeof local, err) < 0)
		return -1;
	if (zmq_bind(h->ep[i], local + 1) != 0) {
		dp_err_set(err, "bind %s: %s", local + 1, zmq_strerror(zmq_errno()));
		return -1;
	}
	snprintf(buf, size, "%s", local + 1);
	return 0;
}

/* Binds every edge (--listen) and writes the endpoints the local replicas
 * connect to (--endpoints): with --local, the socket files bound there
 * too.  A replica on this machine then never uses loopback TCP, where a
 * receiver that stopped reading (the store behind a lock) can leave its
 * sender waiting seconds for a backed-off zero-window probe after it reads
 * again (docs/graph.md, "Edge endpoints"); remote workers keep --listen,
 * and cut_off unbinds only that.  0, or -1 with err. */
static int open_endpoints(struct hub *h, dp_err *err)
{
	FILE *f = NULL;
	char tmp[4096];

	if (h->cfg->endpoints_file != NULL) {
		snprintf(tmp, sizeof tmp, "%s.tmp", h->cfg->endpoints_file);
		if ((f = fopen(tmp, "w")) == NULL) {
			dp_err_set(err, "%s: %s", tmp, strerror(errno));
			return -1;
		}
	}
	for (int i = 0; i < HUB_EP_COUNT; i++) {
		char bind[512], last[512], local[512] = "", var[32];
		size_t len = sizeof last;
		int type = i % 2 == 1 || i == HUB_EP_STATS ? ZMQ_PULL : ZMQ_PUSH;

		if (hub_bind_endpoint(h->cfg->listen, i, bind, sizeof bind, err) < 0 ||
		    (h->ep[i] = dp_zmq_open(type, bind, &h->cfg->zmq, err)) == NULL ||
		    zmq_getsockopt(h->ep[i], ZMQ_LAST_ENDPOINT, last, &len) != 0 ||
		    (h->cfg->local != NULL && bind_local(h, i, local, sizeof local, err) < 0)) {
			if (f != NULL)
				fclose(f);
			return -1;
		}
		if (i % 2 == 0 && i < HUB_EP_STATS)
			snprintf(h->bound[i / 2], sizeof h->bound[i / 2], "%s", last);
		/* Local replicas reach a wildcard bind through loopback. */
		char *any = strstr(last, "://0.0.0.0:");
		if (any != NULL)
			memmove(any + 3 + 9, any + 3 + 7, strlen(any + 3 + 7) + 1),
				memcpy(any + 3, "127.0.0.1", 9);
		hub_endpoint_var(i, var, sizeof var);
		if (f != NULL)
			fprintf(f, "%s=%s\n", var, local[0] != '\0' ? local : last);
	}
	if (f != NULL && (fclose(f) != 0 || rename(tmp, h->cfg->endpoints_file) != 0)) {
		dp_err_set(err, "%s: %s", h->cfg->endpoints_file, strerror(errno));
		return -1;
	}
	return 0;
}

/* --input FILE becomes the standard input (the reader thread's), opened
 * once the edges are bound and the endpoints written (open_endpoints):
 * docpipe run starts the hub while the run's claim is made and discover,
 * the FIFO's writer, only once it holds, so the hub's start and bind are
 * off a run's critical path (a blocking open, before the bind, waited for
 * discover: docs/PERFORMANCE.md, issue 8 (b), session 55).  The open does
 * not wait (O_NONBLOCK: a FIFO's open waits for a writer); the hub waits
 * until FILE has something to read, or a writer came and went (a FIFO
 * with no writer yet is neither), or the stop is requested (a SIGTERM: the
 * supervisor's, or its death's, a supervisor killed with -9 while the
 * claim waits): the input then ends when it has no writer.  Nothing is
 * drawn or reported meanwhile: the loop has not begun.  0, or -1 with err
 * (FILE cannot be opened). */
static int open_input(const char *path, dp_err *err)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		dp_err_set(err, "--input %s: %s", path, strerror(errno));
		return -1;
	}
	/* Without the stop's descriptor, its flag is looked at every 100 ms. */
	struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = dp_stop_fd(), .events = POLLIN}};
	nfds_t n = p[1].fd >= 0 ? 2 : 1;
	int ready = 0, flags;
	while (!dp_stop_requested() && ready == 0)
		if ((ready = poll(p, n, n == 2 ? -1 : 100)) < 0 && errno == EINTR)
			ready = 0;
	if (ready < 0 || (flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 ||
	    dup2(fd, STDIN_FILENO) < 0) {
		dp_err_set(err, "--input %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Sends what waits in the window while the chunk edge takes it. */
static void send_unsent(struct hub *h)
{
	for (size_t i = 0; i < h->win.size && h->unsent > 0; i++) {
		hub_slot *s = &h->win.slots[i];
		if (!s->used || s->sent)
			continue;
		jv text = dp_record_dump(jv_copy(s->rec));
		int rc = zmq_send(h->ep[0], jv_string_value(text),
				  (size_t)jv_string_length_bytes(jv_copy(text)), ZMQ_DONTWAIT);
		jv_free(text);
		if (rc < 0)
			return; /* no chunk replica can take more now */
		s->sent = 1;
		s->sent_at = dp_clock_s();
		if (s->sends == 0)
			s->first_sent_at = s->sent_at;
		s->claimed_at = 0;
		s->sends++;
		h->sent[0]++;
		hub_join_resent(&s->join);
		hub_window_recount(&h->win, s);
		if (s->free_send)
			s->free_send = 0, h->tally.resent++;
		else if (s->attempts++ > 0)
			h->tally.resent++;
		h->unsent--;
	}
}

static void take_input(struct hub *h)
{
	zmq_msg_t msg;
	dp_err why;
	jv rec;

	zmq_msg_init(&msg);
	if (zmq_msg_recv(&msg, h->input, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&msg);
		return;
	}
	if (zmq_msg_size(&msg) == 0) {
		h->input_done = 1;
		zmq_msg_close(&msg);
		return;
	}
	rec = dp_record_parse(zmq_msg_data(&msg), zmq_msg_size(&msg), &why);
	zmq_msg_close(&msg);
	if (!jv_is_valid(rec)) { /* the reader parsed it already: cannot happen */
		jv_free(rec);
		return;
	}
	const char *kind = dp_record_kind(rec);
	if (kind != NULL && strcmp(kind, DP_KIND_END) == 0) {
		jv_free(h->end);
		h->end = rec; /* the proof of a finished walk: not a document */
		h->end_seq = h->next_seq;
		return;
	}
	/* With --watch, records after the end are the changes that follow. */
	h->after_end |= jv_is_valid(h->end) && !h->cfg->watch;
	rec = jv_object_set(rec, jv_string("run"), jv_string(h->cfg->run));
	rec = jv_object_set(rec, jv_string("stream"), jv_string(h->stream));
	rec = jv_object_set(rec, jv_string("seq"), jv_number((double)h->next_seq));
	hub_window_add(&h->win, h->next_seq++, rec);
	h->tally.documents++;
	h->unsent++;
}

/* Stopping: the input is still read, and dropped (none of it enters), so
 * that its writer never blocks on it: a --watch feed's first pass, sending
 * hundreds of thousands of paths, blocked in its write and never read the
 * SIGTERM that ends it, until the supervisor's kill 15 s later (status 5
 * said "did not stop"; RELIABILITY, session 50, h50b).  At most a turn's
 * worth (a tick is bounded). */
static void drop_input(struct hub *h)
{
	for (int k = 0; k < 4096 && !h->input_done; k++) {
		zmq_msg_t msg;

		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, h->input, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&msg);
			return;
		}
		if (zmq_msg_size(&msg) == 0)
			h->input_done = 1;
		else
			h->dropped++;
		zmq_msg_close(&msg);
	}
}

/* Ends the reader thread and waits for it, on every way out of hub_run:
 * a thread left running read its caller's memory after main had returned
 * (its options, on main's stack: a SEGV in the exit of a hub stopped as it
 * started, RELIABILITY, session 58).  Its source interrupted, it ends at
 * once, a wait on stdin included; what it still sends (at most the record
 * it was sending) is read and dropped until its end message. */
static void stop_reader(struct hub *h, struct input_reader *r)
{
	dp_source_interrupt(r->src);
	zmq_pollitem_t item = {.socket = h->input, .events = ZMQ_POLLIN};
	while (!h->input_done && (zmq_poll(&item, 1, -1) >= 0 || zmq_errno() == EINTR))
		drop_input(h);
	pthread_join(r->thread, NULL);
}

/* The slot of seq (from a peer), still in flight, or NULL. */
static hub_slot *slot_of_seq(struct hub *h, double seq)
{
	return dp_record_seq_valid(seq) ? hub_window_find(&h->win, (long)seq) : NULL;
}

/* The slot of the document rec (borrowed) belongs to: its run is this
 * run and its seq still in flight; NULL otherwise (a duplicate after a
 * re-send, another run's, no document of the hub's). */
static hub_slot *slot_of(struct hub *h, jv rec)
{
	const char *run = dp_record_str(rec, "run");
	double seq;

	return run != NULL && strcmp(run, h->cfg->run) == 0 && dp_record_num(rec, "seq", &seq) == 0
		       ? slot_of_seq(h, seq)
		       : NULL;
}

static int sweeps(const hub_config *c);
static void sweep_spawn(struct hub *h);

/* --watch: 1 when a document of seq is one of the watcher's records (past
 * the end record) and the first pass is not over yet (struct hub's
 * watched). */
static int watched_early(const struct hub *h, long seq)
{
	return h->cfg->watch && h->first_pass == 0 && jv_is_valid(h->end) && seq >= h->end_seq;
}

static void take_receipt(struct hub *h)
{
	zmq_msg_t msg;
	dp_err why;
	jv rec;

	zmq_msg_init(&msg);
	if (zmq_msg_recv(&msg, h->ep[2 * HUB_STAGES - 1], ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&msg);
		return;
	}
	rec = dp_record_parse(zmq_msg_data(&msg), zmq_msg_size(&msg), &why);
	zmq_msg_close(&msg);
	if (!jv_is_valid(rec)) {
		jv_free(rec);
		return;
	}
	hub_slot *slot = slot_of(h, rec);
	if (slot == NULL) {
		h->tally.stale_receipts++; /* a duplicate, or from another run */
	} else {
		/* The first final outcome wins; a later copy finds no slot. */
		hub_tally_receipt(&h->tally, rec);
		if (watched_early(h, slot->seq))
			hub_tally_receipt(&h->watched, rec);
		if (!h->sweep.spawned && sweeps(h->cfg))
			sweep_spawn(h);
		if (slot->sends == 1 && !slot->stalled)
			hub_delay_sample(&h->delay, dp_clock_s() - slot->sent_at);
		if (!slot->sent)
			h->unsent--;
		hub_window_release(&h->win, slot);
	}
	jv_free(rec);
}

/* A replica's "holding" list in msg (borrowed; stats.h): documents it
 * still works on.  While it makes progress (its counters moved within the
 * re-send timeout), their re-send clocks restart: a slow document (a big
 * one, a slow model API) is not taken for lost, re-sent, paid again and
 * after --attempts failed.  A replica without progress for that long
 * earns no credit (--timeout still ends a stuck document) unless it waits
 * on what all its stage's replicas share ("waiting": the store behind a
 * lock or a hung database), where a copy would only wait too; the store
 * bounds its wait for a database that went away itself (--db-retry).
 * Either way each document listed notes the replica's stage, which the
 * progress names for the oldest one. */
static void take_claims(struct hub *h, const hub_proc *p, jv msg)
{
	double t = dp_clock_s();
	jv list = jv_object_get(jv_copy(msg), jv_string("holding"));
	int credit = p->waiting_s > 0 || t - p->progress_at < hub_delay_timeout(&h->delay, h->cfg->timeout);

	if (jv_get_kind(list) == JV_KIND_ARRAY) {
		jv_array_foreach(list, i, x) {
			hub_slot *s = jv_get_kind(x) == JV_KIND_NUMBER ? slot_of_seq(h, jv_number_value(x))
								       : NULL;
			if (s != NULL && s->sent && credit)
				s->claimed_at = t;
			if (s != NULL && p->stage >= 0)
				s->held_by = p->stage + 1, s->held_at = t;
			jv_free(x);
		}
	}
	jv_free(list);
}

static void take_stats(struct hub *h)
{
	char buf[4096];
	dp_err why;
	int n = zmq_recv(h->ep[HUB_EP_STATS], buf, sizeof buf, ZMQ_DONTWAIT);

	if (n <= 0 || n > (int)sizeof buf)
		return;
	jv msg = dp_record_parse(buf, (size_t)n, &why);
	if (jv_is_valid(msg)) {
		hub_proc *p = hub_stats_update(&h->stats, msg);
		if (p != NULL)
			take_claims(h, p, msg);
	}
	jv_free(msg);
}

/* Moves one record along edge e (stage e's output to stage e+1's input). */
static void forward(struct hub *h, int e, int readable)
{
	if (!h->holding[e] && readable) {
		zmq_msg_init(&h->held[e]);
		if (zmq_msg_recv(&h->held[e], h->ep[2 * e + 1], ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&h->held[e]);
			return;
		}
		/* A record of another run (a worker that outlived its run, a
		 * hub killed with -9 and started again on the same port)
		 * would reach this run's store, where an old version of a
		 * file can replace the new one: its stream is not this
		 * run's.  The join drops them likewise (slot_of). */
		if (h->run_key[0] != '\0' &&
		    memmem(zmq_msg_data(&h->held[e]), zmq_msg_size(&h->held[e]), h->run_key,
			   strlen(h->run_key)) == NULL) {
			zmq_msg_close(&h->held[e]);
			if (h->foreign++ == 0)
				dp_diag("a record of another run came out of %s (a worker or replica that"
					" outlived its run?): dropped, as later ones will be",
					hub_stage_names[e]);
			return;
		}
		h->holding[e] = 1;
	}
	if (h->holding[e] && zmq_msg_send(&h->held[e], h->ep[2 * e + 2], ZMQ_DONTWAIT) >= 0)
		h->holding[e] = 0, h->sent[e + 1]++; /* zmq_msg_send took the message */
}

/* Overlap mode (join.h).  Endpoints: chunk's output 1, summarize's input
 * and output 2 and 3, embed's 4 and 5, the store's input 6. */
enum { EP_CHUNK_OUT = 1, EP_SUM_IN = 2, EP_SUM_OUT = 3, EP_EMB_IN = 4, EP_EMB_OUT = 5,
       EP_STORE_IN = 6 };

static int writable(void *sock)
{
	zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLOUT};

	return zmq_poll(&item, 1, 0) > 0 && (item.revents & ZMQ_POLLOUT);
}

/* Sends what the fork holds; 1 when it holds nothing any more. */
static int fork_flush(struct hub *h)
{
	static const int to[2] = {EP_SUM_IN, EP_EMB_IN};

	for (int b = 0; b < 2; b++)
		if (h->fork_holding[b] && zmq_msg_send(&h->fork_held[b], h->ep[to[b]], ZMQ_DONTWAIT) >= 0)
			h->fork_holding[b] = 0, h->sent[1 + b]++; /* zmq_msg_send took the message */
	return !h->fork_holding[0] && !h->fork_holding[1];
}

/* The fork: each record chunk writes goes to summarize and to embed (the
 * same bytes, not copied), read only when both inputs can take one, so a
 * full branch holds chunk back.  Records that are no document go both
 * ways too: the join sends the first of the two on and drops the other,
 * so the hub need not parse what it forks. */
static void fork_step(struct hub *h)
{
	for (int k = 0; k < 64 && fork_flush(h); k++) {
		if (!writable(h->ep[EP_SUM_IN]) || !writable(h->ep[EP_EMB_IN]))
			return;
		zmq_msg_init(&h->fork_held[0]);
		if (zmq_msg_recv(&h->fork_held[0], h->ep[EP_CHUNK_OUT], ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&h->fork_held[0]);
			return;
		}
		zmq_msg_init(&h->fork_held[1]);
		if (zmq_msg_copy(&h->fork_held[1], &h->fork_held[0]) != 0) { /* cannot fail on valid messages */
			zmq_msg_close(&h->fork_held[1]);
			zmq_msg_close(&h->fork_held[0]);
			return;
		}
		h->fork_holding[0] = h->fork_holding[1] = 1;
	}
}

/* Reads one output of branch b (HUB_BRANCH_*) into the join; 0 when there
 * was none.  Only its head is parsed (dp_record_head): the join holds and
 * splices the text. */
static int join_read(struct hub *h, int b)
{
	size_t max = h->cfg->zmq.max_record > 0 ? h->cfg->zmq.max_record : DP_RECORD_MAX_DEFAULT;
	zmq_msg_t msg;
	dp_err why;

	zmq_msg_init(&msg);
	if (zmq_msg_recv(&msg, h->ep[b == HUB_BRANCH_SUMMARIZE ? EP_SUM_OUT : EP_EMB_OUT],
			 ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&msg);
		return 0;
	}
	jv head = dp_record_head(zmq_msg_data(&msg), zmq_msg_size(&msg), &why);
	hub_slot *slot = jv_is_valid(head) ? slot_of(h, head) : NULL;
	/* No slot: the document has its outcome (a copy after a re-send), or
	 * it is none of this run's; half of a document cannot be stored. */
	if (slot == NULL) {
		zmq_msg_close(&msg);
		jv_free(head);
		return 1;
	}
	int rc = hub_join_take(&slot->join, b, head, &msg, max, &h->join_held, &why);
	hub_window_recount(&h->win, slot);
	if (rc > 0)
		h->join_holding = 1;
	else if (rc < 0)
		dp_diag("join: %s: it goes again after --timeout", why.msg);
	return 1;
}

/* The join: reads both branches' outputs while the store can take what
 * they make, and sends the joined records on. */
static void join_step(struct hub *h)
{
	for (int k = 0; k < 64; k++) {
		if (h->join_holding) {
			if (zmq_msg_send(&h->join_held, h->ep[EP_STORE_IN], ZMQ_DONTWAIT) < 0)
				return; /* the store is full */
			h->join_holding = 0;
			h->sent[HUB_STAGES - 1]++;
		}
		int first = h->join_next;
		h->join_next = first == HUB_BRANCH_SUMMARIZE ? HUB_BRANCH_EMBED : HUB_BRANCH_SUMMARIZE;
		if (!join_read(h, first) && !join_read(h, h->join_next))
			return;
	}
}

/* The poll items that wake the loop when the fork or the join can move. */
static int overlap_items(struct hub *h, zmq_pollitem_t *items)
{
	int n = 0;

	if (h->fork_holding[0] || h->fork_holding[1]) {
		for (int b = 0; b < 2; b++)
			if (h->fork_holding[b])
				items[n++] = (zmq_pollitem_t){.socket = h->ep[b ? EP_EMB_IN : EP_SUM_IN],
							      .events = ZMQ_POLLOUT};
	} else {
		int sum = writable(h->ep[EP_SUM_IN]), emb = writable(h->ep[EP_EMB_IN]);
		if (sum && emb)
			items[n++] = (zmq_pollitem_t){.socket = h->ep[EP_CHUNK_OUT], .events = ZMQ_POLLIN};
		if (!sum)
			items[n++] = (zmq_pollitem_t){.socket = h->ep[EP_SUM_IN], .events = ZMQ_POLLOUT};
		if (!emb)
			items[n++] = (zmq_pollitem_t){.socket = h->ep[EP_EMB_IN], .events = ZMQ_POLLOUT};
	}
	if (h->join_holding) {
		items[n++] = (zmq_pollitem_t){.socket = h->ep[EP_STORE_IN], .events = ZMQ_POLLOUT};
	} else {
		items[n++] = (zmq_pollitem_t){.socket = h->ep[EP_SUM_OUT], .events = ZMQ_POLLIN};
		items[n++] = (zmq_pollitem_t){.socket = h->ep[EP_EMB_OUT], .events = ZMQ_POLLIN};
	}
	return n;
}

/* A replica exited or fell silent (killed, crashed, machine lost): what it
 * held may never come back, and PUSH/PULL cannot say which documents those
 * were, so every document in flight is sent again now rather than after
 * --timeout.  A copy still held by a live replica makes a duplicate the
 * store answers "unchanged" and the hub ignores (first outcome wins).
 * died: the replicas newly taken for dead; exited: those of them seen gone
 * by their pid (note_exits), which the message says apart. */
static void resend_after_death(struct hub *h, int died, int exited)
{
	long n = 0;

	for (size_t i = 0; i < h->win.size; i++) {
		hub_slot *s = &h->win.slots[i];
		if (!s->used || !s->sent)
			continue;
		s->sent = 0;
		s->free_send = 1;
		h->unsent++;
		n++;
	}
	if (n > 0 && exited >= died)
		dp_diag("%d replica(s) exited: re-sending the %ld document(s) in flight", died, n);
	else if (n > 0)
		dp_diag("%d replica(s) exited or fell silent for %.0f s: re-sending the %ld "
			"document(s) in flight", died, HUB_SILENT_S, n);
}

/* Binds again the stage inputs cut_off unbound; until the listener
 * unbound is closed (libzmq's I/O thread does it soon after) the port is
 * taken: tried again at each check, and said (once) when that lasts over
 * HUB_REBIND_SAY_S (another process took the port?). */
#define HUB_REBIND_SAY_S 5.0
static void rebind_inputs(struct hub *h)
{
	for (int i = 0; i < HUB_STAGES; i++) {
		if (!h->rebind[i])
			continue;
		if (zmq_bind(h->ep[2 * i], h->bound[i]) == 0) {
			h->rebind[i] = 0;
			continue;
		}
		int e = zmq_errno();
		if (h->unbound_at[i] > 0 && (e != EADDRINUSE || dp_clock_s() - h->unbound_at[i] > HUB_REBIND_SAY_S)) {
			dp_diag("the %s input cannot be bound again on %s (%s): its replicas get nothing until"
				" it is; still trying", hub_stage_names[i], h->bound[i], zmq_strerror(e));
			h->unbound_at[i] = 0; /* said */
		}
	}
}

/* A silent replica the hub cannot kill (another machine's, another pid
 * namespace's: held up, frozen, or its machine hung) keeps its connection
 * to its stage's input open, and the PUSH edge would queue copies behind
 * it again, to wait --timeout x --attempts.  Unbinding the input closes
 * every connection accepted on it; it is bound again at once: the live
 * replicas connect again within ZeroMQ's reconnect interval (their output
 * connections stay), the held-up one only when it runs again.  What the
 * hub had queued on the closed connections is in flight and sent again
 * by the re-send after the death. */
static void cut_off(struct hub *h, int stage)
{
	if (h->rebind[stage])
		return;
	if (zmq_unbind(h->ep[2 * stage], h->bound[stage]) != 0) {
		dp_diag("unbind %s: %s", h->bound[stage], zmq_strerror(zmq_errno()));
		return;
	}
	h->rebind[stage] = 1;
	h->unbound_at[stage] = dp_clock_s();
	rebind_inputs(h);
}

/* --kill-silent: kills each replica taken for dead on its silence that the
 * hub may end (evict.h): at once (silent_at == now) when a live replica of
 * its stage is there to take the copies, or as soon as one is (a worker
 * that joined since); after cfg->evict_lone_s
 * (HUB_EVICT_LONE_S) when none is (its stage's only one, or all of them
 * fell silent at once, as a starved machine's do).  One tried later than
 * its silence had the copies of the re-send after its death go into its
 * own queue: they are sent again once it is gone (the supervisor starts
 * it again).  Each process is tried once; the pids killed go to
 * h->evicting.  One the hub may not kill (another machine's) has its
 * connection to its stage's input closed instead (cut_off), and is tried
 * again at its next silence: a partition heals and comes back. */
static void evict_silent(struct hub *h, double now)
{
	for (size_t i = 0; i < h->stats.nprocs; i++) {
		hub_proc *p = &h->stats.procs[i];
		dp_err why;

		/* Every tick: the cheap tests first, the stage's count only for
		 * a silent replica not yet tried. */
		if (p->evicted || p->silent_at == 0 || p->stage < 0 || h->n_evicting == HUB_EVICT_MAX)
			continue;
		int others = hub_stats_live(&h->stats, p->stage);
		int lone = others == 0 && now - p->silent_at >= h->cfg->evict_lone_s;
		int late = p->silent_at != now;
		if (!(lone || others > 0))
			continue;
		/* Dead already (killed, its replacement started): note_exits
		 * sees it within HUB_EXITS_EVERY_S and sends again what it
		 * held; trying it took its pid for another process's. */
		if (hub_proc_exited(p->pid_space, p->pid))
			continue;
		/* Fault sweep 25: tried only at the tick of its silence or
		 * after evict_lone_s alone, a remote replica lost while alone
		 * (its worker restarted, a partition) was never tried once
		 * another had joined, and the copies in its queue, lost with
		 * its connection, waited --timeout. */
		if (late) {
			h->resend_died++;
			h->resend_by = now + HUB_EVICT_WAIT_S;
		}
		if (hub_evict(p->pid_space, p->pid, &why) < 0) {
			dp_diag("%s replica %s fell silent, not killed: %s; its connection to the %s"
				" input is closed%s", hub_stage_names[p->stage], p->key, why.msg,
				hub_stage_names[p->stage], late ? ", what it held sent again" : "");
			cut_off(h, p->stage);
			/* Nothing more for this silence (silent_at 0); alive, it
			 * comes back (a partition healed) and its next silence
			 * is cut off as this one.  Marked tried for good, that
			 * one went unseen and the copies re-sent behind it
			 * waited --timeout (fault sweep 25). */
			p->silent_at = 0;
			continue;
		}
		p->evicted = 1;
		if (p->unheard) {
			dp_diag("%s replica %s (pid %ld), stopped and never heard from while documents waited"
				" on its stage %.0f s: killed it; its supervisor starts it again",
				hub_stage_names[p->stage], p->name, p->pid, now - p->silent_at);
		} else if (late) {
			dp_diag("%s replica %s silent for %.0f s with %s: killed it; what it held is sent"
				" again once it is gone", hub_stage_names[p->stage], p->key,
				now - p->silent_at + HUB_SILENT_S,
				others > 0 ? "another replica of its stage live now"
					   : "no other replica of its stage live");
		} else {
			dp_diag("%s replica %s fell silent for %.0f s with %d other(s) of its stage live:"
				" killed it, so that the documents re-sent do not queue behind it",
				hub_stage_names[p->stage], p->key, HUB_SILENT_S, others);
		}
		h->evicting[h->n_evicting++] = p->pid;
	}
}

/* Documents in flight and no live replica of a stage for HUB_STALL_SAY_S
 * (stall.h): said once, naming its replicas and their states, and shown
 * in the progress (looked at every HUB_STALL_EVERY_S meanwhile: a replica
 * stopped later is entered then); said again when it has a live replica. */
#define HUB_STALL_EVERY_S 0.5
static void watch_stalls(struct hub *h, double now)
{
	char text[640];

	if (now - h->stalls_checked < HUB_STALL_EVERY_S)
		return;
	h->stalls_checked = now;
	for (int i = 0; i < HUB_STAGES; i++) {
		int live = hub_stats_live(&h->stats, i);
		if (h->win.used == 0 || live > 0) {
			if (h->stall_said[i] && live > 0)
				dp_diag("%s has a live replica again, after %.0f s without: its documents go on",
					hub_stage_names[i], now - h->stall_since[i]);
			h->stall_since[i] = 0, h->stall_said[i] = 0;
			continue;
		}
		if (h->stall_since[i] == 0)
			h->stall_since[i] = now;
		if (now - h->stall_since[i] < HUB_STALL_SAY_S)
			continue;
		int stopped = hub_stall_look(&h->stats, h->cfg->replicas, i, h->stall_since[i], now, text,
					     sizeof text, h->stall_note[i], sizeof h->stall_note[i]);
		if (h->stall_said[i])
			continue;
		h->stall_said[i] = 1;
		char tail[128] = "";
		if (stopped > 0 && h->cfg->kill_silent)
			snprintf(tail, sizeof tail, "; a stopped one is killed at %.0f s without a live replica,"
				 " and started again", h->cfg->evict_lone_s);
		else if (stopped > 0)
			snprintf(tail, sizeof tail, "; SIGCONT resumes a stopped one");
		dp_diag("the run's documents wait for %s (%zu in flight), which has had no live replica"
			" for %.0f s: %s%s", hub_stage_names[i], h->win.used, floor(now - h->stall_since[i]), text, tail);
	}
}

/* Replicas of this machine that exited without a goodbye (kill -9, a
 * crash, the OOM killer) are seen gone by their pid, every
 * HUB_EXITS_EVERY_S, instead of after HUB_SILENT_S of silence: what was in
 * flight is re-sent within a tick, not 3 s later (each poison document's
 * replica death cost the run those 3 s).  The pids join h->evicting, so
 * the re-send waits the HUB_EVICT_GRACE_S libzmq takes to drop the queues
 * of their connections, as after a kill. */
#define HUB_EXITS_EVERY_S 0.1
static int note_exits(struct hub *h, double now)
{
	int exited = 0;

	if (now - h->exits_checked < HUB_EXITS_EVERY_S)
		return 0;
	h->exits_checked = now;
	for (size_t i = 0; i < h->stats.nprocs; i++) {
		hub_proc *p = &h->stats.procs[i];
		/* Gone already: by a goodbye or an eviction (nothing to do), or
		 * on its silence, not killed yet (a lone replica waits
		 * cfg->evict_lone_s): dead meanwhile, it is no longer killed (its
		 * pid may be another process's by then) and the copies that
		 * went into its queue are sent again, as after an eviction. */
		if (p->exited || p->evicted || (p->gone && p->silent_at == 0) ||
		    !hub_proc_exited(p->pid_space, p->pid))
			continue;
		p->exited = 1;
		if (p->gone) {
			p->silent_at = 0;
			h->resend_died++;
			h->resend_by = now + HUB_EVICT_WAIT_S;
		} else {
			exited++;
		}
		if (h->n_evicting < HUB_EVICT_MAX)
			h->evicting[h->n_evicting++] = p->pid;
	}
	return exited;
}

/* A replica that said goodbye (a store that gave up on its database, a
 * stage stopped on an error) has not closed its input yet: copies re-sent
 * now could go into its queue and end with it, and the run then waited
 * --timeout for them (a store that exited 3 on a document's write, started
 * again, got nothing).  Its exit is waited for as a killed replica's
 * (evictions_over) when the hub can see it: its pid space is the hub's;
 * one elsewhere closes its connection as it exits, after its goodbye. */
static void await_goodbyes(struct hub *h)
{
	for (size_t i = 0; i < h->stats.nprocs && h->n_evicting < HUB_EVICT_MAX; i++) {
		hub_proc *p = &h->stats.procs[i];
		if (!p->gone || !p->ended || p->exited || p->evicted || p->awaited)
			continue;
		p->awaited = 1;
		if (hub_pid_space_here(p->pid_space))
			h->evicting[h->n_evicting++] = p->pid;
	}
}

/* 1 when the re-send after a death may go: no replica was killed or said
 * goodbye, or every one has ended and libzmq had HUB_EVICT_GRACE_S to drop its queues,
 * or HUB_EVICT_WAIT_S has passed. */
static int evictions_over(struct hub *h, double now)
{
	if (h->n_evicting == 0)
		return 1;
	if (now < h->resend_by) {
		for (int i = 0; i < h->n_evicting; i++)
			if (!hub_evict_ended(h->evicting[i]))
				return 0;
		if (h->evicted_at == 0)
			h->evicted_at = now;
		if (now - h->evicted_at < HUB_EVICT_GRACE_S)
			return 0;
	}
	/* ZMQ_EVENTS makes each input socket take the commands its I/O thread
	 * sent, among them the end of the killed replicas' queues: the copies
	 * then cannot be handed to them. */
	for (int i = 0; i < HUB_STAGES; i++) {
		int events;
		size_t len = sizeof events;
		if (zmq_getsockopt(h->ep[2 * i], ZMQ_EVENTS, &events, &len) != 0)
			dp_diag("zmq_getsockopt(ZMQ_EVENTS): %s", zmq_strerror(zmq_errno()));
	}
	h->n_evicting = 0;
	h->evicted_at = 0;
	return 1;
}

static void check_timeouts(struct hub *h)
{
	double now = dp_clock_s();

	/* The loop comes here every HUB_TICK_MS: a longer gap means the hub
	 * itself was held up (stopped, starved), and the replicas' stats and
	 * receipts of that time are still queued.  Judging their silence now
	 * took every replica for dead and re-sent every document in flight;
	 * their re-send clocks restart too, as the hub could not take their
	 * receipts. */
	if (h->last_check > 0 && now - h->last_check > HUB_HELD_UP_S) {
		hub_stats_forgive(&h->stats, now);
		for (size_t i = 0; i < h->win.size; i++)
			if (h->win.slots[i].used && h->win.slots[i].sent)
				h->win.slots[i].claimed_at = now;
		if (now - h->last_check >= HUB_SILENT_S)
			dp_diag("the hub was held up %.1f s (stopped or starved): the replicas'"
				" silence meanwhile is not taken for their death", now - h->last_check);
	}
	h->last_check = now;
	rebind_inputs(h);
	int exited = note_exits(h, now);
	int died = hub_stats_silent(&h->stats, now);

	/* Stopping (hub_note_stopping): the replicas exit or fall silent on
	 * purpose, and a document without its receipt now waits for the next
	 * run (the supervisor bounds the replicas' stop itself).  Read again
	 * here, after this turn's stats: the flag can come after the loop's
	 * top (the hub not scheduled meanwhile), and with it goodbyes that
	 * this turn has read (1 run of graph_sigterm in 8 said "re-sending"). */
	h->stopping = stopping_noted;
	if (h->stopping) {
		h->resend_died = h->resend_exited = 0;
		h->n_evicting = 0;
		return;
	}
	if (died > 0) {
		h->resend_died += died;
		h->resend_exited += exited;
		h->resend_by = now + HUB_EVICT_WAIT_S;
		await_goodbyes(h);
	}
	watch_stalls(h, now);
	if (h->cfg->kill_silent)
		evict_silent(h, now);
	if (h->resend_died > 0 && evictions_over(h, now)) {
		resend_after_death(h, h->resend_died, h->resend_exited);
		h->resend_died = h->resend_exited = 0;
	}
	double t = dp_clock_s(), timeout = hub_delay_timeout(&h->delay, h->cfg->timeout);

	/* Said once per doubling: the user chose --timeout, and sees why it
	 * is not what re-sends now. */
	if (timeout > h->cfg->timeout && timeout >= 2 * (h->delay.said > 0 ? h->delay.said : h->cfg->timeout)) {
		dp_diag("documents take %.1f s (+/- %.1f) from send to receipt: re-sending after %.1f s,"
			" not --timeout %.0f", h->delay.srtt, h->delay.rttvar, timeout, h->cfg->timeout);
		h->delay.said = timeout;
	}
	/* Every replica of a stage waits on what they share (the store behind
	 * a lock, or a database away or hung): a copy would wait too, so every
	 * re-send clock restarts.  The store bounds a wait for a database that
	 * went away (--db-retry); one behind a lock lasts while the lock does,
	 * shown in the progress and explained by the store (blocker.h). */
	double stalled = hub_stats_stalled(&h->stats);
	for (size_t i = 0; i < h->win.size; i++) {
		hub_slot *s = &h->win.slots[i];
		if (stalled > 0 && s->used && s->sent)
			s->claimed_at = t, s->stalled |= stalled >= HUB_STALL_SAMPLE_S;
		if (!s->used || !s->sent || t - (s->claimed_at > s->sent_at ? s->claimed_at : s->sent_at) < timeout)
			continue;
		if (s->attempts >= h->cfg->attempts) {
			hub_tally_lost(&h->tally, s->rec, s->attempts);
			if (watched_early(h, s->seq))
				hub_tally_lost(&h->watched, s->rec, s->attempts);
			hub_window_release(&h->win, s);
		} else {
			s->sent = 0;
			h->unsent++;
		}
	}
}

/* Publishes the metrics at most every HUB_METRICS_EVERY_S (always when
 * final). */
static void publish_metrics(struct hub *h, int final)
{
	double t = dp_clock_s();

	if (h->metrics == NULL || (!final && t - h->last_metrics < HUB_METRICS_EVERY_S))
		return;
	h->last_metrics = t;
	hub_metrics_publish(h->metrics, &(hub_metrics_view){.run = h->cfg->run, .stats = &h->stats,
							    .tally = &h->tally, .window = h->win.limit,
							    .in_window = h->win.used,
							    .window_bytes = h->win.max_bytes,
							    .in_window_bytes = h->win.bytes,
							    .unsent = h->unsent});
}

/* The document in flight notably longer than this run's documents take
 * (hub_delay_unusual), or NULL: amortized O(1), hub_window_oldest. */
static const hub_slot *oldest_unusual(struct hub *h, double now)
{
	const hub_slot *s = hub_window_oldest(&h->win);

	return s != NULL && s->first_sent_at > 0 &&
			       now - s->first_sent_at >= hub_delay_unusual(&h->delay)
		       ? s
		       : NULL;
}

/* The text of oldest_unusual (hub_oldest_text) in buf; 0 when there is none. */
#define OLDEST_TEXT_MAX (HUB_NAME_MAX + 112)
static int oldest_text(struct hub *h, double now, char buf[OLDEST_TEXT_MAX])
{
	const hub_slot *s = oldest_unusual(h, now);

	if (s == NULL)
		return 0;
	hub_oldest_text(buf, OLDEST_TEXT_MAX, dp_record_str(s->rec, "path"), now - s->first_sent_at,
			s->sends, s->held_by - 1, now - s->held_at);
	return 1;
}

/* report (consumed) with "oldest" when the run ends while a document is in
 * flight notably longer than the others took (a stop): what held it up. */
static jv with_oldest(struct hub *h, jv report)
{
	double now = dp_clock_s();
	const hub_slot *s = oldest_unusual(h, now);

	if (s == NULL)
		return report;
	const char *path = dp_record_str(s->rec, "path");
	jv o = jv_object_set(jv_object(), jv_string("path"), path != NULL ? jv_string(path) : jv_null());
	o = jv_object_set(o, jv_string("seconds"), jv_number(round(now - s->first_sent_at)));
	o = jv_object_set(o, jv_string("sends"), jv_number(s->sends));
	if (s->held_by > 0) {
		o = jv_object_set(o, jv_string("held_by"), jv_string(hub_stage_names[s->held_by - 1]));
		o = jv_object_set(o, jv_string("held_ago"), jv_number(round(now - s->held_at)));
	}
	return jv_object_set(report, jv_string("oldest"), o);
}

#define SUM(h, stage, field) hub_stats_sum(&(h)->stats, stage, offsetof(hub_proc, field))

/* Shows the run's messages that came since the last look (relay.h) above
 * the tty display, which it erases first: 1 when it did (the display is
 * to be drawn again now), else 0.  Looks every RELAY_EVERY_S, or at
 * final, when it shows them all. */
#define RELAY_EVERY_S 0.1
static int relay_messages(struct hub *h, double t, int final)
{
	char erase[32] = "";
	dp_err err;

	if (h->cfg->relay == NULL || h->relay_failed ||
	    (!final && t - h->last_relay < RELAY_EVERY_S))
		return 0;
	h->last_relay = t;
	if (h->tty_lines > 0)
		snprintf(erase, sizeof erase, "\033[%dA\r\033[J", h->tty_lines);
	int rc = hub_relay_show(h->cfg->relay, h->cfg->display, erase, final, &err);
	if (rc < 0) {
		/* Said once, into the file: the supervisor shows the rest of
		 * it after the hub (relay.h). */
		dp_diag("%s; the messages follow when the run ends", err.msg);
		h->relay_failed = 1;
	}
	if (rc <= 0)
		return 0;
	h->tty_lines = 0;
	return 1;
}

/* The terminal's width in columns (80 when it does not say): read at each
 * drawing, as the user may resize it. */
static int display_columns(FILE *display)
{
	struct winsize ws;

	return ioctl(fileno(display), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
}

/* Writes one line of the display.  tty: over the line there, and cut to
 * columns - 1 characters (a line that wraps takes two rows, and the
 * cursor-up of the next drawing, which counts lines, would land one row
 * short each time: the display crept down the screen, a long `oldest:`
 * path at 80 columns did it); a UTF-8 character is never split.  plain:
 * the hub's prefix, whole. */
static void display_line(FILE *display, int tty, int columns, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void display_line(FILE *display, int tty, int columns, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (!tty) {
		fprintf(display, "docpipe-hub: %s\n", line);
		return;
	}
	size_t end = 0;
	for (int shown = 0; line[end] != '\0'; end++) {
		if (((unsigned char)line[end] & 0xC0) != 0x80 && ++shown > columns - 1)
			break;
	}
	fprintf(display, "\r\033[K%.*s\n", (int)end, line);
}

/* Draws the progress (tty: over its last drawing; plain: lines every
 * --progress-every), the run's messages above it (relay_messages). */
static void show_progress(struct hub *h, int final)
{
	double t = dp_clock_s(), dt = t - h->last_rate_at;
	/* Of the documents that entered the window (deletes under --watch
	 * among them), not the sweep's. */
	long done = h->tally.added + h->tally.updated + h->tally.unchanged + h->tally.skipped +
		    h->tally.failed + h->tally.deleted - h->tally.swept;
	char eta[64] = "ETA: when discover is done";
	int tty = h->cfg->progress == HUB_PROGRESS_TTY;
	FILE *display = h->cfg->display;

	if (h->cfg->progress == HUB_PROGRESS_NONE)
		return;
	int relayed = relay_messages(h, t, final);
	if (!final && !relayed && t - h->last_progress < (tty ? 0.5 : h->cfg->progress_every))
		return;
	h->last_progress = t;
	if (dt >= 1) {
		for (int i = 0; i < HUB_STAGES; i++) {
			double out = SUM(h, i, out);
			h->rate[i] = (out - h->last_out[i]) / dt;
			h->last_out[i] = out;
		}
		h->last_rate_at = t;
	}
	double overall = done / (t - h->started > 0 ? t - h->started : 1);
	if (h->input_done && overall > 0)
		snprintf(eta, sizeof eta, "ETA %.0f s", (h->tally.documents - done) / overall);
	/* --watch: the input never ends; its walk is docpipe-watch's first
	 * pass, then its changes (before: "when discover is done" for good). */
	else if (h->cfg->watch)
		snprintf(eta, sizeof eta, "%s", jv_is_valid(h->end) ? "watching for changes"
								     : "ETA: when the first pass is done");
	/* The run's end waits for its sweep: said, with what the sweep waits
	 * for (a lock another session holds), not "ETA 0 s". */
	char sweeping[DP_ERR_MAX + 128] = "";
	if (h->sweep.began > 0 && h->sweep.pid != 0) {
		snprintf(sweeping, sizeof sweeping, "sweeping %.0f s, %ld deleted", t - h->sweep.began,
			 h->sweep.deleted);
		if (h->sweep.waiting[0] != '\0')
			snprintf(sweeping + strlen(sweeping), sizeof sweeping - strlen(sweeping),
				 ", waiting %.0f s for %s", t - h->sweep.waiting_since, h->sweep.waiting);
	}
	int columns = tty ? display_columns(display) : 0;
	if (tty && h->tty_lines > 0)
		fprintf(display, "\033[%dA", h->tty_lines);
	for (int i = 0; i < HUB_STAGES; i++) {
		const char *on = "";
		double waited = hub_stats_waiting(&h->stats, i, &on);
		char wait[128] = "";
		if (waited > 0)
			snprintf(wait, sizeof wait, "  waiting for the %s %.0f s", on, waited);
		else if (h->stall_said[i] && hub_stats_live(&h->stats, i) == 0)
			snprintf(wait, sizeof wait, "  no live replica %.0f s: %s", t - h->stall_since[i],
				 h->stall_note[i]);
		display_line(display, tty, columns,
			     "%-10s %2d procs  done %6.0f  in flight %4.0f  %7.1f/s  retries %3.0f  failed %3.0f%s",
			     hub_stage_names[i], hub_stats_procs(&h->stats, i), SUM(h, i, out),
			     SUM(h, i, in) - SUM(h, i, out) > 0 ? SUM(h, i, in) - SUM(h, i, out) : 0,
			     h->rate[i], SUM(h, i, retries), SUM(h, i, failed), wait);
	}
	/* Which bound holds discover back, when one does: a window of 256
	 * with 4 in flight would otherwise puzzle. */
	int at_bytes = hub_window_bytes_full(&h->win);
	display_line(display, tty, columns, "documents %ld/%ld%s done, %zu in flight%s, %ld re-sent, %.0f s, %s",
		     done, h->tally.documents, h->input_done ? "" : "+", h->win.used,
		     at_bytes ? " (at --window-bytes)" : "", h->tally.resent, t - h->started,
		     sweeping[0] != '\0' ? sweeping : eta);
	h->tty_lines = HUB_STAGES + 1;
	/* The document that holds the run up, once one is unusually old: the
	 * counts alone do not say which file it is. */
	char oldest[OLDEST_TEXT_MAX];
	if (oldest_text(h, t, oldest)) {
		display_line(display, tty, columns, "oldest: %s", oldest);
		h->tty_lines++;
	}
	if (tty)
		fputs("\033[J", display); /* the line a longer display left below */
	fflush(display);
}

/* Whether the run is to sweep: a store to sweep with and roots. */
static int sweeps(const hub_config *c) { return c->sweep_store != NULL && c->nroots > 0; }

/* Starts the sweep process (h->sweep), which connects and waits for the
 * go.  A failure is kept in h->sweep.spawn_failed: the sweep is reported
 * failed at the end, as one started then would be. */
static void sweep_spawn(struct hub *h)
{
	const hub_config *c = h->cfg;
	struct sweep_job *job = &h->sweep;
	size_t n = 0, max = c->nsweep_args + c->nroots + 5;
	char **argv = calloc(max, sizeof *argv);
	int in[2] = {-1, -1}, out[2] = {-1, -1};
	posix_spawn_file_actions_t fa;

	job->spawned = 1, job->pid = 0, job->in = job->out = -1;
	if (argv == NULL || pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
		snprintf(job->spawn_failed, sizeof job->spawn_failed, "sweep: %s", strerror(errno));
		for (int k = 0; k < 2; k++)
			if (in[k] >= 0)
				close(in[k]);
		free(argv);
		return;
	}
	argv[n++] = (char *)c->sweep_store;
	for (size_t i = 0; i < c->nsweep_args; i++)
		argv[n++] = c->sweep_args[i];
	argv[n++] = "--sweep-on-go";
	argv[n++] = "--sweep";
	argv[n++] = (char *)c->run;
	for (size_t i = 0; i < c->nroots; i++)
		argv[n++] = c->roots[i];
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	int rc = posix_spawn(&job->pid, c->sweep_store, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	free(argv);
	close(in[0]);
	close(out[1]);
	if (rc != 0) {
		close(in[1]);
		close(out[0]);
		job->pid = 0;
		snprintf(job->spawn_failed, sizeof job->spawn_failed, "sweep: %s: %s", c->sweep_store,
			 strerror(rc));
		return;
	}
	job->in = in[1], job->out = out[0];
}

/* Whether the sweep process runs, started now if no receipt started it. */
static int sweep_running(struct hub *h)
{
	if (!h->sweep.spawned)
		sweep_spawn(h);
	return h->sweep.pid != 0;
}

/* Waits for the sweep process.  Returns 0 when it exited 0, else -1 with
 * err. */
static int sweep_wait(struct hub *h, dp_err *err)
{
	const char *store = h->cfg->sweep_store;
	int status = 0, waited;

	while ((waited = (int)waitpid(h->sweep.pid, &status, 0)) < 0 && errno == EINTR)
		;
	h->sweep.pid = 0;
	if (waited < 0) {
		dp_err_set(err, "sweep: waiting for %s: %s", store, strerror(errno));
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		dp_err_set(err, "sweep: %s exited with status %d", store,
			   WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		return -1;
	}
	return 0;
}

/* Ends the sweep process without a go.  It has written nothing, and may
 * be blocked connecting to a database that does not answer: killed, not
 * asked. */
static void sweep_cancel(struct hub *h)
{
	dp_err ignored;

	if (h->sweep.pid == 0)
		return;
	kill(h->sweep.pid, SIGKILL);
	close(h->sweep.in);
	close(h->sweep.out);
	sweep_wait(h, &ignored);
}

/* Takes a record of the sweep: a deleted receipt counted, or what it
 * waits for kept for the progress. */
static void sweep_record(struct hub *h, const char *line, size_t len, double t)
{
	struct sweep_job *job = &h->sweep;
	dp_err why;
	jv rec = dp_record_parse(line, len, &why);
	const char *kind = jv_is_valid(rec) ? dp_record_kind(rec) : NULL, *on;
	double seconds = 0;

	if (kind != NULL && strcmp(kind, DP_KIND_RECEIPT) == 0) {
		hub_tally_receipt(&h->tally, rec);
		job->deleted++;
	} else if (kind != NULL && strcmp(kind, DP_KIND_WAIT) == 0 && (on = dp_record_str(rec, "on")) != NULL) {
		dp_record_num(rec, "seconds", &seconds);
		if (on[0] == '\0' || job->waiting[0] == '\0')
			job->waiting_since = t - seconds;
		snprintf(job->waiting, sizeof job->waiting, "%s", on);
	}
	jv_free(rec);
}

/* Counts the receipts of the sweep (its deleted documents) and waits for
 * it, showing the progress meanwhile (sweeping, and what it waits for).
 * Returns 0 when it exited 0, else -1 with err. */
static int sweep_finish(struct hub *h, dp_err *err)
{
	dp_lines *lines = dp_lines_new(h->sweep.out, DP_RECORD_MAX_DEFAULT);
	const char *line;
	size_t len;
	unsigned long lineno;
	dp_err why;
	long deleted = h->tally.deleted;
	int st;

	if (lines != NULL)
		dp_lines_set_timeout(lines, HUB_TICK_MS);
	while (lines != NULL && (st = dp_lines_next(lines, &line, &len, &lineno, &why)) != DP_LINES_EOF &&
	       st != DP_LINES_ERROR) {
		if (st == DP_LINES_OK)
			sweep_record(h, line, len, dp_clock_s());
		show_progress(h, 0);
	}
	h->tally.swept += h->tally.deleted - deleted;
	dp_lines_free(&lines);
	close(h->sweep.out);
	return sweep_wait(h, err);
}

/* Whether the input proves the walk finished (discover's end record, see
 * endrec.h).  Without a sweep and without any end record, the end of stdin
 * is the end, as for a hand-made producer. */
static int input_proven(struct hub *h, char *why, size_t size)
{
	if (!sweeps(h->cfg) && !jv_is_valid(h->end))
		return 1;
	if (h->after_end) {
		snprintf(why, size, "records came after discover's end record");
		return 0;
	}
	return dp_end_proves(h->end, (double)(h->cfg->watch ? h->end_seq : h->tally.documents), why,
			     size);
}

/* Writes the sweep's go line: "go", with the paths discover could not read
 * (a directory this user may not read, a lost+found) as a JSON array
 * after it when there are any, whose stored documents the sweep keeps
 * (and says so).  Returns 0, or -1 with errno. */
static int tell_go(struct hub *h)
{
	jv unread = dp_end_unread(h->end);
	int n = jv_array_length(jv_copy(unread));
	dp_json_buf line;
	dp_err err;
	int rc = 0, error = 0;

	dp_buf_init(&line, DP_END_GO_LINE_MAX);
	if (dp_buf_append(&line, "go", 2) < 0 ||
	    (n > 0 && (dp_buf_append(&line, " ", 1) < 0 || dp_json_append(&line, unread, &err) < 0)) ||
	    dp_buf_append(&line, "\n", 1) < 0) {
		error = ENOMEM;
		rc = -1;
	}
	for (size_t off = 0; rc == 0 && off < line.len;) {
		ssize_t w = write(h->sweep.in, line.data + off, line.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			rc = -1, error = errno;
		else
			off += (size_t)w;
	}
	dp_buf_free(&line);
	jv_free(unread);
	errno = error;
	return rc;
}

/* Tells the sweep to go when that is safe (returns 1), and says why not
 * otherwise (t->sweep, t->sweep_why; returns 0; the sweep process ends
 * without deleting).  *complete: every document has its outcome; cleared
 * when the input does not prove the walk finished.  sweep_end ends a
 * sweep begun. */
static int sweep_begin(struct hub *h, int *complete)
{
	hub_tally *t = &h->tally;
	int sweeping = sweeps(h->cfg);

	t->sweep = "skipped";
	if (!*complete)
		snprintf(t->sweep_why, sizeof t->sweep_why, "the run was interrupted");
	else if (!input_proven(h, t->sweep_why, sizeof t->sweep_why))
		*complete = 0;
	/* A document that never reached the store may still be stored from an
	 * earlier run, without this run's mark: the sweep would delete it
	 * although its file exists.  The next complete run sweeps. */
	else if (sweeping && t->lost > 0)
		snprintf(t->sweep_why, sizeof t->sweep_why, "%ld document(s) got no receipt", t->lost);
	else if (!sweeping)
		snprintf(t->sweep_why, sizeof t->sweep_why, "no sweep asked for");
	else if (!sweep_running(h))
		t->sweep = "failed", snprintf(t->sweep_why, sizeof t->sweep_why, "%s", h->sweep.spawn_failed);
	else {
		/* A sweep process that died is said by sweep_end (its status),
		 * and so is one that did not get the go, which ends without
		 * deleting and with status 0 (its stdin ended without a go). */
		if (tell_go(h) < 0) {
			snprintf(h->sweep.go_failed, sizeof h->sweep.go_failed, "cannot tell %s to go: %s",
				 h->cfg->sweep_store, strerror(errno));
			dp_diag("sweep: %s", h->sweep.go_failed);
		}
		close(h->sweep.in);
		h->sweep.began = dp_clock_s();
		return 1;
	}
	sweep_cancel(h);
	if (sweeping)
		dp_diag("sweep %s: %s", t->sweep, t->sweep_why);
	return 0;
}

/* Ends the sweep sweep_begin began: its deleted documents counted,
 * t->sweep "done", "stopped" (the run was stopped meanwhile: the sweep's
 * store ends as told, its batches deleted so far stay deleted, the next
 * run sweeps the rest) or "failed" (and why). */
static void sweep_end(struct hub *h)
{
	hub_tally *t = &h->tally;
	dp_err err;
	int rc = sweep_finish(h, &err);

	if (rc == 0 && h->sweep.go_failed[0] == '\0') {
		t->sweep = "done";
		return;
	}
	if (stopping_noted || dp_stop_requested()) {
		t->sweep = "stopped";
		snprintf(t->sweep_why, sizeof t->sweep_why,
			 "the run was stopped during the sweep, after %ld deletion(s): the next run sweeps the rest",
			 h->sweep.deleted);
	} else {
		t->sweep = "failed";
		snprintf(t->sweep_why, sizeof t->sweep_why, "%s", rc == 0 ? h->sweep.go_failed : err.msg);
	}
	dp_diag("sweep %s: %s", t->sweep, t->sweep_why);
}

/* --watch: once every document before the end record has its outcome, the
 * first pass is over: its sweep is decided as a run's would be (issue 7:
 * only after a proven complete walk), then the hub goes on with the
 * changes.  Returns at once while the first pass is not over. */
static void check_first_pass(struct hub *h)
{
	int complete = 1;

	if (!h->cfg->watch || h->first_pass != 0 || !jv_is_valid(h->end))
		return;
	for (size_t i = 0; i < h->win.size; i++)
		if (h->win.slots[i].used && h->win.slots[i].seq < h->end_seq)
			return;
	if (sweep_begin(h, &complete))
		sweep_end(h);
	h->first_pass = complete ? 1 : -1;
	const hub_tally *t = &h->tally, *w = &h->watched;
	dp_diag("first pass %s: %ld documents (%ld added, %ld updated, %ld unchanged, %ld deleted, "
		"%ld failed), sweep %s; watching for changes", complete ? "complete" : "NOT proven",
		h->end_seq, t->added - w->added, t->updated - w->updated, t->unchanged - w->unchanged,
		t->deleted - w->deleted, t->failed - w->failed, t->sweep);
}

static void loop(struct hub *h)
{
	while (!dp_stop_requested()) {
		zmq_pollitem_t items[HUB_EP_COUNT + 4];
		int n = 0, fwd_at[HUB_STAGES - 1], input_at = -1;

		if (h->input_done && h->win.used == 0)
			return;
		/* Stopping, the replicas are asked to end: no document goes
		 * (again) to chunk, no new one enters (the input is read and
		 * dropped: drop_input). */
		h->stopping = stopping_noted;
		if (!h->stopping)
			send_unsent(h);
		items[n++] = (zmq_pollitem_t){.socket = h->ep[2 * HUB_STAGES - 1], .events = ZMQ_POLLIN};
		items[n++] = (zmq_pollitem_t){.socket = h->ep[HUB_EP_STATS], .events = ZMQ_POLLIN};
		if (h->unsent > 0 && !h->stopping)
			items[n++] = (zmq_pollitem_t){.socket = h->ep[0], .events = ZMQ_POLLOUT};
		else if (!h->input_done && (h->stopping || hub_window_has_room(&h->win))) {
			input_at = n;
			items[n++] = (zmq_pollitem_t){.socket = h->input, .events = ZMQ_POLLIN};
		}
		for (int e = 0; e < HUB_STAGES - 1 && !h->cfg->overlap; e++) {
			fwd_at[e] = n;
			items[n++] = h->holding[e]
					     ? (zmq_pollitem_t){.socket = h->ep[2 * e + 2], .events = ZMQ_POLLOUT}
					     : (zmq_pollitem_t){.socket = h->ep[2 * e + 1], .events = ZMQ_POLLIN};
		}
		if (h->cfg->overlap)
			n += overlap_items(h, items + n);
		if (zmq_poll(items, n, HUB_TICK_MS) < 0 && zmq_errno() != EINTR) {
			dp_diag("poll: %s", zmq_strerror(zmq_errno()));
			return;
		}
		for (int k = 0; k < 64 && (items[0].revents & ZMQ_POLLIN); k++)
			take_receipt(h), items[0].revents = 0,
			zmq_poll(items, 1, 0);
		for (int k = 0; k < 64 && (items[1].revents & ZMQ_POLLIN); k++)
			take_stats(h), items[1].revents = 0, zmq_poll(items + 1, 1, 0);
		if (input_at >= 0 && (items[input_at].revents & ZMQ_POLLIN)) {
			if (h->stopping)
				drop_input(h);
			else
				take_input(h);
		}
		if (h->cfg->overlap)
			fork_step(h), join_step(h);
		for (int e = 0; e < HUB_STAGES - 1 && !h->cfg->overlap; e++)
			for (int k = 0; k < 64; k++) {
				int was = h->holding[e];
				if (!(items[fwd_at[e]].revents & (ZMQ_POLLIN | ZMQ_POLLOUT)))
					break;
				forward(h, e, 1);
				if (h->holding[e] && was)
					break; /* the next stage is full */
				items[fwd_at[e]].revents = 0;
				zmq_pollitem_t more = {.socket = h->ep[2 * e + 1], .events = ZMQ_POLLIN};
				if (h->holding[e] || zmq_poll(&more, 1, 0) <= 0)
					break;
				items[fwd_at[e]].revents = ZMQ_POLLIN;
			}
		check_timeouts(h);
		check_first_pass(h);
		show_progress(h, 0);
		publish_metrics(h, 0);
	}
}

/* Waits for the replicas' counters (requests, tokens) up to the last
 * document: until they are final (hub_stats_final; a replica reports at
 * once when it becomes idle), or at most a little longer than the 500 ms
 * between two of a replica's messages. */
static void drain_stats(struct hub *h)
{
	double until = dp_clock_s() + 0.6;

	while (!dp_stop_requested() && dp_clock_s() < until && !hub_stats_final(&h->stats, h->sent)) {
		zmq_pollitem_t item = {.socket = h->ep[HUB_EP_STATS], .events = ZMQ_POLLIN};
		if (zmq_poll(&item, 1, 100) > 0)
			take_stats(h);
	}
}

/* Prints the summary and the failures of report (consumed) on stderr. */
static void summary(const struct hub *h, jv report, int complete)
{
	dp_diag("run %s %s: %ld documents: %ld added, %ld updated, %ld unchanged, %ld deleted, "
		"%ld skipped, %ld failed; %ld re-sent; %.0f requests, %.0f tokens; %.1f s",
		h->cfg->run, complete ? "complete" : "INTERRUPTED",
		h->tally.documents, h->tally.added, h->tally.updated, h->tally.unchanged,
		h->tally.deleted, h->tally.skipped, h->tally.failed, h->tally.resent,
		hub_stats_sum(&h->stats, -1, offsetof(hub_proc, requests)),
		hub_stats_sum(&h->stats, -1, offsetof(hub_proc, tokens)), dp_clock_s() - h->started);
	jv failures = jv_object_get(jv_copy(report), jv_string("failures"));
	for (int i = 0, n = jv_array_length(jv_copy(failures)); i < n; i++) {
		jv f = jv_array_get(jv_copy(failures), i);
		const char *path = dp_record_str(f, "path");
		dp_diag("failed: %s: %s: %s", path ? path : "(no path)", dp_record_str(f, "stage"),
			dp_record_str(f, "error"));
		jv_free(f);
	}
	jv_free(failures);
	jv_free(report);
}

/* Prints the report once the loop ended and the sweep (hub_run's) is
 * over.  complete: every document has its outcome and the input proves
 * the walk finished (else the run counts as interrupted).  Returns the
 * exit code. */
static int finish(struct hub *h, int complete)
{
	const hub_config *cfg = h->cfg;
	hub_tally *t = &h->tally;

	show_progress(h, 1);
	jv report = with_oldest(h, hub_report(t, &h->stats, cfg->run, dp_clock_s() - h->started, complete));
	if (cfg->progress != HUB_PROGRESS_NONE)
		summary(h, jv_copy(report), complete);
	jv text = dp_record_dump(report);
	errno = 0;
	int written = printf("%s\n", jv_string_value(text)) >= 0 && fflush(stdout) == 0;
	jv_free(text);
	/* docpipe run's report file on a full disk: the run ended 0 with no
	 * report and no word, and was not recorded (docpipe.runs). */
	if (!written) {
		dp_diag("the report could not be written: %s", errno != 0 ? strerror(errno) : "write error");
		return DP_EXIT_SYSTEM;
	}
	if (!complete || strcmp(t->sweep, "stopped") == 0)
		return DP_EXIT_INTERRUPTED;
	if (strcmp(t->sweep, "failed") == 0)
		return DP_EXIT_SYSTEM;
	return t->failed > 0 ? DP_EXIT_FAILED : DP_EXIT_OK;
}

int hub_run(const hub_config *cfg, dp_err *err)
{
	struct hub *h = calloc(1, sizeof *h);
	dp_zap *zap = NULL;
	struct input_reader reader = {0};
	int rc = DP_EXIT_SYSTEM, reader_started = 0;
	sigset_t usr1;

	err->msg[0] = '\0';
	/* SIGUSR1 (the run is stopping) is blocked in every thread this starts
	 * (libzmq's, ZAP, metrics, the stdin reader, whose blocking send would
	 * give up on EINTR) and taken by the loop's thread only. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	if (h == NULL || hub_window_init(&h->win, cfg->window, cfg->window_bytes, cfg->overlap) < 0) {
		free(h);
		dp_err_set(err, "out of memory");
		return DP_EXIT_SYSTEM;
	}
	h->cfg = cfg;
	h->end = jv_invalid();
	h->join_next = HUB_BRANCH_SUMMARIZE;
	h->tally.failures = jv_array();
	h->watched.failures = jv_array();
	h->started = h->last_rate_at = h->last_progress = dp_clock_s();
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	snprintf(h->stream, sizeof h->stream, "%.100s/%ld-%lld%06ld", cfg->run, (long)getpid(),
		 (long long)now.tv_sec, now.tv_nsec / 1000);
	jv run_text = jv_dump_string(jv_string(cfg->run), 0);
	if ((size_t)jv_string_length_bytes(jv_copy(run_text)) + 7 < sizeof h->run_key)
		snprintf(h->run_key, sizeof h->run_key, "\"run\":%s", jv_string_value(run_text));
	jv_free(run_text);
	if (cfg->zmq.curve_secret != NULL && (zap = dp_zap_start(cfg->allow, err)) == NULL)
		goto out;
	if (open_endpoints(h, err) < 0)
		goto out;
	if (cfg->metrics != NULL && (h->metrics = hub_metrics_start(cfg->metrics, err)) == NULL)
		goto out;
	if ((h->input = dp_zmq_open(ZMQ_PAIR, "@" HUB_INPUT, &(dp_zmq_opts){.hwm = 4}, err)) == NULL)
		goto out;
	if (cfg->input != NULL && open_input(cfg->input, err) < 0)
		goto out;
	/* Test hook, not for use: the reader's first read that many seconds
	 * late, a stop coming first (graph_hub_reader_stop). */
	reader.pause_s = dp_cli_test_hook("DOCPIPE_HUB_TEST_READER_PAUSE_S", 0);
	if ((reader.pair = dp_zmq_open(ZMQ_PAIR, HUB_INPUT, &cfg->zmq, err)) == NULL ||
	    (reader.src = dp_source_open(NULL, &(dp_io_opts){.max_record = cfg->zmq.max_record}, err)) == NULL)
		goto out;
	if (pthread_create(&reader.thread, NULL, read_input, &reader) != 0) {
		dp_err_set(err, "cannot start the input thread");
		goto out;
	}
	reader_started = 1;
	/* hub_note_stopping: this thread only, and its children (the sweep)
	 * start with it unblocked. */
	pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
	loop(h);
	if (h->dropped > 0)
		dp_diag("stopping: %ld record(s) of the input read and dropped: the next run takes them", h->dropped);
	int complete = h->input_done && h->win.used == 0 && h->dropped == 0, sweeping = 0;
	/* The sweep runs while the hub waits for the replicas' last counters:
	 * one of the two costs of a run's end instead of both.  With --watch
	 * the first pass swept (and a stop while idle is a clean stop). */
	if (h->first_pass != 0)
		complete = h->first_pass == 1 && h->win.used == 0 && h->dropped == 0;
	else
		sweeping = sweep_begin(h, &complete);
	drain_stats(h);
	if (sweeping)
		sweep_end(h);
	rc = finish(h, complete);
	publish_metrics(h, 1);
out:
	if (reader_started)
		stop_reader(h, &reader);
	dp_source_free(&reader.src);
	dp_zmq_close(&reader.pair);
	sweep_cancel(h);
	for (int e = 0; e < HUB_STAGES - 1; e++)
		if (h->holding[e])
			zmq_msg_close(&h->held[e]);
	for (int b = 0; b < 2; b++)
		if (h->fork_holding[b])
			zmq_msg_close(&h->fork_held[b]);
	if (h->join_holding)
		zmq_msg_close(&h->join_held);
	/* What still waits for a consumer is re-sent by the next run: no LINGER. */
	int zero = 0;
	for (int i = 0; i < HUB_EP_COUNT; i++) {
		if (h->ep[i] != NULL)
			zmq_setsockopt(h->ep[i], ZMQ_LINGER, &zero, sizeof zero);
		dp_zmq_close(&h->ep[i]);
	}
	if (h->input != NULL)
		zmq_setsockopt(h->input, ZMQ_LINGER, &zero, sizeof zero);
	dp_zmq_close(&h->input);
	dp_zap_stop(&zap);
	hub_metrics_stop(&h->metrics);
	hub_window_free(&h->win);
	jv_free(h->end);
	jv_free(h->tally.failures);
	jv_free(h->watched.failures);
	free(h);
	return rc;
}
