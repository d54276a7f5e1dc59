#include "apicli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_io.h"
#include "db.h"

const char dp_api_help[] =
	"Model API:\n"
	"  --backend NAME      local (default, offline), openai (any OpenAI-compatible\n"
	"                      server: {base}/chat/completions, {base}/embeddings) or\n"
	"                      ollama ({base}/api/chat, {base}/api/embed)\n"
	"  --model NAME        the model (default: the backend's)\n"
	"  --base-url URL      the server (default $OPENAI_BASE_URL, else the backend's)\n"
	"  --api-key-file FILE read the key from FILE (mode 0600); default $OPENAI_API_KEY\n"
	"  --rpm N, --tpm N    client-side budget: requests / tokens per minute\n"
	"  --max-threads N     the most requests --threads auto keeps in flight\n"
	"                      (default 64, max 256)\n"
	"  --timeout SECONDS   per request (default 60)\n"
	"  --retries N         attempts per request (default 6)\n"
	"  --retry-budget SECONDS  the longest one request may take with its retries\n"
	"                      and waits (default 300; an outage or a Retry-After\n"
	"                      longer than it fails or refuses)\n"
	"  --refresh           make new requests even for known texts (and store them)\n"
	"  --no-reuse          do not use the result cache in the database\n";

static int read_key(const char *path, char **out, dp_err *err)
{
	struct stat st;
	char buf[DP_API_KEY_MAX + 2];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		dp_err_set(err, "--api-key-file: %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		dp_err_set(err, "--api-key-file: %s must be a regular file readable by its owner "
				"only (chmod 600)", path);
		close(fd);
		return -1;
	}
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0 || n > DP_API_KEY_MAX) {
		dp_err_set(err, "--api-key-file: %s: %s", path, n < 0 ? strerror(errno) : "too long");
		memset(buf, 0, sizeof buf);
		return -1;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0') {
		dp_err_set(err, "--api-key-file: %s holds no key", path);
		return -1;
	}
	free(*out);
	*out = strdup(buf);
	memset(buf, 0, sizeof buf);
	if (*out == NULL) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	return 0;
}

static int parse_positive(const char *name, const char *arg, double max, double *out,
			  dp_err *err)
{
	double v;

	if (dp_cli_read_double(arg, &v) < 0 || !(v > 0) || v > max) {
		dp_err_set(err, "--%s: '%s' is not a number above 0 and at most %g", name, arg, max);
		return -1;
	}
	*out = v;
	return 0;
}

int dp_api_option(dp_api_cli *api, int opt, const char *arg, dp_err *err)
{
	double v;
	long n;

	switch (opt) {
	case DP_OPT_BACKEND:
		if (strcmp(arg, "local") != 0 && strcmp(arg, "openai") != 0 &&
		    strcmp(arg, "ollama") != 0) {
			dp_err_set(err, "--backend: unknown backend '%s' (known: local, openai, ollama)",
				   arg);
			return DP_CLI_BAD;
		}
		api->backend = arg;
		return DP_CLI_TAKEN;
	case DP_OPT_MODEL:
		api->model = arg;
		return DP_CLI_TAKEN;
	case DP_OPT_BASE_URL:
		api->base_url = arg;
		return DP_CLI_TAKEN;
	case DP_OPT_API_KEY_FILE:
		return read_key(arg, &api->api_key, err) < 0 ? DP_CLI_BAD : DP_CLI_TAKEN;
	case DP_OPT_RPM:
		if (parse_positive("rpm", arg, 1e9, &v, err) < 0)
			return DP_CLI_BAD;
		api->http.rpm = v;
		return DP_CLI_TAKEN;
	case DP_OPT_TPM:
		if (parse_positive("tpm", arg, 1e12, &v, err) < 0)
			return DP_CLI_BAD;
		api->http.tpm = v;
		return DP_CLI_TAKEN;
	case DP_OPT_TIMEOUT:
		if (parse_positive("timeout", arg, 86400, &v, err) < 0)
			return DP_CLI_BAD;
		api->http.timeout_ms = (long)(v * 1000 + 0.5);
		return DP_CLI_TAKEN;
	case DP_OPT_RETRIES:
		if (dp_cli_parse_long("retries", arg, 1, 100, &n, err) < 0)
			return DP_CLI_BAD;
		api->http.max_attempts = (int)n;
		return DP_CLI_TAKEN;
	case DP_OPT_RETRY_BUDGET:
		/* Up to a week: a run left to ride out a provider's long outage
		 * or a daily quota's reset. */
		if (parse_positive("retry-budget", arg, 604800, &v, err) < 0)
			return DP_CLI_BAD;
		api->http.max_retry_ms = (long)(v * 1000 + 0.5);
		return DP_CLI_TAKEN;
	case DP_OPT_REFRESH:
		api->refresh = 1;
		return DP_CLI_TAKEN;
	case DP_OPT_NO_REUSE:
		api->no_reuse = 1;
		return DP_CLI_TAKEN;
	case DP_OPT_MAX_THREADS:
		if (dp_cli_parse_long("max-threads", arg, 1, DP_THREADS_MAX, &n, err) < 0)
			return DP_CLI_BAD;
		api->max_threads = n;
		return DP_CLI_TAKEN;
	default:
		return DP_CLI_UNKNOWN;
	}
}

int dp_api_other_option(dp_api_cli *api, dp_cli *cli, int opt, const char *arg, dp_err *err,
			int *said)
{
	int rc = dp_api_option(api, opt, arg, err);

	*said = 0;
	if (rc == DP_CLI_TAKEN)
		return -1;
	if (rc == DP_CLI_BAD)
		return DP_EXIT_USAGE;
	rc = dp_cli_other_option(cli, opt, arg);
	*said = rc >= 0;
	return rc;
}

