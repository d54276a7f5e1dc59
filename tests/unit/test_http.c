/* Unit tests for the API client's pure parts and the API CLI options. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "../../src/embed/embed.h"
#include "../../src/summarize/summarize.h"
#include "apicli.h"
#include "cli.h"
#include "clock.h"
#include "http.h"
#include "limiter.h"
#include "reuse.h"
#include "t.h"

static void test_retry_after(void)
{
	/* 1445412480: Wed, 21 Oct 2015 07:28:00 GMT */
	time_t now = 1445412480 - 90;
	T_EQ_INT(dp_http_parse_retry_after(" 2", 0, now), 2000, "Retry-After seconds");
	T_EQ_INT(dp_http_parse_retry_after("0.5\r\n", 0, now), 500, "fractional seconds");
	T_EQ_INT(dp_http_parse_retry_after("250", 1, now), 250, "retry-after-ms");
	T_EQ_INT(dp_http_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 0, now), 90000,
		 "an HTTP-date: the wait until then");
	T_EQ_INT(dp_http_parse_retry_after(" Wed, 21 Oct 2015 07:28:00 GMT\r\n", 0, now), 90000,
		 "an HTTP-date as the header line ends");
	T_EQ_INT(dp_http_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 0, now + 600), 0,
		 "a date already past: no wait");
	T_EQ_INT(dp_http_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 0, now - 10 * 86400),
		 86400000, "a date far ahead: a day at most");
	T_EQ_INT(dp_http_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1, now), -1,
		 "retry-after-ms takes no date");
	T_EQ_INT(dp_http_parse_retry_after("soon", 0, now), -1, "neither a number nor a date");
	T_EQ_INT(dp_http_parse_retry_after("-3", 0, now), -1, "negative refused");
}

static void test_backoff(void)
{
	T_EQ_INT(dp_http_backoff_ms(1, 500, -1, 0.0), 250, "first retry, lowest jitter");
	T_OK(dp_http_backoff_ms(1, 500, -1, 0.999) < 500, "jitter below the base");
	T_EQ_INT(dp_http_backoff_ms(10, 500, -1, 0.0), 4000, "capped at 8 s before jitter");
	T_EQ_INT(dp_http_backoff_ms(1, 500, 3000, 0.5), 3000, "never shorter than Retry-After");
}

static void test_new(void)
{
	dp_err err;
	dp_http_opts o = {.base_url = "file:///etc/passwd"};

	T_OK(dp_http_new(&o, &err) == NULL, "file:// refused");
	o.base_url = "ftp://x";
	T_OK(dp_http_new(&o, &err) == NULL, "ftp:// refused");
	o.base_url = "http://127.0.0.1:1/v1/";
	o.api_key = "sk-very-secret";
	o.max_attempts = 2;
	o.backoff_base_ms = 1;
	dp_http *h = dp_http_new(&o, &err);
	T_OK(h != NULL, "http:// accepted");
	jv resp;
	int rc = dp_http_post_json(h, "/embeddings", jv_object(), 1, 0, NULL, &resp, &err);
	T_EQ_INT(rc, DP_HTTP_UNREACHABLE, "connection refused: unreachable after retries");
	T_OK(strstr(err.msg, "gave up after 2 attempts") != NULL, "attempts bounded and said");
	T_OK(strstr(err.msg, "; not tried again: its attempts were spent (a later run tries again)") != NULL,
	     "... with the mend");
	T_EQ_INT(err.kind, DP_ERR_SPENT, "... of the kind a caller tells weather by");
	T_OK(strstr(err.msg, "sk-very-secret") == NULL && strstr(err.msg, "127.0.0.1") == NULL,
	     "neither key nor URL in the message");
	dp_http_stats st;
	dp_http_get_stats(h, &st);
	T_EQ_INT(st.retries, 1, "one retry counted");
	dp_http_free(&h);
}

static void test_key_file(void)
{
	char path[] = "/tmp/dp-key-XXXXXX";
	int fd = mkstemp(path);
	dp_api_cli api = {0};
	dp_err err;

	T_OK(write(fd, "sk-abc\n", 7) == 7, "key written");
	close(fd);
	chmod(path, 0640);
	T_EQ_INT(dp_api_option(&api, DP_OPT_API_KEY_FILE, path, &err), DP_CLI_BAD, "group-readable key refused");
	T_OK(strstr(err.msg, "chmod 600") != NULL, "says how to fix it");
	chmod(path, 0600);
	T_EQ_INT(dp_api_option(&api, DP_OPT_API_KEY_FILE, path, &err), DP_CLI_TAKEN, "0600 key taken");
	T_EQ_STR(api.api_key, "sk-abc", "newline stripped");
	T_EQ_INT(dp_api_option(&api, DP_OPT_BACKEND, "nope", &err), DP_CLI_BAD, "unknown backend refused");
	T_EQ_INT(dp_api_option(&api, DP_OPT_RPM, "0", &err), DP_CLI_BAD, "--rpm 0 refused");
	dp_api_cli_free(&api);
	T_OK(api.api_key == NULL, "key freed");
	unlink(path);
}

