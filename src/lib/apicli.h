/* Command-line options shared by the stages that call model APIs
 * (summarize, embed): backend, model, server, key, budgets, reuse.
 *
 * Used like cli_io.h: DP_API_LONGOPTS in the getopt_long table, dp_api_option()
 * for every option, dp_api_help in --help. */
#ifndef DP_APICLI_H
#define DP_APICLI_H

#include <getopt.h>

#include "cli_io.h"
#include "err.h"
#include "http.h"
#include "reuse.h"

enum {
	DP_OPT_BACKEND = 0x1100,
	DP_OPT_MODEL,
	DP_OPT_BASE_URL,
	DP_OPT_API_KEY_FILE,
	DP_OPT_RPM,
	DP_OPT_TPM,
	DP_OPT_TIMEOUT,
	DP_OPT_RETRIES,
	DP_OPT_RETRY_BUDGET,
	DP_OPT_REFRESH,
	DP_OPT_NO_REUSE,
	DP_OPT_MAX_THREADS,
};

#define DP_API_LONGOPTS                                                        \
	{"backend", required_argument, NULL, DP_OPT_BACKEND},                  \
	{"model", required_argument, NULL, DP_OPT_MODEL},                      \
	{"base-url", required_argument, NULL, DP_OPT_BASE_URL},                \
	{"api-key-file", required_argument, NULL, DP_OPT_API_KEY_FILE},        \
	{"rpm", required_argument, NULL, DP_OPT_RPM},                          \
	{"tpm", required_argument, NULL, DP_OPT_TPM},                          \
	{"timeout", required_argument, NULL, DP_OPT_TIMEOUT},                  \
	{"retries", required_argument, NULL, DP_OPT_RETRIES},                  \
	{"retry-budget", required_argument, NULL, DP_OPT_RETRY_BUDGET},        \
	{"refresh", no_argument, NULL, DP_OPT_REFRESH},                        \
	{"no-reuse", no_argument, NULL, DP_OPT_NO_REUSE},                      \
	{"max-threads", required_argument, NULL, DP_OPT_MAX_THREADS}

#define DP_API_KEY_MAX 4096
#define DP_THREADS_MAX 256
#define DP_MAX_THREADS_DEFAULT 64
#define DP_THREADS_DEFAULT 1 /* --threads when not given (0: auto) */

typedef struct dp_api_cli {
	const char *backend;   /* NULL: local */
	const char *model;     /* NULL: the backend's default */
	const char *base_url;  /* NULL: $OPENAI_BASE_URL, else the backend's default */
	char *api_key;         /* from --api-key-file (owned), else NULL: $OPENAI_API_KEY */
	dp_http_opts http;     /* budgets and timeouts (base_url, api_key unused) */
	int refresh;           /* ignore reusable results, overwrite them */
	int no_reuse;          /* neither read nor write reusable results */
	long threads;          /* --threads N; 0: auto */
	long max_threads;      /* --max-threads (0: DP_MAX_THREADS_DEFAULT) */
} dp_api_cli;

/* The options as --help prints them. */
extern const char dp_api_help[];

/* Handles one option: DP_CLI_TAKEN, DP_CLI_UNKNOWN or DP_CLI_BAD (err set)
 * as in cli.h.  --api-key-file is refused unless the file is a regular
 * file of mode 0600 or stricter; the key never appears in err. */
int dp_api_option(dp_api_cli *api, int opt, const char *arg, dp_err *err);

/* An option that is none of a main's own: the API options, then the ones
 * every stage shares (dp_cli_other_option, into cli).  Returns -1 to go
 * on, else the exit status: DP_EXIT_USAGE with err set and *said 0, or an
 * outcome dp_cli_other_option already said (*said 1). */
int dp_api_other_option(dp_api_cli *api, dp_cli *cli, int opt, const char *arg, dp_err *err,
			int *said);

/* Parses --threads: N (1..DP_THREADS_MAX) or "auto" (api->threads 0).
 * Returns DP_CLI_TAKEN or DP_CLI_BAD with err set. */
int dp_api_parse_threads(dp_api_cli *api, const char *arg, dp_err *err);

/* After the options: sets api->http's level (fixed --threads N, or auto up
 * to --max-threads) and names --retry-budget as the option of its retry
 * budget (in the messages of a wait beyond it), and returns the number of
 * worker threads the stage runs: per_level x that level (at most
 * DP_THREADS_MAX x per_level).  A worker makes one request at a time and
 * sleeps through its retry waits (a 429's Retry-After) outside the level,
 * so a stage that keeps the level busy through 429 weather needs more
 * workers than the level.  A local backend with auto gets one thread per
 * online CPU.  A test shortens the first retry's backoff with
 * DOCPIPE_TEST_BACKOFF_MS (a test hook). */
int dp_api_workers(dp_api_cli *api, int per_level);

/* 1 unless the backend is local. */
int dp_api_is_remote(const dp_api_cli *api);

/* Opens the result cache for a remote backend unless --no-reuse: *reuse is
 * then the cache, or NULL when no database is configured (said once on
 * stderr: results are not reused).  Returns 0, or the exit status with err
 * set when a configured database cannot be used: DP_EXIT_USAGE when the
 * role lacks a privilege or the database takes no writes
 * (dp_db_open_refused), else DP_EXIT_SYSTEM. */
int dp_api_open_reuse(const dp_api_cli *api, const char *app, dp_reuse **reuse,
		      dp_err *err);

/* The end of an API stage's run: says on stderr what was reused and
 * requested (nothing for a local backend: http NULL) and returns the exit
 * status, DP_EXIT_REFUSED when the API refused the run (http's refusal:
 * every call that returned DP_HTTP_REFUSED made it) and nothing worse
 * happened. */
int dp_api_finish(dp_http *http, const char *what, unsigned long reused,
		  unsigned long requested, int rc);

/* Of a cached value (borrowed): 1 if usable, else 0 with why set. */
typedef int (*dp_api_usable)(jv value, void *arg, dp_err *why);

/* Looks up keys[0..n) in the cache (dp_reuse_get; a failure is said by
 * dp_reuse_note with what_failed) and keeps the values usable(value,
 * arg) accepts.  The others, bad answers kept by a version that did not
 * check, become null so that they are asked anew; they are dropped from
 * the cache, so that the fresh result is kept in their place, and said on
 * stderr ("N cached <noun> unusable (why)"; noun[0] singular, noun[1]
 * plural).  values[i] (owned) become the usable strings or jv_null().
 * Returns how many are usable, or -1 when the lookup failed. */
int dp_api_reuse_get(dp_reuse *r, enum dp_reuse_table t, const char (*keys)[DP_HASH_HEX],
		     size_t n, jv *values, dp_api_usable usable, void *arg,
		     const char *const noun[2], const char *what_failed);

/* Wipes and frees the key. */
void dp_api_cli_free(dp_api_cli *api);

#endif
