/* docpipe-query: the chunks of the stored corpus nearest to a question. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_io.h"
#include "db.h"
#include "embedder.h"
#include "err.h"
#include "lexer.h"
#include "output.h"
#include "run.h"
#include "text.h"
#include "transport.h"
#include "vec.h"

/* The most one question waits on the embedding API, retries included. */
#define QUERY_API_BUDGET_MS 30000

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: docpipe-query [OPTIONS] QUESTION\n"
		"Prints the stored chunks that best answer QUESTION: full-text ranking (BM25\n"
		"over the chunk's heading path, summary and text) fused with vector\n"
		"similarity (QUESTION embedded with the corpus's own embedder) by their\n"
		"standard scores.  The database comes from $DATABASE_URL, or libpq's PG*\n"
		"variables when it is unset.\n"
		"\n"
		"Options:\n"
		"  -k, --top N         number of results (default 5, at most %d)\n"
		"  --mode MODE         hybrid (default), vector or text\n"
		"  --path GLOB         only documents whose path matches GLOB ('*' crosses '/');\n"
		"                      repeatable: any may match\n"
		"  --where KEY=VALUE   only documents whose metadata KEY is VALUE (or a list\n"
		"                      holding it); repeatable: all must hold\n"
		"  --since DATE        only documents modified at or after DATE (2024-05-01,\n"
		"                      or any date/time PostgreSQL reads)\n"
		"  --json              one JSON object per result (rank, score, path, seq,\n"
		"                      heading, byte/line/page range, vector_rank/score,\n"
		"                      text_rank/score, snippet, highlights, content,\n"
		"                      summary)\n"
		"  --ef-search N       pgvector HNSW candidate list (default %d, the most; raised\n"
		"                      to the rows asked for): lower is faster, worse recall\n"
		"  --fusion RULE       zscore (default: standard scores of each side, summed)\n"
		"                      or rrf (reciprocal rank fusion)\n"
		"  --rrf-k N           reciprocal rank fusion constant (default %d)\n"
		"  --text-weight W     weight of the text ranking in the fusion, the vector\n"
		"                      ranking's being 1 (default %g)\n"
		"  --per-document N    at most N chunks of one document before the others\n"
		"                      (default %d: no limit)\n"
		"  --file-weight W     hybrid: rank the documents of the best chunks again,\n"
		"                      each as a whole text (BM25), fused with weight W, and\n"
		"                      give each one's best chunk first (default %g; 0: off)\n"
		"  --prf N             hybrid: add the vectors of the text ranking's first N\n"
		"                      chunks to the question's (pseudo-relevance feedback;\n"
		"                      default %d; 0: off)\n"
		"  --prf-weight W      their mean's weight, the question's being 1 (default %g)\n"
		"  --prf-lead R        only when the text ranking's first chunk scores at\n"
		"                      least R times its second (default %g; 1: always)\n"
		"  --text-rank R       bm25 (default) or cd (PostgreSQL's ts_rank_cd)\n"
		"  --proximity W       bm25: add W times the question's terms' proximity in\n"
		"                      a chunk (BM25TP) to the text ranking's best %d\n"
		"                      (default %g; 0: off)\n"
		"  --vector BASE64     search with this vector (float32 LE, base64) instead\n"
		"                      of embedding QUESTION\n"
		"  --db-env NAME       read the connection URL from $NAME\n"
		"\n%s\n"
		"Exit status:\n"
		"  0  results printed (possibly none: a notice says why)\n"
		"  1  nothing to search: no docpipe schema, nothing stored, or no full-text index\n"
		"  2  usage or configuration error; a login refused for good\n"
		"  3  system error: the database or the embedding API failed, output failed\n"
		"  4  the embedding API refused (quota exhausted, bad credentials)\n",
		QUERY_K_MAX, QUERY_EF_SEARCH_DEFAULT, QUERY_RRF_K_DEFAULT, QUERY_TEXT_WEIGHT_DEFAULT,
		QUERY_PER_DOC_DEFAULT, QUERY_FILE_WEIGHT_DEFAULT, QUERY_PRF_DEFAULT, QUERY_PRF_WEIGHT_DEFAULT, QUERY_PRF_LEAD_DEFAULT, QUERY_POOL_MIN, QUERY_PROXIMITY_DEFAULT,
		dp_cli_help_no_input);
}

