#include "hub.h"

#include <stddef.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evict.h"
#include "record.h"

const char *const hub_stage_names[HUB_STAGES] = {"chunk", "summarize", "embed", "store"};

int hub_bind_endpoint(const char *listen, int ep, char *buf, size_t size, dp_err *err)
{
	if (strncmp(listen, "ipc://", 6) == 0) {
		char var[32];
		hub_endpoint_var(ep, var, sizeof var);
		snprintf(buf, size, "@%s/%s", listen, var + 3);
		return 0;
	}
	const char *colon = strrchr(listen, ':');
	char *end;
	long port;

	if (strncmp(listen, "tcp://", 6) != 0 || colon == NULL || colon < listen + 6 ||
	    (port = strtol(colon + 1, &end, 10), *end != '\0') || port < 0 ||
	    port + HUB_EP_COUNT > 65536) {
		dp_err_set(err, "--listen %s: expected tcp://HOST:PORT or ipc://DIR", listen);
		return -1;
	}
	if (port == 0)
		snprintf(buf, size, "@%.*s:*", (int)(colon - listen), listen);
	else
		snprintf(buf, size, "@%.*s:%ld", (int)(colon - listen), listen, port + ep);
	return 0;
}

void hub_endpoint_var(int ep, char *buf, size_t size)
{
	if (ep == HUB_EP_STATS) {
		snprintf(buf, size, "DP_STATS");
		return;
	}
	snprintf(buf, size, "DP_%s_%s", hub_stage_names[ep / 2], ep % 2 ? "OUT" : "IN");
	for (char *p = buf; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
}

void hub_delay_sample(hub_delay *d, double seconds)
{
	if (d->samples++ == 0) {
		d->srtt = seconds;
		d->rttvar = seconds / 2;
		return;
	}
	d->rttvar = 0.75 * d->rttvar + 0.25 * fabs(d->srtt - seconds);
	d->srtt = 0.875 * d->srtt + 0.125 * seconds;
}

double hub_delay_timeout(const hub_delay *d, double floor)
{
	double rto = d->srtt + 4 * d->rttvar;

	return d->samples > 0 && rto > floor ? rto : floor;
}

double hub_delay_unusual(const hub_delay *d)
{
	double limit = d->srtt + 4 * d->rttvar;

	if (d->samples == 0)
		return HUB_OLDEST_FIRST_S;
	if (limit < 2 * d->srtt)
		limit = 2 * d->srtt;
	return limit > HUB_OLDEST_MIN_S ? limit : HUB_OLDEST_MIN_S;
}

int hub_window_init(hub_window *w, size_t limit, double max_bytes, int joins)
{
	size_t size = 2 * (limit > 0 ? limit : 1);

	*w = (hub_window){.slots = calloc(size, sizeof *w->slots), .size = size, .limit = limit,
			  .max_bytes = max_bytes, .joins = joins, .ratio = joins ? HUB_TWIN_RATIO_PRIOR : 1};
	return w->slots == NULL ? -1 : 0;
}

void hub_window_free(hub_window *w)
{
	for (size_t i = 0; w->slots != NULL && i < w->size; i++)
		if (w->slots[i].used)
			hub_window_release(w, &w->slots[i]);
	free(w->slots);
	w->slots = NULL;
}

int hub_window_bytes_full(const hub_window *w)
{
	return w->max_bytes > 0 && w->bytes >= w->max_bytes;
}

int hub_window_has_room(const hub_window *w) { return w->used < w->limit && !hub_window_bytes_full(w); }

/* What slot counts in the window (hub_window_has_room). */
static double counted(const hub_window *w, hub_slot *slot)
{
	double v = slot->join.holding ? slot->file_bytes + (double)zmq_msg_size(&slot->join.twin)
		   : w->joins && !slot->join.done ? slot->file_bytes * w->ratio
		   : slot->file_bytes;

	return w->max_bytes > 0 && v > w->max_bytes / HUB_WINDOW_BYTES_SHARE
		       ? w->max_bytes / HUB_WINDOW_BYTES_SHARE
		       : v;
}

static void count_slot(hub_window *w, hub_slot *slot)
{
	double now = counted(w, slot);

	w->bytes += now - slot->bytes;
	slot->bytes = now;
}

void hub_window_recount(hub_window *w, hub_slot *slot)
{
	if (slot->join.holding && !slot->counted_twin && slot->file_bytes > 0) {
		slot->counted_twin = 1;
		w->twin_bytes += slot->file_bytes + (double)zmq_msg_size(&slot->join.twin);
		w->twin_file_bytes += slot->file_bytes;
		double r = (HUB_TWIN_PRIOR_BYTES * HUB_TWIN_RATIO_PRIOR + w->twin_bytes) /
			   (HUB_TWIN_PRIOR_BYTES + w->twin_file_bytes);
		if (r > w->ratio * HUB_TWIN_RATIO_STEP || r * HUB_TWIN_RATIO_STEP < w->ratio) {
			w->ratio = r;
			for (size_t i = 0; i < w->size; i++)
				if (w->slots[i].used)
					count_slot(w, &w->slots[i]);
			return;
		}
	}
	count_slot(w, slot);
}

/* At most limit of the 2 x limit slots are used, so the probe finds a free
 * one; documents leave roughly in seq order, so most land on their home
 * slot and the probe stays short (a slow document pushes the one 2 x limit
 * seqs after it one slot on). */
void hub_window_add(hub_window *w, long seq, jv rec)
{
	size_t home = (size_t)seq % w->size, d = 0;
	hub_slot *s;
	double bytes;

	while (w->slots[(home + d) % w->size].used)
		d++;
	if (d > w->probe)
		w->probe = d;
	s = &w->slots[(home + d) % w->size];
	if (dp_record_num(rec, "size", &bytes) < 0 || !(bytes >= 0))
		bytes = 0;
	*s = (hub_slot){.used = 1, .seq = seq, .rec = rec, .file_bytes = bytes};
	w->used++;
	if (seq >= w->next)
		w->next = seq + 1;
	hub_window_recount(w, s);
}

hub_slot *hub_window_find(hub_window *w, long seq)
{
	if (seq < 0)
		return NULL;
	for (size_t d = 0, home = (size_t)seq % w->size; d <= w->probe && d < w->size; d++) {
		hub_slot *s = &w->slots[(home + d) % w->size];
		if (s->used && s->seq == seq)
			return s;
	}
	return NULL;
}

void hub_window_release(hub_window *w, hub_slot *slot)
{
	jv_free(slot->rec);
	hub_join_clear(&slot->join);
	w->bytes = w->used > 1 ? w->bytes - slot->bytes : 0;
	*slot = (hub_slot){0};
	w->used--;
}

hub_slot *hub_window_oldest(hub_window *w)
{
	hub_slot *s = NULL;

	while (w->low < w->next && (s = hub_window_find(w, w->low)) == NULL)
		w->low++;
	return s;
}

void hub_oldest_text(char *buf, size_t size, const char *path, double age, int sends, int stage,
		     double held_ago)
{
	char name[HUB_NAME_MAX + 1];
	size_t len = path != NULL ? strlen(path) : 0, from = 0, n = 0;

	if (path == NULL)
		path = "";
	if (len > HUB_NAME_MAX) {
		from = len - (HUB_NAME_MAX - 3);
		while (from < len && ((unsigned char)path[from] & 0xC0) == 0x80)
			from++; /* a UTF-8 continuation byte: not a character's start */
		memcpy(name, "...", 3);
		n = 3;
	}
	for (; from < len && n < HUB_NAME_MAX; from++, n++)
		name[n] = (unsigned char)path[from] < 0x20 || path[from] == 0x7F ? '?' : path[from];
	name[n] = '\0';
	int w = sends == 1 ? snprintf(buf, size, "%s, %.0f s (sent once)", name, age)
			   : snprintf(buf, size, "%s, %.0f s (sent %d times)", name, age, sends);
	if (stage < 0 || stage >= HUB_STAGES || w < 0 || (size_t)w >= size)
		return;
	if (held_ago < HUB_HELD_NOW_S)
		snprintf(buf + w, size - (size_t)w, ", at %s", hub_stage_names[stage]);
	else
		snprintf(buf + w, size - (size_t)w, ", last at %s %.0f s ago", hub_stage_names[stage],
			 held_ago);
}

static void add_failure(hub_tally *t, const char *path, const char *stage, const char *error)
{
	t->failed++;
	if (jv_array_length(jv_copy(t->failures)) >= HUB_MAX_FAILURES)
		return;
	jv f = jv_object();
	f = jv_object_set(f, jv_string("path"), path ? jv_string(path) : jv_null());
	f = jv_object_set(f, jv_string("stage"), jv_string(stage ? stage : "?"));
	f = jv_object_set(f, jv_string("error"), jv_string(error ? error : "unknown"));
	t->failures = jv_array_append(t->failures, f);
}

void hub_tally_receipt(hub_tally *t, jv receipt)
{
	const char *status = dp_record_str(receipt, "status");

	if (status == NULL || strcmp(status, "failed") == 0) {
		add_failure(t, dp_record_str(receipt, "path"), dp_record_str(receipt, "stage"),
			    dp_record_str(receipt, "error"));
	} else if (strcmp(status, "stored") == 0) {
		/* The store says "created": false when it replaced an older
		 * version; without the field a stored document counts as added. */
		jv created = jv_object_get(jv_copy(receipt), jv_string("created"));
		if (jv_get_kind(created) == JV_KIND_FALSE)
			t->updated++;
		else
			t->added++;
		jv_free(created);
	} else if (strcmp(status, "unchanged") == 0) {
		t->unchanged++;
	} else if (strcmp(status, "deleted") == 0) {
		t->deleted++;
	} else if (strcmp(status, "skipped") == 0) {
		t->skipped++;
	} else {
		add_failure(t, dp_record_str(receipt, "path"), "hub", "receipt with an unknown status");
	}
}

void hub_tally_lost(hub_tally *t, jv rec, int attempts)
{
	char why[96];

	t->lost++;
	snprintf(why, sizeof why, "no receipt after %d attempts", attempts);
	add_failure(t, dp_record_str(rec, "path"), "hub", why);
}

static double num_field(jv msg, const char *key)
{
	double v;

	return dp_record_num(msg, key, &v) == 0 ? v : 0;
}

/* The counters that move when a replica gets work done. */
static double work_done(const hub_proc *p)
{
	return p->in + p->out + p->failed + p->requests + p->retries;
}

/* 1 when an entry's key is name, or name told apart from a namesake
 * ("name#2"). */
static int named(const char *key, const char *name)
{
	size_t n = strlen(name);

	return strncmp(key, name, n) == 0 && (key[n] == '\0' || key[n] == '#');
}

/* The entry of process pid on host in pid_space: found, or added (the
 * stage, -1 unknown, set), or NULL when the table is full.  *added says
 * which.  A process is its host name, pid and pid space: two machines (or
 * containers) may share a host name, and each worker's first replica has
 * the same small pid in a pid namespace of its own.  Keyed on host/pid
 * alone, two such replicas were one entry that each kept alive: one lost
 * never fell silent, and what it held waited --timeout (fault sweep 25). */
static hub_proc *proc_entry(hub_stats *s, const char *host, long pid, const char *pid_space, int stage,
			    int *added)
{
	char key[300];
	int namesakes = 0;

	snprintf(key, sizeof key, "%s/%ld", host, pid);
	*added = 0;
	for (size_t i = 0; i < s->nprocs; i++) {
		if (!named(s->procs[i].key, key))
			continue;
		if (strcmp(s->procs[i].pid_space, pid_space) == 0)
			return &s->procs[i];
		namesakes++;
	}
	if (s->nprocs == HUB_MAX_PROCS)
		return NULL; /* bounded: later processes go uncounted */
	hub_proc *p = &s->procs[s->nprocs++];
	/* The name the messages and metrics show: a namesake's is told apart
	 * by a number ("worker/7#2"). */
	if (namesakes > 0)
		snprintf(p->key, sizeof p->key, "%.280s#%d", key, namesakes + 1);
	else
		snprintf(p->key, sizeof p->key, "%s", key);
	snprintf(p->pid_space, sizeof p->pid_space, "%s", pid_space);
	p->pid = pid;
	p->stage = stage;
	*added = 1;
	return p;
}

hub_proc *hub_stats_update(hub_stats *s, jv msg)
{
	const char *stage = dp_record_str(msg, "stage"), *host = dp_record_str(msg, "host");
	const char *space = dp_record_str(msg, "pid_space");
	double pid = num_field(msg, "pid");
	int index = -1, added;

	for (int i = 0; stage != NULL && i < HUB_STAGES; i++)
		if (strcmp(stage, hub_stage_names[i]) == 0)
			index = i;
	/* A pid no process has (a malformed message) is -1, not a cast out
	 * of long's range. */
	hub_proc *p = proc_entry(s, host ? host : "?", pid >= 0 && pid < 1e15 ? (long)pid : -1,
				 space ? space : "", index, &added);
	if (p == NULL)
		return NULL;
	p->unheard = 0;
	jv final = jv_object_get(jv_copy(msg), jv_string("final"));
	p->ended = jv_get_kind(final) == JV_KIND_TRUE;
	if (!p->ended && !p->exited)
		p->gone = 0, p->silent_at = 0;
	jv_free(final);
	p->seen = dp_clock_s();
	double work = work_done(p);
	p->in = num_field(msg, "in");
	p->out = num_field(msg, "out");
	p->failed = num_field(msg, "failed");
	p->in_flight = num_field(msg, "in_flight");
	p->retries = num_field(msg, "retries");
	p->requests = num_field(msg, "requests");
	p->tokens = num_field(msg, "tokens");
	p->latency_ms = num_field(msg, "latency_ms");
	p->latency_sum_ms = num_field(msg, "latency_sum_ms");
	p->concurrency = dp_record_num(msg, "concurrency", &p->concurrency) == 0 ? p->concurrency : -1;
	p->throttled = dp_record_num(msg, "throttled", &p->throttled) == 0 ? p->throttled : -1;
	jv wait = jv_object_get(jv_copy(msg), jv_string("waiting"));
	const char *on = jv_get_kind(wait) == JV_KIND_OBJECT ? dp_record_str(wait, "on") : NULL;
	p->waiting_s = on != NULL ? num_field(wait, "seconds") : 0;
	snprintf(p->waiting_on, sizeof p->waiting_on, "%s", on != NULL ? on : "");
	jv_free(wait);
	jv buckets = jv_object_get(jv_copy(msg), jv_string("latency_buckets"));
	for (int b = 0; b < DP_STATS_LATENCY_BUCKETS; b++) {
		jv n = jv_get_kind(buckets) == JV_KIND_ARRAY ? jv_array_get(jv_copy(buckets), b)
							      : jv_invalid();
		p->latency_buckets[b] = jv_get_kind(n) == JV_KIND_NUMBER ? jv_number_value(n) : 0;
		jv_free(n);
	}
	jv_free(buckets);
	if (p->progress_at == 0 || work_done(p) != work)
		p->progress_at = p->seen;
	return p;
}

hub_proc *hub_stats_unheard(hub_stats *s, long pid, int stage, const char *name, double since)
{
	char host[256] = "";
	int added;

	gethostname(host, sizeof host - 1); /* as a replica's stats name its host (stats.c) */
	hub_proc *p = proc_entry(s, host, pid, dp_stats_pid_space(), stage, &added);
	if (p == NULL || !added)
		return p;
	p->unheard = 1;
	snprintf(p->name, sizeof p->name, "%s", name);
	p->seen = p->progress_at = p->silent_at = since;
	p->gone = 1;
	p->concurrency = p->throttled = -1;
	return p;
}

hub_proc *hub_stats_local(hub_stats *s, long pid)
{
	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i].pid == pid && hub_pid_space_here(s->procs[i].pid_space))
			return &s->procs[i];
	return NULL;
}

