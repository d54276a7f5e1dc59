#include "http.h"

#include "buf.h"
#include "clock.h"
#include "jscan.h"
#include "json.h"
#include "limiter.h"
#include "stats.h"
#include "stop.h"
#include "text.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <time.h>

#define RESPONSE_MAX (256u << 20) /* bytes of one response body, at most */
#define REASON_MAX 300            /* bytes of a server's error message we quote */
#define BODY_QUOTE_MAX 80         /* bytes of a body that is not JSON we quote */
#define BACKOFF_CAP_MS 8000
#define HDR_MARGIN 1.05 /* announced limits: paced 5% under their mean rate */

struct dp_http {
	char *base;
	char *query; /* the base URL's query ("?api-version=..."), put after each
		      * call's path; "" without one */
	char *key; /* for scrubbing messages; NULL without a key */
	char origin[256];    /* the base URL's scheme://host:port, lowercase */
	char ca_file[1024];  /* $CURL_CA_BUNDLE or $SSL_CERT_FILE, "" for libcurl's own */
	const char *ca_var;  /* which of the two */
	char ca_dir[1024];   /* $SSL_CERT_DIR, "" for libcurl's own */
	char proxy_var[16];  /* the variable naming the proxy calls go through, "" for none */
	char proxy[256];     /* that proxy as scheme://host:port (no credentials) */
	struct curl_slist *headers;
	dp_http_opts o;
	pthread_key_t handle_key; /* the calling thread's struct caller */

	pthread_mutex_t lock;
	int in_flight;
	int retrying; /* callers sleeping before a retry: demand too */
	struct waiter *queue, *queue_tail; /* callers waiting for a place, first come first */
	dp_limiter limiter;
	double next_req_ms; /* pacing of --rpm and of the limiter's pace */
	double last_req_ms; /* when the last request left */
	unsigned long pace_epoch; /* bumped when the limiter's pace slows */
	double next_tok_ms; /* pacing of --tpm */
	double hdr_req_ms;  /* pacing the server's headers ask for, per request */
	double hdr_tok_ms;  /* and per token */
	int refused;
	char refused_msg[DP_ERR_MAX];
	int never_reached_calls; /* calls given up, the server never reached */
	int undecodable_calls;   /* of those, the ones last answered with a body
				  * libcurl could not decode */
	int not_found_calls;     /* calls answered 404 or 405 before any 2xx */
	int not_json_calls;      /* calls answered 2xx not JSON before any JSON */
	/* How the server fares (note_server): some request got an HTTP answer;
	 * some connection was taken by the server (a request cut off by its
	 * restart: it was there, as an answer says, but no answer says it
	 * works, so this alone makes no storm); 2xx answers so far; distinct
	 * calls that met a server error since the last one. */
	int answered;
	int reached;
	atomic_int json_answered; /* some 2xx body parsed as JSON (take_body): read
				   * and set without the lock, on every answer */
	_Atomic unsigned long oks; /* also read without the lock (watch_hung) */
	atomic_int tls_probed;    /* tls_port has probed (once a process) */
	int failing_calls;
	/* The last DP_HTTP_STORM_ANSWERS answers: the call (calls' number) that
	 * met a server error or a 429, 0 for any other outcome. */
	unsigned long calls;
	unsigned long recent[DP_HTTP_STORM_ANSWERS];
	int recent_next;
	int down; /* failing_calls reached DP_HTTP_DOWN_CALLS: the process waits
		   * on the model API (said_waiting) until a 2xx */
	int asked_waits; /* callers sleeping out a wait the server asked for
			  * (Retry-After) of DP_HTTP_SAID_WAIT_MS or more */
	int waiting;     /* said waiting on the model API (dp_stats_wait_begin) */
	uint64_t rng;
	dp_http_stats stats;
};

/* A caller queued for a place, on its own stack.  Each waits on its own
 * condition variable and only the first is woken when a place frees: a
 * shared one broadcast to every waiter woke the 48 threads of a 16-place
 * stage twice per request (measured: summarize spent ~0.6 CPU-s of a 1.3 s
 * run in futex wake-ups and context switches, on the cores the server and
 * the other stages need). */
struct waiter {
	pthread_cond_t turn;
	struct waiter *next;
};

struct response {
	int answering;   /* some byte of the answer came: a header (watch_hung) */
	int event_stream; /* Content-Type: text/event-stream (a streamed answer) */
	char encoding[32]; /* its Content-Encoding, "" for none (or one longer) */
	long undecoded_status; /* the HTTP status of an answer whose body libcurl
				* could not decode (CURLE_BAD_CONTENT_ENCODING), 0 */
	char errbuf[CURL_ERROR_SIZE]; /* libcurl's own words on a failed transfer */
	char away[256];  /* a redirect to another origin: its scheme://host:port */
	long connect_code; /* a proxy's answer to CONNECT (0: none) */
	dp_buf body;     /* at most the call's max_response bytes */
	int too_big;
	long retry_after_ms;
	dp_http_ratelimit req, tok; /* announced limits (x-ratelimit-*) */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void) { global_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* What dp_http keeps per calling thread. */
struct caller {
	CURL *curl;  /* kept between requests (keep-alive) */
	int placed;  /* holds a place in flight for its next request
		      * (dp_http_take_place) */
};

static void free_caller(void *p)
{
	struct caller *t = p;

	curl_easy_cleanup(t->curl);
	free(t);
}

/* url's origin as "scheme://host:port" (lowercase, the port given or the
 * scheme's) into out; its scheme and host into scheme and host when not
 * NULL.  Returns -1 when libcurl cannot parse it. */
static int url_origin(const char *url, char *out, size_t n, char *scheme, char *host, size_t hn)
{
	CURLU *u = curl_url();
	char *sc = NULL, *ho = NULL, *po = NULL;
	int rc = -1;

	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &sc, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &ho, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &po, CURLU_DEFAULT_PORT) == CURLUE_OK) {
		snprintf(out, n, "%s://%s:%s", sc, ho, po);
		for (char *c = out; *c != '\0'; c++)
			*c = (char)tolower((unsigned char)*c);
		if (scheme != NULL)
			snprintf(scheme, 8, "%s", sc);
		if (host != NULL)
			snprintf(host, hn, "%s", ho);
		rc = 0;
	}
	curl_free(sc);
	curl_free(ho);
	curl_free(po);
	curl_url_cleanup(u);
	return rc;
}

/* Whether the no_proxy list covers host, as libcurl 7.88 reads it: "*"
 * covers every host; an entry is a host name covering itself and its
 * subdomains (a leading '.' ignored), or an address, IPv4 or IPv6, with an
 * optional /bits (CIDR); commas or spaces between entries. */
static int no_proxy_covers(const char *list, const char *host)
{
	char h[256], e[256];
	unsigned char ha[16], ea[16];
	size_t hl = strlen(host);

	if (hl >= sizeof h)
		return 0;
	/* An IPv6 address comes in brackets. */
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']')
		snprintf(h, sizeof h, "%.*s", (int)(hl - 2), host + 1);
	else
		snprintf(h, sizeof h, "%s", host);
	int fam = inet_pton(AF_INET, h, ha) == 1 ? AF_INET : inet_pton(AF_INET6, h, ha) == 1 ? AF_INET6 : 0;
	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, ", ");
		if (n > 0 && n < sizeof e) {
			memcpy(e, p, n);
			e[n] = '\0';
			char *slash = strchr(e, '/');
			long bits = -1;
			if (slash != NULL) {
				*slash = '\0';
				bits = strtol(slash + 1, NULL, 10);
			}
			char *name = e[0] == '.' ? e + 1 : e;
			size_t nl = strlen(name);
			if (strcmp(e, "*") == 0)
				return 1;
			if (fam != 0 && inet_pton(fam, name, ea) == 1) {
				long all = fam == AF_INET ? 32 : 128;
				if (bits < 0 || bits > all)
					bits = all;
				if (memcmp(ha, ea, (size_t)bits / 8) == 0 &&
				    (bits % 8 == 0 || ((ha[bits / 8] ^ ea[bits / 8]) >> (8 - bits % 8)) == 0))
					return 1;
			} else if (fam == 0 && nl > 0 && nl <= strlen(h) &&
				   strcasecmp(h + strlen(h) - nl, name) == 0 &&
				   (nl == strlen(h) || h[strlen(h) - nl - 1] == '.')) {
				return 1;
			}
		}
		p += n;
		p += strspn(p, ", ");
	}
	return 0;
}

/* The proxy libcurl takes from the environment for a URL of scheme and
 * host, as libcurl 7.88 looks: http_proxy (lower case only: a CGI
 * program's HTTP_PROXY comes from a request's header) for http,
 * https_proxy or HTTPS_PROXY for https, else all_proxy or ALL_PROXY;
 * none when no_proxy (or NO_PROXY) covers the host.  Fills h->proxy_var
 * and h->proxy (shown without credentials), so that a failure through a
 * proxy names it: "Couldn't connect to server" with a dead proxy said
 * nothing of it, and "check its URL" sent the user to the wrong place.
 * Only the messages read it: libcurl still picks the proxy itself. */
static void find_proxy(dp_http *h, const char *scheme, const char *host)
{
	static const char *const http_vars[] = {"http_proxy", "all_proxy", "ALL_PROXY", NULL};
	static const char *const https_vars[] = {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", NULL};
	const char *const *vars = strcmp(scheme, "https") == 0 ? https_vars : http_vars;
	const char *np = getenv("no_proxy");

	if (np == NULL || np[0] == '\0')
		np = getenv("NO_PROXY");
	if (np != NULL && no_proxy_covers(np, host))
		return;
	for (; *vars != NULL; vars++) {
		const char *v = getenv(*vars);
		if (v == NULL || v[0] == '\0')
			continue;
		char with_scheme[512];
		snprintf(with_scheme, sizeof with_scheme, "%s%s", strstr(v, "://") != NULL ? "" : "http://", v);
		snprintf(h->proxy_var, sizeof h->proxy_var, "%s", *vars);
		if (url_origin(with_scheme, h->proxy, sizeof h->proxy, NULL, NULL, 0) < 0)
			snprintf(h->proxy, sizeof h->proxy, "(not a URL)");
		return;
	}
}

/* The CA certificates the curl tool and OpenSSL's clients read from the
 * environment, honoured likewise (libcurl alone reads none of them): a
 * server whose certificate a private CA signed (a company's vLLM, a TLS
 * proxy) could not be trusted but by changing the system's store.
 * CURL_CA_BUNDLE wins over SSL_CERT_FILE; SSL_CERT_DIR names a directory.
 * Returns -1 (err set) when the one named cannot be read. */
static int find_ca(dp_http *h, dp_err *err)
{
	const char *file_var = getenv("CURL_CA_BUNDLE") != NULL && getenv("CURL_CA_BUNDLE")[0] != '\0'
				       ? "CURL_CA_BUNDLE" : "SSL_CERT_FILE";
	const char *file = getenv(file_var), *dir = getenv("SSL_CERT_DIR");

	if (file != NULL && file[0] != '\0') {
		if (access(file, R_OK) != 0 || strlen(file) >= sizeof h->ca_file) {
			dp_err_set(err, "%s=%s: cannot read the CA certificates file: %s", file_var, file,
				   strlen(file) >= sizeof h->ca_file ? "path too long" : strerror(errno));
			return -1;
		}
		snprintf(h->ca_file, sizeof h->ca_file, "%s", file);
		h->ca_var = file_var;
	}
	if (dir != NULL && dir[0] != '\0') {
		if (access(dir, R_OK | X_OK) != 0 || strlen(dir) >= sizeof h->ca_dir) {
			dp_err_set(err, "SSL_CERT_DIR=%s: cannot read the CA certificates directory: %s", dir,
				   strlen(dir) >= sizeof h->ca_dir ? "path too long" : strerror(errno));
			return -1;
		}
		snprintf(h->ca_dir, sizeof h->ca_dir, "%s", dir);
	}
	return 0;
}

/* The parts of h that dp_http_new makes before its lock and thread key,
 * and h itself; the key's copy wiped. */
static void free_parts(dp_http *h)
{
	curl_slist_free_all(h->headers);
	if (h->key != NULL)
		memset(h->key, 0, strlen(h->key));
	free(h->key);
	free(h->query);
	free(h->base);
	free(h);
}

/* The header that carries the API key: Azure OpenAI's classic API (a base
 * path .../openai/deployments/NAME) takes a key only as "api-key: KEY",
 * as Azure documents and OpenAI's own AzureOpenAI client sends it; every
 * other API (Azure's v1 API included) as "Authorization: Bearer KEY".
 * Read from the URL, not an option: the URL already says which API it is,
 * and a key sent the other way is refused (401) whatever else is right. */
static const char *key_header(const char *base)
{
	return strstr(base, "/openai/deployments/") != NULL ? "api-key: " : "Authorization: Bearer ";
}

dp_http *dp_http_new(const dp_http_opts *opts, dp_err *err)
{
	const char *base = opts->base_url;
	dp_http *h;

	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK) {
		dp_err_set(err, "cannot initialize libcurl: %s", curl_easy_strerror(global_rc));
		return NULL;
	}
	if (base == NULL || (strncasecmp(base, "http://", 7) != 0 &&
			     strncasecmp(base, "https://", 8) != 0)) {
		dp_err_set(err, "the API base URL must start with http:// or https://");
		return NULL;
	}
	h = calloc(1, sizeof *h);
	if (h == NULL)
		goto oom;
	h->o = *opts;
	if (h->o.timeout_ms <= 0)
		h->o.timeout_ms = 60000;
	if (h->o.max_attempts <= 0)
		h->o.max_attempts = 6;
	if (h->o.max_retry_ms <= 0)
		h->o.max_retry_ms = 300000;
	if (h->o.backoff_base_ms <= 0)
		h->o.backoff_base_ms = 500;
	dp_limiter_init(&h->limiter, h->o.autotune, h->o.max_in_flight > 0 ? h->o.max_in_flight : 1);
	dp_limiter_deadline(&h->limiter, (double)h->o.timeout_ms);
	h->rng = (uint64_t)dp_clock_ms() * 2654435761u + 1;
	h->base = strdup(base);
	if (h->base == NULL)
		goto oom;
	/* A query (Azure OpenAI's "?api-version=...", a gateway's) goes after
	 * each call's path: appended to the whole URL it made the path part
	 * of the query ("?api-version=2024-10-21/chat/completions"). */
	char *q = strchr(h->base, '?');
	h->query = strdup(q != NULL ? q : "");
	if (h->query == NULL)
		goto oom;
	if (q != NULL)
		*q = '\0';
	/* No trailing slash: paths start with one. */
	for (size_t n = strlen(h->base); n > 0 && h->base[n - 1] == '/'; n--)
		h->base[n - 1] = '\0';
	char scheme[8] = "", host[256] = "";
	if (url_origin(h->base, h->origin, sizeof h->origin, scheme, host, sizeof host) < 0) {
		dp_err_set(err, "the API base URL is not a URL libcurl can read");
		goto fail;
	}
	find_proxy(h, scheme, host);
	if (find_ca(h, err) < 0)
		goto fail;
	h->o.base_url = NULL;
	h->o.api_key = NULL;
	struct curl_slist *l = curl_slist_append(NULL, "Content-Type: application/json");
	if (l == NULL)
		goto oom;
	h->headers = l;
	if (opts->api_key != NULL && opts->api_key[0] != '\0') {
		const char *name = key_header(h->base);
		size_t n = strlen(name) + strlen(opts->api_key) + 1;
		char *line = malloc(n);
		h->key = strdup(opts->api_key);
		if (line == NULL || h->key == NULL) {
			free(line);
			goto oom;
		}
		snprintf(line, n, "%s%s", name, opts->api_key);
		l = curl_slist_append(h->headers, line);
		/* curl copied it: wipe ours. */
		memset(line, 0, n);
		free(line);
		if (l == NULL)
			goto oom;
		h->headers = l;
	}
	if (pthread_key_create(&h->handle_key, free_caller) != 0) {
		dp_err_set(err, "cannot create a thread key");
		goto fail;
	}
	pthread_mutex_init(&h->lock, NULL);
	dp_stats_add(DP_STAT_CONCURRENCY, dp_limiter_level(&h->limiter));
	return h;
oom:
	dp_err_set(err, "out of memory");
fail:
	if (h != NULL)
		free_parts(h);
	return NULL;
}

