#include "metrics.h"

#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "stats.h"

/* A bounded text being built: `over` sticks once it would exceed cap. */
typedef struct out {
	char *p;
	size_t len, cap;
	int over;
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->over)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->over = 1;
	else
		o->len += (size_t)n;
}

static void head(out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values come from replicas (host names): escaped as the format says. */
static void label(char *dst, size_t size, const char *src)
{
	size_t j = 0;

	for (; *src != '\0' && j + 3 < size; src++) {
		if (*src == '\\' || *src == '"' || *src == '\n') {
			dst[j++] = '\\';
			dst[j++] = *src == '\n' ? 'n' : *src;
		} else {
			dst[j++] = *src;
		}
	}
	dst[j] = '\0';
}

static const char *stage_of(const hub_proc *p)
{
	return p->stage >= 0 ? hub_stage_names[p->stage] : "other";
}

/* One line per replica of a per-replica field; absent (< 0) fields skipped. */
static void per_replica(out *o, const hub_stats *s, const char *name, const char *type,
			const char *help, size_t field)
{
	head(o, name, type, help);
	for (size_t i = 0; i < s->nprocs; i++) {
		const hub_proc *p = &s->procs[i];
		double v = *(const double *)((const char *)p + field);
		char rep[sizeof p->key * 2];
		if (v < 0)
			continue;
		label(rep, sizeof rep, p->key);
		put(o, "%s{stage=\"%s\",replica=\"%s\"} %.17g\n", name, stage_of(p), rep, v);
	}
}

static void latency(out *o, const hub_stats *s)
{
	static const double bounds_ms[] = {DP_STATS_LATENCY_BOUNDS_MS};
	const char *name = "docpipe_record_duration_seconds";

	head(o, name, "histogram", "Time a replica spent on one record.");
	for (size_t i = 0; i < s->nprocs; i++) {
		const hub_proc *p = &s->procs[i];
		char rep[sizeof p->key * 2];
		double count = 0;
		label(rep, sizeof rep, p->key);
		for (int b = 0; b < DP_STATS_LATENCY_BUCKETS; b++) {
			count += p->latency_buckets[b];
			if (b < DP_STATS_LATENCY_BUCKETS - 1)
				put(o, "%s_bucket{stage=\"%s\",replica=\"%s\",le=\"%g\"} %.17g\n", name,
				    stage_of(p), rep, bounds_ms[b] / 1000, count);
		}
		put(o, "%s_bucket{stage=\"%s\",replica=\"%s\",le=\"+Inf\"} %.17g\n", name,
		    stage_of(p), rep, count);
		put(o, "%s_sum{stage=\"%s\",replica=\"%s\"} %.17g\n", name, stage_of(p), rep,
		    p->latency_sum_ms / 1000);
		put(o, "%s_count{stage=\"%s\",replica=\"%s\"} %.17g\n", name, stage_of(p), rep, count);
	}
}

#define FIELD(f) offsetof(hub_proc, f)

/* The per-replica fields, in the order they are exposed. */
static const struct {
	const char *name, *type, *help;
	size_t field;
} replica_fields[] = {
	{"docpipe_records_in_total", "counter", "Records a replica read.", FIELD(in)},
	{"docpipe_records_out_total", "counter", "Records a replica wrote.", FIELD(out)},
	{"docpipe_records_failed_total", "counter", "Error records a replica made.", FIELD(failed)},
	{"docpipe_records_in_flight", "gauge", "Records a replica is working on now.",
	 FIELD(in_flight)},
	{"docpipe_retries_total", "counter", "Requests or records retried.", FIELD(retries)},
	{"docpipe_requests_total", "counter", "Model API requests sent.", FIELD(requests)},
	{"docpipe_tokens_total", "counter", "Model API tokens spent.", FIELD(tokens)},
	{"docpipe_throttled_total", "counter", "HTTP 429 answers (replicas whose stats carry them).",
	 FIELD(throttled)},
	{"docpipe_concurrency", "gauge", "Concurrent requests in use (replicas whose stats carry it).",
	 FIELD(concurrency)},
};

static void replicas(out *o, const hub_stats *s)
{
	for (size_t i = 0; i < sizeof replica_fields / sizeof replica_fields[0]; i++)
		per_replica(o, s, replica_fields[i].name, replica_fields[i].type, replica_fields[i].help,
			    replica_fields[i].field);
	head(o, "docpipe_replica_up", "gauge",
	     "1 while a replica reports, 0 once it exited or fell silent.");
	for (size_t i = 0; i < s->nprocs; i++) {
		char rep[sizeof s->procs[i].key * 2];
		label(rep, sizeof rep, s->procs[i].key);
		put(o, "docpipe_replica_up{stage=\"%s\",replica=\"%s\"} %d\n", stage_of(&s->procs[i]),
		    rep, !s->procs[i].gone);
	}
	latency(o, s);
}

static void hub_side(out *o, const hub_metrics_view *v)
{
	const hub_tally *t = v->tally;
	const struct {
		const char *outcome;
		long n;
	} outcomes[] = {{"added", t->added},         {"updated", t->updated},
			{"unchanged", t->unchanged}, {"deleted", t->deleted},
			{"skipped", t->skipped},     {"failed", t->failed}};
	char run[256];

	label(run, sizeof run, v->run);
	head(o, "docpipe_run_info", "gauge", "The run this hub serves.");
	put(o, "docpipe_run_info{run=\"%s\"} 1\n", run);
	head(o, "docpipe_documents_total", "counter", "Documents by final outcome.");
	for (size_t i = 0; i < sizeof outcomes / sizeof outcomes[0]; i++)
		put(o, "docpipe_documents_total{outcome=\"%s\"} %ld\n", outcomes[i].outcome,
		    outcomes[i].n);
	head(o, "docpipe_documents_resent_total", "counter", "Documents sent again.");
	put(o, "docpipe_documents_resent_total %ld\n", t->resent);
	head(o, "docpipe_window_size", "gauge", "Documents in flight at most (--window).");
	put(o, "docpipe_window_size %zu\n", v->window);
	head(o, "docpipe_window_documents", "gauge", "Documents in flight now.");
	put(o, "docpipe_window_documents %zu\n", v->in_window);
	head(o, "docpipe_window_bytes_max", "gauge", "What the documents in flight may count at most (--window-bytes; 0: no bound).");
	put(o, "docpipe_window_bytes_max %.17g\n", v->window_bytes);
	head(o, "docpipe_window_bytes", "gauge", "What the documents in flight count now: their files' sizes and the outputs held for their joins (--window-bytes).");
	put(o, "docpipe_window_bytes %.17g\n", v->in_window_bytes);
	head(o, "docpipe_window_unsent", "gauge", "Documents in the window waiting to be sent.");
	put(o, "docpipe_window_unsent %zu\n", v->unsent);
	head(o, "docpipe_stage_queue", "gauge",
	     "Records written by the stage before (by the hub, for chunk) and not yet read by "
	     "this stage's replicas.");
	for (int i = 0; i < HUB_STAGES; i++) {
		double before = i == 0 ? (double)(t->documents + t->resent)
				       : hub_stats_sum(v->stats, i - 1, FIELD(out));
		double q = before - hub_stats_sum(v->stats, i, FIELD(in));
		put(o, "docpipe_stage_queue{stage=\"%s\"} %.17g\n", hub_stage_names[i], q > 0 ? q : 0);
	}
}

long hub_metrics_render(const hub_metrics_view *v, char *buf, size_t cap)
{
	out o = {.p = buf, .cap = cap};

	if (cap == 0)
		return -1;
	buf[0] = '\0';
	hub_side(&o, v);
	replicas(&o, v->stats);
	return o.over ? -1 : (long)o.len;
}

struct hub_metrics {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;
	char *text;    /* published; under lock */
	size_t len;
	char *scratch; /* the loop renders here, then swaps */
};

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	hub_metrics *m = cls;
	struct MHD_Response *r;
	unsigned status = MHD_HTTP_OK;
	enum MHD_Result rc;

	(void)version, (void)upload, (void)upload_size, (void)con_cls;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	} else if (strcmp(url, "/metrics") != 0) {
		static const char hint[] = "docpipe-hub: metrics are at /metrics\n";
		status = MHD_HTTP_NOT_FOUND;
		r = MHD_create_response_from_buffer(sizeof hint - 1, (void *)hint,
						    MHD_RESPMEM_PERSISTENT);
	} else {
		pthread_mutex_lock(&m->lock);
		r = MHD_create_response_from_buffer(m->len, m->text, MHD_RESPMEM_MUST_COPY);
		pthread_mutex_unlock(&m->lock);
	}
	if (r == NULL)
		return MHD_NO;
	if (status == MHD_HTTP_OK)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					"text/plain; version=0.0.4; charset=utf-8");
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

