/* Summaries from a chat model (OpenAI-compatible or Ollama). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apicli.h"
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

/* 1 when an answer holds no text: nothing but whitespace (and NULs). */
static int blank(jv s)
{
	const char *p = jv_string_value(s);
	int len = jv_string_length_bytes(jv_copy(s));

	for (int i = 0; i < len; i++)
		if (p[i] != '\0' && !isspace((unsigned char)p[i]))
			return 0;
	return 1;
}

/* s (consumed) with each NUL (an answer's "\u0000") replaced by U+FFFD,
 * as the chunker's front matter does: PostgreSQL text cannot hold a NUL,
 * so the store would refuse the document and the cache could not keep
 * the answer. */
static jv replace_nul(jv s)
{
	const char *p = jv_string_value(s);
	int len = jv_string_length_bytes(jv_copy(s)), run = 0;

	if (memchr(p, '\0', (size_t)len) == NULL)
		return s;
	jv out = jv_string("");
	for (int i = 0; i < len; i++) {
		if (p[i] == '\0') {
			out = jv_string_append_buf(out, p + run, i - run);
			out = jv_string_append_buf(out, "\xEF\xBF\xBD", 3);
			run = i + 1;
		}
	}
	out = jv_string_append_buf(out, p + run, len - run);
	jv_free(s);
	return out;
}

/* content (consumed) as one string when it is a list of parts, as
 * Mistral's reasoning models and some gateways answer
 * ([{"type": "thinking", ...}, {"type": "text", "text": "..."}]): the text
 * of its "text" parts (strings too) in order, the others (the model's
 * thinking) left out.  Every such answer failed "malformed response".
 * content as it is otherwise, and when no part holds text. */
static jv text_parts(jv content)
{
	if (jv_get_kind(content) != JV_KIND_ARRAY)
		return content;
	jv out = jv_string("");
	int found = 0;
	jv_array_foreach(content, i, part) {
		jv text = jv_invalid();
		if (jv_get_kind(part) == JV_KIND_STRING) {
			text = jv_copy(part);
		} else if (jv_get_kind(part) == JV_KIND_OBJECT) {
			jv type = jv_object_get(jv_copy(part), jv_string("type"));
			if (jv_get_kind(type) == JV_KIND_STRING && (strcmp(jv_string_value(type), "text") == 0 ||
								   strcmp(jv_string_value(type), "output_text") == 0))
				text = jv_object_get(jv_copy(part), jv_string("text"));
			jv_free(type);
		}
		if (jv_get_kind(text) == JV_KIND_STRING) {
			out = jv_string_concat(out, text);
			found = 1;
		} else {
			jv_free(text);
		}
		jv_free(part);
	}
	if (!found) {
		jv_free(out);
		return content;
	}
	jv_free(content);
	return out;
}

/* Where the text of answer s (length len) begins after a reasoning
 * model's chain of thought: DeepSeek-R1, Qwen3 or QwQ served without a
 * reasoning parser (Ollama without "think", vLLM, llama.cpp) open their
 * answer with it in <think>...</think>, which was stored as the
 * document's summary (weighted in its full-text entry) and cached (fault
 * sweep 20).  Returns 0 when s opens with no such block, the offset of the
 * text after it (whitespace skipped), or -1 when the block is never closed
 * (the answer is reasoning only: cut, or a model that never answered). */
static long after_reasoning(const char *s, size_t len)
{
	static const char open[] = "<think>", close[] = "</think>";
	size_t i = 0;

	while (i < len && isspace((unsigned char)s[i]))
		i++;
	if (len - i < sizeof open - 1 || memcmp(s + i, open, sizeof open - 1) != 0)
		return 0;
	i += sizeof open - 1;
	const char *end = memmem(s + i, len - i, close, sizeof close - 1);
	if (end == NULL)
		return -1;
	i = (size_t)(end - s) + sizeof close - 1;
	while (i < len && isspace((unsigned char)s[i]))
		i++;
	return (long)i;
}