void dp_http_free(dp_http **hp)
{
	dp_http *h = *hp;

	if (h == NULL)
		return;
	/* Callers of threads that ended were freed by the key's destructor;
	 * the calling thread's is freed here. */
	struct caller *t = pthread_getspecific(h->handle_key);
	if (t != NULL) {
		pthread_setspecific(h->handle_key, NULL);
		free_caller(t);
	}
	pthread_key_delete(h->handle_key);
	pthread_mutex_destroy(&h->lock);
	free_parts(h);
	*hp = NULL;
}

void dp_http_get_stats(dp_http *h, dp_http_stats *out)
{
	pthread_mutex_lock(&h->lock);
	*out = h->stats;
	out->level = dp_limiter_level(&h->limiter);
	out->highest = h->limiter.highest;
	out->decreases = h->limiter.decreases;
	out->undone = h->limiter.undone;
	out->late = h->limiter.late_fixed;
	out->answered = atomic_load(&h->oks);
	out->weather = dp_limiter_weather(&h->limiter);
	pthread_mutex_unlock(&h->lock);
}

int dp_http_level(dp_http *h)
{
	pthread_mutex_lock(&h->lock);
	int level = dp_limiter_level(&h->limiter);
	pthread_mutex_unlock(&h->lock);
	return level;
}

long dp_http_parse_retry_after(const char *value, int is_ms, time_t now)
{
	char *end, date[64];
	const char *rest;
	double v;

	while (*value == ' ')
		value++;
	errno = 0;
	v = strtod(value, &end);
	rest = end;
	if (end == value && !is_ms) {
		/* An HTTP-date (RFC 9110 10.2.3): the wait is until then, by this
		 * machine's clock; one already past asks for no wait. */
		size_t len = strcspn(value, "\r\n");
		if (len >= sizeof date)
			return -1;
		memcpy(date, value, len);
		date[len] = '\0';
		time_t at = curl_getdate(date, NULL);
		if (at == -1)
			return -1;
		v = at > now ? difftime(at, now) : 0;
		rest = value + len;
	} else if (end == value || errno != 0 || v < 0 || !isfinite(v)) {
		return -1;
	}
	while (*rest == ' ' || *rest == '\r' || *rest == '\n')
		rest++;
	if (*rest != '\0')
		return -1;
	v = is_ms ? v : v * 1000;
	return v > 86400e3 ? 86400000L : (long)ceil(v);
}

long dp_http_backoff_ms(int attempt, long base_ms, long retry_after_ms, double jitter01)
{
	double d = base_ms * pow(2, attempt - 1);

	if (d > BACKOFF_CAP_MS)
		d = BACKOFF_CAP_MS;
	d *= 0.5 + 0.5 * jitter01;
	if (d < retry_after_ms)
		d = (double)retry_after_ms;
	return (long)d;
}

double dp_http_parse_duration_ms(const char *value)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = {{"ms", 1}, {"us", 1e-3}, {"ns", 1e-6}, {"h", 3600e3}, {"m", 60e3}, {"s", 1e3}};
	double total = 0;
	int parts = 0;

	while (*value == ' ')
		value++;
	while (*value != '\0' && *value != ' ' && *value != '\r' && *value != '\n') {
		char *end;
		size_t i;
		double v;

		errno = 0;
		v = strtod(value, &end);
		if (end == value || errno != 0 || v < 0 || !isfinite(v) || *value == '-')
			return -1;
		for (i = 0; i < sizeof units / sizeof units[0]; i++)
			if (strncmp(end, units[i].unit, strlen(units[i].unit)) == 0)
				break;
		if (i == sizeof units / sizeof units[0]) {
			/* A bare number: seconds, and nothing after it. */
			if (parts > 0 || (*end != '\0' && *end != ' ' && *end != '\r' && *end != '\n'))
				return -1;
			return v * 1e3 > 86400e3 ? 86400e3 : v * 1e3;
		}
		total += v * units[i].ms;
		value = end + strlen(units[i].unit);
		parts++;
	}
	if (parts == 0)
		return -1;
	return total > 86400e3 ? 86400e3 : total;
}

double dp_http_ratelimit_interval_ms(const dp_http_ratelimit *rl)
{
	double mean = rl->limit > 0 ? 60000.0 / rl->limit * HDR_MARGIN : 0;

	if (rl->remaining < 0 || rl->reset_ms < 0)
		return mean;
	if (mean <= 0) /* no rate: spend what is left evenly until the reset */
		return rl->remaining >= 1 ? rl->reset_ms / rl->remaining : rl->reset_ms;
	double half = (rl->remaining + rl->reset_ms / mean) / 2;
	if (rl->remaining > half + 1 && rl->reset_ms / (rl->remaining - half) < mean)
		return rl->reset_ms / (rl->remaining - half);
	return mean;
}

/* A number header's value into *v (-1 when it is not one). */
static void header_number(const char *value, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(value, &end);
	while (*end == ' ' || *end == '\r' || *end == '\n')
		end++;
	if (end == value || errno != 0 || *end != '\0' || !isfinite(*v) || *v < 0)
		*v = -1;
}

/* 1 when line is one of the x-ratelimit-* headers, stored in r. */
static int ratelimit_header(struct response *r, const char *line)
{
	static const char prefix[] = "x-ratelimit-";
	const char *name = line + sizeof prefix - 1, *colon = strchr(line, ':');
	dp_http_ratelimit *rl;

	if (strncasecmp(line, prefix, sizeof prefix - 1) != 0 || colon == NULL)
		return 0;
	size_t n = (size_t)(colon - name);
	if (n > 9 && strncasecmp(colon - 9, "-requests", 9) == 0)
		rl = &r->req, n -= 9;
	else if (n > 7 && strncasecmp(colon - 7, "-tokens", 7) == 0)
		rl = &r->tok, n -= 7;
	else
		return 0;
	if (n == 5 && strncasecmp(name, "limit", 5) == 0)
		header_number(colon + 1, &rl->limit);
	else if (n == 9 && strncasecmp(name, "remaining", 9) == 0)
		header_number(colon + 1, &rl->remaining);
	else if (n == 5 && strncasecmp(name, "reset", 5) == 0)
		rl->reset_ms = dp_http_parse_duration_ms(colon + 1);
	return 1;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct response *r = arg;
	size_t len = size * n;

	if (dp_buf_append(&r->body, data, len) < 0) {
		r->too_big = len > r->body.max - r->body.len; /* else out of memory */
		return 0;
	}
	return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct response *r = arg;
	size_t len = size * n;
	char line[128];

	r->answering = 1;
	if (len >= sizeof line)
		return len;
	memcpy(line, data, len);
	line[len] = '\0';
	if (ratelimit_header(r, line)) {
		/* stored */
	} else if (strncasecmp(line, "retry-after-ms:", 15) == 0) {
		long ms = dp_http_parse_retry_after(line + 15, 1, 0);
		if (ms >= 0)
			r->retry_after_ms = ms; /* the precise one wins */
	} else if (strncasecmp(line, "retry-after:", 12) == 0 && r->retry_after_ms < 0) {
		r->retry_after_ms = dp_http_parse_retry_after(line + 12, 0, time(NULL));
	} else if (strncasecmp(line, "content-type:", 13) == 0) {
		r->event_stream = strcasestr(line + 13, "text/event-stream") != NULL;
	} else if (strncasecmp(line, "content-encoding:", 17) == 0) {
		const char *v = line + 17 + strspn(line + 17, " \t");
		size_t vlen = strcspn(v, "\r\n");
		if (vlen < sizeof r->encoding)
			snprintf(r->encoding, sizeof r->encoding, "%.*s", (int)vlen, v);
	}
	return len;
}

/* The calling thread's state, made at its first call; NULL when out of
 * memory. */
static struct caller *this_caller(dp_http *h)
{
	struct caller *t = pthread_getspecific(h->handle_key);

	if (t == NULL && (t = calloc(1, sizeof *t)) != NULL) {
		t->curl = curl_easy_init();
		if (t->curl == NULL || pthread_setspecific(h->handle_key, t) != 0) {
			free_caller(t);
			t = NULL;
		}
	}
	return t;
}

/* A request's place in flight. */
struct slot {
	unsigned long seq; /* the limiter's sequence number */
	double sent_ms;
};

/* Under lock: the least time between two requests, by the slowest of
 * the limiter's pace, --rpm and the server's headers (0: none). */
static double send_interval(const dp_http *h)
{
	double interval = dp_limiter_interval_ms(&h->limiter);

	if (h->o.rpm > 0 && 60000.0 / h->o.rpm > interval)
		interval = 60000.0 / h->o.rpm;
	return h->hdr_req_ms > interval ? h->hdr_req_ms : interval;
}

/* Under lock: the time from which a request may leave, not before
 * floor_ms; the next one's turn moves on by send_interval. */
static double pace_reserve(dp_http *h, double floor_ms)
{
	double interval = send_interval(h);

	if (interval <= 0)
		return floor_ms;
	double at = h->next_req_ms > floor_ms ? h->next_req_ms : floor_ms;
	h->next_req_ms = at + interval;
	return at;
}

/* Under lock: the same for tokens, by --tpm and the server's headers. */
static double token_reserve(dp_http *h, double now, size_t tokens)
{
	double per_token = h->o.tpm > 0 ? 60000.0 / h->o.tpm : 0;

	if (h->hdr_tok_ms > per_token)
		per_token = h->hdr_tok_ms;
	if (per_token <= 0)
		return now;
	double at = h->next_tok_ms > now ? h->next_tok_ms : now;
	h->next_tok_ms = at + per_token * (double)tokens;
	return at;
}

/* Under lock: wakes the first caller queued for a place when one is free;
 * it takes it and passes the turn on while places are left. */
static void pass_turn(dp_http *h)
{
	if (h->queue != NULL && h->in_flight < dp_limiter_level(&h->limiter))
		pthread_cond_signal(&h->queue->turn);
}