int hub_stats_silent(hub_stats *s, double t)
{
	int died = 0;

	for (size_t i = 0; i < s->nprocs; i++)
		if (!s->procs[i].gone && (s->procs[i].ended || s->procs[i].exited ||
					  t - s->procs[i].seen > HUB_SILENT_S)) {
			s->procs[i].gone = 1;
			s->procs[i].silent_at = s->procs[i].ended || s->procs[i].exited ? 0 : t;
			died++;
		}
	return died;
}

void hub_stats_forgive(hub_stats *s, double t)
{
	for (size_t i = 0; i < s->nprocs; i++)
		if (!s->procs[i].gone && s->procs[i].seen < t)
			s->procs[i].seen = t;
}

double hub_stats_sum(const hub_stats *s, int stage, size_t field)
{
	double sum = 0;

	for (size_t i = 0; i < s->nprocs; i++)
		if (stage < 0 || s->procs[i].stage == stage)
			sum += *(const double *)((const char *)&s->procs[i] + field);
	return sum;
}

int hub_stats_procs(const hub_stats *s, int stage)
{
	int n = 0;

	for (size_t i = 0; i < s->nprocs; i++)
		n += s->procs[i].stage == stage;
	return n;
}

int hub_stats_live(const hub_stats *s, int stage)
{
	int n = 0;

	for (size_t i = 0; i < s->nprocs; i++)
		n += s->procs[i].stage == stage && !s->procs[i].gone;
	return n;
}