static void test_misc(void)
{
	char a[DP_HASH_HEX], b[DP_HASH_HEX];

	dp_reuse_key("embedding", "openai/m", "dim=8", "text", 4, a);
	dp_reuse_key("embedding", "openai/m", "dim=16", "text", 4, b);
	T_OK(strcmp(a, b) != 0, "reuse key depends on parameters");
	dp_reuse_key("embedding", "openai/m", "dim=8", "text", 4, b);
	T_EQ_STR(a, b, "and is stable");
	/* The parts are length-prefixed: moving bytes from one part into the
	 * next (dim=8 + "0 x" vs dim=80 + " x") must change the key. */
	dp_reuse_key("embedding", "openai/m", "dim=8", "0 x", 3, a);
	dp_reuse_key("embedding", "openai/m", "dim=80", " x", 2, b);
	T_OK(strcmp(a, b) != 0, "reuse key: part boundaries count");
	dp_reuse_key("summary", "openai/m/p-1", "", "2 text", 6, a);
	dp_reuse_key("summary", "openai/m/p-12", "", " text", 5, b);
	T_OK(strcmp(a, b) != 0, "reuse key: identity and text do not run together");

	const char *names[] = {"text", "path"}, *values[] = {"T", "/p"};
	char *s = summarize_fill("{path}: {text} {other}", names, values, 2, 100);
	T_EQ_STR(s, "/p: T {other}", "template filled, unknown placeholders kept");
	free(s);
	T_OK(summarize_fill("{text}{text}", names, values, 2, 1) == NULL, "template maximum");

	T_EQ_INT(embed_cut("abcdefgh", 8, 10), 8, "short text not cut");
	T_EQ_INT(embed_cut("abcdefghijkl", 12, 2), 8, "cut to the token limit");
	T_EQ_INT(embed_cut("\xc3\xa9\xc3\xa9\xc3\xa9", 6, 2), 4, "cut on a UTF-8 boundary");
}

/* Every row of the retry policy (README.md "Model APIs"), with 6 attempts,
 * a 300 s budget and a 500 ms base backoff; jitter 0 (the lowest). */