/* Sleeps until wait_until, holding a place; a slower pace moves it on:
 * the requests that wait for their turn when a 429 slows the limiter's
 * pace take new turns at it (release rolls the turns back), instead of
 * going at the turns of the pace that met the wall.  req_at: the turn
 * taken at pace_epoch epoch. */
static void wait_to_send(dp_http *h, double wait_until, double req_at, unsigned long epoch)
{
	for (;;) {
		double d = wait_until - dp_clock_ms();
		if (d <= 0)
			break;
		dp_sleep_ms(d);
		pthread_mutex_lock(&h->lock);
		if (h->pace_epoch != epoch) {
			epoch = h->pace_epoch;
			req_at = pace_reserve(h, req_at);
			if (req_at > wait_until)
				wait_until = req_at;
		}
		pthread_mutex_unlock(&h->lock);
	}
	pthread_mutex_lock(&h->lock);
	double now = dp_clock_ms();
	if (now > h->last_req_ms)
		h->last_req_ms = now;
	pthread_mutex_unlock(&h->lock);
}

/* Under lock: waits, first come first served, until the caller is first
 * in the queue and a place in flight (the limiter's level) is free, and
 * takes it.  retrying: the caller was counted as sleeping before a retry
 * (count_retrying); it is uncounted once queued, so that its demand is
 * never unseen. */
static void queue_for_place(dp_http *h, int retrying)
{
	struct waiter me = {.turn = PTHREAD_COND_INITIALIZER, .next = NULL};

	/* First come, first served: a caller waiting for a place is not
	 * overtaken. */
	h->retrying -= retrying;
	if (h->queue_tail != NULL)
		h->queue_tail->next = &me;
	else
		h->queue = &me;
	h->queue_tail = &me;
	while (h->queue != &me || h->in_flight >= dp_limiter_level(&h->limiter))
		pthread_cond_wait(&me.turn, &h->lock);
	h->queue = me.next;
	if (h->queue == NULL)
		h->queue_tail = NULL;
	pthread_cond_destroy(&me.turn);
	h->in_flight++;
	pass_turn(h);
}

/* Under lock: a place left free with no caller queued for it nor sleeping
 * before a retry: the stage asks for less than the level (app-limited),
 * which the limiter must not take for the server's answer. */
static void note_idle_place(dp_http *h)
{
	if (h->in_flight < dp_limiter_level(&h->limiter) && h->queue == NULL && h->retrying == 0)
		dp_limiter_idle(&h->limiter, dp_clock_ms());
}

void dp_http_take_place(dp_http *h)
{
	struct caller *t = this_caller(h);

	/* Out of memory: the request queues when it is made. */
	if (t == NULL || t->placed)
		return;
	pthread_mutex_lock(&h->lock);
	queue_for_place(h, 0);
	pthread_mutex_unlock(&h->lock);
	t->placed = 1;
}

void dp_http_give_back_place(dp_http *h)
{
	struct caller *t = pthread_getspecific(h->handle_key);

	if (t == NULL || !t->placed)
		return;
	t->placed = 0;
	pthread_mutex_lock(&h->lock);
	h->in_flight--;
	note_idle_place(h);
	pass_turn(h);
	pthread_mutex_unlock(&h->lock);
}

/* Takes a place in flight (the caller's own from dp_http_take_place, or
 * one it queues for), then waits for the rate budget.  retrying: as
 * queue_for_place's.  (A wait the server asks for beyond the retry budget
 * refuses the run: no stage-wide pause to wait out here.) */
static void acquire(dp_http *h, struct caller *t, int retrying, size_t tokens, struct slot *sl)
{
	pthread_mutex_lock(&h->lock);
	if (t->placed)
		t->placed = 0;
	else
		queue_for_place(h, retrying);
	sl->seq = dp_limiter_sent(&h->limiter, h->in_flight);
	double now = dp_clock_ms();
	note_idle_place(h);
	double req_at = pace_reserve(h, now), tok_at = token_reserve(h, now, tokens);
	double wait_until = req_at > tok_at ? req_at : tok_at;
	unsigned long epoch = h->pace_epoch;
	pthread_mutex_unlock(&h->lock);
	wait_to_send(h, wait_until, req_at, epoch);
	sl->sent_ms = dp_clock_ms();
}

/* A 429 that is no quota refusal: weather. */
static int throttled(const dp_http_outcome *o)
{
	return o->transport == 0 && o->status == 429 && !o->quota;
}

static enum dp_limiter_outcome limiter_outcome(const dp_http_outcome *o)
{
	/* A refusal is no success: a fixed level must not open on it. */
	if (o->transport != 0 || o->status == 408 || o->status == 409 || o->status >= 500 ||
	    o->status == 401 || o->status == 403 || o->quota)
		return DP_LIMITER_ERROR;
	return throttled(o) ? DP_LIMITER_THROTTLED : DP_LIMITER_OK;
}

/* Under lock: the pacing the headers of r ask for, if it has any (the
 * latest answer's word wins). */
static void take_ratelimit(dp_http *h, const struct response *r)
{
	if (r->req.remaining >= 0 || r->req.limit >= 0)
		h->hdr_req_ms = dp_http_ratelimit_interval_ms(&r->req);
	if (r->tok.remaining >= 0 || r->tok.limit >= 0)
		h->hdr_tok_ms = dp_http_ratelimit_interval_ms(&r->tok);
}

/* Gives the place back and tells the limiter how the request went (o NULL:
 * no request was made; r NULL: no answer to read headers from). */
static void release(dp_http *h, const struct slot *sl, const dp_http_outcome *o,
		    const struct response *r, size_t tokens)
{
	pthread_mutex_lock(&h->lock);
	int before = dp_limiter_level(&h->limiter);
	h->in_flight--;
	if (r != NULL)
		take_ratelimit(h, r);
	if (o != NULL) {
		enum dp_limiter_outcome lo = limiter_outcome(o);
		double now = dp_clock_ms(), iv = dp_limiter_interval_ms(&h->limiter);
		dp_limiter_done(&h->limiter, sl->seq, lo, now - sl->sent_ms, (double)tokens, now);
		if (dp_limiter_interval_ms(&h->limiter) > iv) {
			/* The pace slowed (429s): the turns taken at the old one
			 * are given back, from the last request that left on
			 * (wait_to_send takes new ones). */
			h->pace_epoch++;
			h->next_req_ms = h->last_req_ms + send_interval(h);
		}
		h->stats.hung += (unsigned long)o->hung;
		if (lo == DP_LIMITER_THROTTLED) {
			h->stats.throttled++;
			dp_stats_add(DP_STAT_THROTTLED, 1);
		}
	}
	int after = dp_limiter_level(&h->limiter);
	if (after != before)
		dp_stats_add(DP_STAT_CONCURRENCY, after - before);
	pass_turn(h);
	pthread_mutex_unlock(&h->lock);
}

/* Counts a caller that is to sleep before a retry, before it gives its
 * place back (no gap in which its demand is unseen): demand too.  acquire
 * uncounts it once it is queued again. */
static void count_retrying(dp_http *h)
{
	pthread_mutex_lock(&h->lock);
	h->retrying++;
	pthread_mutex_unlock(&h->lock);
}

static const char *given_or_env(const char *given, const char *env)
{
	const char *v = given != NULL ? given : getenv(env);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* $OLLAMA_HOST made a URL in out (size bytes) the way Ollama's clients
 * read it: http:// when no scheme is given, port 11434 when none is.
 * Returns out; the variable as it is when out is too small for it (the
 * client then takes it or says why not); NULL when unset or empty. */
static const char *ollama_host_url(char *out, size_t size)
{
	const char *host = given_or_env(NULL, "OLLAMA_HOST");
	if (host == NULL)
		return NULL;
	const char *scheme_end = strstr(host, "://");
	const char *authority = scheme_end != NULL ? scheme_end + 3 : host;
	size_t authority_len = strcspn(authority, "/");
	/* A port: after the last ':' of the host (past any user:password@),
	 * outside an IPv6 address's brackets. */
	const char *at = memrchr(authority, '@', authority_len);
	const char *hostport = at != NULL ? at + 1 : authority;
	size_t hostport_len = authority_len - (size_t)(hostport - authority);
	const char *colon = memrchr(hostport, ':', hostport_len);
	const char *bracket = memrchr(hostport, ']', hostport_len);
	int has_port = colon != NULL && (bracket == NULL || colon > bracket);
	int n = snprintf(out, size, "%s%.*s%s%s", scheme_end != NULL ? "" : "http://",
			 (int)(authority - host + authority_len), host, has_port ? "" : ":11434",
			 authority + authority_len);
	return n > 0 && (size_t)n < size ? out : host;
}

void dp_http_resolve_server(dp_http_opts *o, const char *base_url, const char *api_key,
			    int ollama)
{
	if (base_url != NULL)
		o->base_url = base_url[0] != '\0' ? base_url : NULL;
	else
		o->base_url = ollama ? ollama_host_url(o->env_url, sizeof o->env_url)
				     : given_or_env(NULL, "OPENAI_BASE_URL");
	if (o->base_url == NULL)
		o->base_url = ollama ? DP_OLLAMA_BASE_DEFAULT : DP_OPENAI_BASE_DEFAULT;
	o->api_key = given_or_env(api_key, ollama ? "OLLAMA_API_KEY" : "OPENAI_API_KEY");
	o->key_from = api_key != NULL ? "--api-key-file" : ollama ? "$OLLAMA_API_KEY" : "$OPENAI_API_KEY";
	o->url_from = ollama ? "--base-url, OLLAMA_HOST" : "--base-url, OPENAI_BASE_URL";
}

/* Where h's base URL is set, for a message that says to check it: an
 * Ollama user was told OPENAI_BASE_URL, which that backend never reads. */
static const char *url_from(const dp_http *h)
{
	return h->o.url_from != NULL ? h->o.url_from : "--base-url, OPENAI_BASE_URL";
}

/* Tokens a successful response cost, for the run's report: what the server
 * says (OpenAI's usage.total_tokens, Ollama's prompt_eval_count +
 * eval_count), else our estimate of the request.  resp is borrowed. */
static size_t tokens_spent(jv resp, size_t estimate)
{
	jv total = jv_getpath(jv_copy(resp), JV_ARRAY(jv_string("usage"), jv_string("total_tokens")));
	double n = -1;

	if (jv_get_kind(total) == JV_KIND_NUMBER) {
		n = jv_number_value(total);
	} else if (jv_get_kind(resp) == JV_KIND_OBJECT) {
		jv prompt = jv_object_get(jv_copy(resp), jv_string("prompt_eval_count"));
		jv eval = jv_object_get(jv_copy(resp), jv_string("eval_count"));
		if (jv_get_kind(prompt) == JV_KIND_NUMBER)
			n = jv_number_value(prompt) +
			    (jv_get_kind(eval) == JV_KIND_NUMBER ? jv_number_value(eval) : 0);
		jv_free(prompt);
		jv_free(eval);
	}
	jv_free(total);
	return n >= 0 && n < 1e15 ? (size_t)n : estimate;
}

static double jitter(dp_http *h)
{
	pthread_mutex_lock(&h->lock);
	h->rng ^= h->rng << 13;
	h->rng ^= h->rng >> 7;
	h->rng ^= h->rng << 17;
	double j = (double)(h->rng >> 11) / 9007199254740992.0;
	pthread_mutex_unlock(&h->lock);
	return j;
}

/* Writes at most max bytes of text (len bytes) into out (outlen bytes), on
 * one line, with every occurrence of the key in the whole text replaced by
 * '*'s before the cut, so that none is cut in half and half shown (a
 * server or proxy may echo the Authorization header). */
static void quote_scrubbed(const dp_http *h, const char *text, size_t len, size_t max, char *out,
			   size_t outlen)
{
	size_t n = len < max ? len : max, kl = h->key != NULL ? strlen(h->key) : 0;

	if (n > outlen - 1)
		n = outlen - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = text[i] == '\n' || text[i] == '\r' || text[i] == '\0' ? ' ' : text[i];
	out[n] = '\0';
	for (const char *p = text; kl > 0 && (p = memmem(p, len - (size_t)(p - text), h->key, kl)) != NULL;
	     p += kl) {
		size_t at = (size_t)(p - text);
		if (at >= n)
			break;
		memset(out + at, '*', at + kl <= n ? kl : n - at);
	}
}

/* Copies the server's error message (error.message, or error as a string)
 * into out, cut and with the key scrubbed. */
static int body_is_json(const struct response *r)
{
	size_t i = 0;

	while (i < r->body.len && strchr(" \t\r\n", r->body.data[i]) != NULL)
		i++;
	return i == r->body.len || r->body.data[i] == '{' || r->body.data[i] == '[';
}

/* A reason from an error body that is not JSON (a proxy's HTML page: "413
 * Request Entity Too Large" from nginx said only "(no message)"): its
 * <title>, else its first BODY_QUOTE_MAX bytes, scrubbed. */
static void page_reason(const dp_http *h, const struct response *r, char *out, size_t outlen)
{
	const char *b = r->body.data, *end = b + r->body.len, *title = NULL;
	char quote[REASON_MAX + 1];
	size_t n = 0;

	for (const char *p = b; p + 7 <= end; p++)
		if (strncasecmp(p, "<title>", 7) == 0) {
			title = p + 7;
			break;
		}
	while (title != NULL && title + n < end && title[n] != '<')
		n++;
	if (title != NULL && n > 0) {
		quote_scrubbed(h, title, (size_t)(end - title), n < REASON_MAX ? n : REASON_MAX, quote,
			       sizeof quote);
		snprintf(out, outlen, "an error page, not JSON: \"%s\"", quote);
	} else {
		quote_scrubbed(h, b, r->body.len, BODY_QUOTE_MAX, quote, sizeof quote);
		snprintf(out, outlen, "not JSON: \"%s%s\"", quote, r->body.len > BODY_QUOTE_MAX ? "..." : "");
	}
}

/* The error's message in out; with the parameter OpenAI-compatible servers
 * name ("param": "model"), ' (param "model")' after it: which part of the
 * request was refused, the content ("messages", "input") or an option,
 * tells one document's fault from every request's (summarize_chat). */
static void server_reason(const dp_http *h, const struct response *r, char *out, size_t outlen)
{
	jv body = r->body.len > 0 ? jv_parse_sized(r->body.data, (int)r->body.len) : jv_invalid();
	jv e = jv_get_kind(body) == JV_KIND_OBJECT ? jv_object_get(body, jv_string("error"))
						     : (jv_free(body), jv_invalid());
	jv param = jv_invalid();

	if (jv_get_kind(e) == JV_KIND_OBJECT) {
		param = jv_object_get(jv_copy(e), jv_string("param"));
		e = jv_object_get(e, jv_string("message"));
	}
	if (jv_get_kind(e) == JV_KIND_STRING) {
		quote_scrubbed(h, jv_string_value(e), (size_t)jv_string_length_bytes(jv_copy(e)), REASON_MAX,
			       out, outlen);
		const char *p = jv_get_kind(param) == JV_KIND_STRING ? jv_string_value(param) : "";
		size_t n = strlen(out);
		if (p[0] != '\0' && strlen(p) <= 40 && strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
							     "0123456789_.[]") == strlen(p))
			snprintf(out + n, outlen - n, " (param \"%s\")", p);
	} else if (body_is_json(r)) {
		snprintf(out, outlen, "(no message)");
	} else {
		page_reason(h, r, out, outlen);
	}
	jv_free(param);
	jv_free(e);
}

