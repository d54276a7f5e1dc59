/* A JSON-over-HTTP client for model APIs (libcurl), shared by the threads
 * of one stage.
 *
 * What it owns, so that callers only see "result" or "why not":
 *   - one curl easy handle per calling thread, kept between requests
 *     (keep-alive);
 *   - the retry policy (dp_http_decide, a pure function: the table in
 *     README.md "Model APIs" and its unit tests);
 *   - the requests in flight: a fixed level or one found at run time
 *     (limiter.h), shared by every thread, within --rpm / --tpm and
 *     within the rate limit the server announces in its headers
 *     (dp_http_ratelimit_interval_ms): the slower of the two wins;
 *   - refusals for good (401, 403, a 429 whose error is
 *     insufficient_quota, a wait asked for (Retry-After) beyond the whole
 *     retry budget): reported as DP_HTTP_REFUSED, and every later call
 *     returns the same at once, without a request.
 * The API key is sent in a header only: it never appears in an error
 * message, and neither does the base URL (which may hold credentials;
 * libcurl's words on a certificate name its host).  A server or network
 * set up so that no call can succeed (a certificate not trusted, a
 * redirect to another origin, which is never followed, a redirect loop, a
 * proxy's 407, answers streamed as server-sent events, https:// to a plain
 * HTTP port or http:// to a TLS port) refuses the run at its first
 * occurrence (DP_HTTP_REFUSED), the mend said. */
#ifndef DP_HTTP_H
#define DP_HTTP_H

#include <stddef.h>
#include <time.h>

#include <jv.h>

#include "err.h"

typedef struct dp_http_opts {
	const char *base_url;    /* e.g. "https://api.openai.com/v1"; http or https only */
	const char *api_key;     /* NULL or empty: none sent; else as "Authorization:
				  * Bearer", or "api-key" to Azure's classic API
				  * (a base path holding /openai/deployments/) */
	long timeout_ms;         /* per attempt; 0: 60000 */
	int max_attempts;        /* 0: 6 */
	long max_retry_ms;       /* total time one call may spend; 0: 300000 */
	const char *budget_option; /* the option setting max_retry_ms, named in
				    * the refusal of a longer wait and a call
				    * given up at it (a string literal: kept as
				    * is); NULL: none */
	const char *attempts_option; /* the option setting max_attempts, named
				      * in a call given up after them (as
				      * budget_option); NULL: none */
	const char *url_from;    /* where the base URL is set, named in messages
				  * that say to check it ("--base-url,
				  * OLLAMA_HOST"; a string literal); NULL:
				  * "--base-url, OPENAI_BASE_URL" */
	const char *key_from;    /* where api_key came from ("--api-key-file",
				  * "$OPENAI_API_KEY"), or the variable that
				  * would hold it, named in the refusal of a 401
				  * (a string literal); NULL: not said */
	double rpm;              /* requests per minute; 0: unlimited */
	double tpm;              /* tokens per minute; 0: unlimited */
	int max_in_flight;       /* the level (fixed), or its cap (autotune); 0: 1 */
	int autotune;            /* --threads auto: find the level (limiter.h) */
	long backoff_base_ms;    /* first backoff; 0: 500 (tests make it short) */
	char env_url[256];       /* dp_http_resolve_server's URL made of $OLLAMA_HOST */
} dp_http_opts;

#define DP_OPENAI_BASE_DEFAULT "https://api.openai.com/v1"
#define DP_OLLAMA_BASE_DEFAULT "http://127.0.0.1:11434"

/* Sets o->base_url and o->api_key: the given values (a --base-url, a key
 * from --api-key-file), else the backend's own variables (empty counts as
 * unset): $OPENAI_BASE_URL and $OPENAI_API_KEY for the OpenAI-compatible
 * backend, $OLLAMA_HOST ([scheme://]host[:port], as Ollama's clients read
 * it) and $OLLAMA_API_KEY for ollama -- an OpenAI key exported for OpenAI
 * never goes to an Ollama server -- else the backend's default server (a
 * local Ollama; OpenAI) and no key.  The strings are borrowed (from the
 * arguments, the environment or o->env_url).  And o->url_from and
 * o->key_from, the backend's: where its URL is set, where the key came
 * from (or the variable a key would come from). */