enum {
	OPT_JSON = 0x2000, OPT_VECTOR, OPT_DB_ENV, OPT_MODE, OPT_PATH, OPT_WHERE, OPT_SINCE,
	OPT_EF_SEARCH, OPT_RRF_K, OPT_TEXT_WEIGHT, OPT_TEXT_RANK, OPT_FUSION, OPT_PER_DOC, OPT_PRF,
	OPT_PRF_WEIGHT, OPT_PRF_LEAD, OPT_FILE_WEIGHT, OPT_PROXIMITY, OPT_HELP
};

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
	/* A question waits for its answer: a 429's Retry-After or a server
	 * down is waited out QUERY_API_BUDGET_MS at most, not a stage's 5
	 * minutes (a query sat silent that long: helper's fault sweep 5). */
	const dp_http_opts http = {.timeout_ms = QUERY_API_BUDGET_MS, .max_retry_ms = QUERY_API_BUDGET_MS};
	/* The dimension is the corpus's, not an option: a vector of another
	 * size means the server's model is not the one the corpus was
	 * embedded with (a query has no --dim to change). */
	char dim_hint[DP_EMBED_HINT_MAX];
	snprintf(dim_hint, sizeof dim_hint, "the corpus was embedded by %s with %d dimensions:"
		 " serve that model at that size, or embed the corpus again", c->embedder, c->dim);
	dp_embedder_opts opts = {.backend = backend, .model = slash != NULL ? slash + 1 : NULL,
				 .dim = c->dim, .http = &http, .dim_hint = dim_hint};
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
	if (rc < 0) {
		char why[DP_ERR_MAX];
		snprintf(why, sizeof why, "%s", err->msg);
		dp_err_set(err, "--vector: %.400s (the corpus's vectors have %zu dimensions)", why, dim);
	}
	return rc;
}

/* A weight from 0 to 1000 into *w.  Returns 0, or -1 with err. */
static int parse_weight(const char *name, const char *arg, double *w, dp_err *err)
{
	double x;

	if (dp_cli_read_double(arg, &x) == 0 && x >= 0 && x <= 1000) {
		*w = x;
		return 0;
	}
	dp_err_set(err, "--%s: '%s' is not a number from 0 to 1000", name, arg);
	return -1;
}

/* Parses one option of query's own (not the shared ones) into o.
 * Returns 0, or -1 with err. */
static int query_option(int opt, const char *arg, query_opts *o, dp_err *err)
{
	long n;

	switch (opt) {
	case 'k':
		if (dp_cli_parse_long("top", arg, 1, QUERY_K_MAX, &n, err) < 0)
			return -1;
		o->k = (size_t)n;
		return 0;
	case OPT_MODE:
		if (strcmp(arg, "hybrid") == 0 || strcmp(arg, "vector") == 0 || strcmp(arg, "text") == 0) {
			o->mode = arg[0] == 'h' ? QUERY_HYBRID : arg[0] == 'v' ? QUERY_VECTOR : QUERY_TEXT;
			return 0;
		}
		dp_err_set(err, "--mode: '%s' is not hybrid, vector or text", arg);
		return -1;
	case OPT_TEXT_RANK:
		if (strcmp(arg, "bm25") == 0 || strcmp(arg, "cd") == 0) {
			o->text_rank = arg[0] == 'b' ? QUERY_RANK_BM25 : QUERY_RANK_CD;
			return 0;
		}
		dp_err_set(err, "--text-rank: '%s' is not bm25 or cd", arg);
		return -1;
	case OPT_EF_SEARCH:
		if (dp_cli_parse_long("ef-search", arg, 1, 1000, &n, err) < 0)
			return -1;
		o->ef_search = (int)n;
		return 0;
	case OPT_RRF_K:
		if (dp_cli_parse_long("rrf-k", arg, 0, 100000, &n, err) < 0)
			return -1;
		o->fusion.rrf_k = (double)n;
		return 0;
	case OPT_FUSION:
		if (strcmp(arg, "zscore") == 0 || strcmp(arg, "rrf") == 0) {
			o->fusion.rule = arg[0] == 'z' ? QUERY_FUSE_ZSCORE : QUERY_FUSE_RRF;
			return 0;
		}
		dp_err_set(err, "--fusion: '%s' is not zscore or rrf", arg);
		return -1;
	case OPT_PER_DOC:
		if (dp_cli_parse_long("per-document", arg, 0, QUERY_K_MAX, &n, err) < 0)
			return -1;
		o->fusion.per_doc = (int)n;
		return 0;
	case OPT_PRF:
		if (dp_cli_parse_long("prf", arg, 0, QUERY_PRF_MAX, &n, err) < 0)
			return -1;
		o->prf = (int)n;
		return 0;
	case OPT_TEXT_WEIGHT:
		return parse_weight("text-weight", arg, &o->fusion.text_weight, err);
	case OPT_PRF_WEIGHT:
		return parse_weight("prf-weight", arg, &o->prf_weight, err);
	case OPT_PRF_LEAD:
		return parse_weight("prf-lead", arg, &o->prf_lead, err);
	case OPT_FILE_WEIGHT:
		return parse_weight("file-weight", arg, &o->fusion.file_weight, err);
	case OPT_PROXIMITY:
		return parse_weight("proximity", arg, &o->proximity, err);
	case OPT_PATH:
		return query_filter_add_path(&o->filter, arg, err);
	case OPT_WHERE:
		return query_filter_add_where(&o->filter, arg, err);
	default: /* OPT_SINCE */
		if (dp_utf8_check("--since", arg, err) < 0)
			return -1;
		o->filter.since = arg;
		return 0;
	}
}