/* Resolves "HOST:PORT" (HOST may be [v6]).  Returns 0 or -1 with err. */
static int resolve(const char *listen, struct sockaddr_storage *sa, dp_err *err)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV}, *ai;

	if (colon == NULL || colon == listen || (size_t)(colon - listen) >= sizeof host ||
	    colon[1] == '\0') {
		dp_err_set(err, "--metrics %s: expected HOST:PORT", listen);
		return -1;
	}
	snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	int rc = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rc != 0) {
		dp_err_set(err, "--metrics %s: %s", listen, gai_strerror(rc));
		return -1;
	}
	memcpy(sa, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

hub_metrics *hub_metrics_start(const char *listen, dp_err *err)
{
	struct sockaddr_storage sa;
	hub_metrics *m;

	if (resolve(listen, &sa, err) < 0)
		return NULL;
	if ((m = calloc(1, sizeof *m)) == NULL || (m->text = malloc(HUB_METRICS_MAX)) == NULL ||
	    (m->scratch = malloc(HUB_METRICS_MAX)) == NULL) {
		if (m != NULL)
			free(m->text);
		free(m);
		dp_err_set(err, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&m->lock, NULL);
	m->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
					     (sa.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				     0, NULL, NULL, answer, m, MHD_OPTION_SOCK_ADDR, &sa,
				     MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				     MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_END);
	if (m->daemon == NULL) {
		dp_err_set(err, "--metrics %s: cannot listen there (in use? not an address of this "
				"machine?)", listen);
		hub_metrics_stop(&m);
		return NULL;
	}
	return m;
}

void hub_metrics_publish(hub_metrics *m, const hub_metrics_view *v)
{
	if (m == NULL)
		return;
	long n = hub_metrics_render(v, m->scratch, HUB_METRICS_MAX);
	if (n < 0)
		return; /* too many processes for the bound: the last text stays */
	pthread_mutex_lock(&m->lock);
	char *old = m->text;
	m->text = m->scratch;
	m->len = (size_t)n;
	m->scratch = old;
	pthread_mutex_unlock(&m->lock);
}

void hub_metrics_stop(hub_metrics **m)
{
	if (*m == NULL)
		return;
	if ((*m)->daemon != NULL)
		MHD_stop_daemon((*m)->daemon);
	pthread_mutex_destroy(&(*m)->lock);
	free((*m)->text);
	free((*m)->scratch);
	free(*m);
	*m = NULL;
}