void dp_http_resolve_server(dp_http_opts *o, const char *base_url, const char *api_key,
			    int ollama);

typedef struct dp_http dp_http;

enum dp_http_status {
	DP_HTTP_OK = 0,
	DP_HTTP_FAILED = -1,    /* this call failed (retries exhausted, malformed
				 * response): err says why; others may succeed */
	DP_HTTP_REJECTED = -2,  /* the server rejected this request's content
				 * (400, 404, 413, 422): err has its reason */
	DP_HTTP_REFUSED = -3,   /* quota or credentials: stop the stage */
	DP_HTTP_UNREACHABLE = -4, /* no usable answer came (connection, TLS,
				   * redirects, timeouts): err says why; other
				   * content would fare no better */
	DP_HTTP_TIMED_OUT = -5, /* DP_HTTP_SHRINKABLE only: sent and not
				 * answered within --timeout, not retried:
				 * smaller requests may be answered in time */
};

/* Returns NULL with err set (bad URL scheme, out of memory).  Copies what
 * it keeps from opts. */
dp_http *dp_http_new(const dp_http_opts *opts, dp_err *err);
void dp_http_free(dp_http **h);

/* A caller's judge of a call's answer: what the caller reads in an
 * answer that can refuse the run (a count of answers no request can mend:
 * cut at the server's output limit, vectors of another size) is read
 * before the request's place in flight is given back, as dp_http's own
 * counts (404s, pages that are not JSON, a server never reached) are, so
 * that no request is sent after the answer that refuses the run.  Read
 * after it, each caller waiting for a place sent one more, each paid (6
 * requests at --threads 2 where 4 was the bound).
 *
 * fn is called once per call, with the 2xx JSON answer that the call
 * would hand over: for dp_http_post_json its value (*value, borrowed:
 * jv_copy what is kept; text NULL), for dp_http_post_json_text its text
 * (text[0..len), borrowed; value NULL).  It returns DP_HTTP_OK (the call
 * hands the answer over), DP_HTTP_FAILED with err set (the call fails
 * with err, the answer freed), or DP_HTTP_REFUSED with err set to the
 * reason (the run is refused with it, as dp_http_refuse does, before the
 * place is given back; the call returns DP_HTTP_REFUSED, the answer
 * freed).  It runs while the request holds its place: keep it to reading
 * the answer.  arg is the caller's, passed to fn and rejected.
 *
 * rejected, when not NULL, is the judge of a rejection (the call would
 * return DP_HTTP_REJECTED): called once per rejected call, also before the
 * place is given back, with err holding the call's reason (the server's
 * message, its ' (param "...")' when it names one).  It returns
 * DP_HTTP_REJECTED (the call is rejected, err its reason as before) or
 * DP_HTTP_REFUSED with err set to the reason (the run is refused with it,
 * as by fn).  Why: a count of rejections that refuses the run (an option
 * the server refuses for every request), kept by the caller after the
 * call, let each caller waiting for the place send one more request. */
typedef struct dp_http_judge {
	int (*fn)(void *arg, const jv *value, const char *text, size_t len, dp_err *err);
	void *arg;
	int (*rejected)(void *arg, dp_err *err);
} dp_http_judge;

/* POSTs body (consumed) as JSON to base_url + path.  tokens is the
 * request's estimated token count for the tokens-per-minute budget.
 * max_response bounds the response body as received and decoded (gzip
 * counts inflated): what the request can need, so that a server's or
 * proxy's huge answer (a gzip bomb) holds no more memory than that per
 * request in flight; 0 or over 256 MiB: 256 MiB.  A body over it fails the
 * call, not retried.  judge: NULL, or the caller's judge of the answer
 * (above).  On DP_HTTP_OK *resp holds the parsed response (owned), else
 * an invalid value.  Thread-safe. */
int dp_http_post_json(dp_http *h, const char *path, jv body, size_t tokens, size_t max_response,
		      const dp_http_judge *judge, jv *resp, dp_err *err);

/* dp_http_post_json for an answer read in place: on DP_HTTP_OK *answer
 * holds the body's text (owned: free(); NUL-terminated) and *len its
 * length, one JSON value as jq reads it (a body only jq reads is handed
 * over as jq's dump of it: dp_jscan_value takes it whole), without an
 * "error" member; else *answer is NULL.  Why: an embedding answer holds
 * thousands of numbers, which as jv values cost the stage more CPU than
 * the rest of its work. */
