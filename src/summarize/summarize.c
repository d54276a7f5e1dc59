#include "summarize.h"

#include "docrec.h"
#include "extractive.h"
#include "record.h"

#define HEADING_DEPTH_MAX 16

/* Fills names[] with the chunk's heading strings (borrowed from rec);
 * returns how many.  Non-strings and levels past the maximum are skipped. */
static size_t chunk_heading(jv rec, int i, const char *names[HEADING_DEPTH_MAX])
{
	jv chunks = jv_object_get(jv_copy(rec), jv_string("chunks"));
	jv h = jv_object_get(jv_array_get(chunks, i), jv_string("heading"));
	size_t n = 0;

	if (jv_get_kind(h) == JV_KIND_ARRAY) {
		int len = jv_array_length(jv_copy(h));
		for (int k = 0; k < len && n < HEADING_DEPTH_MAX; k++) {
			jv s = jv_array_get(jv_copy(h), k);
			/* Storage shared with rec, which keeps it alive. */
			if (jv_get_kind(s) == JV_KIND_STRING)
				names[n++] = jv_string_value(s);
			jv_free(s);
		}
	}
	jv_free(h);
	return n;
}

jv summarize_local(jv rec, int n, int chunk_summaries)
{
	extractive *x = extractive_new();
	char summary[EXTRACTIVE_SUMMARY_MAX + 1];

	if (x == NULL)
		goto oom;
	for (int i = 0; i < n; i++) {
		int len;
		const char *text = dp_doc_chunk_text(rec, i, &len);
		if (extractive_add(x, i, text, (size_t)len) < 0)
			goto oom;
	}
	extractive_summary(x, summary);
	if (chunk_summaries) {
		jv sums = jv_array();
		for (int i = 0; i < n; i++) {
			const char *heading[HEADING_DEPTH_MAX];
			char cs[EXTRACTIVE_CHUNK_MAX + 1];
			size_t nh = chunk_heading(rec, i, heading);
			extractive_chunk_summary(x, i, heading, nh, cs);
			sums = jv_array_append(sums, jv_string(cs));
		}
		/* Set after all reads: setting may move the strings read above. */
		for (int i = 0; i < n; i++)
			rec = dp_doc_chunk_set(rec, i, "summary", jv_array_get(jv_copy(sums), i));
		jv_free(sums);
	}
	extractive_free(&x);
	rec = jv_object_set(rec, jv_string("summary"), jv_string(summary));
	return jv_object_set(rec, jv_string("summarizer"), jv_string(EXTRACTIVE_ID));
oom:
	extractive_free(&x);
	return dp_record_error(rec, "summarize", "out of memory");
}

jv summarize_process(void *ctx, jv rec)
{
	summarize_ctx *c = ctx;
	dp_err err;
	int n = dp_doc_check_chunks(rec, &err);

	if (n < 0)
		return dp_record_error(rec, "summarize", err.msg);
	return summarize_local(rec, n, c->chunk_summaries);
}
