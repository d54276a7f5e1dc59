/* docpipe-plan: what a run over some roots would do and cost, predicted
 * without sending a single request to a model API (issue 13).
 *
 * Discover and chunk run for real (the stage executables, with the run's
 * options), so the plan sees the very chunks the run will.  The store's
 * documents table says which documents are new, changed, unchanged or
 * gone (its rule: hash + chunker, summarizer, embedder identity); the
 * reuse cache says which summaries and vectors are already paid for.  What
 * is left is what the run will send: per stage requests, inputs, tokens
 * (the estimate the stages count with, text.h) and, with a price per
 * million tokens for the model, dollars. */
#ifndef PLAN_PLAN_H
#define PLAN_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>
#include <libpq-fe.h>

#include "../embed/embed.h"
#include "../summarize/options.h"
#include "../summarize/summarize.h"
#include "apicli.h"
#include "err.h"

#define PLAN_PRICES_MAX 32
#define PLAN_FAILURES_MAX 100   /* failures listed (all are counted) */
#define PLAN_SUMMARY_TOKENS_DEFAULT 100

enum { PLAN_SUMMARIZE = 0, PLAN_EMBED = 1, PLAN_STAGES = 2 };

/* One API stage's prediction. */
typedef struct plan_stage {
	char backend[32], model[200];
	int remote;               /* an API backend (local ones cost nothing) */
	int cache;                /* the run will read the reuse cache */
	unsigned long long requests, requests_max, inputs, cached, tokens;
	unsigned long long guessed; /* requests whose prompt holds a summary not made yet */
	/* Inputs the reuse cache does not hold that repeat one earlier in the
	 * run (a boilerplate chunk, a file's copy): the run pays each text
	 * once (its in-flight registry or cache answers the copies), so they
	 * count in requests_max only. */
	unsigned long long repeated;
} plan_stage;

typedef struct plan_price {
	char model[200];
	double usd_per_mtok;
} plan_price;

/* Options of the run being planned, as `docpipe run` takes them. */
typedef struct plan_opts {
	char **discover_argv, **chunk_argv; /* NULL-terminated, owned */
	size_t ndiscover, nchunk;
	char **sum_argv, **emb_argv;        /* stage options, without argv[0] */
	size_t nsum, nemb;
	char **roots;                       /* absolute */
	size_t nroots;
	plan_price prices[PLAN_PRICES_MAX];
	size_t nprices;
	size_t summary_tokens;              /* assumed length of a summary not made yet */
	char *run;                          /* --run: record the plan for this run id (owned) */
	int json;
	int delete_excluded;                /* --delete-excluded: as the run's sweep */
} plan_opts;

typedef struct plan {
	/* The stages as the run will configure them. */
	summarize_ctx sum;
	dp_api_cli sum_api;
	summarize_templates sum_templates; /* owned --prompt-file / --chunk-prompt-file texts */
	embed_ctx emb;            /* emb.reuse: set when a stage reads the cache
				   * (embed_doc_prepare computes keys then) */
	dp_api_cli emb_api;
	dp_embedder_opts emb_opts; /* --dim, --batch-inputs (0: defaults) */
	char *placeholder;        /* a summary not made yet: summary_tokens tokens */
	PGconn *db;               /* NULL: no database configured */
	int have_documents;       /* docpipe.documents exists */
	char corpus_embedder[256]; /* docpipe.settings; "" when none yet */
	int corpus_dim;
	/* The prediction. */
	unsigned long long seen, added, updated, unchanged, gone, failed, chunks;
	plan_stage stage[PLAN_STAGES];
	size_t pack_n, pack_tokens; /* the embedding request being packed */
	unsigned long long emb_docs_missing; /* documents with a vector to request */
	uint64_t *keys;           /* result keys counted (open addressing, 0 empty) */
	size_t nkeys, cap_keys;
	char **paths;             /* documents seen (owned), for "gone" */
	size_t npaths, cap_paths;
	jv failures;              /* [{path, stage, error}], at most PLAN_FAILURES_MAX */
} plan;

/* options.c: parses the command line (docpipe run's: --config files,
 * --opt STAGE=ARG, --glob, --exclude; run-only options are accepted and
 * ignored) and the plan's own options (also as "plan ARG" lines of a
 * config file).  Returns 0, 1 after --help (the caller prints it), 2
 * after --version (printed), or -1 with err (a usage error). */
int plan_parse(plan_opts *o, int argc, char **argv, dp_err *err);
void plan_opts_free(plan_opts *o);

/* setup.c: configures the summarizer and embedder from their options and
 * connects to the database when one is configured.  Returns 0, or
 * DP_EXIT_USAGE / DP_EXIT_SYSTEM with err. */
int plan_setup(plan *p, const plan_opts *o, dp_err *err);
void plan_free(plan *p);

/* source.c: runs discover | chunk and hands every record they write to
 * take(p, rec) in batches of up to batch records (consumed).  Returns 0,
 * or -1 with err (a stage could not start or failed with status >= 2). */
int plan_read_documents(const plan_opts *o, int (*take)(plan *, jv *, size_t, dp_err *),
			plan *p, size_t batch, dp_err *err);

/* predict.c: the prediction for a batch of records (consumed).  Returns
 * 0 or -1 with err (a database error). */
int plan_take(plan *p, jv *recs, size_t n, dp_err *err);
/* Ends the prediction: the last embedding request, the documents gone.
 * Returns 0 or -1 with err. */
int plan_finish(plan *p, const plan_opts *o, dp_err *err);

/* cache.c: which keys[0..n) the reuse cache holds (found[i] = 1) and, for
 * summaries, their values (values[i] owned string or null; values may be
 * NULL).  One round trip, read-only.  Returns 0 or -1 with err. */
int plan_cache_lookup(PGconn *db, int summaries, const char (*keys)[DP_HASH_HEX], size_t n,
		      unsigned char *found, jv *values, dp_err *err);

/* report.c: the prediction as an object (owned) and printed for people. */
jv plan_report(const plan *p, const plan_opts *o);
void plan_print(FILE *out, jv report);

/* Records the report (borrowed) as the prediction of run o->run, so that
 * docpipe status shows it beside what the run spent.  Returns 0 or -1 with
 * err (also when no database is configured). */
int plan_record(const plan *p, const plan_opts *o, jv report, dp_err *err);

#endif