int dp_http_post_json_text(dp_http *h, const char *path, jv body, size_t tokens,
			   size_t max_response, unsigned flags, const dp_http_judge *judge,
			   char **answer, size_t *len, dp_err *err);

/* flags of dp_http_post_json_text.  DP_HTTP_SHRINKABLE: the caller can send
 * the request's content in smaller requests (an embedding batch of several
 * inputs).  An attempt sent and not answered within --timeout then ends
 * the call with DP_HTTP_TIMED_OUT.  Why: a request's size may be why it is
 * slow, and the same request sent again waits out --timeout again (a
 * batch of 64 inputs at 2.6 s against --timeout 2 failed all its documents
 * after 6 attempts: fault sweep 17); the caller's smaller parts tell (an
 * outage's timeouts are waited out by them as weather).  Such a call is
 * not counted as given up on a server that never answers: its parts are. */
#define DP_HTTP_SHRINKABLE 1u

/* Late binding, for a scheduler that chooses its next request only when
 * one can leave: waits for a place in flight, first come first served as
 * dp_http_post_json does, and holds it for the calling thread's next
 * dp_http_post_json (whose first attempt then does not queue; its retries
 * do).  A place taken and not used is given back with
 * dp_http_give_back_place (which does nothing when the thread holds
 * none).  Out of memory, it takes none: the request queues when made. */
void dp_http_take_place(dp_http *h);
void dp_http_give_back_place(dp_http *h);

/* Counters since dp_http_new, for the stage's closing diagnostics. */
typedef struct dp_http_stats {
	unsigned long requests; /* attempts sent */
	unsigned long retries;
	unsigned long throttled; /* 429 answers */
	unsigned long hung;      /* attempts given up as lost by the server (hung) */
	int level;               /* requests allowed in flight now */
	int highest;             /* the highest level reached */
	unsigned long decreases; /* times the level was lowered (and stayed so) */
	unsigned long undone;    /* decreases undone: the losses were weather */
	unsigned long late;      /* fixed level above 1: answers (or give-ups)
				  * over half of --timeout and 1.25x their
				  * size's quickest (limiter.h, "Late answers") */
	double weather;          /* auto: the loss fraction taken for weather */
	unsigned long answered;  /* 2xx answers */
} dp_http_stats;
void dp_http_get_stats(dp_http *h, dp_http_stats *out);
/* Refuses the run as the server's refusals do, for a reason its caller
 * read in the answers (every later call fails at once, without a
 * request); err set to the reason, the first refusal's if there was one.
 * Called after a call, the call's place is already given back: a reason
 * read in a 2xx answer is a judge's (dp_http_judge). */
void dp_http_refuse(dp_http *h, const char *why, dp_err *err);
/* Why the run was refused (quota, credentials, a server never reached):
 * "" while it is not.  Borrowed: valid while h is; read once the calls are
 * done. */
const char *dp_http_refused_reason(dp_http *h);
/* 1 when the run is refused, with err set to what a request not sent for
 * it says, else 0: a caller's check before it builds a request
 * (summarize's scheduler, embed's batches).  One wording, dp_http's own
 * calls that meet the refusal waiting for a place say it too: not the
 * run's reason, which reads as if this request had been refused (its
 * document sent and turned away); that is said once, in the stage's
 * closing "stopped:" message (dp_api_finish), and by the error of the
 * request refused. */
int dp_http_not_sent(dp_http *h, dp_err *err);
/* Whether why is that reason: a document's error is its first failure,
 * but a request of its own refused or failed outranks one not sent (its
 * other request, sent first, may settle last). */
int dp_http_is_not_sent(const char *why);

/* Requests allowed in flight now (the limiter's level). */
int dp_http_level(dp_http *h);

/* Parses a Retry-After value (seconds, possibly fractional, or an
 * HTTP-date, waited for until then from now, the wall clock's time) or,
 * with is_ms, a retry-after-ms value (a number only).  Returns
 * milliseconds (at most a day; 0 for a date already past), or -1 when the
 * value is neither. */
long dp_http_parse_retry_after(const char *value, int is_ms, time_t now);