static void test_policy(void)
{
	static const struct row {
		const char *name;
		dp_http_outcome o;
		int attempts, throttles;
		long elapsed_ms;
		enum dp_http_action action;
		long delay_ms;
		int counts, refuse_wait;
		int over_budget; /* given up for the wait past the budget, not the attempts */
	} rows[] = {
		{"200 ok", {.status = 200, .retry_after_ms = -1}, 0, 0, 0, DP_HTTP_DO_OK, 0, 1, 0},
		{"204 ok", {.status = 204, .retry_after_ms = -1}, 3, 2, 9000, DP_HTTP_DO_OK, 0, 1, 0},
		{"401 refuses", {.status = 401, .retry_after_ms = -1}, 0, 0, 0, DP_HTTP_DO_REFUSE, 0, 1, 0},
		{"403 refuses", {.status = 403, .retry_after_ms = -1}, 0, 0, 0, DP_HTTP_DO_REFUSE, 0, 1, 0},
		{"429 insufficient_quota refuses", {.status = 429, .retry_after_ms = 1000, .quota = 1}, 0, 0, 0,
		 DP_HTTP_DO_REFUSE, 0, 1, 0},
		{"429 Retry-After: exactly that wait, attempt not counted",
		 {.status = 429, .retry_after_ms = 200}, 0, 0, 0, DP_HTTP_DO_RETRY, 200, 0, 0},
		{"429 Retry-After after 5 counted attempts and 40 throttles: still retried",
		 {.status = 429, .retry_after_ms = 200}, 5, 40, 10000, DP_HTTP_DO_RETRY, 200, 0, 0},
		{"429 Retry-After shorter than the backoff: not raised to it",
		 {.status = 429, .retry_after_ms = 1}, 3, 3, 0, DP_HTTP_DO_RETRY, 1, 0, 0},
		{"429 without Retry-After: backoff by throttles",
		 {.status = 429, .retry_after_ms = -1}, 0, 2, 0, DP_HTTP_DO_RETRY, 1000, 0, 0},
		{"429 past the budget gives up", {.status = 429, .retry_after_ms = 2000}, 0, 9, 299000,
		 DP_HTTP_DO_GIVE_UP, 2000, 0, 0, 1},
		{"429 asking beyond the whole budget (a daily quota): refuse the run",
		 {.status = 429, .retry_after_ms = 86400000}, 0, 0, 0, DP_HTTP_DO_REFUSE, 0, 0, 1},
		{"503 asking beyond the whole budget while the server is down: refuse",
		 {.status = 503, .retry_after_ms = 3600000, .server_down = 1}, 0, 0, 0, DP_HTTP_DO_REFUSE, 0, 0, 1},
		{"429 asking for the whole budget exactly: retried",
		 {.status = 429, .retry_after_ms = 300000}, 0, 0, 0, DP_HTTP_DO_RETRY, 300000, 0, 0},
		{"500 retried with backoff", {.status = 500, .retry_after_ms = -1}, 0, 0, 0,
		 DP_HTTP_DO_RETRY, 250, 1, 0},
		{"503 third attempt: backoff doubles twice", {.status = 503, .retry_after_ms = -1}, 2, 0, 0,
		 DP_HTTP_DO_RETRY, 1000, 1, 0},
		{"503 never sooner than Retry-After", {.status = 503, .retry_after_ms = 3000}, 0, 0, 0,
		 DP_HTTP_DO_RETRY, 3000, 1, 0},
		{"408 retried", {.status = 408, .retry_after_ms = -1}, 0, 0, 0, DP_HTTP_DO_RETRY, 250, 1, 0},
		{"409 retried", {.status = 409, .retry_after_ms = -1}, 0, 0, 0, DP_HTTP_DO_RETRY, 250, 1, 0},
		{"500 on the last attempt gives up", {.status = 500, .retry_after_ms = -1}, 5, 0, 0,
		 DP_HTTP_DO_GIVE_UP, 0, 1, 0},
		{"500 past the budget gives up", {.status = 500, .retry_after_ms = -1}, 1, 0, 299900,
		 DP_HTTP_DO_GIVE_UP, 500, 1, 0, 1},
		{"400 rejects", {.status = 400, .retry_after_ms = -1}, 0, 0, 0, DP_HTTP_DO_REJECT, 0, 1, 0},
		{"404 rejects", {.status = 404, .retry_after_ms = -1}, 0, 0, 0, DP_HTTP_DO_REJECT, 0, 1, 0},
		{"413 rejects", {.status = 413, .retry_after_ms = -1}, 0, 0, 0, DP_HTTP_DO_REJECT, 0, 1, 0},
		{"422 rejects", {.status = 422, .retry_after_ms = -1}, 0, 0, 0, DP_HTTP_DO_REJECT, 0, 1, 0},
		{"connection refused: an outage, retried, attempt not counted",
		 {.transport = CURLE_COULDNT_CONNECT, .retry_after_ms = -1, .server_seen = 1}, 0, 0, 0,
		 DP_HTTP_DO_RETRY, 250, 0, 0},
		{"connection refused by a server never reached (a wrong URL): counts",
		 {.transport = CURLE_COULDNT_CONNECT, .retry_after_ms = -1}, 0, 0, 0, DP_HTTP_DO_RETRY, 250, 1, 0},
		{"... and fails after the attempts",
		 {.transport = CURLE_COULDNT_CONNECT, .retry_after_ms = -1}, 5, 0, 0, DP_HTTP_DO_GIVE_UP, 0, 1, 0},
		{"connection refused after 5 counted attempts and 12 waits: backoff by waits, still retried",
		 {.transport = CURLE_COULDNT_CONNECT, .retry_after_ms = -1, .server_seen = 1}, 5, 12, 60000,
		 DP_HTTP_DO_RETRY,
		 4000, 0, 0},
		{"name not resolved: an outage too",
		 {.transport = CURLE_COULDNT_RESOLVE_HOST, .retry_after_ms = -1, .server_seen = 1}, 0, 1, 0,
		 DP_HTTP_DO_RETRY, 500,
		 0, 0},
		{"connection refused past the budget gives up",
		 {.transport = CURLE_COULDNT_CONNECT, .retry_after_ms = -1, .server_seen = 1}, 0, 40, 297000,
		 DP_HTTP_DO_GIVE_UP,
		 4000, 0, 0, 1},
		{"500 while the server is down for every call: weather, not counted",
		 {.status = 500, .retry_after_ms = -1, .server_seen = 1, .server_down = 1}, 5, 0, 0,
		 DP_HTTP_DO_RETRY, 250, 0, 0},
		{"503 while down: not sooner than Retry-After",
		 {.status = 503, .retry_after_ms = 3000, .server_seen = 1, .server_down = 1}, 0, 2, 0,
		 DP_HTTP_DO_RETRY, 3000, 0, 0},
		{"timeout while down: not counted",
		 {.transport = CURLE_OPERATION_TIMEDOUT, .retry_after_ms = -1, .server_seen = 1, .server_down = 1},
		 5, 1, 0, DP_HTTP_DO_RETRY, 500, 0, 0},
		{"400 while down: still rejected",
		 {.status = 400, .retry_after_ms = -1, .server_seen = 1, .server_down = 1}, 0, 0, 0,
		 DP_HTTP_DO_REJECT, 0, 1, 0},
		{"TLS failure while down: still not retried",
		 {.transport = CURLE_PEER_FAILED_VERIFICATION, .retry_after_ms = -1, .server_seen = 1,
		  .server_down = 1}, 0, 0, 0, DP_HTTP_DO_GIVE_UP, 0, 1, 0},
		{"500 that other calls met too (a storm): weather, not counted",
		 {.status = 500, .retry_after_ms = -1, .server_seen = 1, .server_stormy = 1}, 5, 0, 0,
		 DP_HTTP_DO_RETRY, 250, 0, 0},
		{"a storm's 500 after 20 429s: backoff by its own server errors (none), not the 429s",
		 {.status = 500, .retry_after_ms = -1, .server_seen = 1, .server_stormy = 1}, 0, 20, 0,
		 DP_HTTP_DO_RETRY, 250, 0, 0},
		{"a storm's 500 after 3 others: backoff as a 4th attempt's",
		 {.status = 500, .retry_after_ms = -1, .server_seen = 1, .server_stormy = 1, .errors_before = 3},
		 0, 5, 0, DP_HTTP_DO_RETRY, 2000, 0, 0},
		{"a mostly throttled call's 500 (a lone call in a 429 storm): at its last 429's wait",
		 {.status = 500, .retry_after_ms = -1, .server_seen = 1, .server_stormy = 1, .errors_before = 4,
		  .throttle_wait_ms = 200},
		 0, 30, 0, DP_HTTP_DO_RETRY, 200, 0, 0},
		{"a 500 with its own Retry-After outranks the 429s' wait",
		 {.status = 500, .retry_after_ms = 1000, .server_seen = 1, .server_stormy = 1,
		  .throttle_wait_ms = 200},
		 0, 3, 0, DP_HTTP_DO_RETRY, 1000, 0, 0},
		{"a 400 in a storm: still rejected",
		 {.status = 400, .retry_after_ms = -1, .server_seen = 1, .server_stormy = 1}, 0, 0, 0,
		 DP_HTTP_DO_REJECT, 0, 1, 0},
		{"500 while down, past the budget: gives up",
		 {.status = 500, .retry_after_ms = -1, .server_seen = 1, .server_down = 1}, 0, 20, 299000,
		 DP_HTTP_DO_GIVE_UP, 0, 0, 0, 1},
		{"connection cut mid-request: counts (the request may be the cause)",
		 {.transport = CURLE_RECV_ERROR, .retry_after_ms = -1, .server_seen = 1}, 5, 0, 0,
		 DP_HTTP_DO_GIVE_UP, 0, 1, 0},
		{"timeout retried", {.transport = CURLE_OPERATION_TIMEDOUT, .retry_after_ms = -1}, 1, 0, 0,
		 DP_HTTP_DO_RETRY, 500, 1, 0},
		{"timeout on the last attempt gives up",
		 {.transport = CURLE_OPERATION_TIMEDOUT, .retry_after_ms = -1}, 5, 0, 0, DP_HTTP_DO_GIVE_UP,
		 0, 1, 0},
		{"TLS verification failure: no retry",
		 {.transport = CURLE_PEER_FAILED_VERIFICATION, .retry_after_ms = -1}, 0, 0, 0,
		 DP_HTTP_DO_GIVE_UP, 0, 1, 0},
		{"too many redirects: no retry", {.transport = CURLE_TOO_MANY_REDIRECTS, .retry_after_ms = -1},
		 0, 0, 0, DP_HTTP_DO_GIVE_UP, 0, 1, 0},
		{"unsupported protocol: no retry",
		 {.transport = CURLE_UNSUPPORTED_PROTOCOL, .retry_after_ms = -1}, 0, 0, 0,
		 DP_HTTP_DO_GIVE_UP, 0, 1, 0},
		{"answer too big: no retry", {.transport = CURLE_WRITE_ERROR, .too_big = 1, .retry_after_ms = -1},
		 0, 0, 0, DP_HTTP_DO_GIVE_UP, 0, 1, 0},
		{"a 200 that is not JSON from a server that answered JSON: retried as a 5xx, counted",
		 {.status = 200, .malformed = 1, .retry_after_ms = -1, .server_seen = 1}, 0, 0, 0,
		 DP_HTTP_DO_RETRY, 250, 1, 0},
		{"... and given up after the attempts",
		 {.status = 200, .malformed = 1, .retry_after_ms = -1, .server_seen = 1}, 5, 0, 0,
		 DP_HTTP_DO_GIVE_UP, 0, 1, 0},
		{"... or past the budget, before they are spent",
		 {.status = 200, .malformed = 1, .retry_after_ms = -1, .server_seen = 1}, 2, 0, 299500,
		 DP_HTTP_DO_GIVE_UP, 0, 1, 0, 1},
		{"503 whose Retry-After ends past the budget, attempts left: given up over the budget",
		 {.status = 503, .retry_after_ms = 10000}, 1, 0, 295000, DP_HTTP_DO_GIVE_UP, 0, 1, 0, 1},
	};
	const dp_http_policy p = {.max_attempts = 6, .max_retry_ms = 300000, .backoff_base_ms = 500};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		dp_http_verdict v = dp_http_decide(&p, &r->o, r->attempts, r->throttles, r->elapsed_ms, 0.0);
		int ok = v.action == r->action && v.counts == r->counts && v.wait_refused == r->refuse_wait &&
			 v.over_budget == r->over_budget &&
			 (r->action != DP_HTTP_DO_RETRY || v.delay_ms == r->delay_ms);
		T_OK(ok, r->name);
		if (!ok)
			printf("#   got action %d delay %ld counts %d wait_refused %d over_budget %d\n", v.action,
			       v.delay_ms, v.counts, v.wait_refused, v.over_budget);
	}
}

