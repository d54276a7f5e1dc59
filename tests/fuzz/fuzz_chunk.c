/* libFuzzer target for the chunker (src/chunk/chunker.c) and the document
 * record built from it.  Built and run by tests/fuzz/run-fuzz.sh, not by
 * the Makefile.
 *
 * The first input byte picks the options (cap, overlap, format); the rest
 * is the document.  Any input must not crash; for input the stage would
 * accept (valid UTF-8 without NUL bytes) the chunks must also keep the
 * chunker's promises, else the target traps. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/chunk/chunk_stage.h"
#include "json.h"
#include "record.h"
#include "text.h"

#define CHECK(cond)                                                                \
	do {                                                                       \
		if (!(cond))                                                       \
			__builtin_trap();                                          \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	chunk_opts opts = {.max_tokens = CHUNK_MIN_TOKENS + (data[0] & 0x3f)};
	opts.overlap = (data[0] >> 6) * opts.max_tokens / 6;
	enum chunk_format format = data[0] & 0x80 ? CHUNK_TEXT : CHUNK_MARKDOWN;
	/* A private copy: the chunker may read only inside the input. */
	size_t len = size - 1;
	char *text = malloc(len + 1);
	memcpy(text, data + 1, len);
	text[len] = '\0';

	chunk_doc doc;
	dp_err err;
	chunk_doc_init(&doc);
	int rc = chunk_split(&doc, text, len, format, &opts, &err);
	int acceptable = memchr(text, '\0', len) == NULL && dp_utf8_invalid_at(text, len) == len;
	if (rc == 0 && acceptable) {
		size_t prev_off = 0;
		for (size_t i = 0; i < doc.n_chunks; i++) {
			const chunk_span *c = &doc.chunks[i];
			CHECK(c->len > 0 && c->off + c->len <= len);
			CHECK(c->tokens <= opts.max_tokens);
			CHECK(c->tokens == dp_tokens_estimate(text + c->off, c->len));
			CHECK(dp_utf8_invalid_at(text + c->off, c->len) == c->len);
			CHECK(c->section < doc.n_sections);
			CHECK(i == 0 || c->off > prev_off);
			prev_off = c->off;
		}
		for (size_t s = 0; s < doc.n_sections; s++)
			for (int d = 0; d < doc.sections[s].depth; d++) {
				const chunk_name *n = &doc.sections[s].path[d];
				CHECK(n->off + n->len <= doc.n_names && n->len <= CHUNK_HEADING_MAX);
				CHECK(n->len == 0 || dp_utf8_invalid_at(doc.names + n->off, n->len) == n->len);
			}
		jv rec = chunk_document(jv_object(), &doc, text, "markdown", "fuzz");
		/* The sink's writer must give jq's bytes. */
		jv want = dp_record_dump(jv_copy(rec));
		dp_json_buf b = {0};
		CHECK(dp_json_append(&b, rec, &err) == 0);
		CHECK(b.len == (size_t)jv_string_length_bytes(jv_copy(want)) &&
		      memcmp(b.data, jv_string_value(want), b.len) == 0);
		dp_json_buf_free(&b);
		jv_free(want);
		jv_free(rec);
	}
	chunk_doc_free(&doc);
	free(text);
	return 0;
}