/* A rate limit announced in an answer's headers, as OpenAI-compatible
 * servers do: x-ratelimit-limit-requests (per minute),
 * x-ratelimit-remaining-requests, x-ratelimit-reset-requests (the time
 * until the budget is whole again: "1s", "6m0s", "20ms"), and the same
 * with -tokens.  -1 where absent. */
typedef struct dp_http_ratelimit {
	double limit, remaining, reset_ms;
} dp_http_ratelimit;

/* Parses a duration as OpenAI writes it: numbers with units h, m, s, ms,
 * us, ns ("6m0s", "1.5s", "20ms"); a bare number is seconds.  Returns ms,
 * or -1 when it is not one. */
double dp_http_parse_duration_ms(const char *value);

/* The pacing a server's announced limit asks for: the least time between
 * two sends (for tokens, per token).  With a limit, 5% under its mean rate
 * (60000 / limit), faster only while more than half the budget is left
 * (the budget: remaining + what the mean rate refills until the reset),
 * spending the part above half evenly until the reset.  So a token bucket
 * is kept about half full (answers in flight and jitter do not meet an
 * empty one) and a window's surplus is used.  No limit: remaining spread
 * evenly until the reset (nothing left: reset_ms).  Nothing announced: 0.
 * Never more than the mean interval: one low reading must not hold back
 * the sends queued behind it. */
double dp_http_ratelimit_interval_ms(const dp_http_ratelimit *rl);

/* The backoff before retry number `attempt` (1 = first retry): min(base *
 * 2^(attempt-1), 8 s), times a jitter factor in [0.5, 1), raised to at
 * least retry_after_ms.  jitter01 is a number in [0, 1). */
long dp_http_backoff_ms(int attempt, long base_ms, long retry_after_ms, double jitter01);

/* The retry policy, a pure function of what one attempt got. */
typedef struct dp_http_outcome {
	int transport;        /* the CURLcode of the transfer: 0 when an answer came */
	int too_big;          /* the answer was over the size limit */
	int malformed;        /* a 2xx whose body is not JSON, from a server that
			       * answered JSON before: tried again as a 5xx */
	long status;          /* its HTTP status (transport == 0) */
	long retry_after_ms;  /* Retry-After / retry-after-ms, -1 when absent */
	int quota;            /* its body names insufficient_quota */
	int connected;        /* the attempt opened a connection (CURLINFO_NUM_CONNECTS) */
	int sent;             /* its request went out (CURLINFO_REQUEST_SIZE): a timeout
			       * then waited for the answer, not for a connection */
	int hung;             /* given up as lost by the server (http.c, watch_hung):
			       * no byte of an answer after many times its size
			       * class's time while many requests sent after it
			       * were answered; a transport error (counts) */
	int server_seen;      /* the server answered an earlier request of this process,
			       * or took its connection and then failed it otherwise
			       * than by not being reached (it was there) */
	int server_down;      /* ... and since its last 2xx, DP_HTTP_DOWN_CALLS or more
			       * distinct calls met a 5xx or a transport error */
	int server_stormy;    /* among the last DP_HTTP_STORM_ANSWERS answers, other
			       * calls met server errors or 429s too: DP_HTTP_DOWN_CALLS
			       * or more distinct calls with this one; or this call
			       * met more 429s than server errors before (a lone
			       * call in a rate-limit storm, such as a run's last:
			       * no other call's errors can show the storm, and its
			       * 500s among 429s spent its attempts: the fault
			       * suite's storm_burst failed a document 1 run in 2) */
	int errors_before;    /* server errors the call met before this attempt */
	long throttle_wait_ms; /* for a server error, when the call met more 429s
				* than server errors before it, the wait its last 429 asked
				* (the server's own pace, which a 5xx without
				* Retry-After among them is retried at); 0 when
				* none was asked or otherwise */
	int local_errno;      /* the transfer failed for want of something on this
			       * machine (EMFILE, ENFILE, ENOMEM, ENOBUFS: libcurl says
			       * "couldn't connect"): neither the server's weather
			       * nor its error, and its attempts count; 0 otherwise */
} dp_http_outcome;

/* Distinct calls failing with server errors and no 2xx between them that
 * make the server down for everyone: its errors then say nothing of the
 * request (a poison input fails alone while others succeed; a single
 * thread's one failing call is never "down").  Until its next 2xx the
 * process waits on the model API (stats.h "waiting"). */