/* Says on stderr which of the options given (bit opt - OPT_MODE of given)
 * the search will not use: a mode's own options under another mode, the
 * RRF constant under z-score fusion, a feedback weight without feedback.
 * A notice, not an error: a script that varies --mode alone keeps working. */
static void notice_unused(const query_opts *o, unsigned given)
{
	enum { H = 1 << QUERY_HYBRID, V = 1 << QUERY_VECTOR, T = 1 << QUERY_TEXT };
	static const struct {
		int opt;
		const char *name;
		unsigned modes; /* the modes that use it */
	} uses[] = {
		{OPT_EF_SEARCH, "--ef-search", H | V}, {OPT_TEXT_RANK, "--text-rank", H | T},
		{OPT_FUSION, "--fusion", H},           {OPT_RRF_K, "--rrf-k", H},
		{OPT_TEXT_WEIGHT, "--text-weight", H}, {OPT_PRF, "--prf", H},
		{OPT_PRF_WEIGHT, "--prf-weight", H}, {OPT_PRF_LEAD, "--prf-lead", H},
		{OPT_FILE_WEIGHT, "--file-weight", H}, {OPT_PROXIMITY, "--proximity", H | T},
	};
	static const char *const modes[] = {[QUERY_HYBRID] = "hybrid", [QUERY_VECTOR] = "vector",
					     [QUERY_TEXT] = "text"};

	for (size_t i = 0; i < sizeof uses / sizeof uses[0]; i++) {
		if (!(given & 1u << (uses[i].opt - OPT_MODE)))
			continue;
		if (!(uses[i].modes & 1u << o->mode))
			dp_diag("notice: --mode %s does not use %s (it applies to --mode %s)", modes[o->mode],
				uses[i].name, uses[i].modes & V ? "hybrid or vector"
					      : uses[i].modes & T ? "hybrid or text" : "hybrid");
		else if (uses[i].opt == OPT_RRF_K && o->fusion.rule != QUERY_FUSE_RRF)
			dp_diag("notice: --rrf-k is not used: it applies to --fusion rrf");
		else if ((uses[i].opt == OPT_PRF_WEIGHT || uses[i].opt == OPT_PRF_LEAD) && o->prf == 0)
			dp_diag("notice: %s is not used: --prf 0 turns the feedback off", uses[i].name);
		else if (uses[i].opt == OPT_PROXIMITY && o->text_rank != QUERY_RANK_BM25)
			dp_diag("notice: --proximity is not used: it applies to --text-rank bm25");
	}
}

/* Writes results (consumed) as JSON records or text.  Returns DP_EXIT_OK
 * or DP_EXIT_SYSTEM with err. */
