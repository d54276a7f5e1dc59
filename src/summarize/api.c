/* Summaries from a chat model (OpenAI-compatible or Ollama). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docrec.h"
#include "hash.h"
#include "record.h"
#include "prompts.h"
#include "summarize.h"
#include "text.h"

const char summarize_doc_prompt[] =
	"Summarize the following document in at most three sentences. "
	"Answer with the summary only.\n\n{text}";
const char summarize_chunk_prompt[] =
	"Here is a summary of a document:\n{summary}\n\n"
	"Here is a chunk of it, from the section \"{heading}\":\n{chunk}\n\n"
	"Write one short sentence that situates this chunk within the document, "
	"to improve search retrieval of the chunk. Answer with that sentence only.";

void summarize_set_identity(summarize_ctx *ctx, const char *backend)
{
	dp_hasher h;
	char hex[DP_HASH_HEX];

	dp_hasher_init(&h);
	dp_hasher_add(&h, ctx->doc_prompt, strlen(ctx->doc_prompt));
	dp_hasher_add(&h, ctx->chunk_prompt, strlen(ctx->chunk_prompt));
	dp_hasher_hex(&h, hex);
	snprintf(ctx->identity, sizeof ctx->identity, "%s/%s/p-%.8s", backend, ctx->model, hex);
}

char *summarize_fill(const char *tmpl, const char *const *names, const char *const *values,
		     size_t n, size_t max)
{
	size_t cap = strlen(tmpl) + 1, o = 0;
	char *out;

	for (const char *p = tmpl; (p = strchr(p, '{')) != NULL; p++)
		for (size_t i = 0; i < n; i++)
			if (strncmp(p + 1, names[i], strlen(names[i])) == 0 &&
			    p[1 + strlen(names[i])] == '}')
				cap += strlen(values[i]);
	if (cap > max + 1 || (out = malloc(cap)) == NULL)
		return NULL;
	for (const char *p = tmpl; *p != '\0';) {
		size_t i = n;
		if (*p == '{')
			for (i = 0; i < n; i++)
				if (strncmp(p + 1, names[i], strlen(names[i])) == 0 &&
				    p[1 + strlen(names[i])] == '}')
					break;
		if (i < n) {
			size_t vl = strlen(values[i]);
			memcpy(out + o, values[i], vl);
			o += vl;
			p += strlen(names[i]) + 2;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	return out;
}

/* One chat request.  Returns 0 with *answer (owned string), or a
 * dp_http_status with err set. */
static int chat(summarize_ctx *c, const char *prompt, jv *answer, dp_err *err)
{
	jv msg = jv_object_set(jv_object(), jv_string("role"), jv_string("user"));
	jv body = jv_object_set(jv_object(), jv_string("model"), jv_string(c->model));
	jv resp;
	int rc;

	msg = jv_object_set(msg, jv_string("content"), jv_string(prompt));
	body = jv_object_set(body, jv_string("messages"), jv_array_append(jv_array(), msg));
	if (c->ollama) {
		body = jv_object_set(body, jv_string("stream"), jv_false());
		body = jv_object_set(body, jv_string("options"),
				     jv_object_set(jv_object(), jv_string("temperature"), jv_number(0)));
	} else {
		body = jv_object_set(body, jv_string("temperature"), jv_number(0));
	}
	atomic_fetch_add(&c->requested, 1);
	rc = dp_http_post_json(c->http, c->ollama ? "/api/chat" : "/chat/completions", body,
			       dp_tokens_estimate(prompt, strlen(prompt)) + SUMMARIZE_ANSWER_TOKENS, &resp, err);
	if (rc == DP_HTTP_REFUSED)
		atomic_store(&c->refused, 1);
	if (rc != DP_HTTP_OK)
		return rc;
	jv m = resp;
	if (!c->ollama) {
		m = jv_get_kind(m) == JV_KIND_OBJECT ? jv_object_get(m, jv_string("choices"))
						      : (jv_free(m), jv_invalid());
		m = jv_get_kind(m) == JV_KIND_ARRAY ? jv_array_get(m, 0) : (jv_free(m), jv_invalid());
	}
	m = jv_get_kind(m) == JV_KIND_OBJECT ? jv_object_get(m, jv_string("message"))
					      : (jv_free(m), jv_invalid());
	m = jv_get_kind(m) == JV_KIND_OBJECT ? jv_object_get(m, jv_string("content"))
					      : (jv_free(m), jv_invalid());
	if (jv_get_kind(m) != JV_KIND_STRING) {
		jv_free(m);
		dp_err_set(err, "malformed response: no %s",
			   c->ollama ? "message.content" : "choices[0].message.content");
		return DP_HTTP_FAILED;
	}
	*answer = m;
	return 0;
}

/* Answers prompts[0..n), taking known answers from the cache (one lookup)
 * and storing new ones (one insert).  answers[i] become owned strings.
 * Returns 0 or a dp_http_status with err set (answers all null). */
