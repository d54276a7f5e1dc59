/* Unit tests for the API client's pure parts and the API CLI options. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/embed/embed.h"
#include "../../src/summarize/summarize.h"
#include "apicli.h"
#include "cli.h"
#include "http.h"
#include "reuse.h"
#include "t.h"

static void test_retry_after(void)
{
	T_EQ_INT(dp_http_parse_retry_after(" 2", 0), 2000, "Retry-After seconds");
	T_EQ_INT(dp_http_parse_retry_after("0.5\r\n", 0), 500, "fractional seconds");
	T_EQ_INT(dp_http_parse_retry_after("250", 1), 250, "retry-after-ms");
	T_EQ_INT(dp_http_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 0), -1, "dates are not honoured");
	T_EQ_INT(dp_http_parse_retry_after("-3", 0), -1, "negative refused");
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
	int rc = dp_http_post_json(h, "/embeddings", jv_object(), 1, &resp, &err);
	T_EQ_INT(rc, DP_HTTP_FAILED, "connection refused fails after retries");
	T_OK(strstr(err.msg, "gave up after 2 attempts") != NULL, "attempts bounded and said");
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

int main(void)
{
	test_retry_after();
	test_backoff();
	test_new();
	test_key_file();
	test_misc();
	return t_done();
}