/* An answer cut at the server's output limit, err saying so.  Before any
 * whole answer, the limit is the server's for every answer (a proxy's or
 * LM Studio's small default max_tokens), not this prompt's length: every
 * document would fail alike, each answer paid, over the whole corpus (fault
 * sweep 20).  The DP_HTTP_NEVER_REACHED_CALLS-th such answer refuses the
 * run (DP_HTTP_REFUSED, err the reason, for dp_http: stop_reason is the
 * call's judge); earlier ones, or any after a whole answer, are the
 * prompt's (DP_HTTP_FAILED, err kept). */
static int cut_answer(summarize_ctx *c, dp_err *err)
{
	if (atomic_load(&c->whole) || atomic_fetch_add(&c->cut, 1) + 1 < DP_HTTP_NEVER_REACHED_CALLS)
		return DP_HTTP_FAILED;
	char why[DP_ERR_MAX];
	snprintf(why, sizeof why, "the model API cut %d answers at its output token limit and gave"
		 " none whole (%.300s)", DP_HTTP_NEVER_REACHED_CALLS, err->msg);
	dp_err_set(err, "%s", why);
	return DP_HTTP_REFUSED;
}

/* One chat call as its judges see it: the stage, and whether the request
 * asks for "temperature" 0. */
struct chat_call {
	summarize_ctx *c;
	int temperature;
};

/* The chat call's judge (dp_http_judge, arg a chat_call): why the
 * answer *value stopped.  An answer the server cut at its output limit (a
 * default max_tokens of vLLM, LM Studio or a proxy) is a summary that
 * stops mid-word, and an Ollama answer saying "done": false is not the
 * whole answer (Ollama's non-streaming /api/chat says "done": true when it
 * is; one without "done", from a server that leaves it out, is taken on
 * its other fields): bad answers, never kept.  So is one the provider's
 * content filter stopped (OpenAI's and Azure OpenAI's finish_reason
 * "content_filter", with the partial text): cached, it would stand for
 * the document on every later run.  DP_HTTP_FAILED (err set) for those,
 * cut_answer's verdict for a cut one; else DP_HTTP_OK, the answer whole. */
static int stop_reason(void *arg, const jv *value, const char *text, size_t len, dp_err *err)
{
	summarize_ctx *c = ((struct chat_call *)arg)->c;
	jv resp = *value;

	(void)text;
	(void)len;
	jv why_stopped = jv_get_kind(resp) != JV_KIND_OBJECT ? jv_invalid()
			 : c->ollama ? jv_object_get(jv_copy(resp), jv_string("done_reason"))
				     : jv_getpath(jv_copy(resp), JV_ARRAY(jv_string("choices"), jv_number(0),
									  jv_string("finish_reason")));
	const char *why = jv_get_kind(why_stopped) == JV_KIND_STRING ? jv_string_value(why_stopped)
								     : NULL;
	jv done = c->ollama && jv_get_kind(resp) == JV_KIND_OBJECT
			  ? jv_object_get(jv_copy(resp), jv_string("done"))
			  : jv_invalid();
	int bad = 1;
	if (jv_get_kind(done) == JV_KIND_FALSE)
		dp_err_set(err, "incomplete answer (done: false, done_reason: %.100s)",
			   why != NULL ? why : "none");
	else if (why != NULL && strcmp(why, "length") == 0)
		dp_err_set(err, "answer cut at the server's output token limit (%s \"length\"):"
				" raise the model's output limit on the server",
			   c->ollama ? "done_reason" : "finish_reason");
	else if (why != NULL && strcmp(why, "content_filter") == 0)
		dp_err_set(err, "answer cut by the provider's content filter (finish_reason"
				" \"content_filter\")");
	else
		bad = 0;
	int cut = bad && why != NULL && strcmp(why, "length") == 0;
	jv_free(done);
	jv_free(why_stopped);
	if (bad)
		return cut ? cut_answer(c, err) : DP_HTTP_FAILED;
	atomic_store(&c->whole, 1);
	return DP_HTTP_OK;
}

