/* Summaries from a chat model (OpenAI-compatible or Ollama). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docrec.h"
#include "hash.h"
#include "record.h"
#include "summarize.h"
#include "text.h"

#define SECTIONS_MAX 4096 /* per round of section summaries */

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

int summarize_chat(summarize_ctx *c, const char *prompt, jv *answer, dp_err *err)
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
			       dp_tokens_estimate(prompt, strlen(prompt)) + 256, &resp, err);
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

void summarize_lookup(summarize_ctx *c, char *const *prompts, size_t n,
		      char (*keys)[DP_HASH_HEX], jv *answers)
{
	for (size_t i = 0; i < n; i++)
		answers[i] = jv_null();
	if (c->reuse == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		dp_reuse_key("summary", c->identity, "", prompts[i], strlen(prompts[i]), keys[i]);
	if (c->refresh)
		return;
	dp_err why;
	int found = dp_reuse_get(c->reuse, DP_REUSE_SUMMARY, (const char(*)[DP_HASH_HEX])keys, n,
				 answers, &why);
	if (found < 0)
		dp_diag("result cache lookup failed, asking anew: %s", why.msg);
	else
		atomic_fetch_add(&c->reused, (unsigned long)found);
}

void summarize_keep(summarize_ctx *c, const char (*keys)[DP_HASH_HEX], jv *fresh, size_t n)
{
	dp_err why;

	if (c->reuse != NULL &&
	    dp_reuse_put(c->reuse, DP_REUSE_SUMMARY, c->identity, keys, fresh, n, c->refresh,
			 &why) < 0)
		dp_diag("could not keep results for reuse: %s", why.msg);
}

static char *doc_prompt(summarize_ctx *c, const char *path, const char *text)
{
	const char *names[] = {"text", "path"};
	const char *values[] = {text, path};

	return summarize_fill(c->doc_prompt, names, values, 2, SUMMARIZE_PROMPT_MAX + strlen(text));
}

/* Appends s to a growing text (parts separated by a blank line). */
static int append(char **buf, size_t *len, const char *s, size_t sl)
{
	char *b = realloc(*buf, *len + sl + 3);

	if (b == NULL)
		return -1;
	if (*len > 0) {
		memcpy(b + *len, "\n\n", 2);
		*len += 2;
	}
	memcpy(b + *len, s, sl);
	*len += sl;
	b[*len] = '\0';
	*buf = b;
	return 0;
}

void summarize_free_prompts(char **prompts, size_t n)
{
	for (size_t i = 0; prompts != NULL && i < n; i++)
		free(prompts[i]);
	free(prompts);
}

int summarize_section_prompts(summarize_ctx *c, const char *path, jv parts, char ***out,
			      size_t *np_out)
{
	int n = jv_array_length(jv_copy(parts));
	char **prompts = calloc((size_t)n + 1, sizeof *prompts);
	size_t np = 0, tokens = 0, len = 0;
	char *cur = NULL;
	int rc = prompts == NULL ? -1 : 0;

	for (int i = 0; i <= n && rc == 0; i++) {
		jv p = i < n ? jv_array_get(jv_copy(parts), i) : jv_null();
		const char *s = i < n ? jv_string_value(p) : "";
		size_t sl = strlen(s), t = dp_tokens_estimate(s, sl);
		if (cur != NULL && (i == n || tokens + t > c->context_tokens)) {
			if (np >= SECTIONS_MAX || (prompts[np] = doc_prompt(c, path, cur)) == NULL)
				rc = -1;
			else
				np++;
			free(cur);
			cur = NULL;
			len = tokens = 0;
		}
		if (i < n && rc == 0) {
			/* A part bigger than the context is cut: say so in the text. */
			size_t keep = sl;
			while (dp_tokens_estimate(s, keep) > c->context_tokens)
				keep = dp_utf8_floor(s, keep * 3 / 4);
			if (append(&cur, &len, s, keep) < 0)
				rc = -1;
			tokens += dp_tokens_estimate(s, keep);
		}
		jv_free(p);
	}
	free(cur);
	jv_free(parts);
	if (rc < 0) {
		summarize_free_prompts(prompts, np);
		return -1;
	}
	*out = prompts;
	*np_out = np;
	return 0;
}

static char *heading_path(jv rec, int i)
{
	jv h = jv_object_get(jv_array_get(jv_object_get(jv_copy(rec), jv_string("chunks")), i),
			     jv_string("heading"));
	char *out = NULL;
	size_t len = 0;

	if (jv_get_kind(h) == JV_KIND_ARRAY) {
		jv_array_foreach(h, k, name) {
			if (jv_get_kind(name) == JV_KIND_STRING) {
				const char *s = jv_string_value(name);
				char *o = realloc(out, len + strlen(s) + 4);
				if (o != NULL) {
					out = o;
					len += (size_t)sprintf(out + len, "%s%s", len > 0 ? " > " : "", s);
				}
			}
			jv_free(name);
			(void)k;
		}
	}
	jv_free(h);
	return out != NULL ? out : strdup("");
}

int summarize_chunk_prompts(summarize_ctx *c, jv rec, int n, const char *summary,
			    char ***out)
{
	const char *path = dp_record_str(rec, "path");
	char **prompts = calloc((size_t)n + 1, sizeof *prompts);

	if (prompts == NULL)
		return -1;
	for (int i = 0; i < n; i++) {
		int len;
		char *heading = heading_path(rec, i);
		const char *names[] = {"summary", "heading", "chunk", "path", "text"};
		const char *values[] = {summary, heading != NULL ? heading : "",
					dp_doc_chunk_text(rec, i, &len), path != NULL ? path : "",
					summary};
		prompts[i] = summarize_fill(c->chunk_prompt, names, values, 5,
					    SUMMARIZE_PROMPT_MAX + (size_t)len + strlen(summary));
		free(heading);
		if (prompts[i] == NULL) {
			summarize_free_prompts(prompts, (size_t)i);
			return -1;
		}
	}
	*out = prompts;
	return 0;
}