static int print_results(dp_cli *cli, int json, jv results, dp_err *err)
{
	int rc = DP_EXIT_OK;

	if (!json) {
		query_print_text(stdout, results);
		return dp_stdout_flush(err) < 0 ? DP_EXIT_SYSTEM : DP_EXIT_OK;
	}
	dp_source *none;
	dp_sink *sink;
	if ((rc = dp_cli_open(cli, 0, &none, &sink, err)) != 0) {
		jv_free(results);
		return rc;
	}
	int n = jv_array_length(jv_copy(results));
	for (int i = 0; i < n && rc == DP_EXIT_OK; i++)
		if (dp_sink_put(sink, jv_array_get(jv_copy(results), i), err) < 0)
			rc = DP_EXIT_SYSTEM;
	if (dp_sink_close(&sink, rc == DP_EXIT_OK ? err : NULL) < 0)
		rc = DP_EXIT_SYSTEM;
	jv_free(results);
	return rc;
}

/* Embeds (or decodes) the question vector into q when the mode wants one,
 * decides the sides and searches.  Returns the exit status, with err
 * unless DP_EXIT_OK; *results gets the results on success. */
static int search(PGconn *db, const query_corpus *corpus, query_opts *o, const char *vector,
		  float *q, jv *results, dp_err *err)
{
	int rc;

	/* A bad --vector is refused in every mode; text mode does not use a
	 * good one, and says so. */
	if (vector != NULL && decode_vector(vector, q, (size_t)corpus->dim, err) < 0)
		return DP_EXIT_USAGE;
	if (vector != NULL && o->mode == QUERY_TEXT)
		dp_diag("notice: --mode text ranks by the question's words: --vector is not used");
	if (o->mode != QUERY_VECTOR && corpus->text_config[0] != '\0' && !dp_lexer_known(corpus->text_lexer))
		dp_diag("notice: the corpus's tsvectors were made by lexer %s, which this docpipe-query"
			" does not know (a newer docpipe's?): the question is lexed by the server's %s"
			" parser, and may miss terms; search with the docpipe that stored the corpus",
			corpus->text_lexer, corpus->text_config);
	if (o->mode != QUERY_TEXT) {
		if (vector == NULL && (rc = embed_question(corpus, o->question, q, err)) != DP_EXIT_OK)
			return rc;
		dp_vec_normalize(q, (size_t)corpus->dim);
		o->q = q;
	}
	rc = query_sides(db, corpus, o, err);
	/* A side's notice ("text ranking only") before an error that no side
	 * can run contradicts it. */
	if (o->notice != NULL && rc == DP_EXIT_OK)
		dp_diag("notice: %s", o->notice);
	if (rc == DP_EXIT_OK) {
		const char *why_none = NULL;
		*results = query_run(db, corpus, o, &why_none, err);
		rc = jv_is_valid(*results) ? DP_EXIT_OK : DP_EXIT_SYSTEM;
		if (rc == DP_EXIT_OK && why_none != NULL)
			dp_diag("notice: no result: %s", why_none);
	}
	free(o->terms);
	o->terms = NULL;
	return rc;
}

/* A corpus whose chunks were stored without vectors (corpus->dim 0) is
 * searched by its text: hybrid mode says so and ranks by text; vector
 * mode and --vector have nothing to rank by.  Returns DP_EXIT_OK or
 * DP_EXIT_FAILED with err. */
static int text_only(const query_corpus *corpus, query_opts *o, const char *vector, dp_err *err)
{
	if (corpus->dim > 0)
		return DP_EXIT_OK;
	if (o->mode == QUERY_VECTOR || vector != NULL) {
		dp_err_set(err, "the corpus has no embedded documents yet: %s needs vectors (--mode text"
			   " searches its text)", vector != NULL ? "--vector" : "--mode vector");
		return DP_EXIT_FAILED;
	}
	if (o->mode == QUERY_HYBRID)
		dp_diag("notice: the corpus has no embedded documents: ranked by its text only");
	o->mode = QUERY_TEXT;
	return DP_EXIT_OK;
}

/* Says what to grant when the role may not read one of docpipe's tables
 * (42501: "permission denied for table chunks" was exit 3, as if the
 * database had failed, and said nothing of the fix).  Returns 1 with err
 * extended, or 0 for another sqlstate. */
