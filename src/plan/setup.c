#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "../embed/options.h"
#include "../summarize/extractive.h"
#include "../summarize/options.h"
#include "../summarize/prompts.h"
#include "cli_io.h"
#include "db.h"
#include "plan.h"

/* The options of docpipe-summarize and docpipe-embed (their --help).
 * Those that change what is sent are read (embed's --threads too: with
 * more than one request in flight it shares out what it holds when input
 * pauses); the others (budgets, timeouts, --jq, endpoints) are accepted
 * and change nothing here. */
static const struct option sum_opts[] = {
	SUMMARIZE_LONGOPTS,
	DP_API_LONGOPTS,
	DP_CLI_LONGOPTS,
	{NULL, 0, NULL, 0},
};
static const struct option emb_opts[] = {
	EMBED_LONGOPTS,
	DP_API_LONGOPTS,
	DP_CLI_LONGOPTS,
	{NULL, 0, NULL, 0},
};

/* getopt_long over a stage's options (argv without argv[0]); each option
 * goes to one(p, opt, arg, err).  Returns 0 or -1 with err. */
static int parse_stage(const char *stage, char **args, size_t n, const struct option *table,
		       int (*one)(plan *, int, const char *, dp_err *), plan *p, dp_err *err)
{
	char **argv = calloc(n + 2, sizeof *argv);
	int rc = 0, opt;

	if (argv == NULL) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	argv[0] = (char *)stage;
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = args[i];
	optind = 0;
	opterr = 0;
	while (rc == 0 && (opt = getopt_long((int)n + 1, argv, "j:", table, NULL)) != -1) {
		if (opt == '?' || opt == ':') {
			dp_err_set(err, "%s: unknown option or missing value in '%s'", stage,
				   argv[optind - 1]);
			rc = -1;
		} else {
			rc = one(p, opt, optarg, err);
		}
	}
	if (rc == 0 && optind <= (int)n) {
		dp_err_set(err, "%s: unexpected argument '%s'", stage, argv[optind]);
		rc = -1;
	}
	free(argv);
	return rc;
}

/* API and shared options: the API ones are kept, the shared ones change
 * nothing a plan sees. */
static int api_or_shared(dp_api_cli *api, int opt, const char *arg, dp_err *err)
{
	int rc = dp_api_option(api, opt, arg, err);

	if (rc == DP_CLI_BAD)
		return -1;
	return 0;
}

static int sum_one(plan *p, int opt, const char *arg, dp_err *err)
{
	int own = summarize_option(&p->sum, &p->sum_templates, &p->sum_api, opt, arg, err);

	return own != 0 ? (own > 0 ? 0 : -1) : api_or_shared(&p->sum_api, opt, arg, err);
}

static int emb_one(plan *p, int opt, const char *arg, dp_err *err)
{
	int own = embed_option(&p->emb_opts, &p->emb_api, opt, arg, err);

	return own != 0 ? (own > 0 ? 0 : -1) : api_or_shared(&p->emb_api, opt, arg, err);
}

/* The summarizer as the run's docpipe-summarize will be: identity,
 * templates, model. */
static int setup_summarize(plan *p, const plan_opts *o, dp_err *err)
{
	plan_stage *st = &p->stage[PLAN_SUMMARIZE];

	p->sum.doc_prompt = summarize_doc_prompt;
	p->sum.chunk_prompt = summarize_chunk_prompt;
	p->sum.context_tokens = SUMMARIZE_CONTEXT_DEFAULT;
	p->sum_api.threads = DP_THREADS_DEFAULT;
	if (parse_stage("summarize", o->sum_argv, o->nsum, sum_opts, sum_one, p, err) < 0)
		return -1;
	st->remote = dp_api_is_remote(&p->sum_api);
	if (!st->remote) {
		snprintf(p->sum.identity, sizeof p->sum.identity, "%s", EXTRACTIVE_ID);
		snprintf(st->backend, sizeof st->backend, "local");
		snprintf(st->model, sizeof st->model, "extractive-v1");
		return 0;
	}
	p->sum.ollama = strcmp(p->sum_api.backend, "ollama") == 0;
	p->sum.model = p->sum_api.model != NULL ? p->sum_api.model : summarize_default_model(p->sum.ollama);
	summarize_set_identity(&p->sum, p->sum_api.backend);
	snprintf(st->backend, sizeof st->backend, "%s", p->sum_api.backend);
	snprintf(st->model, sizeof st->model, "%s", p->sum.model);
	return 0;
}

