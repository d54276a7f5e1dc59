/* docpipe-summarize's work on one document record. */
#ifndef SUMMARIZE_SUMMARIZE_H
#define SUMMARIZE_SUMMARIZE_H

#include <stdatomic.h>
#include <stddef.h>

#include <jv.h>

#include "err.h"
#include "http.h"
#include "reuse.h"

#define SUMMARIZE_CONTEXT_DEFAULT 6000 /* tokens of document text per request */
#define SUMMARIZE_PROMPT_MAX (64 << 10)

/* The default prompt templates.  Placeholders: {text} (the document or
 * section text), {path}; in the chunk template also {summary} (the
 * document's summary), {heading} (the chunk's heading path) and {chunk}. */
extern const char summarize_doc_prompt[];
extern const char summarize_chunk_prompt[];

typedef struct summarize_ctx {
	int chunk_summaries;   /* also set chunks[].summary */
	/* API backends only (http NULL: local). */
	dp_http *http;
	int ollama;            /* native Ollama /api/chat, else OpenAI /chat/completions */
	const char *model;
	const char *doc_prompt;   /* templates (borrowed) */
	const char *chunk_prompt;
	size_t context_tokens; /* longer documents are summarized by section */
	char identity[300];    /* backend/model/p-<prompt hash>: the "summarizer" */
	dp_reuse *reuse;       /* NULL: no reuse */
	int refresh;
	atomic_int whole;      /* some answer was not cut at the output limit */
	atomic_int cut;        /* answers cut at the output limit before one whole */
	atomic_int default_temperature; /* the server refused "temperature" 0: not sent */
	atomic_int option_refusals; /* calls rejected naming an option before one whole */
	atomic_ulong reused, requested;
} summarize_ctx;

/* dp_stage_ops.process for the local backend: rec (consumed) is a
 * document record; returns it with summary and summarizer set (and
 * chunks[].summary with chunk_summaries), or an error record naming the
 * bad field.  (API backends run sched.h's scheduler instead.) */
jv summarize_process(void *ctx, jv rec);

/* The local backend on a record that passed dp_doc_check_chunks (n
 * chunks).  Returns the record (consumed) with the summaries set, or an
 * error record (out of memory). */
jv summarize_local(jv rec, int n, int chunk_summaries);

/* The API backends' parts, used by sched.h (the prompts they send are
 * built by prompts.h, shared with docpipe-plan). */

/* One chat request.  Returns 0 with *answer (owned string, not blank, a
 * NUL in it replaced by U+FFFD), or a dp_http_status with err set
 * (DP_HTTP_REFUSED: the run refused, dp_http_refused_reason says why;
 * DP_HTTP_FAILED for an answer missing or empty or only whitespace). */
int summarize_chat(summarize_ctx *ctx, const char *prompt, jv *answer, dp_err *err);

/* keys[i] of prompts[i]: the cache's key, and the in-flight registry's
 * (sched.c: a copy of a prompt waits for the first one's answer). */
void summarize_keys(summarize_ctx *ctx, char *const *prompts, size_t n, char (*keys)[DP_HASH_HEX]);
/* The cache: sets answers[i] (owned) to a known answer under keys[i] or
 * null (all null without a cache or with --refresh).  A failed lookup is
 * said on stderr and finds nothing; a blank answer found is dropped from
 * the cache, said on stderr, and not used. */
void summarize_lookup(summarize_ctx *ctx, const char (*keys)[DP_HASH_HEX], size_t n, jv *answers);
/* Keeps answer (borrowed, a good one) under key (with a cache only), as
 * soon as it came: written behind (dp_reuse_put), so a stop or kill
 * mid-round loses at most the answers of one INSERT, not the round's. */
void summarize_keep(summarize_ctx *ctx, const char key[DP_HASH_HEX], jv answer);

/* Sets ctx->identity from backend, model and the two templates. */
void summarize_set_identity(summarize_ctx *ctx, const char *backend);

/* Expands {name} placeholders of tmpl with values[i] for names[i]
 * (unknown placeholders stay as they are).  Returns a malloc'd string, or
 * NULL when out of memory or longer than max bytes. */
char *summarize_fill(const char *tmpl, const char *const *names, const char *const *values,
		     size_t n, size_t max);

#endif