static int privilege_refused(const char *sqlstate, dp_err *err)
{
	char why[DP_ERR_MAX];

	if (strcmp(sqlstate, "42501") != 0)
		return 0;
	snprintf(why, sizeof why, "%s", err->msg);
	dp_err_set(err, "%s (a privilege the role lacks: docpipe-query reads every table of schema"
		   " docpipe; the owner grants it: GRANT USAGE ON SCHEMA docpipe TO <role>; GRANT SELECT"
		   " ON ALL TABLES IN SCHEMA docpipe TO <role>; restarting does not help)", why);
	return 1;
}

/* Connects, reads the corpus, searches and prints.  Returns the exit
 * status (diagnostics printed). */
static int connect_and_search(dp_cli *cli, const char *db_env, query_opts *o, const char *vector,
			      int json)
{
	dp_err err;

	dp_db_say_lock_waits(db_env, "docpipe-query-watch");
	PGconn *db = dp_db_connect(db_env, "docpipe-query", &err);

	if (db == NULL) {
		dp_diag("%s", err.msg);
		return dp_db_connect_status(err.msg);
	}
	query_corpus corpus;
	float *q = NULL;
	jv results = jv_invalid();
	int rc = query_corpus_load(db, &corpus, &err);
	if (rc != 0) /* lost settings: a damaged database, not one still to fill */
		rc = rc == 1 ? DP_EXIT_FAILED : DP_EXIT_SYSTEM;
	else if ((rc = query_filter_check(db, &o->filter, &err)) != 0)
		rc = rc > 0 ? DP_EXIT_USAGE : DP_EXIT_SYSTEM;
	else if ((rc = text_only(&corpus, o, vector, &err)) != DP_EXIT_OK)
		;
	else if ((q = malloc(((size_t)corpus.dim + 1) * sizeof *q)) == NULL)
		dp_err_set(&err, "out of memory"), rc = DP_EXIT_SYSTEM;
	else if ((rc = search(db, &corpus, o, vector, q, &results, &err)) == DP_EXIT_OK)
		rc = print_results(cli, json, jv_copy(results), &err);
	/* A limit of the database's settings (temp_file_limit: a large -k
	 * spills) and a privilege the role lacks are configuration errors,
	 * named. */
	if (rc == DP_EXIT_SYSTEM && (dp_db_limit_refused(dp_db_last_sqlstate(), &err) ||
				     privilege_refused(dp_db_last_sqlstate(), &err)))
		rc = DP_EXIT_USAGE;
	if (rc != DP_EXIT_OK)
		dp_diag("%s", err.msg);
	jv_free(results);
	free(q);
	PQfinish(db);
	return rc;
}

/* The shared option given that only --json output uses (the text goes
 * to standard output as it is), or NULL. */
static const char *sink_option(const dp_cli *cli)
{
	return cli->out != NULL ? "--out" : cli->io.jq != NULL ? "--jq" : cli->stats != NULL ? "--stats"
	       : cli->io.max_record > 0 ? "--max-record" : cli->io.hwm > 0 ? "--hwm"
	       : cli->io.curve_server != NULL ? "--curve-server" : cli->io.curve_key != NULL ? "--curve-key"
	       : cli->io.insecure ? "--insecure" : NULL;
}

/* Checks what the options cannot check one by one: the operands (one
 * QUESTION; none with --vector), the question's UTF-8, options that
 * would be ignored.  Returns 0, or -1 with err. */