int dp_api_parse_threads(dp_api_cli *api, const char *arg, dp_err *err)
{
	if (strcmp(arg, "auto") == 0) {
		api->threads = 0;
		return DP_CLI_TAKEN;
	}
	if (dp_cli_parse_long("threads", arg, 1, DP_THREADS_MAX, &api->threads, err) < 0) {
		dp_err_set(err, "--threads: '%s' is not auto or a whole number from 1 to %d", arg,
			   DP_THREADS_MAX);
		return DP_CLI_BAD;
	}
	return DP_CLI_TAKEN;
}

int dp_api_workers(dp_api_cli *api, int per_level)
{
	long max = api->max_threads > 0 ? api->max_threads : DP_MAX_THREADS_DEFAULT;

	if (!dp_api_is_remote(api)) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		if (api->threads > 0)
			return (int)api->threads;
		return cpus < 1 ? 1 : cpus > max ? (int)max : (int)cpus;
	}
	/* Named whether given or not: the default's refusal of a daily
	 * quota's wait named no option, where the mend may be this one. */
	api->http.budget_option = "--retry-budget";
	api->http.attempts_option = "--retries";
	api->http.autotune = api->threads == 0;
	api->http.max_in_flight = (int)(api->threads > 0 ? api->threads : max);
	/* Test hook, not for use: the first retry's backoff in ms (500 in use,
	 * doubling up to 8 s), shorter for a test whose outages are followed
	 * by seconds of backoff that are not its subject (fault_api_outage). */
	api->http.backoff_base_ms = (long)dp_cli_test_hook("DOCPIPE_TEST_BACKOFF_MS", (double)api->http.backoff_base_ms);
	return api->http.max_in_flight * (per_level > 1 ? per_level : 1);
}

int dp_api_is_remote(const dp_api_cli *api)
{
	return api->backend != NULL && strcmp(api->backend, "local") != 0;
}

int dp_api_reuse_get(dp_reuse *r, enum dp_reuse_table t, const char (*keys)[DP_HASH_HEX],
		     size_t n, jv *values, dp_api_usable usable, void *arg,
		     const char *const noun[2], const char *what_failed)
{
	dp_err err, why;
	int found = dp_reuse_get(r, t, keys, n, values, &err);

	dp_reuse_note(r, found, what_failed, &err);
	if (found <= 0)
		return found;
	jv *bad = malloc(n * sizeof *bad);
	int nbad = 0;
	if (bad == NULL)
		return found; /* unchecked: the store still refuses a bad value */
	for (size_t i = 0; i < n; i++) {
		bad[i] = jv_null();
		if (jv_get_kind(values[i]) == JV_KIND_STRING &&
		    !usable(values[i], arg, nbad == 0 ? &why : &err)) {
			bad[i] = values[i];
			values[i] = jv_null();
			nbad++;
		}
	}
	if (nbad > 0) {
		dp_diag("%d cached %s unusable (%s): dropped from the cache, asked anew", nbad,
			noun[nbad != 1], why.msg);
		dp_reuse_note(r, dp_reuse_drop(r, t, keys, bad, n, &err),
				  "could not drop unusable results from the cache", &err);
	}
	for (size_t i = 0; i < n; i++)
		jv_free(bad[i]);
	free(bad);
	return found - nbad;
}

void dp_api_cli_free(dp_api_cli *api)
{
	if (api->api_key != NULL) {
		memset(api->api_key, 0, strlen(api->api_key));
		free(api->api_key);
		api->api_key = NULL;
	}
}

int dp_api_open_reuse(const dp_api_cli *api, const char *app, dp_reuse **reuse,
		      dp_err *err)
{
	*reuse = NULL;
	if (!dp_api_is_remote(api) || api->no_reuse)
		return 0;
	if (!dp_reuse_configured()) {
		dp_diag("no database configured (DATABASE_URL or PG*): results are not reused");
		return 0;
	}
	*reuse = dp_reuse_open(app, 1, err);
	if (*reuse != NULL)
		return 0;
	return dp_db_open_refused(err) ? DP_EXIT_USAGE : DP_EXIT_SYSTEM;
}

int dp_api_finish(dp_http *http, const char *what, unsigned long reused,
		  unsigned long requested, int rc)
{
	if (http != NULL) {
		dp_http_stats st;
		dp_http_get_stats(http, &st);
		char hung[64] = "";
		if (st.hung > 0)
			snprintf(hung, sizeof hung, ", %lu given up as lost (hung)", st.hung);
		dp_diag("%lu %s reused, %lu requested in %lu requests (%lu retries, %lu throttled%s); "
			"in flight: %d at the end, %d at most, lowered %lu times (%lu more undone: "
			"weather, %.0f%% of answers refused whatever the load)",
			reused, what, requested, st.requests, st.retries, st.throttled, hung, st.level,
			st.highest, st.decreases, st.undone, st.weather * 100);
		/* A fixed level above what the server serves at once (a local
		 * model's one slot) queues requests past the timeout: said,
		 * as nothing else tells it (fault sweep 17: -j4 on one slot,
		 * 42 requests for 20, 1.56x -j1's time, silent). */
		if (st.late > 0)
			dp_diag("%lu answers took over half of --timeout at --threads %d: the server may"
				" serve fewer requests at once (a local model often serves one); lower"
				" --threads, or --threads auto finds the level", st.late, st.highest);
	}
	const char *why = http != NULL ? dp_http_refused_reason(http) : "";
	if (why[0] != '\0' && rc != DP_EXIT_SYSTEM) {
		dp_diag("stopped: %s; see the error records", why);
		return DP_EXIT_REFUSED;
	}
	return rc;
}