static int is_quota_error(const struct response *r)
{
	static const char quota[] = "insufficient_quota";

	return r->body.len > 0 && memmem(r->body.data, r->body.len, quota, sizeof quota - 1) != NULL;
}

static int retryable_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_WRITE_ERROR:
	case CURLE_OUT_OF_MEMORY:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		return 0;
	default:
		return 1;
	}
}

/* An error of the server or the network (a 5xx, a transport error worth
 * retrying): the request's own doing only if the server works for others. */
static int server_error(const dp_http_outcome *o)
{
	return o->transport != 0 ? retryable_curl((CURLcode)o->transport) && !o->too_big && o->local_errno == 0
				 : o->status >= 500;
}

/* Under the lock: 1 when, with call, DP_HTTP_DOWN_CALLS distinct calls met
 * server errors or 429s among the last answers (recent). */
static int stormy(const dp_http *h, unsigned long call)
{
	unsigned long seen[DP_HTTP_DOWN_CALLS] = {call};
	int n = 1;

	for (int i = 0; i < DP_HTTP_STORM_ANSWERS && n < DP_HTTP_DOWN_CALLS; i++) {
		unsigned long c = h->recent[i];
		int known = c == 0;
		for (int k = 0; k < n && !known; k++)
			known = seen[k] == c;
		if (!known)
			seen[n++] = c;
	}
	return n >= DP_HTTP_DOWN_CALLS;
}

/* What note_server keeps of one call (zeroed at its start). */
struct call_record {
	unsigned long number; /* the call's number (given at its first answer) */
	unsigned long marked; /* the 2xx count (plus one) at which it last counted
			       * as a failing call: each call counts once per streak */
	int server_errors;    /* server errors it met so far */
	int throttles;        /* 429s it met so far */
	long throttle_wait_ms; /* the wait its last 429 asked, 0 for none */
};

/* The request never reached the server: it refused the connection, or
 * its name (or the proxy's) did not resolve.  Once the server has answered
 * or taken a connection (server_seen), an outage of the server or the network, which says
 * nothing about the request: no content can be its cause.  Until then (a
 * wrong URL, a server not started) attempts count, so it fails fast.  A
 * timeout or a connection cut mid-request can be the request's doing (one
 * the server chokes on), so they count. */
static int unreached(int transport)
{
	return transport == CURLE_COULDNT_CONNECT || transport == CURLE_COULDNT_RESOLVE_HOST ||
	       transport == CURLE_COULDNT_RESOLVE_PROXY;
}

/* How long an attempt may take to connect: --timeout, at most 10 s (a
 * server that cannot be reached within 10 s is down, whatever time its
 * answers may take). */
static long connect_timeout_ms(const dp_http *h)
{
	return h->o.timeout_ms < 10000 ? h->o.timeout_ms : 10000L;
}

/* Whether the attempt o was sent and not answered within --timeout (not a
 * connection's timeout). */
static int unanswered_in_time(const dp_http_outcome *o)
{
	return o->transport == CURLE_OPERATION_TIMEDOUT && o->sent;
}

/* Under lock: says in the stats whether the process waits on the model
 * API: while it is down for every call (h->down), or while a call sleeps
 * out a wait the server asked for that is DP_HTTP_SAID_WAIT_MS or longer
 * (h->asked_waits).  The hub shows it and, as every replica meets the same
 * server, re-sends none of the documents held meanwhile: a Retry-After
 * longer than the hub's --timeout x --attempts (a --retry-budget of an
 * hour) failed them "no receipt after 4 attempts", their requests paid. */
static void said_waiting(dp_http *h)
{
	int waiting = h->down || h->asked_waits > 0;

	if (waiting == h->waiting)
		return;
	h->waiting = waiting;
	if (waiting)
		dp_stats_wait_begin("model API");
	else
		dp_stats_wait_end();
}

/* Takes what an attempt of call c (of tokens) got into the server's record
 * and fills o->server_seen, o->server_down, o->server_stormy,
 * o->errors_before and o->throttle_wait_ms from it. */
static void note_server(dp_http *h, dp_http_outcome *o, struct call_record *c, size_t tokens)
{
	int err = server_error(o);
	int mostly_throttled = c->throttles > c->server_errors;
	/* A request sent and unanswered within --timeout while others get
	 * answers is its own: too slow for the timeout (a long prompt on a
	 * local model), or queued behind too many.  It is no storm's (its
	 * attempts count: it fails by name after --retries), and it makes no
	 * storm of others' errors: as weather, requests always slower than
	 * --timeout were sent again for the whole retry budget (300 s: 346
	 * requests for 40 summaries, fault sweep 17).  With no answer for
	 * anyone (server_down) it is still an outage's. */
	int own_timeout = unanswered_in_time(o);

	o->errors_before = c->server_errors;
	o->throttle_wait_ms = err && mostly_throttled ? c->throttle_wait_ms : 0;
	c->server_errors += err;
	if (throttled(o)) {
		c->throttles++;
		c->throttle_wait_ms = o->retry_after_ms > 0 ? o->retry_after_ms : 0;
	}
	pthread_mutex_lock(&h->lock);
	if (c->number == 0)
		c->number = ++h->calls;
	h->recent[h->recent_next] = (err && !own_timeout) || throttled(o) ? c->number : 0;
	h->recent_next = (h->recent_next + 1) % DP_HTTP_STORM_ANSWERS;
	/* A timeout of a request larger than any answered (no request of its
	 * size class or a larger one has been) says nothing of the server,
	 * whose smaller answers came: no outage's, even when such requests
	 * are all that is left.  As an outage's they were sent again for
	 * the whole retry budget at a run's end (4 big documents among 30:
	 * 295 s for what fails by name in 10; fault sweep 17). */
	int own_size = own_timeout && h->answered && !dp_limiter_size_answered(&h->limiter, (double)tokens);
	if (o->transport == 0 && o->status >= 200 && o->status < 300) {
		h->oks++;
		h->failing_calls = 0;
	} else if (err && !own_size && c->marked != h->oks + 1) {
		c->marked = h->oks + 1;
		h->failing_calls++;
	}
	h->answered |= o->transport == 0;
	h->reached |= o->connected && !unreached(o->transport);
	o->server_seen = h->answered || h->reached;
	o->server_down = !own_size && h->answered && h->failing_calls >= DP_HTTP_DOWN_CALLS;
	/* A server never reached (a wrong URL) is no storm: it fails fast. */
	o->server_stormy = h->answered && err && !own_timeout && (mostly_throttled || stormy(h, c->number));
	h->down = o->server_down;
	said_waiting(h);
	pthread_mutex_unlock(&h->lock);
}

static CURLcode setup(dp_http *h, CURL *c, const char *url, const dp_buf *body, struct response *r)
{
	CURLcode rc = CURLE_OK;

#define SET(opt, val)                                                                \
	do {                                                                         \
		if (rc == CURLE_OK)                                                  \
			rc = curl_easy_setopt(c, opt, val);                          \
	} while (0)
	curl_easy_reset(c);
	SET(CURLOPT_URL, url);
	SET(CURLOPT_POSTFIELDS, body->data);
	SET(CURLOPT_POSTFIELDSIZE, (long)body->len);
	SET(CURLOPT_HTTPHEADER, h->headers);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, r);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, r);
	SET(CURLOPT_TIMEOUT_MS, h->o.timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms(h));
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	/* Redirects are followed by perform, within the base URL's origin
	 * only (redirected). */
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_ACCEPT_ENCODING, "");
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_ERRORBUFFER, r->errbuf);
	if (h->ca_file[0] != '\0')
		SET(CURLOPT_CAINFO, h->ca_file);
	if (h->ca_dir[0] != '\0')
		SET(CURLOPT_CAPATH, h->ca_dir);
#undef SET
	return rc;
}

dp_http_verdict dp_http_decide(const dp_http_policy *p, const dp_http_outcome *o, int attempts,
			       int throttles, long elapsed_ms, double jitter01)
{
	dp_http_verdict v = {.action = DP_HTTP_DO_GIVE_UP, .counts = 1};
	int retry;

	if ((unreached(o->transport) && o->server_seen && o->local_errno == 0) ||
	    ((o->server_down || o->server_stormy) && server_error(o)) || throttled(o)) {
		/* Weather, not failure (a 429, a server away, down for every
		 * call or failing many of them): waits exactly as long as asked,
		 * else the backoff by such waits (in a storm of 5xx among
		 * successes, by the call's own server errors, as attempts
		 * would: its 429s say nothing of them; but a call mostly
		 * throttled waits as its last 429 asked: a backoff that
		 * doubled with every seventh answer of a long 429 storm took
		 * storm_burst past 4 minutes); only the retry time budget
		 * bounds how often. */
		int nth = o->server_stormy && !o->server_down ? o->errors_before + 1 : throttles + 1;
		v.counts = 0;
		if (o->retry_after_ms >= 0)
			v.delay_ms = o->retry_after_ms;
		else if (o->throttle_wait_ms > 0)
			v.delay_ms = o->throttle_wait_ms;
		else
			v.delay_ms = dp_http_backoff_ms(nth, p->backoff_base_ms, -1, jitter01);
		if (elapsed_ms + v.delay_ms <= p->max_retry_ms)
			v.action = DP_HTTP_DO_RETRY;
		else
			v.over_budget = 1;
		if (o->retry_after_ms > p->max_retry_ms) {
			v.action = DP_HTTP_DO_REFUSE;
			v.wait_refused = 1;
			v.over_budget = 0;
		}
		return v;
	} else if (o->transport != 0) {
		retry = retryable_curl((CURLcode)o->transport) && !o->too_big;
	} else if (o->status >= 200 && o->status < 300 && !o->malformed) {
		v.action = DP_HTTP_DO_OK;
		return v;
	} else if (o->status == 401 || o->status == 403 || (o->status == 429 && o->quota)) {
		v.action = DP_HTTP_DO_REFUSE;
		return v;
	} else {
		retry = o->malformed || o->status == 408 || o->status == 409 || o->status >= 500;
		if (!retry) {
			v.action = DP_HTTP_DO_REJECT;
			return v;
		}
	}
	if (!retry || attempts + 1 >= p->max_attempts)
		return v;
	v.delay_ms = dp_http_backoff_ms(attempts + 1, p->backoff_base_ms, o->retry_after_ms, jitter01);
	if (elapsed_ms + v.delay_ms <= p->max_retry_ms)
		v.action = DP_HTTP_DO_RETRY;
	else
		v.over_budget = 1;
	return v;
}

/* libcurl says "couldn't connect" (or "resolve") when this process cannot
 * open a socket (its descriptors used up: ulimit -n) and keeps the reason
 * to itself (libcurl 7.88: CURLINFO_OS_ERRNO is 0).  A socket opened now
 * tells: the errno when it fails for want of a local resource, else 0. */
static int local_shortage(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS ? errno : 0;
}