double hub_stats_waiting(const hub_stats *s, int stage, const char **on)
{
	double longest = 0;

	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i].stage == stage && !s->procs[i].gone && s->procs[i].waiting_s > longest) {
			longest = s->procs[i].waiting_s;
			*on = s->procs[i].waiting_on;
		}
	return longest;
}

double hub_stats_stalled(const hub_stats *s)
{
	double longest = 0;

	for (int stage = 0; stage < HUB_STAGES; stage++) {
		int live = 0, waiting = 0;
		double shortest = 0;
		for (size_t i = 0; i < s->nprocs; i++)
			if (s->procs[i].stage == stage && !s->procs[i].gone) {
				double w = s->procs[i].waiting_s;
				live++;
				waiting += w > 0;
				if (w > 0 && (shortest == 0 || w < shortest))
					shortest = w;
			}
		if (live > 0 && waiting == live && shortest > longest)
			longest = shortest;
	}
	return longest;
}

int hub_stats_final(const hub_stats *s, const long sent[HUB_STAGES])
{
	for (int i = 0; i < HUB_STAGES; i++) {
		double in = hub_stats_sum(s, i, offsetof(hub_proc, in));
		if (in != (double)sent[i] || hub_stats_sum(s, i, offsetof(hub_proc, out)) < in ||
		    hub_stats_sum(s, i, offsetof(hub_proc, in_flight)) != 0)
			return 0;
	}
	return 1;
}