/* Finishes n requests, all sent at once at the current level. */
static void round_of(dp_limiter *l, int n, enum dp_limiter_outcome o, double ms, double tokens)
{
	unsigned long seq[512];

	for (int i = 0; i < n && i < 512; i++)
		seq[i] = dp_limiter_sent(l, i + 1);
	for (int i = 0; i < n && i < 512; i++)
		dp_limiter_done(l, seq[i], o, ms, tokens, 0);
}

static void test_limiter(void)
{
	dp_limiter l;

	dp_limiter_init(&l, 1, 64);
	T_EQ_INT(dp_limiter_level(&l), 1, "auto starts at one in flight");
	round_of(&l, 1, DP_LIMITER_OK, 20, 100);
	T_EQ_INT(dp_limiter_level(&l), 2, "slow start doubles per round");
	for (int i = 0; i < 20; i++)
		round_of(&l, dp_limiter_level(&l), DP_LIMITER_OK, 20, 100);
	T_EQ_INT(dp_limiter_level(&l), 64, "never above --max-threads");
	round_of(&l, 64, DP_LIMITER_OK, 60, 100);
	T_EQ_INT(dp_limiter_level(&l), 44, "latency x3 over the no-load time: x0.7");
	round_of(&l, 44, DP_LIMITER_OK, 20, 100);
	T_EQ_INT(dp_limiter_level(&l), 45, "after congestion: additive increase");
	round_of(&l, 45, DP_LIMITER_OK, 20, 6000);
	T_EQ_INT(dp_limiter_level(&l), 46, "a bigger request's time is judged in its own size class");

	/* One decrease per window: the answers to requests sent before it are
	 * not counted again. */
	unsigned long seq[46];
	for (int i = 0; i < 46; i++)
		seq[i] = dp_limiter_sent(&l, i + 1);
	for (int i = 0; i < 46; i++)
		dp_limiter_done(&l, seq[i], DP_LIMITER_THROTTLED, 1, 100, 0);
	T_EQ_INT(dp_limiter_level(&l), 23, "a round of 429s: one decrease (x0.5), not one per 429");

	/* The level is only raised when it was used. */
	int before = dp_limiter_level(&l);
	for (int i = 0; i < 5; i++) {
		unsigned long s1 = dp_limiter_sent(&l, 1);
		for (int k = 0; k < before; k++)
			dp_limiter_done(&l, k == 0 ? s1 : dp_limiter_sent(&l, 1), DP_LIMITER_OK, 20, 100, 0);
	}
	T_EQ_INT(dp_limiter_level(&l), before, "an idle stage does not inflate its level");

	dp_limiter_init(&l, 0, 16);
	T_EQ_INT(dp_limiter_level(&l), 1, "fixed: the first request goes alone");
	round_of(&l, 1, DP_LIMITER_OK, 20, 100);
	T_EQ_INT(dp_limiter_level(&l), 16, "fixed: --threads after the first success");
	round_of(&l, 16, DP_LIMITER_OK, 200, 100);
	T_EQ_INT(dp_limiter_level(&l), 16, "fixed: latency does not lower it");
	for (int i = 0; i < 10; i++) {
		unsigned long s2[16];
		for (int k = 0; k < 16; k++)
			s2[k] = dp_limiter_sent(&l, k + 1);
		for (int k = 0; k < 16; k++)
			dp_limiter_done(&l, s2[k], k % 3 == 0 ? DP_LIMITER_THROTTLED : DP_LIMITER_OK, 20, 100, 0);
	}
	T_EQ_INT(dp_limiter_level(&l), 16, "fixed: a third of 429s is weather, not a wall");
	round_of(&l, 16, DP_LIMITER_THROTTLED, 1, 100);
	T_EQ_INT(dp_limiter_level(&l), 11, "fixed: a round of mostly 429s lowers it");
	round_of(&l, 11, DP_LIMITER_OK, 20, 100);
	T_EQ_INT(dp_limiter_level(&l), 12, "and it grows back by one per round");
	dp_limiter_init(&l, 1, 8);
	round_of(&l, 1, DP_LIMITER_ERROR, 20, 100);
	T_OK(dp_limiter_level(&l) >= 1, "auto: never below one");

	/* The pace: 429s come back at once, so only a rate bounds them.  (A
	 * level of 1: each answer is a round.  In slow start a loss is
	 * congestion when the last 8 answers have more than the (at least
	 * 32) answers before them: here 3 of 8 after 40 successes; 2 of 8
	 * are a 1.9% chance at their share, by the exact binomial tail.) */
	dp_limiter_init(&l, 1, 1);
	unsigned long a;
	for (int i = 0; i < 40; i++) {
		a = dp_limiter_sent(&l, 1);
		dp_limiter_done(&l, a, DP_LIMITER_OK, 20, 100, 1000 + 20 * i);
	}
	a = dp_limiter_sent(&l, 1);
	dp_limiter_done(&l, a, DP_LIMITER_THROTTLED, 1, 100, 1790);
	T_OK(dp_limiter_interval_ms(&l) == 0, "no pace on one 429 in slow start");
	a = dp_limiter_sent(&l, 1);
	dp_limiter_done(&l, a, DP_LIMITER_THROTTLED, 1, 100, 1795);
	T_OK(dp_limiter_interval_ms(&l) == 0, "nor on two");
	a = dp_limiter_sent(&l, 1);
	dp_limiter_done(&l, a, DP_LIMITER_THROTTLED, 1, 100, 1800);
	/* 40 successes since the first at 1000 ms, in slow start: a rate
	 * that counts a bucket's burst, drained to a quarter; the climb
	 * aims at the whole. */
	double came = 40 * 1000 / 800.0, granted = came;
	T_OK(fabs(dp_limiter_interval_ms(&l) - 1000 / (0.25 * granted)) < 0.01,
	     "a third 429 in slow start: 0.25 x what was granted");
	double held = dp_limiter_interval_ms(&l);
	for (int i = 0; i < DP_LIMITER_TEST - 1; i++) {
		a = dp_limiter_sent(&l, 1);
		dp_limiter_done(&l, a, DP_LIMITER_OK, 20, 100, 1810 + 10 * i);
	}
	T_OK(dp_limiter_interval_ms(&l) == held, "held while its test measures");
	/* 5 answers a tick: 50/s, at the pace (a probe needs the pace to be
	 * what limits the sends). */
	for (int i = 0; i < 18 * 5; i++) {
		a = dp_limiter_sent(&l, 1);
		dp_limiter_done(&l, a, DP_LIMITER_OK, 20, 100, 2000 + 100 * (i / 5));
	}
	T_OK(fabs(dp_limiter_interval_ms(&l) - 1000 / (0.95 * granted)) < 0.02 * 1000 / (0.95 * granted),
	     "back up to 0.95 x the rate of the 429 (within 2%) in under two seconds");
	T_OK(dp_limiter_interval_ms(&l) < held, "(faster than just after the 429)");
	for (int i = 0; i < 3; i++) {
		a = dp_limiter_sent(&l, 1);
		dp_limiter_done(&l, a, DP_LIMITER_OK, 20, 100, 3900);
	}
	T_OK(fabs(dp_limiter_interval_ms(&l) - 1000 / (0.95 * 1.05 * granted)) < 0.01,
	     "after a quiet period of 2 s: one probe 5% up");
	a = dp_limiter_sent(&l, 1);
	dp_limiter_done(&l, a, DP_LIMITER_OK, 20, 100, 4000);
	T_OK(fabs(dp_limiter_interval_ms(&l) - 1000 / (0.95 * 1.05 * granted)) < 0.01,
	     "no further probe before the next quiet period");
	/* The test found a wall: the next 429 measures its rate, what the
	 * requests sent since the last 429s got through. */
	a = dp_limiter_sent(&l, 1);
	dp_limiter_done(&l, a, DP_LIMITER_THROTTLED, 1, 100, 4100);
	double rate = l.w_max_rps;
	T_OK(rate > 0 && rate < 1.05 * came && fabs(dp_limiter_interval_ms(&l) - 1000 / (0.95 * rate)) < 0.01,
	     "a 429 behind a wall: 0.95 x its rate measured since the last 429s");
	for (int i = 0; i < DP_LIMITER_TEST; i++) {
		a = dp_limiter_sent(&l, 1);
		dp_limiter_done(&l, a, DP_LIMITER_OK, 20, 100, 4110 + 10 * i);
	}
	double before_probe = dp_limiter_interval_ms(&l);
	a = dp_limiter_sent(&l, 1);
	dp_limiter_done(&l, a, DP_LIMITER_OK, 20, 100, 8000);
	T_OK(dp_limiter_interval_ms(&l) == before_probe,
	     "its rate measured, a wall is not probed 4 s later");
	for (int i = 0; i < 46; i++) {
		a = dp_limiter_sent(&l, 1);
		dp_limiter_done(&l, a, DP_LIMITER_OK, 20, 100, 11300 + 20 * i);
	}
	T_OK(dp_limiter_interval_ms(&l) < before_probe, "but after 8 s");
	double paced = dp_limiter_interval_ms(&l);
	for (int i = 0; i < 10; i++) {
		a = dp_limiter_sent(&l, 1);
		dp_limiter_done(&l, a, DP_LIMITER_OK, 20, 100, 20500 + 1000 * i);
	}
	T_OK(dp_limiter_interval_ms(&l) == paced, "a stage that asks for less than the pace does not raise it");

	/* Limited slow start (RFC 3742). */
	dp_limiter_init(&l, 1, 64);
	for (int i = 0; i < 5; i++)
		round_of(&l, dp_limiter_level(&l), DP_LIMITER_OK, 20, 100);
	T_EQ_INT(dp_limiter_level(&l), 20, "slow start: doubles to 8 then +4 a round (1 2 4 8 16 20)");
}