/* A request the server lost (it never answers: the fault suite's api_hang
 * held a run's end for the whole --timeout, 60 s, twice) is told from a
 * slow one by its peers: it is given up as hung when no byte of an answer
 * came for HUNG_FACTOR x its size class's no-load time (dp_limiter_class_ms:
 * a combine prompt is not judged by chunk prompts' times as they are, and
 * a class none of whose requests answered yet by the nearest one's), at least
 * HUNG_MIN_MS, while 2xx answers to at least HUNG_OVERTAKEN more than
 * twice the level of requests (those in flight when it left, and as many
 * again) came back: a server slow for everyone answers in order and
 * overtakes no one, so nothing is given up then; nor before any request
 * was answered.  Given up, it is a transport error like a timeout: it
 * counts as an attempt, so a request the server chokes on every time
 * still fails after its attempts, and alone (DP_HTTP_FAILED: an embedding
 * batch is split), as the others were answered.  A call is given up so
 * once at most: its next attempts wait for --timeout (the answer's length,
 * not the prompt's size class, sets a chat request's time: a long one
 * would be paid for again and again). */
#define HUNG_FACTOR 20
#define HUNG_MIN_MS 5000.0
#define HUNG_OVERTAKEN 16
/* Before the stage's first success, a request with no byte of an answer
 * for this long lets one more go (dp_limiter_overdue): a lost first
 * request held the stage at nothing else in flight for its --timeout. */
#define OVERDUE_MS 5000.0

struct hung_watch {
	dp_http *h;
	const struct response *r;
	double sent_ms;
	double tokens;
	double hung_ms;          /* waited this long, it may be hung (0: its
				  * class's time is not known yet) */
	unsigned long oks_sent;  /* h->oks when it left */
	unsigned long overtaken; /* 2xx answers since then that make it hung */
	int hung;
	int overdue;             /* counted in dp_limiter_overdue */
};

/* The overdue part of watch_hung: before the first success, a request
 * unanswered for OVERDUE_MS opens a place for the next. */
static void watch_overdue(struct hung_watch *w, double waited)
{
	if (w->overdue || waited < OVERDUE_MS)
		return;
	pthread_mutex_lock(&w->h->lock);
	if (!w->h->limiter.opened) {
		w->overdue = 1;
		dp_limiter_overdue(&w->h->limiter, 1);
		pass_turn(w->h);
	}
	pthread_mutex_unlock(&w->h->lock);
}

/* libcurl's progress callback (at least once a second while it waits):
 * non-zero aborts the transfer.  The class's time is read once the rest
 * holds: the requests that overtook this one may be the first of its
 * class answered. */
static int watch_hung(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct hung_watch *w = arg;
	double waited = dp_clock_ms() - w->sent_ms;

	(void)dltotal, (void)ultotal, (void)ulnow;
	if (dlnow > 0 || w->r->answering)
		return 0;
	watch_overdue(w, waited);
	if (waited < HUNG_MIN_MS ||
	    atomic_load(&w->h->oks) - w->oks_sent < w->overtaken)
		return 0;
	if (w->hung_ms <= 0) {
		pthread_mutex_lock(&w->h->lock);
		double class_ms = dp_limiter_class_ms(&w->h->limiter, w->tokens);
		pthread_mutex_unlock(&w->h->lock);
		if (class_ms <= 0)
			return 0;
		w->hung_ms = fmax(HUNG_MIN_MS, HUNG_FACTOR * class_ms);
	}
	if (waited < w->hung_ms)
		return 0;
	w->hung = 1;
	return 1;
}

/* Redirects followed within the base URL's origin (a trailing slash
 * added, a path moved), at most this many per attempt. */
#define MAX_REDIRECTS 3

/* curl_easy_perform, and the redirects within h's origin followed (the
 * POST sent again as it was, whatever the status: 301, 302 or 303 do not
 * make it a GET).  One to another origin is not followed: r->away names
 * it.  libcurl stripped the key from a redirect to another host but sent
 * the request, a document's text, there, and the key-less request was
 * answered 401: the run refused "for credentials", the wrong mend named
 * (an http:// URL redirected to https:// lost its key so too). *status is
 * the last answer's. */
static CURLcode perform_followed(dp_http *h, CURL *c, struct response *r, long *status)
{
	CURLcode rc = curl_easy_perform(c);
	char next[2048];

	for (int hops = 0; rc == CURLE_OK; hops++) {
		char *to = NULL, origin[256] = "";
		rc = curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
		if (rc != CURLE_OK || (*status != 301 && *status != 302 && *status != 303 &&
				       *status != 307 && *status != 308) ||
		    curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &to) != CURLE_OK || to == NULL)
			break;
		if (url_origin(to, origin, sizeof origin, NULL, NULL, 0) < 0 || strcmp(origin, h->origin) != 0) {
			snprintf(r->away, sizeof r->away, "%s", origin[0] != '\0' && strstr(origin, "://") != NULL
									? origin : "a URL libcurl cannot read");
			break;
		}
		if (hops == MAX_REDIRECTS || strlen(to) >= sizeof next) {
			rc = CURLE_TOO_MANY_REDIRECTS;
			break;
		}
		memcpy(next, to, strlen(to) + 1);
		r->body.len = 0;
		r->retry_after_ms = -1;
		r->event_stream = 0;
		r->encoding[0] = '\0';
		r->req = r->tok = (dp_http_ratelimit){-1, -1, -1};
		rc = curl_easy_setopt(c, CURLOPT_URL, next);
		if (rc == CURLE_OK)
			rc = curl_easy_perform(c);
	}
	return rc;
}

/* One attempt: sends text (of `tokens`, left at sent_ms) to url on the
 * calling thread's handle and describes what came back in *o (r holds the
 * body).  watch: whether it may be given up as hung (watch_hung). */
static void perform(dp_http *h, CURL *c, const char *url, const dp_buf *text, size_t tokens, double sent_ms,
		    int watch, struct response *r, dp_http_outcome *o)
{
	CURLcode rc = setup(h, c, url, text, r);
	long connects = 0, code = 0, request_bytes = 0;
	struct hung_watch w = {.h = h, .r = r, .sent_ms = sent_ms, .tokens = (double)tokens};

	pthread_mutex_lock(&h->lock);
	w.overtaken = 2 * (unsigned long)dp_limiter_level(&h->limiter) + HUNG_OVERTAKEN;
	w.oks_sent = h->oks;
	pthread_mutex_unlock(&h->lock);
	if (rc == CURLE_OK && watch)
		rc = curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, watch_hung);
	if (rc == CURLE_OK && watch)
		rc = curl_easy_setopt(c, CURLOPT_XFERINFODATA, &w);
	if (rc == CURLE_OK && watch)
		rc = curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	if (rc == CURLE_OK)
		rc = perform_followed(h, c, r, &o->status);
	o->hung = rc == CURLE_ABORTED_BY_CALLBACK && w.hung;
	if (w.overdue) {
		pthread_mutex_lock(&h->lock);
		dp_limiter_overdue(&h->limiter, -1);
		pthread_mutex_unlock(&h->lock);
	}
	/* w is gone once this returns: the handle keeps no pointer to it
	 * (setup resets it before the next attempt; the cleanup at the
	 * thread's end comes without one). */
	if ((watch && (curl_easy_setopt(c, CURLOPT_NOPROGRESS, 1L) != CURLE_OK ||
		       curl_easy_setopt(c, CURLOPT_XFERINFODATA, NULL) != CURLE_OK)) ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL) != CURLE_OK)
		curl_easy_reset(c);
	if (rc == CURLE_OK) {
		rc = curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &o->status);
	} else if (r->too_big && curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code >= 400) {
		/* An error's answer over the bound (a stack trace, a verbose
		 * proxy page) is judged by its status like any other (a 503
		 * retried, not the document failed at once); its head, what
		 * the buffer holds, gives the reason. */
		o->status = code;
		rc = CURLE_OK;
		r->too_big = 0;
	} else if (rc == CURLE_BAD_CONTENT_ENCODING &&
		   curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK) {
		/* Still a transport error (retried, counted: the next answer
		 * may come whole), but the server did answer: said so. */
		r->undecoded_status = code;
	}
	if (curl_easy_getinfo(c, CURLINFO_HTTP_CONNECTCODE, &r->connect_code) != CURLE_OK)
		r->connect_code = 0;
	o->transport = (int)rc;
	o->connected = curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK && connects > 0;
	o->sent = curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &request_bytes) == CURLE_OK && request_bytes > 0;
	o->local_errno = unreached(o->transport) ? local_shortage() : 0;
	o->too_big = r->too_big;
	o->retry_after_ms = r->retry_after_ms;
	o->quota = rc == CURLE_OK && o->status == 429 && is_quota_error(r);
}

/* Where the other bytes start when the body r is a JSON value followed
 * by more than white space (a proxy's appendix, a second value); 0 when
 * it is not (no JSON value at its start, or nothing after it). */
static size_t json_then_more(const struct response *r)
{
	const char *b = r->body.data;
	size_t at = 0, n = r->body.len;

	if (b == NULL || dp_jscan_value(b, n, &at) < 0)
		return 0;
	while (at < n && strchr(" \t\r\n", b[at]) != NULL)
		at++;
	return at < n ? at : 0;
}

/* Whether the body r is a JSON object or array cut short: every byte of it
 * parses, and the value has not ended.  A transport's cut that no layer
 * noticed: libcurl 7.88 hands over what it inflated of a gzip stream that
 * ends early (an answer cut at a gateway, a proxy's buffer) without an
 * error; a length or chunked framing that closes early is an error of its
 * own (CURLE_PARTIAL_FILE). */
static int json_cut_short(const struct response *r)
{
	const char *b = r->body.data;
	size_t i = 0, n = r->body.len;

	while (b != NULL && i < n && strchr(" \t\r\n", b[i]) != NULL)
		i++;
	if (b == NULL || i == n || (b[i] != '{' && b[i] != '[') || n > INT_MAX)
		return 0;
	struct jv_parser *p = jv_parser_new(0);
	jv_parser_set_buf(p, b, (int)n, 1); /* partial: more could follow */
	jv v = jv_parser_next(p);
	/* No value and no error: it waits for the rest. */
	int cut = jv_get_kind(v) == JV_KIND_INVALID && !jv_invalid_has_msg(jv_copy(v));
	jv_free(v);
	jv_parser_free(p);
	return cut;
}

/* Says in out why the 2xx answer r, whose body is not JSON, is no answer:
 * the body's start, scrubbed (not jq's message: it quotes the whole body);
 * for a JSON value followed by other bytes, those bytes and where they
 * start (the body's start, an answer, told nothing). */
static void malformed_reason(const dp_http *h, const struct response *r, long status, char *out,
			     size_t outlen)
{
	char start[BODY_QUOTE_MAX + 1];
	size_t more = json_then_more(r);
	const char *b = r->body.data != NULL ? r->body.data : "";

	quote_scrubbed(h, b + more, r->body.len - more, BODY_QUOTE_MAX, start, sizeof start);
	if (more > 0)
		snprintf(out, outlen, "malformed response body (HTTP %ld, %zu bytes): a JSON answer followed"
			 " by other bytes at offset %zu: \"%s%s\"", status, r->body.len, more, start,
			 r->body.len - more > BODY_QUOTE_MAX ? "..." : "");
	else if (json_cut_short(r))
		snprintf(out, outlen, "malformed response body (HTTP %ld, %zu bytes): JSON cut short, its value"
			 " never closed (a compressed answer cut on its way?): \"%s%s\"", status, r->body.len,
			 start, r->body.len > BODY_QUOTE_MAX ? "..." : "");
	else
		snprintf(out, outlen, "malformed response body (HTTP %ld, %zu bytes): not JSON: \"%s%s\"", status,
			 r->body.len, start, r->body.len > BODY_QUOTE_MAX ? "..." : "");
}

/* The JSON of the 2xx body r, invalid when it is none.  jq 1.6's parser
 * refuses a high surrogate escape without its low half ("\ud800": a
 * server that cut an emoji's pair), which most JSON parsers read as
 * U+FFFD: such a body was failed, or after a first answer retried as a
 * 5xx to pay again for the same answer.  When the parse fails, a copy
 * with its lone surrogates written \uFFFD is parsed (text.h); a body that
 * parses pays nothing. */
static jv parse_answer(const struct response *r)
{
	const char *b = r->body.data != NULL ? r->body.data : "";
	jv v = dp_jscan_parse(b, r->body.len);
	char *copy;

	if (jv_is_valid(v) || r->body.len == 0 || (copy = malloc(r->body.len)) == NULL)
		return v;
	memcpy(copy, b, r->body.len);
	if (dp_json_lone_surrogates(copy, r->body.len) > 0) {
		jv_free(v);
		v = jv_parse_sized(copy, (int)r->body.len);
	}
	free(copy);
	return v;
}

