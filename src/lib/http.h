/* A JSON-over-HTTP client for model APIs (libcurl), shared by the threads
 * of one stage.
 *
 * What it owns, so that callers only see "result" or "why not":
 *   - one curl easy handle per calling thread, kept between requests
 *     (keep-alive);
 *   - retries of connection errors, timeouts, 408, 409, 429 and 5xx with
 *     exponential backoff and jitter, never sooner than the server's
 *     Retry-After / retry-after-ms, within a bounded number of attempts
 *     and a bounded total time (a call that a stage-wide 429 pause would
 *     hold beyond that time fails at once, without a request);
 *   - a client-side budget shared by every thread: requests and tokens
 *     per minute, and a limit on requests in flight that halves on a 429
 *     (the whole stage backs off) and grows back by one per success;
 *   - refusals for good (401, 403, a 429 whose error is
 *     insufficient_quota): reported as DP_HTTP_REFUSED, and every later
 *     call returns the same at once, without a request.
 * The API key is sent in a header only: it never appears in an error
 * message, and neither does the base URL (which may hold credentials). */
#ifndef DP_HTTP_H
#define DP_HTTP_H

#include <stddef.h>

#include <jv.h>

#include "err.h"

typedef struct dp_http_opts {
	const char *base_url;    /* e.g. "https://api.openai.com/v1"; http or https only */
	const char *api_key;     /* NULL or empty: no Authorization header */
	long timeout_ms;         /* per attempt; 0: 60000 */
	int max_attempts;        /* 0: 6 */
	long max_retry_ms;       /* total time one call may spend; 0: 300000 */
	double rpm;              /* requests per minute; 0: unlimited */
	double tpm;              /* tokens per minute; 0: unlimited */
	int max_in_flight;       /* 0: unlimited (the callers' threads decide) */
	long backoff_base_ms;    /* first backoff; 0: 500 (tests make it short) */
} dp_http_opts;

#define DP_OPENAI_BASE_DEFAULT "https://api.openai.com/v1"
#define DP_OLLAMA_BASE_DEFAULT "http://127.0.0.1:11434"

/* Sets o->base_url and o->api_key: the given values (a --base-url, a key
 * from --api-key-file), else $OPENAI_BASE_URL and $OPENAI_API_KEY (empty
 * counts as unset), else the backend's default server (ollama: a local
 * Ollama; otherwise OpenAI) and no key.  The strings are borrowed. */
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
};

/* Returns NULL with err set (bad URL scheme, out of memory).  Copies what
 * it keeps from opts. */
dp_http *dp_http_new(const dp_http_opts *opts, dp_err *err);
void dp_http_free(dp_http **h);

/* POSTs body (consumed) as JSON to base_url + path.  tokens is the
 * request's estimated token count for the tokens-per-minute budget.  On
 * DP_HTTP_OK *resp holds the parsed response (owned).  Thread-safe. */
int dp_http_post_json(dp_http *h, const char *path, jv body, size_t tokens, jv *resp,
		      dp_err *err);

/* Counters since dp_http_new, for the stage's closing diagnostics. */
typedef struct dp_http_stats {
	unsigned long requests; /* attempts sent */
	unsigned long retries;
	unsigned long throttled; /* 429 answers */
} dp_http_stats;
void dp_http_get_stats(dp_http *h, dp_http_stats *out);

/* Parses a Retry-After value (seconds, possibly fractional) or, with
 * is_ms, a retry-after-ms value.  Returns milliseconds, or -1 when the
 * value is not a number (HTTP dates are not honoured: -1). */
long dp_http_parse_retry_after(const char *value, int is_ms);

/* The backoff before retry number `attempt` (1 = first retry): min(base *
 * 2^(attempt-1), 8 s), times a jitter factor in [0.5, 1), raised to at
 * least retry_after_ms.  jitter01 is a number in [0, 1). */
long dp_http_backoff_ms(int attempt, long base_ms, long retry_after_ms, double jitter01);

#endif
