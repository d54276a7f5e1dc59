/* docpipe-query: the chunks of the stored corpus nearest to a question. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "embedder.h"
#include "err.h"
#include "search.h"
#include "vec.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: docpipe-query [OPTIONS] QUESTION\n"
		"Prints the stored chunks nearest to QUESTION, embedded with the corpus's\n"
		"own embedder.  The database comes from $DATABASE_URL, or libpq's PG*\n"
		"variables when it is unset.\n"
		"\n"
		"Options:\n"
		"  -k, --top N         number of results (default 5, at most %d)\n"
		"  --json              one JSON object per result (rank, score, path, seq,\n"
		"                      heading, content, summary)\n"
		"  --vector BASE64     search with this vector (float32 LE, base64) instead\n"
		"                      of embedding QUESTION\n"
		"  --db-env NAME       read the connection URL from $NAME\n"
		"\n%s\n%s",
		QUERY_K_MAX, dp_cli_help, dp_exit_codes_help);
}

enum { OPT_JSON = 0x2000, OPT_VECTOR, OPT_DB_ENV, OPT_HELP };

/* The exit status for a failed dp_embedder_embed (a dp_http_status). */
static int embed_exit_status(int rc)
{
	switch (rc) {
	case DP_HTTP_REFUSED:
		return DP_EXIT_REFUSED; /* quota or credentials */
	case DP_HTTP_REJECTED:
		return DP_EXIT_USAGE;   /* the question (or the model name) */
	default:
		return DP_EXIT_SYSTEM;  /* retries exhausted, a malformed answer */
	}
}

/* Embeds the question with the embedder named by the corpus ("backend/model").
 * Returns DP_EXIT_OK, or the exit status with err set. */
static int embed_question(const query_corpus *c, const char *question, float *q, dp_err *err)
{
	char backend[sizeof c->embedder];
	const char *slash = strchr(c->embedder, '/');
	size_t blen = slash != NULL ? (size_t)(slash - c->embedder) : strlen(c->embedder);

	memcpy(backend, c->embedder, blen);
	backend[blen] = '\0';
	dp_embedder_opts opts = {.backend = backend, .model = slash != NULL ? slash + 1 : NULL,
				 .dim = c->dim};
	dp_embedder *e = dp_embedder_new(&opts, err);
	if (e == NULL)
		return DP_EXIT_USAGE;
	size_t len = strlen(question);
	int rc = dp_embedder_embed(e, &question, &len, 1, q, err);
	if (rc != 0) {
		rc = embed_exit_status(rc);
	} else if (strcmp(dp_embedder_id(e), c->embedder) != 0) {
		dp_err_set(err, "the corpus was embedded with %s, but this build makes %s",
			   c->embedder, dp_embedder_id(e));
		rc = DP_EXIT_USAGE;
	}
	dp_embedder_free(&e);
	return rc;
}

static int decode_vector(const char *base64, float *q, size_t dim, dp_err *err)
{
	jv s = jv_string(base64);
	int rc = dp_vec_decode(s, q, dim, err);

	jv_free(s);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"top", required_argument, NULL, 'k'},
		{"json", no_argument, NULL, OPT_JSON},
		{"vector", required_argument, NULL, OPT_VECTOR},
		{"db-env", required_argument, NULL, OPT_DB_ENV},
		{"help", no_argument, NULL, OPT_HELP},
		DP_CLI_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	dp_cli cli = {0};
	const char *db_env = NULL, *vector = NULL;
	long k = 5;
	int json = 0, opt, rc;
	dp_err err;

	dp_cli_init("query");
	while ((opt = getopt_long(argc, argv, "k:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			if (dp_cli_parse_long("top", optarg, 1, QUERY_K_MAX, &k, &err) < 0) {
				dp_diag("%s", err.msg);
				return DP_EXIT_USAGE;
			}
			break;
		case OPT_JSON:
			json = 1;
			break;
		case OPT_VECTOR:
			vector = optarg;
			break;
		case OPT_DB_ENV:
			db_env = optarg;
			break;
		case OPT_HELP:
			usage(stdout);
			return DP_EXIT_OK;
		default:
			if ((rc = dp_cli_other_option(&cli, opt, optarg)) >= 0)
				return rc;
		}
	}
	if (cli.in != NULL) {
		dp_diag("--in: docpipe-query reads no records; the question is its argument");
		return DP_EXIT_USAGE;
	}
	if (optind + 1 != argc && !(vector != NULL && optind == argc)) {
		usage(stderr);
		return DP_EXIT_USAGE;
	}
	const char *question = optind < argc ? argv[optind] : "";

	PGconn *db = dp_db_connect(db_env, "docpipe-query", &err);
	if (db == NULL) {
		dp_diag("%s", err.msg);
		return DP_EXIT_SYSTEM;
	}
	query_corpus corpus;
	rc = query_corpus_load(db, &corpus, &err);
	if (rc != 0) {
		dp_diag("%s", err.msg);
		PQfinish(db);
		return rc > 0 ? DP_EXIT_FAILED : DP_EXIT_SYSTEM;
	}
	float *q = malloc((size_t)corpus.dim * sizeof *q);
	jv results = jv_invalid();
	rc = DP_EXIT_SYSTEM;
	if (q == NULL) {
		dp_err_set(&err, "out of memory");
	} else if (vector != NULL && decode_vector(vector, q, (size_t)corpus.dim, &err) < 0) {
		rc = DP_EXIT_USAGE;
	} else if (vector == NULL && (rc = embed_question(&corpus, question, q, &err)) != DP_EXIT_OK) {
		/* rc says why */
	} else {
		dp_vec_normalize(q, (size_t)corpus.dim);
		results = query_search(db, &corpus, q, (size_t)k, &err);
		rc = DP_EXIT_SYSTEM; /* unless the search gave results */
	}
	if (jv_is_valid(results)) {
		rc = DP_EXIT_OK;
		if (json) {
			dp_source *none;
			dp_sink *sink;
			if (dp_cli_open(&cli, 0, &none, &sink, &err) < 0) {
				rc = DP_EXIT_SYSTEM;
			} else {
				int n = jv_array_length(jv_copy(results));
				for (int i = 0; i < n && rc == DP_EXIT_OK; i++)
					if (dp_sink_put(sink, jv_array_get(jv_copy(results), i), &err) < 0)
						rc = DP_EXIT_SYSTEM;
				if (dp_sink_close(&sink, rc == DP_EXIT_OK ? &err : NULL) < 0)
					rc = DP_EXIT_SYSTEM;
			}
		} else {
			query_print_text(stdout, jv_copy(results));
			if (fflush(stdout) != 0) {
				dp_err_set(&err, "write to standard output failed");
				rc = DP_EXIT_SYSTEM;
			}
		}
	}
	if (rc != DP_EXIT_OK)
		dp_diag("%s", err.msg);
	jv_free(results);
	free(q);
	PQfinish(db);
	return rc;
}