/* Announced limits: the header values and the pacing they ask for. */
static void test_ratelimit(void)
{
	static const struct {
		const char *in;
		double ms;
	} durations[] = {
		{"1s", 1000}, {"6m0s", 360000}, {"20ms", 20}, {" 1.5s\r\n", 1500}, {"1h2m3s", 3723000},
		{"0s", 0}, {"2", 2000}, {"250us", 0.25}, {"", -1}, {"s", -1}, {"1x", -1},
		{"-1s", -1}, {"1s2", -1}, {"abc", -1},
	};
	for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
		double got = dp_http_parse_duration_ms(durations[i].in);
		char what[96];
		snprintf(what, sizeof what, "duration %zu -> %g ms (got %g)", i, durations[i].ms, got);
		T_OK(fabs(got - durations[i].ms) < 1e-9, what);
	}
	static const struct {
		dp_http_ratelimit rl;
		double ms;
		const char *why;
	} paces[] = {
		{{-1, -1, -1}, 0, "nothing announced: no pace"},
		{{3000, -1, -1}, 21, "only a limit: 5% under its mean rate"},
		{{3000, 50, 0}, 0, "a full bucket: no wait"},
		{{3000, 40, 200}, 200 / (40 - (40 + 200 / 21.0) / 2), "above half: the surplus spread until the reset"},
		{{3000, 25, 525}, 21, "at half: the mean rate"},
		{{3000, 0, 1000}, 21, "nothing left: the mean rate, not the whole reset"},
		{{-1, 10, 1000}, 100, "no limit: the rest spread until the reset"},
		{{-1, 0, 1000}, 1000, "no limit, nothing left: the reset"},
		{{60, 0, 30000}, 1050, "60 a minute: one a second (and 5%)"},
	};
	for (size_t i = 0; i < sizeof paces / sizeof paces[0]; i++) {
		double got = dp_http_ratelimit_interval_ms(&paces[i].rl);
		char what[160];
		snprintf(what, sizeof what, "%s (%g ms, got %g)", paces[i].why, paces[i].ms, got);
		T_OK(fabs(got - paces[i].ms) < 0.01, what);
	}
}

