#include "prompts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "docrec.h"
#include "record.h"
#include "text.h"

#define SECTIONS_MAX 4096 /* per round of section summaries */

static char *doc_prompt(const summarize_ctx *c, const char *path, const char *text)
{
	const char *names[] = {"text", "path"};
	const char *values[] = {text, path};

	return summarize_fill(c->doc_prompt, names, values, 2, SUMMARIZE_PROMPT_MAX + strlen(text));
}

/* The joined text of a round, or a heading path, comes from one record:
 * it is at most as long. */
#define JOINED_MAX DP_RECORD_MAX_DEFAULT

/* Appends s to a growing text (parts separated by a blank line); the
 * overflow flag says when it failed. */
static void append(dp_buf *b, const char *s, size_t sl)
{
	if (b->len > 0)
		dp_buf_append(b, "\n\n", 2);
	dp_buf_append(b, s, sl);
}

char **summarize_round_prompts(const summarize_ctx *c, const char *path, jv parts, size_t *np,
			       dp_err *err)
{
	int n = jv_array_length(jv_copy(parts));
	char **prompts = calloc((size_t)n + 1, sizeof *prompts);
	size_t tokens = 0;
	dp_buf cur;
	int rc = prompts == NULL ? -1 : 0;

	dp_buf_init(&cur, JOINED_MAX);

	*np = 0;
	for (int i = 0; i <= n && rc == 0; i++) {
		jv p = i < n ? jv_array_get(jv_copy(parts), i) : jv_null();
		const char *s = i < n ? jv_string_value(p) : "";
		size_t sl = strlen(s), t = dp_tokens_estimate(s, sl);
		if ((cur.len > 0 || cur.overflow) && (i == n || tokens + t > c->context_tokens)) {
			if (cur.overflow || *np >= SECTIONS_MAX ||
			    (prompts[*np] = doc_prompt(c, path, dp_buf_cstr(&cur))) == NULL)
				rc = -1;
			else
				++*np;
			dp_buf_reset(&cur);
			tokens = 0;
		}
		if (i < n && rc == 0) {
			/* A part bigger than the context is cut: say so in the text. */
			size_t keep = sl;
			while (dp_tokens_estimate(s, keep) > c->context_tokens)
				keep = dp_utf8_floor(s, keep * 3 / 4);
			append(&cur, s, keep);
			tokens += dp_tokens_estimate(s, keep);
		}
		jv_free(p);
	}
	dp_buf_free(&cur);
	jv_free(parts);
	if (rc < 0) {
		summarize_prompts_free(prompts, *np);
		dp_err_set(err, "out of memory");
		return NULL;
	}
	return prompts;
}

void summarize_prompts_free(char **prompts, size_t n)
{
	for (size_t i = 0; prompts != NULL && i < n; i++)
		free(prompts[i]);
	free(prompts);
}

static char *heading_path(jv rec, int i)
{
	jv h = jv_object_get(jv_array_get(jv_object_get(jv_copy(rec), jv_string("chunks")), i),
			     jv_string("heading"));
	dp_buf out;

	dp_buf_init(&out, JOINED_MAX);
	if (jv_get_kind(h) == JV_KIND_ARRAY) {
		jv_array_foreach(h, k, name) {
			if (jv_get_kind(name) == JV_KIND_STRING) {
				if (out.len > 0)
					dp_buf_append(&out, " > ", 3);
				dp_buf_append(&out, jv_string_value(name),
					      (size_t)jv_string_length_bytes(jv_copy(name)));
			}
			jv_free(name);
			(void)k;
		}
	}
	jv_free(h);
	char *path = out.overflow ? NULL : strdup(dp_buf_cstr(&out));
	dp_buf_free(&out);
	return path;
}

char *summarize_make_chunk_prompt(const summarize_ctx *c, jv rec, int i, const char *summary)
{
	int len;
	const char *path = dp_record_str(rec, "path");
	char *heading = heading_path(rec, i);
	const char *names[] = {"summary", "heading", "chunk", "path", "text"};
	const char *values[] = {summary, heading != NULL ? heading : "",
				dp_doc_chunk_text(rec, i, &len), path != NULL ? path : "", summary};
	char *prompt = summarize_fill(c->chunk_prompt, names, values, 5,
				      SUMMARIZE_PROMPT_MAX + (size_t)len + strlen(summary));

	free(heading);
	return prompt;
}

char *summarize_read_template(const char *path, dp_err *err)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (f == NULL) {
		dp_err_set(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(SUMMARIZE_PROMPT_MAX + 1);
	if (buf == NULL) {
		fclose(f);
		dp_err_set(err, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, SUMMARIZE_PROMPT_MAX + 1, f);
	if (ferror(f) || n > SUMMARIZE_PROMPT_MAX) {
		dp_err_set(err, "%s: %s", path, ferror(f) ? strerror(errno) : "over 64 KiB");
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	return buf;
}

const char *summarize_default_model(int ollama)
{
	return ollama ? "llama3.2" : "gpt-4o-mini";
}