/* Says in last why an attempt that did not succeed failed. */
static void describe(const dp_http *h, const dp_http_outcome *o, const struct response *r,
		     char *last, size_t lastlen)
{
	if (o->malformed) {
		malformed_reason(h, r, o->status, last, lastlen);
	} else if (o->transport != 0 && r->too_big) {
		snprintf(last, lastlen, "response over %zu bytes, more than this request can need",
			 r->body.max);
	} else if (o->local_errno != 0) {
		struct rlimit fds = {0};
		char limit[96] = "";
		if (o->local_errno == EMFILE && getrlimit(RLIMIT_NOFILE, &fds) == 0)
			snprintf(limit, sizeof limit, " (this process may open %llu files, ulimit -n:"
				 " raise it or lower --threads)", (unsigned long long)fds.rlim_cur);
		snprintf(last, lastlen, "%s: %s on this machine%s",
			 curl_easy_strerror((CURLcode)o->transport), strerror(o->local_errno), limit);
	} else if (o->hung) {
		snprintf(last, lastlen, "no answer while many requests sent after it were answered:"
			 " lost by the server, given up (as a timeout)");
	} else if (o->transport == CURLE_OPERATION_TIMEDOUT) {
		/* Which wait ran out, and which option sets it: libcurl's
		 * words alone left a user with a slow model guessing. */
		if (o->sent)
			snprintf(last, lastlen, "%s: no answer within --timeout %.3g s",
				 curl_easy_strerror(CURLE_OPERATION_TIMEDOUT), (double)h->o.timeout_ms / 1000);
		else
			snprintf(last, lastlen, "%s: no connection within %.3g s",
				 curl_easy_strerror(CURLE_OPERATION_TIMEDOUT), (double)connect_timeout_ms(h) / 1000);
	} else if (o->transport == CURLE_BAD_CONTENT_ENCODING && r->undecoded_status > 0) {
		/* libcurl's words alone ("Unrecognized or bad HTTP Content or
		 * Transfer-Encoding: Error while processing content unencoding:
		 * ...") did not say that the server answered, nor how. */
		char words[CURL_ERROR_SIZE];
		quote_scrubbed(h, r->errbuf, strlen(r->errbuf), sizeof words - 1, words, sizeof words);
		snprintf(last, lastlen, "HTTP %ld, its body not decodable (Content-Encoding: %s): %.200s",
			 r->undecoded_status, r->encoding[0] != '\0' ? r->encoding : "not given",
			 words[0] != '\0' ? words : curl_easy_strerror(CURLE_BAD_CONTENT_ENCODING));
	} else if (o->transport != 0) {
		/* libcurl's own words where it has them (which certificate
		 * check failed, which host and port were refused, a proxy's
		 * CONNECT answer), scrubbed; its code's words alone ("SSL
		 * peer certificate or SSH remote key was not OK") named no
		 * cause. */
		const char *code = curl_easy_strerror((CURLcode)o->transport);
		char words[CURL_ERROR_SIZE] = "", via[320] = "";
		/* Not for a connection's failure: its words name the host and
		 * port of the URL, which (with its credentials) stays out of
		 * messages; a certificate's name the host it was checked for. */
		if (!unreached(o->transport))
			quote_scrubbed(h, r->errbuf, strlen(r->errbuf), sizeof words - 1, words, sizeof words);
		if (h->proxy_var[0] != '\0')
			snprintf(via, sizeof via, " (through the proxy %s from $%s)", h->proxy, h->proxy_var);
		snprintf(last, lastlen, "%.60s%s%.200s%.200s", words[0] == '\0' || strstr(words, code) != NULL ? "" : code,
			 words[0] == '\0' || strstr(words, code) != NULL ? "" : ": ", words[0] != '\0' ? words : code,
			 via);
	} else {
		char reason[REASON_MAX + 32];
		server_reason(h, r, reason, sizeof reason);
		snprintf(last, lastlen, "HTTP %ld: %s", o->status, reason);
	}
}

/* Whether the 400 page r is a web server's answer to plain HTTP sent to
 * its TLS port: nginx's, Go's and Apache's words.  Each document failed
 * alone with that 400, a request each. */
static int plain_to_tls_page(const struct response *r)
{
	static const char *const said[] = {
		"plain HTTP request was sent to HTTPS port", /* nginx */
		"sent an HTTP request to an HTTPS server",   /* Go's net/http */
		"speaking plain HTTP to an SSL-enabled",     /* Apache httpd */
	};
	char head[1024];
	size_t len = r->body.len < sizeof head - 1 ? r->body.len : sizeof head - 1;

	if (r->body.data == NULL)
		return 0;
	memcpy(head, r->body.data, len);
	head[len] = '\0';
	for (size_t i = 0; i < sizeof said / sizeof said[0]; i++)
		if (strstr(head, said[i]) != NULL)
			return 1;
	return 0;
}

/* Whether an http:// base URL names a TLS port: the attempt o failed with
 * no HTTP answer (a connection reset, nothing, bytes that are not HTTP:
 * what TLS servers send to a plain request, Python's, OpenSSL's) while no
 * call has succeeded, and a TLS handshake with the same host and port
 * (nothing sent: the certificate is not checked) completes.  Probed once a
 * process, without a proxy (the proxy's answer would be judged).  Each
 * call was retried as weather or a server's fault: 3 calls x --retries
 * before "took connections but never answered: check the server". */
static int tls_port(dp_http *h, const dp_http_outcome *o)
{
	char url[sizeof h->origin + 8];

	if ((o->transport != CURLE_GOT_NOTHING && o->transport != CURLE_RECV_ERROR &&
	     o->transport != CURLE_WEIRD_SERVER_REPLY && o->transport != CURLE_UNSUPPORTED_PROTOCOL) ||
	    strncmp(h->origin, "http://", 7) != 0 || h->proxy_var[0] != '\0' || atomic_load(&h->oks) > 0 ||
	    atomic_exchange(&h->tls_probed, 1) != 0)
		return 0;
	snprintf(url, sizeof url, "https://%s", h->origin + 7);
	CURL *c = curl_easy_init();
	CURLcode rc = c == NULL ? CURLE_OUT_OF_MEMORY : CURLE_OK;
#define SET(opt, val)                                                                \
	do {                                                                         \
		if (rc == CURLE_OK)                                                  \
			rc = curl_easy_setopt(c, opt, val);                          \
	} while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_CONNECT_ONLY, 1L);
	SET(CURLOPT_PROXY, "");
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms(h));
	SET(CURLOPT_SSL_VERIFYPEER, 0L);
	SET(CURLOPT_SSL_VERIFYHOST, 0L);
#undef SET
	if (rc == CURLE_OK)
		rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	return rc == CURLE_OK;
}

/* Whether what attempt o got (r; json: a 2xx body read as JSON) shows a
 * server or a network set up wrong for every call, which no attempt, no
 * other document and no wait mends; why then says so and names the mend.
 * Each stopped the stage only after 3 calls, or never (every document
 * failed alone, a request each), with words that sent the user elsewhere:
 * a certificate not trusted ("took connections but never answered ...
 * check the server"), a redirect to another host ("the API refused the
 * run (credentials ...)": libcurl had dropped the key), a streamed answer
 * ("pages that are not JSON ... not a web page's"), a proxy asking for
 * its credentials ("HTTP 407: (no message)" for every document). */
static int misconfigured(const dp_http *h, const dp_http_outcome *o, const struct response *r, int json,
			 int tls_port, const char *last, char *why, size_t n)
{
	const char *b = r->body.data != NULL ? r->body.data : "";
	size_t skip = 0;

	while (skip < r->body.len && strchr(" \t\r\n", b[skip]) != NULL)
		skip++;
	if (o->transport == CURLE_PEER_FAILED_VERIFICATION || o->transport == CURLE_SSL_CACERT_BADFILE) {
		if (h->ca_file[0] != '\0' || h->ca_dir[0] != '\0')
			snprintf(why, n, "the model API's TLS certificate is not trusted (%.150s) by the CA"
				 " certificates given (%s%s%.80s%s%s%.80s): give the CA that signed it", last,
				 h->ca_file[0] != '\0' ? h->ca_var : "", h->ca_file[0] != '\0' ? "=" : "", h->ca_file,
				 h->ca_file[0] != '\0' && h->ca_dir[0] != '\0' ? ", " : "",
				 h->ca_dir[0] != '\0' ? "SSL_CERT_DIR=" : "", h->ca_dir);
		else
			snprintf(why, n, "the model API's TLS certificate is not trusted (%.200s): if the"
				 " server is the right one, give the CA that signed its certificate in"
				 " SSL_CERT_FILE=/path/ca.pem (or CURL_CA_BUNDLE; SSL_CERT_DIR for a directory)",
				 last);
	} else if (o->transport == CURLE_SSL_CONNECT_ERROR && atomic_load(&h->oks) == 0 &&
		   (strstr(r->errbuf, "wrong version number") != NULL ||
		    strstr(r->errbuf, "packet length too long") != NULL)) {
		/* OpenSSL's words for a first answer that is no TLS record: the
		 * port speaks plain HTTP.  Retried as a handshake's weather, it
		 * cost 3 calls x --retries (13 s) before "took connections but
		 * never answered".  Before any success only, as the mismatch
		 * below: a port that has answered over TLS speaks it (such bytes
		 * later are a middlebox's weather, not the URL's scheme). */
		snprintf(why, n, "the model API's port answers plain HTTP, not TLS (%.200s): use http:// in its"
			 " URL (%s), or the port where it serves https", last, url_from(h));
	} else if (tls_port || (o->transport == 0 && o->status == 400 && atomic_load(&h->oks) == 0 &&
				plain_to_tls_page(r))) {
		/* A 400 page after a success on the port is no TLS port's: a
		 * rejection, which may quote the request's own text. */
		snprintf(why, n, "the model API's port speaks TLS, not plain HTTP (%.200s): use https:// in its"
			 " URL (%s)", last, url_from(h));
	} else if (r->away[0] != '\0') {
		snprintf(why, n, "the model API answered HTTP %ld, a redirect to another host, %.100s:"
			 " not followed (neither the key nor the documents go to a host not given): if"
			 " that is the API, give its URL (%s)", o->status, r->away, url_from(h));
	} else if (o->transport == CURLE_TOO_MANY_REDIRECTS) {
		snprintf(why, n, "the model API redirected a call more than %d times (a loop?): check its"
			 " URL (%s)", MAX_REDIRECTS, url_from(h));
	} else if (o->status == 407 || r->connect_code == 407) {
		snprintf(why, n, "the proxy%s%.100s%s%s asks for credentials (HTTP 407): give them in its URL"
			 " (http://USER:PASSWORD@host:port)%s", h->proxy[0] != '\0' ? " " : "", h->proxy,
			 h->proxy_var[0] != '\0' ? " from $" : "", h->proxy_var,
			 h->proxy_var[0] != '\0' ? ", or name the API's host in NO_PROXY" : "");
	} else if (o->transport == 0 && o->status >= 200 && o->status < 300 && !json &&
		   (r->event_stream || (r->body.len - skip >= 5 && strncmp(b + skip, "data:", 5) == 0))) {
		char start[BODY_QUOTE_MAX + 1];
		quote_scrubbed(h, b + skip, r->body.len - skip, 60, start, sizeof start);
		snprintf(why, n, "the model API streamed its answer (server-sent events: \"%s...\") though"
			 " none was asked (\"stream\": false): docpipe reads whole JSON answers; turn"
			 " streaming off on the server or proxy", start);
	} else {
		return 0;
	}
	return 1;
}

/* What a call hands over (dp_http_post_json, dp_http_post_json_text). */
struct answer {
	int text;   /* in: the body's text, not its value */
	unsigned flags; /* in: DP_HTTP_SHRINKABLE or 0 */
	jv value;   /* out unless text: owned */
	char *data; /* out with text: owned (free()), NUL-terminated */
	size_t len;
	const dp_http_judge *judge; /* in: NULL or the caller's */
};

/* Whether the 2xx body r is JSON (0: not).  For a value (!text), *parsed
 * is it (owned).  For its text: 1 when the scan takes the body whole
 * (*parsed invalid), else jq's parse as for a value: a body only jq reads
 * (not RFC 8259, a lone surrogate) is handed over as jq's dump of it. */
static int read_answer(const struct response *r, int text, jv *parsed)
{
	size_t at = 0, n = r->body.len;
	const char *b = r->body.data;

	*parsed = jv_invalid();
	if (text && b != NULL && dp_jscan_value(b, n, &at) == 0) {
		while (at < n && (b[at] == ' ' || b[at] == '\t' || b[at] == '\n' || b[at] == '\r'))
			at++;
		if (at == n)
			return 1;
	}
	*parsed = parse_answer(r);
	return jv_is_valid(*parsed);
}

/* The members of the body's text t that take_body reads ("error" and the
 * token counts), as an object (owned), the last of repeated keys as jq
 * keeps; an empty object when t is no object. */
static jv envelope_of(dp_jspan t)
{
	static const char *const keys[] = {"\"error\"", "\"usage\"", "\"prompt_eval_count\"",
					   "\"eval_count\""};
	dp_jspan vals[sizeof keys / sizeof keys[0]];
	jv env = jv_object();

	dp_jscan_members(t, keys, vals, sizeof keys / sizeof keys[0]);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		jv x = vals[i].p != NULL ? dp_jscan_parse(vals[i].p, vals[i].n) : jv_invalid();
		if (jv_is_valid(x))
			env = jv_object_set(env, jv_string_sized(keys[i] + 1, (int)strlen(keys[i]) - 2), x);
		else
			jv_free(x);
	}
	return env;
}