static int answer_all(summarize_ctx *c, char **prompts, size_t n, jv *answers, dp_err *err)
{
	char (*keys)[DP_HASH_HEX] = malloc((n + 1) * sizeof *keys);
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		answers[i] = jv_null();
	if (keys == NULL) {
		dp_err_set(err, "out of memory");
		return DP_HTTP_FAILED;
	}
	if (c->reuse != NULL) {
		for (size_t i = 0; i < n; i++)
			dp_reuse_key("summary", c->identity, "", prompts[i], strlen(prompts[i]), keys[i]);
		if (!c->refresh) {
			dp_err why;
			int found = dp_reuse_get(c->reuse, DP_REUSE_SUMMARY,
						 (const char(*)[DP_HASH_HEX])keys, n, answers, &why);
			if (found < 0)
				dp_diag("result cache lookup failed, asking anew: %s", why.msg);
			else
				atomic_fetch_add(&c->reused, (unsigned long)found);
		}
	}
	jv *fresh = calloc(n + 1, sizeof *fresh);
	if (fresh == NULL) {
		free(keys);
		dp_err_set(err, "out of memory");
		return DP_HTTP_FAILED;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		fresh[i] = jv_null();
		if (jv_get_kind(answers[i]) == JV_KIND_STRING)
			continue;
		if (atomic_load(&c->refused)) {
			dp_err_set(err, "not summarized: the API refused the run");
			rc = DP_HTTP_REFUSED;
			break;
		}
		rc = chat(c, prompts[i], &answers[i], err);
		if (rc == 0)
			fresh[i] = jv_copy(answers[i]);
	}
	if (rc == 0 && c->reuse != NULL) {
		dp_err why;
		if (dp_reuse_put(c->reuse, DP_REUSE_SUMMARY, c->identity,
				 (const char(*)[DP_HASH_HEX])keys, fresh, n, c->refresh, &why) < 0)
			dp_diag("could not keep results for reuse: %s", why.msg);
	}
	for (size_t i = 0; i < n; i++) {
		jv_free(fresh[i]);
		if (rc != 0) {
			jv_free(answers[i]);
			answers[i] = jv_null();
		}
	}
	free(fresh);
	free(keys);
	return rc;
}

/* Summarizes the parts (texts, consumed array of strings) of a document:
 * in one request when they fit the context, else section by section and
 * then the section summaries, as many rounds as it takes. */
static int summarize_parts(summarize_ctx *c, const char *path, jv parts, jv *summary, dp_err *err)
{
	for (;;) {
		size_t np;
		char **prompts = summarize_round_prompts(c, path, parts, &np, err);
		if (prompts == NULL)
			return DP_HTTP_FAILED;
		jv *answers = calloc(np + 1, sizeof *answers);
		if (answers == NULL) {
			summarize_prompts_free(prompts, np);
			dp_err_set(err, "out of memory");
			return DP_HTTP_FAILED;
		}
		int rc = answer_all(c, prompts, np, answers, err);
		summarize_prompts_free(prompts, np);
		if (rc != 0 || np == 1) {
			*summary = rc == 0 ? answers[0] : jv_invalid();
			if (rc != 0)
				for (size_t i = 0; i < np; i++)
					jv_free(answers[i]);
			free(answers);
			return rc;
		}
		if (np == 0) {
			free(answers);
			*summary = jv_string("");
			return 0;
		}
		parts = jv_array();
		for (size_t i = 0; i < np; i++)
			parts = jv_array_append(parts, answers[i]);
		free(answers);
	}
}

jv summarize_api(summarize_ctx *c, jv rec, int n)
{
	const char *path = dp_record_str(rec, "path");
	jv parts = jv_array(), summary;
	dp_err err;
	int rc;

	for (int i = 0; i < n; i++) {
		int len;
		const char *t = dp_doc_chunk_text(rec, i, &len);
		parts = jv_array_append(parts, jv_string_sized(t, len));
	}
	rc = summarize_parts(c, path != NULL ? path : "", parts, &summary, &err);
	if (rc != 0)
		return dp_record_error(rec, "summarize", err.msg);
	if (c->chunk_summaries && n > 0) {
		char **prompts = calloc((size_t)n, sizeof *prompts);
		jv *answers = calloc((size_t)n, sizeof *answers);
		rc = prompts == NULL || answers == NULL ? -1 : 0;
		for (int i = 0; i < n && rc == 0; i++)
			if ((prompts[i] = summarize_make_chunk_prompt(c, rec, i, jv_string_value(summary))) == NULL)
				rc = -1;
		if (rc < 0)
			dp_err_set(&err, "out of memory");
		else
			rc = answer_all(c, prompts, (size_t)n, answers, &err);
		for (int i = 0; i < n && prompts != NULL; i++)
			free(prompts[i]);
		free(prompts);
		if (rc != 0) {
			free(answers);
			jv_free(summary);
			return dp_record_error(rec, "summarize", err.msg);
		}
		for (int i = 0; i < n; i++)
			rec = dp_doc_chunk_set(rec, i, "summary", answers[i]);
		free(answers);
	}
	rec = jv_object_set(rec, jv_string("summary"), summary);
	return jv_object_set(rec, jv_string("summarizer"), jv_string(c->identity));
}