/* The embedder as the run's docpipe-embed will be (no request is sent:
 * only its identity, dimension and batch size are used). */
static int setup_embed(plan *p, const plan_opts *o, dp_err *err)
{
	plan_stage *st = &p->stage[PLAN_EMBED];

	p->emb_api.threads = DP_THREADS_DEFAULT;
	if (parse_stage("embed", o->emb_argv, o->nemb, emb_opts, emb_one, p, err) < 0)
		return -1;
	dp_embedder_opts *eopts = &p->emb_opts;
	eopts->backend = p->emb_api.backend;
	eopts->model = p->emb_api.model;
	eopts->base_url = p->emb_api.base_url;
	eopts->api_key = p->emb_api.api_key;
	eopts->http = &p->emb_api.http;
	if ((p->emb.embedder = dp_embedder_new(eopts, err)) == NULL)
		return -1;
	const char *id = dp_embedder_id(p->emb.embedder), *slash = strchr(id, '/');
	st->remote = !dp_embedder_is_local(p->emb.embedder);
	snprintf(st->backend, sizeof st->backend, "%.*s", slash != NULL ? (int)(slash - id) : 0, id);
	snprintf(st->model, sizeof st->model, "%s", slash != NULL ? slash + 1 : id);
	return 0;
}

/* The database, when one is configured: the documents table, the corpus
 * settings, and the reuse cache (opened as the stages open it, which
 * creates its tables when missing). */
static int setup_db(plan *p, dp_err *err)
{
	if (!dp_reuse_configured())
		return 0;
	if ((p->db = dp_db_connect(NULL, "docpipe-plan", err)) == NULL)
		return -1;
	PGresult *res = dp_db_query(p->db, "SELECT to_regclass('docpipe.documents') IS NOT NULL,"
					   " to_regclass('docpipe.settings') IS NOT NULL", 0, NULL, err);
	if (res == NULL)
		return -1;
	p->have_documents = PQgetvalue(res, 0, 0)[0] == 't';
	int have_settings = PQgetvalue(res, 0, 1)[0] == 't';
	PQclear(res);
	if (have_settings) {
		if ((res = dp_db_query(p->db, "SELECT key, value FROM docpipe.settings", 0, NULL, err)) == NULL)
			return -1;
		dp_db_settings set;
		dp_db_settings_read(res, &set);
		PQclear(res);
		snprintf(p->corpus_embedder, sizeof p->corpus_embedder, "%s", set.embedder);
		p->corpus_dim = set.dim;
	}
	for (int k = 0; k < PLAN_STAGES; k++) {
		const dp_api_cli *api = k == PLAN_EMBED ? &p->emb_api : &p->sum_api;
		p->stage[k].cache = p->stage[k].remote && !api->no_reuse && !api->refresh;
		if (p->stage[k].remote && !api->no_reuse && p->emb.reuse == NULL &&
		    (p->emb.reuse = dp_reuse_open("docpipe-plan", 0, err)) == NULL)
			return -1;
	}
	return 0;
}

int plan_setup(plan *p, const plan_opts *o, dp_err *err)
{
	memset(p, 0, sizeof *p);
	p->failures = jv_array();
	if (setup_summarize(p, o, err) < 0 || setup_embed(p, o, err) < 0)
		return DP_EXIT_USAGE;
	p->placeholder = malloc(4 * o->summary_tokens + 1);
	if (p->placeholder == NULL) {
		dp_err_set(err, "out of memory");
		return DP_EXIT_SYSTEM;
	}
	memset(p->placeholder, 'x', 4 * o->summary_tokens);
	p->placeholder[4 * o->summary_tokens] = '\0';
	/* A privilege the role lacks (the caches' SELECT) is the run's refusal too. */
	if (setup_db(p, err) < 0)
		return dp_db_open_refused(err) ? DP_EXIT_USAGE : DP_EXIT_SYSTEM;
	return 0;
}

void plan_free(plan *p)
{
	dp_reuse_close(&p->emb.reuse);
	dp_embedder_free(&p->emb.embedder);
	dp_api_cli_free(&p->sum_api);
	dp_api_cli_free(&p->emb_api);
	free(p->sum_templates.doc);
	free(p->sum_templates.chunk);
	free(p->placeholder);
	if (p->db != NULL)
		PQfinish(p->db);
	for (size_t i = 0; i < p->npaths; i++)
		free(p->paths[i]);
	free(p->paths);
	free(p->keys);
	jv_free(p->failures);
	memset(p, 0, sizeof *p);
}