/* Whether err, a request's rejection (DP_HTTP_REJECTED), refuses the
 * "temperature" asked: OpenAI's reasoning models (o1, o3, o4-mini, gpt-5)
 * take only their default ("Unsupported value: 'temperature' does not
 * support 0 with this model"), and every document failed with that 400, a
 * request each (fault sweep 21a).  Such a request is sent again without
 * it, and later ones go without it too (as embed's base64). */
static int temperature_refused(int rc, const dp_err *err)
{
	return rc == DP_HTTP_REJECTED && strstr(err->msg, "HTTP 400") != NULL &&
	       strstr(err->msg, "temperature") != NULL;
}

/* The chat call's judge of a rejection (dp_http_judge's rejected, arg a
 * chat_call; err its reason): one that names a parameter of the request
 * other than its content (' (param "model")', http.c's server_reason) is
 * an option the server refuses for every request (a proxy's model name it
 * does not route, an option it does not take), which failed every
 * document, a request each, over the whole corpus.  Before any whole
 * answer, the DP_HTTP_NEVER_REACHED_CALLS-th refuses the run
 * (DP_HTTP_REFUSED, err the reason); a refusal of "temperature" is not
 * counted (the request is sent again without it).  Why the parameter and
 * not one reason repeated: a reason alone does not tell an input's fault
 * from the server's (llama.cpp's context-size 400 and Azure's content
 * filter say the same words for every document they refuse), and those
 * name the content ("messages", "prompt") or nothing.  Counted in the
 * judge, before the place is given back: counted after the call, each
 * caller waiting for the place sent one more request.  DP_HTTP_REJECTED
 * otherwise. */
static int option_refused(void *arg, dp_err *err)
{
	static const char *const content[] = {"(param \"messages", "(param \"prompt", "(param \"input"};
	const struct chat_call *call = arg;
	summarize_ctx *c = call->c;
	const char *p = strstr(err->msg, " (param \"");

	if (p == NULL || atomic_load(&c->whole) ||
	    (call->temperature && temperature_refused(DP_HTTP_REJECTED, err)))
		return DP_HTTP_REJECTED;
	for (size_t i = 0; i < sizeof content / sizeof content[0]; i++)
		if (strncmp(p + 1, content[i], strlen(content[i])) == 0)
			return DP_HTTP_REJECTED;
	if (atomic_fetch_add(&c->option_refusals, 1) + 1 < DP_HTTP_NEVER_REACHED_CALLS)
		return DP_HTTP_REJECTED;
	char why[DP_ERR_MAX];
	snprintf(why, sizeof why, "the model API rejected %d requests naming an option and answered"
		 " none (%.300s): the server refuses it for every request; check the model's name"
		 " (--model) and the server's settings", DP_HTTP_NEVER_REACHED_CALLS, err->msg);
	dp_err_set(err, "%s", why);
	return DP_HTTP_REFUSED;
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
		/* Said, not left to the server's default: a proxy or server set
		 * to stream answers otherwise (dp_http refuses a streamed one). */
		body = jv_object_set(body, jv_string("stream"), jv_false());
	}
	atomic_fetch_add(&c->requested, 1);
	size_t tokens = dp_tokens_estimate(prompt, strlen(prompt)) + SUMMARIZE_ANSWER_TOKENS;
	const char *path = c->ollama ? "/api/chat" : "/chat/completions";
	jv plain = jv_copy(body);
	/* Whether this request asks for it: one built before another
	 * thread's was refused is refused too, and sent again likewise. */
	int temperature = !c->ollama && !atomic_load(&c->default_temperature);
	if (temperature)
		body = jv_object_set(body, jv_string("temperature"), jv_number(0));
	struct chat_call call = {c, temperature};
	const dp_http_judge judge = {.fn = stop_reason, .arg = &call, .rejected = option_refused};
	rc = dp_http_post_json(c->http, path, body, tokens, SUMMARIZE_RESPONSE_MAX, &judge, &resp, err);
	if (temperature && temperature_refused(rc, err)) {
		atomic_store(&c->default_temperature, 1);
		call.temperature = 0;
		rc = dp_http_post_json(c->http, path, plain, tokens, SUMMARIZE_RESPONSE_MAX, &judge, &resp,
				       err);
	} else {
		jv_free(plain);
	}
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
	jv refusal = jv_get_kind(m) == JV_KIND_OBJECT ? jv_object_get(jv_copy(m), jv_string("refusal"))
						       : jv_invalid();
	m = jv_get_kind(m) == JV_KIND_OBJECT ? jv_object_get(m, jv_string("content"))
					      : (jv_free(m), jv_invalid());
	m = text_parts(m);
	/* OpenAI's refusal: content null, the model's words in "refusal"
	 * (they are the reason, not "malformed"). */
	if (jv_get_kind(m) != JV_KIND_STRING && jv_get_kind(refusal) == JV_KIND_STRING) {
		dp_err_set(err, "the model refused to answer: \"%.200s\"", jv_string_value(refusal));
		jv_free(refusal);
		jv_free(m);
		return DP_HTTP_FAILED;
	}
	jv_free(refusal);
	/* An empty answer is a bad one, as a missing one: the document fails
	 * with the reason, and nothing is kept for reuse. */
	const char *field = c->ollama ? "message.content" : "choices[0].message.content";
	long text_at = jv_get_kind(m) != JV_KIND_STRING
			       ? 0
			       : after_reasoning(jv_string_value(m), (size_t)jv_string_length_bytes(jv_copy(m)));
	if (text_at < 0) {
		dp_err_set(err, "the answer is the model's reasoning only: %s opens <think> and never"
			   " closes it", field);
		jv_free(m);
		return DP_HTTP_FAILED;
	}
	if (text_at > 0) {
		jv text = jv_string_sized(jv_string_value(m) + text_at,
					  jv_string_length_bytes(jv_copy(m)) - (int)text_at);
		jv_free(m);
		m = text;
	}
	if (jv_get_kind(m) != JV_KIND_STRING || blank(m)) {
		if (jv_get_kind(m) == JV_KIND_STRING)
			dp_err_set(err, "empty answer: %s holds no text", field);
		else
			dp_err_set(err, "malformed response: no %s", field);
		jv_free(m);
		return DP_HTTP_FAILED;
	}
	*answer = replace_nul(m);
	return 0;
}

