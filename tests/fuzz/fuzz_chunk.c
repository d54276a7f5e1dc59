/* libFuzzer target for the chunker (src/chunk/chunker.c) and the document
 * record built from it.  Built and run by tests/fuzz/run-fuzz.sh, not by
 * the Makefile.
 *
 * The first input byte picks the options (cap, overlap, format), the
 * second --min-tokens; the rest is the file.  A Markdown file goes through
 * the front matter parser first (frontmatter.c), as in the stage.  Any
 * input must not crash; for input the stage would accept (valid UTF-8
 * without NUL bytes) the chunks must also keep the chunker's promises, else
 * the target traps.  UTF-16/32 input is decoded as the stage does
 * (wide.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/chunk/chunk_stage.h"
#include "../../src/chunk/frontmatter.h"
#include "json.h"
#include "record.h"
#include "text.h"
#include "fuzz.h"

/* Front matter fields are scalars or lists of scalars. */
static void check_meta(jv meta)
{
	CHECK(jv_get_kind(meta) == JV_KIND_OBJECT);
	jv keys = jv_keys(jv_copy(meta));
	for (int i = 0; i < jv_array_length(jv_copy(keys)); i++) {
		jv v = jv_object_get(jv_copy(meta), jv_array_get(jv_copy(keys), i));
		jv_kind kind = jv_get_kind(v);
		CHECK(kind != JV_KIND_OBJECT && kind != JV_KIND_INVALID);
		for (int k = 0; kind == JV_KIND_ARRAY && k < jv_array_length(jv_copy(v)); k++) {
			jv x = jv_array_get(jv_copy(v), k);
			jv_kind xk = jv_get_kind(x);
			jv_free(x);
			CHECK(xk != JV_KIND_ARRAY && xk != JV_KIND_OBJECT && xk != JV_KIND_INVALID);
		}
		jv_free(v);
	}
	jv_free(keys);
	jv_free(meta);
}

static int blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strchr(" \t\n\r\f\v", s[i]) == NULL)
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	chunk_opts opts = {.max_tokens = CHUNK_MIN_TOKENS + (data[0] & 0x3f)};
	opts.overlap = (data[0] >> 6) * opts.max_tokens / 6;
	opts.min_tokens = data[1] % (opts.max_tokens + 1);
	enum chunk_format format = data[0] & 0x80 ? CHUNK_TEXT : CHUNK_MARKDOWN;
	/* A private copy: the chunker may read only inside the input. */
	size_t len = size - 2;
	char *file = fuzz_copy(data + 2, len);
	int acceptable = memchr(file, '\0', len) == NULL && dp_utf8_invalid_at(file, len) == len;

	/* UTF-16/32 the stage decodes gives valid UTF-8 without NUL, and its
	 * end maps onto the file's end. */
	wide_enc we;
	char *u8;
	size_t u8len;
	dp_err werr;
	if (wide_detect(file, len, &we) && wide_decode(&we, file, len, &u8, &u8len, &werr) == 0) {
		wide_cursor wc;
		wide_cursor_init(&wc, &we, u8);
		CHECK(memchr(u8, '\0', u8len) == NULL && dp_utf8_invalid_at(u8, u8len) == u8len);
		CHECK(wide_file_offset(&wc, u8len) == len);
		free(u8);
	}

	jv meta = jv_object();
	size_t body = 0;
	const char *title = NULL;
	if (format == CHUNK_MARKDOWN && acceptable) {
		const char *problem;
		jv_free(meta);
		body = fm_parse(file, len, &meta, &problem);
		CHECK(body <= len && (body == 0 || problem == NULL));
		check_meta(jv_copy(meta));
		jv t = jv_object_get(jv_copy(meta), jv_string("title"));
		if (jv_get_kind(t) == JV_KIND_STRING)
			title = jv_string_value(t);
		jv_free(t);
	}
	const char *text = file + body;
	size_t tlen = len - body;
	chunk_doc doc;
	dp_err err;
	chunk_doc_init(&doc);
	int rc = chunk_split(&doc, text, tlen, format, &opts, title, title ? strlen(title) : 0, &err);
	if (rc == 0 && acceptable) {
		size_t prev_off = 0;
		for (size_t i = 0; i < doc.n_chunks; i++) {
			const chunk_span *c = &doc.chunks[i];
			size_t n;
			const char *t = chunk_text(&doc, c, text, &n);
			CHECK(c->len > 0 && c->off + c->len <= tlen);
			CHECK(c->tokens <= opts.max_tokens);
			CHECK(t != NULL && c->tokens == dp_tokens_estimate(t, n));
			CHECK(dp_utf8_invalid_at(t, n) == n);
			CHECK(memmem(t, n, text + c->off, c->len) != NULL);
			CHECK(c->section < doc.n_sections);
			CHECK(i == 0 || c->off > prev_off);
			/* A chunk starts inside a code block, table or HTML block only
			 * as a piece of it (after the previous chunk, no overlap), when
			 * it repeats the block's first line(s), or when all before it
			 * in the block is white space (a blank piece is dropped). */
			for (size_t v = 0; v < doc.n_verbatim; v++)
				if (doc.verbatim[v].start < c->off && c->off < doc.verbatim[v].end &&
				    c->pre_len == 0)
					CHECK((i > 0 && doc.chunks[i - 1].off + doc.chunks[i - 1].len <= c->off) ||
					      blank(text + doc.verbatim[v].start, c->off - doc.verbatim[v].start));
			prev_off = c->off;
		}
		for (size_t s = 0; s < doc.n_sections; s++)
			for (int d = 0; d < doc.sections[s].depth; d++) {
				const chunk_name *n = &doc.sections[s].path[d];
				CHECK(n->off + n->len <= doc.n_names && n->len <= CHUNK_HEADING_MAX);
				CHECK(n->len == 0 || dp_utf8_invalid_at(doc.names + n->off, n->len) == n->len);
			}
		jv rec = chunk_document(NULL, jv_object(), &doc, file, body, NULL, jv_copy(meta), "markdown",
					"fuzz");
		/* Every chunk's [start, end) is its body in the file. */
		jv chunks = jv_object_get(jv_copy(rec), jv_string("chunks"));
		for (int i = 0; i < jv_array_length(jv_copy(chunks)); i++) {
			jv c = jv_array_get(jv_copy(chunks), i);
			double s0, e0;
			CHECK(dp_record_num(c, "start", &s0) == 0 && dp_record_num(c, "end", &e0) == 0);
			CHECK((size_t)s0 == body + doc.chunks[i].off && (size_t)e0 == (size_t)s0 + doc.chunks[i].len);
			jv_free(c);
		}
		jv_free(chunks);
		/* The sink's writer and the stage's text must give jq's bytes. */
		jv want = dp_record_dump(jv_copy(rec));
		dp_json_buf b = {0}, text;
		CHECK(dp_json_append(&b, rec, &err) == 0);
		CHECK(b.len == (size_t)jv_string_length_bytes(jv_copy(want)) &&
		      memcmp(b.data, jv_string_value(want), b.len) == 0);
		dp_buf_init(&text, (size_t)64 << 20);
		CHECK(!jv_is_valid(chunk_document(&text, jv_object(), &doc, file, body, NULL, jv_copy(meta),
						  "markdown", "fuzz")));
		CHECK(text.len == b.len && memcmp(text.data, b.data, b.len) == 0);
		dp_buf_free(&text);
		dp_json_buf_free(&b);
		jv_free(want);
		jv_free(rec);
	}
	jv_free(meta);
	chunk_doc_free(&doc);
	free(file);
	return 0;
}