/* A 2xx answer (json and parsed as read_answer gave them; parsed
 * consumed) into a; DP_HTTP_OK or DP_HTTP_FAILED (err set) when it is not
 * JSON, or when it is an error object some proxies answer with status 200
 * ({"error": ...}, not null): its message is the reason, not "malformed
 * response". */
static int take_body(dp_http *h, const char *path, struct response *r, long status,
		     size_t tokens, int json, jv parsed, struct answer *a, dp_err *err)
{
	if (!json) {
		char reason[DP_ERR_MAX];
		jv_free(parsed);
		malformed_reason(h, r, status, reason, sizeof reason);
		dp_err_set(err, "%s: %s", path, reason);
		return DP_HTTP_FAILED;
	}
	if (!atomic_load_explicit(&h->json_answered, memory_order_relaxed))
		atomic_store_explicit(&h->json_answered, 1, memory_order_relaxed);
	jv env = jv_is_valid(parsed) ? jv_copy(parsed)
				     : envelope_of((dp_jspan){r->body.data, r->body.len});
	jv e = jv_get_kind(env) == JV_KIND_OBJECT ? jv_object_get(jv_copy(env), jv_string("error"))
						    : jv_invalid();
	int is_error = jv_is_valid(e) && jv_get_kind(e) != JV_KIND_NULL;
	jv_free(e);
	if (is_error) {
		char reason[REASON_MAX + 32];
		server_reason(h, r, reason, sizeof reason);
		dp_err_set(err, "%s: HTTP %ld with an error instead of an answer: %s", path, status,
			   reason);
		jv_free(env);
		jv_free(parsed);
		return DP_HTTP_FAILED;
	}
	dp_stats_add(DP_STAT_TOKENS, (long)tokens_spent(env, tokens));
	jv_free(env);
	if (!a->text) {
		a->value = parsed;
	} else if (!jv_is_valid(parsed)) {
		a->data = dp_buf_take(&r->body, &a->len);
	} else {
		jv dump = jv_dump_string(parsed, 0);
		a->len = (size_t)jv_string_length_bytes(jv_copy(dump));
		if ((a->data = malloc(a->len + 1)) != NULL)
			memcpy(a->data, jv_string_value(dump), a->len + 1);
		jv_free(dump);
		if (a->data == NULL) {
			dp_err_set(err, "%s: out of memory", path);
			return DP_HTTP_FAILED;
		}
	}
	return DP_HTTP_OK;
}

/* The caller's judge of the answer a holds (taken: DP_HTTP_OK), called
 * while the request holds its place, so that a refusal it decides stops
 * every request after it.  Returns its verdict: DP_HTTP_OK, or
 * DP_HTTP_FAILED (err its reason) or DP_HTTP_REFUSED (the run refused for
 * its reason, err the first refusal's) with a's answer freed. */
static int judged(dp_http *h, struct answer *a, dp_err *err)
{
	dp_err why = {.msg = "the caller's judge refused the answer"};
	int rc = a->judge->fn(a->judge->arg, a->text ? NULL : &a->value, a->text ? a->data : NULL,
			      a->len, &why);

	if (rc == DP_HTTP_OK)
		return rc;
	if (rc == DP_HTTP_REFUSED) {
		dp_http_refuse(h, why.msg, err);
	} else {
		rc = DP_HTTP_FAILED;
		*err = why;
	}
	jv_free(a->value);
	a->value = jv_invalid();
	free(a->data);
	a->data = NULL;
	a->len = 0;
	return rc;
}

/* The caller's judge of a rejection (path: the call's; last: its reason),
 * called while the request holds its place.  Returns 1 when it refuses the
 * run (refused here, err the first refusal's reason), else 0. */
static int rejection_judged(dp_http *h, const struct answer *a, const char *path, const char *last,
			    dp_err *err)
{
	if (a->judge->rejected == NULL)
		return 0;
	dp_err_set(err, "%s: %s", path, last);
	if (a->judge->rejected(a->judge->arg, err) != DP_HTTP_REFUSED)
		return 0;
	char why[DP_ERR_MAX];
	snprintf(why, sizeof why, "%s", err->msg);
	dp_http_refuse(h, why, err);
	return 1;
}

/* The reason of a request not sent because the run was refused
 * (dp_http_not_sent). */
static const char not_sent[] =
	"not sent: the model API had refused the run (the stage's \"stopped:\" message says why)";

/* Under no lock: 1 when the run was refused; else counts the request about
 * to be sent. */
static int refused_or_count(dp_http *h, int retry)
{
	pthread_mutex_lock(&h->lock);
	if (h->refused) {
		pthread_mutex_unlock(&h->lock);
		return 1;
	}
	h->stats.requests++;
	if (retry)
		h->stats.retries++;
	pthread_mutex_unlock(&h->lock);
	dp_stats_add(DP_STAT_REQUESTS, 1);
	if (retry)
		dp_stats_add(DP_STAT_RETRIES, 1);
	return 0;
}

/* Under h->lock: the run refused (every later call fails at once, without
 * a request), its reason the first refusal's; err set to it. */
static void refuse_run(dp_http *h, dp_err *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void refuse_run(dp_http *h, dp_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!h->refused) {
		va_start(ap, fmt);
		vsnprintf(h->refused_msg, sizeof h->refused_msg, fmt, ap);
		va_end(ap);
	}
	h->refused = 1;
	dp_err_set(err, "%s", h->refused_msg);
}

/* The run refused by the answer of status (401, 403, or a 429 saying the
 * quota is exhausted; last: the answer), err set; each named with its
 * mend.  "Credentials" alone for every one sent the user to the key for a
 * 403 (a model or region the key is not allowed) and for a key never
 * sent. */
static void set_refused(dp_http *h, long status, const char *last, dp_err *err)
{
	char mend[200];

	if (status == 429)
		snprintf(mend, sizeof mend, "add credit or raise the quota of the key's account (or use"
			 " another key), then run it again");
	else if (status == 403)
		snprintf(mend, sizeof mend, "the key (its project or organization, or this network) is"
			 " not allowed this model or endpoint: check the key's permissions and the model");
	else if (h->key == NULL)
		snprintf(mend, sizeof mend, "no API key was sent: set %s",
			 h->o.key_from != NULL ? h->o.key_from : "one");
	else
		snprintf(mend, sizeof mend, "check the API key%s%s", h->o.key_from != NULL ? " in " : "",
			 h->o.key_from != NULL ? h->o.key_from : "");
	pthread_mutex_lock(&h->lock);
	refuse_run(h, err, "the API refused the run (%s%.300s): %s",
		   status == 429 ? "quota exhausted, " : status == 403 ? "permission, " : "credentials, ",
		   last, mend);
	pthread_mutex_unlock(&h->lock);
}

/* A wait of ms in words into out: in ms when not whole seconds (rounded,
 * a Retry-After of 300.4 read "wait 300 s ..., beyond the 300 s a call may
 * wait"), with hours beside from an hour on. */
static void wait_words(long ms, char *out, size_t n)
{
	int len = snprintf(out, n, ms % 1000 != 0 ? "%.3f s" : "%.0f s", (double)ms / 1000);

	if (ms >= 3600000 && len > 0 && (size_t)len < n)
		snprintf(out + len, n - (size_t)len, " (%.1f h)", (double)ms / 3600000);
}

/* What the stage's retry budget is called in a message: " (OPTION)", or
 * "" when it is set by no option. */
static const char *budget_named(const dp_http *h, char *out, size_t n)
{
	if (h->o.budget_option == NULL)
		return "";
	snprintf(out, n, " (%s)", h->o.budget_option);
	return out;
}

/* A wait the server asked for (Retry-After: ms; status and last: the
 * answer) beyond the whole retry budget: the run is refused, err set.
 * Pausing the stage for it failed every later document at once, unsent,
 * and the stage ended with exit 1 as if the documents were at fault (a
 * daily quota's 86400 s).  A 429's mend is the rate limit or quota; a
 * 5xx's (a server down, asking to come back later) is not: "raise the
 * rate limit or quota" sent the user to the account for the server's
 * trouble. */
static void refuse_wait(dp_http *h, long status, long ms, const char *last, dp_err *err)
{
	char wait[48];
	const char *option = h->o.budget_option;

	wait_words(ms, wait, sizeof wait);
	pthread_mutex_lock(&h->lock);
	if (status == 429)
		refuse_run(h, err, "the model API asked to wait %s before the next request (%.300s),"
			   " beyond the %.0f s a call may wait: run it again after that wait, or raise the"
			   " rate limit or quota%s%s", wait, last, (double)h->o.max_retry_ms / 1000,
			   option != NULL ? ", or " : "", option != NULL ? option : "");
	else
		refuse_run(h, err, "the model API asked to wait %s before the next request (%.300s),"
			   " beyond the %.0f s a call may wait: the server is down or overloaded, not"
			   " the rate limit or quota; run it again later%s%s", wait, last,
			   (double)h->o.max_retry_ms / 1000, option != NULL ? ", or raise " : "",
			   option != NULL ? option : "");
	pthread_mutex_unlock(&h->lock);
}

/* A call given up on a server that never answered in the process's life
 * (o: its last attempt's outcome, a transport error): never reached (a
 * wrong URL, a server not started), or reached and silent (it takes
 * connections and answers nothing: a dead backend behind a balancer, a
 * hung proxy; each attempt waits out --timeout, so a document failed every
 * 6 x 60 s per thread: a run of hours), or answering only bodies libcurl
 * cannot decode (a garbled or unknown Content-Encoding: said so, not
 * "never answered", fault sweep 27).  Counted; at
 * DP_HTTP_NEVER_REACHED_CALLS the run is refused (err set, returns 1).  A
 * shortage of this machine's (local_errno) or an answer over its bound
 * (too_big: the server did answer) says nothing of the server.  Returns 0
 * otherwise. */
static int never_reached(dp_http *h, const dp_http_outcome *o, const char *last, dp_err *err)
{
	int stop = 0;

	if (o->transport == 0 || o->too_big || o->local_errno != 0)
		return 0;
	pthread_mutex_lock(&h->lock);
	if (!h->answered && o->transport == CURLE_BAD_CONTENT_ENCODING)
		h->undecodable_calls++;
	if (!h->answered && ++h->never_reached_calls >= DP_HTTP_NEVER_REACHED_CALLS) {
		if (h->undecodable_calls > 0)
			refuse_run(h, err, "the model API answered %d of %d calls given up only with bodies that"
				   " could not be decoded (%.400s): the server or a proxy on the way garbles its"
				   " compressed answers; check it", h->undecodable_calls, h->never_reached_calls,
				   last);
		else if (h->reached)
			refuse_run(h, err, "the model API took connections but never answered, %d calls"
				   " given up (%.400s): check the server", h->never_reached_calls, last);
		else
			refuse_run(h, err, "the model API was never reached, %d calls given up (%.300s):"
				   " check its URL (%s)%s%s and that the server is running",
				   h->never_reached_calls, last, url_from(h),
				   h->proxy_var[0] != '\0' ? ", the proxy in $" : "", h->proxy_var);
		stop = 1;
	}
	pthread_mutex_unlock(&h->lock);
	return stop;
}

/* A call rejected with 404 or 405 while no call of the process has had a
 * 2xx: the URL's path is not the API's (OPENAI_BASE_URL without /v1, a
 * proxy's prefix the server lacks, the API's own path given twice) or the
 * server knows no such model, not this input: every document would fail
 * alike, a request each, over the whole corpus.  Counted; at
 * DP_HTTP_NEVER_REACHED_CALLS the run is refused (err set, returns 1).  A
 * 404 after a 2xx stays the input's (its document fails alone). */
static int never_found(dp_http *h, long status, const char *last, dp_err *err)
{
	int stop = 0;

	if ((status != 404 && status != 405) || atomic_load(&h->oks) > 0)
		return 0;
	pthread_mutex_lock(&h->lock);
	if (++h->not_found_calls >= DP_HTTP_NEVER_REACHED_CALLS && atomic_load(&h->oks) == 0) {
		refuse_run(h, err, "the model API answered %d calls with HTTP %ld and none with success"
			   " (%.300s): check its URL (%s: up to and with /v1 for OpenAI's API) and the"
			   " model's name", h->not_found_calls, status, last, url_from(h));
		stop = 1;
	}
	pthread_mutex_unlock(&h->lock);
	return stop;
}

/* A call answered 2xx with a body that is not JSON (r) while no call of
 * the process has had JSON: a web server or a proxy's own page at the URL
 * (a web UI's, a sign-in or block page), not the API; or JSON followed by
 * other bytes (a proxy's appendix), said so.  It fails at once
 * (no attempt would mend it), and so would every document, a request
 * each, over the whole corpus.  JSON cut short is tried again instead (a
 * cut on the way may not come twice), each attempt counted here: a
 * server or proxy that cuts every answer ends the run as soon.  Counted as never_found counts; at
 * DP_HTTP_NEVER_REACHED_CALLS the run is refused (err set, returns 1). */