/* dp_api_usable for cached summaries: a blank one is not, nor one an
 * earlier version kept with the model's reasoning in it. */
static int summary_usable(jv answer, void *arg, dp_err *why)
{
	(void)arg;
	if (blank(answer)) {
		dp_err_set(why, "empty");
		return 0;
	}
	if (after_reasoning(jv_string_value(answer), (size_t)jv_string_length_bytes(jv_copy(answer))) != 0) {
		dp_err_set(why, "the model's reasoning");
		return 0;
	}
	return 1;
}

void summarize_keys(summarize_ctx *c, char *const *prompts, size_t n, char (*keys)[DP_HASH_HEX])
{
	for (size_t i = 0; i < n; i++)
		dp_reuse_key("summary", c->identity, "", prompts[i], strlen(prompts[i]), keys[i]);
}

void summarize_lookup(summarize_ctx *c, const char (*keys)[DP_HASH_HEX], size_t n, jv *answers)
{
	for (size_t i = 0; i < n; i++)
		answers[i] = jv_null();
	if (c->reuse == NULL || c->refresh || n == 0)
		return;
	static const char *const noun[2] = {"summary", "summaries"};
	int found = dp_api_reuse_get(c->reuse, DP_REUSE_SUMMARY, keys, n, answers, summary_usable,
				     NULL, noun, "result cache lookup failed, asking anew");
	if (found > 0)
		atomic_fetch_add(&c->reused, (unsigned long)found);
}

void summarize_keep(summarize_ctx *c, const char key[DP_HASH_HEX], jv answer)
{
	if (c->reuse != NULL)
		dp_reuse_put(c->reuse, DP_REUSE_SUMMARY, c->identity,
			     (const char(*)[DP_HASH_HEX])key, &answer, 1, c->refresh);
}