/* A loopback HTTP server for the judge's tests: answers every request
 * 200 with the JSON "{}", or as reject says (TINY_MODEL: a 400 naming the
 * option "model", as a proxy that does not route a model's name;
 * TINY_PAGE: a 400 page in nginx's words for plain HTTP sent to its TLS
 * port; TINY_WAIT: a 429 asking to wait 1.4 s), and counts the requests
 * it read. */
struct tiny_server {
	int fd, port;
	atomic_int requests;
	atomic_int reject;
	pthread_t thread;
};
enum { TINY_OK, TINY_MODEL, TINY_PAGE, TINY_WAIT };

static void *tiny_serve(void *arg)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				 "Content-Length: 2\r\nConnection: close\r\n\r\n{}";
	static const char no[] = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
				 "Content-Length: 53\r\nConnection: close\r\n\r\n"
				 "{\"error\":{\"message\":\"Invalid model\",\"param\":\"model\"}}";
	static const char page[] = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\n"
				   "Content-Length: 62\r\nConnection: close\r\n\r\n"
				   "<html>400 The plain HTTP request was sent to HTTPS port</html>";
	static const char wait[] = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1.4\r\n"
				   "Content-Length: 0\r\nConnection: close\r\n\r\n";
	struct tiny_server *s = arg;
	int c;

	while ((c = accept(s->fd, NULL, NULL)) >= 0) {
		char buf[8192];
		size_t got = 0;
		ssize_t n;
		const char *end = NULL;
		/* The head, then the body its Content-Length says. */
		while (got < sizeof buf - 1 && (n = read(c, buf + got, sizeof buf - 1 - got)) > 0) {
			got += (size_t)n;
			buf[got] = '\0';
			if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL)
				end += 4;
			const char *cl = end != NULL ? strcasestr(buf, "content-length:") : NULL;
			if (end != NULL && (cl == NULL || got >= (size_t)(end - buf) + strtoul(cl + 15, NULL, 10)))
				break;
		}
		atomic_fetch_add(&s->requests, 1);
		int how = atomic_load(&s->reject);
		const char *answer = how == TINY_WAIT ? wait : how == TINY_PAGE ? page : how == TINY_MODEL ? no : ok;
		ssize_t sent = write(c, answer, strlen(answer)); /* a short one fails the call */
		(void)sent;
		close(c);
	}
	return NULL;
}