static int never_json(dp_http *h, const struct response *r, long status, dp_err *err)
{
	char reason[DP_ERR_MAX];
	int stop = 0;

	malformed_reason(h, r, status, reason, sizeof reason);
	pthread_mutex_lock(&h->lock);
	if (++h->not_json_calls >= DP_HTTP_NEVER_REACHED_CALLS &&
	    !atomic_load_explicit(&h->json_answered, memory_order_relaxed)) {
		if (json_then_more(r) > 0)
			refuse_run(h, err, "the model API answered %d calls with HTTP %ld JSON followed by other"
				   " bytes and none with JSON alone (%.300s): the server or a proxy on the way"
				   " adds to its answers (several JSON values: an answer streamed?)",
				   h->not_json_calls, status, reason);
		else if (json_cut_short(r))
			refuse_run(h, err, "the model API answered %d calls with HTTP %ld JSON cut short and none"
				   " with JSON whole (%.300s): the server or a proxy on the way cuts its answers",
				   h->not_json_calls, status, reason);
		else
			refuse_run(h, err, "the model API answered %d calls with HTTP %ld pages that are not"
				   " JSON and none with JSON (%.300s): check its URL (%s: the API's, not a"
				   " web page's or a proxy's sign-in page)", h->not_json_calls, status, reason,
				   url_from(h));
		stop = 1;
	}
	pthread_mutex_unlock(&h->lock);
	return stop;
}

void dp_http_refuse(dp_http *h, const char *why, dp_err *err)
{
	pthread_mutex_lock(&h->lock);
	refuse_run(h, err, "%s", why);
	pthread_mutex_unlock(&h->lock);
}

const char *dp_http_refused_reason(dp_http *h)
{
	pthread_mutex_lock(&h->lock);
	const char *why = h->refused ? h->refused_msg : "";
	pthread_mutex_unlock(&h->lock);
	return why;
}

int dp_http_not_sent(dp_http *h, dp_err *err)
{
	if (dp_http_refused_reason(h)[0] == '\0')
		return 0;
	dp_err_set(err, "%s", not_sent);
	return 1;
}

int dp_http_is_not_sent(const char *why)
{
	return strcmp(why, not_sent) == 0;
}

/* The call's closing message when it gives up after attempts attempts. */
static void gave_up(const char *path, int attempts, double start, const char *last, dp_err *err)
{
	dp_err_set(err, "%s: gave up after %d attempt%s in %.1f s: %s", path, attempts,
		   attempts == 1 ? "" : "s", (dp_clock_ms() - start) / 1000, last);
}

/* last (the last attempt's reason) and why a call given up at its retry
 * budget (v.over_budget: the wait before its next attempt, delay_ms, asked
 * by the server (asked) or its backoff, ends past the budget) ends, into
 * out.  Said as the attempts alone ("gave up after 1 attempt" with
 * --retries 6 left, a Retry-After of 600 s against a budget of 5 s),
 * neither the wait nor the option that bounds it was named. */
static void past_budget(const dp_http *h, int asked, long delay_ms, const char *last, char *out,
			size_t n)
{
	char wait[48], named[64];

	wait_words(delay_ms, wait, sizeof wait);
	snprintf(out, n, "%.250s; not tried again: the wait before the next attempt (%.40s, %s) would end"
		 " past the %ld s a call may wait%.30s", last, wait, asked ? "asked by the server" : "its backoff",
		 (h->o.max_retry_ms + 500) / 1000, budget_named(h, named, sizeof named));
}

/* last (the last attempt's reason) and the mend of a call given up after
 * its attempts, all spent on failures (5xx, no answer ...), into out:
 * said as "gave up after 6 attempts" alone, it named neither the option
 * that bounds them nor that a later run tries the document again. */
static void attempts_spent(const dp_http *h, const char *last, char *out, size_t n)
{
	snprintf(out, n, "%.300s; not tried again: its attempts%s%.30s%s were spent (a later run tries"
		 " again)", last, h->o.attempts_option != NULL ? " (" : "",
		 h->o.attempts_option != NULL ? h->o.attempts_option : "",
		 h->o.attempts_option != NULL ? ")" : "");
}

/* Counts a caller sleeping out a wait the server asked for (by +1, then
 * -1 when it wakes), for said_waiting. */
static void asked_wait(dp_http *h, int by)
{
	pthread_mutex_lock(&h->lock);
	h->asked_waits += by;
	said_waiting(h);
	pthread_mutex_unlock(&h->lock);
}

/* dp_http_post_json and dp_http_post_json_text: the answer into a. */
static int post(dp_http *h, const char *path, jv body, size_t tokens, size_t max_response,
		struct answer *a, dp_err *err)
{
	const dp_http_policy policy = {h->o.max_attempts, h->o.max_retry_ms, h->o.backoff_base_ms};
	size_t urllen = strlen(h->base) + strlen(path) + strlen(h->query) + 1;
	char *url = malloc(urllen), last[DP_ERR_MAX] = "no attempt";
	double start = dp_clock_ms();
	int status = DP_HTTP_FAILED, counted = 0, throttles = 0, retrying = 0, hung = 0;
	struct call_record call = {0};
	struct caller *t = this_caller(h);
	/* The request's text: jq's compact dump, written by the library's
	 * writer (json.h: jq's own dump of a batch's texts cost embed a
	 * tenth of its CPU). */
	dp_json_buf text;
	dp_err unwritten;

	dp_buf_init(&text, 0);
	int written = dp_json_append(&text, body, &unwritten);
	jv_free(body);
	if (url == NULL || t == NULL || written < 0) {
		free(url);
		dp_json_buf_free(&text);
		dp_http_give_back_place(h);
		dp_err_set(err, "%s: %s", path, written < 0 ? unwritten.msg : "out of memory");
		return DP_HTTP_FAILED;
	}
	snprintf(url, urllen, "%s%s%s", h->base, path, h->query);
	for (;;) {
		struct response r = {.retry_after_ms = -1, .req = {-1, -1, -1}, .tok = {-1, -1, -1}};
		dp_http_outcome o = {0};
		struct slot sl;

		dp_buf_init(&r.body, max_response > 0 && max_response < RESPONSE_MAX ? max_response
										      : RESPONSE_MAX);
		acquire(h, t, retrying, tokens, &sl);
		/* Checked after the wait: a refusal or an abandoned stage (its
		 * output has no receiver left, stop.h) costs no request. */
		if (dp_abandon_requested()) {
			release(h, &sl, NULL, NULL, tokens);
			dp_err_set(err, "%s: not asked: the stage stopped and its output has no receiver", path);
			break;
		}
		if (refused_or_count(h, counted + throttles > 0)) {
			release(h, &sl, NULL, NULL, tokens);
			/* A retry: the call was sent, its attempts so far said
			 * (the last one's answer, not the run's); not "gave
			 * up": the call did not spend its attempts. */
			if (counted + throttles > 0) {
				int n = counted + throttles;
				dp_err_set(err, "%s: %d attempt%s in %.1f s, then %s; the last attempt: %.300s", path,
					   n, n == 1 ? "" : "s", (dp_clock_ms() - start) / 1000, not_sent, last);
			} else {
				dp_err_set(err, "%s", not_sent);
			}
			status = DP_HTTP_REFUSED;
			break;
		}
		perform(h, t->curl, url, &text, tokens, sl.sent_ms, !hung, &r, &o);
		hung |= o.hung;
		/* A 2xx whose body is not JSON from a server that has answered
		 * JSON (a proxy's page, an answer cut by a gateway) is tried
		 * again like a 5xx; from one that never has (a wrong URL's web
		 * server) it fails at once, as no attempt would mend it, unless
		 * it is JSON cut short: an answer, cut on its way (before, the
		 * first answers so cut failed their documents unretried, and
		 * three stopped the stage: "pages that are not JSON ... check
		 * its URL", fault sweep 27). */
		jv parsed = jv_invalid();
		int json = 0;
		if (o.transport == 0 && o.status >= 200 && o.status < 300) {
			json = read_answer(&r, a->text, &parsed);
			o.malformed = !json && (atomic_load_explicit(&h->json_answered, memory_order_relaxed) ||
						json_cut_short(&r));
		}
		note_server(h, &o, &call, tokens);
		dp_http_verdict v = dp_http_decide(&policy, &o, counted, throttles,
						   (long)(dp_clock_ms() - start), jitter(h));
		if (v.action != DP_HTTP_DO_OK)
			describe(h, &o, &r, last, sizeof last);
		char config[DP_ERR_MAX];
		int misset = misconfigured(h, &o, &r, json, o.transport != 0 && tls_port(h, &o), last, config,
					   sizeof config);
		if (misset)
			v.action = DP_HTTP_DO_REFUSE;
		/* Stage-wide effects before the place is given back: no request
		 * may slip in.  So are the refusals a count decides (their
		 * reason in why): counted after the release, a 404 let the
		 * other threads send more (6 requests at --threads 2). */
		dp_err why;
		int refused_now = 0;
		int shrink = (a->flags & DP_HTTP_SHRINKABLE) && v.action != DP_HTTP_DO_OK &&
			     unanswered_in_time(&o);
		if (misset)
			dp_http_refuse(h, config, err);
		else if (v.wait_refused)
			refuse_wait(h, o.status, o.retry_after_ms, last, err);
		else if (v.action == DP_HTTP_DO_REFUSE)
			set_refused(h, o.status, last, err);
		else if (v.action == DP_HTTP_DO_REJECT &&
			 !(refused_now = never_found(h, o.status, last, &why)) && a->judge != NULL)
			refused_now = rejection_judged(h, a, path, last, &why);
		else if (v.action == DP_HTTP_DO_GIVE_UP && !shrink)
			refused_now = never_reached(h, &o, last, &why);
		else if ((v.action == DP_HTTP_DO_OK && !json) ||
			 (o.malformed && !atomic_load_explicit(&h->json_answered, memory_order_relaxed)))
			refused_now = never_json(h, &r, o.status, &why);
		/* The answer taken and judged before the release too: a
		 * refusal its judge decides is one of those. */
		if (v.action == DP_HTTP_DO_OK) {
			status = take_body(h, path, &r, o.status, tokens, json, parsed, a, err);
			parsed = jv_invalid();
			if (status == DP_HTTP_OK && a->judge != NULL)
				status = judged(h, a, err);
		}
		retrying = v.action == DP_HTTP_DO_RETRY && !shrink && !refused_now;
		if (retrying)
			count_retrying(h);
		release(h, &sl, &o, &r, tokens);
		counted += v.counts;
		throttles += !v.counts && v.action != DP_HTTP_DO_OK;
		if (shrink) {
			dp_err_set(err, "%s: %s", path, last);
			status = DP_HTTP_TIMED_OUT;
		} else if (v.action == DP_HTTP_DO_REFUSE) {
			status = DP_HTTP_REFUSED;
		} else if (v.action == DP_HTTP_DO_REJECT) {
			dp_err_set(err, "%s: %s", path, last);
			status = DP_HTTP_REJECTED;
		} else if (v.action == DP_HTTP_DO_GIVE_UP) {
			char ended[DP_ERR_MAX];
			int spent = !v.over_budget && v.counts && counted >= h->o.max_attempts;
			if (v.over_budget)
				past_budget(h, v.delay_ms == o.retry_after_ms, v.delay_ms, last, ended,
					    sizeof ended);
			else if (spent)
				attempts_spent(h, last, ended, sizeof ended);
			gave_up(path, counted + throttles, start, v.over_budget || spent ? ended : last, err);
			/* Its kind: given up on weather, or on an answer that came
			 * wrong (a body not JSON from a server already seen, retried
			 * as a 5xx is: embed's send_items sends a lone document's
			 * request once more for it, as a shared request's halves
			 * are sent again). */
			if ((v.over_budget || spent) && !o.malformed)
				err->kind = DP_ERR_SPENT;
			if (o.transport != 0 && !hung)
				status = DP_HTTP_UNREACHABLE;
		}
		if (refused_now) {
			dp_err_set(err, "%s", why.msg);
			status = DP_HTTP_REFUSED;
		}
		jv_free(parsed);
		dp_buf_free(&r.body);
		if (!retrying)
			break;
		int asked = o.retry_after_ms > 0 && v.delay_ms >= DP_HTTP_SAID_WAIT_MS;
		if (asked)
			asked_wait(h, 1);
		dp_sleep_ms((double)v.delay_ms);
		if (asked)
			asked_wait(h, -1);
	}
	free(url);
	dp_json_buf_free(&text);
	return status;
}

int dp_http_post_json(dp_http *h, const char *path, jv body, size_t tokens, size_t max_response,
		      const dp_http_judge *judge, jv *resp, dp_err *err)
{
	struct answer a = {.value = jv_invalid(), .judge = judge};
	int rc = post(h, path, body, tokens, max_response, &a, err);

	*resp = a.value;
	return rc;
}

int dp_http_post_json_text(dp_http *h, const char *path, jv body, size_t tokens,
			   size_t max_response, unsigned flags, const dp_http_judge *judge,
			   char **answer, size_t *len, dp_err *err)
{
	struct answer a = {.text = 1, .flags = flags, .value = jv_invalid(), .judge = judge};
	int rc = post(h, path, body, tokens, max_response, &a, err);

	*answer = a.data;
	*len = a.len;
	return rc;
}