#define DP_HTTP_DOWN_CALLS 3
/* Distinct calls given up on a server that never answered in the process's
 * life (never reached: a wrong URL or host name, a server not started; or
 * taking connections and answering nothing: a dead backend behind a
 * balancer) that stop the stage as a refusal does (DP_HTTP_REFUSED): each
 * later call would fail alike after its attempts, a document at a time (a
 * wrong URL over 1,105 files: 582 s, 4,827 attempts, 1,043 documents
 * failed one by one). */
#define DP_HTTP_NEVER_REACHED_CALLS 3
/* A wait the server asks for (Retry-After) this long or longer is said in
 * the stage's stats as a wait on the model API, for the hub (stats.h
 * dp_stats_wait_begin); a storm's waits of a fraction of a second are not. */
#define DP_HTTP_SAID_WAIT_MS 1000
/* The answers (any call's, any outcome) in which a server error is weather
 * when DP_HTTP_DOWN_CALLS distinct calls met a server error or a 429: a
 * storm of 5xx and 429s among successes (an overloaded provider) is the
 * server's, not the request's, though 2xx come between them; a call alone
 * in its failures (a poison input) still uses up its attempts (in a storm
 * its errors are weather too: it fails when the retry budget ends). */
#define DP_HTTP_STORM_ANSWERS 32

typedef struct dp_http_policy {
	int max_attempts;     /* attempts that are not 429s */
	long max_retry_ms;    /* total time one call may spend */
	long backoff_base_ms;
} dp_http_policy;

enum dp_http_action {
	DP_HTTP_DO_OK,      /* 2xx: take the answer */
	DP_HTTP_DO_RETRY,   /* after delay_ms */
	DP_HTTP_DO_GIVE_UP, /* this call fails (DP_HTTP_FAILED, or
			     * DP_HTTP_UNREACHABLE after a transport error) */
	DP_HTTP_DO_REJECT,  /* the server rejected this request (DP_HTTP_REJECTED) */
	DP_HTTP_DO_REFUSE,  /* quota or credentials: stop the stage (DP_HTTP_REFUSED) */
};

typedef struct dp_http_verdict {
	enum dp_http_action action;
	long delay_ms;       /* DP_HTTP_DO_RETRY: wait this long */
	int counts;          /* 1 when this attempt used one of max_attempts */
	int wait_refused;    /* DP_HTTP_DO_REFUSE for a wait asked for (a 429's or
			      * a down server's Retry-After) beyond the whole
			      * retry budget: no call can be answered within it */
	int over_budget;     /* DP_HTTP_DO_GIVE_UP because the wait before the
			      * next attempt (delay_ms) would end past the
			      * retry budget, not for want of attempts */
} dp_http_verdict;

/* What to do after an attempt.  attempts: earlier attempts of the call
 * that counted; throttles: its earlier ones that did not (429s, a server
 * not reached); elapsed_ms: time since the
 * call began; jitter01 in [0, 1).  The rows (README.md "Model APIs"):
 *   2xx                                  ok
 *   401, 403; 429 insufficient_quota     refuse
 *   429 with Retry-After                 retry after exactly that wait; the
 *                                        attempt does not count
 *   429 without                          retry after backoff(throttles); does
 *                                        not count
 *   server not reached (connection       the same, once the server has answered
 *   refused, name not resolved)          or taken a connection (server_seen): an
 *                                        outage says nothing of the request;
 *                                        only the budget bounds it
 *   5xx, transport errors while the      the same (not sooner than Retry-After):
 *   server is down (server_down)         it fails every call, not this one
 *   408, 409, 5xx, other transport       retry after backoff(attempts), not
 *   errors (timeout, reset...)           sooner than Retry-After; counts
 *   other 4xx/3xx                        reject
 *   bad URL/protocol, too many redirects,
 *   TLS verification, answer too big     give up
 *   the same (weather) with a            refuse (wait_refused): pausing the stage
 *   Retry-After over the whole budget    for it failed every later document at
 *                                        once, unsent (a daily quota's 86400 s)
 *   any retry that would end past the    give up
 *   budget, or attempts exhausted */
dp_http_verdict dp_http_decide(const dp_http_policy *p, const dp_http_outcome *o, int attempts,
			       int throttles, long elapsed_ms, double jitter01);

#endif