static int tiny_start(struct tiny_server *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;

	atomic_init(&s->requests, 0);
	atomic_init(&s->reject, 0);
	if ((s->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 || bind(s->fd, (struct sockaddr *)&a, len) < 0 ||
	    listen(s->fd, 16) < 0 || getsockname(s->fd, (struct sockaddr *)&a, &len) < 0 ||
	    pthread_create(&s->thread, NULL, tiny_serve, s) != 0)
		return -1;
	s->port = ntohs(a.sin_port);
	return 0;
}

static void tiny_stop(struct tiny_server *s)
{
	shutdown(s->fd, SHUT_RDWR); /* accept fails: the thread ends */
	pthread_join(s->thread, NULL);
	close(s->fd);
}

/* A judge that refuses the run, and a rival call started while it runs. */
struct rival {
	dp_http *h;
	struct tiny_server *s;
	pthread_t thread;
	int rc;
	dp_err err;
};

static void *rival_call(void *arg)
{
	struct rival *r = arg;
	jv resp;

	r->rc = dp_http_post_json(r->h, "/chat/completions", jv_object(), 1, 0, NULL, &resp, &r->err);
	jv_free(resp);
	return NULL;
}

/* Starts the rival, which queues for the only place in flight, and gives
 * it 300 ms to send (it can only when the place was given back before the
 * judge: the bug), then refuses the run. */
static int refuse_beside_rival(void *arg, const jv *value, const char *text, size_t len, dp_err *err)
{
	struct rival *r = arg;

	(void)value, (void)text, (void)len;
	if (pthread_create(&r->thread, NULL, rival_call, r) != 0)
		return DP_HTTP_FAILED;
	double until = dp_clock_ms() + 300;
	while (atomic_load(&r->s->requests) < 2 && dp_clock_ms() < until)
		dp_sleep_ms(5);
	dp_err_set(err, "the judge refused the run");
	return DP_HTTP_REFUSED;
}

/* A judge of rejections that starts the rival, gives it 300 ms to send
 * (it can only when the place was given back before the judge), then
 * refuses the run; rejected_seen: the reason it was shown. */
static char rejected_seen[DP_ERR_MAX];

static int refuse_rejection_beside_rival(void *arg, dp_err *err)
{
	snprintf(rejected_seen, sizeof rejected_seen, "%s", err->msg);
	return refuse_beside_rival(arg, NULL, NULL, 0, err);
}

/* A judge of rejections that keeps them rejections. */
static int keep_rejection(void *arg, dp_err *err)
{
	(void)arg;
	snprintf(rejected_seen, sizeof rejected_seen, "%s", err->msg);
	return DP_HTTP_REJECTED;
}

/* What the judges saw: the value, or the text. */
struct seen {
	int verdict;
	int value_object;
	char text[16];
};

static int record_answer(void *arg, const jv *value, const char *text, size_t len, dp_err *err)
{
	struct seen *s = arg;

	s->value_object = value != NULL && jv_get_kind(*value) == JV_KIND_OBJECT;
	if (text != NULL)
		snprintf(s->text, sizeof s->text, "%.*s", (int)len, text);
	if (s->verdict != DP_HTTP_OK)
		dp_err_set(err, "judged bad");
	return s->verdict;
}

/* dp_http_judge: what it is shown and what its verdicts do; a refusal is
 * decided before the place is given back, so a caller queued for the
 * place sends nothing. */
static void test_judge(void)
{
	struct tiny_server srv;
	if (tiny_start(&srv) < 0) {
		T_OK(0, "loopback server for the judge's tests");
		return;
	}
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", srv.port);
	dp_http_opts o = {.base_url = url, .max_in_flight = 1, .max_attempts = 1};
	dp_err err;
	dp_http *h = dp_http_new(&o, &err);
	jv resp;
	char *text;
	size_t len;

	struct seen seen = {.verdict = DP_HTTP_OK};
	dp_http_judge judge = {.fn = record_answer, .arg = &seen};
	int rc = dp_http_post_json(h, "/chat/completions", jv_object(), 1, 0, &judge, &resp, &err);
	T_OK(rc == DP_HTTP_OK && seen.value_object && jv_get_kind(resp) == JV_KIND_OBJECT,
	     "judge OK: it saw the answer's value, which is handed over");
	jv_free(resp);
	rc = dp_http_post_json_text(h, "/embeddings", jv_object(), 1, 0, 0, &judge, &text, &len, &err);
	T_OK(rc == DP_HTTP_OK && strcmp(seen.text, "{}") == 0 && text != NULL && strcmp(text, "{}") == 0,
	     "judge OK: it saw the answer's text, which is handed over");
	free(text);
	seen.verdict = DP_HTTP_FAILED;
	rc = dp_http_post_json(h, "/chat/completions", jv_object(), 1, 0, &judge, &resp, &err);
	T_OK(rc == DP_HTTP_FAILED && jv_get_kind(resp) == JV_KIND_INVALID && strcmp(err.msg, "judged bad") == 0,
	     "judge FAILED: the call fails with its reason, no answer handed over");
	rc = dp_http_post_json_text(h, "/embeddings", jv_object(), 1, 0, 0, &judge, &text, &len, &err);
	T_OK(rc == DP_HTTP_FAILED && text == NULL && strcmp(err.msg, "judged bad") == 0,
	     "judge FAILED on a text: the same");
	T_EQ_STR(dp_http_refused_reason(h), "", "... and the run is not refused");

	struct rival r = {.h = h, .s = &srv};
	atomic_store(&srv.requests, 0);
	judge = (dp_http_judge){.fn = refuse_beside_rival, .arg = &r};
	rc = dp_http_post_json(h, "/chat/completions", jv_object(), 1, 0, &judge, &resp, &err);
	T_OK(rc == DP_HTTP_REFUSED && jv_get_kind(resp) == JV_KIND_INVALID &&
	     strcmp(err.msg, "the judge refused the run") == 0,
	     "judge REFUSED: the call refuses the run with its reason, no answer handed over");
	pthread_join(r.thread, NULL);
	T_OK(r.rc == DP_HTTP_REFUSED && dp_http_is_not_sent(r.err.msg),
	     "the call queued for the place meanwhile is refused, \"not sent\" (not the run's reason: its own request was not refused)");
	T_EQ_INT(atomic_load(&srv.requests), 1, "... without a request: refused before the place was given back");
	T_EQ_STR(dp_http_refused_reason(h), "the judge refused the run", "the run's reason is the judge's");
	dp_http_free(&h);

	/* The judge of rejections (a count of 400s naming an option). */
	atomic_store(&srv.reject, TINY_MODEL);
	h = dp_http_new(&o, &err);
	judge = (dp_http_judge){.fn = record_answer, .arg = &seen, .rejected = keep_rejection};
	rc = dp_http_post_json(h, "/chat/completions", jv_object(), 1, 0, &judge, &resp, &err);
	T_OK(rc == DP_HTTP_REJECTED && strstr(rejected_seen, "/chat/completions: HTTP 400") == rejected_seen &&
	     strstr(rejected_seen, "(param \"model\")") != NULL && strcmp(err.msg, rejected_seen) == 0,
	     "judge of rejections: shown the call's reason, its parameter named; REJECTED keeps the rejection");
	r = (struct rival){.h = h, .s = &srv};
	atomic_store(&srv.requests, 0);
	judge = (dp_http_judge){.fn = record_answer, .arg = &r, .rejected = refuse_rejection_beside_rival};
	rc = dp_http_post_json(h, "/chat/completions", jv_object(), 1, 0, &judge, &resp, &err);
	T_OK(rc == DP_HTTP_REFUSED && strcmp(err.msg, "the judge refused the run") == 0,
	     "judge of rejections REFUSED: the call refuses the run with its reason");
	pthread_join(r.thread, NULL);
	T_OK(r.rc == DP_HTTP_REFUSED, "the call queued for the place meanwhile is refused");
	T_EQ_INT(atomic_load(&srv.requests), 1,
		 "... without a request: the rejection judged before the place was given back");
	dp_http_free(&h);

	/* A scheme's mismatch is read before any success only: a port that
	 * has answered plain HTTP is no TLS port, whatever a 400 quotes. */
	h = dp_http_new(&o, &err);
	atomic_store(&srv.reject, TINY_PAGE);
	rc = dp_http_post_json(h, "/chat/completions", jv_object(), 1, 0, NULL, &resp, &err);
	T_OK(rc == DP_HTTP_REFUSED && strstr(err.msg, "speaks TLS, not plain HTTP") != NULL,
	     "nginx's 400 page for plain HTTP to its TLS port, before any success: the run refused, use https://");
	dp_http_free(&h);
	h = dp_http_new(&o, &err);
	atomic_store(&srv.reject, TINY_OK);
	rc = dp_http_post_json(h, "/chat/completions", jv_object(), 1, 0, NULL, &resp, &err);
	jv_free(resp);
	atomic_store(&srv.reject, TINY_PAGE);
	int rc2 = dp_http_post_json(h, "/chat/completions", jv_object(), 1, 0, NULL, &resp, &err);
	T_OK(rc == DP_HTTP_OK && rc2 == DP_HTTP_REJECTED && dp_http_refused_reason(h)[0] == '\0',
	     "... the same page after a 2xx on that port: the request rejected, the run not refused");
	dp_http_free(&h);

	/* A wait asked beyond the budget, said as asked: rounded, 1.4 s
	 * read "wait 1 s ..., beyond the 1 s a call may wait". */
	dp_http_opts short_budget = o;
	short_budget.max_retry_ms = 1000;
	h = dp_http_new(&short_budget, &err);
	atomic_store(&srv.reject, TINY_WAIT);
	rc = dp_http_post_json(h, "/chat/completions", jv_object(), 1, 0, NULL, &resp, &err);
	T_OK(rc == DP_HTTP_REFUSED && strstr(err.msg, "asked to wait 1.400 s before") != NULL &&
	     strstr(err.msg, "beyond the 1 s a call may wait") != NULL,
	     "a 429 asking 1.4 s beyond a budget of 1 s: the run refused, the wait said exactly");
	dp_http_free(&h);
	tiny_stop(&srv);
}

int main(void)
{
	test_policy();
	test_limiter();
	test_ratelimit();
	test_retry_after();
	test_backoff();
	test_new();
	test_judge();
	test_key_file();
	test_misc();
	return t_done();
}