static int check_args(const dp_cli *cli, const char *vector, int json, int nargs, char **args, dp_err *err)
{
	const char *opt = sink_option(cli);

	if (cli->in != NULL) {
		dp_err_set(err, "--in: docpipe-query reads no records; the question is its argument");
	} else if (nargs > 1) {
		char a0[200], a1[200];
		dp_utf8_shown(args[0], strlen(args[0]), a0, sizeof a0);
		dp_utf8_shown(args[1], strlen(args[1]), a1, sizeof a1);
		dp_err_set(err, "one QUESTION expected, %d arguments given ('%s', '%s'%s):"
			   " quote a question of several words", nargs, a0, a1, nargs > 2 ? ", ..." : "");
	} else if (nargs == 0 && vector == NULL) {
		dp_err_set(err, "no QUESTION given (or --vector BASE64 to search by a vector);"
			   " try --help");
	} else if (nargs == 1 && dp_utf8_check("the question", args[0], err) < 0) {
		return -1;
	} else if (!json && opt != NULL) {
		dp_err_set(err, "%s applies to --json output only (the text goes to standard output)",
			   opt);
	} else {
		return 0;
	}
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"top", required_argument, NULL, 'k'},
		{"json", no_argument, NULL, OPT_JSON},
		{"vector", required_argument, NULL, OPT_VECTOR},
		{"db-env", required_argument, NULL, OPT_DB_ENV},
		{"mode", required_argument, NULL, OPT_MODE},
		{"path", required_argument, NULL, OPT_PATH},
		{"where", required_argument, NULL, OPT_WHERE},
		{"since", required_argument, NULL, OPT_SINCE},
		{"ef-search", required_argument, NULL, OPT_EF_SEARCH},
		{"rrf-k", required_argument, NULL, OPT_RRF_K},
		{"text-weight", required_argument, NULL, OPT_TEXT_WEIGHT},
		{"text-rank", required_argument, NULL, OPT_TEXT_RANK},
		{"fusion", required_argument, NULL, OPT_FUSION},
		{"per-document", required_argument, NULL, OPT_PER_DOC},
		{"prf", required_argument, NULL, OPT_PRF},
		{"prf-weight", required_argument, NULL, OPT_PRF_WEIGHT},
		{"prf-lead", required_argument, NULL, OPT_PRF_LEAD},
		{"file-weight", required_argument, NULL, OPT_FILE_WEIGHT},
		{"proximity", required_argument, NULL, OPT_PROXIMITY},
		{"help", no_argument, NULL, OPT_HELP},
		DP_CLI_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	dp_cli cli = {0};
	const char *db_env = NULL, *vector = NULL;
	query_opts o = {.mode = QUERY_HYBRID, .k = 5, .ef_search = QUERY_EF_SEARCH_DEFAULT,
			.fusion = {.rule = QUERY_FUSE_ZSCORE, .rrf_k = QUERY_RRF_K_DEFAULT,
				   .text_weight = QUERY_TEXT_WEIGHT_DEFAULT,
				   .per_doc = QUERY_PER_DOC_DEFAULT,
				   .file_weight = QUERY_FILE_WEIGHT_DEFAULT},
			.prf = QUERY_PRF_DEFAULT, .prf_weight = QUERY_PRF_WEIGHT_DEFAULT,
			.prf_lead = QUERY_PRF_LEAD_DEFAULT, .proximity = QUERY_PROXIMITY_DEFAULT,
			.text_rank = QUERY_RANK_BM25};
	int json = 0, opt, rc = -1; /* -1: parsing goes on */
	unsigned given = 0; /* bit opt - OPT_MODE: the query options given */
	dp_err err;

	dp_cli_init("query");
	query_filter_init(&o.filter);
	while (rc < 0 && (opt = getopt_long(argc, argv, "k:", longopts, NULL)) != -1) {
		if (opt == OPT_JSON) {
			json = 1;
		} else if (opt == OPT_VECTOR) {
			vector = optarg;
		} else if (opt == OPT_DB_ENV) {
			db_env = optarg;
		} else if (opt == OPT_HELP) {
			usage(stdout);
			rc = DP_EXIT_OK;
		} else if (opt == 'k' || (opt >= OPT_MODE && opt < OPT_HELP)) {
			if (opt != 'k')
				given |= 1u << (opt - OPT_MODE);
			if (query_option(opt, optarg, &o, &err) < 0) {
				dp_diag("%s", err.msg);
				rc = DP_EXIT_USAGE;
			}
		} else {
			rc = dp_cli_other_option(&cli, opt, optarg);
		}
	}
	if (rc >= 0)
		goto out;
	if (check_args(&cli, vector, json, argc - optind, argv + optind, &err) < 0) {
		dp_diag("%s", err.msg);
		rc = DP_EXIT_USAGE;
		goto out;
	}
	notice_unused(&o, given);
	o.question = optind < argc ? argv[optind] : "";
	rc = connect_and_search(&cli, db_env, &o, vector, json);
out:
	query_filter_free(&o.filter);
	return rc;
}