jv hub_report(const hub_tally *t, const hub_stats *s, const char *run, double seconds,
	      int complete)
{
	jv r = jv_object();

	r = jv_object_set(r, jv_string("v"), jv_number(DP_PROTOCOL_VERSION));
	r = jv_object_set(r, jv_string("kind"), jv_string("report"));
	r = jv_object_set(r, jv_string("run"), jv_string(run));
	r = jv_object_set(r, jv_string("complete"), jv_bool(complete));
	r = jv_object_set(r, jv_string("documents"), jv_number((double)t->documents));
	r = jv_object_set(r, jv_string("added"), jv_number((double)t->added));
	r = jv_object_set(r, jv_string("updated"), jv_number((double)t->updated));
	r = jv_object_set(r, jv_string("unchanged"), jv_number((double)t->unchanged));
	r = jv_object_set(r, jv_string("deleted"), jv_number((double)t->deleted));
	r = jv_object_set(r, jv_string("skipped"), jv_number((double)t->skipped));
	r = jv_object_set(r, jv_string("failed"), jv_number((double)t->failed));
	r = jv_object_set(r, jv_string("failures"), jv_copy(t->failures));
	r = jv_object_set(r, jv_string("resent"), jv_number((double)t->resent));
	r = jv_object_set(r, jv_string("requests"),
			  jv_number(hub_stats_sum(s, -1, offsetof(hub_proc, requests))));
	r = jv_object_set(r, jv_string("tokens"),
			  jv_number(hub_stats_sum(s, -1, offsetof(hub_proc, tokens))));
	r = jv_object_set(r, jv_string("retries"),
			  jv_number(hub_stats_sum(s, -1, offsetof(hub_proc, retries))));
	r = jv_object_set(r, jv_string("sweep"), jv_string(t->sweep != NULL ? t->sweep : "skipped"));
	if (t->sweep_why[0] != '\0')
		r = jv_object_set(r, jv_string("sweep_reason"), jv_string(t->sweep_why));
	return jv_object_set(r, jv_string("seconds"), jv_number(seconds));
}

int hub_print_layout(const char *listen, FILE *out, dp_err *err)
{
	char ep[HUB_EP_COUNT][512];

	for (int i = 0; i < HUB_EP_COUNT; i++) {
		if (hub_bind_endpoint(listen, i, ep[i], sizeof ep[i], err) < 0)
			return -1;
		if (strchr(ep[i], '*') != NULL) {
			dp_err_set(err, "--listen %s: a worker needs a fixed port, not 0", listen);
			return -1;
		}
	}
	/* Bind endpoints start with '@'; replicas connect to the same address. */
	for (int i = 0; i < HUB_STAGES; i++)
		fprintf(out, "%s %s %s\n", hub_stage_names[i], ep[2 * i] + 1, ep[2 * i + 1] + 1);
	fprintf(out, "stats %s\n", ep[HUB_EP_STATS] + 1);
	return 0;
}
